/*-------------------------------------------------------------------------
 *
 * score.c
 *	  Lead scoring: engagement kept current by the activity triggers, and
 *	  score, temperature and the time of the next temperature change kept by
 *	  the lead trigger.
 *
 *	  score(t) = fit_weight * fit + engagement_weight * min(engagement(t), cap)
 *
 * An activity adds its kind's points to its lead's engagement, which decays
 * with the configured half-life.  Of a kind with a daily cap, only the first
 * daily_cap activities of a lead in a UTC day count (first by occurred_at,
 * then activity_id), so inserting an activity out of time order may push a
 * later one out of the cap; the insert trigger accounts for that, and the
 * result equals a recomputation from history (lead_gen.history_engagement).
 *
 * The insert trigger is one statement-level trigger with a transition table:
 * a single-row INSERT and a bulk load take the same path, each lead is
 * updated once per statement, in lead_id order, with one kept SPI plan, and
 * O(1) work per activity (plus, for capped kinds, one bounded index scan per
 * lead, kind and day, except on a day the lead's engagement has not reached
 * yet: there is nothing to read).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "config.h"
#include "engagement.h"
#include "stage.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_lead_score_trigger);
PG_FUNCTION_INFO_V1(lead_gen_activity_inserted);
PG_FUNCTION_INFO_V1(lead_gen_activity_changed);
PG_FUNCTION_INFO_V1(lead_gen_lead_score);

/* how far ahead of the clock an activity may be dated (clock skew) */
#define FUTURE_TOLERANCE_USECS	(60 * USECS_PER_SEC)

typedef struct ScoringRule
{
	char		kind[NAMEDATALEN];	/* hash key */
	double		points;
	int			daily_cap;		/* -1: none */
	int			moves_to;		/* stage a high-intent event moves to; -1: none */
	bool		sales_touch;
} ScoringRule;

typedef struct ScoringConfig
{
	uint64		generation;
	MemoryContext cxt;
	HTAB	   *rules;
	double		half_life;		/* seconds */
	Datum		half_life_interval;
	double		fit_weight;
	double		engagement_weight;
	double		engagement_cap;
	double		warm_at;
	double		hot_at;
	Oid			engagement_type;
	Datum		temperature[3]; /* cold, warm, hot */
	SPIPlanPtr	add_plan;		/* add a delta to one lead's engagement */
	SPIPlanPtr	day_plan;		/* a lead's activities of one kind in one day */
	SPIPlanPtr	lock_plan;		/* lock one lead */
	SPIPlanPtr	recompute_plan; /* one lead's engagement from its history */
	SPIPlanPtr	days_plan;		/* day_plan for many (lead, kind, day) at once */
	SPIPlanPtr	lock_many_plan; /* lock many leads, in lead_id order */
	SPIPlanPtr	add_many_plan;	/* add_plan for many leads at once */
	Oid			lead_relid;
	Oid			activity_relid;
	/* lead_gen.lead's columns the lead trigger reads and sets (0: not yet) */
	int			col_lead_id;
	int			col_fit;
	int			col_engagement;
	int			col_score;
	int			col_temperature;
	int			col_next_change_at;
	int			col_scored_at;
} ScoringConfig;

static ScoringConfig scoring;

/* how many activity triggers are running their plans in this backend */
static int	scoring_busy = 0;

/* a new activity of a kind with a daily cap */
typedef struct CappedEvent
{
	int64		lead_id;
	const ScoringRule *rule;
	TimestampTz day;
	TimestampTz at;
	int64		activity_id;
} CappedEvent;

/*
 * A group of new activities of one lead, kind and day, of a capped kind:
 * which activities count before and after the insert, and the difference.
 * The day's activities come in time order; ranks count them.
 */
typedef struct CappedGroup
{
	CappedEvent *events;		/* the new ones */
	int			k;
	int			rank_all;
	int			rank_old;
} CappedGroup;

typedef struct LeadDelta
{
	int64		lead_id;		/* hash key */
	bool		scored;			/* delta holds points */
	Engagement	delta;
	StageEvent *events;			/* high-intent events, latest per stage */
	TimestampTz first_touch;	/* earliest sales touch; 0 with !touched */
	bool		touched;
	CappedGroup *caps;			/* capped groups the lead trigger settles */
	int			ncaps;
	bool		engaged;		/* locked with an engagement ... */
	TimestampTz reached;		/* ... whose as_of is this */
} LeadDelta;

/*
 * While the activity trigger updates leads, their new activity, so that the
 * lead trigger sees the high-intent events among it.
 */
static HTAB *event_stash = NULL;

static Engagement *settle_caps(LeadDelta *ld, const Engagement *before, const Engagement *after);

bool
activity_trigger_active(void)
{
	return event_stash != NULL;
}

static SPIPlanPtr
keep_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep plan");
	return plan;
}

static double
getfloat(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetFloat8(d);
}

/* Settings, rules and plans, loaded once per configuration change. */
static void
scoring_load(void)
{
	MemoryContext oldcxt;
	HASHCTL		ctl;
	Oid			nsp;
	Oid			temperature_type;
	static const char *const temperatures[] = {"cold", "warm", "hot"};

	if (scoring.generation == config_generation())
		return;

	/*
	 * An invalidation can arrive while an activity trigger runs its plans
	 * (any lock taken accepts them: an ANALYZE of lead_gen.lead, an ALTER
	 * TABLE elsewhere), and the lead trigger those plans fire would then
	 * free them, and the rules the activity trigger points into, under it.
	 * The statement finishes with the configuration it started with.
	 */
	if (scoring_busy > 0 && scoring.generation != 0)
		return;
	config_watch(lead_gen_relid("scoring_rule"));
	config_watch(lead_gen_relid("scoring_settings"));
	scoring.lead_relid = lead_gen_relid("lead");
	config_watch(scoring.lead_relid);
	scoring.activity_relid = lead_gen_relid("activity");
	config_watch(scoring.activity_relid);

	if (scoring.cxt == NULL)
		scoring.cxt = AllocSetContextCreate(TopMemoryContext, "lead_gen scoring",
											ALLOCSET_SMALL_SIZES);
	/* plans of the last load; any may be missing if that load failed */
	{
		SPIPlanPtr *plans[] = {&scoring.add_plan, &scoring.day_plan, &scoring.lock_plan,
			&scoring.recompute_plan, &scoring.days_plan, &scoring.lock_many_plan,
		&scoring.add_many_plan};

		for (int i = 0; i < (int) lengthof(plans); i++)
		{
			if (*plans[i])
				SPI_freeplan(*plans[i]);
			*plans[i] = NULL;
		}
	}
	MemoryContextReset(scoring.cxt);
	scoring.col_fit = 0;		/* the lead table may have changed too */

	nsp = get_namespace_oid("lead_gen", false);
	scoring.engagement_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
											  CStringGetDatum("engagement"), ObjectIdGetDatum(nsp));
	temperature_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									   CStringGetDatum("temperature"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(scoring.engagement_type) || !OidIsValid(temperature_type))
		elog(ERROR, "types lead_gen.engagement and lead_gen.temperature must exist");
	for (int i = 0; i < 3; i++)
		scoring.temperature[i] = DirectFunctionCall2(enum_in, CStringGetDatum(temperatures[i]),
													 ObjectIdGetDatum(temperature_type));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* the settings: one row, which cannot be deleted */
	config_query("SELECT half_life, fit_weight, engagement_weight, engagement_cap, warm_at, hot_at"
				 " FROM lead_gen.scoring_settings");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lead_gen.scoring_settings must have exactly one row"),
				 errhint("INSERT INTO lead_gen.scoring_settings DEFAULT VALUES restores the defaults.")));
	oldcxt = MemoryContextSwitchTo(scoring.cxt);
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		scoring.half_life_interval = datumCopy(SPI_getbinval(tup, desc, 1, &isnull),
											   false, sizeof(Interval));
		scoring.half_life = half_life_seconds(DatumGetIntervalP(scoring.half_life_interval));
		scoring.fit_weight = getfloat(tup, desc, 2);
		scoring.engagement_weight = getfloat(tup, desc, 3);
		scoring.engagement_cap = getfloat(tup, desc, 4);
		scoring.warm_at = getfloat(tup, desc, 5);
		scoring.hot_at = getfloat(tup, desc, 6);
	}
	MemoryContextSwitchTo(oldcxt);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(ScoringRule);
	ctl.hcxt = scoring.cxt;
	scoring.rules = hash_create("lead_gen scoring rules", 64, &ctl,
								HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	config_query("SELECT kind, points, daily_cap, moves_to, sales_touch FROM lead_gen.scoring_rule");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *kind = SPI_getvalue(tup, desc, 1);
		bool		isnull;
		Datum		cap;
		ScoringRule *r;

		if (strlen(kind) >= NAMEDATALEN)
			continue;			/* the identifier domain allows 63 bytes */
		r = hash_search(scoring.rules, kind, HASH_ENTER, NULL);
		r->points = getfloat(tup, desc, 2);
		cap = SPI_getbinval(tup, desc, 3, &isnull);
		r->daily_cap = isnull ? -1 : DatumGetInt32(cap);
		{
			char	   *moves_to = SPI_getvalue(tup, desc, 4);
			Datum		touch = SPI_getbinval(tup, desc, 5, &isnull);

			r->moves_to = moves_to ? stage_index_of_name(moves_to) : -1;
			r->sales_touch = !isnull && DatumGetBool(touch);
		}
	}

	{
		Oid			add_types[4] = {INT8OID, scoring.engagement_type, INTERVALOID, TIMESTAMPTZOID};
		Oid			day_types[5] = {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID};
		Oid			one_type[1] = {INT8OID};

		/*
		 * Every name qualified: these run under the caller's search_path.
		 * Adding applies only while the half-lives agree (rechecked against
		 * a concurrently updated row); otherwise the lead is recomputed.
		 */
		scoring.add_plan = keep_plan(
			"UPDATE lead_gen.lead"
			" SET engagement = CASE WHEN $2 IS NULL THEN engagement"
			"                  ELSE lead_gen.engagement_combine(engagement, $2) END,"
			"     first_touch_at = CASE WHEN $4 IS NULL THEN first_touch_at"
			"                      ELSE LEAST(first_touch_at, $4) END"
			" WHERE lead_id OPERATOR(pg_catalog.=) $1"
			"   AND ($2 IS NULL OR engagement IS NULL"
			"        OR lead_gen.engagement_half_life(engagement) OPERATOR(pg_catalog.=) $3)",
			4, add_types);
		scoring.lock_plan = keep_plan(
			"SELECT 1 FROM lead_gen.lead WHERE lead_id OPERATOR(pg_catalog.=) $1"
			" FOR NO KEY UPDATE", 1, one_type);
		scoring.day_plan = keep_plan(
			"SELECT activity_id, occurred_at FROM lead_gen.activity"
			" WHERE lead_id OPERATOR(pg_catalog.=) $1"
			"   AND kind::pg_catalog.text OPERATOR(pg_catalog.=) $2"
			"   AND occurred_at OPERATOR(pg_catalog.>=) $3"
			"   AND occurred_at OPERATOR(pg_catalog.<) $4"
			" ORDER BY occurred_at, activity_id LIMIT $5", 5, day_types);
		scoring.recompute_plan = keep_plan(
			"UPDATE lead_gen.lead AS l"
			" SET engagement = lead_gen.engagement_from_history(l.lead_id),"
			"     first_touch_at = (SELECT t.first_touch_at"
			"                       FROM lead_gen.history_first_touch(l.lead_id, l.lead_id) AS t)"
			" WHERE l.lead_id OPERATOR(pg_catalog.=) $1", 1, one_type);
	}
	{
		/* the same, for a bulk insert: a statement each, not one per lead */
		Oid			days_types[5] = {INT8ARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
		TIMESTAMPTZARRAYOID, INT8ARRAYOID};
		Oid			lock_types[1] = {INT8ARRAYOID};
		Oid			add_types[4] = {INT8ARRAYOID, get_array_type(scoring.engagement_type), INTERVALOID,
		TIMESTAMPTZARRAYOID};

		scoring.days_plan = keep_plan(
			"SELECT g.i, a.activity_id, a.occurred_at"
			" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
			"                 pg_catalog.unnest($4), pg_catalog.unnest($5))"
			"      WITH ORDINALITY AS g(lead_id, kind, first, last, lim, i)"
			" CROSS JOIN LATERAL (SELECT x.activity_id, x.occurred_at FROM lead_gen.activity AS x"
			"   WHERE x.lead_id OPERATOR(pg_catalog.=) g.lead_id"
			"     AND x.kind::pg_catalog.text OPERATOR(pg_catalog.=) g.kind"
			"     AND x.occurred_at OPERATOR(pg_catalog.>=) g.first"
			"     AND x.occurred_at OPERATOR(pg_catalog.<) g.last"
			"   ORDER BY x.occurred_at, x.activity_id LIMIT g.lim) AS a"
			" ORDER BY g.i, a.occurred_at, a.activity_id", 5, days_types);
		scoring.lock_many_plan = keep_plan(
			"SELECT l.lead_id, l.engagement FROM lead_gen.lead AS l"
			" WHERE l.lead_id OPERATOR(pg_catalog.=) ANY ($1)"
			" ORDER BY l.lead_id FOR NO KEY UPDATE OF l", 1, lock_types);
		scoring.add_many_plan = keep_plan(
			"UPDATE lead_gen.lead AS l"
			" SET engagement = CASE WHEN d.delta IS NULL THEN l.engagement"
			"                  ELSE lead_gen.engagement_combine(l.engagement, d.delta) END,"
			"     first_touch_at = CASE WHEN d.touch IS NULL THEN l.first_touch_at"
			"                      ELSE LEAST(l.first_touch_at, d.touch) END"
			" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($4))"
			"      AS d(lead_id, delta, touch)"
			" WHERE l.lead_id OPERATOR(pg_catalog.=) d.lead_id"
			"   AND (d.delta IS NULL OR l.engagement IS NULL"
			"        OR lead_gen.engagement_half_life(l.engagement) OPERATOR(pg_catalog.=) $3)"
			" RETURNING l.lead_id", 4, add_types);
	}
	SPI_finish();
	scoring.generation = config_generation();
}

static ScoringRule *
rule_for(const char *kind)
{
	if (strlen(kind) >= NAMEDATALEN)
		return NULL;
	return hash_search(scoring.rules, kind, HASH_FIND, NULL);
}

/* ------------------------------------------------------------------------
 * The lead trigger: score, temperature, next change
 * ------------------------------------------------------------------------
 */

static double
score_at(double fit, Engagement *e, TimestampTz at)
{
	double		ev = e ? Min(engagement_value_at(e, at), scoring.engagement_cap) : 0;

	return scoring.fit_weight * fit + scoring.engagement_weight * ev;
}

static int
temperature_of(double score)
{
	return score >= scoring.hot_at ? 2 : score >= scoring.warm_at ? 1 : 0;
}

/*
 * BEFORE INSERT OR UPDATE row trigger on lead_gen.lead (after lead_fit, by
 * name): score, temperature, next_change_at and scored_at, as of now().
 */
Datum
lead_gen_lead_score_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		isnull;
	Datum		d;
	double		fit;
	Engagement *e = NULL;
	double		score;
	int			ncols = 5;
	int			cols[10];
	Datum		values[10];
	bool		nulls[10] = {false, false, false, false, false, false, false, false, false, false};
	const StageEvent *events = NULL;
	TimestampTz next = 0;
	bool		have_next = false;

	scoring_load();
	tuple = before_row_trigger_tuple(fcinfo, "lead_score_trigger", scoring.lead_relid);
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
		scoring.col_fit = lead_column(desc, "fit");
	}

	d = heap_getattr(tuple, scoring.col_fit, desc, &isnull);
	fit = isnull ? 0 : DatumGetFloat8(d);
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
	if (event_stash)
	{
		int64		lead_id = DatumGetInt64(heap_getattr(tuple, scoring.col_lead_id, desc, &isnull));
		LeadDelta  *ld = hash_search(event_stash, &lead_id, HASH_FIND, NULL);

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

	score = score_at(fit, e, now);
	if (e)
	{
		double		thresholds[2] = {scoring.warm_at, scoring.hot_at};

		for (int i = 0; i < 2; i++)
		{
			TimestampTz when;

			if (engagement_crossing(e, scoring.engagement_cap, scoring.engagement_weight,
									scoring.fit_weight * fit, thresholds[i], now, &when) &&
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
	values[1] = scoring.temperature[temperature_of(score)];
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
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, ncols, cols, values, nulls));
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
	Engagement *e = NULL;

	scoring_load();
	d = GetAttributeByName(row, "fit", &isnull);
	fit = isnull ? 0 : DatumGetFloat8(d);
	d = GetAttributeByName(row, "engagement", &isnull);
	if (!isnull)
		e = DatumGetEngagementP(d);
	PG_RETURN_FLOAT8(score_at(fit, e, at));
}

/* ------------------------------------------------------------------------
 * The activity triggers
 * ------------------------------------------------------------------------
 */


static int
cmp_capped(const void *a, const void *b)
{
	const CappedEvent *x = a;
	const CappedEvent *y = b;
	int			k;

	if (x->lead_id != y->lead_id)
		return x->lead_id < y->lead_id ? -1 : 1;
	k = strcmp(x->rule->kind, y->rule->kind);
	if (k != 0)
		return k;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return 0;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static LeadDelta *
lead_entry(HTAB *leads, int64 lead_id, TimestampTz at)
{
	bool		found;
	LeadDelta  *ld = hash_search(leads, &lead_id, HASH_ENTER, &found);

	if (!found)
	{
		ld->scored = false;
		ld->delta.value = 0;
		ld->delta.as_of = at;
		ld->delta.half_life = scoring.half_life;
		ld->events = NULL;
		ld->first_touch = 0;
		ld->touched = false;
		ld->caps = NULL;
		ld->ncaps = 0;
		ld->engaged = false;
		ld->reached = 0;
	}
	return ld;
}

static void
add_to(HTAB *leads, int64 lead_id, double points, TimestampTz at)
{
	LeadDelta  *ld = lead_entry(leads, lead_id, at);

	ld->scored = true;
	engagement_add_points(&ld->delta, points, at);
}

/* what an activity does besides points: a stage move, a sales touch */
static void
note_event(HTAB *leads, int64 lead_id, const ScoringRule *rule, TimestampTz at)
{
	LeadDelta  *ld = lead_entry(leads, lead_id, at);

	if (rule->moves_to >= 0)
	{
		StageEvent *ev;

		for (ev = ld->events; ev && ev->stage != rule->moves_to; ev = ev->next)
			;
		if (ev == NULL)
		{
			ev = palloc(sizeof(StageEvent));
			ev->stage = rule->moves_to;
			ev->at = at;
			ev->kind = rule->kind;
			ev->next = ld->events;
			ld->events = ev;
		}
		else if (at > ev->at)
		{
			ev->at = at;
			ev->kind = rule->kind;
		}
	}
	if (rule->sales_touch && (!ld->touched || at < ld->first_touch))
	{
		ld->first_touch = at;
		ld->touched = true;
	}
}

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
	counts_after = ++g->rank_all <= rule->daily_cap;
	if (!is_new)
		counted_before = ++g->rank_old <= rule->daily_cap;
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

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->activity_id < y->activity_id ? -1 : x->activity_id > y->activity_id ? 1 : 0;
}

/*
 * Must a group's day be read?  A lead's engagement counts every activity
 * that counted, so its as_of is no earlier than any of them: a day after
 * that as_of holds no counted activity, and so none of the kind at all (over
 * the cap needs counted ones first).  The lead must be locked (the caller's
 * engagement is the locked row's), or a concurrent writer could add some.
 */
static bool
day_needs_read(const CappedGroup *g, bool engaged, TimestampTz reached)
{
	return engaged && reached >= g->events[0].day;
}

/* A group on a day with nothing before it: the new activities rank alone. */
static void
count_new_only(CappedGroup *g, HTAB *leads, Engagement *sink)
{
	int			counted = Min(g->k, g->events[0].rule->daily_cap);

	qsort(g->events, g->k, sizeof(CappedEvent), cmp_capped_time);
	for (int j = 0; j < counted; j++)
	{
		if (sink)
			engagement_add_points(sink, g->events[j].rule->points, g->events[j].at);
		else
			add_to(leads, g->events[j].lead_id, g->events[j].rule->points, g->events[j].at);
	}
}

/*
 * Read the day's activities of each group and account for them: into the
 * leads' deltas, or, with sink, into that one engagement (every group is of
 * the same lead then).
 */
static void
account_capped_days(HTAB *leads, CappedGroup *groups, int ngroups, Engagement *sink)
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
		if (change == 0)
			continue;
		if (sink)
			engagement_add_points(sink, change, at);
		else
			add_to(leads, groups[g].events[0].lead_id, change, at);
	}
	SPI_freetuptable(tt);
}

/* Activities may not be dated in the future (beyond clock skew). */
static void
check_occurred_at(int64 lead_id, TimestampTz at, TimestampTz latest)
{
	if (TIMESTAMP_NOT_FINITE(at) || at > latest)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("activity of lead %lld is dated in the future: %s",
						(long long) lead_id, timestamptz_to_str(at)),
				 errdetail("Activities may be dated at most one minute ahead of the database clock.")));
}

/*
 * Recompute one lead from its history (SPI connected).  The lead is locked
 * first and its history read by the next statement, whose snapshot (at READ
 * COMMITTED) then includes whatever a concurrent writer of that lead
 * committed; reading history in the UPDATE itself could miss it.
 */
static void
recompute_lead(int64 lead_id)
{
	Datum		arg = Int64GetDatum(lead_id);
	int			rc;

	rc = SPI_execute_plan(scoring.lock_plan, &arg, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not lock lead %lld: %s", (long long) lead_id,
			 SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return;					/* deleted meanwhile */
	rc = SPI_execute_plan(scoring.recompute_plan, &arg, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not recompute lead %lld: %s", (long long) lead_id,
			 SPI_result_code_string(rc));
}

/*
 * Add the deltas of many leads: lock them in lead_id order, count the capped
 * activity (days the leads have reached are read with a snapshot taken after
 * the locks, so that it includes what concurrent writers of these leads
 * committed), then one UPDATE.  A lead the UPDATE leaves out has another
 * half-life: recompute it.
 */
static void
add_to_many(HTAB *leads, int64 *ids, int nids, CappedGroup *groups, int ngroups)
{
	Datum	   *id_d = palloc(nids * sizeof(Datum));
	Datum	   *delta_d = palloc(nids * sizeof(Datum));
	bool	   *delta_null = palloc(nids * sizeof(bool));
	Datum	   *touch_d = palloc(nids * sizeof(Datum));
	bool	   *touch_null = palloc(nids * sizeof(bool));
	int			dims[1];
	int			lbs[1] = {1};
	Datum		args[4];
	int			rc;
	int64	   *done;
	int			ndone;
	int			n = 0;

	for (int i = 0; i < nids; i++)
		id_d[i] = Int64GetDatum(ids[i]);
	args[0] = PointerGetDatum(construct_array(id_d, nids, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	rc = SPI_execute_plan(scoring.lock_many_plan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not lock leads: %s", SPI_result_code_string(rc));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		Datum		e = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
		LeadDelta  *ld = hash_search(leads, &id, HASH_FIND, NULL);

		if (ld && !isnull)
		{
			ld->engaged = true;
			ld->reached = DatumGetEngagementP(e)->as_of;
		}
	}
	SPI_freetuptable(SPI_tuptable);

	/* capped activity: read only the days the locked leads have reached */
	if (ngroups > 0)
	{
		CappedGroup *to_read = palloc(ngroups * sizeof(CappedGroup));
		int			nread = 0;

		for (int i = 0; i < ngroups; i++)
		{
			LeadDelta  *ld = hash_search(leads, &groups[i].events[0].lead_id, HASH_FIND, NULL);

			if (day_needs_read(&groups[i], ld->engaged, ld->reached))
				to_read[nread++] = groups[i];
			else
				count_new_only(&groups[i], leads, NULL);
		}
		if (nread > 0)
			account_capped_days(leads, to_read, nread, NULL);
	}

	/* the leads with something to add (not those whose activity all went over a cap) */
	for (int i = 0; i < nids; i++)
	{
		LeadDelta  *ld = hash_search(leads, &ids[i], HASH_FIND, NULL);

		if (!ld->scored && !ld->touched && ld->events == NULL)
			continue;
		ids[n] = ids[i];
		id_d[n] = Int64GetDatum(ids[i]);
		delta_d[n] = PointerGetDatum(&ld->delta);
		delta_null[n] = !ld->scored;
		touch_d[n] = TimestampTzGetDatum(ld->first_touch);
		touch_null[n] = !ld->touched;
		n++;
	}
	if (n == 0)
		return;
	dims[0] = n;
	args[0] = PointerGetDatum(construct_array(id_d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_md_array(delta_d, delta_null, 1, dims, lbs, scoring.engagement_type,
												 sizeof(Engagement), false, TYPALIGN_DOUBLE));
	args[2] = scoring.half_life_interval;
	args[3] = PointerGetDatum(construct_md_array(touch_d, touch_null, 1, dims, lbs, TIMESTAMPTZOID,
												 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	rc = SPI_execute_plan(scoring.add_many_plan, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update leads: %s", SPI_result_code_string(rc));
	if (SPI_processed == (uint64) n)
		return;

	/* those left out */
	ndone = (int) SPI_processed;
	done = palloc(Max(ndone, 1) * sizeof(int64));
	for (int i = 0; i < ndone; i++)
	{
		bool		isnull;

		done[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	qsort(done, ndone, sizeof(int64), cmp_int64);
	for (int i = 0, j = 0; i < n; i++)
	{
		while (j < ndone && done[j] < ids[i])
			j++;
		if (j < ndone && done[j] == ids[i])
			continue;
		recompute_lead(ids[i]);
	}
}

/* The activity triggers read lead_gen.activity's columns, and only those. */
static void
check_activity_relation(TriggerData *trigdata, const char *name)
{
	if (RelationGetRelid(trigdata->tg_relation) != scoring.activity_relid)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired on lead_gen.activity", name)));
}

static void
check_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired AFTER ... FOR EACH STATEMENT", name)));
}

/* Are the new activities all of one lead (the capped ones among them)? */
static bool
single_lead(HTAB *leads, CappedEvent *capped, int ncapped)
{
	long		n = hash_get_num_entries(leads);

	for (int i = 1; i < ncapped; i++)
		if (capped[i].lead_id != capped[0].lead_id)
			return false;
	return n == 0 ||
		(n == 1 && hash_search(leads, &capped[0].lead_id, HASH_FIND, NULL) != NULL);
}

/*
 * The lead trigger's part of a one-lead insert of capped kinds: of the new
 * activities, those within their day's cap are added to the lead's new
 * engagement.  The lead is locked now; a day its engagement before the
 * insert has not reached needs no query (day_needs_read), others are read
 * with a snapshot taken now, which includes what concurrent writers of the
 * lead committed.
 */
static Engagement *
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
		if (day_needs_read(&caps[i], before != NULL, before ? before->as_of : 0))
			to_read[nread++] = caps[i];
		else
			count_new_only(&caps[i], NULL, e);
	}
	if (nread > 0)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		account_capped_days(NULL, to_read, nread, e);
		SPI_finish();
	}
	return e;
}

/*
 * The SPI part of activity_inserted: what counts of capped kinds, then each
 * lead's update, in lead_id order.
 */
static void
update_leads(HTAB *leads, CappedEvent *capped, int ncapped)
{
	HASH_SEQ_STATUS seq;
	LeadDelta  *ld;
	int64	   *ids;
	int			nids = 0;
	CappedGroup *groups = NULL;
	int			ngroups = 0;

	/* capped kinds: per lead, kind and day, what counts now */
	if (ncapped > 0)
	{
		groups = palloc(ncapped * sizeof(CappedGroup));

		qsort(capped, ncapped, sizeof(CappedEvent), cmp_capped);
		for (int i = 0; i < ncapped;)
		{
			int			j = i + 1;

			while (j < ncapped && cmp_capped(&capped[i], &capped[j]) == 0)
				j++;
			groups[ngroups].events = &capped[i];
			groups[ngroups].k = j - i;
			groups[ngroups].rank_all = groups[ngroups].rank_old = 0;
			ngroups++;
			i = j;
		}
		if (single_lead(leads, capped, ncapped))
		{
			/*
			 * One lead: its trigger settles the caps when the UPDATE below
			 * has locked it (settle_caps).  The delta is then never NULL, so
			 * that the UPDATE checks its half-life.
			 */
			LeadDelta  *ld = lead_entry(leads, capped[0].lead_id, capped[0].at);

			ld->scored = true;
			ld->caps = groups;
			ld->ncaps = ngroups;
			ngroups = 0;
		}
		else
		{
			/* counted by add_to_many once their leads are locked */
			for (int i = 0; i < ncapped; i++)
				(void) lead_entry(leads, capped[i].lead_id, capped[i].at);
		}
	}

	/* each lead once, in lead_id order, so concurrent loads cannot deadlock */
	ids = palloc(Max(hash_get_num_entries(leads), 1) * sizeof(int64));
	hash_seq_init(&seq, leads);
	while ((ld = hash_seq_search(&seq)) != NULL)
		ids[nids++] = ld->lead_id;
	qsort(ids, nids, sizeof(int64), cmp_int64);
	event_stash = leads;
	if (nids == 1)
	{
		Datum		args[4];
		char		argnulls[4] = {' ', ' ', ' ', ' '};
		int			rc;

		ld = hash_search(leads, &ids[0], HASH_FIND, NULL);
		args[0] = Int64GetDatum(ld->lead_id);
		args[1] = PointerGetDatum(&ld->delta);
		args[2] = scoring.half_life_interval;
		args[3] = TimestampTzGetDatum(ld->first_touch);
		if (!ld->scored)
			argnulls[1] = 'n';
		if (!ld->touched)
			argnulls[3] = 'n';
		rc = SPI_execute_plan(scoring.add_plan, args, argnulls, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "could not update lead %lld: %s", (long long) ld->lead_id,
				 SPI_result_code_string(rc));
		/*
		 * Not updated: another half-life, start over.  Updated with caps
		 * left unsettled: its trigger is disabled, count from history.
		 */
		if (SPI_processed == 0 || ld->ncaps > 0)
			recompute_lead(ld->lead_id);
	}
	else if (nids > 1)
		add_to_many(leads, ids, nids, groups, ngroups);
}

/* update_leads, marked busy (see scoring_load), the stash restored after */
static void
update_leads_busy(HTAB *leads, CappedEvent *capped, int ncapped)
{
	HTAB	   *outer_stash = event_stash;

	scoring_busy++;
	PG_TRY();
	{
		update_leads(leads, capped, ncapped);
	}
	PG_FINALLY();
	{
		event_stash = outer_stash;
		scoring_busy--;
	}
	PG_END_TRY();
}

/*
 * AFTER INSERT ... REFERENCING NEW TABLE ... FOR EACH STATEMENT on
 * lead_gen.activity: add every new activity's points to its lead.
 */
Datum
lead_gen_activity_inserted(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	TupleTableSlot *slot;
	HASHCTL		ctl;
	HTAB	   *leads;
	CappedEvent *capped = NULL;
	int			ncapped = 0;
	int			capped_size = 0;
	int			att_id;
	int			att_lead;
	int			att_kind;
	int			att_at;
	TimestampTz latest = GetCurrentTimestamp() + FUTURE_TOLERANCE_USECS;

	check_trigger(fcinfo, "activity_inserted");
	if (trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("activity_inserted: needs REFERENCING NEW TABLE")));
	scoring_load();
	check_activity_relation(trigdata, "activity_inserted");

	desc = trigdata->tg_relation->rd_att;
	att_id = SPI_fnumber(desc, "activity_id");
	att_lead = SPI_fnumber(desc, "lead_id");
	att_kind = SPI_fnumber(desc, "kind");
	att_at = SPI_fnumber(desc, "occurred_at");

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(LeadDelta);
	ctl.hcxt = CurrentMemoryContext;
	leads = hash_create("lead_gen new activity", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(trigdata->tg_newtable);
	while (tuplestore_gettupleslot(trigdata->tg_newtable, true, false, slot))
	{
		bool		isnull;
		int64		lead_id = DatumGetInt64(slot_getattr(slot, att_lead, &isnull));
		TimestampTz at = DatumGetTimestampTz(slot_getattr(slot, att_at, &isnull));
		char	   *kind = TextDatumGetCString(slot_getattr(slot, att_kind, &isnull));
		ScoringRule *rule;

		CHECK_FOR_INTERRUPTS();
		check_occurred_at(lead_id, at, latest);
		rule = rule_for(kind);
		pfree(kind);
		if (rule == NULL)
			continue;
		if (rule->moves_to >= 0 || rule->sales_touch)
			note_event(leads, lead_id, rule, at);
		if (rule->points == 0 || rule->daily_cap == 0)
			continue;
		if (rule->daily_cap < 0)
		{
			add_to(leads, lead_id, rule->points, at);
			continue;
		}
		if (ncapped == capped_size)
		{
			capped_size = capped_size ? capped_size * 2 : 64;
			capped = capped ? repalloc_huge(capped, capped_size * sizeof(CappedEvent))
				: palloc(capped_size * sizeof(CappedEvent));
		}
		capped[ncapped].lead_id = lead_id;
		capped[ncapped].rule = rule;
		capped[ncapped].day = utc_day(at);
		capped[ncapped].at = at;
		capped[ncapped].activity_id = DatumGetInt64(slot_getattr(slot, att_id, &isnull));
		ncapped++;
	}
	ExecDropSingleTupleTableSlot(slot);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	update_leads_busy(leads, capped, ncapped);
	SPI_finish();
	return PointerGetDatum(NULL);
}

static void
collect_leads(Tuplestorestate *ts, TupleDesc desc, int64 **ids, int *nids, int *size,
			  bool check_dates)
{
	TupleTableSlot *slot;
	int			att_lead = SPI_fnumber(desc, "lead_id");
	int			att_at = SPI_fnumber(desc, "occurred_at");
	TimestampTz latest = GetCurrentTimestamp() + FUTURE_TOLERANCE_USECS;

	if (ts == NULL)
		return;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;

		if (*nids == *size)
		{
			*size *= 2;
			*ids = repalloc_huge(*ids, *size * sizeof(int64));
		}
		(*ids)[(*nids)++] = DatumGetInt64(slot_getattr(slot, att_lead, &isnull));
		if (check_dates)
			check_occurred_at((*ids)[*nids - 1],
							  DatumGetTimestampTz(slot_getattr(slot, att_at, &isnull)), latest);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * AFTER UPDATE or DELETE ... FOR EACH STATEMENT on lead_gen.activity, with
 * transition tables: every lead whose history changed is recomputed from it.
 */
Datum
lead_gen_activity_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			size = 64;
	int			nids = 0;
	int64	   *ids = palloc(size * sizeof(int64));

	check_trigger(fcinfo, "activity_changed");
	scoring_load();
	check_activity_relation(trigdata, "activity_changed");
	desc = trigdata->tg_relation->rd_att;
	collect_leads(trigdata->tg_oldtable, desc, &ids, &nids, &size, false);
	collect_leads(trigdata->tg_newtable, desc, &ids, &nids, &size, true);
	qsort(ids, nids, sizeof(int64), cmp_int64);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	scoring_busy++;
	PG_TRY();
	{
		for (int i = 0; i < nids; i++)
		{
			if (i > 0 && ids[i] == ids[i - 1])
				continue;
			CHECK_FOR_INTERRUPTS();
			recompute_lead(ids[i]);
		}
	}
	PG_FINALLY();
	{
		scoring_busy--;
	}
	PG_END_TRY();
	SPI_finish();
	return PointerGetDatum(NULL);
}
