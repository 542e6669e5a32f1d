/* Bounded MPSC control queue with eventfd wake-up (see mailbox.h). */
#include "common/mailbox.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

bool fs_mailbox_init(struct fs_mailbox *mb, uint32_t cap, uint32_t elem_size)
{
	memset(mb, 0, sizeof(*mb));
	mb->buf = calloc(cap, elem_size);
	if (!mb->buf)
		return false;
	mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->efd < 0) {
		free(mb->buf);
		return false;
	}
	mb->cap = cap;
	mb->elem_size = elem_size;
	pthread_mutex_init(&mb->mu, NULL);
	return true;
}

void fs_mailbox_cleanup(struct fs_mailbox *mb)
{
	if (!mb->buf)
		return;
	close(mb->efd);
	free(mb->buf);
	mb->buf = NULL;
	pthread_mutex_destroy(&mb->mu);
}

bool fs_mailbox_send(struct fs_mailbox *mb, const void *msg)
{
	uint64_t one = 1;
	bool ok = false;

	pthread_mutex_lock(&mb->mu);
	if (mb->count < mb->cap) {
		uint32_t slot = (mb->head + mb->count) % mb->cap;

		memcpy(mb->buf + (size_t)slot * mb->elem_size, msg, mb->elem_size);
		mb->count++;
		ok = true;
	}
	pthread_mutex_unlock(&mb->mu);
	if (ok && write(mb->efd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: the consumer is already due to wake */
	}
	return ok;
}

bool fs_mailbox_recv(struct fs_mailbox *mb, void *out)
{
	bool ok = false;

	if (!mb->buf)
		return false; /* zeroed, never initialised: nothing was ever sent */
	pthread_mutex_lock(&mb->mu);
	if (mb->count > 0) {
		memcpy(out, mb->buf + (size_t)mb->head * mb->elem_size, mb->elem_size);
		mb->head = (mb->head + 1) % mb->cap;
		mb->count--;
		ok = true;
	}
	pthread_mutex_unlock(&mb->mu);
	return ok;
}

void fs_mailbox_ack_wakeup(struct fs_mailbox *mb)
{
	uint64_t v;

	if (read(mb->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing pending */
	}
}
