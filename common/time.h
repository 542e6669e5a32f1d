#pragma once
/* Clocks. Monotonic for intervals and deadlines, wall clock for timestamps users see. */
#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC. Any thread. */
uint64_t fs_mono_us(void);

/* Microseconds since the Unix epoch on CLOCK_REALTIME. Any thread. */
uint64_t fs_wall_us(void);
