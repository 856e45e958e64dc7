/*-------------------------------------------------------------------------
 *
 * icp.c
 *	  The lead_gen.icp type: text and binary I/O, equality, and matching
 *	  against a jsonb document or a lead row.
 *
 * Matching uses three-valued logic, as SQL does: a test on a missing or
 * NULL field is unknown, "not" of unknown is unknown, and a criterion
 * counts only when its test is true.  A test on a JSON array is true when
 * it is true for any element.  See the README, "ICP matching".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/typcache.h"

#include "config.h"
#include "contact.h"
#include "icp.h"

PG_FUNCTION_INFO_V1(lead_gen_icp_in);
PG_FUNCTION_INFO_V1(lead_gen_icp_out);
PG_FUNCTION_INFO_V1(lead_gen_icp_recv);
PG_FUNCTION_INFO_V1(lead_gen_icp_send);
PG_FUNCTION_INFO_V1(lead_gen_icp_eq);
PG_FUNCTION_INFO_V1(lead_gen_icp_ne);
PG_FUNCTION_INFO_V1(lead_gen_icp_hash);
PG_FUNCTION_INFO_V1(lead_gen_icp_match);
PG_FUNCTION_INFO_V1(lead_gen_icp_match_facts);
PG_FUNCTION_INFO_V1(lead_gen_icp_explain);
PG_FUNCTION_INFO_V1(lead_gen_icp_explain_lead);
PG_FUNCTION_INFO_V1(lead_gen_condition_in);
PG_FUNCTION_INFO_V1(lead_gen_condition_recv);

#define ICP_BINARY_VERSION	1	/* first byte of the send/recv format */

/* ------------------------------------------------------------------------
 * Text to ICP, with every check of the language
 * ------------------------------------------------------------------------
 */

static void
report_icp_error(const IcpError *err, const char *text, size_t len, const char *what)
{
	int			sqlstate;

	switch (err->code)
	{
		case ICP_ERR_SYNTAX:
			sqlstate = ERRCODE_SYNTAX_ERROR;
			break;
		case ICP_ERR_VALUE:
			sqlstate = ERRCODE_INVALID_TEXT_REPRESENTATION;
			break;
		case ICP_ERR_LIMIT:
			sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case ICP_ERR_UNKNOWN_FACT:
			sqlstate = ERRCODE_UNDEFINED_COLUMN;
			break;
		default:
			sqlstate = ERRCODE_DATA_CORRUPTED;
			break;
	}

	if (err->pos >= 0 && (size_t) err->pos <= len)
	{
		int			charpos = pg_mbstrlen_with_len(text, err->pos) + 1;
		int			rest = (int) len - err->pos;
		int			near = pg_mbcliplen(text + err->pos, rest, Min(rest, 40));

		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("invalid %s: %s", what, err->message),
				 rest > 0
				 ? errdetail("Error at character %d, near \"%.*s\".", charpos, near, text + err->pos)
				 : errdetail("Error at character %d, the end of the input.", charpos),
				 err->hint[0] ? errhint("%s", err->hint) : 0));
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid %s: %s", what, err->message),
			 err->hint[0] ? errhint("%s", err->hint) : 0));
}

static void
compile_pattern(regex_t *re, const char *pat, int len)
{
	pg_wchar   *wpat = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(pat, wpat, len);
	int			rc = pg_regcomp(re, wpat, wlen, REG_ADVANCED | REG_ICASE,
								DEFAULT_COLLATION_OID);

	pfree(wpat);
	if (rc != REG_OKAY)
	{
		char		msg[256];

		pg_regerror(rc, re, msg, sizeof(msg));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
				 errmsg("invalid regular expression in ICP: %s", msg),
				 errdetail("The pattern is '%.*s'.", len, pat)));
	}
}

/*
 * Parse an ICP or a condition, and reject what the language allows but
 * PostgreSQL does not.
 */
static IcpHeader *
icp_from_text(const char *text, size_t len, bool condition)
{
	IcpError	err;
	size_t		size;
	IcpHeader  *icp = condition ? icp_parse_condition(text, len, &size, &err)
		: icp_parse(text, len, &size, &err);
	const IcpNode *nodes;

	if (icp == NULL)
		report_icp_error(&err, text, len, condition ? "condition" : "ICP");
	SET_VARSIZE(icp, size);

	/* Invalid regular expressions are refused now, not at match time. */
	nodes = ICP_NODES(icp);
	for (int i = 0; i < icp->nnodes; i++)
	{
		if (nodes[i].type == ICP_P_REGEX)
		{
			const IcpValue *v = &ICP_VALUES(icp)[nodes[i].value];
			regex_t		re;

			compile_pattern(&re, ICP_POOL(icp) + v->off, (int) v->len);
			pg_regfree(&re);
		}
	}
	return icp;
}

Datum
lead_gen_icp_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(icp_from_text(s, strlen(s), false));
}

Datum
lead_gen_icp_out(PG_FUNCTION_ARGS)
{
	IcpHeader  *icp = PG_GETARG_ICP_P(0);

	PG_RETURN_CSTRING(icp_print(icp));
}

/*
 * Binary format: a version byte, then the canonical text.  recv parses that
 * text with the same checks as text input, so no binary value can bypass
 * them.
 */
static IcpHeader *
icp_from_binary(StringInfo buf, bool condition)
{
	int			version = pq_getmsgint(buf, 1);
	char	   *text;
	int			nbytes;

	if (version != ICP_BINARY_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported binary format version %d of type lead_gen.%s",
						version, condition ? "condition" : "icp"),
				 errdetail("This version of lead_gen reads format %d.", ICP_BINARY_VERSION)));
	text = pq_getmsgtext(buf, buf->len - buf->cursor, &nbytes);
	return icp_from_text(text, nbytes, condition);
}

Datum
lead_gen_icp_recv(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(icp_from_binary((StringInfo) PG_GETARG_POINTER(0), false));
}

/*
 * lead_gen.condition: the same representation, language and printer; its
 * input reads one test without a weight, over a lead's facts, state and
 * activity.  Output, send, equality and hashing are the ICP's.
 */
Datum
lead_gen_condition_in(PG_FUNCTION_ARGS)
{
	char	   *s = PG_GETARG_CSTRING(0);

	PG_RETURN_POINTER(icp_from_text(s, strlen(s), true));
}

Datum
lead_gen_condition_recv(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(icp_from_binary((StringInfo) PG_GETARG_POINTER(0), true));
}

Datum
lead_gen_icp_send(PG_FUNCTION_ARGS)
{
	IcpHeader  *icp = PG_GETARG_ICP_P(0);
	char	   *text = icp_print(icp);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint8(&buf, ICP_BINARY_VERSION);
	pq_sendtext(&buf, text, strlen(text));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Equal canonical text gives equal bytes (see icp_format.h). */
static bool
icp_equal(IcpHeader *a, IcpHeader *b)
{
	return VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

Datum
lead_gen_icp_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(icp_equal(PG_GETARG_ICP_P(0), PG_GETARG_ICP_P(1)));
}

Datum
lead_gen_icp_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!icp_equal(PG_GETARG_ICP_P(0), PG_GETARG_ICP_P(1)));
}

Datum
lead_gen_icp_hash(PG_FUNCTION_ARGS)
{
	IcpHeader  *icp = PG_GETARG_ICP_P(0);

	PG_RETURN_DATUM(hash_any((unsigned char *) icp + VARHDRSZ, VARSIZE(icp) - VARHDRSZ));
}

/* ------------------------------------------------------------------------
 * The matcher: an ICP prepared once, kept for a query or a session
 * ------------------------------------------------------------------------
 */

static void
matcher_release_regexes(void *arg)
{
	IcpMatcher *m = (IcpMatcher *) arg;

	if (m->regex == NULL)
		return;
	for (int i = 0; i < m->icp->nnodes; i++)
		if (m->regex[i])
			pg_regfree(m->regex[i]);
}

/*
 * Lower-case a string for comparison.  Plain ASCII, the common case, is
 * folded in place in the scratch buffer without a locale lookup; anything
 * else goes through the database collation like lower().  Both sides of a
 * comparison go through here, so they agree.
 */
static const char *
fold(IcpMatcher *m, const char *s, int len, int *outlen)
{
	bool		ascii = true;

	for (int i = 0; i < len && ascii; i++)
		ascii = !IS_HIGHBIT_SET(s[i]);
	if (!ascii)
	{
		char	   *f = str_tolower(s, len, DEFAULT_COLLATION_OID);

		*outlen = strlen(f);
		return f;
	}
	if (m->scratchlen < len + 1)
	{
		int			newlen = Max(len + 1, 256);

		m->scratch = m->scratch ? repalloc(m->scratch, newlen)
			: MemoryContextAlloc(m->cxt, newlen);
		m->scratchlen = newlen;
	}
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		m->scratch[i] = (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
	}
	m->scratch[len] = '\0';
	*outlen = len;
	return m->scratch;
}

const LeadFactColumn lead_fact_columns[LEAD_FACT_COUNT] = {
	{"email", TEXTOID}, {"first_name", TEXTOID}, {"last_name", TEXTOID},
	{"phone", TEXTOID}, {"job_title", TEXTOID}, {"seniority", TEXTOID},
	{"decision_maker", BOOLOID}, {"company_name", TEXTOID}, {"industry", TEXTOID},
	{"employees", INT4OID}, {"annual_revenue", NUMERICOID}, {"country", TEXTOID},
	{"city", TEXTOID}, {"source_channel", TEXTOID}, {"campaign_id", INT8OID},
	{"consent", TEXTOID}, {"budget", NUMERICOID}, {"need", TEXTOID},
	{"authority", BOOLOID}, {"attributes", JSONBOID}
};

/*
 * A pattern such as '(vp|head|chief)' or 'data' is only literal
 * alternatives; "contains any of these words" answers it without running the
 * regex engine.  Returns the folded words, NUL-separated, or NULL when the
 * pattern uses any regular-expression syntax.
 */
static char *
literal_alternatives(IcpMatcher *m, const char *pat, int len, int *outlen)
{
	const char *f;
	char	   *words;
	int			flen;

	if (len >= 2 && pat[0] == '(' && pat[len - 1] == ')')
	{
		pat++;
		len -= 2;
	}
	if (len == 0)
		return NULL;
	for (int i = 0; i < len; i++)
	{
		char		c = pat[i];

		if (!(isalnum((unsigned char) c) || c == ' ' || c == '|' || c == '-' ||
			  c == '_' || c == '@' || c == ',' || c == '/' || c == '&' || c == '\''))
			return NULL;
		if (c == '|' && (i == 0 || i == len - 1 || pat[i + 1] == '|'))
			return NULL;		/* an empty alternative matches everything */
	}
	f = fold(m, pat, len, &flen);
	words = pnstrdup(f, flen);
	for (int i = 0; i < flen; i++)
		if (words[i] == '|')
			words[i] = '\0';
	*outlen = flen;
	return words;
}

/* Which lead fact each test's field names, and the length of that name. */
static void
resolve_facts(IcpMatcher *m)
{
	const IcpHeader *icp = m->icp;

	static bool checked = false;

	/* the parser's list of names must be this file's, in the same order */
	if (!checked)
	{
		for (int k = 0; k < LEAD_FACT_COUNT; k++)
			if (strcmp(icp_condition_facts[k], lead_fact_columns[k].name) != 0)
				elog(ERROR, "icp_condition_facts[%d] is \"%s\", lead_fact_columns[%d] \"%s\"",
					 k, icp_condition_facts[k], k, lead_fact_columns[k].name);
		checked = true;
	}
	m->fact = palloc(icp->nnodes * sizeof(int16));
	m->firstlen = palloc0(icp->nnodes * sizeof(uint16));
	for (int i = 0; i < icp->nnodes; i++)
	{
		const IcpNode *n = &ICP_NODES(icp)[i];
		const char *path = ICP_POOL(icp) + n->field_off;
		int			len;

		m->fact[i] = LEAD_FACT_NONE;
		if (n->type <= ICP_N_NOT)
			continue;
		len = strnlen(path, n->field_len);
		m->firstlen[i] = (uint16) len;
		if (len == 12 && memcmp(path, "email_domain", 12) == 0)
			m->fact[i] = LEAD_FACT_EMAIL_DOMAIN;
		/* a condition's state facts follow email_domain in icp_condition_facts */
		if (ICP_CRITERIA(icp)[0].kind == ICP_CONDITION)
			for (int k = LEAD_FACT_SCORE; icp_condition_facts[k]; k++)
				if ((int) strlen(icp_condition_facts[k]) == len &&
					memcmp(path, icp_condition_facts[k], len) == 0)
					m->fact[i] = (int16) k;
		for (int k = 0; k < LEAD_FACT_COUNT; k++)
			if ((int) strlen(lead_fact_columns[k].name) == len &&
				memcmp(path, lead_fact_columns[k].name, len) == 0)
				m->fact[i] = (int16) k;
	}
}

IcpMatcher *
icp_matcher_get(IcpMatcher *old, Datum icpdatum, MemoryContext parent)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(icpdatum);
	Size		rawlen = VARSIZE_ANY(raw);
	MemoryContext cxt;
	MemoryContext oldcxt;
	IcpMatcher *m;
	IcpHeader  *icp;
	IcpError	err;
	MemoryContextCallback *cb;

	/* The same value as last time (compared as stored, before detoasting). */
	if (old && old->keylen == rawlen && memcmp(old->key, raw, rawlen) == 0)
		return old;
	if (old)
		icp_matcher_free(old);

	cxt = AllocSetContextCreate(parent, "lead_gen ICP matcher", ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	m = palloc0(sizeof(IcpMatcher));
	m->cxt = cxt;
	m->key = palloc(rawlen);
	memcpy(m->key, raw, rawlen);
	m->keylen = rawlen;
	icp = (IcpHeader *) PG_DETOAST_DATUM_COPY(icpdatum);
	m->icp = icp;

	/* A value read from disk is checked once, before any offset is trusted. */
	if (icp_check(icp, VARSIZE(icp), &err) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("%s", err.message)));

	m->folded = palloc0(Max(icp->nvalues, 1) * sizeof(char *));
	m->foldedlen = palloc0(Max(icp->nvalues, 1) * sizeof(int));
	for (uint32 i = 0; i < icp->nvalues; i++)
	{
		const IcpValue *v = &ICP_VALUES(icp)[i];
		const char *f;
		int			flen;

		if (v->type != ICP_V_STRING)
			continue;
		f = fold(m, ICP_POOL(icp) + v->off, (int) v->len, &flen);
		m->folded[i] = pnstrdup(f, flen);
		m->foldedlen[i] = flen;
	}

	cb = palloc0(sizeof(MemoryContextCallback));
	cb->func = matcher_release_regexes;
	cb->arg = m;
	MemoryContextRegisterResetCallback(cxt, cb);
	m->regex = palloc0(icp->nnodes * sizeof(regex_t *));
	m->literals = palloc0(icp->nnodes * sizeof(char *));
	m->literalslen = palloc0(icp->nnodes * sizeof(int));
	for (int i = 0; i < icp->nnodes; i++)
	{
		const IcpNode *n = &ICP_NODES(icp)[i];
		const IcpValue *v;

		if (n->type != ICP_P_REGEX)
			continue;
		v = &ICP_VALUES(icp)[n->value];
		m->regex[i] = palloc0(sizeof(regex_t));
		compile_pattern(m->regex[i], ICP_POOL(icp) + v->off, (int) v->len);
		m->literals[i] = literal_alternatives(m, ICP_POOL(icp) + v->off, (int) v->len,
											  &m->literalslen[i]);
	}

	resolve_facts(m);
	MemoryContextSwitchTo(oldcxt);
	return m;
}

void
icp_matcher_free(IcpMatcher *m)
{
	MemoryContextDelete(m->cxt);
}

/* ------------------------------------------------------------------------
 * Facts: what a field of the ICP resolves to
 * ------------------------------------------------------------------------
 */

typedef enum
{
	TRI_FALSE,
	TRI_TRUE,
	TRI_UNKNOWN
} Tri;

typedef enum
{
	F_MISSING,
	F_STRING,
	F_NUMBER,
	F_BOOL,
	F_CONTAINER					/* a JSON array or object */
} FKind;

typedef struct Fact
{
	FKind		kind;
	const char *str;
	int			len;
	double		num;
	Datum		numdatum;		/* the number as stored, for its text */
	Oid			numtype;
	bool		b;
	JsonbContainer *container;
} Fact;

/* Where facts come from: a jsonb document, or lead facts in column order. */
typedef struct Source
{
	IcpMatcher *m;
	JsonbContainer *doc;		/* jsonb source */
	Datum	   *values;			/* lead source, LEAD_FACT_COUNT of them */
	bool	   *nulls;
	Jsonb	   *attributes;		/* detoasted on first use */
	ConditionFacts *cf;			/* a condition's state facts, or NULL */
} Source;

static void
fact_from_jsonb_value(const JsonbValue *jv, Fact *f)
{
	memset(f, 0, sizeof(*f));
	switch (jv->type)
	{
		case jbvString:
			f->kind = F_STRING;
			f->str = jv->val.string.val;
			f->len = jv->val.string.len;
			break;
		case jbvNumeric:
			f->kind = F_NUMBER;
			f->numdatum = NumericGetDatum(jv->val.numeric);
			f->numtype = NUMERICOID;
			f->num = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
														f->numdatum));
			break;
		case jbvBool:
			f->kind = F_BOOL;
			f->b = jv->val.boolean;
			break;
		case jbvBinary:
			f->kind = F_CONTAINER;
			f->container = jv->val.binary.data;
			break;
		default:
			f->kind = F_MISSING;	/* null */
			break;
	}
}

/* Follow path segments (NUL-separated) from a container. */
static void
walk_container(JsonbContainer *c, const char *path, int len, Fact *f)
{
	int			i = 0;

	f->kind = F_MISSING;
	while (i < len)
	{
		int			j = i;
		JsonbValue	jv;

		while (j < len && path[j] != '\0')
			j++;
		if (!JsonContainerIsObject(c) ||
			getKeyJsonValueFromContainer(c, path + i, j - i, &jv) == NULL)
		{
			f->kind = F_MISSING;
			return;
		}
		if (j >= len)
		{
			fact_from_jsonb_value(&jv, f);
			return;
		}
		if (jv.type != jbvBinary)
			return;				/* a scalar has no keys */
		c = jv.val.binary.data;
		i = j + 1;
	}
}

/* A whole jsonb value as a fact: a scalar root is that scalar. */
static void
fact_from_jsonb(Jsonb *jb, Fact *f)
{
	JsonbValue	jv;

	if (JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &jv))
		fact_from_jsonb_value(&jv, f);
	else
	{
		memset(f, 0, sizeof(*f));
		f->kind = F_CONTAINER;
		f->container = &jb->root;
	}
}

static void
number_fact(Fact *f, double v)
{
	f->kind = F_NUMBER;
	f->num = v;
	f->numdatum = Float8GetDatum(v);
	f->numtype = FLOAT8OID;
}

static void
string_fact(Fact *f, const char *s)
{
	if (s == NULL)
		return;
	f->kind = F_STRING;
	f->str = s;
	f->len = strlen(s);
}

/* days from a time to another, as a fraction */
static double
days_between(TimestampTz from, TimestampTz to)
{
	return (double) (to - from) / (double) USECS_PER_DAY;
}

/* A condition's fact about the lead's state, as of cf->now. */
static void
state_fact(ConditionFacts *cf, int fact, Fact *f)
{
	switch (fact)
	{
		case LEAD_FACT_SCORE:
			number_fact(f, cf->score);
			break;
		case LEAD_FACT_TEMPERATURE:
			string_fact(f, cf->temperature);
			break;
		case LEAD_FACT_STAGE:
			string_fact(f, cf->stage);
			break;
		case LEAD_FACT_GRADE:
			string_fact(f, cf->grade);
			break;
		case LEAD_FACT_FIT:
			if (cf->has_fit)
				number_fact(f, cf->fit);
			break;
		case LEAD_FACT_DAYS_IN_STAGE:
			if (cf->stage_changed_at != 0)
				number_fact(f, days_between(cf->stage_changed_at, cf->now));
			break;
		case LEAD_FACT_PREDICTION:
			if (cf->has_prediction)
				number_fact(f, cf->prediction);
			break;
	}
}

static void
fact_from_column(Source *src, int node, const char *path, int len, Fact *f)
{
	IcpMatcher *m = src->m;
	int			fact = m->fact[node];
	int			first = m->firstlen[node];
	int			column = fact == LEAD_FACT_EMAIL_DOMAIN ? LEAD_FACT_EMAIL : fact;
	Datum		d;

	memset(f, 0, sizeof(*f));
	f->kind = F_MISSING;
	if (fact >= LEAD_FACT_SCORE)
	{
		if (src->cf && first == len)
			state_fact(src->cf, fact, f);
		return;
	}
	if (fact == LEAD_FACT_NONE || src->nulls[column])
		return;
	d = src->values[column];

	if (fact == LEAD_FACT_ATTRIBUTES)
	{
		if (src->attributes == NULL)
			src->attributes = DatumGetJsonbP(d);
		if (first < len)
			walk_container(&src->attributes->root, path + first + 1, len - first - 1, f);
		else
			fact_from_jsonb(src->attributes, f);
		return;
	}
	if (first < len)
		return;					/* scalar columns have no sub-fields */

	if (fact == LEAD_FACT_EMAIL_DOMAIN)
	{
		text	   *t = DatumGetTextPP(d);
		const char *s = VARDATA_ANY(t);
		int			n = VARSIZE_ANY_EXHDR(t);
		int			off = email_domain_offset(s, n);

		if (off < 0)
			return;
		f->kind = F_STRING;
		f->str = s + off;
		f->len = n - off;
		return;
	}

	switch (lead_fact_columns[fact].type)
	{
		case TEXTOID:
			{
				text	   *t = DatumGetTextPP(d);

				f->kind = F_STRING;
				f->str = VARDATA_ANY(t);
				f->len = VARSIZE_ANY_EXHDR(t);
				break;
			}
		case BOOLOID:
			f->kind = F_BOOL;
			f->b = DatumGetBool(d);
			break;
		case INT4OID:
			f->kind = F_NUMBER;
			f->numdatum = d;
			f->numtype = INT4OID;
			f->num = DatumGetInt32(d);
			break;
		case INT8OID:
			f->kind = F_NUMBER;
			f->numdatum = d;
			f->numtype = INT8OID;
			f->num = (double) DatumGetInt64(d);
			break;
		default:
			f->kind = F_NUMBER;
			f->numdatum = d;
			f->numtype = NUMERICOID;
			f->num = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
			break;
	}
}

static void
fetch_fact(Source *src, int node, Fact *f)
{
	const IcpHeader *icp = src->m->icp;
	const IcpNode *n = &ICP_NODES(icp)[node];
	const char *path = ICP_POOL(icp) + n->field_off;

	if (src->doc)
		walk_container(src->doc, path, n->field_len, f);
	else
		fact_from_column(src, node, path, n->field_len, f);
}

/* A string fact as text; a number or boolean by its text form. */
static bool
fact_text(const Fact *f, const char **s, int *len)
{
	switch (f->kind)
	{
		case F_STRING:
			*s = f->str;
			*len = f->len;
			return true;
		case F_BOOL:
			*s = f->b ? "true" : "false";
			*len = strlen(*s);
			return true;
		case F_NUMBER:
			{
				Oid			outfunc;
				bool		isvarlena;

				getTypeOutputInfo(f->numtype, &outfunc, &isvarlena);
				*s = OidOutputFunctionCall(outfunc, f->numdatum);
				*len = strlen(*s);
				return true;
			}
		default:
			return false;
	}
}

/* A number fact, or a string that is exactly a number. */
static bool
fact_number(const Fact *f, double *out)
{
	if (f->kind == F_NUMBER)
	{
		*out = f->num;
		return true;
	}
	if (f->kind == F_STRING && f->len > 0 && f->len < 64 &&
		icp_number_length(f->str, f->len) == f->len)
	{
		char		tmp[64];

		memcpy(tmp, f->str, f->len);
		tmp[f->len] = '\0';
		*out = strtod(tmp, NULL);
		return isfinite(*out);
	}
	return false;
}

/* ------------------------------------------------------------------------
 * Evaluation
 * ------------------------------------------------------------------------
 */

static bool
is_ascii(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (IS_HIGHBIT_SET(s[i]))
			return false;
	return true;
}

static Tri
tri_not(Tri t)
{
	return t == TRI_UNKNOWN ? TRI_UNKNOWN : (t == TRI_TRUE ? TRI_FALSE : TRI_TRUE);
}

/*
 * The positive form of a test ("in", "=", "~*") on one scalar fact; the
 * caller negates for "not in", "!=", "!~*".
 */
static Tri
eval_scalar(IcpMatcher *m, int node, const Fact *f)
{
	const IcpHeader *icp = m->icp;
	const IcpNode *n = &ICP_NODES(icp)[node];
	const IcpValue *values = ICP_VALUES(icp);
	const char *s;
	int			len;
	double		num;

	switch (n->type)
	{
		case ICP_P_IN:
		case ICP_P_CMP:
			if (n->type == ICP_P_CMP && n->op >= ICP_OP_LT)
			{
				double		v = values[n->value].num;

				if (!fact_number(f, &num))
					return TRI_UNKNOWN;
				switch (n->op)
				{
					case ICP_OP_LT:
						return num < v ? TRI_TRUE : TRI_FALSE;
					case ICP_OP_LE:
						return num <= v ? TRI_TRUE : TRI_FALSE;
					case ICP_OP_GT:
						return num > v ? TRI_TRUE : TRI_FALSE;
					default:
						return num >= v ? TRI_TRUE : TRI_FALSE;
				}
			}
			else
			{
				bool		have_num = fact_number(f, &num);
				bool		have_text = fact_text(f, &s, &len);
				int			count = n->type == ICP_P_IN ? n->count : 1;
				const char *folded = NULL;
				int			flen = 0;

				if (!have_num && !have_text)
					return TRI_UNKNOWN;
				for (int i = 0; i < count; i++)
				{
					uint32		vi = n->value + i;

					if (values[vi].type == ICP_V_NUMBER)
					{
						if (have_num && num == values[vi].num)
							return TRI_TRUE;
						continue;
					}
					if (!have_text)
						continue;
					if (folded == NULL)
						folded = fold(m, s, len, &flen);
					if (flen == m->foldedlen[vi] && memcmp(folded, m->folded[vi], flen) == 0)
						return TRI_TRUE;
				}
				return TRI_FALSE;
			}
		case ICP_P_RANGE:
			if (!fact_number(f, &num))
				return TRI_UNKNOWN;
			return num >= n->lo && num <= n->hi ? TRI_TRUE : TRI_FALSE;
		case ICP_P_REGEX:
			{
				pg_wchar   *wdata;
				int			wlen;
				int			rc;

				if (!fact_text(f, &s, &len))
					return TRI_UNKNOWN;
				if (m->literals[node] && is_ascii(s, len))
				{
					int			hlen;
					const char *hay = fold(m, s, len, &hlen);
					const char *w = m->literals[node];
					const char *end = w + m->literalslen[node];

					for (; w < end; w += strlen(w) + 1)
						if (memmem(hay, hlen, w, strlen(w)))
							return TRI_TRUE;
					return TRI_FALSE;
				}
				wdata = palloc((len + 1) * sizeof(pg_wchar));
				wlen = pg_mb2wchar_with_len(s, wdata, len);
				rc = pg_regexec(m->regex[node], wdata, wlen, 0, NULL, 0, NULL, 0);
				pfree(wdata);
				if (rc == REG_OKAY)
					return TRI_TRUE;
				if (rc == REG_NOMATCH)
					return TRI_FALSE;
				{
					char		msg[256];

					pg_regerror(rc, m->regex[node], msg, sizeof(msg));
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
							 errmsg("regular expression failed: %s", msg)));
				}
				return TRI_UNKNOWN;
			}
		case ICP_P_PREFIX:
		case ICP_P_SUFFIX:
		case ICP_P_CONTAINS:
			{
				const char *needle = m->folded[n->value];
				int			nlen = m->foldedlen[n->value];
				const char *hay;
				int			hlen;

				if (!fact_text(f, &s, &len))
					return TRI_UNKNOWN;
				hay = fold(m, s, len, &hlen);
				if (nlen > hlen)
					return TRI_FALSE;
				if (n->type == ICP_P_PREFIX)
					return memcmp(hay, needle, nlen) == 0 ? TRI_TRUE : TRI_FALSE;
				if (n->type == ICP_P_SUFFIX)
					return memcmp(hay + hlen - nlen, needle, nlen) == 0 ? TRI_TRUE : TRI_FALSE;
				return nlen == 0 || memmem(hay, hlen, needle, nlen) ? TRI_TRUE : TRI_FALSE;
			}
		case ICP_P_IS:
			if (f->kind == F_BOOL)
				return f->b == (n->op == ICP_IS_TRUE) ? TRI_TRUE : TRI_FALSE;
			if (f->kind == F_STRING)
			{
				if (f->len == 4 && pg_strncasecmp(f->str, "true", 4) == 0)
					return n->op == ICP_IS_TRUE ? TRI_TRUE : TRI_FALSE;
				if (f->len == 5 && pg_strncasecmp(f->str, "false", 5) == 0)
					return n->op == ICP_IS_FALSE ? TRI_TRUE : TRI_FALSE;
			}
			return TRI_UNKNOWN;
	}
	return TRI_UNKNOWN;
}

static bool
negated(const IcpNode *n)
{
	return (n->type == ICP_P_IN && n->op == 1) ||
		(n->type == ICP_P_CMP && n->op == ICP_OP_NE) ||
		(n->type == ICP_P_REGEX && n->op == 1);
}

static Tri eval_fact(IcpMatcher *m, int node, const Fact *f);

static Tri
eval_predicate(Source *src, int node)
{
	Fact		f;

	fetch_fact(src, node, &f);
	return eval_fact(src->m, node, &f);
}

/* A test on the fact it names. */
static Tri
eval_fact(IcpMatcher *m, int node, const Fact *fp)
{
	const IcpNode *n = &ICP_NODES(m->icp)[node];
	Fact		f = *fp;
	Tri			result;

	if (n->type == ICP_P_IS && (n->op == ICP_IS_PRESENT || n->op == ICP_IS_ABSENT))
		return (f.kind != F_MISSING) == (n->op == ICP_IS_PRESENT) ? TRI_TRUE : TRI_FALSE;
	if (f.kind == F_MISSING)
		return TRI_UNKNOWN;

	if (f.kind == F_CONTAINER)
	{
		uint32		size;

		if (!JsonContainerIsArray(f.container))
			return TRI_UNKNOWN;
		/* an array: true if the test is true for any element */
		result = TRI_FALSE;
		size = JsonContainerSize(f.container);
		for (uint32 i = 0; i < size && result != TRI_TRUE; i++)
		{
			JsonbValue *elem = getIthJsonbValueFromContainer(f.container, i);
			Fact		ef;
			Tri			t;

			fact_from_jsonb_value(elem, &ef);
			t = (ef.kind == F_MISSING || ef.kind == F_CONTAINER)
				? TRI_UNKNOWN : eval_scalar(m, node, &ef);
			if (t == TRI_TRUE || result == TRI_FALSE)
				result = t;
		}
	}
	else
		result = eval_scalar(m, node, &f);

	return negated(n) ? tri_not(result) : result;
}

static Tri
eval_node(Source *src, int node)
{
	const IcpNode *n = &ICP_NODES(src->m->icp)[node];

	switch (n->type)
	{
		case ICP_N_NOT:
			return tri_not(eval_node(src, node + 1));
		case ICP_N_AND:
		case ICP_N_OR:
			{
				Tri			stop = n->type == ICP_N_AND ? TRI_FALSE : TRI_TRUE;
				Tri			result = n->type == ICP_N_AND ? TRI_TRUE : TRI_FALSE;
				int			kid = node + 1;

				for (int i = 0; i < n->count; i++)
				{
					Tri			t = eval_node(src, kid);

					if (t == stop)
						return stop;
					if (t == TRI_UNKNOWN)
						result = TRI_UNKNOWN;
					kid += ICP_NODES(src->m->icp)[kid].size;
				}
				return result;
			}
		default:
			return eval_predicate(src, node);
	}
}

/* ------------------------------------------------------------------------
 * Conditions: the answer now, and until when time alone keeps it
 * ------------------------------------------------------------------------
 */

/* A test on a number. */
static Tri
test_number(IcpMatcher *m, int node, double v)
{
	Fact		f;

	memset(&f, 0, sizeof(f));
	number_fact(&f, v);
	return eval_fact(m, node, &f);
}

/* The numbers a test compares with: the only places its answer can change. */
static int
test_constants(const IcpHeader *icp, const IcpNode *n, double *out)
{
	int			k = 0;

	if (n->type == ICP_P_RANGE)
	{
		out[k++] = n->lo;
		out[k++] = n->hi;
	}
	else if (n->type == ICP_P_IN || n->type == ICP_P_CMP)
		for (int i = 0; i < n->count; i++)
			if (ICP_VALUES(icp)[n->value + i].type == ICP_V_NUMBER)
				out[k++] = ICP_VALUES(icp)[n->value + i].num;
	return k;
}

/*
 * A test on days since "origin", which grow with time: the first time after
 * now its answer differs from "current" (DT_NOEND: never).  The answer can
 * change only where the days reach one of the test's numbers, so those
 * instants (and the next microsecond) are the only ones to try.
 */
static TimestampTz
days_until(IcpMatcher *m, int node, TimestampTz origin, TimestampTz now, Tri current)
{
	const IcpNode *n = &ICP_NODES(m->icp)[node];
	double	   *c = palloc((n->count + 2) * sizeof(double));
	int			nc = test_constants(m->icp, n, c);
	TimestampTz best = DT_NOEND;

	for (int i = 0; i < nc; i++)
	{
		double		us = ceil(c[i] * (double) USECS_PER_DAY);
		TimestampTz t;

		if (!(fabs(us) < 1e17))
			continue;			/* beyond every timestamp */
		t = origin + (int64) us;
		for (int d = 0; d < 2; d++, t++)
			if (t > now && t < best &&
				test_number(m, node, days_between(origin, t)) != current)
				best = t;
	}
	pfree(c);
	return best;
}

/* A test on the score: the first time the score crosses one of its numbers. */
static TimestampTz
score_until(Source *src, int node)
{
	const IcpNode *n = &ICP_NODES(src->m->icp)[node];
	double	   *c = palloc((n->count + 2) * sizeof(double));
	int			nc = test_constants(src->m->icp, n, c);
	TimestampTz best = DT_NOEND;

	for (int i = 0; i < nc; i++)
	{
		TimestampTz when;

		if (src->cf->score_crossing(src->cf, c[i], &when) && when < best)
			best = when;
	}
	pfree(c);
	return best;
}

/*
 * count(kind [within window]) TEST: activity leaves the window one by one as
 * time passes (ties together), and the answer is tried at each departure.
 */
static Tri
eval_count(Source *src, int node, const ConditionActivity *a, TimestampTz *until)
{
	const IcpNode *n = &ICP_NODES(src->m->icp)[node];
	TimestampTz now = src->cf->now;
	int64		window;
	int			lo = 0;
	int			hi = a->count;
	Tri			current;

	*until = DT_NOEND;
	if (n->hi == 0)
		return test_number(src->m, node + 1, a->count);
	window = (int64) (n->lo * n->hi * USECS_PER_SEC);
	/* the first activity inside (now - window, ...) */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (a->times[mid] > now - window)
			hi = mid;
		else
			lo = mid + 1;
	}
	current = test_number(src->m, node + 1, a->count - lo);
	for (int i = lo; i < a->count; i++)
	{
		int			j = i;

		while (j + 1 < a->count && a->times[j + 1] == a->times[i])
			j++;
		if (test_number(src->m, node + 1, a->count - (j + 1)) != current)
		{
			*until = a->times[i] + window;
			break;
		}
		i = j;
	}
	return current;
}

static Tri
eval_timed(Source *src, int node, TimestampTz *until)
{
	IcpMatcher *m = src->m;
	const IcpNode *n = &ICP_NODES(m->icp)[node];
	ConditionFacts *cf = src->cf;
	const ConditionActivity *a;
	Tri			t;

	switch (n->type)
	{
		case ICP_N_NOT:
			return tri_not(eval_timed(src, node + 1, until));
		case ICP_N_AND:
		case ICP_N_OR:
			{
				/*
				 * Decided by a false (and) or true (or) operand: it stays so
				 * while any of those does.  Otherwise: while all stay.
				 */
				Tri			stop = n->type == ICP_N_AND ? TRI_FALSE : TRI_TRUE;
				Tri			result = n->type == ICP_N_AND ? TRI_TRUE : TRI_FALSE;
				bool		stopped = false;
				TimestampTz stop_until = 0;
				TimestampTz all_until = DT_NOEND;
				int			kid = node + 1;

				for (int i = 0; i < n->count; i++)
				{
					TimestampTz u;

					t = eval_timed(src, kid, &u);
					kid += ICP_NODES(m->icp)[kid].size;
					if (t == stop)
					{
						stopped = true;
						stop_until = Max(stop_until, u);
						if (u == DT_NOEND)
							break;
						continue;
					}
					if (t == TRI_UNKNOWN)
						result = TRI_UNKNOWN;
					all_until = Min(all_until, u);
				}
				*until = stopped ? stop_until : all_until;
				return stopped ? stop : result;
			}
		case ICP_P_NEVER:
			a = cf->activity(cf, ICP_POOL(m->icp) + n->field_off, n->field_len);
			*until = DT_NOEND;
			return a->count == 0 ? TRI_TRUE : TRI_FALSE;
		case ICP_N_FACT:
			a = cf->activity(cf, ICP_POOL(m->icp) + n->field_off, n->field_len);
			if (n->op == ICP_FACT_COUNT)
				return eval_count(src, node, a, until);
			if (a->count == 0)
			{
				Fact		missing;

				memset(&missing, 0, sizeof(missing));
				*until = DT_NOEND;
				return eval_fact(m, node + 1, &missing);
			}
			t = test_number(m, node + 1, days_between(a->times[a->count - 1], cf->now));
			*until = days_until(m, node + 1, a->times[a->count - 1], cf->now, t);
			return t;
		default:
			t = eval_predicate(src, node);
			*until = DT_NOEND;
			if (m->fact[node] == LEAD_FACT_SCORE)
				*until = score_until(src, node);
			else if (m->fact[node] == LEAD_FACT_TEMPERATURE)
				*until = cf->temperature_until(cf);
			else if (m->fact[node] == LEAD_FACT_DAYS_IN_STAGE && cf->stage_changed_at != 0)
				*until = days_until(m, node, cf->stage_changed_at, cf->now, t);
			return t;
	}
}

/*
 * fit = 0 if a knock-out fires; otherwise
 *		 100 * (sum of weights of true criteria) / (sum of positive weights),
 *		 clamped to 0..100; 100 for a profile of knock-outs only.
 */
static double
evaluate(Source *src, IcpOutcome *outcomes)
{
	const IcpHeader *icp = src->m->icp;
	double		points = 0;
	bool		knocked = false;

	for (int i = 0; i < icp->ncriteria; i++)
	{
		const IcpCriterion *c = &ICP_CRITERIA(icp)[i];
		bool		matched = eval_node(src, c->root) == TRI_TRUE;
		bool		ko = (c->kind == ICP_MUST && !matched) ||
			(c->kind == ICP_MUST_NOT && matched);

		if (c->kind == ICP_WEIGHTED && matched)
			points += c->weight;
		knocked |= ko;
		if (outcomes)
		{
			outcomes[i].matched = matched;
			outcomes[i].knockout = ko;
			outcomes[i].points = (c->kind == ICP_WEIGHTED && matched) ? c->weight : 0;
			outcomes[i].max_points = c->kind == ICP_WEIGHTED ? Max(c->weight, 0) : 0;
		}
		/* without explanations, the first knock-out settles it */
		else if (ko)
			return 0;
	}
	if (knocked)
		return 0;
	if (icp->total_positive <= 0)
		return 100;
	return Min(Max(100.0 * points / icp->total_positive, 0.0), 100.0);
}

double
icp_fit_jsonb(IcpMatcher *m, Jsonb *doc, IcpOutcome *outcomes)
{
	Source		src = {0};
	JsonbContainer empty;

	src.m = m;
	src.doc = &doc->root;
	if (!JB_ROOT_IS_OBJECT(doc))
	{
		/* not an object: every field is missing */
		memset(&empty, 0, sizeof(empty));
		empty.header = JB_FOBJECT;
		src.doc = &empty;
	}
	return evaluate(&src, outcomes);
}

double
icp_fit_facts(IcpMatcher *m, Datum *values, bool *nulls, IcpOutcome *outcomes)
{
	Source		src = {0};

	src.m = m;
	src.values = values;
	src.nulls = nulls;
	return evaluate(&src, outcomes);
}

/* Where each fact's column is in a row type; checked once per row type. */
static void
resolve_columns(IcpMatcher *m, TupleDesc tupdesc)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(m->cxt);

	if (m->tupdesc)
	{
		FreeTupleDesc(m->tupdesc);
		pfree(m->rowvalues);
		pfree(m->rownulls);
	}
	m->tupdesc = CreateTupleDescCopy(tupdesc);
	m->rowvalues = palloc(tupdesc->natts * sizeof(Datum));
	m->rownulls = palloc(tupdesc->natts * sizeof(bool));
	for (int k = 0; k < LEAD_FACT_COUNT; k++)
	{
		m->fact_attnum[k] = InvalidAttrNumber;
		for (int i = 0; i < tupdesc->natts; i++)
		{
			Form_pg_attribute a = TupleDescAttr(tupdesc, i);

			if (a->attisdropped || strcmp(NameStr(a->attname), lead_fact_columns[k].name) != 0)
				continue;
			if (getBaseType(a->atttypid) != lead_fact_columns[k].type)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column \"%s\" of a lead has type %s, not %s",
								lead_fact_columns[k].name, format_type_be(a->atttypid),
								format_type_be(lead_fact_columns[k].type))));
			m->fact_attnum[k] = a->attnum;
		}
	}
	MemoryContextSwitchTo(oldcxt);
}

/*
 * The facts of a lead row, in lead_fact_columns order; from cf's deformed
 * row when it is this row (many conditions tested on one lead).
 */
static void
tuple_facts(IcpMatcher *m, HeapTuple tuple, TupleDesc tupdesc, const ConditionFacts *cf,
			Datum *values, bool *nulls)
{
	Datum	   *rowvalues;
	bool	   *rownulls;

	/* resolved once; again only if the table was altered since */
	if (m->seen != tupdesc || m->seen_generation != config_generation())
	{
		if (m->tupdesc == NULL || !equalTupleDescs(m->tupdesc, tupdesc))
			resolve_columns(m, tupdesc);
		/* the same descriptor again, with no relcache change between: equal */
		m->seen = tupdesc;
		m->seen_generation = config_generation();
	}
	if (cf != NULL && cf->row == tuple)
	{
		rowvalues = cf->row_values;
		rownulls = cf->row_nulls;
	}
	else
	{
		rowvalues = m->rowvalues;
		rownulls = m->rownulls;
		heap_deform_tuple(tuple, tupdesc, rowvalues, rownulls);
	}
	for (int k = 0; k < LEAD_FACT_COUNT; k++)
	{
		AttrNumber	att = m->fact_attnum[k];

		nulls[k] = att == InvalidAttrNumber || rownulls[att - 1];
		values[k] = nulls[k] ? (Datum) 0 : rowvalues[att - 1];
	}
}

double
icp_fit_tuple(IcpMatcher *m, HeapTuple tuple, TupleDesc tupdesc, IcpOutcome *outcomes)
{
	Datum		values[LEAD_FACT_COUNT];
	bool		nulls[LEAD_FACT_COUNT];

	tuple_facts(m, tuple, tupdesc, NULL, values, nulls);
	return icp_fit_facts(m, values, nulls, outcomes);
}

bool
icp_condition_holds(IcpMatcher *m, HeapTuple tuple, TupleDesc tupdesc, ConditionFacts *cf,
					TimestampTz *until)
{
	Datum		values[LEAD_FACT_COUNT];
	bool		nulls[LEAD_FACT_COUNT];
	Source		src = {0};

	if (ICP_CRITERIA(m->icp)[0].kind != ICP_CONDITION)
		elog(ERROR, "icp_condition_holds: not a condition");
	tuple_facts(m, tuple, tupdesc, cf, values, nulls);
	src.m = m;
	src.values = values;
	src.nulls = nulls;
	src.cf = cf;
	return eval_timed(&src, ICP_CRITERIA(m->icp)[0].root, until) == TRI_TRUE;
}

double
icp_fit_row(IcpMatcher *m, HeapTupleHeader row, IcpOutcome *outcomes)
{
	HeapTupleData tuple;
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
												 HeapTupleHeaderGetTypMod(row));
	double		fit;

	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&(tuple.t_self));
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	fit = icp_fit_tuple(m, &tuple, tupdesc, outcomes);
	ReleaseTupleDesc(tupdesc);
	return fit;
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------
 */

/*
 * The matcher for this call site: built on the first call, kept while the
 * ICP argument stays the same.  A constant or parameter cannot change during
 * the query, so then not even the comparison is repeated.
 */
static IcpMatcher *
matcher_for_call(FunctionCallInfo fcinfo)
{
	IcpMatcher *m = (IcpMatcher *) fcinfo->flinfo->fn_extra;

	if (m != NULL && m->stable_arg)
		return m;
	m = icp_matcher_get(m, PG_GETARG_DATUM(0), fcinfo->flinfo->fn_mcxt);
	m->stable_arg = get_fn_expr_arg_stable(fcinfo->flinfo, 0);
	fcinfo->flinfo->fn_extra = m;
	return m;
}

Datum
lead_gen_icp_match(PG_FUNCTION_ARGS)
{
	IcpMatcher *m = matcher_for_call(fcinfo);

	PG_RETURN_FLOAT8(icp_fit_jsonb(m, PG_GETARG_JSONB_P(1), NULL));
}

/*
 * icp_match_facts(icp, email, ..., attributes): what icp_match(icp, lead)
 * inlines to, so that a query passes the fact columns straight from the scan
 * instead of forming and taking apart a whole row.  Not strict (a lead has
 * NULL columns); NULL when the ICP is NULL or the lead is (attributes is NOT
 * NULL in every lead).
 */
Datum
lead_gen_icp_match_facts(PG_FUNCTION_ARGS)
{
	IcpMatcher *m;
	Datum		values[LEAD_FACT_COUNT];
	bool		nulls[LEAD_FACT_COUNT];

	if (PG_NARGS() != LEAD_FACT_COUNT + 1)
		elog(ERROR, "icp_match_facts: expected %d arguments", LEAD_FACT_COUNT + 1);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1 + LEAD_FACT_ATTRIBUTES))
		PG_RETURN_NULL();
	m = matcher_for_call(fcinfo);
	for (int k = 0; k < LEAD_FACT_COUNT; k++)
	{
		nulls[k] = PG_ARGISNULL(k + 1);
		values[k] = nulls[k] ? (Datum) 0 : PG_GETARG_DATUM(k + 1);
	}
	PG_RETURN_FLOAT8(icp_fit_facts(m, values, nulls, NULL));
}

static void
explain_rows(FunctionCallInfo fcinfo, IcpMatcher *m, IcpOutcome *outcomes)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const IcpHeader *icp = m->icp;

	for (int i = 0; i < icp->ncriteria; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {0};
		const IcpCriterion *c = &ICP_CRITERIA(icp)[i];

		values[0] = CStringGetTextDatum(icp_print_criterion(icp, i));
		values[1] = CStringGetTextDatum(c->kind == ICP_MUST ? "must"
										: c->kind == ICP_MUST_NOT ? "must not" : "weighted");
		values[2] = BoolGetDatum(outcomes[i].matched);
		values[3] = Float8GetDatum(outcomes[i].points);
		values[4] = Float8GetDatum(outcomes[i].max_points);
		values[5] = BoolGetDatum(outcomes[i].knockout);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* icp_explain(icp, jsonb) and icp_explain(icp, lead): one row per criterion */
static Datum
explain(FunctionCallInfo fcinfo, bool lead)
{
	IcpMatcher *m;
	IcpOutcome *outcomes;

	InitMaterializedSRF(fcinfo, 0);
	m = matcher_for_call(fcinfo);
	outcomes = palloc0(m->icp->ncriteria * sizeof(IcpOutcome));
	if (lead)
		icp_fit_row(m, PG_GETARG_HEAPTUPLEHEADER(1), outcomes);
	else
		icp_fit_jsonb(m, PG_GETARG_JSONB_P(1), outcomes);
	explain_rows(fcinfo, m, outcomes);
	return (Datum) 0;
}

Datum
lead_gen_icp_explain(PG_FUNCTION_ARGS)
{
	return explain(fcinfo, false);
}

Datum
lead_gen_icp_explain_lead(PG_FUNCTION_ARGS)
{
	return explain(fcinfo, true);
}
