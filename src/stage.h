/*-------------------------------------------------------------------------
 *
 * stage.h
 *	  The lifecycle stage machine: validation of stage changes, automatic
 *	  forward moves, BANT, history and notifications.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_STAGE_H
#define LEAD_GEN_STAGE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"

#include "lead_gen.h"

/* lifecycle_stage's labels, in the enum's order */
#define NSTAGES 7
#define STAGE_MQL 2
#define STAGE_CUSTOMER 5
#define STAGE_DISQUALIFIED 6

/* the label's position in lifecycle_stage, -1 if none */
extern int	stage_index_of_name(const char *label);

/* the label of a lifecycle_stage value */
extern const char *stage_label(Datum d);

/* A high-intent event among the activity being added to a lead. */
typedef struct StageEvent
{
	int			stage;			/* where it moves the lead */
	TimestampTz at;				/* when it occurred */
	const char *kind;
	struct StageEvent *next;
} StageEvent;

/*
 * From the lead_score trigger (BEFORE INSERT OR UPDATE ... FOR EACH ROW),
 * once score and fit of the new row are known: checks a stage change the
 * writer made, or makes an automatic forward move (for one of events, by
 * BANT, by thresholds).  Appends the columns it sets to cols/values/nulls
 * at *ncols.
 */
extern void stage_before_row(TriggerData *trigdata, HeapTuple tuple, double score,
							 const StageEvent *events,
							 int *ncols, int *cols, Datum *values, bool *nulls);

#endif							/* LEAD_GEN_STAGE_H */
