/*-------------------------------------------------------------------------
 *
 * engagement.h
 *	  lead_gen.engagement: a decaying sum of points.
 *
 * The value at time T of points p_i earned at times t_i is
 *
 *		sum_i p_i * 2^(-(T - t_i) / half_life)
 *
 * which is held exactly (up to float8 rounding) as one number referred to
 * one instant: value at as_of.  Adding points at any time, and reading the
 * value at any time, is O(1); adding is commutative and associative.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_ENGAGEMENT_H
#define LEAD_GEN_ENGAGEMENT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"

typedef struct Engagement
{
	double		value;			/* the sum, decayed to as_of */
	TimestampTz as_of;
	double		half_life;		/* seconds, > 0 */
} Engagement;

#define DatumGetEngagementP(X)		((Engagement *) DatumGetPointer(X))
#define EngagementPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_ENGAGEMENT_P(n)	DatumGetEngagementP(PG_GETARG_DATUM(n))

/* value of e at time t */
extern double engagement_value_at(const Engagement *e, TimestampTz t);

/* a + b, into *result (which may be a or b); same half-life required */
extern void engagement_combine_into(const Engagement *a, const Engagement *b,
									Engagement *result);

/* points earned at t, added to *e in place */
extern void engagement_add_points(Engagement *e, double points, TimestampTz t);

/* errors unless v is a finite engagement value / t a finite time of "what" */
extern void check_finite_value(double v);
extern void check_timestamp(TimestampTz t, const char *what);

/* half-life of an interval, in seconds; errors unless finite and positive */
extern double half_life_seconds(Interval *iv);

/*
 * When does base + weight * min(value of e, cap) next cross threshold, from
 * "from" on?  As time passes the value decays towards 0, so the score moves
 * monotonically towards base and crosses a threshold at most once.  Returns
 * false if it never does; else *when, never before from + 1 microsecond.
 * Used to know when a lead's temperature will change by time alone.
 */
extern bool engagement_crossing(const Engagement *e, double cap, double weight,
								double base, double threshold, TimestampTz from,
								TimestampTz *when);

#endif							/* LEAD_GEN_ENGAGEMENT_H */
