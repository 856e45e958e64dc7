/*-------------------------------------------------------------------------
 *
 * score_activity.c
 *	  The activity triggers: new activity's points added to each lead once
 *	  per statement, changed or deleted activity recomputed from history.
 *
 * The insert trigger is one statement-level trigger with a transition table:
 * a single-row INSERT and a bulk load take the same path, each lead is
 * updated once per statement, in lead_id order, with one kept SPI plan, and
 * O(1) work per activity (plus the settling of daily caps, score_caps.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "config.h"
#include "daily_cap.h"
#include "lead_change.h"
#include "restore.h"
#include "score.h"
#include "predict.h"
#include "segment.h"
#include "trigger.h"

PG_FUNCTION_INFO_V1(lead_gen_activity_inserted);
PG_FUNCTION_INFO_V1(lead_gen_activity_changed);

/* how far ahead of the clock an activity may be dated (clock skew) */
#define FUTURE_TOLERANCE_USECS	(60 * USECS_PER_SEC)

static int
cmp_capped(const void *a, const void *b)
{
	const CappedEvent *x = a;
	const CappedEvent *y = b;
	int			k;

	if (x->lead_id != y->lead_id)
		return x->lead_id < y->lead_id ? -1 : 1;
	k = strcmp(x->rule->kind, y->rule->kind);
	if (k != 0)
		return k;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return 0;
}

static int
cmp_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static LeadDelta *
lead_entry(HTAB *leads, int64 lead_id, TimestampTz at)
{
	bool		found;
	LeadDelta  *ld = hash_search(leads, &lead_id, HASH_ENTER, &found);

	if (!found)
	{
		ld->scored = false;
		ld->delta.value = 0;
		ld->delta.as_of = at;
		ld->delta.half_life = scoring.half_life;
		ld->events = NULL;
		ld->first_touch = 0;
		ld->touched = false;
		ld->caps = NULL;
		ld->ncaps = 0;
		ld->engaged = false;
		ld->reached = 0;
		ld->segmented = false;
	}
	return ld;
}

static void
add_to(HTAB *leads, int64 lead_id, double points, TimestampTz at)
{
	LeadDelta  *ld = lead_entry(leads, lead_id, at);

	ld->scored = true;
	engagement_add_points(&ld->delta, points, at);
}

/* what an activity does besides points: a stage move, a sales touch */
static void
note_event(HTAB *leads, int64 lead_id, const ScoringRule *rule, TimestampTz at)
{
	LeadDelta  *ld = lead_entry(leads, lead_id, at);

	if (rule->moves_to >= 0)
	{
		StageEvent *ev;

		for (ev = ld->events; ev && ev->stage != rule->moves_to; ev = ev->next)
			;
		if (ev == NULL)
		{
			ev = palloc(sizeof(StageEvent));
			ev->stage = rule->moves_to;
			ev->at = at;
			ev->kind = rule->kind;
			ev->next = ld->events;
			ld->events = ev;
		}
		else if (at > ev->at)
		{
			ev->at = at;
			ev->kind = rule->kind;
		}
	}
	if (rule->sales_touch && (!ld->touched || at < ld->first_touch))
	{
		ld->first_touch = at;
		ld->touched = true;
	}
}

/* Activities may not be dated in the future (beyond clock skew). */
static void
check_occurred_at(int64 lead_id, TimestampTz at, TimestampTz latest)
{
	if (TIMESTAMP_NOT_FINITE(at) || at > latest)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("activity of lead %lld is dated in the future: %s",
						(long long) lead_id, timestamptz_to_str(at)),
				 errdetail("Activities may be dated at most one minute ahead of the database clock.")));
}

/*
 * Recompute one lead from its history (SPI connected).  The lead is locked
 * first and its history read by the next statement, whose snapshot (at READ
 * COMMITTED) then includes whatever a concurrent writer of that lead
 * committed; reading history in the UPDATE itself could miss it.
 */
static void
recompute_lead(int64 lead_id)
{
	Datum		arg = Int64GetDatum(lead_id);
	int			rc;

	rc = SPI_execute_plan(scoring.lock_plan, &arg, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not lock lead %lld: %s", (long long) lead_id,
			 SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return;					/* deleted meanwhile */
	rc = SPI_execute_plan(scoring.recompute_plan, &arg, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "could not recompute lead %lld: %s", (long long) lead_id,
			 SPI_result_code_string(rc));
}

/*
 * Add the deltas of many leads: lock them in lead_id order, count the capped
 * activity (days the leads have reached are read with a snapshot taken after
 * the locks, so that it includes what concurrent writers of these leads
 * committed), then one UPDATE.  A lead the UPDATE leaves out has another
 * half-life: recompute it.
 */
static void
add_to_many(HTAB *leads, int64 *ids, int nids, CappedGroup *groups, int ngroups)
{
	Datum	   *id_d = palloc(nids * sizeof(Datum));
	Datum	   *delta_d = palloc(nids * sizeof(Datum));
	bool	   *delta_null = palloc(nids * sizeof(bool));
	Datum	   *touch_d = palloc(nids * sizeof(Datum));
	bool	   *touch_null = palloc(nids * sizeof(bool));
	int			dims[1];
	int			lbs[1] = {1};
	Datum		args[4];
	int			rc;
	int64	   *done;
	int			ndone;
	int			n = 0;

	for (int i = 0; i < nids; i++)
		id_d[i] = Int64GetDatum(ids[i]);
	args[0] = PointerGetDatum(construct_array(id_d, nids, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	rc = SPI_execute_plan(scoring.lock_many_plan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not lock leads: %s", SPI_result_code_string(rc));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		Datum		e = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
		LeadDelta  *ld = hash_search(leads, &id, HASH_FIND, NULL);

		if (ld && !isnull)
		{
			ld->engaged = true;
			ld->reached = DatumGetEngagementP(e)->as_of;
		}
	}
	SPI_freetuptable(SPI_tuptable);

	/* capped activity: read only the days the locked leads have reached */
	if (ngroups > 0)
	{
		CappedGroup *to_read = palloc(ngroups * sizeof(CappedGroup));
		int			nread = 0;

		for (int i = 0; i < ngroups; i++)
		{
			LeadDelta  *ld = hash_search(leads, &groups[i].events[0].lead_id, HASH_FIND, NULL);

			groups[i].sink = &ld->delta;
			groups[i].scored = &ld->scored;
			if (day_needs_read(&groups[i], ld->engaged, ld->reached))
				to_read[nread++] = groups[i];
			else
				count_new_only(&groups[i]);
		}
		if (nread > 0)
			account_capped_days(to_read, nread);
	}

	/* the leads with something to add (not those whose activity all went over a cap) */
	for (int i = 0; i < nids; i++)
	{
		LeadDelta  *ld = hash_search(leads, &ids[i], HASH_FIND, NULL);

		if (!ld->scored && !ld->touched && ld->events == NULL && !ld->segmented)
			continue;
		ids[n] = ids[i];
		id_d[n] = Int64GetDatum(ids[i]);
		delta_d[n] = PointerGetDatum(&ld->delta);
		delta_null[n] = !ld->scored;
		touch_d[n] = TimestampTzGetDatum(ld->first_touch);
		touch_null[n] = !ld->touched;
		n++;
	}
	if (n == 0)
		return;
	dims[0] = n;
	args[0] = PointerGetDatum(construct_array(id_d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_md_array(delta_d, delta_null, 1, dims, lbs, scoring.engagement_type,
												 sizeof(Engagement), false, TYPALIGN_DOUBLE));
	args[2] = scoring.half_life_interval;
	args[3] = PointerGetDatum(construct_md_array(touch_d, touch_null, 1, dims, lbs, TIMESTAMPTZOID,
												 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	rc = SPI_execute_plan(scoring.add_many_plan, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "could not update leads: %s", SPI_result_code_string(rc));
	if (SPI_processed == (uint64) n)
		return;

	/* those left out */
	ndone = (int) SPI_processed;
	done = palloc(Max(ndone, 1) * sizeof(int64));
	for (int i = 0; i < ndone; i++)
	{
		bool		isnull;

		done[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	qsort(done, ndone, sizeof(int64), cmp_int64);
	for (int i = 0, j = 0; i < n; i++)
	{
		while (j < ndone && done[j] < ids[i])
			j++;
		if (j < ndone && done[j] == ids[i])
			continue;
		recompute_lead(ids[i]);
	}
}

/* Are the new activities all of one lead (the capped ones among them)? */
static bool
single_lead(HTAB *leads, CappedEvent *capped, int ncapped)
{
	long		n = hash_get_num_entries(leads);

	for (int i = 1; i < ncapped; i++)
		if (capped[i].lead_id != capped[0].lead_id)
			return false;
	return n == 0 ||
		(n == 1 && hash_search(leads, &capped[0].lead_id, HASH_FIND, NULL) != NULL);
}

/*
 * The SPI part of activity_inserted: what counts of capped kinds, then each
 * lead's update, in lead_id order.
 */
static void
update_leads(HTAB *leads, CappedEvent *capped, int ncapped)
{
	HASH_SEQ_STATUS seq;
	LeadDelta  *ld;
	int64	   *ids;
	int			nids = 0;
	CappedGroup *groups = NULL;
	int			ngroups = 0;

	/* capped kinds: per lead, kind and day, what counts now */
	if (ncapped > 0)
	{
		groups = palloc(ncapped * sizeof(CappedGroup));

		qsort(capped, ncapped, sizeof(CappedEvent), cmp_capped);
		for (int i = 0; i < ncapped;)
		{
			int			j = i + 1;

			while (j < ncapped && cmp_capped(&capped[i], &capped[j]) == 0)
				j++;
			groups[ngroups].events = &capped[i];
			groups[ngroups].k = j - i;
			groups[ngroups].rank_all = groups[ngroups].rank_old = 0;
			ngroups++;
			i = j;
		}
		if (single_lead(leads, capped, ncapped))
		{
			/*
			 * One lead: its trigger settles the caps when the UPDATE below
			 * has locked it (settle_caps).  The delta is then never NULL, so
			 * that the UPDATE checks its half-life.
			 */
			LeadDelta  *ld = lead_entry(leads, capped[0].lead_id, capped[0].at);

			ld->scored = true;
			ld->caps = groups;
			ld->ncaps = ngroups;
			ngroups = 0;
		}
		else
		{
			/* counted by add_to_many once their leads are locked */
			for (int i = 0; i < ncapped; i++)
				(void) lead_entry(leads, capped[i].lead_id, capped[i].at);
		}
	}

	/* each lead once, in lead_id order, so concurrent loads cannot deadlock */
	ids = palloc(Max(hash_get_num_entries(leads), 1) * sizeof(int64));
	hash_seq_init(&seq, leads);
	while ((ld = hash_seq_search(&seq)) != NULL)
		ids[nids++] = ld->lead_id;
	qsort(ids, nids, sizeof(int64), cmp_int64);
	if (nids == 1)
	{
		Datum		args[4];
		char		argnulls[4] = {' ', ' ', ' ', ' '};
		int			rc;

		ld = hash_search(leads, &ids[0], HASH_FIND, NULL);
		args[0] = Int64GetDatum(ld->lead_id);
		args[1] = PointerGetDatum(&ld->delta);
		args[2] = scoring.half_life_interval;
		args[3] = TimestampTzGetDatum(ld->first_touch);
		if (!ld->scored)
			argnulls[1] = 'n';
		if (!ld->touched)
			argnulls[3] = 'n';
		rc = SPI_execute_plan(scoring.add_plan, args, argnulls, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "could not update lead %lld: %s", (long long) ld->lead_id,
				 SPI_result_code_string(rc));
		/*
		 * Not updated: another half-life, start over.  Updated with caps
		 * left unsettled: its trigger is disabled, count from history.
		 */
		if (SPI_processed == 0 || ld->ncaps > 0)
			recompute_lead(ld->lead_id);
	}
	else if (nids > 1)
		add_to_many(leads, ids, nids, groups, ngroups);
}

/*
 * update_leads, marked busy (see scoring_load), with the leads' triggers
 * told what activity is being added (lead_change.h)
 */
static void
update_leads_busy(HTAB *leads, CappedEvent *capped, int ncapped)
{
	HTAB	   *outer = lead_change_activity_begin(leads);

	scoring_busy++;
	PG_TRY();
	{
		update_leads(leads, capped, ncapped);
	}
	PG_FINALLY();
	{
		lead_change_activity_end(outer);
		scoring_busy--;
	}
	PG_END_TRY();
}

/*
 * AFTER INSERT ... REFERENCING NEW TABLE ... FOR EACH STATEMENT on
 * lead_gen.activity: add every new activity's points to its lead.
 */
Datum
lead_gen_activity_inserted(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	TupleDesc	desc;
	TupleTableSlot *slot;
	HASHCTL		ctl;
	HTAB	   *leads;
	CappedEvent *capped = NULL;
	int			ncapped = 0;
	int			capped_size = 0;
	int			att_id;
	int			att_lead;
	int			att_kind;
	int			att_at;
	TimestampTz latest = GetCurrentTimestamp() + FUTURE_TOLERANCE_USECS;

	/*
	 * In a restore, rules and settings may be restored beside this activity
	 * (pg_restore --jobs): wait for them, so that they are either read here
	 * or recompute this activity's leads once committed (scoring_mark_changed
	 * writes scoring_state first).
	 */
	if (restore_in_progress())
		LockRelationOid(lead_gen_relid("scoring_state"), ShareLock);
	scoring_load();
	trigdata = trigger_guard(fcinfo, "activity_inserted", GUARD_AFTER, GUARD_INSERT,
							 GUARD_STATEMENT, scoring.activity_relid);
	if (trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("activity_inserted: needs REFERENCING NEW TABLE")));

	desc = trigdata->tg_relation->rd_att;
	att_id = SPI_fnumber(desc, "activity_id");
	att_lead = SPI_fnumber(desc, "lead_id");
	att_kind = SPI_fnumber(desc, "kind");
	att_at = SPI_fnumber(desc, "occurred_at");

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(LeadDelta);
	ctl.hcxt = CurrentMemoryContext;
	leads = hash_create("lead_gen new activity", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(trigdata->tg_newtable);
	while (tuplestore_gettupleslot(trigdata->tg_newtable, true, false, slot))
	{
		bool		isnull;
		int64		lead_id = DatumGetInt64(slot_getattr(slot, att_lead, &isnull));
		TimestampTz at = DatumGetTimestampTz(slot_getattr(slot, att_at, &isnull));
		char	   *kind = TextDatumGetCString(slot_getattr(slot, att_kind, &isnull));
		ScoringRule *rule;

		CHECK_FOR_INTERRUPTS();
		check_occurred_at(lead_id, at, latest);
		rule = rule_for(kind);
		/*
		 * activity a live segment tests, or the kept model counts, updates
		 * its lead, points or not
		 */
		if (segments_watch_kind(kind) || prediction_watch_kind(kind))
			lead_entry(leads, lead_id, at)->segmented = true;
		pfree(kind);
		if (rule == NULL)
			continue;
		if (rule->moves_to >= 0 || rule->sales_touch)
			note_event(leads, lead_id, rule, at);
		if (rule->points == 0 || rule->daily_cap == 0)
			continue;
		if (rule->daily_cap < 0)
		{
			add_to(leads, lead_id, rule->points, at);
			continue;
		}
		if (ncapped == capped_size)
		{
			capped_size = capped_size ? capped_size * 2 : 64;
			capped = capped ? repalloc_huge(capped, capped_size * sizeof(CappedEvent))
				: palloc(capped_size * sizeof(CappedEvent));
		}
		capped[ncapped].lead_id = lead_id;
		capped[ncapped].rule = rule;
		capped[ncapped].day = utc_day(at);
		capped[ncapped].at = at;
		capped[ncapped].activity_id = DatumGetInt64(slot_getattr(slot, att_id, &isnull));
		ncapped++;
	}
	ExecDropSingleTupleTableSlot(slot);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	update_leads_busy(leads, capped, ncapped);
	SPI_finish();
	return PointerGetDatum(NULL);
}

static void
collect_leads(Tuplestorestate *ts, TupleDesc desc, int64 **ids, int *nids, int *size,
			  bool check_dates)
{
	TupleTableSlot *slot;
	int			att_lead = SPI_fnumber(desc, "lead_id");
	int			att_at = SPI_fnumber(desc, "occurred_at");
	TimestampTz latest = GetCurrentTimestamp() + FUTURE_TOLERANCE_USECS;

	if (ts == NULL)
		return;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;

		if (*nids == *size)
		{
			*size *= 2;
			*ids = repalloc_huge(*ids, *size * sizeof(int64));
		}
		(*ids)[(*nids)++] = DatumGetInt64(slot_getattr(slot, att_lead, &isnull));
		if (check_dates)
			check_occurred_at((*ids)[*nids - 1],
							  DatumGetTimestampTz(slot_getattr(slot, att_at, &isnull)), latest);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * AFTER UPDATE or DELETE ... FOR EACH STATEMENT on lead_gen.activity, with
 * transition tables: every lead whose history changed is recomputed from it.
 */
Datum
lead_gen_activity_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata;
	TupleDesc	desc;
	int			size = 64;
	int			nids = 0;
	int64	   *ids = palloc(size * sizeof(int64));
	HASHCTL		ctl;
	HTAB	   *outer;

	scoring_load();
	trigdata = trigger_guard(fcinfo, "activity_changed", GUARD_AFTER, GUARD_UPDATE | GUARD_DELETE,
							 GUARD_STATEMENT, scoring.activity_relid);
	desc = trigdata->tg_relation->rd_att;
	collect_leads(trigdata->tg_oldtable, desc, &ids, &nids, &size, false);
	collect_leads(trigdata->tg_newtable, desc, &ids, &nids, &size, true);
	qsort(ids, nids, sizeof(int64), cmp_int64);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	scoring_busy++;
	/* the leads' triggers know activity changes them (nothing to add) */
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(LeadDelta);
	ctl.hcxt = CurrentMemoryContext;
	outer = lead_change_activity_begin(hash_create("lead_gen changed activity", 16, &ctl,
												   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT));
	PG_TRY();
	{
		for (int i = 0; i < nids; i++)
		{
			if (i > 0 && ids[i] == ids[i - 1])
				continue;
			CHECK_FOR_INTERRUPTS();
			recompute_lead(ids[i]);
		}
	}
	PG_FINALLY();
	{
		lead_change_activity_end(outer);
		scoring_busy--;
	}
	PG_END_TRY();
	SPI_finish();
	return PointerGetDatum(NULL);
}
