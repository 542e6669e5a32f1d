/*
 * The admin console against real libpq clients and raw sockets: results and column names,
 * command parsing (case, ';', arguments), errors and their SQLSTATEs, the extended protocol
 * refused without losing the connection, start-up packets (SSL, GSS, cancel, split across
 * writes), garbage closing one client but not another, and the socket file's life cycle.
 * The console runs in an event base driven by a second thread, as the main thread drives it in
 * foreshard; the fake handlers record their calls under a mutex.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <libpq-fe.h>

#include "proxy/console.h"

#define PORT 7433
#define GUARD_MS 10000 /* only against hangs: every wait below normally ends at once */

/* What the fake handlers saw, written in the loop thread, read in the test thread. */
static struct {
	pthread_mutex_t mu;
	int pause_calls;       /* PAUSE handler calls */
	char pause_arg[128];   /* its last argument */
	char resume_arg[128];  /* RESUME's last argument */
	char profile_arg[128]; /* SHOW PROFILE's last argument */
} seen = {.mu = PTHREAD_MUTEX_INITIALIZER};

static bool fake_stats(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                       size_t errlen)
{
	static const char *const cols[] = {"name", "value"};
	static const char *const row1[] = {"queries", "42"};
	static const char *const row2[] = {"dropped", NULL};

	proxy_console_result_columns(r, 2, cols);
	proxy_console_result_row(r, row1);
	proxy_console_result_row(r, row2);
	return true;
}

static bool fake_pause(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                       size_t errlen)
{
	pthread_mutex_lock(&seen.mu);
	seen.pause_calls++;
	snprintf(seen.pause_arg, sizeof(seen.pause_arg), "%s", arg);
	pthread_mutex_unlock(&seen.mu);
	return true;
}

static bool fake_resume(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                        size_t errlen)
{
	pthread_mutex_lock(&seen.mu);
	snprintf(seen.resume_arg, sizeof(seen.resume_arg), "%s", arg);
	pthread_mutex_unlock(&seen.mu);
	proxy_console_result_tag(r, "RESUME 1");
	return true;
}

static bool fake_profile(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                         size_t errlen)
{
	static const char *const cols[] = {"table"};
	const char *row[] = {arg};

	pthread_mutex_lock(&seen.mu);
	snprintf(seen.profile_arg, sizeof(seen.profile_arg), "%s", arg);
	pthread_mutex_unlock(&seen.mu);
	proxy_console_result_columns(r, 1, cols);
	proxy_console_result_row(r, row);
	return true;
}

static bool fake_apply(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                       size_t errlen)
{
	snprintf(err, errlen, "no proposed plan %s", arg);
	return false;
}

/* A buggy handler: a row before its columns. */
static bool fake_clients(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                         size_t errlen)
{
	static const char *const row[] = {"x"};

	proxy_console_result_row(r, row);
	return true;
}

static const struct proxy_console_ops fake_ops = {
        .show_stats = fake_stats,
        .show_clients = fake_clients,
        .show_profile = fake_profile,
        .pause = fake_pause,
        .resume = fake_resume,
        .apply = fake_apply,
        /* show_tables and the rest stay NULL: "not available" */
};

static char dir[64];
static struct event_base *base;
static struct proxy_console *con;
static pthread_t loop_thread;

static void *run_loop(void *arg)
{
	event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void start(void)
{
	char err[512];

	signal(SIGPIPE, SIG_IGN); /* a refused raw client may see its writes fail */
	cr_assert_eq(evthread_use_pthreads(), 0);
	strcpy(dir, "/tmp/fs_console_XXXXXX");
	cr_assert(mkdtemp(dir));
	base = event_base_new();
	cr_assert(base);
	con = proxy_console_start(base, dir, PORT, &fake_ops, err, sizeof(err));
	cr_assert(con, "%s", err);
	cr_assert_eq(pthread_create(&loop_thread, NULL, run_loop, NULL), 0);
}

static void break_loop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

static void stop(void)
{
	/*
	 * Break from inside the loop: a plain loopbreak sent before the thread has entered
	 * event_base_loop would be forgotten, since entering the loop clears the flag.
	 */
	cr_assert_eq(event_base_once(base, -1, EV_TIMEOUT, break_loop, NULL, &(struct timeval){0}),
	             0);
	pthread_join(loop_thread, NULL);
	proxy_console_stop(con);
	event_base_free(base);
	rmdir(dir);
}

TestSuite(console, .init = start, .fini = stop);

static PGconn *connect_pq(void)
{
	char conninfo[256];
	PGconn *pq;

	snprintf(conninfo, sizeof(conninfo), "host=%s port=%d dbname=foreshard", dir, PORT);
	pq = PQconnectdb(conninfo);
	cr_assert_eq(PQstatus(pq), CONNECTION_OK, "%s", PQerrorMessage(pq));
	return pq;
}

/* Runs sql and asserts the result status; returns the result for more checks. */
static PGresult *exec_ok(PGconn *pq, const char *sql, ExecStatusType want)
{
	PGresult *res = PQexec(pq, sql);

	cr_assert_eq(PQresultStatus(res), want, "%s: %s %s", sql, PQresStatus(PQresultStatus(res)),
	             PQerrorMessage(pq));
	return res;
}

/* Runs sql, expects an error with SQLSTATE code and a message containing part. */
static void exec_error(PGconn *pq, const char *sql, const char *code, const char *part)
{
	PGresult *res = PQexec(pq, sql);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	cr_assert_eq(PQresultStatus(res), PGRES_FATAL_ERROR, "%s succeeded", sql);
	cr_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), code, "%s: %s", sql, msg);
	cr_assert(msg && strstr(msg, part), "%s: message '%s' lacks '%s'", sql, msg, part);
	PQclear(res);
}

Test(console, show_stats_returns_the_handlers_rows)
{
	PGconn *pq = connect_pq();
	PGresult *res = exec_ok(pq, "SHOW STATS", PGRES_TUPLES_OK);

	cr_assert_eq(PQnfields(res), 2);
	cr_assert_str_eq(PQfname(res, 0), "name");
	cr_assert_str_eq(PQfname(res, 1), "value");
	cr_assert_eq(PQftype(res, 0), 25, "text");
	cr_assert_eq(PQntuples(res), 2);
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "queries");
	cr_assert_str_eq(PQgetvalue(res, 0, 1), "42");
	cr_assert_str_eq(PQgetvalue(res, 1, 0), "dropped");
	cr_assert(PQgetisnull(res, 1, 1), "a NULL value is SQL NULL");
	cr_assert_str_eq(PQcmdStatus(res), "SHOW");
	PQclear(res);
	cr_assert_str_eq(PQparameterStatus(pq, "server_version"), "15.0 (foreshard)");
	cr_assert_str_eq(PQparameterStatus(pq, "client_encoding"), "UTF8");
	cr_assert_eq(PQserverVersion(pq), 150000);
	PQfinish(pq);
}

Test(console, case_blanks_and_semicolons_do_not_matter)
{
	PGconn *pq = connect_pq();

	PQclear(exec_ok(pq, "  show\tStats ;  \n", PGRES_TUPLES_OK));
	PQclear(exec_ok(pq, "show stats;;", PGRES_TUPLES_OK));
	PQclear(exec_ok(pq, " ; ", PGRES_EMPTY_QUERY));
	PQclear(exec_ok(pq, "", PGRES_EMPTY_QUERY));
	PQfinish(pq);
}

Test(console, unknown_command_lists_the_valid_ones)
{
	PGconn *pq = connect_pq();

	exec_error(pq, "SELECT 1", "42601", "unknown command \"SELECT 1\"");
	exec_error(pq, "show statz", "42601", "SHOW PROFILE <table>");
	exec_error(pq, "SHOWSTATS", "42601", "SET MODE <mode>");
	exec_error(pq, "show", "42601", "SHOW STATS");
	PQclear(exec_ok(pq, "SHOW STATS", PGRES_TUPLES_OK)); /* still usable */
	PQfinish(pq);
}

Test(console, pause_and_resume_pass_their_argument)
{
	PGconn *pq = connect_pq();
	PGresult *res = exec_ok(pq, "PAUSE t", PGRES_COMMAND_OK);

	cr_assert_str_eq(PQcmdStatus(res), "PAUSE");
	PQclear(res);
	pthread_mutex_lock(&seen.mu);
	cr_assert_eq(seen.pause_calls, 1);
	cr_assert_str_eq(seen.pause_arg, "t");
	pthread_mutex_unlock(&seen.mu);

	PQclear(exec_ok(pq, "pause;", PGRES_COMMAND_OK));
	pthread_mutex_lock(&seen.mu);
	cr_assert_eq(seen.pause_calls, 2);
	cr_assert_str_eq(seen.pause_arg, "", "no table: every table");
	pthread_mutex_unlock(&seen.mu);

	res = exec_ok(pq, "Resume   public.events  ;", PGRES_COMMAND_OK);
	cr_assert_str_eq(PQcmdStatus(res), "RESUME 1", "the handler's tag");
	PQclear(res);
	pthread_mutex_lock(&seen.mu);
	cr_assert_str_eq(seen.resume_arg, "public.events");
	pthread_mutex_unlock(&seen.mu);
	PQfinish(pq);
}

Test(console, argument_rules)
{
	PGconn *pq = connect_pq();
	PGresult *res;

	exec_error(pq, "SHOW PROFILE", "42601", "missing argument: SHOW PROFILE <table>");
	exec_error(pq, "SHOW STATS now", "42601", "SHOW STATS takes no argument");
	exec_error(pq, "APPLY", "42601", "missing argument: APPLY <plan id>");
	res = exec_ok(pq, "show profile  public.orders ", PGRES_TUPLES_OK);
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "public.orders");
	PQclear(res);
	pthread_mutex_lock(&seen.mu);
	cr_assert_str_eq(seen.profile_arg, "public.orders");
	pthread_mutex_unlock(&seen.mu);
	PQfinish(pq);
}

Test(console, handler_failures_become_errors)
{
	PGconn *pq = connect_pq();

	exec_error(pq, "APPLY 7", "55000", "no proposed plan 7");
	exec_error(pq, "SHOW TABLES", "0A000", "SHOW TABLES is not available");
	exec_error(pq, "SHOW CLIENTS", "XX000", "sent a row before naming its columns");
	PQclear(exec_ok(pq, "SHOW STATS", PGRES_TUPLES_OK));
	PQfinish(pq);
}

Test(console, show_help_lists_every_command)
{
	PGconn *pq = connect_pq();
	PGresult *res = exec_ok(pq, "show help", PGRES_TUPLES_OK);

	cr_assert_eq(PQntuples(res), 13);
	cr_assert_str_eq(PQfname(res, 0), "command");
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "SHOW HELP");
	cr_assert_str_eq(PQgetvalue(res, 12, 0), "SHUTDOWN");
	PQclear(res);
	PQfinish(pq);
}

Test(console, several_commands_run_in_order_up_to_an_error)
{
	PGconn *pq = connect_pq();
	PGresult *res = exec_ok(pq, "pause a; resume b", PGRES_COMMAND_OK);

	cr_assert_str_eq(PQcmdStatus(res), "RESUME 1", "PQexec keeps the last result");
	PQclear(res);
	pthread_mutex_lock(&seen.mu);
	cr_assert_str_eq(seen.pause_arg, "a");
	cr_assert_str_eq(seen.resume_arg, "b");
	pthread_mutex_unlock(&seen.mu);

	exec_error(pq, "pause c; bogus; pause d", "42601", "bogus");
	pthread_mutex_lock(&seen.mu);
	cr_assert_str_eq(seen.pause_arg, "c", "the command after the error did not run");
	cr_assert_eq(seen.pause_calls, 2);
	pthread_mutex_unlock(&seen.mu);
	PQfinish(pq);
}

Test(console, extended_protocol_is_refused_and_the_connection_survives)
{
	PGconn *pq = connect_pq();
	PGresult *res = PQexecParams(pq, "SHOW STATS", 0, NULL, NULL, NULL, NULL, 0);

	cr_assert_eq(PQresultStatus(res), PGRES_FATAL_ERROR);
	cr_assert_str_eq(PQresultErrorField(res, PG_DIAG_SQLSTATE), "0A000");
	cr_assert_str_eq(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
	                 "the console accepts simple queries only");
	PQclear(res);
	cr_assert_eq(PQstatus(pq), CONNECTION_OK);
	PQclear(exec_ok(pq, "SHOW STATS", PGRES_TUPLES_OK));
	PQfinish(pq);
}

/* ---- raw protocol ---------------------------------------------------------------------- */

static int raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", proxy_console_path(con));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	return fd;
}

static void raw_write(int fd, const void *p, size_t n)
{
	cr_assert_eq(write(fd, p, n), (ssize_t)n);
}

/* Reads exactly n bytes; returns false on EOF or reset first. */
static bool raw_read(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		cr_assert_eq(poll(&pfd, 1, GUARD_MS), 1, "the console did not answer");
		r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static void raw_expect_eof(int fd)
{
	char c;

	cr_assert_not(raw_read(fd, &c, 1), "the connection should be closed");
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Reads one backend message; returns its type, the body in body (up to cap bytes kept). */
static char raw_message(int fd, char *body, size_t cap)
{
	unsigned char hdr[5];
	char sink[4096];
	uint32_t len;

	cr_assert(raw_read(fd, hdr, 5), "closed while a message was expected");
	len = be32(hdr + 1) - 4;
	cr_assert_leq(len, sizeof(sink));
	cr_assert(raw_read(fd, sink, len));
	if (body && cap) {
		size_t n = len < cap - 1 ? len : cap - 1;

		memcpy(body, sink, n);
		body[n] = '\0';
	}
	return (char)hdr[0];
}

/* Reads messages up to ReadyForQuery; writes their types into types (NUL-terminated). */
static void raw_until_ready(int fd, char *types, size_t cap)
{
	size_t n = 0;
	char t;

	do {
		t = raw_message(fd, NULL, 0);
		cr_assert_lt(n + 1, cap);
		types[n++] = t;
	} while (t != 'Z');
	types[n] = '\0';
}

static size_t startup_packet(unsigned char *buf)
{
	static const char params[] = "user\0tester\0database\0foreshard\0";
	size_t len = 8 + sizeof(params); /* sizeof counts the list's final NUL */

	put_be32(buf, (uint32_t)len);
	put_be32(buf + 4, 3u << 16);
	memcpy(buf + 8, params, sizeof(params));
	return len;
}

static size_t query_message(unsigned char *buf, const char *sql)
{
	size_t n = strlen(sql) + 1;

	buf[0] = 'Q';
	put_be32(buf + 1, (uint32_t)(n + 4));
	memcpy(buf + 5, sql, n);
	return n + 5;
}

/* Connects and completes start-up; returns the fd, ready for queries. */
static int raw_ready(void)
{
	unsigned char pkt[128];
	char types[32];
	int fd = raw_connect();

	raw_write(fd, pkt, startup_packet(pkt));
	raw_until_ready(fd, types, sizeof(types));
	cr_assert_str_eq(types, "RSSSSSSKZ");
	return fd;
}

Test(console, messages_split_across_writes_are_reassembled)
{
	unsigned char pkt[128];
	char types[32];
	size_t n;
	int fd = raw_connect();

	n = startup_packet(pkt);
	for (size_t i = 0; i < n; i++)
		raw_write(fd, pkt + i, 1); /* one byte per write */
	raw_until_ready(fd, types, sizeof(types));
	cr_assert_str_eq(types, "RSSSSSSKZ");

	n = query_message(pkt, "SHOW STATS");
	raw_write(fd, pkt, 3);
	raw_write(fd, pkt + 3, n - 3);
	raw_until_ready(fd, types, sizeof(types));
	cr_assert_str_eq(types, "TDDCZ");

	/* Two messages in one write. */
	n = query_message(pkt, "PAUSE x");
	memcpy(pkt + n, pkt, n);
	raw_write(fd, pkt, 2 * n);
	raw_until_ready(fd, types, sizeof(types));
	cr_assert_str_eq(types, "CZ");
	raw_until_ready(fd, types, sizeof(types));
	cr_assert_str_eq(types, "CZ");
	close(fd);
}

Test(console, encryption_requests_get_N_and_cancel_is_closed)
{
	unsigned char pkt[128], ssl[8], answer;
	char types[32];
	int fd = raw_connect();

	put_be32(ssl, 8);
	put_be32(ssl + 4, 80877103); /* SSLRequest */
	raw_write(fd, ssl, 8);
	cr_assert(raw_read(fd, &answer, 1));
	cr_assert_eq(answer, 'N');
	put_be32(ssl + 4, 80877104); /* GSSENCRequest */
	raw_write(fd, ssl, 8);
	cr_assert(raw_read(fd, &answer, 1));
	cr_assert_eq(answer, 'N');
	raw_write(fd, pkt, startup_packet(pkt));
	raw_until_ready(fd, types, sizeof(types));
	cr_assert_str_eq(types, "RSSSSSSKZ");
	close(fd);

	fd = raw_connect();
	put_be32(pkt, 16);
	put_be32(pkt + 4, 80877102); /* CancelRequest */
	put_be32(pkt + 8, 1);
	put_be32(pkt + 12, 2);
	raw_write(fd, pkt, 16);
	raw_expect_eof(fd);
	close(fd);
}

Test(console, newer_protocol_minor_is_negotiated_down)
{
	static const char params[] = "user\0u\0_pq_.thing\0x\0";
	unsigned char pkt[128];
	char body[64];
	char types[32];
	size_t len = 8 + sizeof(params);
	int fd = raw_connect();

	put_be32(pkt, (uint32_t)len);
	put_be32(pkt + 4, 3u << 16 | 2);
	memcpy(pkt + 8, params, sizeof(params));
	raw_write(fd, pkt, len);
	cr_assert_eq(raw_message(fd, body, sizeof(body)), 'v');
	cr_assert_eq(be32((unsigned char *)body), 0, "newest minor we speak");
	cr_assert_eq(be32((unsigned char *)body + 4), 1, "one unrecognised option");
	cr_assert_str_eq(body + 8, "_pq_.thing");
	raw_until_ready(fd, types, sizeof(types));
	cr_assert_str_eq(types, "RSSSSSSKZ");
	close(fd);
}

Test(console, garbage_closes_that_client_only)
{
	PGconn *pq = connect_pq();
	unsigned char pkt[64] = {0};
	char body[256] = "";
	int fd;

	/* A bogus startup length: closed without a word, as PostgreSQL does. */
	fd = raw_connect();
	put_be32(pkt, 0x7fffffff);
	raw_write(fd, pkt, 8);
	raw_expect_eof(fd);
	close(fd);
	PQclear(exec_ok(pq, "SHOW STATS", PGRES_TUPLES_OK));

	/* A bad startup layout (no terminator). */
	fd = raw_connect();
	put_be32(pkt, 13);
	put_be32(pkt + 4, 3u << 16);
	memcpy(pkt + 8, "user", 5);
	raw_write(fd, pkt, 13);
	cr_assert_eq(raw_message(fd, body, sizeof(body)), 'E');
	raw_expect_eof(fd);
	close(fd);

	/* A bogus message length after start-up: FATAL, then closed. */
	fd = raw_ready();
	pkt[0] = 'Q';
	put_be32(pkt + 1, 2);
	raw_write(fd, pkt, 5);
	cr_assert_eq(raw_message(fd, body, sizeof(body)), 'E');
	cr_assert(memmem(body, sizeof(body), "FATAL", 5), "severity FATAL");
	raw_expect_eof(fd);
	close(fd);

	/* An unknown message type. */
	fd = raw_ready();
	raw_write(fd, "z\0\0\0\4", 5);
	cr_assert_eq(raw_message(fd, body, sizeof(body)), 'E');
	raw_expect_eof(fd);
	close(fd);

	/* A Query without its NUL. */
	fd = raw_ready();
	raw_write(fd, "Q\0\0\0\6ab", 7);
	cr_assert_eq(raw_message(fd, body, sizeof(body)), 'E');
	raw_expect_eof(fd);
	close(fd);

	/* A huge length is refused before its body is awaited. */
	fd = raw_ready();
	raw_write(fd, "Q\x7f\xff\xff\xff", 5);
	cr_assert_eq(raw_message(fd, body, sizeof(body)), 'E');
	raw_expect_eof(fd);
	close(fd);

	cr_assert_eq(PQstatus(pq), CONNECTION_OK);
	PQclear(exec_ok(pq, "SHOW STATS", PGRES_TUPLES_OK));
	PQfinish(pq);
}

Test(console, terminate_closes)
{
	int fd = raw_ready();

	raw_write(fd, "X\0\0\0\4", 5);
	raw_expect_eof(fd);
	close(fd);
}

Test(console, too_many_clients_are_refused)
{
	int fds[64], extra;
	char body[256] = "";

	for (int i = 0; i < 64; i++)
		fds[i] = raw_ready();
	extra = raw_connect();
	cr_assert_eq(raw_message(extra, body, sizeof(body)), 'E');
	cr_assert(memmem(body, sizeof(body), "53300", 5));
	raw_expect_eof(extra);
	close(extra);
	close(fds[0]);
	/* A slot is free once the console has seen the close: a new client eventually fits. */
	for (int attempt = 0;; attempt++) {
		int fd = raw_connect();
		unsigned char pkt[128];
		char t;

		/* The refusal may close the socket before the packet is sent: ignore that. */
		if (send(fd, pkt, startup_packet(pkt), MSG_NOSIGNAL) < 0)
			cr_log_info("startup packet not sent: %s", strerror(errno));
		t = raw_message(fd, body, sizeof(body));
		close(fd);
		if (t == 'R')
			break;
		cr_assert_eq(t, 'E');
		cr_assert_lt(attempt, 100000, "the closed client's slot was never freed");
	}
	for (int i = 1; i < 64; i++)
		close(fds[i]);
}

Test(console, socket_file_is_private)
{
	struct stat st;

	cr_assert_eq(lstat(proxy_console_path(con), &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert(strstr(proxy_console_path(con), "/.s.PGSQL.7433"));
}

/* ---- life cycle (own base, no loop thread) ---------------------------------------------- */

static char life_dir[64];

static void life_setup(void)
{
	strcpy(life_dir, "/tmp/fs_console_XXXXXX");
	cr_assert(mkdtemp(life_dir));
}

static void life_teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/.s.PGSQL.%d", life_dir, PORT);
	unlink(path);
	rmdir(life_dir);
}

Test(console_life, refuses_a_socket_in_use_and_replaces_a_stale_one, .init = life_setup,
     .fini = life_teardown)
{
	struct event_base *b = event_base_new();
	struct proxy_console *c1, *c2;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char err[512], path[128];
	struct stat st;
	int fd;

	c1 = proxy_console_start(b, life_dir, PORT, &fake_ops, err, sizeof(err));
	cr_assert(c1, "%s", err);
	c2 = proxy_console_start(b, life_dir, PORT, &fake_ops, err, sizeof(err));
	cr_assert_null(c2);
	cr_assert(strstr(err, "another process is listening on it"), "%s", err);
	cr_assert(strstr(err, life_dir), "%s", err);
	snprintf(path, sizeof(path), "%s/.s.PGSQL.%d", life_dir, PORT);
	cr_assert_eq(lstat(path, &st), 0, "the refused start left the live socket alone");
	cr_assert_str_eq(proxy_console_path(c1), path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	proxy_console_stop(c1);
	cr_assert_neq(lstat(path, &st), 0, "stop removes the socket file");

	/* A stale socket: bound by a process that is gone (here: closed without listening). */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	c1 = proxy_console_start(b, life_dir, PORT, &fake_ops, err, sizeof(err));
	cr_assert(c1, "a stale socket is replaced: %s", err);
	proxy_console_stop(c1);
	event_base_free(b);
}

Test(console_life, refuses_a_file_that_is_not_a_socket, .init = life_setup, .fini = life_teardown)
{
	struct event_base *b = event_base_new();
	char err[512], path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/.s.PGSQL.%d", life_dir, PORT);
	f = fopen(path, "w");
	cr_assert(f);
	fclose(f);
	cr_assert_null(proxy_console_start(b, life_dir, PORT, &fake_ops, err, sizeof(err)));
	cr_assert(strstr(err, "exists and is not a socket"), "%s", err);
	cr_assert_eq(access(path, F_OK), 0, "the file is left alone");
	event_base_free(b);
}

Test(console_life, reports_a_missing_directory_and_a_path_too_long, .init = life_setup,
     .fini = life_teardown)
{
	struct event_base *b = event_base_new();
	char err[512], longdir[200];

	cr_assert_null(
	        proxy_console_start(b, "/nonexistent/dir", PORT, &fake_ops, err, sizeof(err)));
	cr_assert(strstr(err, "does control_dir exist?"), "%s", err);
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	cr_assert_null(proxy_console_start(b, longdir, PORT, &fake_ops, err, sizeof(err)));
	cr_assert(strstr(err, "choose a shorter control_dir"), "%s", err);
	event_base_free(b);
}
