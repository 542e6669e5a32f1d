#pragma once
/*
 * Private to proxy/: the worker and connection structs shared by worker.c (thread, listener,
 * pause commands), conn.c (one client/server pair) and proxy.c (the public API over workers).
 */
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/catalog.h"
#include "common/mailbox.h"
#include "common/ring.h"
#include "common/snap.h"
#include "parser/parser.h"
#include "proxy/frame.h"
#include "proxy/proxy.h"
#include "proxy/stmts.h"
#include "proxy/tls.h"

#define PROXY_MAX_PAUSED 8            /* tables paused at once per worker */
#define PROXY_TXN_TABLES 8            /* managed tables tracked per open transaction */
#define PROXY_INFLIGHT 32             /* statements awaiting completion per connection */
#define PROXY_BACKLOG_HIGH (1u << 20) /* stop reading a side when the other's output exceeds */
#define PROXY_READ_SIZE 16384         /* bytes asked of a plain socket per read (rbuf) */
#define PROXY_MAILBOX_CAP 256         /* commands queued per worker; a burst of hand-overs */

/* Commands a worker receives in its mailbox. */
enum proxy_cmd_kind {
	PROXY_CMD_PAUSE = 0,   /* hold new statements touching table_id */
	PROXY_CMD_RESUME,      /* release them */
	PROXY_CMD_STOP_ACCEPT, /* stop accepting new clients (shutdown drain) */
	PROXY_CMD_CANCEL,      /* a CancelRequest for one of this worker's connections */
	PROXY_CMD_STOP,        /* close everything and leave the event loop */
	PROXY_CMD_ADOPT,       /* serve a client another worker accepted (balancing) */
};

struct proxy_cmd {
	enum proxy_cmd_kind kind;
	uint16_t table_id; /* PAUSE, RESUME: a catalog id or PROXY_PAUSE_ALL */
	uint64_t seq;      /* PAUSE: sequence number to acknowledge */
	int32_t pid;       /* CANCEL: the server backend's pid, as the client knows it */
	uint32_t secret;   /* CANCEL: the secret foreshard gave that client */
	int fd;            /* ADOPT: the accepted socket, owned by the message */
	socklen_t salen;   /* ADOPT: the client's address */
	struct sockaddr_storage sa;
};

/* A table this worker is holding statements for. */
struct proxy_pause {
	uint16_t table_id; /* catalog id or PROXY_PAUSE_ALL */
	uint64_t since_us; /* monotonic; the worker resumes by itself after pause_limit_ms */
};

/*
 * Counters a worker updates and the console sums; relaxed atomics, written only by the owner,
 * except clients_active: the worker that accepts a client counts it for the worker it hands the
 * client to, so that the next accept on any worker already sees it.
 */
struct proxy_counters {
	_Atomic uint64_t clients_active, clients_total, queries, events_sent, events_dropped,
	        oversized, held_now, held_total, max_hold_us, server_errors, clients_tls,
	        clients_passthrough;
	/* copied from the worker's parser once a second (the parser is not shared) */
	_Atomic uint64_t parse_errors, unkeyed, cache_hits;
};

enum proxy_conn_state {
	PROXY_CONN_STARTUP = 0,   /* reading the client's start-up packet */
	PROXY_CONN_CLIENT_TLS,    /* TLS handshake with the client */
	PROXY_CONN_CONNECTING,    /* waiting for the server connection (no TLS on that leg) */
	PROXY_CONN_SERVER_SSLREQ, /* waiting for the server's answer to an SSLRequest */
	PROXY_CONN_SERVER_TLS,    /* TLS handshake with the server */
	PROXY_CONN_RELAY,         /* authenticating or authenticated: messages flow both ways */
	PROXY_CONN_TUNNEL,        /* tls_passthrough: bytes relayed unread both ways */
};

/* A statement awaiting completion, in the order the server will answer. */
enum proxy_flight_kind {
	PROXY_FLIGHT_QUERY = 0, /* simple Query: completes at ReadyForQuery */
	PROXY_FLIGHT_EXECUTE,   /* Execute: completes at CommandComplete/PortalSuspended/error */
	PROXY_FLIGHT_SYNC,      /* Sync or FunctionCall: answered by ReadyForQuery */
};

struct proxy_flight {
	enum proxy_flight_kind kind;
	uint64_t start_us;       /* monotonic, at the first message */
	uint64_t start_wall_us;  /* wall clock, for the profile event */
	uint32_t rows;           /* rows so far, from CommandComplete */
	bool error;              /* ended in ErrorResponse */
	struct parser_stmt stmt; /* what the parser found (QUERY, EXECUTE) */
};

struct proxy_worker;

struct proxy_conn {
	struct proxy_worker *w;
	struct proxy_conn *prev, *next; /* the worker's list of connections */
	struct proxy_conn *held_next;   /* the worker's FIFO of held connections */
	enum proxy_conn_state state;
	struct bufferevent *cl;      /* client side */
	struct bufferevent *sv;      /* server side, once connecting */
	struct event *cl_rd;         /* reads cl's plain socket once logged in (conn.c), or NULL */
	struct event *sv_rd;         /* reads sv's plain socket once logged in, or NULL */
	int cl_fd;                   /* the client's socket */
	int sv_fd;                   /* the server's plain socket once sv_rd reads it, else -1 */
	struct proxy_stream up;      /* client -> server splitter */
	struct proxy_stream down;    /* server -> client splitter */
	char addr[64];               /* client address:port for logs and SHOW CLIENTS */
	char user[64], database[64]; /* from the start-up packet */
	uint64_t connect_ms;         /* wall clock */
	uint64_t queries;            /* statements relayed */
	char txn;                    /* last ReadyForQuery status */
	int pending_sync;            /* ReadyForQuery messages still to come */
	int copy_syncs;              /* Syncs since the last Query/Execute/FunctionCall: if that
					started a COPY FROM STDIN, the server ignores them */
	int n_txn_tables;            /* managed tables the open transaction touched */
	uint16_t txn_tables[PROXY_TXN_TABLES];
	bool held;              /* a statement waits in cl's input for a resume */
	uint64_t held_since_us; /* monotonic */
	bool closing;           /* closes once the client's output is written */
	bool logged_in;         /* the server sent its first ReadyForQuery */
	uint64_t accept_us;     /* monotonic, at accept: client_login_timeout counts from here */
	struct proxy_tls *tls;  /* TLS settings at accept (a reference) */
	bool client_tls;        /* the client's TLS session ends at foreshard */
	bool server_tls;        /* the server leg uses TLS */
	bool same_cert;         /* the server's certificate is the one clients see */
	bool passthrough;       /* the client's SSLRequest went to the server */
	bool sasl_check;        /* the next 'p' is a SASLInitialResponse to check */
	bool sv_timer;          /* server_connect_timeout armed on sv */
	const char *fail_msg;   /* set by an inspector: refuse with this (static) message */
	unsigned char *startup; /* the client's start-up packet while the server leg negotiates */
	uint32_t startup_len;
	uint64_t idle_since_us; /* monotonic: when the session last became idle */
	bool refuse;            /* over max_client_conn: refused after its start-up packet */
	uint32_t key_secret;    /* the cancel secret foreshard gave the client instead */
	int32_t server_pid;     /* the backend's pid (the client sees the same) */
	int32_t server_secret;  /* the backend's own cancel secret, never shown to the client */
	bool have_key;          /* the server sent BackendKeyData */
	struct proxy_flight flights[PROXY_INFLIGHT]; /* ring of statements awaiting completion */
	uint32_t flight_head, flight_count;
	bool flights_lost;        /* overflowed: profiling resumes at the next idle point */
	struct proxy_stmts stmts; /* prepared statements and the unnamed portal */
	bool in_batch;            /* extended messages seen since the last Sync */
	uint64_t batch_start_us;  /* monotonic, first message of the current batch */
	uint64_t batch_start_wall_us;
};

struct proxy_worker {
	struct proxy *proxy;
	uint16_t id;
	pthread_t thread;
	bool started; /* thread is running and must be joined */
	struct event_base *base;
	struct evconnlistener *listener;
	struct fs_mailbox mbox; /* struct proxy_cmd from other threads */
	struct event *mbox_ev;  /* fires when the mailbox's eventfd is readable */
	struct event *tick_ev;  /* once a second: clients snapshot, pause limit */
	struct fs_ring ring;    /* profile events to the forecast thread */
	struct parser *parser;
	struct fs_catalog *cat;                   /* acquired catalog, or NULL */
	uint64_t cat_version;                     /* slot version cat came from */
	struct proxy_conn *conns;                 /* all connections */
	struct proxy_conn *held_head, *held_tail; /* connections holding a statement, FIFO */
	struct proxy_conn **slots; /* connections by slot, for cancel routing; NULL = free */
	uint32_t n_slots;          /* slots in use or used before (high-water mark) */
	uint32_t cap_slots;        /* allocated entries */
	uint32_t *free_slots;      /* stack of released slot numbers */
	uint32_t n_free_slots;
	struct proxy_pause paused[PROXY_MAX_PAUSED];
	int n_paused;
	uint64_t want_seq;          /* latest PAUSE seq received */
	_Atomic uint64_t acked_seq; /* latest PAUSE seq whose tables drained here */
	struct proxy_counters c;
	struct fs_snap_slot clients_slot; /* SHOW CLIENTS, republished every tick */
	/* what one recv on a plain socket brought, relayed from here (conn.c); free between reads */
	unsigned char rbuf[PROXY_READ_SIZE];
};

struct proxy {
	struct proxy_config cfg;
	pthread_mutex_t tls_mu; /* guards tls: workers take references, reloads swap it */
	struct proxy_tls *tls;  /* current TLS settings */
	_Atomic uint32_t server_connect_timeout, client_idle_timeout, query_wait_timeout,
	        client_login_timeout;
	struct fs_snap_slot *catalog_slot; /* borrowed */
	struct sockaddr_storage server_addr;
	socklen_t server_addrlen;
	int n_workers;
	struct proxy_worker *workers;
	struct fs_ring **rings; /* &workers[i].ring, for proxy_rings */
	_Atomic uint64_t pause_seq;
};

/* proxy.c */
/* Clients connected to all workers, counting those on their way to a worker. */
uint64_t proxy_clients_active(struct proxy *p);

/* Logs a line about connection c with its address, user and database as prefix. */
#define proxy_conn_log(level, c, fmt, ...)                                                         \
	fs_log(level, "C-%p %s %s/%s: " fmt, (void *)(c), (c)->addr, (c)->user, (c)->database,     \
	       ##__VA_ARGS__)

/* proxy.c: a reference to the current TLS settings (proxy_tls_unref when done). */
struct proxy_tls *proxy_tls_acquire(struct proxy *p);

/* conn.c */
/*
 * Takes over an accepted socket, which the caller has already counted in w->c.clients_active.
 * With refuse set (max_client_conn reached), the client is answered after its start-up packet
 * with "too many clients" (53300) and closed, as PostgreSQL does.
 */
void proxy_conn_accept(struct proxy_worker *w, int fd, const struct sockaddr *sa, int salen,
                       bool refuse);
void proxy_conn_close(struct proxy_conn *c, const char *reason);
/* Sends a FATAL ErrorResponse to the client and closes once it is written. */
void proxy_conn_fail(struct proxy_conn *c, const char *sqlstate, const char *msg);
/* The server connection is up (start-up packet sent or queued): messages flow from now on. */
void proxy_conn_relay_start(struct proxy_conn *c);
/* Sets the client-side or server-side callbacks on bev (a new one after a TLS upgrade). */
void proxy_conn_attach_client(struct proxy_conn *c, struct bufferevent *bev);
void proxy_conn_attach_server(struct proxy_conn *c, struct bufferevent *bev);
/* Once a second: client_login_timeout, client_idle_timeout and query_wait_timeout. May close
 * (free) c. */
void proxy_conn_tick(struct proxy_conn *c, uint64_t now_us);
/* Re-runs the client side of a connection whose statement was held; called on resume. */
void proxy_conn_unhold(struct proxy_conn *c);
/* True when the open transaction of c touched table_id (any table for PROXY_PAUSE_ALL). */
bool proxy_conn_busy_with(const struct proxy_conn *c, uint16_t table_id);

/*
 * conn.c: relays a CancelRequest to the server for this worker's connection to backend pid whose
 * client was given secret, if there is one.
 */
void proxy_conn_cancel(struct proxy_worker *w, int32_t pid, uint32_t secret);

/* startup.c: the connection before messages flow */
/* Reads start-up packets from the client (STARTUP state). May close (free) c. */
void proxy_startup_client_read(struct proxy_conn *c);
/* The client's TLS handshake finished. */
void proxy_startup_client_tls_done(struct proxy_conn *c);
/* Reads the server's answer to an SSLRequest (SERVER_SSLREQ state). */
void proxy_startup_server_read(struct proxy_conn *c);
/* The server leg is ready for the start-up packet (TLS up, or refused where allowed). */
void proxy_startup_server_ready(struct proxy_conn *c);
/* The server connection failed or timed out before the relay began: tells the client why. */
void proxy_startup_server_failed(struct proxy_conn *c, short what);
/* Passthrough: moves what from received to to, unread, with backpressure. */
void proxy_startup_tunnel(struct proxy_conn *c, struct bufferevent *from, struct bufferevent *to);

/* worker.c */
/* Sets up w around an already bound listening socket (taken over). False with err. */
bool proxy_worker_init(struct proxy_worker *w, struct proxy *p, uint16_t id, int listen_fd,
                       char *err, size_t errlen);
bool proxy_worker_start(struct proxy_worker *w);
/* Frees what init made; the thread must have been joined. */
void proxy_worker_cleanup(struct proxy_worker *w);
bool proxy_worker_is_paused(const struct proxy_worker *w, uint16_t table_id);
void proxy_worker_hold(struct proxy_worker *w, struct proxy_conn *c);
/* Called when a transaction ends: acknowledges a pending PAUSE once nothing blocks it. */
void proxy_worker_check_drained(struct proxy_worker *w);
/* Makes w->cat current with the catalog slot; cheap when nothing changed. */
void proxy_worker_refresh_catalog(struct proxy_worker *w);
