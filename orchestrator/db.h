#pragma once
/*
 * The orchestrator's thin layer over libpq: connecting with the session settings every step
 * relies on, running statements with their outcome classified for retry decisions, and
 * quoting. Only the orchestrator thread uses it.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* How a statement ended, as far as the caller's next move is concerned. */
enum orch_db_status {
	ORCH_DB_OK = 0, /* succeeded */
	ORCH_DB_RETRY,  /* lock timeout, deadlock or serialization failure: try again later */
	ORCH_DB_ERROR,  /* any other SQL error: retrying will not help */
	ORCH_DB_LOST,   /* the connection is gone: reconnect, then recover from the journal */
};

/*
 * Connects to dsn (a conninfo string or URI) and sets the session up: UTC time zone and ISO
 * dates (bounds are printed and parsed in that form), standard_conforming_strings, a search_path
 * of pg_catalog only (every name we write is schema-qualified), a one-second disconnect check,
 * and a short deadlock_timeout when the role may set it, so that on a deadlock with a client it
 * is the orchestrator that gets aborted and retries. Returns NULL with a message in err.
 */
PGconn *orch_db_connect(const char *dsn, char *err, size_t errlen);

/*
 * Runs sql with optional text parameters (params may be NULL when n_params is 0). On
 * ORCH_DB_OK, *res (when res is not NULL) receives the result, which the caller frees with
 * PQclear; in every other case nothing is returned there and err holds the server's message.
 */
__attribute__((warn_unused_result)) enum orch_db_status orch_db_exec(PGconn *c, PGresult **res,
                                                                     char *err, size_t errlen,
                                                                     const char *sql, int n_params,
                                                                     const char *const *params);

/* orch_db_exec without parameters or result. */
__attribute__((warn_unused_result)) enum orch_db_status orch_db_run(PGconn *c, char *err,
                                                                    size_t errlen, const char *sql);

/* Ends a failed transaction; harmless when none is open. */
void orch_db_rollback(PGconn *c);

/* True when the connection is no longer usable. */
bool orch_db_is_lost(PGconn *c);

/*
 * Writes name as a quoted identifier into buf (size n). Returns false when it does not fit or
 * libpq refuses it (invalid encoding).
 */
__attribute__((warn_unused_result)) bool orch_db_ident(PGconn *c, const char *name, char *buf,
                                                       size_t n);

/*
 * Writes s as a quoted literal (PQescapeLiteral) into buf (size n). Returns false when it does
 * not fit or libpq refuses it.
 */
__attribute__((warn_unused_result)) bool orch_db_literal(PGconn *c, const char *s, char *buf,
                                                         size_t n);
