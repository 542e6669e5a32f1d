#pragma once
/*
 * Single-producer, single-consumer ring of fixed-size elements copied by value.
 *
 * DESIGN: each proxy worker owns one ring towards the forecast thread. The producer never
 * blocks: when the ring is full, push returns false and the caller counts a drop. Head and tail
 * live on separate cache lines and each side caches the other's index, so a push touches shared
 * memory only when its cached view says the ring looks full. The ring uses C11 atomics (not
 * Concurrency Kit's ck_ring, whose inline-assembly fences ThreadSanitizer cannot see) so that
 * the TSan build checks it like any other code.
 */
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fs_ring {
	alignas(64) _Atomic uint32_t head; /* next slot to read; written by the consumer */
	uint32_t tail_cache;               /* consumer's last view of tail */
	alignas(64) _Atomic uint32_t tail; /* next slot to write; written by the producer */
	uint32_t head_cache;               /* producer's last view of head */
	alignas(64) uint32_t mask;         /* capacity - 1; capacity is a power of two */
	uint32_t elem_size;                /* bytes per element */
	unsigned char *buf;                /* capacity * elem_size bytes, owned */
};

/*
 * Initialises a ring for capacity elements of elem_size bytes; capacity is rounded up to a
 * power of two. Returns false on allocation failure. Call before the threads start.
 */
__attribute__((warn_unused_result)) bool fs_ring_init(struct fs_ring *r, uint32_t capacity,
                                                      uint32_t elem_size);

/* Frees the buffer. No thread may use the ring afterwards. */
void fs_ring_cleanup(struct fs_ring *r);

/* Producer only: copies elem into the ring. Returns false when full (the caller counts a drop). */
bool fs_ring_push(struct fs_ring *r, const void *elem);

/* Consumer only: copies up to max elements into out. Returns how many were copied. */
uint32_t fs_ring_pop(struct fs_ring *r, void *out, uint32_t max);

/* Number of elements in the ring; approximate while the other side runs. */
uint32_t fs_ring_count(struct fs_ring *r);
