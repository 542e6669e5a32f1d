/*
 * foreshard's entry point: reads the configuration, starts the threads in dependency order
 * (orchestrator first, since it publishes the catalog everyone reads; then the proxy workers,
 * the forecast thread and the planner), runs the admin console and signal handling in the main
 * thread's event loop, and stops everything in reverse order.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mailbox.h"
#include "common/snap.h"
#include "common/time.h"
#include "conf/conf.h"
#include "daemon/admin.h"
#include "forecast/thread.h"
#include "orchestrator/orch.h"
#include "planner/thread.h"
#include "proxy/console.h"
#include "proxy/proxy.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: foreshard -c FILE [--set key=value ...]\n"
	           "  -c, --config FILE   configuration file (see conf/foreshard.ini)\n"
	           "  --set key=value     override one configuration key (repeatable)\n"
	           "  -h, --help          this text\n");
}

/* The command line, kept for SIGHUP, which reads the same file and overrides again. */
struct args {
	const char *path; /* -c FILE, or NULL */
	char **sets;      /* the --set key=value arguments, in order */
	int n_sets;
};

static void parse_args(int argc, char **argv, struct args *a)
{
	a->path = NULL;
	a->sets = calloc((size_t)argc, sizeof(*a->sets));
	a->n_sets = 0;
	if (!a->sets) {
		fprintf(stderr, "foreshard: out of memory\n");
		exit(1);
	}
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			a->path = argv[++i];
		} else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
			a->sets[a->n_sets++] = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(a->sets);
			exit(0);
		} else {
			fprintf(stderr, "foreshard: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			free(a->sets);
			exit(2);
		}
	}
}

/* Builds the configuration from defaults, the file and the overrides. False with err. */
static bool load_config(const struct args *a, struct fs_conf *cf, char *err, size_t errlen)
{
	conf_defaults(cf);
	if (a->path && !conf_load_file(cf, a->path, err, errlen))
		return false;
	for (int i = 0; i < a->n_sets; i++) {
		if (!conf_set(cf, a->sets[i], err, errlen))
			return false;
	}
	return conf_validate(cf, err, errlen);
}

/* What the signal handlers act on; lives in main's frame. */
struct daemon {
	struct event_base *base;
	struct proxy *proxy;
	struct args args;
	struct fs_conf cf;          /* the configuration in force */
	_Atomic int *mode;          /* the planner's mode, changed by reload and SET MODE */
	struct event *drain_ev;     /* SIGTERM: checks every 100 ms whether clients are gone */
	uint64_t drain_deadline_us; /* monotonic; 0 when not draining */
};

/* Loads the TLS settings of a configuration (certificates, keys, CAs). NULL with err. */
static struct proxy_tls *load_tls(const struct fs_conf *cf, char *err, size_t errlen)
{
	struct proxy_tls_config tc = {
	        .client_mode = cf->client_tls_sslmode,
	        .client_cert_file = cf->client_tls_cert_file,
	        .client_key_file = cf->client_tls_key_file,
	        .client_ca_file = cf->client_tls_ca_file,
	        .client_protocols = cf->client_tls_protocols,
	        .server_mode = cf->server_tls_sslmode,
	        .server_ca_file = cf->server_tls_ca_file,
	        .server_cert_file = cf->server_tls_cert_file,
	        .server_key_file = cf->server_tls_key_file,
	        .server_protocols = cf->server_tls_protocols,
	        .passthrough = cf->tls_passthrough,
	};

	return proxy_tls_new(&tc, cf->server_host, err, errlen);
}

static struct proxy_timeouts timeouts(const struct fs_conf *cf)
{
	return (struct proxy_timeouts){
	        .server_connect = cf->server_connect_timeout,
	        .client_idle = cf->client_idle_timeout,
	        .client_login = cf->client_login_timeout,
	        .query_wait = cf->query_wait_timeout,
	};
}

/* Keys SIGHUP applies at once (besides log_level and mode, which have their own handling). */
static bool reloadable(const char *key)
{
	return !strncmp(key, "client_tls_", 11) || !strncmp(key, "server_tls_", 11) ||
	       !strcmp(key, "tls_passthrough") || !strcmp(key, "server_connect_timeout") ||
	       !strcmp(key, "client_idle_timeout") || !strcmp(key, "query_wait_timeout") ||
	       !strcmp(key, "client_login_timeout");
}

/*
 * SIGHUP: reads the configuration again. An invalid file changes nothing, and neither do TLS
 * files that cannot be loaded. Of a valid one, log_level, mode, the timeouts and the TLS settings
 * take effect at once (the TLS files are re-read even when their names did not change: that is
 * how certificates are rotated); other changed keys are named in the log as needing a restart,
 * and keep their running values.
 */
static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct fs_conf next;
	const char *changed[64];
	char err[512];
	int n;

	(void)sig;
	(void)what;
	if (!load_config(&d->args, &next, err, sizeof(err))) {
		fs_log(FS_LOG_ERROR,
		       "SIGHUP: configuration not reloaded, keeping the running one: %s", err);
		return;
	}
	struct proxy_tls *tls = load_tls(&next, err, sizeof(err));
	struct proxy_timeouts to = timeouts(&next);

	if (!tls) {
		fs_log(FS_LOG_ERROR,
		       "SIGHUP: configuration not reloaded, keeping the running one: %s", err);
		return;
	}
	proxy_set_tls(d->proxy, tls);
	proxy_tls_unref(tls);
	proxy_set_timeouts(d->proxy, &to);
	n = conf_changed_keys(&d->cf, &next, changed, 64);
	for (int i = 0; i < n; i++) {
		if (!strcmp(changed[i], "log_level")) {
			d->cf.log_level = next.log_level;
			atomic_store(&fs_log_threshold, (int)next.log_level);
		} else if (!strcmp(changed[i], "mode")) {
			d->cf.mode = next.mode;
			atomic_store(d->mode, (int)next.mode);
		} else if (reloadable(changed[i])) {
			conf_copy_key(&d->cf, &next, changed[i]); /* applied above */
		} else {
			fs_log(FS_LOG_WARN, "SIGHUP: %s changed; restart foreshard to apply it",
			       changed[i]);
			continue;
		}
		fs_log(FS_LOG_INFO, "SIGHUP: %s changed", changed[i]);
	}
	fs_log(FS_LOG_INFO, "SIGHUP: configuration reloaded (%d key(s) differ); TLS files re-read",
	       n);
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct proxy_stats s;

	(void)fd;
	(void)what;
	proxy_get_stats(d->proxy, &s);
	if (s.clients_active == 0) {
		fs_log(FS_LOG_INFO, "all clients gone: stopping");
		event_base_loopexit(d->base, NULL);
	} else if (fs_mono_us() >= d->drain_deadline_us) {
		fs_log(FS_LOG_WARN,
		       "shutdown_timeout_s passed with %llu client(s) still connected: "
		       "closing them",
		       (unsigned long long)s.clients_active);
		event_base_loopexit(d->base, NULL);
	}
}

/* SIGTERM: stop accepting, let sessions finish up to shutdown_timeout_s; a second one: now. */
static void on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tick = {0, 100000};

	(void)sig;
	(void)what;
	if (d->drain_deadline_us) {
		fs_log(FS_LOG_INFO, "second SIGTERM: stopping now");
		event_base_loopexit(d->base, NULL);
		return;
	}
	fs_log(FS_LOG_INFO, "SIGTERM: no new clients; waiting up to %u s for sessions to end",
	       d->cf.shutdown_timeout_s);
	proxy_stop_accepting(d->proxy);
	d->drain_deadline_us = fs_mono_us() + (uint64_t)d->cf.shutdown_timeout_s * 1000000;
	event_add(d->drain_ev, &tick);
	drain_tick(-1, 0, d);
}

/* SIGINT: stop at once, closing every connection. */
static void on_sigint(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)sig;
	(void)what;
	fs_log(FS_LOG_INFO, "SIGINT: stopping now");
	event_base_loopexit(d->base, NULL);
}

/* The orchestrator's view of the proxy's pause (orch_pause_ops). */
static bool pause_table(void *proxy, uint16_t table_id, uint32_t timeout_ms)
{
	return proxy_pause(proxy, table_id, timeout_ms);
}

static void resume_table(void *proxy, uint16_t table_id)
{
	proxy_resume(proxy, table_id);
}

/*
 * Raises the open-file limit to its hard maximum: every client costs two descriptors (its own and
 * its server connection's), and the default soft limit of 1024 would cap foreshard at ~500.
 */
static void raise_fd_limit(uint32_t max_client_conn)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * (rlim_t)max_client_conn + 64)
		fs_log(FS_LOG_WARN,
		       "open-file limit %llu is too low for max_client_conn = %u (needs about %u); "
		       "raise it (ulimit -n, or LimitNOFILE= in the systemd unit)",
		       (unsigned long long)rl.rlim_cur, max_client_conn, 2 * max_client_conn + 64);
}

static void die(const char *what, const char *err)
{
	fs_log(FS_LOG_ERROR, "%s: %s", what, err);
	exit(1);
}

int main(int argc, char **argv)
{
	struct daemon d = {0};
	struct fs_snap_slot catalog_slot, forecast_slot;
	struct fs_mailbox results;
	char err[512];
	_Atomic int mode;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	struct proxy_tls *tls;

	parse_args(argc, argv, &d.args);
	/* a certificate that cannot be loaded is a configuration error like any other */
	if (!load_config(&d.args, &d.cf, err, sizeof(err)) ||
	    !(tls = load_tls(&d.cf, err, sizeof(err)))) {
		fprintf(stderr, "foreshard: %s\n", err);
		free(d.args.sets);
		return 2;
	}
	atomic_store(&fs_log_threshold, (int)d.cf.log_level);
	atomic_init(&mode, (int)d.cf.mode);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(d.cf.max_client_conn);
	if (evthread_use_pthreads() != 0)
		die("libevent", "no pthreads support");
	fs_snap_slot_init(&catalog_slot);
	fs_snap_slot_init(&forecast_slot);
	if (!fs_mailbox_init(&results, 64, sizeof(struct planner_result)))
		die("start-up", "out of memory");

	struct proxy_config pc = {
	        .listen_addr = d.cf.listen_addr,
	        .listen_port = d.cf.listen_port,
	        .server_host = d.cf.server_host,
	        .server_port = d.cf.server_port,
	        .workers = d.cf.workers ? d.cf.workers : (uint32_t)(cores > 0 ? cores : 1),
	        .ring_size = d.cf.profile_ring_size,
	        .parser_cache = d.cf.parser_cache_entries,
	        .pause_limit_ms = d.cf.pause_timeout_ms * 2,
	        .max_client_conn = d.cf.max_client_conn,
	        .timeouts = timeouts(&d.cf),
	        .tls = tls,
	};
	struct proxy *proxy = proxy_create(&pc, &catalog_slot, err, sizeof(err));

	proxy_tls_unref(tls); /* the proxy holds its own reference */
	if (!proxy)
		die("proxy", err);

	struct orch_pause_ops pause_ops = {
	        .ctx = proxy,
	        .pause = pause_table,
	        .resume = resume_table,
	};
	struct orch_config oc = {
	        .dsn = d.cf.manage_dsn,
	        .tables = d.cf.tables,
	        .lock_timeout_ms = d.cf.lock_timeout_ms,
	        .pause_timeout_ms = d.cf.pause_timeout_ms,
	        .cutover_retries = d.cf.cutover_retries,
	        .backfill_chunk_rows = d.cf.backfill_chunk_rows,
	        .catalog_refresh_ms = d.cf.catalog_refresh_ms,
	        .cleanup_grace_ms = d.cf.cleanup_grace_s * 1000,
	};
	struct orch *orch = orch_start(&oc, &catalog_slot, &pause_ops, &results, err, sizeof(err));

	if (!orch)
		die("orchestrator", err);
	if (!proxy_start(proxy, err, sizeof(err)))
		die("proxy", err);

	int n_rings;
	struct fs_ring *const *rings = proxy_rings(proxy, &n_rings);
	struct forecast_config fcfg = {
	        .window_ms = d.cf.window_ms,
	        .season_windows = d.cf.season_windows,
	        .horizon_windows = d.cf.horizon_windows,
	        .history_windows =
	                d.cf.history_windows ? d.cf.history_windows : 4 * d.cf.season_windows,
	        .sub_buckets = d.cf.sub_buckets,
	        .refit_windows = d.cf.refit_windows ? d.cf.refit_windows : d.cf.season_windows,
	        .refit_budget_us =
	                (d.cf.refit_budget_ms ? d.cf.refit_budget_ms : d.cf.window_ms / 4) * 1000u,
	};

	if (!forecast_model_parse(d.cf.forecast_model, &fcfg.model))
		fcfg.model = FORECAST_MODEL_AUTO; /* unreachable: conf_load checked the name */
	struct forecast_thread *fth = forecast_thread_start(&fcfg, rings, n_rings, &catalog_slot,
	                                                    &forecast_slot, err, sizeof(err));

	if (!fth)
		die("forecast", err);

	struct planner_thread_args pa = {
	        .planner =
	                {
	                        .split_threshold_rps = d.cf.split_threshold_rps,
	                        .split_min_width = d.cf.split_min_width,
	                        .min_history_windows = d.cf.season_windows,
	                        .hysteresis_ms = (uint64_t)d.cf.hysteresis_s * 1000,
	                },
	        .period_ms = d.cf.window_ms,
	        .catalog_slot = &catalog_slot,
	        .forecast_slot = &forecast_slot,
	        .orch_inbox = orch_inbox(orch),
	        .orch_results = &results,
	        .mode = &mode,
	};
	struct planner_thread *pth = planner_thread_start(&pa, err, sizeof(err));

	if (!pth)
		die("planner", err);

	struct event_base *base = event_base_new();
	struct admin_ctx actx = {
	        .proxy = proxy,
	        .catalog_slot = &catalog_slot,
	        .forecast_slot = &forecast_slot,
	        .planner = pth,
	        .orch = orch,
	        .mode = &mode,
	        .pause_timeout_ms = d.cf.pause_timeout_ms,
	        .main_base = base,
	};
	struct proxy_console_ops ops;
	struct proxy_console *console;
	struct event *sigterm, *sigint, *sighup;

	if (!base)
		die("start-up", "cannot create the main event loop");
	admin_console_ops(&actx, &ops);
	console = proxy_console_start(base, d.cf.control_dir, d.cf.control_port, &ops, err,
	                              sizeof(err));
	if (!console)
		die("console", err);
	d.base = base;
	d.proxy = proxy;
	d.mode = &mode;
	d.drain_ev = event_new(base, -1, EV_PERSIST, drain_tick, &d);
	sigterm = evsignal_new(base, SIGTERM, on_sigterm, &d);
	sigint = evsignal_new(base, SIGINT, on_sigint, &d);
	sighup = evsignal_new(base, SIGHUP, on_sighup, &d);
	if (!d.drain_ev || !sigterm || !sigint || !sighup)
		die("start-up", "cannot set up signal handling");
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sighup, NULL);
	fs_log(FS_LOG_INFO,
	       "foreshard listening on %s:%u, fronting %s:%u, console %s, mode %s, %u workers",
	       d.cf.listen_addr, d.cf.listen_port, d.cf.server_host, d.cf.server_port,
	       proxy_console_path(console), conf_mode_str(d.cf.mode), pc.workers);

	event_base_dispatch(base);

	proxy_console_stop(console);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_free(d.drain_ev);
	planner_thread_stop(pth);
	forecast_thread_stop(fth);
	orch_stop(orch);
	proxy_destroy(proxy);
	event_base_free(base);
	fs_mailbox_cleanup(&results);
	fs_snap_slot_cleanup(&forecast_slot);
	fs_snap_slot_cleanup(&catalog_slot);
	free(d.args.sets);
	fs_log(FS_LOG_INFO, "foreshard stopped");
	return 0;
}
