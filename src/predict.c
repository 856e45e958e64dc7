/*-------------------------------------------------------------------------
 *
 * predict.c
 *	  What a trained model predicts for a lead, term by term, and the
 *	  prediction kept on lead_gen.lead by trigger lead_predict.
 *
 * A model's terms (lead_gen.model_term, written by train_model from
 * model_train.c) are loaded once per session and kept until a model table
 * changes (config.h).  A lead's log-odds is the intercept plus one
 * contribution per feature: the weight of the value it has (its "other" term
 * for a value training did not keep, its "missing" term for none), or for a
 * number weight * (value - center) / scale.  Counts of activity are one
 * index scan of the lead's activity.
 *
 * The kept model is the active version of the model prediction_settings
 * names.  The trigger computes its prediction on every write of the facts
 * it reads (and of engagement, which activity updates), so a value written
 * by hand is replaced; only a restore keeps the value it replays.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/bitmapset.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "config.h"
#include "model_feature.h"
#include "predict.h"
#include "restore.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_model_predict);
PG_FUNCTION_INFO_V1(lead_gen_model_contributions);
PG_FUNCTION_INFO_V1(lead_gen_lead_prediction);
PG_FUNCTION_INFO_V1(lead_gen_lead_predict_trigger);

typedef struct LoadedFeature
{
	ModelFeature f;
	HTAB	   *weights;		/* categorical: value -> weight */
	double		other;
	double		missing;
	double		number;
	double		center;
	double		scale;
	int			count_no;		/* counts: 1-based among the model's counts; else 0 */
} LoadedFeature;

typedef struct LoadedModel
{
	int64		model_id;
	double		intercept;
	int			nfeatures;
	LoadedFeature *features;
	int			ncounts;
	Bitmapset  *reads;			/* the lead's columns it reads, as tg_updatedcols has them */
	bool		reads_everything;	/* it reads fit, which the other facts move */
	const char **count_kind;	/* per count: its kind, NULL for any */
	int64	   *count_window;	/* per count: usecs after created_at; 0: all time */
} LoadedModel;

typedef struct ModelEntry
{
	int64		model_id;		/* hash key */
	LoadedModel *model;
} ModelEntry;

typedef struct Contribution
{
	const char *feature;
	char	   *value;
	double		contribution;
} Contribution;

static struct
{
	uint64		generation;
	MemoryContext cxt;			/* everything loaded; reset on reload */
	HTAB	   *models;
	bool		has_kept;
	int64		kept_id;
	int			col_prediction;
	int			col_lead_id;
	int			col_created_at;
	TupleDesc	lead_desc;
	Oid			activity_relid;
	Oid			activity_index;
	int			activity_att_lead;
	int			activity_att_kind;
	int			activity_att_at;
	char	  **watched_kinds;	/* kinds the kept model counts; "any": all */
	int			nwatched;
} cache;

typedef struct WeightEntry
{
	char	   *value;
	double		weight;
} WeightEntry;

static LoadedModel *load_model(int64 model_id);

static void
cache_reset(void)
{
	HASHCTL		ctl;
	Oid			lead_relid;

	if (cache.generation == config_generation() && cache.cxt != NULL)
		return;
	if (!OidIsValid(get_relname_relid("prediction_settings", get_namespace_oid("lead_gen", false))))
	{
		/* lead_gen before 1.4, on its way to an update: no models */
		cache.has_kept = false;
		cache.nwatched = 0;
		return;
	}
	if (cache.cxt == NULL)
		cache.cxt = AllocSetContextCreate(TopMemoryContext, "lead_gen models", ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(cache.cxt);
	config_watch(lead_gen_relid("model"));
	config_watch(lead_gen_relid("model_term"));
	config_watch(lead_gen_relid("prediction_settings"));
	lead_relid = lead_gen_relid("lead");
	config_watch(lead_relid);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(ModelEntry);
	ctl.hcxt = cache.cxt;
	cache.models = hash_create("lead_gen loaded models", 8, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	{
		MemoryContext old = MemoryContextSwitchTo(cache.cxt);

		cache.lead_desc = lookup_rowtype_tupdesc_copy(get_rel_type_id(lead_relid), -1);
		MemoryContextSwitchTo(old);
	}
	cache.col_prediction = lead_column(cache.lead_desc, "prediction");
	cache.col_lead_id = lead_column(cache.lead_desc, "lead_id");
	cache.col_created_at = lead_column(cache.lead_desc, "created_at");
	cache.activity_relid = lead_gen_relid("activity");
	cache.activity_index = get_relname_relid("activity_lead_occurred_at_idx", get_namespace_oid("lead_gen", false));
	if (!OidIsValid(cache.activity_index))
		elog(ERROR, "index lead_gen.activity_lead_occurred_at_idx does not exist");
	{
		Relation	rel = table_open(cache.activity_relid, AccessShareLock);

		cache.activity_att_lead = lead_column(RelationGetDescr(rel), "lead_id");
		cache.activity_att_kind = lead_column(RelationGetDescr(rel), "kind");
		cache.activity_att_at = lead_column(RelationGetDescr(rel), "occurred_at");
		table_close(rel, AccessShareLock);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	config_query("SELECT m.model_id FROM lead_gen.prediction_settings AS s"
				 " JOIN lead_gen.model AS m ON m.name OPERATOR(pg_catalog.=) s.model AND m.active");
	cache.has_kept = SPI_processed > 0;
	if (cache.has_kept)
	{
		bool		isnull;

		cache.kept_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	cache.nwatched = 0;
	cache.generation = config_generation();
	if (cache.has_kept)
	{
		LoadedModel *m = load_model(cache.kept_id);

		cache.watched_kinds = MemoryContextAlloc(cache.cxt, (m->ncounts + 1) * sizeof(char *));
		for (int i = 0; i < m->nfeatures; i++)
			if (m->features[i].f.source == FEATURE_COUNT)
				cache.watched_kinds[cache.nwatched++] = m->features[i].f.key;
	}
}

/* a query of one model_id with the latest snapshot (SPI connected) */
static int
model_query(const char *sql, Datum model_id)
{
	Oid			argtype = INT8OID;
	SPIPlanPtr	plan = SPI_prepare(sql, 1, &argtype);

	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	return SPI_execute_snapshot(plan, &model_id, NULL, GetLatestSnapshot(), InvalidSnapshot,
								true, false, 0);
}

/* the terms of a model, from lead_gen.model_term (SPI not connected) */
static LoadedModel *
load_model(int64 model_id)
{
	LoadedModel *m;
	ModelEntry *entry;
	MemoryContext old;
	Datum		arg = Int64GetDatum(model_id);
	int			rc;

	cache_reset();
	entry = hash_search(cache.models, &model_id, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->model;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the latest committed model, whatever this transaction's snapshot (config.h) */
	rc = model_query("SELECT features, numeric, intercept FROM lead_gen.model"
					 " WHERE model_id OPERATOR(pg_catalog.=) $1", arg);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read model " INT64_FORMAT ": %s", model_id, SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model " INT64_FORMAT " does not exist", model_id)));

	old = MemoryContextSwitchTo(cache.cxt);
	/* entered in the cache once whole: an error on the way leaves nothing half loaded */
	m = palloc0(sizeof(LoadedModel));
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum	   *names;
		Datum	   *numeric;
		int			n,
					nn;

		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 1, &isnull)),
						  TEXTOID, -1, false, TYPALIGN_INT, &names, NULL, &n);
		deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull)),
						  BOOLOID, 1, true, TYPALIGN_CHAR, &numeric, NULL, &nn);
		m->intercept = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
		m->nfeatures = n;
		m->features = palloc0(n * sizeof(LoadedFeature));
		m->ncounts = 0;
		m->reads_everything = false;
		for (int i = 0; i < n; i++)
		{
			LoadedFeature *lf = &m->features[i];

			model_feature_parse(TextDatumGetCString(names[i]), &lf->f);
			lf->f.numeric = i < nn && DatumGetBool(numeric[i]);
			model_feature_bind(&lf->f, cache.lead_desc);
			if (lf->f.source == FEATURE_COUNT)
				lf->count_no = ++m->ncounts;
			lf->scale = 1;
			lf->weights = model_value_table("lead_gen model weights", sizeof(WeightEntry), 32, cache.cxt);
		}
	}
	MemoryContextSwitchTo(old);

	rc = model_query("SELECT feature_no, kind, value, weight, center, scale FROM lead_gen.model_term"
					 " WHERE model_id OPERATOR(pg_catalog.=) $1", arg);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read model " INT64_FORMAT ": %s", model_id, SPI_result_code_string(rc));
	old = MemoryContextSwitchTo(cache.cxt);
	for (uint64 k = 0; k < SPI_processed; k++)
	{
		HeapTuple	tup = SPI_tuptable->vals[k];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int			no = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *kind = SPI_getvalue(tup, desc, 2);
		double		weight = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
		LoadedFeature *lf;

		if (no < 1 || no > m->nfeatures)
			continue;
		lf = &m->features[no - 1];
		if (strcmp(kind, "value") == 0)
		{
			char	   *value = SPI_getvalue(tup, desc, 3);
			WeightEntry *e = hash_search(lf->weights, &value, HASH_ENTER, NULL);

			e->weight = weight;
		}
		else if (strcmp(kind, "other") == 0)
			lf->other = weight;
		else if (strcmp(kind, "missing") == 0)
			lf->missing = weight;
		else if (strcmp(kind, "number") == 0)
		{
			lf->number = weight;
			lf->center = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
			lf->scale = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
		}
	}
	MemoryContextSwitchTo(old);

	old = MemoryContextSwitchTo(cache.cxt);
	/* what activity changes (engagement), the window's start, and a write of the value */
	m->reads = bms_make_singleton(lead_column(cache.lead_desc, "engagement") - FirstLowInvalidHeapAttributeNumber);
	m->reads = bms_add_member(m->reads, cache.col_created_at - FirstLowInvalidHeapAttributeNumber);
	m->reads = bms_add_member(m->reads, cache.col_prediction - FirstLowInvalidHeapAttributeNumber);
	for (int i = 0; i < m->nfeatures; i++)
	{
		ModelFeature *f = &m->features[i].f;

		if (f->source == FEATURE_COUNT)
			continue;
		/* fit moves with any fact the profile tests (trigger lead_fit ran first) */
		if (f->source == FEATURE_COLUMN && strcmp(f->key, "fit") == 0)
		{
			m->reads_everything = true;
			continue;
		}
		m->reads = bms_add_member(m->reads, f->attnum - FirstLowInvalidHeapAttributeNumber);
	}
	m->count_kind = palloc0(Max(m->ncounts, 1) * sizeof(char *));
	m->count_window = palloc0(Max(m->ncounts, 1) * sizeof(int64));
	for (int i = 0; i < m->nfeatures; i++)
	{
		LoadedFeature *lf = &m->features[i];

		if (lf->f.source != FEATURE_COUNT)
			continue;
		m->count_kind[lf->count_no - 1] = strcmp(lf->f.key, "any") == 0 ? NULL : lf->f.key;
		m->count_window[lf->count_no - 1] = (int64) lf->f.days * USECS_PER_DAY;
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	m->model_id = model_id;
	entry = hash_search(cache.models, &model_id, HASH_ENTER, NULL);
	entry->model = m;
	return m;
}

/*
 * The counts of a lead's activity a model reads, by one ordered scan of its
 * activity (index activity_lead_occurred_at_idx) with the latest snapshot,
 * which includes what concurrent writers of the lead committed before it was
 * locked (as segments read it, condition.c).  The same counts as
 * model_feature_count_sql's.
 */
static void
count_activity(LoadedModel *m, int64 lead_id, TimestampTz created_at, int64 *counts)
{
	Relation	rel = table_open(cache.activity_relid, AccessShareLock);
	Relation	index = index_open(cache.activity_index, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, cache.activity_att_lead, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(lead_id));
	scan = systable_beginscan_ordered(rel, index, snapshot, 1, &key);
	while ((tup = systable_getnext_ordered(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;
		text	   *kind = DatumGetTextPP(heap_getattr(tup, cache.activity_att_kind, desc, &isnull));
		TimestampTz at = DatumGetTimestampTz(heap_getattr(tup, cache.activity_att_at, desc, &isnull));
		const char *k = VARDATA_ANY(kind);
		int			len = VARSIZE_ANY_EXHDR(kind);

		for (int i = 0; i < m->ncounts; i++)
		{
			const char *want = m->count_kind[i];

			if (want && ((int) strlen(want) != len || memcmp(want, k, len) != 0))
				continue;
			if (m->count_window[i] > 0 && at >= created_at + m->count_window[i])
				continue;
			counts[i]++;
		}
	}
	systable_endscan_ordered(scan);
	UnregisterSnapshot(snapshot);
	/* the locks stay until the transaction ends, as the executor's do: the next lead finds them */
	index_close(index, NoLock);
	table_close(rel, NoLock);
}

/*
 * The log-odds of a lead under a model; with out, also each feature's value
 * and contribution.  counted: the lead has no activity to count (a new lead).
 */
static double
model_logit(LoadedModel *m, HeapTuple tuple, TupleDesc desc, bool counted, Contribution *out)
{
	double		logit = m->intercept;
	int64	   *counts = NULL;
	Jsonb	   *attributes = NULL;
	Datum	   *values = palloc(desc->natts * sizeof(Datum));
	bool	   *nulls = palloc(desc->natts * sizeof(bool));

	/* deformed once: the model reads many of its columns */
	heap_deform_tuple(tuple, desc, values, nulls);

	if (m->ncounts > 0)
	{
		counts = palloc0(m->ncounts * sizeof(int64));
		if (!counted)
			count_activity(m, DatumGetInt64(values[cache.col_lead_id - 1]),
						   DatumGetTimestampTz(values[cache.col_created_at - 1]), counts);
	}

	for (int i = 0; i < m->nfeatures; i++)
	{
		LoadedFeature *lf = &m->features[i];
		char	   *value;
		bool		is_number;
		double		number;
		double		c;

		if (lf->f.source == FEATURE_COUNT)
		{
			number = (double) counts[lf->count_no - 1];
			value = out ? psprintf(INT64_FORMAT, counts[lf->count_no - 1]) : NULL;
			c = lf->number * model_feature_standardize(number, lf->center, lf->scale);
		}
		else
		{
			value = model_feature_value(&lf->f, values[lf->f.attnum - 1], nulls[lf->f.attnum - 1],
										&is_number, &attributes);
			if (value == NULL)
				c = lf->missing;
			else if (lf->f.numeric)
				c = model_feature_number(value, &number)
					? lf->number * model_feature_standardize(number, lf->center, lf->scale)
					: lf->missing;
			else
			{
				WeightEntry *e = hash_search(lf->weights, &value, HASH_FIND, NULL);

				c = e ? e->weight : lf->other;
			}
		}
		logit += c;
		if (out)
		{
			out[i].feature = lf->f.name;
			out[i].value = value;
			out[i].contribution = c;
		}
		else if (value)
			pfree(value);
	}
	if (counts)
		pfree(counts);
	pfree(values);
	pfree(nulls);
	return logit;
}

static double
probability(double logit)
{
	return logit >= 0 ? 1 / (1 + exp(-logit)) : exp(logit) / (1 + exp(logit));
}

static HeapTuple
row_tuple(HeapTupleHeader row, HeapTupleData *tmp)
{
	tmp->t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tmp->t_self);
	tmp->t_tableOid = InvalidOid;
	tmp->t_data = row;
	return tmp;
}

/* model_predict(model_id bigint, l lead) -> float8 */
Datum
lead_gen_model_predict(PG_FUNCTION_ARGS)
{
	LoadedModel *m = load_model(PG_GETARG_INT64(0));
	HeapTupleData tmp;

	PG_RETURN_FLOAT8(probability(model_logit(m, row_tuple(PG_GETARG_HEAPTUPLEHEADER(1), &tmp),
											 cache.lead_desc, false, NULL)));
}

/* lead_prediction(l lead) -> float8: the kept model's; NULL without one */
Datum
lead_gen_lead_prediction(PG_FUNCTION_ARGS)
{
	HeapTupleData tmp;

	cache_reset();
	if (!cache.has_kept)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(probability(model_logit(load_model(cache.kept_id),
											 row_tuple(PG_GETARG_HEAPTUPLEHEADER(0), &tmp),
											 cache.lead_desc, false, NULL)));
}

/*
 * model_contributions(model_id bigint, l lead)
 *	 -> setof (feature_no integer, feature text, value text, contribution float8)
 */
Datum
lead_gen_model_contributions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LoadedModel *m = load_model(PG_GETARG_INT64(0));
	HeapTupleData tmp;
	Contribution *out = palloc0(m->nfeatures * sizeof(Contribution));

	InitMaterializedSRF(fcinfo, 0);
	model_logit(m, row_tuple(PG_GETARG_HEAPTUPLEHEADER(1), &tmp), cache.lead_desc, false, out);
	for (int i = 0; i < m->nfeatures; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, out[i].value == NULL, false};

		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(out[i].feature);
		values[2] = out[i].value ? CStringGetTextDatum(out[i].value) : (Datum) 0;
		values[3] = Float8GetDatum(out[i].contribution);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

bool
prediction_watch_kind(const char *kind)
{
	cache_reset();
	for (int i = 0; i < cache.nwatched; i++)
		if (strcmp(cache.watched_kinds[i], kind) == 0 || strcmp(cache.watched_kinds[i], "any") == 0)
			return true;
	return false;
}

/*
 * BEFORE INSERT OR UPDATE OF <facts>, engagement, created_at, prediction
 * row trigger on lead_gen.lead: sets prediction from the kept model.
 */
Datum
lead_gen_lead_predict_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	HeapTuple	tuple;
	TupleDesc	desc;
	Datum		value = (Datum) 0;
	bool		isnull = true;
	int			col;

	cache_reset();
	trigdata = trigger_guard(fcinfo, "lead_predict_trigger", GUARD_BEFORE,
							 GUARD_INSERT | GUARD_UPDATE, GUARD_ROW, lead_gen_relid("lead"));
	tuple = trigger_new_row(trigdata);
	desc = trigdata->tg_relation->rd_att;
	if (restore_in_progress())
		return PointerGetDatum(tuple);	/* the value lead_gen computed when it was dumped */
	if (cache.has_kept)
	{
		LoadedModel *m = load_model(cache.kept_id);
		double		p;

		/*
		 * An update that sets nothing the model reads keeps the prediction
		 * (activity sets engagement; keeping another model sets prediction).
		 */
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) && !m->reads_everything &&
			!bms_overlap(trigdata->tg_updatedcols, m->reads))
			return PointerGetDatum(tuple);
		p = probability(model_logit(m, tuple, desc, TRIGGER_FIRED_BY_INSERT(trigdata->tg_event), NULL));

		value = Float8GetDatum(p);
		isnull = !isfinite(p);
	}
	col = cache.col_prediction;
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &col, &value, &isnull));
}
