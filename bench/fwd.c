/*
 * fs-fwd: a bare TCP byte forwarder, the floor a PostgreSQL proxy is measured against in
 * bench/proxy.sh. It accepts a connection, connects to the upstream, and copies bytes both ways
 * without looking at them; whatever foreshard or PgBouncer costs beyond this is their own work,
 * not the extra hop. Each of N threads runs one level-triggered epoll loop with its own
 * SO_REUSEPORT listener (so the kernel spreads the clients, as it does for foreshard's workers).
 * A half owns one socket and the bytes read from it that its peer has not yet taken; while those
 * are pending it stops reading, so a slow reader slows its writer instead of growing a buffer.
 *
 *   fs-fwd LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT [THREADS]
 *
 * UPSTREAM_HOST is an IPv4 address, or a directory holding PostgreSQL's socket .s.PGSQL.<port>.
 * THREADS defaults to the number of online cores. Listens on 127.0.0.1 only; runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum {
	FWD_BUF = 65536,
	FWD_EVENTS = 64
};

/* One direction of a forwarded connection, named for the socket it reads from. */
struct fwd_half {
	int fd;                /* the socket this half reads from and its peer writes to */
	struct fwd_half *peer; /* the other socket of the same connection */
	unsigned mask;         /* epoll events currently registered for fd, to skip no-op MODs */
	bool upstream;     /* the server side: the pair is one allocation starting at the client */
	bool closed;       /* set when the pair is torn down, so later events in a batch skip it */
	size_t len, off;   /* buf[off, len) was read from fd and is still owed to peer->fd */
	char buf[FWD_BUF]; /* bytes in flight from fd to peer->fd */
};

/* Upstream address, shared read-only by every thread after main fills it. */
static struct sockaddr_storage fwd_up;
static socklen_t fwd_up_len;
static int fwd_listen_port;

static void fwd_die(const char *what)
{
	perror(what);
	exit(1);
}

/* Registers fd for reading while its own buffer is empty and for writing while its peer owes it
 * bytes; returns false if epoll refuses, which only happens on a bug or exhausted memory. */
static bool fwd_arm(int ep, struct fwd_half *h)
{
	unsigned want = (h->len == 0 ? EPOLLIN : 0) | (h->peer->len > 0 ? EPOLLOUT : 0);
	struct epoll_event ev = {.events = want, .data.ptr = h};

	if (want == h->mask)
		return true;
	h->mask = want;
	return epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &ev) == 0;
}

/* Writes what h owes its peer; returns false when the peer's socket failed. */
static bool fwd_flush(struct fwd_half *h)
{
	while (h->off < h->len) {
		ssize_t n = write(h->peer->fd, h->buf + h->off, h->len - h->off);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		h->off += (size_t)n;
	}
	h->off = h->len = 0;
	return true;
}

/* Handles readiness of h's socket; returns false when the connection is over. */
static bool fwd_event(struct fwd_half *h, unsigned events)
{
	if ((events & EPOLLOUT) && !fwd_flush(h->peer))
		return false;
	/* A socket that failed or hung up while its bytes wait for the peer would be reported again
	 * on every wait; the connection is finished either way. */
	if ((events & (EPOLLHUP | EPOLLERR)) && h->len > 0)
		return false;
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && h->len == 0) {
		ssize_t n = read(h->fd, h->buf, sizeof(h->buf));

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		h->len = n > 0 ? (size_t)n : 0;
		if (!fwd_flush(h))
			return false;
	}
	return true;
}

/* Makes fd non-blocking once it is connected; returns false if fcntl fails. */
static bool fwd_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* Connects to the upstream for one accepted client and registers both sockets; if any step
 * fails the client is closed, as a refusing server would leave it. The connect blocks: the
 * upstream is local, and pgbench opens its connections before the measured interval. */
static void fwd_open(int ep, int cfd)
{
	int one = 1, sfd = socket(fwd_up.ss_family, SOCK_STREAM, 0);
	struct fwd_half *c = calloc(2, sizeof(*c)), *s;
	struct epoll_event ev = {.events = EPOLLIN};

	if (sfd < 0 || !c || connect(sfd, (struct sockaddr *)&fwd_up, fwd_up_len) < 0)
		goto fail;
	s = c + 1;
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fwd_up.ss_family == AF_INET)
		setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!fwd_nonblock(cfd) || !fwd_nonblock(sfd))
		goto fail;
	/* calloc zeroed the rest: both buffers empty, so both sockets start out read-only. */
	c->fd = cfd;
	c->peer = s;
	c->mask = EPOLLIN;
	s->fd = sfd;
	s->peer = c;
	s->mask = EPOLLIN;
	s->upstream = true;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) < 0)
		goto fail;
	ev.data.ptr = s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		goto fail; /* closing cfd below also takes it out of the epoll set */
	return;
fail:
	close(cfd);
	if (sfd >= 0)
		close(sfd);
	free(c);
}

/* One worker: its own listener and epoll set; never returns. */
static void *fwd_thread(void *arg)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(fwd_listen_port)};
	struct epoll_event evs[FWD_EVENTS], lev = {.events = EPOLLIN, .data.ptr = NULL};
	struct fwd_half *dead[FWD_EVENTS];
	int one = 1, ep = epoll_create1(0), lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ep < 0 || lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1024) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0)
		fwd_die("fs-fwd: listen");
	for (;;) {
		int n = epoll_wait(ep, evs, FWD_EVENTS, -1), ndead = 0;

		if (n < 0 && errno != EINTR)
			fwd_die("fs-fwd: epoll_wait");
		for (int i = 0; i < n; i++) {
			struct fwd_half *h = evs[i].data.ptr;
			int cfd;

			if (!h) {
				while ((cfd = accept(lfd, NULL, NULL)) >= 0)
					fwd_open(ep, cfd);
				continue;
			}
			if (h->closed)
				continue;
			if (fwd_event(h, evs[i].events) && fwd_arm(ep, h) && fwd_arm(ep, h->peer))
				continue;
			/* The pair is over: later events of this batch may still name it, so it
			 * is freed only after the batch. */
			h->closed = h->peer->closed = true;
			close(h->fd);
			close(h->peer->fd);
			dead[ndead++] = h->upstream ? h->peer : h;
		}
		for (int i = 0; i < ndead; i++)
			free(dead[i]);
	}
	return arg;
}

int main(int argc, char **argv)
{
	long nthreads = argc > 4 ? atol(argv[4]) : sysconf(_SC_NPROCESSORS_ONLN);
	struct sockaddr_in *in = (struct sockaddr_in *)&fwd_up;
	struct sockaddr_un *un = (struct sockaddr_un *)&fwd_up;
	pthread_t tid;

	if (argc < 4 || argc > 5 || nthreads < 1) {
		fprintf(stderr,
		        "usage: fs-fwd LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT [THREADS]\n");
		return 2;
	}
	fwd_listen_port = atoi(argv[1]);
	if (argv[2][0] == '/') {
		un->sun_family = AF_UNIX;
		if (snprintf(un->sun_path, sizeof(un->sun_path), "%s/.s.PGSQL.%s", argv[2],
		             argv[3]) >= (int)sizeof(un->sun_path)) {
			fprintf(stderr, "fs-fwd: socket path too long\n");
			return 2;
		}
		fwd_up_len = sizeof(*un);
	} else {
		in->sin_family = AF_INET;
		in->sin_port = htons(atoi(argv[3]));
		if (inet_pton(AF_INET, argv[2], &in->sin_addr) != 1) {
			fprintf(stderr, "fs-fwd: %s is not an IPv4 address or a directory\n",
			        argv[2]);
			return 2;
		}
		fwd_up_len = sizeof(*in);
	}
	for (long i = 1; i < nthreads; i++)
		if (pthread_create(&tid, NULL, fwd_thread, NULL) != 0)
			fwd_die("fs-fwd: pthread_create");
	fwd_thread(NULL);
	return 0;
}
