/*
 * The planner's rules (see planner.h): which partition to split, where, and why in words. It
 * reads a catalog snapshot and a forecast snapshot aligned to it, keeps per table only whether
 * a change is in flight and when the last one started or ended, and hands out action ids. The
 * split point is the forecast-load-weighted median key, snapped to a value of the key's type
 * whose SQL literal reads back as exactly that key.
 */
#include "planner/planner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parser/keyenc.h"

/* Normal quantile of a two-sided 95% interval, as the forecast engine uses. */
#define Z95 1.959963984540054
#define US_PER_S 1000000LL
#define US_PER_DAY (86400LL * US_PER_S)

/* What the planner remembers about one table, indexed by its catalog id. */
struct planner_tab {
	bool in_flight;   /* a change started and has not finished */
	bool changed;     /* last_ms is set */
	uint64_t last_ms; /* wall clock of the last start or finish */
};

struct planner {
	struct planner_config cfg;               /* rules, copied */
	uint32_t next_id;                        /* id of the next action */
	struct planner_tab tabs[UINT16_MAX + 1]; /* by table id: never full, never reallocated */
};

static const char *const kind_names[] = {"split", "merge"};
static const char *const state_names[] = {"proposed", "applying", "done", "failed"};

const char *planner_kind_str(enum planner_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

const char *planner_state_str(enum planner_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

struct planner *planner_create(const struct planner_config *cfg)
{
	struct planner *p;

	if (!cfg)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->next_id = 1;
	return p;
}

void planner_destroy(struct planner *p)
{
	free(p);
}

void planner_note_started(struct planner *p, uint16_t table_id, uint64_t now_ms)
{
	p->tabs[table_id] =
	        (struct planner_tab){.in_flight = true, .changed = true, .last_ms = now_ms};
}

void planner_note_finished(struct planner *p, uint16_t table_id, uint64_t now_ms)
{
	p->tabs[table_id] = (struct planner_tab){.changed = true, .last_ms = now_ms};
}

/*
 * Whether literal (as parser_keyenc_literal wrote it, quotes and all) denotes exactly key k:
 * a text prefix cut inside a character, or a value the parser would read differently, is not a
 * bound we can write.
 */
static bool literal_exact(enum fs_keytype kt, uint64_t k, const char *literal)
{
	char raw[FS_LITERAL_MAX];
	size_t len = strlen(literal), n = 0;
	uint64_t back;

	if (len >= 2 && literal[0] == '\'' && literal[len - 1] == '\'') {
		for (size_t i = 1; i + 1 < len && n < sizeof(raw); i++) {
			raw[n++] = literal[i];
			if (literal[i] == '\'')
				i++; /* a doubled quote stands for one */
		}
	} else {
		if (len > sizeof(raw))
			return false;
		memcpy(raw, literal, len);
		n = len;
	}
	return parser_keyenc_parse(kt, raw, n, &back) && back == k;
}

/* Floor division for signed microseconds (C division truncates towards zero). */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool inside(const struct fs_partition *p, uint64_t k)
{
	return k > p->lo && k < p->hi;
}

/* The nearest whole unit (second, or day for dates) inside p, or the key itself for seconds. */
static bool snap_timestamp(const struct fs_table *t, const struct fs_partition *p, uint64_t key,
                           uint64_t *out)
{
	bool is_date = strcmp(t->keytype_sql, "date") == 0;
	int64_t unit = is_date ? US_PER_DAY : US_PER_S;
	int64_t us = parser_keydec_ts(key), down, cand[3];

	if (us < INT64_MIN + unit || us > INT64_MAX - unit)
		return false;
	down = floor_div(us, unit) * unit;
	/* nearest first, then the other neighbour */
	cand[0] = us - down < unit / 2 ? down : down + unit;
	cand[1] = cand[0] == down ? down + unit : down;
	cand[2] = us;
	for (int i = 0; i < 3; i++) {
		uint64_t k = parser_keyenc_ts(cand[i]);

		if (i == 2 && is_date)
			break; /* a date has no finer unit than the day */
		if (inside(p, k)) {
			*out = k;
			return true;
		}
	}
	return false;
}

/* Whether the first len bytes of encoded text key k are printable ASCII. */
static bool printable_prefix(uint64_t k, int len)
{
	for (int i = 0; i < len; i++) {
		unsigned c = (unsigned)(k >> (56 - 8 * i)) & 0xff;

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

/* Longest prefix a text column accepts: n for character varying(n), otherwise 8. */
static int text_max_len(const struct fs_table *t)
{
	int n;

	if (sscanf(t->keytype_sql, "character varying(%d)", &n) == 1 && n > 0 && n < 8)
		return n;
	return 8;
}

/*
 * A text key near key that is a printable-ASCII prefix inside p: for each prefix length, the
 * key cut there, the next prefix up, and the cut with its last byte clamped into the printable
 * range. The shortest candidate within tol of key wins; failing that, the nearest one.
 */
static bool snap_text(const struct fs_table *t, const struct fs_partition *p, uint64_t key,
                      uint64_t tol, uint64_t *out)
{
	int max_len = text_max_len(t);
	uint64_t best = 0, best_d = UINT64_MAX;

	for (int len = 1; len <= max_len; len++) {
		int shift = 64 - 8 * len;
		uint64_t unit = 1ull << shift;
		uint64_t down = key & ~(unit - 1);
		unsigned last = (unsigned)(down >> shift) & 0xff;
		uint64_t clamped = down - ((uint64_t)last << shift) +
		                   ((uint64_t)(last < 0x20   ? 0x20
		                               : last > 0x7e ? 0x7e
		                                             : last)
		                    << shift);
		uint64_t cand[3] = {down, down + unit, clamped};

		for (int c = 0; c < 3; c++) {
			uint64_t k = cand[c], d = k > key ? k - key : key - k;

			/* the next prefix up may wrap past the largest key */
			if ((c == 1 && k < down) || !inside(p, k) || !printable_prefix(k, len))
				continue;
			if (d <= tol) {
				*out = k;
				return true;
			}
			if (d < best_d) {
				best_d = d;
				best = k;
			}
		}
	}
	if (best_d == UINT64_MAX)
		return false;
	*out = best;
	return true;
}

/* Whether an integer key fits the column: smallint and integer are narrower than the encoding. */
static bool int_fits(const struct fs_table *t, uint64_t k)
{
	int64_t v = parser_keydec_int(k);

	if (strcmp(t->keytype_sql, "smallint") == 0)
		return v >= INT16_MIN && v <= INT16_MAX;
	if (strcmp(t->keytype_sql, "integer") == 0)
		return v >= INT32_MIN && v <= INT32_MAX;
	return true;
}

bool planner_split_point(const struct fs_table *t, int part, const struct forecast_table *ft,
                         uint64_t *key_out)
{
	const struct fs_partition *p;
	const struct forecast_bucket *med = NULL;
	uint32_t hz = 0;
	double total = 0, cum = 0, half;
	uint64_t key = 0, bucket_w;
	char lit[FS_LITERAL_MAX];

	if (!t || !ft || part < 0 || part >= t->n_parts || t->keytype == FS_KEY_UNSUPPORTED)
		return false;
	p = &t->parts[part];
	if (p->is_default || p->hi <= p->lo || p->hi - p->lo < 2)
		return false;
	/* every bucket of a snapshot has the same horizon: the hot list's length */
	hz = (uint32_t)ft->n_hot;
	for (int i = 0; i < ft->n_buckets; i++) {
		if (ft->buckets[i].part_index != part)
			continue;
		for (uint32_t s = 0; s < hz; s++)
			total += ft->buckets[i].mean[s];
	}
	if (!(total > 0))
		return false;
	half = total / 2;
	for (int i = 0; i < ft->n_buckets && !med; i++) {
		const struct forecast_bucket *b = &ft->buckets[i];
		double w = 0;

		if (b->part_index != part)
			continue;
		for (uint32_t s = 0; s < hz; s++)
			w += b->mean[s];
		if (w > 0 && cum + w >= half) {
			long double f = (long double)(half - cum) / w;

			med = b;
			key = b->lo + (uint64_t)(f * (long double)(b->hi - b->lo));
		}
		cum += w;
	}
	if (!med)
		return false;
	/* buckets lie inside the partition; keep the key off its bounds */
	key = key <= p->lo ? p->lo + 1 : key >= p->hi ? p->hi - 1 : key;
	bucket_w = med->hi - med->lo;
	switch (t->keytype) {
	case FS_KEY_INT:
		if (!int_fits(t, key))
			return false;
		break;
	case FS_KEY_TIMESTAMP:
		if (!snap_timestamp(t, p, key, &key))
			return false;
		break;
	case FS_KEY_TEXT:
		if (!snap_text(t, p, key, bucket_w / 16, &key))
			return false;
		break;
	case FS_KEY_UUID:
		/* every key has an exact literal (its 8 bytes, then 8 zero bytes): no snapping */
		break;
	default:
		return false;
	}
	if (!inside(p, key) || !parser_keyenc_literal(t->keytype, key, lit, sizeof(lit)) ||
	    !literal_exact(t->keytype, key, lit))
		return false;
	*key_out = key;
	return true;
}

/* A partition's forecast peak: the highest summed point forecast over the horizon. */
struct peak {
	int part;      /* partition index */
	uint32_t step; /* horizon step of the peak */
	double load;   /* summed point forecast there, req/s */
	double hi95;   /* its upper 95% bound, buckets taken as independent */
};

static struct peak partition_peak(const struct forecast_table *ft, int part)
{
	struct peak pk = {.part = part, .load = -1};

	for (uint32_t s = 0; s < (uint32_t)ft->n_hot; s++) {
		double load = 0, var = 0;

		for (int i = 0; i < ft->n_buckets; i++) {
			const struct forecast_bucket *b = &ft->buckets[i];
			double sd;

			if (b->part_index != part)
				continue;
			sd = (b->hi95[s] - b->mean[s]) / Z95;
			load += b->mean[s];
			var += sd * sd;
		}
		if (load > pk.load) {
			pk.load = load;
			pk.step = s;
			pk.hi95 = load + Z95 * sqrt(var);
		}
	}
	return pk;
}

static int peak_cmp(const void *a, const void *b)
{
	const struct peak *x = a, *y = b;

	return (x->load < y->load) - (x->load > y->load);
}

static void fill_action(struct planner *p, const struct fs_table *t,
                        const struct forecast_snapshot *fc, const struct peak *pk, uint64_t key,
                        uint64_t now_ms, struct planner_action *a)
{
	const struct fs_partition *part = &t->parts[pk->part];
	uint64_t at_ms = fc->now_ms + (uint64_t)(pk->step + 1) * fc->window_ms;
	time_t at_s = (time_t)(at_ms / 1000);
	struct tm tm;
	char clock[16] = "?";

	memset(a, 0, sizeof(*a));
	a->id = p->next_id++;
	a->kind = PLANNER_SPLIT;
	a->state = PLANNER_PROPOSED;
	a->table_id = t->id;
	snprintf(a->table, sizeof(a->table), "%s.%s", t->schema, t->name);
	snprintf(a->partition, sizeof(a->partition), "%s", part->name);
	a->split_key = key;
	/* planner_split_point checked that the literal fits and reads back as key */
	if (!parser_keyenc_literal(t->keytype, key, a->split_sql, sizeof(a->split_sql)))
		a->split_sql[0] = 0;
	a->peak_rps = pk->load;
	a->peak_hi95 = pk->hi95;
	a->peak_at_ms = at_ms;
	a->cost_rows = part->est_rows > 0 ? (double)part->est_rows : 0;
	a->created_ms = now_ms;
	if (gmtime_r(&at_s, &tm))
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	snprintf(a->reason, sizeof(a->reason),
	         "forecast %.0f req/s (95%% up to %.0f) on %s at %s, in %llu s; threshold %.0f "
	         "req/s; split at %s (load-weighted median of the forecast)",
	         pk->load, pk->hi95, part->name, clock,
	         (unsigned long long)(at_ms > now_ms ? (at_ms - now_ms + 500) / 1000 : 0),
	         p->cfg.split_threshold_rps, a->split_sql);
}

/* Plans at most one split for table t into a; returns whether it did. */
static bool plan_table(struct planner *p, const struct fs_table *t,
                       const struct forecast_snapshot *fc, uint64_t now_ms,
                       struct planner_action *a)
{
	const struct planner_tab *st = &p->tabs[t->id];
	const struct forecast_table *ft;
	uint32_t need =
	        p->cfg.min_history_windows > fc->season ? p->cfg.min_history_windows : fc->season;
	struct peak *cands;
	int n = 0;
	bool planned = false;

	if (!t->supported || t->keytype == FS_KEY_UNSUPPORTED || st->in_flight)
		return false;
	if (st->changed && now_ms < st->last_ms + p->cfg.hysteresis_ms)
		return false;
	ft = forecast_snapshot_table(fc, t->id);
	if (!ft || ft->windows_observed < need || ft->n_hot == 0 || t->n_parts == 0)
		return false;
	cands = malloc((size_t)t->n_parts * sizeof(*cands));
	if (!cands)
		return false;
	for (int i = 0; i < t->n_parts; i++) {
		const struct fs_partition *part = &t->parts[i];
		struct peak pk;

		if (part->is_default || part->hi <= part->lo ||
		    part->hi - part->lo <= p->cfg.split_min_width)
			continue;
		pk = partition_peak(ft, i);
		if (pk.load > p->cfg.split_threshold_rps)
			cands[n++] = pk;
	}
	qsort(cands, (size_t)n, sizeof(*cands), peak_cmp);
	for (int i = 0; i < n && !planned; i++) {
		uint64_t key;

		if (planner_split_point(t, cands[i].part, ft, &key)) {
			fill_action(p, t, fc, &cands[i], key, now_ms, a);
			planned = true;
		}
	}
	free(cands);
	return planned;
}

int planner_plan(struct planner *p, const struct fs_catalog *cat,
                 const struct forecast_snapshot *fc, uint64_t now_ms, struct planner_action *out,
                 int max)
{
	int n = 0;

	if (!cat || !fc || fc->catalog_version != cat->version)
		return 0;
	for (int i = 0; i < cat->n_tables && n < max; i++) {
		if (plan_table(p, &cat->tables[i], fc, now_ms, &out[n]))
			n++;
	}
	return n;
}
