/*
 * Console command handlers (see admin.h). Each builds a result set from a snapshot it acquires
 * and releases within the call, or forwards an action to the thread that owns it.
 */
#include "daemon/admin.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/catalog.h"
#include "forecast/forecast.h"
#include "orchestrator/orch.h"
#include "parser/keyenc.h"
#include "planner/thread.h"
#include "proxy/proxy.h"

#define ROW(r, ...)                                                                                \
	do {                                                                                       \
		const char *row_[] = {__VA_ARGS__};                                                \
		proxy_console_result_row((r), row_);                                               \
	} while (0)

#define COLUMNS(r, ...)                                                                            \
	do {                                                                                       \
		const char *cols_[] = {__VA_ARGS__};                                               \
		proxy_console_result_columns((r), (int)(sizeof(cols_) / sizeof(cols_[0])), cols_); \
	} while (0)

/* Formats wall-clock milliseconds as ISO 8601 UTC with milliseconds. */
static void fmt_ms(uint64_t ms, char *buf, size_t n)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t k;

	gmtime_r(&s, &tm);
	k = strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03u", (unsigned)(ms % 1000));
}

/* An encoded key as the SQL literal users know, or MINVALUE/MAXVALUE at the ends. */
static void fmt_key(const struct fs_table *t, uint64_t k, bool upper, char *buf, size_t n)
{
	if (!upper && k == 0)
		snprintf(buf, n, "MINVALUE");
	else if (upper && k == UINT64_MAX)
		snprintf(buf, n, "MAXVALUE");
	else if (!parser_keyenc_literal(t->keytype, k, buf, n))
		snprintf(buf, n, "?");
}

static struct fs_catalog *acquire_catalog(struct admin_ctx *a)
{
	return (struct fs_catalog *)fs_snap_acquire(a->catalog_slot);
}

/* Looks up "schema.name" or "name"; err says which tables exist when it fails. */
static const struct fs_table *find_table(const struct fs_catalog *cat, const char *arg, char *err,
                                         size_t errlen)
{
	char schema[FS_NAME_MAX], name[FS_NAME_MAX];
	const char *dot = strchr(arg, '.');
	const struct fs_table *t;

	if (dot && (size_t)(dot - arg) < sizeof(schema)) {
		snprintf(schema, sizeof(schema), "%.*s", (int)(dot - arg), arg);
		snprintf(name, sizeof(name), "%s", dot + 1);
		t = fs_catalog_find(cat, schema, name);
	} else {
		snprintf(name, sizeof(name), "%s", arg);
		t = fs_catalog_find(cat, NULL, name);
	}
	if (!t)
		snprintf(err, errlen,
		         "table \"%s\" is not managed by foreshard (SHOW TABLES lists the managed "
		         "range-partitioned tables)",
		         arg);
	return t;
}

static bool show_stats(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                       size_t errlen)
{
	struct admin_ctx *a = ctx;
	struct proxy_stats s;
	struct forecast_snapshot *fc =
	        (struct forecast_snapshot *)fs_snap_acquire(a->forecast_slot);
	struct fs_catalog *cat = acquire_catalog(a);
	static const char *const modes[] = {"observe", "advise", "auto"};
	char v[32];

	(void)arg;
	(void)err;
	(void)errlen;
	proxy_get_stats(a->proxy, &s);
	COLUMNS(r, "stat", "value");
#define STAT(name, val)                                                                            \
	do {                                                                                       \
		snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)(val));                               \
		ROW(r, name, v);                                                                   \
	} while (0)
	ROW(r, "mode", modes[atomic_load(a->mode) % 3]);
	STAT("workers", proxy_workers(a->proxy));
	STAT("clients_active", s.clients_active);
	STAT("clients_total", s.clients_total);
	STAT("queries", s.queries);
	STAT("parse_errors", s.parse_errors);
	STAT("unkeyed", s.unkeyed);
	STAT("template_cache_hits", s.cache_hits);
	STAT("events_sent", s.events_sent);
	STAT("events_dropped", s.events_dropped);
	STAT("events_forecast", fc ? fc->events : 0);
	STAT("oversized_unread", s.oversized);
	STAT("held_now", s.held_now);
	STAT("held_total", s.held_total);
	STAT("max_hold_ms", s.max_hold_us / 1000);
	STAT("server_errors", s.server_errors);
	STAT("clients_tls", s.clients_tls);
	STAT("clients_passthrough", s.clients_passthrough);
	STAT("managed_tables", cat ? cat->n_tables : 0);
	STAT("catalog_version", cat ? cat->version : 0);
#undef STAT
	if (fc)
		fs_snap_release(&fc->snap);
	if (cat)
		fs_snap_release(&cat->snap);
	return true;
}

static bool show_clients(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                         size_t errlen)
{
	struct admin_ctx *a = ctx;

	(void)arg;
	(void)err;
	(void)errlen;
	COLUMNS(r, "worker", "addr", "user", "database", "state", "txn", "tls", "queries",
	        "connected");
	for (int i = 0; i < proxy_workers(a->proxy); i++) {
		struct proxy_clients_snap *s = (struct proxy_clients_snap *)fs_snap_acquire(
		        proxy_clients_slot(a->proxy, i));

		for (int j = 0; s && j < s->n; j++) {
			const struct proxy_client_info *c = &s->clients[j];
			char w[8], q[24], at[32], txn[2] = {c->txn, 0};

			snprintf(w, sizeof(w), "%u", c->worker);
			snprintf(q, sizeof(q), "%" PRIu64, c->queries);
			fmt_ms(c->connect_ms, at, sizeof(at));
			ROW(r, w, c->addr, c->user, c->database, c->state, txn, c->tls, q, at);
		}
		if (s)
			fs_snap_release(&s->snap);
	}
	return true;
}

static bool show_tables(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                        size_t errlen)
{
	struct admin_ctx *a = ctx;
	struct fs_catalog *cat = acquire_catalog(a);

	(void)arg;
	(void)err;
	(void)errlen;
	COLUMNS(r, "table", "key", "key_type", "partition", "from", "to", "est_rows", "managed");
	for (int i = 0; cat && i < cat->n_tables; i++) {
		const struct fs_table *t = &cat->tables[i];
		char name[2 * FS_NAME_MAX + 2];
		const char *managed = t->supported ? "yes" : t->unsupported_reason;

		snprintf(name, sizeof(name), "%s.%s", t->schema, t->name);
		if (t->n_parts == 0)
			ROW(r, name, t->key, t->keytype_sql, NULL, NULL, NULL, NULL, managed);
		for (int j = 0; j < t->n_parts; j++) {
			const struct fs_partition *p = &t->parts[j];
			char rows[24];

			snprintf(rows, sizeof(rows), "%" PRId64, p->est_rows);
			ROW(r, name, t->key, t->keytype_sql, p->name,
			    p->is_default ? "DEFAULT" : p->lo_sql, p->is_default ? NULL : p->hi_sql,
			    rows, managed);
		}
	}
	if (cat)
		fs_snap_release(&cat->snap);
	return true;
}

/* Acquires the catalog and forecast and finds the table in both; false with err otherwise. */
static bool table_views(struct admin_ctx *a, const char *arg, struct fs_catalog **cat,
                        struct forecast_snapshot **fc, const struct fs_table **t,
                        const struct forecast_table **ft, char *err, size_t errlen)
{
	*cat = acquire_catalog(a);
	*fc = (struct forecast_snapshot *)fs_snap_acquire(a->forecast_slot);
	*t = *cat ? find_table(*cat, arg, err, errlen) : NULL;
	*ft = *t && *fc && (*fc)->catalog_version == (*cat)->version
	              ? forecast_snapshot_table(*fc, (*t)->id)
	              : NULL;
	if (*t && !*ft)
		snprintf(err, errlen,
		         "no profile for \"%s\" yet: the first window closes after window_ms", arg);
	if (!*cat && !*t)
		snprintf(err, errlen, "the catalog has not been read from PostgreSQL yet");
	if (*t && *ft)
		return true;
	if (*cat)
		fs_snap_release(&(*cat)->snap);
	if (*fc)
		fs_snap_release(&(*fc)->snap);
	return false;
}

static bool show_profile(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                         size_t errlen)
{
	struct fs_catalog *cat;
	struct forecast_snapshot *fc;
	const struct fs_table *t;
	const struct forecast_table *ft;

	if (!table_views(ctx, arg, &cat, &fc, &t, &ft, err, errlen))
		return false;
	COLUMNS(r, "partition", "from", "to", "load_rps", "next_rps", "next_lo95", "next_hi95",
	        "model");
	for (int i = 0; i < ft->n_buckets; i++) {
		const struct forecast_bucket *b = &ft->buckets[i];
		char lo[FS_LITERAL_MAX], hi[FS_LITERAL_MAX], load[24], next[24], l95[24], h95[24];

		fmt_key(t, b->lo, false, lo, sizeof(lo));
		fmt_key(t, b->hi, true, hi, sizeof(hi));
		snprintf(load, sizeof(load), "%.1f", b->last);
		snprintf(next, sizeof(next), "%.1f", b->mean[0]);
		snprintf(l95, sizeof(l95), "%.1f", b->lo95[0]);
		snprintf(h95, sizeof(h95), "%.1f", b->hi95[0]);
		ROW(r, b->part_index >= 0 ? t->parts[b->part_index].name : NULL, lo, hi, load, next,
		    l95, h95, b->model);
	}
	fs_snap_release(&cat->snap);
	fs_snap_release(&fc->snap);
	return true;
}

static bool show_forecast(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                          size_t errlen)
{
	struct fs_catalog *cat;
	struct forecast_snapshot *fc;
	const struct fs_table *t;
	const struct forecast_table *ft;

	if (!table_views(ctx, arg, &cat, &fc, &t, &ft, err, errlen))
		return false;
	COLUMNS(r, "timestamp_ms", "at", "key_min", "key_max", "load_rps", "ci95_lo", "ci95_hi",
	        "partition");
	for (int i = 0; i < ft->n_hot; i++) {
		const struct forecast_hot *h = &ft->hot[i];
		char ts[24], at[32], lo[FS_LITERAL_MAX], hi[FS_LITERAL_MAX], load[24], cl[24],
		        ch[24];
		int part = fs_table_partition_of(t, h->key_min);

		snprintf(ts, sizeof(ts), "%" PRIu64, h->ts_ms);
		fmt_ms(h->ts_ms, at, sizeof(at));
		fmt_key(t, h->key_min, false, lo, sizeof(lo));
		fmt_key(t, h->key_max, true, hi, sizeof(hi));
		snprintf(load, sizeof(load), "%.1f", h->load);
		snprintf(cl, sizeof(cl), "%.1f", h->ci_lo);
		snprintf(ch, sizeof(ch), "%.1f", h->ci_hi);
		ROW(r, ts, at, lo, hi, load, cl, ch, part >= 0 ? t->parts[part].name : NULL);
	}
	fs_snap_release(&cat->snap);
	fs_snap_release(&fc->snap);
	return true;
}

static bool show_plans(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                       size_t errlen)
{
	struct admin_ctx *a = ctx;
	struct planner_plans_snap *s =
	        (struct planner_plans_snap *)fs_snap_acquire(planner_thread_plans(a->planner));

	(void)arg;
	(void)err;
	(void)errlen;
	COLUMNS(r, "id", "kind", "state", "table", "partition", "split_at", "peak_rps", "peak_at",
	        "created", "cutover_at", "reason");
	for (int i = 0; s && i < s->n; i++) {
		const struct planner_action *p = &s->actions[i];
		char id[16], peak[24], peak_at[32], created[32], cutover[32];

		snprintf(id, sizeof(id), "%u", p->id);
		snprintf(peak, sizeof(peak), "%.1f", p->peak_rps);
		fmt_ms(p->peak_at_ms, peak_at, sizeof(peak_at));
		fmt_ms(p->created_ms, created, sizeof(created));
		if (p->cutover_ms)
			fmt_ms(p->cutover_ms, cutover, sizeof(cutover));
		ROW(r, id, planner_kind_str(p->kind), planner_state_str(p->state), p->table,
		    p->partition, p->split_sql, peak, peak_at, created,
		    p->cutover_ms ? cutover : NULL, p->reason);
	}
	if (s)
		fs_snap_release(&s->snap);
	return true;
}

static bool show_journal(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                         size_t errlen)
{
	struct admin_ctx *a = ctx;
	struct orch_journal *j = (struct orch_journal *)fs_snap_acquire(orch_journal_slot(a->orch));

	(void)arg;
	(void)err;
	(void)errlen;
	COLUMNS(r, "op_id", "kind", "table", "partition", "split_at", "lower", "upper", "state",
	        "created", "updated", "message");
	for (int i = 0; j && i < j->n_rows; i++) {
		const struct orch_journal_row *row = &j->rows[i];
		char id[24], created[32], updated[32];

		snprintf(id, sizeof(id), "%" PRId64, row->op_id);
		fmt_ms(row->created_ms, created, sizeof(created));
		fmt_ms(row->updated_ms, updated, sizeof(updated));
		ROW(r, id, row->kind, row->table, row->partition, row->split_sql, row->lower,
		    row->upper, orch_step_str(row->step), created, updated, row->message);
	}
	if (j)
		fs_snap_release(&j->snap);
	return true;
}

/* Resolves a console table argument to a pause target; "" means every statement. */
static bool pause_target(struct admin_ctx *a, const char *arg, uint16_t *id, char *err,
                         size_t errlen)
{
	struct fs_catalog *cat;
	const struct fs_table *t;

	if (!arg[0]) {
		*id = PROXY_PAUSE_ALL;
		return true;
	}
	cat = acquire_catalog(a);
	t = find_table(cat, arg, err, errlen);
	if (t)
		*id = t->id;
	if (cat)
		fs_snap_release(&cat->snap);
	return t != NULL;
}

static bool do_pause(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                     size_t errlen)
{
	uint16_t id;

	(void)r;
	if (!pause_target(ctx, arg, &id, err, errlen))
		return false;
	if (!proxy_pause_async(((struct admin_ctx *)ctx)->proxy, id)) {
		snprintf(err, errlen, "a worker's command queue is full; try again");
		return false;
	}
	return true;
}

static bool do_resume(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                      size_t errlen)
{
	uint16_t id;

	(void)r;
	if (!pause_target(ctx, arg, &id, err, errlen))
		return false;
	proxy_resume(((struct admin_ctx *)ctx)->proxy, id);
	return true;
}

static bool do_apply(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                     size_t errlen)
{
	struct admin_ctx *a = ctx;
	struct planner_plans_snap *s =
	        (struct planner_plans_snap *)fs_snap_acquire(planner_thread_plans(a->planner));
	char *end;
	unsigned long id = strtoul(arg, &end, 10);
	bool found = false, proposed = false;

	(void)r;
	for (int i = 0; s && i < s->n; i++) {
		if (s->actions[i].id == id) {
			found = true;
			proposed = s->actions[i].state == PLANNER_PROPOSED;
		}
	}
	if (s)
		fs_snap_release(&s->snap);
	if (*end || !found) {
		snprintf(err, errlen, "no plan with id \"%s\" (SHOW PLANS lists them)", arg);
		return false;
	}
	if (!proposed) {
		snprintf(err, errlen, "plan %lu is not waiting to be applied (see SHOW PLANS)", id);
		return false;
	}
	return planner_thread_apply(a->planner, (uint32_t)id, err, errlen);
}

static bool do_set_mode(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                        size_t errlen)
{
	struct admin_ctx *a = ctx;
	static const char *const modes[] = {"observe", "advise", "auto"};

	(void)r;
	for (int i = 0; i < 3; i++) {
		if (strcasecmp(arg, modes[i]) == 0) {
			atomic_store(a->mode, i);
			return true;
		}
	}
	snprintf(err, errlen, "unknown mode \"%s\": use observe, advise or auto", arg);
	return false;
}

static bool do_shutdown(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                        size_t errlen)
{
	struct admin_ctx *a = ctx;
	struct timeval soon = {0, 100000}; /* lets the answer reach the client first */

	(void)arg;
	(void)r;
	(void)err;
	(void)errlen;
	event_base_loopexit(a->main_base, &soon);
	return true;
}

void admin_console_ops(struct admin_ctx *ctx, struct proxy_console_ops *ops)
{
	*ops = (struct proxy_console_ops){
	        .ctx = ctx,
	        .show_stats = show_stats,
	        .show_clients = show_clients,
	        .show_tables = show_tables,
	        .show_profile = show_profile,
	        .show_forecast = show_forecast,
	        .show_plans = show_plans,
	        .show_journal = show_journal,
	        .pause = do_pause,
	        .resume = do_resume,
	        .apply = do_apply,
	        .set_mode = do_set_mode,
	        .shutdown = do_shutdown,
	};
}
