/*-------------------------------------------------------------------------
 *
 * lead_change.h
 *	  Why is this lead changing right now?
 *
 * A lead row is updated by a writer, by rescore() (lead_gen.stage_cause is
 * then 'rescore'), or by the activity trigger, which adds new activity's
 * points.  The activity trigger announces itself here with what it is
 * adding, per lead, so that the lead's own triggers (score, stage, history,
 * notifications) know the cause and see the activity.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_LEAD_CHANGE_H
#define LEAD_GEN_LEAD_CHANGE_H

#include "postgres.h"

#include "utils/hsearch.h"

/*
 * The activity trigger's table of what it adds per lead (keyed by int64
 * lead_id), or NULL when no activity trigger is updating leads.
 */
extern HTAB *lead_change_activity(void);

/* Set it for the updates an activity trigger makes; returns the outer one. */
extern HTAB *lead_change_activity_begin(HTAB *added);
extern void lead_change_activity_end(HTAB *outer);

/* The cause of a temperature change: "rescore", "activity" or "update". */
extern const char *lead_change_cause(void);

#endif							/* LEAD_GEN_LEAD_CHANGE_H */
