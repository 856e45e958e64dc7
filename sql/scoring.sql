-- Lead scoring: rules, triggers, caps, decay, explanation, time travel.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
\set VERBOSITY terse
TRUNCATE lead, profile CASCADE;

-- The defaults.
SELECT kind, points, daily_cap FROM scoring_rule ORDER BY points DESC, kind;
SELECT half_life, fit_weight, engagement_weight, engagement_cap, warm_at, hot_at FROM scoring_settings;

-- A new lead is cold with score 0 (no fit without a profile).
INSERT INTO lead (email) VALUES ('ann@scored.example'), ('bob@scored.example'), ('cy@scored.example');
SELECT email, engagement, score, temperature, next_change_at FROM lead ORDER BY lead_id;

-- Engagement comes from activity only: a value given on INSERT is ignored
-- (a restore loads leads, then rebuilds engagement from their activity).
INSERT INTO lead (email, engagement) VALUES ('given@scored.example', '(50,2026-01-01 00:00:00+00,30 days)')
RETURNING engagement, score;
DELETE FROM lead WHERE email = 'given@scored.example';

-- An activity scores in the same transaction as its insert.
BEGIN;
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'demo_request' FROM lead WHERE email = 'ann@scored.example';
SELECT email, round(score::numeric, 3) AS score, temperature,
	   engagement_as_of(engagement) = now() AS as_of_now,
	   next_change_at > now() AS will_cool
FROM lead WHERE email = 'ann@scored.example';
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'pricing_inquiry' FROM lead WHERE email = 'ann@scored.example';
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'webinar' FROM lead WHERE email = 'ann@scored.example';
SELECT round(score::numeric, 3) AS score, temperature FROM lead WHERE email = 'ann@scored.example';
ROLLBACK;
SELECT score, temperature FROM lead WHERE email = 'ann@scored.example';

-- next_change_at is a bound: more points postpone the next change, but the
-- earlier time stays (so the update can be HOT); rescore() stores the exact
-- time when it visits (as it does when it sets next_change_at itself).
BEGIN;
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'demo_request' FROM lead WHERE email = 'ann@scored.example';
CREATE TEMP TABLE first_bound AS SELECT next_change_at AS t FROM lead WHERE email = 'ann@scored.example';
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'webinar' FROM lead WHERE email = 'ann@scored.example';
SELECT temperature, next_change_at = (SELECT t FROM first_bound) AS bound_kept FROM lead WHERE email = 'ann@scored.example';
UPDATE lead SET next_change_at = NULL WHERE email = 'ann@scored.example';
SELECT next_change_at > (SELECT t FROM first_bound) AS exact_is_later,
	   round(extract(epoch FROM next_change_at - now()) / 86400) AS days_to_cold
FROM lead WHERE email = 'ann@scored.example';
ROLLBACK;

-- Decay: points earned one half-life ago count half.
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'demo_request', now() - interval '30 days' FROM lead WHERE email = 'bob@scored.example';
SELECT round(score::numeric, 3) AS score, temperature FROM lead WHERE email = 'bob@scored.example';
-- Negative points: an unsubscribe takes points away.
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'unsubscribe' FROM lead WHERE email = 'bob@scored.example';
SELECT round(score::numeric, 3) AS score, temperature FROM lead WHERE email = 'bob@scored.example';

-- Unknown kinds score 0 and explain as "no rule".
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'sales_call' FROM lead WHERE email = 'cy@scored.example';
SELECT score, engagement FROM lead WHERE email = 'cy@scored.example';
SELECT component, kind, events, points FROM explain_score((SELECT lead_id FROM lead WHERE email = 'cy@scored.example'));

-- Daily caps: at most 5 e-mail opens count per lead and UTC day, the first
-- five by time, whatever order they arrive in.
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'email_open', timestamptz '2026-11-01 09:00+00' + g * interval '1 hour'
FROM lead, generate_series(1, 8) g WHERE email = 'cy@scored.example';
SELECT round(engagement_value(engagement, '2026-11-02')::numeric, 9) AS stored,
	   round(engagement_value(engagement_from_history(lead_id), '2026-11-02')::numeric, 9) AS from_history
FROM lead WHERE email = 'cy@scored.example';
-- an earlier one arrives late: it counts, the fifth by time no longer does
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'email_open', timestamptz '2026-11-01 08:00+00' FROM lead WHERE email = 'cy@scored.example';
SELECT round(engagement_value(engagement, '2026-11-02')::numeric, 9) AS stored,
	   round(engagement_value(engagement_from_history(lead_id), '2026-11-02')::numeric, 9) AS from_history
FROM lead WHERE email = 'cy@scored.example';
SELECT component, kind, events, raw_points, capped_points FROM explain_score(
	(SELECT lead_id FROM lead WHERE email = 'cy@scored.example'), '2026-11-02') WHERE kind = 'email_open';
-- a later day has its own five
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'email_open', timestamptz '2026-11-02 00:00+00' FROM lead WHERE email = 'cy@scored.example';
SELECT events, capped_points FROM explain_score(
	(SELECT lead_id FROM lead WHERE email = 'cy@scored.example'), '2026-11-03') WHERE kind = 'email_open';

-- Updating or deleting activity recomputes the lead from its history.
UPDATE activity SET kind = 'demo_request'
WHERE kind = 'sales_call' AND lead_id = (SELECT lead_id FROM lead WHERE email = 'cy@scored.example');
SELECT abs(engagement_value(engagement, now()) - engagement_value(engagement_from_history(lead_id), now())) < 1e-9 AS same
FROM lead WHERE email = 'cy@scored.example';
DELETE FROM activity WHERE lead_id = (SELECT lead_id FROM lead WHERE email = 'cy@scored.example');
SELECT engagement, score FROM lead WHERE email = 'cy@scored.example';

-- The explanation adds up to the score; score_at replays the past.
SELECT round(sum(points)::numeric, 3) AS explained, round((SELECT lead_score(l) FROM lead l WHERE email = 'bob@scored.example')::numeric, 3) AS score
FROM explain_score((SELECT lead_id FROM lead WHERE email = 'bob@scored.example'));
SELECT component, kind, events, raw_points, round(decay::numeric, 3) AS decay, round(points::numeric, 3) AS points
FROM explain_score((SELECT lead_id FROM lead WHERE email = 'bob@scored.example'));
SELECT round(score_at(lead_id, now() - interval '31 days')::numeric, 3) AS before_any,
	   round(score_at(lead_id, now() - interval '30 days')::numeric, 3) AS at_the_demo,
	   round(score_at(lead_id, now() - interval '15 days')::numeric, 3) AS two_weeks_later
FROM lead WHERE email = 'bob@scored.example';
SELECT score_at(-1, now()) IS NULL AS no_such_lead;

-- The engagement cap and weights.
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'demo_request', now() - g * interval '1 minute' FROM lead, generate_series(1, 5) g
WHERE email = 'ann@scored.example';
SELECT round(score::numeric, 3) AS capped_score, temperature FROM lead WHERE email = 'ann@scored.example';
SELECT component, round(points::numeric, 3) AS points FROM explain_score(
	(SELECT lead_id FROM lead WHERE email = 'ann@scored.example')) WHERE component <> 'activity';

-- Fit counts too: an active profile moves scores.
INSERT INTO profile (name, icp, active) VALUES ('all', 'email is present 1', true);
SELECT email, fit, round(score::numeric, 3) AS score FROM lead ORDER BY lead_id;

-- Bad activity: dated in the future (the message names the time).
\set VERBOSITY sqlstate
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'page_view', now() + interval '1 day' FROM lead WHERE email = 'ann@scored.example';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'page_view', 'infinity' FROM lead WHERE email = 'ann@scored.example';
UPDATE activity SET occurred_at = now() + interval '1 hour';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\set VERBOSITY terse
-- within a minute of the clock is fine
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'page_view', clock_timestamp() + interval '30 seconds' FROM lead WHERE email = 'ann@scored.example';

-- Bad rules and settings.
INSERT INTO scoring_rule (kind, points) VALUES ('nan', 'NaN');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO scoring_rule (kind, points) VALUES ('inf', 'Infinity');
INSERT INTO scoring_rule (kind, points, daily_cap) VALUES ('neg_cap', 1, -1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO scoring_rule (kind, points) VALUES ('Bad Kind', 1);
UPDATE scoring_settings SET half_life = '0 seconds';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
UPDATE scoring_settings SET half_life = '-1 day';
UPDATE scoring_settings SET hot_at = 10, warm_at = 20;
UPDATE scoring_settings SET fit_weight = 'NaN';
UPDATE scoring_settings SET engagement_cap = 0;
INSERT INTO scoring_settings (singleton) VALUES (false);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
DELETE FROM scoring_settings;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
TRUNCATE scoring_settings;
DELETE FROM scoring_rule WHERE kind = 'page_view';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
TRUNCATE scoring_rule;

-- Inserting a rule for an existing kind replaces it (how pg_restore brings
-- rules back); rules of your own can be deleted.
INSERT INTO scoring_rule (kind, points, daily_cap) VALUES ('page_view', 2, 10);
SELECT kind, points, daily_cap FROM scoring_rule WHERE kind = 'page_view';
INSERT INTO scoring_rule (kind, points) VALUES ('case_study_view', 6);
DELETE FROM scoring_rule WHERE kind = 'case_study_view';
INSERT INTO scoring_settings (half_life) VALUES ('14 days');
SELECT count(*) AS settings_rows, min(half_life) AS half_life FROM scoring_settings;
-- New activity for a lead still on the old half-life recomputes that lead
-- under the new one, alone or in a bulk statement.
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'webinar' FROM lead WHERE email = 'bob@scored.example';
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'webinar' FROM lead WHERE email IN ('ann@scored.example', 'cy@scored.example');
SELECT email, engagement_half_life(engagement) AS half_life,
	   abs(engagement_value(engagement, now()) - engagement_value(engagement_from_history(lead_id), now())) < 1e-9 AS same_as_history
FROM lead WHERE engagement IS NOT NULL ORDER BY lead_id;

-- A change of rules marks every lead for recomputing; recompute_all and
-- rescore (which recomputes first when marked) bring everyone in line.
SELECT changed_at IS NOT NULL AS changed, recomputed_at IS NULL AS not_yet FROM scoring_state;
CALL recompute_all(2);
SELECT recomputed_at >= changed_at AS recomputed FROM scoring_state;
SELECT email, engagement_half_life(engagement) FROM lead WHERE engagement IS NOT NULL ORDER BY lead_id;
CALL recompute_all(0);
CALL rescore(-1);
-- they commit as they go, so not inside a transaction block
BEGIN;
CALL rescore();
ROLLBACK;
UPDATE scoring_settings SET half_life = '30 days';
UPDATE scoring_rule SET points = 1, daily_cap = 20 WHERE kind = 'page_view';
CALL rescore();
SELECT email, engagement_half_life(engagement) FROM lead WHERE engagement IS NOT NULL ORDER BY lead_id;

-- Truncating activity clears every engagement.
TRUNCATE activity;
SELECT count(*) FILTER (WHERE engagement IS NOT NULL) AS engaged, max(score) AS max_score FROM lead;
DELETE FROM profile;

-- The trigger functions refuse to run elsewhere.
SELECT lead_score_trigger();
CREATE TABLE not_a_lead (id int, fit float8);
CREATE TRIGGER t BEFORE INSERT ON not_a_lead FOR EACH ROW EXECUTE FUNCTION lead_score_trigger();
INSERT INTO not_a_lead VALUES (1, 0);
DROP TRIGGER t ON not_a_lead;
CREATE TRIGGER u AFTER INSERT ON not_a_lead FOR EACH ROW EXECUTE FUNCTION activity_inserted();
INSERT INTO not_a_lead VALUES (1, 0);
DROP TRIGGER u ON not_a_lead;
CREATE TRIGGER u AFTER INSERT ON not_a_lead REFERENCING NEW TABLE AS n
	FOR EACH STATEMENT EXECUTE FUNCTION activity_inserted();
INSERT INTO not_a_lead VALUES (1, 0);
CREATE TRIGGER v AFTER DELETE ON not_a_lead REFERENCING OLD TABLE AS o
	FOR EACH STATEMENT EXECUTE FUNCTION activity_changed();
DELETE FROM not_a_lead;
DROP TABLE not_a_lead;

-- pg_cron is not installed in this database: scheduling says so.
SELECT schedule_rescore();
SELECT unschedule_rescore();
SELECT schedule_rescore(NULL);

-- Time alone changes temperature: with a one-second half-life a demo
-- request (30 points, warm) cools below 25 within a second, and rescore()
-- finds exactly that lead through next_change_at.
UPDATE scoring_settings SET half_life = '1 second';
CALL recompute_all();
INSERT INTO lead (email) VALUES ('dee@scored.example');
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'demo_request' FROM lead WHERE email = 'dee@scored.example';
SELECT temperature, next_change_at - now() BETWEEN interval '0.2 s' AND interval '0.3 s' AS cools_in_a_quarter_second
FROM lead WHERE email = 'dee@scored.example';
SELECT pg_sleep(1);
DO $$
DECLARE
	n bigint;
BEGIN
	CALL lead_gen.rescore(1000, n);
	RAISE NOTICE 'rescore touched % lead(s)', n;
END
$$;
SELECT temperature, round(score::numeric, 1) < 25 AS below_warm, next_change_at FROM lead WHERE email = 'dee@scored.example';
UPDATE scoring_settings SET half_life = '30 days';
CALL recompute_all();
