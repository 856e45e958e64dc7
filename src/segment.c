/*-------------------------------------------------------------------------
 *
 * segment.c
 *	  Live segments: their members kept current by the lead trigger, in the
 *	  transaction that changes a lead, and rebuilt when a segment's criteria
 *	  are set.
 *
 * Every change of a lead passes the lead trigger (activity, an edit, a
 * stage move, rescore(), a merge), which calls segments_before_row() with
 * the row as it will be written: each live segment's criteria are tested
 * against it as of now, the lead joins the segments that now hold and
 * leaves those that no longer do, and the earliest time at which time
 * alone would change one of the answers becomes part of the lead's
 * next_change_at, so rescore() visits the lead then and only then.  A new
 * lead joins once its row exists (lead_segments_joined).  The activity
 * trigger updates a lead for new activity of a kind a segment tests even
 * when it scores nothing (segments_watch_kind).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "utils/rls.h"
#include "utils/hsearch.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "condition.h"
#include "config.h"
#include "icp.h"
#include "lead_change.h"
#include "lead_gen.h"
#include "restore.h"
#include "segment.h"
#include "segment_write.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_lead_segments_joined);
PG_FUNCTION_INFO_V1(lead_gen_segment_rebuild);

/* What a condition needs of a lead's activity. */
typedef struct ActivityNeeds
{
	bool		uses;			/* any activity at all */
	bool		all_time;		/* counts without a window, days_since_last, never */
	int64		window;			/* the longest window, in microseconds */
	bool		any_kind;
	int			nkinds;
	char	  **kinds;
} ActivityNeeds;

typedef struct LiveSegment
{
	int64		id;
	IcpMatcher *m;
} LiveSegment;

static struct
{
	uint64		generation;
	MemoryContext cxt;
	int			n;
	LiveSegment *live;
	ActivityNeeds needs;		/* of all of them */
	Oid			lead_relid;
	Oid			member_relid;
	Oid			member_lead_idx;	/* segment_member (lead_id) */
}			segs;

/* the rebuild is bringing next_change_at forward (see segments_before_row) */
static bool lowering = false;

/* Add what one condition needs of the activity to *needs (in cxt). */
static void
add_needs(ActivityNeeds *needs, const IcpHeader *c, MemoryContext cxt)
{
	const IcpNode *nodes = ICP_NODES(c);

	for (int i = 0; i < c->nnodes; i++)
	{
		const IcpNode *n = &nodes[i];
		const char *kind = ICP_POOL(c) + n->field_off;
		bool		known = false;

		if (n->type != ICP_N_FACT && n->type != ICP_P_NEVER)
			continue;
		needs->uses = true;
		if (n->type == ICP_P_NEVER || n->op != ICP_FACT_COUNT || n->hi == 0)
			needs->all_time = true;
		else
			needs->window = Max(needs->window, (int64) (n->lo * n->hi * USECS_PER_SEC));
		if (n->field_len == 0)
		{
			needs->any_kind = true;
			continue;
		}
		for (int k = 0; k < needs->nkinds && !known; k++)
			known = (int) strlen(needs->kinds[k]) == n->field_len &&
				memcmp(needs->kinds[k], kind, n->field_len) == 0;
		if (known)
			continue;
		needs->kinds = needs->nkinds == 0 ? MemoryContextAlloc(cxt, sizeof(char *))
			: repalloc(needs->kinds, (needs->nkinds + 1) * sizeof(char *));
		needs->kinds[needs->nkinds] = MemoryContextAlloc(cxt, n->field_len + 1);
		memcpy(needs->kinds[needs->nkinds], kind, n->field_len);
		needs->kinds[needs->nkinds++][n->field_len] = '\0';
	}
}

/* Only activity after this is read: all of it if a condition needs it. */
static TimestampTz
needs_since(const ActivityNeeds *needs, TimestampTz now)
{
	return needs->all_time ? 0 : now - needs->window;
}

static void
segments_load(void)
{
	Oid			segment_relid;

	if (segs.generation == config_generation())
		return;
	segment_relid = get_relname_relid("segment", get_namespace_oid("lead_gen", false));
	if (!OidIsValid(segment_relid))
	{
		/* lead_gen before 1.4, on its way to an update: no segments */
		segs.n = 0;
		return;
	}
	config_watch(segment_relid);
	if (segs.cxt == NULL)
		segs.cxt = AllocSetContextCreate(TopMemoryContext, "lead_gen segments",
										 ALLOCSET_SMALL_SIZES);
	MemoryContextReset(segs.cxt);
	segs.n = 0;
	segs.live = NULL;
	memset(&segs.needs, 0, sizeof(segs.needs));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	config_query("SELECT segment_id, criteria FROM lead_gen.segment WHERE live ORDER BY segment_id");
	segs.live = MemoryContextAlloc(segs.cxt, Max(SPI_processed, 1) * sizeof(LiveSegment));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		criteria = SPI_getbinval(tup, desc, 2, &isnull);
		LiveSegment *s = &segs.live[segs.n];

		if (isnull)
			continue;
		s->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		s->m = icp_matcher_get(NULL, criteria, segs.cxt);
		add_needs(&segs.needs, s->m->icp, segs.cxt);
		segs.n++;
	}
	segs.lead_relid = lead_gen_relid("lead");
	segs.member_relid = lead_gen_relid("segment_member");
	segs.member_lead_idx = get_relname_relid("segment_member_lead_idx",
											 get_namespace_oid("lead_gen", false));
	if (!OidIsValid(segs.member_lead_idx))
		elog(ERROR, "index lead_gen.segment_member_lead_idx does not exist");
	SPI_finish();
	segs.generation = config_generation();
}

bool
segments_live(void)
{
	segments_load();
	return segs.n > 0 && !restore_in_progress();
}

bool
segments_watch_kind(const char *kind)
{
	if (!segments_live() || !segs.needs.uses)
		return false;
	if (segs.needs.any_kind)
		return true;
	for (int k = 0; k < segs.needs.nkinds; k++)
		if (strcmp(segs.needs.kinds[k], kind) == 0)
			return true;
	return false;
}

/*
 * The segments a lead is a member of, through the index on lead_id, with
 * the latest snapshot (read directly: this runs for every change of a lead
 * while live segments exist).
 */
static int
lead_segments(int64 lead_id, int64 **ids)
{
	Relation	rel = table_open(segs.member_relid, AccessShareLock);
	Relation	index = index_open(segs.member_lead_idx, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	ScanKeyData key;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	SysScanDesc scan;
	HeapTuple	tup;
	int			att_segment = lead_column(desc, "segment_id");
	int			n = 0;
	int			size = 8;

	ScanKeyInit(&key, lead_column(desc, "lead_id"), BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(lead_id));
	scan = systable_beginscan_ordered(rel, index, snapshot, 1, &key);
	*ids = palloc(size * sizeof(int64));
	while ((tup = systable_getnext_ordered(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;

		if (n == size)
		{
			size *= 2;
			*ids = repalloc(*ids, size * sizeof(int64));
		}
		(*ids)[n++] = DatumGetInt64(heap_getattr(tup, att_segment, desc, &isnull));
	}
	systable_endscan_ordered(scan);
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return n;
}

/* Why a lead changes now, in the words of segment_history.cause. */
static const char *
change_cause(void)
{
	const char *cause;

	if (lead_gen_stage_cause == STAGE_CAUSE_MERGE)
		return "merge";
	cause = lead_change_cause();
	return strcmp(cause, "update") == 0 ? "edit" : cause;
}

static ArrayType *
id_array(int64 *ids, int n)
{
	Datum	   *d = palloc(Max(n, 1) * sizeof(Datum));

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(ids[i]);
	return construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

/*
 * Test every live segment against a lead row as of now; with write, make
 * its memberships agree (a new lead has none yet).  Returns the earliest
 * time at which time alone would change one of the answers (DT_NOEND:
 * never).
 */
static TimestampTz
evaluate(HeapTuple tuple, TupleDesc desc, TimestampTz now, bool write, bool is_new)
{
	ConditionFacts cf;
	LeadActivity la;
	TimestampTz due = DT_NOEND;
	bool	   *holds;
	int64	   *join;
	int64	   *leave;
	int			njoin = 0;
	int			nleave = 0;
	int			n = segs.n;
	LiveSegment *live = segs.live;

	condition_facts(&cf, &la, tuple, desc, now, needs_since(&segs.needs, now));
	if (is_new)
		la.loaded = true;		/* a lead being created has no activity yet */
	holds = palloc(n * sizeof(bool));
	for (int i = 0; i < n; i++)
	{
		TimestampTz until;

		holds[i] = icp_condition_holds(live[i].m, tuple, desc, &cf, &until);
		due = Min(due, until);
	}
	if (!write)
		return due;

	join = palloc(n * sizeof(int64));
	leave = palloc(n * sizeof(int64));
	{
		bool	   *member = palloc0(n * sizeof(bool));

		if (!is_new)
		{
			int64	   *ids;
			int			nids = lead_segments(la.lead_id, &ids);

			for (int r = 0; r < nids; r++)
			{
				/* live segments are in segment_id order */
				for (int lo = 0, hi = n; lo < hi;)
				{
					int			mid = lo + (hi - lo) / 2;

					if (live[mid].id == ids[r])
					{
						member[mid] = true;
						break;
					}
					if (live[mid].id < ids[r])
						lo = mid + 1;
					else
						hi = mid;
				}
			}
		}
		for (int i = 0; i < n; i++)
		{
			if (holds[i] && !member[i])
				join[njoin++] = live[i].id;
			else if (!holds[i] && member[i])
				leave[nleave++] = live[i].id;
		}
	}
	if (njoin > 0 || nleave > 0)
	{
		SegmentWriter *w = segment_writer_begin(is_new ? "edit" : change_cause());

		for (int i = 0; i < nleave; i++)
			segment_writer_leave(w, leave[i], la.lead_id);
		for (int i = 0; i < njoin; i++)
			segment_writer_join(w, join[i], la.lead_id);
		segment_writer_end(w);
	}
	return due;
}

TimestampTz
segments_before_row(TriggerData *trigdata, HeapTuple tuple, TupleDesc desc, TimestampTz now)
{
	if (!segments_live())
		return DT_NOEND;

	/*
	 * A rebuild bringing the next change forward has tested this lead just
	 * now and writes the earlier time itself.
	 */
	if (lowering && TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		isnull;
		Datum		d = heap_getattr(trigdata->tg_newtuple, SPI_fnumber(desc, "next_change_at"),
									 desc, &isnull);

		return isnull ? DT_NOEND : DatumGetTimestampTz(d);
	}
	/* a new lead joins once its row exists (lead_segments_joined) */
	return evaluate(tuple, desc, now, TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event),
					TRIGGER_FIRED_BY_INSERT(trigdata->tg_event));
}

/* AFTER INSERT ... FOR EACH ROW on lead_gen.lead */
Datum
lead_gen_lead_segments_joined(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;

	trigdata = trigger_guard(fcinfo, "lead_segments_joined", GUARD_AFTER, GUARD_INSERT, GUARD_ROW,
							 lead_gen_relid("lead"));
	if (segments_live())
		evaluate(trigdata->tg_trigtuple, trigdata->tg_relation->rd_att,
				 GetCurrentTransactionStartTimestamp(), true, true);
	return PointerGetDatum(NULL);
}

/* ------------------------------------------------------------------------
 * Rebuilding one segment: every lead, in batches
 * ------------------------------------------------------------------------
 */

#define REBUILD_BATCH 10000

/*
 * The leads whose membership time alone changes before their next_change_at:
 * that time becomes their next_change_at (the lead trigger keeps it, see
 * segments_before_row, and adds the temperature's).
 */
static void
bring_forward(int64 *ids, TimestampTz *dues, int n)
{
	Datum	   *d;
	Datum		args[2];
	Oid			argtypes[2] = {INT8ARRAYOID, TIMESTAMPTZARRAYOID};
	volatile int rc;

	if (n == 0)
		return;
	d = palloc(n * sizeof(Datum));
	for (int i = 0; i < n; i++)
		d[i] = TimestampTzGetDatum(dues[i]);
	args[0] = PointerGetDatum(id_array(ids, n));
	args[1] = PointerGetDatum(construct_array(d, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	lowering = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args("UPDATE lead_gen.lead AS l SET next_change_at = u.due "
								   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(id, due) "
								   "WHERE l.lead_id OPERATOR(pg_catalog.=) u.id",
								   2, argtypes, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		lowering = false;
	}
	PG_END_TRY();
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not bring next changes forward: %s", SPI_result_code_string(rc));
}

/* The changes a rebuild has found and not yet written. */
typedef struct Pending
{
	int64		segment_id;
	int			njoin;
	int			nleave;
	int			nsooner;
	int64		join[REBUILD_BATCH];
	int64		leave[REBUILD_BATCH];
	int64		sooner[REBUILD_BATCH];
	TimestampTz dues[REBUILD_BATCH];
} Pending;

static int
cmp_id(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* In lead_id order, as every writer of leads goes; returns the changes written. */
static int64
flush(Pending *p)
{
	int64		written = 0;

	qsort(p->join, p->njoin, sizeof(int64), cmp_id);
	qsort(p->leave, p->nleave, sizeof(int64), cmp_id);
	if (p->nleave > 0 || p->njoin > 0)
	{
		SegmentWriter *w = segment_writer_begin("segment");

		for (int i = 0; i < p->nleave; i++)
			segment_writer_leave(w, p->segment_id, p->leave[i]);
		for (int i = 0; i < p->njoin; i++)
			segment_writer_join(w, p->segment_id, p->join[i]);
		written = segment_writer_end(w);
	}
	bring_forward(p->sooner, p->dues, p->nsooner);
	p->njoin = p->nleave = p->nsooner = 0;
	return written;
}

/* The segment's members now, for the rebuild to compare with. */
static HTAB *
current_members(int64 segment_id)
{
	HASHCTL		ctl;
	HTAB	   *members;
	Datum		arg = Int64GetDatum(segment_id);
	Oid			argtype = INT8OID;
	int			rc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(int64);
	ctl.hcxt = CurrentMemoryContext;
	members = hash_create("lead_gen segment members", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	rc = SPI_execute_with_args("SELECT lead_id FROM lead_gen.segment_member "
							   "WHERE segment_id OPERATOR(pg_catalog.=) $1", 1, &argtype, &arg, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the members of segment " INT64_FORMAT, segment_id);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));

		hash_search(members, &id, HASH_ENTER, NULL);
	}
	SPI_freetuptable(SPI_tuptable);
	return members;
}

/*
 * Every lead is tested, whatever row security lets the caller see, but the
 * next changes it brings forward are an UPDATE under the caller's rights,
 * which row security would narrow: a caller it hides leads from is refused.
 */
static void
check_sees_every_lead(int64 nleads)
{
	int			rc;
	bool		isnull;

	if (check_enable_rls(segs.lead_relid, InvalidOid, true) != RLS_ENABLED)
		return;
	rc = SPI_execute("SELECT count(*) FROM lead_gen.lead", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not count leads");
	if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) < nleads)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to define segments: row level security hides leads from this role"),
				 errhint("Define segments as a role that sees every lead.")));
}

/*
 * The activity a rebuild needs, read in one pass when there is not too
 * much of it (then a join, not a probe per lead): per lead, its run of
 * the arrays, in occurred_at order.
 */
#define PRELOAD_MAX_ROWS 4000000

typedef struct LeadRun
{
	int64		lead_id;		/* hash key */
	int			first;
	int			n;
} LeadRun;

typedef struct Preload
{
	HTAB	   *runs;
	char	  **kinds;			/* per row: an interned kind name */
	TimestampTz *times;
} Preload;

static bool
preload_activity(Preload *pl, const ActivityNeeds *needs, TimestampTz since)
{
	Datum		args[2];
	Oid			argtypes[2] = {TIMESTAMPTZOID, TEXTARRAYOID};
	Datum	   *kd = palloc(Max(needs->nkinds, 1) * sizeof(Datum));
	Portal		portal;
	HASHCTL		ctl;
	int			n = 0;
	int			size = 1024;
	char	  **names = NULL;
	int			nnames = 0;
	LeadRun    *run = NULL;
	MemoryContext outer = CurrentMemoryContext;

	for (int k = 0; k < needs->nkinds; k++)
		kd[k] = CStringGetTextDatum(needs->kinds[k]);
	args[0] = TimestampTzGetDatum(since);
	args[1] = PointerGetDatum(construct_array(kd, needs->nkinds, TEXTOID, -1, false, TYPALIGN_INT));
	portal = SPI_cursor_open_with_args(NULL,
									   needs->any_kind
									   ? "SELECT lead_id, kind::pg_catalog.text, occurred_at FROM lead_gen.activity "
									   "WHERE occurred_at OPERATOR(pg_catalog.>) $1 AND $2 IS NOT NULL "
									   "ORDER BY lead_id, occurred_at"
									   : "SELECT lead_id, kind::pg_catalog.text, occurred_at FROM lead_gen.activity "
									   "WHERE occurred_at OPERATOR(pg_catalog.>) $1 "
									   "AND kind::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2) "
									   "ORDER BY lead_id, occurred_at",
									   2, argtypes, args, NULL, true, 0);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(LeadRun);
	ctl.hcxt = outer;
	pl->runs = hash_create("lead_gen rebuild activity", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	pl->kinds = MemoryContextAllocHuge(outer, size * sizeof(char *));
	pl->times = MemoryContextAllocHuge(outer, size * sizeof(TimestampTz));
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		if (n + (int64) SPI_processed > PRELOAD_MAX_ROWS)
		{
			SPI_cursor_close(portal);
			return false;		/* too much: a probe per lead instead */
		}
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int64		lead = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			char	   *kind = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
			int			k;

			if (n == size)
			{
				size *= 2;
				pl->kinds = repalloc_huge(pl->kinds, size * sizeof(char *));
				pl->times = repalloc_huge(pl->times, size * sizeof(TimestampTz));
			}
			for (k = 0; k < nnames && strcmp(names[k], kind) != 0; k++)
				;
			if (k == nnames)
			{
				names = nnames == 0 ? MemoryContextAlloc(outer, 64 * sizeof(char *))
					: (nnames % 64 == 0 ? repalloc(names, (nnames + 64) * sizeof(char *)) : names);
				names[nnames++] = MemoryContextStrdup(outer, kind);
			}
			pfree(kind);
			pl->kinds[n] = names[k];
			pl->times[n] = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
			if (run == NULL || run->lead_id != lead)
			{
				run = hash_search(pl->runs, &lead, HASH_ENTER, NULL);
				run->first = n;
				run->n = 0;
			}
			run->n++;
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	return true;
}

/*
 * segment_rebuild(segment_id): the members of a live segment made the leads
 * its criteria hold for now, and the leads whose membership time alone
 * changes sooner than their next_change_at get that time.  One pass over
 * the leads, read directly with the latest snapshot (lock_segments() keeps
 * writers out); a lead's activity is read only when its row alone does not
 * decide.
 */
Datum
lead_gen_segment_rebuild(PG_FUNCTION_ARGS)
{
	int64		segment_id = PG_GETARG_INT64(0);
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Datum		arg = Int64GetDatum(segment_id);
	Oid			argtype = INT8OID;
	IcpMatcher *m;
	ActivityNeeds needs;
	TimestampTz since;
	MemoryContext lead_cxt;
	MemoryContext outer;
	HTAB	   *members;
	Preload		pl;
	bool		preloaded;
	Pending    *p;
	Relation	rel;
	TableScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tup;
	TupleDesc	desc;
	int			col_next;
	int64		nleads = 0;
	int64		changed = 0;
	bool		isnull;
	int			rc;

	/* what lock_segments() checks and takes, for a direct call too */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute("SELECT lead_gen.lock_segments()", false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not lock for the rebuild: %s", SPI_result_code_string(rc));
	segments_load();
	rc = SPI_execute_with_args("SELECT criteria FROM lead_gen.segment "
							   "WHERE segment_id OPERATOR(pg_catalog.=) $1 AND live",
							   1, &argtype, &arg, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("live segment " INT64_FORMAT " does not exist", segment_id)));
	outer = CurrentMemoryContext;
	m = icp_matcher_get(NULL, SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull),
						outer);
	memset(&needs, 0, sizeof(needs));
	add_needs(&needs, m->icp, outer);
	since = needs_since(&needs, now);
	members = current_members(segment_id);
	preloaded = needs.uses && preload_activity(&pl, &needs, since);
	p = palloc0(sizeof(Pending));
	p->segment_id = segment_id;
	lead_cxt = AllocSetContextCreate(outer, "lead_gen segment rebuild", ALLOCSET_DEFAULT_SIZES);

	rel = table_open(segs.lead_relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	col_next = lead_column(desc, "next_change_at");
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(lead_cxt);
		ConditionFacts cf;
		LeadActivity la;
		TimestampTz until;
		bool		holds;
		bool		member;
		bool		nonext;
		Datum		next;

		CHECK_FOR_INTERRUPTS();
		nleads++;
		condition_facts(&cf, &la, tup, desc, now, since);
		la.deferred = true;
		holds = icp_condition_holds(m, tup, desc, &cf, &until);
		if (la.wanted)
		{
			la.deferred = false;
			la.wanted = false;
			if (preloaded)
			{
				LeadRun    *run = hash_search(pl.runs, &la.lead_id, HASH_FIND, NULL);

				la.loaded = true;
				la.n = run ? run->n : 0;
				la.kinds = run ? pl.kinds + run->first : NULL;
				la.times = run ? pl.times + run->first : NULL;
			}
			holds = icp_condition_holds(m, tup, desc, &cf, &until);
		}
		hash_search(members, &la.lead_id, HASH_FIND, &member);
		if (holds && !member)
			p->join[p->njoin++] = la.lead_id;
		else if (!holds && member)
			p->leave[p->nleave++] = la.lead_id;
		nonext = cf.row_nulls[col_next - 1];
		next = cf.row_values[col_next - 1];
		if (until != DT_NOEND && (nonext || until < DatumGetTimestampTz(next)))
		{
			p->sooner[p->nsooner] = la.lead_id;
			p->dues[p->nsooner++] = until;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(lead_cxt);
		if (p->njoin == REBUILD_BATCH || p->nleave == REBUILD_BATCH || p->nsooner == REBUILD_BATCH)
		{
			changed += flush(p);
		}
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	check_sees_every_lead(nleads);
	changed += flush(p);
	SPI_finish();
	PG_RETURN_INT64(changed);
}
