/*-------------------------------------------------------------------------
 *
 * fit.c
 *	  A lead's stored fit and grade, kept current by a trigger from the
 *	  active ideal customer profile (lead_gen.profile).
 *
 * The active profile is read once and kept per backend, with its matcher
 * (regexes compiled, columns resolved), so the trigger costs one match per
 * row and no query; config.h says when it is reloaded.
 *
 * A profile change and concurrent lead writes must not leave a lead graded
 * by the old profile.  The change locks lead_gen.lead in SHARE mode before
 * refreshing every fit: it waits for writers already under way (and then
 * refreshes their leads too), and writers that come later wait for it to
 * commit.  Those then read the profile with the latest snapshot, so they see
 * the new one even if their own snapshot is older.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "storage/lmgr.h"
#include "utils/rel.h"

#include "config.h"
#include "icp.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_lead_fit);
PG_FUNCTION_INFO_V1(lead_gen_fit_grade);
PG_FUNCTION_INFO_V1(lead_gen_lead_fit_trigger);
PG_FUNCTION_INFO_V1(lead_gen_profile_changed);

typedef struct FitConfig
{
	uint64		generation;		/* config_generation() it was loaded at */
	bool		has_profile;
	IcpMatcher *matcher;
	double		grade_min[4];	/* fit needed for A, B, C, D */
	Oid			lead_relid;
	int			col_fit;		/* lead's fit and grade columns; 0: not yet */
	int			col_grade;
} FitConfig;

static FitConfig config;

static void
fit_config_load(void)
{
	if (config.generation == config_generation())
		return;
	config_watch(lead_gen_relid("profile"));
	config.lead_relid = lead_gen_relid("lead");
	config_watch(config.lead_relid);
	config.col_fit = 0;			/* the lead table may have changed too */

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	config_query("SELECT icp, grade_a_min, grade_b_min, grade_c_min, grade_d_min"
				 " FROM lead_gen.profile WHERE active");
	config.has_profile = SPI_processed > 0;
	if (config.has_profile)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		icp = SPI_getbinval(tup, desc, 1, &isnull);

		config.matcher = icp_matcher_get(config.matcher, icp, TopMemoryContext);
		for (int i = 0; i < 4; i++)
			config.grade_min[i] = DatumGetFloat8(SPI_getbinval(tup, desc, i + 2, &isnull));
	}
	else if (config.matcher)
	{
		icp_matcher_free(config.matcher);
		config.matcher = NULL;
	}
	SPI_finish();
	config.generation = config_generation();
}

static const char *
grade_of(double fit)
{
	static const char *const letters[] = {"A", "B", "C", "D"};

	for (int i = 0; i < 4; i++)
		if (fit >= config.grade_min[i])
			return letters[i];
	return "F";
}

/* lead_fit(lead) -> float8: fit against the active profile; NULL without one */
Datum
lead_gen_lead_fit(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);

	fit_config_load();
	if (!config.has_profile)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(icp_fit_row(config.matcher, row, NULL));
}

/* fit_grade(float8) -> text: the letter for a fit under the active profile */
Datum
lead_gen_fit_grade(PG_FUNCTION_ARGS)
{
	double		fit = PG_GETARG_FLOAT8(0);

	fit_config_load();
	if (!config.has_profile)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(grade_of(fit)));
}

/*
 * BEFORE INSERT OR UPDATE row trigger on lead_gen.lead: sets fit and grade.
 * They are derived, so a value written by hand is replaced.
 */
Datum
lead_gen_lead_fit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	int			cols[2];
	Datum		values[2];
	bool		nulls[2] = {true, true};

	fit_config_load();
	trigdata = trigger_guard(fcinfo, "lead_fit_trigger", GUARD_BEFORE,
							 GUARD_INSERT | GUARD_UPDATE, GUARD_ROW, config.lead_relid);
	tuple = trigger_new_row(trigdata);
	tupdesc = trigdata->tg_relation->rd_att;
	if (config.col_fit == 0)
	{
		/* once per configuration load, which any change of lead_gen.lead causes */
		config.col_grade = SPI_fnumber(tupdesc, "grade");
		config.col_fit = SPI_fnumber(tupdesc, "fit");
	}
	cols[0] = config.col_fit;
	cols[1] = config.col_grade;

	if (config.has_profile)
	{
		double		fit = icp_fit_tuple(config.matcher, tuple, tupdesc, NULL);

		values[0] = Float8GetDatum(fit);
		values[1] = CStringGetTextDatum(grade_of(fit));
		nulls[0] = nulls[1] = false;
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, tupdesc, 2, cols, values, nulls));
}

/*
 * AFTER ... FOR EACH STATEMENT trigger on lead_gen.profile: every backend
 * drops its cached profile (at commit), and every lead's fit is refreshed in
 * this transaction.
 */
Datum
lead_gen_profile_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	int			rc;

	trigdata = trigger_guard(fcinfo, "profile_changed", GUARD_AFTER,
							 GUARD_INSERT | GUARD_UPDATE | GUARD_DELETE | GUARD_TRUNCATE,
							 GUARD_STATEMENT, lead_gen_relid("profile"));

	/* a snapshot older than the lock would miss leads written meanwhile */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("profiles can only be changed in a READ COMMITTED transaction"),
				 errdetail("Changing a profile refits every lead, and a transaction snapshot could miss leads written concurrently."),
				 errhint("Run SET TRANSACTION ISOLATION LEVEL READ COMMITTED first.")));
	LockRelationOid(lead_gen_relid("lead"), ShareLock);
	config_changed(RelationGetRelid(trigdata->tg_relation));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute("SELECT lead_gen.refresh_fit()", false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not refresh fit: %s", SPI_result_code_string(rc));
	SPI_finish();
	return PointerGetDatum(NULL);
}
