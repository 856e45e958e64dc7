/*-------------------------------------------------------------------------
 *
 * model_train.c
 *	  Trains a predictive model: L2-regularised logistic regression of
 *	  "becomes a customer" on a lead's facts, by Newton's method.
 *
 * One query reads the leads with an outcome (the facts, the label and the
 * activity counts); the rest is in memory.  Each feature becomes terms:
 * a categorical fact one indicator per value (the max_values most frequent
 * in training, an "other" term for the rest and a "missing" term), a number
 * one standardised term plus a "missing" term, so every lead has exactly one
 * active term per feature and its log-odds is the intercept plus one
 * contribution per feature.  The objective is scikit-learn's:
 *
 *	  sum of log loss over the training leads + regularization/2 * |w|^2
 *
 * with the intercept unpenalised, minimised by Newton steps with the exact
 * Hessian (dense: every lead has one term of each feature, so its outer
 * product is small) and step halving.  The leads model_holdout() picks are
 * kept aside and measured: ROC AUC, log loss, Brier score, calibration by
 * decile and each feature's importance.  The model is stored as a new
 * version (lead_gen.model, model_term); a trigger refuses any other writer.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "model_feature.h"
#include "restore.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_model_train);
PG_FUNCTION_INFO_V1(lead_gen_model_written);
PG_FUNCTION_INFO_V1(lead_gen_model_activate);

/* set while model_train() stores what it computed */
static bool storing_model = false;

#define MAX_FEATURES	100
#define MAX_ITERATIONS	100

typedef struct DictEntry
{
	char	   *value;			/* key: the value's text */
	int32		id;
} DictEntry;

typedef struct Column
{
	ModelFeature f;
	int			read_at;		/* column of the query's result */
	/* per row */
	int32	   *ids;			/* categorical: dictionary id; -1 missing */
	double	   *nums;			/* numeric: the number; NaN missing */
	bool		all_numbers;	/* attribute: every value was a JSON number */
	/* the dictionary of values */
	HTAB	   *dict;
	char	  **values;
	int64	   *train_count;	/* training leads with each value */
	int			nvalues;
	int			values_size;
	/* terms */
	int			first_term;
	int32	   *term_of_id;		/* categorical: id -> term */
	int			other_term;
	int			missing_term;
	int			number_term;
	double		center;
	double		scale;
} Column;

typedef struct Term
{
	int			column;			/* -1: the intercept */
	const char *kind;			/* value, other, missing, number */
	const char *value;
	int64		leads;			/* training leads with the term active */
} Term;

typedef struct Fit
{
	int			ncolumns;
	Column	   *columns;
	int64		nrows;
	int64		rows_size;
	bool	   *label;
	bool	   *holdout;
	int			nterms;
	Term	   *terms;
	double	   *w;
	double		lambda;
} Fit;

static int32
dict_id(Column *col, char *value)
{
	DictEntry  *e;
	bool		found;

	e = hash_search(col->dict, &value, HASH_ENTER, &found);
	if (!found)
	{
		if (col->nvalues == col->values_size)
		{
			col->values_size *= 2;
			col->values = repalloc_huge(col->values, col->values_size * sizeof(char *));
			col->train_count = repalloc_huge(col->train_count, col->values_size * sizeof(int64));
		}
		e->value = pstrdup(value);
		e->id = col->nvalues;
		col->values[col->nvalues] = e->value;
		col->train_count[col->nvalues] = 0;
		col->nvalues++;
	}
	return e->id;
}

static void
column_init(Column *col)
{
	col->dict = model_value_table("lead_gen model values", sizeof(DictEntry), 256, CurrentMemoryContext);
	col->values_size = 64;
	col->values = palloc(col->values_size * sizeof(char *));
	col->train_count = palloc(col->values_size * sizeof(int64));
	col->all_numbers = true;
}

/* the query reading every lead to train on, and where each feature is in it */
static char *
training_query(Fit *fit)
{
	StringInfoData sql;
	StringInfoData counts;
	int			next = 3;		/* lead_id, label, then the columns */
	int			ncounts = 0;
	const char *read_columns[MAX_FEATURES];
	int			read_at[MAX_FEATURES];
	int			nread = 0;

	initStringInfo(&sql);
	initStringInfo(&counts);
	appendStringInfoString(&sql, "SELECT l.lead_id, COALESCE(l.peak_stage OPERATOR(pg_catalog.=) 'customer', false)");
	for (int i = 0; i < fit->ncolumns; i++)
	{
		Column	   *col = &fit->columns[i];
		const char *column;
		int			j;

		if (col->f.source == FEATURE_COUNT)
		{
			appendStringInfoString(&counts, ncounts ? ", " : "");
			model_feature_count_sql(&counts, &col->f, "x.created_at");
			appendStringInfo(&counts, " AS c%d", ++ncounts);
			appendStringInfo(&sql, ", COALESCE(c.c%d, 0)", ncounts);
			col->read_at = next++;
			continue;
		}
		column = col->f.source == FEATURE_ATTRIBUTE ? "attributes" : col->f.key;
		for (j = 0; j < nread; j++)
			if (strcmp(read_columns[j], column) == 0)
				break;
		if (j == nread)
		{
			read_columns[nread] = column;
			read_at[nread++] = next++;
			appendStringInfo(&sql, ", l.%s", quote_identifier(column));
		}
		col->read_at = read_at[j];
	}
	appendStringInfoString(&sql, " FROM lead_gen.lead AS l");
	if (ncounts > 0)
		appendStringInfo(&sql,
						 " LEFT JOIN (SELECT a.lead_id, %s"
						 " FROM lead_gen.activity AS a"
						 " JOIN lead_gen.lead AS x ON x.lead_id OPERATOR(pg_catalog.=) a.lead_id"
						 " GROUP BY a.lead_id) AS c ON c.lead_id OPERATOR(pg_catalog.=) l.lead_id",
						 counts.data);
	appendStringInfoString(&sql,
						   " WHERE l.forgotten_at IS NULL"
						   " AND (l.peak_stage OPERATOR(pg_catalog.=) 'customer'"
						   "      OR l.stage OPERATOR(pg_catalog.=) 'disqualified'"
						   "      OR l.created_at OPERATOR(pg_catalog.<=) (pg_catalog.now() OPERATOR(pg_catalog.-) $1))"
						   " AND ($2 IS NULL OR l.lead_id OPERATOR(pg_catalog.=) ANY ($2))");
	return sql.data;
}

static void
grow_rows(Fit *fit)
{
	int64		size = fit->rows_size ? fit->rows_size * 2 : 4096;

#define GROW(p, type) (p = fit->rows_size ? repalloc_huge(p, size * sizeof(type)) \
					   : MemoryContextAllocHuge(CurrentMemoryContext, size * sizeof(type)))
	GROW(fit->label, bool);
	GROW(fit->holdout, bool);
	for (int i = 0; i < fit->ncolumns; i++)
	{
		Column	   *col = &fit->columns[i];

		if (col->f.source == FEATURE_COLUMN && col->f.numeric)
			GROW(col->nums, double);
		else if (col->f.source == FEATURE_COUNT)
			GROW(col->nums, double);
		else if (col->f.source == FEATURE_ATTRIBUTE)
		{
			GROW(col->nums, double);
			GROW(col->ids, int32);
		}
		else
			GROW(col->ids, int32);
	}
#undef GROW
	fit->rows_size = size;
}

static void
read_rows(Fit *fit, Datum horizon, Datum leads, bool leads_null)
{
	Oid			argtypes[2] = {INTERVALOID, INT8ARRAYOID};
	Datum		args[2] = {horizon, leads};
	char		nulls[2] = {' ', leads_null ? 'n' : ' '};
	Portal		portal;
	bool		bound = false;

	portal = SPI_cursor_open_with_args(NULL, training_query(fit), 2, argtypes, args, nulls, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		if (!bound)
		{
			for (int i = 0; i < fit->ncolumns; i++)
				model_feature_bind(&fit->columns[i].f, SPI_tuptable->tupdesc);
			bound = true;
		}
		for (uint64 k = 0; k < SPI_processed; k++)
		{
			HeapTuple	tup = SPI_tuptable->vals[k];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			int64		r = fit->nrows;
			bool		isnull;
			Jsonb	   *attributes = NULL;

			CHECK_FOR_INTERRUPTS();
			if (r == fit->rows_size)
				grow_rows(fit);
			fit->holdout[r] = model_holdout(DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));
			fit->label[r] = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
			for (int i = 0; i < fit->ncolumns; i++)
			{
				Column	   *col = &fit->columns[i];
				char	   *value;
				bool		is_number;
				double		number;
				Datum		d;

				if (col->f.source == FEATURE_COUNT)
				{
					col->nums[r] = (double) DatumGetInt64(SPI_getbinval(tup, desc, col->read_at, &isnull));
					continue;
				}
				d = SPI_getbinval(tup, desc, col->read_at, &isnull);
				value = model_feature_value(&col->f, d, isnull, &is_number, &attributes);
				if (col->f.source == FEATURE_COLUMN && col->f.numeric)
				{
					col->nums[r] = (value && model_feature_number(value, &number)) ? number : NAN;
					continue;
				}
				if (value == NULL)
				{
					col->ids[r] = -1;
					if (col->nums)
						col->nums[r] = NAN;
					continue;
				}
				col->ids[r] = dict_id(col, value);
				if (!fit->holdout[r])
					col->train_count[col->ids[r]]++;
				if (col->f.source == FEATURE_ATTRIBUTE)
				{
					if (is_number && model_feature_number(value, &number))
						col->nums[r] = number;
					else
					{
						col->nums[r] = NAN;
						col->all_numbers = false;
					}
				}
				pfree(value);
			}
			fit->nrows++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

static void
one_value(const Column *col, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("feature \"%s\" has %s on the training leads", col->f.name, what),
			 errhint("A fact that is the same for every lead cannot tell them apart: leave it out.")));
}

static Column *sort_column;

static int
by_train_count(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;
	int64		cx = sort_column->train_count[x];
	int64		cy = sort_column->train_count[y];

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return strcmp(sort_column->values[x], sort_column->values[y]);
}

static int
add_term(Fit *fit, int column, const char *kind, const char *value, int64 leads)
{
	Term	   *t = &fit->terms[fit->nterms];

	t->column = column;
	t->kind = kind;
	t->value = value;
	t->leads = leads;
	return fit->nterms++;
}

/* lay out the terms; numbers are standardised by the training leads */
static void
build_terms(Fit *fit, int max_values)
{
	int			size = 1;

	for (int i = 0; i < fit->ncolumns; i++)
		size += fit->columns[i].nvalues + 3;
	fit->terms = palloc0(size * sizeof(Term));
	add_term(fit, -1, "intercept", NULL, 0);

	for (int i = 0; i < fit->ncolumns; i++)
	{
		Column	   *col = &fit->columns[i];
		int64		missing = 0;

		col->first_term = fit->nterms;
		if (col->f.source == FEATURE_ATTRIBUTE)
		{
			int64		seen = 0;

			for (int v = 0; v < col->nvalues; v++)
				seen += col->train_count[v];
			/* an attribute is a number when every value it has is one */
			col->f.numeric = col->all_numbers && seen > 0;
		}
		if (col->f.numeric)
		{
			double		sum = 0,
						sumsq = 0;
			int64		n = 0;

			for (int64 r = 0; r < fit->nrows; r++)
			{
				if (fit->holdout[r])
					continue;
				if (isnan(col->nums[r]))
					missing++;
				else
				{
					sum += col->nums[r];
					n++;
				}
			}
			if (n == 0)
				one_value(col, "no value");
			col->center = sum / n;
			for (int64 r = 0; r < fit->nrows; r++)
				if (!fit->holdout[r] && !isnan(col->nums[r]))
					sumsq += (col->nums[r] - col->center) * (col->nums[r] - col->center);
			col->scale = sqrt(sumsq / n);
			if (!isfinite(col->center) || !isfinite(col->scale))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("feature \"%s\" has numbers too large to learn from", col->f.name),
						 errhint("Scale it down (thousands, millions) in an attribute of its own.")));
			if (!(col->scale > 0))
			{
				if (missing == 0)
					one_value(col, "one value");
				col->scale = 1;
			}
			col->number_term = add_term(fit, i, "number", NULL, n);
			col->missing_term = add_term(fit, i, "missing", NULL, missing);
			continue;
		}
		else
		{
			int32	   *order = palloc(Max(col->nvalues, 1) * sizeof(int32));
			int			kept = 0;
			int64		other = 0;
			int			distinct = 0;

			for (int64 r = 0; r < fit->nrows; r++)
				if (!fit->holdout[r] && col->ids[r] < 0)
					missing++;
			for (int v = 0; v < col->nvalues; v++)
			{
				order[v] = v;
				if (col->train_count[v] > 0)
					distinct++;
			}
			if (distinct + (missing > 0) < 2)
				one_value(col, distinct ? "one value" : "no value");
			sort_column = col;
			qsort(order, col->nvalues, sizeof(int32), by_train_count);
			col->term_of_id = palloc(Max(col->nvalues, 1) * sizeof(int32));
			for (int v = 0; v < col->nvalues; v++)
			{
				int32		id = order[v];

				if (kept < max_values && col->train_count[id] > 0)
				{
					col->term_of_id[id] = add_term(fit, i, "value", col->values[id], col->train_count[id]);
					kept++;
				}
				else
				{
					col->term_of_id[id] = -1;
					other += col->train_count[id];
				}
			}
			col->other_term = add_term(fit, i, "other", NULL, other);
			col->missing_term = add_term(fit, i, "missing", NULL, missing);
			for (int v = 0; v < col->nvalues; v++)
				if (col->term_of_id[v] < 0)
					col->term_of_id[v] = col->other_term;
		}
	}
}

/* the active term of each feature for one lead, after the intercept */
static inline void
row_terms(const Fit *fit, int64 r, int *idx, double *x)
{
	idx[0] = 0;
	x[0] = 1;
	for (int i = 0; i < fit->ncolumns; i++)
	{
		const Column *col = &fit->columns[i];

		if (col->f.numeric)
		{
			double		v = col->nums[r];

			if (isnan(v))
			{
				idx[i + 1] = col->missing_term;
				x[i + 1] = 1;
			}
			else
			{
				idx[i + 1] = col->number_term;
				x[i + 1] = model_feature_standardize(v, col->center, col->scale);
			}
		}
		else
		{
			idx[i + 1] = col->ids[r] < 0 ? col->missing_term : col->term_of_id[col->ids[r]];
			x[i + 1] = 1;
		}
	}
}

static inline double
log1pexp(double m)
{
	return m > 0 ? m + log1p(exp(-m)) : log1p(exp(m));
}

static inline double
sigmoid(double m)
{
	return m >= 0 ? 1 / (1 + exp(-m)) : exp(m) / (1 + exp(m));
}

/* objective at w; with grad and hess, also its gradient and Hessian (lower half) */
static double
evaluate(const Fit *fit, const double *w, double *grad, double *hess)
{
	int			k = fit->ncolumns + 1;
	int			p = fit->nterms;
	int		   *idx = palloc(k * sizeof(int));
	double	   *x = palloc(k * sizeof(double));
	double		obj = 0;

	if (grad)
	{
		memset(grad, 0, p * sizeof(double));
		memset(hess, 0, (size_t) p * p * sizeof(double));
	}
	for (int64 r = 0; r < fit->nrows; r++)
	{
		double		m = 0;

		if (fit->holdout[r])
			continue;
		if ((r & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		row_terms(fit, r, idx, x);
		for (int a = 0; a < k; a++)
			m += w[idx[a]] * x[a];
		obj += log1pexp(m) - (fit->label[r] ? m : 0);
		if (grad)
		{
			double		prob = sigmoid(m);
			double		e = prob - (fit->label[r] ? 1 : 0);
			double		s = prob * (1 - prob);

			for (int a = 0; a < k; a++)
			{
				double		sx = s * x[a];
				double	   *row = hess + (size_t) idx[a] * p;

				grad[idx[a]] += e * x[a];
				for (int b = 0; b <= a; b++)
					row[idx[b]] += sx * x[b];
			}
		}
	}
	for (int j = 1; j < p; j++)
	{
		obj += 0.5 * fit->lambda * w[j] * w[j];
		if (grad)
		{
			grad[j] += fit->lambda * w[j];
			hess[(size_t) j * p + j] += fit->lambda;
		}
	}
	if (hess)
		hess[0] += 1e-12;
	pfree(idx);
	pfree(x);
	return obj;
}

/* solve H d = g in place (g becomes d) by Cholesky on H's lower half */
static void
cholesky_solve(double *h, double *g, int p)
{
	for (int j = 0; j < p; j++)
	{
		double	   *rj = h + (size_t) j * p;
		double		d = rj[j];

		for (int k = 0; k < j; k++)
			d -= rj[k] * rj[k];
		if (!(d > 0))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the model's equations are singular"),
					 errhint("Raise the regularization.")));
		d = sqrt(d);
		rj[j] = d;
		for (int i = j + 1; i < p; i++)
		{
			double	   *ri = h + (size_t) i * p;
			double		s = ri[j];

			for (int k = 0; k < j; k++)
				s -= ri[k] * rj[k];
			ri[j] = s / d;
		}
		if ((j & 63) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	for (int i = 0; i < p; i++)
	{
		double	   *ri = h + (size_t) i * p;
		double		s = g[i];

		for (int k = 0; k < i; k++)
			s -= ri[k] * g[k];
		g[i] = s / ri[i];
	}
	for (int i = p - 1; i >= 0; i--)
	{
		double		s = g[i];

		for (int k = i + 1; k < p; k++)
			s -= h[(size_t) k * p + i] * g[k];
		g[i] = s / h[(size_t) i * p + i];
	}
}

static int
newton(Fit *fit, int64 ntrain, int64 npositive)
{
	int			p = fit->nterms;
	double	   *grad = MemoryContextAllocHuge(CurrentMemoryContext, p * sizeof(double));
	double	   *hess = MemoryContextAllocHuge(CurrentMemoryContext, (size_t) p * p * sizeof(double));
	double	   *w = palloc0(p * sizeof(double));
	double	   *next = palloc(p * sizeof(double));
	int			iterations = 0;

	/* start at the base rate */
	w[0] = log((double) npositive / (ntrain - npositive));
	while (iterations < MAX_ITERATIONS)
	{
		double		obj = evaluate(fit, w, grad, hess);
		double		step = 1;
		double		largest = 0;

		cholesky_solve(hess, grad, p);
		for (int j = 0; j < p; j++)
			largest = Max(largest, fabs(grad[j]));
		iterations++;
		for (;;)
		{
			for (int j = 0; j < p; j++)
				next[j] = w[j] - step * grad[j];
			if (evaluate(fit, next, NULL, NULL) <= obj || step < 1e-6)
				break;
			step /= 2;
		}
		memcpy(w, next, p * sizeof(double));
		if (largest * step < 1e-9)
			break;
	}
	for (int j = 0; j < p; j++)
		if (!isfinite(w[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("training did not converge"),
					 errhint("Raise the regularization.")));
	fit->w = w;
	pfree(hess);
	pfree(grad);
	pfree(next);
	return iterations;
}

typedef struct Scored
{
	double		p;
	bool		y;
} Scored;

static int
by_p(const void *a, const void *b)
{
	double		x = ((const Scored *) a)->p;
	double		y = ((const Scored *) b)->p;

	return x < y ? -1 : x > y ? 1 : 0;
}

static void
append_number(StringInfo buf, const char *key, double v)
{
	if (isfinite(v))
		appendStringInfo(buf, "\"%s\": %.17g", key, v);
	else
		appendStringInfo(buf, "\"%s\": null", key);
}

/* holdout measures (training leads when there is no holdout), as JSON members */
static void
measure(const Fit *fit, StringInfo out, int64 nholdout)
{
	bool		on_holdout = nholdout > 0;
	int			k = fit->ncolumns + 1;
	int		   *idx = palloc(k * sizeof(int));
	double	   *x = palloc(k * sizeof(double));
	Scored	   *s = MemoryContextAllocHuge(CurrentMemoryContext, Max(fit->nrows, 1) * sizeof(Scored));
	double	   *sum = palloc0(k * sizeof(double));
	double	   *spread = palloc0(k * sizeof(double));
	int64		n = 0,
				npos = 0;
	double		logloss = 0,
				brier = 0,
				auc = NAN,
				rank_pos = 0;

	for (int pass = 0; pass < 2; pass++)
	{
		for (int64 r = 0; r < fit->nrows; r++)
		{
			if (fit->holdout[r] != on_holdout)
				continue;
			row_terms(fit, r, idx, x);
			for (int a = 1; a < k; a++)
			{
				double		c = fit->w[idx[a]] * x[a];

				if (pass == 0)
					sum[a] += c;
				else
					spread[a] += fabs(c - sum[a]);
			}
			if (pass == 0)
			{
				double		m = 0;

				for (int a = 0; a < k; a++)
					m += fit->w[idx[a]] * x[a];
				s[n].p = sigmoid(m);
				s[n].y = fit->label[r];
				logloss += log1pexp(m) - (s[n].y ? m : 0);
				brier += (s[n].p - s[n].y) * (s[n].p - s[n].y);
				npos += s[n].y;
				n++;
			}
		}
		if (pass == 0)
			for (int a = 1; a < k; a++)
				sum[a] /= Max(n, 1);
	}

	/* AUC by ranks, ties sharing their mean rank */
	qsort(s, n, sizeof(Scored), by_p);
	for (int64 i = 0; i < n;)
	{
		int64		j = i;
		int64		pos = 0;

		while (j < n && s[j].p == s[i].p)
			pos += s[j++].y;
		rank_pos += pos * ((i + 1 + j) / 2.0);
		i = j;
	}
	if (npos > 0 && npos < n)
		auc = (rank_pos - npos * (npos + 1) / 2.0) / ((double) npos * (n - npos));

	appendStringInfo(out, "\"measured_on\": \"%s\", \"measured_leads\": " INT64_FORMAT
					 ", \"measured_positives\": " INT64_FORMAT ", ",
					 on_holdout ? "holdout" : "training", n, npos);
	append_number(out, "auc", auc);
	appendStringInfoString(out, ", ");
	append_number(out, "log_loss", n ? logloss / n : NAN);
	appendStringInfoString(out, ", ");
	append_number(out, "brier", n ? brier / n : NAN);

	appendStringInfoString(out, ", \"calibration\": [");
	for (int d = 0; d < 10 && n >= 10; d++)
	{
		int64		from = n * d / 10,
					to = n * (d + 1) / 10;
		double		pred = 0,
					obs = 0;

		for (int64 i = from; i < to; i++)
		{
			pred += s[i].p;
			obs += s[i].y;
		}
		appendStringInfo(out, "%s{\"decile\": %d, \"leads\": " INT64_FORMAT ", ",
						 d ? ", " : "", d + 1, to - from);
		append_number(out, "predicted", pred / (to - from));
		appendStringInfoString(out, ", ");
		append_number(out, "observed", obs / (to - from));
		appendStringInfoChar(out, '}');
	}
	appendStringInfoString(out, "], \"importance\": [");
	for (int a = 1; a < k; a++)
	{
		appendStringInfo(out, "%s{\"feature\": ", a > 1 ? ", " : "");
		escape_json(out, fit->columns[a - 1].f.name);
		appendStringInfoString(out, ", ");
		append_number(out, "importance", n ? spread[a] / n : NAN);
		appendStringInfoChar(out, '}');
	}
	appendStringInfoChar(out, ']');
}

/* store a trained model as a new, inactive version of its name (SPI connected) */
static int64
store_model(Datum name, const char *json, Datum horizon, double lambda, int max_values, bool restricted)
{
	Oid			types[6] = {TEXTOID, JSONBOID, INTERVALOID, FLOAT8OID, INT4OID, BOOLOID};
	Datum		args[6];
	int64		model_id;
	bool		isnull;
	int			rc;

	args[0] = name;
	args[1] = DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
	args[2] = horizon;
	args[3] = Float8GetDatum(lambda);
	args[4] = Int32GetDatum(max_values);
	args[5] = BoolGetDatum(restricted);
	storing_model = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args(
			"INSERT INTO lead_gen.model (name, version, features, numeric, horizon, regularization,"
			"  max_values, restricted, intercept, iterations, train_leads, train_positives, holdout_leads, report)"
			" SELECT $1, COALESCE((SELECT pg_catalog.max(x.version) FROM lead_gen.model AS x"
			"                      WHERE x.name OPERATOR(pg_catalog.=) $1), 0) OPERATOR(pg_catalog.+) 1,"
			"  ARRAY(SELECT pg_catalog.jsonb_array_elements_text($2 OPERATOR(pg_catalog.->) 'features')),"
			"  ARRAY(SELECT e::text::boolean FROM pg_catalog.jsonb_array_elements($2 OPERATOR(pg_catalog.->) 'numeric') AS e),"
			"  $3, $4, $5, $6,"
			"  (($2 OPERATOR(pg_catalog.->) 'terms') OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'weight')::float8,"
			"  ($2 OPERATOR(pg_catalog.->>) 'iterations')::integer,"
			"  ($2 OPERATOR(pg_catalog.->>) 'train_leads')::bigint,"
			"  ($2 OPERATOR(pg_catalog.->>) 'train_positives')::bigint,"
			"  ($2 OPERATOR(pg_catalog.->>) 'holdout_leads')::bigint,"
			"  $2 OPERATOR(pg_catalog.-) 'terms'"
			" RETURNING model_id", 6, types, args, NULL, false, 0);
		if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
			elog(ERROR, "could not store the model: %s", SPI_result_code_string(rc));
		model_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		args[0] = Int64GetDatum(model_id);
		types[0] = INT8OID;
		rc = SPI_execute_with_args(
			"INSERT INTO lead_gen.model_term (model_id, term_no, feature_no, kind, value, weight, center, scale, leads)"
			" SELECT $1, t.n::integer OPERATOR(pg_catalog.-) 1, t.feature_no, t.kind, t.value, t.weight, t.center, t.scale, t.leads"
			" FROM ROWS FROM (pg_catalog.jsonb_to_recordset($2 OPERATOR(pg_catalog.->) 'terms')"
			"      AS (feature_no integer, kind text, value text, weight float8,"
			"          center float8, scale float8, leads bigint))"
			"      WITH ORDINALITY AS t(feature_no, kind, value, weight, center, scale, leads, n)"
			" WHERE t.feature_no OPERATOR(pg_catalog.>) 0", 2, types, args, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not store the model's terms: %s", SPI_result_code_string(rc));
	}
	PG_FINALLY();
	{
		storing_model = false;
	}
	PG_END_TRY();
	return model_id;
}

/*
 * model_activate(model_id bigint): the version becomes the active one of its
 * name; if the model is kept on leads, their predictions follow at once.
 */
Datum
lead_gen_model_activate(PG_FUNCTION_ARGS)
{
	Oid			type = INT8OID;
	Datum		id = PG_GETARG_DATUM(0);
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	storing_model = true;
	PG_TRY();
	{
		rc = SPI_execute_with_args(
			"UPDATE lead_gen.model AS m SET active = false"
			" WHERE m.active AND m.model_id OPERATOR(pg_catalog.<>) $1"
			"   AND m.name OPERATOR(pg_catalog.=) (SELECT x.name FROM lead_gen.model AS x"
			"                                      WHERE x.model_id OPERATOR(pg_catalog.=) $1)",
			1, &type, &id, NULL, false, 0);
		if (rc == SPI_OK_UPDATE)
			rc = SPI_execute_with_args("UPDATE lead_gen.model SET active = true"
									   " WHERE model_id OPERATOR(pg_catalog.=) $1 AND NOT active",
									   1, &type, &id, NULL, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "could not activate model: %s", SPI_result_code_string(rc));
	}
	PG_FINALLY();
	{
		storing_model = false;
	}
	PG_END_TRY();
	rc = SPI_execute_with_args("SELECT lead_gen.refresh_kept_predictions()"
							   " FROM lead_gen.prediction_settings AS s"
							   " JOIN lead_gen.model AS m ON m.name OPERATOR(pg_catalog.=) s.model"
							   " WHERE m.model_id OPERATOR(pg_catalog.=) $1",
							   1, &type, &id, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not refresh predictions: %s", SPI_result_code_string(rc));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * BEFORE INSERT OR UPDATE row trigger on lead_gen.model and model_term: a
 * model is what training computed; only a restore replays one.
 */
Datum
lead_gen_model_written(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_guard(fcinfo, "model_written", GUARD_BEFORE,
										  GUARD_INSERT | GUARD_UPDATE, GUARD_ROW,
										  GUARD_LEAD_GEN_TABLE);

	if (!storing_model && !restore_in_progress())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("models are written by lead_gen.train_model() only"),
				 errdetail("A model's weights and measures are what training computed from the outcomes, and the predictions kept on leads follow its active version."),
				 errhint("Train a new version with lead_gen.train_model() or lead_gen.update_model(), or make one active with lead_gen.activate_model().")));
	return PointerGetDatum(trigger_new_row(trigdata));
}

/*
 * model_train(name text, features text[], leads bigint[], horizon interval,
 *			   regularization float8, max_values integer) -> bigint
 *
 * Trains and stores a new, inactive version (train_model activates it).
 */
Datum
lead_gen_model_train(PG_FUNCTION_ARGS)
{
	ArrayType  *features;
	Datum	   *names;
	bool	   *name_nulls;
	int			nnames;
	double		lambda;
	int			max_values;
	Fit			fit;
	int64		ntrain = 0,
				npositive = 0,
				nholdout = 0;
	int			iterations;
	StringInfoData out;
	int64		model_id;
	MemoryContext work,
				caller = CurrentMemoryContext;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(3) || PG_ARGISNULL(4) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("name, features, horizon, regularization and max_values must not be NULL")));
	features = PG_GETARG_ARRAYTYPE_P(1);
	lambda = PG_GETARG_FLOAT8(4);
	max_values = PG_GETARG_INT32(5);
	if (!(lambda > 0) || lambda > 1e6)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("regularization must be above 0 and at most 1000000"),
				 errhint("1 is scikit-learn's default (C = 1 / regularization).")));
	if (max_values < 1 || max_values > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_values must be from 1 to 1000")));

	work = AllocSetContextCreate(CurrentMemoryContext, "lead_gen model training", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	memset(&fit, 0, sizeof(fit));
	fit.lambda = lambda;
	deconstruct_array(features, TEXTOID, -1, false, TYPALIGN_INT, &names, &name_nulls, &nnames);
	if (nnames == 0 || nnames > MAX_FEATURES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a model has from 1 to %d features", MAX_FEATURES)));
	fit.ncolumns = nnames;
	fit.columns = palloc0(nnames * sizeof(Column));
	for (int i = 0; i < nnames; i++)
	{
		if (name_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a feature must not be NULL")));
		model_feature_parse(TextDatumGetCString(names[i]), &fit.columns[i].f);
		for (int j = 0; j < i; j++)
			if (strcmp(fit.columns[j].f.name, fit.columns[i].f.name) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("feature \"%s\" is named twice", fit.columns[i].f.name)));
		column_init(&fit.columns[i]);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	read_rows(&fit, PG_GETARG_DATUM(3), PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2), PG_ARGISNULL(2));

	for (int64 r = 0; r < fit.nrows; r++)
	{
		if (fit.holdout[r])
			nholdout++;
		else
		{
			ntrain++;
			npositive += fit.label[r];
		}
	}
	if (ntrain == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("no lead to train on has an outcome yet"),
				 errdetail("Leads with an outcome: " INT64_FORMAT ", all of them in the holdout.", nholdout),
				 errhint("A lead has an outcome once it becomes a customer, is disqualified, or is older than the horizon (%s).",
						 DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(3))))));
	if (npositive == 0 || npositive == ntrain)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the training leads have no %s outcome", npositive == 0 ? "positive" : "negative"),
				 errdetail("Training leads: " INT64_FORMAT ", customers among them: " INT64_FORMAT ".",
						   ntrain, npositive),
				 errhint("A model learns from leads that became customers and leads that did not: "
						 "a lead is negative once disqualified or older than the horizon without becoming a customer.")));

	build_terms(&fit, max_values);
	iterations = newton(&fit, ntrain, npositive);

	initStringInfo(&out);
	appendStringInfo(&out, "{\"iterations\": %d, \"train_leads\": " INT64_FORMAT
					 ", \"train_positives\": " INT64_FORMAT ", \"holdout_leads\": " INT64_FORMAT ", ",
					 iterations, ntrain, npositive, nholdout);
	measure(&fit, &out, nholdout);
	appendStringInfoString(&out, ", \"features\": [");
	for (int i = 0; i < fit.ncolumns; i++)
	{
		appendStringInfoString(&out, i ? ", " : "");
		escape_json(&out, fit.columns[i].f.name);
	}
	appendStringInfoString(&out, "], \"numeric\": [");
	for (int i = 0; i < fit.ncolumns; i++)
		appendStringInfo(&out, "%s%s", i ? ", " : "", fit.columns[i].f.numeric ? "true" : "false");
	appendStringInfoString(&out, "], \"terms\": [");
	for (int t = 0; t < fit.nterms; t++)
	{
		Term	   *term = &fit.terms[t];
		Column	   *col = term->column >= 0 ? &fit.columns[term->column] : NULL;

		appendStringInfo(&out, "%s{\"feature_no\": %d, \"kind\": \"%s\", \"value\": ",
						 t ? ", " : "", term->column + 1, term->kind);
		if (term->value)
			escape_json(&out, term->value);
		else
			appendStringInfoString(&out, "null");
		appendStringInfoString(&out, ", ");
		append_number(&out, "weight", fit.w[t]);
		appendStringInfoString(&out, ", ");
		append_number(&out, "center", col && term->kind[0] == 'n' ? col->center : NAN);
		appendStringInfoString(&out, ", ");
		append_number(&out, "scale", col && term->kind[0] == 'n' ? col->scale : NAN);
		appendStringInfo(&out, ", \"leads\": " INT64_FORMAT "}", term->leads);
	}
	appendStringInfoString(&out, "]}");

	model_id = store_model(PG_GETARG_DATUM(0), out.data, PG_GETARG_DATUM(3), lambda, max_values,
						   !PG_ARGISNULL(2));
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);
	PG_RETURN_INT64(model_id);
}
