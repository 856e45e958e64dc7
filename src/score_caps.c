/*-------------------------------------------------------------------------
 *
 * score_caps.c
 *	  Settling daily caps when new activity arrives: per lead, kind and UTC
 *	  day, which of the day's activities count before the insert and after
 *	  it, and the difference in points (the rule is daily_cap.h's).
 *
 * A group's day is read with one bounded index scan, except on a day the
 * lead's engagement has not reached yet: there is nothing to read then.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "daily_cap.h"
#include "score.h"

/*
 * How one of the day's activities (id, in time order) changes the points of
 * its group: +points if it counts only now, -points if it counted before and
 * the new ones push it out of the cap, else 0.
 */
static double
capped_row_change(CappedGroup *g, int64 id)
{
	const ScoringRule *rule = g->events[0].rule;
	bool		is_new = false;
	bool		counts_after;
	bool		counted_before = false;

	for (int j = 0; j < g->k && !is_new; j++)
		is_new = g->events[j].activity_id == id;
	counts_after = daily_cap_counts(++g->rank_all, rule->daily_cap);
	if (!is_new)
		counted_before = daily_cap_counts(++g->rank_old, rule->daily_cap);
	if (counts_after && !counted_before)
		return rule->points;
	if (counted_before && !counts_after)
		return -rule->points;
	return 0;
}

static int
cmp_capped_time(const void *a, const void *b)
{
	const CappedEvent *x = a;
	const CappedEvent *y = b;

	return activity_order(x->at, x->activity_id, y->at, y->activity_id);
}

/*
 * Must a group's day be read?  A lead's engagement counts every activity
 * that counted, so its as_of is no earlier than any of them: a day after
 * that as_of holds no counted activity, and so none of the kind at all (over
 * the cap needs counted ones first).  The lead must be locked (the caller's
 * engagement is the locked row's), or a concurrent writer could add some.
 */
bool
day_needs_read(const CappedGroup *g, bool engaged, TimestampTz reached)
{
	return engaged && reached >= g->events[0].day;
}

/* points into the group's sink */
static void
add_to_group(CappedGroup *g, double points, TimestampTz at)
{
	engagement_add_points(g->sink, points, at);
	if (g->scored)
		*g->scored = true;
}

/* A group on a day with nothing before it: the new activities rank alone. */
void
count_new_only(CappedGroup *g)
{
	qsort(g->events, g->k, sizeof(CappedEvent), cmp_capped_time);
	for (int j = 0; j < g->k; j++)
	{
		if (daily_cap_counts(j + 1, g->events[j].rule->daily_cap))
			add_to_group(g, g->events[j].rule->points, g->events[j].at);
	}
}

/*
 * Read the day's activities of each group and account for them, into each
 * group's sink.
 */
void
account_capped_days(CappedGroup *groups, int ngroups)
{
	Datum		args[5];
	int			rc;
	SPITupleTable *tt;

	if (ngroups == 1)
	{
		const ScoringRule *rule = groups[0].events[0].rule;

		args[0] = Int64GetDatum(groups[0].events[0].lead_id);
		args[1] = CStringGetTextDatum(rule->kind);
		args[2] = TimestampTzGetDatum(groups[0].events[0].day);
		args[3] = TimestampTzGetDatum(groups[0].events[0].day + USECS_PER_DAY);
		/* the first cap of the old ones are among the first cap + k of all */
		args[4] = Int64GetDatum((int64) rule->daily_cap + groups[0].k);
		rc = SPI_execute_plan(scoring.day_plan, args, NULL, false, 0);
	}
	else
	{
		Datum	   *leads_d = palloc(ngroups * sizeof(Datum));
		Datum	   *kinds_d = palloc(ngroups * sizeof(Datum));
		Datum	   *first_d = palloc(ngroups * sizeof(Datum));
		Datum	   *last_d = palloc(ngroups * sizeof(Datum));
		Datum	   *lim_d = palloc(ngroups * sizeof(Datum));

		for (int i = 0; i < ngroups; i++)
		{
			CappedEvent *e = &groups[i].events[0];

			leads_d[i] = Int64GetDatum(e->lead_id);
			kinds_d[i] = CStringGetTextDatum(e->rule->kind);
			first_d[i] = TimestampTzGetDatum(e->day);
			last_d[i] = TimestampTzGetDatum(e->day + USECS_PER_DAY);
			lim_d[i] = Int64GetDatum((int64) e->rule->daily_cap + groups[i].k);
		}
		args[0] = PointerGetDatum(construct_array(leads_d, ngroups, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[1] = PointerGetDatum(construct_array(kinds_d, ngroups, TEXTOID, -1, false, TYPALIGN_INT));
		args[2] = PointerGetDatum(construct_array(first_d, ngroups, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[3] = PointerGetDatum(construct_array(last_d, ngroups, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[4] = PointerGetDatum(construct_array(lim_d, ngroups, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		rc = SPI_execute_plan(scoring.days_plan, args, NULL, false, 0);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the day's activities: %s", SPI_result_code_string(rc));

	tt = SPI_tuptable;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int			off = ngroups == 1 ? 0 : 1;
		int			g = ngroups == 1 ? 0
			: (int) DatumGetInt64(SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull)) - 1;
		int64		id = DatumGetInt64(SPI_getbinval(tt->vals[r], tt->tupdesc, 1 + off, &isnull));
		TimestampTz at = DatumGetTimestampTz(SPI_getbinval(tt->vals[r], tt->tupdesc, 2 + off, &isnull));
		double		change;

		if (g < 0 || g >= ngroups)
			elog(ERROR, "capped activity query returned group %d of %d", g + 1, ngroups);
		change = capped_row_change(&groups[g], id);
		if (change != 0)
			add_to_group(&groups[g], change, at);
	}
	SPI_freetuptable(tt);
}

/*
 * The lead trigger's part of a one-lead insert of capped kinds: of the new
 * activities, those within their day's cap are added to the lead's new
 * engagement.  The lead is locked now; a day its engagement before the
 * insert has not reached needs no query (day_needs_read), others are read
 * with a snapshot taken now, which includes what concurrent writers of the
 * lead committed.
 */
Engagement *
settle_caps(LeadDelta *ld, const Engagement *before, const Engagement *after)
{
	CappedGroup *caps = ld->caps;
	int			ncaps = ld->ncaps;
	CappedGroup *to_read = palloc(ncaps * sizeof(CappedGroup));
	int			nread = 0;
	Engagement *e = palloc(sizeof(Engagement));

	ld->caps = NULL;
	ld->ncaps = 0;
	if (after)
		*e = *after;
	else
	{
		e->value = 0;
		e->as_of = caps[0].events[0].at;
		e->half_life = scoring.half_life;
	}
	for (int i = 0; i < ncaps; i++)
	{
		caps[i].sink = e;
		caps[i].scored = NULL;
		if (day_needs_read(&caps[i], before != NULL, before ? before->as_of : 0))
			to_read[nread++] = caps[i];
		else
			count_new_only(&caps[i]);
	}
	if (nread > 0)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		account_capped_days(to_read, nread);
		SPI_finish();
	}
	return e;
}
