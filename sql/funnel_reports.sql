-- The funnel reports, each cross-checked against an independent plain-SQL
-- computation on the demo data (test/data/sample.sql).  Times in the demo
-- data are relative to today, so the checks print differences (0) and
-- totals that do not depend on the day.
SET search_path = lead_gen, public;
SET client_min_messages = warning;
TRUNCATE lead, profile, campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
\set ECHO none
\o /dev/null
\i test/data/sample.sql
\o
\set ECHO all
SET search_path = lead_gen, public;
SET max_parallel_workers_per_gather = 0;
SELECT count(*) AS leads, (SELECT count(*) FROM stage_change) > 2000 AS has_history FROM lead;

-- The peak stage each lead keeps agrees with its history.
SELECT count(*) AS peaks_that_differ
FROM lead AS l
WHERE l.peak_stage IS DISTINCT FROM peak_stage_at(l.lead_id, now());

-- leads_per_period
SELECT sum(leads) AS leads FROM leads_per_period();
SELECT count(*) AS differ FROM (
	(SELECT * FROM leads_per_period(period => 'week', group_by => 'channel')
	 EXCEPT
	 SELECT date_trunc('week', created_at AT TIME ZONE 'UTC')::date, coalesce(source_channel, '(none)'), count(*)
	 FROM lead GROUP BY 1, 2)
	UNION ALL
	(SELECT date_trunc('week', created_at AT TIME ZONE 'UTC')::date, coalesce(source_channel, '(none)'), count(*)
	 FROM lead GROUP BY 1, 2
	 EXCEPT
	 SELECT * FROM leads_per_period(period => 'week', group_by => 'channel'))) AS x;

-- stage_funnel: reached = peak at or past the stage, computed here from the
-- history alone (first stage, then every forward move).
CREATE TEMP VIEW plain_peak AS
SELECT l.lead_id, l.created_at, l.source_channel, l.campaign_id,
	   greatest(coalesce((SELECT c.from_stage FROM stage_change AS c WHERE c.lead_id = l.lead_id
						  ORDER BY c.changed_at, c.stage_change_id LIMIT 1), l.stage),
				(SELECT max(c.to_stage) FROM stage_change AS c
				 WHERE c.lead_id = l.lead_id AND c.to_stage <> 'disqualified')) AS peak
FROM lead AS l;
SELECT stage, reached, pct_of_leads, pct_of_previous FROM stage_funnel();
SELECT count(*) AS differ
FROM stage_funnel(group_by => 'channel') AS f
JOIN (SELECT coalesce(p.source_channel, '(none)') AS seg, s.stage, count(*) FILTER (WHERE p.peak >= s.stage) AS n
	  FROM plain_peak AS p
	  CROSS JOIN unnest(enum_range('prospect'::lifecycle_stage, 'customer')) AS s(stage)
	  GROUP BY 1, 2) AS q ON q.seg = f.segment AND q.stage = f.stage
WHERE q.n <> f.reached;
SELECT count(*) = (SELECT count(DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')) FROM lead) AS one_segment_a_month
FROM (SELECT DISTINCT segment FROM stage_funnel(group_by => 'cohort')) AS x;
-- leads created in a period only
SELECT count(*) AS differ
FROM stage_funnel((now() AT TIME ZONE 'UTC')::date - 120, (now() AT TIME ZONE 'UTC')::date - 30) AS f
JOIN (SELECT s.stage, count(*) FILTER (WHERE p.peak >= s.stage) AS n
	  FROM plain_peak AS p
	  CROSS JOIN unnest(enum_range('prospect'::lifecycle_stage, 'customer')) AS s(stage)
	  WHERE p.created_at >= ((now() AT TIME ZONE 'UTC')::date - 120)::timestamp AT TIME ZONE 'UTC'
		AND p.created_at < ((now() AT TIME ZONE 'UTC')::date - 29)::timestamp AT TIME ZONE 'UTC'
	  GROUP BY 1) AS q ON q.stage = f.stage
WHERE q.n <> f.reached;
-- as it stood 100 days ago: leads created by then, peaks from history up to then
SELECT count(*) AS differ
FROM stage_funnel(as_of => now() - interval '100 days') AS f
JOIN (SELECT s.stage,
			 count(*) FILTER (WHERE greatest(
				 coalesce((SELECT c.from_stage FROM stage_change AS c WHERE c.lead_id = l.lead_id
						   ORDER BY c.changed_at, c.stage_change_id LIMIT 1), l.stage),
				 (SELECT max(c.to_stage) FROM stage_change AS c
				  WHERE c.lead_id = l.lead_id AND c.to_stage <> 'disqualified'
					AND c.changed_at <= now() - interval '100 days')) >= s.stage) AS n
	  FROM lead AS l
	  CROSS JOIN unnest(enum_range('prospect'::lifecycle_stage, 'customer')) AS s(stage)
	  WHERE l.created_at <= now() - interval '100 days'
	  GROUP BY 1) AS q ON q.stage = f.stage
WHERE q.n <> f.reached;
SELECT (SELECT reached FROM stage_funnel(as_of => now() - interval '100 days') WHERE stage = 'customer')
	 < (SELECT reached FROM stage_funnel() WHERE stage = 'customer') AS fewer_customers_back_then;

-- mql_acceptance: of the MQLs, where they went from mql first
SELECT mqls, accepted + rejected + pending = mqls AS adds_up FROM mql_acceptance();
SELECT count(*) AS differ
FROM mql_acceptance(group_by => 'grade') AS m
JOIN (SELECT coalesce(l.grade, '(none)') AS seg, count(*) AS mqls,
			 count(*) FILTER (WHERE x.to_stage IN ('sql', 'opportunity', 'customer')
							  OR x.to_stage IS NULL AND l.peak_stage > 'mql') AS accepted,
			 count(*) FILTER (WHERE x.to_stage IN ('prospect', 'lead', 'disqualified')) AS rejected
	  FROM lead AS l
	  LEFT JOIN LATERAL (SELECT c.to_stage FROM stage_change AS c
						 WHERE c.lead_id = l.lead_id AND c.from_stage = 'mql'
						 ORDER BY c.changed_at, c.stage_change_id LIMIT 1) AS x ON true
	  WHERE l.mql_at IS NOT NULL
	  GROUP BY 1) AS q ON q.seg = m.segment
WHERE (q.mqls, q.accepted, q.rejected) IS DISTINCT FROM (m.mqls, m.accepted, m.rejected);

-- time_in_stage: medians from the stays, computed here with a self-join
-- instead of a window
SELECT count(*) AS differ
FROM time_in_stage() AS t
JOIN (SELECT c.from_stage AS stage, count(*) AS stays,
			 justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (
				 ORDER BY c.changed_at - coalesce(
					 (SELECT max(p.changed_at) FROM stage_change AS p
					  WHERE p.lead_id = c.lead_id AND p.stage_change_id < c.stage_change_id),
					 (SELECT l.created_at FROM lead AS l WHERE l.lead_id = c.lead_id))))) AS median
	  FROM stage_change AS c GROUP BY 1) AS q ON q.stage = t.stage
WHERE (q.stays, q.median) IS DISTINCT FROM (t.stays, t.median);
SELECT sum(stays) = (SELECT count(*) FROM stage_change) AS every_change_is_a_stay FROM time_in_stage();

-- speed_to_lead_report
SELECT count(*) AS differ
FROM speed_to_lead_report(group_by => 'industry') AS s
JOIN (SELECT coalesce(industry, '(none)') AS seg, count(*) AS leads, count(first_touch_at) AS touched,
			 justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY first_touch_at - created_at))) AS m
	  FROM lead GROUP BY 1) AS q ON q.seg = s.segment
WHERE (q.leads, q.touched, q.m) IS DISTINCT FROM (s.leads, s.touched, s.median_from_arrival);

-- Money: the whole spend without a period; a period gets the share of the
-- days each campaign ran in it, counted here day by day.
SELECT sum(spend) = (SELECT sum(spend) FROM campaign) AS all_spend, sum(leads) AS leads,
	   sum(customers) = (SELECT count(*) FROM lead WHERE peak_stage = 'customer') AS all_customers
FROM campaign_report();
SELECT campaign, spend, leads, cost_per_lead, cost_per_customer FROM campaign_report()
WHERE spend = 0 ORDER BY campaign;
SELECT count(*) AS differ
FROM campaign_report((now() AT TIME ZONE 'UTC')::date - 200, (now() AT TIME ZONE 'UTC')::date - 100) AS r
JOIN (SELECT c.campaign_id,
			 (SELECT c.spend / (e.last - e.first + 1) * count(*)
			  FROM generate_series(e.first, e.last, interval '1 day') AS d
			  WHERE d::date BETWEEN (now() AT TIME ZONE 'UTC')::date - 200 AND (now() AT TIME ZONE 'UTC')::date - 100) AS spend,
			 (SELECT count(*) FROM lead AS l WHERE l.campaign_id = c.campaign_id
				AND l.created_at >= ((now() AT TIME ZONE 'UTC')::date - 200)::timestamp AT TIME ZONE 'UTC'
				AND l.created_at < ((now() AT TIME ZONE 'UTC')::date - 99)::timestamp AT TIME ZONE 'UTC') AS leads
	  FROM campaign AS c
	  CROSS JOIN LATERAL (SELECT coalesce(c.starts_on, (c.created_at AT TIME ZONE 'UTC')::date) AS first,
								 coalesce(c.ends_on, (now() AT TIME ZONE 'UTC')::date) AS last) AS e) AS q
  ON q.campaign_id = r.campaign_id
WHERE abs(q.spend - r.spend) > 0.01 OR q.leads <> r.leads
   OR r.cost_per_lead IS DISTINCT FROM CASE WHEN r.spend > 0 AND r.leads > 0 THEN round(r.spend / r.leads, 2) END;
-- channels: their campaigns' numbers added up (every sample lead has a campaign)
SELECT count(*) AS differ
FROM channel_report() AS ch
JOIN (SELECT channel, sum(spend) AS spend, sum(leads) AS leads, sum(mqls) AS mqls, sum(customers) AS customers
	  FROM campaign_report() GROUP BY channel) AS q ON q.channel = ch.channel
WHERE (q.spend, q.leads, q.mqls, q.customers) IS DISTINCT FROM (ch.spend, ch.leads, ch.mqls, ch.customers);

-- Attribution: every model shares out each converting lead exactly once (up
-- to the rounding of each row's conversions to three decimals).
SELECT m AS model,
	   abs(sum(a.conversions) - (SELECT count(*) FROM lead WHERE peak_stage = 'customer')) <= 0.0005 * count(*) AS adds_up
FROM unnest(ARRAY['first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay']) AS m,
	 attribution(m) AS a
GROUP BY m ORDER BY m;
SELECT abs(sum(conversions) - (SELECT count(*) FROM lead WHERE peak_stage >= 'sql')) <= 0.0005 * count(*) AS sqls_add_up
FROM attribution('linear', 'sql', by => 'channel');
-- first and last touch, computed here from the touches directly
CREATE TEMP VIEW plain_touches AS
SELECT l.lead_id, t.campaign_id, t.at, t.ord
FROM lead AS l
CROSS JOIN LATERAL (
	SELECT a.campaign_id, a.occurred_at AS at, a.activity_id AS ord FROM activity AS a
	WHERE a.lead_id = l.lead_id AND a.campaign_id IS NOT NULL
	  AND a.occurred_at <= reached_at(l.lead_id, 'customer')
	UNION ALL
	SELECT l.campaign_id, l.created_at, 0 WHERE l.campaign_id IS NOT NULL) AS t
WHERE l.peak_stage = 'customer';
SELECT count(*) AS differ FROM (
	SELECT campaign_id, count(*)::numeric AS n
	FROM (SELECT DISTINCT ON (lead_id) lead_id, campaign_id FROM plain_touches ORDER BY lead_id, at, ord) AS f
	GROUP BY 1
	EXCEPT SELECT campaign_id, conversions FROM attribution('first_touch') WHERE conversions > 0) AS x;
SELECT count(*) AS differ FROM (
	SELECT campaign_id, count(*)::numeric AS n
	FROM (SELECT DISTINCT ON (lead_id) lead_id, campaign_id FROM plain_touches ORDER BY lead_id, at DESC, ord DESC) AS f
	GROUP BY 1
	EXCEPT SELECT campaign_id, conversions FROM attribution('last_touch') WHERE conversions > 0) AS x;
SELECT count(*) AS differ FROM (
	SELECT campaign_id, round(sum(1.0 / n), 3) AS credit
	FROM (SELECT campaign_id, count(*) OVER (PARTITION BY lead_id) AS n FROM plain_touches) AS t
	GROUP BY 1
	EXCEPT SELECT campaign_id, conversions FROM attribution('linear')) AS x;

-- The sample data is worth a tour: the attribution models disagree, how far
-- a lead gets follows both its fit and its behaviour, and a converting lead's
-- score rises over its journey and decays after it.
SELECT count(*) FILTER (WHERE f.conversions <> l.conversions) AS channels_where_first_and_last_touch_differ,
	   count(*) FILTER (WHERE f.conversions <> w.conversions) AS channels_where_first_touch_and_w_shaped_differ
FROM attribution('first_touch', by => 'channel') AS f
JOIN attribution('last_touch', by => 'channel') AS l USING (channel)
JOIN attribution('w_shaped', by => 'channel') AS w USING (channel);
SELECT round(avg((peak_stage >= 'sql')::int) FILTER (WHERE grade IN ('A', 'B')), 2) >
	   2 * round(avg((peak_stage >= 'sql')::int) FILTER (WHERE grade IN ('D', 'F')), 2) AS good_fits_reach_sql_twice_as_often,
	   (SELECT avg(n) FROM (SELECT count(*) AS n FROM activity AS a JOIN lead AS x USING (lead_id)
							WHERE x.peak_stage >= 'sql' GROUP BY a.lead_id) AS c) >
	   3 * (SELECT avg(n) FROM (SELECT count(*) AS n FROM activity AS a JOIN lead AS x USING (lead_id)
								WHERE x.peak_stage = 'prospect' GROUP BY a.lead_id) AS c) AS sqls_did_three_times_as_much
FROM lead;
SELECT count(*) > 10 AS enough_customers,
	   count(*) FILTER (WHERE peak > first + 20 AND peak > last + 10) >= 0.8 * count(*) AS most_rise_then_decay
FROM (SELECT l.lead_id, score_at(l.lead_id, l.created_at) AS first, score_at(l.lead_id, now()) AS last,
			 (SELECT max(score_at(l.lead_id, d)) FROM generate_series(l.created_at, now(), interval '10 days') AS d) AS peak
	  FROM lead AS l
	  WHERE l.peak_stage = 'customer' AND l.created_at BETWEEN now() - interval '300 days' AND now() - interval '150 days') AS x;

-- The models on one lead with five touches: two before it arrived (B at -3
-- days, C at -2 days), the campaign that brought it (A), one before its
-- opportunity (D) and one after (E); it becomes a customer today.
INSERT INTO campaign (name, channel, spend) VALUES
	('Attr A', 'paid', 100), ('Attr B', 'social', 0), ('Attr C', 'email', 0), ('Attr D', 'event', 0), ('Attr E', 'content', 0);
INSERT INTO lead (email, campaign_id) SELECT 'attributed@corp.example', campaign_id FROM campaign WHERE name = 'Attr A';
SELECT lead_id AS al FROM lead WHERE email = 'attributed@corp.example' \gset
INSERT INTO activity (lead_id, kind, occurred_at, campaign_id)
SELECT :al, 'page_view', now() - interval '3 days', campaign_id FROM campaign WHERE name = 'Attr B';
INSERT INTO activity (lead_id, kind, occurred_at, campaign_id)
SELECT :al, 'page_view', now() - interval '2 days', campaign_id FROM campaign WHERE name = 'Attr C';
INSERT INTO activity (lead_id, kind, campaign_id)
SELECT :al, 'email_click', campaign_id FROM campaign WHERE name = 'Attr D';
SELECT (transition(:al, 'opportunity', 'discovery call')).to_stage;
INSERT INTO activity (lead_id, kind, campaign_id)
SELECT :al, 'webinar', campaign_id FROM campaign WHERE name = 'Attr E';
SELECT (transition(:al, 'customer', 'signed')).to_stage;
SELECT (now() AT TIME ZONE 'UTC')::date AS today \gset
SELECT a.campaign,
	   (SELECT conversions FROM attribution('first_touch', from_date => :'today', to_date => :'today') AS x WHERE x.campaign = a.campaign) AS first,
	   (SELECT conversions FROM attribution('last_touch', from_date => :'today', to_date => :'today') AS x WHERE x.campaign = a.campaign) AS last,
	   (SELECT conversions FROM attribution('linear', from_date => :'today', to_date => :'today') AS x WHERE x.campaign = a.campaign) AS linear,
	   (SELECT conversions FROM attribution('u_shaped', from_date => :'today', to_date => :'today') AS x WHERE x.campaign = a.campaign) AS u,
	   (SELECT conversions FROM attribution('w_shaped', from_date => :'today', to_date => :'today') AS x WHERE x.campaign = a.campaign) AS w,
	   (SELECT conversions FROM attribution('time_decay', from_date => :'today', to_date => :'today', half_life => '1 day') AS x WHERE x.campaign = a.campaign) AS decay
FROM attribution('linear', from_date => :'today', to_date => :'today') AS a
ORDER BY a.campaign;

-- funnel_chart
SELECT * FROM funnel_chart(ARRAY['visit', 'signup', 'demo', 'won'], ARRAY[1000, 400, 90, 3], 20);
SELECT * FROM funnel_chart(ARRAY['nobody'], ARRAY[0]);
SELECT * FROM stage_funnel_chart(width => 30) LIMIT 1;

-- Bad input.
SELECT * FROM stage_funnel('2026-02-01', '2026-01-01');
SELECT * FROM leads_per_period(group_by => 'color');
SELECT * FROM leads_per_period(period => 'fortnight');
SELECT * FROM attribution('position_based');
SELECT * FROM attribution('linear', by => 'team');
SELECT * FROM attribution('linear', 'disqualified');
SELECT * FROM attribution('time_decay', half_life => '0');
SELECT * FROM funnel_chart(ARRAY['a', 'b'], ARRAY[1]);
SELECT * FROM funnel_chart(ARRAY['a'], ARRAY[-1]);
SELECT * FROM funnel_chart(ARRAY['a'], ARRAY[1], 0);
SELECT * FROM campaign_report('2026-02-01', '2026-01-01');

SET client_min_messages = warning;
TRUNCATE lead, profile, campaign RESTART IDENTITY CASCADE;
RESET client_min_messages;
