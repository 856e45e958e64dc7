/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  What every lead_gen trigger function checks before it does anything:
 *	  the functions are callable by anyone, so they refuse to run as
 *	  anything but the trigger they were written to be.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "trigger.h"

HeapTuple
before_row_trigger_tuple(FunctionCallInfo fcinfo, const char *name, Oid relid)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired BEFORE INSERT OR UPDATE FOR EACH ROW", name)));
	if (RelationGetRelid(trigdata->tg_relation) != relid)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired on lead_gen.%s", name, get_rel_name(relid))));
	return TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)
		? trigdata->tg_newtuple : trigdata->tg_trigtuple;
}

int
lead_column(TupleDesc desc, const char *name)
{
	int			att = SPI_fnumber(desc, name);

	if (att <= 0)
		elog(ERROR, "lead_gen.lead has no column \"%s\"", name);
	return att;
}
