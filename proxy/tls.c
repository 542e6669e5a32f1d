/*
 * OpenSSL contexts for both legs and the certificate checks of proxy/tls.h. Errors name the
 * configuration key and the file, since the person reading them is fixing a config file (at
 * start-up) or a certificate rotation (on SIGHUP).
 */
#include "proxy/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *proxy_tls_error(unsigned long code, const char *fallback, char *buf, size_t len)
{
	const char *reason = code ? ERR_reason_error_string(code) : NULL;

	snprintf(buf, len, "%s", reason ? reason : fallback);
	return buf;
}

/* Checks that a file can be read, so that a typo gets the system's words, not OpenSSL's. */
static bool readable(const char *key, const char *path, char *err, size_t errlen)
{
	if (access(path, R_OK) == 0)
		return true;
	snprintf(err, errlen, "%s '%s': %s", key, path, strerror(errno));
	return false;
}

/* Reports the OpenSSL error queue's first entry for key 'path' and empties the queue. */
static bool ssl_fail(const char *key, const char *path, const char *what, char *err, size_t errlen)
{
	char reason[256];

	proxy_tls_error(ERR_get_error(), "unknown OpenSSL error", reason, sizeof(reason));
	ERR_clear_error();
	snprintf(err, errlen, "%s '%s': %s: %s", key, path, what, reason);
	return false;
}

static bool set_protocols(SSL_CTX *ctx, const char *key, const char *value, char *err,
                          size_t errlen)
{
	char why[256];
	unsigned set;

	if (!fs_tls_protocols_parse(value, &set, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s, got '%s'", key, why, value);
		return false;
	}
	/* the accepted versions are contiguous, so a range says it all */
	SSL_CTX_set_min_proto_version(ctx, (set & FS_TLS_V1_2) ? TLS1_2_VERSION : TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, (set & FS_TLS_V1_3) ? TLS1_3_VERSION : TLS1_2_VERSION);
	return true;
}

/* Loads a certificate chain and its key into ctx and checks that they belong together. */
static bool load_cert(SSL_CTX *ctx, const char *cert_key, const char *cert, const char *key_key,
                      const char *key, char *err, size_t errlen)
{
	if (!readable(cert_key, cert, err, errlen) || !readable(key_key, key, err, errlen))
		return false;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return ssl_fail(cert_key, cert, "cannot load the certificate", err, errlen);
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		return ssl_fail(key_key, key, "cannot load the private key", err, errlen);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ssl_fail(key_key, key, "the key does not match the certificate", err,
		                errlen);
	return true;
}

static bool load_ca(SSL_CTX *ctx, const char *key, const char *ca, char *err, size_t errlen)
{
	if (!readable(key, ca, err, errlen))
		return false;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return ssl_fail(key, ca, "cannot load the CA certificates", err, errlen);
	return true;
}

static SSL_CTX *client_leg_ctx(const struct proxy_tls_config *cfg, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "foreshard";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		snprintf(err, errlen, "client TLS: out of memory");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* resumed sessions must be tied to this context, or verify modes refuse to resume */
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (!set_protocols(ctx, "client_tls_protocols", cfg->client_protocols, err, errlen) ||
	    !load_cert(ctx, "client_tls_cert_file", cfg->client_cert_file, "client_tls_key_file",
	               cfg->client_key_file, err, errlen))
		goto fail;
	if (cfg->client_mode >= FS_SSLMODE_VERIFY_CA) {
		STACK_OF(X509_NAME) * names;

		if (!load_ca(ctx, "client_tls_ca_file", cfg->client_ca_file, err, errlen))
			goto fail;
		/* tell clients which CA to pick a certificate for */
		names = SSL_load_client_CA_file(cfg->client_ca_file);
		if (names)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL_CTX *server_leg_ctx(const struct proxy_tls_config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx) {
		snprintf(err, errlen, "server TLS: out of memory");
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	if (!set_protocols(ctx, "server_tls_protocols", cfg->server_protocols, err, errlen))
		goto fail;
	if (cfg->server_cert_file[0] &&
	    !load_cert(ctx, "server_tls_cert_file", cfg->server_cert_file, "server_tls_key_file",
	               cfg->server_key_file, err, errlen))
		goto fail;
	if (cfg->server_ca_file[0] &&
	    !load_ca(ctx, "server_tls_ca_file", cfg->server_ca_file, err, errlen))
		goto fail;
	/* require and below encrypt without checking who answers, as libpq does */
	SSL_CTX_set_verify(
	        ctx, cfg->server_mode >= FS_SSLMODE_VERIFY_CA ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
	        NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

struct proxy_tls *proxy_tls_new(const struct proxy_tls_config *cfg, const char *server_host,
                                char *err, size_t errlen)
{
	struct proxy_tls *t = calloc(1, sizeof(*t));
	bool unix_socket = server_host[0] == '/';

	if (!t) {
		snprintf(err, errlen, "TLS: out of memory");
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->client_mode = cfg->client_mode;
	t->server_mode = unix_socket ? FS_SSLMODE_DISABLE : cfg->server_mode;
	t->passthrough = cfg->passthrough;
	snprintf(t->server_host, sizeof(t->server_host), "%s", server_host);
	if (unix_socket && cfg->server_mode >= FS_SSLMODE_REQUIRE) {
		snprintf(err, errlen,
		         "server_tls_sslmode = %s: server_host '%s' is a Unix socket directory, on "
		         "which PostgreSQL offers no TLS; use prefer or disable, or a TCP address",
		         fs_sslmode_str(cfg->server_mode), server_host);
		goto fail;
	}
	if (unix_socket && cfg->passthrough) {
		snprintf(err, errlen,
		         "tls_passthrough = on: server_host '%s' is a Unix socket directory, on "
		         "which PostgreSQL offers no TLS; give a TCP address",
		         server_host);
		goto fail;
	}
	if (t->client_mode != FS_SSLMODE_DISABLE) {
		t->client_ctx = client_leg_ctx(cfg, err, errlen);
		if (!t->client_ctx)
			goto fail;
		t->client_cert = SSL_CTX_get0_certificate(t->client_ctx);
	}
	if (t->server_mode != FS_SSLMODE_DISABLE) {
		t->server_ctx = server_leg_ctx(cfg, err, errlen);
		if (!t->server_ctx)
			goto fail;
	}
	return t;
fail:
	proxy_tls_unref(t);
	return NULL;
}

void proxy_tls_ref(struct proxy_tls *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void proxy_tls_unref(struct proxy_tls *t)
{
	if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	SSL_CTX_free(t->client_ctx);
	SSL_CTX_free(t->server_ctx);
	free(t);
}

SSL *proxy_tls_server_ssl(const struct proxy_tls *t)
{
	SSL *ssl = SSL_new(t->server_ctx);
	unsigned char addr[sizeof(struct in6_addr)];
	bool is_ip = inet_pton(AF_INET, t->server_host, addr) == 1 ||
	             inet_pton(AF_INET6, t->server_host, addr) == 1;

	if (!ssl)
		return NULL;
	if (t->server_mode == FS_SSLMODE_VERIFY_FULL) {
		/* an address is matched against the certificate's IP entries, a name against DNS */
		int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->server_host)
		               : SSL_set1_host(ssl, t->server_host);

		if (ok != 1) {
			SSL_free(ssl);
			return NULL;
		}
	}
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, t->server_host);
	return ssl;
}

bool proxy_tls_client_cn_matches(SSL *ssl, const char *user, char *cn, size_t cnlen)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	int n = peer ? X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
	                                         (int)cnlen)
	             : -1;

	if (n < 0) {
		snprintf(cn, cnlen, "(none)");
		return false;
	}
	/* a NUL inside the name would make it compare equal to a prefix */
	return (size_t)n == strlen(cn) && strcmp(cn, user) == 0;
}

bool proxy_tls_same_cert(const struct proxy_tls *t, SSL *server_ssl)
{
	X509 *peer = SSL_get0_peer_certificate(server_ssl);

	return peer && t->client_cert && X509_cmp(peer, t->client_cert) == 0;
}
