/*
 * The forecast engine (see forecast.h): per managed table, the key buckets laid over its
 * partitions, each bucket's counts for the open windows, its bounded history of closed windows
 * (req/s) and its model; the carry-over of history when the buckets move (catalog change, or
 * keys seen beyond an unbounded partition's clip); and the snapshot with per-bucket forecasts,
 * intervals and the hot-spot list. One engine belongs to the forecast thread.
 *
 * Model choice per bucket follows the history it has: two seasons or more fit the configured
 * model, by default the backtested choice among seasonal naive, ETS, ARIMA and the
 * Prophet-style model (forecast/select.h), refit every refit_windows within a CPU budget per
 * window and updated cheaply in between; one season gives seasonal naive with intervals from the
 * seasonal differences; less gives the history's mean with wide intervals. All buckets of a table share one history length and ring position, so
 * carrying history from old to new buckets is a weighted sum of aligned arrays.
 */
#include "forecast/forecast.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Windows kept open for counting: the oldest unclosed one plus a few after it, so events
 * stamped just past a boundary the thread has not ticked over yet land in the right window.
 */
#define ENG_OPEN 4

/* A partition as the engine needs it, with the clip its buckets were laid over. */
struct eng_part {
	uint64_t lo;      /* encoded inclusive lower bound; 0 = MINVALUE */
	uint64_t hi;      /* encoded exclusive upper bound; UINT64_MAX = MAXVALUE */
	bool is_default;  /* the DEFAULT partition: never bucketed */
	uint64_t clip_lo; /* bucket layout's lower end (lo unless unbounded) */
	uint64_t clip_hi; /* bucket layout's upper end (hi unless unbounded) */
};

struct eng_bucket {
	int part_index;            /* partition in the catalog table; -1 for a whole-table bucket */
	uint64_t lo;               /* reported lower bound (clipped when unbounded) */
	uint64_t hi;               /* reported upper bound, exclusive */
	uint64_t cover_lo;         /* keys counted here start at this one ... */
	uint64_t cover_hi;         /* ... and end before this one (UINT64_MAX: included) */
	double acc[ENG_OPEN];      /* requests counted in the open windows, oldest first */
	double *hist;              /* req/s per closed window, a ring positioned by the table */
	struct forecast_choice fc; /* the fitted model(s) when fc_ok */
	bool fc_ok;                /* fc holds a fit over this bucket's current history */
	uint32_t since_fit;        /* closed windows since the last fit; starts at a per-bucket
				  phase so a table's refits spread over refit_windows */
};

struct eng_table {
	uint16_t id;               /* catalog id */
	int n_parts;               /* partitions in the catalog's order */
	struct eng_part *parts;    /* owned */
	bool has_unbounded;        /* a bucketed partition has a MINVALUE or MAXVALUE end */
	bool obs_any;              /* a bounded key has been seen */
	uint64_t obs_min;          /* least key seen (0 and UINT64_MAX, open ends, are skipped) */
	uint64_t obs_max;          /* greatest key seen */
	bool obs_moved;            /* obs range grew since the last re-layout check */
	int n_buckets;             /* buckets over all partitions */
	struct eng_bucket *b;      /* owned, sorted by lo */
	double *hist_block;        /* owned: n_buckets * history doubles behind the b[i].hist */
	uint32_t hist_len;         /* closed windows in the history, <= history */
	uint32_t hist_next;        /* ring index the next closed window is written to */
	uint32_t windows_observed; /* closed windows since the table appeared */
};

struct forecast_engine {
	struct forecast_config cfg; /* with history and refit defaults resolved */
	bool have_catalog;          /* catalog_version is meaningful */
	uint64_t catalog_version;   /* the catalog the buckets are aligned to */
	int n_tables;               /* managed tables */
	struct eng_table *tables;   /* owned, sorted by id */
	bool started;               /* open_us is set (first tick or event) */
	uint64_t open_us;           /* start of the oldest open window, wall clock */
	uint64_t events;            /* events handed to forecast_engine_add */
	uint64_t ignored;           /* of those, counted nowhere */
	double *series;             /* scratch [history]: a bucket's history in time order */
	double *pred;               /* scratch [5 * horizon]: one forecast_pred's arrays */
	size_t period;              /* season_windows, as the models' period list */
	uint64_t window_cpu_us;     /* thread CPU time when the current window's refits began */
	bool refit_done;            /* a refit ran in the current window (the budget allows one) */
	double z80, z95;            /* normal quantiles of the two interval levels */
};

static struct eng_table *find_table(struct eng_table *tables, int n, uint16_t id)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (tables[mid].id == id)
			return &tables[mid];
		if (tables[mid].id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static int table_cmp(const void *a, const void *b)
{
	const struct eng_table *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

struct forecast_engine *forecast_engine_create(const struct forecast_config *cfg)
{
	struct forecast_engine *e;
	uint64_t hist;

	if (!cfg || cfg->window_ms == 0 || cfg->season_windows == 0 || cfg->horizon_windows == 0 ||
	    cfg->sub_buckets == 0)
		return NULL;
	hist = cfg->history_windows ? cfg->history_windows : 4ull * cfg->season_windows;
	if (hist < 2ull * cfg->season_windows)
		hist = 2ull * cfg->season_windows;
	if (hist > FORECAST_MAX_HISTORY)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->cfg.history_windows = (uint32_t)hist;
	if (e->cfg.refit_windows == 0)
		e->cfg.refit_windows = cfg->season_windows;
	e->series = malloc(hist * sizeof(double));
	e->pred = malloc(5 * (size_t)cfg->horizon_windows * sizeof(double));
	if (!e->series || !e->pred) {
		free(e->series);
		free(e->pred);
		free(e);
		return NULL;
	}
	e->period = cfg->season_windows;
	e->z80 = gsl_cdf_ugaussian_Pinv(0.90);
	e->z95 = gsl_cdf_ugaussian_Pinv(0.975);
	return e;
}

static void buckets_free(struct eng_bucket *b, int n)
{
	for (int i = 0; i < n; i++)
		forecast_choice_cleanup(&b[i].fc);
	free(b);
}

static void table_cleanup(struct eng_table *t)
{
	buckets_free(t->b, t->n_buckets);
	free(t->hist_block);
	free(t->parts);
}

void forecast_engine_destroy(struct forecast_engine *e)
{
	if (!e)
		return;
	for (int i = 0; i < e->n_tables; i++)
		table_cleanup(&e->tables[i]);
	free(e->tables);
	free(e->series);
	free(e->pred);
	free(e);
}

/* Width of the bounded partition nearest to part i, or 0 when there is none. */
static uint64_t neighbour_width(const struct eng_part *parts, int n, int i)
{
	for (int d = 1; d < n; d++) {
		const int cand[2] = {i - d, i + d};

		for (int c = 0; c < 2; c++) {
			const struct eng_part *p;

			if (cand[c] < 0 || cand[c] >= n)
				continue;
			p = &parts[cand[c]];
			if (!p->is_default && p->lo != 0 && p->hi != UINT64_MAX && p->hi > p->lo)
				return p->hi - p->lo;
		}
	}
	return 0;
}

/*
 * The key range part i's buckets are laid over: its bounds, with an unbounded end replaced by
 * the keys seen there plus half their span (at least sub_buckets units), or before any key is
 * seen there by the width of the nearest bounded partition.
 */
static void part_clip(const struct forecast_engine *e, const struct eng_table *t,
                      const struct eng_part *parts, int n, int i, uint64_t *lo_out,
                      uint64_t *hi_out)
{
	const struct eng_part *p = &parts[i];
	bool lo_open = p->lo == 0, hi_open = p->hi == UINT64_MAX;
	unsigned __int128 lo = p->lo, hi = p->hi;

	if (lo_open || hi_open) {
		if (t->obs_any && t->obs_min < p->hi && t->obs_max >= p->lo) {
			unsigned __int128 omin = t->obs_min > p->lo ? t->obs_min : p->lo;
			unsigned __int128 omax =
			        (unsigned __int128)(t->obs_max < p->hi - 1 ? t->obs_max
			                                                   : p->hi - 1) +
			        1;
			unsigned __int128 margin = (omax - omin) / 2;

			if (margin < e->cfg.sub_buckets)
				margin = e->cfg.sub_buckets;
			if (lo_open)
				lo = omin > margin ? omin - margin : 0;
			if (hi_open)
				hi = omax + margin < UINT64_MAX ? omax + margin : UINT64_MAX;
		} else {
			uint64_t w = neighbour_width(parts, n, i);

			if (w && lo_open && !hi_open)
				lo = p->hi > w ? p->hi - w : 0;
			if (w && hi_open && !lo_open)
				hi = (unsigned __int128)p->lo + w < UINT64_MAX ? p->lo + w
				                                               : UINT64_MAX;
		}
	}
	*lo_out = (uint64_t)lo;
	*hi_out = (uint64_t)hi;
}

/* Copies bucket b's history, oldest first, into e->series; returns its length. */
static uint32_t bucket_series(struct forecast_engine *e, const struct eng_table *t,
                              const struct eng_bucket *b)
{
	uint32_t h = e->cfg.history_windows;
	uint32_t start = (t->hist_next + h - t->hist_len) % h;

	for (uint32_t i = 0; i < t->hist_len; i++)
		e->series[i] = b->hist[(start + i) % h];
	return t->hist_len;
}

/*
 * Refits bucket b on its whole history. phase is where its refit counter restarts: bucket i of
 * a table starts at i mod refit_windows, so that after the first fit of all buckets (when the
 * history first reaches two seasons, or after a re-layout) each window refits only about
 * n_buckets / refit_windows of them instead of stalling the thread on all at once.
 */
static void bucket_fit(struct forecast_engine *e, const struct eng_table *t, struct eng_bucket *b,
                       uint32_t phase)
{
	uint32_t n = bucket_series(e, t, b);
	struct forecast_spec spec = {.periods = &e->period,
	                             .n_periods = 1,
	                             .horizon = e->cfg.horizon_windows,
	                             .seed = 1};

	forecast_choice_cleanup(&b->fc);
	b->fc_ok =
	        forecast_choose(e->series, n, e->cfg.model, &spec, &forecast_auto_default, &b->fc);
	b->since_fit = phase;
	e->refit_done = true;
}

/* The calling thread's CPU time in microseconds: the refit budget counts work, not waiting. */
static uint64_t cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Whether another refit fits this window's budget: the first always does. */
static bool refit_allowed(const struct forecast_engine *e)
{
	return !e->refit_done || e->cfg.refit_budget_us == 0 ||
	       cpu_us() - e->window_cpu_us < e->cfg.refit_budget_us;
}

static uint64_t overlap(uint64_t alo, uint64_t ahi, uint64_t blo, uint64_t bhi)
{
	uint64_t lo = alo > blo ? alo : blo, hi = ahi < bhi ? ahi : bhi;

	return hi > lo ? hi - lo : 0;
}

/*
 * Gives the new buckets the old buckets' counts and history: each old bucket's series is
 * shared among the new buckets it overlaps in proportion to the overlap, normalised over the
 * part of it that new buckets cover, so no load is lost unless its keys left every bucket.
 * A new bucket with exactly an old bucket's bounds takes over that bucket's model too.
 */
static void carry_over(struct forecast_engine *e, struct eng_bucket *ob, int n_old,
                       struct eng_bucket *nb, int n_new, double *cover)
{
	uint32_t h = e->cfg.history_windows;
	int i, j;

	/* both lists are sorted by lo and do not overlap among themselves: two sweeps */
	for (i = 0, j = 0; i < n_old && j < n_new;) {
		cover[i] += (double)overlap(ob[i].lo, ob[i].hi, nb[j].lo, nb[j].hi);
		if (ob[i].hi <= nb[j].hi)
			i++;
		else
			j++;
	}
	for (i = 0, j = 0; i < n_old && j < n_new;) {
		uint64_t ov = overlap(ob[i].lo, ob[i].hi, nb[j].lo, nb[j].hi);

		if (ov && cover[i] > 0) {
			double f = (double)ov / cover[i];

			for (int k = 0; k < ENG_OPEN; k++)
				nb[j].acc[k] += f * ob[i].acc[k];
			for (uint32_t k = 0; k < h; k++)
				nb[j].hist[k] += f * ob[i].hist[k];
			if (ob[i].lo == nb[j].lo && ob[i].hi == nb[j].hi &&
			    (double)ov == cover[i]) {
				nb[j].fc = ob[i].fc;
				nb[j].fc_ok = ob[i].fc_ok;
				nb[j].since_fit = ob[i].since_fit;
				ob[i].fc.n_fits = 0; /* moved: the old bucket owns it no more */
			}
		}
		if (ob[i].hi <= nb[j].hi)
			i++;
		else
			j++;
	}
}

/* Buckets part i gets: sub_buckets, or fewer when its clip is narrower than that in units. */
static uint64_t part_buckets(const struct forecast_engine *e, uint64_t clip_lo, uint64_t clip_hi)
{
	return clip_hi - clip_lo < e->cfg.sub_buckets ? clip_hi - clip_lo : e->cfg.sub_buckets;
}

/*
 * Lays t's buckets over parts (n of them; fills their clips), carries the old buckets' history
 * over, and refits the buckets that did not keep a model. On success t owns parts (and has
 * freed its previous parts unless they are the same array). On allocation failure t and parts
 * are unchanged and false is returned; the caller still owns parts.
 */
static bool table_rebuild(struct forecast_engine *e, struct eng_table *t, struct eng_part *parts,
                          int n)
{
	uint32_t h = e->cfg.history_windows;
	struct eng_bucket *nb;
	double *block, *cover;
	size_t total = 0;
	int k = 0;
	bool unbounded = false;

	for (int i = 0; i < n; i++) {
		const struct eng_part *p = &parts[i];
		uint64_t lo, hi;

		if (p->is_default || p->hi <= p->lo)
			continue;
		part_clip(e, t, parts, n, i, &lo, &hi);
		total += part_buckets(e, lo, hi);
	}
	/* everything is allocated before any state changes, so failure leaves t as it was;
	 * no bounded partition: one bucket over the whole key space keeps the table's load */
	nb = calloc(total ? total : 1, sizeof(*nb));
	block = calloc((total ? total : 1) * h, sizeof(double));
	cover = calloc(t->n_buckets ? (size_t)t->n_buckets : 1, sizeof(double));
	if (!nb || !block || !cover) {
		free(nb);
		free(block);
		free(cover);
		return false;
	}
	if (total == 0) {
		nb[0] = (struct eng_bucket){
		        .part_index = -1, .hi = UINT64_MAX, .cover_hi = UINT64_MAX, .hist = block};
		k = 1;
	}
	for (int i = 0; i < n; i++) {
		struct eng_part *p = &parts[i];
		unsigned __int128 width;
		uint64_t cnt;

		if (p->is_default || p->hi <= p->lo)
			continue;
		part_clip(e, t, parts, n, i, &p->clip_lo, &p->clip_hi);
		unbounded |= p->lo == 0 || p->hi == UINT64_MAX;
		width = p->clip_hi - p->clip_lo;
		cnt = part_buckets(e, p->clip_lo, p->clip_hi);
		for (uint64_t j = 0; j < cnt; j++) {
			struct eng_bucket *b = &nb[k];

			b->part_index = i;
			b->lo = p->clip_lo + (uint64_t)(width * j / cnt);
			b->hi = j + 1 == cnt ? p->clip_hi
			                     : p->clip_lo + (uint64_t)(width * (j + 1) / cnt);
			b->cover_lo = j == 0 ? p->lo : b->lo;
			b->cover_hi = j + 1 == cnt ? p->hi : b->hi;
			b->hist = block + (size_t)k * h;
			k++;
		}
	}
	carry_over(e, t->b, t->n_buckets, nb, k, cover);
	free(cover);
	buckets_free(t->b, t->n_buckets);
	free(t->hist_block);
	t->b = nb;
	t->n_buckets = k;
	t->hist_block = block;
	if (parts != t->parts) {
		free(t->parts);
		t->parts = parts;
		t->n_parts = n;
	}
	t->has_unbounded = unbounded;
	t->obs_moved = false;
	if (t->hist_len >= 2 * e->cfg.season_windows) {
		for (int i = 0; i < k; i++) {
			if (!nb[i].fc_ok)
				bucket_fit(e, t, &nb[i], (uint32_t)i % e->cfg.refit_windows);
		}
	}
	return true;
}

bool forecast_engine_set_catalog(struct forecast_engine *e, const struct fs_catalog *cat)
{
	struct eng_table *nt;
	bool ok = true;

	if (!cat || (e->have_catalog && cat->version == e->catalog_version))
		return true;
	nt = calloc(cat->n_tables ? (size_t)cat->n_tables : 1, sizeof(*nt));
	if (!nt)
		return false;
	for (int k = 0; k < cat->n_tables; k++) {
		const struct fs_table *ct = &cat->tables[k];
		struct eng_table *old = find_table(e->tables, e->n_tables, ct->id);
		struct eng_part *parts =
		        calloc(ct->n_parts ? (size_t)ct->n_parts : 1, sizeof(*parts));

		if (old) {
			/* the state moves; the old slot keeps only its id for the lookups */
			nt[k] = *old;
			*old = (struct eng_table){.id = old->id};
		}
		nt[k].id = ct->id;
		if (!parts) {
			ok = false;
			continue;
		}
		for (int i = 0; i < ct->n_parts; i++) {
			parts[i] = (struct eng_part){.lo = ct->parts[i].lo,
			                             .hi = ct->parts[i].hi,
			                             .is_default = ct->parts[i].is_default};
		}
		if (!table_rebuild(e, &nt[k], parts, ct->n_parts)) {
			free(parts);
			ok = false;
		}
	}
	for (int i = 0; i < e->n_tables; i++)
		table_cleanup(&e->tables[i]);
	free(e->tables);
	qsort(nt, (size_t)cat->n_tables, sizeof(*nt), table_cmp);
	e->tables = nt;
	e->n_tables = cat->n_tables;
	/* on failure the version stays old, so the next call retries (rebuilds are idempotent) */
	if (ok) {
		e->catalog_version = cat->version;
		e->have_catalog = true;
	}
	return ok;
}

/* Whether bucket b counts key k or a key after it. */
static bool bucket_ends_after(const struct eng_bucket *b, uint64_t k)
{
	return b->cover_hi > k || b->cover_hi == UINT64_MAX;
}

/* Widens the range of keys seen in t's events to include k. */
static void table_observe(struct eng_table *t, uint64_t k)
{
	if (t->obs_any && k >= t->obs_min && k <= t->obs_max)
		return;
	if (!t->obs_any || k < t->obs_min)
		t->obs_min = k;
	if (!t->obs_any || k > t->obs_max)
		t->obs_max = k;
	t->obs_any = true;
	t->obs_moved = true;
}

void forecast_engine_add(struct forecast_engine *e, const struct fs_profile_event *ev)
{
	uint64_t win = (uint64_t)e->cfg.window_ms * 1000, klo = ev->key_lo, khi = ev->key_hi;
	struct eng_table *t;
	unsigned slot = 0;
	int first, last;

	e->events++;
	t = ev->table_id == FS_TABLE_NONE ? NULL : find_table(e->tables, e->n_tables, ev->table_id);
	if (!t || t->n_buckets == 0) {
		e->ignored++;
		return;
	}
	if (!e->started) {
		e->started = true;
		e->open_us = ev->ts_us - ev->ts_us % win;
	}
	if (ev->ts_us >= e->open_us) {
		uint64_t s = (ev->ts_us - e->open_us) / win;

		slot = s < ENG_OPEN ? (unsigned)s : ENG_OPEN - 1;
	}
	if (ev->pred == FS_PRED_NONE) {
		first = 0;
		last = t->n_buckets - 1;
	} else {
		int lo = 0, hi = t->n_buckets;

		if (klo > khi) {
			uint64_t tmp = klo;

			klo = khi;
			khi = tmp;
		}
		/* 0 and UINT64_MAX are how open range ends are encoded: not keys seen */
		if (klo != 0)
			table_observe(t, klo);
		if (khi != UINT64_MAX)
			table_observe(t, khi);
		while (lo < hi) {
			int mid = (lo + hi) / 2;

			if (bucket_ends_after(&t->b[mid], klo))
				hi = mid;
			else
				lo = mid + 1;
		}
		first = lo;
		last = first - 1;
		while (last + 1 < t->n_buckets && t->b[last + 1].cover_lo <= khi)
			last++;
		if (last < first) {
			e->ignored++;
			return;
		}
	}
	for (int i = first; i <= last; i++)
		t->b[i].acc[slot] += 1.0 / (double)(last - first + 1);
}

static void table_close_window(struct forecast_engine *e, struct eng_table *t)
{
	double secs = (double)e->cfg.window_ms / 1000.0;
	uint32_t h = e->cfg.history_windows, refit = e->cfg.refit_windows;

	for (int i = 0; i < t->n_buckets; i++) {
		struct eng_bucket *b = &t->b[i];

		b->hist[t->hist_next] = b->acc[0] / secs;
		memmove(b->acc, b->acc + 1, (ENG_OPEN - 1) * sizeof(double));
		b->acc[ENG_OPEN - 1] = 0;
	}
	t->hist_next = (t->hist_next + 1) % h;
	if (t->hist_len < h)
		t->hist_len++;
	t->windows_observed++;
	if (t->hist_len < 2 * e->cfg.season_windows)
		return;
	for (int i = 0; i < t->n_buckets; i++) {
		struct eng_bucket *b = &t->b[i];

		/* a refit over the budget waits for a later window; the update keeps it current */
		if (!b->fc_ok) {
			if (refit_allowed(e))
				bucket_fit(e, t, b, (uint32_t)i % refit);
		} else if (++b->since_fit >= refit && refit_allowed(e)) {
			bucket_fit(e, t, b, 0);
		} else {
			forecast_choice_update(&b->fc, b->hist[(t->hist_next + h - 1) % h]);
		}
	}
}

/* Re-lays t's buckets when keys were seen outside an unbounded partition's clip, or when the
 * clip was a guess and keys have now been seen there (it would shrink a lot). */
static void table_check_layout(struct forecast_engine *e, struct eng_table *t)
{
	bool redo = false;

	if (!t->obs_moved || !t->has_unbounded)
		return;
	t->obs_moved = false;
	for (int i = 0; i < t->n_parts && !redo; i++) {
		const struct eng_part *p = &t->parts[i];
		uint64_t lo, hi;

		if (p->is_default || p->hi <= p->lo || (p->lo != 0 && p->hi != UINT64_MAX))
			continue;
		part_clip(e, t, t->parts, t->n_parts, i, &lo, &hi);
		redo = lo < p->clip_lo || hi > p->clip_hi ||
		       (hi - lo) < (p->clip_hi - p->clip_lo) / 4;
	}
	/* on allocation failure the old layout stays; keys beyond it still count at its ends */
	if (redo && !table_rebuild(e, t, t->parts, t->n_parts))
		t->obs_moved = true;
}

bool forecast_engine_tick(struct forecast_engine *e, uint64_t now_us)
{
	uint64_t win = (uint64_t)e->cfg.window_ms * 1000, n, keep, skip = 0;

	if (!e->started) {
		e->started = true;
		e->open_us = now_us - now_us % win;
		return false;
	}
	if (now_us < e->open_us + win)
		return false;
	n = (now_us - e->open_us) / win;
	/*
	 * After a long stall, windows older than the history are all zero and would be dropped
	 * anyway: skip them, by whole seasons so the models' seasonal phase stays right.
	 */
	keep = (uint64_t)e->cfg.history_windows + ENG_OPEN;
	if (n > keep)
		skip = (n - keep) / e->cfg.season_windows * e->cfg.season_windows;
	for (uint64_t w = 0; w < n - skip; w++) {
		if (w == ENG_OPEN && skip) {
			/* the open windows are flushed; jump over the empty stretch */
			e->open_us += skip * win;
			for (int i = 0; i < e->n_tables; i++)
				e->tables[i].windows_observed += (uint32_t)skip;
		}
		e->window_cpu_us = cpu_us();
		e->refit_done = false;
		for (int i = 0; i < e->n_tables; i++)
			table_close_window(e, &e->tables[i]);
		e->open_us += win;
	}
	for (int i = 0; i < e->n_tables; i++)
		table_check_layout(e, &e->tables[i]);
	return true;
}

/* Bucket b's forecast over the horizon, unclipped, and the standard deviation at each step. */
static const char *bucket_forecast(struct forecast_engine *e, const struct eng_table *t,
                                   const struct eng_bucket *b, struct forecast_bucket *out,
                                   double *sd)
{
	uint32_t hz = e->cfg.horizon_windows, m = e->cfg.season_windows, n;
	const double *y = e->series;
	const char *model;
	double sum = 0, sq = 0, mean, var;

	if (b->fc_ok) {
		static const double levels[2] = {0.80, 0.95};
		struct forecast_pred p = {.h = hz,
		                          .n_levels = 2,
		                          .levels = levels,
		                          .mean = e->pred,
		                          .lo = e->pred + hz,
		                          .hi = e->pred + 3 * (size_t)hz};

		if (forecast_choice_forecast(&b->fc, &p)) {
			memcpy(out->mean, p.mean, hz * sizeof(double));
			memcpy(out->lo80, p.lo, hz * sizeof(double));
			memcpy(out->lo95, p.lo + hz, hz * sizeof(double));
			memcpy(out->hi80, p.hi, hz * sizeof(double));
			memcpy(out->hi95, p.hi + hz, hz * sizeof(double));
			for (uint32_t i = 0; i < hz; i++)
				sd[i] = (out->hi95[i] - out->mean[i]) / e->z95;
			return forecast_model_str(b->fc.fits[0].model);
		}
		/* no memory for the combination: the simple forecasts below need none */
	}
	n = bucket_series(e, t, b);
	for (uint32_t i = 0; i < n; i++) {
		sum += y[i];
		sq += y[i] * y[i];
	}
	mean = n ? sum / n : 0;
	var = n > 1 ? (sq - n * mean * mean) / (n - 1) : 0;
	var = var > 0 ? var : 0;
	if (n >= m) {
		/* seasonal naive: the step one season back; its error grows with whole seasons */
		double d2 = 0, s;

		for (uint32_t i = m; i < n; i++)
			d2 += (y[i] - y[i - m]) * (y[i] - y[i - m]);
		s = n > m ? sqrt(d2 / (n - m)) : sqrt(var);
		for (uint32_t i = 0; i < hz; i++) {
			out->mean[i] = y[n - m + i % m];
			sd[i] = s * sqrt((double)(i / m + 1));
		}
		model = "snaive";
	} else {
		/* too little to see a season: the level itself is as uncertain as it is large */
		for (uint32_t i = 0; i < hz; i++) {
			out->mean[i] = mean;
			sd[i] = sqrt(var + mean * mean);
		}
		model = "mean";
	}
	for (uint32_t i = 0; i < hz; i++) {
		out->lo80[i] = out->mean[i] - e->z80 * sd[i];
		out->hi80[i] = out->mean[i] + e->z80 * sd[i];
		out->lo95[i] = out->mean[i] - e->z95 * sd[i];
		out->hi95[i] = out->mean[i] + e->z95 * sd[i];
	}
	return model;
}

static void clip_zero(double *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		v[i] = v[i] > 0 ? v[i] : 0;
}

/*
 * The hot spot at each horizon step: around the bucket with the highest forecast, the
 * contiguous buckets forecast at least half of it; their summed load and a 95% interval that
 * treats the buckets as independent (variances add).
 */
static void table_hot(struct forecast_engine *e, uint64_t now_ms, struct forecast_table *ft,
                      const double *sd)
{
	uint32_t hz = e->cfg.horizon_windows;
	const struct forecast_bucket *b = ft->buckets;

	for (uint32_t i = 0; i < hz; i++) {
		int top = 0, l, r;
		double load = 0, var = 0, half;

		for (int j = 1; j < ft->n_buckets; j++) {
			if (b[j].mean[i] > b[top].mean[i])
				top = j;
		}
		half = b[top].mean[i] / 2;
		for (l = top; l > 0 && b[l - 1].hi == b[l].lo && b[l - 1].mean[i] >= half; l--)
			;
		for (r = top;
		     r + 1 < ft->n_buckets && b[r].hi == b[r + 1].lo && b[r + 1].mean[i] >= half;
		     r++)
			;
		for (int j = l; j <= r; j++) {
			load += b[j].mean[i];
			var += sd[(size_t)j * hz + i] * sd[(size_t)j * hz + i];
		}
		ft->hot[i] = (struct forecast_hot){
		        .ts_ms = now_ms + (uint64_t)(i + 1) * e->cfg.window_ms,
		        .key_min = b[l].lo,
		        .key_max = b[r].hi,
		        .load = load,
		        .ci_lo = load - e->z95 * sqrt(var) > 0 ? load - e->z95 * sqrt(var) : 0,
		        .ci_hi = load + e->z95 * sqrt(var),
		};
	}
}

static void snapshot_destroy(struct fs_snap *s)
{
	/* one allocation holds the header and every array */
	free(s);
}

/* Rounds a size up so the next array in the snapshot block stays aligned. */
static size_t align_up(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

struct forecast_snapshot *forecast_engine_snapshot(struct forecast_engine *e)
{
	uint32_t hz = e->cfg.horizon_windows;
	size_t nb = 0, nhot = 0, max_b = 0, size;
	struct forecast_snapshot *s;
	struct forecast_bucket *bk;
	struct forecast_hot *hot;
	double *dv, *sd;
	char *p;

	for (int i = 0; i < e->n_tables; i++) {
		size_t n = (size_t)e->tables[i].n_buckets;

		nb += n;
		nhot += n ? hz : 0;
		max_b = n > max_b ? n : max_b;
	}
	size = align_up(sizeof(*s)) +
	       align_up((size_t)e->n_tables * sizeof(struct forecast_table)) +
	       align_up(nb * sizeof(struct forecast_bucket)) +
	       align_up(nhot * sizeof(struct forecast_hot)) + nb * 5 * hz * sizeof(double);
	s = calloc(1, size);
	sd = malloc((max_b ? max_b : 1) * hz * sizeof(double));
	if (!s || !sd) {
		free(s);
		free(sd);
		return NULL;
	}
	p = (char *)s + align_up(sizeof(*s));
	s->tables = (struct forecast_table *)p;
	p += align_up((size_t)e->n_tables * sizeof(struct forecast_table));
	bk = (struct forecast_bucket *)p;
	p += align_up(nb * sizeof(struct forecast_bucket));
	hot = (struct forecast_hot *)p;
	p += align_up(nhot * sizeof(struct forecast_hot));
	dv = (double *)p;

	fs_snap_init(&s->snap, snapshot_destroy);
	s->now_ms = e->open_us / 1000;
	s->catalog_version = e->have_catalog ? e->catalog_version : 0;
	s->window_ms = e->cfg.window_ms;
	s->horizon = hz;
	s->season = e->cfg.season_windows;
	s->events = e->events;
	s->events_ignored = e->ignored;
	s->n_tables = e->n_tables;
	for (int i = 0; i < e->n_tables; i++) {
		const struct eng_table *t = &e->tables[i];
		struct forecast_table *ft = &s->tables[i];
		uint32_t h = e->cfg.history_windows;

		ft->table_id = t->id;
		ft->windows_observed = t->windows_observed;
		ft->n_buckets = t->n_buckets;
		ft->buckets = bk;
		bk += t->n_buckets;
		for (int j = 0; j < t->n_buckets; j++) {
			const struct eng_bucket *b = &t->b[j];
			struct forecast_bucket *fb = &ft->buckets[j];
			double *arrays[5];

			for (int a = 0; a < 5; a++) {
				arrays[a] = dv;
				dv += hz;
			}
			*fb = (struct forecast_bucket){
			        .part_index = b->part_index,
			        .lo = b->lo,
			        .hi = b->hi,
			        .last = t->hist_len ? b->hist[(t->hist_next + h - 1) % h] : 0,
			        .mean = arrays[0],
			        .lo80 = arrays[1],
			        .hi80 = arrays[2],
			        .lo95 = arrays[3],
			        .hi95 = arrays[4],
			};
			fb->model = bucket_forecast(e, t, b, fb, sd + (size_t)j * hz);
			for (int a = 0; a < 5; a++)
				clip_zero(arrays[a], hz);
			ft->load_now += fb->last;
		}
		if (t->n_buckets) {
			ft->n_hot = (int)hz;
			ft->hot = hot;
			hot += hz;
			table_hot(e, s->now_ms, ft, sd);
		}
	}
	free(sd);
	return s;
}

const struct forecast_table *forecast_snapshot_table(const struct forecast_snapshot *s,
                                                     uint16_t table_id)
{
	int lo = 0, hi = s ? s->n_tables - 1 : -1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (s->tables[mid].table_id == table_id)
			return &s->tables[mid];
		if (s->tables[mid].table_id < table_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}
