/*
 * libFuzzer target: the admin console's protocol handling. The console has no entry point but
 * its socket, so the target starts one console (in a private directory, once per process) and
 * plays each input as one client: it connects, writes the input, shuts its side down and runs
 * the event loop, reading the answers, until the console closes the connection. The handlers
 * echo their argument as a row (or fail when it starts with '!', or set it as the tag when it
 * starts with '#'); APPLY has none, for the "not available" path.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proxy/console.h"

#define ROUNDS_MAX 100000 /* loop turns per input before it counts as a hang */

static struct event_base *base;
static struct proxy_console *console;
static char dir[] = "/tmp/fs-fuzz-console-XXXXXX";

static bool echo(void *ctx, const char *arg, struct proxy_console_result *r, char *err,
                 size_t errlen)
{
	static const char *const cols[] = {"arg", "length"};
	char len[16];

	(void)ctx;
	if (arg[0] == '!') {
		snprintf(err, errlen, "refused: %s", arg);
		return false;
	}
	snprintf(len, sizeof(len), "%zu", strlen(arg));
	proxy_console_result_columns(r, 2, cols);
	proxy_console_result_row(r, (const char *const[]){arg, len});
	proxy_console_result_row(r, (const char *const[]){NULL, len});
	if (arg[0] == '#')
		proxy_console_result_tag(r, arg);
	return true;
}

static void stop(void)
{
	proxy_console_stop(console);
	event_base_free(base);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct proxy_console_ops ops = {
	        .show_stats = echo,
	        .show_clients = echo,
	        .show_tables = echo,
	        .show_profile = echo,
	        .show_forecast = echo,
	        .show_plans = echo,
	        .show_journal = echo,
	        .pause = echo,
	        .resume = echo,
	        .set_mode = echo,
	        .shutdown = echo,
	};
	char err[256];

	(void)argc;
	(void)argv;
	base = event_base_new();
	if (!base || !mkdtemp(dir))
		abort();
	console = proxy_console_start(base, dir, 7433, &ops, err, sizeof(err));
	if (!console) {
		fprintf(stderr, "fuzz_console: %s\n", err);
		abort();
	}
	atexit(stop);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t sent = 0;
	bool connected = true;
	char buf[65536];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", proxy_console_path(console));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
		abort();
	for (int round = 0; connected; round++) {
		if (round == ROUNDS_MAX) {
			fprintf(stderr, "fuzz_console: the console never closed the connection\n");
			abort();
		}
		if (sent < size) {
			ssize_t n = write(fd, data + sent, size - sent);

			if (n > 0)
				sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				sent = size; /* the console closed early: stop writing */
			if (sent == size)
				shutdown(fd, SHUT_WR);
		} else if (size == 0 && round == 0) {
			shutdown(fd, SHUT_WR);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n > 0)
				continue;
			if (n == 0 || errno != EAGAIN)
				connected = false;
			break;
		}
	}
	close(fd);
	/* let the console see the close of a client it still holds */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
