/*-------------------------------------------------------------------------
 *
 * model_feature.c
 *	  The facts a predictive model learns from, and how they are read.
 *
 * Training (model_train.c) and prediction (predict.c) read a feature with
 * the same code, so a stored lead is predicted from exactly the values its
 * model was trained on.  Every value is read as text, the way SQL prints it
 * (a column's output function, attributes ->> key); numeric features parse
 * that text.  Counts of activity are computed in SQL for training
 * (model_feature_count_sql) and by an index scan for prediction (predict.c),
 * both over [.., created_at + N * 24 hours): days of 24 hours, whatever the
 * time zone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "model_feature.h"

typedef struct LeadFact
{
	const char *name;
	bool		numeric;
} LeadFact;

/* the facts of a lead (doc/icp.md) a model may learn from */
static const LeadFact lead_facts[] = {
	{"job_title", false}, {"seniority", false}, {"decision_maker", false},
	{"company_name", false}, {"industry", false}, {"employees", true},
	{"annual_revenue", true}, {"country", false}, {"city", false},
	{"source_channel", false}, {"campaign_id", false}, {"consent", false},
	{"budget", true}, {"authority", false}, {"fit", true},
};

/* columns that follow from the outcome, or identify one person */
static const char *const outcome_columns[] = {
	"stage", "peak_stage", "temperature", "score", "engagement", "mql_at",
	"stage_changed_at", "recycled_from", "next_change_at", "scored_at",
	"prediction", "grade", "timeline", "updated_at", "first_touch_at", NULL
};
static const char *const identity_columns[] = {
	"lead_id", "email", "first_name", "last_name", "phone", "need", "created_at",
	"forgotten_at", NULL
};

static bool
in_list(const char *name, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

static void
unknown_feature(const char *text, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("\"%s\" is not a fact a model can learn from", text),
			 errhint("%s", hint)));
}

#define FACTS_HINT "Features are lead facts (job_title, seniority, decision_maker, company_name, " \
	"industry, employees, annual_revenue, country, city, source_channel, campaign_id, consent, " \
	"budget, authority, fit, email_domain), attributes.<name>, count(kind) and " \
	"count(kind in first N days)."

static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	return p;
}

/* a word [a-z0-9_]+ at p; returns its end */
static const char *
word_end(const char *p)
{
	while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
		p++;
	return p;
}

static bool
match_word(const char **p, const char *word)
{
	size_t		len = strlen(word);

	if (strncmp(*p, word, len) != 0 || word_end(*p) != *p + len)
		return false;
	*p = skip_space(*p + len);
	return true;
}

static void
parse_count(const char *text, const char *p, ModelFeature *feature)
{
	const char *kind = skip_space(p);
	const char *end = word_end(kind);
	char	   *kind_name;

	if (end == kind || !(kind[0] >= 'a' && kind[0] <= 'z') || end - kind > 63)
		unknown_feature(text, "count() takes an activity kind ([a-z][a-z0-9_]*) or any.");
	kind_name = pnstrdup(kind, end - kind);
	p = skip_space(end);
	feature->days = 0;
	if (match_word(&p, "in"))
	{
		const char *digits;
		long		days;

		if (!match_word(&p, "first"))
			unknown_feature(text, "Write count(kind in first N days).");
		digits = p;
		while (isdigit((unsigned char) *p))
			p++;
		days = (p > digits && p - digits <= 4) ? strtol(digits, NULL, 10) : 0;
		if (days < 1 || days > 3650)
			unknown_feature(text, "The first days are a whole number from 1 to 3650.");
		p = skip_space(p);
		if (!match_word(&p, "days") && !match_word(&p, "day"))
			unknown_feature(text, "Write count(kind in first N days).");
		feature->days = (int) days;
	}
	if (*p != ')' || *skip_space(p + 1) != '\0')
		unknown_feature(text, "Write count(kind) or count(kind in first N days).");
	feature->source = FEATURE_COUNT;
	feature->numeric = true;
	feature->key = kind_name;
	feature->name = feature->days > 0
		? psprintf("count(%s in first %d days)", kind_name, feature->days)
		: psprintf("count(%s)", kind_name);
}

void
model_feature_parse(const char *text, ModelFeature *feature)
{
	const char *p = skip_space(text);
	size_t		len;
	char	   *name;

	memset(feature, 0, sizeof(*feature));
	len = strlen(p);
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n'))
		len--;
	name = pnstrdup(p, len);

	if (strncmp(name, "count", 5) == 0 && *skip_space(name + 5) == '(')
	{
		parse_count(text, skip_space(name + 5) + 1, feature);
		return;
	}
	if (strncmp(name, "attributes.", 11) == 0)
	{
		const char *key = name + 11;

		if (*key == '\0' || strlen(key) > 200 || strpbrk(key, " \t\n\"'()") != NULL)
			unknown_feature(text, "An attribute is named attributes.<key>, a key without spaces, quotes or parentheses.");
		feature->source = FEATURE_ATTRIBUTE;
		feature->key = pstrdup(key);
		feature->name = name;
		feature->numeric = false;	/* training decides */
		return;
	}
	if (strcmp(name, "email_domain") == 0)
	{
		feature->source = FEATURE_EMAIL_DOMAIN;
		feature->key = "email";
		feature->name = name;
		return;
	}
	for (int i = 0; i < (int) lengthof(lead_facts); i++)
		if (strcmp(name, lead_facts[i].name) == 0)
		{
			feature->source = FEATURE_COLUMN;
			feature->key = name;
			feature->name = name;
			feature->numeric = lead_facts[i].numeric;
			return;
		}
	if (in_list(name, outcome_columns))
		unknown_feature(text, "This column is kept by lead_gen from the lead's engagement or stage, which "
						"follow from the outcome a model predicts: a model trained on it would learn nothing "
						"it can use before the outcome.");
	if (in_list(name, identity_columns))
		unknown_feature(text, "This column identifies one lead rather than a kind of lead; "
						"email_domain is the fact of an e-mail address a model can learn from.");
	unknown_feature(text, FACTS_HINT);
}

void
model_feature_bind(ModelFeature *feature, TupleDesc desc)
{
	const char *column;
	int			attnum;

	if (feature->source == FEATURE_COUNT)
		return;
	column = feature->source == FEATURE_ATTRIBUTE ? "attributes" : feature->key;
	attnum = SPI_fnumber(desc, column);
	if (attnum <= 0)
		elog(ERROR, "lead_gen.lead has no column \"%s\"", column);
	feature->attnum = attnum;
	feature->typid = getBaseType(TupleDescAttr(desc, attnum - 1)->atttypid);
	if (feature->source == FEATURE_COLUMN)
	{
		Oid			output;
		bool		varlena;

		getTypeOutputInfo(feature->typid, &output, &varlena);
		fmgr_info_cxt(output, &feature->output, CurrentMemoryContext);
	}
}

static char *
jsonb_value_text(JsonbValue *v, bool *is_number)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			*is_number = true;
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			/* an object or array: its JSON text, as ->> prints it */
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	}
}

char *
model_feature_value(const ModelFeature *feature, Datum d, bool isnull, bool *is_number,
					Jsonb **attributes)
{
	*is_number = false;
	if (isnull)
		return NULL;
	switch (feature->source)
	{
		case FEATURE_COLUMN:
			*is_number = feature->numeric;
			if (feature->typid == BOOLOID)
				return pstrdup(DatumGetBool(d) ? "true" : "false");
			return OutputFunctionCall((FmgrInfo *) &feature->output, d);
		case FEATURE_EMAIL_DOMAIN:
			{
				char	   *email = TextDatumGetCString(d);
				char	   *at = strrchr(email, '@');

				if (at == NULL || at[1] == '\0')
					return NULL;
				for (char *c = at + 1; *c; c++)
					*c = pg_tolower((unsigned char) *c);
				return pstrdup(at + 1);
			}
		case FEATURE_ATTRIBUTE:
			{
				Jsonb	   *jb;
				JsonbValue	v;

				if (*attributes == NULL)
					*attributes = DatumGetJsonbP(d);
				jb = *attributes;

				if (!JB_ROOT_IS_OBJECT(jb) ||
					getKeyJsonValueFromContainer(&jb->root, feature->key, strlen(feature->key), &v) == NULL)
					return NULL;
				return jsonb_value_text(&v, is_number);
			}
		case FEATURE_COUNT:
			break;
	}
	elog(ERROR, "a count is not read from the lead's row");
	return NULL;
}

bool
model_feature_number(const char *value, double *number)
{
	char	   *end;

	errno = 0;
	*number = strtod(value, &end);
	return end != value && *end == '\0' && errno == 0 && isfinite(*number);
}

double
model_feature_standardize(double value, double center, double scale)
{
	double		z = (value - center) / scale;

	if (isnan(z))
		return 0;
	return z > 1e9 ? 1e9 : z < -1e9 ? -1e9 : z;
}

void
model_feature_count_sql(StringInfo buf, const ModelFeature *feature, const char *created_at)
{
	bool		any = strcmp(feature->key, "any") == 0;

	appendStringInfoString(buf, "pg_catalog.count(*)");
	if (any && feature->days == 0)
		return;
	appendStringInfoString(buf, " FILTER (WHERE true");
	if (!any)
		appendStringInfo(buf, " AND a.kind OPERATOR(pg_catalog.=) %s::text", quote_literal_cstr(feature->key));
	if (feature->days > 0)
		appendStringInfo(buf, " AND a.occurred_at OPERATOR(pg_catalog.<) (%s OPERATOR(pg_catalog.+) '%d hours'::interval)",
						 created_at, feature->days * 24);
	appendStringInfoChar(buf, ')');
}

static uint32
value_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

static int
value_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

HTAB *
model_value_table(const char *name, Size entrysize, long size, MemoryContext cxt)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = entrysize;
	ctl.hash = value_hash;
	ctl.match = value_match;
	ctl.hcxt = cxt;
	return hash_create(name, size, &ctl, HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}

bool
model_holdout(int64 lead_id)
{
	/* a fixed mix of the id's bits: the same split in every session and release */
	return hash_bytes_uint32_extended((uint32) lead_id, (uint64) lead_id >> 32) % 5 == 0;
}

PG_FUNCTION_INFO_V1(lead_gen_model_features);
PG_FUNCTION_INFO_V1(lead_gen_model_holdout);

/* model_features(features text[]) -> text[]: their canonical names */
Datum
lead_gen_model_features(PG_FUNCTION_ARGS)
{
	ArrayType  *features = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *names;
	bool	   *nulls;
	int			n;

	deconstruct_array(features, TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		ModelFeature f;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a feature must not be NULL")));
		model_feature_parse(TextDatumGetCString(names[i]), &f);
		names[i] = CStringGetTextDatum(f.name);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(names, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* model_holdout(lead_id bigint) -> boolean */
Datum
lead_gen_model_holdout(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(model_holdout(PG_GETARG_INT64(0)));
}
