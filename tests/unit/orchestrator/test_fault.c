/* Fault point names for the crash tests: which FORESHARD_FAULT values arm which point. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "orchestrator/fault.h"

Test(fault, names)
{
	unsetenv("FORESHARD_FAULT");
	cr_assert_not(orch_fault_armed("SHADOW"));
	setenv("FORESHARD_FAULT", "CUTOVER", 1);
	cr_assert(orch_fault_armed("CUT_OVER"), "underscores are ignored");
	cr_assert_not(orch_fault_armed("CUT_OVERS"));
	setenv("FORESHARD_FAULT", "backfill_chunk", 1);
	cr_assert(orch_fault_armed("BACKFILL_CHUNK"), "case is ignored");
	cr_assert_not(orch_fault_armed("BACKFILL"));
	setenv("FORESHARD_FAULT", "", 1);
	cr_assert_not(orch_fault_armed(""));
	unsetenv("FORESHARD_FAULT");
	orch_fault_point("SHADOW"); /* not armed: returns */
}
