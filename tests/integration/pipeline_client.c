/*
 * A libpq client for the relay tests: runs a pipeline with an error in the middle and prepared
 * statements, and checks every result, so the same program can be pointed at PostgreSQL and at
 * foreshard. Usage: pipeline_client CONNINFO. Exits 0 when every check passed; prints what
 * differed otherwise.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect(PGconn *c, ExecStatusType want, const char *what)
{
	PGresult *r = PQgetResult(c);
	ExecStatusType got = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (!r || got != want) {
		fprintf(stderr, "%s: expected %s, got %s %s\n", what, PQresStatus(want),
		        r ? PQresStatus(got) : "no result", r ? PQresultErrorMessage(r) : "");
		failures++;
	}
	PQclear(r);
	if (want != PGRES_PIPELINE_SYNC && PQgetResult(c) != NULL) {
		fprintf(stderr, "%s: expected the end of the results\n", what);
		failures++;
	}
}

static void pipeline_with_error(PGconn *c)
{
	const char *one[] = {"1"};

	if (!PQenterPipelineMode(c)) {
		fprintf(stderr, "cannot enter pipeline mode\n");
		exit(1);
	}
	PQsendQueryParams(c, "INSERT INTO relay_t VALUES ($1::int, 'a')", 1, NULL, one, NULL, NULL,
	                  0);
	PQsendQueryParams(c, "SELECT 1 / 0", 0, NULL, NULL, NULL, NULL, 0);
	PQsendQueryParams(c, "INSERT INTO relay_t VALUES (2, 'b')", 0, NULL, NULL, NULL, NULL, 0);
	PQpipelineSync(c);
	PQsendQueryParams(c, "INSERT INTO relay_t VALUES (3, 'c')", 0, NULL, NULL, NULL, NULL, 0);
	PQpipelineSync(c);
	expect(c, PGRES_COMMAND_OK, "insert before the error");
	expect(c, PGRES_FATAL_ERROR, "division by zero");
	expect(c, PGRES_PIPELINE_ABORTED, "statement after the error is skipped");
	expect(c, PGRES_PIPELINE_SYNC, "first sync");
	expect(c, PGRES_COMMAND_OK, "insert after the sync");
	expect(c, PGRES_PIPELINE_SYNC, "second sync");
	PQexitPipelineMode(c);
}

static void prepared_statements(PGconn *c)
{
	PGresult *r = PQprepare(c, "q", "SELECT v FROM relay_t WHERE k = $1", 1, NULL);
	const char *k[] = {"3"};

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "prepare: %s", PQresultErrorMessage(r));
		failures++;
	}
	PQclear(r);
	for (int i = 0; i < 100; i++) {
		r = PQexecPrepared(c, "q", 1, k, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
		    strcmp(PQgetvalue(r, 0, 0), "c") != 0) {
			fprintf(stderr, "prepared select %d: %s", i, PQresultErrorMessage(r));
			failures++;
			PQclear(r);
			return;
		}
		PQclear(r);
	}
}

static void table_state(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT string_agg(k::text || v, ',' ORDER BY k) FROM relay_t");

	/* the error aborted the implicit transaction up to the first Sync, first insert included */
	if (PQresultStatus(r) != PGRES_TUPLES_OK || strcmp(PQgetvalue(r, 0, 0), "3c") != 0) {
		fprintf(stderr, "table holds '%s', expected '3c'\n",
		        PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
		failures++;
	}
	PQclear(r);
}

int main(int argc, char **argv)
{
	PGconn *c;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CONNINFO\n", argv[0]);
		return 2;
	}
	c = PQconnectdb(argv[1]);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "connect: %s", PQerrorMessage(c));
		return 1;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	PQclear(PQexec(c, "DROP TABLE IF EXISTS relay_t"));
	PQclear(PQexec(c, "CREATE TABLE relay_t (k int PRIMARY KEY, v text)"));
	pipeline_with_error(c);
	prepared_statements(c);
	table_state(c);
	PQclear(PQexec(c, "DROP TABLE relay_t"));
	PQfinish(c);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
