#pragma once
/*
 * TLS settings of the proxy as OpenSSL objects: the context that terminates clients' TLS (client
 * leg), the context for TLS towards PostgreSQL (server leg), and the checks on certificates that
 * OpenSSL does not make by itself. A struct proxy_tls is built whole from the configuration and
 * never changed; a reload builds a new one and swaps it in, and connections keep a reference to
 * the one they started with (so a certificate reload never disturbs an established session).
 */
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/tlsconf.h"

/* Where the TLS settings come from (strings borrowed for the call; empty = not set). */
struct proxy_tls_config {
	enum fs_sslmode client_mode; /* client_tls_sslmode */
	const char *client_cert_file, *client_key_file, *client_ca_file;
	const char *client_protocols; /* client_tls_protocols */
	enum fs_sslmode server_mode;  /* server_tls_sslmode */
	const char *server_ca_file, *server_cert_file, *server_key_file;
	const char *server_protocols; /* server_tls_protocols */
	bool passthrough;             /* tls_passthrough */
};

struct proxy_tls {
	_Atomic int refs;            /* holders: the proxy's current pointer and connections */
	enum fs_sslmode client_mode; /* as configured */
	enum fs_sslmode server_mode; /* as configured; DISABLE when the server is a Unix socket */
	bool passthrough;            /* relay SSLRequests and TLS sessions to the server */
	SSL_CTX *client_ctx;         /* terminates clients' TLS; NULL when client_mode is DISABLE */
	SSL_CTX *server_ctx;         /* TLS towards the server; NULL when server_mode is DISABLE */
	X509 *client_cert;     /* foreshard's certificate towards clients (owned by client_ctx) */
	char server_host[256]; /* the name or address verify-full checks */
};

/*
 * Builds the settings: reads certificates and keys, checks that each key matches its certificate,
 * and loads the CAs. server_host is the configured server_host (a path for a Unix socket, on which
 * PostgreSQL offers no TLS: prefer and allow then mean plain, require and stronger are refused).
 * Returns a structure with one reference, or NULL with "key 'file': what is wrong" in err.
 */
struct proxy_tls *proxy_tls_new(const struct proxy_tls_config *cfg, const char *server_host,
                                char *err, size_t errlen);

/* Takes one more reference. Any thread. */
void proxy_tls_ref(struct proxy_tls *t);

/* Drops a reference; the last frees the contexts. Any thread; NULL is ignored. */
void proxy_tls_unref(struct proxy_tls *t);

/*
 * A new SSL for the server leg of t: verification of the server's name or address set up for
 * verify-full, SNI for host names. NULL when out of memory.
 */
SSL *proxy_tls_server_ssl(const struct proxy_tls *t);

/*
 * verify-full on the client leg: whether the common name of the client's certificate equals user.
 * Writes the name found (or "(none)") into cn.
 */
bool proxy_tls_client_cn_matches(SSL *ssl, const char *user, char *cn, size_t cnlen);

/*
 * Whether the server presented the same certificate that foreshard presents to clients: then a
 * client's SCRAM channel binding (tls-server-end-point, a hash of that certificate) still
 * matches what the server computes, although the TLS sessions differ.
 */
bool proxy_tls_same_cert(const struct proxy_tls *t, SSL *server_ssl);

/* The reason of the last OpenSSL error of this thread (or fallback), for a log or a client. */
const char *proxy_tls_error(unsigned long code, const char *fallback, char *buf, size_t len);
