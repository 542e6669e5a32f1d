#pragma once
/*
 * Immutable snapshots published from one thread to others. A producer builds an object that
 * embeds struct fs_snap as its first member, then publishes it into a slot; readers acquire a
 * counted reference and release it when done. The slot's mutex guards only the pointer swap and
 * the reference increment, never work on the object, and is never taken on the per-query path:
 * workers compare the slot's atomic version first and acquire only when it changed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct fs_snap {
	_Atomic int refs;                   /* references, the slot's included */
	void (*destroy)(struct fs_snap *s); /* frees the containing object */
};

struct fs_snap_slot {
	pthread_mutex_t mu;       /* guards cur and the increment of cur->refs */
	struct fs_snap *cur;      /* the published object, or NULL */
	_Atomic uint64_t version; /* bumped on each publish; cheap change test for readers */
};

void fs_snap_slot_init(struct fs_snap_slot *slot);

/* Releases the published object, if any. No reader may use the slot afterwards. */
void fs_snap_slot_cleanup(struct fs_snap_slot *slot);

/* Initialises a new object's header with one reference (the creator's). */
void fs_snap_init(struct fs_snap *s, void (*destroy)(struct fs_snap *s));

/*
 * Publishes s; takes ownership of the caller's reference. The previous object is released and
 * freed once its last reader releases it. Any thread.
 */
void fs_snap_publish(struct fs_snap_slot *slot, struct fs_snap *s);

/* Returns the current object with a new reference, or NULL. Release it with fs_snap_release. */
struct fs_snap *fs_snap_acquire(struct fs_snap_slot *slot);

/* Drops one reference; frees the object on the last. NULL is ignored. Any thread. */
void fs_snap_release(struct fs_snap *s);

static inline uint64_t fs_snap_version(struct fs_snap_slot *slot)
{
	return atomic_load_explicit(&slot->version, memory_order_acquire);
}
