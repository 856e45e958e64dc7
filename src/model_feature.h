/*-------------------------------------------------------------------------
 *
 * model_feature.h
 *	  The facts a predictive model learns from, named as the profile
 *	  language names them, and how they are read from a lead (model_feature.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_MODEL_FEATURE_H
#define LEAD_GEN_MODEL_FEATURE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"

typedef enum FeatureSource
{
	FEATURE_COLUMN,				/* a column of lead_gen.lead */
	FEATURE_EMAIL_DOMAIN,		/* the part of email after the last @ */
	FEATURE_ATTRIBUTE,			/* attributes.<key> */
	FEATURE_COUNT				/* count(kind) or count(kind in first N days) */
} FeatureSource;

typedef struct ModelFeature
{
	char	   *name;			/* canonical name, as stored in model.features */
	FeatureSource source;
	bool		numeric;		/* a number (else categorical) */
	char	   *key;			/* column, attribute key or activity kind ("any": all) */
	int			days;			/* FEATURE_COUNT: first days of the lead; 0: all time */
	int			attnum;			/* column read (email, attributes) once bound */
	Oid			typid;			/* its type */
	FmgrInfo	output;			/* its output function */
} ModelFeature;

/* Parse one feature name; ERROR with a hint for one that is not a fact. */
extern void model_feature_parse(const char *text, ModelFeature *feature);

/* Resolve the feature's column in the lead's row type. */
extern void model_feature_bind(ModelFeature *feature, TupleDesc desc);

/*
 * The feature's value given its column's datum in a lead's row (not for
 * counts), palloc'd; NULL when missing.  *is_number says whether it was a
 * number (a numeric column, or an attribute holding a JSON number).
 * *attributes keeps the row's attributes detoasted for its next feature
 * (NULL before the first).
 */
extern char *model_feature_value(const ModelFeature *feature, Datum d, bool isnull,
								 bool *is_number, Jsonb **attributes);

/* A value read as a number; false for text that is not a finite number. */
extern bool model_feature_number(const char *value, double *number);

/*
 * A number as its model term reads it: (value - center) / scale, within
 * +-1e9 so that no contribution is infinite and no sum NaN.
 */
extern double model_feature_standardize(double value, double center, double scale);

/*
 * Append "count(*) FILTER (WHERE ...)" for a count feature, over activity
 * alias a and the lead's creation time given as SQL text.
 */
extern void model_feature_count_sql(StringInfo buf, const ModelFeature *feature,
									const char *created_at);

/*
 * A hash table of a feature's values: entries of entrysize bytes that start
 * with the value's text (a char *, the key), in cxt.
 */
extern HTAB *model_value_table(const char *name, Size entrysize, long size, MemoryContext cxt);

/* Whether a lead is in the holdout every model keeps aside (about 20%). */
extern bool model_holdout(int64 lead_id);

#endif							/* LEAD_GEN_MODEL_FEATURE_H */
