/*-------------------------------------------------------------------------
 *
 * trigger.h
 *	  What every lead_gen trigger function checks before it does anything.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_TRIGGER_H
#define LEAD_GEN_TRIGGER_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"

/*
 * A BEFORE INSERT OR UPDATE ... FOR EACH ROW trigger on the relation relid:
 * errors unless that is how it was called, else returns the row to be
 * written (the new row of an UPDATE, the row of an INSERT).
 */
extern HeapTuple before_row_trigger_tuple(FunctionCallInfo fcinfo, const char *name, Oid relid);

/* The number of a column of lead_gen.lead (errors if it has none). */
extern int	lead_column(TupleDesc desc, const char *name);

#endif							/* LEAD_GEN_TRIGGER_H */
