/*
 * proxy/tls: building the TLS settings from files (every refusal names the key and the file),
 * the Unix-socket rules, the client certificate's common name for verify-full, and the
 * same-certificate test behind SCRAM channel binding. The certificates come from tools/certs.sh.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/tls.h"

static char dir[64];
static char path_buf[16][256];
static int n_paths;

/* dir/name, in a buffer that lives until the test ends. */
static const char *pki(const char *name)
{
	char *p = path_buf[n_paths++ % 16];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static void make_pki(void)
{
	const char *suffix = "tests/unit/proxy/test_tls.c";
	size_t root_len = strlen(__FILE__) - strlen(suffix);
	char cmd[512];

	cr_assert(strcmp(__FILE__ + root_len, suffix) == 0, "built from %s", __FILE__);
	strcpy(dir, "/tmp/fs_test_tls_XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "bash %.*stools/certs.sh %s", (int)root_len, __FILE__, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void remove_pki(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(tls, .init = make_pki, .fini = remove_pki);

/* Settings that terminate client TLS with proxy.crt and verify the server against ca.crt. */
static struct proxy_tls_config base_config(void)
{
	return (struct proxy_tls_config){
	        .client_mode = FS_SSLMODE_REQUIRE,
	        .client_cert_file = pki("proxy.crt"),
	        .client_key_file = pki("proxy.key"),
	        .client_ca_file = "",
	        .client_protocols = "secure",
	        .server_mode = FS_SSLMODE_VERIFY_FULL,
	        .server_ca_file = pki("ca.crt"),
	        .server_cert_file = "",
	        .server_key_file = "",
	        .server_protocols = "tlsv1.3",
	};
}

static void expect_refused(const struct proxy_tls_config *cfg, const char *host, const char *want)
{
	char err[512] = "";
	struct proxy_tls *t = proxy_tls_new(cfg, host, err, sizeof(err));

	cr_assert_null(t, "accepted; expected: %s", want);
	cr_assert(strstr(err, want), "got '%s', expected it to contain '%s'", err, want);
}

Test(tls, builds_both_legs)
{
	struct proxy_tls_config cfg = base_config();
	char err[512];
	struct proxy_tls *t = proxy_tls_new(&cfg, "127.0.0.1", err, sizeof(err));
	SSL *ssl;

	cr_assert(t, "%s", err);
	cr_assert(t->client_ctx && t->server_ctx && t->client_cert);
	cr_assert_eq(SSL_CTX_get_min_proto_version(t->client_ctx), TLS1_2_VERSION);
	cr_assert_eq(SSL_CTX_get_min_proto_version(t->server_ctx), TLS1_3_VERSION);
	cr_assert_eq(SSL_CTX_get_verify_mode(t->server_ctx), SSL_VERIFY_PEER);
	ssl = proxy_tls_server_ssl(t);
	cr_assert(ssl);
	SSL_free(ssl);
	proxy_tls_ref(t);
	proxy_tls_unref(t);
	cr_assert_eq(atomic_load(&t->refs), 1);
	proxy_tls_unref(t);
}

Test(tls, disabled_legs_have_no_context)
{
	struct proxy_tls_config cfg = base_config();
	char err[512];
	struct proxy_tls *t;

	cfg.client_mode = FS_SSLMODE_DISABLE;
	cfg.server_mode = FS_SSLMODE_DISABLE;
	cfg.client_cert_file = "/nonexistent"; /* not read when the leg is off */
	t = proxy_tls_new(&cfg, "127.0.0.1", err, sizeof(err));
	cr_assert(t, "%s", err);
	cr_assert_null(t->client_ctx);
	cr_assert_null(t->server_ctx);
	proxy_tls_unref(t);
}

Test(tls, file_problems_name_the_key_and_file)
{
	struct proxy_tls_config cfg = base_config();
	char want[512];

	cfg.client_cert_file = pki("missing.crt");
	snprintf(want, sizeof(want), "client_tls_cert_file '%s': No such file or directory",
	         cfg.client_cert_file);
	expect_refused(&cfg, "127.0.0.1", want);

	cfg = base_config();
	cfg.client_key_file = pki("server.key"); /* a key of another certificate */
	snprintf(want, sizeof(want),
	         "client_tls_key_file '%s': cannot load the private key: key values mismatch",
	         cfg.client_key_file);
	expect_refused(&cfg, "127.0.0.1", want);

	cfg = base_config();
	cfg.client_cert_file = pki("proxy.key"); /* not a certificate */
	snprintf(want, sizeof(want), "client_tls_cert_file '%s': cannot load the certificate",
	         cfg.client_cert_file);
	expect_refused(&cfg, "127.0.0.1", want);

	cfg = base_config();
	cfg.server_ca_file = pki("nope.crt");
	snprintf(want, sizeof(want), "server_tls_ca_file '%s': No such file", cfg.server_ca_file);
	expect_refused(&cfg, "127.0.0.1", want);

	cfg = base_config();
	cfg.client_mode = FS_SSLMODE_VERIFY_CA;
	cfg.client_ca_file = pki("absent-ca.crt");
	snprintf(want, sizeof(want), "client_tls_ca_file '%s'", cfg.client_ca_file);
	expect_refused(&cfg, "127.0.0.1", want);
}

Test(tls, unix_socket_rules)
{
	struct proxy_tls_config cfg = base_config();
	char err[512];
	struct proxy_tls *t;

	expect_refused(&cfg, "/var/run/postgresql",
	               "server_tls_sslmode = verify-full: server_host '/var/run/postgresql' is a "
	               "Unix socket directory");
	cfg.server_mode = FS_SSLMODE_PREFER;
	t = proxy_tls_new(&cfg, "/var/run/postgresql", err, sizeof(err));
	cr_assert(t, "%s", err);
	cr_assert_eq(t->server_mode, FS_SSLMODE_DISABLE, "prefer means plain on a socket");
	cr_assert_null(t->server_ctx);
	proxy_tls_unref(t);

	cfg.client_mode = FS_SSLMODE_DISABLE;
	cfg.passthrough = true;
	expect_refused(&cfg, "/var/run/postgresql", "tls_passthrough = on: server_host");
}

/* Runs a TLS handshake between two in-memory SSLs; true when both sides finished it. */
static bool handshake(SSL *client, SSL *server)
{
	BIO *a, *b;

	cr_assert_eq(BIO_new_bio_pair(&a, 0, &b, 0), 1);
	SSL_set_bio(client, a, a);
	SSL_set_bio(server, b, b);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	for (int i = 0; i < 20; i++) {
		int rc = SSL_do_handshake(client);
		int rs = SSL_do_handshake(server);

		if (rc == 1 && rs == 1)
			return true;
	}
	return false;
}

/* A client context that presents pki(cert) with its key. */
static SSL_CTX *peer_with(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	cr_assert(ctx);
	cr_assert(SSL_CTX_use_certificate_file(ctx, pki(cert), SSL_FILETYPE_PEM));
	cr_assert(SSL_CTX_use_PrivateKey_file(ctx, pki(key), SSL_FILETYPE_PEM));
	return ctx;
}

Test(tls, client_common_name_and_same_certificate)
{
	struct proxy_tls_config cfg = base_config();
	char err[512], cn[128];
	struct proxy_tls *t;
	SSL_CTX *peer_ctx;
	SSL *client, *server;

	cfg.client_mode = FS_SSLMODE_VERIFY_FULL;
	cfg.client_ca_file = pki("ca.crt");
	t = proxy_tls_new(&cfg, "127.0.0.1", err, sizeof(err));
	cr_assert(t, "%s", err);
	peer_ctx = peer_with("client.crt", "client.key");
	client = SSL_new(peer_ctx);
	server = SSL_new(t->client_ctx);
	cr_assert(handshake(client, server), "handshake with a certificate from the CA");
	cr_assert(proxy_tls_client_cn_matches(server, "foreshard", cn, sizeof(cn)));
	cr_assert_str_eq(cn, "foreshard");
	cr_assert_not(proxy_tls_client_cn_matches(server, "md5_user", cn, sizeof(cn)));
	cr_assert_not(proxy_tls_client_cn_matches(server, "foreshar", cn, sizeof(cn)));
	/* seen from the client, the peer is foreshard's own certificate */
	cr_assert(proxy_tls_same_cert(t, client));
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(peer_ctx);
	proxy_tls_unref(t);
}

Test(tls, certificate_from_another_ca_fails_the_handshake)
{
	struct proxy_tls_config cfg = base_config();
	char err[512];
	struct proxy_tls *t;
	SSL_CTX *peer_ctx;
	SSL *client, *server;

	cfg.client_mode = FS_SSLMODE_VERIFY_CA;
	cfg.client_ca_file = pki("ca.crt");
	t = proxy_tls_new(&cfg, "127.0.0.1", err, sizeof(err));
	cr_assert(t, "%s", err);
	peer_ctx = peer_with("other.crt", "other.key");
	client = SSL_new(peer_ctx);
	server = SSL_new(t->client_ctx);
	cr_assert_not(handshake(client, server));
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(peer_ctx);
	proxy_tls_unref(t);
}

Test(tls, different_certificates_are_not_the_same)
{
	struct proxy_tls_config cfg = base_config();
	char err[512];
	struct proxy_tls *t = proxy_tls_new(&cfg, "127.0.0.1", err, sizeof(err));
	SSL_CTX *server_ctx = SSL_CTX_new(TLS_server_method());
	SSL *client, *server;

	cr_assert(t, "%s", err);
	cr_assert(SSL_CTX_use_certificate_file(server_ctx, pki("server.crt"), SSL_FILETYPE_PEM));
	cr_assert(SSL_CTX_use_PrivateKey_file(server_ctx, pki("server.key"), SSL_FILETYPE_PEM));
	client = proxy_tls_server_ssl(t);
	server = SSL_new(server_ctx);
	cr_assert(handshake(client, server), "verify-full of 127.0.0.1 against the SAN");
	cr_assert_not(proxy_tls_same_cert(t, client));
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(server_ctx);
	proxy_tls_unref(t);
}
