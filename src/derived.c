/*-------------------------------------------------------------------------
 *
 * derived.c
 *	  What a write of the columns lead_gen derives for a lead becomes (see
 *	  derived.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/timestamp.h"

#include "config.h"
#include "derived.h"
#include "restore.h"
#include "trigger.h"

/* how far ahead of the database clock a lead's times may be (clock skew) */
#define FUTURE_TOLERANCE_USECS	(60 * USECS_PER_SEC)

static struct
{
	uint64		generation;
	int			engagement;
	int			first_touch_at;
	int			forgotten_at;
	int			created_at;
	int			updated_at;
	int			lead_id;
} col;

static void
load_columns(TupleDesc desc)
{
	if (col.generation == config_generation() && col.lead_id != 0)
		return;
	col.engagement = lead_column(desc, "engagement");
	col.first_touch_at = lead_column(desc, "first_touch_at");
	col.forgotten_at = lead_column(desc, "forgotten_at");
	col.created_at = lead_column(desc, "created_at");
	col.updated_at = lead_column(desc, "updated_at");
	col.lead_id = lead_column(desc, "lead_id");
	col.generation = config_generation();
}

bool
derived_writer(void)
{
	static LocalTransactionId checked_in = InvalidLocalTransactionId;
	static Oid	checked_for = InvalidOid;
	static bool allowed;

	/* recompute_all() asks once per lead: once per transaction and role */
	if (checked_in != MyProc->lxid || checked_for != GetUserId())
	{
		allowed = pg_class_aclcheck(lead_gen_relid("scoring_state"), GetUserId(),
									ACL_UPDATE) == ACLCHECK_OK;
		checked_in = MyProc->lxid;
		checked_for = GetUserId();
	}
	return allowed || restore_in_progress();
}

static bool
changed(HeapTuple old, HeapTuple new, int att, TupleDesc desc)
{
	bool		old_null;
	bool		new_null;
	Datum		o = heap_getattr(old, att, desc, &old_null);
	Datum		n = heap_getattr(new, att, desc, &new_null);
	Form_pg_attribute a = TupleDescAttr(desc, att - 1);

	if (old_null || new_null)
		return old_null != new_null;
	return !datumIsEqual(o, n, a->attbyval, a->attlen);
}

static void
refuse(HeapTuple tuple, TupleDesc desc, const char *column, const char *detail,
	   const char *hint)
{
	bool		isnull;
	int64		lead_id = DatumGetInt64(heap_getattr(tuple, col.lead_id, desc, &isnull));

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to write lead_gen.lead.%s of lead %lld",
					column, (long long) lead_id),
			 errdetail_internal("%s", detail),
			 errhint("%s", hint)));
}

static void
check_not_future(HeapTuple tuple, TupleDesc desc, int att, const char *column)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, att, desc, &isnull);
	TimestampTz at;

	if (isnull)
		return;
	at = DatumGetTimestampTz(d);
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s of a lead must be a finite time", column)));
	if (at > GetCurrentTransactionStartTimestamp() + FUTURE_TOLERANCE_USECS)
	{
		int64		lead_id = DatumGetInt64(heap_getattr(tuple, col.lead_id, desc, &isnull));

		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s of lead %lld is in the future: %s",
						column, (long long) lead_id, timestamptz_to_str(at)),
				 errdetail("A lead's times may be at most one minute ahead of the database clock.")));
	}
}

void
derived_before_row(TriggerData *trigdata, HeapTuple tuple, bool by_activity,
				   int *ncols, int *cols, Datum *values, bool *nulls)
{
	TupleDesc	desc = trigdata->tg_relation->rd_att;
	HeapTuple	old = trigdata->tg_trigtuple;
	int			n = *ncols;

	if (by_activity)
		return;					/* the activity triggers' own statement */
	load_columns(desc);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		if (restore_in_progress())
			return;
		check_not_future(tuple, desc, col.created_at, "created_at");
		check_not_future(tuple, desc, col.updated_at, "updated_at");
		if (derived_writer())
			return;				/* an admin's import keeps them */
		/* engagement is the lead trigger's; these come from activity and forget() */
		cols[n] = col.first_touch_at;
		values[n] = (Datum) 0;
		nulls[n++] = true;
		cols[n] = col.forgotten_at;
		values[n] = (Datum) 0;
		nulls[n++] = true;
		*ncols = n;
		return;
	}

	if (changed(old, tuple, col.created_at, desc))
		check_not_future(tuple, desc, col.created_at, "created_at");
	if (changed(old, tuple, col.updated_at, desc))
		check_not_future(tuple, desc, col.updated_at, "updated_at");
	if (changed(old, tuple, col.engagement, desc) && !derived_writer())
		refuse(tuple, desc, "engagement",
			   "lead_gen derives it from the lead's activity: add, change or delete activity instead.",
			   "Admins (roles that may UPDATE lead_gen.scoring_state) rebuild it with CALL lead_gen.recompute_all().");
	if (changed(old, tuple, col.first_touch_at, desc) && !derived_writer())
		refuse(tuple, desc, "first_touch_at",
			   "lead_gen derives it from the lead's sales touches: add the activity instead.",
			   "Admins (roles that may UPDATE lead_gen.scoring_state) rebuild it with CALL lead_gen.recompute_all().");
	if (changed(old, tuple, col.forgotten_at, desc) && !derived_writer())
		refuse(tuple, desc, "forgotten_at",
			   "It records an erasure by lead_gen.forget().",
			   "Admins (roles that may UPDATE lead_gen.scoring_state) erase a lead with lead_gen.forget().");
}
