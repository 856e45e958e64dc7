/*-------------------------------------------------------------------------
 *
 * history.c
 *	  capped_engagement: a lead's engagement recomputed from its history,
 *	  the daily caps applied (daily_cap.h), in one pass.  The history
 *	  functions of sql/install/scoring.sql are built on it; every
 *	  incremental update of the activity triggers must agree with them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "daily_cap.h"
#include "engagement.h"

PG_FUNCTION_INFO_V1(lead_gen_capped_engagement_accum);
PG_FUNCTION_INFO_V1(lead_gen_capped_engagement_final);

typedef struct CappedRow
{
	TimestampTz at;
	int64		activity_id;
	double		points;
	int32		daily_cap;		/* -1: none */
	int32		kind;			/* a capped row's kind (CappedKinds); -1: none */
} CappedRow;

/* rows a group holds in its own allocation before it needs another */
#define CAPPED_INLINE_ROWS 12

/*
 * A group's rows, in one allocation while they fit: a recompute keeps
 * hundreds of thousands of groups in a hash table, touched at random, and
 * every pointer followed per row is a cache miss.
 */
typedef struct CappedState
{
	int32		nrows;
	int32		size;
	int32		nkinds;			/* above the highest kind id among the rows */
	bool		sorted;			/* rows came in (at, activity_id) order */
	double		half_life;
	CappedRow  *rows;			/* inline_rows until there are more */
	CappedRow	inline_rows[CAPPED_INLINE_ROWS];
} CappedState;

/*
 * The kinds of capped rows seen at one call site, numbered for every group
 * alike (in fn_extra): only capped rows need their kind, and one shared
 * table beats a list per group.  Rows of a kind come in runs, so the last
 * kind found is tried first.
 */
typedef struct CappedKind
{
	char	   *name;			/* hash key: points to a NUL-terminated copy */
	int			id;
} CappedKind;

typedef struct CappedKinds
{
	HTAB	   *ids;
	int			n;
	char	   *last;
	int			last_len;
	int			last_id;
} CappedKinds;

static uint32
capped_kind_hash(const void *key, Size keysize)
{
	const char *name = *(char *const *) key;

	return hash_bytes((const unsigned char *) name, strlen(name));
}

static int
capped_kind_match(const void *key1, const void *key2, Size keysize)
{
	return strcmp(*(char *const *) key1, *(char *const *) key2);
}

static int
capped_kind(FunctionCallInfo fcinfo, text *kind)
{
	CappedKinds *kinds = (CappedKinds *) fcinfo->flinfo->fn_extra;
	int			len = VARSIZE_ANY_EXHDR(kind);
	char	   *name;
	CappedKind *entry;
	bool		found;

	if (kinds == NULL)
	{
		HASHCTL		ctl;

		kinds = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CappedKinds));
		ctl.keysize = sizeof(char *);
		ctl.entrysize = sizeof(CappedKind);
		ctl.hash = capped_kind_hash;
		ctl.match = capped_kind_match;
		ctl.hcxt = fcinfo->flinfo->fn_mcxt;
		kinds->ids = hash_create("lead_gen capped kinds", 32, &ctl,
								 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
		fcinfo->flinfo->fn_extra = kinds;
	}
	if (kinds->last && kinds->last_len == len &&
		memcmp(kinds->last, VARDATA_ANY(kind), len) == 0)
		return kinds->last_id;
	name = text_to_cstring(kind);
	entry = hash_search(kinds->ids, &name, HASH_ENTER, &found);
	if (!found)
	{
		entry->name = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, name);
		entry->id = kinds->n++;
	}
	pfree(name);
	kinds->last = entry->name;
	kinds->last_len = len;
	kinds->last_id = entry->id;
	return entry->id;
}

static int
cmp_capped_row(const void *a, const void *b)
{
	const CappedRow *x = a;
	const CappedRow *y = b;

	return activity_order(x->at, x->activity_id, y->at, y->activity_id);
}

/*
 * capped_engagement(points, occurred_at, activity_id, kind, daily_cap,
 * half_life): collects a group's activities; the final function applies the
 * daily caps (the first daily_cap of a kind per UTC day, by occurred_at
 * then activity_id, count) and sums the rest with decay.  The rows of a
 * group may come in any order.
 */
Datum
lead_gen_capped_engagement_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	CappedState *st;
	CappedRow  *row;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "capped_engagement_accum called in non-aggregate context");
	st = PG_ARGISNULL(0) ? NULL : (CappedState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4) ||
		PG_ARGISNULL(6))
		PG_RETURN_POINTER(st);

	if (st == NULL)
	{
		st = MemoryContextAlloc(aggcxt, sizeof(CappedState));
		st->nrows = 0;
		st->size = CAPPED_INLINE_ROWS;
		st->nkinds = 0;
		st->sorted = true;
		st->half_life = half_life_seconds(PG_GETARG_INTERVAL_P(6));
		st->rows = st->inline_rows;
	}
	if (st->nrows == st->size)
	{
		int32		size = st->size * 2;

		if ((Size) size * sizeof(CappedRow) > MaxAllocHugeSize || size < 0)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("capped_engagement: too many activities in one group")));
		if (st->rows == st->inline_rows)
		{
			st->rows = MemoryContextAllocHuge(aggcxt, (Size) size * sizeof(CappedRow));
			memcpy(st->rows, st->inline_rows, sizeof(st->inline_rows));
		}
		else
			st->rows = repalloc_huge(st->rows, (Size) size * sizeof(CappedRow));
		st->size = size;
	}
	row = &st->rows[st->nrows];
	row->points = PG_GETARG_FLOAT8(1);
	row->at = PG_GETARG_TIMESTAMPTZ(2);
	row->activity_id = PG_GETARG_INT64(3);
	row->daily_cap = PG_ARGISNULL(5) ? -1 : PG_GETARG_INT32(5);
	row->kind = -1;
	check_finite_value(row->points);
	check_timestamp(row->at, "time of the points");
	if (row->daily_cap >= 0)
	{
		row->kind = capped_kind(fcinfo, PG_GETARG_TEXT_PP(4));
		st->nkinds = Max(st->nkinds, row->kind + 1);
	}
	if (st->sorted && st->nrows > 0)
		st->sorted = cmp_capped_row(&st->rows[st->nrows - 1], row) <= 0;
	st->nrows++;
	PG_RETURN_POINTER(st);
}

/*
 * The final function's counts of a day's capped rows per kind, kept for the
 * call site (in fn_extra) and cleared entry by entry after each day, so that
 * a group costs its own rows, not the number of kinds the query has seen.
 */
typedef struct CappedCounts
{
	int			size;
	int		   *counts;			/* all zero between uses */
} CappedCounts;

static int *
capped_counts(FunctionCallInfo fcinfo, int nkinds)
{
	CappedCounts *c = (CappedCounts *) fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CappedCounts));
		fcinfo->flinfo->fn_extra = c;
	}
	if (nkinds > c->size)
	{
		int			size = Max(nkinds, Max(c->size * 2, 16));

		if (c->counts)
			pfree(c->counts);
		c->counts = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, size * sizeof(int));
		c->size = size;
	}
	return c->counts;
}

Datum
lead_gen_capped_engagement_final(PG_FUNCTION_ARGS)
{
	CappedState *st;
	Engagement *e = NULL;
	int		   *counts;
	int		   *touched;
	int			ntouched = 0;
	TimestampTz day = 0;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (CappedState *) PG_GETARG_POINTER(0);
	if (!st->sorted)
	{
		qsort(st->rows, st->nrows, sizeof(CappedRow), cmp_capped_row);
		st->sorted = true;
	}
	counts = capped_counts(fcinfo, st->nkinds);
	touched = palloc(Max(st->nrows, 1) * sizeof(int));
	for (int i = 0; i < st->nrows; i++)
	{
		CappedRow  *r = &st->rows[i];

		if (i == 0 || utc_day(r->at) != day)
		{
			day = utc_day(r->at);
			while (ntouched > 0)
				counts[touched[--ntouched]] = 0;
		}
		if (r->daily_cap >= 0)
		{
			if (counts[r->kind] == 0)
				touched[ntouched++] = r->kind;
			if (!daily_cap_counts(++counts[r->kind], r->daily_cap))
				continue;
		}
		if (e == NULL)
		{
			e = palloc(sizeof(Engagement));
			e->value = r->points;
			e->as_of = r->at;
			e->half_life = st->half_life;
		}
		else
			engagement_add_points(e, r->points, r->at);
	}
	while (ntouched > 0)
		counts[touched[--ntouched]] = 0;
	if (e == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(e);
}
