/*
 * orch_driver: runs the orchestrator against a database for the integration scripts, without a
 * proxy. Pausing clients is a stub that always agrees (or, with --pause-fail, never does): the
 * cutover's ACCESS EXCLUSIVE lock and lock_timeout still keep writers correct.
 *
 *   orch_driver [options] split SCHEMA.TABLE PARTITION LITERAL
 *       sends one SPLIT action built from the published catalog, waits for its result and, when
 *       --grace-ms is 0, for the cleanup. Exit 0 when cut over, 1 when refused or rolled back.
 *   orch_driver [options] recover
 *       starts (which recovers unfinished operations), waits until the journal has no
 *       unfinished operation left. Exit 0 then, 1 if one stays unfinished.
 *   orch_driver [options] catalog
 *       prints the catalog: "table SCHEMA.NAME supported=0|1 key=... reason=..." and one
 *       "part NAME lo hi" line per partition.
 * Options: --dsn DSN (required), --tables LIST, --chunk N, --grace-ms N, --lock-timeout-ms N,
 * --retries N, --sleep-ms N (pause between backfill chunks), --timeout-s N (default 150),
 * --pause-fail. Exit 2 on usage or start-up errors,
 * 3 on timeout. FORESHARD_LOG=debug raises the log level.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/time.h"
#include "orchestrator/orch.h"
#include "parser/keyenc.h"

/* The stub proxy: counts pauses and resumes, and agrees unless told to fail. */
struct stub_proxy {
	bool fail;   /* pause returns false */
	int pauses;  /* pause calls */
	int resumes; /* resume calls */
};

static bool stub_pause(void *ctx, uint16_t table_id, uint32_t timeout_ms)
{
	struct stub_proxy *p = ctx;

	(void)table_id;
	(void)timeout_ms;
	p->pauses++;
	return !p->fail;
}

static void stub_resume(void *ctx, uint16_t table_id)
{
	struct stub_proxy *p = ctx;

	(void)table_id;
	p->resumes++;
}

static void usage(void)
{
	fprintf(stderr, "usage: orch_driver --dsn DSN [--tables LIST] [--chunk N] [--grace-ms N]"
	                " [--lock-timeout-ms N] [--retries N] [--sleep-ms N] [--timeout-s N]"
	                " [--pause-fail]\n"
	                "       split SCHEMA.TABLE PARTITION LITERAL | recover | catalog\n");
	exit(2);
}

static void print_catalog(const struct fs_catalog *cat)
{
	printf("catalog version=%" PRIu64 " tables=%d\n", cat->version, cat->n_tables);
	for (int i = 0; i < cat->n_tables; i++) {
		const struct fs_table *t = &cat->tables[i];

		printf("table %s.%s id=%u supported=%d key=%s type=%s reason=%s\n", t->schema,
		       t->name, t->id, t->supported, t->key, t->keytype_sql, t->unsupported_reason);
		for (int k = 0; k < t->n_parts; k++)
			printf("part %s %s %s\n", t->parts[k].name,
			       t->parts[k].is_default ? "DEFAULT" : t->parts[k].lo_sql,
			       t->parts[k].is_default ? "" : t->parts[k].hi_sql);
	}
}

/* Prints the journal snapshot; returns the number of unfinished operations in it. */
static int print_journal(struct fs_snap_slot *slot, bool *recovered, bool quiet)
{
	struct orch_journal *j = (struct orch_journal *)fs_snap_acquire(slot);
	int active = 0;

	*recovered = j && j->recovered;
	for (int i = 0; j && i < j->n_rows; i++) {
		const struct orch_journal_row *r = &j->rows[i];

		active += !orch_step_is_final(r->step);
		if (!quiet)
			printf("journal op=%" PRId64 " %s %s %s at %s state=%s message=%s\n",
			       r->op_id, r->kind, r->table, r->partition, r->split_sql,
			       orch_step_str(r->step), r->message);
	}
	fs_snap_release(j ? &j->snap : NULL);
	return active;
}

/* State of op_id in the journal snapshot, or -1 when absent. */
static int op_step(struct fs_snap_slot *slot, int64_t op_id)
{
	struct orch_journal *j = (struct orch_journal *)fs_snap_acquire(slot);
	int step = -1;

	for (int i = 0; j && i < j->n_rows; i++) {
		if (j->rows[i].op_id == op_id)
			step = (int)j->rows[i].step;
	}
	fs_snap_release(j ? &j->snap : NULL);
	return step;
}

/* Newest op id of schema.table's partition part in the journal, or 0. */
static int64_t newest_op(struct fs_snap_slot *slot, const char *table, const char *part)
{
	struct orch_journal *j = (struct orch_journal *)fs_snap_acquire(slot);
	int64_t id = 0;

	for (int i = 0; j && i < j->n_rows && !id; i++) {
		if (strcmp(j->rows[i].table, table) == 0 && strcmp(j->rows[i].partition, part) == 0)
			id = j->rows[i].op_id;
	}
	fs_snap_release(j ? &j->snap : NULL);
	return id;
}

/* Waits for a result; prints it. Returns false on timeout. */
static bool wait_result(struct fs_mailbox *mb, uint64_t deadline_us, struct planner_result *out)
{
	while (fs_mono_us() < deadline_us) {
		struct pollfd p = {.fd = fs_mailbox_fd(mb), .events = POLLIN};

		if (fs_mailbox_recv(mb, out)) {
			printf("result action=%" PRIu32 " ok=%d cutover_ms=%" PRIu64
			       " message=%s\n",
			       out->action_id, out->ok, out->cutover_ms, out->message);
			fflush(stdout);
			return true;
		}
		poll(&p, 1, 200);
		fs_mailbox_ack_wakeup(mb);
	}
	return false;
}

static bool fill_action(const struct fs_catalog *cat, const char *qname, const char *part,
                        const char *literal, struct planner_action *a)
{
	char schema[FS_NAME_MAX];
	const char *dot = strchr(qname, '.');
	const struct fs_table *t;

	if (!dot || (size_t)(dot - qname) >= sizeof(schema)) {
		fprintf(stderr, "orch_driver: table must be SCHEMA.NAME\n");
		return false;
	}
	snprintf(schema, sizeof(schema), "%.*s", (int)(dot - qname), qname);
	t = fs_catalog_find(cat, schema, dot + 1);
	if (!t) {
		fprintf(stderr, "orch_driver: %s is not in the catalog\n", qname);
		return false;
	}
	memset(a, 0, sizeof(*a));
	a->id = 1;
	a->kind = PLANNER_SPLIT;
	a->state = PLANNER_APPLYING;
	a->table_id = t->id;
	snprintf(a->table, sizeof(a->table), "%s", qname);
	snprintf(a->partition, sizeof(a->partition), "%s", part);
	snprintf(a->split_sql, sizeof(a->split_sql), "%s", literal);
	/* informative only: the orchestrator checks the literal against the bounds itself */
	if (t->keytype != FS_KEY_UNSUPPORTED) {
		const char *v = literal[0] == '\'' ? literal + 1 : literal;
		size_t len = strlen(v) - (literal[0] == '\'' && strlen(v) > 0);

		if (!parser_keyenc_parse(t->keytype, v, len, &a->split_key))
			a->split_key = 0;
	}
	a->created_ms = fs_wall_us() / 1000;
	snprintf(a->reason, sizeof(a->reason), "requested by orch_driver");
	return true;
}

int main(int argc, char **argv)
{
	struct orch_config cfg = {
	        .tables = "",
	        .lock_timeout_ms = 200,
	        .pause_timeout_ms = 2000,
	        .cutover_retries = 20,
	        .backfill_chunk_rows = 5000,
	        .catalog_refresh_ms = 1000,
	        .cleanup_grace_ms = 0,
	};
	struct stub_proxy proxy = {0};
	struct orch_pause_ops ops = {.ctx = &proxy, .pause = stub_pause, .resume = stub_resume};
	struct fs_snap_slot cat_slot;
	struct fs_mailbox results;
	struct orch *o;
	uint64_t timeout_s = 150, deadline;
	char err[512];
	const char *log = getenv("FORESHARD_LOG");
	enum fs_log_level level;
	int i, rc = 0;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *opt = argv[i];

		if (strcmp(opt, "--pause-fail") == 0) {
			proxy.fail = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(opt, "--dsn") == 0)
			cfg.dsn = argv[++i];
		else if (strcmp(opt, "--tables") == 0)
			cfg.tables = argv[++i];
		else if (strcmp(opt, "--chunk") == 0)
			cfg.backfill_chunk_rows = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(opt, "--grace-ms") == 0)
			cfg.cleanup_grace_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(opt, "--lock-timeout-ms") == 0)
			cfg.lock_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(opt, "--sleep-ms") == 0)
			cfg.backfill_sleep_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(opt, "--retries") == 0)
			cfg.cutover_retries = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(opt, "--timeout-s") == 0)
			timeout_s = strtoull(argv[++i], NULL, 10);
		else
			usage();
	}
	if (!cfg.dsn || i >= argc)
		usage();
	if (log && fs_log_level_parse(log, &level))
		fs_log_threshold = level;
	deadline = fs_mono_us() + timeout_s * 1000000;
	fs_snap_slot_init(&cat_slot);
	if (!fs_mailbox_init(&results, 16, sizeof(struct planner_result))) {
		fprintf(stderr, "orch_driver: out of memory\n");
		return 2;
	}
	o = orch_start(&cfg, &cat_slot, &ops, &results, err, sizeof(err));
	if (!o) {
		fprintf(stderr, "orch_driver: %s\n", err);
		return 2;
	}
	if (strcmp(argv[i], "catalog") == 0 && i + 1 == argc) {
		struct fs_catalog *cat = (struct fs_catalog *)fs_snap_acquire(&cat_slot);

		print_catalog(cat);
		fs_snap_release(&cat->snap);
	} else if (strcmp(argv[i], "split") == 0 && i + 4 == argc) {
		struct fs_catalog *cat = (struct fs_catalog *)fs_snap_acquire(&cat_slot);
		struct planner_action m;
		struct planner_result r = {0};
		bool ok = fill_action(cat, argv[i + 1], argv[i + 2], argv[i + 3], &m);

		fs_snap_release(&cat->snap);
		if (!ok) {
			rc = 2;
		} else if (!fs_mailbox_send(orch_inbox(o), &m)) {
			fprintf(stderr, "orch_driver: inbox full\n");
			rc = 2;
		} else {
			/* results of recovered operations (action 0) may come first */
			do {
				if (!wait_result(&results, deadline, &r)) {
					fprintf(stderr, "orch_driver: no result in %" PRIu64 " s\n",
					        timeout_s);
					rc = 3;
					break;
				}
			} while (r.action_id != m.id);
			if (rc == 0 && !r.ok)
				rc = 1;
		}
		if (rc == 0 && cfg.cleanup_grace_ms == 0) {
			int64_t op = newest_op(orch_journal_slot(o), argv[i + 1], argv[i + 2]);

			while (op_step(orch_journal_slot(o), op) != ORCH_STEP_CLEANED) {
				if (fs_mono_us() >= deadline) {
					fprintf(stderr, "orch_driver: op %" PRId64 " not cleaned\n",
					        op);
					rc = 3;
					break;
				}
				poll(NULL, 0, 100);
			}
		}
	} else if (strcmp(argv[i], "recover") == 0 && i + 1 == argc) {
		struct planner_result r;

		for (;;) {
			bool recovered;
			int active = print_journal(orch_journal_slot(o), &recovered, true);

			while (fs_mailbox_recv(&results, &r))
				printf("result action=%" PRIu32 " ok=%d message=%s\n", r.action_id,
				       r.ok, r.message);
			if (recovered && active == 0)
				break;
			if (fs_mono_us() >= deadline) {
				fprintf(stderr, "orch_driver: operations still unfinished\n");
				rc = 1;
				break;
			}
			poll(NULL, 0, 100);
		}
	} else {
		orch_stop(o);
		usage();
	}
	{
		bool recovered;

		print_journal(orch_journal_slot(o), &recovered, false);
	}
	printf("pauses=%d resumes=%d\n", proxy.pauses, proxy.resumes);
	orch_stop(o);
	fs_snap_slot_cleanup(&cat_slot);
	fs_mailbox_cleanup(&results);
	return rc;
}
