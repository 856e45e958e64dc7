/*-------------------------------------------------------------------------
 *
 * touch.c
 *	  BEFORE UPDATE trigger that stamps a timestamptz column with the
 *	  transaction's start time when a row really changes.
 *
 * It is C, not plpgsql, because every scored activity updates its lead, so
 * this trigger runs on the activity hot path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_touch_updated_at);

/*
 * touch_updated_at(column_name)
 *
 * Sets the named column of the new row to transaction_timestamp(), unless
 * the caller already set it to something else explicitly (an import keeping
 * its own times) or nothing else in the row changed.
 */
Datum
lead_gen_touch_updated_at(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	Trigger    *trigger;
	TupleDesc	tupdesc;
	HeapTuple	oldtuple;
	HeapTuple	newtuple;
	int			attnum;
	bool		oldnull;
	bool		newnull;
	Datum		oldval;
	Datum		newval;
	Datum		now;
	bool		isnull = false;

	trigdata = trigger_guard(fcinfo, "touch_updated_at", GUARD_BEFORE, GUARD_UPDATE, GUARD_ROW,
							 InvalidOid);

	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("touch_updated_at: expects the column name as its only argument")));

	tupdesc = trigdata->tg_relation->rd_att;
	oldtuple = trigdata->tg_trigtuple;
	newtuple = trigdata->tg_newtuple;

	attnum = SPI_fnumber(tupdesc, trigger->tgargs[0]);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						trigger->tgargs[0],
						RelationGetRelationName(trigdata->tg_relation))));
	if (TupleDescAttr(tupdesc, attnum - 1)->atttypid != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" must be of type timestamp with time zone",
						trigger->tgargs[0],
						RelationGetRelationName(trigdata->tg_relation))));

	/* An explicit new value wins: imports keep their own times. */
	oldval = heap_getattr(oldtuple, attnum, tupdesc, &oldnull);
	newval = heap_getattr(newtuple, attnum, tupdesc, &newnull);
	if (oldnull != newnull ||
		(!oldnull && DatumGetTimestampTz(oldval) != DatumGetTimestampTz(newval)))
		return PointerGetDatum(newtuple);

	now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	newtuple = heap_modify_tuple_by_cols(newtuple, tupdesc, 1, &attnum,
										 &now, &isnull);
	return PointerGetDatum(newtuple);
}
