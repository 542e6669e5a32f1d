/*
 * Line-at-a-time logging to stderr, shared by all threads. The line is formatted into a stack
 * buffer and written with one write(2): POSIX keeps such writes whole up to PIPE_BUF on pipes,
 * and for regular files and terminals a single write is never split among writers in practice.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

_Atomic int fs_log_threshold = FS_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *fs_log_level_str(enum fs_log_level level)
{
	if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "?";
}

_Bool fs_log_level_parse(const char *s, enum fs_log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum fs_log_level)i;
			return 1;
		}
	}
	return 0;
}

void fs_log_write(enum fs_log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	va_list ap;
	int r;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ld %s ", (long)(tv.tv_usec / 1000),
	             fs_log_level_str(level));
	if (r > 0)
		n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}
