-- Privileges: what each access level may do, nothing for PUBLIC, and row
-- level security per team that every lead_gen trigger, function and report
-- respects.
SET client_min_messages = warning;
TRUNCATE lead_gen.lead, lead_gen.profile, lead_gen.campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
\set VERBOSITY terse
CREATE ROLE lg_nobody;
CREATE ROLE lg_reader;
CREATE ROLE lg_team_a;
CREATE ROLE lg_team_b;
CREATE ROLE lg_admin;
SELECT lead_gen.grant_access('lg_reader', 'reader'), lead_gen.grant_access('lg_team_a', 'writer'),
	   lead_gen.grant_access('lg_team_b', 'writer'), lead_gen.grant_access('lg_admin', 'admin');
SELECT lead_gen.grant_access('lg_nobody', 'owner');
SELECT lead_gen.grant_access('lg_ghost', 'reader');

-- PUBLIC: EXECUTE on functions (they run with the caller's rights), nothing else.
SELECT c.relname, c.relacl::text LIKE '%=%/%' AND c.relacl::text ~ '(^|[{,])=' AS public_has_something
FROM pg_class AS c
WHERE c.relnamespace = 'lead_gen'::regnamespace AND c.relkind IN ('r', 'v', 'S')
  AND c.relacl::text ~ '(^|[{,])='
ORDER BY 1;
SELECT count(*) AS security_definer_functions_public_runs FROM pg_proc
WHERE pronamespace = 'lead_gen'::regnamespace AND prosecdef AND has_function_privilege('public', oid, 'EXECUTE');
SET ROLE lg_nobody;
SELECT count(*) FROM lead_gen.lead;
SELECT * FROM lead_gen.stage_funnel();
RESET ROLE;

-- Admin sets up; readers read; writers write but not configuration.
SET ROLE lg_admin;
INSERT INTO lead_gen.profile (name, icp, active) VALUES ('p', 'industry in (saas) 100', true);
UPDATE lead_gen.scoring_rule SET points = 12 WHERE kind = 'webinar';
INSERT INTO lead_gen.campaign (name, channel, spend) VALUES ('Team A webinar', 'event', 100);
RESET ROLE;

-- Row level security: a lead belongs to the team named in attributes.team;
-- activity and history follow their lead; admins see everything.
ALTER TABLE lead_gen.lead ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_gen.activity ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_gen.stage_change ENABLE ROW LEVEL SECURITY;
CREATE POLICY lead_team ON lead_gen.lead
	USING (pg_has_role(current_user, 'lg_admin', 'MEMBER')
		   OR (attributes->>'team' IS NOT NULL AND pg_has_role(current_user, (attributes->>'team')::name, 'MEMBER')));
CREATE POLICY activity_team ON lead_gen.activity
	USING (EXISTS (SELECT FROM lead_gen.lead AS l WHERE l.lead_id = activity.lead_id));
CREATE POLICY history_team ON lead_gen.stage_change
	USING (EXISTS (SELECT FROM lead_gen.lead AS l WHERE l.lead_id = stage_change.lead_id));

SET ROLE lg_team_a;
INSERT INTO lead_gen.lead (email, industry, campaign_id, attributes)
SELECT 'a' || g || '@a.example', 'saas', 1, '{"team": "lg_team_a"}' FROM generate_series(1, 3) AS g;
INSERT INTO lead_gen.lead (email, attributes) VALUES ('sneaky@a.example', '{"team": "lg_team_b"}');
INSERT INTO lead_gen.activity (lead_id, kind) SELECT lead_id, 'webinar' FROM lead_gen.lead;
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (1, 'demo_request'), (2, 'newsletter_signup');
SELECT (lead_gen.transition(3, 'mql', 'called')).to_stage;
SELECT lead_gen.qualify(3, budget => 5000, need => 'x', authority => true, timeline => current_date + 9);
-- history is lead_gen's to write
INSERT INTO lead_gen.stage_change (lead_id, from_stage, to_stage, cause) VALUES (1, 'sql', 'customer', 'manual');
UPDATE lead_gen.scoring_rule SET points = 1 WHERE kind = 'webinar';
SELECT lead_gen.transition(1, 'lead', 'again', force => true);
CALL lead_gen.recompute_all();
CALL lead_gen.rescore();
RESET ROLE;

SET ROLE lg_team_b;
INSERT INTO lead_gen.lead (email, industry, attributes)
SELECT 'b' || g || '@b.example', 'retail', '{"team": "lg_team_b"}' FROM generate_series(1, 2) AS g;
SELECT lead_id, email FROM lead_gen.lead ORDER BY lead_id;
-- team A's leads do not exist for team B, whatever the way in
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (1, 'webinar');
SELECT lead_gen.transition(1, 'opportunity', 'mine now');
SELECT lead_gen.qualify(1, budget => 1);
SELECT * FROM lead_gen.bant_status(1);
SELECT count(*) AS explained FROM lead_gen.explain_score(1);
SELECT lead_gen.stage_at(1, pg_catalog.now());
UPDATE lead_gen.lead SET stage = 'customer' WHERE lead_id = 1;
INSERT INTO lead_gen.activity (lead_id, kind) SELECT lead_id, 'page_view' FROM lead_gen.lead;
SELECT stage, reached FROM lead_gen.stage_funnel() WHERE stage IN ('prospect', 'lead', 'sql');
SELECT sum(leads) AS leads FROM lead_gen.campaign_report();
SELECT count(*) AS activities FROM lead_gen.activity;
SELECT count(*) AS history FROM lead_gen.stage_change;
SELECT lead_gen.window_funnel('1 day', occurred_at, kind = 'webinar', kind = 'page_view') AS steps
FROM lead_gen.activity;
RESET ROLE;

SET ROLE lg_team_a;
SELECT lead_id, email, stage FROM lead_gen.lead ORDER BY lead_id;
SELECT stage, reached FROM lead_gen.stage_funnel() WHERE stage IN ('prospect', 'lead', 'sql');
SELECT count(*) AS history FROM lead_gen.stage_change;
-- erasure is for admins (and erasing the attributes would take the lead out of the team)
SELECT lead_gen.forget(1);
RESET ROLE;

SET ROLE lg_reader;
SELECT count(*) AS leads_seen FROM lead_gen.lead;
INSERT INTO lead_gen.lead (email) VALUES ('r@r.example');
RESET ROLE;

-- The admin sees all, forces, rescoring and erasing; every lead is right.
SET ROLE lg_admin;
SELECT count(*) AS leads FROM lead_gen.lead;
SELECT (lead_gen.transition(1, 'lead', 'reopened by admin', force => true)).kind;
CALL lead_gen.rescore();
SELECT lead_gen.forget(5);
RESET ROLE;
SELECT count(*) AS leads_out_of_step FROM lead_gen.lead AS l
WHERE abs(coalesce(lead_gen.engagement_value(l.engagement, '2030-01-01'), 0)
		  - coalesce(lead_gen.engagement_value(lead_gen.engagement_from_history(l.lead_id), '2030-01-01'), 0)) > 1e-9;

-- Segments under row level security: an admin who sees every lead defines
-- one over all of them; an admin row security limits is refused (its
-- segment would leave out the leads it cannot see).
SET ROLE lg_admin;
SELECT lead_gen.create_segment('rls_everyone', 'email is present') > 0 AS created;
SELECT (SELECT count(*) FROM lead_gen.segment_member WHERE segment_id = lead_gen.segment_id('rls_everyone'))
	   = (SELECT count(*) FROM lead_gen.lead WHERE email IS NOT NULL) AS every_lead_in;
RESET ROLE;
CREATE ROLE lg_team_admin;
SELECT lead_gen.grant_access('lg_team_admin', 'admin');
GRANT lg_team_a TO lg_team_admin;
SET ROLE lg_team_admin;
SELECT lead_gen.create_segment('rls_partial', 'email is present');
RESET ROLE;
SELECT lead_gen.drop_segment('rls_everyone');
REVOKE lg_team_a FROM lg_team_admin;
SELECT lead_gen.revoke_access('lg_team_admin');
DROP ROLE lg_team_admin;

DROP POLICY lead_team ON lead_gen.lead;
DROP POLICY activity_team ON lead_gen.activity;
DROP POLICY history_team ON lead_gen.stage_change;
ALTER TABLE lead_gen.lead DISABLE ROW LEVEL SECURITY;
ALTER TABLE lead_gen.activity DISABLE ROW LEVEL SECURITY;
ALTER TABLE lead_gen.stage_change DISABLE ROW LEVEL SECURITY;
-- capture and identity take the writer level; their configuration and the purge the admin's
SET ROLE lg_team_a;
SELECT lead_gen.track('lg-cookie', 'page_view', now() - interval '1 hour') AS anonymous;
SELECT lead_gen.capture('{"email": "form@priv.example", "first_name": "Fay"}', 'lg-cookie', 'lg-key') > 0 AS captured;
SELECT count(*) AS activities_of_the_form_lead FROM lead_gen.activity AS a JOIN lead_gen.lead AS l USING (lead_id)
WHERE l.email = 'form@priv.example';
SELECT lead_gen.track('lg-cookie-2', 'page_view') IS NULL AS anonymous;
SELECT lead_gen.purge_anonymous();
UPDATE lead_gen.capture_field SET overwrite = true WHERE field = 'email';
UPDATE lead_gen.identity_settings SET anonymous_retention = '1 day';
RESET ROLE;
SET ROLE lg_reader;
SELECT lead_gen.track('lg-cookie', 'page_view');
SELECT lead_gen.capture('{"email": "form2@priv.example"}');
RESET ROLE;
SET ROLE lg_admin;
SELECT lead_gen.purge_anonymous() AS purged;
UPDATE lead_gen.identity_settings SET anonymous_retention = '30 days';
RESET ROLE;
UPDATE lead_gen.identity_settings SET anonymous_retention = DEFAULT;
SELECT lead_gen.revoke_access(r) FROM unnest(ARRAY['lg_reader', 'lg_team_a', 'lg_team_b', 'lg_admin']::name[]) AS r;
DROP ROLE lg_nobody, lg_reader, lg_team_a, lg_team_b, lg_admin;
SET client_min_messages = warning;
TRUNCATE lead_gen.lead, lead_gen.profile, lead_gen.campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
UPDATE lead_gen.scoring_rule SET points = 10 WHERE kind = 'webinar';
