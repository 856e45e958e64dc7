/*-------------------------------------------------------------------------
 *
 * score_lead.c
 *	  The lead trigger: a lead's score, temperature, the time of its next
 *	  temperature change and its engagement with the caps of new activity
 *	  settled, as of now(); and lead_score(), a lead's score at any time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "derived.h"
#include "lead_change.h"
#include "score.h"
#include "segment.h"
#include "stage.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_lead_score_trigger);
PG_FUNCTION_INFO_V1(lead_gen_lead_score);

/*
 * BEFORE INSERT OR UPDATE row trigger on lead_gen.lead (after lead_fit, by
 * name): score, temperature, next_change_at and scored_at, as of now().
 */
Datum
lead_gen_lead_score_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	TupleDesc	desc;
	HeapTuple	tuple;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		isnull;
	Datum		d;
	double		fit;
	double		fixed;
	Engagement *e = NULL;
	double		score;
	int			ncols = 5;
	int			cols[16];
	Datum		values[16];
	bool		nulls[16] = {false};
	const StageEvent *events = NULL;
	TimestampTz next = 0;
	bool		have_next = false;

	scoring_load();
	trigdata = trigger_guard(fcinfo, "lead_score_trigger", GUARD_BEFORE,
							 GUARD_INSERT | GUARD_UPDATE, GUARD_ROW, scoring.lead_relid);
	tuple = trigger_new_row(trigdata);
	desc = trigdata->tg_relation->rd_att;
	if (scoring.col_fit == 0)
	{
		/* once per configuration load, which any change of lead_gen.lead causes */
		scoring.col_engagement = lead_column(desc, "engagement");
		scoring.col_score = lead_column(desc, "score");
		scoring.col_temperature = lead_column(desc, "temperature");
		scoring.col_next_change_at = lead_column(desc, "next_change_at");
		scoring.col_scored_at = lead_column(desc, "scored_at");
		scoring.col_lead_id = lead_column(desc, "lead_id");
		/* 0 in a database still at 1.3 or older, until its update */
		scoring.col_prediction = Max(SPI_fnumber(desc, "prediction"), 0);
		scoring.col_fit = lead_column(desc, "fit");
	}

	derived_before_row(trigdata, tuple, scoring_busy > 0, &ncols, cols, values, nulls);
	d = heap_getattr(tuple, scoring.col_fit, desc, &isnull);
	fit = isnull ? 0 : DatumGetFloat8(d);
	/* trigger lead_predict ran first (by name) */
	isnull = true;
	if (scoring.col_prediction > 0)
		d = heap_getattr(tuple, scoring.col_prediction, desc, &isnull);
	fixed = lead_fixed_points(fit, isnull ? 0 : DatumGetFloat8(d));
	/*
	 * Engagement comes from activity, which needs its lead to exist: a new
	 * lead has none, whatever the INSERT says.  So a restore, which loads
	 * leads before their activity, rebuilds it instead of counting it twice.
	 */
	if (!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		d = heap_getattr(tuple, scoring.col_engagement, desc, &isnull);
		if (!isnull)
			e = DatumGetEngagementP(d);
	}

	/*
	 * Updated by an activity trigger: high-intent events among the activity
	 * being added to this lead, and capped activity to settle.
	 */
	if (lead_change_activity())
	{
		int64		lead_id = DatumGetInt64(heap_getattr(tuple, scoring.col_lead_id, desc, &isnull));
		LeadDelta  *ld = hash_search(lead_change_activity(), &lead_id, HASH_FIND, NULL);

		if (ld)
		{
			events = ld->events;
			if (ld->ncaps > 0 && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
			{
				Engagement *before = NULL;

				d = heap_getattr(trigdata->tg_trigtuple, scoring.col_engagement, desc, &isnull);
				if (!isnull)
					before = DatumGetEngagementP(d);
				e = settle_caps(ld, before, e);
			}
		}
	}

	score = lead_score_at(fixed, e, now);
	if (e)
	{
		double		thresholds[2] = {scoring.warm_at, scoring.hot_at};

		for (int i = 0; i < 2; i++)
		{
			TimestampTz when;

			if (engagement_crossing(e, scoring.engagement_cap, scoring.engagement_weight,
									fixed, thresholds[i], now, &when) &&
				(!have_next || when < next))
			{
				next = when;
				have_next = true;
			}
		}
	}

	cols[0] = scoring.col_score;
	cols[1] = scoring.col_temperature;
	cols[2] = scoring.col_next_change_at;
	cols[3] = scoring.col_scored_at;
	values[0] = Float8GetDatum(score);
	values[1] = scoring.temperature[lead_temperature(score)];
	values[2] = TimestampTzGetDatum(next);
	nulls[2] = !have_next;

	/*
	 * next_change_at is indexed for rescore(), so changing it makes the
	 * update of the lead non-HOT: every index of the lead gets a new entry.
	 * On the activity hot path most points only postpone the next change,
	 * so an earlier bound already stored is kept: it is never later than the
	 * true next change, and rescore() visiting it then stores the exact time.
	 * A new temperature, or an update that sets next_change_at itself (as
	 * rescore() does), takes the exact time.
	 */
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	old = trigdata->tg_trigtuple;
		bool		old_null;
		bool		new_null;
		Datum		old_next = heap_getattr(old, cols[2], desc, &old_null);
		Datum		new_next = heap_getattr(tuple, cols[2], desc, &new_null);
		bool		old_temp_null;
		Datum		old_temp = heap_getattr(old, cols[1], desc, &old_temp_null);

		if (!old_null && !new_null &&
			DatumGetTimestampTz(old_next) == DatumGetTimestampTz(new_next) &&
			!old_temp_null && old_temp == values[1] &&
			(!have_next || DatumGetTimestampTz(old_next) <= next))
		{
			values[2] = old_next;
			nulls[2] = false;
		}
	}
	values[3] = TimestampTzGetDatum(now);
	cols[4] = scoring.col_engagement;
	values[4] = PointerGetDatum(e);
	nulls[4] = (e == NULL);

	stage_before_row(trigdata, tuple, score, events, &ncols, cols, values, nulls);
	tuple = heap_modify_tuple_by_cols(tuple, desc, ncols, cols, values, nulls);

	/*
	 * Live segments see the row as it will be written; the next change of a
	 * membership is a next change of the lead too (kept as a bound, as the
	 * temperature's is).
	 */
	if (segments_live())
	{
		TimestampTz due = segments_before_row(trigdata, tuple, desc, now);

		if (due != DT_NOEND && (nulls[2] || due < DatumGetTimestampTz(values[2])))
		{
			int			col = scoring.col_next_change_at;
			Datum		v = TimestampTzGetDatum(due);
			bool		n = false;

			tuple = heap_modify_tuple_by_cols(tuple, desc, 1, &col, &v, &n);
		}
	}
	return PointerGetDatum(tuple);
}

/* lead_score(lead, at): a lead's score at any time, from its stored state */
Datum
lead_gen_lead_score(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	bool		isnull;
	Datum		d;
	double		fit;
	double		prediction;
	Engagement *e = NULL;

	check_timestamp(at, "at");
	scoring_load();
	d = GetAttributeByName(row, "fit", &isnull);
	fit = isnull ? 0 : DatumGetFloat8(d);
	prediction = 0;
	{
		TupleDesc	rowdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
													 HeapTupleHeaderGetTypMod(row));
		int			col = SPI_fnumber(rowdesc, "prediction");	/* 0 before 1.4's update */

		ReleaseTupleDesc(rowdesc);
		if (col > 0)
		{
			d = GetAttributeByNum(row, col, &isnull);
			prediction = isnull ? 0 : DatumGetFloat8(d);
		}
	}
	d = GetAttributeByName(row, "engagement", &isnull);
	if (!isnull)
		e = DatumGetEngagementP(d);
	PG_RETURN_FLOAT8(lead_score_at(lead_fixed_points(fit, prediction), e, at));
}
