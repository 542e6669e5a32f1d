#pragma once
/*
 * The forecast thread: the only consumer of the proxy workers' profile rings. It drains them
 * into a forecast engine (forecast/forecast.h), follows the published catalog, closes windows
 * on the wall clock and publishes a forecast snapshot each time a window closes.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/ring.h"
#include "common/snap.h"
#include "forecast/forecast.h"

struct forecast_thread;

/*
 * Starts the thread. rings (n_rings of them, each with struct fs_profile_event elements) must
 * outlive the thread; this thread becomes their only consumer. catalog_slot holds struct
 * fs_catalog snapshots (read only); forecast_slot receives struct forecast_snapshot objects.
 * cfg is copied. Also turns GSL's abort-on-error handler off for the process: a model that
 * cannot be fit must degrade forecasting, not kill the proxy. Returns NULL with a message in
 * err on an invalid config or argument, allocation failure, or failure to create the thread.
 * Call from the main thread at start-up.
 */
struct forecast_thread *forecast_thread_start(const struct forecast_config *cfg,
                                              struct fs_ring *const *rings, int n_rings,
                                              struct fs_snap_slot *catalog_slot,
                                              struct fs_snap_slot *forecast_slot, char *err,
                                              size_t errlen);

/*
 * Stops the thread, waits for it, and frees it with its engine. Events still in the rings are
 * left there. Snapshots already published stay in forecast_slot. NULL is ignored.
 */
void forecast_thread_stop(struct forecast_thread *ft);

/* Events consumed from the rings so far. Any thread. */
uint64_t forecast_thread_events(const struct forecast_thread *ft);
