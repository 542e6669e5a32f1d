/*
 * Everything a connection goes through before messages flow (proxy/conn.c): the client's
 * start-up packets (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), TLS on the client
 * leg, the server connection with its own TLS negotiation, and the passthrough tunnel for clients
 * whose TLS session foreshard relays unopened.
 *
 * DESIGN
 * TLS is negotiated in the clear and then the same socket carries TLS, on both legs: foreshard
 * writes its one-byte answer to an SSLRequest, then replaces the connection's plain bufferevent by
 * an OpenSSL one over the same file descriptor. Bytes that arrive after an SSLRequest and before
 * the handshake are refused on either leg, as PostgreSQL and libpq do, because a man in the middle
 * could have injected them into the plaintext. The server leg is negotiated after the client's
 * StartupMessage is known and acceptable, so a refused client never costs a server connection;
 * the packet waits in c->startup meanwhile.
 */
#include "proxy/worker_internal.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/time.h"

static const unsigned char ssl_request[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};

static void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* Arms server_connect_timeout on the server side; the relay disarms it at the first answer. */
static void arm_connect_timer(struct proxy_conn *c)
{
	uint32_t s =
	        atomic_load_explicit(&c->w->proxy->server_connect_timeout, memory_order_relaxed);
	struct timeval tv = {.tv_sec = s};

	if (s == 0)
		return;
	bufferevent_set_timeouts(c->sv, &tv, &tv);
	c->sv_timer = true;
}

/* Opens the server connection with `first` queued: the start-up packet or an SSLRequest. */
static bool open_server(struct proxy_conn *c, const void *first, size_t len)
{
	struct proxy *p = c->w->proxy;

	c->sv = bufferevent_socket_new(c->w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->sv || evbuffer_add(bufferevent_get_output(c->sv), first, len) != 0) {
		proxy_conn_fail(c, "53200", "foreshard: out of memory");
		return false;
	}
	proxy_conn_attach_server(c, c->sv);
	arm_connect_timer(c);
	bufferevent_disable(c->cl, EV_READ);
	if (bufferevent_socket_connect(c->sv, (struct sockaddr *)&p->server_addr,
	                               (int)p->server_addrlen) < 0) {
		counter_add(&c->w->c.server_errors, 1);
		proxy_conn_fail(c, "08006",
		                "foreshard: cannot connect to the PostgreSQL server; check "
		                "server_host and server_port");
		return false;
	}
	if (p->server_addr.ss_family != AF_UNIX) {
		int one = 1;

		/* statements go out as soon as they are relayed, as the client's own socket would
		 * send them (PostgreSQL sets the same on its side) */
		setsockopt(bufferevent_getfd(c->sv), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	bufferevent_enable(c->sv, EV_READ | EV_WRITE);
	return true;
}

/*
 * Replaces a plain bufferevent by an OpenSSL one over the same socket. Returns NULL (the old one
 * untouched) when out of memory.
 */
static struct bufferevent *upgrade(struct proxy_conn *c, struct bufferevent *old, SSL *ssl,
                                   enum bufferevent_ssl_state how)
{
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(c->w->base, bufferevent_getfd(old), ssl, how,
	                                     BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		return NULL;
	/* peers that close without close_notify (most clients) are ordinary EOFs */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setfd(old, -1); /* the socket now belongs to bev */
	bufferevent_free(old);
	return bev;
}

/* ---- cancel requests ---- */

static void cancel_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		bufferevent_free(bev);
}

/*
 * Sends a CancelRequest for the server backend (pid, secret) on a connection of its own. It goes
 * in the clear even when sessions use TLS, as libpq sends it: the server reads it before any
 * encryption is negotiated.
 */
static void send_cancel(struct proxy_worker *w, int32_t pid, int32_t secret)
{
	struct proxy *p = w->proxy;
	struct bufferevent *bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
	unsigned char pkt[16];

	if (!bev)
		return;
	proxy_put_be32(pkt, sizeof(pkt));
	proxy_put_be32(pkt + 4, PROXY_CANCEL_CODE);
	proxy_put_be32(pkt + 8, (uint32_t)pid);
	proxy_put_be32(pkt + 12, (uint32_t)secret);
	evbuffer_add(bufferevent_get_output(bev), pkt, sizeof(pkt));
	/* the server closes the connection after reading the request; so do we */
	bufferevent_setcb(bev, NULL, NULL, cancel_event_cb, NULL);
	if (bufferevent_socket_connect(bev, (struct sockaddr *)&p->server_addr,
	                               (int)p->server_addrlen) < 0)
		bufferevent_free(bev);
	else
		bufferevent_enable(bev, EV_READ);
}

void proxy_conn_cancel(struct proxy_worker *w, int32_t pid, uint32_t secret)
{
	/* cancels are rare: a scan beats keeping an index up to date on every connect */
	for (struct proxy_conn *c = w->conns; c; c = c->next) {
		if (c->have_key && c->server_pid == pid && c->key_secret == secret) {
			send_cancel(w, c->server_pid, c->server_secret);
			return;
		}
	}
	/* no such session here: PostgreSQL ignores unknown keys too */
}

/*
 * A CancelRequest may reach any worker: this one looks at its own connections and asks every
 * other worker to look at theirs, then closes the cancel connection as PostgreSQL does.
 */
static void route_cancel(struct proxy_conn *c, uint32_t pid, uint32_t secret)
{
	struct proxy *p = c->w->proxy;
	struct proxy_cmd cmd = {.kind = PROXY_CMD_CANCEL, .pid = (int32_t)pid, .secret = secret};

	proxy_conn_cancel(c->w, (int32_t)pid, secret);
	for (int i = 0; i < p->n_workers; i++) {
		if (&p->workers[i] != c->w && !fs_mailbox_send(&p->workers[i].mbox, &cmd))
			fs_log(FS_LOG_WARN, "cancel request not passed to busy worker %d", i);
	}
	proxy_conn_close(c, "cancel request routed");
}

/* ---- client leg ---- */

/* Whether v spells false the way PostgreSQL's parse_bool reads it ("off", "no", "f", "0"...). */
static bool is_false(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return false;
	return strncasecmp(v, "false", n) == 0 || strncasecmp(v, "no", n) == 0 ||
	       (n > 1 && strncasecmp(v, "off", n) == 0) || strcmp(v, "0") == 0;
}

/* Answers an SSLRequest with 'S' and starts the TLS handshake on the client socket. */
static void accept_tls(struct proxy_conn *c)
{
	struct bufferevent *bev;

	if (c->client_tls || evbuffer_get_length(bufferevent_get_input(c->cl)) != 0 ||
	    evbuffer_get_length(bufferevent_get_output(c->cl)) != 0) {
		proxy_conn_close(c, "unencrypted data after the SSL request");
		return;
	}
	/* the answer must precede the handshake in the clear: write it before the upgrade */
	if (send(bufferevent_getfd(c->cl), "S", 1, MSG_NOSIGNAL) != 1) {
		proxy_conn_close(c, "client gone during the SSL request");
		return;
	}
	bev = upgrade(c, c->cl, SSL_new(c->tls->client_ctx), BUFFEREVENT_SSL_ACCEPTING);
	if (!bev) {
		proxy_conn_close(c, "out of memory for TLS");
		return;
	}
	c->cl = bev;
	c->state = PROXY_CONN_CLIENT_TLS;
	proxy_conn_attach_client(c, bev);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void proxy_startup_client_tls_done(struct proxy_conn *c)
{
	c->client_tls = true;
	c->state = PROXY_CONN_STARTUP;
	counter_add(&c->w->c.clients_tls, 1);
	proxy_startup_client_read(c);
}

/* Relays an SSLRequest to the server (tls_passthrough); its answer decides the rest. */
static void pass_ssl_request(struct proxy_conn *c)
{
	c->passthrough = true;
	c->state = PROXY_CONN_SERVER_SSLREQ;
	open_server(c, ssl_request, sizeof(ssl_request));
}

/* The checks PostgreSQL would make of a start-up packet before authentication. */
static bool admit(struct proxy_conn *c, const struct proxy_startup *st)
{
	char msg[256], cn[128];

	/*
	 * A replication connection's CopyBoth streams and replication commands bypass everything
	 * the proxy tracks: the relay cannot serve it.
	 */
	if (st->replication && !is_false(st->replication)) {
		proxy_conn_fail(c, "0A000",
		                "foreshard: replication connections are not supported through "
		                "foreshard; connect to the PostgreSQL server directly");
		return false;
	}
	if (c->refuse) {
		snprintf(msg, sizeof(msg), "sorry, too many clients already (max_client_conn = %u)",
		         c->w->proxy->cfg.max_client_conn);
		proxy_conn_fail(c, "53300", msg);
		return false;
	}
	if (!c->client_tls && c->tls->client_mode >= FS_SSLMODE_REQUIRE) {
		snprintf(msg, sizeof(msg),
		         "foreshard: TLS is required (client_tls_sslmode = %s); connect with "
		         "sslmode=require or stronger",
		         fs_sslmode_str(c->tls->client_mode));
		proxy_conn_fail(c, "28000", msg);
		return false;
	}
	if (c->client_tls && c->tls->client_mode == FS_SSLMODE_VERIFY_FULL &&
	    !proxy_tls_client_cn_matches(bufferevent_openssl_get_ssl(c->cl), st->user, cn,
	                                 sizeof(cn))) {
		snprintf(
		        msg, sizeof(msg),
		        "foreshard: the client certificate's common name \"%s\" does not match the "
		        "user name \"%s\" (client_tls_sslmode = verify-full)",
		        cn, st->user);
		proxy_conn_fail(c, "28000", msg);
		return false;
	}
	return true;
}

/*
 * Sends the client's start-up packet to a server that is not connected yet, negotiating TLS
 * first when configured.
 */
static void start_server(struct proxy_conn *c, const unsigned char *pkt, uint32_t len)
{
	if (c->tls->server_mode == FS_SSLMODE_DISABLE) {
		c->state = PROXY_CONN_CONNECTING;
		open_server(c, pkt, len);
		return;
	}
	c->startup = malloc(len);
	if (!c->startup) {
		proxy_conn_fail(c, "53200", "foreshard: out of memory");
		return;
	}
	memcpy(c->startup, pkt, len);
	c->startup_len = len;
	c->state = PROXY_CONN_SERVER_SSLREQ;
	open_server(c, ssl_request, sizeof(ssl_request));
}

void proxy_startup_client_read(struct proxy_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->cl);

	while (c->state == PROXY_CONN_STARTUP) {
		size_t avail = evbuffer_get_length(in);
		size_t n = avail < PROXY_STARTUP_MAX ? avail : PROXY_STARTUP_MAX;
		const unsigned char *pkt;
		struct proxy_startup st;

		if (avail < 8)
			return;
		pkt = evbuffer_pullup(in, (ev_ssize_t)n);
		switch (proxy_startup_parse(pkt, n, &st)) {
		case PROXY_STARTUP_NEED_MORE:
			return;
		case PROXY_STARTUP_SSL:
			evbuffer_drain(in, st.len);
			if (c->tls->passthrough && !c->sv && !c->client_tls) {
				pass_ssl_request(c);
				return;
			}
			if (c->tls->client_ctx) {
				accept_tls(c);
				return;
			}
			bufferevent_write(c->cl, "N", 1);
			continue;
		case PROXY_STARTUP_GSSENC:
			/* no GSSAPI encryption: the client may go on in plain text or give up */
			evbuffer_drain(in, st.len);
			bufferevent_write(c->cl, "N", 1);
			continue;
		case PROXY_STARTUP_CANCEL:
			route_cancel(c, st.cancel_pid, st.cancel_key);
			return;
		case PROXY_STARTUP_UNSUPPORTED:
			proxy_conn_fail(c, "0A000",
			                "foreshard: unsupported frontend protocol version");
			return;
		case PROXY_STARTUP_BAD:
			proxy_conn_close(c, st.reason);
			return;
		case PROXY_STARTUP_MESSAGE:
			break;
		}
		snprintf(c->user, sizeof(c->user), "%s", st.user);
		snprintf(c->database, sizeof(c->database), "%s", st.database);
		if (!admit(c, &st))
			return;
		if (c->sv) {
			/* the server answered a relayed SSLRequest with 'N' and waits for this */
			bool ok = bufferevent_write(c->sv, pkt, st.len) == 0;

			evbuffer_drain(in, st.len); /* before the relay reads on from the input */
			if (ok)
				proxy_conn_relay_start(c);
			else
				proxy_conn_fail(c, "53200", "foreshard: out of memory");
			return;
		}
		start_server(c, pkt, st.len);
		evbuffer_drain(in, st.len);
		proxy_conn_log(FS_LOG_DEBUG, c, "start-up relayed");
	}
}

/* ---- server leg ---- */

/* The server answered foreshard's own SSLRequest. */
static void server_tls_answer(struct proxy_conn *c, char answer)
{
	struct bufferevent *bev;
	char msg[160];

	if (answer == 'N') {
		if (c->tls->server_mode >= FS_SSLMODE_REQUIRE) {
			snprintf(msg, sizeof(msg),
			         "foreshard: the PostgreSQL server does not accept TLS "
			         "(server_tls_sslmode = %s)",
			         fs_sslmode_str(c->tls->server_mode));
			proxy_conn_fail(c, "08006", msg);
			return;
		}
		proxy_startup_server_ready(c);
		return;
	}
	if (answer != 'S' || evbuffer_get_length(bufferevent_get_input(c->sv)) != 0) {
		counter_add(&c->w->c.server_errors, 1);
		proxy_conn_fail(c, "08006",
		                "foreshard: the PostgreSQL server answered the TLS request with a "
		                "protocol error");
		return;
	}
	bev = upgrade(c, c->sv, proxy_tls_server_ssl(c->tls), BUFFEREVENT_SSL_CONNECTING);
	if (!bev) {
		proxy_conn_fail(c, "53200", "foreshard: out of memory");
		return;
	}
	c->sv = bev;
	c->state = PROXY_CONN_SERVER_TLS;
	proxy_conn_attach_server(c, bev);
	arm_connect_timer(c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* The server answered a client's relayed SSLRequest (tls_passthrough). */
static void passthrough_answer(struct proxy_conn *c, char answer)
{
	if (answer != 'S' && answer != 'N') {
		counter_add(&c->w->c.server_errors, 1);
		proxy_conn_fail(c, "08006",
		                "foreshard: the PostgreSQL server answered the TLS request with a "
		                "protocol error");
		return;
	}
	if (bufferevent_write(c->cl, &answer, 1) != 0) {
		proxy_conn_close(c, "out of memory");
		return;
	}
	if (answer == 'N') {
		/* the client goes on in the clear: relayed and profiled as any other */
		c->passthrough = false;
		c->state = PROXY_CONN_STARTUP;
		bufferevent_enable(c->cl, EV_READ);
		proxy_startup_client_read(c);
		return;
	}
	c->state = PROXY_CONN_TUNNEL;
	counter_add(&c->w->c.clients_passthrough, 1);
	proxy_conn_log(FS_LOG_DEBUG, c, "TLS passed through to the server");
	bufferevent_enable(c->cl, EV_READ);
	proxy_startup_tunnel(c, c->sv, c->cl);
}

void proxy_startup_server_read(struct proxy_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->sv);
	char answer;

	if (c->state != PROXY_CONN_SERVER_SSLREQ || evbuffer_remove(in, &answer, 1) != 1)
		return;
	if (c->passthrough)
		passthrough_answer(c, answer);
	else
		server_tls_answer(c, answer);
}

void proxy_startup_server_ready(struct proxy_conn *c)
{
	if (c->state == PROXY_CONN_SERVER_TLS) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->sv);

		c->server_tls = true;
		c->same_cert = proxy_tls_same_cert(c->tls, ssl);
	}
	if (bufferevent_write(c->sv, c->startup, c->startup_len) != 0) {
		proxy_conn_fail(c, "53200", "foreshard: out of memory");
		return;
	}
	free(c->startup);
	c->startup = NULL;
	proxy_conn_relay_start(c);
}

void proxy_startup_server_failed(struct proxy_conn *c, short what)
{
	char msg[256], reason[160];

	counter_add(&c->w->c.server_errors, 1);
	if (what & BEV_EVENT_TIMEOUT) {
		snprintf(msg, sizeof(msg),
		         "foreshard: the PostgreSQL server did not answer within "
		         "server_connect_timeout (%u s)",
		         atomic_load_explicit(&c->w->proxy->server_connect_timeout,
		                              memory_order_relaxed));
	} else if (c->state == PROXY_CONN_SERVER_TLS) {
		proxy_tls_error(bufferevent_get_openssl_error(c->sv), "connection closed", reason,
		                sizeof(reason));
		snprintf(msg, sizeof(msg), "foreshard: TLS to the PostgreSQL server failed: %s",
		         reason);
	} else {
		snprintf(msg, sizeof(msg),
		         "foreshard: cannot connect to the PostgreSQL server; check server_host "
		         "and server_port");
	}
	proxy_conn_fail(c, "08006", msg);
}

/* ---- passthrough tunnel ---- */

void proxy_startup_tunnel(struct proxy_conn *c, struct bufferevent *from, struct bufferevent *to)
{
	struct evbuffer *out = bufferevent_get_output(to);

	if (evbuffer_add_buffer(out, bufferevent_get_input(from)) != 0) {
		proxy_conn_close(c, "out of memory");
		return;
	}
	if (evbuffer_get_length(out) > PROXY_BACKLOG_HIGH)
		bufferevent_disable(from, EV_READ);
}
