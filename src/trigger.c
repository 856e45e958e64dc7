/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  The one check every lead_gen trigger function makes (see trigger.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "trigger.h"

/* "BEFORE INSERT OR UPDATE FOR EACH ROW" */
static char *
describe(GuardTiming timing, int events, GuardLevel level)
{
	static const struct
	{
		int			bit;
		const char *name;
	}			names[] = {
		{GUARD_INSERT, "INSERT"}, {GUARD_UPDATE, "UPDATE"},
		{GUARD_DELETE, "DELETE"}, {GUARD_TRUNCATE, "TRUNCATE"}
	};
	StringInfoData s;
	bool		first = true;

	initStringInfo(&s);
	appendStringInfoString(&s, timing == GUARD_BEFORE ? "BEFORE" : "AFTER");
	for (int i = 0; i < (int) lengthof(names); i++)
	{
		if (!(events & names[i].bit))
			continue;
		appendStringInfo(&s, "%s%s", first ? " " : " OR ", names[i].name);
		first = false;
	}
	appendStringInfoString(&s, level == GUARD_ROW ? " FOR EACH ROW" : " FOR EACH STATEMENT");
	return s.data;
}

static int
event_bit(TriggerEvent ev)
{
	if (TRIGGER_FIRED_BY_INSERT(ev))
		return GUARD_INSERT;
	if (TRIGGER_FIRED_BY_UPDATE(ev))
		return GUARD_UPDATE;
	if (TRIGGER_FIRED_BY_DELETE(ev))
		return GUARD_DELETE;
	return GUARD_TRUNCATE;
}

TriggerData *
trigger_guard(FunctionCallInfo fcinfo, const char *name, GuardTiming timing,
			  int events, GuardLevel level, Oid relid)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Oid			fired_on;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		(timing == GUARD_BEFORE) != (TRIGGER_FIRED_BEFORE(trigdata->tg_event) != 0) ||
		(timing == GUARD_AFTER) != (TRIGGER_FIRED_AFTER(trigdata->tg_event) != 0) ||
		(level == GUARD_ROW) != (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) != 0) ||
		!(events & event_bit(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired %s", name, describe(timing, events, level))));
	fired_on = RelationGetRelid(trigdata->tg_relation);
	if (relid == GUARD_LEAD_GEN_TABLE
		? get_rel_namespace(fired_on) != get_namespace_oid("lead_gen", false)
		: OidIsValid(relid) && fired_on != relid)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 relid == GUARD_LEAD_GEN_TABLE
				 ? errmsg("%s: must be fired on a table of lead_gen", name)
				 : errmsg("%s: must be fired on lead_gen.%s", name, get_rel_name(relid))));
	return trigdata;
}

HeapTuple
trigger_new_row(TriggerData *trigdata)
{
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
