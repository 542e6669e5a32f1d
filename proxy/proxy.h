#pragma once
/*
 * The proxy: N worker threads, each with its own libevent event_base, its own listening socket
 * on the shared port (SO_REUSEPORT lets the kernel spread connections), its own parser and its
 * own profile ring towards the forecast thread. A worker that accepts a client while another
 * has fewer hands the socket to that one, so the workers serve equal numbers of clients. One
 * client connection maps to one server connection (session mode).
 *
 * Other threads, and the other workers, reach a worker only through its mailbox (PAUSE and
 * RESUME from the orchestrator and the console, ADOPT with a handed-over client socket from
 * another worker) and read only atomically updated counters and published snapshots.
 */
#include <stdbool.h>
#include <stdint.h>

#include "common/ring.h"
#include "common/snap.h"
#include "proxy/tls.h"

/* Pausing every statement instead of one table's (console PAUSE with no table). */
#define PROXY_PAUSE_ALL 0xfffeu

struct proxy_config {
	const char *listen_addr; /* numeric IPv4/IPv6 address */
	uint16_t listen_port;
	const char *server_host; /* numeric address, host name, or Unix socket directory */
	uint16_t server_port;
	uint32_t workers;         /* >= 1 */
	uint32_t ring_size;       /* profile events per worker ring */
	uint32_t parser_cache;    /* template cache entries per worker */
	uint32_t pause_limit_ms;  /* a worker resumes a pause by itself after this long */
	uint32_t max_client_conn; /* clients at once; one more is refused with 53300 */
	struct proxy_timeouts {
		uint32_t server_connect; /* s for a new server connection to answer; 0 = none */
		uint32_t client_idle;    /* s a client may idle outside a transaction; 0 = none */
		uint32_t query_wait;     /* s a statement may be held by a pause; 0 = none */
		uint32_t client_login;   /* s from accept to authenticated; 0 = none */
	} timeouts;
	struct proxy_tls *tls; /* TLS settings (proxy_tls_new); proxy_create takes a reference */
};

/* Totals over all workers, for SHOW STATS. */
struct proxy_stats {
	uint64_t clients_active;      /* client connections open now */
	uint64_t clients_total;       /* accepted since start */
	uint64_t queries;             /* simple queries and extended executions relayed */
	uint64_t parse_errors;        /* statements libpg_query rejected (relayed anyway) */
	uint64_t unkeyed;             /* managed-table statements without a key predicate */
	uint64_t cache_hits;          /* statements served from the template cache */
	uint64_t events_sent;         /* profile events pushed to the rings */
	uint64_t events_dropped;      /* profile events dropped because a ring was full */
	uint64_t oversized;           /* messages too large to inspect, relayed unread */
	uint64_t held_now;            /* connections holding a statement for a pause */
	uint64_t held_total;          /* statements ever held */
	uint64_t max_hold_us;         /* longest hold */
	uint64_t server_errors;       /* server connections that failed or closed unexpectedly */
	uint64_t clients_tls;         /* clients whose TLS session foreshard terminated */
	uint64_t clients_passthrough; /* clients whose TLS session was relayed to the server */
};

/* One client for SHOW CLIENTS. */
struct proxy_client_info {
	uint16_t worker; /* worker id */
	char addr[64];   /* client address:port */
	char user[64];   /* from the startup packet */
	char database[64];
	char state[16];      /* startup, idle, active, held, passthrough */
	char tls[12];        /* on (terminated by foreshard), off, or passthrough */
	char txn;            /* last ReadyForQuery status: I, T or E */
	uint64_t queries;    /* statements relayed for this client */
	uint64_t connect_ms; /* wall clock at accept */
};

/* SHOW CLIENTS snapshot published by each worker about once a second. */
struct proxy_clients_snap {
	struct fs_snap snap;                /* must be first */
	int n;                              /* entries used */
	struct proxy_client_info clients[]; /* n entries */
};

struct proxy;

/*
 * Creates the workers and binds their listening sockets (so start-up errors such as a port in
 * use are reported here, before any thread starts). catalog_slot is borrowed for the proxy's
 * life. Returns NULL with a message in err.
 */
struct proxy *proxy_create(const struct proxy_config *cfg, struct fs_snap_slot *catalog_slot,
                           char *err, size_t errlen);

/* Starts the worker threads. Returns false with err on failure. */
__attribute__((warn_unused_result)) bool proxy_start(struct proxy *p, char *err, size_t errlen);

/* The per-worker profile rings, for the forecast thread (the only consumer). */
struct fs_ring *const *proxy_rings(struct proxy *p, int *n);

/*
 * Asks every worker to hold new statements touching table_id (or PROXY_PAUSE_ALL) and waits until
 * no transaction touching it is in flight anywhere. Returns false if that did not happen within
 * timeout_ms, in which case the pause is released again. Blocks the calling thread (orchestrator);
 * never call it from a worker.
 */
bool proxy_pause(struct proxy *p, uint16_t table_id, uint32_t timeout_ms);

/* Sends PAUSE without waiting for it to drain (console). False if a mailbox is full. */
bool proxy_pause_async(struct proxy *p, uint16_t table_id);

/* Releases held statements of table_id in arrival order. Any thread except workers. */
void proxy_resume(struct proxy *p, uint16_t table_id);

/*
 * Makes every worker stop accepting new clients; connected clients go on (SIGTERM drain). Any
 * thread except workers.
 */
void proxy_stop_accepting(struct proxy *p);

/*
 * Replaces the TLS settings (SIGHUP, after proxy_tls_new re-read the files); takes a reference.
 * Clients that connect afterwards get the new ones; sessions already open keep theirs. Any thread
 * except workers.
 */
void proxy_set_tls(struct proxy *p, struct proxy_tls *t);

/* Applies new timeouts; connections see them at their next check. Any thread. */
void proxy_set_timeouts(struct proxy *p, const struct proxy_timeouts *t);

/* Sums the workers' counters. Any thread. */
void proxy_get_stats(struct proxy *p, struct proxy_stats *out);

/* Number of workers, and the slot where worker i publishes its clients. */
int proxy_workers(const struct proxy *p);
struct fs_snap_slot *proxy_clients_slot(struct proxy *p, int worker);

/* Stops accepting, closes every connection, joins the threads and frees everything. */
void proxy_destroy(struct proxy *p);
