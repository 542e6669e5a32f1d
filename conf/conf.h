#pragma once
/*
 * Configuration: an INI file (key = value, '#' or ';' comments, an optional [foreshard]
 * section header) plus --set key=value overrides from the command line, applied after the file.
 * Every key has a default; unknown keys and bad values are rejected with "FILE:LINE: key: what
 * is wrong" (or "--set: ..." for overrides). The field names are the key names. The syntax and
 * every key's meaning and range are documented for users in conf/foreshard.ini.
 *
 * All functions are plain code over caller-owned memory: call them from the main thread at
 * start-up (or on a reload) before the values are handed to the other threads.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/tlsconf.h"

enum conf_mode {
	CONF_MODE_OBSERVE = 0, /* profile and forecast only */
	CONF_MODE_ADVISE,      /* plans are shown; applied only by APPLY in the console */
	CONF_MODE_AUTO,        /* plans are applied when they pass the planner's rules */
};

/* "observe", "advise" or "auto"; "?" for a value outside the enum. Static string. */
const char *conf_mode_str(enum conf_mode m);

/* Parses a mode name, case-insensitively. Returns false (out untouched) on anything else. */
__attribute__((warn_unused_result)) bool conf_mode_parse(const char *s, enum conf_mode *out);

struct fs_conf {
	/* proxy */
	char listen_addr[64];  /* address clients connect to; default 127.0.0.1 */
	uint16_t listen_port;  /* default 7432 (neither PostgreSQL's 5432 nor PgBouncer's 6432) */
	char server_host[256]; /* PostgreSQL to front: host, IP or socket dir; default 127.0.0.1 */
	uint16_t server_port;  /* default 5432 */
	uint32_t workers;      /* proxy worker threads; 0 = number of cores (default) */
	char control_dir[256]; /* directory of the console socket; default /tmp */
	uint16_t control_port; /* console socket is control_dir/.s.PGSQL.<port>; default 7433 */
	enum fs_log_level log_level;     /* error | warn | info | debug; default info */
	uint32_t profile_ring_size;      /* events per worker ring; default 65536 */
	uint32_t parser_cache_entries;   /* templates cached per worker; default 4096 */
	uint32_t max_client_conn;        /* client connections at once; more are refused; 1000 */
	uint32_t shutdown_timeout_s;     /* SIGTERM waits this long for clients to leave; 30 */
	uint32_t server_connect_timeout; /* s for the server to answer a new connection; 15 */
	uint32_t client_idle_timeout;    /* s a client may sit idle outside a transaction; 0 */
	uint32_t client_login_timeout;   /* s from accept to the end of authentication; 60 */
	uint32_t query_wait_timeout;     /* s a statement may be held by a pause; 120 */

	/* TLS (PgBouncer's key names); files are re-read on SIGHUP */
	enum fs_sslmode client_tls_sslmode; /* client leg; default disable */
	char client_tls_cert_file[256];     /* foreshard's certificate towards clients */
	char client_tls_key_file[256];      /* its private key */
	char client_tls_ca_file[256];       /* CA that signs client certificates (verify-*) */
	char client_tls_protocols[64];      /* default secure (TLS 1.2 and 1.3) */
	enum fs_sslmode server_tls_sslmode; /* server leg; default prefer */
	char server_tls_ca_file[256];       /* CA that signs the server's certificate */
	char server_tls_cert_file[256];     /* optional client certificate towards the server */
	char server_tls_key_file[256];      /* its private key */
	char server_tls_protocols[64];      /* default secure */
	bool tls_passthrough; /* relay clients' TLS sessions to the server unopened; off */

	/* orchestrator */
	char manage_dsn[512];         /* libpq conninfo for catalog reads and DDL; required */
	char tables[1024];            /* comma-separated schema.table to manage; empty = all */
	enum conf_mode mode;          /* observe | advise | auto; default advise */
	uint32_t lock_timeout_ms;     /* per-lock timeout of cutover DDL; default 200 */
	uint32_t pause_timeout_ms;    /* hard limit of a cutover pause; default 2000 */
	uint32_t cutover_retries;     /* cutover attempts before rolling back; default 10 */
	uint32_t backfill_chunk_rows; /* rows copied per backfill transaction; default 5000 */
	uint32_t catalog_refresh_ms;  /* partition bounds re-read period; default 5000 */
	uint32_t cleanup_grace_s;     /* old partition kept after cutover; default 60 */

	/* forecast */
	uint32_t window_ms;       /* aggregation window; default 1000 */
	uint32_t season_windows;  /* season length in windows; default 60 */
	uint32_t horizon_windows; /* forecast horizon in windows; default 30 */
	uint32_t history_windows; /* history kept per bucket; default 0 = 4 seasons */
	uint32_t sub_buckets;     /* buckets per partition; default 8 */
	uint32_t refit_windows;   /* refit every N windows; default 0 = once per season */
	uint32_t refit_budget_ms; /* CPU time per window for refits; default 0 = window_ms / 4 */
	char forecast_model[16];  /* auto (default), naive, snaive, ets, arima, prophet, lstm */

	/* planner */
	double split_threshold_rps; /* forecast req/s that makes a partition worth splitting; 100 */
	uint64_t split_min_width;   /* narrowest partition to split, encoded key units; default 2 */
	uint32_t hysteresis_s;      /* minimum seconds between changes to one table; default 300 */
};

/* Fills every field with its default (manage_dsn empty: it has none). */
void conf_defaults(struct fs_conf *c);

/*
 * Loads path over the current values of c; a key given twice keeps its last value. Returns false
 * with "path:line: ..." in err on the first error, or "path: ..." when the file cannot be read
 * (c may then be partly updated: load into a copy when the old one must survive).
 */
__attribute__((warn_unused_result)) bool conf_load_file(struct fs_conf *c, const char *path,
                                                        char *err, size_t errlen);

/*
 * Applies one "key=value" override (the value may be quoted as in the file). Returns false with
 * "--set: ..." in err, c unchanged.
 */
__attribute__((warn_unused_result)) bool conf_set(struct fs_conf *c, const char *assignment,
                                                  char *err, size_t errlen);

/*
 * Checks c after all sources were applied: every range (so that values set by code are checked
 * too) and the rules that involve several keys (manage_dsn present, listen_port differs from
 * control_port, foreshard not fronting itself, history long enough for a season model, lock
 * timeout shorter than the pause limit). Returns false with the first problem in err.
 */
__attribute__((warn_unused_result)) bool conf_validate(const struct fs_conf *c, char *err,
                                                       size_t errlen);

/*
 * Lists the names of the keys whose values differ between a and b (static strings), at most
 * max of them, in the order of the key table; returns how many were written. Used by SIGHUP to
 * say which changes need a restart.
 */
int conf_changed_keys(const struct fs_conf *a, const struct fs_conf *b, const char **out, int max);

/* Copies the value of key name (as conf_changed_keys names it) from src to dst; false if unknown. */
bool conf_copy_key(struct fs_conf *dst, const struct fs_conf *src, const char *name);
