/*-------------------------------------------------------------------------
 *
 * condition.h
 *	  What a condition tests besides a lead's columns, for one lead: its
 *	  state from its row, and its activity, read on first use.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_CONDITION_H
#define LEAD_GEN_CONDITION_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"

#include "engagement.h"
#include "icp.h"

/* One lead's activity, in time order, and the per-kind views asked for. */
typedef struct LeadActivity
{
	int64		lead_id;
	TimestampTz since;			/* only activity after this is read; 0: all */
	bool		loaded;
	bool		deferred;		/* not loaded on demand: "wanted" is set instead */
	bool		wanted;			/* a deferred load was asked for (the answer is void) */
	int			n;
	char	  **kinds;
	TimestampTz *times;
	int			nviews;
	char	  **view_kinds;		/* "" for every kind */
	ConditionActivity *views;
	const Engagement *engagement;	/* NULL: none */
	double		fixed;			/* the score's points from fit and prediction */
} LeadActivity;

/*
 * Fill in cf (and la, which it points to) for a lead row of lead_gen.lead as
 * of now: score, temperature and until when it holds, stage, grade, fit,
 * time in stage, and the activity (after "since" only; 0: all of it), read
 * when a condition first asks.
 */
extern void condition_facts(ConditionFacts *cf, LeadActivity *la, HeapTuple tuple,
							TupleDesc desc, TimestampTz now, TimestampTz since);

#endif							/* LEAD_GEN_CONDITION_H */
