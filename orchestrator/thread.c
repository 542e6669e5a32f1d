/*
 * The orchestrator thread (see orch.h): owns the libpq connection to the managed database,
 * recovers unfinished operations from the journal at start, after every reconnect and at every
 * catalog refresh (those nobody holds the lock of), executes plan actions from its mailbox one
 * at a time, schedules the cleanup of cut-over operations, and keeps the catalog and journal
 * snapshots current.
 *
 * DESIGN: one thread, one connection, one operation at a time. Everything an operation does is
 * in the journal, so the thread keeps almost no state of its own: a lost connection or a crash
 * costs only a reconnect followed by the same recovery pass that runs at start. What it does
 * keep: the advisory locks of operations it owns (held by its session until they are final),
 * the cleanups due (op id and time), and the one action whose operation a lost connection
 * interrupted, so that its result can still be reported once recovery has finished it. The
 * thread waits with poll() on the inbox eventfd and a stop eventfd, with a timeout of the next
 * catalog refresh or cleanup, whichever comes first. Database errors never end the thread: they
 * end the operation (rolled back) and are reported in the result and the journal.
 */
#include "orchestrator/orch.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time.h"
#include "orchestrator/catalog.h"
#include "orchestrator/db.h"
#include "orchestrator/journal.h"
#include "orchestrator/split.h"

#define INBOX_CAP 64                /* actions queued; the planner sends a handful at most */
#define MAX_ACTIVE 256              /* unfinished operations recovery looks at in one pass */
#define RECOVERY_LOCK_WAIT_MS 10000 /* how long a dead owner's session may take to go away */
#define RECONNECT_MAX_MS 5000       /* longest wait between reconnection attempts */

/* A cut-over operation whose old partition is dropped once the grace period is over. */
struct cleanup_due {
	int64_t op_id;   /* journal op id; its advisory lock is held until it is cleaned */
	uint64_t due_us; /* monotonic time after which it may be dropped */
};

struct orch {
	struct orch_config cfg;           /* copy; dsn and tables point at the copies below */
	char *dsn;                        /* owned copy of cfg.dsn */
	char *tables;                     /* owned copy of cfg.tables */
	struct fs_snap_slot *cat_slot;    /* where catalogs are published; borrowed */
	struct fs_snap_slot journal_slot; /* struct orch_journal snapshots; owned */
	struct orch_pause_ops pause;      /* copy of the caller's pause callbacks */
	bool has_pause;                   /* pause callbacks were given */
	struct fs_mailbox *results;       /* struct planner_result out; borrowed, may be NULL */
	struct fs_mailbox inbox;          /* struct planner_action in */
	int stop_fd;                      /* eventfd written by orch_stop to end waits at once */
	atomic_bool stop;                 /* set by orch_stop */
	pthread_t thread;                 /* the orchestrator thread */
	char owner[64];                   /* host:pid, recorded in journal rows we work on */
	struct orch_split_env env;        /* what the step runner borrows from us */
	/* state below belongs to the thread once it runs */
	PGconn *conn;                  /* the connection, NULL while reconnecting */
	struct fs_catalog *cat;        /* our reference to the last published catalog */
	bool recovered;                /* the start-up recovery pass has finished */
	struct cleanup_due *cleanups;  /* owned array */
	int n_cleanups;                /* entries in cleanups */
	bool has_pending;              /* an action waits for its operation's recovery */
	struct planner_action pending; /* that action */
	int64_t pending_op;            /* its operation */
	uint64_t next_refresh_us;      /* monotonic time of the next catalog refresh */
};

/* Waits up to ms or until orch_stop; false when the thread must stop. Thread only. */
static bool orch_sleep(void *ctx, uint32_t ms)
{
	struct orch *o = ctx;
	struct pollfd p = {.fd = o->stop_fd, .events = POLLIN};

	if (ms > 0 && !atomic_load(&o->stop)) {
		if (poll(&p, 1, (int)ms) < 0 && errno != EINTR)
			fs_log(FS_LOG_WARN, "orchestrator: poll: %s", strerror(errno));
	}
	return !atomic_load(&o->stop);
}

/* Publishes a fresh journal snapshot; a failure only delays the console's view. */
static void publish_journal(void *ctx)
{
	struct orch *o = ctx;
	char err[256];
	struct orch_journal *j;

	if (orch_db_is_lost(o->conn))
		return;
	j = orch_journal_snapshot(o->conn, o->recovered, err, sizeof(err));
	if (!j) {
		fs_log(FS_LOG_WARN, "orchestrator: reading the journal: %s", err);
		return;
	}
	fs_snap_publish(&o->journal_slot, &j->snap);
}

/*
 * Reloads the catalog; publishes it when its version changed and keeps a reference for the next
 * reload's stable ids. Returns false when the database could not be read.
 */
static bool refresh_catalog(struct orch *o)
{
	char err[256];
	struct fs_catalog *cat;

	o->next_refresh_us = fs_mono_us() + (uint64_t)o->cfg.catalog_refresh_ms * 1000;
	if (orch_db_is_lost(o->conn))
		return false;
	cat = orch_catalog_load(o->conn, o->tables, o->cat, err, sizeof(err));
	if (!cat) {
		fs_log(FS_LOG_WARN, "orchestrator: reading the catalog: %s", err);
		return false;
	}
	if (o->cat && cat->version == o->cat->version) {
		fs_catalog_destroy(&cat->snap);
		return true;
	}
	/* one reference for the slot, one kept here */
	atomic_fetch_add(&cat->snap.refs, 1);
	fs_snap_publish(o->cat_slot, &cat->snap);
	if (o->cat)
		fs_snap_release(&o->cat->snap);
	o->cat = cat;
	fs_log(FS_LOG_INFO, "orchestrator: catalog version %" PRIu64 ", %d table(s)", cat->version,
	       cat->n_tables);
	return true;
}

static void send_result(struct orch *o, const struct planner_result *r)
{
	fs_log(r->ok ? FS_LOG_INFO : FS_LOG_WARN, "orchestrator: action %" PRIu32 ": %s",
	       r->action_id, r->message);
	if (o->results && !fs_mailbox_send(o->results, r))
		fs_log(FS_LOG_WARN,
		       "orchestrator: result mailbox full, result of action %" PRIu32 " dropped",
		       r->action_id);
}

static void schedule_cleanup(struct orch *o, int64_t op_id, uint64_t delay_ms)
{
	struct cleanup_due *c;

	for (int i = 0; i < o->n_cleanups; i++) {
		if (o->cleanups[i].op_id == op_id)
			return;
	}
	c = realloc(o->cleanups, (size_t)(o->n_cleanups + 1) * sizeof(*c));
	if (!c) {
		/* the next recovery pass (after a reconnect or restart) schedules it again */
		fs_log(FS_LOG_WARN, "orchestrator: out of memory scheduling cleanup of op %" PRId64,
		       op_id);
		return;
	}
	o->cleanups = c;
	c[o->n_cleanups].op_id = op_id;
	c[o->n_cleanups].due_us = fs_mono_us() + delay_ms * 1000;
	o->n_cleanups++;
}

static uint16_t table_id_of(const struct orch *o, const char *schema, const char *table)
{
	const struct fs_table *t = fs_catalog_find(o->cat, schema, table);

	return t ? t->id : FS_TABLE_NONE;
}

/*
 * Settles the lock and scheduling of an operation after orch_split_run returned st, and fills
 * r->ok. The lock stays held while the old partition awaits cleanup.
 */
static void after_run(struct orch *o, int64_t op_id, enum orch_split_status st,
                      struct planner_result *r)
{
	r->ok = st == ORCH_SPLIT_CUT_OVER || st == ORCH_SPLIT_CLEANED;
	if (st == ORCH_SPLIT_CUT_OVER)
		schedule_cleanup(o, op_id, o->cfg.cleanup_grace_ms);
	else if (st != ORCH_SPLIT_INTERRUPTED)
		orch_journal_unlock(o->conn, op_id);
}

/* Fills the result for an action or a recovered operation (action NULL). */
static void result_for(struct planner_result *r, const struct planner_action *a, uint16_t table_id)
{
	memset(r, 0, sizeof(*r));
	r->action_id = a ? a->id : 0;
	r->table_id = a ? a->table_id : table_id;
}

/*
 * Takes over and finishes one unfinished operation: waits for a dead owner's session to release
 * the lock (bounded by deadline_us), bumps the epoch, then schedules the cleanup of a cut-over
 * operation or runs any other forward (or back, when an abort was requested). Reports to the
 * pending action when it is the pending operation, else as action 0.
 */
static void recover_one(struct orch *o, int64_t op_id, uint64_t deadline_us)
{
	struct orch_journal_entry e;
	struct planner_result r;
	enum orch_split_status st;
	bool got = false;
	char err[256];
	const struct planner_action *a =
	        o->has_pending && o->pending_op == op_id ? &o->pending : NULL;

	for (;;) {
		if (orch_journal_lock(o->conn, op_id, &got, err, sizeof(err)) != ORCH_DB_OK) {
			fs_log(FS_LOG_WARN, "orchestrator: recovering op %" PRId64 ": %s", op_id,
			       err);
			return;
		}
		if (got || fs_mono_us() >= deadline_us || !orch_sleep(o, 200))
			break;
	}
	if (!got) {
		fs_log(FS_LOG_DEBUG, "orchestrator: op %" PRId64 " is owned by a live orchestrator",
		       op_id);
		return;
	}
	if (orch_journal_take_over(o->conn, op_id, o->owner, &e, err, sizeof(err)) != ORCH_DB_OK) {
		fs_log(FS_LOG_WARN, "orchestrator: taking over op %" PRId64 ": %s", op_id, err);
		orch_journal_unlock(o->conn, op_id);
		return;
	}
	fs_log(FS_LOG_INFO,
	       "orchestrator: recovering op %" PRId64 " (%s.%s, %s, epoch %" PRId64 ")", op_id,
	       e.schema, e.part, orch_step_str(e.step), e.epoch);
	result_for(&r, a, table_id_of(o, e.schema, e.table));
	if (e.step == ORCH_STEP_CUT_OVER) {
		uint64_t grace = o->cfg.cleanup_grace_ms;

		schedule_cleanup(o, op_id, e.age_ms < grace ? grace - e.age_ms : 0);
		r.ok = true;
		snprintf(r.message, sizeof(r.message),
		         "recovered op %" PRId64 ": cut over, cleanup pending", op_id);
	} else {
		char msg[sizeof(r.message) - 20];

		st = orch_split_run(&o->env, op_id, r.table_id, &r.cutover_ms, msg, sizeof(msg));
		fs_log(FS_LOG_INFO, "orchestrator: recovery of op %" PRId64 ": %s", op_id,
		       orch_split_status_str(st));
		if (st == ORCH_SPLIT_INTERRUPTED) {
			/* e.g. a rollback held up by locks: a later recovery pass tries again */
			orch_journal_unlock(o->conn, op_id);
			return;
		}
		after_run(o, op_id, st, &r);
		snprintf(r.message, sizeof(r.message), "recovered %s", msg);
	}
	if (a)
		o->has_pending = false;
	send_result(o, &r);
}

/*
 * Recovers every unfinished operation not already ours, waiting up to wait_ms in all for the
 * locks of owners that just died. Runs at start and after a reconnect (with a wait), and at
 * every catalog refresh (without one) for operations whose rollback had to be put off or whose
 * owner died while we run.
 */
static void recover_all(struct orch *o, uint32_t wait_ms)
{
	int64_t ids[MAX_ACTIVE];
	int n = 0;
	char err[256];
	uint64_t deadline = fs_mono_us() + (uint64_t)wait_ms * 1000;

	if (orch_journal_active(o->conn, ids, MAX_ACTIVE, &n, err, sizeof(err)) != ORCH_DB_OK) {
		fs_log(FS_LOG_WARN, "orchestrator: reading unfinished operations: %s", err);
		return;
	}
	for (int i = 0; i < n && !orch_db_is_lost(o->conn) && !atomic_load(&o->stop); i++) {
		bool ours = false;

		for (int k = 0; k < o->n_cleanups; k++)
			ours |= o->cleanups[k].op_id == ids[i];
		if (!ours)
			recover_one(o, ids[i], deadline);
	}
	publish_journal(o);
}

/* Connects (again) with backoff until it works or the thread is stopped. */
static bool reconnect(struct orch *o)
{
	uint32_t wait_ms = 100;
	char err[512];

	if (o->conn)
		PQfinish(o->conn);
	o->conn = NULL;
	o->env.conn = NULL;
	/* the session that held our locks is gone: recovery takes them again */
	o->n_cleanups = 0;
	while (!atomic_load(&o->stop)) {
		o->conn = orch_db_connect(o->dsn, err, sizeof(err));
		if (o->conn && orch_journal_ensure(o->conn, err, sizeof(err)) == ORCH_DB_OK) {
			o->env.conn = o->conn;
			fs_log(FS_LOG_INFO, "orchestrator: reconnected");
			return true;
		}
		fs_log(FS_LOG_WARN, "orchestrator: reconnecting in %" PRIu32 " ms: %s", wait_ms,
		       err);
		if (o->conn)
			PQfinish(o->conn);
		o->conn = NULL;
		if (!orch_sleep(o, wait_ms))
			break;
		wait_ms = wait_ms * 2 < RECONNECT_MAX_MS ? wait_ms * 2 : RECONNECT_MAX_MS;
	}
	return false;
}

/*
 * Executes one SPLIT action and fills its result. Returns false when the result must wait:
 * the connection dropped mid-operation, and recovery after the reconnect finishes the operation
 * and reports it.
 */
static bool do_split(struct orch *o, const struct planner_action *a, struct planner_result *r)
{
	const struct fs_table *t;
	enum orch_split_status st;
	int64_t op_id;

	refresh_catalog(o);
	t = fs_catalog_by_id(o->cat, a->table_id);
	if (!t) {
		snprintf(r->message, sizeof(r->message), "table id %u (%s) is not in the catalog",
		         a->table_id, a->table);
		return true;
	}
	if (!orch_split_plan(&o->env, t, a->partition, a->split_sql, &op_id, &st, r->message,
	                     sizeof(r->message)))
		return true;
	st = orch_split_run(&o->env, op_id, t->id, &r->cutover_ms, r->message, sizeof(r->message));
	if (st == ORCH_SPLIT_INTERRUPTED && orch_db_is_lost(o->conn) && !atomic_load(&o->stop)) {
		/* recovery after the reconnect finishes the operation and reports the result */
		o->has_pending = true;
		o->pending = *a;
		o->pending_op = op_id;
		return false;
	}
	if (st == ORCH_SPLIT_INTERRUPTED) {
		/* stopping, or a rollback put off: the next start or recovery pass finishes it */
		orch_journal_unlock(o->conn, op_id);
		return true;
	}
	after_run(o, op_id, st, r);
	return true;
}

static void handle_action(struct orch *o, const struct planner_action *a)
{
	struct planner_result r;

	result_for(&r, a, a->table_id);
	if (a->kind != PLANNER_SPLIT)
		snprintf(r.message, sizeof(r.message),
		         "action %" PRIu32 ": only SPLIT is supported", a->id);
	else if (!do_split(o, a, &r))
		return;
	refresh_catalog(o);
	publish_journal(o);
	send_result(o, &r);
}

/* Cleans up every operation whose grace period is over; failures are retried later. */
static void run_cleanups(struct orch *o)
{
	uint64_t now = fs_mono_us();

	for (int i = 0; i < o->n_cleanups && !orch_db_is_lost(o->conn);) {
		struct cleanup_due c = o->cleanups[i];
		enum orch_split_status st;
		char msg[256];

		if (c.due_us > now) {
			i++;
			continue;
		}
		st = orch_split_cleanup(&o->env, c.op_id, msg, sizeof(msg));
		fs_log(st == ORCH_SPLIT_CLEANED ? FS_LOG_INFO : FS_LOG_WARN, "orchestrator: %s",
		       msg);
		if (st == ORCH_SPLIT_INTERRUPTED) {
			o->cleanups[i].due_us = now + (uint64_t)o->cfg.catalog_refresh_ms * 1000;
			i++;
			continue;
		}
		orch_journal_unlock(o->conn, c.op_id);
		o->cleanups[i] = o->cleanups[--o->n_cleanups];
		refresh_catalog(o);
		publish_journal(o);
	}
}

/* Milliseconds until the next refresh or cleanup is due. */
static int wait_ms(const struct orch *o)
{
	uint64_t now = fs_mono_us(), next = o->next_refresh_us;

	for (int i = 0; i < o->n_cleanups; i++) {
		if (o->cleanups[i].due_us < next)
			next = o->cleanups[i].due_us;
	}
	if (next <= now)
		return 0;
	return next - now > 3600ull * 1000000 ? 3600 * 1000 : (int)((next - now + 999) / 1000);
}

static void *orch_main(void *arg)
{
	struct orch *o = arg;
	struct planner_action m;

	recover_all(o, RECOVERY_LOCK_WAIT_MS);
	o->recovered = true;
	refresh_catalog(o);
	publish_journal(o);
	while (!atomic_load(&o->stop)) {
		struct pollfd p[2] = {{.fd = fs_mailbox_fd(&o->inbox), .events = POLLIN},
		                      {.fd = o->stop_fd, .events = POLLIN}};

		if (orch_db_is_lost(o->conn)) {
			if (!reconnect(o))
				break;
			recover_all(o, RECOVERY_LOCK_WAIT_MS);
			refresh_catalog(o);
			publish_journal(o);
			continue;
		}
		if (poll(p, 2, wait_ms(o)) < 0 && errno != EINTR)
			fs_log(FS_LOG_WARN, "orchestrator: poll: %s", strerror(errno));
		if (atomic_load(&o->stop))
			break;
		fs_mailbox_ack_wakeup(&o->inbox);
		while (!orch_db_is_lost(o->conn) && fs_mailbox_recv(&o->inbox, &m))
			handle_action(o, &m);
		run_cleanups(o);
		if (fs_mono_us() >= o->next_refresh_us) {
			refresh_catalog(o);
			recover_all(o, 0);
		}
	}
	return NULL;
}

static void orch_free(struct orch *o)
{
	if (o->conn)
		PQfinish(o->conn);
	if (o->cat)
		fs_snap_release(&o->cat->snap);
	fs_snap_slot_cleanup(&o->journal_slot);
	fs_mailbox_cleanup(&o->inbox);
	if (o->stop_fd >= 0)
		close(o->stop_fd);
	free(o->cleanups);
	free(o->dsn);
	free(o->tables);
	free(o);
}

struct orch *orch_start(const struct orch_config *cfg, struct fs_snap_slot *cat_slot,
                        const struct orch_pause_ops *pause, struct fs_mailbox *results, char *err,
                        size_t errlen)
{
	struct orch *o = calloc(1, sizeof(*o));
	char host[48] = "localhost";

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->stop_fd = -1;
	fs_snap_slot_init(&o->journal_slot);
	o->cfg = *cfg;
	o->dsn = strdup(cfg->dsn ? cfg->dsn : "");
	o->tables = strdup(cfg->tables ? cfg->tables : "");
	o->cfg.dsn = o->dsn;
	o->cfg.tables = o->tables;
	if (o->cfg.catalog_refresh_ms == 0)
		o->cfg.catalog_refresh_ms = 5000;
	o->cat_slot = cat_slot;
	o->results = results;
	if (pause) {
		o->pause = *pause;
		o->has_pause = true;
	}
	atomic_init(&o->stop, false);
	if (!o->dsn || !o->tables ||
	    !fs_mailbox_init(&o->inbox, INBOX_CAP, sizeof(struct planner_action)) ||
	    (o->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "out of memory or file descriptors");
		orch_free(o);
		return NULL;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(o->owner, sizeof(o->owner), "%s:%ld", host, (long)getpid());
	o->env = (struct orch_split_env){
	        .cfg = &o->cfg,
	        .pause = o->has_pause ? &o->pause : NULL,
	        .owner = o->owner,
	        .sleep = orch_sleep,
	        .progress = publish_journal,
	        .ctx = o,
	};
	o->conn = orch_db_connect(o->dsn, err, errlen);
	if (o->conn && orch_journal_ensure(o->conn, err, errlen) == ORCH_DB_OK)
		o->cat = orch_catalog_load(o->conn, o->tables, NULL, err, errlen);
	if (!o->cat) {
		orch_free(o);
		return NULL;
	}
	/* one reference for the slot, one kept for the next reload's stable ids */
	atomic_fetch_add(&o->cat->snap.refs, 1);
	fs_snap_publish(o->cat_slot, &o->cat->snap);
	o->next_refresh_us = fs_mono_us() + (uint64_t)o->cfg.catalog_refresh_ms * 1000;
	o->env.conn = o->conn;
	publish_journal(o);
	if (pthread_create(&o->thread, NULL, orch_main, o) != 0) {
		snprintf(err, errlen, "cannot start the orchestrator thread");
		orch_free(o);
		return NULL;
	}
	return o;
}

struct fs_mailbox *orch_inbox(struct orch *o)
{
	return &o->inbox;
}

struct fs_snap_slot *orch_journal_slot(struct orch *o)
{
	return &o->journal_slot;
}

void orch_stop(struct orch *o)
{
	uint64_t one = 1;

	if (!o)
		return;
	atomic_store(&o->stop, true);
	if (write(o->stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the thread is already due to wake */
	}
	pthread_join(o->thread, NULL);
	orch_free(o);
}
