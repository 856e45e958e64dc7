-- Segments: live and static, current in the same transaction, their
-- history and notifications, who may change them, and bad input.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
BEGIN;

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- who is in which segment, and the history, compactly
CREATE FUNCTION pg_temp.members(seg text) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(m.lead_id::text, ' ' ORDER BY m.lead_id), '-')
	FROM lead_gen.segment_member m WHERE m.segment_id = lead_gen.segment_id(seg)
$$;
CREATE FUNCTION pg_temp.history(seg text) RETURNS SETOF text LANGUAGE sql AS $$
	SELECT h.lead_id || ' ' || h.event || ' (' || h.cause || ')'
	FROM lead_gen.segment_history h WHERE h.segment_id = lead_gen.segment_id(seg)
	ORDER BY h.segment_history_id
$$;

INSERT INTO scoring_rule (kind, points) VALUES ('seg_webinar', 30), ('seg_visit', 1)
ON CONFLICT (kind) DO UPDATE SET points = excluded.points;
INSERT INTO lead (lead_id, email, industry, country, consent) VALUES
	(9501, 'ana@seg.example', 'fintech', 'US', 'subscribed'),
	(9502, 'bo@seg.example', 'fintech', 'US', 'unknown'),
	(9503, 'cy@seg.example', 'retail', 'US', 'subscribed');

-- 1. A live segment is built from the leads there are.
SELECT create_segment('fintech_webinar',
	'industry = fintech and country = US and count(seg_webinar within 30 days) >= 1 and consent = subscribed') > 0 AS created;
SELECT pg_temp.members('fintech_webinar') AS members;
-- activity moves a lead in, in the same transaction (and statement)
INSERT INTO activity (lead_id, kind) VALUES (9501, 'seg_webinar');
SELECT pg_temp.members('fintech_webinar') AS members, in_segment(9501, 'fintech_webinar') AS ana_in;
-- an activity of a kind that scores nothing moves leads too
SELECT create_segment('tried_the_demo', 'count(seg_demo) >= 1') > 0 AS created;
INSERT INTO activity (lead_id, kind) VALUES (9503, 'seg_demo');
SELECT pg_temp.members('tried_the_demo') AS members;
-- an edit moves a lead in and out
UPDATE lead SET consent = 'subscribed' WHERE lead_id = 9502;
INSERT INTO activity (lead_id, kind) VALUES (9502, 'seg_webinar');
SELECT pg_temp.members('fintech_webinar') AS members;
UPDATE lead SET consent = 'unsubscribed' WHERE lead_id = 9501;
SELECT pg_temp.members('fintech_webinar') AS members;
-- a new lead joins at once
SELECT create_segment('us_retail', 'industry = retail and country = US') > 0 AS created;
INSERT INTO lead (lead_id, email, industry, country) VALUES (9504, 'di@seg.example', 'retail', 'US');
SELECT pg_temp.members('us_retail') AS members;
-- deleting activity moves a lead out
DELETE FROM activity WHERE lead_id = 9503 AND kind = 'seg_demo';
SELECT pg_temp.members('tried_the_demo') AS members;
-- the history, with causes
SELECT pg_temp.history('fintech_webinar');
SELECT pg_temp.history('tried_the_demo');
SELECT pg_temp.history('us_retail');

-- 2. Changing the criteria recomputes the members.
SELECT alter_segment('us_retail', 'country = US and industry in (retail, fintech)') AS changed;
SELECT pg_temp.members('us_retail') AS members;
SELECT alter_segment('us_retail', 'industry = retail') AS changed;
SELECT pg_temp.members('us_retail') AS members;
SELECT pg_temp.history('us_retail');

-- 3. Time-driven criteria: the lead's next change includes its next
-- membership change, and rescore()'s pass over due leads applies it.
SELECT create_segment('quiet_for_a_moment', 'days_since_last(any) > 0.00002') > 0 AS created; -- ~1.7 s
INSERT INTO lead (lead_id, email) VALUES (9505, 'ed@seg.example');
INSERT INTO activity (lead_id, kind) VALUES (9505, 'seg_visit');
SELECT in_segment(9505, 'quiet_for_a_moment') AS quiet_now,
	   next_change_at - now() BETWEEN interval '1.7 seconds' AND interval '1.8 seconds' AS next_change_in_1_7s
FROM lead WHERE lead_id = 9505;

-- 4. Static segments are kept by hand.
SELECT create_segment('vip', NULL, live => false) > 0 AS created;
SELECT add_to_segment('vip', 9503) AS added, add_to_segment('vip', 9503) AS again, pg_temp.members('vip') AS members;
SELECT remove_from_segment('vip', 9503) AS removed, remove_from_segment('vip', 9503) AS again, pg_temp.members('vip') AS members;
SELECT add_to_segment('vip', 9504) AS added;
SELECT pg_temp.history('vip');

-- 5. Deleting a lead takes it out (history stays); dropping a segment
-- takes its members and history.
DELETE FROM lead WHERE lead_id = 9504;
SELECT pg_temp.members('vip') AS vip, pg_temp.members('us_retail') AS us_retail;
SELECT pg_temp.history('vip');
SELECT h FROM pg_temp.history('us_retail') h WHERE h LIKE '9504 %';
SELECT drop_segment('vip');
SELECT count(*) AS vip_history FROM segment_history h WHERE NOT EXISTS (SELECT FROM segment s WHERE s.segment_id = h.segment_id);

-- 6. Merging: the loser's memberships move to the winner, which is then
-- tested as the lead it has become (cause merge); the loser's history stays.
INSERT INTO lead (lead_id, email, industry, country, consent) VALUES
	(9511, 'fay@seg.example', 'fintech', 'US', 'unknown'),
	(9512, 'fay+x@seg.example', 'fintech', 'US', 'subscribed');
INSERT INTO activity (lead_id, kind) VALUES (9512, 'seg_webinar');
SELECT create_segment('static_fay', NULL, false) > 0 AS created;
SELECT add_to_segment('static_fay', 9512) AS added;
SELECT in_segment(9511, 'fintech_webinar') AS winner_in, in_segment(9512, 'fintech_webinar') AS loser_in;
SELECT merge_leads(9511, 9512, 'same person') AS merged;
SELECT consent, in_segment(9511, 'fintech_webinar') AS winner_in, in_segment(9512, 'fintech_webinar') AS merged_id_in,
	   in_segment(9511, 'static_fay') AS winner_static
FROM lead WHERE lead_id = 9511;
SELECT h FROM pg_temp.history('fintech_webinar') h WHERE h ~ '^951[12]';
SELECT h FROM pg_temp.history('static_fay') h;

-- 7. Roles: a writer's changes move leads (as lead_gen), a writer keeps
-- static segments, only an admin defines segments.
CREATE ROLE lg_seg_writer;
CREATE ROLE lg_seg_admin;
SELECT grant_access('lg_seg_writer', 'writer'), grant_access('lg_seg_admin', 'admin');
SET ROLE lg_seg_writer;
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (9503, 'seg_demo');
SELECT lead_gen.in_segment(9503, 'tried_the_demo') AS moved_by_a_writer;
SELECT lead_gen.add_to_segment('static_fay', 9503) AS writer_adds;
SELECT pg_temp.try($$SELECT lead_gen.create_segment('w', 'stage = mql')$$) AS writer_creates,
	   pg_temp.try($$SELECT lead_gen.alter_segment('tried_the_demo', 'stage = mql')$$) AS writer_alters,
	   pg_temp.try($$SELECT lead_gen.drop_segment('tried_the_demo')$$) AS writer_drops,
	   pg_temp.try(format('INSERT INTO lead_gen.segment_member (segment_id, lead_id) VALUES (%s, 9501)',
						  lead_gen.segment_id('tried_the_demo'))) AS writer_forges,
	   pg_temp.try(format('SELECT lead_gen.segment_rebuild(%s)', lead_gen.segment_id('tried_the_demo'))) AS writer_rebuilds;
RESET ROLE;
SET ROLE lg_seg_admin;
SELECT lead_gen.create_segment('admins_segment', 'stage = prospect') > 0 AS admin_creates;
SELECT lead_gen.drop_segment('admins_segment');
RESET ROLE;

-- 8. Reports: size over time from the history, joins and leaves per
-- period; conversion of members against everyone else.
SELECT segment, joins, leaves, members FROM segment_report(segment_name => 'us_retail');
SELECT segment, joins, leaves, members FROM segment_report(current_date, current_date)
WHERE segment <> 'quiet_for_a_moment' ORDER BY segment; -- (quiet: the leads other tests left)
UPDATE lead SET stage = 'lead' WHERE lead_id = 9503;
UPDATE lead SET stage = 'mql' WHERE lead_id = 9503;
UPDATE lead SET stage = 'sql' WHERE lead_id = 9503;
SELECT * FROM segment_conversion('us_retail') WHERE leads_in = 'members';
SELECT leads = (SELECT count(*) FROM lead l WHERE NOT in_segment(l.lead_id, 'us_retail')) AS others_counted
FROM segment_conversion('us_retail') WHERE leads_in = 'others';
SELECT pg_temp.try($$SELECT * FROM lead_gen.segment_report(period => 'hour')$$) AS bad_period,
	   pg_temp.try($$SELECT * FROM lead_gen.segment_report('2026-02-02', '2026-02-01')$$) AS backwards,
	   pg_temp.try($$SELECT * FROM lead_gen.segment_conversion('nope')$$) AS unknown;

-- 9. Bad input.
SELECT e, pg_temp.try(e) AS error FROM unnest(ARRAY[
	$$SELECT lead_gen.create_segment('fintech_webinar', 'stage = mql')$$,
	$$SELECT lead_gen.create_segment('x', 'bogus = 1')$$,
	$$SELECT lead_gen.create_segment('x', 'count(seg_webinar within 0 days) > 1')$$,
	$$SELECT lead_gen.create_segment('x', NULL)$$,
	$$SELECT lead_gen.create_segment('x', 'stage = mql', live => false)$$,
	$$SELECT lead_gen.create_segment('x', 'stage = mql', live => NULL)$$,
	$$SELECT lead_gen.create_segment(NULL, 'stage = mql')$$,
	$$SELECT lead_gen.create_segment('', 'stage = mql')$$,
	$$SELECT lead_gen.create_segment(repeat('x', 201), 'stage = mql')$$,
	$$SELECT lead_gen.create_segment('x', 'industry in (' || (SELECT string_agg('v' || g, ', ') FROM generate_series(1, 12000) g) || ')')$$,
	$$SELECT lead_gen.alter_segment('nope', 'stage = mql')$$,
	$$SELECT lead_gen.alter_segment('fintech_webinar', NULL)$$,
	$$SELECT lead_gen.drop_segment('nope')$$,
	$$SELECT lead_gen.in_segment(9501, 'nope')$$,
	$$SELECT lead_gen.add_to_segment('fintech_webinar', 9501)$$,
	$$SELECT lead_gen.remove_from_segment('fintech_webinar', 9502)$$,
	$$SELECT lead_gen.add_to_segment('nope', 9501)$$,
	$$SELECT lead_gen.add_to_segment('static_fay', NULL)$$,
	$$SELECT lead_gen.add_to_segment('static_fay', 424242)$$,
	$$SELECT lead_gen.remove_from_segment('static_fay', NULL)$$,
	$$SELECT lead_gen.segment_rebuild(424242)$$
]) AS e;
SELECT in_segment(NULL, 'fintech_webinar') IS NULL AS null_lead, in_segment(9501, NULL) IS NULL AS null_name;

-- 10. Only lead_gen writes a live segment's members and any history.
SELECT e, pg_temp.try(e) AS error FROM unnest(ARRAY[
	format('INSERT INTO lead_gen.segment_member (segment_id, lead_id) VALUES (%s, 9503)', segment_id('fintech_webinar')),
	format('DELETE FROM lead_gen.segment_member WHERE segment_id = %s', segment_id('fintech_webinar')),
	format('UPDATE lead_gen.segment_member SET joined_at = now() - interval ''1 day'' WHERE segment_id = %s', segment_id('fintech_webinar')),
	format('INSERT INTO lead_gen.segment_history (segment_id, lead_id, event, cause) VALUES (%s, 9503, ''joined'', ''manual'')', segment_id('fintech_webinar')),
	'UPDATE lead_gen.segment_history SET cause = ''manual''',
	'INSERT INTO lead_gen.segment_member (segment_id, lead_id) VALUES (-1, 9503)'
]) AS e;
SELECT pg_temp.members('fintech_webinar') AS members;

-- 11. Truncating activity moves every lead a live segment's activity
-- tests: out of those that count it, into those that want none.
SELECT create_segment('no_activity', 'never any and email ends with seg.example') > 0 AS created;
SELECT pg_temp.members('no_activity') AS before_truncate;
TRUNCATE activity;
SELECT pg_temp.members('no_activity') AS after_truncate, pg_temp.members('fintech_webinar') AS webinar_after;

-- 12. lead_gen writes a live segment's rows itself, not by statement: every
-- index of both tables has them (one of the user's own too: checked by
-- amcheck against the heap), and a user's own trigger sees only statements.
CREATE EXTENSION IF NOT EXISTS amcheck;
CREATE INDEX user_member_joined_idx ON lead_gen.segment_member (joined_at, lead_id)
	WHERE segment_id > 0;
CREATE TABLE pg_temp.member_log (op text, segment_id bigint, lead_id bigint);
CREATE FUNCTION pg_temp.log_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO pg_temp.member_log SELECT TG_OP, n.segment_id, n.lead_id FROM new_rows n;
	RETURN NULL;
END $$;
CREATE TRIGGER user_member_log AFTER INSERT ON lead_gen.segment_member
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.log_member();
SELECT create_segment('seg_visitors', 'count(seg_visit) >= 1') > 0 AS created;
INSERT INTO activity (lead_id, kind) SELECT l, 'seg_visit' FROM generate_series(9501, 9503) l;
DELETE FROM activity WHERE lead_id = 9502 AND kind = 'seg_visit';
SELECT pg_temp.members('seg_visitors') AS visitors,
	array(SELECT h FROM pg_temp.history('seg_visitors') h ORDER BY h) AS history; -- a bulk insert's leads in any order
SELECT add_to_segment('static_fay', 9501) AS added;
SELECT op, segment_id = segment_id('static_fay') AS static, lead_id FROM pg_temp.member_log;
SELECT c.relname, bt_index_check(c.oid, heapallindexed => true) IS NOT NULL AS checked
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid IN ('lead_gen.segment_member'::regclass, 'lead_gen.segment_history'::regclass)
ORDER BY c.relname;

ROLLBACK;
