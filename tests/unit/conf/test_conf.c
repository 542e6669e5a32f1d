/*
 * conf: defaults, a full file, quoting and sections, --set overrides, every error class with
 * its exact "FILE:LINE: ..." message, conf_validate's rules, and the example conf/foreshard.ini
 * (which must load, validate and state the true defaults of every key).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

/* Every key of struct fs_conf, as users write it. */
static const char *const all_keys[] = {
        "listen_addr",
        "listen_port",
        "server_host",
        "server_port",
        "workers",
        "control_dir",
        "control_port",
        "log_level",
        "profile_ring_size",
        "parser_cache_entries",
        "manage_dsn",
        "tables",
        "mode",
        "lock_timeout_ms",
        "pause_timeout_ms",
        "cutover_retries",
        "backfill_chunk_rows",
        "catalog_refresh_ms",
        "cleanup_grace_s",
        "window_ms",
        "season_windows",
        "horizon_windows",
        "history_windows",
        "sub_buckets",
        "refit_windows",
        "refit_budget_ms",
        "forecast_model",
        "split_threshold_rps",
        "split_min_width",
        "hysteresis_s",
        "max_client_conn",
        "shutdown_timeout_s",
        "server_connect_timeout",
        "client_idle_timeout",
        "client_login_timeout",
        "query_wait_timeout",
        "client_tls_sslmode",
        "client_tls_cert_file",
        "client_tls_key_file",
        "client_tls_ca_file",
        "client_tls_protocols",
        "server_tls_sslmode",
        "server_tls_ca_file",
        "server_tls_cert_file",
        "server_tls_key_file",
        "server_tls_protocols",
        "tls_passthrough",
};

static char tmp_path[64];

static void remove_conf(void)
{
	if (tmp_path[0])
		unlink(tmp_path);
	tmp_path[0] = '\0';
}

/* Writes text to a fresh temporary file (replacing the previous one) named in tmp_path. */
static const char *write_conf(const char *text)
{
	int fd;
	size_t len = strlen(text);

	remove_conf();
	strcpy(tmp_path, "/tmp/fs_test_conf_XXXXXX");
	fd = mkstemp(tmp_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return tmp_path;
}

/* Loads text over defaults, expecting failure; returns the message (static buffer). */
static const char *load_error(const char *text)
{
	static char err[1024];
	struct fs_conf c;

	conf_defaults(&c);
	cr_assert_not(conf_load_file(&c, write_conf(text), err, sizeof(err)), "'%s' loaded", text);
	return err;
}

/* Asserts that text fails with "<tmpfile>:<line>: <rest>". */
static void expect_error(const char *text, unsigned line, const char *rest)
{
	const char *err = load_error(text);
	char want[1024];

	snprintf(want, sizeof(want), "%s:%u: %s", tmp_path, line, rest);
	cr_assert_str_eq(err, want);
}

TestSuite(conf, .fini = remove_conf);

Test(conf, defaults)
{
	struct fs_conf c;
	char err[512];

	conf_defaults(&c);
	cr_assert_str_eq(c.listen_addr, "127.0.0.1");
	cr_assert_eq(c.listen_port, 7432);
	cr_assert_str_eq(c.server_host, "127.0.0.1");
	cr_assert_eq(c.server_port, 5432);
	cr_assert_eq(c.workers, 0);
	cr_assert_str_eq(c.control_dir, "/tmp");
	cr_assert_eq(c.control_port, 7433);
	cr_assert_eq(c.log_level, FS_LOG_INFO);
	cr_assert_eq(c.profile_ring_size, 65536);
	cr_assert_eq(c.parser_cache_entries, 4096);
	cr_assert_str_eq(c.manage_dsn, "");
	cr_assert_str_eq(c.tables, "");
	cr_assert_eq(c.mode, CONF_MODE_ADVISE);
	cr_assert_eq(c.lock_timeout_ms, 200);
	cr_assert_eq(c.pause_timeout_ms, 2000);
	cr_assert_eq(c.cutover_retries, 10);
	cr_assert_eq(c.backfill_chunk_rows, 5000);
	cr_assert_eq(c.catalog_refresh_ms, 5000);
	cr_assert_eq(c.cleanup_grace_s, 60);
	cr_assert_eq(c.window_ms, 1000);
	cr_assert_eq(c.season_windows, 60);
	cr_assert_eq(c.horizon_windows, 30);
	cr_assert_eq(c.history_windows, 0);
	cr_assert_eq(c.sub_buckets, 8);
	cr_assert_eq(c.refit_windows, 0);
	cr_assert_float_eq(c.split_threshold_rps, 100.0, 1e-12);
	cr_assert_eq(c.split_min_width, 2);
	cr_assert_eq(c.hysteresis_s, 300);

	cr_assert_not(conf_validate(&c, err, sizeof(err)), "defaults lack manage_dsn");
	cr_assert_str_eq(err, "manage_dsn is required: the libpq connection string foreshard uses "
	                      "to read partition bounds and run DDL, e.g. manage_dsn = "
	                      "'host=127.0.0.1 port=5432 dbname=app user=foreshard'");
	strcpy(c.manage_dsn, "dbname=app");
	cr_assert(conf_validate(&c, err, sizeof(err)), "%s", err);
}

Test(conf, full_file_sets_every_key)
{
	struct fs_conf c;
	char err[512];
	const char *text = "\xEF\xBB\xBF# a full configuration\n"
	                   "; semicolon comment\n"
	                   "\n"
	                   "  [ Foreshard ]  # section names are case-insensitive\n"
	                   "listen_addr = 0.0.0.0\n"
	                   "listen_port=6000\r\n"
	                   "\tserver_host\t=\t/var/run/postgresql\n"
	                   "server_port = 5433\n"
	                   "workers = 4\n"
	                   "control_dir = /run/foreshard\n"
	                   "control_port = 6001\n"
	                   "log_level = DEBUG\n"
	                   "profile_ring_size = 1000\n"
	                   "parser_cache_entries = 1\n"
	                   "manage_dsn = \"host=db port=5433 dbname=app password='a b'\"\n"
	                   "tables = public.events, public.orders\n"
	                   "mode = auto\n"
	                   "lock_timeout_ms = 150\n"
	                   "pause_timeout_ms = 3000\n"
	                   "cutover_retries = 3\n"
	                   "backfill_chunk_rows = 100\n"
	                   "catalog_refresh_ms = 1000\n"
	                   "cleanup_grace_s = 0\n"
	                   "window_ms = 500\n"
	                   "season_windows = 120\n"
	                   "horizon_windows = 60\n"
	                   "history_windows = 360\n"
	                   "sub_buckets = 16\n"
	                   "refit_windows = 30\n"
	                   "split_threshold_rps = 2.5e2\n"
	                   "split_min_width = 18446744073709551615\n"
	                   "HYSTERESIS_S = 0\n";

	conf_defaults(&c);
	cr_assert(conf_load_file(&c, write_conf(text), err, sizeof(err)), "%s", err);
	cr_assert_str_eq(c.listen_addr, "0.0.0.0");
	cr_assert_eq(c.listen_port, 6000);
	cr_assert_str_eq(c.server_host, "/var/run/postgresql");
	cr_assert_eq(c.server_port, 5433);
	cr_assert_eq(c.workers, 4);
	cr_assert_str_eq(c.control_dir, "/run/foreshard");
	cr_assert_eq(c.control_port, 6001);
	cr_assert_eq(c.log_level, FS_LOG_DEBUG);
	cr_assert_eq(c.profile_ring_size, 1000);
	cr_assert_eq(c.parser_cache_entries, 1);
	cr_assert_str_eq(c.manage_dsn, "host=db port=5433 dbname=app password='a b'");
	cr_assert_str_eq(c.tables, "public.events, public.orders");
	cr_assert_eq(c.mode, CONF_MODE_AUTO);
	cr_assert_eq(c.lock_timeout_ms, 150);
	cr_assert_eq(c.pause_timeout_ms, 3000);
	cr_assert_eq(c.cutover_retries, 3);
	cr_assert_eq(c.backfill_chunk_rows, 100);
	cr_assert_eq(c.catalog_refresh_ms, 1000);
	cr_assert_eq(c.cleanup_grace_s, 0);
	cr_assert_eq(c.window_ms, 500);
	cr_assert_eq(c.season_windows, 120);
	cr_assert_eq(c.horizon_windows, 60);
	cr_assert_eq(c.history_windows, 360);
	cr_assert_eq(c.sub_buckets, 16);
	cr_assert_eq(c.refit_windows, 30);
	cr_assert_float_eq(c.split_threshold_rps, 250.0, 1e-12);
	cr_assert_eq(c.split_min_width, UINT64_MAX);
	cr_assert_eq(c.hysteresis_s, 0);
	cr_assert(conf_validate(&c, err, sizeof(err)), "%s", err);
}

Test(conf, keys_without_section_and_last_value_wins)
{
	struct fs_conf c;
	char err[512];

	conf_defaults(&c);
	cr_assert(conf_load_file(&c,
	                         write_conf("workers = 2\nworkers = 3\n[foreshard]\nmode=observe"),
	                         err, sizeof(err)),
	          "%s", err);
	cr_assert_eq(c.workers, 3);
	cr_assert_eq(c.mode, CONF_MODE_OBSERVE, "a last line without newline counts");
}

Test(conf, quoting_and_comments)
{
	struct fs_conf c;
	char err[512];
	const char *text = "listen_addr = '  spaced  '   # kept inside quotes\n"
	                   "server_host = \"a#b;c\" ; comment after the closing quote\n"
	                   "control_dir = /srv/run # unquoted values end at a comment\n"
	                   "manage_dsn = 'dbname=it''s user=x'\n"
	                   "tables = \"public.\"\"q\"\"\"\n";

	conf_defaults(&c);
	cr_assert(conf_load_file(&c, write_conf(text), err, sizeof(err)), "%s", err);
	cr_assert_str_eq(c.listen_addr, "  spaced  ");
	cr_assert_str_eq(c.server_host, "a#b;c");
	cr_assert_str_eq(c.control_dir, "/srv/run");
	cr_assert_str_eq(c.manage_dsn, "dbname=it's user=x");
	cr_assert_str_eq(c.tables, "public.\"q\"");

	/* An empty value, quoted or not, is an empty string where strings allow it. */
	cr_assert(conf_load_file(&c, write_conf("tables = 'x'\ntables =\n"), err, sizeof(err)));
	cr_assert_str_eq(c.tables, "");
	cr_assert(conf_load_file(&c, write_conf("tables = ''\n"), err, sizeof(err)));
	cr_assert_str_eq(c.tables, "");
}

Test(conf, syntax_errors_name_file_and_line)
{
	expect_error("# one\n\nworkers\n", 3, "expected 'key = value', got 'workers'");
	expect_error("= 5\n", 1, "expected 'key = value', got '= 5'");
	expect_error(
	        "workers = 1\n[other]\nmode = auto\n", 2,
	        "unknown section '[other]': keys go at the top of the file or under [foreshard]");
	expect_error("[foreshard\n", 1, "expected '[section]', got '[foreshard'");
	expect_error("[foreshard] x\n", 1, "expected '[section]', got '[foreshard] x'");
	expect_error("\n\n\nlisten_addr = 'abc\n", 4, "listen_addr: unterminated quoted value");
	expect_error("listen_addr = 'abc' def\n", 1,
	             "listen_addr: unexpected text after the closing quote");
}

Test(conf, unknown_key)
{
	expect_error("workers = 1\nlisten_prot = 7432\n", 2, "unknown key 'listen_prot'");
}

Test(conf, bad_integers)
{
	expect_error("listen_port = 0\n", 1,
	             "listen_port: expected an integer from 1 to 65535, got '0'");
	expect_error("\nserver_port = 65536\n", 2,
	             "server_port: expected an integer from 1 to 65535, got '65536'");
	expect_error("workers = -1\n", 1, "workers: expected an integer from 0 to 1024, got '-1'");
	expect_error("workers = +1\n", 1, "workers: expected an integer from 0 to 1024, got '+1'");
	expect_error("workers = 1 2\n", 1,
	             "workers: expected an integer from 0 to 1024, got '1 2'");
	expect_error("workers =\n", 1, "workers: expected an integer from 0 to 1024, got ''");
	expect_error("window_ms = 1.5\n", 1,
	             "window_ms: expected an integer from 10 to 3600000, got '1.5'");
	expect_error("season_windows = 1\n", 1,
	             "season_windows: expected an integer from 2 to 100000, got '1'");
	expect_error("horizon_windows = 0\n", 1,
	             "horizon_windows: expected an integer from 1 to 100000, got '0'");
	expect_error("sub_buckets = 0\n", 1,
	             "sub_buckets: expected an integer from 1 to 1024, got '0'");
	expect_error("profile_ring_size = 0\n", 1,
	             "profile_ring_size: expected an integer from 1 to 16777216, got '0'");
	expect_error("backfill_chunk_rows = 99999999999999999999999\n", 1,
	             "backfill_chunk_rows: expected an integer from 1 to 10000000, got "
	             "'99999999999999999999999'");
	expect_error("split_min_width = 1\n", 1,
	             "split_min_width: expected an integer >= 2, got '1'");
	expect_error("split_min_width = 18446744073709551616\n", 1,
	             "split_min_width: expected an integer >= 2, got '18446744073709551616'");
}

Test(conf, bad_doubles_and_enums)
{
	expect_error("split_threshold_rps = 0\n", 1,
	             "split_threshold_rps: expected a number > 0, got '0'");
	expect_error("split_threshold_rps = -3\n", 1,
	             "split_threshold_rps: expected a number > 0, got '-3'");
	expect_error("split_threshold_rps = nan\n", 1,
	             "split_threshold_rps: expected a number > 0, got 'nan'");
	expect_error("split_threshold_rps = inf\n", 1,
	             "split_threshold_rps: expected a number > 0, got 'inf'");
	expect_error("split_threshold_rps = 10rps\n", 1,
	             "split_threshold_rps: expected a number > 0, got '10rps'");
	expect_error("mode = manual\n", 1, "mode: expected observe, advise or auto, got 'manual'");
	expect_error("log_level = verbose\n", 1,
	             "log_level: expected error, warn, info or debug, got 'verbose'");
}

Test(conf, strings_too_long_are_errors_not_truncated)
{
	char text[256], value[80];
	struct fs_conf c;
	char err[512];

	memset(value, 'a', 63);
	value[63] = '\0';
	snprintf(text, sizeof(text), "listen_addr = %s\n", value);
	conf_defaults(&c);
	cr_assert(conf_load_file(&c, write_conf(text), err, sizeof(err)), "63 bytes fit: %s", err);
	cr_assert_str_eq(c.listen_addr, value);

	snprintf(text, sizeof(text), "\nlisten_addr = %sa\n", value);
	expect_error(text, 2, "listen_addr: expected at most 63 bytes, got 64 bytes");
}

Test(conf, string_rules)
{
	expect_error(
	        "control_dir = run/foreshard\n", 1,
	        "control_dir: expected an absolute directory path of at most 92 bytes (the "
	        "socket path <dir>/.s.PGSQL.<port> must fit in 107 bytes), got 'run/foreshard'");
	expect_error("listen_addr =\n", 1,
	             "listen_addr: expected a host name or IP address, got ''");
	expect_error("server_host = ''\n", 1,
	             "server_host: expected a host name, IP address or socket directory, got ''");
	expect_error("tables = a.b,,c.d\n", 1,
	             "tables: expected a comma-separated list of schema.table names with no empty "
	             "entry, got 'a.b,,c.d'");
	expect_error("tables = a.b,\n", 1,
	             "tables: expected a comma-separated list of schema.table names with no empty "
	             "entry, got 'a.b,'");

	/* libpq's own parser judges the connection string; its message is passed on. */
	const char *err = load_error("\n\nmanage_dsn = 'host=x dbname'\n");
	char want[256];

	snprintf(want, sizeof(want), "%s:3: manage_dsn: expected a libpq connection string (",
	         tmp_path);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "got: %s", err);
	cr_assert(strstr(err, "), got 'host=x dbname'"), "got: %s", err);
}

Test(conf, missing_file)
{
	struct fs_conf c;
	char err[512];

	conf_defaults(&c);
	cr_assert_not(conf_load_file(&c, "/nonexistent/foreshard.ini", err, sizeof(err)));
	cr_assert_str_eq(err, "/nonexistent/foreshard.ini: No such file or directory");
}

Test(conf, a_failed_line_leaves_the_key_unchanged)
{
	struct fs_conf c;
	char err[512];

	conf_defaults(&c);
	cr_assert_not(conf_load_file(&c, write_conf("listen_port = 99999\n"), err, sizeof(err)));
	cr_assert_eq(c.listen_port, 7432);
	cr_assert_not(conf_load_file(&c, write_conf("mode = x\n"), err, sizeof(err)));
	cr_assert_eq(c.mode, CONF_MODE_ADVISE);
}

Test(conf, set_overrides)
{
	struct fs_conf c;
	char err[512];

	conf_defaults(&c);
	cr_assert(
	        conf_load_file(&c, write_conf("workers = 2\nmode = observe\n"), err, sizeof(err)));
	cr_assert(conf_set(&c, "workers=8", err, sizeof(err)), "%s", err);
	cr_assert(conf_set(&c, " mode = auto ", err, sizeof(err)), "%s", err);
	cr_assert(conf_set(&c, "manage_dsn='host=a dbname=b'", err, sizeof(err)), "%s", err);
	cr_assert(conf_set(&c, "tables=", err, sizeof(err)), "%s", err);
	cr_assert(conf_set(&c, "listen_addr=a=b", err, sizeof(err)), "splits at the first '='");
	cr_assert_eq(c.workers, 8);
	cr_assert_eq(c.mode, CONF_MODE_AUTO);
	cr_assert_str_eq(c.manage_dsn, "host=a dbname=b");
	cr_assert_str_eq(c.tables, "");
	cr_assert_str_eq(c.listen_addr, "a=b");
}

Test(conf, set_errors)
{
	struct fs_conf c;
	char err[512];

	conf_defaults(&c);
	cr_assert_not(conf_set(&c, "workers", err, sizeof(err)));
	cr_assert_str_eq(err, "--set: expected key=value, got 'workers'");
	cr_assert_not(conf_set(&c, "=3", err, sizeof(err)));
	cr_assert_str_eq(err, "--set: expected key=value, got '=3'");
	cr_assert_not(conf_set(&c, "wrokers=3", err, sizeof(err)));
	cr_assert_str_eq(err, "--set: unknown key 'wrokers'");
	cr_assert_not(conf_set(&c, "control_port=0", err, sizeof(err)));
	cr_assert_str_eq(err, "--set: control_port: expected an integer from 1 to 65535, got '0'");
	cr_assert_not(conf_set(&c, "manage_dsn='x", err, sizeof(err)));
	cr_assert_str_eq(err, "--set: manage_dsn: unterminated quoted value");
	cr_assert_eq(c.control_port, 7433, "a failed override changes nothing");
}

/* Defaults plus a manage_dsn: the smallest valid configuration. */
static void valid_conf(struct fs_conf *c)
{
	char err[512];

	conf_defaults(c);
	strcpy(c->manage_dsn, "dbname=app");
	cr_assert(conf_validate(c, err, sizeof(err)), "%s", err);
}

static void expect_invalid(const struct fs_conf *c, const char *want)
{
	char err[512];

	cr_assert_not(conf_validate(c, err, sizeof(err)), "expected: %s", want);
	cr_assert_str_eq(err, want);
}

Test(conf, validate_checks_ranges_of_values_set_by_code)
{
	struct fs_conf c;

	valid_conf(&c);
	c.season_windows = 1;
	expect_invalid(&c, "season_windows: expected an integer from 2 to 100000, got '1'");
	valid_conf(&c);
	c.horizon_windows = 0;
	expect_invalid(&c, "horizon_windows: expected an integer from 1 to 100000, got '0'");
	valid_conf(&c);
	c.sub_buckets = 0;
	expect_invalid(&c, "sub_buckets: expected an integer from 1 to 1024, got '0'");
	valid_conf(&c);
	c.listen_port = 0;
	expect_invalid(&c, "listen_port: expected an integer from 1 to 65535, got '0'");
	valid_conf(&c);
	c.split_threshold_rps = 0;
	expect_invalid(&c, "split_threshold_rps: expected a number > 0, got '0'");
	valid_conf(&c);
	c.mode = (enum conf_mode)7;
	expect_invalid(&c, "mode: expected observe, advise or auto");
	valid_conf(&c);
	strcpy(c.control_dir, "tmp");
	expect_invalid(&c, "control_dir: expected an absolute directory path of at most 92 bytes "
	                   "(the socket path <dir>/.s.PGSQL.<port> must fit in 107 bytes), got "
	                   "'tmp'");
}

Test(conf, validate_cross_key_rules)
{
	struct fs_conf c;

	valid_conf(&c);
	c.control_port = c.listen_port;
	expect_invalid(&c, "listen_port and control_port are both 7432: give the console its own "
	                   "port, so that 'psql -p 7432' cannot reach the console when the proxy "
	                   "was meant (or the other way round)");

	valid_conf(&c);
	c.server_port = 7432;
	expect_invalid(&c, "server_host:server_port (127.0.0.1:7432) is foreshard's own listen "
	                   "address: point server_host and server_port at PostgreSQL");
	strcpy(c.listen_addr, "0.0.0.0");
	strcpy(c.server_host, "localhost");
	expect_invalid(&c, "server_host:server_port (localhost:7432) is foreshard's own listen "
	                   "address: point server_host and server_port at PostgreSQL");
	strcpy(c.server_host, "db.example");
	cr_assert(conf_validate(&c, (char[256]){0}, 256), "another host on the same port is fine");

	valid_conf(&c);
	c.history_windows = 119;
	expect_invalid(&c, "history_windows (119) must be 0 or at least 2 * season_windows (120): "
	                   "the seasonal model needs two full seasons of history to fit");
	c.history_windows = 120;
	cr_assert(conf_validate(&c, (char[256]){0}, 256));

	valid_conf(&c);
	c.lock_timeout_ms = 2000;
	expect_invalid(&c, "lock_timeout_ms (2000) must be shorter than pause_timeout_ms (2000): "
	                   "the cutover waits for its locks while clients are paused");
}

Test(conf, tls_and_timeout_keys)
{
	struct fs_conf c;
	char err[512];
	const char *text = "server_connect_timeout = 3\n"
	                   "client_idle_timeout = 600\n"
	                   "query_wait_timeout = 0\n"
	                   "client_tls_sslmode = Verify-Full\n"
	                   "client_tls_cert_file = /etc/fs/proxy.crt\n"
	                   "client_tls_key_file = /etc/fs/proxy.key\n"
	                   "client_tls_ca_file = /etc/fs/ca.crt\n"
	                   "client_tls_protocols = tlsv1.3\n"
	                   "server_tls_sslmode = verify-ca\n"
	                   "server_tls_ca_file = /etc/fs/server-ca.crt\n"
	                   "server_tls_cert_file = /etc/fs/client.crt\n"
	                   "server_tls_key_file = /etc/fs/client.key\n"
	                   "server_tls_protocols = 'tlsv1.2, tlsv1.3'\n";

	conf_defaults(&c);
	cr_assert_eq(c.server_connect_timeout, 15);
	cr_assert_eq(c.client_idle_timeout, 0);
	cr_assert_eq(c.client_login_timeout, 60);
	cr_assert_eq(c.query_wait_timeout, 120);
	cr_assert_eq(c.client_tls_sslmode, FS_SSLMODE_DISABLE);
	cr_assert_eq(c.server_tls_sslmode, FS_SSLMODE_PREFER);
	cr_assert_str_eq(c.client_tls_protocols, "secure");
	cr_assert_not(c.tls_passthrough);
	cr_assert(conf_load_file(&c, write_conf(text), err, sizeof(err)), "%s", err);
	strcpy(c.manage_dsn, "dbname=app");
	cr_assert_eq(c.server_connect_timeout, 3);
	cr_assert_eq(c.client_idle_timeout, 600);
	cr_assert_eq(c.query_wait_timeout, 0);
	cr_assert_eq(c.client_tls_sslmode, FS_SSLMODE_VERIFY_FULL);
	cr_assert_str_eq(c.client_tls_cert_file, "/etc/fs/proxy.crt");
	cr_assert_str_eq(c.client_tls_ca_file, "/etc/fs/ca.crt");
	cr_assert_eq(c.server_tls_sslmode, FS_SSLMODE_VERIFY_CA);
	cr_assert_str_eq(c.server_tls_protocols, "tlsv1.2, tlsv1.3");
	cr_assert(conf_validate(&c, err, sizeof(err)), "%s", err);

	for (const char *const *v = (const char *const[]){"on", "TRUE", "yes", "1", NULL}; *v;
	     v++) {
		char line[64];

		snprintf(line, sizeof(line), "tls_passthrough=%s", *v);
		c.tls_passthrough = false;
		cr_assert(conf_set(&c, line, err, sizeof(err)), "%s", err);
		cr_assert(c.tls_passthrough, "%s", line);
	}
	cr_assert(conf_set(&c, "tls_passthrough=off", err, sizeof(err)), "%s", err);
	cr_assert_not(c.tls_passthrough);
}

Test(conf, tls_value_errors)
{
	expect_error("client_tls_sslmode = verify\n", 1,
	             "client_tls_sslmode: expected disable, allow, prefer, require, verify-ca or "
	             "verify-full, got 'verify'");
	expect_error("\ntls_passthrough = maybe\n", 2,
	             "tls_passthrough: expected on or off, got 'maybe'");
	expect_error("client_tls_protocols = tlsv1.1\n", 1,
	             "client_tls_protocols: expected secure, tlsv1.2 or tlsv1.3 (TLS 1.2 is the "
	             "minimum: older versions are broken), got 'tlsv1.1'");
	expect_error("server_tls_protocols = all\n", 1,
	             "server_tls_protocols: expected secure, tlsv1.2 or tlsv1.3 (TLS 1.2 is the "
	             "minimum: older versions are broken), got 'all'");
	expect_error("server_tls_protocols = tls1.2\n", 1,
	             "server_tls_protocols: expected secure, tlsv1.2 or tlsv1.3 (a list may "
	             "combine them), got 'tls1.2'");
	expect_error("client_tls_protocols = ''\n", 1,
	             "client_tls_protocols: expected secure, tlsv1.2 or tlsv1.3 (a list may "
	             "combine them), got ''");
}

Test(conf, tls_cross_key_rules)
{
	struct fs_conf c;

	valid_conf(&c);
	c.client_tls_sslmode = FS_SSLMODE_PREFER;
	expect_invalid(&c, "client_tls_sslmode = prefer needs client_tls_cert_file and "
	                   "client_tls_key_file (the certificate and key foreshard presents to "
	                   "clients)");
	strcpy(c.client_tls_cert_file, "/c.crt");
	expect_invalid(&c, "client_tls_sslmode = prefer needs client_tls_cert_file and "
	                   "client_tls_key_file (the certificate and key foreshard presents to "
	                   "clients)");
	strcpy(c.client_tls_key_file, "/c.key");
	cr_assert(conf_validate(&c, (char[256]){0}, 256));
	c.client_tls_sslmode = FS_SSLMODE_VERIFY_CA;
	expect_invalid(&c, "client_tls_sslmode = verify-ca needs client_tls_ca_file (the CA that "
	                   "signs the client certificates to accept)");
	strcpy(c.client_tls_ca_file, "/ca.crt");
	cr_assert(conf_validate(&c, (char[256]){0}, 256));
	c.tls_passthrough = true;
	expect_invalid(&c, "tls_passthrough = on relays clients' TLS sessions to the server, so "
	                   "foreshard cannot also terminate them: set client_tls_sslmode = disable "
	                   "(or tls_passthrough = off)");
	c.client_tls_sslmode = FS_SSLMODE_DISABLE;
	cr_assert(conf_validate(&c, (char[256]){0}, 256));

	valid_conf(&c);
	c.server_tls_sslmode = FS_SSLMODE_VERIFY_FULL;
	expect_invalid(&c, "server_tls_sslmode = verify-full needs server_tls_ca_file (the CA that "
	                   "signs the PostgreSQL server's certificate)");
	strcpy(c.server_tls_ca_file, "/ca.crt");
	cr_assert(conf_validate(&c, (char[256]){0}, 256));
	strcpy(c.server_tls_cert_file, "/client.crt");
	expect_invalid(&c, "server_tls_cert_file and server_tls_key_file go together: set both (to "
	                   "present a client certificate to the server) or neither");
	strcpy(c.server_tls_key_file, "/client.key");
	cr_assert(conf_validate(&c, (char[256]){0}, 256));
	c.client_tls_sslmode = (enum fs_sslmode)9;
	expect_invalid(&c, "client_tls_sslmode: expected an sslmode");
}

Test(conf, mode_names)
{
	enum conf_mode m = CONF_MODE_OBSERVE;

	cr_assert_str_eq(conf_mode_str(CONF_MODE_OBSERVE), "observe");
	cr_assert_str_eq(conf_mode_str(CONF_MODE_ADVISE), "advise");
	cr_assert_str_eq(conf_mode_str(CONF_MODE_AUTO), "auto");
	cr_assert_str_eq(conf_mode_str((enum conf_mode)9), "?");
	cr_assert(conf_mode_parse("AUTO", &m));
	cr_assert_eq(m, CONF_MODE_AUTO);
	cr_assert_not(conf_mode_parse("automatic", &m));
	cr_assert_eq(m, CONF_MODE_AUTO, "untouched on failure");
}

/* The example file users read: it loads, validates, and its values are the true defaults. */
Test(conf, example_file_documents_every_key_with_its_default)
{
	char path[4096], err[512], *text;
	const char *suffix = "tests/unit/conf/test_conf.c";
	size_t root_len = strlen(__FILE__) - strlen(suffix);
	struct fs_conf got, want;
	FILE *f;
	long size;

	cr_assert(strcmp(__FILE__ + root_len, suffix) == 0, "built from %s", __FILE__);
	snprintf(path, sizeof(path), "%.*sconf/foreshard.ini", (int)root_len, __FILE__);

	conf_defaults(&got);
	cr_assert(conf_load_file(&got, path, err, sizeof(err)), "%s", err);
	cr_assert(conf_validate(&got, err, sizeof(err)), "%s", err);
	conf_defaults(&want);
	strcpy(want.manage_dsn, got.manage_dsn);
	cr_assert_str_eq(got.manage_dsn, "host=127.0.0.1 port=5432 dbname=app user=foreshard");
	cr_assert(memcmp(&got, &want, sizeof(got)) == 0, "a value in the example differs from "
	                                                 "its default");

	f = fopen(path, "r");
	cr_assert(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)size + 2);
	text[0] = '\n';
	cr_assert_eq(fread(text + 1, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		char needle[64];

		snprintf(needle, sizeof(needle), "\n%s =", all_keys[i]);
		cr_assert(strstr(text, needle), "foreshard.ini does not set %s", all_keys[i]);
	}
	free(text);
}
