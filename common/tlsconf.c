/*
 * Parsing of the TLS configuration words; see common/tlsconf.h.
 */
#include "common/tlsconf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const sslmode_names[] = {"disable", "allow",     "prefer",
                                            "require", "verify-ca", "verify-full"};

bool fs_sslmode_parse(const char *s, enum fs_sslmode *out)
{
	for (unsigned i = 0; i < sizeof(sslmode_names) / sizeof(sslmode_names[0]); i++) {
		if (strcasecmp(s, sslmode_names[i]) == 0) {
			*out = (enum fs_sslmode)i;
			return true;
		}
	}
	return false;
}

const char *fs_sslmode_str(enum fs_sslmode m)
{
	if ((unsigned)m < sizeof(sslmode_names) / sizeof(sslmode_names[0]))
		return sslmode_names[m];
	return "?";
}

bool fs_tls_protocols_parse(const char *s, unsigned *out, char *why, size_t whylen)
{
	static const char *const old[] = {"tlsv1", "tlsv1.0", "tlsv1.1", "all", "legacy"};
	const char *p = s;
	unsigned set = 0;

	for (;;) {
		char word[16];
		size_t n;

		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		if (n >= sizeof(word))
			goto unknown;
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		if (strcasecmp(word, "secure") == 0) {
			set |= FS_TLS_V1_2 | FS_TLS_V1_3;
			continue;
		}
		if (strcasecmp(word, "tlsv1.2") == 0) {
			set |= FS_TLS_V1_2;
			continue;
		}
		if (strcasecmp(word, "tlsv1.3") == 0) {
			set |= FS_TLS_V1_3;
			continue;
		}
		for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
			if (strcasecmp(word, old[i]) == 0) {
				snprintf(
				        why, whylen,
				        "expected secure, tlsv1.2 or tlsv1.3 (TLS 1.2 is the minimum: "
				        "older versions are broken)");
				return false;
			}
		}
		goto unknown;
	}
	if (set == 0)
		goto unknown;
	*out = set;
	return true;
unknown:
	snprintf(why, whylen, "expected secure, tlsv1.2 or tlsv1.3 (a list may combine them)");
	return false;
}
