#pragma once
/*
 * The console's commands (proxy/console.h) implemented over the daemon's threads: every handler
 * reads a published snapshot or sends a command through a mailbox; none touches another
 * thread's state directly.
 */
#include <stdatomic.h>

#include "common/snap.h"
#include "proxy/console.h"

struct proxy;
struct planner_thread;
struct orch;
struct event_base;

/* Everything the handlers read from or send to; all borrowed from the daemon. */
struct admin_ctx {
	struct proxy *proxy;
	struct fs_snap_slot *catalog_slot;
	struct fs_snap_slot *forecast_slot;
	struct planner_thread *planner;
	struct orch *orch;
	_Atomic int *mode;            /* enum planner_mode */
	uint32_t pause_timeout_ms;    /* for console PAUSE */
	struct event_base *main_base; /* SHUTDOWN leaves its loop */
};

/* Fills ops with the handlers, ctx as their argument. */
void admin_console_ops(struct admin_ctx *ctx, struct proxy_console_ops *ops);
