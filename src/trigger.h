/*-------------------------------------------------------------------------
 *
 * trigger.h
 *	  What every lead_gen trigger function checks before it does anything.
 *
 * The trigger functions are callable by anyone (EXECUTE is granted to
 * PUBLIC), so each refuses to run as anything but the trigger it was written
 * to be: fired at the right time, for the right events, at the right level,
 * on the right table.  They all ask trigger_guard, so the rule and its
 * error read the same everywhere.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_TRIGGER_H
#define LEAD_GEN_TRIGGER_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "fmgr.h"

/* events a trigger may be fired for (bits, as in pg_trigger.tgtype) */
#define GUARD_INSERT	TRIGGER_TYPE_INSERT
#define GUARD_UPDATE	TRIGGER_TYPE_UPDATE
#define GUARD_DELETE	TRIGGER_TYPE_DELETE
#define GUARD_TRUNCATE	TRIGGER_TYPE_TRUNCATE

typedef enum GuardTiming
{
	GUARD_BEFORE,
	GUARD_AFTER
} GuardTiming;

typedef enum GuardLevel
{
	GUARD_ROW,
	GUARD_STATEMENT
} GuardLevel;

/*
 * relid of trigger_guard for "any table of lead_gen" (InvalidOid: any table
 * at all).  pg_class's own OID: no trigger can fire on a system catalog.
 */
#define GUARD_LEAD_GEN_TABLE	RelationRelationId

/*
 * Errors (ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED) unless fcinfo is a
 * trigger call of that timing and level, for one of the events, on relid;
 * else returns its TriggerData.
 */
extern TriggerData *trigger_guard(FunctionCallInfo fcinfo, const char *name,
								  GuardTiming timing, int events, GuardLevel level,
								  Oid relid);

/* The row a BEFORE row trigger returns: the new row of an UPDATE, else the row. */
extern HeapTuple trigger_new_row(TriggerData *trigdata);

/* The number of a column of lead_gen.lead (errors if it has none). */
extern int	lead_column(TupleDesc desc, const char *name);

#endif							/* LEAD_GEN_TRIGGER_H */
