/*-------------------------------------------------------------------------
 *
 * score_config.c
 *	  The scoring configuration of a session: settings, rules and the SPI
 *	  plans the activity triggers keep, loaded once per configuration
 *	  change (see config.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "config.h"
#include "score.h"

ScoringConfig scoring;
int			scoring_busy = 0;

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

void
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
	config_query("SELECT half_life, fit_weight, engagement_weight, engagement_cap, warm_at, hot_at, s"
				 " FROM lead_gen.scoring_settings AS s");
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
		/* a database still at 1.3 or older (until its update) has no prediction_weight */
		scoring.prediction_weight = 0;
		{
			HeapTupleHeader row = DatumGetHeapTupleHeader(SPI_getbinval(tup, desc, 7, &isnull));
			TupleDesc	rowdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
														 HeapTupleHeaderGetTypMod(row));
			int			col = SPI_fnumber(rowdesc, "prediction_weight");

			ReleaseTupleDesc(rowdesc);
			if (col > 0)
			{
				Datum		d = GetAttributeByNum(row, col, &isnull);

				scoring.prediction_weight = isnull ? 0 : DatumGetFloat8(d);
			}
		}
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

ScoringRule *
rule_for(const char *kind)
{
	if (strlen(kind) >= NAMEDATALEN)
		return NULL;
	return hash_search(scoring.rules, kind, HASH_FIND, NULL);
}

/* The points of a lead that time does not move: its fit's and its prediction's. */
double
lead_fixed_points(double fit, double prediction)
{
	return scoring.fit_weight * fit + scoring.prediction_weight * 100 * prediction;
}

/* The score of a lead with these fixed points and engagement at a time. */
double
lead_score_at(double fixed, const Engagement *e, TimestampTz at)
{
	double		ev = e ? Min(engagement_value_at(e, at), scoring.engagement_cap) : 0;

	return fixed + scoring.engagement_weight * ev;
}

/* The temperature of a score: 0 cold, 1 warm, 2 hot (scoring.temperature's order). */
int
lead_temperature(double score)
{
	return score >= scoring.hot_at ? 2 : score >= scoring.warm_at ? 1 : 0;
}
