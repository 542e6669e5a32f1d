#pragma once
/*
 * The words of TLS configuration, shared by the config parser (which checks them) and the proxy
 * (which acts on them), so a value cannot be accepted by one and read differently by the other.
 * The names are PgBouncer's (client_tls_sslmode, client_tls_protocols, ...), which are libpq's
 * sslmode values. Plain code without OpenSSL: any thread.
 */
#include <stdbool.h>
#include <stddef.h>

/* sslmode of one leg, weakest first: comparisons such as mode >= FS_SSLMODE_REQUIRE are meant. */
enum fs_sslmode {
	FS_SSLMODE_DISABLE = 0, /* plain only; an SSLRequest is answered 'N' / never sent */
	FS_SSLMODE_ALLOW,       /* TLS if the other side asks (client leg) or insists (server) */
	FS_SSLMODE_PREFER,      /* TLS when the other side accepts it, plain otherwise */
	FS_SSLMODE_REQUIRE,     /* TLS or no connection; the peer's certificate is not checked */
	FS_SSLMODE_VERIFY_CA,   /* TLS with a peer certificate signed by the configured CA */
	FS_SSLMODE_VERIFY_FULL, /* as verify-ca, and the certificate names the peer (server: the
				   host name; client: the user name as its common name) */
};

/* Parses an sslmode name, case-insensitively. False (out untouched) on anything else. */
__attribute__((warn_unused_result)) bool fs_sslmode_parse(const char *s, enum fs_sslmode *out);

/* The name of m ("disable" ... "verify-full"), "?" outside the enum. Static string. */
const char *fs_sslmode_str(enum fs_sslmode m);

/* TLS protocol versions accepted, as a bit set. */
#define FS_TLS_V1_2 1u
#define FS_TLS_V1_3 2u

/*
 * Parses a *_tls_protocols value: "secure" (TLS 1.2 and 1.3) or a list of tlsv1.2 / tlsv1.3 /
 * secure separated by commas or blanks. Older versions, "all" and "legacy" are refused because
 * TLS 1.2 is foreshard's minimum. Returns false with "expected ..." in why.
 */
__attribute__((warn_unused_result)) bool fs_tls_protocols_parse(const char *s, unsigned *out,
                                                                char *why, size_t whylen);
