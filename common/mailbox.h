#pragma once
/*
 * Multi-producer, single-consumer queue of fixed-size control messages with an eventfd wake-up.
 *
 * DESIGN: control messages (PAUSE/RESUME to workers, plan actions to the orchestrator, APPLY
 * from the console) are rare and come from several threads, so a short mutex around a bounded
 * array is the simplest correct tool here. It is never touched on the per-query path: a worker
 * only drains its mailbox when the eventfd fires. A full mailbox refuses the message; control
 * senders report that as an error rather than block.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct fs_mailbox {
	pthread_mutex_t mu; /* guards the fields below */
	unsigned char *buf; /* cap * elem_size bytes, owned */
	uint32_t cap;       /* capacity in messages */
	uint32_t elem_size; /* bytes per message */
	uint32_t head;      /* index of the oldest message */
	uint32_t count;     /* messages queued */
	int efd;            /* eventfd, readable while messages may be queued */
};

/* Returns false when memory or the eventfd cannot be had. */
__attribute__((warn_unused_result)) bool fs_mailbox_init(struct fs_mailbox *mb, uint32_t cap,
                                                         uint32_t elem_size);

/* Frees what init took. Like fs_mailbox_recv, safe on a zeroed mailbox that was never (or not
 * successfully) initialised, so that an owner built only halfway can be torn down. */
void fs_mailbox_cleanup(struct fs_mailbox *mb);

/* Any thread: copies msg in and wakes the consumer. Returns false when full. */
__attribute__((warn_unused_result)) bool fs_mailbox_send(struct fs_mailbox *mb, const void *msg);

/* Consumer: copies the oldest message into out. Returns false when empty, and on a zeroed
 * mailbox that was never initialised. */
bool fs_mailbox_recv(struct fs_mailbox *mb, void *out);

/* Consumer: clears the eventfd's counter; call before draining with fs_mailbox_recv. */
void fs_mailbox_ack_wakeup(struct fs_mailbox *mb);

/* The eventfd to poll or to add to an event base (EV_READ). */
static inline int fs_mailbox_fd(const struct fs_mailbox *mb)
{
	return mb->efd;
}
