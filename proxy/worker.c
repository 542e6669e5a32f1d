/*
 * A proxy worker thread: its event loop, its listening socket, its mailbox of PAUSE/RESUME
 * commands, and the bookkeeping that decides when a pause has drained.
 *
 * DESIGN
 * Each worker owns everything it touches: connections, parser, profile ring (as producer),
 * pause set. Other threads talk to it only through its mailbox, whose eventfd is an event in
 * the worker's base, and learn the outcome of a PAUSE from the worker's acked_seq counter.
 * A worker acknowledges PAUSE number s once no open transaction on any of its connections has
 * touched a paused table; it re-checks whenever a transaction ends or a connection closes.
 * A pause that nobody resumes within pause_limit_ms is released by the worker itself, so a
 * crashed orchestrator can never leave clients waiting forever.
 */
#include "proxy/worker_internal.h"

#include <event2/buffer.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/time.h"

bool proxy_worker_is_paused(const struct proxy_worker *w, uint16_t table_id)
{
	for (int i = 0; i < w->n_paused; i++) {
		if (w->paused[i].table_id == table_id)
			return true;
	}
	return false;
}

void proxy_worker_hold(struct proxy_worker *w, struct proxy_conn *c)
{
	if (c->held)
		return;
	c->held = true;
	c->held_since_us = fs_mono_us();
	c->held_next = NULL;
	if (w->held_tail)
		w->held_tail->held_next = c;
	else
		w->held_head = c;
	w->held_tail = c;
	atomic_fetch_add_explicit(&w->c.held_now, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->c.held_total, 1, memory_order_relaxed);
}

void proxy_worker_check_drained(struct proxy_worker *w)
{
	if (w->want_seq == atomic_load_explicit(&w->acked_seq, memory_order_relaxed))
		return;
	for (struct proxy_conn *c = w->conns; c; c = c->next) {
		for (int i = 0; i < w->n_paused; i++) {
			if (proxy_conn_busy_with(c, w->paused[i].table_id))
				return;
		}
	}
	atomic_store_explicit(&w->acked_seq, w->want_seq, memory_order_release);
}

void proxy_worker_refresh_catalog(struct proxy_worker *w)
{
	uint64_t v = fs_snap_version(w->proxy->catalog_slot);

	if (v == w->cat_version)
		return;
	if (w->cat)
		fs_snap_release(&w->cat->snap);
	w->cat = (struct fs_catalog *)fs_snap_acquire(w->proxy->catalog_slot);
	w->cat_version = v;
	parser_set_catalog(w->parser, w->cat);
}

/* Releases, in arrival order, every held connection whose statement may now go. */
static void release_held(struct proxy_worker *w)
{
	struct proxy_conn *list = w->held_head;

	w->held_head = w->held_tail = NULL;
	while (list) {
		struct proxy_conn *c = list;

		list = c->held_next;
		c->held_next = NULL;
		atomic_fetch_sub_explicit(&w->c.held_now, 1, memory_order_relaxed);
		/* re-inspecting holds it again (at the tail) if another pause still applies */
		proxy_conn_unhold(c);
	}
}

static void remove_pause(struct proxy_worker *w, uint16_t table_id)
{
	for (int i = 0; i < w->n_paused; i++) {
		if (w->paused[i].table_id == table_id) {
			w->paused[i] = w->paused[--w->n_paused];
			release_held(w);
			return;
		}
	}
}

static void handle_cmd(struct proxy_worker *w, const struct proxy_cmd *cmd)
{
	switch (cmd->kind) {
	case PROXY_CMD_PAUSE:
		if (!proxy_worker_is_paused(w, cmd->table_id)) {
			if (w->n_paused == PROXY_MAX_PAUSED) {
				fs_log(FS_LOG_WARN,
				       "worker %u: too many tables paused at once; "
				       "PAUSE of table %u ignored",
				       w->id, cmd->table_id);
				return; /* never acknowledged: the requester times out and resumes */
			}
			w->paused[w->n_paused++] = (struct proxy_pause){
			        .table_id = cmd->table_id,
			        .since_us = fs_mono_us(),
			};
		}
		w->want_seq = cmd->seq;
		proxy_worker_check_drained(w);
		break;
	case PROXY_CMD_RESUME:
		remove_pause(w, cmd->table_id);
		break;
	case PROXY_CMD_CANCEL:
		proxy_conn_cancel(w, cmd->pid, cmd->secret);
		break;
	case PROXY_CMD_STOP_ACCEPT:
		/* closing the socket (not just disabling it) makes new connects fail at once */
		if (w->listener)
			evconnlistener_free(w->listener);
		w->listener = NULL;
		break;
	case PROXY_CMD_STOP:
		event_base_loopbreak(w->base);
		break;
	case PROXY_CMD_ADOPT:
		proxy_conn_accept(w, cmd->fd, (const struct sockaddr *)&cmd->sa, (int)cmd->salen,
		                  false);
		break;
	}
}

static void mbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_worker *w = arg;
	struct proxy_cmd cmd;

	(void)fd;
	(void)what;
	fs_mailbox_ack_wakeup(&w->mbox);
	while (fs_mailbox_recv(&w->mbox, &cmd))
		handle_cmd(w, &cmd);
}

static void clients_snap_destroy(struct fs_snap *s)
{
	free(s);
}

/* Publishes the SHOW CLIENTS rows; called once a second from the tick. */
static void publish_clients(struct proxy_worker *w)
{
	int n = 0;
	struct proxy_clients_snap *s;
	int i = 0;

	for (struct proxy_conn *c = w->conns; c; c = c->next)
		n++;
	s = calloc(1, sizeof(*s) + (size_t)n * sizeof(s->clients[0]));
	if (!s)
		return; /* try again on the next tick */
	fs_snap_init(&s->snap, clients_snap_destroy);
	for (struct proxy_conn *c = w->conns; c; c = c->next, i++) {
		struct proxy_client_info *ci = &s->clients[i];

		ci->worker = w->id;
		memcpy(ci->addr, c->addr, sizeof(ci->addr));
		memcpy(ci->user, c->user, sizeof(ci->user));
		memcpy(ci->database, c->database, sizeof(ci->database));
		snprintf(ci->state, sizeof(ci->state), "%s",
		         c->held                            ? "held"
		         : c->state == PROXY_CONN_TUNNEL    ? "passthrough"
		         : c->state != PROXY_CONN_RELAY     ? "startup"
		         : c->pending_sync || c->txn != 'I' ? "active"
		                                            : "idle");
		snprintf(ci->tls, sizeof(ci->tls), "%s",
		         c->passthrough  ? "passthrough"
		         : c->client_tls ? "on"
		                         : "off");
		ci->txn = c->txn;
		ci->queries = c->queries;
		ci->connect_ms = c->connect_ms;
	}
	s->n = n;
	fs_snap_publish(&w->clients_slot, &s->snap);
}

static void publish_parser_stats(struct proxy_worker *w)
{
	struct parser_stats ps;

	parser_get_stats(w->parser, &ps);
	atomic_store_explicit(&w->c.parse_errors, ps.parse_errors, memory_order_relaxed);
	atomic_store_explicit(&w->c.unkeyed, ps.unkeyed, memory_order_relaxed);
	atomic_store_explicit(&w->c.cache_hits, ps.cache_hits, memory_order_relaxed);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_worker *w = arg;
	uint64_t now = fs_mono_us();
	uint64_t limit = (uint64_t)w->proxy->cfg.pause_limit_ms * 1000;

	(void)fd;
	(void)what;
	for (int i = 0; i < w->n_paused; i++) {
		if (now - w->paused[i].since_us > limit) {
			fs_log(FS_LOG_WARN,
			       "worker %u: pause of table %u exceeded %u ms without a resume; "
			       "releasing held statements",
			       w->id, w->paused[i].table_id, w->proxy->cfg.pause_limit_ms);
			remove_pause(w, w->paused[i].table_id);
			i = -1; /* the array changed */
		}
	}
	for (struct proxy_conn *c = w->conns, *next; c; c = next) {
		next = c->next; /* the check may close c */
		proxy_conn_tick(c, now);
	}
	publish_clients(w);
	publish_parser_stats(w);
}

static uint64_t clients_of(struct proxy_worker *w)
{
	return atomic_load_explicit(&w->c.clients_active, memory_order_relaxed);
}

/*
 * The worker with the fewest clients, w itself unless another has strictly fewer. The kernel
 * spreads connects over the workers' SO_REUSEPORT sockets by a hash of the addresses, which
 * under pgbench -c 64 left one of two workers with up to half as many clients again as the
 * other, and its clients with the longest waits.
 */
static struct proxy_worker *least_loaded(struct proxy_worker *w)
{
	struct proxy *p = w->proxy;
	struct proxy_worker *best = w;
	uint64_t best_n = clients_of(w);

	for (int i = 0; i < p->n_workers; i++) {
		uint64_t n = clients_of(&p->workers[i]);

		if (n < best_n) {
			best = &p->workers[i];
			best_n = n;
		}
	}
	return best;
}

/* Passes client fd to worker to through its mailbox; false (fd still ours) when it is full. */
static bool hand_over(struct proxy_worker *to, int fd, const struct sockaddr *sa, int len)
{
	struct proxy_cmd cmd = {.kind = PROXY_CMD_ADOPT, .fd = fd};

	cmd.salen = (socklen_t)len < sizeof(cmd.sa) ? (socklen_t)len : sizeof(cmd.sa);
	memcpy(&cmd.sa, sa, cmd.salen);
	return fs_mailbox_send(&to->mbox, &cmd);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct proxy_worker *w = arg, *to;
	int one = 1;
	bool full = proxy_clients_active(w->proxy) >= w->proxy->cfg.max_client_conn;

	(void)l;
	if (full)
		fs_log(FS_LOG_WARN, "worker %u: client refused: max_client_conn (%u) reached",
		       w->id, w->proxy->cfg.max_client_conn);
	/* notice clients that vanished without a FIN (a dead host, a dropped NAT entry) */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	/* counted where it will be served before it gets there, so that the next accept sees it */
	to = full ? w : least_loaded(w);
	atomic_fetch_add_explicit(&to->c.clients_active, 1, memory_order_relaxed);
	if (to != w) {
		if (hand_over(to, fd, sa, len))
			return;
		atomic_fetch_sub_explicit(&to->c.clients_active, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&w->c.clients_active, 1, memory_order_relaxed);
	}
	proxy_conn_accept(w, fd, sa, len, full);
}

/*
 * The worker's event base. No other thread ever touches it (commands arrive through the mailbox's
 * eventfd), so it needs no lock. (Not epoll's changelist: a deferred epoll_ctl for a socket this
 * worker closed could land on the same descriptor number reopened meanwhile by another worker.)
 */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

static void *worker_main(void *arg)
{
	struct proxy_worker *w = arg;

	proxy_worker_refresh_catalog(w);
	event_base_dispatch(w->base);
	while (w->conns)
		proxy_conn_close(w->conns, "shutting down");
	return NULL;
}

bool proxy_worker_init(struct proxy_worker *w, struct proxy *p, uint16_t id, int listen_fd,
                       char *err, size_t errlen)
{
	struct timeval one_s = {1, 0};

	memset(w, 0, sizeof(*w));
	w->proxy = p;
	w->id = id;
	atomic_init(&w->acked_seq, 0);
	fs_snap_slot_init(&w->clients_slot);
	w->base = new_base();
	w->parser = parser_create(p->cfg.parser_cache);
	if (!w->base || !w->parser ||
	    !fs_ring_init(&w->ring, p->cfg.ring_size, sizeof(struct fs_profile_event)) ||
	    !fs_mailbox_init(&w->mbox, PROXY_MAILBOX_CAP, sizeof(struct proxy_cmd))) {
		snprintf(err, errlen, "worker %u: out of memory", id);
		close(listen_fd);
		return false;
	}
	w->listener =
	        evconnlistener_new(w->base, accept_cb, w,
	                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, listen_fd);
	if (!w->listener)
		close(listen_fd);
	w->mbox_ev = event_new(w->base, fs_mailbox_fd(&w->mbox), EV_READ | EV_PERSIST, mbox_cb, w);
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
	if (!w->listener || !w->mbox_ev || !w->tick_ev) {
		snprintf(err, errlen, "worker %u: cannot set up its event loop", id);
		return false;
	}
	event_add(w->mbox_ev, NULL);
	event_add(w->tick_ev, &one_s);
	return true;
}

void proxy_worker_cleanup(struct proxy_worker *w)
{
	if (w->listener)
		evconnlistener_free(w->listener);
	if (w->mbox_ev)
		event_free(w->mbox_ev);
	if (w->tick_ev)
		event_free(w->tick_ev);
	if (w->base)
		event_base_free(w->base);
	if (w->cat)
		fs_snap_release(&w->cat->snap);
	if (w->parser)
		parser_destroy(w->parser);
	/* clients handed over after this worker's loop stopped */
	struct proxy_cmd cmd;

	while (fs_mailbox_recv(&w->mbox, &cmd)) {
		if (cmd.kind == PROXY_CMD_ADOPT)
			close(cmd.fd);
	}
	fs_mailbox_cleanup(&w->mbox);
	fs_ring_cleanup(&w->ring);
	fs_snap_slot_cleanup(&w->clients_slot);
}

bool proxy_worker_start(struct proxy_worker *w)
{
	w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
	return w->started;
}
