/*-------------------------------------------------------------------------
 *
 * engagement.c
 *	  The lead_gen.engagement type: a decaying sum of points (see
 *	  engagement.h), its I/O, arithmetic and the engagement_sum aggregate.
 *
 * Text form: (value,as_of,half_life), e.g. (12.5,2026-11-23 10:00:00+00,30 days),
 * printed the same in every session (UTC, ISO, postgres interval style).
 * Binary form: float8 value, int64 as_of (microseconds since 2000-01-01),
 * float8 half-life in seconds; checked exactly like the text form.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "engagement.h"

PG_FUNCTION_INFO_V1(lead_gen_engagement_in);
PG_FUNCTION_INFO_V1(lead_gen_engagement_out);
PG_FUNCTION_INFO_V1(lead_gen_engagement_recv);
PG_FUNCTION_INFO_V1(lead_gen_engagement_send);
PG_FUNCTION_INFO_V1(lead_gen_engagement_make);
PG_FUNCTION_INFO_V1(lead_gen_engagement_add);
PG_FUNCTION_INFO_V1(lead_gen_engagement_combine);
PG_FUNCTION_INFO_V1(lead_gen_engagement_value);
PG_FUNCTION_INFO_V1(lead_gen_engagement_as_of);
PG_FUNCTION_INFO_V1(lead_gen_engagement_half_life);
PG_FUNCTION_INFO_V1(lead_gen_engagement_accum);
PG_FUNCTION_INFO_V1(lead_gen_engagement_eq);

#define SECS_PER_MONTH	(30.0 * SECS_PER_DAY)	/* as PostgreSQL counts an interval's month */

/* ------------------------------------------------------------------------
 * Arithmetic
 * ------------------------------------------------------------------------
 */

void
check_finite_value(double v)
{
	if (isnan(v) || isinf(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("engagement value out of range"),
				 errdetail("An engagement value must be a finite number.")));
}

void
check_timestamp(TimestampTz t, const char *what)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", what)));
}

/*
 * A half-life is a whole number of microseconds from 1 to 100 years (as an
 * interval counts them: 36000 days), held as seconds in a float8: up to
 * there the microseconds are exact in it, so that it prints as an interval
 * and reads back to the same float8.
 */
#define MAX_HALF_LIFE_USECS		(36000 * USECS_PER_DAY)

static void
check_half_life(double h)
{
	double		us = h * USECS_PER_SEC;

	if (!(us >= 1 && us <= (double) MAX_HALF_LIFE_USECS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must be from 1 microsecond to 100 years")));
	if ((double) (int64) rint(us) / USECS_PER_SEC != h)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must be a whole number of microseconds")));
}

double
half_life_seconds(Interval *iv)
{
	/* in float8 first: an interval's microseconds may not fit an int64 */
	double		approx = iv->time + iv->day * (double) USECS_PER_DAY
		+ iv->month * (SECS_PER_MONTH * USECS_PER_SEC);
	double		h;

	if (!(approx >= 1 && approx <= (double) MAX_HALF_LIFE_USECS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("half-life must be from 1 microsecond to 100 years")));
	/* one rounding, from the exact count of microseconds */
	h = (double) (iv->time + iv->day * USECS_PER_DAY
				  + iv->month * (int64) (SECS_PER_MONTH * USECS_PER_SEC)) / USECS_PER_SEC;
	check_half_life(h);
	return h;
}

/* 2^(-dt/h), the decay over dt microseconds */
static inline double
decay(double dt_usecs, double half_life)
{
	return exp2(-(dt_usecs / USECS_PER_SEC) / half_life);
}

double
engagement_value_at(const Engagement *e, TimestampTz t)
{
	double		v;

	if (e->value == 0)
		return 0;
	v = e->value * decay((double) t - (double) e->as_of, e->half_life);
	check_finite_value(v);		/* far back in time the value explodes */
	return v;
}

void
engagement_add_points(Engagement *e, double points, TimestampTz t)
{
	check_finite_value(points);
	check_timestamp(t, "time of the points");
	if (t > e->as_of)
	{
		/* move the reference forward, decaying what was there */
		e->value = e->value * decay((double) t - (double) e->as_of, e->half_life) + points;
		e->as_of = t;
	}
	else
		e->value += points * decay((double) e->as_of - (double) t, e->half_life);
	check_finite_value(e->value);
}

void
engagement_combine_into(const Engagement *a, const Engagement *b, Engagement *result)
{
	if (a->half_life != b->half_life)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot add engagements with different half-lives"),
				 errdetail("The half-lives are %g and %g seconds.", a->half_life, b->half_life)));
	if (a->as_of >= b->as_of)
	{
		double		v = a->value + b->value * decay((double) a->as_of - (double) b->as_of, a->half_life);

		result->as_of = a->as_of;
		result->value = v;
	}
	else
	{
		double		v = b->value + a->value * decay((double) b->as_of - (double) a->as_of, b->half_life);

		result->as_of = b->as_of;
		result->value = v;
	}
	result->half_life = a->half_life;
	check_finite_value(result->value);
}

bool
engagement_crossing(const Engagement *e, double cap, double weight, double base,
					double threshold, TimestampTz from, TimestampTz *when)
{
	double		now_value = Min(engagement_value_at(e, from), cap);
	double		s0 = base + weight * now_value;
	double		target;
	double		secs;
	double		t;

	if (weight <= 0 || e->value == 0)
		return false;
	/* the score moves from s0 towards base; crossing needs threshold between */
	if (e->value > 0)
	{
		if (!(s0 >= threshold && base < threshold))
			return false;
	}
	else if (!(s0 < threshold && base >= threshold))
		return false;

	target = (threshold - base) / weight;	/* the engagement value at the crossing */
	if (target == 0)
		return false;			/* only reached at infinity */
	secs = e->half_life * log2(e->value / target);
	t = (double) e->as_of + secs * USECS_PER_SEC;
	if (!(t < (double) END_TIMESTAMP))
		return false;			/* beyond any representable time */
	*when = Max((TimestampTz) ceil(t), from + 1);
	return true;
}

/* ------------------------------------------------------------------------
 * I/O
 * ------------------------------------------------------------------------
 */

static Engagement *
engagement_new(double value, TimestampTz as_of, double half_life)
{
	Engagement *e = palloc(sizeof(Engagement));

	check_finite_value(value);
	check_timestamp(as_of, "as_of of an engagement");
	check_half_life(half_life);
	e->value = value == 0 ? 0 : value;	/* no negative zero */
	e->as_of = as_of;
	e->half_life = half_life;
	return e;
}

/* text: (value,as_of,half_life) */
Datum
lead_gen_engagement_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	char	   *s = pstrdup(str);
	char	   *p = s;
	char	   *c1;
	char	   *c2;
	char	   *end;
	double		value;
	TimestampTz as_of;
	Interval   *hl;

	while (isspace((unsigned char) *p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char) end[-1]))
		end--;
	*end = '\0';
	if (*p != '(' || end == p || end[-1] != ')' ||
		(c1 = strchr(p, ',')) == NULL || (c2 = strchr(c1 + 1, ',')) == NULL ||
		strchr(c2 + 1, ',') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type lead_gen.engagement: \"%s\"", str),
				 errhint("Write (value,as_of,half_life), for example (12.5,2026-01-01 00:00:00+00,30 days).")));
	end[-1] = '\0';
	*c1 = '\0';
	*c2 = '\0';

	value = float8in_internal(p + 1, NULL, "lead_gen.engagement", str);
	as_of = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(c1 + 1),
													ObjectIdGetDatum(InvalidOid),
													Int32GetDatum(-1)));
	hl = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(c2 + 1),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	PG_RETURN_POINTER(engagement_new(value, as_of, half_life_seconds(hl)));
}

/* a half-life (check_half_life) as the interval it was read from, justified to days */
static Interval *
seconds_interval(double secs)
{
	Interval   *iv = palloc0(sizeof(Interval));
	int64		us = (int64) rint(secs * USECS_PER_SEC);

	iv->day = (int32) (us / USECS_PER_DAY);
	iv->time = us % USECS_PER_DAY;
	return iv;
}

/*
 * The text form does not depend on the session: ISO as_of in UTC, the
 * half-life in the postgres interval style, the shortest value that reads
 * back exactly.  Any session reads it back to the same engagement (a
 * timestamptz printed in local time may not: "LMT" does not read back).
 */
Datum
lead_gen_engagement_out(PG_FUNCTION_ARGS)
{
	Engagement *e = PG_GETARG_ENGAGEMENT_P(0);
	char		v[DOUBLE_SHORTEST_DECIMAL_LEN];
	char		t[MAXDATELEN + 1];
	char		h[MAXDATELEN + 1];
	struct pg_tm tm;
	fsec_t		fsec;
	struct pg_itm itm;

	double_to_shortest_decimal_buf(e->value, v);
	if (timestamp2tm(e->as_of, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	tm.tm_isdst = 0;			/* so that the offset, +00, is printed */
	EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, t);
	interval2itm(*seconds_interval(e->half_life), &itm);
	EncodeInterval(&itm, INTSTYLE_POSTGRES, h);
	PG_RETURN_CSTRING(psprintf("(%s,%s,%s)", v, t, h));
}

Datum
lead_gen_engagement_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	double		value = pq_getmsgfloat8(buf);
	TimestampTz as_of = pq_getmsgint64(buf);
	double		half_life = pq_getmsgfloat8(buf);

	PG_RETURN_POINTER(engagement_new(value, as_of, half_life));
}

Datum
lead_gen_engagement_send(PG_FUNCTION_ARGS)
{
	Engagement *e = PG_GETARG_ENGAGEMENT_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendfloat8(&buf, e->value);
	pq_sendint64(&buf, e->as_of);
	pq_sendfloat8(&buf, e->half_life);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* same value, time and half-life */
Datum
lead_gen_engagement_eq(PG_FUNCTION_ARGS)
{
	Engagement *a = PG_GETARG_ENGAGEMENT_P(0);
	Engagement *b = PG_GETARG_ENGAGEMENT_P(1);

	PG_RETURN_BOOL(a->value == b->value && a->as_of == b->as_of &&
				   a->half_life == b->half_life);
}

/* ------------------------------------------------------------------------
 * Functions
 * ------------------------------------------------------------------------
 */

/* engagement(points, at, half_life) */
Datum
lead_gen_engagement_make(PG_FUNCTION_ARGS)
{
	double		points = PG_GETARG_FLOAT8(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	double		h = half_life_seconds(PG_GETARG_INTERVAL_P(2));

	check_timestamp(at, "time of the points");
	PG_RETURN_POINTER(engagement_new(points, at, h));
}

/* engagement_add(e, points, at): e with points earned at "at" */
Datum
lead_gen_engagement_add(PG_FUNCTION_ARGS)
{
	Engagement *e = PG_GETARG_ENGAGEMENT_P(0);
	Engagement *r = palloc(sizeof(Engagement));

	*r = *e;
	engagement_add_points(r, PG_GETARG_FLOAT8(1), PG_GETARG_TIMESTAMPTZ(2));
	PG_RETURN_POINTER(r);
}

/*
 * engagement_combine(a, b) = a + b; a NULL side is nothing.  Also the
 * aggregate's combine function: it writes into its first argument when that
 * is the aggregate's own state.
 */
Datum
lead_gen_engagement_combine(PG_FUNCTION_ARGS)
{
	Engagement *a;
	Engagement *b;
	Engagement *r;
	MemoryContext aggcxt;

	if (PG_ARGISNULL(0) && PG_ARGISNULL(1))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
	{
		Engagement *only = PG_GETARG_ENGAGEMENT_P(PG_ARGISNULL(0) ? 1 : 0);

		if (AggCheckCallContext(fcinfo, &aggcxt))
			r = MemoryContextAlloc(aggcxt, sizeof(Engagement));
		else
			r = palloc(sizeof(Engagement));
		*r = *only;
		PG_RETURN_POINTER(r);
	}
	a = PG_GETARG_ENGAGEMENT_P(0);
	b = PG_GETARG_ENGAGEMENT_P(1);
	r = AggCheckCallContext(fcinfo, NULL) ? a : palloc(sizeof(Engagement));
	engagement_combine_into(a, b, r);
	PG_RETURN_POINTER(r);
}

/*
 * Transition function of engagement_sum(points, occurred_at, half_life):
 * rows with a NULL argument are skipped, like NULLs in sum().
 */
Datum
lead_gen_engagement_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	Engagement *state;
	double		points;
	TimestampTz at;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "engagement_accum called in non-aggregate context");
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));
	}
	points = PG_GETARG_FLOAT8(1);
	at = PG_GETARG_TIMESTAMPTZ(2);
	if (PG_ARGISNULL(0))
	{
		double		h = half_life_seconds(PG_GETARG_INTERVAL_P(3));

		check_finite_value(points);
		check_timestamp(at, "time of the points");
		state = MemoryContextAlloc(aggcxt, sizeof(Engagement));
		state->value = points;
		state->as_of = at;
		state->half_life = h;
		PG_RETURN_POINTER(state);
	}
	state = PG_GETARG_ENGAGEMENT_P(0);
	if (state->half_life != half_life_seconds(PG_GETARG_INTERVAL_P(3)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engagement_sum needs one half-life for all rows of a group")));
	engagement_add_points(state, points, at);
	PG_RETURN_POINTER(state);
}

/* engagement_value(e, at): the decayed sum at "at" */
Datum
lead_gen_engagement_value(PG_FUNCTION_ARGS)
{
	Engagement *e = PG_GETARG_ENGAGEMENT_P(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);

	check_timestamp(at, "time of reading");
	PG_RETURN_FLOAT8(engagement_value_at(e, at));
}

Datum
lead_gen_engagement_as_of(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(PG_GETARG_ENGAGEMENT_P(0)->as_of);
}

Datum
lead_gen_engagement_half_life(PG_FUNCTION_ARGS)
{
	PG_RETURN_INTERVAL_P(seconds_interval(PG_GETARG_ENGAGEMENT_P(0)->half_life));
}
