/*-------------------------------------------------------------------------
 *
 * segment_history.c
 *	  Who may change segment_member, and the record of every change: the
 *	  statement triggers on segment_member write segment_history and send
 *	  NOTIFY lead_gen_segment from the transition tables.
 *
 * A live segment's members are lead_gen's: src/segment.c changes them
 * through segment_write.c, which writes their history itself and fires no
 * trigger.  Anyone else may change them only where the change follows from
 * something else: a deleted lead or segment takes its rows along, a merge
 * (by an admin) moves the merged lead's rows, a restore brings them back.
 * A static segment's members are kept by hand, by whoever may write the
 * table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "config.h"
#include "lead_gen.h"
#include "program_entry.h"
#include "restore.h"
#include "segment_write.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_segment_member_changed);
PG_FUNCTION_INFO_V1(lead_gen_segment_history_guard);

static bool writing_history = false;
static SPIPlanPtr history_plan;	/* kept for the session: names only lead_gen's own objects */

/* One row of a transition table: its segment and lead. */
typedef struct MemberRow
{
	int64		segment_id;
	int64		lead_id;
} MemberRow;

static MemberRow *
read_rows(Tuplestorestate *ts, TupleDesc desc, int *n)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			size = 16;
	MemberRow  *rows = palloc(size * sizeof(MemberRow));
	int			att_segment = SPI_fnumber(desc, "segment_id");
	int			att_lead = SPI_fnumber(desc, "lead_id");

	*n = 0;
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;

		if (*n == size)
		{
			size *= 2;
			rows = repalloc_huge(rows, size * sizeof(MemberRow));
		}
		rows[*n].segment_id = DatumGetInt64(slot_getattr(slot, att_segment, &isnull));
		rows[*n].lead_id = DatumGetInt64(slot_getattr(slot, att_lead, &isnull));
		(*n)++;
	}
	ExecDropSingleTupleTableSlot(slot);
	return rows;
}

/* Whether a row exists now, this statement's changes seen (not read-only). */
static bool
exists(const char *sql, int64 id)
{
	Datum		arg = Int64GetDatum(id);
	Oid			argtype = INT8OID;
	int			rc = SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, false, 1);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not look up %s: %s", sql, SPI_result_code_string(rc));
	return SPI_processed > 0;
}

static bool
segment_is_live(int64 segment_id, bool *found)
{
	Datum		arg = Int64GetDatum(segment_id);
	Oid			argtype = INT8OID;
	int			rc = SPI_execute_with_args("SELECT live FROM lead_gen.segment "
										   "WHERE segment_id OPERATOR(pg_catalog.=) $1",
										   1, &argtype, &arg, NULL, false, 1);
	bool		isnull;

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not look up segment " INT64_FORMAT, segment_id);
	*found = SPI_processed > 0;
	if (!*found)
		return false;
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Admins merge leads (lead_gen.merge_leads() moves their rows). */
static bool
merging(void)
{
	return lead_gen_stage_cause == STAGE_CAUSE_MERGE &&
		pg_class_aclcheck(lead_gen_relid("lead"), GetUserId(), ACL_DELETE) == ACLCHECK_OK;
}

/*
 * What one statement's rows need looked up, kept from row to row: a
 * statement's rows are mostly of one segment (a drop) or one lead (a
 * delete), so each is looked up once.
 */
typedef struct Lookups
{
	int64		segment_id;		/* last looked up; 0: none yet */
	bool		segment_found;
	bool		segment_live;
	int64		lead_id;
	bool		lead_found;
	int			merging;		/* -1: not known yet */
} Lookups;

/*
 * Why this row may change and with what cause in the history, or an error:
 * a static segment's rows change by hand; a deleted segment or lead takes
 * its rows along; a merge moves them.  Sets *record to false for the rows
 * of a deleted segment, whose history goes with it.
 */
static const char *
cause_of(const MemberRow *r, bool inserted, bool moved, Lookups *k, bool *record)
{
	*record = true;
	if (k->merging < 0)
		k->merging = merging();
	if (moved && k->merging)
		return "merge";
	if (k->segment_id != r->segment_id)
	{
		k->segment_id = r->segment_id;
		k->segment_live = segment_is_live(r->segment_id, &k->segment_found);
	}
	if (!k->segment_found && (inserted || moved))
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("segment " INT64_FORMAT " does not exist", r->segment_id)));
	if (!k->segment_found)
	{
		*record = false;		/* dropped: its rows and history go with it */
		return "segment";
	}
	if (!inserted && !moved && k->merging)
		return "merge";			/* a merge drops the merged lead's rows (its winner has them) */
	if (!inserted && !moved)
	{
		if (k->lead_id != r->lead_id)
		{
			k->lead_id = r->lead_id;
			k->lead_found = exists("SELECT FROM lead_gen.lead WHERE lead_id OPERATOR(pg_catalog.=) $1",
								   r->lead_id);
		}
		if (!k->lead_found)
			return "delete";
	}
	if (!k->segment_live && !moved)
		return "manual";
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to change the members of segment " INT64_FORMAT, r->segment_id),
			 errdetail("A live segment's members are the leads its criteria hold for; lead_gen keeps them."),
			 errhint("Change the segment's criteria with lead_gen.alter_segment(), or use a static segment.")));
	return NULL;
}

/* The history rows of one event, in one statement. */
static void
record(MemberRow *rows, const char **causes, const bool *kept, int n, const char *event)
{
	Datum	   *seg = palloc(Max(n, 1) * sizeof(Datum));
	Datum	   *lead = palloc(Max(n, 1) * sizeof(Datum));
	Datum	   *cause = palloc(Max(n, 1) * sizeof(Datum));
	Datum		args[4];
	Oid			argtypes[4] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID, TEXTOID};
	int			rc;
	int			nkept = 0;

	for (int i = 0; i < n; i++)
	{
		segment_notify(rows[i].segment_id, rows[i].lead_id, event, causes[i]);
		if (!kept[i])
			continue;
		seg[nkept] = Int64GetDatum(rows[i].segment_id);
		lead[nkept] = Int64GetDatum(rows[i].lead_id);
		cause[nkept++] = CStringGetTextDatum(causes[i]);
	}
	n = nkept;
	if (n == 0)
		return;
	args[0] = PointerGetDatum(construct_array(seg, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(lead, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array(cause, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[3] = CStringGetTextDatum(event);
	if (history_plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare("INSERT INTO lead_gen.segment_history (segment_id, lead_id, event, cause) "
									"SELECT s, l, $4, c FROM ROWS FROM (pg_catalog.unnest($1), "
									"pg_catalog.unnest($2), pg_catalog.unnest($3)) AS h(s, l, c)",
									4, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "could not prepare the history insert: %s", SPI_result_code_string(SPI_result));
		history_plan = p;
	}
	writing_history = true;
	PG_TRY();
	{
		rc = SPI_execute_plan(history_plan, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		writing_history = false;
	}
	PG_END_TRY();
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record segment history: %s", SPI_result_code_string(rc));
}

/*
 * AFTER INSERT / DELETE / UPDATE ... FOR EACH STATEMENT on segment_member,
 * with transition tables: every row checked, every change recorded.
 */
Datum
lead_gen_segment_member_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	TupleDesc	desc;
	MemberRow  *old = NULL;
	MemberRow  *new = NULL;
	int			nold = 0;
	int			nnew = 0;
	const char **oldcause;
	const char **newcause;
	bool	   *oldkept;
	bool	   *newkept;
	bool		moved;
	Lookups		k = {0, false, false, 0, false, -1};

	trigdata = trigger_guard(fcinfo, "segment_member_changed", GUARD_AFTER,
							 GUARD_INSERT | GUARD_DELETE | GUARD_UPDATE, GUARD_STATEMENT,
							 lead_gen_relid("segment_member"));
	/* a restore brings the members back as dumped, and the history with them */
	if (restore_in_progress())
		return PointerGetDatum(NULL);
	desc = trigdata->tg_relation->rd_att;
	moved = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event);
	if (trigdata->tg_oldtable)
		old = read_rows(trigdata->tg_oldtable, desc, &nold);
	if (trigdata->tg_newtable)
		new = read_rows(trigdata->tg_newtable, desc, &nnew);
	if (nold == 0 && nnew == 0)
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	oldcause = palloc(Max(nold, 1) * sizeof(char *));
	newcause = palloc(Max(nnew, 1) * sizeof(char *));
	oldkept = palloc(Max(nold, 1) * sizeof(bool));
	newkept = palloc(Max(nnew, 1) * sizeof(bool));
	for (int i = 0; i < nold; i++)
		oldcause[i] = cause_of(&old[i], false, moved, &k, &oldkept[i]);
	for (int i = 0; i < nnew; i++)
		newcause[i] = cause_of(&new[i], true, moved, &k, &newkept[i]);
	if (moved)
	{
		/* only a merge moves rows, and only to another lead of the same segment */
		for (int i = 0; i < nold; i++)
			if (old[i].segment_id != new[i].segment_id)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to move members to another segment")));
	}
	record(old, oldcause, oldkept, nold, "left");
	record(new, newcause, newkept, nnew, "joined");
	/* a static segment a program enters from: added by hand is a join */
	for (int i = 0; i < nnew; i++)
		if (!moved && newkept[i] && program_segment_watched(new[i].segment_id))
			program_segment_joined(new[i].segment_id, new[i].lead_id);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* BEFORE INSERT OR UPDATE ... FOR EACH ROW on segment_history */
Datum
lead_gen_segment_history_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;

	trigdata = trigger_guard(fcinfo, "segment_history_guard", GUARD_BEFORE,
							 GUARD_INSERT | GUARD_UPDATE, GUARD_ROW,
							 lead_gen_relid("segment_history"));
	if (!writing_history && !restore_in_progress())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to write segment history"),
				 errdetail("lead_gen records every lead that joins or leaves a segment.")));
	return PointerGetDatum(trigger_new_row(trigdata));
}
