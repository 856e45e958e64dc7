/*-------------------------------------------------------------------------
 *
 * derived.h
 *	  What a write of the columns lead_gen derives for a lead becomes.
 *
 * Score, temperature, next_change_at, scored_at (the lead trigger), fit and
 * grade (lead_fit) and the stage bookkeeping (stage.c) are computed on every
 * write, whatever it says.  The rest of what lead_gen keeps on a lead is
 * checked here:
 *
 *	 engagement		from the lead's activity: none on INSERT (the lead
 *		trigger's rule: a new lead has no activity); an UPDATE may change it
 *		only from the activity triggers, or as a role that may UPDATE
 *		lead_gen.scoring_state (admins: recompute_all() rebuilds it)
 *	 first_touch_at	likewise, from the lead's sales touches
 *	 forgotten_at	the record of lead_gen.forget(), which those roles run
 *	 created_at, updated_at	may be given (imports), but not in the future
 *
 * On INSERT, first_touch_at and forgotten_at are NULL unless the role is
 * one of those (an admin's import keeps them).  A restore keeps what it
 * restores (restore.h).  A refused write is
 * ERRCODE_INSUFFICIENT_PRIVILEGE, a future time ERRCODE_CHECK_VIOLATION.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_DERIVED_H
#define LEAD_GEN_DERIVED_H

#include "postgres.h"

#include "commands/trigger.h"

/*
 * For the lead trigger, before it reads the row: errors for a forbidden
 * write, and appends to cols/values/nulls what an INSERT's row becomes.
 * by_activity: lead_gen's activity triggers are making this update.
 */
extern void derived_before_row(TriggerData *trigdata, HeapTuple tuple, bool by_activity,
							   int *ncols, int *cols, Datum *values, bool *nulls);

/* Whether this role may write derived values directly (see above). */
extern bool derived_writer(void);

#endif							/* LEAD_GEN_DERIVED_H */
