-- Merging duplicates: merge_leads(), lead_merge, resolve_lead(), the redirect.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
-- one transaction, rolled back at the end: now() is one moment throughout
BEGIN;
SET LOCAL lead_gen.notify = off;

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- the lead scored as one lead with all its activity from the start
CREATE FUNCTION pg_temp.exact(id bigint) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN abs(coalesce(engagement_value(l.engagement, now()), 0) - coalesce(engagement_value(engagement_from_history(l.lead_id), now()), 0))
					 <= 1e-9 * abs(coalesce(engagement_value(l.engagement, now()), 0))
				 AND l.first_touch_at IS NOT DISTINCT FROM (SELECT min(a.occurred_at) FROM activity AS a JOIN scoring_rule AS r USING (kind)
															WHERE a.lead_id = l.lead_id AND r.sales_touch)
				 AND abs(l.score - lead_score(l)) <= 1e-9 * abs(l.score)
			THEN 'exact' ELSE 'differs: ' || l.engagement::text || ' vs ' || engagement_from_history(l.lead_id)::text END
	FROM lead AS l WHERE l.lead_id = id
$$;

-- 1. Two records of one person, each with its own activity and history.
INSERT INTO lead (lead_id, email, first_name, company_name, stage, consent, attributes, created_at)
OVERRIDING SYSTEM VALUE VALUES
	(8101, 'Jo.Smith@merge.example', 'Jo', 'Corp', 'lead', 'subscribed', '{"team": "emea", "tier": "gold"}', now() - interval '20 days'),
	(8102, 'jo.smith+news@merge.example', NULL, 'Corp Ltd', 'prospect', 'unsubscribed', '{"tier": "silver", "source": "import"}', now() - interval '30 days');
UPDATE lead SET last_name = 'Smith', phone = '+44 20 7946 0000', job_title = 'CTO' WHERE lead_id = 8102;
UPDATE lead SET stage = 'lead' WHERE lead_id = 8102;
SET LOCAL lead_gen.stage_reason = 'sales reviewed';
UPDATE lead SET stage = 'mql' WHERE lead_id = 8102;
RESET lead_gen.stage_reason;
-- page views past the daily cap of 20, on both leads on the same day: the
-- merged lead counts only 20 of them that day
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT CASE WHEN i % 2 = 0 THEN 8101 ELSE 8102 END, 'page_view', date_trunc('day', now()) - interval '2 days' + i * interval '1 minute'
FROM generate_series(1, 30) AS i;
INSERT INTO activity (lead_id, kind, occurred_at, properties) VALUES
	(8101, 'webinar', now() - interval '10 days', '{"title": "Scale"}'),
	(8102, 'call', now() - interval '5 days', '{"notes": "asked about pricing"}'),
	(8102, 'content_download', now() - interval '15 days', '{}'),
	(8101, 'meeting', now() - interval '1 day', '{}');
INSERT INTO visitor (visitor, lead_id) VALUES ('cookie-m102', 8102), ('cookie-m101', 8101);
INSERT INTO capture_submission (submission_key, lead_id, captured_at) VALUES ('post-m102', 8102, now());
SELECT lead_id, stage, engagement IS NOT NULL AS engaged, first_touch_at = now() - interval '5 days' AS touched_5d_ago,
	   pg_temp.exact(lead_id) FROM lead WHERE lead_id IN (8101, 8102) ORDER BY lead_id;
SELECT lead_id, from_stage, to_stage, cause FROM stage_change WHERE lead_id IN (8101, 8102) ORDER BY stage_change_id;

-- A third lead gets copies of all that activity: what one lead with the
-- activity of both from the start would score.
INSERT INTO lead (lead_id, email, company_name) OVERRIDING SYSTEM VALUE VALUES (8199, 'twin@merge.example', 'Corp');
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT 8199, kind, occurred_at FROM activity WHERE lead_id IN (8101, 8102) ORDER BY occurred_at, activity_id;

-- A table of the user's own with a foreign key to lead registers with the
-- merge; a unique key that would hold twice keeps the winner's row.
CREATE TABLE public.deal (deal_id int PRIMARY KEY, lead_id bigint REFERENCES lead ON DELETE CASCADE, title text);
CREATE TABLE public.lead_owner (lead_id bigint PRIMARY KEY REFERENCES lead ON DELETE CASCADE, owner text);
CREATE TABLE public.lead_slot (lead_id bigint REFERENCES lead ON DELETE CASCADE, "slot, no" int, UNIQUE (lead_id, "slot, no"));
INSERT INTO deal VALUES (1, 8102, 'pilot'), (2, 8101, 'expansion');
INSERT INTO lead_owner VALUES (8101, 'ana'), (8102, 'ben');
INSERT INTO lead_slot VALUES (8101, 1), (8102, 1), (8102, 2);
SELECT table_name, lead_column, same_key
FROM lead_owned_tables() ORDER BY 1;

-- 2. The merge.
SELECT merge_leads(8101, 8102, 'same person: plus-addressed e-mail') AS merged_into;
SELECT count(*) AS loser_rows FROM lead WHERE lead_id = 8102;
SELECT lead_id, email, first_name, last_name, phone, job_title, company_name, consent, stage, attributes,
	   created_at = now() - interval '30 days' AS earliest_created, mql_at = now() AS mql_now, peak_stage
FROM lead WHERE lead_id = 8101;
-- every activity moved, scored as one lead's: the daily cap over the union
SELECT count(*) AS activities, count(*) FILTER (WHERE properties <> '{}') AS with_properties FROM activity WHERE lead_id = 8101;
SELECT pg_temp.exact(8101), first_touch_at = now() - interval '5 days' AS first_touch_from_loser FROM lead WHERE lead_id = 8101;
-- the check sees an engagement off by a millionth of a point, and a first touch off by a second
UPDATE lead SET engagement = engagement_add(engagement, 1e-6, now()) WHERE lead_id = 8101;
SELECT pg_temp.exact(8101) LIKE 'differs%' AS check_sees_engagement;
UPDATE lead SET engagement = engagement_from_history(8101), first_touch_at = first_touch_at + interval '1 second' WHERE lead_id = 8101;
SELECT pg_temp.exact(8101) LIKE 'differs%' AS check_sees_first_touch;
UPDATE lead SET first_touch_at = first_touch_at - interval '1 second' WHERE lead_id = 8101;
SELECT abs(engagement_value(w.engagement, now()) - engagement_value(t.engagement, now())) <= 1e-9 * engagement_value(t.engagement, now())
		   AS same_as_one_lead_with_both,
	   abs(engagement_value(w.engagement, now()) - engagement_value(t.engagement, now())) <= 1e-9 * engagement_value(t.engagement, now())
		   AND engagement_value(w.engagement, now()) > 0 AS nonzero
FROM lead AS w, lead AS t WHERE w.lead_id = 8101 AND t.lead_id = 8199;
-- the history of both, and one merge row
SELECT lead_id, from_stage, to_stage, cause, kind, reason FROM stage_change WHERE lead_id IN (8101, 8102) ORDER BY stage_change_id;
SELECT visitor, lead_id FROM visitor WHERE visitor IN ('cookie-m101', 'cookie-m102') ORDER BY visitor;
SELECT submission_key, lead_id FROM capture_submission WHERE submission_key = 'post-m102';
SELECT * FROM deal ORDER BY deal_id;
SELECT * FROM lead_owner ORDER BY lead_id;
SELECT * FROM lead_slot ORDER BY 1, 2;
SELECT loser, winner, merged_into, merged_at = now() AS now, merged_by = current_user AS by_me, reason,
	   loser_data->>'email' AS loser_email, loser_data->>'stage' AS loser_stage
FROM lead_merge;
-- the retried capture of the loser's form comes back with the winner, and
-- so does a new form with the loser's address, in any case
SELECT capture('{"email": "jo.smith+news@merge.example"}', submission_key => 'post-m102') AS retried_capture;
SELECT capture('{"email": "JO.SMITH+NEWS@merge.example", "city": "Leeds"}') AS loser_address_captured;
SELECT email, city FROM lead WHERE lead_id = 8101;

-- 3. The loser's id stays resolvable; its activity is redirected.
SELECT resolve_lead(8102) AS of_102, resolve_lead(8101) AS of_101, resolve_lead(8999) AS of_unknown, resolve_lead(NULL) AS of_null;
INSERT INTO activity (lead_id, kind, occurred_at) VALUES (8102, 'demo_request', now()) RETURNING lead_id;
SELECT stage, pg_temp.exact(8101) FROM lead WHERE lead_id = 8101;
-- and a visitor identified with it is linked to the winner
SELECT identify('cookie-m-late', 8102) AS moved;
SELECT lead_id AS linked_to FROM visitor WHERE visitor = 'cookie-m-late';
-- a retried merge changes nothing
SELECT merge_leads(8101, 8102) AS retried;
SELECT count(*) AS merges FROM lead_merge;

-- 4. Chains: 8101 merged into 8103 takes 8102 with it.
INSERT INTO lead (lead_id, email, stage) OVERRIDING SYSTEM VALUE VALUES (8103, 'j.smith@merge.example', 'disqualified');
SELECT merge_leads(8103, 8101) AS merged_into;
SELECT loser, winner, merged_into FROM lead_merge ORDER BY loser;
SELECT resolve_lead(8102) AS of_102, resolve_lead(8101) AS of_101;
-- a live stage wins over disqualified
SELECT stage, email, pg_temp.exact(8103) FROM lead WHERE lead_id = 8103;
SELECT from_stage, to_stage, cause, kind FROM stage_change WHERE lead_id = 8103 AND cause = 'merge' ORDER BY stage_change_id;
INSERT INTO activity (lead_id, kind) VALUES (8102, 'page_view'), (8101, 'page_view') RETURNING lead_id;
-- a disqualified loser does not disqualify the winner
INSERT INTO lead (lead_id, email, stage) OVERRIDING SYSTEM VALUE VALUES (8104, 'jo@merge.example', 'disqualified');
SELECT merge_leads(8103, 8104) AS merged_into;
SELECT stage FROM lead WHERE lead_id = 8103;

-- The moved activity may move the winner on by itself: the merge keeps
-- that (the winner's stage as the move left it).
INSERT INTO lead (lead_id, email) OVERRIDING SYSTEM VALUE VALUES (8120, 'over1@merge.example'), (8121, 'over2@merge.example');
INSERT INTO activity (lead_id, kind) VALUES (8120, 'email_click'), (8120, 'social_follow'), (8121, 'email_click'), (8121, 'email_click');
SELECT lead_id, stage, round(score::numeric, 1) AS score FROM lead WHERE lead_id IN (8120, 8121) ORDER BY lead_id;
SELECT merge_leads(8120, 8121);
SELECT stage, round(score::numeric, 1) AS score FROM lead WHERE lead_id = 8120;
SELECT from_stage, to_stage, cause FROM stage_change WHERE lead_id = 8120 ORDER BY stage_change_id;

-- Property: 60 pairs of leads with random activity (kinds with and without
-- daily caps, sales touches, over 40 days), each pair's activity also given
-- to a twin; after merging every pair, each winner equals its recomputation
-- and its twin.
SELECT setseed(0.25);
INSERT INTO lead (lead_id, email) OVERRIDING SYSTEM VALUE
SELECT 8200 + g, 'p' || g || '@merge.example' FROM generate_series(0, 179) AS g;
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT 8200 + (random() * 119)::int,
	   (ARRAY['page_view', 'email_open', 'email_click', 'webinar', 'call', 'careers_page_view', 'meeting'])[1 + (random() * 6)::int],
	   now() - random() * interval '40 days'
FROM generate_series(1, 3000);
-- twin 8320 + p of pair p (leads 8200 + 2p and 8201 + 2p)
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT 8320 + (a.lead_id - 8200) / 2, a.kind, a.occurred_at FROM activity AS a
WHERE a.lead_id BETWEEN 8200 AND 8319 ORDER BY a.occurred_at, a.activity_id;
SELECT count(*) FILTER (WHERE merge_leads(8200 + 2 * p, 8201 + 2 * p) = 8200 + 2 * p) AS merged
FROM generate_series(0, 59) AS p;
CREATE TEMP VIEW property_mismatch AS
SELECT p, pg_temp.exact(8200 + 2 * p) AS exact,
	   abs(coalesce(engagement_value(w.engagement, now()), 0) - coalesce(engagement_value(t.engagement, now()), 0))
		   <= 1e-9 * abs(coalesce(engagement_value(t.engagement, now()), 0))
	   AND w.first_touch_at IS NOT DISTINCT FROM t.first_touch_at AS twin
FROM generate_series(0, 59) AS p
JOIN lead AS w ON w.lead_id = 8200 + 2 * p
JOIN lead AS t ON t.lead_id = 8320 + p;
SELECT count(*) AS pairs, count(*) FILTER (WHERE exact <> 'exact' OR NOT twin) AS mismatches,
	   (SELECT count(*) FROM lead WHERE lead_id BETWEEN 8200 AND 8319) AS leads_left,
	   (SELECT count(*) FROM activity WHERE lead_id BETWEEN 8200 AND 8319)
	   = (SELECT count(*) FROM activity WHERE lead_id BETWEEN 8320 AND 8379) AS all_activity_kept
FROM property_mismatch;
-- the check sees one twin off by one activity
INSERT INTO activity (lead_id, kind, occurred_at) VALUES (8350, 'email_open', now() - interval '1 day');
SELECT count(*) FILTER (WHERE exact <> 'exact' OR NOT twin) AS mismatches_seen FROM property_mismatch;

-- 5. What is refused.
SELECT pg_temp.try('SELECT merge_leads(8103, 8103)');
SELECT pg_temp.try('SELECT merge_leads(8101, 8103)');
SELECT pg_temp.try('SELECT merge_leads(8199, 8101)');
SELECT pg_temp.try('SELECT merge_leads(NULL, 8103)');
SELECT pg_temp.try('SELECT merge_leads(8103, 8998)');
SELECT pg_temp.try('SELECT merge_leads(8997, 8103)');
SELECT pg_temp.try('SELECT merge_leads(8199, 8103, repeat(''x'', 2001))');
INSERT INTO lead (lead_id, email) OVERRIDING SYSTEM VALUE VALUES (8105, 'gone@merge.example');
SELECT forget(8105);
SELECT pg_temp.try('SELECT merge_leads(8199, 8105)');
-- a merged id cannot come back as a lead
SELECT pg_temp.try('INSERT INTO lead (lead_id, email) OVERRIDING SYSTEM VALUE VALUES (8102, ''back@merge.example''); SET CONSTRAINTS lead_merge_check IMMEDIATE');
SELECT pg_temp.try('INSERT INTO lead_merge (loser, winner, merged_into, loser_data) VALUES (8199, 8103, 8103, ''{}''); SET CONSTRAINTS lead_merge_check IMMEDIATE');
-- only a merge (or a role that may import history, as here) says a stage
-- change is a merge
SET LOCAL lead_gen.stage_cause = 'merge';
UPDATE lead SET stage = 'lead' WHERE lead_id = 8199;
RESET lead_gen.stage_cause;
SELECT from_stage, to_stage, cause FROM stage_change WHERE lead_id = 8199;

-- Writers may not merge, move history, or call a change a merge.
CREATE ROLE lg_merge_writer;
CREATE ROLE lg_merge_admin;
SELECT grant_access('lg_merge_writer', 'writer'), grant_access('lg_merge_admin', 'admin');
INSERT INTO lead (lead_id, email, company_name) OVERRIDING SYSTEM VALUE VALUES (8106, 'w1@merge.example', 'Corp'), (8107, 'w2@merge.example', 'Corp');
GRANT SELECT, UPDATE, DELETE ON deal, lead_owner TO lg_merge_admin;
SET ROLE lg_merge_writer;
SELECT pg_temp.try('SELECT lead_gen.merge_leads(8106, 8107)');
SELECT pg_temp.try('UPDATE lead_gen.stage_change SET lead_id = 8199 WHERE lead_id = 8103');
SELECT pg_temp.try($$SET LOCAL lead_gen.stage_cause = 'merge'; UPDATE lead_gen.lead SET stage = 'lead' WHERE lead_id = 8106$$);
SELECT pg_temp.try('INSERT INTO lead_gen.lead_merge (loser, winner, merged_into, loser_data) VALUES (9000, 8106, 8106, ''{}'')');
-- a writer's activity for a merged id is redirected all the same
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (8104, 'email_open') RETURNING lead_id;
-- writers may say two leads are two people
SELECT lead_gen.dismiss_duplicate(8106, 8107);
RESET ROLE;
SET ROLE lg_merge_admin;
-- an admin without UPDATE on a table of the user's that references lead
-- cannot merge, and nothing changes
SELECT pg_temp.try('SELECT lead_gen.merge_leads(8106, 8107)');
RESET ROLE;
SELECT (SELECT count(*) FROM lead WHERE lead_id = 8107) AS loser_still_there,
	   (SELECT count(*) FROM lead_merge WHERE loser = 8107) AS merges_of_8107;
GRANT SELECT, UPDATE, DELETE ON lead_slot TO lg_merge_admin;
SET ROLE lg_merge_admin;
SELECT lead_gen.merge_leads(8106, 8107, 'admin merge') AS merged_into;
RESET ROLE;
SELECT loser, winner, merged_by FROM lead_merge WHERE loser = 8107;

-- 6. Forgetting the winner forgets what lead_merge kept of its losers; a
-- merged id forgets the lead it lives on.
SELECT forget(8102);
SELECT lead_id, email, first_name, forgotten_at IS NOT NULL AS forgotten FROM lead WHERE lead_id = 8103;
SELECT loser, loser_data->>'email' AS email, loser_data->>'last_name' AS last_name, loser_data->'attributes' AS attributes,
	   loser_data->>'stage' AS stage, reason FROM lead_merge WHERE winner = 8103 ORDER BY loser;
SELECT pg_temp.try('SELECT forget(8998)');

-- 7. Deleting a lead deletes the record of the leads merged into it.
DELETE FROM lead WHERE lead_id = 8106;
SELECT count(*) AS merges_of_106 FROM lead_merge WHERE winner = 8106;

-- 8. Merges per period.
SELECT period_start = date_trunc('month', now() AT TIME ZONE 'UTC')::date AS this_month, merges, leads_merged_into, merged_by = ARRAY[current_user]::name[] AS by_me
FROM merge_report();
SELECT pg_temp.try('SELECT * FROM merge_report(period => ''fortnight'')');
SELECT count(*) AS none_last_year FROM merge_report(to_date => (now() - interval '1 year')::date);

ROLLBACK;
