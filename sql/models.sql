-- Predictive models: training on outcomes, predictions kept on leads and
-- explained exactly, the report, versions, conversion lift, bad input and
-- who may do what.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
SET extra_float_digits = 0;
BEGIN;

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- a uniform number in [0, 1) fixed by g, the same on every platform
CREATE FUNCTION pg_temp.u(g bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
	SELECT (hashint8(g * 7919 + salt) & 65535) / 65536.0::float8
$$;

-- the leads of the tests before this one would move the counts (rolled back)
DELETE FROM lead;

-- 1. Leads old enough to have an outcome: industry, size and a plan decide
-- who became a customer (a known generating model); country and the
-- e-mail domain are noise.
INSERT INTO lead (lead_id, email, industry, employees, country, seniority, attributes, created_at)
SELECT g, 'p' || g || '@' || (ARRAY['a.example', 'b.example', 'c.example'])[1 + g % 3],
	   (ARRAY['saas', 'fintech', 'retail', 'health'])[1 + (g / 3) % 4],
	   CASE WHEN g % 17 <> 0 THEN 10 + (g * 37) % 1000 END,
	   CASE WHEN g % 19 <> 0 THEN (ARRAY['US', 'DE', 'FR'])[1 + (g / 5) % 3] END,
	   (ARRAY['vp', 'manager', 'entry'])[1 + (g / 7) % 3]::seniority_level,
	   CASE WHEN g % 23 <> 0 THEN jsonb_build_object('plan', (ARRAY['free', 'pro'])[1 + (g / 11) % 2]) ELSE '{}' END
	   || jsonb_build_object('visits', g % 13),
	   now() - interval '400 days'
FROM generate_series(80001, 83000) AS g;
UPDATE lead SET stage = 'customer'
WHERE lead_id BETWEEN 80001 AND 83000
  AND pg_temp.u(lead_id, 1) < 1 / (1 + exp(-(-2.2 + CASE industry WHEN 'saas' THEN 1.6 WHEN 'fintech' THEN 0.9 ELSE 0 END
											 + coalesce(employees / 400.0 - 1.2, 1)
											 + CASE WHEN attributes->>'plan' = 'pro' THEN 0.8 ELSE 0 END)));
-- some of the rest were disqualified; new leads have no outcome yet
SET LOCAL lead_gen.stage_reason = 'no budget';
UPDATE lead SET stage = 'disqualified'
WHERE lead_id BETWEEN 80001 AND 83000 AND stage <> 'customer' AND lead_id % 10 = 0;
INSERT INTO lead (lead_id, email, industry, employees, country, attributes)
SELECT g, 'n' || g || '@a.example', 'saas', 100, 'US', '{"plan": "pro", "visits": 3}'
FROM generate_series(83001, 83100) AS g;
SELECT count(*) FILTER (WHERE stage = 'customer') AS customers,
	   count(*) FILTER (WHERE stage = 'disqualified') AS disqualified, count(*) AS leads
FROM lead WHERE lead_id BETWEEN 80001 AND 83100;

-- 2. Training: a new model, version 1, active; every lead with an outcome
-- but the holdout (one in five, fixed by the id) is trained on.
SELECT train_model('win', ARRAY['industry', 'employees', ' country ', 'attributes.plan', 'attributes.visits',
								'email_domain', 'seniority']) > 0 AS trained;
SELECT name, version, active, features, numeric, horizon, regularization, max_values, restricted,
	   train_leads, holdout_leads, train_leads + holdout_leads AS with_outcome,
	   holdout_leads = (SELECT count(*) FROM lead WHERE lead_id BETWEEN 80001 AND 83000 AND model_holdout(lead_id)) AS holdout_by_id,
	   train_positives = (SELECT count(*) FROM lead WHERE lead_id BETWEEN 80001 AND 83000
						  AND NOT model_holdout(lead_id) AND stage = 'customer') AS positives_counted
FROM model;
-- the terms: one per value (most frequent first), other and missing; a
-- number is standardised by the training leads
SELECT feature_no, kind, value, leads, round(weight::numeric, 2) AS weight,
	   round(center::numeric, 2) AS center, round(scale::numeric, 2) AS scale
FROM model_term WHERE model_id = model_id('win') ORDER BY term_no;
-- the generating model's signs are learned
SELECT (SELECT weight FROM model_term WHERE model_id = model_id('win') AND value = 'saas')
	 > (SELECT weight FROM model_term WHERE model_id = model_id('win') AND value = 'fintech') AS saas_over_fintech,
	   (SELECT weight FROM model_term WHERE model_id = model_id('win') AND value = 'fintech')
	 > (SELECT weight FROM model_term WHERE model_id = model_id('win') AND value = 'retail') AS fintech_over_retail,
	   (SELECT weight FROM model_term WHERE model_id = model_id('win') AND feature_no = 2 AND kind = 'number') > 0.3 AS size_helps,
	   (SELECT weight FROM model_term WHERE model_id = model_id('win') AND value = 'pro')
	 > (SELECT weight FROM model_term WHERE model_id = model_id('win') AND value = 'free') AS pro_helps;

-- 3. The report, on the holdout
SELECT version, measured_on, measured_leads, measured_positives, round(auc::numeric, 3) AS auc,
	   round(log_loss::numeric, 3) AS log_loss, round(brier::numeric, 3) AS brier, iterations BETWEEN 3 AND 20 AS converged
FROM model_report('win');
-- the AUC is the share of (customer, other) holdout pairs ordered right
SELECT round(((SELECT avg((p.p > n.p)::int + 0.5 * (p.p = n.p)::int)
			   FROM (SELECT predict('win', lead_id) AS p FROM lead WHERE lead_id BETWEEN 80001 AND 83000
					 AND model_holdout(lead_id) AND stage = 'customer') AS p,
					(SELECT predict('win', lead_id) AS p FROM lead WHERE lead_id BETWEEN 80001 AND 83000
					 AND model_holdout(lead_id) AND stage <> 'customer') AS n)
			  - (SELECT auc FROM model_report('win')))::numeric, 12) AS auc_difference;
-- Brier score and log loss, recomputed from predict()
SELECT round((avg((predict('win', lead_id) - (stage = 'customer')::int) ^ 2) - (SELECT brier FROM model_report('win')))::numeric, 12) AS brier_difference,
	   round((avg(-ln(CASE WHEN stage = 'customer' THEN predict('win', lead_id) ELSE 1 - predict('win', lead_id) END))
			  - (SELECT log_loss FROM model_report('win')))::numeric, 12) AS log_loss_difference
FROM lead WHERE lead_id BETWEEN 80001 AND 83000 AND model_holdout(lead_id);
-- calibration: ten equal groups by prediction; each group's rates agree
SELECT count(*) AS deciles, sum(leads) AS leads, bool_and(abs(predicted - observed) < 0.15) AS calibrated,
	   bool_and(predicted >= coalesce(lag_predicted, 0)) AS ordered
FROM (SELECT c.*, lag(predicted) OVER (ORDER BY decile) AS lag_predicted FROM model_calibration('win') AS c) AS c;
-- importance: what decided the outcome comes first, the noise last
SELECT rank, feature FROM model_importance('win') ORDER BY rank;

-- 4. Explaining a prediction: the intercept and one row per feature, adding
-- up to the logit of predict()
SELECT feature, value, round(contribution::numeric, 4) AS contribution FROM explain_prediction('win', 80002);
SELECT round(ln(p / (1 - p))::numeric, 12) = round((SELECT sum(contribution) FROM explain_prediction('win', 80002))::numeric, 12) AS adds_up
FROM predict('win', 80002) AS p;
SELECT bool_and(abs(ln(p / (1 - p)) - s) < 1e-9) AS every_lead_adds_up
FROM (SELECT predict('win', lead_id) AS p, (SELECT sum(contribution) FROM explain_prediction('win', lead_id)) AS s
	  FROM lead WHERE lead_id BETWEEN 80001 AND 83100 AND lead_id % 37 = 0) AS x;
-- a value training never saw counts as other, no value as missing, a
-- number that is not one as missing too
INSERT INTO lead (lead_id, email, industry, employees, country, attributes)
VALUES (83201, 'q@z.example', 'mining', NULL, NULL, '{"plan": "enterprise", "visits": "many"}');
SELECT feature, value, contribution = (SELECT weight FROM model_term t WHERE t.model_id = model_id('win')
									   AND t.feature_no = e.no AND t.kind = e.expected) AS right_term
FROM (SELECT e.*, row_number() OVER () - 1 AS no,
			 (ARRAY[NULL, 'other', 'missing', 'missing', 'other', 'missing', 'other', 'missing'])[row_number() OVER ()] AS expected
	  FROM explain_prediction('win', 83201) AS e) AS e
WHERE no > 0;
-- training saw leads without a size, country or plan: those terms learned
SELECT feature_no, weight <> 0 AS learned, leads FROM model_term
WHERE model_id = model_id('win') AND kind = 'missing' AND leads > 0 ORDER BY feature_no;

-- 5. Kept on every lead: keep_prediction(name) fills lead.prediction, the
-- trigger keeps it current, and nobody else writes it.
SELECT count(*) FILTER (WHERE prediction IS NOT NULL) AS predicted FROM lead;
SELECT keep_prediction('win') >= 3100 AS refreshed;
SELECT count(*) FILTER (WHERE prediction IS NULL) AS unpredicted,
	   bool_and(prediction = predict('win', lead_id)) AS equal_to_predict,
	   bool_and(prediction > 0 AND prediction < 1) AS probabilities
FROM lead;
UPDATE lead SET industry = 'retail' WHERE lead_id = 80002;
SELECT prediction = predict('win', 80002) AS follows_the_facts, prediction < 0.5 AS retail_lower FROM lead WHERE lead_id = 80002;
UPDATE lead SET prediction = 0.99 WHERE lead_id = 80002;
SELECT prediction = predict('win', 80002) AS hand_written_replaced FROM lead WHERE lead_id = 80002;
INSERT INTO lead (email, industry, employees, prediction) VALUES ('new@a.example', 'saas', 900, 0) RETURNING prediction > 0.5 AS new_lead_predicted;
-- a live segment on the prediction: its members move with it, in the
-- same statement
SELECT create_segment('ml_likely', 'prediction >= 0.5') > 0 AS segment;
SELECT count(*) AS likely,
	   count(*) = (SELECT count(*) FROM segment_member WHERE segment_id = segment_id('ml_likely')) AS members_right
FROM lead WHERE prediction >= 0.5;
UPDATE lead SET industry = 'saas', employees = 990, attributes = '{"plan": "pro"}' WHERE lead_id = 80002;
SELECT prediction >= 0.5 AS likely, in_segment(80002, 'ml_likely') AS member FROM lead WHERE lead_id = 80002;
-- keeping none clears them, and empties the segment
SELECT keep_prediction(NULL) AS cleared;
SELECT count(*) FILTER (WHERE prediction IS NOT NULL) AS predicted,
	   (SELECT count(*) FROM segment_member WHERE segment_id = segment_id('ml_likely')) AS members
FROM lead;
SELECT drop_segment('ml_likely');
-- the prediction in the score: prediction_weight points per percentage
-- point, shown by explain_score and replayed by score_at
UPDATE scoring_settings SET prediction_weight = 0.5;
SELECT keep_prediction('win') > 3000 AS kept;
SELECT count(*) AS leads,
	   bool_and(abs(l.score - (s.fit_weight * coalesce(l.fit, 0) + 50 * l.prediction)) < 1e-9) AS score_counts_it,
	   bool_and(abs(l.score - lead_score(l, l.scored_at)) < 1e-9) AS lead_score_agrees,
	   count(*) FILTER (WHERE l.temperature <> 'cold') > 0 AS some_warmed
FROM lead AS l, scoring_settings AS s WHERE l.engagement IS NULL;
SELECT e.component, abs(e.points - CASE e.component WHEN 'fit' THEN s.fit_weight * coalesce(l.fit, 0)
										ELSE 50 * l.prediction END) < 1e-9 AS points_right
FROM explain_score(80002) AS e, lead AS l, scoring_settings AS s
WHERE l.lead_id = 80002 AND e.component IN ('fit', 'prediction') ORDER BY e.component;
SELECT abs(score_at(80002, now()) - (SELECT score FROM lead WHERE lead_id = 80002)) < 1e-9 AS replayed;
UPDATE lead SET industry = 'retail' WHERE lead_id = 80002;
SELECT abs(score - (SELECT fit_weight FROM scoring_settings) * coalesce(fit, 0) - 50 * prediction) < 1e-9 AS moves_with_it
FROM lead WHERE lead_id = 80002;
SELECT pg_temp.try($$UPDATE scoring_settings SET prediction_weight = -1$$) AS negative_weight;
SELECT pg_temp.try($$UPDATE scoring_settings SET prediction_weight = 'NaN'$$) AS nan_weight;
UPDATE scoring_settings SET prediction_weight = 0;
SELECT keep_prediction(NULL) > 0 AS cleared;

-- 6. Counts of activity: all time, and in the first days of the lead
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT l.lead_id, 'ml_webinar', l.created_at + interval '1 day'
FROM lead AS l WHERE l.lead_id BETWEEN 80001 AND 83000
  AND pg_temp.u(l.lead_id, 2) < CASE WHEN l.stage = 'customer' THEN 0.6 ELSE 0.2 END;
-- later ones count all time, not in the first 30 days
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'ml_webinar', created_at + interval '60 days' FROM lead WHERE lead_id BETWEEN 80001 AND 80300;
SELECT train_model('webinars', ARRAY['count( ml_webinar  in first 30 days )', 'count(ml_webinar)', 'industry']) > 0 AS trained;
SELECT features, numeric FROM model WHERE name = 'webinars';
SELECT (SELECT weight FROM model_term WHERE model_id = model_id('webinars') AND feature_no = 1 AND kind = 'number') > 0.3
	AS early_webinars_help;
-- the counts an explanation shows are the lead's activity
SELECT count(*) AS leads,
	   bool_and(e.early::bigint = (SELECT count(*) FROM activity AS a WHERE a.lead_id = l.lead_id AND a.kind = 'ml_webinar'
								   AND a.occurred_at < l.created_at + interval '30 days')) AS early_right,
	   bool_and(e.ever::bigint = (SELECT count(*) FROM activity AS a WHERE a.lead_id = l.lead_id AND a.kind = 'ml_webinar')) AS ever_right
FROM lead AS l,
	 LATERAL (SELECT max(value) FILTER (WHERE feature = 'count(ml_webinar in first 30 days)') AS early,
					 max(value) FILTER (WHERE feature = 'count(ml_webinar)') AS ever
			  FROM explain_prediction('webinars', l.lead_id)) AS e
WHERE l.lead_id BETWEEN 80250 AND 80350;
-- kept on leads, new activity of a kind no rule scores moves the
-- prediction in the same statement; deleting it moves it back
SELECT keep_prediction('webinars') > 0 AS kept;
CREATE TEMP TABLE before AS SELECT prediction FROM lead WHERE lead_id = 83001;
INSERT INTO activity (lead_id, kind) VALUES (83001, 'ml_webinar');
SELECT l.prediction > b.prediction AS moved_up, l.prediction = predict('webinars', 83001) AS current
FROM lead AS l, before AS b WHERE l.lead_id = 83001;
DELETE FROM activity WHERE lead_id = 83001 AND kind = 'ml_webinar';
SELECT l.prediction = b.prediction AS moved_back FROM lead AS l, before AS b WHERE l.lead_id = 83001;
-- a kept model is not dropped
SELECT pg_temp.try($$SELECT drop_model('webinars')$$) AS drop_kept;
SELECT keep_prediction(NULL) > 0 AS cleared;

-- 7. Versions: training again makes version 2 active; an earlier version
-- can be made active again; update_model retrains with the same settings;
-- leads restricts the training leads
SELECT train_model('win', ARRAY['industry', 'employees', 'country', 'attributes.plan', 'attributes.visits',
								'email_domain', 'seniority'], regularization => 10) > 0 AS retrained;
SELECT version, active, regularization FROM model WHERE name = 'win' ORDER BY version;
SELECT activate_model('win', 1) > 0 AS rolled_back;
SELECT version AS active_version FROM model_report('win');
SELECT update_model('win') > 0 AS updated;
SELECT version, active, regularization, restricted FROM model WHERE name = 'win' ORDER BY version;
SELECT train_model('win_split', ARRAY['industry', 'employees'],
				   leads => ARRAY(SELECT lead_id FROM lead WHERE lead_id BETWEEN 80001 AND 81500)) > 0 AS trained;
SELECT train_leads + holdout_leads = (SELECT count(*) FROM lead WHERE lead_id BETWEEN 80001 AND 81500
									  AND stage IN ('customer', 'disqualified') OR lead_id BETWEEN 80001 AND 81500 AND created_at < now() - interval '180 days')
	   AS split_only, restricted
FROM model WHERE name = 'win_split';
-- leads still without an outcome are not trained on: a horizon longer than
-- their age leaves only the customers and the disqualified
SELECT train_model('win_long', ARRAY['industry'], horizon => '500 days') > 0 AS trained;
SELECT train_leads + holdout_leads = (SELECT count(*) FROM lead WHERE stage IN ('customer', 'disqualified')) AS outcomes_only
FROM model WHERE name = 'win_long';
SELECT drop_model('win_long') AS dropped, pg_temp.try($$SELECT model_id('win_long')$$) AS gone;
-- max_values: the rest of the values share the other term
SELECT train_model('win_top2', ARRAY['industry', 'employees'], max_values => 2) > 0 AS trained;
SELECT kind, value, leads FROM model_term WHERE model_id = model_id('win_top2') AND feature_no = 1 ORDER BY term_no;
SELECT e.value, e.contribution = t.weight AS other_term, t.weight <> 0 AS learned
FROM explain_prediction('win_top2', 80002) AS e, model_term AS t
WHERE e.feature = 'industry' AND t.model_id = model_id('win_top2') AND t.feature_no = 1 AND t.kind = 'other';

-- 8. Models are what training computed: nobody writes one by hand
SELECT pg_temp.try($$INSERT INTO model_term VALUES (1, 999, 1, 'value', 'x', 1, NULL, NULL, 1)$$) AS insert_term;
SELECT pg_temp.try($$UPDATE model_term SET weight = 5 WHERE model_id = model_id('win') AND term_no = 1$$) AS update_term;
SELECT pg_temp.try($$UPDATE model SET intercept = 3 WHERE name = 'win'$$) AS update_model_row;
SELECT pg_temp.try($$UPDATE model SET active = NOT active WHERE name = 'win'$$) AS flip_active;
SELECT pg_temp.try($$INSERT INTO model (name, version, features, numeric, horizon, regularization, max_values, restricted,
	intercept, iterations, train_leads, train_positives, holdout_leads, report)
	VALUES ('fake', 1, '{industry}', '{f}', '1 day', 1, 50, false, 0, 1, 1, 1, 1, '{}')$$) AS insert_model;

-- 9. Bad input
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['shoe_size'])$$) AS unknown_fact;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['stage'])$$) AS outcome_column;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['email'])$$) AS identity_column;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['count(ml_webinar in first 0 days)'])$$) AS zero_days;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['count(Webinar)'])$$) AS bad_kind;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['count(webinar within 3 days)'])$$) AS bad_count;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['attributes.'])$$) AS empty_attribute;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry', 'industry'])$$) AS twice;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry', NULL])$$) AS null_feature;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY[]::text[])$$) AS no_features;
SELECT pg_temp.try($$SELECT train_model('bad', NULL)$$) AS null_features;
SELECT pg_temp.try($$SELECT train_model(NULL, ARRAY['industry'])$$) AS null_name;
SELECT pg_temp.try($$SELECT train_model('Bad Name', ARRAY['industry'])$$) AS bad_name;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry'], regularization => 0)$$) AS no_penalty;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry'], regularization => 'NaN')$$) AS nan_penalty;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry'], max_values => 0)$$) AS no_values;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry'], horizon => '-1 day')$$) AS negative_horizon;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['consent'])$$) AS one_value;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['budget'])$$) AS no_value;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['attributes.nothing'])$$) AS no_attribute;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry'], leads => ARRAY[80002, 80003]::bigint[])$$) AS no_positive;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry'],
	leads => ARRAY(SELECT lead_id FROM lead WHERE stage = 'customer'))$$) AS no_negative;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['industry'], leads => ARRAY[83001])$$) AS no_outcome;
SELECT pg_temp.try($$SELECT train_model('win', ARRAY['industry'])$$) AS name_taken;
UPDATE lead SET attributes = attributes || '{"huge": 1e300}' WHERE lead_id BETWEEN 80001 AND 80500;
UPDATE lead SET attributes = attributes || '{"huge": -1e300}' WHERE lead_id BETWEEN 80501 AND 81000;
SELECT pg_temp.try($$SELECT train_model('bad', ARRAY['attributes.huge'])$$) AS overflow;
SELECT pg_temp.try($$SELECT predict('nope', 80001)$$) AS unknown_model;
SELECT pg_temp.try($$SELECT predict('win', 99999999)$$) AS unknown_lead;
SELECT predict('win', NULL) AS null_lead;
SELECT pg_temp.try($$SELECT * FROM explain_prediction('win', 99999999)$$) AS explain_unknown_lead;
SELECT pg_temp.try($$SELECT keep_prediction('nope')$$) AS keep_unknown;
SELECT pg_temp.try($$SELECT activate_model('win', 42)$$) AS no_such_version;
SELECT pg_temp.try($$SELECT drop_model('nope')$$) AS drop_unknown;
SELECT pg_temp.try($$SELECT schedule_training('nope')$$) AS schedule_unknown;
-- a number far outside what training saw stays finite
UPDATE lead SET employees = 2000000000 WHERE lead_id = 83201;
SELECT predict('win', 83201) BETWEEN 0 AND 1 AS finite,
	   (SELECT bool_and(contribution > -1e100 AND contribution < 1e100) FROM explain_prediction('win', 83201)) AS finite_terms;

-- 10. Conversion lift: per value of each fact, its leads, their rate to a
-- stage, the others' rate, the lift and a 95% Wilson interval
SELECT fact, value, leads, converted, round(rate::numeric, 4) AS rate, round(others_rate::numeric, 4) AS others,
	   round(lift::numeric, 3) AS lift, round(rate_low::numeric, 4) AS low, round(rate_high::numeric, 4) AS high
FROM conversion_lift(ARRAY['industry', 'attributes.plan', 'activity(ml_webinar)', 'country'], 50);
-- the plain SQL a user would write gives the same numbers
WITH t AS (SELECT count(*) AS n, count(*) FILTER (WHERE peak_stage >= 'customer') AS c FROM lead WHERE forgotten_at IS NULL),
	 g AS (SELECT industry AS value, count(*) AS n, count(*) FILTER (WHERE peak_stage >= 'customer') AS c
		   FROM lead WHERE forgotten_at IS NULL AND industry IS NOT NULL GROUP BY industry HAVING count(*) >= 50)
SELECT bool_and(l.leads = g.n AND l.converted = g.c AND l.rate = g.c::float8 / g.n
				AND abs(l.others_rate - (t.c - g.c)::float8 / (t.n - g.n)) < 1e-15) AS same,
	   count(*) = (SELECT count(*) FROM conversion_lift(ARRAY['industry'], 50)) AS same_rows
FROM g, t, conversion_lift(ARRAY['industry'], 50) AS l WHERE l.value = g.value;
-- the Wilson interval of 50 in 100, and of 0 in 10
SELECT round(low::numeric, 4) AS low, round(high::numeric, 4) AS high FROM wilson_interval(50, 100);
SELECT round(low::numeric, 4) AS low, round(high::numeric, 4) AS high FROM wilson_interval(0, 10);
SELECT low IS NULL AND high IS NULL AS no_trials_no_interval FROM wilson_interval(0, 0);
-- another stage; activity with a property; a segment; min_leads
INSERT INTO activity (lead_id, kind, properties, occurred_at)
SELECT lead_id, 'ml_download', jsonb_build_object('asset', CASE WHEN lead_id % 2 = 0 THEN 'pricing_guide' ELSE 'ebook' END), created_at + interval '2 days'
FROM lead WHERE lead_id BETWEEN 80001 AND 81000 AND (stage = 'customer' OR lead_id % 4 = 0);
SELECT create_segment('ml_big', 'employees >= 500') > 0 AS segment;
SELECT fact, value, leads, converted, round(lift::numeric, 3) AS lift
FROM conversion_lift(ARRAY['activity(ml_download, asset = pricing_guide)', 'segment(ml_big)', 'campaign'], 30);
SELECT fact, value, leads FROM conversion_lift(ARRAY['industry'], 1000);
SELECT fact, value, leads, converted FROM conversion_lift(ARRAY['attributes.plan'], 30, 'disqualified');
SELECT pg_temp.try($$SELECT * FROM conversion_lift(ARRAY['employees'])$$) AS number_fact;
SELECT pg_temp.try($$SELECT * FROM conversion_lift(ARRAY['count(ml_webinar)'])$$) AS count_fact;
SELECT pg_temp.try($$SELECT * FROM conversion_lift(ARRAY['shoe_size'])$$) AS unknown_fact;
SELECT pg_temp.try($$SELECT * FROM conversion_lift(ARRAY['segment(nope)'])$$) AS unknown_segment;
SELECT pg_temp.try($$SELECT * FROM conversion_lift(ARRAY[]::text[])$$) AS no_facts;
SELECT pg_temp.try($$SELECT * FROM conversion_lift(ARRAY['industry'], 0)$$) AS zero_min;

-- 11. The names of features and facts are parsed from text: random
-- mutations of valid ones are each refused with a parameter error (or, for
-- a lift fact, an unknown segment), or accepted; an accepted feature's
-- canonical name reads back as itself, and an accepted fact runs.
CREATE FUNCTION pg_temp.mutate(s text, edits int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	pieces text[] := ARRAY['(', ')', ' ', 'a', 'z', '_', '.', '0', '9', ' in ', 'first ', ' days', E'\t', '''',
						   '"', 'é', '\', ',', '=', '-', 'count(', 'activity(', 'segment(', 'any', 'ml_big'];
	pos int;
BEGIN
	FOR i IN 1 .. edits LOOP
		pos := 1 + floor(random() * (length(s) + 1))::int;
		CASE floor(random() * 3)::int
			WHEN 0 THEN s := overlay(s PLACING pieces[1 + floor(random() * cardinality(pieces))::int] FROM pos FOR 0);
			WHEN 1 THEN s := overlay(s PLACING '' FROM pos FOR 1);
			ELSE s := overlay(s PLACING pieces[1 + floor(random() * cardinality(pieces))::int] FROM pos FOR 1);
		END CASE;
	END LOOP;
	RETURN s;
END $$;
CREATE FUNCTION pg_temp.feature_outcome(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	canonical text;
BEGIN
	canonical := (model_features(ARRAY[s]))[1];
	RETURN CASE WHEN (model_features(ARRAY[canonical]))[1] = canonical THEN 'ok' ELSE 'not canonical: ' || canonical END;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SELECT setseed(0.77);
CREATE TEMP TABLE fuzzed AS
SELECT pg_temp.mutate(seed, 1 + floor(random() * 4)::int) AS s
FROM unnest(ARRAY['industry', 'count(webinar in first 30 days)', 'attributes.plan', 'count(any)', 'email_domain',
				  ' employees ', 'count(demo_request)']) AS seed, generate_series(1, 400);
SELECT count(*) AS mutations, count(*) FILTER (WHERE o = 'ok') > 100 AS some_accepted,
	   count(*) FILTER (WHERE o = '22023') > 1000 AS many_refused,
	   string_agg(DISTINCT o, ', ') FILTER (WHERE o NOT IN ('ok', '22023')) AS other_outcomes
FROM (SELECT pg_temp.feature_outcome(s) AS o FROM fuzzed) AS x;
CREATE FUNCTION pg_temp.fact_outcome(s text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM count(*) FROM conversion_lift(ARRAY[s], 1);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
SELECT setseed(0.78);
SELECT count(*) AS mutations, count(*) FILTER (WHERE o = 'ok') > 20 AS some_accepted,
	   string_agg(DISTINCT o, ', ') FILTER (WHERE o NOT IN ('ok', '22023', '42704')) AS other_outcomes
FROM (SELECT pg_temp.fact_outcome(pg_temp.mutate(seed, 1 + floor(random() * 3)::int)) AS o
	  FROM unnest(ARRAY['industry', 'activity(ml_download, asset = pricing_guide)', 'segment(ml_big)', 'campaign',
						'activity(ml_webinar)', 'attributes.plan']) AS seed, generate_series(1, 60)) AS x;

-- 12. Who may: readers predict, explain and report; admins train
SELECT drop_model('win_top2') AS dropped;
CREATE ROLE lg_model_reader;
CREATE ROLE lg_model_writer;
CREATE ROLE lg_model_admin;
SELECT grant_access('lg_model_reader', 'reader'), grant_access('lg_model_writer', 'writer'),
	   grant_access('lg_model_admin', 'admin');
SET ROLE lg_model_reader;
SELECT predict('win', 80001) > 0 AS reader_predicts, (SELECT count(*) FROM explain_prediction('win', 80001)) AS rows,
	   (SELECT auc > 0.5 FROM model_report('win')) AS reader_reports,
	   (SELECT count(*) > 0 FROM conversion_lift(ARRAY['industry'])) AS reader_lifts;
SELECT pg_temp.try($$SELECT train_model('reader_model', ARRAY['industry'])$$) AS reader_trains;
RESET ROLE;
SET ROLE lg_model_writer;
SELECT pg_temp.try($$SELECT train_model('writer_model', ARRAY['industry'])$$) AS writer_trains;
SELECT pg_temp.try($$SELECT keep_prediction('win')$$) AS writer_keeps;
RESET ROLE;
SET ROLE lg_model_admin;
SELECT train_model('admin_model', ARRAY['industry']) > 0 AS admin_trains;
SELECT pg_temp.try($$UPDATE model_term SET weight = 0$$) AS admin_writes_terms;
SELECT drop_model('admin_model') AS admin_drops;
RESET ROLE;

ROLLBACK;
