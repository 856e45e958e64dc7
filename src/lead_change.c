/*-------------------------------------------------------------------------
 *
 * lead_change.c
 *	  Why a lead is changing right now (see lead_change.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lead_change.h"
#include "lead_gen.h"

static HTAB *activity_added = NULL;

HTAB *
lead_change_activity(void)
{
	return activity_added;
}

HTAB *
lead_change_activity_begin(HTAB *added)
{
	HTAB	   *outer = activity_added;

	activity_added = added;
	return outer;
}

void
lead_change_activity_end(HTAB *outer)
{
	activity_added = outer;
}

const char *
lead_change_cause(void)
{
	if (lead_gen_stage_cause == STAGE_CAUSE_RESCORE)
		return "rescore";
	return activity_added ? "activity" : "update";
}
