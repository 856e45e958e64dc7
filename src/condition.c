/*-------------------------------------------------------------------------
 *
 * condition.c
 *	  Conditions on leads (lead_gen.condition): whether one holds for a lead
 *	  now, and when time alone will next change that, from the lead's row,
 *	  its score as of now and its activity.
 *
 * The language, the type and the evaluation are the ICP's (icp.c); this
 * file supplies what a condition tests beyond a lead's columns: the state
 * (score now, temperature and until when it holds, stage, grade, fit, time
 * in stage) and the activity, read once per lead on first use.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "condition.h"
#include "config.h"
#include "icp.h"
#include "score.h"
#include "stage.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_condition_holds);
PG_FUNCTION_INFO_V1(lead_gen_condition_changes_at);

/* lead_gen.temperature's labels, in lead_temperature()'s order */
static const char *const temperature_names[] = {"cold", "warm", "hot"};

/*
 * The lead's activity, through the index on (lead_id, occurred_at), with
 * the latest snapshot: a writer waiting for the lead's row lock sees what
 * the writer before it committed.  Read directly, not through SPI: this
 * runs for every change of a lead while a segment tests activity, and all
 * of the lead's activity counts, whatever the writer's row security lets
 * it see.
 */
static void
load_activity(LeadActivity *la)
{
	static uint64 generation;
	static Oid	relid;
	static Oid	indexid;
	Relation	rel;
	Relation	index;
	TupleDesc	desc;
	ScanKeyData key[2];
	int			nkeys = 1;
	Snapshot	snapshot;
	SysScanDesc scan;
	HeapTuple	tup;
	int			att_kind;
	int			att_at;
	int			size = 16;

	if (generation != config_generation())
	{
		Oid			nsp = get_namespace_oid("lead_gen", false);

		relid = lead_gen_relid("activity");
		indexid = get_relname_relid("activity_lead_occurred_at_idx", nsp);
		if (!OidIsValid(indexid))
			elog(ERROR, "index lead_gen.activity_lead_occurred_at_idx does not exist");
		generation = config_generation();
	}
	rel = table_open(relid, AccessShareLock);
	index = index_open(indexid, AccessShareLock);
	desc = RelationGetDescr(rel);
	att_kind = lead_column(desc, "kind");
	att_at = lead_column(desc, "occurred_at");
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key[0], lead_column(desc, "lead_id"), BTEqualStrategyNumber,
				F_INT8EQ, Int64GetDatum(la->lead_id));
	if (la->since != 0)
		ScanKeyInit(&key[nkeys++], att_at, BTGreaterStrategyNumber, F_TIMESTAMPTZ_GT,
					TimestampTzGetDatum(la->since));
	scan = systable_beginscan_ordered(rel, index, snapshot, nkeys, key);
	la->n = 0;
	la->kinds = palloc(size * sizeof(char *));
	la->times = palloc(size * sizeof(TimestampTz));
	while ((tup = systable_getnext_ordered(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;

		if (la->n == size)
		{
			size *= 2;
			la->kinds = repalloc_huge(la->kinds, size * sizeof(char *));
			la->times = repalloc_huge(la->times, size * sizeof(TimestampTz));
		}
		la->kinds[la->n] = TextDatumGetCString(heap_getattr(tup, att_kind, desc, &isnull));
		la->times[la->n] = DatumGetTimestampTz(heap_getattr(tup, att_at, desc, &isnull));
		la->n++;
	}
	systable_endscan_ordered(scan);
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	la->loaded = true;
}

/* ConditionFacts.activity: the lead's activity of a kind (len 0: all). */
static const ConditionActivity *
lead_activity(ConditionFacts *cf, const char *kind, int len)
{
	LeadActivity *la = cf->arg;
	ConditionActivity *v;
	static TimestampTz none;
	static const ConditionActivity nothing = {0, &none};

	if (!la->loaded && la->deferred)
	{
		/* the caller reads many leads' activity at once, for those that want it */
		la->wanted = true;
		return &nothing;
	}
	if (!la->loaded)
		load_activity(la);
	for (int i = 0; i < la->nviews; i++)
		if ((int) strlen(la->view_kinds[i]) == len && memcmp(la->view_kinds[i], kind, len) == 0)
			return &la->views[i];

	la->view_kinds = la->nviews == 0 ? palloc(sizeof(char *))
		: repalloc(la->view_kinds, (la->nviews + 1) * sizeof(char *));
	la->views = la->nviews == 0 ? palloc(sizeof(ConditionActivity))
		: repalloc(la->views, (la->nviews + 1) * sizeof(ConditionActivity));
	la->view_kinds[la->nviews] = pnstrdup(kind, len);
	v = &la->views[la->nviews++];
	v->count = 0;
	v->times = palloc(Max(la->n, 1) * sizeof(TimestampTz));
	for (int i = 0; i < la->n; i++)
		if (len == 0 || ((int) strlen(la->kinds[i]) == len && memcmp(la->kinds[i], kind, len) == 0))
			v->times[v->count++] = la->times[i];
	return v;
}

/* ConditionFacts.score_crossing, from the lead's stored fit and engagement */
static bool
lead_score_crossing(ConditionFacts *cf, double threshold, TimestampTz *when)
{
	LeadActivity *la = cf->arg;

	if (la->engagement == NULL)
		return false;			/* the score is fit alone: it stays */
	return engagement_crossing(la->engagement, scoring.engagement_cap, scoring.engagement_weight,
							   la->fixed, threshold, cf->now, when);
}

/* ConditionFacts.temperature_until: until the score crosses a threshold */
static TimestampTz
temperature_until(ConditionFacts *cf)
{
	TimestampTz until = DT_NOEND;
	TimestampTz t;

	if (lead_score_crossing(cf, scoring.warm_at, &t))
		until = t;
	if (lead_score_crossing(cf, scoring.hot_at, &t) && t < until)
		until = t;
	return until;
}

/* Where lead_gen.lead's columns are in the row type last seen */
static TupleDesc facts_desc;
static TupleDesc facts_seen;
static uint64 facts_generation;
static int	col_lead_id,
			col_fit,
			col_engagement,
			col_stage,
			col_grade,
			col_prediction,
			col_stage_changed_at;

static int
column_of(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), name) == 0)
			return a->attnum;
	}
	elog(ERROR, "a lead has no column \"%s\"", name);
	return 0;
}

void
condition_facts(ConditionFacts *cf, LeadActivity *la, HeapTuple tuple, TupleDesc desc,
				TimestampTz now, TimestampTz since)
{
	if ((facts_seen != desc || facts_generation != config_generation()) &&
		(facts_desc == NULL || !equalTupleDescs(facts_desc, desc)))
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		if (facts_desc)
			FreeTupleDesc(facts_desc);
		facts_desc = CreateTupleDescCopy(desc);
		MemoryContextSwitchTo(old);
		col_lead_id = column_of(desc, "lead_id");
		col_fit = column_of(desc, "fit");
		col_engagement = column_of(desc, "engagement");
		col_stage = column_of(desc, "stage");
		col_grade = column_of(desc, "grade");
		col_prediction = column_of(desc, "prediction");
		col_stage_changed_at = column_of(desc, "stage_changed_at");
	}
	facts_seen = desc;			/* see tuple_facts in icp.c */
	facts_generation = config_generation();
	scoring_load();
	memset(cf, 0, sizeof(*cf));
	memset(la, 0, sizeof(*la));
	cf->now = now;
	cf->arg = la;
	cf->activity = lead_activity;
	cf->score_crossing = lead_score_crossing;
	la->since = since;

	/* deformed once: every condition tested on this lead reads it */
	cf->row = tuple;
	cf->row_values = palloc(desc->natts * sizeof(Datum));
	cf->row_nulls = palloc(desc->natts * sizeof(bool));
	heap_deform_tuple(tuple, desc, cf->row_values, cf->row_nulls);

	if (cf->row_nulls[col_lead_id - 1])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a lead without a lead_id cannot be tested")));
	la->lead_id = DatumGetInt64(cf->row_values[col_lead_id - 1]);
	cf->has_fit = !cf->row_nulls[col_fit - 1];
	cf->fit = cf->has_fit ? DatumGetFloat8(cf->row_values[col_fit - 1]) : 0;
	cf->has_prediction = !cf->row_nulls[col_prediction - 1];
	cf->prediction = cf->has_prediction ? DatumGetFloat8(cf->row_values[col_prediction - 1]) : 0;
	la->fixed = lead_fixed_points(cf->fit, cf->prediction);
	la->engagement = cf->row_nulls[col_engagement - 1] ? NULL
		: DatumGetEngagementP(cf->row_values[col_engagement - 1]);
	cf->score = lead_score_at(la->fixed, la->engagement, now);
	cf->stage = cf->row_nulls[col_stage - 1] ? NULL : stage_label(cf->row_values[col_stage - 1]);
	cf->grade = cf->row_nulls[col_grade - 1] ? NULL
		: TextDatumGetCString(cf->row_values[col_grade - 1]);
	cf->stage_changed_at = cf->row_nulls[col_stage_changed_at - 1] ? 0
		: DatumGetTimestampTz(cf->row_values[col_stage_changed_at - 1]);

	/* the temperature is the score's against the thresholds now */
	cf->temperature = temperature_names[lead_temperature(cf->score)];
	cf->temperature_until = temperature_until;
}

/* A condition and a lead row (a lead_gen.lead value) as of the transaction's start. */
static bool
condition_for_row(FunctionCallInfo fcinfo, TimestampTz *until)
{
	IcpMatcher *m = (IcpMatcher *) fcinfo->flinfo->fn_extra;
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	HeapTupleData tuple;
	TupleDesc	tupdesc;
	ConditionFacts cf;
	LeadActivity la;
	bool		holds;

	m = icp_matcher_get(m, PG_GETARG_DATUM(0), fcinfo->flinfo->fn_mcxt);
	fcinfo->flinfo->fn_extra = m;
	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	condition_facts(&cf, &la, &tuple, tupdesc, GetCurrentTransactionStartTimestamp(), 0);
	holds = icp_condition_holds(m, &tuple, tupdesc, &cf, until);
	ReleaseTupleDesc(tupdesc);
	return holds;
}

/* condition_holds(condition, lead): whether it holds for the lead now */
Datum
lead_gen_condition_holds(PG_FUNCTION_ARGS)
{
	TimestampTz until;

	PG_RETURN_BOOL(condition_for_row(fcinfo, &until));
}

/*
 * condition_changes_at(condition, lead): the time before which time alone
 * cannot change whether it holds; NULL if time alone never will
 */
Datum
lead_gen_condition_changes_at(PG_FUNCTION_ARGS)
{
	TimestampTz until;

	condition_for_row(fcinfo, &until);
	if (until == DT_NOEND)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(until);
}
