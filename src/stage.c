/*-------------------------------------------------------------------------
 *
 * stage.c
 *	  The lifecycle stage machine.
 *
 * Every change of lead.stage, however it is written, passes the lead_score
 * trigger, which calls stage_before_row(): a change the writer made must be
 * a transition of lead_gen.stage_transition (with a reason where it needs
 * one, and BANT where it needs it), or be forced by an admin of the stage
 * machine.  Without such a change the trigger looks for an automatic
 * forward move: a high-intent event of the activity being added, the BANT
 * rule, or a stage's score and fit threshold.
 *
 * The history row is written by the AFTER row trigger lead_changed, once the
 * row is written, so there is no history without a change; the BEFORE side
 * leaves it the cause and reason in a per-transaction table keyed by lead.
 * The same trigger sends NOTIFY lead_gen_events for stage and temperature
 * changes (delivered by PostgreSQL at commit).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "config.h"
#include "lead_change.h"
#include "restore.h"
#include "stage.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_lead_changed);
PG_FUNCTION_INFO_V1(lead_gen_stage_change_guard);
PG_FUNCTION_INFO_V1(lead_gen_lead_bant);

static const char *const stage_names[NSTAGES] = {
	"prospect", "lead", "mql", "sql", "opportunity", "customer", "disqualified"
};

typedef enum MoveKind
{
	MOVE_NONE,					/* not allowed */
	MOVE_FORWARD,
	MOVE_RECYCLE,
	MOVE_DISQUALIFY
} MoveKind;

static const char *const move_kind_names[] = {"forced", "forward", "recycle", "disqualify"};

typedef struct Transition
{
	MoveKind	kind;
	bool		reason_required;
	bool		requires_bant;
} Transition;

typedef struct StageRule
{
	bool		has_threshold;
	double		min_score;
	bool		has_min_fit;
	double		min_fit;
	char		min_grade;		/* '\0': any */
} StageRule;

/* BANT elements, as bits */
#define BANT_BUDGET		0x01
#define BANT_NEED		0x02
#define BANT_AUTHORITY	0x04
#define BANT_TIMELINE	0x08
static const char *const bant_names[] = {"budget", "need", "authority", "timeline"};

typedef struct StageConfig
{
	uint64		generation;
	MemoryContext cxt;
	Oid			stage_type;
	Datum		stage_datum[NSTAGES];
	Oid			transition_relid;
	Oid			stage_change_relid;
	Transition	transitions[NSTAGES][NSTAGES];
	StageRule	rules[NSTAGES];
	int			bant_required;	/* BANT_* bits */
	Datum		min_budget;		/* numeric */
	Interval	timeline_within;
	int			bant_moves_to;	/* -1: none */
	SPIPlanPtr	history_plan;
	Oid			lead_relid;
	/* lead_gen.lead's columns (0: not yet looked up) */
	int			col_lead_id;
	int			col_stage;
	int			col_temperature;
	int			col_fit;
	int			col_grade;
	int			col_budget;
	int			col_need;
	int			col_authority;
	int			col_timeline;
	int			col_created_at;
	int			col_stage_changed_at;
	int			col_mql_at;
	int			col_recycled_from;
	int			col_peak_stage;
} StageConfig;

static StageConfig stages;

int
stage_index_of_name(const char *label)
{
	for (int i = 0; i < NSTAGES; i++)
		if (strcmp(label, stage_names[i]) == 0)
			return i;
	return -1;
}

static int
stage_index(Datum d)
{
	for (int i = 0; i < NSTAGES; i++)
		if (stages.stage_datum[i] == d)
			return i;
	elog(ERROR, "unknown lifecycle stage %u", DatumGetObjectId(d));
	return -1;					/* keep compiler quiet */
}

static void stage_load(void);

const char *
stage_label(Datum d)
{
	stage_load();
	return stage_names[stage_index(d)];
}

static bool
getbool(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

static int
stage_of_value(HeapTuple tup, TupleDesc desc, int col)
{
	char	   *label = SPI_getvalue(tup, desc, col);

	return label ? stage_index_of_name(label) : -1;
}

static MoveKind
move_kind_of(const char *name)
{
	if (name == NULL)
		return MOVE_NONE;
	if (strcmp(name, "forward") == 0)
		return MOVE_FORWARD;
	if (strcmp(name, "recycle") == 0)
		return MOVE_RECYCLE;
	if (strcmp(name, "disqualify") == 0)
		return MOVE_DISQUALIFY;
	return MOVE_NONE;
}

/* The stage machine, BANT rule and plans, loaded once per configuration change. */
static void
stage_load(void)
{
	Oid			nsp;
	MemoryContext oldcxt;
	Oid			history_types[7];

	if (stages.generation == config_generation())
		return;
	stages.transition_relid = lead_gen_relid("stage_transition");
	config_watch(stages.transition_relid);
	config_watch(lead_gen_relid("stage_rule"));
	config_watch(lead_gen_relid("bant_rule"));
	stages.lead_relid = lead_gen_relid("lead");
	stages.stage_change_relid = lead_gen_relid("stage_change");
	config_watch(stages.lead_relid);

	if (stages.cxt == NULL)
		stages.cxt = AllocSetContextCreate(TopMemoryContext, "lead_gen stages",
										   ALLOCSET_SMALL_SIZES);
	if (stages.history_plan)
		SPI_freeplan(stages.history_plan);
	stages.history_plan = NULL;
	MemoryContextReset(stages.cxt);
	stages.col_lead_id = 0;

	nsp = get_namespace_oid("lead_gen", false);
	stages.stage_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
										CStringGetDatum("lifecycle_stage"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(stages.stage_type))
		elog(ERROR, "type lead_gen.lifecycle_stage must exist");
	for (int i = 0; i < NSTAGES; i++)
		stages.stage_datum[i] = DirectFunctionCall2(enum_in, CStringGetDatum(stage_names[i]),
													ObjectIdGetDatum(stages.stage_type));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	memset(stages.transitions, 0, sizeof(stages.transitions));
	config_query("SELECT from_stage, to_stage, kind, reason_required, requires_bant"
				 " FROM lead_gen.stage_transition");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			from = stage_of_value(tup, desc, 1);
		int			to = stage_of_value(tup, desc, 2);
		Transition *t;

		if (from < 0 || to < 0)
			continue;
		t = &stages.transitions[from][to];
		t->kind = move_kind_of(SPI_getvalue(tup, desc, 3));
		t->reason_required = getbool(tup, desc, 4);
		t->requires_bant = getbool(tup, desc, 5);
	}

	memset(stages.rules, 0, sizeof(stages.rules));
	config_query("SELECT stage, min_score, min_fit, min_grade FROM lead_gen.stage_rule");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			s = stage_of_value(tup, desc, 1);
		bool		isnull;
		Datum		d;
		char	   *grade;
		StageRule  *r;

		if (s < 0)
			continue;
		r = &stages.rules[s];
		d = SPI_getbinval(tup, desc, 2, &isnull);
		r->has_threshold = !isnull;
		r->min_score = isnull ? 0 : DatumGetFloat8(d);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		r->has_min_fit = !isnull;
		r->min_fit = isnull ? 0 : DatumGetFloat8(d);
		grade = SPI_getvalue(tup, desc, 4);
		r->min_grade = grade ? grade[0] : '\0';
	}

	config_query("SELECT needs_budget, min_budget, needs_need, needs_authority, needs_timeline,"
				 " timeline_within, moves_to FROM lead_gen.bant_rule");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("lead_gen.bant_rule must have exactly one row"),
				 errhint("INSERT INTO lead_gen.bant_rule DEFAULT VALUES restores the defaults.")));
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *moves_to = SPI_getvalue(tup, desc, 7);

		stages.bant_required = (getbool(tup, desc, 1) ? BANT_BUDGET : 0) |
			(getbool(tup, desc, 3) ? BANT_NEED : 0) |
			(getbool(tup, desc, 4) ? BANT_AUTHORITY : 0) |
			(getbool(tup, desc, 5) ? BANT_TIMELINE : 0);
		oldcxt = MemoryContextSwitchTo(stages.cxt);
		stages.min_budget = datumCopy(SPI_getbinval(tup, desc, 2, &isnull), false, -1);
		MemoryContextSwitchTo(oldcxt);
		stages.timeline_within = *DatumGetIntervalP(SPI_getbinval(tup, desc, 6, &isnull));
		stages.bant_moves_to = moves_to ? stage_index_of_name(moves_to) : -1;
	}

	history_types[0] = INT8OID;
	history_types[1] = stages.stage_type;
	history_types[2] = stages.stage_type;
	history_types[3] = TIMESTAMPTZOID;
	history_types[4] = TEXTOID;
	history_types[5] = TEXTOID;
	history_types[6] = TEXTOID;
	stages.history_plan = SPI_prepare(
		"INSERT INTO lead_gen.stage_change"
		" (lead_id, from_stage, to_stage, changed_at, cause, kind, reason)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)", 7, history_types);
	if (stages.history_plan == NULL || SPI_keepplan(stages.history_plan) != 0)
		elog(ERROR, "could not prepare the stage history plan: %s",
			 SPI_result_code_string(SPI_result));
	SPI_finish();
	stages.generation = config_generation();
}

static void
lead_columns(TupleDesc desc)
{
	if (stages.col_lead_id != 0)
		return;
	stages.col_stage = lead_column(desc, "stage");
	stages.col_temperature = lead_column(desc, "temperature");
	stages.col_fit = lead_column(desc, "fit");
	stages.col_grade = lead_column(desc, "grade");
	stages.col_budget = lead_column(desc, "budget");
	stages.col_need = lead_column(desc, "need");
	stages.col_authority = lead_column(desc, "authority");
	stages.col_timeline = lead_column(desc, "timeline");
	stages.col_created_at = lead_column(desc, "created_at");
	stages.col_stage_changed_at = lead_column(desc, "stage_changed_at");
	stages.col_mql_at = lead_column(desc, "mql_at");
	stages.col_recycled_from = lead_column(desc, "recycled_from");
	stages.col_peak_stage = lead_column(desc, "peak_stage");
	stages.col_lead_id = lead_column(desc, "lead_id");
}

/* ------------------------------------------------------------------------
 * BANT
 * ------------------------------------------------------------------------
 */

static bool
text_is_blank(Datum d)
{
	text	   *t = DatumGetTextPP(d);
	const char *p = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);

	for (int i = 0; i < len; i++)
		if (!isspace((unsigned char) p[i]))
			return false;
	return true;
}

/* The BANT elements a lead meets (of all four, required or not). */
static int
bant_met(Datum budget, bool budget_null, Datum need, bool need_null,
		 Datum authority, bool authority_null, Datum timeline, bool timeline_null,
		 TimestampTz now)
{
	int			met = 0;

	if (!budget_null &&
		DatumGetBool(DirectFunctionCall2(numeric_ge, budget, stages.min_budget)))
		met |= BANT_BUDGET;
	if (!need_null && !text_is_blank(need))
		met |= BANT_NEED;
	if (!authority_null && DatumGetBool(authority))
		met |= BANT_AUTHORITY;
	if (!timeline_null && !DATE_NOT_FINITE(DatumGetDateADT(timeline)))
	{
		/* UTC days since 2000-01-01, like DateADT */
		int64		today = now / USECS_PER_DAY - (now < 0 && now % USECS_PER_DAY != 0);
		TimestampTz horizon = DatumGetTimestampTz(
			DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now),
								IntervalPGetDatum(&stages.timeline_within)));
		int64		last = horizon / USECS_PER_DAY - (horizon < 0 && horizon % USECS_PER_DAY != 0);
		int64		day = DatumGetDateADT(timeline);

		if (day >= today && day <= last)
			met |= BANT_TIMELINE;
	}
	return met;
}

static int
bant_met_tuple(HeapTuple tuple, TupleDesc desc, TimestampTz now)
{
	bool		n1,
				n2,
				n3,
				n4;
	Datum		budget = heap_getattr(tuple, stages.col_budget, desc, &n1);
	Datum		need = heap_getattr(tuple, stages.col_need, desc, &n2);
	Datum		authority = heap_getattr(tuple, stages.col_authority, desc, &n3);
	Datum		timeline = heap_getattr(tuple, stages.col_timeline, desc, &n4);

	return bant_met(budget, n1, need, n2, authority, n3, timeline, n4, now);
}

static char *
bant_list(int bits)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < 4; i++)
		if (bits & (1 << i))
			appendStringInfo(&buf, "%s%s", buf.len ? ", " : "", bant_names[i]);
	return buf.data;
}

/* lead_bant(lead): qualified, met, missing */
Datum
lead_gen_lead_bant(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	TupleDesc	desc;
	bool		n1,
				n2,
				n3,
				n4;
	Datum		budget,
				need,
				authority,
				timeline;
	int			met;
	Datum		met_d[4];
	Datum		missing_d[4];
	int			nmet = 0;
	int			nmissing = 0;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	stage_load();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "lead_bant must return a record");
	budget = GetAttributeByName(row, "budget", &n1);
	need = GetAttributeByName(row, "need", &n2);
	authority = GetAttributeByName(row, "authority", &n3);
	timeline = GetAttributeByName(row, "timeline", &n4);
	met = bant_met(budget, n1, need, n2, authority, n3, timeline, n4,
				   GetCurrentTransactionStartTimestamp());
	for (int i = 0; i < 4; i++)
	{
		if (!(stages.bant_required & (1 << i)))
			continue;
		if (met & (1 << i))
			met_d[nmet++] = CStringGetTextDatum(bant_names[i]);
		else
			missing_d[nmissing++] = CStringGetTextDatum(bant_names[i]);
	}
	values[0] = BoolGetDatum(nmissing == 0);
	values[1] = PointerGetDatum(construct_array(met_d, nmet, TEXTOID, -1, false, TYPALIGN_INT));
	values[2] = PointerGetDatum(construct_array(missing_d, nmissing, TEXTOID, -1, false, TYPALIGN_INT));
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

/* ------------------------------------------------------------------------
 * Moves decided by the BEFORE trigger, read by the AFTER trigger
 * ------------------------------------------------------------------------
 */

typedef struct PendingMove
{
	int64		lead_id;		/* hash key */
	const char *cause;
	MoveKind	kind;
	bool		forced;
	char	   *reason;			/* NULL: none */
} PendingMove;

static HTAB *pending = NULL;

/* lead_changed is inserting a history row (stage_change_guard lets it in) */
static bool writing_history = false;
static LocalTransactionId pending_lxid = InvalidLocalTransactionId;

/* The table lives in TopTransactionContext: gone with the transaction. */
static HTAB *
pending_moves(bool create)
{
	if (pending_lxid != MyProc->lxid)
	{
		pending = NULL;
		pending_lxid = MyProc->lxid;
	}
	if (pending == NULL && create)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(PendingMove);
		ctl.hcxt = TopTransactionContext;
		pending = hash_create("lead_gen stage moves", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return pending;
}

static void
remember_move(int64 lead_id, const char *cause, MoveKind kind, bool forced, const char *reason)
{
	PendingMove *m = hash_search(pending_moves(true), &lead_id, HASH_ENTER, NULL);

	m->cause = cause;
	m->kind = kind;
	m->forced = forced;
	m->reason = reason ? MemoryContextStrdup(TopTransactionContext, reason) : NULL;
}

static const char *
reason_setting(void)
{
	if (lead_gen_stage_reason == NULL)
		return NULL;
	for (const char *p = lead_gen_stage_reason; *p; p++)
		if (!isspace((unsigned char) *p))
			return lead_gen_stage_reason;
	return NULL;
}

/* ------------------------------------------------------------------------
 * The BEFORE side
 * ------------------------------------------------------------------------
 */

/* a forward move automatic moves may take from one stage to another */
static bool
automatic_move_allowed(int from, int to, int *bant, HeapTuple tuple, TupleDesc desc, TimestampTz now)
{
	const Transition *t;

	if (to < 0 || to == from)
		return false;
	t = &stages.transitions[from][to];
	if (t->kind != MOVE_FORWARD || t->reason_required)
		return false;
	if (t->requires_bant)
	{
		if (*bant < 0)
			*bant = bant_met_tuple(tuple, desc, now);
		if ((*bant & stages.bant_required) != stages.bant_required)
			return false;
	}
	return true;
}

static bool
threshold_met(const StageRule *r, double score, HeapTuple tuple, TupleDesc desc)
{
	bool		isnull;
	Datum		d;

	if (!r->has_threshold || score < r->min_score)
		return false;
	if (r->has_min_fit)
	{
		d = heap_getattr(tuple, stages.col_fit, desc, &isnull);
		if (isnull || DatumGetFloat8(d) < r->min_fit)
			return false;
	}
	if (r->min_grade)
	{
		char	   *grade;

		d = heap_getattr(tuple, stages.col_grade, desc, &isnull);
		if (isnull)
			return false;
		grade = TextDatumGetCString(d);
		if (grade[0] == '\0' || grade[0] > r->min_grade)
			return false;
	}
	return true;
}

/*
 * Roles that may change the stage machine may import leads with their
 * history and bookkeeping (cause import); a restore does.
 */
static bool
may_import_history(void)
{
	return restore_in_progress() ||
		pg_class_aclcheck(stages.transition_relid, GetUserId(), ACL_UPDATE) == ACLCHECK_OK;
}

static void
check_explicit_move(int64 lead_id, int from, int to, HeapTuple tuple, TupleDesc desc,
					TimestampTz now)
{
	const Transition *t = &stages.transitions[from][to];
	const char *reason = reason_setting();

	if (lead_gen_stage_force)
	{
		if (pg_class_aclcheck(stages.transition_relid, GetUserId(), ACL_UPDATE) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to force lead %lld from stage %s to %s",
							(long long) lead_id, stage_names[from], stage_names[to]),
					 errhint("Only roles that may UPDATE lead_gen.stage_transition force moves.")));
		if (reason == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("forcing lead %lld from stage %s to %s needs a reason",
							(long long) lead_id, stage_names[from], stage_names[to])));
		remember_move(lead_id, lead_gen_stage_cause == STAGE_CAUSE_IMPORT ? "import" : "manual",
					  t->kind, true, reason);
		return;
	}
	if (t->kind == MOVE_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("lead %lld cannot move from stage %s to %s",
						(long long) lead_id, stage_names[from], stage_names[to]),
				 errdetail("The stage machine (lead_gen.stage_transition) does not allow that move."),
				 from == STAGE_CUSTOMER
				 ? errhint("Customer is final; an admin of the stage machine may force a move with lead_gen.transition(lead_id, stage, reason, force => true).")
				 : 0));
	if (t->reason_required && reason == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("moving lead %lld from stage %s to %s needs a reason",
						(long long) lead_id, stage_names[from], stage_names[to]),
				 errhint("Use lead_gen.transition(), lead_gen.recycle() or lead_gen.disqualify() with a reason, or SET LOCAL lead_gen.stage_reason before the UPDATE.")));
	if (t->requires_bant)
	{
		int			met = bant_met_tuple(tuple, desc, now);
		int			missing = stages.bant_required & ~met;

		if (missing)
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("lead %lld cannot move from stage %s to %s without BANT qualification",
							(long long) lead_id, stage_names[from], stage_names[to]),
					 errdetail("Missing: %s.", bant_list(missing)),
					 errhint("Record them with lead_gen.qualify().")));
	}
	remember_move(lead_id, lead_gen_stage_cause == STAGE_CAUSE_IMPORT ? "import" : "manual",
				  t->kind, false, reason);
}

void
stage_before_row(TriggerData *trigdata, HeapTuple tuple, double score,
				 const StageEvent *events,
				 int *ncols, int *cols, Datum *values, bool *nulls)
{
	TupleDesc	desc = trigdata->tg_relation->rd_att;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		isnull;
	Datum		d;
	int			from;
	int			to;
	int64		lead_id;
	int			n = *ncols;
	int			ceiling;
	bool		merging = lead_gen_stage_cause == STAGE_CAUSE_MERGE;

	stage_load();
	lead_columns(desc);

	to = stage_index(heap_getattr(tuple, stages.col_stage, desc, &isnull));
	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		/*
		 * A lead's first stage is the one it arrives with: no history, and
		 * bookkeeping that says so, whatever the INSERT gives.  Those who
		 * may import history (and a restore) import leads with theirs: what
		 * they give is kept, and only what is missing filled in.
		 */
		Datum		created = heap_getattr(tuple, stages.col_created_at, desc, &isnull);
		bool		keep = may_import_history();
		bool		reached_mql = to >= STAGE_MQL && to <= STAGE_CUSTOMER;

		(void) heap_getattr(tuple, stages.col_stage_changed_at, desc, &isnull);
		if (isnull || !keep)
		{
			cols[n] = stages.col_stage_changed_at;
			values[n] = created;
			nulls[n++] = false;
		}
		(void) heap_getattr(tuple, stages.col_mql_at, desc, &isnull);
		if ((isnull && reached_mql) || !keep)
		{
			cols[n] = stages.col_mql_at;
			values[n] = reached_mql ? created : (Datum) 0;
			nulls[n++] = !reached_mql;
		}
		(void) heap_getattr(tuple, stages.col_peak_stage, desc, &isnull);
		if (isnull || !keep)
		{
			cols[n] = stages.col_peak_stage;
			values[n] = stages.stage_datum[to <= STAGE_CUSTOMER ? to : 0];
			nulls[n++] = false;
		}
		if (!keep)
		{
			cols[n] = stages.col_recycled_from;
			values[n] = (Datum) 0;
			nulls[n++] = true;
		}
		*ncols = n;
		return;
	}

	from = stage_index(heap_getattr(trigdata->tg_trigtuple, stages.col_stage, desc, &isnull));
	lead_id = DatumGetInt64(heap_getattr(tuple, stages.col_lead_id, desc, &isnull));

	/*
	 * A recycled lead keeps its score and BANT: thresholds and BANT may not
	 * move it back to the stage it was sent back from (that would undo the
	 * recycle at its next activity).  New high-intent events and people may.
	 */
	d = heap_getattr(trigdata->tg_trigtuple, stages.col_recycled_from, desc, &isnull);
	ceiling = isnull ? NSTAGES : stage_index(d);

	/*
	 * merge_leads() gives the merged lead the further stage of the two and
	 * the union of their bookkeeping; only roles that may import history
	 * may say a change is a merge.
	 */
	if (merging && !may_import_history())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to record a merge of lead %lld", (long long) lead_id),
				 errhint("Merge leads with lead_gen.merge_leads().")));
	if (from != to && merging)
		remember_move(lead_id, "merge",
					  from == STAGE_DISQUALIFIED ? MOVE_RECYCLE :
					  to == STAGE_DISQUALIFIED ? MOVE_DISQUALIFY :
					  to < from ? MOVE_RECYCLE : MOVE_FORWARD,
					  false, reason_setting());
	else if (from != to)
		check_explicit_move(lead_id, from, to, tuple, desc, now);
	else if (lead_gen_automatic_stage_moves && !restore_in_progress())
	{
		int			bant = -1;
		int			best = -1;
		const char *cause = NULL;
		char	   *reason = NULL;
		bool		entered_null;
		TimestampTz entered = DatumGetTimestampTz(heap_getattr(trigdata->tg_trigtuple,
															   stages.col_stage_changed_at,
															   desc, &entered_null));
		TimestampTz created = DatumGetTimestampTz(heap_getattr(trigdata->tg_trigtuple,
															   stages.col_created_at,
															   desc, &isnull));
		bool		first_stage = entered_null || entered <= created;

		/*
		 * The highest stage a move may take; on a tie: event, BANT,
		 * threshold.  Once a lead has changed stage, events count from when
		 * it entered its stage: a demo request made before sales recycled
		 * the lead does not undo the recycle (nor does replaying it in a
		 * restore).  In its first stage every event counts, however dated.
		 */
		for (const StageEvent *ev = events; ev; ev = ev->next)
		{
			if (ev->stage > Max(best, from) && (first_stage || ev->at >= entered) &&
				automatic_move_allowed(from, ev->stage, &bant, tuple, desc, now))
			{
				best = ev->stage;
				cause = "event";
				reason = psprintf("activity %s", ev->kind);
			}
		}
		if (stages.bant_moves_to > Max(best, from) && stages.bant_moves_to < ceiling &&
			stages.transitions[from][stages.bant_moves_to].kind == MOVE_FORWARD)
		{
			if (bant < 0)
				bant = bant_met_tuple(tuple, desc, now);
			if ((bant & stages.bant_required) == stages.bant_required &&
				automatic_move_allowed(from, stages.bant_moves_to, &bant, tuple, desc, now))
			{
				best = stages.bant_moves_to;
				cause = "bant";
				reason = psprintf("BANT met: %s", bant_list(stages.bant_required));
			}
		}
		for (int s = Min(STAGE_CUSTOMER, ceiling - 1); s > Max(best, from); s--)
		{
			const StageRule *r = &stages.rules[s];

			if (threshold_met(r, score, tuple, desc) &&
				automatic_move_allowed(from, s, &bant, tuple, desc, now))
			{
				best = s;
				cause = lead_gen_stage_cause == STAGE_CAUSE_RESCORE ? "rescore" : "threshold";
				reason = r->min_grade
					? psprintf("score %.2f >= %g, grade %c or better", score, r->min_score, r->min_grade)
					: psprintf("score %.2f >= %g", score, r->min_score);
				break;
			}
		}
		if (best >= 0)
		{
			to = best;
			cols[n] = stages.col_stage;
			values[n] = stages.stage_datum[to];
			nulls[n++] = false;
			remember_move(lead_id, cause, MOVE_FORWARD, false, reason);
		}
	}

	if (from != to)
	{
		const Transition *t = &stages.transitions[from][to];

		cols[n] = stages.col_recycled_from;
		if (t->kind == MOVE_RECYCLE && from != STAGE_DISQUALIFIED && !lead_gen_stage_force)
		{
			values[n] = stages.stage_datum[Min(from, ceiling)];
			nulls[n++] = false;
		}
		else if (to >= ceiling && to != STAGE_DISQUALIFIED)
		{
			values[n] = (Datum) 0;
			nulls[n++] = true;
		}
		else
		{
			values[n] = heap_getattr(trigdata->tg_trigtuple, stages.col_recycled_from, desc, &nulls[n]);
			n++;
		}
		cols[n] = stages.col_stage_changed_at;
		values[n] = TimestampTzGetDatum(now);
		nulls[n++] = false;
		d = heap_getattr(merging ? tuple : trigdata->tg_trigtuple, stages.col_mql_at, desc, &isnull);
		cols[n] = stages.col_mql_at;
		values[n] = isnull && to >= STAGE_MQL && to <= STAGE_CUSTOMER ? TimestampTzGetDatum(now) : d;
		nulls[n] = isnull && !(to >= STAGE_MQL && to <= STAGE_CUSTOMER);
		n++;
		/* the highest forward stage the lead has reached */
		d = heap_getattr(merging ? tuple : trigdata->tg_trigtuple, stages.col_peak_stage, desc, &isnull);
		cols[n] = stages.col_peak_stage;
		{
			int			peak = isnull ? 0 : stage_index(d);

			if (to <= STAGE_CUSTOMER && to > peak)
				peak = to;
			values[n] = stages.stage_datum[peak];
			nulls[n++] = false;
		}
	}
	else
	{
		/*
		 * derived values: only stage changes set them, and a merge the
		 * earlier mql_at and higher peak_stage of the two leads
		 */
		int			derived[4] = {stages.col_stage_changed_at, stages.col_mql_at,
		stages.col_recycled_from, stages.col_peak_stage};

		for (int i = 0; i < 4; i++)
		{
			bool		merged = merging && (i == 1 || i == 3);

			cols[n] = derived[i];
			values[n] = heap_getattr(merged ? tuple : trigdata->tg_trigtuple, derived[i], desc, &nulls[n]);
			n++;
		}
	}
	*ncols = n;
}

/* ------------------------------------------------------------------------
 * The AFTER side: history and notifications
 * ------------------------------------------------------------------------
 */

static void
notify_event(int64 lead_id, const char *event, const char *from, const char *to, const char *cause)
{
	StringInfoData buf;

	if (!lead_gen_notify || restore_in_progress())
		return;
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"lead_id\": " INT64_FORMAT ", \"event\": ", lead_id);
	escape_json(&buf, event);
	appendStringInfoString(&buf, ", \"from\": ");
	escape_json(&buf, from);
	appendStringInfoString(&buf, ", \"to\": ");
	escape_json(&buf, to);
	appendStringInfoString(&buf, ", \"cause\": ");
	escape_json(&buf, cause);
	appendStringInfoChar(&buf, '}');
	Async_Notify("lead_gen_events", buf.data);
	pfree(buf.data);
}

/* Insert a history row, as the one writer stage_change_guard lets in. */
static int
insert_history(Datum *args, const char *argnulls)
{
	int			rc;

	writing_history = true;
	PG_TRY();
	{
		rc = SPI_execute_plan(stages.history_plan, args, argnulls, false, 0);
	}
	PG_FINALLY();
	{
		writing_history = false;
	}
	PG_END_TRY();
	return rc;
}

/*
 * AFTER UPDATE ... FOR EACH ROW on lead_gen.lead, WHEN stage or temperature
 * changed: the history row of a stage change, and the notifications.
 */
Datum
lead_gen_lead_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	TupleDesc	desc;
	HeapTuple	old;
	HeapTuple	new;
	bool		isnull;
	int64		lead_id;
	int			from;
	int			to;
	Datum		old_temp;
	Datum		new_temp;

	stage_load();
	trigdata = trigger_guard(fcinfo, "lead_changed", GUARD_AFTER, GUARD_UPDATE, GUARD_ROW,
							 stages.lead_relid);
	desc = trigdata->tg_relation->rd_att;
	lead_columns(desc);
	old = trigdata->tg_trigtuple;
	new = trigdata->tg_newtuple;
	lead_id = DatumGetInt64(heap_getattr(new, stages.col_lead_id, desc, &isnull));
	from = stage_index(heap_getattr(old, stages.col_stage, desc, &isnull));
	to = stage_index(heap_getattr(new, stages.col_stage, desc, &isnull));

	if (from != to)
	{
		HTAB	   *moves = pending_moves(false);
		PendingMove *m = moves ? hash_search(moves, &lead_id, HASH_FIND, NULL) : NULL;
		const char *cause;
		const char *kind;
		const char *reason;
		Datum		args[7];
		char		argnulls[7] = "       ";
		int			rc;

		if (m)
		{
			cause = m->cause;
			kind = move_kind_names[m->forced ? MOVE_NONE : m->kind];
			reason = m->reason;
		}
		else
		{
			/* a later BEFORE trigger changed the stage: record what happened */
			const Transition *t = &stages.transitions[from][to];

			cause = lead_gen_stage_cause == STAGE_CAUSE_IMPORT ? "import" : "manual";
			kind = move_kind_names[t->kind];
			reason = reason_setting();
		}
		args[0] = Int64GetDatum(lead_id);
		args[1] = stages.stage_datum[from];
		args[2] = stages.stage_datum[to];
		args[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		args[4] = CStringGetTextDatum(cause);
		args[5] = CStringGetTextDatum(kind);
		args[6] = reason ? CStringGetTextDatum(reason) : (Datum) 0;
		if (reason == NULL)
			argnulls[6] = 'n';
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		rc = insert_history(args, argnulls);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not record the stage change of lead %lld: %s",
				 (long long) lead_id, SPI_result_code_string(rc));
		SPI_finish();
		if (m)
			hash_search(moves, &lead_id, HASH_REMOVE, NULL);
		notify_event(lead_id, "stage", stage_names[from], stage_names[to], cause);
	}

	old_temp = heap_getattr(old, stages.col_temperature, desc, &isnull);
	new_temp = heap_getattr(new, stages.col_temperature, desc, &isnull);
	if (old_temp != new_temp && lead_gen_notify && !restore_in_progress())
	{
		const char *cause = lead_change_cause();
		char	   *f = DatumGetCString(DirectFunctionCall1(enum_out, old_temp));
		char	   *t = DatumGetCString(DirectFunctionCall1(enum_out, new_temp));

		notify_event(lead_id, "temperature", f, t, cause);
	}
	return PointerGetDatum(NULL);
}

/*
 * BEFORE INSERT OR UPDATE OF lead_id ... FOR EACH ROW on lead_gen.stage_change:
 * history rows are written by lead_gen when a stage changes; others may add
 * rows, or move them to another lead as a merge does, only when importing
 * history (roles that may UPDATE lead_gen.stage_transition) or in a restore.
 */
Datum
lead_gen_stage_change_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;

	stage_load();
	trigdata = trigger_guard(fcinfo, "stage_change_guard", GUARD_BEFORE, GUARD_INSERT | GUARD_UPDATE,
							 GUARD_ROW, stages.stage_change_relid);
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		/* fired for UPDATE OF lead_id: history follows a merge only */
		if (!may_import_history())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to move stage history to another lead"),
					 errhint("lead_gen.merge_leads() moves a merged lead's history to the lead it is merged into.")));
		return PointerGetDatum(trigdata->tg_newtuple);
	}
	if (!writing_history && !may_import_history())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to write stage history"),
				 errdetail("lead_gen writes a history row for every change of lead.stage."),
				 errhint("Change the lead's stage instead; roles that may UPDATE lead_gen.stage_transition may import history.")));
	return PointerGetDatum(trigdata->tg_trigtuple);
}
