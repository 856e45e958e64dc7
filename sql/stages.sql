-- The lifecycle stage machine: validation for every writer, history,
-- automatic moves (threshold, event, BANT), manual moves, stage_at, SLAs.
SET search_path = lead_gen, public;
SET client_min_messages = warning;
TRUNCATE lead, profile RESTART IDENTITY CASCADE;
RESET client_min_messages;
\set VERBOSITY default

-- The default machine: forward moves may skip stages; going back, reopening
-- and disqualifying need a reason; customer is final.
SELECT from_stage,
	   string_agg(to_stage || ':' || coalesce(kind, '-') || CASE WHEN reason_required THEN '*' ELSE '' END,
				  ' ' ORDER BY to_stage) AS moves
FROM stage_transition GROUP BY from_stage ORDER BY from_stage;
SELECT stage, min_score, min_fit, min_grade, sla FROM stage_rule ORDER BY stage;
SELECT * FROM bant_rule;
SELECT kind, moves_to, sales_touch FROM scoring_rule
WHERE moves_to IS NOT NULL OR sales_touch ORDER BY kind;

-- A profile, so that leads have grades: saas leads fit 100 (grade A).
INSERT INTO profile (name, icp, active) VALUES ('saas', 'industry = saas 100', true);
INSERT INTO lead (email, industry) VALUES
	('ada@saas.example', 'saas'),		-- 1: thresholds
	('bob@shop.example', 'retail'),		-- 2: events
	('cy@saas.example', 'saas'),		-- 3: BANT
	('di@saas.example', 'saas'),		-- 4: manual moves
	('ed@saas.example', 'saas');		-- 5: spare
SELECT lead_id AS l1 FROM lead WHERE email = 'ada@saas.example' \gset
SELECT lead_id AS l2 FROM lead WHERE email = 'bob@shop.example' \gset
SELECT lead_id AS l3 FROM lead WHERE email = 'cy@saas.example' \gset
SELECT lead_id AS l4 FROM lead WHERE email = 'di@saas.example' \gset
SELECT lead_id AS l5 FROM lead WHERE email = 'ed@saas.example' \gset
-- A new lead starts in the stage it arrives with, with no history.
SELECT email, stage, score, grade, stage_changed_at = created_at AS entered_at_creation
FROM lead ORDER BY lead_id;
SELECT count(*) AS history FROM stage_change;

-- Thresholds: score 20 (fit) + 10 reaches lead; 50 with grade B or better
-- reaches mql; forward only, idempotent.
INSERT INTO activity (lead_id, kind) VALUES (:l1, 'webinar');
SELECT stage, round(score) AS score, mql_at FROM lead WHERE lead_id = :l1;
INSERT INTO activity (lead_id, kind) VALUES (:l1, 'pricing_inquiry');
SELECT stage, round(score) AS score, mql_at FROM lead WHERE lead_id = :l1;
INSERT INTO activity (lead_id, kind) VALUES (:l1, 'webinar');
SELECT stage, round(score) AS score, mql_at = stage_changed_at AS mql_at_set FROM lead WHERE lead_id = :l1;
INSERT INTO activity (lead_id, kind) VALUES (:l1, 'webinar');
-- a lower score never moves a lead back
INSERT INTO activity (lead_id, kind) SELECT :l1, 'unsubscribe' FROM generate_series(1, 4);
SELECT stage, round(score) AS score FROM lead WHERE lead_id = :l1;
SELECT from_stage, to_stage, cause, kind, reason FROM stage_change WHERE lead_id = :l1 ORDER BY stage_change_id;
-- grade F does not make an MQL whatever the score
INSERT INTO activity (lead_id, kind) SELECT :l2, 'webinar' FROM generate_series(1, 8);
SELECT stage, round(score) AS score, grade FROM lead WHERE lead_id = :l2;

-- Events: a newsletter signup makes an MQL, a demo request an SQL.
INSERT INTO activity (lead_id, kind) VALUES (:l2, 'newsletter_signup');
SELECT stage FROM lead WHERE lead_id = :l2;
INSERT INTO activity (lead_id, kind) VALUES (:l2, 'demo_request'), (:l2, 'newsletter_signup');
SELECT stage FROM lead WHERE lead_id = :l2;
INSERT INTO activity (lead_id, kind) VALUES (:l2, 'newsletter_signup');
SELECT from_stage, to_stage, cause, kind, reason FROM stage_change WHERE lead_id = :l2 ORDER BY stage_change_id;
-- a bulk load moves each lead once, to the highest stage its events reach
INSERT INTO activity (lead_id, kind)
VALUES (:l4, 'newsletter_signup'), (:l5, 'free_trial_request'), (:l4, 'page_view'), (:l5, 'newsletter_signup');
SELECT lead_id = :l4 AS is_l4, stage FROM lead WHERE lead_id IN (:l4, :l5) ORDER BY lead_id;
SELECT lead_id = :l4 AS is_l4, from_stage, to_stage, cause, reason FROM stage_change
WHERE lead_id IN (:l4, :l5) ORDER BY lead_id;

-- BANT: what is met and missing; qualify() records it, and a qualified
-- lead moves to sql (cause bant).
SELECT * FROM bant_status(:l3);
SELECT qualify(:l3, budget => 20000, need => '   ');
SELECT * FROM bant_status(:l3);
SELECT qualify(:l3, need => 'replace spreadsheets', authority => true,
			   timeline => (now() AT TIME ZONE 'UTC')::date + 400);
SELECT * FROM bant_status(:l3);
SELECT qualify(:l3, timeline => (now() AT TIME ZONE 'UTC')::date + 30);
SELECT * FROM bant_status(:l3);
SELECT from_stage, to_stage, cause, kind, reason FROM stage_change WHERE lead_id = :l3;
-- the rule is configurable: without authority and timeline, a budget of 50000 is needed
UPDATE bant_rule SET needs_authority = false, needs_timeline = false, min_budget = 50000;
SELECT * FROM bant_status(:l3);
UPDATE bant_rule SET needs_authority = true, needs_timeline = true, min_budget = 0;
-- a recycled lead keeps its BANT and score, but they do not send it back
SELECT from_stage, to_stage, cause, kind, reason FROM recycle(:l3, 'no project this quarter');
SELECT stage, recycled_from FROM lead WHERE lead_id = :l3;
INSERT INTO activity (lead_id, kind) VALUES (:l3, 'webinar');
SELECT stage, recycled_from FROM lead WHERE lead_id = :l3;
-- nor does an event that happened before the recycle, recorded late (its
-- points count: the MQL threshold moves the lead, but not up to sql)
INSERT INTO activity (lead_id, kind, occurred_at) VALUES (:l3, 'demo_request', now() - interval '1 day');
SELECT stage, recycled_from FROM lead WHERE lead_id = :l3;
-- a new high-intent event does
INSERT INTO activity (lead_id, kind) VALUES (:l3, 'demo_request');
SELECT stage, recycled_from FROM lead WHERE lead_id = :l3;

-- Manual moves, through the functions and through plain UPDATE.
SELECT from_stage, to_stage, cause, kind, reason, changed_by = current_user AS by_me
FROM transition(:l4, 'sql', 'called, good fit');
UPDATE lead SET stage = 'opportunity' WHERE lead_id = :l4;
SELECT from_stage, to_stage, cause, kind, reason FROM stage_change
WHERE lead_id = :l4 ORDER BY stage_change_id DESC LIMIT 1;
-- backward needs a reason
UPDATE lead SET stage = 'mql' WHERE lead_id = :l4;
BEGIN;
SET LOCAL lead_gen.stage_reason = 'sales rejected: student';
UPDATE lead SET stage = 'mql' WHERE lead_id = :l4;
COMMIT;
SELECT from_stage, to_stage, cause, kind, reason FROM stage_change
WHERE lead_id = :l4 ORDER BY stage_change_id DESC LIMIT 1;
-- an import records its cause
BEGIN;
SET LOCAL lead_gen.stage_cause = 'import';
UPDATE lead SET stage = 'customer' WHERE lead_id = :l4;
COMMIT;
SELECT from_stage, to_stage, cause, kind FROM stage_change
WHERE lead_id = :l4 ORDER BY stage_change_id DESC LIMIT 1;
-- customer is final
UPDATE lead SET stage = 'opportunity' WHERE lead_id = :l4;
SELECT transition(:l4, 'disqualified', 'churned');
-- unless an admin of the stage machine forces it, with a reason
SELECT transition(:l4, 'opportunity', force => true);
SELECT from_stage, to_stage, cause, kind, reason FROM transition(:l4, 'opportunity', 'booked twice', force => true);
CREATE ROLE lead_gen_stage_writer;
GRANT USAGE ON SCHEMA lead_gen TO lead_gen_stage_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA lead_gen TO lead_gen_stage_writer;
GRANT UPDATE ON lead TO lead_gen_stage_writer;
GRANT INSERT ON stage_change TO lead_gen_stage_writer;
SET ROLE lead_gen_stage_writer;
SELECT (transition(:l4, 'customer', 'won')).to_stage;
SELECT transition(:l4, 'prospect', 'try', force => true);
SET lead_gen.automatic_stage_moves = off;
RESET ROLE;
SELECT stage FROM lead WHERE lead_id = :l4;
SELECT changed_by, to_stage FROM stage_change WHERE lead_id = :l4 ORDER BY stage_change_id DESC LIMIT 1;
REVOKE ALL ON ALL TABLES IN SCHEMA lead_gen FROM lead_gen_stage_writer;
REVOKE USAGE ON SCHEMA lead_gen FROM lead_gen_stage_writer;
DROP ROLE lead_gen_stage_writer;

-- Disqualify and reopen.
SELECT from_stage, to_stage, cause, kind, reason FROM disqualify(:l5, 'competitor');
INSERT INTO activity (lead_id, kind) VALUES (:l5, 'demo_request');
SELECT stage FROM lead WHERE lead_id = :l5;
SELECT from_stage, to_stage, kind, reason FROM recycle(:l5, 'new budget', 'mql');

-- Bad input.
SELECT transition(:l5, 'mql');
SELECT transition(:l5, NULL);
SELECT transition(:l5, 'won');
SELECT transition(-1, 'sql');
SELECT disqualify(:l5, NULL);
SELECT disqualify(:l5, '  ');
SELECT recycle(:l5, 'why not', 'sql');
SELECT recycle(:l5, NULL);
SELECT recycle(-1, 'gone');
SELECT qualify(-1, budget => 1);
SELECT * FROM bant_status(-1);
SELECT qualify(:l5, budget => -1);
BEGIN;
SET LOCAL lead_gen.stage_cause = 'because';
ROLLBACK;
UPDATE stage_transition SET kind = 'sideways' WHERE from_stage = 'lead' AND to_stage = 'mql';
UPDATE stage_transition SET kind = 'recycle' WHERE from_stage = 'lead' AND to_stage = 'disqualified';
UPDATE stage_rule SET min_score = 5 WHERE stage = 'prospect';
UPDATE stage_rule SET min_grade = 'E' WHERE stage = 'mql';
UPDATE stage_rule SET sla = '-1 hour' WHERE stage = 'sql';
UPDATE bant_rule SET needs_budget = false, needs_need = false, needs_authority = false, needs_timeline = false;
UPDATE scoring_rule SET moves_to = 'disqualified' WHERE kind = 'webinar';
-- the machine's rows are changed, never deleted; inserting one replaces it
DELETE FROM stage_transition WHERE from_stage = 'lead' AND to_stage = 'mql';
TRUNCATE stage_rule;
DELETE FROM bant_rule;
INSERT INTO stage_transition VALUES ('lead', 'mql', 'forward', false, true);
SELECT count(*) AS pairs, count(*) FILTER (WHERE requires_bant) AS need_bant FROM stage_transition;

-- A guard: with requires_bant on lead -> mql, neither a threshold nor a
-- person moves an unqualified lead there.
INSERT INTO lead (email, industry) VALUES ('fay@saas.example', 'saas');
SELECT lead_id AS l6 FROM lead WHERE email = 'fay@saas.example' \gset
INSERT INTO activity (lead_id, kind) VALUES (:l6, 'webinar');
INSERT INTO activity (lead_id, kind) SELECT :l6, 'webinar' FROM generate_series(1, 3);
SELECT stage, round(score) AS score FROM lead WHERE lead_id = :l6;
SELECT transition(:l6, 'mql');
INSERT INTO stage_transition VALUES ('lead', 'mql', 'forward', false, false);
SELECT (transition(:l6, 'mql')).to_stage;

-- History: no change without history and none without a change; each row
-- starts where the one before ended.
SELECT count(*) AS broken_chains
FROM (SELECT c.to_stage, lead(c.from_stage) OVER w AS next_from
	  FROM stage_change AS c
	  WINDOW w AS (PARTITION BY c.lead_id ORDER BY c.stage_change_id)) AS x
WHERE next_from IS NOT NULL AND next_from <> to_stage;
SELECT count(*) AS leads_out_of_step
FROM lead AS l
WHERE l.stage <> coalesce((SELECT c.to_stage FROM stage_change AS c WHERE c.lead_id = l.lead_id
						   ORDER BY c.stage_change_id DESC LIMIT 1), l.stage)
   OR l.stage_changed_at <> coalesce((SELECT max(c.changed_at) FROM stage_change AS c
									  WHERE c.lead_id = l.lead_id), l.created_at);
-- an UPDATE that does not change the stage writes none
SELECT count(*) AS before FROM stage_change \gset
UPDATE lead SET city = 'Lyon';
UPDATE lead SET stage = stage;
SELECT count(*) - :before AS new_rows FROM stage_change;
-- derived columns follow the stage, not the writer
UPDATE lead SET stage_changed_at = '2000-01-01', mql_at = NULL WHERE lead_id = :l1;
SELECT stage_changed_at > '2001-01-01' AS kept, mql_at IS NOT NULL AS mql_kept FROM lead WHERE lead_id = :l1;

-- stage_at: the stage at any moment.
INSERT INTO lead (email) VALUES ('gus@corp.example');
SELECT lead_id AS l7, created_at AS t0 FROM lead WHERE email = 'gus@corp.example' \gset
SELECT (transition(:l7, 'mql')).to_stage;
SELECT changed_at AS t1 FROM stage_change WHERE lead_id = :l7 \gset
SELECT (transition(:l7, 'sql')).to_stage;
SELECT max(changed_at) AS t2 FROM stage_change WHERE lead_id = :l7 \gset
SELECT stage_at(:l7, :'t0'::timestamptz - interval '1 second') AS before_creation,
	   stage_at(:l7, :'t0') AS at_creation,
	   stage_at(:l7, :'t1'::timestamptz - interval '1 microsecond') AS before_t1,
	   stage_at(:l7, :'t1') AS at_t1,
	   stage_at(:l7, :'t2') AS at_t2,
	   stage_at(:l7, now() + interval '1 year') AS later,
	   stage_at(-1, now()) AS no_lead,
	   stage_at(:l7, NULL) AS no_time;

-- SLAs: an SQL must get a sales touch within 24 hours of entering.
INSERT INTO lead (email, stage, stage_changed_at) VALUES
	('late@corp.example', 'sql', now() - interval '30 hours'),
	('fresh@corp.example', 'sql', now() - interval '2 hours'),
	('touched@corp.example', 'sql', now() - interval '3 days'),
	('lead@corp.example', 'lead', now() - interval '3 days');
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'call', now() - interval '2 days' FROM lead WHERE email = 'touched@corp.example';
-- a touch before the lead entered its stage does not count
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, 'meeting', now() - interval '40 hours' FROM lead WHERE email = 'late@corp.example';
SELECT l.email, b.stage, b.overdue > interval '5 hours 59 minutes' AND b.overdue < interval '6 hours 1 minute' AS six_hours
FROM sla_breach AS b JOIN lead AS l USING (lead_id) ORDER BY l.email;
SELECT flag_sla_breaches() AS flagged, flag_sla_breaches() AS flagged_again;
SELECT l.email, f.stage FROM sla_flag AS f JOIN lead AS l USING (lead_id);
-- a touch ends the breach
INSERT INTO activity (lead_id, kind)
SELECT lead_id, 'sales_email' FROM lead WHERE email = 'late@corp.example';
SELECT count(*) AS breaches FROM sla_breach;

-- Speed to lead: first sales touch, from arrival and from MQL.
SELECT l.email, s.first_touch_at IS NOT NULL AS touched,
	   s.from_arrival IS NOT NULL AS from_arrival, s.from_mql IS NOT NULL AS from_mql
FROM speed_to_lead AS s JOIN lead AS l USING (lead_id)
WHERE l.email IN ('late@corp.example', 'touched@corp.example', 'lead@corp.example') ORDER BY l.email;
SELECT first_touch_at < now() - interval '39 hours' AS earliest_touch FROM lead WHERE email = 'late@corp.example';
DELETE FROM activity WHERE kind = 'meeting';
SELECT first_touch_at > now() - interval '1 hour' AS after_delete FROM lead WHERE email = 'late@corp.example';

-- Automatic moves can be suspended (superusers only), and the scheduled
-- job moves leads after the machine changed, as cause rescore.
INSERT INTO lead (email) VALUES ('hal@corp.example');
SELECT lead_id AS l8 FROM lead WHERE email = 'hal@corp.example' \gset
SET lead_gen.automatic_stage_moves = off;
INSERT INTO activity (lead_id, kind) VALUES (:l8, 'demo_request');
SELECT stage FROM lead WHERE lead_id = :l8;
RESET lead_gen.automatic_stage_moves;
-- nor in a restore: pg_dump's output runs with row_security off
SET row_security = off;
INSERT INTO activity (lead_id, kind) VALUES (:l8, 'newsletter_signup');
SELECT stage FROM lead WHERE lead_id = :l8;
RESET row_security;
UPDATE stage_rule SET min_score = 25 WHERE stage = 'mql';
UPDATE stage_rule SET min_grade = NULL WHERE stage = 'mql';
CALL rescore();
SELECT stage FROM lead WHERE lead_id = :l8;
SELECT from_stage, to_stage, cause, kind, reason FROM stage_change WHERE lead_id = :l8;
UPDATE stage_rule SET min_score = 50, min_grade = 'B' WHERE stage = 'mql';

-- Configuration that changes in the middle of an activity statement (a user
-- trigger on lead touches the scoring rules, so every lead's update reloads
-- them): the statement finishes with the plans and rules it started with.
CREATE FUNCTION public.touch_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE lead_gen.scoring_rule SET description = description WHERE kind = 'webinar';
	RETURN NEW;
END $$;
CREATE TRIGGER a_touch_rules BEFORE UPDATE ON lead FOR EACH ROW EXECUTE FUNCTION public.touch_rules();
INSERT INTO activity (lead_id, kind) VALUES (:l8, 'webinar');
INSERT INTO activity (lead_id, kind) SELECT lead_id, 'webinar' FROM lead WHERE lead_id <= :l8;
SELECT count(*) AS leads_out_of_step FROM lead
WHERE engagement IS DISTINCT FROM engagement_from_history(lead_id);
DROP TRIGGER a_touch_rules ON lead;
DROP FUNCTION public.touch_rules();

SET client_min_messages = warning;
TRUNCATE lead, profile RESTART IDENTITY CASCADE;
RESET client_min_messages;

-- Configuration rows are replaced by key (config_replace, how a restore
-- brings them back); a row with a key that is not there is inserted, so the
-- table's checks see it, rather than dropped.
INSERT INTO lead_gen.bant_rule (singleton) VALUES (false);
INSERT INTO lead_gen.stage_rule (stage, min_score) VALUES ('prospect', 5);
INSERT INTO lead_gen.bant_rule (singleton, min_budget) VALUES (true, 77);
SELECT min_budget FROM lead_gen.bant_rule;
UPDATE lead_gen.bant_rule SET min_budget = 0;
