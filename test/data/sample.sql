-- Deterministic sample data for lead_gen: 3,000 leads from 16 campaigns across
-- 9 channels, about 45,000 activities over the past year, and the stage
-- history of every lead.  Same seed, same rows (times are relative to the
-- day it is loaded, so the data always covers the last 365 days).
--
-- Each lead has a journey of a few weeks to a few months after it arrives:
-- its activity grows denser towards the journey's end (so its score rises,
-- then decays once it goes quiet), and more than half of its marketing
-- touches come from other campaigns than the one that brought it, by what
-- the touch is (an e-mail open from an e-mail campaign, a webinar from an
-- event, a demo request from a landing page or retargeting), so attribution
-- models disagree.  How far a lead gets depends on how well it fits the
-- profile below and on how engaged it is, about equally, so that a model or
-- a segment has something real to find.
--
--   psql -v ON_ERROR_STOP=1 -f test/data/sample.sql

SET max_parallel_workers_per_gather = 0;	-- keep random() in one order
SELECT setseed(0.20261123) \gset

BEGIN;

-- Everything is placed from the start of today (t1), never from now(): the
-- same data at any hour of the day.
CREATE TEMP TABLE sample_anchor AS
	SELECT date_trunc('day', now()) - interval '365 days' AS t0, date_trunc('day', now()) AS t1;

INSERT INTO lead_gen.campaign (name, channel, spend, starts_on, ends_on)
SELECT c.name, c.channel, c.spend,
	   (SELECT t0 FROM sample_anchor)::date + c.start_day,
	   CASE WHEN c.days IS NULL THEN NULL
			ELSE (SELECT t0 FROM sample_anchor)::date + c.start_day + c.days END
FROM (VALUES
	('Blog: pipeline hygiene series',	'content',		4200.00,	0,	NULL),
	('Ebook: the B2B scoring playbook',	'content',		9800.00,	30,	120),
	('LinkedIn: RevOps leaders',		'social',		18500.00,	15,	90),
	('Twitter/X: launch week',			'social',		3200.00,	200, 14),
	('SEO: lead scoring keywords',		'search',		6000.00,	0,	NULL),
	('Google Ads: CRM alternative',		'paid',			27400.00,	45,	180),
	('Retargeting: pricing visitors',	'paid',			8900.00,	120, 120),
	('Newsletter: monthly digest',		'email',		1500.00,	0,	NULL),
	('Nurture: trial follow-up',		'email',		900.00,		60,	240),
	('SaaStr Europa booth',				'event',		35000.00,	150, 3),
	('Webinar: funnel metrics 101',		'event',		2500.00,	210, 1),
	('Partner referrals',				'referral',		5000.00,	0,	NULL),
	('Customer referral program',		'referral',		0.00,		90,	NULL),
	('Landing page: free trial',		'landing_page',	2100.00,	0,	NULL),
	('Landing page: ROI calculator',	'landing_page',	3400.00,	180, 150),
	('Direct / unknown',				'direct',		0.00,		0,	NULL)
) AS c(name, channel, spend, start_day, days)
ORDER BY c.name;

-- Leads, spread over the year, each from one campaign.
CREATE TEMP TABLE sample_lead AS
SELECT g AS n,
	   (SELECT t0 FROM sample_anchor) + (random() * 364) * interval '1 day' AS created_at,
	   random() AS r_name, random() AS r_last, random() AS r_title, random() AS r_comp,
	   random() AS r_ind, random() AS r_size, random() AS r_geo, random() AS r_camp,
	   random() AS r_consent, random() AS r_engaged, random() AS r_journey, random() AS r_noise
FROM generate_series(1, 3000) AS g;

-- How well each lead fits (the same draws pick its industry, size, place and
-- title below: saas or fintech, 50..5000 employees, North America or Western
-- Europe, a senior title) and how engaged it is, together: its propensity.
CREATE TEMP TABLE sample_propensity AS
SELECT s.n,
	   0.35 * ((s.r_ind * 10)::int % 10 IN (0, 1))::int
	   + 0.20 * ((s.r_size * 10)::int % 10 BETWEEN 3 AND 8)::int
	   + 0.20 * ((s.r_geo * 12)::int % 12 IN (0, 1, 2, 3, 4, 5, 7))::int
	   + 0.25 * ((s.r_title * 12)::int % 12 >= 5)::int AS fit,
	   s.r_engaged AS engaged
FROM sample_lead AS s;

-- Where each lead got to (by the rank of its propensity), its journey's end,
-- and when it entered each stage: the history of an imported pipeline,
-- spread over the journey, the last move near its end (a day ago at the latest).
CREATE TEMP TABLE sample_path AS
SELECT s.n, s.created_at, s.journey_end, p.path, s.rank,
	   ARRAY(SELECT s.created_at + CASE WHEN i = 1 THEN interval '0'
										ELSE ((i - 1)::float8 / (cardinality(p.path) - 1)) * 0.95 * (s.journey_end - s.created_at) END
			 FROM generate_series(1, cardinality(p.path)) AS i ORDER BY i) AS entered
FROM (SELECT l.n, l.created_at, l.r_consent,
			 greatest(l.created_at, least((SELECT t1 FROM sample_anchor) - interval '1 day',
										  l.created_at + (14 + l.r_journey * 100) * interval '1 day')) AS journey_end,
			 percent_rank() OVER (ORDER BY 0.5 * q.fit + 0.5 * q.engaged + 0.1 * (l.r_noise - 0.5), l.n) AS rank
	  FROM sample_lead AS l JOIN sample_propensity AS q ON q.n = l.n) AS s
CROSS JOIN LATERAL (SELECT
	   CASE WHEN s.created_at > (SELECT t1 FROM sample_anchor) - interval '2 days' THEN ARRAY['prospect']	-- too new to have moved
			WHEN s.rank > 0.97 THEN ARRAY['prospect', 'lead', 'mql', 'sql', 'opportunity', 'customer']
			WHEN s.rank > 0.92 THEN ARRAY['prospect', 'lead', 'mql', 'sql', 'opportunity']
			WHEN s.rank > 0.85 THEN ARRAY['prospect', 'lead', 'mql', 'sql']
			WHEN s.rank > 0.70 THEN ARRAY['prospect', 'lead', 'mql']
			WHEN s.rank > 0.35 THEN ARRAY['prospect', 'lead']
			ELSE ARRAY['prospect'] END
	   || CASE WHEN s.r_consent > 0.97 AND s.rank <= 0.97 THEN ARRAY['disqualified'] ELSE ARRAY[]::text[] END
	   AS path) AS p;

-- An import: leads arrive in the stage they had, with its history below;
-- automatic moves wait until the import is in.
SET LOCAL lead_gen.automatic_stage_moves = off;

INSERT INTO lead_gen.lead
	(email, first_name, last_name, phone, job_title, seniority, decision_maker,
	 company_name, industry, employees, annual_revenue, country, city,
	 source_channel, campaign_id, consent, attributes, created_at, updated_at,
	 stage, stage_changed_at, mql_at, peak_stage)
SELECT lower(fn || '.' || ln || s.n) || '@' || lower(regexp_replace(co, '[^A-Za-z]', '', 'g')) || '.example',
	   fn, ln,
	   '+1 555 ' || lpad((s.n % 10000)::text, 4, '0'),
	   t.title, t.seniority, t.decides,
	   co, ind, emp, emp::numeric * (80000 + (s.r_ind * 120000)::int), geo.country, geo.city,
	   c.channel, c.campaign_id,
	   CASE WHEN s.r_consent < 0.70 THEN 'subscribed'
			WHEN s.r_consent < 0.85 THEN 'unknown' ELSE 'unsubscribed' END,
	   jsonb_build_object('tech_stack',
						  (ARRAY['salesforce', 'hubspot', 'pipedrive', 'zoho', 'none'])[1 + (s.r_comp * 5)::int % 5],
						  'pain_points',
						  (ARRAY['["lead routing", "reporting"]', '["data quality"]',
								'["scoring", "attribution"]', '["reporting"]']::jsonb[])[1 + (s.r_title * 4)::int % 4]),
	   s.created_at, s.created_at,
	   p.path[cardinality(p.path)]::lead_gen.lifecycle_stage, p.entered[cardinality(p.entered)],
	   p.entered[array_position(p.path, 'mql')],
	   (array_remove(p.path, 'disqualified'))[cardinality(array_remove(p.path, 'disqualified'))]::lead_gen.lifecycle_stage
FROM sample_lead AS s
JOIN sample_path AS p ON p.n = s.n
CROSS JOIN LATERAL (SELECT
	(ARRAY['Ada', 'Ben', 'Chloe', 'Dev', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jonas',
		   'Kira', 'Liam', 'Maya', 'Noah', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tara'])[1 + (s.r_name * 20)::int % 20] AS fn,
	(ARRAY['Adams', 'Brown', 'Chen', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen',
		   'Kowalski', 'Lopez', 'Meyer', 'Nakamura', 'Okafor', 'Patel', 'Rossi', 'Silva', 'Tanaka', 'Weber'])[1 + (s.r_last * 20)::int % 20] AS ln,
	(ARRAY['Acme Analytics', 'Brightwave', 'Cloudnine Labs', 'Datapoint', 'Evergreen Health',
		   'Finlytics', 'Globex', 'Helios Retail', 'Initech', 'Juniper Logistics', 'Kinetic Bank',
		   'Lumen Media', 'Monarch Insurance', 'Northwind', 'Orbital Software', 'Pinnacle Manufacturing',
		   'Quantum Fintech', 'Redwood Education', 'Stellar SaaS', 'Tidal Energy'])[1 + (s.r_comp * 20)::int % 20] AS co,
	(ARRAY['saas', 'fintech', 'healthcare', 'retail', 'manufacturing', 'education', 'media',
		   'logistics', 'insurance', 'energy'])[1 + (s.r_ind * 10)::int % 10] AS ind,
	(ARRAY[4, 12, 35, 80, 150, 320, 600, 1200, 4500, 20000])[1 + (s.r_size * 10)::int % 10] AS emp
) AS who
CROSS JOIN LATERAL (SELECT x.title, x.seniority, x.decides
	FROM (VALUES
		(0, 'Marketing Intern', 'intern', false), (1, 'Sales Development Rep', 'entry', false),
		(2, 'Marketing Specialist', 'mid', false), (3, 'Senior Data Analyst', 'senior', false),
		(4, 'Marketing Manager', 'manager', false), (5, 'Head of Growth', 'director', true),
		(6, 'Director of Sales', 'director', true), (7, 'VP Marketing', 'vp', true),
		(8, 'VP Revenue Operations', 'vp', true), (9, 'Chief Revenue Officer', 'c_level', true),
		(10, 'CEO', 'c_level', true), (11, 'Founder', 'owner', true)) AS x(i, title, seniority, decides)
	WHERE x.i = (s.r_title * 12)::int % 12) AS t
CROSS JOIN LATERAL (SELECT x.country, x.city
	FROM (VALUES
		(0, 'US', 'New York'), (1, 'US', 'San Francisco'), (2, 'US', 'Austin'), (3, 'CA', 'Toronto'),
		(4, 'GB', 'London'), (5, 'DE', 'Berlin'), (6, 'FR', 'Paris'), (7, 'NL', 'Amsterdam'),
		(8, 'IN', 'Bangalore'), (9, 'BR', 'Sao Paulo'), (10, 'AU', 'Sydney'), (11, 'JP', 'Tokyo')) AS x(i, country, city)
	WHERE x.i = (s.r_geo * 12)::int % 12) AS geo
CROSS JOIN LATERAL (SELECT campaign_id, channel FROM lead_gen.campaign
	ORDER BY campaign_id OFFSET (s.r_camp * 16)::int % 16 LIMIT 1) AS c
ORDER BY s.n;

-- Activities: most leads browse a little, some engage a lot; the engaged
-- ones go on to download, attend, ask for a demo, and get sales touches.
-- Times: over the lead's journey, denser towards its end.
WITH act AS (
	SELECT l.lead_id, l.created_at, l.campaign_id, l.consent, p.rank AS r_engaged, p.journey_end,
		   k.i, random() AS r_kind, random() AS r_when, random() AS r_touch, random() AS r_pick
	FROM lead_gen.lead AS l
	JOIN sample_path AS p ON p.n = l.lead_id
	CROSS JOIN LATERAL generate_series(1, 2 + (p.rank * p.rank * 40)::int) AS k(i)
),
kinded AS (
	SELECT a.*, CASE
		WHEN a.i = 1 THEN 'page_view'
		WHEN a.r_kind < 0.30 THEN 'page_view'
		WHEN a.r_kind < 0.50 THEN 'email_open'
		WHEN a.r_kind < 0.60 THEN 'email_click'
		WHEN a.r_kind < 0.68 THEN 'content_download'
		WHEN a.r_kind < 0.72 THEN 'webinar'
		WHEN a.r_kind < 0.75 THEN 'newsletter_signup'
		WHEN a.r_kind < 0.77 THEN 'social_follow'
		WHEN a.r_kind < 0.79 THEN 'pricing_inquiry'
		WHEN a.r_kind < 0.80 THEN 'contact_form'
		WHEN a.r_kind < 0.81 AND a.r_engaged > 0.5 THEN 'free_trial_request'
		WHEN a.r_kind < 0.82 AND a.r_engaged > 0.6 THEN 'demo_request'
		WHEN a.r_kind < 0.83 THEN 'bounce'
		WHEN a.r_kind < 0.84 AND a.consent = 'unsubscribed' THEN 'unsubscribe'
		WHEN a.r_kind < 0.90 AND a.r_engaged > 0.7 THEN 'sales_email'
		WHEN a.r_kind < 0.94 AND a.r_engaged > 0.8 THEN 'call'
		WHEN a.r_kind < 0.96 AND a.r_engaged > 0.85 THEN 'meeting'
		ELSE 'page_view' END AS kind
	FROM act AS a
)
INSERT INTO lead_gen.activity (lead_id, kind, occurred_at, campaign_id, properties)
SELECT a.lead_id, a.kind,
	   CASE WHEN a.i = 1 THEN a.created_at
			ELSE a.created_at + sqrt(a.r_when) * (a.journey_end - a.created_at) END,
	   CASE WHEN a.i = 1 THEN a.campaign_id
			WHEN a.r_touch < 0.55 THEN touch.campaign_id END,
	   CASE a.kind
			WHEN 'page_view' THEN jsonb_build_object('url',
				(ARRAY['/', '/blog/lead-scoring', '/pricing', '/features', '/careers', '/docs'])[1 + (a.r_when * 6)::int % 6])
			WHEN 'content_download' THEN jsonb_build_object('asset',
				(ARRAY['ebook', 'whitepaper', 'guide'])[1 + (a.r_when * 3)::int % 3])
			ELSE '{}'::jsonb END
FROM kinded AS a
-- the campaign a touch of this kind comes from (sales touches have none)
CROSS JOIN LATERAL (SELECT (array_agg(c.campaign_id ORDER BY c.campaign_id))[1 + (a.r_pick * 7)::int % count(*)::int] AS campaign_id
	FROM lead_gen.campaign AS c
	WHERE c.channel = CASE
		WHEN a.kind = 'page_view' THEN (ARRAY['search', 'paid', 'social', 'content'])[1 + (a.r_pick * 4)::int % 4]
		WHEN a.kind IN ('email_open', 'email_click', 'newsletter_signup', 'unsubscribe', 'bounce') THEN 'email'
		WHEN a.kind = 'content_download' THEN 'content'
		WHEN a.kind = 'webinar' THEN 'event'
		WHEN a.kind = 'social_follow' THEN 'social'
		WHEN a.kind IN ('pricing_inquiry', 'free_trial_request', 'demo_request', 'contact_form')
			THEN (ARRAY['landing_page', 'paid'])[1 + (a.r_pick * 2)::int % 2]
		END) AS touch
ORDER BY a.lead_id, a.i;

INSERT INTO lead_gen.stage_change (lead_id, from_stage, to_stage, changed_at, cause, kind, reason, changed_by)
SELECT p.n,
	   p.path[i - 1]::lead_gen.lifecycle_stage,
	   p.path[i]::lead_gen.lifecycle_stage,
	   p.entered[i],
	   CASE WHEN p.path[i] = 'mql' THEN 'threshold'
			WHEN p.path[i] = 'sql' THEN 'event'
			WHEN p.path[i] IN ('opportunity', 'customer', 'disqualified') THEN 'manual'
			ELSE 'threshold' END,
	   CASE WHEN p.path[i] = 'disqualified' THEN 'disqualify' ELSE 'forward' END,
	   CASE WHEN p.path[i] = 'disqualified' THEN 'no budget this year' END,
	   CASE WHEN p.path[i] IN ('opportunity', 'customer', 'disqualified') THEN 'sales'
			ELSE 'lead_gen' END
FROM sample_path AS p
CROSS JOIN LATERAL generate_series(2, cardinality(p.path)) AS i
ORDER BY p.n, i;

-- BANT for the leads sales has vetted.
UPDATE lead_gen.lead AS l
SET budget = (1 + l.lead_id % 9) * 10000,
	need = (ARRAY['replace spreadsheets', 'unify marketing and sales data', 'faster lead routing'])[1 + l.lead_id % 3],
	authority = l.decision_maker,
	timeline = (SELECT t1 FROM sample_anchor)::date + (l.lead_id % 120)::int,
	updated_at = l.updated_at
WHERE l.stage IN ('sql', 'opportunity', 'customer');

-- The ideal customer profile: mid-size SaaS and fintech buyers in North
-- America and Western Europe, senior and able to sign; never a competitor.
INSERT INTO lead_gen.profile (name, icp, active, description) VALUES
	('b2b_saas', $$industry in (saas, fintech) 30; employees 50..5000 20;
				   country in (US, CA, GB, DE, NL) 15; job_title ~* '(vp|head|chief|director|founder|ceo)' 15;
				   decision_maker is true 10; attributes.tech_stack in (salesforce, hubspot) 5;
				   attributes.pain_points in (scoring, attribution, reporting) 5; employees < 10 -10;
				   must not email_domain in (competitor.example)$$, true,
	 'Mid-size SaaS and fintech buyers in North America and Western Europe'),
	('enterprise', $$employees >= 1000 50; annual_revenue >= 100000000 30; seniority in (vp, c_level) 20$$,
	 false, 'Large accounts, for the enterprise team');

COMMIT;

ANALYZE lead_gen.campaign, lead_gen.lead, lead_gen.activity, lead_gen.stage_change;
