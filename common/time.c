/* Thin wrappers over clock_gettime so that every module reads time the same way. */
#include "common/time.h"

#include <time.h>

static uint64_t read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t fs_mono_us(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

uint64_t fs_wall_us(void)
{
	return read_clock(CLOCK_REALTIME);
}
