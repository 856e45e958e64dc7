/*-------------------------------------------------------------------------
 *
 * icp.h
 *	  The lead_gen.icp type in the server: matching an ideal customer
 *	  profile against a jsonb document or a lead row.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_ICP_H
#define LEAD_GEN_ICP_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "regex/regex.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "icp_format.h"

#define DatumGetIcpP(X)		((IcpHeader *) PG_DETOAST_DATUM(X))
#define PG_GETARG_ICP_P(n)	DatumGetIcpP(PG_GETARG_DATUM(n))

/*
 * The facts of a lead an ICP can test: these columns of lead_gen.lead, in
 * this order (the order of lead_gen.icp_match_facts' arguments), plus
 * email_domain, derived from email.  lead_gen.lead_facts() builds the same
 * facts as JSON.
 */
#define LEAD_FACT_COUNT			20
#define LEAD_FACT_EMAIL			0
#define LEAD_FACT_ATTRIBUTES	19
#define LEAD_FACT_EMAIL_DOMAIN	LEAD_FACT_COUNT	/* derived */
#define LEAD_FACT_NONE			(-1)

/*
 * What conditions test besides those facts: the lead's state (ConditionFacts),
 * numbered as their names stand in icp_condition_facts (icp_format.h), which
 * lists lead_fact_columns, then email_domain, then these.
 */
#define LEAD_FACT_SCORE			(LEAD_FACT_COUNT + 1)
#define LEAD_FACT_TEMPERATURE	(LEAD_FACT_COUNT + 2)
#define LEAD_FACT_STAGE			(LEAD_FACT_COUNT + 3)
#define LEAD_FACT_GRADE			(LEAD_FACT_COUNT + 4)
#define LEAD_FACT_FIT			(LEAD_FACT_COUNT + 5)
#define LEAD_FACT_DAYS_IN_STAGE	(LEAD_FACT_COUNT + 6)
#define LEAD_FACT_PREDICTION	(LEAD_FACT_COUNT + 7)

typedef struct LeadFactColumn
{
	const char *name;
	Oid			type;			/* base type of the column */
} LeadFactColumn;

extern const LeadFactColumn lead_fact_columns[LEAD_FACT_COUNT];

/*
 * An ICP prepared for matching: the value itself, set members folded to
 * lower case once, regular expressions compiled once, each test's field
 * resolved to a lead fact once.  Lives in a memory context of its own, so
 * it can be kept for a whole query (fn_extra) or a whole session (the fit
 * trigger's cache).
 */
typedef struct IcpMatcher
{
	MemoryContext cxt;
	char	   *key;			/* the raw (possibly compressed) datum it was built from */
	Size		keylen;
	bool		stable_arg;		/* the ICP argument is a constant or parameter */
	IcpHeader  *icp;
	char	  **folded;			/* per value: lower-cased string, or NULL */
	int		   *foldedlen;
	regex_t   **regex;			/* per node: compiled pattern, or NULL */
	char	  **literals;		/* per node: a pattern that is only literal
								 * alternatives, as NUL-separated folded words */
	int		   *literalslen;
	char	   *scratch;		/* for folding values */
	int			scratchlen;
	int16	   *fact;			/* per node: LEAD_FACT_* of its first name */
	uint16	   *firstlen;		/* per node: bytes of its first name */

	/* lead rows: where each fact's column is in the row type last seen */
	TupleDesc	tupdesc;
	TupleDesc	seen;			/* the descriptor last found equal to it ... */
	uint64		seen_generation;	/* ... while no relcache change came */
	AttrNumber	fact_attnum[LEAD_FACT_COUNT];
	Datum	   *rowvalues;
	bool	   *rownulls;
} IcpMatcher;

/* What one criterion did. */
typedef struct IcpOutcome
{
	bool		matched;		/* its test was true */
	bool		knockout;		/* it forced fit to 0 */
	double		points;
	double		max_points;
} IcpOutcome;

/* A lead's activity of one kind (or of every kind), for conditions. */
typedef struct ConditionActivity
{
	int			count;			/* all of it */
	TimestampTz *times;			/* occurred_at of each, ascending */
} ConditionActivity;

/*
 * What a condition tests besides the lead's columns: its state as of now,
 * and its activity, which the caller provides on demand.
 */
typedef struct ConditionFacts
{
	TimestampTz now;
	double		score;			/* as of now */
	const char *temperature;
	/* the temperature holds at least until then (asked only when tested) */
	TimestampTz (*temperature_until) (struct ConditionFacts *cf);
	const char *stage;
	const char *grade;			/* NULL: none */
	bool		has_fit;
	double		fit;
	bool		has_prediction;	/* the kept model's, stored on the lead */
	double		prediction;
	TimestampTz stage_changed_at;	/* 0: unknown */
	void	   *arg;			/* the caller's */
	/* the lead's activity of a kind (len 0: every kind) */
	const ConditionActivity *(*activity) (struct ConditionFacts *cf, const char *kind, int len);
	/* the first time after now the score crosses threshold; false: never */
	bool		(*score_crossing) (struct ConditionFacts *cf, double threshold, TimestampTz *when);
	/* the lead row, deformed once for every condition tested on it */
	HeapTuple	row;
	Datum	   *row_values;
	bool	   *row_nulls;
} ConditionFacts;

extern IcpMatcher *icp_matcher_get(IcpMatcher *old, Datum icpdatum,
								   MemoryContext parent);
extern void icp_matcher_free(IcpMatcher *m);

/*
 * Fit (0..100) of a jsonb object, of lead facts given as values in
 * lead_fact_columns order, or of a lead row (a tuple of lead_gen.lead);
 * outcomes (one per criterion) are filled in if not NULL.
 */
extern double icp_fit_jsonb(IcpMatcher *m, Jsonb *doc, IcpOutcome *outcomes);
extern double icp_fit_facts(IcpMatcher *m, Datum *values, bool *nulls,
							IcpOutcome *outcomes);
extern double icp_fit_tuple(IcpMatcher *m, HeapTuple tuple, TupleDesc tupdesc,
							IcpOutcome *outcomes);
extern double icp_fit_row(IcpMatcher *m, HeapTupleHeader row, IcpOutcome *outcomes);

/*
 * Whether a condition holds for a lead row now (unknown is not), and in
 * *until the time before which time alone cannot change that (DT_NOEND:
 * never): the lead's next membership change, if nothing else happens.
 */
extern bool icp_condition_holds(IcpMatcher *m, HeapTuple tuple, TupleDesc tupdesc,
								ConditionFacts *cf, TimestampTz *until);

#endif							/* LEAD_GEN_ICP_H */
