/* Lock-free SPSC ring (see ring.h for the design). */
#include "common/ring.h"

#include <stdlib.h>
#include <string.h>

bool fs_ring_init(struct fs_ring *r, uint32_t capacity, uint32_t elem_size)
{
	uint32_t cap = 2;

	while (cap < capacity)
		cap <<= 1;
	memset(r, 0, sizeof(*r));
	r->buf = calloc(cap, elem_size);
	if (!r->buf)
		return false;
	r->mask = cap - 1;
	r->elem_size = elem_size;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return true;
}

void fs_ring_cleanup(struct fs_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

bool fs_ring_push(struct fs_ring *r, const void *elem)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (tail - r->head_cache > r->mask) {
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
		if (tail - r->head_cache > r->mask)
			return false;
	}
	memcpy(r->buf + (size_t)(tail & r->mask) * r->elem_size, elem, r->elem_size);
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return true;
}

uint32_t fs_ring_pop(struct fs_ring *r, void *out, uint32_t max)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t n;

	if (r->tail_cache == head)
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
	n = r->tail_cache - head;
	if (n > max)
		n = max;
	for (uint32_t i = 0; i < n; i++) {
		memcpy((unsigned char *)out + (size_t)i * r->elem_size,
		       r->buf + (size_t)((head + i) & r->mask) * r->elem_size, r->elem_size);
	}
	atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

uint32_t fs_ring_count(struct fs_ring *r)
{
	return atomic_load_explicit(&r->tail, memory_order_acquire) -
	       atomic_load_explicit(&r->head, memory_order_acquire);
}
