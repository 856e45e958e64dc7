-- search_path attacks: a hostile schema ahead of pg_catalog on the
-- search_path, with lookalikes of operators and functions lead_gen uses and
-- of lead_gen's own names with other argument types.  Each lookalike gives
-- the right answer but records that it ran; every trigger, function and
-- report of lead_gen runs, and none of them may call one.
SET client_min_messages = warning;
TRUNCATE lead_gen.lead, lead_gen.profile, lead_gen.campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
CREATE SCHEMA hostile;
CREATE TABLE hostile.calls (what text);
CREATE FUNCTION hostile.spy(what text) RETURNS void LANGUAGE sql
AS $$ INSERT INTO hostile.calls VALUES (what || ' @ ' || left(regexp_replace(pg_catalog.current_query(), '\s+', ' ', 'g'), 90)) $$;

-- operators
CREATE FUNCTION hostile.eq(text, text) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('text = text'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.eq);
CREATE FUNCTION hostile.eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('bigint = bigint'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR hostile.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hostile.eq);
CREATE FUNCTION hostile.eq(integer, integer) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('int = int'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR hostile.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = hostile.eq);
CREATE FUNCTION hostile.eq(lead_gen.lifecycle_stage, lead_gen.lifecycle_stage) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('stage = stage'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR hostile.= (LEFTARG = lead_gen.lifecycle_stage, RIGHTARG = lead_gen.lifecycle_stage, FUNCTION = hostile.eq);
CREATE FUNCTION hostile.lt(bigint, bigint) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('bigint < bigint'); RETURN $1 OPERATOR(pg_catalog.<) $2; END $$;
CREATE OPERATOR hostile.< (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hostile.lt);
CREATE FUNCTION hostile.le(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('timestamptz <= timestamptz'); RETURN $1 OPERATOR(pg_catalog.<=) $2; END $$;
CREATE OPERATOR hostile.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = hostile.le);
CREATE FUNCTION hostile.ge(timestamptz, timestamptz) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('timestamptz >= timestamptz'); RETURN $1 OPERATOR(pg_catalog.>=) $2; END $$;
CREATE OPERATOR hostile.>= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = hostile.ge);
CREATE FUNCTION hostile.plus(bigint, bigint) RETURNS bigint LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('bigint + bigint'); RETURN $1 OPERATOR(pg_catalog.+) $2; END $$;
CREATE OPERATOR hostile.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hostile.plus);
CREATE FUNCTION hostile.match(text, text) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('text ~ text'); RETURN $1 OPERATOR(pg_catalog.~) $2; END $$;
CREATE OPERATOR hostile.~ (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.match);
-- functions lead_gen calls
CREATE FUNCTION hostile.lower(text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('lower'); RETURN pg_catalog.lower($1); END $$;
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('now'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION hostile.length(text) RETURNS integer LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('length'); RETURN pg_catalog.length($1); END $$;
CREATE FUNCTION hostile.to_char(timestamp, text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('to_char'); RETURN pg_catalog.to_char($1, $2); END $$;
CREATE FUNCTION hostile.set_config(text, text, boolean) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('set_config'); RETURN pg_catalog.set_config($1, $2, $3); END $$;
CREATE FUNCTION hostile.date_trunc(text, timestamp) RETURNS timestamp LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('date_trunc'); RETURN pg_catalog.date_trunc($1, $2); END $$;
CREATE FUNCTION hostile.cardinality(anyarray) RETURNS integer LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('cardinality'); RETURN pg_catalog.cardinality($1); END $$;
CREATE FUNCTION hostile.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('unnest'); RETURN QUERY SELECT pg_catalog.unnest($1); END $$;
CREATE FUNCTION hostile.pg_current_xact_id() RETURNS xid8 LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('pg_current_xact_id'); RETURN pg_catalog.pg_current_xact_id(); END $$;
CREATE FUNCTION hostile.xid_eq(xid, xid) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('xid = xid'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR hostile.= (LEFTARG = xid, RIGHTARG = xid, FUNCTION = hostile.xid_eq);
CREATE FUNCTION hostile.xid_ne(xid, xid) RETURNS boolean LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('xid <> xid'); RETURN $1 OPERATOR(pg_catalog.<>) $2; END $$;
CREATE OPERATOR hostile.<> (LEFTARG = xid, RIGHTARG = xid, FUNCTION = hostile.xid_ne);
-- lead_gen's own names, with other argument types
CREATE FUNCTION hostile.engagement_value(lead_gen.engagement, timestamp) RETURNS float8 LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('engagement_value'); RETURN 0; END $$;
CREATE FUNCTION hostile.engagement_combine(lead_gen.engagement, lead_gen.engagement) RETURNS lead_gen.engagement LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('engagement_combine'); RETURN $1; END $$;
CREATE FUNCTION hostile.history_engagement(integer, integer) RETURNS TABLE (lead_id bigint, engagement lead_gen.engagement)
LANGUAGE plpgsql AS $$ BEGIN PERFORM hostile.spy('history_engagement'); END $$;
CREATE FUNCTION hostile.history_state(integer, integer) RETURNS TABLE (lead_id bigint, engagement lead_gen.engagement, first_touch_at timestamptz)
LANGUAGE plpgsql AS $$ BEGIN PERFORM hostile.spy('history_state'); END $$;
CREATE FUNCTION hostile.lead_segment(lead_gen.lead, text, text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('lead_segment'); RETURN 'hostile'; END $$;
CREATE FUNCTION hostile.icp_match_facts(lead_gen.icp, text, text, text, text, text, text, boolean, text, text,
	integer, numeric, text, text, text, bigint, text, numeric, text, boolean, jsonb) RETURNS float8 LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('icp_match_facts'); RETURN 0; END $$;
CREATE FUNCTION hostile.transition(bigint, text) RETURNS void LANGUAGE plpgsql
AS $$ BEGIN PERFORM hostile.spy('transition'); END $$;

-- Everything runs with the hostile schema first, even before pg_catalog
-- (the statements below qualify what they use themselves).
SET search_path = hostile, pg_catalog, lead_gen, public;

INSERT INTO lead_gen.profile (name, icp, active)
VALUES ('p', 'industry in (saas) 40; employees 10..500 40; job_title ~* ''(vp|head)'' 20', true);
INSERT INTO lead_gen.campaign (name, channel, spend, starts_on, ends_on)
VALUES ('C1', 'paid', 1000, '2026-01-01', '2026-12-31');
INSERT INTO lead_gen.lead (email, job_title, industry, employees, campaign_id) VALUES
	('a@corp.example', 'VP Sales', 'saas', 100, 1), ('b@corp.example', 'Analyst', 'retail', 5, 1),
	('c@corp.example', 'Head of IT', 'saas', 300, NULL);
INSERT INTO lead_gen.activity (lead_id, kind, campaign_id) VALUES (1, 'webinar', 1);
INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
SELECT 1 + g % 3, (ARRAY['page_view', 'email_open', 'newsletter_signup', 'call'])[1 + g % 4],
	   pg_catalog.now() - g * interval '1 hour'
FROM generate_series(1, 60) AS g;
UPDATE lead_gen.activity SET occurred_at = occurred_at - interval '1 day' WHERE activity_id % 7 = 0;
DELETE FROM lead_gen.activity WHERE activity_id % 11 = 0;
UPDATE lead_gen.lead SET employees = 200 WHERE lead_id = 2;
SELECT (lead_gen.qualify(3, budget => 1000, need => 'x', authority => true, timeline => current_date + 7)) AS q;
SELECT (lead_gen.transition(1, 'opportunity', 'met')).to_stage;
SELECT (lead_gen.recycle(3, 'not now')).to_stage;
SELECT (lead_gen.disqualify(2, 'spam')).to_stage;
BEGIN;
SET LOCAL lead_gen.stage_reason = 'back';
UPDATE lead_gen.lead SET stage = 'lead' WHERE lead_id = 2;
COMMIT;
SELECT * FROM lead_gen.bant_status(3);
SELECT lead_gen.stage_at(1, pg_catalog.now()), round(lead_gen.score_at(1, pg_catalog.now())::numeric) > 0 AS scored;
SELECT count(*) > 0 AS explained FROM lead_gen.explain_score(1);
SELECT count(*) AS criteria FROM lead_gen.explain_fit(1);
SELECT round(lead_gen.icp_match(p.icp, l)::numeric) AS fit FROM lead_gen.profile p, lead_gen.lead l
WHERE l.lead_id = 1;
SELECT count(*) >= 0 AS listed FROM lead_gen.sla_breach;
SELECT count(*) AS leads FROM lead_gen.speed_to_lead;
SELECT lead_gen.flag_sla_breaches() >= 0 AS flagged;
SELECT count(*) > 0 AS rows FROM lead_gen.stage_funnel(group_by => 'cohort');
SELECT count(*) > 0 AS rows FROM lead_gen.stage_funnel(group_by => 'campaign', as_of => pg_catalog.now());
SELECT count(*) > 0 AS rows FROM lead_gen.leads_per_period(group_by => 'channel');
SELECT count(*) > 0 AS rows FROM lead_gen.mql_acceptance();
SELECT count(*) > 0 AS rows FROM lead_gen.time_in_stage(group_by => 'grade');
SELECT count(*) > 0 AS rows FROM lead_gen.speed_to_lead_report();
SELECT count(*) > 0 AS rows FROM lead_gen.campaign_report('2026-01-01', '2026-12-31');
SELECT count(*) > 0 AS rows FROM lead_gen.channel_report();
SELECT count(*) >= 0 AS rows FROM lead_gen.attribution('w_shaped', 'lead');
SELECT count(*) > 0 AS rows FROM lead_gen.stage_funnel_chart();
SELECT lead_gen.window_funnel('1 day', occurred_at, kind OPERATOR(pg_catalog.=) 'page_view',
							  kind OPERATOR(pg_catalog.=) 'email_open') >= 0 AS funnel,
	   (lead_gen.retention(kind OPERATOR(pg_catalog.=) 'page_view', kind OPERATOR(pg_catalog.=) 'call'))[1] >= 0 AS retention,
	   lead_gen.engagement_sum(1, occurred_at, '30 days') IS NOT NULL AS summed
FROM lead_gen.activity;
UPDATE lead_gen.scoring_rule SET points = 2 WHERE kind OPERATOR(pg_catalog.=) 'page_view';
INSERT INTO lead_gen.scoring_rule (kind, points) VALUES ('page_view', 1);
INSERT INTO lead_gen.stage_transition VALUES ('lead', 'mql', 'forward', false, false);
UPDATE lead_gen.scoring_settings SET half_life = '20 days';
CALL lead_gen.rescore();
CALL lead_gen.recompute_all(2);
SELECT lead_gen.forget(2);
UPDATE lead_gen.profile SET icp = 'industry in (saas) 100';
TRUNCATE lead_gen.activity;

SELECT count(*) AS hostile_calls, string_agg(DISTINCT what, ', ') AS which FROM hostile.calls;

RESET search_path;
DROP SCHEMA hostile CASCADE;
SET client_min_messages = warning;
TRUNCATE lead_gen.lead, lead_gen.profile, lead_gen.campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
