/*-------------------------------------------------------------------------
 *
 * segment_write.c
 *	  lead_gen's own membership changes, written as rows directly: the
 *	  segment_member row inserted or deleted with its indexes, the
 *	  segment_history row beside it, and NOTIFY lead_gen_segment.
 *
 * A lead's memberships change inside the trigger that writes the lead, for
 * one activity at a time; through SPI each change was a statement (a plan
 * started, constraints and defaults prepared, a foreign key checked per
 * row, statement triggers run) costing more than the rows themselves.  The
 * values are lead_gen's and known good (the lead exists and is locked by
 * the write that tests it; the event and cause are from fixed lists), so
 * the rows go in as the executor would put them, through every index of
 * the table, without the statement around them.  Changes made by anyone
 * else still go through segment_history.c's statement triggers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "commands/async.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "config.h"
#include "lead_gen.h"
#include "program_entry.h"
#include "segment_write.h"
#include "trigger.h"

/*
 * Where the two tables are and where their columns sit, looked up once per
 * session (again after a change of either table): the writer starts on
 * every lead write that moves a membership.
 */
static struct
{
	uint64		generation;
	Oid			member_relid;
	Oid			history_relid;
	Oid			history_seq;	/* segment_history_id's identity sequence */
	int			m_segment,
				m_lead,
				m_joined;
	int			h_id,
				h_segment,
				h_lead,
				h_event,
				h_at,
				h_cause;
}			tables;

struct SegmentWriter
{
	const char *cause;
	TimestampTz now;
	EState	   *estate;
	Relation	member;
	Relation	history;
	ResultRelInfo *member_info;
	ResultRelInfo *history_info;
	TupleTableSlot *member_slot;
	TupleTableSlot *history_slot;
	Relation	member_key;		/* the primary key (segment_id, lead_id) */
	int64		written;
	int			nentries;		/* joins a program watches, run at the end */
	int			maxentries;
	int64	   (*entries)[2];
};

static void
tables_load(void)
{
	Relation	rel;

	if (tables.generation == config_generation())
		return;
	tables.member_relid = lead_gen_relid("segment_member");
	tables.history_relid = lead_gen_relid("segment_history");
	config_watch(tables.member_relid);
	config_watch(tables.history_relid);
	rel = table_open(tables.member_relid, AccessShareLock);
	tables.m_segment = lead_column(RelationGetDescr(rel), "segment_id");
	tables.m_lead = lead_column(RelationGetDescr(rel), "lead_id");
	tables.m_joined = lead_column(RelationGetDescr(rel), "joined_at");
	table_close(rel, AccessShareLock);
	rel = table_open(tables.history_relid, AccessShareLock);
	tables.h_id = lead_column(RelationGetDescr(rel), "segment_history_id");
	tables.h_segment = lead_column(RelationGetDescr(rel), "segment_id");
	tables.h_lead = lead_column(RelationGetDescr(rel), "lead_id");
	tables.h_event = lead_column(RelationGetDescr(rel), "event");
	tables.h_at = lead_column(RelationGetDescr(rel), "at");
	tables.h_cause = lead_column(RelationGetDescr(rel), "cause");
	table_close(rel, AccessShareLock);
	tables.history_seq = getIdentitySequence(tables.history_relid, tables.h_id, false);
	tables.generation = config_generation();
}

void
segment_notify(int64 segment_id, int64 lead_id, const char *event, const char *cause)
{
	StringInfoData buf;

	if (!lead_gen_notify)
		return;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"segment_id\": " INT64_FORMAT ", \"lead_id\": " INT64_FORMAT
					 ", \"event\": ", segment_id, lead_id);
	escape_json(&buf, event);
	appendStringInfoString(&buf, ", \"cause\": ");
	escape_json(&buf, cause);
	appendStringInfoChar(&buf, '}');
	Async_Notify("lead_gen_segment", buf.data);
	pfree(buf.data);
}

static ResultRelInfo *
open_result(Relation rel)
{
	ResultRelInfo *info = makeNode(ResultRelInfo);

	InitResultRelInfo(info, rel, 1, NULL, 0);
	ExecOpenIndices(info, false);
	return info;
}

SegmentWriter *
segment_writer_begin(const char *cause)
{
	SegmentWriter *w = palloc0(sizeof(SegmentWriter));
	Oid			keyid;

	tables_load();
	w->cause = cause;
	w->now = GetCurrentTransactionStartTimestamp();
	w->estate = CreateExecutorState();
	w->member = table_open(tables.member_relid, RowExclusiveLock);
	w->history = table_open(tables.history_relid, RowExclusiveLock);
	w->member_info = open_result(w->member);
	w->history_info = open_result(w->history);
	w->member_slot = table_slot_create(w->member, NULL);
	w->history_slot = table_slot_create(w->history, NULL);
	keyid = RelationGetPrimaryKeyIndex(w->member);
	if (!OidIsValid(keyid))
		elog(ERROR, "lead_gen.segment_member has no primary key");
	w->member_key = index_open(keyid, RowExclusiveLock);
	return w;
}

/* One row into rel and every index of it, as an INSERT puts it. */
static void
insert_row(SegmentWriter *w, ResultRelInfo *info, TupleTableSlot *slot)
{
	List	   *recheck;

	ExecStoreVirtualTuple(slot);
	table_tuple_insert(info->ri_RelationDesc, slot, GetCurrentCommandId(true), 0, NULL);
	recheck = ExecInsertIndexTuples(info, slot, w->estate, false, false, NULL, NIL);
	list_free(recheck);
}

static void
record(SegmentWriter *w, int64 segment_id, int64 lead_id, const char *event)
{
	TupleTableSlot *slot = w->history_slot;

	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, slot->tts_tupleDescriptor->natts * sizeof(bool));
	slot->tts_values[tables.h_id - 1] = Int64GetDatum(nextval_internal(tables.history_seq, false));
	slot->tts_values[tables.h_segment - 1] = Int64GetDatum(segment_id);
	slot->tts_values[tables.h_lead - 1] = Int64GetDatum(lead_id);
	slot->tts_values[tables.h_event - 1] = CStringGetTextDatum(event);
	slot->tts_values[tables.h_at - 1] = TimestampTzGetDatum(w->now);
	slot->tts_values[tables.h_cause - 1] = CStringGetTextDatum(w->cause);
	slot->tts_isnull[tables.h_id - 1] = slot->tts_isnull[tables.h_segment - 1] =
		slot->tts_isnull[tables.h_lead - 1] = slot->tts_isnull[tables.h_event - 1] =
		slot->tts_isnull[tables.h_at - 1] = slot->tts_isnull[tables.h_cause - 1] = false;
	insert_row(w, w->history_info, slot);
	segment_notify(segment_id, lead_id, event, w->cause);
	w->written++;
}

void
segment_writer_join(SegmentWriter *w, int64 segment_id, int64 lead_id)
{
	TupleTableSlot *slot = w->member_slot;

	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, slot->tts_tupleDescriptor->natts * sizeof(bool));
	slot->tts_values[tables.m_segment - 1] = Int64GetDatum(segment_id);
	slot->tts_values[tables.m_lead - 1] = Int64GetDatum(lead_id);
	slot->tts_values[tables.m_joined - 1] = TimestampTzGetDatum(w->now);
	slot->tts_isnull[tables.m_segment - 1] = slot->tts_isnull[tables.m_lead - 1] =
		slot->tts_isnull[tables.m_joined - 1] = false;
	insert_row(w, w->member_info, slot);
	record(w, segment_id, lead_id, "joined");
	if (program_segment_watched(segment_id))
	{
		if (w->nentries == w->maxentries)
		{
			/* doubling: a rebuild may enrol a million leads */
			w->maxentries = w->maxentries ? w->maxentries * 2 : 16;
			w->entries = w->entries
				? repalloc_huge(w->entries, w->maxentries * sizeof(*w->entries))
				: palloc(w->maxentries * sizeof(*w->entries));
		}
		w->entries[w->nentries][0] = segment_id;
		w->entries[w->nentries][1] = lead_id;
		w->nentries++;
	}
}

/*
 * The member row found through the primary key with the latest snapshot
 * and deleted.  A row already gone (its segment dropped, the lead merged
 * away by a transaction that committed meanwhile) is no change.
 */
void
segment_writer_leave(SegmentWriter *w, int64 segment_id, int64 lead_id)
{
	ScanKeyData key[2];
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	IndexScanDesc scan;
	TupleTableSlot *slot = w->member_slot;
	bool		found;
	TM_Result	result;
	TM_FailureData tmfd;

	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(segment_id));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(lead_id));
	scan = index_beginscan(w->member, w->member_key, snapshot, 2, 0);
	index_rescan(scan, key, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	if (!found)
	{
		UnregisterSnapshot(snapshot);
		return;
	}
	result = table_tuple_delete(w->member, &slot->tts_tid, GetCurrentCommandId(true),
								snapshot, InvalidSnapshot, true, &tmfd, false);
	UnregisterSnapshot(snapshot);
	switch (result)
	{
		case TM_Ok:
			record(w, segment_id, lead_id, "left");
			break;
		case TM_Deleted:
		case TM_Updated:
		case TM_SelfModified:
			break;
		default:
			elog(ERROR, "could not remove lead " INT64_FORMAT " from segment " INT64_FORMAT
				 ": %d", lead_id, segment_id, (int) result);
	}
}

int64
segment_writer_end(SegmentWriter *w)
{
	int64		written = w->written;

	ExecDropSingleTupleTableSlot(w->member_slot);
	ExecDropSingleTupleTableSlot(w->history_slot);
	ExecCloseIndices(w->member_info);
	ExecCloseIndices(w->history_info);
	index_close(w->member_key, RowExclusiveLock);
	table_close(w->history, RowExclusiveLock);
	table_close(w->member, RowExclusiveLock);
	FreeExecutorState(w->estate);
	/* what follows in this command (the next row of a bulk insert) sees the change */
	CommandCounterIncrement();
	for (int i = 0; i < w->nentries; i++)
		program_segment_joined(w->entries[i][0], w->entries[i][1]);
	if (w->nentries > 0)
	{
		CommandCounterIncrement();
		pfree(w->entries);
	}
	pfree(w);
	return written;
}
