-- The demo tour: what lead_gen knows about the sample data.
\set QUIET on
\pset footer off
\pset null '-'

\echo
\echo '== Leads: the newest ten, with stage and temperature'
SELECT lead_id, first_name || ' ' || last_name AS name, job_title, company_name AS company,
	   industry, country, source_channel AS channel, stage, temperature,
	   created_at::date AS created
FROM lead_gen.lead
ORDER BY created_at DESC, lead_id
LIMIT 10;

\echo '== The newest activity'
SELECT a.occurred_at::timestamp(0) AS at, a.lead_id, l.email, a.kind, a.properties
FROM lead_gen.activity AS a JOIN lead_gen.lead AS l USING (lead_id)
ORDER BY a.occurred_at DESC, a.activity_id
LIMIT 10;

\echo '== Leads per stage'
SELECT stage, count(*) AS leads,
	   round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM lead_gen.lead
GROUP BY stage
ORDER BY stage;

\echo '== Leads, customers and spend per channel'
SELECT c.channel,
	   count(l.lead_id) AS leads,
	   count(l.lead_id) FILTER (WHERE l.stage = 'customer') AS customers,
	   (SELECT sum(spend) FROM lead_gen.campaign AS c2 WHERE c2.channel = c.channel) AS spend
FROM lead_gen.campaign AS c
LEFT JOIN lead_gen.lead AS l USING (campaign_id)
GROUP BY c.channel
ORDER BY leads DESC;

\echo '== One lead''s journey (stage history)'
SELECT changed_at::timestamp(0) AS at, from_stage, to_stage, cause, kind, changed_by, reason
FROM lead_gen.stage_change
WHERE lead_id = (SELECT min(lead_id) FROM lead_gen.lead WHERE stage = 'customer')
ORDER BY changed_at;

\echo '== Fit to the ideal customer profile: grades'
SELECT grade, count(*) AS leads, round(avg(fit)::numeric, 1) AS avg_fit,
	   count(*) FILTER (WHERE stage = 'customer') AS customers
FROM lead_gen.lead
GROUP BY grade
ORDER BY grade;

\echo '== The best-fitting leads'
SELECT lead_id, first_name || ' ' || last_name AS name, job_title, company_name AS company,
	   industry, employees, country, round(fit::numeric, 1) AS fit, grade
FROM lead_gen.lead
ORDER BY fit DESC, lead_id
LIMIT 5;

\echo '== Why the best-fitting lead fits (lead_gen.explain_fit)'
SELECT criterion, matched, points, max_points
FROM lead_gen.explain_fit((SELECT lead_id FROM lead_gen.lead ORDER BY fit DESC, lead_id LIMIT 1));

\echo '== Temperature: how many leads are cold, warm, hot right now'
SELECT temperature, count(*) AS leads, round(avg(score)::numeric, 1) AS avg_score,
	   count(*) FILTER (WHERE next_change_at IS NOT NULL) AS cooling
FROM lead_gen.lead
GROUP BY temperature
ORDER BY temperature;

\echo '== The hottest leads'
SELECT lead_id, first_name || ' ' || last_name AS name, company_name AS company, stage,
	   round(score::numeric, 1) AS score, temperature, grade,
	   round(lead_gen.engagement_value(engagement)::numeric, 1) AS engagement,
	   next_change_at::timestamp(0) AS cools_at
FROM lead_gen.lead
ORDER BY score DESC, lead_id
LIMIT 5;

\echo '== Why the hottest lead is hot (lead_gen.explain_score: points add up to the score)'
SELECT component, kind, events, raw_points, capped_points, round(decay::numeric, 2) AS decay,
	   round(points::numeric, 2) AS points
FROM lead_gen.explain_score((SELECT lead_id FROM lead_gen.lead ORDER BY score DESC, lead_id LIMIT 1));

\echo '== The score of one customer over its journey, every 10 days (lead_gen.score_at replays history): it rises as the lead engages, then decays'
WITH l AS (
	SELECT l.lead_id, l.created_at FROM lead_gen.lead AS l
	WHERE l.stage = 'customer' AND l.created_at BETWEEN now() - interval '200 days' AND now() - interval '120 days'
	ORDER BY (SELECT count(*) FROM lead_gen.activity AS a WHERE a.lead_id = l.lead_id) DESC, l.lead_id
	LIMIT 1)
SELECT l.lead_id, extract(day FROM d - l.created_at)::int AS day_of_journey,
	   round(lead_gen.score_at(l.lead_id, d)::numeric, 1) AS score,
	   (SELECT count(*) FROM lead_gen.activity AS a
		WHERE a.lead_id = l.lead_id AND a.occurred_at > d - interval '10 days' AND a.occurred_at <= d) AS activities_in_the_10_days
FROM l CROSS JOIN LATERAL generate_series(l.created_at, now(), interval '10 days') AS d
ORDER BY d;

\echo '== SQLs nobody has called: the SLA breach list (lead_gen.sla_breach)'
SELECT b.lead_id, l.first_name || ' ' || l.last_name AS name, l.company_name AS company, b.stage,
	   b.entered_at::timestamp(0) AS entered, justify_hours(date_trunc('hour', b.overdue)) AS overdue
FROM lead_gen.sla_breach AS b JOIN lead_gen.lead AS l USING (lead_id)
ORDER BY b.overdue DESC, b.lead_id
LIMIT 5;

\echo '== Speed to lead: median time from arrival and from MQL to the first sales touch, per channel'
SELECT l.source_channel AS channel, count(s.first_touch_at) AS touched,
	   justify_hours(date_trunc('hour', percentile_cont(0.5) WITHIN GROUP (ORDER BY s.from_arrival))) AS from_arrival,
	   justify_hours(date_trunc('hour', percentile_cont(0.5) WITHIN GROUP (ORDER BY s.from_mql)
		   FILTER (WHERE s.from_mql >= interval '0'))) AS from_mql
FROM lead_gen.speed_to_lead AS s JOIN lead_gen.lead AS l USING (lead_id)
GROUP BY l.source_channel
ORDER BY touched DESC;

\echo '== The stage machine at work on a prospect: a webinar, a newsletter signup, BANT, a sales call'
SELECT lead_id AS demo_lead FROM lead_gen.lead
WHERE stage = 'prospect' AND grade IN ('A', 'B') ORDER BY fit DESC, lead_id LIMIT 1 \gset
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (:demo_lead, 'webinar');
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (:demo_lead, 'newsletter_signup');
SELECT * FROM lead_gen.bant_status(:demo_lead);
SELECT lead_gen.qualify(:demo_lead, budget => 40000, need => 'faster lead routing', authority => true,
						timeline => (now() + interval '2 months')::date) AS stage_after_qualify;
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (:demo_lead, 'call');
SELECT (lead_gen.transition(:demo_lead, 'opportunity', 'discovery call done')).to_stage;

\echo '== Its journey (stage history, with causes)'
SELECT changed_at::timestamp(0) AS at, from_stage, to_stage, cause, kind, changed_by, reason
FROM lead_gen.stage_change
WHERE lead_id = :demo_lead
ORDER BY stage_change_id;

\echo '== The stage funnel of every lead (lead_gen.stage_funnel_chart)'
SELECT * FROM lead_gen.stage_funnel_chart(width => 40);

\echo '== Conversion by channel (lead_gen.stage_funnel, grouped)'
SELECT segment AS channel, stage, reached, pct_of_leads, pct_of_previous
FROM lead_gen.stage_funnel(group_by => 'channel')
WHERE stage IN ('lead', 'mql', 'customer')
ORDER BY segment, stage
LIMIT 9;

\echo '== MQL acceptance and time in stage'
SELECT * FROM lead_gen.mql_acceptance();
SELECT stage, stays, median, p90 FROM lead_gen.time_in_stage();

\echo '== What each lead and customer cost, per channel, over the last 180 days (lead_gen.channel_report)'
SELECT channel, spend, leads, customers, cost_per_lead, cost_per_customer, conversion_rate
FROM lead_gen.channel_report((now() - interval '180 days')::date, now()::date);

\echo '== Who gets the credit for customers, by channel: four attribution models side by side (lead_gen.attribution)'
SELECT f.channel, f.conversions AS first_touch, l.conversions AS last_touch, w.conversions AS w_shaped,
	   d.conversions AS time_decay
FROM lead_gen.attribution('first_touch', by => 'channel') AS f
JOIN lead_gen.attribution('last_touch', by => 'channel') AS l USING (channel)
JOIN lead_gen.attribution('w_shaped', by => 'channel') AS w USING (channel)
JOIN lead_gen.attribution('time_decay', by => 'channel') AS d USING (channel)
ORDER BY w.conversions DESC, f.channel;

\echo '== An ordered funnel over activity within 30 days (lead_gen.window_funnel, steps as conditions and named)'
SELECT steps AS steps_completed, count(*) AS leads, count(*) FILTER (WHERE named = steps) AS named_agree
FROM (SELECT lead_id,
			 lead_gen.window_funnel('30 days', occurred_at, kind = 'page_view', kind = 'content_download',
									kind = 'webinar', kind = 'demo_request') AS steps,
			 lead_gen.window_funnel('30 days', occurred_at, kind, 'page_view', 'content_download',
									'webinar', 'demo_request') AS named
	  FROM lead_gen.activity GROUP BY lead_id) AS f
GROUP BY steps ORDER BY steps;

\echo '== An anonymous visitor browses (lead_gen.track): the visits wait, belonging to no lead yet'
SELECT lead_gen.track('demo-cookie-7f3a', 'page_view', now() - interval '3 days', '{"page": "/blog/scoring"}') AS lead,
	   lead_gen.track('demo-cookie-7f3a', 'content_download', now() - interval '2 days', '{"page": "/ebook"}') AS lead_2,
	   lead_gen.track('demo-cookie-7f3a', 'pricing_inquiry', now() - interval '1 day', '{"page": "/pricing"}') AS lead_3;
SELECT kind, occurred_at::timestamp(0) AS at, properties FROM lead_gen.visitor_activity
WHERE visitor = 'demo-cookie-7f3a' ORDER BY occurred_at;

\echo '== ... then fills the demo form (lead_gen.capture): a scored lead, its earlier visits counted'
SELECT lead_gen.capture('{"form": "Book a demo", "email": "Sam.Rivera@Northwind.example", "first_name": "Sam",
						  "last_name": "Rivera", "company_name": "Northwind", "industry": "saas", "employees": 400,
						  "country": "US", "job_title": "VP Revenue", "consent": "subscribed"}',
						visitor => 'demo-cookie-7f3a', submission_key => 'demo-post-1') AS sam \gset
SELECT kind, occurred_at::timestamp(0) AS at, properties->>'page' AS page, properties->>'form' AS form
FROM lead_gen.activity WHERE lead_id = :sam ORDER BY occurred_at;
SELECT email, stage, grade, round(score::numeric, 1) AS score, temperature FROM lead_gen.lead WHERE lead_id = :sam;
SELECT component, kind, events, round(points::numeric, 2) AS points FROM lead_gen.explain_score(:sam);

\echo '== The browser retries the POST: the same submission key changes nothing'
SELECT lead_gen.capture('{"form": "Book a demo", "email": "sam.rivera@northwind.example"}',
						submission_key => 'demo-post-1') = :sam AS same_lead,
	   (SELECT count(*) FROM lead_gen.activity WHERE lead_id = :sam AND kind = 'form_submission') AS form_submissions;

\echo '== Sam signs up for an event with a +tagged address: a second record of one person'
SELECT lead_gen.capture('{"form": "Event signup", "email": "sam.rivera+events@northwind.example", "first_name": "Sam",
						  "last_name": "Rivera", "phone": "+1 415 555 0199", "company_name": "Northwind Inc"}',
						submission_key => 'demo-post-2') AS sam_again \gset
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (:sam_again, 'webinar');
SELECT lead_id, email, phone, round(score::numeric, 1) AS score,
	   (SELECT count(*) FROM lead_gen.activity AS a WHERE a.lead_id = l.lead_id) AS activities
FROM lead_gen.lead AS l WHERE lead_id IN (:sam, :sam_again) ORDER BY lead_id;

\echo '== lead_gen.duplicate_candidates finds the pair, lead_gen.merge_leads merges it: nothing lost'
SELECT lead_a, lead_b, round(score::numeric, 2) AS score, reasons
FROM lead_gen.duplicate_candidates() WHERE :sam IN (lead_a, lead_b);
SELECT lead_gen.merge_leads(:sam, :sam_again, 'same person: event signup') AS merged_into;
SELECT email, phone, stage, round(score::numeric, 1) AS score,
	   (SELECT count(*) FROM lead_gen.activity WHERE lead_id = :sam) AS activities,
	   lead_gen.resolve_lead(:sam_again) = :sam AS old_id_resolves
FROM lead_gen.lead WHERE lead_id = :sam;
SELECT from_stage, to_stage, cause, reason FROM lead_gen.stage_change WHERE lead_id = :sam AND cause = 'merge';
SELECT * FROM lead_gen.merge_report();

\echo '== Segments: live lists of leads, defined by a condition (lead_gen.create_segment)'
SELECT lead_gen.create_segment('engaged_saas', 'industry = saas and count(any within 30 days) >= 3') AS engaged_saas,
	   lead_gen.create_segment('gone_quiet', 'stage in (mql, sql) and (days_since_last(any) > 14 or never any)') AS gone_quiet,
	   lead_gen.create_segment('clicked_this_week', 'count(email_click within 7 days) >= 1') AS clicked_this_week,
	   lead_gen.create_segment('active_right_now', 'count(any within 3 seconds) >= 1') AS active_right_now;
SELECT pg_sleep(3.5);
CALL lead_gen.rescore();
SELECT segment, members FROM lead_gen.segment_report(current_date, current_date) ORDER BY segment;

\echo '== Sam clicks an e-mail: Sam joins two segments in the same transaction'
SELECT lead_gen.in_segment(:sam, 'clicked_this_week') AS clicked_before, lead_gen.in_segment(:sam, 'active_right_now') AS active_before;
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (:sam, 'email_click');
SELECT lead_gen.in_segment(:sam, 'clicked_this_week') AS clicked_now, lead_gen.in_segment(:sam, 'active_right_now') AS active_now;

\echo '== Three seconds pass; the scheduled job (lead_gen.rescore) moves only the leads whose membership changes by now'
SELECT pg_sleep(3.5);
CALL lead_gen.rescore();
SELECT lead_gen.in_segment(:sam, 'clicked_this_week') AS clicked, lead_gen.in_segment(:sam, 'active_right_now') AS active;
SELECT s.name AS segment, h.event, h.cause FROM lead_gen.segment_history AS h
JOIN lead_gen.segment AS s USING (segment_id) WHERE h.lead_id = :sam ORDER BY h.segment_history_id;
\echo '== How the engaged SaaS leads convert against everyone else (lead_gen.segment_conversion)'
SELECT leads_in, leads, reached_sql, round(sql_rate::numeric, 3) AS sql_rate
FROM lead_gen.segment_conversion('engaged_saas');

\echo '== A welcome series for newsletter signups (lead_gen.create_program): joining the segment enrols, in the same transaction'
SELECT lead_gen.define_content('welcome', description => 'Welcome, and what to read first'),
	   lead_gen.define_content('tips', description => 'Three things teams do first'),
	   lead_gen.define_content('nudge', description => 'Did you see our welcome?');
SELECT lead_gen.create_segment('newsletter_signups', 'count(newsletter_signup within 1 days) >= 1 and consent = subscribed') AS newsletter_signups;
SELECT lead_gen.create_program('welcome_series', '[
	{"send": "welcome"},
	{"wait": "2 seconds"},
	{"branch": "count(email_open within 7 days) >= 1", "then": "tips"},
	{"send": "nudge"},
	{"wait": "1 day"},
	{"label": "tips", "send": "tips"}
]', entry => 'newsletter_signups', goal => 'stage in (sql, opportunity, customer)', holdout => 0.2) AS welcome_series;
INSERT INTO lead_gen.lead (email, first_name, company_name, consent)
SELECT 'reader' || g || '@news.example', 'Reader' || g, 'News Co ' || g, 'subscribed' FROM generate_series(1, 40) AS g;
INSERT INTO lead_gen.activity (lead_id, kind)
SELECT lead_id, 'newsletter_signup' FROM lead_gen.lead WHERE email LIKE 'reader%@news.example';
SELECT holdout, count(*) AS enrolled FROM lead_gen.enrollment GROUP BY holdout ORDER BY holdout;

\echo '== The scheduled job (lead_gen.advance_programs) runs what is due; a sender claims, sends and acks; some open, some click, one unsubscribes'
CALL lead_gen.advance_programs();
SELECT count(lead_gen.ack_message(m.message_id, 'smtp-' || m.message_id, 'demo-sender')) AS sent
FROM lead_gen.claim_messages('demo-sender', 100) AS m;
INSERT INTO lead_gen.activity (lead_id, kind, properties)
SELECT o.lead_id, k.kind, jsonb_build_object('message_id', o.message_id)
FROM lead_gen.outbox AS o
JOIN LATERAL (VALUES ('email_open'), ('email_click')) AS k(kind) ON k.kind = 'email_open' OR o.lead_id % 3 = 0
WHERE o.content_key = 'welcome' AND o.lead_id % 2 = 0;
INSERT INTO lead_gen.activity (lead_id, kind, properties)
SELECT o.lead_id, 'unsubscribe', jsonb_build_object('message_id', o.message_id)
FROM lead_gen.outbox AS o WHERE o.content_key = 'welcome' AND o.lead_id % 2 = 1 ORDER BY o.lead_id LIMIT 1;

\echo '== Two seconds pass: openers get the tips, the others a nudge, and the unsubscribed nothing; some readers become SQLs'
SELECT pg_sleep(2.5);
CALL lead_gen.advance_programs();
SELECT count(lead_gen.ack_message(m.message_id, 'smtp-' || m.message_id, 'demo-sender')) AS sent
FROM lead_gen.claim_messages('demo-sender', 100) AS m;
SELECT count(*) AS became_sql FROM (
	SELECT lead_gen.transition(l.lead_id, 'sql', 'asked for a demo', force => true)
	FROM lead_gen.lead AS l WHERE l.email LIKE 'reader%@news.example' AND l.lead_id % 4 = 0) AS t;
SELECT content_key, status, skip_reason, count(*) FROM lead_gen.outbox GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

\echo '== The program report (lead_gen.program_report), and whether it works: members against the held-out (lead_gen.program_lift)'
SELECT step, content_key, messages, sent, skipped, opened, clicked, unsubscribed, reached_goal
FROM lead_gen.program_report('welcome_series');
SELECT members, members_converted, round(member_rate::numeric, 2) AS member_rate,
	   holdouts, holdouts_converted, round(holdout_rate::numeric, 2) AS holdout_rate,
	   round(lift::numeric, 2) AS lift, round(lift_low::numeric, 2) AS lift_low, round(lift_high::numeric, 2) AS lift_high
FROM lead_gen.program_lift('welcome_series');

\echo '== Predictive scoring: a model of who becomes a customer, trained on the outcomes in the stage history (lead_gen.train_model)'
SELECT lead_gen.train_model('customer',
	ARRAY['industry', 'employees', 'country', 'seniority', 'source_channel', 'attributes.tech_stack',
		  'count(webinar in first 30 days)', 'count(demo_request in first 30 days)',
		  'count(pricing_inquiry in first 30 days)']) AS model_id;
SELECT lead_gen.keep_prediction('customer') AS leads_predicted;

\echo '== How good it is, on the leads training kept aside (lead_gen.model_report, model_calibration, model_importance)'
SELECT version, train_leads, train_positives, measured_on, measured_leads, measured_positives,
	   round(auc::numeric, 3) AS auc, round(log_loss::numeric, 3) AS log_loss, round(brier::numeric, 4) AS brier
FROM lead_gen.model_report('customer');
SELECT decile, leads, round(predicted::numeric, 3) AS predicted, round(observed::numeric, 3) AS observed
FROM lead_gen.model_calibration('customer');
SELECT rank, feature, round(importance::numeric, 3) AS importance FROM lead_gen.model_importance('customer');

\echo '== The open lead most likely to buy, and why (lead_gen.explain_prediction: the contributions add up to the log-odds)'
SELECT lead_id, email, stage, round(prediction::numeric, 3) AS prediction
FROM lead_gen.lead WHERE stage NOT IN ('customer', 'disqualified') ORDER BY prediction DESC, lead_id LIMIT 3;
SELECT feature, value, round(contribution::numeric, 3) AS contribution
FROM lead_gen.explain_prediction('customer',
	(SELECT lead_id FROM lead_gen.lead WHERE stage NOT IN ('customer', 'disqualified') ORDER BY prediction DESC, lead_id LIMIT 1));

\echo '== What goes with buying: the three strongest lifts (lead_gen.conversion_lift), and do readers of the pricing page buy more?'
SELECT fact, value, leads, converted, round(rate::numeric, 3) AS rate, round(others_rate::numeric, 3) AS others_rate,
	   round(lift::numeric, 2) AS lift, round(rate_low::numeric, 3) AS rate_low, round(rate_high::numeric, 3) AS rate_high
FROM lead_gen.conversion_lift(ARRAY['industry', 'country', 'source_channel', 'seniority', 'attributes.tech_stack',
									'activity(webinar)', 'activity(content_download, asset = guide)',
									'activity(page_view, url = /pricing)'])
LIMIT 3;
SELECT value AS read_pricing, leads, converted, round(rate::numeric, 3) AS rate, round(lift::numeric, 2) AS lift,
	   round(rate_low::numeric, 3) AS rate_low, round(rate_high::numeric, 3) AS rate_high
FROM lead_gen.conversion_lift(ARRAY['activity(page_view, url = /pricing)']);

\echo '== the demo tour is over'
