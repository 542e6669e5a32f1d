/*
 * libpq helpers for the orchestrator thread (see db.h): connection set-up, statement execution
 * with a retry classification by SQLSTATE, and quoting.
 */
#include "orchestrator/db.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Server notices ("relation does not exist, skipping") are expected; keep them at debug. */
static void notice_to_log(void *arg, const char *message)
{
	size_t len = strlen(message);

	(void)arg;
	while (len > 0 && message[len - 1] == '\n')
		len--;
	/* ATTACH PARTITION reports a validation scan at DEBUG1: its CHECK did not prove the bound */
	if (strstr(message, "verifying table")) {
		fs_log(FS_LOG_WARN, "orchestrator: ATTACH scanned a table (%.*s)", (int)len,
		       message);
		return;
	}
	fs_log(FS_LOG_DEBUG, "orchestrator: server notice: %.*s", (int)len, message);
}

PGconn *orch_db_connect(const char *dsn, char *err, size_t errlen)
{
	/* earlier keywords are defaults: the expanded dsn overrides them */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const vals[] = {"10", "foreshard-orchestrator", dsn, NULL};
	static const char setup[] =
	        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';"
	        "SET standard_conforming_strings = on; SET search_path = pg_catalog, pg_temp;"
	        "SET client_connection_check_interval = '1s'; SET statement_timeout = 0;"
	        "SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0;"
	        "SET client_min_messages = warning";
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	char ignored[256];

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, notice_to_log, NULL);
	if (orch_db_run(c, err, errlen, setup) != ORCH_DB_OK) {
		PQfinish(c);
		return NULL;
	}
	/* superuser-only: without it a deadlock may abort the client instead of us */
	if (orch_db_run(c, ignored, sizeof(ignored), "SET deadlock_timeout = '50ms'") != ORCH_DB_OK)
		fs_log(FS_LOG_INFO, "orchestrator: cannot lower deadlock_timeout: %s", ignored);
	return c;
}

/* Copies libpq's message without the trailing newline. */
static void copy_error(char *err, size_t errlen, const char *msg)
{
	size_t len = strlen(msg);

	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	snprintf(err, errlen, "%.*s", (int)len, msg);
}

static enum orch_db_status classify(const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (!state)
		return ORCH_DB_ERROR;
	/* 55P03 lock_not_available, 40P01 deadlock_detected, 40001 serialization_failure */
	if (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "40001") == 0)
		return ORCH_DB_RETRY;
	/* class 08 connection exceptions, 57P01..57P03 shutdown and crash */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return ORCH_DB_LOST;
	return ORCH_DB_ERROR;
}

enum orch_db_status orch_db_exec(PGconn *c, PGresult **res, char *err, size_t errlen,
                                 const char *sql, int n_params, const char *const *params)
{
	PGresult *r;
	enum orch_db_status st;
	const char *primary, *detail;

	if (res)
		*res = NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "connection lost");
		return ORCH_DB_LOST;
	}
	if (n_params > 0)
		r = PQexecParams(c, sql, n_params, NULL, params, NULL, NULL, 0);
	else
		r = PQexec(c, sql);
	if (r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return ORCH_DB_OK;
	}
	st = PQstatus(c) != CONNECTION_OK ? ORCH_DB_LOST : classify(r);
	primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (primary)
		snprintf(err, errlen, "%s%s%s", primary, detail ? ": " : "", detail ? detail : "");
	else
		copy_error(err, errlen, PQerrorMessage(c));
	PQclear(r);
	return st;
}

enum orch_db_status orch_db_run(PGconn *c, char *err, size_t errlen, const char *sql)
{
	return orch_db_exec(c, NULL, err, errlen, sql, 0, NULL);
}

void orch_db_rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

bool orch_db_is_lost(PGconn *c)
{
	return !c || PQstatus(c) != CONNECTION_OK;
}

bool orch_db_ident(PGconn *c, const char *name, char *buf, size_t n)
{
	char *q = PQescapeIdentifier(c, name, strlen(name));
	bool ok = q && strlen(q) < n;

	if (ok)
		memcpy(buf, q, strlen(q) + 1);
	PQfreemem(q);
	return ok;
}

bool orch_db_literal(PGconn *c, const char *s, char *buf, size_t n)
{
	char *q = PQescapeLiteral(c, s, strlen(s));
	bool ok = q && strlen(q) < n;

	if (ok)
		memcpy(buf, q, strlen(q) + 1);
	PQfreemem(q);
	return ok;
}
