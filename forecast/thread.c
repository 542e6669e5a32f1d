/*
 * The forecast thread (see thread.h): owns a forecast engine and runs its loop.
 *
 * DESIGN: every FT_PERIOD_NS the thread (1) picks up a new catalog when the catalog slot's
 * version moved, (2) drains every worker ring in batches into the engine, (3) ticks the engine
 * on the wall clock and, when a window closed, publishes a new snapshot. Rings are SPSC with
 * this thread as the only consumer, so draining never blocks a producer; a worker whose ring
 * is full drops and counts on its side. A pass drains at most one ring's capacity per ring,
 * so a flood on one worker cannot starve the tick. The engine and everything it allocates
 * belong to this thread; only the published snapshots (immutable, reference counted) and the
 * event counter are seen by others. Stopping sets an atomic flag the loop checks each period.
 */
#include "forecast/thread.h"

#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/catalog.h"
#include "common/event.h"
#include "common/log.h"
#include "common/time.h"

/* Loop period: short against any sensible window, long enough to batch the rings' events. */
#define FT_PERIOD_NS 20000000L
/* Events copied out of a ring per pop. */
#define FT_BATCH 256

struct forecast_thread {
	pthread_t th;                            /* the thread itself */
	atomic_bool stop;                        /* set by forecast_thread_stop */
	_Atomic uint64_t events;                 /* events consumed, for any thread to read */
	struct forecast_engine *eng;             /* owned; used only by the thread */
	int n_rings;                             /* worker rings */
	struct fs_ring **rings;                  /* owned array of borrowed rings */
	struct fs_snap_slot *catalog_slot;       /* borrowed: struct fs_catalog snapshots */
	struct fs_snap_slot *forecast_slot;      /* borrowed: where snapshots are published */
	uint64_t catalog_seen;                   /* slot version the engine is aligned to */
	struct fs_profile_event batch[FT_BATCH]; /* pop buffer */
};

static void follow_catalog(struct forecast_thread *ft)
{
	uint64_t v = fs_snap_version(ft->catalog_slot);
	struct fs_catalog *cat;

	if (v == ft->catalog_seen)
		return;
	cat = (struct fs_catalog *)fs_snap_acquire(ft->catalog_slot);
	if (cat && !forecast_engine_set_catalog(ft->eng, cat)) {
		/* out of memory: keep the version unseen so the next pass retries */
		fs_log(FS_LOG_WARN, "forecast: out of memory aligning buckets to catalog %llu",
		       (unsigned long long)cat->version);
		fs_snap_release(&cat->snap);
		return;
	}
	fs_snap_release(cat ? &cat->snap : NULL);
	ft->catalog_seen = v;
}

static void drain(struct forecast_thread *ft)
{
	uint64_t n_total = 0;

	for (int r = 0; r < ft->n_rings; r++) {
		struct fs_ring *ring = ft->rings[r];
		uint64_t budget = (uint64_t)ring->mask + 1;
		uint32_t n;

		do {
			n = fs_ring_pop(ring, ft->batch, FT_BATCH);
			for (uint32_t i = 0; i < n; i++)
				forecast_engine_add(ft->eng, &ft->batch[i]);
			n_total += n;
			budget = budget > n ? budget - n : 0;
		} while (n == FT_BATCH && budget > 0);
	}
	if (n_total)
		atomic_fetch_add_explicit(&ft->events, n_total, memory_order_relaxed);
}

static void *forecast_thread_main(void *arg)
{
	struct forecast_thread *ft = arg;
	const struct timespec period = {.tv_sec = 0, .tv_nsec = FT_PERIOD_NS};

	while (!atomic_load_explicit(&ft->stop, memory_order_acquire)) {
		follow_catalog(ft);
		drain(ft);
		if (forecast_engine_tick(ft->eng, fs_wall_us())) {
			struct forecast_snapshot *s = forecast_engine_snapshot(ft->eng);

			if (s)
				fs_snap_publish(ft->forecast_slot, &s->snap);
			else
				fs_log(FS_LOG_WARN, "forecast: out of memory building a snapshot");
		}
		nanosleep(&period, NULL);
	}
	return NULL;
}

struct forecast_thread *forecast_thread_start(const struct forecast_config *cfg,
                                              struct fs_ring *const *rings, int n_rings,
                                              struct fs_snap_slot *catalog_slot,
                                              struct fs_snap_slot *forecast_slot, char *err,
                                              size_t errlen)
{
	struct forecast_thread *ft;
	int rc;

	if (!cfg || n_rings < 0 || (n_rings > 0 && !rings) || !catalog_slot || !forecast_slot) {
		snprintf(err, errlen, "forecast thread: missing config, rings or snapshot slots");
		return NULL;
	}
	for (int i = 0; i < n_rings; i++) {
		if (!rings[i] || rings[i]->elem_size != sizeof(struct fs_profile_event)) {
			snprintf(err, errlen,
			         "forecast thread: ring %d does not carry profile events", i);
			return NULL;
		}
	}
	ft = calloc(1, sizeof(*ft));
	if (!ft) {
		snprintf(err, errlen, "forecast thread: out of memory");
		return NULL;
	}
	ft->eng = forecast_engine_create(cfg);
	if (!ft->eng) {
		snprintf(
		        err, errlen,
		        "forecast: window_ms, season_windows, horizon_windows and sub_buckets must "
		        "be > 0 and the history at most %u windows (or out of memory)",
		        FORECAST_MAX_HISTORY);
		free(ft);
		return NULL;
	}
	ft->rings = calloc(n_rings ? (size_t)n_rings : 1, sizeof(*ft->rings));
	if (!ft->rings) {
		snprintf(err, errlen, "forecast thread: out of memory");
		forecast_engine_destroy(ft->eng);
		free(ft);
		return NULL;
	}
	memcpy(ft->rings, rings, (size_t)n_rings * sizeof(*ft->rings));
	ft->n_rings = n_rings;
	ft->catalog_slot = catalog_slot;
	ft->forecast_slot = forecast_slot;
	ft->catalog_seen = 0; /* slot versions start at 0 with nothing published */
	atomic_init(&ft->stop, false);
	atomic_init(&ft->events, 0);
	gsl_set_error_handler_off();
	rc = pthread_create(&ft->th, NULL, forecast_thread_main, ft);
	if (rc != 0) {
		snprintf(err, errlen, "forecast thread: pthread_create: %s", strerror(rc));
		free(ft->rings);
		forecast_engine_destroy(ft->eng);
		free(ft);
		return NULL;
	}
	pthread_setname_np(ft->th, "fs-forecast");
	return ft;
}

void forecast_thread_stop(struct forecast_thread *ft)
{
	if (!ft)
		return;
	atomic_store_explicit(&ft->stop, true, memory_order_release);
	pthread_join(ft->th, NULL);
	forecast_engine_destroy(ft->eng);
	free(ft->rings);
	free(ft);
}

uint64_t forecast_thread_events(const struct forecast_thread *ft)
{
	return atomic_load_explicit(&ft->events, memory_order_relaxed);
}
