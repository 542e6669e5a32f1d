#pragma once
/*
 * Named fault points for crash tests. When the environment variable FORESHARD_FAULT names a
 * point, the process kills itself with SIGKILL on reaching it, which is how the integration
 * tests prove that every journal step can be resumed or rolled back after a crash.
 *
 * Points, each reached right after the named step's transaction commits: PLANNED, SHADOW,
 * CAPTURE, BACKFILL_CHUNK (after the first backfill chunk), BACKFILL (after the last chunk),
 * VERIFY, CUT_OVER, CLEANED, ROLLED_BACK. Names compare ignoring case and underscores, so
 * CUTOVER names CUT_OVER.
 */
#include <stdbool.h>

/* True when FORESHARD_FAULT names point. Any thread. */
bool orch_fault_armed(const char *point);

/* Raises SIGKILL when FORESHARD_FAULT names point; returns otherwise. Any thread. */
void orch_fault_point(const char *point);
