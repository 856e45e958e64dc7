-- Capture and identity: form submissions, anonymous visitors, identify().
SET search_path = lead_gen, public;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
-- one transaction: now() is one moment throughout
BEGIN;

-- try(sql): the SQLSTATE and message of what the statement raises, or 'ok'
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- the same lead, scored as one lead with all this activity from the start
CREATE FUNCTION pg_temp.exact(id bigint) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN abs(coalesce(engagement_value(l.engagement, now()), 0) - coalesce(engagement_value(engagement_from_history(l.lead_id), now()), 0))
					 <= 1e-9 * abs(coalesce(engagement_value(l.engagement, now()), 0))
				 AND l.first_touch_at IS NOT DISTINCT FROM (SELECT min(a.occurred_at) FROM activity AS a JOIN scoring_rule AS r USING (kind)
															WHERE a.lead_id = l.lead_id AND r.sales_touch)
			THEN 'exact' ELSE 'differs: ' || l.engagement::text || ' vs ' || engagement_from_history(l.lead_id)::text END
	FROM lead AS l WHERE l.lead_id = id
$$;

-- 1. An anonymous visitor browses: nothing is a lead's yet.
SELECT track('cookie-1', 'page_view', now() - interval '3 days') AS lead_of_visit,
	   track('cookie-1', 'pricing_inquiry', now() - interval '2 days', '{"page": "/pricing"}') AS lead_of_visit2,
	   track('cookie-1', 'page_view', now() - interval '2 days' + interval '1 minute') AS lead_of_visit3;
SELECT visitor, lead_id, first_seen_at = now() - interval '3 days' AS first_seen, identified_at FROM visitor;
SELECT kind, properties FROM visitor_activity ORDER BY occurred_at;
SELECT count(*) AS lead_activity FROM activity;

-- 2. The visitor fills a form: a lead with its earlier visits counted.
SELECT capture('{"form": "Get a demo", "email": "Jo.Smith@Corp.example", "first_name": "Jo",
				 "company_name": "Corp", "employees": 120, "consent": "subscribed"}', 'cookie-1') AS jo;
SELECT lead_id, email, first_name, company_name, employees, consent FROM lead;
SELECT kind, occurred_at = now() AS now, properties FROM activity ORDER BY occurred_at, activity_id;
SELECT count(*) AS still_anonymous FROM visitor_activity;
SELECT visitor, lead_id, identified_at = now() AS identified_now FROM visitor;
SELECT pg_temp.exact(1);
SELECT score > 0 AS scored, abs(score - lead_score(l)) < 1e-9 AS current FROM lead AS l;
-- the check sees an engagement off by a millionth of a point
UPDATE lead SET engagement = engagement_add(engagement, 1e-6, now()) WHERE lead_id = 1;
SELECT pg_temp.exact(1) LIKE 'differs%' AS check_sees_it;
UPDATE lead SET engagement = engagement_from_history(1) WHERE lead_id = 1;
-- a known visitor's activity is the lead's at once
SELECT track('cookie-1', 'webinar') AS lead_of_visit;
SELECT count(*) AS activities, pg_temp.exact(1) FROM activity;

-- 3. Capture again: found by e-mail in any case; empty fields filled, only
-- the overwrite fields replaced.
SELECT capture('{"email": "jo.smith@corp.EXAMPLE", "first_name": "Joanna", "last_name": "Smith",
				 "employees": 150, "company_name": "", "consent": "unknown", "phone": null,
				 "attributes": {"team": "emea"}}') AS same_lead;
SELECT lead_id, email, first_name, last_name, employees, company_name, consent, attributes FROM lead;
UPDATE capture_field SET overwrite = true WHERE field = 'first_name';
SELECT capture('{"email": "JO.SMITH@corp.example", "first_name": "Joanna", "attributes": {"team": "apac", "size": "s"}}');
SELECT first_name, attributes FROM lead;
UPDATE capture_field SET overwrite = false WHERE field = 'first_name';

-- 4. A retried POST: the same submission_key changes nothing and returns the same lead.
SELECT capture('{"form": "Newsletter", "email": "kim@other.example"}', submission_key => 'post-77') AS kim,
	   capture('{"form": "Newsletter", "email": "kim@other.example", "first_name": "Kim"}', submission_key => 'post-77') AS kim_again;
SELECT count(*) AS kims, max(first_name) AS first_name FROM lead WHERE email = 'kim@other.example';
SELECT count(*) AS kims_submissions FROM activity AS a JOIN lead AS l USING (lead_id)
WHERE l.email = 'kim@other.example' AND a.kind = 'form_submission';

-- 5. Bad input: errors name the field; nothing is half-written.
SELECT count(*) AS leads_before FROM lead \gset
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example", "favourite_colour": "blue", "shoe_size": 9}')$$) AS unknown_fields;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example", "employees": "many"}')$$) AS wrong_type;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example", "employees": -3}')$$) AS negative;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "not an address"}')$$) AS bad_email;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example", "decision_maker": "maybe"}')$$) AS bad_boolean;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example", "campaign_id": 999}')$$) AS no_campaign;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example", "attributes": [1]}')$$) AS attributes_not_object;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"first_name": "Nobody"}')$$) AS no_contact;
SELECT pg_temp.try($$SELECT lead_gen.capture('[1, 2]')$$) AS not_an_object;
SELECT pg_temp.try($$SELECT lead_gen.capture(NULL)$$) AS null_fields;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example", "form": 7}')$$) AS form_not_text;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example"}', 'has space')$$) AS bad_visitor;
SELECT pg_temp.try($$SELECT lead_gen.capture('{"email": "a@b.example"}', submission_key => '')$$) AS empty_key;
-- the e-mail was fine, the visitor not: no lead was made for it
SELECT count(*) = :leads_before AS nothing_written, count(*) FILTER (WHERE email = 'a@b.example') AS a_at_b FROM lead;

-- 6. A visitor is one lead's at a time.
SELECT track('cookie-2', 'page_view', now() - interval '1 day');
SELECT identify('cookie-2', (SELECT lead_id FROM lead WHERE email = 'kim@other.example')) AS moved;
SELECT identify('cookie-2', (SELECT lead_id FROM lead WHERE email = 'kim@other.example')) AS again_moves_nothing;
SELECT pg_temp.try($$SELECT lead_gen.identify('cookie-2', 1)$$) AS to_another_lead;
SELECT pg_temp.try($$UPDATE lead_gen.visitor SET lead_id = 1 WHERE visitor = 'cookie-2'$$) AS by_hand;
-- when it was identified is not the writer's to say
UPDATE visitor SET identified_at = '2020-01-01' WHERE visitor = 'cookie-2';
INSERT INTO visitor (visitor, lead_id, identified_at) VALUES ('cookie-forged', 1, '2020-01-01');
SELECT visitor, identified_at = now() AS identified_now FROM visitor WHERE visitor IN ('cookie-2', 'cookie-forged') ORDER BY 1;
SELECT pg_temp.try($$SELECT lead_gen.identify('cookie-3', 424242)$$) AS no_such_lead;
SELECT pg_temp.try($$SELECT lead_gen.identify(NULL, 1)$$) AS null_visitor;
SELECT pg_temp.try($$SELECT lead_gen.track('cookie-4', 'page_view', '2100-01-01')$$) AS future_visit;
SELECT pg_temp.try($$SELECT lead_gen.track('cookie-4', 'page_view', 'infinity')$$) AS infinite_visit;
SELECT pg_temp.try($$SELECT lead_gen.track('cookie-4', 'Page View')$$) AS bad_kind;
SELECT pg_temp.try($$SELECT lead_gen.track('', 'page_view')$$) AS empty_visitor;
SELECT pg_temp.try($$SELECT lead_gen.track('cookie-4', NULL)$$) AS null_kind;
-- identifying a visitor never seen only links it
SELECT identify('cookie-5', 1) AS moved;
SELECT lead_id FROM visitor WHERE visitor = 'cookie-5';

-- 7. Identification is exact, caps and stage moves included: a visitor with
-- capped e-mail opens on one day and a demo request, identified as a lead.
INSERT INTO lead (email) VALUES ('capped@x.example');
SELECT track('cookie-6', 'email_open', now() - interval '5 days' + g * interval '1 minute') FROM generate_series(1, 12) AS g;
SELECT track('cookie-6', 'demo_request', now() - interval '4 days');
SELECT identify('cookie-6', (SELECT lead_id FROM lead WHERE email = 'capped@x.example')) AS moved;
SELECT stage, pg_temp.exact(lead_id) FROM lead WHERE email = 'capped@x.example';
-- the same activity inserted as the lead's from the start scores the same
INSERT INTO lead (email) VALUES ('twin@x.example');
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT (SELECT lead_id FROM lead WHERE email = 'twin@x.example'), kind, occurred_at
FROM activity WHERE lead_id = (SELECT lead_id FROM lead WHERE email = 'capped@x.example');
SELECT a.score = b.score AS same_score, a.stage = b.stage AS same_stage,
	   abs(engagement_value(a.engagement) - engagement_value(b.engagement)) <= 1e-9 * engagement_value(b.engagement) AS same_engagement,
	   (SELECT array_agg(to_stage ORDER BY stage_change_id) FROM stage_change WHERE lead_id = a.lead_id)
	   = (SELECT array_agg(to_stage ORDER BY stage_change_id) FROM stage_change WHERE lead_id = b.lead_id) AS same_moves
FROM lead AS a, lead AS b WHERE a.email = 'capped@x.example' AND b.email = 'twin@x.example';

-- 8. Anonymous activity never identified is purged after the retention.
SELECT track('cookie-old', 'page_view', now() - interval '200 days');
SELECT track('cookie-mixed', 'page_view', now() - interval '200 days'), track('cookie-mixed', 'page_view', now() - interval '1 day');
SELECT purge_anonymous() AS purged;
SELECT visitor FROM visitor WHERE lead_id IS NULL ORDER BY 1;
SELECT activities, visitors, older_than = now() - interval '180 days' AS cutoff FROM visitor_purge;
SELECT purge_anonymous() AS purged_again, (SELECT count(*) FROM visitor_purge) AS purge_rows;
SELECT pg_temp.try($$UPDATE lead_gen.identity_settings SET anonymous_retention = interval '1 minute'$$) AS too_short;
SELECT pg_temp.try($$DELETE FROM lead_gen.identity_settings$$) AS delete_settings;

-- 9. Reports: visitors identified per channel, and the time it took.
SELECT channel, visitors, leads, median_time_to_identify FROM identification_report();

-- 10. Fuzzed submissions: 600 random forms (half with a good e-mail) of known
-- and unknown fields with values of every JSON type; each is captured or refused with a data
-- exception or constraint violation (classes 22, 23), and only the captured
-- ones leave a form_submission behind.
SELECT setseed(0.16);
CREATE TEMP TABLE fuzz_form AS
SELECT g AS n,
	   CASE WHEN g % 2 = 0 THEN jsonb_build_object('email', 'fz' || g || '@fuzz.example') ELSE '{}' END
	   || (SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM (
			SELECT (ARRAY['email', 'first_name', 'last_name', 'phone', 'job_title', 'seniority', 'decision_maker',
						  'company_name', 'industry', 'city', 'employees', 'annual_revenue', 'country',
						  'source_channel', 'campaign_id', 'consent', 'attributes', 'form', 'lead_id',
						  'score', 'engagement', 'Email', ''])[1 + floor(random() * 23)::int] AS k,
				   (ARRAY['"fz' || g || '@fuzz.example"', '"x"', '""', 'null', '42', '-1', '1e400', '"NaN"',
						  'true', '"yes"', '[1]', '{"a": 1}', '{}', '"US"', '"subscribed"', '"vp"',
						  to_jsonb(repeat('z', 300))::text, '"+1 (555) 010-99"', '0.5', '"2026-01-01"'])[1 + floor(random() * 20)::int]::jsonb AS v
			FROM generate_series(1, 1 + floor(random() * 3)::int) AS i
			WHERE g > 0) AS x) AS fields
FROM generate_series(1, 600) AS g;
CREATE FUNCTION pg_temp.capture_outcome(f jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM lead_gen.capture(f);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN CASE WHEN left(SQLSTATE, 2) IN ('22', '23') THEN 'refused' ELSE SQLSTATE || ': ' || SQLERRM END;
END $$;
SELECT count(*) AS submissions_before FROM activity AS a WHERE a.kind = 'form_submission' \gset
CREATE TEMP TABLE fuzz_outcome AS SELECT n, pg_temp.capture_outcome(fields) AS outcome FROM fuzz_form;
SELECT count(*) FILTER (WHERE outcome = 'ok') > 50 AS many_captured,
	   count(*) FILTER (WHERE outcome = 'refused') > 50 AS many_refused,
	   count(*) FILTER (WHERE outcome NOT IN ('ok', 'refused')) AS other_errors
FROM fuzz_outcome;
SELECT (SELECT count(*) FROM activity WHERE kind = 'form_submission') - :submissions_before
	   = (SELECT count(*) FROM fuzz_outcome WHERE outcome = 'ok') AS one_submission_per_capture,
	   (SELECT count(*) FROM lead WHERE email IS NULL AND phone IS NULL AND company_name IS NULL AND forgotten_at IS NULL) AS leads_without_contact;

-- 11. Forgetting a lead forgets its visitors and its form fields.
SELECT forget(1);
SELECT count(*) AS visitors_of_1 FROM visitor WHERE lead_id = 1;
SELECT count(*) AS form_fields_left FROM activity WHERE lead_id = 1 AND properties <> '{}';
COMMIT;
