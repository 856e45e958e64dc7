-- The funnel reports over every lead of the benchmark (their stages and
-- history come from the scoring benchmark's activity): each should take well
-- under a second at 1,000,000 leads.  Leads get one of 40 campaigns and a
-- creation day in the past year first (triggers off: this is set-up).
SET session_replication_role = replica;
INSERT INTO lead_gen.campaign (name, channel, spend, starts_on, ends_on)
SELECT 'Bench campaign ' || g,
	   (ARRAY['content', 'social', 'search', 'email', 'paid', 'event', 'referral', 'landing_page'])[1 + g % 8],
	   1000 * g, current_date - 365 + g * 7, CASE WHEN g % 3 = 0 THEN NULL ELSE current_date - 300 + g * 7 END
FROM generate_series(1, 40) AS g;
UPDATE lead_gen.lead
SET campaign_id = (SELECT min(campaign_id) FROM lead_gen.campaign) + lead_id % 40,
	created_at = now() - (lead_id % 365) * interval '1 day' - interval '1 hour';
RESET session_replication_role;
VACUUM ANALYZE lead_gen.lead;
SELECT count(*) AS leads, (SELECT count(*) FROM lead_gen.stage_change) AS changes FROM lead_gen.lead \gset

CREATE TEMP TABLE report_times AS
SELECT r.name, bench.median_seconds(r.query, 3) AS seconds
FROM (VALUES
	('stage_funnel()', 'SELECT * FROM lead_gen.stage_funnel()'),
	('stage_funnel(group_by => channel)', $$SELECT * FROM lead_gen.stage_funnel(group_by => 'channel')$$),
	('stage_funnel(last quarter, by cohort)', $$SELECT * FROM lead_gen.stage_funnel(current_date - 90, current_date, 'cohort')$$),
	('campaign_report()', 'SELECT * FROM lead_gen.campaign_report()'),
	('campaign_report(last quarter)', 'SELECT * FROM lead_gen.campaign_report(current_date - 90, current_date)'),
	('channel_report()', 'SELECT * FROM lead_gen.channel_report()'),
	('leads_per_period(month, channel)', $$SELECT * FROM lead_gen.leads_per_period(group_by => 'channel')$$),
	('mql_acceptance()', 'SELECT * FROM lead_gen.mql_acceptance()'),
	('speed_to_lead_report()', 'SELECT * FROM lead_gen.speed_to_lead_report()'),
	('time_in_stage()', 'SELECT * FROM lead_gen.time_in_stage()')) AS r(name, query);
SELECT string_agg(format('report %s over %s leads (%s stage changes): %ss%s', name, :'leads', :'changes',
						 round(seconds::numeric, 3),
						 CASE WHEN name LIKE 'stage_funnel%' OR name LIKE 'campaign_report%'
							  THEN CASE WHEN seconds < 1 THEN ' (target < 1s: met)' ELSE ' (target < 1s: missed)' END
							  ELSE '' END), E'\n' ORDER BY name) AS lines
FROM report_times \gset
\echo :lines
