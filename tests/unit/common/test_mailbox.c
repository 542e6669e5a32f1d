/* The control mailbox: order, a full mailbox refusing, the eventfd wake-up, a never-initialised
 * mailbox torn down safely, and several producers against one consumer. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "common/mailbox.h"

struct msg {
	uint32_t from; /* producer index */
	uint32_t seq;  /* per producer, from 0 */
};

/* True when the mailbox's eventfd is readable right now. */
static bool woken(const struct fs_mailbox *mb)
{
	struct pollfd p = {.fd = fs_mailbox_fd(mb), .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

Test(mailbox, keeps_order_refuses_when_full_and_wakes)
{
	struct fs_mailbox mb;
	struct msg m = {0}, out;

	cr_assert(fs_mailbox_init(&mb, 3, sizeof(struct msg)));
	cr_assert_not(woken(&mb), "a fresh mailbox must not wake its consumer");
	for (m.seq = 0; m.seq < 3; m.seq++)
		cr_assert(fs_mailbox_send(&mb, &m));
	cr_assert_not(fs_mailbox_send(&mb, &m), "a full mailbox must refuse, not overwrite");
	cr_assert(woken(&mb));
	fs_mailbox_ack_wakeup(&mb);
	cr_assert_not(woken(&mb), "the acknowledgement must clear the wake-up");
	for (uint32_t i = 0; i < 3; i++) {
		cr_assert(fs_mailbox_recv(&mb, &out));
		cr_assert_eq(out.seq, i);
	}
	cr_assert_not(fs_mailbox_recv(&mb, &out));
	/* the slots freed by the consumer are used again, across the end of the array */
	m.seq = 7;
	cr_assert(fs_mailbox_send(&mb, &m));
	cr_assert(fs_mailbox_recv(&mb, &out));
	cr_assert_eq(out.seq, 7);
	fs_mailbox_cleanup(&mb);
}

Test(mailbox, zeroed_mailbox_is_empty_and_cleans_up)
{
	struct fs_mailbox mb;
	struct msg out;

	memset(&mb, 0, sizeof(mb));
	cr_assert_not(fs_mailbox_recv(&mb, &out));
	fs_mailbox_cleanup(&mb);
	/* and cleanup twice after a real init, as a failed start followed by a stop would */
	cr_assert(fs_mailbox_init(&mb, 2, sizeof(struct msg)));
	fs_mailbox_cleanup(&mb);
	fs_mailbox_cleanup(&mb);
	cr_assert_not(fs_mailbox_recv(&mb, &out));
}

#define PRODUCERS 4
#define PER_PRODUCER 20000u

struct producer {
	struct fs_mailbox *mb;
	uint32_t index;
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	struct msg m = {.from = pr->index};

	while (m.seq < PER_PRODUCER) {
		if (fs_mailbox_send(pr->mb, &m))
			m.seq++;
		else
			sched_yield(); /* full: the consumer catches up */
	}
	return NULL;
}

Test(mailbox, several_producers_lose_and_reorder_nothing)
{
	struct fs_mailbox mb;
	struct producer pr[PRODUCERS];
	pthread_t th[PRODUCERS];
	uint32_t next[PRODUCERS] = {0}, got = 0;
	struct msg out;

	cr_assert(fs_mailbox_init(&mb, 64, sizeof(struct msg)));
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pr[i] = (struct producer){.mb = &mb, .index = i};
		cr_assert_eq(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
	}
	while (got < PRODUCERS * PER_PRODUCER) {
		struct pollfd p = {.fd = fs_mailbox_fd(&mb), .events = POLLIN};

		/* as a worker does: sleep on the eventfd, acknowledge, then drain */
		cr_assert_geq(poll(&p, 1, 10000), 1, "no wake-up with %u of %u messages received",
		              got, PRODUCERS * PER_PRODUCER);
		fs_mailbox_ack_wakeup(&mb);
		while (fs_mailbox_recv(&mb, &out)) {
			cr_assert_lt(out.from, PRODUCERS);
			cr_assert_eq(out.seq, next[out.from], "producer %u: message %u came as %u",
			             out.from, next[out.from], out.seq);
			next[out.from]++;
			got++;
		}
	}
	for (uint32_t i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	cr_assert_not(fs_mailbox_recv(&mb, &out));
	fs_mailbox_cleanup(&mb);
}
