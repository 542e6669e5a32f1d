/*
 * One client connection and its server connection (session mode): start-up, relay, and the
 * per-connection protocol state the proxy needs to profile statements and to pause a table.
 *
 * DESIGN
 * Bytes flow through two splitters (proxy/frame.h). Client -> server, the relay inspects Query,
 * Parse, Bind, Execute, Sync, FunctionCall, Close, CopyDone and CopyFail: it classifies
 * statements with the worker's parser (proxy/stmts.h decodes them and keeps the session's
 * prepared statements), decides whether a pause must hold them, and records each statement in a
 * small ring of "flights" in the order the server will answer. Server -> client, it inspects
 * ReadyForQuery, CommandComplete, PortalSuspended, EmptyQueryResponse and ErrorResponse to
 * complete flights, emit profile events and follow the transaction status. Everything else,
 * authentication included, passes through unread, so trust, password, md5 and SCRAM work
 * unchanged. Each read is scanned in place and what the scan passes leaves in one send, however
 * many messages it holds. Bytes are copied only when they must wait: an incomplete or held
 * message into the side's input buffer, and what the peer's socket cannot take at once into the
 * bufferevent's output.
 *
 * Reading: once the session is logged in, each plain socket is read through the connection's own
 * read event (cl_rd, sv_rd) with one recv into the worker's read buffer, relayed from there (no
 * allocation per read), and the bufferevent only writes. libevent's own socket read sizes every
 * read with ioctl(FIONREAD) and caps it at 4 KB: a system call more per message, and many reads
 * per large one. Before login the bufferevents read as usual, so the server leg's connect
 * timeout (a bufferevent timeout) keeps working; TLS sockets always read through their
 * bufferevent, which owns the TLS state.
 *
 * Pausing: a statement is held when it touches a paused table that the connection's open
 * transaction has not touched yet. Held bytes stay in the client's input buffer and reading
 * stops; the worker re-runs the splitter on resume, so statements leave in arrival order.
 * Transactions that already touched the table run to their end, which is what lets the worker
 * acknowledge the pause.
 */
#include "proxy/worker_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time.h"
#include "proxy/errmsg.h"
#include "proxy/relay.h"

static bool up_inspect[256];
static bool down_inspect[256];
static pthread_once_t inspect_once = PTHREAD_ONCE_INIT;

static void init_inspect_tables(void)
{
	const char *up = "QPBESFCcfp";
	const char *down = "KZCsIER";

	for (const char *p = up; *p; p++)
		up_inspect[(unsigned char)*p] = true;
	for (const char *p = down; *p; p++)
		down_inspect[(unsigned char)*p] = true;
}

static void client_read_cb(struct bufferevent *bev, void *arg);
static void server_read_cb(struct bufferevent *bev, void *arg);
static void side_write_cb(struct bufferevent *bev, void *arg);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void server_event_cb(struct bufferevent *bev, short what, void *arg);
static void sock_read_cb(evutil_socket_t fd, short what, void *arg);
static enum proxy_frame_verdict inspect_up(void *ctx, unsigned char *msg, uint32_t len);
static void unread_up(void *ctx, unsigned char type);
static enum proxy_frame_verdict inspect_down(void *ctx, unsigned char *msg, uint32_t len);

static void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void proxy_conn_accept(struct proxy_worker *w, int fd, const struct sockaddr *sa, int salen,
                       bool refuse)
{
	struct proxy_conn *c = calloc(1, sizeof(*c));
	char host[INET6_ADDRSTRLEN] = "?";
	int one = 1;

	pthread_once(&inspect_once, init_inspect_tables);
	if (!c) {
		close(fd);
		atomic_fetch_sub_explicit(&w->c.clients_active, 1, memory_order_relaxed);
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(c->addr, sizeof(c->addr), "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(c->addr, sizeof(c->addr), "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(c->addr, sizeof(c->addr), "unix");
	}
	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->w = w;
	c->cl_fd = fd;
	c->sv_fd = -1;
	c->refuse = refuse;
	c->txn = 'I';
	c->connect_ms = fs_wall_us() / 1000;
	c->accept_us = fs_mono_us();
	c->cl = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->cl) {
		close(fd);
		free(c);
		atomic_fetch_sub_explicit(&w->c.clients_active, 1, memory_order_relaxed);
		return;
	}
	c->tls = proxy_tls_acquire(w->proxy);

	c->up = (struct proxy_stream){.inspect = up_inspect,
	                              .fn = inspect_up,
	                              .ctx = c,
	                              .oversized = &w->c.oversized,
	                              .unread_fn = unread_up};
	c->down = (struct proxy_stream){.inspect = down_inspect,
	                                .fn = inspect_down,
	                                .ctx = c,
	                                .oversized = &w->c.oversized};
	proxy_conn_attach_client(c, c->cl);
	bufferevent_enable(c->cl, EV_READ | EV_WRITE);
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	counter_add(&w->c.clients_total, 1);
}

static void unlink_held(struct proxy_conn *c)
{
	struct proxy_worker *w = c->w;
	struct proxy_conn **pp = &w->held_head, *prev = NULL;

	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->held_next;
	}
	if (!*pp)
		return;
	*pp = c->held_next;
	if (w->held_tail == c)
		w->held_tail = prev;
	c->held_next = NULL;
	c->held = false;
	atomic_fetch_sub_explicit(&w->c.held_now, 1, memory_order_relaxed);
}

void proxy_conn_close(struct proxy_conn *c, const char *reason)
{
	struct proxy_worker *w = c->w;

	if (reason)
		proxy_conn_log(FS_LOG_DEBUG, c, "closing: %s", reason);
	if (c->held)
		unlink_held(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->cl_rd)
		event_free(c->cl_rd);
	if (c->sv_rd)
		event_free(c->sv_rd);
	if (c->cl)
		bufferevent_free(c->cl);
	if (c->sv)
		bufferevent_free(c->sv);
	proxy_stmts_cleanup(&c->stmts);
	free(c->startup);
	proxy_tls_unref(c->tls);
	free(c);
	atomic_fetch_sub_explicit(&w->c.clients_active, 1, memory_order_relaxed);
	/* its transaction, if any, is gone with the server connection */
	proxy_worker_check_drained(w);
}

/* Starts (on) or stops reading from side bev of c, through whichever reader owns its socket. */
static void side_read(struct proxy_conn *c, struct bufferevent *bev, bool on)
{
	struct event *own = bev == c->cl ? c->cl_rd : c->sv_rd;

	if (own && on)
		event_add(own, NULL);
	else if (own)
		event_del(own);
	else if (on)
		bufferevent_enable(bev, EV_READ);
	else
		bufferevent_disable(bev, EV_READ);
}

/*
 * Moves the reading of side bev's plain socket from the bufferevent to an event of c's own, keeping
 * whether it was enabled. Stays with the bufferevent when the event cannot be made.
 */
static void own_reads(struct proxy_conn *c, struct bufferevent *bev, struct event **own)
{
	bool reading = bufferevent_get_enabled(bev) & EV_READ;

	*own = event_new(c->w->base, bufferevent_getfd(bev), EV_READ | EV_PERSIST, sock_read_cb, c);
	if (!*own)
		return;
	bufferevent_disable(bev, EV_READ);
	/* a socket bufferevent keeps the end of its input frozen except inside its own read */
	evbuffer_unfreeze(bufferevent_get_input(bev), 0);
	if (reading)
		event_add(*own, NULL);
}

/*
 * The session is logged in (its first ReadyForQuery, from inside the server read that brought it):
 * plain sockets are read by c from now on (see the DESIGN note).
 */
static void own_plain_reads(struct proxy_conn *c)
{
	if (!c->client_tls && !c->cl_rd)
		own_reads(c, c->cl, &c->cl_rd);
	if (!c->server_tls && !c->sv_rd) {
		c->sv_fd = bufferevent_getfd(c->sv);
		own_reads(c, c->sv, &c->sv_rd);
	}
}

/*
 * Drops the server side and closes the client once what is queued for it has been written, so a
 * final error message reaches the client instead of being discarded with the socket.
 */
static void close_after_flush(struct proxy_conn *c)
{
	if (c->sv_rd) {
		event_free(c->sv_rd);
		c->sv_rd = NULL;
	}
	if (c->sv) {
		bufferevent_free(c->sv);
		c->sv = NULL;
		c->sv_fd = -1;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->cl)) == 0) {
		proxy_conn_close(c, NULL);
		return;
	}
	c->closing = true;
	side_read(c, c->cl, false);
}

void proxy_conn_fail(struct proxy_conn *c, const char *sqlstate, const char *msg)
{
	if (c->held)
		unlink_held(c); /* a resume must not pump a connection that is going away */
	if (proxy_errmsg_fatal(bufferevent_get_output(c->cl), sqlstate, msg) < 0) {
		proxy_conn_close(c, "out of memory");
		return;
	}
	proxy_conn_log(FS_LOG_INFO, c, "refused: %s", msg);
	close_after_flush(c);
}

/* Stops reading from `from` while `to` has a large backlog; side_write_cb resumes it. */
static void apply_backpressure(struct proxy_conn *c, struct bufferevent *from,
                               struct bufferevent *to)
{
	if (evbuffer_get_length(bufferevent_get_output(to)) > PROXY_BACKLOG_HIGH)
		side_read(c, from, false);
}

/*
 * Sends the n bytes at data to side `to`. When to is a plain socket with nothing queued, they are
 * written at once with one send instead of being queued until the loop reports the socket
 * writable: per message that saves a loop iteration and the two epoll_ctl calls that arm and
 * disarm the write event. What the socket does not take, and everything bound for TLS or behind
 * queued output, goes through the bufferevent as usual (in order). False when out of memory.
 */
static bool send_to(struct proxy_conn *c, struct bufferevent *to, bool plain,
                    const unsigned char *data, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(to);
	size_t done = 0;

	if (plain && evbuffer_get_length(out) == 0) {
		int fd = to == c->cl ? c->cl_fd : c->sv_fd;
		ssize_t w = send(fd >= 0 ? fd : bufferevent_getfd(to), data, n, MSG_NOSIGNAL);

		/* a write error is left for the bufferevent's own write to report */
		if (w > 0)
			done = (size_t)w;
	}
	return done == n || evbuffer_add(out, data + done, n - done) == 0;
}

/* Where a relay step sends: one side of a connection. */
struct send_target {
	struct proxy_conn *c;
	struct bufferevent *to;
	bool plain;
};

/* inline: proxy_relay, inlined in relay(), then calls it directly (see proxy/relay.h) */
static inline bool send_target(void *ctx, const unsigned char *data, size_t n)
{
	struct send_target *t = ctx;

	return send_to(t->c, t->to, t->plain, data, n);
}

/* Relays to side `to`, through stream s, what side from's input holds followed by the n bytes
 * at fresh (proxy/relay.h). */
static enum proxy_stream_status relay(struct proxy_conn *c, struct proxy_stream *s,
                                      struct bufferevent *from, struct bufferevent *to, bool plain,
                                      unsigned char *fresh, size_t n, bool *oom)
{
	struct send_target t = {c, to, plain};

	return proxy_relay(s, bufferevent_get_input(from), fresh, n, send_target, &t, oom);
}

/* Relays what the client sent, then the n bytes at fresh (see relay). */
static void pump_up(struct proxy_conn *c, unsigned char *fresh, size_t n)
{
	bool oom;
	enum proxy_stream_status st =
	        relay(c, &c->up, c->cl, c->sv, !c->server_tls, fresh, n, &oom);

	if (oom) {
		proxy_conn_close(c, "out of memory");
		return;
	}
	switch (st) {
	case PROXY_STREAM_OK:
		apply_backpressure(c, c->cl, c->sv);
		break;
	case PROXY_STREAM_HELD:
		/* stop reading: the held bytes stay where they are until resume */
		side_read(c, c->cl, false);
		break;
	case PROXY_STREAM_BAD:
		if (c->fail_msg)
			proxy_conn_fail(c, "28000", c->fail_msg);
		else
			proxy_conn_close(c, "client protocol violation");
		break;
	}
}

void proxy_conn_relay_start(struct proxy_conn *c)
{
	c->state = PROXY_CONN_RELAY;
	c->idle_since_us = fs_mono_us();
	bufferevent_enable(c->sv, EV_READ | EV_WRITE);
	bufferevent_enable(c->cl, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(c->cl)) > 0)
		pump_up(c, NULL, 0);
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;

	(void)bev;
	if (c->state == PROXY_CONN_RELAY) {
		if (!c->held)
			pump_up(c, NULL, 0);
	} else if (c->state == PROXY_CONN_TUNNEL) {
		proxy_startup_tunnel(c, c->cl, c->sv);
	} else if (c->state == PROXY_CONN_STARTUP) {
		proxy_startup_client_read(c);
	}
}

/*
 * Relays what the server sent, then the n bytes at fresh (see relay). Returns false when that
 * closed (and freed) the connection.
 */
static bool pump_down(struct proxy_conn *c, unsigned char *fresh, size_t n)
{
	bool oom;
	enum proxy_stream_status st =
	        relay(c, &c->down, c->sv, c->cl, !c->client_tls, fresh, n, &oom);

	if (oom) {
		proxy_conn_close(c, "out of memory");
		return false;
	}
	if (st == PROXY_STREAM_OK) {
		apply_backpressure(c, c->sv, c->cl);
		return true;
	}
	/* HELD cannot happen: the server side never holds */
	proxy_conn_close(c, "server protocol violation");
	return false;
}

static void server_read_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;

	(void)bev;
	if (c->sv_timer) {
		/* the server answered: server_connect_timeout is over */
		bufferevent_set_timeouts(c->sv, NULL, NULL);
		c->sv_timer = false;
	}
	if (c->state == PROXY_CONN_RELAY)
		(void)pump_down(c, NULL, 0);
	else if (c->state == PROXY_CONN_TUNNEL)
		proxy_startup_tunnel(c, c->sv, c->cl);
	else
		proxy_startup_server_read(c);
}

/* Output drained below the low watermark: resume reading the opposite side. */
static void side_write_cb(struct bufferevent *bev, void *arg)
{
	struct proxy_conn *c = arg;

	if (c->closing) {
		if (bev == c->cl)
			proxy_conn_close(c, NULL); /* the last message is out */
		return;
	}
	if (c->state != PROXY_CONN_RELAY && c->state != PROXY_CONN_TUNNEL)
		return;
	if (bev == c->sv && !c->held)
		side_read(c, c->cl, true);
	else if (bev == c->cl)
		side_read(c, c->sv, true);
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_conn *c = arg;
	char reason[160];

	if ((what & BEV_EVENT_CONNECTED) && c->state == PROXY_CONN_CLIENT_TLS) {
		proxy_startup_client_tls_done(c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->state == PROXY_CONN_CLIENT_TLS) {
		proxy_tls_error(bufferevent_get_openssl_error(bev), "connection closed", reason,
		                sizeof(reason));
		proxy_conn_log(FS_LOG_INFO, c, "TLS handshake with the client failed: %s", reason);
		proxy_conn_close(c, NULL);
		return;
	}
	proxy_conn_close(c, what & BEV_EVENT_EOF ? "client closed" : "client error");
}

static void server_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct proxy_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* TCP is up (the queued packet goes out) or the TLS handshake finished */
		if (c->state == PROXY_CONN_CONNECTING)
			proxy_conn_relay_start(c);
		else if (c->state == PROXY_CONN_SERVER_TLS)
			proxy_startup_server_ready(c);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	/* before the relay, or connected but silent past server_connect_timeout */
	if ((c->state != PROXY_CONN_RELAY && c->state != PROXY_CONN_TUNNEL) ||
	    (what & BEV_EVENT_TIMEOUT)) {
		proxy_startup_server_failed(c, what);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		counter_add(&c->w->c.server_errors, 1);
	/* pass on whatever the server said last (e.g. a FATAL), then close */
	proxy_conn_log(FS_LOG_DEBUG, c, "%s",
	               what & BEV_EVENT_EOF ? "server closed" : "server error");
	if (c->state == PROXY_CONN_TUNNEL) {
		proxy_startup_tunnel(c, c->sv, c->cl);
		close_after_flush(c);
	} else if (pump_down(c, NULL, 0)) {
		close_after_flush(c);
	}
}

/*
 * c's own read event on a plain socket, the client's or the server's (see own_plain_reads): one
 * recv into the worker's read buffer, relayed from there.
 */
static void sock_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct proxy_conn *c = arg;
	bool client = fd == c->cl_fd;
	struct bufferevent *bev = client ? c->cl : c->sv;
	unsigned char *buf = c->w->rbuf;
	ssize_t n = recv(fd, buf, sizeof(c->w->rbuf), 0);

	(void)ev;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		short what = BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR);

		if (client)
			client_event_cb(bev, what, c);
		else
			server_event_cb(bev, what, c);
		return;
	}
	if (c->state == PROXY_CONN_RELAY && !(client && c->held)) {
		if (client)
			pump_up(c, buf, (size_t)n);
		else
			(void)pump_down(c, buf, (size_t)n);
		return;
	}
	/* a read the loop reported before a hold stopped reading: it waits with the held bytes */
	if (evbuffer_add(bufferevent_get_input(bev), buf, (size_t)n) != 0)
		proxy_conn_close(c, "out of memory");
}

void proxy_conn_attach_client(struct proxy_conn *c, struct bufferevent *bev)
{
	bufferevent_setcb(bev, client_read_cb, side_write_cb, client_event_cb, c);
}

void proxy_conn_attach_server(struct proxy_conn *c, struct bufferevent *bev)
{
	bufferevent_setcb(bev, server_read_cb, side_write_cb, server_event_cb, c);
}

/* Whether limit_s (0: none) has passed since since_us. */
static bool past(uint64_t now_us, uint64_t since_us, uint32_t limit_s)
{
	return limit_s && now_us - since_us > (uint64_t)limit_s * 1000000;
}

/* Closes c with FATAL sqlstate, "foreshard: <what> (<setting> = <s> s)". */
static void fail_timeout(struct proxy_conn *c, const char *sqlstate, const char *what,
                         const char *setting, uint32_t s)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "foreshard: %s (%s = %u s)", what, setting, s);
	proxy_conn_fail(c, sqlstate, msg);
}

/*
 * Once a second from the worker's tick: closes a client still logging in past
 * client_login_timeout, one idle past client_idle_timeout, or one whose statement a pause has
 * held past query_wait_timeout, with an error that names the setting.
 */
void proxy_conn_tick(struct proxy_conn *c, uint64_t now_us)
{
	struct proxy *p = c->w->proxy;
	uint32_t idle = atomic_load_explicit(&p->client_idle_timeout, memory_order_relaxed);
	uint32_t wait = atomic_load_explicit(&p->query_wait_timeout, memory_order_relaxed);
	uint32_t login = atomic_load_explicit(&p->client_login_timeout, memory_order_relaxed);

	if (c->closing || c->state == PROXY_CONN_TUNNEL)
		return;
	if (!c->logged_in && past(now_us, c->accept_us, login)) {
		if (c->state ==
		    PROXY_CONN_CLIENT_TLS) /* no channel to say why before the handshake */
			proxy_conn_close(c, "client_login_timeout during the TLS handshake");
		else
			fail_timeout(
			        c, "57014",
			        "closing the connection: start-up and authentication took too long",
			        "client_login_timeout", login);
		return;
	}
	if (c->state != PROXY_CONN_RELAY)
		return;
	if (c->held && past(now_us, c->held_since_us, wait))
		fail_timeout(c, "57014", "the statement waited too long for a pause to end",
		             "query_wait_timeout", wait);
	else if (!c->held && c->pending_sync == 0 && c->txn == 'I' && c->flight_count == 0 &&
	         past(now_us, c->idle_since_us, idle))
		fail_timeout(c, "57P05", "closing the connection after it sat idle too long",
		             "client_idle_timeout", idle);
}

/* ---- transaction and pause bookkeeping ---- */

bool proxy_conn_busy_with(const struct proxy_conn *c, uint16_t table_id)
{
	if (table_id == PROXY_PAUSE_ALL)
		return c->pending_sync > 0 || c->txn != 'I';
	for (int i = 0; i < c->n_txn_tables; i++) {
		if (c->txn_tables[i] == table_id)
			return true;
	}
	return false;
}

static void touch_tables(struct proxy_conn *c, const struct parser_stmt *st)
{
	for (int i = 0; i < st->n_access; i++) {
		uint16_t t = st->access[i].table_id;
		bool seen = false;

		for (int j = 0; j < c->n_txn_tables && !seen; j++)
			seen = c->txn_tables[j] == t;
		if (!seen && c->n_txn_tables < PROXY_TXN_TABLES)
			c->txn_tables[c->n_txn_tables++] = t;
	}
}

/* Whether a statement must wait for a resume before it may reach the server. */
static bool must_hold(struct proxy_conn *c, const struct parser_stmt *st)
{
	struct proxy_worker *w = c->w;

	if (w->n_paused == 0)
		return false;
	if (proxy_worker_is_paused(w, PROXY_PAUSE_ALL) && !proxy_conn_busy_with(c, PROXY_PAUSE_ALL))
		return true;
	for (int i = 0; st && i < st->n_access; i++) {
		uint16_t t = st->access[i].table_id;

		if (proxy_worker_is_paused(w, t) && !proxy_conn_busy_with(c, t))
			return true;
	}
	return false;
}

/* ---- flights: statements awaiting completion ---- */

static struct proxy_flight *flight_push(struct proxy_conn *c, enum proxy_flight_kind kind)
{
	struct proxy_flight *f;

	if (c->flight_count == PROXY_INFLIGHT) {
		/* a deep pipeline: stop profiling it rather than buffer without bound */
		c->flights_lost = true;
		return NULL;
	}
	f = &c->flights[(c->flight_head + c->flight_count) % PROXY_INFLIGHT];
	c->flight_count++;
	f->kind = kind;
	f->rows = 0;
	f->error = false;
	f->stmt.n_access = 0;
	return f;
}

static struct proxy_flight *flight_head(struct proxy_conn *c)
{
	return c->flight_count ? &c->flights[c->flight_head] : NULL;
}

static void flight_pop(struct proxy_conn *c)
{
	c->flight_head = (c->flight_head + 1) % PROXY_INFLIGHT;
	c->flight_count--;
}

/* Attribute number of the table's partition key, from the worker's catalog (0 if unknown). */
static uint16_t key_col(const struct proxy_worker *w, uint16_t table_id)
{
	const struct fs_table *t = fs_catalog_by_id(w->cat, table_id);

	return t && t->key_attnum > 0 ? (uint16_t)t->key_attnum : 0;
}

/* Emits one profile event per managed table the statement touched. */
static void flight_complete(struct proxy_conn *c, const struct proxy_flight *f)
{
	struct proxy_worker *w = c->w;
	uint64_t now = fs_mono_us();
	uint64_t lat = now - f->start_us;

	for (int i = 0; i < f->stmt.n_access; i++) {
		const struct parser_access *a = &f->stmt.access[i];
		struct fs_profile_event ev = {
		        .ts_us = f->start_wall_us,
		        .key_lo = a->key_lo,
		        .key_hi = a->key_hi,
		        .template_id = f->stmt.template_id,
		        .latency_us = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat,
		        .rows = f->rows,
		        .worker_id = w->id,
		        .table_id = a->table_id,
		        .key_col = key_col(w, a->table_id),
		        .op = a->op,
		        .pred = a->pred,
		        .error = f->error,
		};

		if (fs_ring_push(&w->ring, &ev))
			counter_add(&w->c.events_sent, 1);
		else
			counter_add(&w->c.events_dropped, 1);
	}
}

/* ---- client -> server inspection ---- */

/* Marks the start of an extended-protocol batch for latency measurement. */
static void batch_begin(struct proxy_conn *c)
{
	if (!c->in_batch) {
		c->in_batch = true;
		c->batch_start_us = fs_mono_us();
	}
}

/*
 * CopyDone or CopyFail: the COPY FROM STDIN that the last Query or Execute started ends here.
 * The server ignored every Sync that reached it during the copy (libpq sends one right after the
 * Execute, not knowing the statement is a COPY), so no ReadyForQuery will answer them: forget
 * them, or the connection would look busy forever and a pause of everything never drain.
 */
static void copy_in_end(struct proxy_conn *c)
{
	for (; c->copy_syncs > 0; c->copy_syncs--) {
		const struct proxy_flight *last;

		if (c->pending_sync > 0)
			c->pending_sync--;
		if (c->flight_count == 0)
			continue;
		/* only Syncs were pushed after the COPY's Execute: they are at the tail */
		last = &c->flights[(c->flight_head + c->flight_count - 1) % PROXY_INFLIGHT];
		if (last->kind == PROXY_FLIGHT_SYNC)
			c->flight_count--;
	}
}

/*
 * SASLInitialResponse of a client whose TLS session ends at foreshard. SCRAM channel binding
 * (tls-server-end-point) hashes the certificate the client saw, which is foreshard's; the server
 * hashes its own. Unless the two are the same certificate, the server would refuse the login with
 * a message about a check the user cannot see, so foreshard refuses it first and says why:
 * a client that picked SCRAM-SHA-256-PLUS, or one that announced binding support ('y') to a
 * server that has TLS and therefore insists on binding.
 */
static enum proxy_frame_verdict check_channel_binding(struct proxy_conn *c, struct proxy_reader *r)
{
	const char *mech = proxy_read_str(r);
	int32_t n = proxy_read_i32(r);
	const unsigned char *gs2 = n > 0 ? proxy_read_bytes(r, 1) : NULL;
	bool plus = strcmp(mech, "SCRAM-SHA-256-PLUS") == 0;
	bool announced = gs2 && gs2[0] == 'y';

	if (c->same_cert || !(plus || (announced && c->server_tls)))
		return PROXY_FRAME_FORWARD;
	c->fail_msg = "foreshard: SCRAM channel binding cannot span foreshard: the client's TLS "
	              "session ends at foreshard, whose certificate differs from the PostgreSQL "
	              "server's. Connect with channel_binding=disable, give foreshard the server's "
	              "certificate and key (client_tls_cert_file, client_tls_key_file), or set "
	              "server_tls_sslmode = disable";
	return PROXY_FRAME_CLOSE;
}

/* Query, Parse, Bind, Execute, Close: the messages that make, use or forget statements. */
static enum proxy_frame_verdict inspect_stmt(struct proxy_conn *c, const unsigned char *msg,
                                             uint32_t len)
{
	struct proxy_worker *w = c->w;
	struct proxy_flight *f;
	struct proxy_up_msg m;

	if (msg[0] == 'Q' || msg[0] == 'P' || msg[0] == 'B')
		proxy_worker_refresh_catalog(w);
	if (!proxy_stmts_decode(&c->stmts, w->parser, msg, len, w->n_paused > 0, &m))
		return PROXY_FRAME_CLOSE;
	switch (msg[0]) {
	case 'Q':
		if (must_hold(c, m.st)) {
			proxy_worker_hold(w, c);
			return PROXY_FRAME_HOLD;
		}
		touch_tables(c, m.st);
		c->pending_sync++;
		c->copy_syncs = 0;
		c->queries++;
		counter_add(&w->c.queries, 1);
		f = flight_push(c, PROXY_FLIGHT_QUERY);
		if (f) {
			f->start_us = fs_mono_us();
			f->start_wall_us = fs_wall_us();
			f->stmt = *m.st;
		}
		break;
	case 'P':
	case 'B':
		/* during a pause a Parse is judged by its tables: parse analysis locks them, and
		 * they belong to the transaction from then on */
		if (must_hold(c, m.st)) {
			proxy_worker_hold(w, c);
			return PROXY_FRAME_HOLD;
		}
		touch_tables(c, m.st);
		batch_begin(c);
		break;
	case 'E':
		batch_begin(c);
		c->copy_syncs = 0;
		c->queries++;
		counter_add(&w->c.queries, 1);
		f = flight_push(c, PROXY_FLIGHT_EXECUTE);
		if (f) {
			f->start_us = c->batch_start_us;
			f->start_wall_us = fs_wall_us() - (fs_mono_us() - c->batch_start_us);
			if (!m.portal[0])
				f->stmt = c->stmts.portal;
		}
		break;
	}
	return PROXY_FRAME_FORWARD;
}

static enum proxy_frame_verdict inspect_up(void *ctx, unsigned char *msg, uint32_t len)
{
	struct proxy_conn *c = ctx;
	struct proxy_worker *w = c->w;
	struct proxy_reader r;

	switch (msg[0]) {
	case 'Q':
	case 'P':
	case 'B':
	case 'E':
	case 'C':
		return inspect_stmt(c, msg, len);
	case 'S':
	case 'F':
		if (msg[0] == 'F' && must_hold(c, NULL)) {
			proxy_worker_hold(w, c);
			return PROXY_FRAME_HOLD;
		}
		c->in_batch = false;
		c->pending_sync++;
		c->copy_syncs = msg[0] == 'S' ? c->copy_syncs + 1 : 0;
		flight_push(c, PROXY_FLIGHT_SYNC);
		return PROXY_FRAME_FORWARD;
	case 'c': /* CopyDone */
	case 'f': /* CopyFail */
		copy_in_end(c);
		return PROXY_FRAME_FORWARD;
	case 'p': /* an authentication answer */
		if (!c->sasl_check)
			return PROXY_FRAME_FORWARD;
		c->sasl_check = false;
		proxy_reader_init(&r, msg + 5, len - 5);
		return check_channel_binding(c, &r);
	}
	return PROXY_FRAME_FORWARD;
}

/*
 * A statement message too big to read (over PROXY_INSPECT_MAX) goes through unclassified (fail
 * open: the database's locks still protect a cutover), but what it implies for the connection's
 * state is still recorded: a Query or FunctionCall will be answered by ReadyForQuery, and a
 * Parse or Bind replaces what the unnamed statement or portal was.
 */
static void unread_up(void *ctx, unsigned char type)
{
	struct proxy_conn *c = ctx;

	switch (type) {
	case 'Q': {
		struct proxy_flight *f = flight_push(c, PROXY_FLIGHT_QUERY);

		c->pending_sync++;
		c->queries++;
		counter_add(&c->w->c.queries, 1);
		if (f) {
			f->start_us = fs_mono_us();
			f->start_wall_us = fs_wall_us();
		}
		break;
	}
	case 'F':
		c->pending_sync++;
		flight_push(c, PROXY_FLIGHT_SYNC);
		break;
	case 'P':
	case 'B':
		proxy_stmts_unread(&c->stmts, type);
		batch_begin(c);
		break;
	}
}

/* ---- server -> client inspection ---- */

static void ready_for_query(struct proxy_conn *c, char status)
{
	struct proxy_flight *f;

	/* everything up to and including the oldest Query or Sync is answered now */
	while ((f = flight_head(c)) != NULL) {
		enum proxy_flight_kind kind = f->kind;

		if (kind == PROXY_FLIGHT_QUERY)
			flight_complete(c, f);
		flight_pop(c);
		if (kind != PROXY_FLIGHT_EXECUTE)
			break;
	}
	c->txn = status;
	if (!c->logged_in) {
		c->logged_in = true;
		own_plain_reads(c);
	}
	if (c->pending_sync > 0)
		c->pending_sync--;
	if (c->pending_sync == 0 && status == 'I') {
		c->n_txn_tables = 0;
		c->idle_since_us = fs_mono_us();
		if (c->flights_lost) {
			/* idle with nothing outstanding: profiling can start afresh */
			c->flight_count = 0;
			c->flights_lost = false;
		}
		proxy_worker_check_drained(c->w);
	}
}

/*
 * Keeps the server's BackendKeyData and gives the client the same pid with a secret of
 * foreshard's own. The pid stays real, so that it matches pg_backend_pid() and the sender of
 * notifications; the secret is what lets the worker that owns the session recognise a cancel,
 * whichever worker receives it.
 */
static void replace_backend_key(struct proxy_conn *c, unsigned char *key)
{
	uint32_t secret;

	c->server_pid = (int32_t)proxy_be32(key);
	c->server_secret = (int32_t)proxy_be32(key + 4);
	if (getrandom(&secret, sizeof(secret), 0) != sizeof(secret))
		secret = (uint32_t)fs_mono_us() ^ (uint32_t)(uintptr_t)c;
	c->key_secret = secret;
	c->have_key = true;
	proxy_put_be32(key + 4, secret);
}

static enum proxy_frame_verdict inspect_down(void *ctx, unsigned char *msg, uint32_t len)
{
	struct proxy_conn *c = ctx;
	struct proxy_flight *f = flight_head(c);
	struct proxy_reader r;

	proxy_reader_init(&r, msg + 5, len - 5);
	switch (msg[0]) {
	case 'R':
		/* AuthenticationSASL: the client's next message names the mechanism it picked */
		if (len >= 9 && proxy_be32(msg + 5) == PROXY_AUTH_SASL)
			c->sasl_check = c->client_tls;
		break;
	case 'K':
		if (len == 13)
			replace_backend_key(c, msg + 5);
		break;
	case 'Z':
		ready_for_query(c, (char)proxy_read_u8(&r));
		break;
	case 'C': {
		const char *tag = proxy_read_str(&r);

		if (!f || c->flights_lost)
			break;
		f->rows += proxy_tag_rows(tag);
		if (f->kind == PROXY_FLIGHT_EXECUTE) {
			flight_complete(c, f);
			flight_pop(c);
		}
		break;
	}
	case 's': /* PortalSuspended */
	case 'I': /* EmptyQueryResponse */
		if (f && f->kind == PROXY_FLIGHT_EXECUTE && !c->flights_lost) {
			flight_complete(c, f);
			flight_pop(c);
		}
		break;
	case 'E':
		if (!f || c->flights_lost)
			break;
		f->error = true;
		if (f->kind == PROXY_FLIGHT_EXECUTE) {
			flight_complete(c, f);
			flight_pop(c);
			/* the server skips to Sync: the batch's other Executes never run */
			while ((f = flight_head(c)) != NULL && f->kind == PROXY_FLIGHT_EXECUTE)
				flight_pop(c);
		}
		break;
	}
	return PROXY_FRAME_FORWARD;
}

void proxy_conn_unhold(struct proxy_conn *c)
{
	uint64_t held_us = fs_mono_us() - c->held_since_us;
	uint64_t max = atomic_load_explicit(&c->w->c.max_hold_us, memory_order_relaxed);

	if (held_us > max)
		atomic_store_explicit(&c->w->c.max_hold_us, held_us, memory_order_relaxed);
	c->held = false;
	side_read(c, c->cl, true);
	pump_up(c, NULL, 0);
}
