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

#include "icp_format.h"

#define DatumGetIcpP(X)		((IcpHeader *) PG_DETOAST_DATUM(X))
#define PG_GETARG_ICP_P(n)	DatumGetIcpP(PG_GETARG_DATUM(n))

/* How a lead column is read as a fact (see lead_fact_columns in icp.c). */
typedef enum FactKind
{
	FACT_NONE,					/* not a fact: the field is missing */
	FACT_TEXT,
	FACT_NUMBER,				/* int2/int4/int8/float8/numeric */
	FACT_BOOL,
	FACT_JSONB,
	FACT_OTHER,					/* read through its output function */
	FACT_EMAIL_DOMAIN			/* derived from the email column */
} FactKind;

/*
 * An ICP prepared for matching: the value itself, set members folded to
 * lower case once, regular expressions compiled once, and (for lead rows)
 * where each field's column is.  Lives in a memory context of its own, so
 * it can be kept for a whole query (fn_extra) or a whole session (the fit
 * trigger's cache).
 */
typedef struct IcpMatcher
{
	MemoryContext cxt;
	char	   *key;			/* the raw (possibly compressed) datum it was built from */
	Size		keylen;
	IcpHeader  *icp;
	char	  **folded;			/* per value: lower-cased string, or NULL */
	int		   *foldedlen;
	regex_t   **regex;			/* per node: compiled pattern, or NULL */
	char	   *scratch;		/* for folding values */
	int			scratchlen;

	/* lead rows: per node, the column of the field's first name */
	Oid			rowtype;
	TupleDesc	tupdesc;
	AttrNumber *attnum;			/* per node; 0 if no such fact */
	FactKind   *factkind;		/* per node */
	AttrNumber	email_attnum;
	Datum	   *values;			/* the deformed row */
	bool	   *nulls;
} IcpMatcher;

/* What one criterion did. */
typedef struct IcpOutcome
{
	bool		matched;		/* its test was true */
	bool		knockout;		/* it forced fit to 0 */
	double		points;
	double		max_points;
} IcpOutcome;

extern IcpMatcher *icp_matcher_get(IcpMatcher *old, Datum icpdatum,
								   MemoryContext parent);
extern void icp_matcher_free(IcpMatcher *m);

/*
 * Fit (0..100) of a jsonb object or of a lead row (a tuple of the row type
 * lead_gen.lead); outcomes (one per criterion) filled in if not NULL.
 */
extern double icp_fit_jsonb(IcpMatcher *m, Jsonb *doc, IcpOutcome *outcomes);
extern double icp_fit_row(IcpMatcher *m, HeapTupleHeader row, IcpOutcome *outcomes);
extern double icp_fit_tuple(IcpMatcher *m, HeapTuple tuple, TupleDesc tupdesc,
							IcpOutcome *outcomes);

#endif							/* LEAD_GEN_ICP_H */
