/*
 * The admin console: a Unix-socket listener in the main thread's event base that speaks the
 * server side of the PostgreSQL protocol v3 just far enough for psql, and turns each command into
 * a call of one handler in struct proxy_console_ops. It owns its listening socket, the socket
 * file, and its clients; everything it shows or does goes through the handlers.
 *
 * DESIGN: the protocol is the smallest that psql and libpq accept. Start-up: SSLRequest and
 * GSSENCRequest are answered 'N' (no encryption on a local socket), CancelRequest is refused by
 * closing, and a v3 startup packet gets AuthenticationOk at once: access control is the socket
 * file's mode, 0600, i.e. only foreshard's own user (and root) can connect, as with PgBouncer's
 * admin socket. Then every Query message is split at ';' into commands, each answered with
 * RowDescription/DataRow/CommandComplete or an ErrorResponse (which ends the query, as in
 * PostgreSQL), and one ReadyForQuery. Extended-protocol messages get an error and are skipped up
 * to Sync, so libpq's PQexecParams fails cleanly and the connection stays usable.
 *
 * Input is framed incrementally from the bufferevent's input buffer: a message is handled only
 * once all its bytes have arrived, whatever the reads' boundaries. Lengths and message types are
 * checked before waiting for a body, so a client sending garbage is closed at once with a FATAL
 * error and a log line; nothing a client sends can take the process down. A client that does
 * not read its replies stops being read once CONSOLE_OUT_HIGH bytes wait for it.
 *
 * Commands are a lookup table (console_cmds), as in PgBouncer's admin.c: the keywords, the
 * argument rule, the handler's place in struct proxy_console_ops, the default tag and the help
 * text, which also feeds SHOW HELP and the unknown-command error.
 */
#include "proxy/console.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "common/log.h"

#define CONSOLE_STARTUP_MAX 10000u  /* PostgreSQL's MAX_STARTUP_PACKET_LENGTH */
#define CONSOLE_MSG_MAX (1u << 20)  /* commands are short: anything longer is garbage */
#define CONSOLE_OUT_HIGH (4u << 20) /* replies waiting for a client before we stop reading it */
#define CONSOLE_MAX_CLIENTS 64      /* a few operators at most; beyond that, someone loops */
#define CONSOLE_ERR_MAX 1024        /* longest error message we send */
#define CONSOLE_BACKLOG 16          /* pending connections the kernel queues for us */
#define CONSOLE_CLOSE_WAIT_S 5      /* how long a closing client may take to read its last words */

#define PG_PROTO_MAJOR 3u
#define PG_CANCEL_REQUEST 80877102u
#define PG_SSL_REQUEST 80877103u
#define PG_GSSENC_REQUEST 80877104u
#define PG_TEXT_OID 25u

enum console_cl_state {
	CONSOLE_CL_STARTUP = 0, /* waiting for the startup packet (after SSL/GSS refusals) */
	CONSOLE_CL_READY,       /* serving simple queries */
	CONSOLE_CL_SKIP,        /* an extended-protocol message was refused: ignore until Sync */
	CONSOLE_CL_CLOSING,     /* flushing a last message, then closing; input is ignored */
};

struct console_client {
	struct proxy_console *con;   /* the console that accepted it */
	struct bufferevent *bev;     /* the socket, owned (closes it on free) */
	enum console_cl_state state; /* where it is in the protocol */
	uint32_t id;                 /* C-<id> in logs; also the BackendKeyData process id */
	bool throttled;              /* reading paused until the output drains */
	bool broken;                 /* an allocation failed while answering: close at once */
	struct console_client *prev; /* neighbours in con->clients */
	struct console_client *next;
};

struct proxy_console {
	struct event_base *base;         /* borrowed: the main thread's */
	struct evconnlistener *listener; /* owns the listening socket */
	struct proxy_console_ops ops;    /* the handlers (copy) */
	struct console_client *clients;  /* every open client */
	int n_clients;                   /* length of that list */
	uint32_t next_id;                /* last client id handed out */
	struct evbuffer *scratch;        /* body of the message being framed; empty between */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the socket file */
	dev_t dev; /* identity of the socket file we created, so that */
	ino_t ino; /* stop never removes another process's socket */
};

struct proxy_console_result {
	struct proxy_console *con; /* for its scratch buffer */
	struct evbuffer *msgs;     /* RowDescription then DataRows, framed, owned */
	int ncols;                 /* -1 until the columns are named */
	char tag[64];              /* CommandComplete tag */
	bool oom;                  /* an allocation failed: the client is closed */
	const char *fault;         /* handler misuse (static text), sent as an internal error */
};

enum console_arg {
	CONSOLE_ARG_NONE = 0, /* the command takes no argument */
	CONSOLE_ARG_OPTIONAL, /* an argument may follow ("" when absent) */
	CONSOLE_ARG_REQUIRED, /* an argument must follow */
};

struct console_cmd {
	const char *word1;    /* first keyword */
	const char *word2;    /* second keyword, or NULL */
	enum console_arg arg; /* what may follow the keywords */
	size_t op;            /* offsetof the handler in proxy_console_ops; 0 = SHOW HELP */
	const char *tag;      /* default CommandComplete tag */
	const char *syntax;   /* as shown to users */
	const char *help;     /* one line for SHOW HELP */
};

#define OP(name) offsetof(struct proxy_console_ops, name)

static const struct console_cmd console_cmds[] = {
        {"SHOW", "HELP", CONSOLE_ARG_NONE, 0, "SHOW", "SHOW HELP", "this list"},
        {"SHOW", "STATS", CONSOLE_ARG_NONE, OP(show_stats), "SHOW", "SHOW STATS",
         "counters of the proxy, profiler, forecaster, planner and orchestrator"},
        {"SHOW", "CLIENTS", CONSOLE_ARG_NONE, OP(show_clients), "SHOW", "SHOW CLIENTS",
         "client connections"},
        {"SHOW", "TABLES", CONSOLE_ARG_NONE, OP(show_tables), "SHOW", "SHOW TABLES",
         "managed tables and their partitions"},
        {"SHOW", "PROFILE", CONSOLE_ARG_REQUIRED, OP(show_profile), "SHOW", "SHOW PROFILE <table>",
         "observed load per key bucket of a table"},
        {"SHOW", "FORECAST", CONSOLE_ARG_REQUIRED, OP(show_forecast), "SHOW",
         "SHOW FORECAST <table>", "forecast hot key ranges of a table over the horizon"},
        {"SHOW", "PLANS", CONSOLE_ARG_NONE, OP(show_plans), "SHOW", "SHOW PLANS",
         "planned changes and their state"},
        {"SHOW", "JOURNAL", CONSOLE_ARG_NONE, OP(show_journal), "SHOW", "SHOW JOURNAL",
         "the orchestrator's journal, newest first"},
        {"PAUSE", NULL, CONSOLE_ARG_OPTIONAL, OP(pause), "PAUSE", "PAUSE [<table>]",
         "hold new statements on a table (or on all tables)"},
        {"RESUME", NULL, CONSOLE_ARG_OPTIONAL, OP(resume), "RESUME", "RESUME [<table>]",
         "release held statements"},
        {"APPLY", NULL, CONSOLE_ARG_REQUIRED, OP(apply), "APPLY", "APPLY <plan id>",
         "apply a proposed plan (advise mode)"},
        {"SET", "MODE", CONSOLE_ARG_REQUIRED, OP(set_mode), "SET", "SET MODE <mode>",
         "observe, advise or auto"},
        {"SHUTDOWN", NULL, CONSOLE_ARG_NONE, OP(shutdown), "SHUTDOWN", "SHUTDOWN",
         "stop foreshard"},
};

#define N_CMDS (sizeof(console_cmds) / sizeof(console_cmds[0]))

/* ---- message building ------------------------------------------------------------------ */

static bool put_u8(struct evbuffer *b, uint8_t v)
{
	return evbuffer_add(b, &v, 1) == 0;
}

static bool put_u16(struct evbuffer *b, uint16_t v)
{
	v = htons(v);
	return evbuffer_add(b, &v, 2) == 0;
}

static bool put_u32(struct evbuffer *b, uint32_t v)
{
	v = htonl(v);
	return evbuffer_add(b, &v, 4) == 0;
}

static bool put_str(struct evbuffer *b, const char *s)
{
	return evbuffer_add(b, s, strlen(s) + 1) == 0;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Moves the scratch body into out as one message of the given type. body_ok false (a put into
 * the body failed) sends nothing. The scratch buffer is empty afterwards in every case. Returns
 * false when nothing or not all was sent.
 */
static bool frame(struct proxy_console *con, struct evbuffer *out, char type, bool body_ok)
{
	struct evbuffer *body = con->scratch;
	size_t n = evbuffer_get_length(body);
	unsigned char hdr[5];
	bool ok = false;

	if (body_ok) {
		hdr[0] = (unsigned char)type;
		hdr[1] = (unsigned char)((n + 4) >> 24);
		hdr[2] = (unsigned char)((n + 4) >> 16);
		hdr[3] = (unsigned char)((n + 4) >> 8);
		hdr[4] = (unsigned char)(n + 4);
		ok = evbuffer_add(out, hdr, 5) == 0 && evbuffer_add_buffer(out, body) == 0;
	}
	evbuffer_drain(body, evbuffer_get_length(body));
	return ok;
}

/* Frames the scratch body to the client; a failure marks it broken. */
static void client_send(struct console_client *cl, char type, bool body_ok)
{
	if (!frame(cl->con, bufferevent_get_output(cl->bev), type, body_ok))
		cl->broken = true;
}

/* Sends an ErrorResponse of the given severity ("ERROR" or "FATAL") and SQLSTATE. */
static void send_error_msg(struct console_client *cl, const char *severity, const char *code,
                           const char *msg)
{
	struct evbuffer *s = cl->con->scratch;

	client_send(cl, 'E',
	            put_u8(s, 'S') && put_str(s, severity) && put_u8(s, 'V') &&
	                    put_str(s, severity) && put_u8(s, 'C') && put_str(s, code) &&
	                    put_u8(s, 'M') && put_str(s, msg) && put_u8(s, 0));
}

/* Sends an ERROR; the connection goes on. */
static void send_error(struct console_client *cl, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void send_error(struct console_client *cl, const char *code, const char *fmt, ...)
{
	char msg[CONSOLE_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_error_msg(cl, "ERROR", code, msg);
}

static void send_ready(struct console_client *cl)
{
	client_send(cl, 'Z', put_u8(cl->con->scratch, 'I'));
}

/*
 * Ends the client for a protocol fault: logs why, sends a FATAL error with that reason when
 * code is not NULL, and closes once it is flushed.
 */
static void client_fail(struct console_client *cl, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void client_fail(struct console_client *cl, const char *code, const char *fmt, ...)
{
	char reason[CONSOLE_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	fs_log(FS_LOG_WARN, "console C-%u: closing: %s", cl->id, reason);
	if (code)
		send_error_msg(cl, "FATAL", code, reason);
	cl->state = CONSOLE_CL_CLOSING;
}

/* ---- results ----------------------------------------------------------------------------- */

void proxy_console_result_columns(struct proxy_console_result *r, int n, const char *const *names)
{
	struct evbuffer *s = r->con->scratch;
	bool ok;

	if (r->oom || r->fault)
		return;
	if (r->ncols >= 0 || n < 1 || n > 1600) {
		r->fault =
		        r->ncols >= 0 ? "named its columns twice" : "named no or too many columns";
		return;
	}
	ok = put_u16(s, (uint16_t)n);
	for (int i = 0; ok && i < n; i++) {
		ok = put_str(s, names[i]) && put_u32(s, 0) /* no table */ && put_u16(s, 0) &&
		     put_u32(s, PG_TEXT_OID) && put_u16(s, 0xffff) /* typlen -1: varlena */ &&
		     put_u32(s, 0xffffffff) /* no typmod */ && put_u16(s, 0) /* text format */;
	}
	r->oom = !frame(r->con, r->msgs, 'T', ok);
	r->ncols = n;
}

void proxy_console_result_row(struct proxy_console_result *r, const char *const *values)
{
	struct evbuffer *s = r->con->scratch;
	bool ok;

	if (r->oom || r->fault)
		return;
	if (r->ncols < 0) {
		r->fault = "sent a row before naming its columns";
		return;
	}
	ok = put_u16(s, (uint16_t)r->ncols);
	for (int i = 0; ok && i < r->ncols; i++) {
		if (!values[i]) {
			ok = put_u32(s, 0xffffffff); /* length -1: NULL */
			continue;
		}
		size_t len = strlen(values[i]);

		ok = put_u32(s, (uint32_t)len) && evbuffer_add(s, values[i], len) == 0;
	}
	r->oom = !frame(r->con, r->msgs, 'D', ok);
}

void proxy_console_result_tag(struct proxy_console_result *r, const char *tag)
{
	snprintf(r->tag, sizeof(r->tag), "%s", tag);
}

/* ---- commands ---------------------------------------------------------------------------- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static const char *skip_blank(const char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

static size_t word_len(const char *s)
{
	size_t n = 0;

	while (s[n] && !is_blank(s[n]))
		n++;
	return n;
}

static bool word_is(const char *s, size_t len, const char *kw)
{
	return strlen(kw) == len && strncasecmp(s, kw, len) == 0;
}

/* Finds the command text names, and where its argument starts. NULL when there is none. */
static const struct console_cmd *cmd_find(const char *text, const char **arg)
{
	size_t l1 = word_len(text);
	const char *w2 = skip_blank(text + l1);
	size_t l2 = word_len(w2);

	for (size_t i = 0; i < N_CMDS; i++) {
		const struct console_cmd *cmd = &console_cmds[i];

		if (!word_is(text, l1, cmd->word1))
			continue;
		if (!cmd->word2) {
			*arg = w2;
			return cmd;
		}
		if (word_is(w2, l2, cmd->word2)) {
			*arg = skip_blank(w2 + l2);
			return cmd;
		}
	}
	return NULL;
}

static void send_unknown(struct console_client *cl, const char *text)
{
	char list[CONSOLE_ERR_MAX / 2];
	size_t n = 0, shown = strcspn(text, "\n");

	for (size_t i = 0; i < N_CMDS && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
		                      console_cmds[i].syntax);
	send_error(cl, "42601", "unknown command \"%.*s%s\"; the console knows: %s",
	           (int)(shown > 60 ? 60 : shown), text, shown > 60 ? "..." : "", list);
}

static void fill_help(struct proxy_console_result *r)
{
	static const char *const cols[] = {"command", "description"};

	proxy_console_result_columns(r, 2, cols);
	for (size_t i = 0; i < N_CMDS; i++) {
		const char *row[] = {console_cmds[i].syntax, console_cmds[i].help};

		proxy_console_result_row(r, row);
	}
}

/*
 * Runs one command (text trimmed, not empty) and queues its answer. Returns false when it
 * answered with an error, which ends the query.
 */
static bool run_command(struct console_client *cl, const char *text)
{
	struct proxy_console *con = cl->con;
	const struct console_cmd *cmd;
	struct proxy_console_result r = {.con = con, .ncols = -1};
	proxy_console_fn fn = NULL;
	const char *arg = "";
	char err[CONSOLE_ERR_MAX / 2] = "";
	bool ok = true;

	cmd = cmd_find(text, &arg);
	if (!cmd) {
		send_unknown(cl, text);
		return false;
	}
	if (cmd->arg == CONSOLE_ARG_NONE && *arg) {
		send_error(cl, "42601", "%s takes no argument", cmd->syntax);
		return false;
	}
	if (cmd->arg == CONSOLE_ARG_REQUIRED && !*arg) {
		send_error(cl, "42601", "missing argument: %s", cmd->syntax);
		return false;
	}
	if (cmd->op) {
		memcpy(&fn, (const char *)&con->ops + cmd->op, sizeof(fn));
		if (!fn) {
			send_error(cl, "0A000", "%s is not available in this build", cmd->syntax);
			return false;
		}
	}
	r.msgs = evbuffer_new();
	if (!r.msgs) {
		cl->broken = true;
		return false;
	}
	snprintf(r.tag, sizeof(r.tag), "%s", cmd->tag);
	if (fn)
		ok = fn(con->ops.ctx, arg, &r, err, sizeof(err));
	else
		fill_help(&r);

	if (r.oom) {
		cl->broken = true;
		ok = false;
	} else if (!ok) {
		send_error(cl, "55000", "%s", err[0] ? err : "the command failed");
	} else if (r.fault) {
		fs_log(FS_LOG_ERROR, "console: the %s handler %s", cmd->syntax, r.fault);
		send_error(cl, "XX000", "internal error: the %s handler %s", cmd->syntax, r.fault);
		ok = false;
	} else {
		if (evbuffer_add_buffer(bufferevent_get_output(cl->bev), r.msgs) != 0)
			cl->broken = true;
		client_send(cl, 'C', put_str(con->scratch, r.tag));
	}
	evbuffer_free(r.msgs);
	return ok;
}

/* Runs a Query message's text: each ';'-separated command in turn, up to the first error. */
static void run_query(struct console_client *cl, const char *sql)
{
	char *copy = strdup(sql), *cmd, *save = NULL;
	bool any = false;

	if (!copy) {
		cl->broken = true;
		return;
	}
	for (cmd = strtok_r(copy, ";", &save); cmd; cmd = strtok_r(NULL, ";", &save)) {
		char *end;

		cmd = (char *)skip_blank(cmd);
		end = cmd + strlen(cmd);
		while (end > cmd && is_blank(end[-1]))
			*--end = '\0';
		if (!*cmd)
			continue;
		any = true;
		fs_log(FS_LOG_DEBUG, "console C-%u: %s", cl->id, cmd);
		if (!run_command(cl, cmd) || cl->broken)
			break;
	}
	if (!any)
		client_send(cl, 'I', true); /* EmptyQueryResponse */
	send_ready(cl);
	free(copy);
}

/* ---- start-up ---------------------------------------------------------------------------- */

/* Answers a v3 startup packet: body is the whole packet (length word included), len bytes. */
static void handle_startup(struct console_client *cl, const unsigned char *body, uint32_t len)
{
	static const char *const params[][2] = {
	        {"server_version", "15.0 (foreshard)"},
	        {"server_encoding", "UTF8"},
	        {"client_encoding", "UTF8"},
	        {"DateStyle", "ISO"},
	        {"integer_datetimes", "on"},
	        {"standard_conforming_strings", "on"},
	};
	struct evbuffer *s = cl->con->scratch;
	const char *p = (const char *)body + 8, *end = (const char *)body + len;
	const char *user = "", *database = "";
	uint32_t minor = get_u32(body + 4) & 0xffff, n_unknown = 0, key = 0;
	bool ok;

	/*
	 * name\0value\0 ... \0, checked as PostgreSQL does: the list's terminator is the last
	 * byte. Once end[-1] is known to be NUL, every strlen below stops inside the packet.
	 */
	bool bad = len < 9 || end[-1] != '\0';

	while (!bad && p < end && *p) {
		const char *name = p, *value = name + strlen(name) + 1;

		bad = value >= end;
		if (bad)
			break;
		p = value + strlen(value) + 1;
		if (strcmp(name, "user") == 0)
			user = value;
		else if (strcmp(name, "database") == 0)
			database = value;
		else if (strncmp(name, "_pq_.", 5) == 0)
			n_unknown++;
	}
	if (bad || p != end - 1) {
		client_fail(cl, "08P01",
		            "invalid startup packet layout: expected terminator as "
		            "last byte");
		return;
	}
	if (minor > 0 || n_unknown > 0) {
		/* NegotiateProtocolVersion: we speak 3.0 and no protocol extensions. */
		ok = put_u32(s, 0) && put_u32(s, n_unknown);
		for (p = (const char *)body + 8; ok && *p;) {
			const char *name = p, *value = name + strlen(name) + 1;

			if (strncmp(name, "_pq_.", 5) == 0)
				ok = put_str(s, name);
			p = value + strlen(value) + 1;
		}
		client_send(cl, 'v', ok);
	}
	client_send(cl, 'R', put_u32(s, 0)); /* AuthenticationOk */
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		client_send(cl, 'S', put_str(s, params[i][0]) && put_str(s, params[i][1]));
	/* Cancel requests are refused, so the key only has to look like one. */
	evutil_secure_rng_get_bytes(&key, sizeof(key));
	client_send(cl, 'K', put_u32(s, cl->id) && put_u32(s, key));
	send_ready(cl);
	cl->state = CONSOLE_CL_READY;
	fs_log(FS_LOG_DEBUG, "console C-%u: connected, user=%s database=%s", cl->id, user,
	       database);
}

/*
 * Handles the packet at the head of in during start-up. Returns false when it has not fully
 * arrived (or the client was failed).
 */
static bool step_startup(struct console_client *cl, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	unsigned char hdr[4];
	const unsigned char *pkt;
	uint32_t len, code;

	if (avail < 4)
		return false;
	evbuffer_copyout(in, hdr, 4);
	len = get_u32(hdr);
	if (len < 8 || len > CONSOLE_STARTUP_MAX) {
		client_fail(cl, NULL, "invalid startup packet length %u", len);
		return false;
	}
	if (avail < len)
		return false;
	pkt = evbuffer_pullup(in, len);
	if (!pkt) {
		cl->broken = true;
		return false;
	}
	code = get_u32(pkt + 4);
	if (code == PG_SSL_REQUEST || code == PG_GSSENC_REQUEST) {
		if (len != 8) {
			client_fail(cl, NULL, "invalid length %u of an encryption request", len);
			return false;
		}
		if (evbuffer_add(bufferevent_get_output(cl->bev), "N", 1) != 0)
			cl->broken = true;
	} else if (code == PG_CANCEL_REQUEST) {
		fs_log(FS_LOG_DEBUG, "console C-%u: cancel requests are not supported: closing",
		       cl->id);
		cl->state = CONSOLE_CL_CLOSING;
	} else if (code >> 16 != PG_PROTO_MAJOR) {
		client_fail(cl, "0A000",
		            "unsupported frontend protocol %u.%u: the console speaks 3.0",
		            code >> 16, code & 0xffff);
	} else {
		handle_startup(cl, pkt, len);
	}
	evbuffer_drain(in, len);
	return cl->state != CONSOLE_CL_CLOSING;
}

/* ---- messages after start-up ------------------------------------------------------------- */

/* Frontend message types the console knows after start-up. */
static bool known_type(unsigned char t)
{
	return t && strchr("QXPBDECHSFdcf", t) != NULL;
}

/* Handles the whole message msg (type byte first, len bytes after it). */
static void handle_message(struct console_client *cl, const unsigned char *msg, uint32_t len)
{
	unsigned char type = msg[0];
	const char *body = (const char *)msg + 5;
	uint32_t blen = len - 4;

	if (type == 'X') {
		fs_log(FS_LOG_DEBUG, "console C-%u: terminated", cl->id);
		cl->state = CONSOLE_CL_CLOSING;
		return;
	}
	if (type == 'S') { /* Sync ends an extended-protocol batch, refused or not */
		cl->state = CONSOLE_CL_READY;
		send_ready(cl);
		return;
	}
	if (cl->state == CONSOLE_CL_SKIP)
		return;
	switch (type) {
	case 'Q':
		if (blen == 0 || memchr(body, '\0', blen) != body + blen - 1) {
			client_fail(cl, "08P01",
			            "invalid Query message: the text must end with "
			            "its only NUL byte");
			return;
		}
		run_query(cl, body);
		return;
	case 'F': /* FunctionCall: a self-contained cycle like Query */
		send_error(cl, "0A000", "the console accepts simple queries only");
		send_ready(cl);
		return;
	case 'H': /* Flush: nothing is pending */
	case 'd': /* CopyData, CopyDone, CopyFail outside COPY: ignored, as PostgreSQL does */
	case 'c':
	case 'f':
		return;
	default: /* Parse, Bind, Describe, Execute, Close */
		send_error(cl, "0A000", "the console accepts simple queries only");
		cl->state = CONSOLE_CL_SKIP;
		return;
	}
}

/*
 * Handles the message at the head of in. Returns false when it has not fully arrived (or the
 * client was failed).
 */
static bool step_message(struct console_client *cl, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	unsigned char hdr[5];
	const unsigned char *msg;
	uint32_t len;

	if (avail < 5)
		return false;
	evbuffer_copyout(in, hdr, 5);
	len = get_u32(hdr + 1);
	if (!known_type(hdr[0])) {
		client_fail(cl, "08P01", "invalid frontend message type %u", hdr[0]);
		return false;
	}
	if (len < 4 || len > CONSOLE_MSG_MAX) {
		client_fail(cl, "08P01", "invalid length %u of message type '%c'", len, hdr[0]);
		return false;
	}
	if (avail < (size_t)len + 1)
		return false;
	msg = evbuffer_pullup(in, (ev_ssize_t)len + 1);
	if (!msg) {
		cl->broken = true;
		return false;
	}
	handle_message(cl, msg, len);
	evbuffer_drain(in, (size_t)len + 1);
	return cl->state != CONSOLE_CL_CLOSING;
}

/* ---- client lifecycle -------------------------------------------------------------------- */

static void client_free(struct console_client *cl)
{
	struct proxy_console *con = cl->con;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		con->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	con->n_clients--;
	bufferevent_free(cl->bev);
	free(cl);
}

/*
 * After handling input: frees a broken client, and a closing one whose output has gone out
 * (else the write callback frees it once it has). cl may be freed on return.
 */
static void client_settle(struct console_client *cl)
{
	if (cl->broken) {
		fs_log(FS_LOG_WARN, "console C-%u: out of memory: closing", cl->id);
		client_free(cl);
		return;
	}
	if (cl->state != CONSOLE_CL_CLOSING)
		return;
	bufferevent_disable(cl->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) == 0) {
		client_free(cl);
		return;
	}
	/* A peer that never reads its FATAL must not keep the slot: the event callback frees. */
	bufferevent_set_timeouts(cl->bev, NULL, &(struct timeval){CONSOLE_CLOSE_WAIT_S, 0});
}

/* Handles every complete message in the input. cl may be freed on return. */
static void client_process(struct console_client *cl)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	while (cl->state != CONSOLE_CL_CLOSING && !cl->broken) {
		if (evbuffer_get_length(out) > CONSOLE_OUT_HIGH) {
			bufferevent_disable(cl->bev, EV_READ);
			cl->throttled = true;
			break;
		}
		if (cl->state == CONSOLE_CL_STARTUP ? !step_startup(cl, in) : !step_message(cl, in))
			break;
	}
	client_settle(cl);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	client_process(arg);
}

/* The output has drained: finish closing, or resume reading a throttled client. */
static void client_write_cb(struct bufferevent *bev, void *arg)
{
	struct console_client *cl = arg;

	if (cl->state == CONSOLE_CL_CLOSING) {
		client_free(cl);
		return;
	}
	if (cl->throttled) {
		cl->throttled = false;
		bufferevent_enable(cl->bev, EV_READ);
		client_process(cl); /* input that arrived before the pause has no new event */
	}
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct console_client *cl = arg;

	if (what & BEV_EVENT_TIMEOUT)
		fs_log(FS_LOG_DEBUG, "console C-%u: did not read its last message", cl->id);
	else if (what & BEV_EVENT_ERROR)
		fs_log(FS_LOG_DEBUG, "console C-%u: socket error: %s", cl->id,
		       evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else
		fs_log(FS_LOG_DEBUG, "console C-%u: disconnected", cl->id);
	client_free(cl);
}

static void console_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                              int socklen, void *arg)
{
	struct proxy_console *con = arg;
	struct console_client *cl = calloc(1, sizeof(*cl));

	if (!cl) {
		fs_log(FS_LOG_WARN, "console: out of memory: refusing a client");
		evutil_closesocket(fd);
		return;
	}
	cl->con = con;
	cl->bev = bufferevent_socket_new(con->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!cl->bev) {
		fs_log(FS_LOG_WARN, "console: out of memory: refusing a client");
		evutil_closesocket(fd);
		free(cl);
		return;
	}
	cl->id = ++con->next_id;
	cl->next = con->clients;
	if (cl->next)
		cl->next->prev = cl;
	con->clients = cl;
	con->n_clients++;
	bufferevent_setcb(cl->bev, client_read_cb, client_write_cb, client_event_cb, cl);
	if (con->n_clients > CONSOLE_MAX_CLIENTS) {
		client_fail(cl, "53300", "too many console connections (%d)", CONSOLE_MAX_CLIENTS);
		client_settle(cl);
		return;
	}
	bufferevent_enable(cl->bev, EV_READ);
	fs_log(FS_LOG_DEBUG, "console C-%u: accepted", cl->id);
}

static void console_accept_error_cb(struct evconnlistener *l, void *arg)
{
	fs_log(FS_LOG_WARN, "console: accept failed: %s",
	       evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* ---- the socket -------------------------------------------------------------------------- */

/*
 * Makes way for our socket at path: nothing there is fine, a stale socket (nobody accepts on
 * it) is removed, anything else is an error for the operator.
 */
static bool clear_stale_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, rc, e;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return true;
		snprintf(err, errlen, "console socket %s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
		         "console socket %s: the path exists and is not a socket; remove it or "
		         "choose another control_dir or control_port",
		         path);
		return false;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "console socket %s: socket: %s", path, strerror(errno));
		return false;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN) {
		snprintf(err, errlen,
		         "console socket %s: another process is listening on it (another foreshard "
		         "with the same control_dir and control_port?)",
		         path);
		return false;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "console socket %s: cannot tell whether it is in use: %s",
		         path, strerror(e));
		return false;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "console socket %s: cannot remove the stale socket: %s", path,
		         strerror(errno));
		return false;
	}
	fs_log(FS_LOG_INFO, "console: removed stale socket %s", path);
	return true;
}

/* Creates, protects and starts listening on the socket file. Returns the fd, or -1 with err. */
static int console_listen(struct proxy_console *con, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	memcpy(sa.sun_path, con->path, strlen(con->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "console socket %s: socket: %s", con->path, strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "console socket %s: bind: %s%s", con->path, strerror(errno),
		         errno == ENOENT ? " (does control_dir exist?)" : "");
		close(fd);
		return -1;
	}
	/* Before listen(): nobody can connect while the file still has the umask's mode. */
	if (chmod(con->path, 0600) != 0 || lstat(con->path, &st) != 0 ||
	    listen(fd, CONSOLE_BACKLOG) != 0) {
		snprintf(err, errlen, "console socket %s: %s", con->path, strerror(errno));
		unlink(con->path);
		close(fd);
		return -1;
	}
	con->dev = st.st_dev;
	con->ino = st.st_ino;
	return fd;
}

struct proxy_console *proxy_console_start(struct event_base *base, const char *dir, uint16_t port,
                                          const struct proxy_console_ops *ops, char *err,
                                          size_t errlen)
{
	struct proxy_console *con = calloc(1, sizeof(*con));
	int fd, n;

	if (!con) {
		snprintf(err, errlen, "console: out of memory");
		return NULL;
	}
	con->base = base;
	con->ops = *ops;
	n = snprintf(con->path, sizeof(con->path), "%s/.s.PGSQL.%u", dir, (unsigned)port);
	if (n < 0 || (size_t)n >= sizeof(con->path)) {
		snprintf(
		        err, errlen,
		        "console socket %s/.s.PGSQL.%u: longer than the %zu bytes a Unix socket path "
		        "may have; choose a shorter control_dir",
		        dir, (unsigned)port, sizeof(con->path) - 1);
		free(con);
		return NULL;
	}
	if (!clear_stale_socket(con->path, err, errlen)) {
		free(con);
		return NULL;
	}
	fd = console_listen(con, err, errlen);
	if (fd < 0) {
		free(con);
		return NULL;
	}
	con->scratch = evbuffer_new();
	con->listener =
	        evconnlistener_new(base, console_accept_cb, con, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (!con->scratch || !con->listener) {
		snprintf(err, errlen, "console socket %s: out of memory", con->path);
		if (con->listener)
			evconnlistener_free(con->listener);
		else
			close(fd);
		if (con->scratch)
			evbuffer_free(con->scratch);
		unlink(con->path);
		free(con);
		return NULL;
	}
	evconnlistener_set_error_cb(con->listener, console_accept_error_cb);
	fs_log(FS_LOG_INFO, "console: listening on %s (psql -h %s -p %u foreshard)", con->path, dir,
	       (unsigned)port);
	return con;
}

void proxy_console_stop(struct proxy_console *con)
{
	struct stat st;

	if (!con)
		return;
	while (con->clients) {
		struct console_client *cl = con->clients;

		struct evbuffer *out = bufferevent_get_output(cl->bev);

		/*
		 * One non-blocking try, so that the answer to SHUTDOWN reaches psql. A socket
		 * bufferevent freezes the front of its output against outside draining; it is
		 * freed right after, so lifting that is safe.
		 */
		evbuffer_unfreeze(out, 1);
		evbuffer_write(out, bufferevent_getfd(cl->bev));
		client_free(cl);
	}
	evconnlistener_free(con->listener);
	if (lstat(con->path, &st) == 0 && st.st_dev == con->dev && st.st_ino == con->ino)
		unlink(con->path);
	evbuffer_free(con->scratch);
	fs_log(FS_LOG_INFO, "console: stopped");
	free(con);
}

const char *proxy_console_path(const struct proxy_console *con)
{
	return con->path;
}
