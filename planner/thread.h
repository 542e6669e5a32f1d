#pragma once
/*
 * The planner thread: once per forecast window it plans against the latest forecast and catalog
 * snapshots, keeps every action it proposed, hands actions to the orchestrator (at once in auto
 * mode, on APPLY in advise mode, never in observe mode), and follows their outcome.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/mailbox.h"
#include "common/snap.h"
#include "planner/planner.h"

/* Modes, as in conf_mode: observe (0), advise (1), auto (2). */
enum planner_mode {
	PLANNER_MODE_OBSERVE = 0,
	PLANNER_MODE_ADVISE,
	PLANNER_MODE_AUTO,
};

/* Every action proposed so far, oldest first, for SHOW PLANS. */
struct planner_plans_snap {
	struct fs_snap snap;             /* must be first */
	int n;                           /* entries used */
	struct planner_action actions[]; /* n entries */
};

struct planner_thread_args {
	struct planner_config planner;      /* rules for planner_plan */
	uint32_t period_ms;                 /* how often to plan (the forecast window) */
	struct fs_snap_slot *catalog_slot;  /* borrowed */
	struct fs_snap_slot *forecast_slot; /* borrowed */
	struct fs_mailbox *orch_inbox;      /* struct planner_action; borrowed */
	struct fs_mailbox *orch_results; /* struct planner_result; borrowed, this thread consumes */
	_Atomic int *mode;               /* enum planner_mode, changed by SET MODE; borrowed */
};

struct planner_thread;

/* Starts the thread. Returns NULL with err on failure. */
struct planner_thread *planner_thread_start(const struct planner_thread_args *args, char *err,
                                            size_t errlen);

/* Where SHOW PLANS reads from. */
struct fs_snap_slot *planner_thread_plans(struct planner_thread *t);

/*
 * Asks the thread to hand proposed action id to the orchestrator (APPLY). Returns false with err
 * when the request cannot be queued; whether the id exists is checked against the plans snapshot
 * by the caller, and the outcome shows in SHOW PLANS.
 */
__attribute__((warn_unused_result)) bool planner_thread_apply(struct planner_thread *t, uint32_t id,
                                                              char *err, size_t errlen);

/* Stops and joins the thread, frees everything. */
void planner_thread_stop(struct planner_thread *t);
