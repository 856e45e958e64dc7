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

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "icp.h"
#include "score.h"

PG_FUNCTION_INFO_V1(lead_gen_condition_holds);
PG_FUNCTION_INFO_V1(lead_gen_condition_changes_at);

/* One lead's activity, in time order, and the per-kind views asked for. */
typedef struct LeadActivity
{
	int64		lead_id;
	bool		loaded;
	int			n;
	char	  **kinds;
	TimestampTz *times;
	int			nviews;
	char	  **view_kinds;		/* "" for every kind */
	ConditionActivity *views;
	Engagement *engagement;		/* NULL: none */
	double		fit;
} LeadActivity;

static void
load_activity(LeadActivity *la)
{
	Datum		arg = Int64GetDatum(la->lead_id);
	Oid			argtype = INT8OID;
	MemoryContext outer = CurrentMemoryContext;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT kind::pg_catalog.text, occurred_at FROM lead_gen.activity "
							   "WHERE lead_id OPERATOR(pg_catalog.=) $1 "
							   "ORDER BY occurred_at, activity_id",
							   1, &argtype, &arg, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the activity of lead " INT64_FORMAT ": %s",
			 la->lead_id, SPI_result_code_string(rc));
	la->n = (int) SPI_processed;
	la->kinds = MemoryContextAlloc(outer, Max(la->n, 1) * sizeof(char *));
	la->times = MemoryContextAlloc(outer, Max(la->n, 1) * sizeof(TimestampTz));
	for (int i = 0; i < la->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		kind = SPI_getbinval(tup, desc, 1, &isnull);

		la->kinds[i] = MemoryContextStrdup(outer, TextDatumGetCString(kind));
		la->times[i] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
	}
	SPI_finish();
	la->loaded = true;
}

/* ConditionFacts.activity: the lead's activity of a kind (len 0: all). */
static const ConditionActivity *
lead_activity(ConditionFacts *cf, const char *kind, int len)
{
	LeadActivity *la = cf->arg;
	ConditionActivity *v;

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
							   scoring.fit_weight * la->fit, threshold, cf->now, when);
}

static char *
label_of(Datum d)
{
	return DatumGetCString(DirectFunctionCall1(enum_out, d));
}

/*
 * Evaluate a condition for a lead row (a lead_gen.lead value) as of the
 * transaction's start: whether it holds, and until when.
 */
static bool
condition_for_row(FunctionCallInfo fcinfo, TimestampTz *until)
{
	IcpMatcher *m = (IcpMatcher *) fcinfo->flinfo->fn_extra;
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(1);
	HeapTupleData tuple;
	TupleDesc	tupdesc;
	ConditionFacts cf;
	LeadActivity la;
	bool		isnull;
	Datum		d;
	double		warm;
	double		hot;
	TimestampTz t;
	bool		holds;

	m = icp_matcher_get(m, PG_GETARG_DATUM(0), fcinfo->flinfo->fn_mcxt);
	fcinfo->flinfo->fn_extra = m;
	scoring_load();

	memset(&cf, 0, sizeof(cf));
	memset(&la, 0, sizeof(la));
	cf.now = GetCurrentTransactionStartTimestamp();
	cf.arg = &la;
	cf.activity = lead_activity;
	cf.score_crossing = lead_score_crossing;

	d = GetAttributeByName(row, "lead_id", &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a lead without a lead_id cannot be tested")));
	la.lead_id = DatumGetInt64(d);
	d = GetAttributeByName(row, "fit", &isnull);
	cf.has_fit = !isnull;
	la.fit = cf.fit = isnull ? 0 : DatumGetFloat8(d);
	d = GetAttributeByName(row, "engagement", &isnull);
	la.engagement = isnull ? NULL : DatumGetEngagementP(d);
	cf.score = lead_score_at(la.fit, la.engagement, cf.now);
	d = GetAttributeByName(row, "stage", &isnull);
	cf.stage = isnull ? NULL : label_of(d);
	d = GetAttributeByName(row, "grade", &isnull);
	cf.grade = isnull ? NULL : TextDatumGetCString(d);
	d = GetAttributeByName(row, "stage_changed_at", &isnull);
	cf.stage_changed_at = isnull ? 0 : DatumGetTimestampTz(d);

	/* the temperature is the score's, against the thresholds, now */
	cf.temperature = cf.score >= scoring.hot_at ? "hot" : cf.score >= scoring.warm_at ? "warm" : "cold";
	cf.temperature_until = DT_NOEND;
	warm = scoring.warm_at;
	hot = scoring.hot_at;
	if (lead_score_crossing(&cf, warm, &t))
		cf.temperature_until = t;
	if (lead_score_crossing(&cf, hot, &t) && t < cf.temperature_until)
		cf.temperature_until = t;

	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
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
