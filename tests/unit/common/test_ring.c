/* The SPSC ring: order, fullness, and one producer against one consumer under load. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/event.h"
#include "common/ring.h"

Test(ring, keeps_order_and_reports_full)
{
	struct fs_ring r;
	uint64_t v, out[8];

	cr_assert(fs_ring_init(&r, 4, sizeof(uint64_t)));
	for (v = 0; v < 4; v++)
		cr_assert(fs_ring_push(&r, &v));
	v = 99;
	cr_assert_not(fs_ring_push(&r, &v), "a full ring must refuse, not overwrite");
	cr_assert_eq(fs_ring_pop(&r, out, 8), 4);
	for (v = 0; v < 4; v++)
		cr_assert_eq(out[v], v);
	cr_assert_eq(fs_ring_pop(&r, out, 8), 0);
	fs_ring_cleanup(&r);
}

#define N_EVENTS 2000000u

struct producer {
	struct fs_ring *ring;
	uint64_t dropped; /* pushes the full ring refused */
	atomic_bool done; /* set after the last push */
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	struct fs_profile_event ev = {0};

	for (uint32_t i = 0; i < N_EVENTS; i++) {
		ev.ts_us = i;
		ev.key_lo = ~(uint64_t)i;
		if (!fs_ring_push(pr->ring, &ev))
			pr->dropped++;
	}
	atomic_store(&pr->done, true);
	return NULL;
}

Test(ring, spsc_under_concurrency_loses_or_reorders_nothing)
{
	struct fs_ring r;
	struct fs_profile_event buf[256];
	struct producer pr = {.ring = &r};
	pthread_t th;
	uint64_t received = 0;
	int64_t last = -1;

	cr_assert(fs_ring_init(&r, 1024, sizeof(struct fs_profile_event)));
	atomic_init(&pr.done, false);
	pthread_create(&th, NULL, produce, &pr);
	for (;;) {
		bool done = atomic_load(&pr.done); /* read before popping: no push can follow */
		uint32_t n = fs_ring_pop(&r, buf, 256);

		for (uint32_t i = 0; i < n; i++) {
			cr_assert_eq(buf[i].key_lo, ~buf[i].ts_us, "torn event");
			cr_assert_gt((int64_t)buf[i].ts_us, last, "reordered event");
			last = (int64_t)buf[i].ts_us;
		}
		received += n;
		if (done && n == 0)
			break;
	}
	pthread_join(th, NULL);
	cr_assert_eq(received + pr.dropped, N_EVENTS, "every event is delivered or counted");
	cr_assert_gt(received, 0);
	fs_ring_cleanup(&r);
}
