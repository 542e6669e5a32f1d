/* Crash injection at named points for the recovery tests (see fault.h). */
#include "orchestrator/fault.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>

#include "common/log.h"

/* Compares a and b ignoring case and underscores. */
static bool same_name(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
			return false;
		a++;
		b++;
	}
}

bool orch_fault_armed(const char *point)
{
	const char *want = getenv("FORESHARD_FAULT");

	return want && *want && same_name(want, point);
}

void orch_fault_point(const char *point)
{
	if (!orch_fault_armed(point))
		return;
	fs_log(FS_LOG_WARN, "orchestrator: fault point %s reached: killing the process", point);
	raise(SIGKILL);
}
