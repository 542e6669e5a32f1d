/* Step names as stored in the journal, and which steps are final. */
#include <criterion/criterion.h>

#include "orchestrator/journal.h"

Test(journal, step_names_round_trip)
{
	for (int s = ORCH_STEP_PLANNED; s <= ORCH_STEP_FAILED; s++) {
		enum orch_step out;

		cr_assert(orch_journal_step_parse(orch_step_str((enum orch_step)s), &out));
		cr_assert_eq(out, s);
	}
	cr_assert_str_eq(orch_step_str(ORCH_STEP_CUT_OVER), "CUT_OVER");
	cr_assert_str_eq(orch_step_str((enum orch_step)99), "?");
}

Test(journal, unknown_step_is_refused)
{
	enum orch_step out;

	cr_assert_not(orch_journal_step_parse("cut_over", &out));
	cr_assert_not(orch_journal_step_parse("", &out));
}

Test(journal, final_steps)
{
	cr_assert(orch_step_is_final(ORCH_STEP_CLEANED));
	cr_assert(orch_step_is_final(ORCH_STEP_ROLLED_BACK));
	cr_assert(orch_step_is_final(ORCH_STEP_FAILED));
	cr_assert_not(orch_step_is_final(ORCH_STEP_CUT_OVER));
	cr_assert_not(orch_step_is_final(ORCH_STEP_BACKFILL));
	cr_assert_not(orch_step_is_final(ORCH_STEP_PLANNED));
}
