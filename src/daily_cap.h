/*-------------------------------------------------------------------------
 *
 * daily_cap.h
 *	  The daily-cap rule, in one place for every path that applies it.
 *
 * Of an activity kind with a daily cap, only the first daily_cap activities
 * of a lead in one UTC day count, first in activity order: by occurred_at,
 * then by activity_id.  The activity triggers apply it incrementally
 * (score_caps.c), capped_engagement applies it to a history (history.c);
 * both must agree, and both read the rule from here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_DAILY_CAP_H
#define LEAD_GEN_DAILY_CAP_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* activity order: <0, 0, >0 as (a_at, a_id) comes before, with, after (b_at, b_id) */
extern int	activity_order(TimestampTz a_at, int64 a_id, TimestampTz b_at, int64 b_id);

/* the start of the UTC day of t: caps count per UTC day */
extern TimestampTz utc_day(TimestampTz t);

/* does the rank-th activity of its kind in a day (1-based, in activity order) count? */
extern bool daily_cap_counts(int rank, int daily_cap);

#endif							/* LEAD_GEN_DAILY_CAP_H */
