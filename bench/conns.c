/*
 * fs-conns: opens many client connections through a proxy at once, runs one query on each while
 * all are held open, and reports how much resident memory the proxy process gained per idle
 * connection. Used by bench/conns.sh; not a test.
 *
 *   fs-conns CONNINFO N PROXY_PID
 *
 * Prints one JSON object: connections requested, connected, queries served, the proxy's VmRSS
 * before, while holding and after closing (KiB), and the bytes per held connection.
 */
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* VmRSS of pid in KiB, or -1. */
static long rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	return kib;
}

/* Drives every connection's non-blocking start-up to the end; returns how many succeeded. */
static int connect_all(PGconn **c, int n)
{
	PostgresPollingStatusType *st = calloc((size_t)n, sizeof(*st));
	struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
	int ok = 0, pending = n;

	if (!st || !pfd)
		exit(1);
	for (int i = 0; i < n; i++)
		st[i] = PGRES_POLLING_WRITING;
	while (pending > 0) {
		int k = 0;

		for (int i = 0; i < n; i++) {
			if (st[i] != PGRES_POLLING_READING && st[i] != PGRES_POLLING_WRITING)
				continue;
			pfd[k].fd = PQsocket(c[i]);
			pfd[k].events = st[i] == PGRES_POLLING_READING ? POLLIN : POLLOUT;
			pfd[k].revents = 0;
			k++;
		}
		if (poll(pfd, (nfds_t)k, 30000) <= 0)
			break; /* nothing moved for 30 s: give up on the rest */
		k = 0;
		for (int i = 0; i < n; i++) {
			if (st[i] != PGRES_POLLING_READING && st[i] != PGRES_POLLING_WRITING)
				continue;
			if (pfd[k++].revents) {
				st[i] = PQconnectPoll(c[i]);
				if (st[i] == PGRES_POLLING_OK)
					ok++;
				if (st[i] == PGRES_POLLING_OK || st[i] == PGRES_POLLING_FAILED)
					pending--;
				if (st[i] == PGRES_POLLING_FAILED && n - pending < 5)
					fprintf(stderr, "fs-conns: %s", PQerrorMessage(c[i]));
			}
		}
	}
	free(st);
	free(pfd);
	return ok;
}

int main(int argc, char **argv)
{
	PGconn **c;
	int n, connected, served = 0;
	long pid, before, held, after;
	struct timespec settle = {1, 0};

	if (argc != 4) {
		fprintf(stderr, "usage: %s CONNINFO N PROXY_PID\n", argv[0]);
		return 2;
	}
	n = atoi(argv[2]);
	pid = atol(argv[3]);
	c = calloc((size_t)n, sizeof(*c));
	if (n <= 0 || !c)
		return 2;
	before = rss_kib(pid);
	for (int i = 0; i < n; i++) {
		c[i] = PQconnectStart(argv[1]);
		if (!c[i] || PQstatus(c[i]) == CONNECTION_BAD)
			return 1;
	}
	connected = connect_all(c, n);
	for (int i = 0; i < n; i++) {
		PGresult *r;

		if (PQstatus(c[i]) != CONNECTION_OK)
			continue;
		r = PQexec(c[i], "SELECT 1");
		served += PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
	}
	nanosleep(&settle, NULL);
	held = rss_kib(pid);
	for (int i = 0; i < n; i++)
		PQfinish(c[i]);
	nanosleep(&settle, NULL);
	after = rss_kib(pid);
	printf("{\"requested\": %d, \"connected\": %d, \"served\": %d, \"rss_before_kib\": %ld, "
	       "\"rss_held_kib\": %ld, \"rss_after_kib\": %ld, \"bytes_per_connection\": %.0f}\n",
	       n, connected, served, before, held, after,
	       connected ? (double)(held - before) * 1024.0 / connected : 0.0);
	free(c);
	return connected == n && served == n ? 0 : 1;
}
