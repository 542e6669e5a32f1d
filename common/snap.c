/* Reference-counted publication of immutable snapshots between threads (see snap.h). */
#include "common/snap.h"

#include <stddef.h>

void fs_snap_slot_init(struct fs_snap_slot *slot)
{
	pthread_mutex_init(&slot->mu, NULL);
	slot->cur = NULL;
	atomic_init(&slot->version, 0);
}

void fs_snap_slot_cleanup(struct fs_snap_slot *slot)
{
	fs_snap_release(slot->cur);
	slot->cur = NULL;
	pthread_mutex_destroy(&slot->mu);
}

void fs_snap_init(struct fs_snap *s, void (*destroy)(struct fs_snap *s))
{
	atomic_init(&s->refs, 1);
	s->destroy = destroy;
}

void fs_snap_publish(struct fs_snap_slot *slot, struct fs_snap *s)
{
	struct fs_snap *old;

	pthread_mutex_lock(&slot->mu);
	old = slot->cur;
	slot->cur = s;
	atomic_fetch_add_explicit(&slot->version, 1, memory_order_release);
	pthread_mutex_unlock(&slot->mu);
	fs_snap_release(old);
}

struct fs_snap *fs_snap_acquire(struct fs_snap_slot *slot)
{
	struct fs_snap *s;

	pthread_mutex_lock(&slot->mu);
	s = slot->cur;
	if (s)
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&slot->mu);
	return s;
}

void fs_snap_release(struct fs_snap *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		s->destroy(s);
}
