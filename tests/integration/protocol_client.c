/*
 * A protocol-coverage client for test_protocol.sh: exercises the parts of the PostgreSQL v3
 * protocol a proxy must relay faithfully (COPY in every format, CopyFail, CancelRequest,
 * LISTEN/NOTIFY, notices, ParameterStatus, FunctionCall, portal suspension, Describe and Close,
 * the empty query, a 200 MB message, start-up options, GSSENCRequest, NegotiateProtocolVersion,
 * deep pipelines) and checks every answer, so the same program can be pointed at PostgreSQL and
 * at foreshard. Where libpq cannot produce a message (Execute with a row limit, Close, a start-up
 * packet asking for protocol 3.99) it speaks the protocol over a raw socket.
 *
 * Usage: protocol_client HOST PORT direct|proxy [SECTION...]
 * "proxy" adds the checks that differ by design (replication refused, GSSENCRequest answered
 * 'N'). Without sections every section except "copyhold" runs. "copyhold" runs an extended-
 * protocol COPY, prints "idle" and waits for end of input, so the caller can inspect the proxy's
 * view of the idle connection. Exits 0 when every check passed; prints what differed otherwise.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int failures;
static const char *host, *port;
static bool via_proxy;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static double now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Connects with the base conninfo plus extra keywords; exits when that fails. */
static PGconn *connect_extra(const char *extra)
{
	char ci[512];
	PGconn *c;

	snprintf(ci, sizeof(ci), "host=%s port=%s dbname=foreshard user=foreshard %s", host, port,
	         extra);
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "connect (%s): %s", extra, PQerrorMessage(c));
		exit(1);
	}
	return c;
}

/* Runs sql and checks its status; returns the result (caller clears it). */
static PGresult *run(PGconn *c, const char *sql, ExecStatusType want)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != want)
		fail("%s: expected %s, got %s %s", sql, PQresStatus(want),
		     PQresStatus(PQresultStatus(r)), PQresultErrorMessage(r));
	return r;
}

static void run_ok(PGconn *c, const char *sql)
{
	PQclear(run(c, sql, PGRES_COMMAND_OK));
}

/* Checks that sql returns exactly one value equal to want. */
static void expect_value(PGconn *c, const char *sql, const char *want)
{
	PGresult *r = run(c, sql, PGRES_TUPLES_OK);

	if (PQresultStatus(r) == PGRES_TUPLES_OK &&
	    (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), want) != 0))
		fail("%s: expected '%s', got '%s' (%d rows)", sql, want,
		     PQntuples(r) ? PQgetvalue(r, 0, 0) : "", PQntuples(r));
	PQclear(r);
}

/* Drains the results of the current command, expecting none left. */
static void expect_end(PGconn *c, const char *what)
{
	PGresult *r;

	while ((r = PQgetResult(c)) != NULL) {
		fail("%s: unexpected extra result %s %s", what, PQresStatus(PQresultStatus(r)),
		     PQresultErrorMessage(r));
		PQclear(r);
	}
}

/* ---- COPY ---- */

/* COPY FROM STDIN of data in the given format through an already issued COPY command. */
static void copy_in(PGconn *c, PGresult *r, const char *data, size_t len, const char *what)
{
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		fail("%s: expected COPY_IN, got %s %s", what, PQresStatus(PQresultStatus(r)),
		     PQresultErrorMessage(r));
		PQclear(r);
		return;
	}
	PQclear(r);
	/* in two pieces, so a message boundary falls inside the data */
	if (PQputCopyData(c, data, (int)(len / 2)) != 1 ||
	    PQputCopyData(c, data + len / 2, (int)(len - len / 2)) != 1 ||
	    PQputCopyEnd(c, NULL) != 1)
		fail("%s: sending copy data: %s", what, PQerrorMessage(c));
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail("%s: copy end: %s", what, PQresultErrorMessage(r));
	PQclear(r);
	expect_end(c, what);
}

/* COPY TO STDOUT; returns the concatenated data (malloc'd, *len bytes). */
static char *copy_out(PGconn *c, const char *sql, size_t *len)
{
	PGresult *r = PQexec(c, sql);
	char *all = NULL, *buf;
	int n;

	*len = 0;
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		fail("%s: expected COPY_OUT, got %s", sql, PQresultErrorMessage(r));
		PQclear(r);
		return calloc(1, 1);
	}
	PQclear(r);
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		all = realloc(all, *len + (size_t)n + 1);
		memcpy(all + *len, buf, (size_t)n);
		*len += (size_t)n;
		PQfreemem(buf);
	}
	if (n != -1)
		fail("%s: PQgetCopyData: %s", sql, PQerrorMessage(c));
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail("%s: copy out end: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	expect_end(c, sql);
	if (!all)
		all = calloc(1, 1);
	else
		all[*len] = 0;
	return all;
}

static void section_copy(PGconn *c)
{
	static const char text[] = "1\tone\n2\t\\N\n3\ttab\\there\n";
	static const char csv[] = "4,\"quoted, comma\"\n5,\n6,\"line\nbreak\"\n";
	char *bin;
	size_t binlen, len;
	char *out;
	PGresult *r;

	run_ok(c, "DROP TABLE IF EXISTS copy_t, copy_b");
	run_ok(c, "CREATE TABLE copy_t (k int, v text)");
	copy_in(c, PQexec(c, "COPY copy_t FROM STDIN"), text, strlen(text), "copy text in");
	copy_in(c, PQexec(c, "COPY copy_t FROM STDIN (FORMAT csv)"), csv, strlen(csv),
	        "copy csv in");
	expect_value(c, "SELECT count(*) || '/' || count(v) FROM copy_t", "6/4");
	expect_value(c, "SELECT v FROM copy_t WHERE k = 6", "line\nbreak");

	out = copy_out(c, "COPY (SELECT * FROM copy_t WHERE k <= 3 ORDER BY k) TO STDOUT", &len);
	if (len != strlen(text) || memcmp(out, text, len) != 0)
		fail("copy text out: got '%s'", out);
	free(out);
	out = copy_out(c,
	               "COPY (SELECT * FROM copy_t WHERE k >= 4 ORDER BY k) TO STDOUT (FORMAT csv)",
	               &len);
	if (strcmp(out, "4,\"quoted, comma\"\n5,\n6,\"line\nbreak\"\n") != 0)
		fail("copy csv out: got '%s'", out);
	free(out);

	/* binary: out of one table, into another, and compared */
	bin = copy_out(c, "COPY copy_t TO STDOUT (FORMAT binary)", &binlen);
	if (binlen < 19 || memcmp(bin, "PGCOPY\n\377\r\n", 11) != 0)
		fail("copy binary out: bad header (%zu bytes)", binlen);
	run_ok(c, "CREATE TABLE copy_b (k int, v text)");
	copy_in(c, PQexec(c, "COPY copy_b FROM STDIN (FORMAT binary)"), bin, binlen,
	        "copy binary in");
	free(bin);
	expect_value(c,
	             "SELECT count(*) FROM ((TABLE copy_t EXCEPT ALL TABLE copy_b) UNION ALL "
	             "(TABLE copy_b EXCEPT ALL TABLE copy_t)) d",
	             "0");

	/* CopyFail: the server aborts the COPY with the client's message; nothing is written */
	r = PQexec(c, "COPY copy_t FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN)
		fail("copy fail: expected COPY_IN, got %s", PQresultErrorMessage(r));
	PQclear(r);
	PQputCopyData(c, "7\tseven\n", 8);
	PQputCopyEnd(c, "client gave up on purpose");
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR ||
	    !strstr(PQresultErrorMessage(r), "client gave up on purpose"))
		fail("copy fail: expected the client's message, got %s %s",
		     PQresStatus(PQresultStatus(r)), PQresultErrorMessage(r));
	PQclear(r);
	expect_end(c, "copy fail");
	expect_value(c, "SELECT count(*) FROM copy_t", "6");

	/* COPY through the extended protocol (the server ignores the Sync sent with it) */
	copy_in(c, PQexecParams(c, "COPY copy_t FROM STDIN", 0, NULL, NULL, NULL, NULL, 0),
	        "8\teight\n", 8, "copy in, extended protocol");
	r = PQexecParams(c, "COPY copy_t FROM STDIN", 0, NULL, NULL, NULL, NULL, 0);
	PQclear(r);
	PQputCopyEnd(c, "extended give-up");
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR ||
	    !strstr(PQresultErrorMessage(r), "extended give-up"))
		fail("copy fail, extended protocol: got %s", PQresultErrorMessage(r));
	PQclear(r);
	expect_end(c, "copy fail, extended protocol");
	expect_value(c, "SELECT count(*) FROM copy_t", "7");
	run_ok(c, "DROP TABLE copy_t, copy_b");
}

/* Keeps an extended-protocol COPY's connection open and idle for the caller to inspect. */
static void section_copyhold(PGconn *c)
{
	char line[64];

	run_ok(c, "CREATE TEMP TABLE hold_t (v text)");
	copy_in(c, PQexecParams(c, "COPY hold_t FROM STDIN", 0, NULL, NULL, NULL, NULL, 0), "a\n",
	        2, "copy in, extended protocol");
	copy_in(c,
	        PQexecParams(c, "COPY hold_t FROM STDIN (FORMAT csv)", 0, NULL, NULL, NULL, NULL,
	                     0),
	        "b\n", 2, "copy in, extended protocol");
	expect_value(c, "SELECT string_agg(v, '') FROM hold_t", "ab");
	printf("idle\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	expect_value(c, "SELECT 1", "1");
}

/* ---- cancel, notifications, notices, parameters ---- */

static void section_cancel(PGconn *c)
{
	char err[256];
	PGcancel *cn = PQgetCancel(c);
	double t0 = now_s(), dt;
	PGresult *r;

	if (!PQsendQuery(c, "SELECT pg_sleep(10)")) {
		fail("cancel: send: %s", PQerrorMessage(c));
		return;
	}
	usleep(500 * 1000);
	if (!PQcancel(cn, err, sizeof(err)))
		fail("cancel: PQcancel: %s", err);
	PQfreeCancel(cn);
	r = PQgetResult(c);
	dt = now_s() - t0;
	if (PQresultStatus(r) != PGRES_FATAL_ERROR ||
	    strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE) ?: "", "57014") != 0)
		fail("cancel: expected query_canceled, got %s %s", PQresStatus(PQresultStatus(r)),
		     PQresultErrorMessage(r));
	PQclear(r);
	expect_end(c, "cancel");
	if (dt > 5)
		fail("cancel: the query took %.1f s to end", dt);
	expect_value(c, "SELECT 'alive'", "alive");
}

static void section_notify(PGconn *c)
{
	PGconn *l = connect_extra("");
	PGnotify *n = NULL;
	double deadline = now_s() + 5;

	run_ok(l, "LISTEN fs_chan");
	run_ok(c, "NOTIFY fs_chan, 'the payload'");
	while (!n && now_s() < deadline) {
		struct pollfd pfd = {.fd = PQsocket(l), .events = POLLIN};

		poll(&pfd, 1, 200);
		PQconsumeInput(l);
		n = PQnotifies(l);
	}
	if (!n)
		fail("notify: nothing delivered within 5 s");
	else if (strcmp(n->relname, "fs_chan") != 0 || strcmp(n->extra, "the payload") != 0 ||
	         n->be_pid != PQbackendPID(c))
		fail("notify: got channel %s payload '%s' from pid %d", n->relname, n->extra,
		     n->be_pid);
	PQfreemem(n);
	/* a notification that arrives while the listener runs a query comes with its results */
	run_ok(c, "NOTIFY fs_chan, 'second'");
	usleep(200 * 1000);
	expect_value(l, "SELECT 2", "2");
	n = PQnotifies(l);
	if (!n || strcmp(n->extra, "second") != 0)
		fail("notify: second notification lost");
	PQfreemem(n);
	PQfinish(l);
}

static char last_notice[256];

static void notice_rx(void *arg, const PGresult *r)
{
	(void)arg;
	snprintf(last_notice, sizeof(last_notice), "%s|%s",
	         PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED) ?: "",
	         PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) ?: "");
}

static void section_notice(PGconn *c)
{
	PQnoticeReceiver old = PQsetNoticeReceiver(c, notice_rx, NULL);

	run_ok(c, "SET client_min_messages = notice");
	last_notice[0] = 0;
	run_ok(c, "DO $$ BEGIN RAISE NOTICE 'notice %', 42; END $$");
	if (strcmp(last_notice, "NOTICE|notice 42") != 0)
		fail("notice: got '%s'", last_notice);
	last_notice[0] = 0;
	run_ok(c, "DO $$ BEGIN RAISE WARNING 'careful'; END $$");
	if (strcmp(last_notice, "WARNING|careful") != 0)
		fail("warning: got '%s'", last_notice);
	PQsetNoticeReceiver(c, old, NULL);
}

static void section_params(PGconn *c)
{
	PGconn *o;
	const char *v;

	run_ok(c, "SET application_name = 'proto_app'");
	v = PQparameterStatus(c, "application_name");
	if (!v || strcmp(v, "proto_app") != 0)
		fail("ParameterStatus: application_name is '%s'", v ?: "(none)");
	run_ok(c, "RESET application_name");
	v = PQparameterStatus(c, "server_version");
	if (!v || strncmp(v, "15", 2) != 0)
		fail("ParameterStatus: server_version is '%s'", v ?: "(none)");

	/* start-up parameters travel in the start-up packet */
	o = connect_extra("application_name=from_conninfo options='-c search_path=fs_path,public "
	                  "-c statement_timeout=12345'");
	v = PQparameterStatus(o, "application_name");
	if (!v || strcmp(v, "from_conninfo") != 0)
		fail("start-up application_name: '%s'", v ?: "(none)");
	expect_value(o, "SHOW search_path", "fs_path,public");
	expect_value(o, "SHOW statement_timeout", "12345ms");
	expect_value(o,
	             "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
	             "from_conninfo");
	PQfinish(o);
}

/* ---- FunctionCall ---- */

static void section_fn(PGconn *c)
{
	PGresult *r = run(c, "SELECT 'int4pl'::regproc::oid", PGRES_TUPLES_OK);
	Oid fnid = PQntuples(r) ? (Oid)strtoul(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQArgBlock args[2] = {
	        {.len = 4, .isint = 1, .u.integer = 40},
	        {.len = 4, .isint = 1, .u.integer = 2},
	};
	int result = 0, rlen = 0;

	PQclear(r);
	r = PQfn(c, (int)fnid, &result, &rlen, 1, args, 2);
	if (PQresultStatus(r) != PGRES_COMMAND_OK || rlen != 4 || result != 42)
		fail("PQfn(int4pl, 40, 2): status %s len %d result %d %s",
		     PQresStatus(PQresultStatus(r)), rlen, result, PQresultErrorMessage(r));
	PQclear(r);
	/* a call that fails: int4pl overflows */
	args[0].u.integer = 2147483647;
	r = PQfn(c, (int)fnid, &result, &rlen, 1, args, 2);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR ||
	    !strstr(PQresultErrorMessage(r), "out of range"))
		fail("PQfn overflow: expected an error, got %s", PQresStatus(PQresultStatus(r)));
	PQclear(r);
	expect_value(c, "SELECT 'after fn'", "after fn");
}

/* ---- portals ---- */

static void section_portal(PGconn *c)
{
	PGresult *r;
	int n = 0;

	run_ok(c, "BEGIN");
	run_ok(c, "DECLARE cur CURSOR FOR SELECT g FROM generate_series(1, 10) g");
	for (int i = 0; i < 4; i++) {
		r = run(c, "FETCH 3 FROM cur", PGRES_TUPLES_OK);
		if (PQntuples(r) != (i < 3 ? 3 : 1) || atoi(PQgetvalue(r, 0, 0)) != i * 3 + 1)
			fail("FETCH %d: %d rows", i, PQntuples(r));
		PQclear(r);
	}
	run_ok(c, "COMMIT");

	/* single-row mode */
	PQsendQuery(c, "SELECT g FROM generate_series(1, 100) g");
	PQsetSingleRowMode(c);
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE)
			n += atoi(PQgetvalue(r, 0, 0));
		else if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fail("single-row mode: %s", PQresultErrorMessage(r));
		PQclear(r);
	}
	if (n != 5050)
		fail("single-row mode: sum %d", n);
}

static void section_describe(PGconn *c)
{
	PGresult *r = PQprepare(c, "desc_st", "SELECT $1::int AS a, 'x'::text AS b", 0, NULL);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail("prepare: %s", PQresultErrorMessage(r));
	PQclear(r);
	r = PQdescribePrepared(c, "desc_st");
	if (PQresultStatus(r) != PGRES_COMMAND_OK || PQnparams(r) != 1 || PQparamtype(r, 0) != 23 ||
	    PQnfields(r) != 2 || strcmp(PQfname(r, 1), "b") != 0 || PQftype(r, 1) != 25)
		fail("describe prepared: %s nparams %d nfields %d", PQresStatus(PQresultStatus(r)),
		     PQnparams(r), PQnfields(r));
	PQclear(r);
	run_ok(c, "BEGIN");
	run_ok(c, "DECLARE desc_cur CURSOR FOR SELECT 1::int8 AS one, now() AS ts");
	r = PQdescribePortal(c, "desc_cur");
	if (PQresultStatus(r) != PGRES_COMMAND_OK || PQnfields(r) != 2 ||
	    strcmp(PQfname(r, 0), "one") != 0 || PQftype(r, 0) != 20)
		fail("describe portal: %s nfields %d", PQresStatus(PQresultStatus(r)),
		     PQnfields(r));
	PQclear(r);
	run_ok(c, "CLOSE desc_cur");
	run_ok(c, "COMMIT");
	run_ok(c, "DEALLOCATE desc_st");
	r = PQdescribePrepared(c, "desc_st");
	if (PQresultStatus(r) != PGRES_FATAL_ERROR)
		fail("describe of a deallocated statement: %s", PQresStatus(PQresultStatus(r)));
	PQclear(r);
	/* and the statement name can be reused */
	r = PQprepare(c, "desc_st", "SELECT 2", 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail("prepare again: %s", PQresultErrorMessage(r));
	PQclear(r);
	run_ok(c, "DEALLOCATE desc_st");
}

static void section_empty(PGconn *c)
{
	PGresult *r = PQexec(c, "");

	if (PQresultStatus(r) != PGRES_EMPTY_QUERY)
		fail("empty query: %s", PQresStatus(PQresultStatus(r)));
	PQclear(r);
	r = PQexec(c, " ; ");
	if (PQresultStatus(r) != PGRES_EMPTY_QUERY)
		fail("empty query ';': %s", PQresStatus(PQresultStatus(r)));
	PQclear(r);
	r = PQexecParams(c, "", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_EMPTY_QUERY)
		fail("empty query, extended: %s", PQresStatus(PQresultStatus(r)));
	PQclear(r);
	expect_value(c, "SELECT 'after empty'", "after empty");
}

/* ---- large messages ---- */

static void section_big(PGconn *c)
{
	size_t n = 200u << 20;
	char *v = malloc(n + 1);
	char *sql;
	const char *vals[1];
	int lens[1] = {(int)n}, fmts[1] = {1};
	PGresult *r;
	size_t m = 3u << 20;

	for (size_t i = 0; i < n; i++)
		v[i] = (char)('a' + (i * 7 + i / 4093) % 26);
	v[n] = 0;
	vals[0] = v;
	run_ok(c, "DROP TABLE IF EXISTS big_t");
	run_ok(c, "CREATE TABLE big_t (k int, v text)");
	r = PQexecParams(c, "INSERT INTO big_t VALUES (1, $1)", 1, NULL, vals, lens, fmts, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail("200 MB insert: %s", PQresultErrorMessage(r));
	PQclear(r);
	r = run(c, "SELECT v FROM big_t WHERE k = 1", PGRES_TUPLES_OK);
	if (PQntuples(r) != 1 || (size_t)PQgetlength(r, 0, 0) != n ||
	    memcmp(PQgetvalue(r, 0, 0), v, n) != 0)
		fail("200 MB select: %d rows, %d bytes", PQntuples(r),
		     PQntuples(r) ? PQgetlength(r, 0, 0) : 0);
	PQclear(r);

	/* a simple Query larger than what the proxy inspects: a 3 MB literal */
	sql = malloc(m + 64);
	snprintf(sql, m + 64, "INSERT INTO big_t VALUES (2, '%.*s')", (int)m, v);
	run_ok(c, sql);
	free(sql);
	expect_value(c, "SELECT length(v) FROM big_t WHERE k = 2", "3145728");
	run_ok(c, "DROP TABLE big_t");
	free(v);
}

/* ---- start-up ---- */

static void section_replication(void)
{
	char ci[256];
	PGconn *r;

	snprintf(ci, sizeof(ci),
	         "host=%s port=%s dbname=foreshard user=foreshard replication=database", host,
	         port);
	r = PQconnectdb(ci);
	if (via_proxy) {
		if (PQstatus(r) == CONNECTION_OK)
			fail("replication connection accepted through foreshard");
		else if (!strstr(PQerrorMessage(r), "replication") ||
		         !strstr(PQerrorMessage(r), "foreshard"))
			fail("replication refusal unclear: %s", PQerrorMessage(r));
	} else if (PQstatus(r) != CONNECTION_OK) {
		fail("replication connection to PostgreSQL: %s", PQerrorMessage(r));
	} else {
		PGresult *res = PQexec(r, "IDENTIFY_SYSTEM");

		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fail("IDENTIFY_SYSTEM: %s", PQresultErrorMessage(res));
		PQclear(res);
	}
	PQfinish(r);
}

/* A raw protocol connection; exits on connect failure. */
static int raw_connect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("raw connect");
		exit(1);
	}
	return fd;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (poll(&pfd, 1, 10000) != 1)
			return false;
		k = read(fd, (char *)buf + got, n - got);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

/* Reads one message; returns its type (0 on EOF or timeout); body malloc'd in *body. */
static char raw_read(int fd, unsigned char **body, uint32_t *len)
{
	unsigned char hdr[5];

	*body = NULL;
	*len = 0;
	if (!read_full(fd, hdr, 5))
		return 0;
	*len = get32(hdr + 1) - 4;
	*body = malloc(*len + 1);
	if (!read_full(fd, *body, *len))
		return 0;
	(*body)[*len] = 0;
	return (char)hdr[0];
}

/* Reads messages up to the next ReadyForQuery; returns their types as a string. */
static void raw_until_ready(int fd, char *types, size_t cap)
{
	size_t n = 0;
	char t;

	do {
		unsigned char *body;
		uint32_t len;

		t = raw_read(fd, &body, &len);
		free(body);
		if (n + 1 < cap)
			types[n++] = t ? t : '!';
	} while (t && t != 'Z');
	types[n] = 0;
}

static void raw_send(int fd, const void *buf, size_t n)
{
	if (write(fd, buf, n) != (ssize_t)n)
		fail("raw write failed");
}

/* Sends a start-up packet with the given version and extra key/value pairs. */
static void raw_startup(int fd, uint32_t version, const char *extra_k, const char *extra_v)
{
	unsigned char pkt[256];
	size_t n = 8;
	const char *kv[] = {"user", "foreshard", "database", "foreshard", extra_k, extra_v};

	for (int i = 0; i < (extra_k ? 6 : 4); i++) {
		size_t l = strlen(kv[i]) + 1;

		memcpy(pkt + n, kv[i], l);
		n += l;
	}
	pkt[n++] = 0;
	put32(pkt, (uint32_t)n);
	put32(pkt + 4, version);
	raw_send(fd, pkt, n);
}

/* Appends a message to buf at *n. */
static void msg(unsigned char *buf, size_t *n, char type, const void *body, size_t len)
{
	buf[(*n)++] = (unsigned char)type;
	put32(buf + *n, (uint32_t)len + 4);
	memcpy(buf + *n + 4, body, len);
	*n += 4 + len;
}

static void raw_query_select1(int fd, const char *what)
{
	unsigned char buf[64];
	size_t n = 0;
	char types[64];

	msg(buf, &n, 'Q', "SELECT 1", 9);
	raw_send(fd, buf, n);
	raw_until_ready(fd, types, sizeof(types));
	if (strcmp(types, "TDCZ") != 0)
		fail("%s: SELECT 1 answered with '%s'", what, types);
}

static void section_gss(void)
{
	PGconn *g = connect_extra("gssencmode=prefer sslmode=prefer");
	unsigned char req[8];
	char answer = 0;
	char types[64];
	int fd;

	expect_value(g, "SELECT 'gss prefer'", "gss prefer");
	PQfinish(g);

	/* GSSENCRequest then SSLRequest, then a plain start-up on the same connection */
	fd = raw_connect();
	put32(req, 8);
	put32(req + 4, 80877104);
	raw_send(fd, req, 8);
	if (!read_full(fd, &answer, 1) || (answer != 'N' && (via_proxy || answer != 'G'))) {
		fail("GSSENCRequest answered '%c'", answer ? answer : '?');
		close(fd);
		return;
	}
	if (answer == 'G') {
		/* PostgreSQL itself offers GSS encryption; nothing more to check directly */
		close(fd);
		return;
	}
	put32(req + 4, 80877103);
	raw_send(fd, req, 8);
	if (!read_full(fd, &answer, 1) || answer != 'N')
		fail("SSLRequest after GSSENCRequest answered '%c'", answer ? answer : '?');
	raw_startup(fd, 0x30000, NULL, NULL);
	raw_until_ready(fd, types, sizeof(types));
	if (types[0] != 'R' || types[strlen(types) - 1] != 'Z')
		fail("start-up after GSSENC/SSL refusals: got '%s'", types);
	else
		raw_query_select1(fd, "after GSSENC/SSL refusals");
	close(fd);
}

static void section_negotiate(void)
{
	int fd = raw_connect();
	unsigned char *body;
	uint32_t len;
	char t, types[64];

	raw_startup(fd, 0x30063, "_pq_.fs_unknown_option", "on");
	t = raw_read(fd, &body, &len);
	if (t != 'v') {
		fail("protocol 3.99: expected NegotiateProtocolVersion, got '%c'", t ? t : '?');
	} else if (len < 8 || get32(body) != 0x30000 || get32(body + 4) != 1 ||
	           strcmp((char *)body + 8, "_pq_.fs_unknown_option") != 0) {
		fail("NegotiateProtocolVersion: bad body (%u bytes)", len);
	}
	free(body);
	raw_until_ready(fd, types, sizeof(types));
	if (types[0] != 'R' || types[strlen(types) - 1] != 'Z')
		fail("start-up after NegotiateProtocolVersion: got '%s'", types);
	else
		raw_query_select1(fd, "after NegotiateProtocolVersion");
	close(fd);
}

/* ---- extended protocol by hand: row limits, Close ---- */

static size_t put_str(unsigned char *p, const char *s)
{
	size_t l = strlen(s) + 1;

	memcpy(p, s, l);
	return l;
}

static void raw_parse(unsigned char *buf, size_t *n, const char *name, const char *sql)
{
	unsigned char b[256];
	size_t k = put_str(b, name);

	k += put_str(b + k, sql);
	b[k++] = 0; /* no parameter types */
	b[k++] = 0;
	msg(buf, n, 'P', b, k);
}

static void raw_bind(unsigned char *buf, size_t *n, const char *portal, const char *stmt)
{
	unsigned char b[256];
	size_t k = put_str(b, portal);

	k += put_str(b + k, stmt);
	memset(b + k, 0, 6); /* no formats, no parameters, no result formats */
	msg(buf, n, 'B', b, k + 6);
}

static void raw_execute(unsigned char *buf, size_t *n, const char *portal, uint32_t max_rows)
{
	unsigned char b[128];
	size_t k = put_str(b, portal);

	put32(b + k, max_rows);
	msg(buf, n, 'E', b, k + 4);
}

static void raw_close(unsigned char *buf, size_t *n, char kind, const char *name)
{
	unsigned char b[128];

	b[0] = (unsigned char)kind;
	msg(buf, n, 'C', b, 1 + put_str(b + 1, name));
}

static void section_raw_extended(void)
{
	int fd = raw_connect();
	unsigned char buf[4096];
	size_t n = 0;
	char types[256];

	raw_startup(fd, 0x30000, NULL, NULL);
	raw_until_ready(fd, types, sizeof(types));
	if (types[0] != 'R')
		fail("raw start-up: got '%s'", types);

	/* a named portal in a transaction, fetched 4 rows at a time, then closed */
	msg(buf, &n, 'Q', "BEGIN", 6);
	raw_parse(buf, &n, "rs", "SELECT g FROM generate_series(1, 10) g");
	raw_bind(buf, &n, "rp", "rs");
	raw_execute(buf, &n, "rp", 4);
	raw_execute(buf, &n, "rp", 4);
	raw_execute(buf, &n, "rp", 4);
	raw_close(buf, &n, 'P', "rp");
	raw_close(buf, &n, 'S', "rs");
	msg(buf, &n, 'S', "", 0);
	raw_send(fd, buf, n);
	raw_until_ready(fd, types, sizeof(types));
	if (strcmp(types, "CZ") != 0)
		fail("BEGIN: got '%s'", types);
	raw_until_ready(fd, types, sizeof(types));
	if (strcmp(types, "12DDDDsDDDDsDDC33Z") != 0)
		fail("named portal with a row limit: got '%s'", types);

	/* the unnamed portal with a row limit, outside a transaction block */
	n = 0;
	msg(buf, &n, 'Q', "COMMIT", 7);
	raw_parse(buf, &n, "", "SELECT g FROM generate_series(1, 3) g");
	raw_bind(buf, &n, "", "");
	raw_execute(buf, &n, "", 2);
	raw_execute(buf, &n, "", 0);
	msg(buf, &n, 'S', "", 0);
	/* the closed statement is gone */
	raw_bind(buf, &n, "", "rs");
	raw_execute(buf, &n, "", 0);
	msg(buf, &n, 'S', "", 0);
	raw_send(fd, buf, n);
	raw_until_ready(fd, types, sizeof(types));
	if (strcmp(types, "CZ") != 0)
		fail("COMMIT: got '%s'", types);
	raw_until_ready(fd, types, sizeof(types));
	if (strcmp(types, "12DDsDCZ") != 0)
		fail("unnamed portal with a row limit: got '%s'", types);
	raw_until_ready(fd, types, sizeof(types));
	if (strcmp(types, "EZ") != 0)
		fail("bind of a closed statement: got '%s'", types);
	raw_query_select1(fd, "after raw extended");
	n = 0;
	msg(buf, &n, 'X', "", 0);
	raw_send(fd, buf, n);
	close(fd);
}

/* ---- pipelines ---- */

static void section_pipeline(PGconn *c)
{
	enum {
		N = 300
	};
	char num[16];
	const char *vals[1] = {num};
	PGresult *r;
	long sum = 0;
	int syncs = 0, errors = 0, aborted = 0;

	run_ok(c, "DROP TABLE IF EXISTS pipe_t");
	run_ok(c, "CREATE TABLE pipe_t (k int)");
	if (!PQenterPipelineMode(c)) {
		fail("cannot enter pipeline mode");
		return;
	}
	PQsetnonblocking(c, 1);
	for (int i = 1; i <= N; i++) {
		snprintf(num, sizeof(num), "%d", i);
		/* statement 150 fails; the rest of its sync group (141..150) is skipped */
		PQsendQueryParams(c,
		                  i == 150 ? "SELECT 1 / ($1::int - 150)"
		                           : "INSERT INTO pipe_t VALUES ($1::int)",
		                  1, NULL, vals, NULL, NULL, 0);
		if (i % 10 == 0)
			PQpipelineSync(c);
		PQflush(c);
		PQconsumeInput(c);
	}
	PQsendQueryParams(c, "SELECT sum(k) FROM pipe_t", 0, NULL, NULL, NULL, NULL, 0);
	PQpipelineSync(c);
	PQsetnonblocking(c, 0);
	while (PQflush(c) > 0)
		;
	while (syncs < N / 10 + 1) {
		r = PQgetResult(c);
		if (!r)
			continue;
		switch (PQresultStatus(r)) {
		case PGRES_PIPELINE_SYNC:
			syncs++;
			break;
		case PGRES_FATAL_ERROR:
			errors++;
			break;
		case PGRES_PIPELINE_ABORTED:
			aborted++;
			break;
		case PGRES_TUPLES_OK:
			sum = atol(PQgetvalue(r, 0, 0));
			break;
		case PGRES_COMMAND_OK:
			break;
		default:
			fail("pipeline: unexpected %s", PQresStatus(PQresultStatus(r)));
			syncs = N;
		}
		PQclear(r);
	}
	PQexitPipelineMode(c);
	/* 1..300 minus the group 141..150 that the error rolled back */
	if (errors != 1 || aborted != 0 || sum != 45150 - 1455)
		fail("pipeline: %d errors, %d aborted, sum %ld", errors, aborted, sum);
	run_ok(c, "DROP TABLE pipe_t");
}

static const struct {
	const char *name;
	void (*fn)(PGconn *c);
	void (*raw)(void);
} sections[] = {
        {"copy", section_copy, NULL},         {"cancel", section_cancel, NULL},
        {"notify", section_notify, NULL},     {"notice", section_notice, NULL},
        {"params", section_params, NULL},     {"fn", section_fn, NULL},
        {"portal", section_portal, NULL},     {"describe", section_describe, NULL},
        {"empty", section_empty, NULL},       {"big", section_big, NULL},
        {"pipeline", section_pipeline, NULL}, {"replication", NULL, section_replication},
        {"gss", NULL, section_gss},           {"negotiate", NULL, section_negotiate},
        {"raw", NULL, section_raw_extended},  {"copyhold", section_copyhold, NULL},
};

static void run_section(int i)
{
	int before = failures;
	double t0 = now_s();

	if (sections[i].fn) {
		PGconn *c = connect_extra("");

		PQclear(PQexec(c, "SET client_min_messages = warning"));
		sections[i].fn(c);
		if (PQstatus(c) != CONNECTION_OK)
			fail("%s: connection lost", sections[i].name);
		PQfinish(c);
	} else {
		sections[i].raw();
	}
	if (strcmp(sections[i].name, "copyhold") != 0)
		printf("%-12s %s (%.1f s)\n", sections[i].name,
		       failures == before ? "ok" : "FAILED", now_s() - t0);
}

int main(int argc, char **argv)
{
	int n = (int)(sizeof(sections) / sizeof(sections[0]));

	if (argc < 4 || (strcmp(argv[3], "direct") != 0 && strcmp(argv[3], "proxy") != 0)) {
		fprintf(stderr, "usage: %s HOST PORT direct|proxy [SECTION...]\n", argv[0]);
		return 2;
	}
	host = argv[1];
	port = argv[2];
	via_proxy = strcmp(argv[3], "proxy") == 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4) {
		for (int i = 0; i < n; i++) {
			if (strcmp(sections[i].name, "copyhold") != 0)
				run_section(i);
		}
	}
	for (int a = 4; a < argc; a++) {
		int i = 0;

		while (i < n && strcmp(sections[i].name, argv[a]) != 0)
			i++;
		if (i == n) {
			fprintf(stderr, "unknown section %s\n", argv[a]);
			return 2;
		}
		run_section(i);
	}
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
