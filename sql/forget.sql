-- Erasure: forget() removes a person's personal data everywhere lead_gen
-- keeps it and keeps the anonymous lead, so counts and funnels stay right.
SET search_path = lead_gen, public;
SET client_min_messages = warning;
TRUNCATE lead, profile, campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;

INSERT INTO campaign (name, channel, spend) VALUES ('Spring webinar', 'event', 500);
INSERT INTO lead (email, first_name, last_name, phone, job_title, company_name, industry, employees,
				  country, city, source_channel, campaign_id, need, budget, attributes) VALUES
	('ada@corp.example', 'Ada', 'Lovelace', '+44 20 7946 0000', 'Head of Growth', 'Analytical Engines',
	 'saas', 120, 'GB', 'London', 'event', 1, 'replace spreadsheets', 20000, '{"linkedin": "ada"}'),
	('bob@corp.example', 'Bob', 'Stone', NULL, 'Analyst', 'Stone Ltd', 'retail', 10, 'FR', 'Paris',
	 'event', 1, NULL, NULL, '{}');
INSERT INTO activity (lead_id, kind, campaign_id, properties) VALUES
	(1, 'webinar', 1, '{"title": "Scoring 101", "email": "ada@corp.example"}'),
	(1, 'demo_request', NULL, '{"message": "call me on +44 20 7946 0000"}'),
	(2, 'page_view', NULL, '{"url": "/pricing"}');
SELECT (disqualify(2, 'Bob asked us to stop calling him')).to_stage;

CREATE TEMP TABLE before AS
SELECT (SELECT array_agg(reached ORDER BY stage) FROM stage_funnel()) AS funnel,
	   (SELECT count(*) FROM activity) AS activities,
	   (SELECT count(*) FROM stage_change) AS changes,
	   (SELECT round(engagement_value(engagement, '2030-01-01')::numeric, 6) FROM lead WHERE lead_id = 1) AS engagement,
	   (SELECT stage FROM lead WHERE lead_id = 1) AS stage;

SELECT forget(1);
SELECT forget(2);
SELECT lead_id, email, first_name, last_name, phone, job_title, company_name, city, need, attributes,
	   forgotten_at IS NOT NULL AS forgotten, industry, employees, country, source_channel, campaign_id, budget, stage
FROM lead ORDER BY lead_id;
SELECT lead_id, kind, campaign_id, properties FROM activity ORDER BY activity_id;
SELECT lead_id, from_stage, to_stage, cause, reason FROM stage_change ORDER BY stage_change_id;
-- what is counted did not change
SELECT b.funnel = (SELECT array_agg(reached ORDER BY stage) FROM stage_funnel()) AS same_funnel,
	   b.activities = (SELECT count(*) FROM activity) AS same_activities,
	   b.changes = (SELECT count(*) FROM stage_change) AS same_history,
	   b.engagement = (SELECT round(engagement_value(engagement, '2030-01-01')::numeric, 6) FROM lead WHERE lead_id = 1) AS same_engagement,
	   b.stage = (SELECT stage FROM lead WHERE lead_id = 1) AS same_stage
FROM before AS b;
SELECT sum(leads) AS leads, sum(customers) AS customers FROM campaign_report();
-- forgetting again changes nothing and keeps the first time
SELECT forgotten_at AS first_time FROM lead WHERE lead_id = 1 \gset
SELECT forget(1);
SELECT forgotten_at = :'first_time' AS kept FROM lead WHERE lead_id = 1;
-- the anonymous lead lives on in the machine
SELECT (transition(1, 'opportunity', 'signed NDA')).to_stage;
SELECT forget(3);
SELECT forget(NULL);

SET client_min_messages = warning;
TRUNCATE lead, profile, campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
