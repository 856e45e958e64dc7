/*-------------------------------------------------------------------------
 *
 * funnel.c
 *	  Ordered step funnels and retention over activity, as aggregates with
 *	  the semantics of ClickHouse's windowFunnel and retention.
 *
 * window_funnel(window, [mode,] ts, cond1, cond2, ...) collects, per group,
 * one (timestamp, step) pair for every condition that is true on a row, and
 * at the end sorts them by time (then step) and walks them once: a chain
 * starts at an event of step 1 and step k+1 extends a chain that reached
 * step k, as long as it happens within the window of the chain's first
 * event.  The result is the highest step any chain reached.  Modes:
 *
 *	strict_order			any event that is not a step (a row where no
 *							condition holds) or a step whose predecessor was
 *							never reached ends the search, once a chain started
 *	strict_deduplication	a step seen again (other than the first) ends the
 *							search
 *	strict_increase			a chain only grows with a strictly later event
 *	allow_reentry			with strict_order: a step that comes too early is
 *							skipped instead of ending the search
 *
 * Rows with a NULL timestamp are ignored; a NULL condition is false.  The
 * window and mode are read from the first row of each group.
 *
 * window_funnel(window, [mode,] ts, event, step1, step2, ...) with text
 * steps is the same funnel where step k holds on a row whose event equals
 * stepk byte for byte: the comparisons run here, not as N text equality
 * calls per row, and constant steps are read once per query.
 *
 * retention(cond1, cond2, ...) returns an integer array: r[1] is whether
 * cond1 held on any row of the group, r[k] whether cond1 and condk each
 * held on some row.
 *
 * Both are parallel safe: window_funnel's state is internal with combine,
 * serialize and deserialize; retention's is a bigint of flags.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(lead_gen_window_funnel_accum);
PG_FUNCTION_INFO_V1(lead_gen_window_funnel_event_accum);
PG_FUNCTION_INFO_V1(lead_gen_window_funnel_final);
PG_FUNCTION_INFO_V1(lead_gen_window_funnel_combine);
PG_FUNCTION_INFO_V1(lead_gen_window_funnel_serialize);
PG_FUNCTION_INFO_V1(lead_gen_window_funnel_deserialize);
PG_FUNCTION_INFO_V1(lead_gen_retention_accum);
PG_FUNCTION_INFO_V1(lead_gen_retention_final);

#define FUNNEL_MAX_STEPS 1000	/* fits STEP_BITS */
#define RETENTION_MAX_CONDITIONS 56

#define MODE_STRICT_ORDER			0x01
#define MODE_STRICT_DEDUPLICATION	0x02
#define MODE_STRICT_INCREASE		0x04
#define MODE_ALLOW_REENTRY			0x08

/*
 * An event is one uint64: microseconds since FUNNEL_EPOCH above 10 bits of
 * step (1..nsteps; 0: a row where no step holds), so that sorting numbers
 * sorts by time, then step, and a group's events take 8 bytes each.  That
 * covers timestamps from 1714 to 2285.
 */
typedef uint64 FunnelEvent;

#define STEP_BITS 10
#define STEP_MASK ((UINT64CONST(1) << STEP_BITS) - 1)
#define FUNNEL_EPOCH (-(INT64CONST(1) << 53))
#define FUNNEL_END (INT64CONST(1) << 53)

#define EVENT(ts, step) ((((uint64) ((ts) - FUNNEL_EPOCH)) << STEP_BITS) | (uint64) (step))
#define EVENT_TS(e) ((int64) ((e) >> STEP_BITS) + FUNNEL_EPOCH)
#define EVENT_STEP(e) ((int) ((e) & STEP_MASK))

#define ST_SORT sort_funnel_events
#define ST_ELEMENT_TYPE FunnelEvent
#define ST_COMPARE(a, b) (*(a) < *(b) ? -1 : *(a) > *(b) ? 1 : 0)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * A group's state, with room for its first events in the same allocation:
 * grouping touches many states at random, and one cache miss beats two.
 */
#define FUNNEL_INLINE_EVENTS 10

/* funnels with up to this many steps are walked without allocating */
#define FUNNEL_STACK_STEPS 32

typedef struct FunnelState
{
	int64		window;			/* microseconds */
	int32		nsteps;
	int32		mode;
	int32		nevents;
	int32		size;
	bool		sorted;
	FunnelEvent *events;		/* inline_events until there are more */
	FunnelEvent inline_events[FUNNEL_INLINE_EVENTS];
} FunnelState;

static FunnelState *
funnel_new(MemoryContext cxt)
{
	FunnelState *st = MemoryContextAlloc(cxt, sizeof(FunnelState));

	st->window = 0;
	st->nsteps = -1;
	st->mode = 0;
	st->nevents = 0;
	st->size = FUNNEL_INLINE_EVENTS;
	st->sorted = true;
	st->events = st->inline_events;
	return st;
}

/* ------------------------------------------------------------------------
 * Arguments
 * ------------------------------------------------------------------------
 */

static int64
window_usecs(Interval *w)
{
	/* months count as 30 days, as everywhere in lead_gen */
	double		usecs = ((double) w->month * DAYS_PER_MONTH + w->day) * (double) USECS_PER_DAY
		+ (double) w->time;

	if (!(usecs > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window_funnel window must be positive")));
	if (usecs >= (double) PG_INT64_MAX)
		return PG_INT64_MAX;
	return (int64) usecs;
}

static int
parse_mode(text *t)
{
	char	   *s = text_to_cstring(t);
	char	   *save = NULL;
	int			mode = 0;

	for (char *tok = strtok_r(s, ", \t\n", &save); tok; tok = strtok_r(NULL, ", \t\n", &save))
	{
		if (strcmp(tok, "strict_order") == 0)
			mode |= MODE_STRICT_ORDER;
		else if (strcmp(tok, "strict_deduplication") == 0)
			mode |= MODE_STRICT_DEDUPLICATION;
		else if (strcmp(tok, "strict_increase") == 0)
			mode |= MODE_STRICT_INCREASE;
		else if (strcmp(tok, "allow_reentry") == 0)
			mode |= MODE_ALLOW_REENTRY;
		else if (strcmp(tok, "strict_once") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("window_funnel mode \"strict_once\" is not supported")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown window_funnel mode \"%s\"", tok),
					 errhint("Modes are strict_order, strict_deduplication, strict_increase and allow_reentry, separated by commas.")));
	}
	if ((mode & MODE_ALLOW_REENTRY) && !(mode & MODE_STRICT_ORDER))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window_funnel mode allow_reentry requires strict_order")));
	pfree(s);
	return mode;
}

/*
 * The conditions of a row: arguments first..PG_NARGS()-1, each boolean, or
 * one boolean array when called with VARIADIC.  Returns how many there are
 * and fills conds (NULL counts as false).
 */
static int
row_conditions(FunctionCallInfo fcinfo, int first, bool **conds, int *size, const char *fn)
{
	int			n;

	if (get_fn_expr_variadic(fcinfo->flinfo))
	{
		ArrayType  *a;
		Datum	   *elems;
		bool	   *nulls;

		if (PG_NARGS() != first + 1)
			elog(ERROR, "%s: VARIADIC call with %d arguments", fn, PG_NARGS());
		if (PG_ARGISNULL(first))
			return 0;
		a = PG_GETARG_ARRAYTYPE_P(first);
		if (ARR_ELEMTYPE(a) != BOOLOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s: the steps must be boolean", fn)));
		deconstruct_array(a, BOOLOID, 1, true, TYPALIGN_CHAR, &elems, &nulls, &n);
		if (n > *size)
		{
			*conds = *conds ? repalloc(*conds, n) : palloc(n);
			*size = n;
		}
		for (int i = 0; i < n; i++)
			(*conds)[i] = !nulls[i] && DatumGetBool(elems[i]);
		return n;
	}
	n = PG_NARGS() - first;
	if (n > *size)
	{
		*conds = *conds ? repalloc(*conds, n) : palloc(n);
		*size = n;
	}
	for (int i = 0; i < n; i++)
		(*conds)[i] = !PG_ARGISNULL(first + i) && DatumGetBool(PG_GETARG_DATUM(first + i));
	return n;
}

/*
 * The condition arguments (from first on) must be boolean; a VARIADIC array
 * is checked when it is read.  Callers run this once per call site.
 */
static void
check_condition_types(FunctionCallInfo fcinfo, int first, const char *fn)
{
	if (get_fn_expr_variadic(fcinfo->flinfo))
		return;
	for (int i = first; i < PG_NARGS(); i++)
	{
		Oid			t = get_fn_expr_argtype(fcinfo->flinfo, i);

		if (t != BOOLOID && t != UNKNOWNOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s: argument %d must be boolean, not %s", fn, i, format_type_be(t))));
	}
}

/* ------------------------------------------------------------------------
 * window_funnel
 * ------------------------------------------------------------------------
 */

/* Add an event; the array lives in cxt (repalloc keeps its context). */
static inline void
funnel_add(FunnelState *st, int64 ts, int32 step, MemoryContext cxt)
{
	if (unlikely(st->nevents == st->size))
	{
		int32		size = st->size * 2;

		if ((Size) size * sizeof(FunnelEvent) > MaxAllocHugeSize || size < 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("window_funnel: too many events in one group")));
		if (st->events == st->inline_events)
		{
			st->events = MemoryContextAllocHuge(cxt, (Size) size * sizeof(FunnelEvent));
			memcpy(st->events, st->inline_events, sizeof(st->inline_events));
		}
		else
			st->events = repalloc_huge(st->events, (Size) size * sizeof(FunnelEvent));
		st->size = size;
	}
	st->events[st->nevents] = EVENT(ts, step);
	if (st->sorted && st->nevents > 0)
		st->sorted = st->events[st->nevents - 1] <= st->events[st->nevents];
	st->nevents++;
}

/*
 * How a call site passes its arguments, worked out once: with or without a
 * mode, conditions as arguments or as one VARIADIC array.
 */
typedef struct FunnelCall
{
	bool		with_mode;
	bool		variadic;
	int			ts_arg;
	int			first;			/* first condition argument */
	text	   *mode_text;		/* the last mode parsed (in fn_mcxt) ... */
	int			mode;			/* ... and what it means */
	/* the event form: the steps, when they are a constant (in fn_mcxt) */
	bool		steps_const;
	int			nsteps;
	char	  **step_data;		/* NULL: a NULL step, which never holds */
	int		   *step_len;
} FunnelCall;

/*
 * The text steps of the event form: pointers into the array's elements
 * (the array must outlive their use), NULL for a NULL step.  Returns how
 * many (funnel_steps checks the limits).
 */
static int
funnel_read_steps(ArrayType *a, char ***data, int **len, MemoryContext cxt)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_ELEMTYPE(a) != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("window_funnel: the steps must be text")));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	*data = MemoryContextAlloc(cxt, Max(n, 1) * sizeof(char *));
	*len = MemoryContextAlloc(cxt, Max(n, 1) * sizeof(int));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
		{
			(*data)[i] = NULL;
			(*len)[i] = 0;
			continue;
		}
		/* elements of an array are never toasted, but may be short */
		(*data)[i] = VARDATA_ANY(DatumGetPointer(elems[i]));
		(*len)[i] = VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i]));
	}
	return n;
}

/*
 * When the steps are a constant of the query (the usual case: a list of
 * literals, folded by the planner), read them once for every row.
 */
static void
funnel_const_steps(FunctionCallInfo fcinfo, FunnelCall *call)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);
	TargetEntry *last;
	Const	   *c;
	ArrayType  *a;
	MemoryContext oldcxt;

	if (aggref == NULL || aggref->args == NIL)
		return;
	last = llast_node(TargetEntry, aggref->args);
	if (!IsA(last->expr, Const))
		return;
	c = (Const *) last->expr;
	if (c->constisnull)
		return;
	oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	a = DatumGetArrayTypePCopy(c->constvalue);
	call->nsteps = funnel_read_steps(a, &call->step_data, &call->step_len, fcinfo->flinfo->fn_mcxt);
	MemoryContextSwitchTo(oldcxt);
	call->steps_const = true;
}

static FunnelCall *
funnel_call(FunctionCallInfo fcinfo, bool by_event)
{
	FunnelCall *call = (FunnelCall *) fcinfo->flinfo->fn_extra;

	if (call == NULL)
	{
		call = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FunnelCall));
		call->with_mode = get_fn_expr_argtype(fcinfo->flinfo, 2) == TEXTOID;
		call->variadic = get_fn_expr_variadic(fcinfo->flinfo);
		call->ts_arg = call->with_mode ? 3 : 2;
		call->first = call->ts_arg + 1;
		if (by_event)
			funnel_const_steps(fcinfo, call);
		else
			check_condition_types(fcinfo, call->first, "window_funnel");
		fcinfo->flinfo->fn_extra = call;
	}
	return call;
}

static FunnelState *
funnel_start(FunctionCallInfo fcinfo, FunnelCall *call, MemoryContext aggcxt)
{
	FunnelState *st;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("window_funnel window must not be null")));
	if (call->with_mode && PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("window_funnel mode must not be null")));
	st = funnel_new(aggcxt);
	st->window = window_usecs(PG_GETARG_INTERVAL_P(1));
	if (call->with_mode)
	{
		/* the mode is nearly always a constant: parse it once, not per group */
		text	   *t = PG_GETARG_TEXT_PP(2);

		if (call->mode_text == NULL ||
			VARSIZE_ANY_EXHDR(t) != VARSIZE_ANY_EXHDR(call->mode_text) ||
			memcmp(VARDATA_ANY(t), VARDATA_ANY(call->mode_text), VARSIZE_ANY_EXHDR(t)) != 0)
		{
			int			mode = parse_mode(t);

			if (call->mode_text)
				pfree(call->mode_text);
			call->mode_text = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE_ANY(t));
			memcpy(call->mode_text, t, VARSIZE_ANY(t));
			call->mode = mode;
		}
		st->mode = call->mode;
	}
	return st;
}

static void
funnel_steps(FunnelState *st, int n)
{
	if (likely(st->nsteps == n))
		return;
	if (st->nsteps >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window_funnel: every row of a group must have the same number of steps (%d, not %d)",
						st->nsteps, n)));
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window_funnel needs at least one step")));
	if (n > FUNNEL_MAX_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("window_funnel takes at most %d steps, not %d", FUNNEL_MAX_STEPS, n)));
	st->nsteps = n;
}

static inline int64
funnel_ts(TimestampTz ts)
{
	if (unlikely(ts < FUNNEL_EPOCH || ts >= FUNNEL_END))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("window_funnel: timestamp %s is out of range", timestamptz_to_str(ts)),
				 errdetail("window_funnel takes timestamps from 1714 to 2285.")));
	return ts;
}

/*
 * window_funnel_accum(state, window, [mode,] ts, VARIADIC "any"): the per-row
 * work is a loop over the conditions.
 */
Datum
lead_gen_window_funnel_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FunnelCall *call = funnel_call(fcinfo, false);
	FunnelState *st = PG_ARGISNULL(0) ? NULL : (FunnelState *) PG_GETARG_POINTER(0);
	int64		ts;
	bool		any = false;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "window_funnel_accum called in non-aggregate context");
	if (st == NULL)
		st = funnel_start(fcinfo, call, aggcxt);

	if (!call->variadic)
	{
		int			n = PG_NARGS() - call->first;

		funnel_steps(st, n);
		if (PG_ARGISNULL(call->ts_arg))
			PG_RETURN_POINTER(st);
		ts = funnel_ts(PG_GETARG_TIMESTAMPTZ(call->ts_arg));
		/* a row that meets several steps adds each, highest first (as ClickHouse) */
		for (int i = n; i > 0; i--)
		{
			int			arg = call->first + i - 1;

			if (!PG_ARGISNULL(arg) && DatumGetBool(PG_GETARG_DATUM(arg)))
			{
				funnel_add(st, ts, i, aggcxt);
				any = true;
			}
		}
	}
	else
	{
		ArrayType  *a;
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		if (PG_ARGISNULL(call->first))
			n = 0;
		else
		{
			a = PG_GETARG_ARRAYTYPE_P(call->first);
			if (ARR_ELEMTYPE(a) != BOOLOID)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("window_funnel: the steps must be boolean")));
			deconstruct_array(a, BOOLOID, 1, true, TYPALIGN_CHAR, &elems, &nulls, &n);
		}
		funnel_steps(st, n);
		if (PG_ARGISNULL(call->ts_arg))
			PG_RETURN_POINTER(st);
		ts = funnel_ts(PG_GETARG_TIMESTAMPTZ(call->ts_arg));
		for (int i = n; i > 0; i--)
			if (!nulls[i - 1] && DatumGetBool(elems[i - 1]))
			{
				funnel_add(st, ts, i, aggcxt);
				any = true;
			}
	}
	if (!any && (st->mode & MODE_STRICT_ORDER))
		funnel_add(st, ts, 0, aggcxt);
	PG_RETURN_POINTER(st);
}

/*
 * window_funnel_event_accum(state, window, [mode,] ts, event, VARIADIC steps
 * text[]): step k holds when the event equals steps[k].
 */
Datum
lead_gen_window_funnel_event_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	FunnelCall *call = funnel_call(fcinfo, true);
	FunnelState *st = PG_ARGISNULL(0) ? NULL : (FunnelState *) PG_GETARG_POINTER(0);
	int			steps_arg = call->first + 1;
	int			n;
	char	  **step_data;
	int		   *step_len;
	int64		ts;
	bool		any = false;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "window_funnel_event_accum called in non-aggregate context");
	if (PG_NARGS() != steps_arg + 1)
		elog(ERROR, "window_funnel_event_accum: called with %d arguments", PG_NARGS());
	if (st == NULL)
		st = funnel_start(fcinfo, call, aggcxt);

	if (call->steps_const)
	{
		n = call->nsteps;
		step_data = call->step_data;
		step_len = call->step_len;
	}
	else if (PG_ARGISNULL(steps_arg))
	{
		n = 0;
		step_data = NULL;
		step_len = NULL;
	}
	else
		n = funnel_read_steps(PG_GETARG_ARRAYTYPE_P(steps_arg), &step_data, &step_len,
							  CurrentMemoryContext);
	funnel_steps(st, n);
	if (PG_ARGISNULL(call->ts_arg))
		PG_RETURN_POINTER(st);
	ts = funnel_ts(PG_GETARG_TIMESTAMPTZ(call->ts_arg));
	if (!PG_ARGISNULL(call->first))
	{
		text	   *event = PG_GETARG_TEXT_PP(call->first);
		const char *data = VARDATA_ANY(event);
		int			len = VARSIZE_ANY_EXHDR(event);

		/* an event that names several steps adds each, highest first */
		for (int i = n; i > 0; i--)
		{
			if (step_data[i - 1] != NULL && step_len[i - 1] == len &&
				memcmp(step_data[i - 1], data, len) == 0)
			{
				funnel_add(st, ts, i, aggcxt);
				any = true;
			}
		}
	}
	if (!any && (st->mode & MODE_STRICT_ORDER))
		funnel_add(st, ts, 0, aggcxt);
	PG_RETURN_POINTER(st);
}

static int
highest_reached(const bool *reached, int nsteps)
{
	for (int k = nsteps; k > 0; k--)
		if (reached[k - 1])
			return k;
	return 0;
}

/* The highest step a chain reached (events sorted by time, then step). */
static int
funnel_level(FunnelState *st)
{
	int			nsteps = st->nsteps;
	int64	   *first_ts;
	int64	   *last_ts;
	bool	   *reached;
	int64		first_ts_buf[FUNNEL_STACK_STEPS];
	int64		last_ts_buf[FUNNEL_STACK_STEPS];
	bool		reached_buf[FUNNEL_STACK_STEPS];
	bool		started = false;

	if (st->nevents == 0)
		return 0;
	if (!(st->mode & MODE_STRICT_ORDER) && nsteps == 1)
		return 1;
	if (!st->sorted)
	{
		sort_funnel_events(st->events, st->nevents);
		st->sorted = true;
	}
	/* a funnel is usually short: no allocation per group for it */
	if (nsteps <= FUNNEL_STACK_STEPS)
	{
		first_ts = first_ts_buf;
		last_ts = last_ts_buf;
		reached = reached_buf;
		memset(reached, 0, nsteps * sizeof(bool));
	}
	else
	{
		first_ts = palloc(nsteps * sizeof(int64));
		last_ts = palloc(nsteps * sizeof(int64));
		reached = palloc0(nsteps * sizeof(bool));
	}

	for (int i = 0; i < st->nevents; i++)
	{
		int64		ts = EVENT_TS(st->events[i]);
		int			k = EVENT_STEP(st->events[i]) - 1;	/* 0-based step, -1: none */

		if ((st->mode & MODE_STRICT_ORDER) && k < 0)
		{
			if (started)
				break;
			continue;
		}
		if (k == 0)
		{
			first_ts[0] = last_ts[0] = ts;
			reached[0] = true;
			started = true;
		}
		else if ((st->mode & MODE_STRICT_DEDUPLICATION) && reached[k])
			return highest_reached(reached, nsteps);
		else if ((st->mode & MODE_STRICT_ORDER) && started && !reached[k - 1])
		{
			if (st->mode & MODE_ALLOW_REENTRY)
				continue;
			for (int j = 0; j < nsteps; j++)
				if (!reached[j])
					return j;
		}
		else if (reached[k - 1])
		{
			int64		from = first_ts[k - 1];
			bool		in_time = st->window == PG_INT64_MAX || ts - from <= st->window;

			if (in_time && (st->mode & MODE_STRICT_INCREASE))
				in_time = last_ts[k - 1] < ts;
			if (in_time)
			{
				first_ts[k] = from;
				last_ts[k] = ts;
				reached[k] = true;
				if (k + 1 == nsteps)
					return nsteps;
			}
		}
	}
	/* palloc'd arrays live in the per-call context of the final function */
	return highest_reached(reached, nsteps);
}

Datum
lead_gen_window_funnel_final(PG_FUNCTION_ARGS)
{
	FunnelState *st;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();		/* no rows */
	st = (FunnelState *) PG_GETARG_POINTER(0);
	PG_RETURN_INT32(funnel_level(st));
}

Datum
lead_gen_window_funnel_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MemoryContext oldcxt;
	FunnelState *a = PG_ARGISNULL(0) ? NULL : (FunnelState *) PG_GETARG_POINTER(0);
	FunnelState *b = PG_ARGISNULL(1) ? NULL : (FunnelState *) PG_GETARG_POINTER(1);

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "window_funnel_combine called in non-aggregate context");
	if (b == NULL)
	{
		if (a == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}
	oldcxt = MemoryContextSwitchTo(aggcxt);
	if (a == NULL)
	{
		a = funnel_new(aggcxt);
		a->window = b->window;
		a->nsteps = b->nsteps;
		a->mode = b->mode;
	}
	else if (a->nsteps != b->nsteps && a->nsteps >= 0 && b->nsteps >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window_funnel: every row of a group must have the same number of steps (%d, not %d)",
						a->nsteps, b->nsteps)));
	if (a->nsteps < 0)
		a->nsteps = b->nsteps;
	for (int i = 0; i < b->nevents; i++)
		funnel_add(a, EVENT_TS(b->events[i]), EVENT_STEP(b->events[i]), aggcxt);
	MemoryContextSwitchTo(oldcxt);
	PG_RETURN_POINTER(a);
}

#define FUNNEL_SERIAL_VERSION 1

Datum
lead_gen_window_funnel_serialize(PG_FUNCTION_ARGS)
{
	FunnelState *st = (FunnelState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, FUNNEL_SERIAL_VERSION);
	pq_sendint64(&buf, st->window);
	pq_sendint32(&buf, st->nsteps);
	pq_sendint32(&buf, st->mode);
	pq_sendint32(&buf, st->nevents);
	for (int i = 0; i < st->nevents; i++)
		pq_sendint64(&buf, (int64) st->events[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
lead_gen_window_funnel_deserialize(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	MemoryContext aggcxt;
	MemoryContext oldcxt;
	StringInfoData buf;
	FunnelState *st;
	int32		n;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "window_funnel_deserialize called in non-aggregate context");
	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	if (pq_getmsgbyte(&buf) != FUNNEL_SERIAL_VERSION)
		elog(ERROR, "window_funnel: unknown state version");
	oldcxt = MemoryContextSwitchTo(aggcxt);
	st = funnel_new(aggcxt);
	st->window = pq_getmsgint64(&buf);
	st->nsteps = pq_getmsgint(&buf, 4);
	st->mode = pq_getmsgint(&buf, 4);
	n = pq_getmsgint(&buf, 4);
	if (n < 0 || (Size) n * 8 != (Size) (buf.len - buf.cursor))
		elog(ERROR, "window_funnel: state of %d events does not match its size", n);
	for (int i = 0; i < n; i++)
	{
		FunnelEvent e = (FunnelEvent) pq_getmsgint64(&buf);

		if (EVENT_STEP(e) > st->nsteps)
			elog(ERROR, "window_funnel: state holds step %d of %d", EVENT_STEP(e), st->nsteps);
		funnel_add(st, EVENT_TS(e), EVENT_STEP(e), aggcxt);
	}
	pq_getmsgend(&buf);
	MemoryContextSwitchTo(oldcxt);
	PG_RETURN_POINTER(st);
}

/* ------------------------------------------------------------------------
 * retention: the state is a bigint, the flags in the low 56 bits and the
 * number of conditions above them
 * ------------------------------------------------------------------------
 */

#define RETENTION_COUNT_SHIFT 56
#define RETENTION_FLAGS_MASK ((INT64CONST(1) << RETENTION_COUNT_SHIFT) - 1)

Datum
lead_gen_retention_accum(PG_FUNCTION_ARGS)
{
	int64		state = PG_ARGISNULL(0) ? -1 : PG_GETARG_INT64(0);
	static bool *conds = NULL;
	static int	conds_size = 0;
	int			n;
	int64		flags;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "retention_accum called in non-aggregate context");
	if (fcinfo->flinfo->fn_extra == NULL)
	{
		/* once per call site; fn_extra only marks that it was done */
		check_condition_types(fcinfo, 1, "retention");
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, 1);
	}
	if (conds == NULL)
	{
		conds = MemoryContextAlloc(TopMemoryContext, 64);
		conds_size = 64;
	}
	n = row_conditions(fcinfo, 1, &conds, &conds_size, "retention");
	if (n < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retention needs at least one condition")));
	if (n > RETENTION_MAX_CONDITIONS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("retention takes at most %d conditions, not %d", RETENTION_MAX_CONDITIONS, n)));
	if (state < 0)
		state = (int64) n << RETENTION_COUNT_SHIFT;
	else if ((state >> RETENTION_COUNT_SHIFT) != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retention: every row of a group must have the same number of conditions (%d, not %d)",
						(int) (state >> RETENTION_COUNT_SHIFT), n)));
	flags = 0;
	for (int i = 0; i < n; i++)
		if (conds[i])
			flags |= INT64CONST(1) << i;
	PG_RETURN_INT64(state | flags);
}

Datum
lead_gen_retention_final(PG_FUNCTION_ARGS)
{
	int64		state;
	int			n;
	int64		flags;
	Datum	   *out;
	bool		first;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = PG_GETARG_INT64(0);
	n = (int) (state >> RETENTION_COUNT_SHIFT);
	flags = state & RETENTION_FLAGS_MASK;
	if (n < 1 || n > RETENTION_MAX_CONDITIONS)
		elog(ERROR, "retention: state holds %d conditions", n);
	out = palloc(n * sizeof(Datum));
	first = (flags & 1) != 0;
	out[0] = Int32GetDatum(first ? 1 : 0);
	for (int i = 1; i < n; i++)
		out[i] = Int32GetDatum(first && (flags & (INT64CONST(1) << i)) ? 1 : 0);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, INT4OID, 4, true, TYPALIGN_INT));
}
