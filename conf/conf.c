/*
 * Configuration loading and validation. One table (conf_keys) names every key with its type,
 * its place in struct fs_conf and its range, and drives the file parser, the --set overrides and
 * conf_validate alike, so that a key cannot be parsed by one rule and checked by another. The
 * file syntax is a small INI dialect: "key = value" lines, '#' and ';' comments, blank lines,
 * an optional [foreshard] section, values optionally in single or double quotes (a doubled quote
 * inside stands for one). Errors name the file and line, the key, what was expected and what was
 * found, because the person reading them is fixing a config file at start-up.
 */
#include "conf/conf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include <libpq-fe.h>

#include "forecast/select.h"

/* The longest control_dir: "<dir>/.s.PGSQL.65535" and its NUL must fit in sun_path (108). */
#define CONF_CONTROL_DIR_MAX                                                                       \
	(sizeof(((struct sockaddr_un *)0)->sun_path) - sizeof("/.s.PGSQL.65535"))

enum conf_type {
	CONF_T_STR,       /* char array; value shorter than the array, then an optional check */
	CONF_T_U16,       /* uint16_t within [min, max] */
	CONF_T_U32,       /* uint32_t within [min, max] */
	CONF_T_U64,       /* uint64_t within [min, max] */
	CONF_T_DOUBLE,    /* finite double > 0 */
	CONF_T_MODE,      /* enum conf_mode by name */
	CONF_T_LOG_LEVEL, /* enum fs_log_level by name */
	CONF_T_SSLMODE,   /* enum fs_sslmode by name */
	CONF_T_BOOL,      /* bool: on/off, true/false, yes/no, 1/0 */
};

/*
 * Extra rule for a string key. Returns false with "expected ..." in why; the caller adds the
 * key and the offending value.
 */
typedef bool (*conf_str_check_fn)(const char *v, char *why, size_t whylen);

struct conf_key {
	const char *name;        /* key in the file, = field name in struct fs_conf */
	enum conf_type type;     /* how the value is parsed and stored */
	size_t off;              /* offsetof the field */
	size_t size;             /* sizeof the field: the string buffer for CONF_T_STR */
	uint64_t min;            /* integer types: smallest accepted value */
	uint64_t max;            /* integer types: largest accepted value */
	conf_str_check_fn check; /* CONF_T_STR: extra rule, or NULL */
};

static bool check_listen_addr(const char *v, char *why, size_t whylen);
static bool check_server_host(const char *v, char *why, size_t whylen);
static bool check_control_dir(const char *v, char *why, size_t whylen);
static bool check_dsn(const char *v, char *why, size_t whylen);
static bool check_tables(const char *v, char *why, size_t whylen);
static bool check_tls_protocols(const char *v, char *why, size_t whylen);
static bool check_forecast_model(const char *v, char *why, size_t whylen);

#define FIELD_SIZE(f) sizeof(((struct fs_conf *)0)->f)
#define KEY_STR(f, chk)                                                                            \
	{                                                                                          \
#f, CONF_T_STR, offsetof(struct fs_conf, f), FIELD_SIZE(f), 0, 0, chk              \
	}
#define KEY_INT(t, f, lo, hi)                                                                      \
	{                                                                                          \
#f, t, offsetof(struct fs_conf, f), FIELD_SIZE(f), lo, hi, NULL                    \
	}
#define KEY_OTHER(t, f)                                                                            \
	{                                                                                          \
#f, t, offsetof(struct fs_conf, f), FIELD_SIZE(f), 0, 0, NULL                      \
	}

/* Every key. The ranges are repeated for users in conf/foreshard.ini: keep the two in step. */
static const struct conf_key conf_keys[] = {
        KEY_STR(listen_addr, check_listen_addr),
        KEY_INT(CONF_T_U16, listen_port, 1, 65535),
        KEY_STR(server_host, check_server_host),
        KEY_INT(CONF_T_U16, server_port, 1, 65535),
        KEY_INT(CONF_T_U32, workers, 0, 1024),
        KEY_STR(control_dir, check_control_dir),
        KEY_INT(CONF_T_U16, control_port, 1, 65535),
        KEY_OTHER(CONF_T_LOG_LEVEL, log_level),
        KEY_INT(CONF_T_U32, profile_ring_size, 1, 1u << 24),
        KEY_INT(CONF_T_U32, parser_cache_entries, 1, 1u << 20),
        KEY_INT(CONF_T_U32, max_client_conn, 1, 1000000),
        KEY_INT(CONF_T_U32, shutdown_timeout_s, 0, 86400),
        KEY_INT(CONF_T_U32, server_connect_timeout, 0, 86400),
        KEY_INT(CONF_T_U32, client_idle_timeout, 0, 31536000),
        KEY_INT(CONF_T_U32, client_login_timeout, 0, 86400),
        KEY_INT(CONF_T_U32, query_wait_timeout, 0, 86400),
        KEY_OTHER(CONF_T_SSLMODE, client_tls_sslmode),
        KEY_STR(client_tls_cert_file, NULL),
        KEY_STR(client_tls_key_file, NULL),
        KEY_STR(client_tls_ca_file, NULL),
        KEY_STR(client_tls_protocols, check_tls_protocols),
        KEY_OTHER(CONF_T_SSLMODE, server_tls_sslmode),
        KEY_STR(server_tls_ca_file, NULL),
        KEY_STR(server_tls_cert_file, NULL),
        KEY_STR(server_tls_key_file, NULL),
        KEY_STR(server_tls_protocols, check_tls_protocols),
        KEY_OTHER(CONF_T_BOOL, tls_passthrough),

        KEY_STR(manage_dsn, check_dsn),
        KEY_STR(tables, check_tables),
        KEY_OTHER(CONF_T_MODE, mode),
        KEY_INT(CONF_T_U32, lock_timeout_ms, 1, 60000),
        KEY_INT(CONF_T_U32, pause_timeout_ms, 1, 600000),
        KEY_INT(CONF_T_U32, cutover_retries, 1, 1000),
        KEY_INT(CONF_T_U32, backfill_chunk_rows, 1, 10000000),
        KEY_INT(CONF_T_U32, catalog_refresh_ms, 100, 86400000),
        KEY_INT(CONF_T_U32, cleanup_grace_s, 0, 604800),

        KEY_INT(CONF_T_U32, window_ms, 10, 3600000),
        KEY_INT(CONF_T_U32, season_windows, 2, 100000),
        KEY_INT(CONF_T_U32, horizon_windows, 1, 100000),
        KEY_INT(CONF_T_U32, history_windows, 0, 1000000),
        KEY_INT(CONF_T_U32, sub_buckets, 1, 1024),
        KEY_INT(CONF_T_U32, refit_windows, 0, 1000000),
        KEY_INT(CONF_T_U32, refit_budget_ms, 0, 3600000),
        KEY_STR(forecast_model, check_forecast_model),

        KEY_OTHER(CONF_T_DOUBLE, split_threshold_rps),
        KEY_INT(CONF_T_U64, split_min_width, 2, UINT64_MAX),
        KEY_INT(CONF_T_U32, hysteresis_s, 0, 31536000),
};

#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static const char *const mode_names[] = {"observe", "advise", "auto"};

const char *conf_mode_str(enum conf_mode m)
{
	if ((unsigned)m < sizeof(mode_names) / sizeof(mode_names[0]))
		return mode_names[m];
	return "?";
}

bool conf_mode_parse(const char *s, enum conf_mode *out)
{
	for (unsigned i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcasecmp(s, mode_names[i]) == 0) {
			*out = (enum conf_mode)i;
			return true;
		}
	}
	return false;
}

void conf_defaults(struct fs_conf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->listen_addr, "127.0.0.1");
	c->listen_port = 7432;
	strcpy(c->server_host, "127.0.0.1");
	c->server_port = 5432;
	c->workers = 0;
	strcpy(c->control_dir, "/tmp");
	c->control_port = 7433;
	c->log_level = FS_LOG_INFO;
	c->profile_ring_size = 65536;
	c->parser_cache_entries = 4096;
	c->max_client_conn = 1000;
	c->shutdown_timeout_s = 30;
	c->server_connect_timeout = 15;
	c->client_idle_timeout = 0;
	c->client_login_timeout = 60;
	c->query_wait_timeout = 120;
	c->client_tls_sslmode = FS_SSLMODE_DISABLE;
	strcpy(c->client_tls_protocols, "secure");
	c->server_tls_sslmode = FS_SSLMODE_PREFER;
	strcpy(c->server_tls_protocols, "secure");
	c->tls_passthrough = false;

	c->manage_dsn[0] = '\0';
	c->tables[0] = '\0';
	c->mode = CONF_MODE_ADVISE;
	c->lock_timeout_ms = 200;
	c->pause_timeout_ms = 2000;
	c->cutover_retries = 10;
	c->backfill_chunk_rows = 5000;
	c->catalog_refresh_ms = 5000;
	c->cleanup_grace_s = 60;

	c->window_ms = 1000;
	c->season_windows = 60;
	c->horizon_windows = 30;
	c->history_windows = 0;
	c->sub_buckets = 8;
	c->refit_windows = 0;
	c->refit_budget_ms = 0;
	snprintf(c->forecast_model, sizeof(c->forecast_model), "auto");

	c->split_threshold_rps = 100.0;
	c->split_min_width = 2;
	c->hysteresis_s = 300;
}

static bool check_listen_addr(const char *v, char *why, size_t whylen)
{
	if (v[0] != '\0')
		return true;
	snprintf(why, whylen, "expected a host name or IP address");
	return false;
}

static bool check_server_host(const char *v, char *why, size_t whylen)
{
	if (v[0] != '\0')
		return true;
	snprintf(why, whylen, "expected a host name, IP address or socket directory");
	return false;
}

static bool check_control_dir(const char *v, char *why, size_t whylen)
{
	if (v[0] == '/' && strlen(v) <= CONF_CONTROL_DIR_MAX)
		return true;
	snprintf(why, whylen,
	         "expected an absolute directory path of at most %zu bytes (the socket path "
	         "<dir>/.s.PGSQL.<port> must fit in 107 bytes)",
	         (size_t)CONF_CONTROL_DIR_MAX);
	return false;
}

/* Asks libpq itself, so that a typo is reported at start-up with the line it is on. */
static bool check_dsn(const char *v, char *why, size_t whylen)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(v, &msg);
	size_t n;

	if (opts) {
		PQconninfoFree(opts);
		return true;
	}
	if (!msg) {
		snprintf(why, whylen,
		         "expected a libpq connection string (libpq is out of memory)");
		return false;
	}
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	snprintf(why, whylen, "expected a libpq connection string (%s)", msg);
	PQfreemem(msg);
	return false;
}

static bool check_tables(const char *v, char *why, size_t whylen)
{
	const char *p = v;

	if (v[0] == '\0')
		return true; /* all partitioned tables */
	for (;;) {
		size_t len = strcspn(p, ",");
		bool blank = true;

		for (size_t i = 0; i < len; i++) {
			if (p[i] != ' ' && p[i] != '\t')
				blank = false;
		}
		if (blank) {
			snprintf(why, whylen,
			         "expected a comma-separated list of schema.table names with no "
			         "empty entry");
			return false;
		}
		if (p[len] == '\0')
			return true;
		p += len + 1;
	}
}

static bool check_tls_protocols(const char *v, char *why, size_t whylen)
{
	unsigned set;

	return fs_tls_protocols_parse(v, &set, why, whylen);
}

static bool check_forecast_model(const char *v, char *why, size_t whylen)
{
	enum forecast_model m;

	if (forecast_model_parse(v, &m))
		return true;
	snprintf(why, whylen, "expected auto, naive, snaive, ets, arima, prophet or lstm");
	return false;
}

/* PostgreSQL's spellings of a boolean setting. */
static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static const struct conf_key *conf_key_find(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcasecmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	}
	return NULL;
}

/* Writes "an integer from A to B" (or "... >= A" when B is the type's maximum) into buf. */
static void describe_range(const struct conf_key *k, char *buf, size_t len)
{
	if (k->type == CONF_T_U64 && k->max == UINT64_MAX)
		snprintf(buf, len, "an integer >= %" PRIu64, k->min);
	else
		snprintf(buf, len, "an integer from %" PRIu64 " to %" PRIu64, k->min, k->max);
}

/* Strict decimal: digits only, no sign, no blanks, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Stores an integer into the field of k's type; the value has been range-checked. */
static void store_int(struct fs_conf *c, const struct conf_key *k, uint64_t v)
{
	char *field = (char *)c + k->off;

	switch (k->type) {
	case CONF_T_U16:
		*(uint16_t *)field = (uint16_t)v;
		break;
	case CONF_T_U32:
		*(uint32_t *)field = (uint32_t)v;
		break;
	default:
		*(uint64_t *)field = v;
		break;
	}
}

static uint64_t load_int(const struct fs_conf *c, const struct conf_key *k)
{
	const char *field = (const char *)c + k->off;

	switch (k->type) {
	case CONF_T_U16:
		return *(const uint16_t *)field;
	case CONF_T_U32:
		return *(const uint32_t *)field;
	default:
		return *(const uint64_t *)field;
	}
}

/*
 * Parses value for key name and stores it in c. where prefixes every error ("file:line" or
 * "--set"). On error c is unchanged.
 */
static bool conf_apply(struct fs_conf *c, const char *where, const char *name, const char *value,
                       char *err, size_t errlen)
{
	const struct conf_key *k = conf_key_find(name);
	char *field;
	char why[512];
	uint64_t u;
	double d;
	char *end;
	size_t len;

	if (!k) {
		snprintf(err, errlen, "%s: unknown key '%s'", where, name);
		return false;
	}
	field = (char *)c + k->off;
	switch (k->type) {
	case CONF_T_STR:
		len = strlen(value);
		if (len >= k->size) {
			snprintf(err, errlen, "%s: %s: expected at most %zu bytes, got %zu bytes",
			         where, k->name, k->size - 1, len);
			return false;
		}
		if (k->check && !k->check(value, why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s: %s, got '%s'", where, k->name, why, value);
			return false;
		}
		memcpy(field, value, len + 1);
		return true;
	case CONF_T_U16:
	case CONF_T_U32:
	case CONF_T_U64:
		if (!parse_u64(value, &u) || u < k->min || u > k->max) {
			describe_range(k, why, sizeof(why));
			snprintf(err, errlen, "%s: %s: expected %s, got '%s'", where, k->name, why,
			         value);
			return false;
		}
		store_int(c, k, u);
		return true;
	case CONF_T_DOUBLE:
		errno = 0;
		d = strtod(value, &end);
		if (value[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(d) || d <= 0) {
			snprintf(err, errlen, "%s: %s: expected a number > 0, got '%s'", where,
			         k->name, value);
			return false;
		}
		*(double *)field = d;
		return true;
	case CONF_T_MODE:
		if (!conf_mode_parse(value, (enum conf_mode *)field)) {
			snprintf(err, errlen, "%s: %s: expected observe, advise or auto, got '%s'",
			         where, k->name, value);
			return false;
		}
		return true;
	case CONF_T_LOG_LEVEL:
		if (!fs_log_level_parse(value, (enum fs_log_level *)field)) {
			snprintf(err, errlen,
			         "%s: %s: expected error, warn, info or debug, got '%s'", where,
			         k->name, value);
			return false;
		}
		return true;
	case CONF_T_SSLMODE:
		if (!fs_sslmode_parse(value, (enum fs_sslmode *)field)) {
			snprintf(err, errlen,
			         "%s: %s: expected disable, allow, prefer, require, verify-ca or "
			         "verify-full, got '%s'",
			         where, k->name, value);
			return false;
		}
		return true;
	case CONF_T_BOOL:
		if (!parse_bool(value, (bool *)field)) {
			snprintf(err, errlen, "%s: %s: expected on or off, got '%s'", where,
			         k->name, value);
			return false;
		}
		return true;
	}
	return false;
}

static char *skip_blanks(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static bool is_comment_or_end(const char *s)
{
	return *s == '\0' || *s == '#' || *s == ';';
}

/*
 * Decodes the value that starts at s, in place. A quoted value runs to its closing quote (a
 * doubled quote is a literal one) and only blanks or a comment may follow; an unquoted value
 * runs to the first '#' or ';' and loses its surrounding blanks. Returns false with the problem
 * in *problem.
 */
static bool decode_value(char *s, char **out, const char **problem)
{
	char q, *r, *w;

	s = skip_blanks(s);
	if (*s != '\'' && *s != '"') {
		s[strcspn(s, "#;")] = '\0';
		trim_end(s);
		*out = s;
		return true;
	}
	q = *s;
	r = w = s + 1;
	for (;;) {
		if (*r == '\0') {
			*problem = "unterminated quoted value";
			return false;
		}
		if (*r == q) {
			if (r[1] != q)
				break;
			r++; /* doubled quote: keep one */
		}
		*w++ = *r++;
	}
	if (!is_comment_or_end(skip_blanks(r + 1))) {
		*problem = "unexpected text after the closing quote";
		return false;
	}
	*w = '\0';
	*out = s + 1;
	return true;
}

/* Handles one line of a file (without its newline). */
static bool conf_line(struct fs_conf *c, const char *where, char *line, char *err, size_t errlen)
{
	char *s = skip_blanks(line), *eq, *close, *name, *value;
	const char *problem;

	if (is_comment_or_end(s))
		return true;
	if (*s == '[') {
		close = strchr(s, ']');
		if (!close || !is_comment_or_end(skip_blanks(close + 1))) {
			snprintf(err, errlen, "%s: expected '[section]', got '%s'", where, s);
			return false;
		}
		*close = '\0';
		name = skip_blanks(s + 1);
		trim_end(name);
		if (strcasecmp(name, "foreshard") != 0) {
			snprintf(
			        err, errlen,
			        "%s: unknown section '[%s]': keys go at the top of the file or under "
			        "[foreshard]",
			        where, name);
			return false;
		}
		return true;
	}
	eq = strchr(s, '=');
	if (!eq || eq == s) {
		trim_end(s);
		snprintf(err, errlen, "%s: expected 'key = value', got '%s'", where, s);
		return false;
	}
	*eq = '\0';
	name = s;
	trim_end(name);
	if (!decode_value(eq + 1, &value, &problem)) {
		snprintf(err, errlen, "%s: %s: %s", where, name, problem);
		return false;
	}
	return conf_apply(c, where, name, value, err, errlen);
}

bool conf_load_file(struct fs_conf *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, where[4200];
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	bool ok = true;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while (ok && (n = getline(&line, &cap, f)) >= 0) {
		char *s = line;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strlen(line) != (size_t)n) {
			snprintf(err, errlen, "%s: the line contains a NUL byte", where);
			ok = false;
			break;
		}
		if (lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3; /* UTF-8 byte order mark some editors write */
		ok = conf_line(c, where, s, err, errlen);
	}
	if (ok && ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		ok = false;
	}
	free(line);
	fclose(f);
	return ok;
}

bool conf_set(struct fs_conf *c, const char *assignment, char *err, size_t errlen)
{
	char *copy = strdup(assignment), *eq, *name, *value;
	const char *problem;
	bool ok;

	if (!copy) {
		snprintf(err, errlen, "--set: out of memory");
		return false;
	}
	eq = strchr(copy, '=');
	name = skip_blanks(copy);
	if (!eq || eq == name) {
		snprintf(err, errlen, "--set: expected key=value, got '%s'", assignment);
		free(copy);
		return false;
	}
	*eq = '\0';
	trim_end(name);
	ok = decode_value(eq + 1, &value, &problem);
	if (!ok)
		snprintf(err, errlen, "--set: %s: %s", name, problem);
	else
		ok = conf_apply(c, "--set", name, value, err, errlen);
	free(copy);
	return ok;
}

/* True when a and b name the same listening address as far as text can tell. */
static bool same_host(const char *listen, const char *server)
{
	static const char *const loopback[] = {"127.0.0.1", "localhost", "::1"};
	bool listen_local = strcmp(listen, "0.0.0.0") == 0 || strcmp(listen, "*") == 0 ||
	                    strcmp(listen, "::") == 0;
	bool server_local = false;

	if (strcasecmp(listen, server) == 0)
		return true;
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		if (strcasecmp(listen, loopback[i]) == 0)
			listen_local = true;
		if (strcasecmp(server, loopback[i]) == 0)
			server_local = true;
	}
	return listen_local && server_local;
}

/* The TLS rules that involve several keys; the files themselves are read by the proxy. */
static bool validate_tls(const struct fs_conf *c, char *err, size_t errlen)
{
	if (c->client_tls_sslmode != FS_SSLMODE_DISABLE &&
	    (c->client_tls_cert_file[0] == '\0' || c->client_tls_key_file[0] == '\0')) {
		snprintf(
		        err, errlen,
		        "client_tls_sslmode = %s needs client_tls_cert_file and client_tls_key_file "
		        "(the certificate and key foreshard presents to clients)",
		        fs_sslmode_str(c->client_tls_sslmode));
		return false;
	}
	if (c->client_tls_sslmode >= FS_SSLMODE_VERIFY_CA && c->client_tls_ca_file[0] == '\0') {
		snprintf(err, errlen,
		         "client_tls_sslmode = %s needs client_tls_ca_file (the CA that signs the "
		         "client certificates to accept)",
		         fs_sslmode_str(c->client_tls_sslmode));
		return false;
	}
	if (c->server_tls_sslmode >= FS_SSLMODE_VERIFY_CA && c->server_tls_ca_file[0] == '\0') {
		snprintf(err, errlen,
		         "server_tls_sslmode = %s needs server_tls_ca_file (the CA that signs the "
		         "PostgreSQL server's certificate)",
		         fs_sslmode_str(c->server_tls_sslmode));
		return false;
	}
	if ((c->server_tls_cert_file[0] == '\0') != (c->server_tls_key_file[0] == '\0')) {
		snprintf(err, errlen,
		         "server_tls_cert_file and server_tls_key_file go together: set both (to "
		         "present a client certificate to the server) or neither");
		return false;
	}
	if (c->tls_passthrough && c->client_tls_sslmode != FS_SSLMODE_DISABLE) {
		snprintf(
		        err, errlen,
		        "tls_passthrough = on relays clients' TLS sessions to the server, so foreshard "
		        "cannot also terminate them: set client_tls_sslmode = disable (or "
		        "tls_passthrough = off)");
		return false;
	}
	return true;
}

bool conf_validate(const struct fs_conf *c, char *err, size_t errlen)
{
	char why[512];

	if (c->manage_dsn[0] == '\0') {
		snprintf(err, errlen,
		         "manage_dsn is required: the libpq connection string foreshard uses to "
		         "read partition bounds and run DDL, e.g. manage_dsn = 'host=127.0.0.1 "
		         "port=5432 dbname=app user=foreshard'");
		return false;
	}
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		const char *field = (const char *)c + k->off;
		uint64_t u;
		double d;

		switch (k->type) {
		case CONF_T_STR:
			if (!memchr(field, '\0', k->size)) {
				snprintf(err, errlen, "%s: expected at most %zu bytes", k->name,
				         k->size - 1);
				return false;
			}
			if (k->check && !k->check(field, why, sizeof(why))) {
				snprintf(err, errlen, "%s: %s, got '%s'", k->name, why, field);
				return false;
			}
			break;
		case CONF_T_U16:
		case CONF_T_U32:
		case CONF_T_U64:
			u = load_int(c, k);
			if (u < k->min || u > k->max) {
				describe_range(k, why, sizeof(why));
				snprintf(err, errlen, "%s: expected %s, got '%" PRIu64 "'", k->name,
				         why, u);
				return false;
			}
			break;
		case CONF_T_DOUBLE:
			d = *(const double *)field;
			if (!isfinite(d) || d <= 0) {
				snprintf(err, errlen, "%s: expected a number > 0, got '%g'",
				         k->name, d);
				return false;
			}
			break;
		case CONF_T_MODE:
			if ((unsigned)c->mode > CONF_MODE_AUTO) {
				snprintf(err, errlen, "mode: expected observe, advise or auto");
				return false;
			}
			break;
		case CONF_T_LOG_LEVEL:
			if ((unsigned)c->log_level > FS_LOG_DEBUG) {
				snprintf(err, errlen,
				         "log_level: expected error, warn, info or debug");
				return false;
			}
			break;
		case CONF_T_SSLMODE:
			if ((unsigned)*(const enum fs_sslmode *)field > FS_SSLMODE_VERIFY_FULL) {
				snprintf(err, errlen, "%s: expected an sslmode", k->name);
				return false;
			}
			break;
		case CONF_T_BOOL:
			break;
		}
	}
	if (c->listen_port == c->control_port) {
		snprintf(err, errlen,
		         "listen_port and control_port are both %u: give the console its own port, "
		         "so that 'psql -p %u' cannot reach the console when the proxy was meant "
		         "(or the other way round)",
		         (unsigned)c->listen_port, (unsigned)c->listen_port);
		return false;
	}
	if (c->server_port == c->listen_port && same_host(c->listen_addr, c->server_host)) {
		snprintf(err, errlen,
		         "server_host:server_port (%s:%u) is foreshard's own listen address: point "
		         "server_host and server_port at PostgreSQL",
		         c->server_host, (unsigned)c->server_port);
		return false;
	}
	if (c->history_windows != 0 && c->history_windows < 2 * c->season_windows) {
		snprintf(err, errlen,
		         "history_windows (%u) must be 0 or at least 2 * season_windows (%u): the "
		         "seasonal model needs two full seasons of history to fit",
		         c->history_windows, 2 * c->season_windows);
		return false;
	}
	if (c->lock_timeout_ms >= c->pause_timeout_ms) {
		snprintf(err, errlen,
		         "lock_timeout_ms (%u) must be shorter than pause_timeout_ms (%u): the "
		         "cutover waits for its locks while clients are paused",
		         c->lock_timeout_ms, c->pause_timeout_ms);
		return false;
	}
	return validate_tls(c, err, errlen);
}

int conf_changed_keys(const struct fs_conf *a, const struct fs_conf *b, const char **out, int max)
{
	int n = 0;

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		const char *fa = (const char *)a + k->off;
		const char *fb = (const char *)b + k->off;
		bool differ =
		        k->type == CONF_T_STR ? strcmp(fa, fb) != 0 : memcmp(fa, fb, k->size) != 0;

		if (differ && n < max)
			out[n++] = k->name;
	}
	return n;
}

bool conf_copy_key(struct fs_conf *dst, const struct fs_conf *src, const char *name)
{
	const struct conf_key *k = conf_key_find(name);

	if (!k)
		return false;
	memcpy((char *)dst + k->off, (const char *)src + k->off, k->size);
	return true;
}
