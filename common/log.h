#pragma once
/*
 * Logging for every thread. Each call writes one whole line with a single write(2), so lines
 * from different threads never interleave. The level check happens in the macro, before any
 * argument is evaluated, so debug logging on hot paths costs one load and a branch when off.
 */
#include <stdatomic.h>

enum fs_log_level {
	FS_LOG_ERROR = 0, /* something failed and an operator should look */
	FS_LOG_WARN,      /* degraded but running: dropped events, retries */
	FS_LOG_INFO,      /* lifecycle: start, stop, plans, changes */
	FS_LOG_DEBUG,     /* per connection and per query detail */
};

/* Current threshold; messages above it are skipped. Set once at start-up or on reload. */
extern _Atomic int fs_log_threshold;

/* Parses "error", "warn", "info" or "debug". Returns false on anything else. */
__attribute__((warn_unused_result)) _Bool fs_log_level_parse(const char *s, enum fs_log_level *out);

const char *fs_log_level_str(enum fs_log_level level);

/* Writes one line to stderr: timestamp, level, message. Any thread. */
void fs_log_write(enum fs_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#define fs_log(level, ...)                                                                         \
	do {                                                                                       \
		if ((int)(level) <= atomic_load_explicit(&fs_log_threshold, memory_order_relaxed)) \
			fs_log_write((level), __VA_ARGS__);                                        \
	} while (0)
