/*-------------------------------------------------------------------------
 *
 * score.h
 *	  Lead scoring: engagement kept current by the activity triggers, and
 *	  score, temperature and the time of the next temperature change kept by
 *	  the lead trigger.
 *
 *	  score(t) = fit_weight * fit + prediction_weight * 100 * prediction
 *				 + engagement_weight * min(engagement(t), cap)
 *
 * (fit and prediction are what the lead holds now: its fixed points).
 *
 * An activity adds its kind's points to its lead's engagement, which decays
 * with the configured half-life.  Of a kind with a daily cap only the first
 * activities of a day count (daily_cap.h), so inserting an activity out of
 * time order may push a later one out of the cap; the insert trigger
 * accounts for that, and the result equals a recomputation from history
 * (lead_gen.history_engagement).
 *
 * One header, four files, each calling only those before it:
 *	 score_config.c		the rules, settings and kept plans (scoring_load)
 *	 score_caps.c		settling daily caps among new and stored activity
 *	 score_lead.c		the lead trigger: score, temperature, next change
 *	 score_activity.c	the activity triggers: new activity's points per lead
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_SCORE_H
#define LEAD_GEN_SCORE_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/hsearch.h"

#include "engagement.h"
#include "stage.h"

typedef struct ScoringRule
{
	char		kind[NAMEDATALEN];	/* hash key */
	double		points;
	int			daily_cap;		/* -1: none */
	int			moves_to;		/* stage a high-intent event moves to; -1: none */
	bool		sales_touch;
} ScoringRule;

typedef struct ScoringConfig
{
	uint64		generation;
	MemoryContext cxt;
	HTAB	   *rules;
	double		half_life;		/* seconds */
	Datum		half_life_interval;
	double		fit_weight;
	double		prediction_weight;
	double		engagement_weight;
	double		engagement_cap;
	double		warm_at;
	double		hot_at;
	Oid			engagement_type;
	Datum		temperature[3]; /* cold, warm, hot */
	SPIPlanPtr	add_plan;		/* add a delta to one lead's engagement */
	SPIPlanPtr	day_plan;		/* a lead's activities of one kind in one day */
	SPIPlanPtr	lock_plan;		/* lock one lead */
	SPIPlanPtr	recompute_plan; /* one lead's engagement from its history */
	SPIPlanPtr	days_plan;		/* day_plan for many (lead, kind, day) at once */
	SPIPlanPtr	lock_many_plan; /* lock many leads, in lead_id order */
	SPIPlanPtr	add_many_plan;	/* add_plan for many leads at once */
	Oid			lead_relid;
	Oid			activity_relid;
	/* lead_gen.lead's columns the lead trigger reads and sets (0: not yet) */
	int			col_lead_id;
	int			col_fit;
	int			col_prediction;
	int			col_engagement;
	int			col_score;
	int			col_temperature;
	int			col_next_change_at;
	int			col_scored_at;
} ScoringConfig;

/* the configuration, loaded by scoring_load() */
extern ScoringConfig scoring;

/* how many activity triggers are running their plans in this backend */
extern int	scoring_busy;

/* a new activity of a kind with a daily cap */
typedef struct CappedEvent
{
	int64		lead_id;
	const ScoringRule *rule;
	TimestampTz day;
	TimestampTz at;
	int64		activity_id;
} CappedEvent;

/*
 * A group of new activities of one lead, kind and day, of a capped kind:
 * which activities count before and after the insert, and the difference.
 * The day's activities come in time order; ranks count them.
 */
typedef struct CappedGroup
{
	CappedEvent *events;		/* the new ones */
	int			k;
	int			rank_all;
	int			rank_old;
	Engagement *sink;			/* where the group's points go */
	bool	   *scored;			/* set when points went there (or NULL) */
} CappedGroup;

typedef struct LeadDelta
{
	int64		lead_id;		/* hash key */
	bool		scored;			/* delta holds points */
	Engagement	delta;
	StageEvent *events;			/* high-intent events, latest per stage */
	TimestampTz first_touch;	/* earliest sales touch; 0 with !touched */
	bool		touched;
	CappedGroup *caps;			/* capped groups the lead trigger settles */
	int			ncaps;
	bool		engaged;		/* locked with an engagement ... */
	TimestampTz reached;		/* ... whose as_of is this */
	bool		segmented;		/* activity a live segment tests */
} LeadDelta;

/* score_config.c */
extern void scoring_load(void);
extern ScoringRule *rule_for(const char *kind);
extern double lead_fixed_points(double fit, double prediction);
extern double lead_score_at(double fixed, const Engagement *e, TimestampTz at);
extern int	lead_temperature(double score);

/* score_caps.c */
extern bool day_needs_read(const CappedGroup *g, bool engaged, TimestampTz reached);
extern void count_new_only(CappedGroup *g);
extern void account_capped_days(CappedGroup *groups, int ngroups);
extern Engagement *settle_caps(LeadDelta *ld, const Engagement *before, const Engagement *after);

#endif							/* LEAD_GEN_SCORE_H */
