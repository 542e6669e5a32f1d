#pragma once
/*
 * The admin console: a Unix socket, <control_dir>/.s.PGSQL.<control_port>, that speaks just
 * enough of the server side of the PostgreSQL protocol v3 for psql:
 *
 *   psql -h /tmp -p 7433 foreshard -c 'SHOW STATS'
 *
 * It runs in one event base (the main thread's) and learns everything through the callbacks in
 * struct proxy_console_ops, so that it never reads another thread's state: the callbacks read
 * published snapshots and send commands through mailboxes.
 *
 * Commands (case-insensitive; ';' separates commands; blanks and empty commands are ignored):
 *   SHOW HELP | STATS | CLIENTS | TABLES | PLANS | JOURNAL
 *   SHOW PROFILE <table> | SHOW FORECAST <table>
 *   PAUSE [<table>] | RESUME [<table>] | APPLY <plan id> | SET MODE <mode> | SHUTDOWN
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/*
 * A command's result under construction: a column list, then rows of text values, then the
 * command tag. Handed to a handler by the console, which sends it when the handler returns
 * true. All values are sent as text (type oid 25). Allocation failures are remembered and
 * close the client instead of sending a partial result.
 */
struct proxy_console_result;

/*
 * Names the n columns of the result (copied). Call at most once, before any row; a command
 * that only acts (PAUSE) may send no columns at all, and then only its tag is shown.
 */
void proxy_console_result_columns(struct proxy_console_result *r, int n, const char *const *names);

/* Appends one row of as many values as there are columns (copied); a NULL value is SQL NULL. */
void proxy_console_result_row(struct proxy_console_result *r, const char *const *values);

/*
 * Sets the command tag psql shows when there are no rows (copied, at most 63 bytes kept). The
 * default is the command's usual tag: "SHOW" for SHOW commands, else the command's first word.
 */
void proxy_console_result_tag(struct proxy_console_result *r, const char *tag);

/*
 * One console command. arg is the rest of the command after its keywords, blanks trimmed, ""
 * when there is none; the console has already checked that commands taking no argument got
 * none and commands needing one got one. The handler fills r and returns true, or returns
 * false with a message for the user in err (errlen bytes, NUL-terminated), which is sent as an
 * ErrorResponse with SQLSTATE 55000 (the command is well formed but cannot be done). Runs in
 * the console's thread; it must not block for long, since the event base is shared.
 */
typedef bool (*proxy_console_fn)(void *ctx, const char *arg, struct proxy_console_result *r,
                                 char *err, size_t errlen);

/*
 * Where the commands' data and actions come from. A NULL handler makes its command answer
 * "not available" (SQLSTATE 0A000), so that commands can be wired one at a time.
 */
struct proxy_console_ops {
	void *ctx;                      /* passed to every handler */
	proxy_console_fn show_stats;    /* SHOW STATS: counters of the proxy and the pipeline */
	proxy_console_fn show_clients;  /* SHOW CLIENTS: client connections */
	proxy_console_fn show_tables;   /* SHOW TABLES: managed tables and their partitions */
	proxy_console_fn show_profile;  /* SHOW PROFILE <table>: observed load per key bucket */
	proxy_console_fn show_forecast; /* SHOW FORECAST <table>: forecast hot spots */
	proxy_console_fn show_plans;    /* SHOW PLANS: planned actions and their state */
	proxy_console_fn show_journal;  /* SHOW JOURNAL: the orchestrator's journal, newest first */
	proxy_console_fn pause;         /* PAUSE [<table>]: hold statements ("" = every table) */
	proxy_console_fn resume;        /* RESUME [<table>]: release them ("" = every table) */
	proxy_console_fn apply;         /* APPLY <plan id>: apply a proposed plan */
	proxy_console_fn set_mode;      /* SET MODE <mode>: observe, advise or auto */
	proxy_console_fn shutdown;      /* SHUTDOWN: stop foreshard */
};

struct proxy_console;

/*
 * Creates the socket <dir>/.s.PGSQL.<port> with mode 0600 and starts accepting clients in base.
 * A stale socket file left by a dead process is replaced; a socket another process listens on,
 * or a file that is not a socket, makes the call fail. ops is copied; ops->ctx is borrowed and
 * must outlive the console. Returns NULL with a message saying what to fix in err. Call from
 * the thread that runs base (or before it runs).
 */
__attribute__((warn_unused_result)) struct proxy_console *
proxy_console_start(struct event_base *base, const char *dir, uint16_t port,
                    const struct proxy_console_ops *ops, char *err, size_t errlen);

/*
 * Closes every client (after a last attempt to send what is queued for it, so that SHUTDOWN is
 * answered), closes the socket, removes the socket file if it is still the one this console
 * created, and frees c. NULL is ignored. Same thread as proxy_console_start, when base is not
 * running or from a callback of base; never from one of this console's own handlers (a SHUTDOWN
 * handler should make the loop exit and let its caller stop the console).
 */
void proxy_console_stop(struct proxy_console *c);

/* The socket's path, e.g. "/tmp/.s.PGSQL.7433" (owned by c). */
const char *proxy_console_path(const struct proxy_console *c);
