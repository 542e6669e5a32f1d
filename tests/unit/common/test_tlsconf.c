/*
 * common/tlsconf: sslmode names both ways, and the protocol lists *_tls_protocols accepts and
 * refuses.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/tlsconf.h"

Test(tlsconf, sslmode_names_round_trip)
{
	for (int m = FS_SSLMODE_DISABLE; m <= FS_SSLMODE_VERIFY_FULL; m++) {
		enum fs_sslmode got = FS_SSLMODE_DISABLE;

		cr_assert(fs_sslmode_parse(fs_sslmode_str((enum fs_sslmode)m), &got));
		cr_assert_eq(got, m);
	}
	cr_assert_str_eq(fs_sslmode_str(FS_SSLMODE_VERIFY_CA), "verify-ca");
	cr_assert_str_eq(fs_sslmode_str((enum fs_sslmode)42), "?");
}

Test(tlsconf, sslmode_parse_refuses_unknown_names)
{
	enum fs_sslmode m = FS_SSLMODE_REQUIRE;

	cr_assert(fs_sslmode_parse("PREFER", &m));
	cr_assert_eq(m, FS_SSLMODE_PREFER);
	cr_assert_not(fs_sslmode_parse("verify", &m));
	cr_assert_not(fs_sslmode_parse("", &m));
	cr_assert_not(fs_sslmode_parse("verify-full ", &m));
	cr_assert_eq(m, FS_SSLMODE_PREFER, "untouched on failure");
}

Test(tlsconf, protocols_accepted)
{
	char why[256];
	unsigned set = 0;

	cr_assert(fs_tls_protocols_parse("secure", &set, why, sizeof(why)));
	cr_assert_eq(set, FS_TLS_V1_2 | FS_TLS_V1_3);
	cr_assert(fs_tls_protocols_parse("TLSv1.2", &set, why, sizeof(why)));
	cr_assert_eq(set, FS_TLS_V1_2);
	cr_assert(fs_tls_protocols_parse("tlsv1.3", &set, why, sizeof(why)));
	cr_assert_eq(set, FS_TLS_V1_3);
	cr_assert(fs_tls_protocols_parse(" tlsv1.3 ,tlsv1.2\t", &set, why, sizeof(why)));
	cr_assert_eq(set, FS_TLS_V1_2 | FS_TLS_V1_3);
}

Test(tlsconf, protocols_refused)
{
	static const char *const old[] = {"tlsv1", "tlsv1.0", "tlsv1.1",
	                                  "all",   "legacy",  "tlsv1.2,tlsv1.1"};
	static const char *const junk[] = {"", " , ", "ssl3", "tlsv1.2;tlsv1.3",
	                                   "averyveryverylongword"};
	char why[256];
	unsigned set = 77;

	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		cr_assert_not(fs_tls_protocols_parse(old[i], &set, why, sizeof(why)), "%s", old[i]);
		cr_assert(strstr(why, "TLS 1.2 is the minimum"), "%s: %s", old[i], why);
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		cr_assert_not(fs_tls_protocols_parse(junk[i], &set, why, sizeof(why)), "%s",
		              junk[i]);
		cr_assert_str_eq(why,
		                 "expected secure, tlsv1.2 or tlsv1.3 (a list may combine them)");
	}
	cr_assert_eq(set, 77, "untouched on failure");
}
