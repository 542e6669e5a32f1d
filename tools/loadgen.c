/*
 * foreshard-loadgen: the load generator of the demo and the benchmarks. It drives a
 * range-partitioned table public.events and an unpartitioned mirror public.events_mirror with
 * the same columns through any PostgreSQL endpoint (foreshard or PostgreSQL itself), one libpq
 * connection per client thread. Every write changes both tables in one transaction, so after a
 * run `(events EXCEPT mirror) UNION ALL (mirror EXCEPT events)` must be empty whatever happened
 * to the partitions in between. The offered load is a uniform background plus a hot key range
 * whose rate follows a repeating raised-cosine bump, the moving hot spot foreshard must see
 * coming. The program prints one JSON line of results on stdout and logs to stderr.
 *
 * DESIGN
 * Open loop: the whole run is one deterministic arrival sequence. Arrival number k happens when
 * the cumulative offered load Lambda(t) = base*t + integral of the hot rate reaches k + 0.5, and
 * client thread i takes arrivals i, i + C, i + 2C, ... (C clients), so the offered rate is what
 * the schedule says as long as the server keeps up; a thread that falls behind sends its late
 * requests at once. What each arrival does (hot or background key, read or write, protocol) is
 * drawn from the thread's own generator seeded from --seed, so a seed fixes the whole workload
 * except for timing.
 *
 * Keys: the --rows initial rows sit on a grid, id = slot * gap with gap = keys / rows, so reads
 * and updates pick a grid key and find a row. New ids fill the gaps between grid keys: thread i
 * inserts only into slots with slot % C == i, so no two threads ever insert the same id, and it
 * deletes only ids it inserted. At start each thread reads which off-grid ids already exist in
 * its slots (left by an earlier run), so runs can repeat without --setup.
 *
 * Output: {"start_ms": wall-clock ms of the schedule's start, "duration_s", "ops", "errors",
 * "p50_ms", "p99_ms", "max_ms", "max_lag_ms", "cycle_s", "peak_phase", "peaks_ms": [wall-clock
 * ms of every hot peak inside the run]}. Latency is measured per request from its first byte
 * sent to its last result (a write transaction counts as one request, BEGIN to COMMIT), so a
 * request held by a proxy shows in max_ms; max_lag_ms is how far the client fell behind its
 * schedule, which tells whether the offered rate was really offered.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "common/time.h"

#define LG_MAX_CLIENTS 1024
#define LG_READ_SQL "SELECT val FROM events WHERE id = $1" /* prepared as lg_read too */
#define LG_ERRORS_LOGGED 10      /* first failures whose messages go to stderr */
#define LG_RECONNECT_US 100000   /* at most one reconnect attempt per 100 ms and thread */
#define LG_SLEEP_SLICE_US 200000 /* sleeps are cut so that an interrupt is seen promptly */

/* Command-line options; see usage(). */
struct lg_opts {
	const char *dsn;    /* libpq conninfo of the endpoint */
	int clients;        /* client threads, one connection each */
	double duration_s;  /* length of the load run */
	double cycle_s;     /* period of the hot-spot cycle */
	double peak_phase;  /* phase in [0,1) of the cycle at which the hot rate peaks */
	double bump_width;  /* fraction of the cycle the hot bump occupies, in (0,1] */
	double base_rps;    /* background rate, uniform over [0, keys) */
	double peak_rps;    /* hot-component rate at its peak, on [hot_lo, hot_hi) */
	int64_t keys;       /* key space is [0, keys) */
	int64_t rows;       /* initial rows, on the grid id = slot * (keys / rows) */
	int64_t hot_lo;     /* hot key range, inclusive */
	int64_t hot_hi;     /* hot key range, exclusive */
	double write_ratio; /* share of operations that are write transactions */
	uint64_t seed;      /* fixes the workload except for timing */
	bool setup;         /* create tables and rows, then exit */
	int partitions;     /* equal range partitions over [0, keys) made by --setup */
	double progress_s;  /* interval of progress lines on stderr; 0 = none */
};

/* What one client thread owns: its connection, generator, inserted ids and measurements. */
struct lg_client {
	const struct lg_opts *o;  /* shared, read-only */
	int index;                /* 0 .. clients-1; also the slot residue it inserts into */
	pthread_t thread;         /* runs client_main */
	PGconn *conn;             /* NULL while disconnected */
	uint64_t last_connect_us; /* monotonic time of the last connection attempt */
	uint64_t rng;             /* splitmix64 state */
	int64_t *live;            /* off-grid ids in this thread's slots that exist now */
	size_t n_live;            /* entries used in live */
	size_t cap_live;          /* entries allocated in live */
	uint32_t *lat_us;         /* latency of every request, microseconds */
	size_t n_lat;             /* entries used in lat_us */
	size_t cap_lat;           /* entries allocated in lat_us */
	uint64_t max_lag_us;      /* furthest a request started behind its scheduled time */
	_Atomic uint64_t ops;     /* requests done (ok or failed); read by the progress printer */
	_Atomic uint64_t errors;  /* requests failed */
};

/* The run's shared, read-only-after-start state. */
static struct {
	uint64_t start_mono_us;    /* monotonic time the schedule starts */
	int64_t gap;               /* distance between grid keys; >= 2 allows inserts */
	double bump_start;         /* phase in [0,1) at which the hot bump begins */
	_Atomic bool stop;         /* set by SIGINT/SIGTERM */
	_Atomic int errors_logged; /* failures whose messages were printed */
} run;

static void usage(FILE *f)
{
	fputs("usage: foreshard-loadgen [options]\n"
	      "  --dsn CONNINFO      libpq connection string (default: libpq environment)\n"
	      "  --clients N         client threads, one connection each (default 8)\n"
	      "  --duration S        seconds of load (default 60)\n"
	      "  --cycle S           period of the hot-spot cycle in seconds (default 40)\n"
	      "  --peak-phase F      phase in [0,1) of the hot peak within a cycle (default 0.6)\n"
	      "  --bump-width F      share of the cycle the hot bump occupies (default 0.4)\n"
	      "  --base-rps R        background requests/s, uniform over all keys (default 200)\n"
	      "  --peak-rps R        extra requests/s on the hot range at the peak (default 800)\n"
	      "  --keys N            key space [0, N) (default 1000000)\n"
	      "  --rows N            initial rows, ids spaced keys/rows apart (default 100000)\n"
	      "  --hot-lo K          hot range start, inclusive (default 0.60 * keys)\n"
	      "  --hot-hi K          hot range end, exclusive (default 0.65 * keys)\n"
	      "  --write-ratio F     share of write transactions (default 0.3)\n"
	      "  --seed N            workload seed (default 1)\n"
	      "  --setup             create events (partitioned) and events_mirror with --rows rows,\n"
	      "                      then exit\n"
	      "  --partitions N      range partitions made by --setup (default 4)\n"
	      "  --progress S        print a progress line to stderr every S seconds (default off)\n"
	      "Prints one JSON line with the results on stdout.\n",
	      f);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q) {
		fprintf(stderr, "loadgen: out of memory\n");
		exit(1);
	}
	return q;
}

/* splitmix64: small, fast, and good enough to pick keys and operations. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi); hi > lo. */
static int64_t rng_range(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng_next(s) % (uint64_t)(hi - lo));
}

/* --- the offered load -------------------------------------------------------------------- */

/* The hot bump's shape, 0..1, at u cycles after the bump began (0 <= u <= width). */
static double bump_shape(double u, double width)
{
	return 0.5 * (1.0 - cos(2.0 * M_PI * u / width));
}

/* Integral of bump_shape from 0 to u, for 0 <= u <= width. */
static double bump_integral(double u, double width)
{
	return u / 2.0 - width / (4.0 * M_PI) * sin(2.0 * M_PI * u / width);
}

static double clampd(double x, double lo, double hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* Hot rate in requests/s at t seconds after the start. */
static double hot_rate(const struct lg_opts *o, double t)
{
	double x = t / o->cycle_s;
	double u = (x - floor(x)) - run.bump_start;

	if (u < 0)
		u += 1.0;
	if (u > o->bump_width)
		return 0.0;
	return o->peak_rps * bump_shape(u, o->bump_width);
}

/*
 * Cumulative offered requests from the start to t seconds. The hot part is the number of whole
 * cycles times one bump's area plus the part of the bump inside the current cycle; a bump that
 * begins late in a cycle wraps into the next one, which is the first term of `part`.
 */
static double offered_until(const struct lg_opts *o, double t)
{
	double w = o->bump_width, b = run.bump_start;
	double x = t / o->cycle_s;
	double whole = floor(x), f = x - whole;
	double part = bump_integral(fmin(f + 1.0 - b, w), w) - bump_integral(fmin(1.0 - b, w), w) +
	              bump_integral(clampd(f - b, 0.0, w), w);

	return o->base_rps * t + o->peak_rps * o->cycle_s * (whole * w / 2.0 + part);
}

/*
 * Seconds after the start at which the cumulative offered load reaches target, searched in
 * [from, duration]; returns a value past the duration when it is not reached in the run.
 */
static double arrival_time(const struct lg_opts *o, double target, double from)
{
	double lo = from, hi = o->duration_s;

	if (offered_until(o, hi) < target)
		return o->duration_s + 1.0;
	for (int i = 0; i < 60 && hi - lo > 1e-7; i++) {
		double mid = (lo + hi) / 2.0;

		if (offered_until(o, mid) < target)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/* --- connections and requests ------------------------------------------------------------ */

static PGconn *connect_db(const char *dsn)
{
	/* application_name first so that one in the DSN wins: later values override earlier. */
	const char *keys[] = {"application_name", "dbname", NULL};
	const char *vals[] = {"foreshard-loadgen", dsn, NULL};

	return PQconnectdbParams(keys, vals, 1);
}

/* Prints the first few failure messages, each on one line; the rest are only counted. */
static void log_failure(const struct lg_client *c, const char *what, const char *msg)
{
	int n = atomic_fetch_add(&run.errors_logged, 1);
	char line[512];
	size_t len = 0;

	if (n >= LG_ERRORS_LOGGED)
		return;
	/* libpq's messages span lines; runs of white space become one space. */
	for (const char *p = msg; *p && len < sizeof(line) - 1; p++) {
		bool space = *p == '\n' || *p == '\t' || *p == ' ';

		if (!space)
			line[len++] = *p;
		else if (len > 0 && line[len - 1] != ' ')
			line[len++] = ' ';
	}
	while (len > 0 && line[len - 1] == ' ')
		len--;
	line[len] = '\0';
	fprintf(stderr, "loadgen: client %d: %s: %s%s\n", c->index, what, line,
	        n == LG_ERRORS_LOGGED - 1 ? " (further errors are only counted)" : "");
}

/*
 * Opens the client's connection and prepares its named read statement. Returns false (and
 * leaves conn NULL) when that fails; the message is logged by the caller's policy.
 */
static bool client_connect(struct lg_client *c, char *err, size_t errlen)
{
	PGresult *r;

	c->last_connect_us = fs_mono_us();
	c->conn = connect_db(c->o->dsn);
	if (PQstatus(c->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c->conn));
		PQfinish(c->conn);
		c->conn = NULL;
		return false;
	}
	r = PQprepare(c->conn, "lg_read", LG_READ_SQL, 1, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "prepare: %s", PQerrorMessage(c->conn));
		PQclear(r);
		PQfinish(c->conn);
		c->conn = NULL;
		return false;
	}
	PQclear(r);
	return true;
}

/*
 * Runs one statement with parameter $1 = id: by the extended protocol (unnamed statement, the id
 * as a text parameter) or by the simple protocol (the id written into the text in place of $1).
 * Returns false with the message in err.
 */
static bool run_stmt(PGconn *conn, bool extended, const char *sql, int64_t id, ExecStatusType want,
                     char *err, size_t errlen)
{
	char idtext[24], text[256];
	const char *params[1] = {idtext};
	const char *dollar = strstr(sql, "$1");
	PGresult *r;
	bool ok;

	snprintf(idtext, sizeof(idtext), "%" PRId64, id);
	if (extended) {
		r = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
	} else {
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(dollar - sql), sql, idtext,
		         dollar + 2);
		r = PQexec(conn, text);
	}
	ok = PQresultStatus(r) == want;
	if (!ok)
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
	PQclear(r);
	return ok;
}

enum lg_op {
	LG_READ = 0, /* point select on events */
	LG_UPDATE,   /* increment val in events and the mirror */
	LG_INSERT,   /* new off-grid id into both */
	LG_DELETE,   /* remove an id this thread inserted from both */
};

static const char *lg_op_str(enum lg_op op)
{
	switch (op) {
	case LG_READ:
		return "read";
	case LG_UPDATE:
		return "update";
	case LG_INSERT:
		return "insert";
	case LG_DELETE:
		return "delete";
	}
	return "?";
}

/* The statements of each write, on events and on events_mirror; $1 is the id. */
static const char *const write_sql[][2] = {
        [LG_UPDATE] = {"UPDATE events SET val = val + 1, updated_at = now() WHERE id = $1",
                       "UPDATE events_mirror SET val = val + 1, updated_at = now() WHERE id = $1"},
        [LG_INSERT] = {"INSERT INTO events (id, val, updated_at) VALUES ($1, 0, now())",
                       "INSERT INTO events_mirror (id, val, updated_at) VALUES ($1, 0, now())"},
        [LG_DELETE] = {"DELETE FROM events WHERE id = $1",
                       "DELETE FROM events_mirror WHERE id = $1"},
};

/*
 * One write transaction: BEGIN, the statement on events, the same on events_mirror, COMMIT,
 * each a round trip of its own so that a proxy sees a transaction in flight. On failure the
 * transaction is rolled back when the connection still works. *committed_maybe tells whether
 * COMMIT was sent (its outcome is then unknown on failure).
 */
static bool run_write(PGconn *conn, enum lg_op op, bool extended, int64_t id, bool *committed_maybe,
                      char *err, size_t errlen)
{
	PGresult *r;
	bool ok = true;

	*committed_maybe = false;
	r = PQexec(conn, "BEGIN");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "BEGIN: %s", PQerrorMessage(conn));
		ok = false;
	}
	PQclear(r);
	for (int t = 0; ok && t < 2; t++)
		ok = run_stmt(conn, extended, write_sql[op][t], id, PGRES_COMMAND_OK, err, errlen);
	if (ok) {
		*committed_maybe = true;
		r = PQexec(conn, "COMMIT");
		/* A COMMIT of a failed transaction reports ROLLBACK with status OK: check the tag. */
		if (PQresultStatus(r) != PGRES_COMMAND_OK ||
		    strcmp(PQcmdStatus(r), "COMMIT") != 0) {
			snprintf(err, errlen, "COMMIT: %s", PQerrorMessage(conn));
			ok = false;
		}
		PQclear(r);
		return ok;
	}
	if (PQstatus(conn) == CONNECTION_OK)
		PQclear(PQexec(conn, "ROLLBACK"));
	return false;
}

/* Grid slots (rows) whose key lies in [lo, hi), as [*slo, *shi); false when there are none. */
static bool grid_slots(int64_t lo, int64_t hi, int64_t *slo, int64_t *shi)
{
	*slo = (lo + run.gap - 1) / run.gap;
	*shi = (hi + run.gap - 1) / run.gap;
	return *shi > *slo;
}

static bool live_has(const struct lg_client *c, int64_t id)
{
	for (size_t i = 0; i < c->n_live; i++)
		if (c->live[i] == id)
			return true;
	return false;
}

static void live_add(struct lg_client *c, int64_t id)
{
	if (c->n_live == c->cap_live) {
		c->cap_live = c->cap_live ? 2 * c->cap_live : 64;
		c->live = xrealloc(c->live, c->cap_live * sizeof(*c->live));
	}
	c->live[c->n_live++] = id;
}

/*
 * A new id for this thread inside [lo, hi): an off-grid key in a slot this thread owns, not
 * already inserted. Returns -1 when none was found (the caller updates instead).
 */
static int64_t new_id(struct lg_client *c, int64_t lo, int64_t hi)
{
	int clients = c->o->clients;
	int64_t slo, shi;

	if (run.gap < 2 || !grid_slots(lo, hi, &slo, &shi))
		return -1;
	for (int attempt = 0; attempt < 8; attempt++) {
		int64_t slot = rng_range(&c->rng, slo, shi);
		int64_t id;

		slot = slot - slot % clients + c->index;
		if (slot >= shi)
			slot -= clients;
		if (slot < 0)
			return -1;
		id = slot * run.gap + rng_range(&c->rng, 1, run.gap);
		if (id < c->o->keys && !live_has(c, id))
			return id;
	}
	return -1;
}

/* Chooses what arrival t (seconds after start) does; all choices come from the thread's rng. */
static enum lg_op choose(struct lg_client *c, double t, int64_t *id, bool *extended)
{
	const struct lg_opts *o = c->o;
	double hot = hot_rate(o, t), total = o->base_rps + hot;
	bool in_hot = total > 0 && rng_unit(&c->rng) * total < hot;
	int64_t lo = in_hot ? o->hot_lo : 0, hi = in_hot ? o->hot_hi : o->keys;
	int64_t slo, shi;
	enum lg_op op = LG_READ;

	*extended = rng_next(&c->rng) & 1;
	if (rng_unit(&c->rng) < o->write_ratio) {
		double w = rng_unit(&c->rng);

		op = w < 0.8 ? LG_UPDATE : w < 0.9 ? LG_INSERT : LG_DELETE;
	}
	if (op == LG_DELETE && c->n_live == 0)
		op = LG_INSERT;
	if (op == LG_INSERT) {
		*id = new_id(c, lo, hi);
		if (*id >= 0)
			return op;
		op = LG_UPDATE;
	}
	if (op == LG_DELETE) {
		size_t i = (size_t)rng_range(&c->rng, 0, (int64_t)c->n_live);

		*id = c->live[i];
		return op;
	}
	/* Reads and updates hit a grid key (an initial row) when the range holds one. */
	if (grid_slots(lo, hi, &slo, &shi) && slo < o->rows)
		*id = rng_range(&c->rng, slo, shi < o->rows ? shi : o->rows) * run.gap;
	else
		*id = rng_range(&c->rng, lo, hi);
	return op;
}

/* Removes id from the live set after its DELETE committed. */
static void live_remove(struct lg_client *c, int64_t id)
{
	for (size_t i = 0; i < c->n_live; i++) {
		if (c->live[i] == id) {
			c->live[i] = c->live[--c->n_live];
			return;
		}
	}
}

static void record_latency(struct lg_client *c, uint64_t us)
{
	if (c->n_lat == c->cap_lat) {
		c->cap_lat = c->cap_lat ? 2 * c->cap_lat : 4096;
		c->lat_us = xrealloc(c->lat_us, c->cap_lat * sizeof(*c->lat_us));
	}
	c->lat_us[c->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

/* Sleeps until the monotonic time `until`, in slices so that an interrupt is seen. */
static void sleep_until(uint64_t until)
{
	for (;;) {
		uint64_t now = fs_mono_us(), d;
		struct timespec ts;

		if (now >= until || atomic_load(&run.stop))
			return;
		d = until - now;
		if (d > LG_SLEEP_SLICE_US)
			d = LG_SLEEP_SLICE_US;
		ts.tv_sec = (time_t)(d / 1000000);
		ts.tv_nsec = (long)(d % 1000000) * 1000;
		nanosleep(&ts, NULL);
	}
}

/* Performs one request on the client's connection, reconnecting first if it is down. */
static void do_request(struct lg_client *c, enum lg_op op, bool extended, int64_t id)
{
	char err[512] = "";
	uint64_t t0 = fs_mono_us();
	bool ok, committed_maybe = false;

	if (!c->conn) {
		if (t0 - c->last_connect_us < LG_RECONNECT_US) {
			snprintf(err, sizeof(err), "not connected");
			ok = false;
			goto done;
		}
		if (!client_connect(c, err, sizeof(err))) {
			ok = false;
			goto done;
		}
		t0 = fs_mono_us();
	}
	if (op == LG_READ) {
		char idtext[24];
		const char *params[1] = {idtext};
		PGresult *r;

		if (extended) {
			snprintf(idtext, sizeof(idtext), "%" PRId64, id);
			r = PQexecPrepared(c->conn, "lg_read", 1, params, NULL, NULL, 0);
			ok = PQresultStatus(r) == PGRES_TUPLES_OK;
			if (!ok)
				snprintf(err, sizeof(err), "%s", PQerrorMessage(c->conn));
			PQclear(r);
		} else {
			ok = run_stmt(c->conn, false, LG_READ_SQL, id, PGRES_TUPLES_OK, err,
			              sizeof(err));
		}
	} else {
		ok = run_write(c->conn, op, extended, id, &committed_maybe, err, sizeof(err));
	}
	/* An insert whose COMMIT outcome is unknown is kept: deleting a missing id is harmless. */
	if (op == LG_INSERT && (ok || committed_maybe))
		live_add(c, id);
	if (op == LG_DELETE && ok)
		live_remove(c, id);
done:
	record_latency(c, fs_mono_us() - t0);
	if (!ok) {
		char what[64];

		snprintf(what, sizeof(what), "%s %s id %" PRId64, extended ? "extended" : "simple",
		         lg_op_str(op), id);
		log_failure(c, what, err);
		atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
		if (c->conn && PQstatus(c->conn) != CONNECTION_OK) {
			PQfinish(c->conn);
			c->conn = NULL;
		}
	}
	atomic_fetch_add_explicit(&c->ops, 1, memory_order_relaxed);
}

/* Client thread: follows its share of the arrival schedule until the duration ends. */
static void *client_main(void *arg)
{
	struct lg_client *c = arg;
	const struct lg_opts *o = c->o;
	double t = 0.0;

	for (uint64_t n = 0; !atomic_load(&run.stop); n++) {
		double target = (double)n * o->clients + c->index + 0.5;
		uint64_t due, now;
		enum lg_op op;
		int64_t id = 0;
		bool extended;

		t = arrival_time(o, target, t);
		if (t >= o->duration_s)
			break;
		due = run.start_mono_us + (uint64_t)(t * 1e6);
		sleep_until(due);
		if (atomic_load(&run.stop))
			break;
		now = fs_mono_us();
		if (now > due && now - due > c->max_lag_us)
			c->max_lag_us = now - due;
		op = choose(c, t, &id, &extended);
		do_request(c, op, extended, id);
	}
	/* The run lasts the whole duration even when the schedule has nothing left to send. */
	sleep_until(run.start_mono_us + (uint64_t)(o->duration_s * 1e6));
	return NULL;
}

/*
 * Reads the off-grid ids that already exist in this client's slots (left by an earlier run),
 * so that its inserts never collide with them. Exits on failure: the tables must exist.
 */
static void load_live_ids(struct lg_client *c)
{
	char sql[256];
	PGresult *r;

	if (run.gap < 2 || c->o->write_ratio <= 0)
		return;
	snprintf(sql, sizeof(sql),
	         "SELECT id FROM events_mirror WHERE id %% %" PRId64 " <> 0 AND (id / %" PRId64
	         ") %% %d = %d ORDER BY id",
	         run.gap, run.gap, c->o->clients, c->index);
	r = PQexec(c->conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "loadgen: reading existing ids: %s(run with --setup first?)\n",
		        PQerrorMessage(c->conn));
		exit(1);
	}
	for (int i = 0; i < PQntuples(r); i++)
		live_add(c, strtoll(PQgetvalue(r, i, 0), NULL, 10));
	PQclear(r);
}

/* --- setup -------------------------------------------------------------------------------- */

static bool exec_ok(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		fprintf(stderr, "loadgen: setup: %s\n  in: %s\n", PQerrorMessage(conn), sql);
	PQclear(r);
	return ok;
}

/* Creates both tables, the partitions and the initial rows. Returns the process exit code. */
static int do_setup(const struct lg_opts *o)
{
	PGconn *conn = connect_db(o->dsn);
	char sql[512];
	bool ok;

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "loadgen: connect: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	ok = exec_ok(conn, "SET client_min_messages = warning") &&
	     exec_ok(conn, "DROP TABLE IF EXISTS public.events, public.events_mirror") &&
	     exec_ok(conn, "CREATE TABLE public.events (id bigint, val bigint, updated_at "
	                   "timestamptz, PRIMARY KEY (id)) PARTITION BY RANGE (id)") &&
	     exec_ok(conn, "CREATE TABLE public.events_mirror (id bigint, val bigint, updated_at "
	                   "timestamptz, PRIMARY KEY (id))");
	for (int i = 0; ok && i < o->partitions; i++) {
		int64_t lo = o->keys / o->partitions * i;
		int64_t hi = i == o->partitions - 1 ? o->keys : o->keys / o->partitions * (i + 1);

		snprintf(
		        sql, sizeof(sql),
		        "CREATE TABLE public.events_p%d PARTITION OF public.events FOR VALUES FROM "
		        "(%" PRId64 ") TO (%" PRId64 ")",
		        i + 1, lo, hi);
		ok = exec_ok(conn, sql);
	}
	snprintf(sql, sizeof(sql),
	         "INSERT INTO public.events (id, val, updated_at) SELECT g * %" PRId64
	         ", g %% 1000, now() FROM generate_series(0, %" PRId64 ") g",
	         run.gap, o->rows - 1);
	ok = ok && exec_ok(conn, sql) &&
	     exec_ok(conn, "INSERT INTO public.events_mirror SELECT id, val, updated_at FROM "
	                   "public.events") &&
	     exec_ok(conn, "ANALYZE public.events") &&
	     exec_ok(conn, "ANALYZE public.events_mirror");
	PQfinish(conn);
	if (!ok)
		return 1;
	fprintf(stderr,
	        "loadgen: setup: %" PRId64 " rows (ids 0, %" PRId64 ", ...) in %d partitions over "
	        "[0, %" PRId64 ") and in events_mirror\n",
	        o->rows, run.gap, o->partitions, o->keys);
	return 0;
}

/* --- results ------------------------------------------------------------------------------ */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values, in milliseconds; 0 when there are none. */
static double percentile_ms(const uint32_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	rank = (size_t)ceil(p * (double)n);
	if (rank < 1)
		rank = 1;
	return v[rank - 1] / 1000.0;
}

static void print_results(const struct lg_opts *o, struct lg_client *cl, uint64_t start_wall_ms,
                          double duration_s)
{
	size_t n = 0, k = 0;
	uint64_t ops = 0, errors = 0, lag = 0;
	uint32_t *all;

	for (int i = 0; i < o->clients; i++)
		n += cl[i].n_lat;
	all = xrealloc(NULL, (n ? n : 1) * sizeof(*all));
	for (int i = 0; i < o->clients; i++) {
		memcpy(all + k, cl[i].lat_us, cl[i].n_lat * sizeof(*all));
		k += cl[i].n_lat;
		ops += atomic_load(&cl[i].ops);
		errors += atomic_load(&cl[i].errors);
		if (cl[i].max_lag_us > lag)
			lag = cl[i].max_lag_us;
	}
	qsort(all, n, sizeof(*all), cmp_u32);
	printf("{\"start_ms\": %" PRIu64 ", \"duration_s\": %.3f, \"ops\": %" PRIu64
	       ", \"errors\": %" PRIu64 ", \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, "
	       "\"max_lag_ms\": %.3f, \"cycle_s\": %g, \"peak_phase\": %g, \"peaks_ms\": [",
	       start_wall_ms, duration_s, ops, errors, percentile_ms(all, n, 0.5),
	       percentile_ms(all, n, 0.99), n ? all[n - 1] / 1000.0 : 0.0, (double)lag / 1000.0,
	       o->cycle_s, o->peak_phase);
	for (int p = 0;; p++) {
		double at = (p + o->peak_phase) * o->cycle_s;

		if (at > duration_s)
			break;
		printf("%s%" PRIu64, p ? ", " : "", start_wall_ms + (uint64_t)llround(at * 1000.0));
	}
	printf("]}\n");
	fflush(stdout);
	free(all);
}

/* Prints ops and errors of the last interval to stderr. */
static void print_progress(const struct lg_opts *o, struct lg_client *cl, double t,
                           uint64_t *last_ops, uint64_t *last_errors, double *last_t)
{
	uint64_t ops = 0, errors = 0;

	for (int i = 0; i < o->clients; i++) {
		ops += atomic_load_explicit(&cl[i].ops, memory_order_relaxed);
		errors += atomic_load_explicit(&cl[i].errors, memory_order_relaxed);
	}
	fprintf(stderr,
	        "loadgen: t=%.0fs offered=%.0f/s done=%.0f/s errors=%" PRIu64 " (total ops %" PRIu64
	        ")\n",
	        t, o->base_rps + hot_rate(o, t), (double)(ops - *last_ops) / (t - *last_t),
	        errors - *last_errors, ops);
	*last_ops = ops;
	*last_errors = errors;
	*last_t = t;
}

/* --- options and main --------------------------------------------------------------------- */

static bool parse_double(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && isfinite(*out);
}

static bool parse_i64(const char *s, int64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

/* Parses argv into o; prints what is wrong and returns false on bad input. */
static bool parse_opts(int argc, char **argv, struct lg_opts *o)
{
	enum {
		O_DSN = 256,
		O_CLIENTS,
		O_DURATION,
		O_CYCLE,
		O_PEAK_PHASE,
		O_BUMP_WIDTH,
		O_BASE_RPS,
		O_PEAK_RPS,
		O_KEYS,
		O_ROWS,
		O_HOT_LO,
		O_HOT_HI,
		O_WRITE_RATIO,
		O_SEED,
		O_SETUP,
		O_PARTITIONS,
		O_PROGRESS,
		O_HELP,
	};
	static const struct option longopts[] = {
	        {"dsn", required_argument, NULL, O_DSN},
	        {"clients", required_argument, NULL, O_CLIENTS},
	        {"duration", required_argument, NULL, O_DURATION},
	        {"cycle", required_argument, NULL, O_CYCLE},
	        {"peak-phase", required_argument, NULL, O_PEAK_PHASE},
	        {"bump-width", required_argument, NULL, O_BUMP_WIDTH},
	        {"base-rps", required_argument, NULL, O_BASE_RPS},
	        {"peak-rps", required_argument, NULL, O_PEAK_RPS},
	        {"keys", required_argument, NULL, O_KEYS},
	        {"rows", required_argument, NULL, O_ROWS},
	        {"hot-lo", required_argument, NULL, O_HOT_LO},
	        {"hot-hi", required_argument, NULL, O_HOT_HI},
	        {"write-ratio", required_argument, NULL, O_WRITE_RATIO},
	        {"seed", required_argument, NULL, O_SEED},
	        {"setup", no_argument, NULL, O_SETUP},
	        {"partitions", required_argument, NULL, O_PARTITIONS},
	        {"progress", required_argument, NULL, O_PROGRESS},
	        {"help", no_argument, NULL, O_HELP},
	        {NULL, 0, NULL, 0},
	};
	bool hot_lo_set = false, hot_hi_set = false;
	int64_t i64;
	int opt;

	*o = (struct lg_opts){.dsn = "",
	                      .clients = 8,
	                      .duration_s = 60,
	                      .cycle_s = 40,
	                      .peak_phase = 0.6,
	                      .bump_width = 0.4,
	                      .base_rps = 200,
	                      .peak_rps = 800,
	                      .keys = 1000000,
	                      .rows = 100000,
	                      .write_ratio = 0.3,
	                      .seed = 1,
	                      .partitions = 4};
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case O_DSN:
			o->dsn = optarg;
			break;
		case O_CLIENTS:
			ok = parse_i64(optarg, &i64) && i64 >= 1 && i64 <= LG_MAX_CLIENTS;
			o->clients = (int)i64;
			break;
		case O_DURATION:
			ok = parse_double(optarg, &o->duration_s) && o->duration_s > 0;
			break;
		case O_CYCLE:
			ok = parse_double(optarg, &o->cycle_s) && o->cycle_s > 0;
			break;
		case O_PEAK_PHASE:
			ok = parse_double(optarg, &o->peak_phase) && o->peak_phase >= 0 &&
			     o->peak_phase < 1;
			break;
		case O_BUMP_WIDTH:
			ok = parse_double(optarg, &o->bump_width) && o->bump_width > 0 &&
			     o->bump_width <= 1;
			break;
		case O_BASE_RPS:
			ok = parse_double(optarg, &o->base_rps) && o->base_rps >= 0;
			break;
		case O_PEAK_RPS:
			ok = parse_double(optarg, &o->peak_rps) && o->peak_rps >= 0;
			break;
		case O_KEYS:
			ok = parse_i64(optarg, &o->keys) && o->keys >= 1;
			break;
		case O_ROWS:
			ok = parse_i64(optarg, &o->rows) && o->rows >= 1;
			break;
		case O_HOT_LO:
			ok = parse_i64(optarg, &o->hot_lo);
			hot_lo_set = true;
			break;
		case O_HOT_HI:
			ok = parse_i64(optarg, &o->hot_hi);
			hot_hi_set = true;
			break;
		case O_WRITE_RATIO:
			ok = parse_double(optarg, &o->write_ratio) && o->write_ratio >= 0 &&
			     o->write_ratio <= 1;
			break;
		case O_SEED:
			ok = parse_i64(optarg, &i64);
			o->seed = (uint64_t)i64;
			break;
		case O_SETUP:
			o->setup = true;
			break;
		case O_PARTITIONS:
			ok = parse_i64(optarg, &i64) && i64 >= 1 && i64 <= 10000;
			o->partitions = (int)i64;
			break;
		case O_PROGRESS:
			ok = parse_double(optarg, &o->progress_s) && o->progress_s >= 0;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return false;
		}
		if (!ok) {
			fprintf(stderr, "loadgen: bad value for --%s: %s\n",
			        longopts[opt - O_DSN].name, optarg);
			return false;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument: %s\n", argv[optind]);
		return false;
	}
	if (!hot_lo_set)
		o->hot_lo = (int64_t)((double)o->keys * 0.60);
	if (!hot_hi_set)
		o->hot_hi = (int64_t)((double)o->keys * 0.65);
	if (o->rows > o->keys) {
		fprintf(stderr, "loadgen: --rows must not exceed --keys\n");
		return false;
	}
	if (o->hot_lo < 0 || o->hot_hi > o->keys || o->hot_lo >= o->hot_hi) {
		fprintf(stderr, "loadgen: need 0 <= --hot-lo < --hot-hi <= --keys\n");
		return false;
	}
	if (o->partitions > o->keys) {
		fprintf(stderr, "loadgen: --partitions must not exceed --keys\n");
		return false;
	}
	return true;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&run.stop, true);
}

/* Seconds from the schedule's start to now; 0 before it. */
static double seconds_since_start(void)
{
	uint64_t now = fs_mono_us();

	return now > run.start_mono_us ? (double)(now - run.start_mono_us) / 1e6 : 0.0;
}

/* Closes the first n clients' connections and frees their memory and the array. */
static void clients_free(struct lg_client *cl, int n)
{
	for (int i = 0; i < n; i++) {
		if (cl[i].conn)
			PQfinish(cl[i].conn);
		free(cl[i].live);
		free(cl[i].lat_us);
	}
	free(cl);
}

int main(int argc, char **argv)
{
	struct lg_opts o;
	struct lg_client *cl;
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, old;
	uint64_t start_wall_ms, last_ops = 0, last_errors = 0, errors = 0;
	double duration_s, last_t = 0, next_progress;
	int started = 0;
	char err[512];

	if (!parse_opts(argc, argv, &o))
		return 2;
	run.gap = o.keys / o.rows;
	run.bump_start = o.peak_phase - o.bump_width / 2.0;
	run.bump_start -= floor(run.bump_start);
	if (o.setup)
		return do_setup(&o);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cl = xrealloc(NULL, (size_t)o.clients * sizeof(*cl));
	for (int i = 0; i < o.clients; i++) {
		struct lg_client *c = &cl[i];

		*c = (struct lg_client){.o = &o, .index = i};
		c->rng = o.seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(i + 1));
		rng_next(&c->rng);
		if (!client_connect(c, err, sizeof(err))) {
			fprintf(stderr, "loadgen: client %d: connect: %s", i, err);
			clients_free(cl, i + 1);
			return 1;
		}
		load_live_ids(c);
	}

	/* Workers block the signals so that the main thread's sleep is the one interrupted. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	run.start_mono_us = fs_mono_us() + 50000;
	start_wall_ms = (fs_wall_us() + (run.start_mono_us - fs_mono_us())) / 1000;
	while (started < o.clients &&
	       pthread_create(&cl[started].thread, NULL, client_main, &cl[started]) == 0)
		started++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started < o.clients) {
		fprintf(stderr, "loadgen: cannot start client thread %d\n", started);
		atomic_store(&run.stop, true);
		for (int i = 0; i < started; i++)
			pthread_join(cl[i].thread, NULL);
		clients_free(cl, o.clients);
		return 1;
	}

	next_progress = o.progress_s;
	while (!atomic_load(&run.stop)) {
		double t = seconds_since_start();

		if (t >= o.duration_s)
			break;
		if (o.progress_s > 0 && t >= next_progress) {
			print_progress(&o, cl, t, &last_ops, &last_errors, &last_t);
			next_progress += o.progress_s;
		}
		sleep_until(fs_mono_us() + 100000);
	}
	duration_s = o.duration_s;
	if (atomic_load(&run.stop)) {
		duration_s = fmin(seconds_since_start(), o.duration_s);
		fprintf(stderr, "loadgen: interrupted after %.1f s\n", duration_s);
	}
	for (int i = 0; i < o.clients; i++)
		pthread_join(cl[i].thread, NULL);
	print_results(&o, cl, start_wall_ms, duration_s);
	for (int i = 0; i < o.clients; i++)
		errors += atomic_load(&cl[i].errors);
	clients_free(cl, o.clients);
	if (errors)
		fprintf(stderr, "loadgen: %" PRIu64 " failed requests\n", errors);
	return 0;
}
