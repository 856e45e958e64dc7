-- Trust: what a writer cannot forge, and input that gets a clear error
-- instead of a silent wrong answer.  Each part failed on 1.3.
SET search_path = lead_gen, public;
SET client_min_messages = warning;
TRUNCATE lead, profile, campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
\set VERBOSITY terse

-- try(sql): the SQLSTATE and message of what the statement raises, or 'ok'
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text;
	msg text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
	RETURN state || ': ' || msg;
END $$;

DO $$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lg_trust_writer') THEN
		CREATE ROLE lg_trust_writer;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lg_trust_admin') THEN
		CREATE ROLE lg_trust_admin;
	END IF;
END $$;
SELECT grant_access('lg_trust_writer', 'writer'), grant_access('lg_trust_admin', 'admin');
INSERT INTO profile (name, icp, active) VALUES ('p', 'industry = saas 100', true);
INSERT INTO lead (email, industry) VALUES ('honest@trust.example', 'saas');

-- 1. A writer with row_security off is no restore: it writes no history,
-- and automatic moves still happen for it.
SET ROLE lg_trust_writer;
SET row_security = off;
SELECT restoring() AS writer_looks_like_a_restore;
SELECT pg_temp.try($$INSERT INTO lead_gen.stage_change (lead_id, from_stage, to_stage, cause, changed_by)
	VALUES (1, 'prospect', 'customer', 'manual', 'ops')$$) AS forged_history;
INSERT INTO activity (lead_id, kind) VALUES (1, 'demo_request');
SELECT stage FROM lead WHERE lead_id = 1;
RESET row_security;
RESET ROLE;
SELECT from_stage, to_stage, cause, changed_by FROM stage_change;
SELECT reached FROM stage_funnel(as_of => now()) WHERE stage = 'customer';
-- the owner with row_security off is what pg_dump's output runs as
SET row_security = off;
SELECT restoring() AS owner_restores;
RESET row_security;

-- 2. Derived columns written by a writer, on INSERT: computed, not kept.
SET ROLE lg_trust_writer;
INSERT INTO lead (email, industry, engagement, score, temperature, next_change_at, scored_at,
				  fit, grade, stage_changed_at, mql_at, first_touch_at, forgotten_at,
				  recycled_from, peak_stage)
VALUES ('forger@trust.example', 'retail', '(5000,2026-01-01 00:00:00+00,30 days)', 110, 'hot',
		'2030-01-01', '2030-01-01', 100, 'A', '2020-01-01', '2020-01-01', '2020-01-01', '2020-01-01',
		'customer', 'customer');
SELECT engagement, score, temperature, next_change_at, scored_at <= now() AS scored_on_insert, fit, grade,
	   stage_changed_at = created_at AS entered_at_creation, mql_at, first_touch_at, forgotten_at,
	   recycled_from, peak_stage
FROM lead WHERE email = 'forger@trust.example';
-- an import by a writer may date a lead in the past, not in the future
SELECT pg_temp.try($$INSERT INTO lead_gen.lead (email, created_at) VALUES ('future@trust.example', '2030-01-01')$$) AS future_created;
SELECT pg_temp.try($$INSERT INTO lead_gen.lead (email, updated_at) VALUES ('future@trust.example', '2030-01-01')$$) AS future_updated;
SELECT pg_temp.try($$INSERT INTO lead_gen.lead (email, created_at) VALUES ('future@trust.example', '-infinity')$$) AS infinite_created;
SELECT pg_temp.try($$INSERT INTO lead_gen.lead (email, created_at) VALUES ('past@trust.example', now() - interval '1 year')$$) AS past_created;
SELECT peak_stage, stage_changed_at = created_at AS entered_at_creation FROM lead WHERE email = 'past@trust.example';
-- a lead that arrives as an MQL was one since it arrived
INSERT INTO lead (email, stage, mql_at, peak_stage) VALUES ('mql@trust.example', 'mql', '2020-01-01', 'customer');
SELECT stage, mql_at = created_at AS mql_at_creation, peak_stage FROM lead WHERE email = 'mql@trust.example';

-- ... and on UPDATE: refused (42501) where it would change, or kept
SELECT pg_temp.try($$UPDATE lead_gen.lead SET engagement = '(5000,2026-01-01 00:00:00+00,30 days)' WHERE lead_id = 1$$) AS engagement;
SELECT pg_temp.try($$UPDATE lead_gen.lead SET first_touch_at = now() WHERE lead_id = 1$$) AS first_touch_at;
SELECT pg_temp.try($$UPDATE lead_gen.lead SET forgotten_at = now() WHERE lead_id = 1$$) AS forgotten_at;
SELECT pg_temp.try($$UPDATE lead_gen.lead SET created_at = '2030-01-01' WHERE lead_id = 1$$) AS created_at;
SELECT pg_temp.try($$UPDATE lead_gen.lead SET updated_at = '2030-01-01' WHERE lead_id = 1$$) AS updated_at;
SELECT pg_temp.try($$SELECT lead_gen.forget(1)$$) AS forget;
UPDATE lead SET score = 110, temperature = 'hot', fit = 0, grade = 'F', next_change_at = '2030-01-01',
	   stage_changed_at = '2020-01-01', mql_at = '2020-01-01', recycled_from = 'customer', peak_stage = 'customer'
WHERE email = 'forger@trust.example';
SELECT score, temperature, fit, grade, next_change_at, stage_changed_at = created_at AS entered_at_creation,
	   mql_at, recycled_from, peak_stage
FROM lead WHERE email = 'forger@trust.example';
-- writing back the values a lead has (as an ORM does) is no forgery
UPDATE lead AS l SET email = l.email, engagement = l.engagement, first_touch_at = l.first_touch_at,
	   forgotten_at = l.forgotten_at, created_at = l.created_at
WHERE l.lead_id = 1;
SELECT count(*) AS history_rows, max(stage) AS stage FROM stage_change JOIN lead USING (lead_id);
RESET ROLE;
-- admins rebuild them (and forget); nothing a writer wrote survives
SET ROLE lg_trust_admin;
UPDATE lead SET engagement = NULL, first_touch_at = NULL WHERE lead_id = 1;
CALL recompute_all();
SELECT engagement IS NOT NULL AS rebuilt FROM lead WHERE lead_id = 1;
SELECT forget(lead_id) FROM lead WHERE email = 'mql@trust.example';
SELECT email, forgotten_at IS NOT NULL AS forgotten FROM lead WHERE stage = 'mql';
RESET ROLE;

-- 3. NaN is no amount: refused wherever one is stored (23514).
SET ROLE lg_trust_writer;
SELECT pg_temp.try($$INSERT INTO lead_gen.campaign (name, channel, spend) VALUES ('nan', 'paid', 'NaN')$$) AS spend;
SELECT pg_temp.try($$UPDATE lead_gen.lead SET budget = 'NaN' WHERE lead_id = 1$$) AS budget;
SELECT pg_temp.try($$UPDATE lead_gen.lead SET annual_revenue = 'NaN' WHERE lead_id = 1$$) AS annual_revenue;
SELECT pg_temp.try($$SELECT lead_gen.qualify(1, budget => 'NaN')$$) AS qualify;
RESET ROLE;
SELECT pg_temp.try($$UPDATE lead_gen.bant_rule SET min_budget = 'NaN'$$) AS min_budget;
-- and the float8 settings never took it
SELECT pg_temp.try($$UPDATE lead_gen.scoring_rule SET points = 'NaN' WHERE kind = 'webinar'$$) AS points;
SELECT pg_temp.try($$UPDATE lead_gen.scoring_settings SET warm_at = 'NaN'$$) AS warm_at;
SELECT pg_temp.try($$UPDATE lead_gen.stage_rule SET min_score = 'NaN' WHERE stage = 'mql'$$) AS min_score;
SELECT pg_temp.try($$UPDATE lead_gen.profile SET grade_d_min = 'NaN'$$) AS grade_d_min;

-- 4. Time decay with a short half-life: negligible credit is 0, and a lead
-- whose every touch is long before its conversion still shares out 1.
INSERT INTO campaign (name, channel) VALUES ('old', 'paid'), ('recent', 'email');
SELECT campaign_id AS old FROM campaign WHERE name = 'old' \gset
SELECT campaign_id AS recent FROM campaign WHERE name = 'recent' \gset
INSERT INTO lead (email, campaign_id, created_at) VALUES
	('early@trust.example', :old, now() - interval '90 days'),	-- touched 60 days and 1 hour before converting
	('stale@trust.example', :old, now() - interval '90 days');	-- every touch 30 days and more before
INSERT INTO activity (lead_id, kind, occurred_at, campaign_id)
SELECT lead_id, 'page_view', now() - interval '61 days', :old FROM lead WHERE email = 'early@trust.example'
UNION ALL
SELECT lead_id, 'page_view', now() - interval '1 day 1 hour', :recent FROM lead WHERE email = 'early@trust.example'
UNION ALL
SELECT lead_id, 'page_view', now() - interval '40 days', :old FROM lead WHERE email = 'stale@trust.example'
UNION ALL
SELECT lead_id, 'page_view', now() - interval '31 days', :recent FROM lead WHERE email = 'stale@trust.example';
UPDATE lead SET stage = 'customer' WHERE email IN ('early@trust.example', 'stale@trust.example');
UPDATE stage_change SET changed_at = now() - interval '1 day'
WHERE lead_id IN (SELECT lead_id FROM lead WHERE email IN ('early@trust.example', 'stale@trust.example'));
SELECT campaign, conversions, touches FROM attribution('time_decay', half_life => '1 hour') ORDER BY campaign;
SELECT campaign, conversions FROM attribution('time_decay', half_life => '9 days') ORDER BY campaign;

-- 5. An engagement prints only what it reads back: half-lives are whole
-- microseconds from 1 to 100 years, in text and in binary.
SELECT pg_temp.try($$SELECT '(1,2026-01-01 00:00:00+00,6000000 years)'::lead_gen.engagement$$) AS six_million_years;
SELECT pg_temp.try($$SELECT '(1,2026-01-01 00:00:00+00,36000 days 00:00:00.000001)'::lead_gen.engagement$$) AS just_over;
SELECT '(1,2026-01-01 00:00:00+00,100 years)'::engagement AS longest,
	   '(1,2026-01-01 00:00:00+00,0.000001 seconds)'::engagement AS shortest;
SELECT e::text::engagement = e AS reads_back
FROM (VALUES ('(1,2026-01-01 00:00:00+00,100 years)'::engagement),
			 ('(1,2026-01-01 00:00:00+00,1 day 0.1 seconds)'), ('(1,2026-01-01 00:00:00+00,86400.1 seconds)'),
			 ('(1.7976931348623157e308,2026-01-01 00:00:00+00,30 days)')) AS v(e);
-- binary: 1e308 seconds and 5e-324 seconds (as float8 bits), and a third of a second
CREATE TEMP TABLE eng_in (e engagement);
COPY eng_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\030\077\360\000\000\000\000\000\000\000\000\000\000\000\000\000\000\177\341\314\363\205\353\310\240\377\377''' WITH (FORMAT binary);
COPY eng_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\030\077\360\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\001\377\377''' WITH (FORMAT binary);
COPY eng_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\030\077\360\000\000\000\000\000\000\000\000\000\000\000\000\000\000\077\325\125\125\125\125\125\125\377\377''' WITH (FORMAT binary);
SELECT count(*) AS accepted FROM eng_in;
-- the value prints shortest-exact whatever extra_float_digits says
SET extra_float_digits = 0;
SELECT e::text, e::text::engagement = e AS reads_back
FROM (VALUES (engagement(0.1 + 0.2, '2026-01-01 00:00:00+00'))) AS v(e);
RESET extra_float_digits;

-- 6. A default rule cannot be renamed (it is deleting it); one's own can.
SELECT pg_temp.try($$UPDATE lead_gen.scoring_rule SET kind = 'page_viewz' WHERE kind = 'page_view'$$) AS rename_default;
INSERT INTO scoring_rule (kind, points) VALUES ('podcast', 4);
UPDATE scoring_rule SET kind = 'podcast_episode' WHERE kind = 'podcast';
UPDATE scoring_rule SET points = 2 WHERE kind = 'page_view';
SELECT kind, points FROM scoring_rule WHERE kind IN ('page_view', 'page_viewz', 'podcast', 'podcast_episode') ORDER BY kind;
DELETE FROM scoring_rule WHERE kind = 'podcast_episode';
UPDATE scoring_rule SET points = 1 WHERE kind = 'page_view';

-- 7. Granting access takes the owner's rights: anyone else fails, and
-- nothing is granted.
SET ROLE lg_trust_admin;
SELECT pg_temp.try($$SELECT lead_gen.grant_access('lg_trust_writer', 'admin')$$) AS grant_by_admin;
SELECT pg_temp.try($$SELECT lead_gen.revoke_access('lg_trust_writer')$$) AS revoke_by_admin;
RESET ROLE;
SELECT has_table_privilege('lg_trust_writer', 'lead_gen.scoring_rule', 'UPDATE') AS writer_got_admin,
	   has_table_privilege('lg_trust_writer', 'lead_gen.lead', 'UPDATE') AS writer_kept_writer;

-- 8. Infinite inputs: a moment lead_gen evaluates at must be finite
-- (22008), counts must be finite (22023).
SELECT pg_temp.try(format($$SELECT lead_gen.%s$$, call)) AS result, call
FROM unnest(ARRAY[
	'explain_score(1, ''infinity'')', 'explain_score(1, ''-infinity'')',
	'score_at(1, ''infinity'')', 'score_at(1, ''-infinity'')',
	'lead_score(l, ''infinity'') FROM lead_gen.lead AS l', 'lead_score(l, ''-infinity'') FROM lead_gen.lead AS l',
	'stage_at(1, ''infinity'')', 'peak_stage_at(1, ''-infinity'')',
	'stage_funnel(as_of => ''infinity'')', 'stage_funnel_chart(as_of => ''-infinity'')',
	'engagement_value(lead_gen.engagement(1, now()), ''infinity'')',
	'funnel_chart(ARRAY[''a'', ''b''], ARRAY[1, ''Infinity'']::numeric[])',
	'funnel_chart(ARRAY[''a'', ''b''], ARRAY[1, ''NaN'']::numeric[])',
	'funnel_chart(ARRAY[''a'', ''b''], ARRAY[1, ''-Infinity'']::numeric[])',
	'score_at(1, now())', 'explain_score(1)',
	'engagement_from_history(1, ''infinity'')', 'engagement_from_history(1, ''-infinity'')']) AS call;

DROP OWNED BY lg_trust_writer, lg_trust_admin;
DROP ROLE lg_trust_writer, lg_trust_admin;
