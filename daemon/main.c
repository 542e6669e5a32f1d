/*
 * foreshard's entry point: reads the configuration, starts the threads in dependency order
 * (orchestrator first, since it publishes the catalog everyone reads; then the proxy workers,
 * the forecast thread and the planner), runs the admin console and signal handling in the main
 * thread's event loop, and stops everything in reverse order.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mailbox.h"
#include "common/snap.h"
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

/* Loads the file and the overrides in order; exits with the message on any error. */
static void load_config(int argc, char **argv, struct fs_conf *cf)
{
	const char *path = NULL;
	char err[512];

	conf_defaults(cf);
	for (int i = 1; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			path = argv[++i];
		} else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
			i++; /* applied after the file, below */
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "foreshard: unknown argument '%s'\n", argv[i]);
			usage(stderr);
			exit(2);
		}
	}
	if (path && !conf_load_file(cf, path, err, sizeof(err))) {
		fprintf(stderr, "foreshard: %s\n", err);
		exit(2);
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--set") && !conf_set(cf, argv[++i], err, sizeof(err))) {
			fprintf(stderr, "foreshard: %s\n", err);
			exit(2);
		}
	}
	if (!conf_validate(cf, err, sizeof(err))) {
		fprintf(stderr, "foreshard: %s\n", err);
		exit(2);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	fs_log(FS_LOG_INFO, "signal %d: shutting down", (int)sig);
	event_base_loopexit(arg, NULL);
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

static void die(const char *what, const char *err)
{
	fs_log(FS_LOG_ERROR, "%s: %s", what, err);
	exit(1);
}

int main(int argc, char **argv)
{
	struct fs_conf cf;
	struct fs_snap_slot catalog_slot, forecast_slot;
	struct fs_mailbox results;
	char err[512];
	_Atomic int mode;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	load_config(argc, argv, &cf);
	atomic_store(&fs_log_threshold, (int)cf.log_level);
	atomic_init(&mode, (int)cf.mode);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0)
		die("libevent", "no pthreads support");
	fs_snap_slot_init(&catalog_slot);
	fs_snap_slot_init(&forecast_slot);
	if (!fs_mailbox_init(&results, 64, sizeof(struct planner_result)))
		die("start-up", "out of memory");

	struct proxy_config pc = {
	        .listen_addr = cf.listen_addr,
	        .listen_port = cf.listen_port,
	        .server_host = cf.server_host,
	        .server_port = cf.server_port,
	        .workers = cf.workers ? cf.workers : (uint32_t)(cores > 0 ? cores : 1),
	        .ring_size = cf.profile_ring_size,
	        .parser_cache = cf.parser_cache_entries,
	        .pause_limit_ms = cf.pause_timeout_ms * 2,
	};
	struct proxy *proxy = proxy_create(&pc, &catalog_slot, err, sizeof(err));

	if (!proxy)
		die("proxy", err);

	struct orch_pause_ops pause_ops = {
	        .ctx = proxy,
	        .pause = pause_table,
	        .resume = resume_table,
	};
	struct orch_config oc = {
	        .dsn = cf.manage_dsn,
	        .tables = cf.tables,
	        .lock_timeout_ms = cf.lock_timeout_ms,
	        .pause_timeout_ms = cf.pause_timeout_ms,
	        .cutover_retries = cf.cutover_retries,
	        .backfill_chunk_rows = cf.backfill_chunk_rows,
	        .catalog_refresh_ms = cf.catalog_refresh_ms,
	        .cleanup_grace_ms = cf.cleanup_grace_s * 1000,
	};
	struct orch *orch = orch_start(&oc, &catalog_slot, &pause_ops, &results, err, sizeof(err));

	if (!orch)
		die("orchestrator", err);
	if (!proxy_start(proxy, err, sizeof(err)))
		die("proxy", err);

	int n_rings;
	struct fs_ring *const *rings = proxy_rings(proxy, &n_rings);
	struct forecast_config fcfg = {
	        .window_ms = cf.window_ms,
	        .season_windows = cf.season_windows,
	        .horizon_windows = cf.horizon_windows,
	        .history_windows = cf.history_windows ? cf.history_windows : 4 * cf.season_windows,
	        .sub_buckets = cf.sub_buckets,
	        .refit_windows = cf.refit_windows ? cf.refit_windows : cf.season_windows,
	};
	struct forecast_thread *fth = forecast_thread_start(&fcfg, rings, n_rings, &catalog_slot,
	                                                    &forecast_slot, err, sizeof(err));

	if (!fth)
		die("forecast", err);

	struct planner_thread_args pa = {
	        .planner =
	                {
	                        .split_threshold_rps = cf.split_threshold_rps,
	                        .split_min_width = cf.split_min_width,
	                        .min_history_windows = cf.season_windows,
	                        .hysteresis_ms = (uint64_t)cf.hysteresis_s * 1000,
	                },
	        .period_ms = cf.window_ms,
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
	        .pause_timeout_ms = cf.pause_timeout_ms,
	        .main_base = base,
	};
	struct proxy_console_ops ops;
	struct proxy_console *console;
	struct event *sigterm, *sigint;

	if (!base)
		die("start-up", "cannot create the main event loop");
	admin_console_ops(&actx, &ops);
	console =
	        proxy_console_start(base, cf.control_dir, cf.control_port, &ops, err, sizeof(err));
	if (!console)
		die("console", err);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	fs_log(FS_LOG_INFO,
	       "foreshard listening on %s:%u, fronting %s:%u, console %s, mode %s, %u workers",
	       cf.listen_addr, cf.listen_port, cf.server_host, cf.server_port,
	       proxy_console_path(console), conf_mode_str(cf.mode), pc.workers);

	event_base_dispatch(base);

	proxy_console_stop(console);
	event_free(sigterm);
	event_free(sigint);
	planner_thread_stop(pth);
	forecast_thread_stop(fth);
	orch_stop(orch);
	proxy_destroy(proxy);
	event_base_free(base);
	fs_mailbox_cleanup(&results);
	fs_snap_slot_cleanup(&forecast_slot);
	fs_snap_slot_cleanup(&catalog_slot);
	fs_log(FS_LOG_INFO, "foreshard stopped");
	return 0;
}
