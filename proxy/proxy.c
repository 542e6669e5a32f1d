/*
 * The proxy's public face (proxy.h): creating the workers and their listening sockets, and the
 * cross-thread operations over all workers — pause, resume, statistics.
 */
#include "proxy/worker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/time.h"

/* Resolves server_host: a path means a Unix socket directory, as in libpq. */
static bool resolve_server(struct proxy *p, char *err, size_t errlen)
{
	const char *host = p->cfg.server_host;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	char port[8];
	int rc;

	if (host[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&p->server_addr;
		int n = snprintf(un->sun_path, sizeof(un->sun_path), "%s/.s.PGSQL.%u", host,
		                 p->cfg.server_port);

		if (n < 0 || (size_t)n >= sizeof(un->sun_path)) {
			snprintf(err, errlen, "server_host '%s': socket path too long", host);
			return false;
		}
		un->sun_family = AF_UNIX;
		p->server_addrlen = sizeof(*un);
		return true;
	}
	snprintf(port, sizeof(port), "%u", p->cfg.server_port);
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "server_host '%s': %s", host, gai_strerror(rc));
		return false;
	}
	memcpy(&p->server_addr, res->ai_addr, res->ai_addrlen);
	p->server_addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

/* One listening socket per worker on the same address; the kernel balances accepts. */
static int listen_socket(const struct proxy_config *cfg, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
	struct addrinfo *res;
	char port[8];
	int fd, one = 1, rc;

	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	rc = getaddrinfo(cfg->listen_addr, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen_addr '%s': %s (give a numeric IPv4 or IPv6 address)",
		         cfg->listen_addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		snprintf(err, errlen, "cannot listen on %s:%u: %s", cfg->listen_addr,
		         cfg->listen_port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

struct proxy *proxy_create(const struct proxy_config *cfg, struct fs_snap_slot *catalog_slot,
                           char *err, size_t errlen)
{
	struct proxy *p = calloc(1, sizeof(*p));

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	p->catalog_slot = catalog_slot;
	atomic_init(&p->pause_seq, 0);
	pthread_mutex_init(&p->tls_mu, NULL);
	proxy_set_timeouts(p, &cfg->timeouts);
	p->tls = cfg->tls;
	proxy_tls_ref(p->tls);
	p->workers = calloc(cfg->workers, sizeof(*p->workers));
	p->rings = calloc(cfg->workers, sizeof(*p->rings));
	if (!p->workers || !p->rings) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (!resolve_server(p, err, errlen))
		goto fail;
	for (uint32_t i = 0; i < cfg->workers; i++) {
		int fd = listen_socket(cfg, err, errlen);

		if (fd < 0)
			goto fail;
		p->n_workers++;
		if (!proxy_worker_init(&p->workers[i], p, (uint16_t)i, fd, err, errlen))
			goto fail;
		p->rings[i] = &p->workers[i].ring;
	}
	return p;
fail:
	for (int i = 0; i < p->n_workers; i++)
		proxy_worker_cleanup(&p->workers[i]);
	free(p->workers);
	free(p->rings);
	proxy_tls_unref(p->tls);
	pthread_mutex_destroy(&p->tls_mu);
	free(p);
	return NULL;
}

bool proxy_start(struct proxy *p, char *err, size_t errlen)
{
	for (int i = 0; i < p->n_workers; i++) {
		if (!proxy_worker_start(&p->workers[i])) {
			snprintf(err, errlen, "cannot start worker thread %d", i);
			return false;
		}
	}
	return true;
}

struct fs_ring *const *proxy_rings(struct proxy *p, int *n)
{
	*n = p->n_workers;
	return p->rings;
}

static bool send_all(struct proxy *p, const struct proxy_cmd *cmd)
{
	bool ok = true;

	for (int i = 0; i < p->n_workers; i++)
		ok = fs_mailbox_send(&p->workers[i].mbox, cmd) && ok;
	return ok;
}

bool proxy_pause_async(struct proxy *p, uint16_t table_id)
{
	struct proxy_cmd cmd = {
	        .kind = PROXY_CMD_PAUSE,
	        .table_id = table_id,
	        .seq = atomic_fetch_add(&p->pause_seq, 1) + 1,
	};

	return send_all(p, &cmd);
}

bool proxy_pause(struct proxy *p, uint16_t table_id, uint32_t timeout_ms)
{
	uint64_t seq = atomic_fetch_add(&p->pause_seq, 1) + 1;
	struct proxy_cmd cmd = {.kind = PROXY_CMD_PAUSE, .table_id = table_id, .seq = seq};
	uint64_t deadline = fs_mono_us() + (uint64_t)timeout_ms * 1000;
	struct timespec nap = {0, 200000}; /* 0.2 ms: drains take milliseconds */

	if (!send_all(p, &cmd)) {
		proxy_resume(p, table_id);
		return false;
	}
	for (;;) {
		bool drained = true;

		for (int i = 0; i < p->n_workers && drained; i++) {
			drained = atomic_load_explicit(&p->workers[i].acked_seq,
			                               memory_order_acquire) >= seq;
		}
		if (drained)
			return true;
		if (fs_mono_us() > deadline) {
			proxy_resume(p, table_id);
			return false;
		}
		nanosleep(&nap, NULL);
	}
}

void proxy_resume(struct proxy *p, uint16_t table_id)
{
	struct proxy_cmd cmd = {.kind = PROXY_CMD_RESUME, .table_id = table_id};

	if (!send_all(p, &cmd)) {
		/* a full mailbox: the worker's pause limit releases the table in the end */
	}
}

void proxy_stop_accepting(struct proxy *p)
{
	struct proxy_cmd cmd = {.kind = PROXY_CMD_STOP_ACCEPT};

	if (!send_all(p, &cmd)) {
		/* a full mailbox: the final stop closes the listeners anyway */
	}
}

uint64_t proxy_clients_active(struct proxy *p)
{
	uint64_t n = 0;

	for (int i = 0; i < p->n_workers; i++)
		n += atomic_load_explicit(&p->workers[i].c.clients_active, memory_order_relaxed);
	return n;
}

void proxy_get_stats(struct proxy *p, struct proxy_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < p->n_workers; i++) {
		struct proxy_worker *w = &p->workers[i];
		struct proxy_counters *c = &w->c;
		uint64_t max_hold = atomic_load_explicit(&c->max_hold_us, memory_order_relaxed);

#define SUM(f) out->f += atomic_load_explicit(&c->f, memory_order_relaxed)
		SUM(clients_active);
		SUM(clients_total);
		SUM(queries);
		SUM(events_sent);
		SUM(events_dropped);
		SUM(oversized);
		SUM(held_now);
		SUM(held_total);
		SUM(server_errors);
		SUM(parse_errors);
		SUM(unkeyed);
		SUM(cache_hits);
		SUM(clients_tls);
		SUM(clients_passthrough);
#undef SUM
		if (max_hold > out->max_hold_us)
			out->max_hold_us = max_hold;
	}
}

struct proxy_tls *proxy_tls_acquire(struct proxy *p)
{
	struct proxy_tls *t;

	pthread_mutex_lock(&p->tls_mu);
	t = p->tls;
	proxy_tls_ref(t);
	pthread_mutex_unlock(&p->tls_mu);
	return t;
}

void proxy_set_tls(struct proxy *p, struct proxy_tls *t)
{
	struct proxy_tls *old;

	proxy_tls_ref(t);
	pthread_mutex_lock(&p->tls_mu);
	old = p->tls;
	p->tls = t;
	pthread_mutex_unlock(&p->tls_mu);
	proxy_tls_unref(old); /* freed once the last connection that uses it closes */
}

void proxy_set_timeouts(struct proxy *p, const struct proxy_timeouts *t)
{
	atomic_store_explicit(&p->server_connect_timeout, t->server_connect, memory_order_relaxed);
	atomic_store_explicit(&p->client_idle_timeout, t->client_idle, memory_order_relaxed);
	atomic_store_explicit(&p->client_login_timeout, t->client_login, memory_order_relaxed);
	atomic_store_explicit(&p->query_wait_timeout, t->query_wait, memory_order_relaxed);
}

int proxy_workers(const struct proxy *p)
{
	return p->n_workers;
}

struct fs_snap_slot *proxy_clients_slot(struct proxy *p, int worker)
{
	return &p->workers[worker].clients_slot;
}

void proxy_destroy(struct proxy *p)
{
	struct proxy_cmd stop = {.kind = PROXY_CMD_STOP};
	struct timespec nap = {0, 1000000};

	for (int i = 0; i < p->n_workers; i++) {
		/* the base has no lock: only the mailbox may reach the worker; a full one drains */
		while (p->workers[i].started && !fs_mailbox_send(&p->workers[i].mbox, &stop))
			nanosleep(&nap, NULL);
	}
	for (int i = 0; i < p->n_workers; i++) {
		if (p->workers[i].started)
			pthread_join(p->workers[i].thread, NULL);
		proxy_worker_cleanup(&p->workers[i]);
	}
	free(p->workers);
	free(p->rings);
	proxy_tls_unref(p->tls);
	pthread_mutex_destroy(&p->tls_mu);
	free(p);
}
