/*-------------------------------------------------------------------------
 *
 * merge_redirect.c
 *	  BEFORE INSERT trigger on lead_gen.activity: activity written with the
 *	  id of a merged lead goes to the lead it was merged into.
 *
 * lead_gen.merge_leads() deletes the merged lead and records it in
 * lead_gen.lead_merge, whose winner column is kept flat, so one lookup of
 * its primary key resolves any merged id.  It is C, not plpgsql, because it
 * runs for every activity: with no merge it costs an index probe.
 *
 * The probe uses a dirty snapshot, not the statement's: merge_leads() holds
 * a lock on activity that no writer shares, so a writer that gets here has
 * waited for every merge before it, whose rows its own snapshot may not
 * show.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "config.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_activity_redirect);

static struct
{
	uint64		generation;
	Oid			activity_relid;
	Oid			merge_relid;
	Oid			merge_pkey;
	AttrNumber	merge_winner;
	int			activity_lead_id;
} redirect;

static void
redirect_load(void)
{
	Relation	rel;

	if (redirect.generation == config_generation())
		return;
	redirect.activity_relid = lead_gen_relid("activity");
	redirect.merge_relid = lead_gen_relid("lead_merge");
	redirect.merge_pkey = get_relname_relid("lead_merge_pkey",
											get_rel_namespace(redirect.merge_relid));
	if (!OidIsValid(redirect.merge_pkey))
		elog(ERROR, "index lead_gen.lead_merge_pkey does not exist");
	rel = table_open(redirect.merge_relid, AccessShareLock);
	redirect.merge_winner = SPI_fnumber(RelationGetDescr(rel), "winner");
	table_close(rel, AccessShareLock);
	if (redirect.merge_winner <= 0)
		elog(ERROR, "lead_gen.lead_merge has no column \"winner\"");
	/* a DROP EXTENSION or an ALTER of lead_merge reloads the above */
	config_watch(redirect.merge_relid);
	redirect.activity_lead_id = -1;
	redirect.generation = config_generation();
}

/* The lead a merged lead lives on, or 0 if lead_id is no merged lead's. */
static int64
merged_into(int64 lead_id)
{
	Relation	rel;
	SnapshotData dirty;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	int64		winner = 0;

	rel = table_open(redirect.merge_relid, AccessShareLock);
	InitDirtySnapshot(dirty);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(lead_id));
	scan = systable_beginscan(rel, redirect.merge_pkey, true, &dirty, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, redirect.merge_winner, RelationGetDescr(rel), &isnull);

		if (!isnull)
			winner = DatumGetInt64(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return winner;
}

/*
 * BEFORE INSERT ... FOR EACH ROW on lead_gen.activity: a merged lead's id is
 * replaced by its winner's.
 */
Datum
lead_gen_activity_redirect(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	int64		winner;
	Datum		value;
	bool		null = false;

	redirect_load();
	trigdata = trigger_guard(fcinfo, "activity_redirect", GUARD_BEFORE, GUARD_INSERT, GUARD_ROW,
							 redirect.activity_relid);
	tuple = trigdata->tg_trigtuple;
	desc = RelationGetDescr(trigdata->tg_relation);
	if (redirect.activity_lead_id < 0)
	{
		redirect.activity_lead_id = SPI_fnumber(desc, "lead_id");
		if (redirect.activity_lead_id <= 0)
			elog(ERROR, "lead_gen.activity has no column \"lead_id\"");
	}
	d = heap_getattr(tuple, redirect.activity_lead_id, desc, &isnull);
	if (isnull)
		return PointerGetDatum(tuple);	/* the NOT NULL constraint speaks */
	winner = merged_into(DatumGetInt64(d));
	if (winner == 0)
		return PointerGetDatum(tuple);
	value = Int64GetDatum(winner);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &redirect.activity_lead_id,
													 &value, &null));
}
