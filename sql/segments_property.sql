-- Property: random leads, random activity in and out of time order, random
-- edits, random live segments over every kind of fact, and time moving on;
-- after each step every live segment's members are exactly the leads its
-- criteria hold for, evaluated from scratch.  Steps commit (rescore() does).
SET search_path = lead_gen, public;
SET timezone = 'UTC';
SELECT setseed(0.42);

INSERT INTO scoring_rule (kind, points) VALUES ('sp_webinar', 40), ('sp_visit', 4)
ON CONFLICT (kind) DO UPDATE SET points = excluded.points;
INSERT INTO lead (lead_id, email, industry, employees, country, consent)
SELECT 9600 + g, 'sp' || g || '@prop.example',
	   (ARRAY['saas', 'fintech', 'retail', NULL])[1 + floor(random() * 4)::int],
	   CASE WHEN random() < 0.8 THEN (random() * 500)::int END,
	   (ARRAY['US', 'GB', 'FR'])[1 + floor(random() * 3)::int],
	   (ARRAY['unknown', 'subscribed'])[1 + floor(random() * 2)::int]::consent_status
FROM generate_series(1, 40) g;
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT 9601 + floor(random() * 40)::int, (ARRAY['sp_webinar', 'sp_visit', 'sp_other'])[1 + floor(random() * 3)::int],
	   now() - random() * interval '20 seconds'
FROM generate_series(1, 120);

-- Conditions whose answers change within seconds: windows of seconds,
-- fractions of days (0.00001 day is 0.864 s).
CREATE FUNCTION pg_temp.atom() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	k text := (ARRAY['sp_webinar', 'sp_visit', 'sp_other', 'any'])[1 + floor(random() * 4)::int];
	op text := (ARRAY['=', '!=', '<', '<=', '>', '>='])[1 + floor(random() * 6)::int];
	n int := floor(random() * 4)::int;
	d numeric := round((random() * 0.0001)::numeric, 6);
BEGIN
	CASE floor(random() * 9)::int
	WHEN 0 THEN RETURN format('count(%s within %s seconds) %s %s', k, 1 + floor(random() * 12), op, n);
	WHEN 1 THEN RETURN format('count(%s within %s seconds) %s..%s', k, 1 + floor(random() * 12), n, n + 1);
	WHEN 2 THEN RETURN format('count(%s) %s %s', k, op, n * 2);
	WHEN 3 THEN RETURN format('days_since_last(%s) %s %s', k, op, d);
	WHEN 4 THEN RETURN format('never %s', k);
	WHEN 5 THEN RETURN format('days_in_stage %s %s', op, d);
	WHEN 6 THEN RETURN format('score %s %s', op, n * 15);
	WHEN 7 THEN RETURN format('industry in (saas, %s) or consent = subscribed', (ARRAY['fintech', 'retail'])[1 + floor(random() * 2)::int]);
	ELSE RETURN format('employees %s %s', op, n * 100);
	END CASE;
END $$;
CREATE FUNCTION pg_temp.gen(i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	c text := pg_temp.atom();
BEGIN
	IF random() < 0.25 THEN
		c := format('not (%s)', c);
	END IF;
	FOR j IN 1 .. floor(random() * 3)::int LOOP
		c := format('(%s) %s (%s)', c, (ARRAY['and', 'or'])[1 + floor(random() * 2)::int], pg_temp.atom());
	END LOOP;
	RETURN c;
END $$;
-- (each check in the transaction of what it checks: the same now())
BEGIN;
SELECT count(*) AS segments FROM (
	SELECT create_segment('sp_' || i, pg_temp.gen(i)) FROM generate_series(1, 16) i) x;

CREATE TEMP TABLE checks (step int, missing bigint, extra bigint, members bigint);
CREATE TEMP TABLE wrong (step int, segment text, criteria text, lead_id bigint, should boolean,
	next_change_at timestamptz, checked_at timestamptz);
CREATE FUNCTION pg_temp.due_pass() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM set_config('lead_gen.stage_cause', 'rescore', true);
	UPDATE lead_gen.lead AS l SET next_change_at = NULL
	WHERE l.next_change_at <= now();
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM set_config('lead_gen.stage_cause', 'manual', true);
	RETURN n;
END $$;

-- Every live segment against its criteria from scratch, now, once the leads
-- whose time has come got their visit (until then a lead's memberships are
-- those of its last change: the job's pass is what moves time on).
CREATE TEMP TABLE answers (s bigint, l bigint, should boolean, is_member boolean);
CREATE FUNCTION pg_temp.check(step int) RETURNS void LANGUAGE sql AS $$
	SELECT pg_temp.due_pass();
	TRUNCATE answers;
	INSERT INTO answers
	SELECT s.segment_id, l.lead_id, lead_gen.condition_holds(s.criteria, l),
		   EXISTS (SELECT FROM lead_gen.segment_member m WHERE m.segment_id = s.segment_id AND m.lead_id = l.lead_id)
	FROM lead_gen.segment s CROSS JOIN lead_gen.lead l WHERE s.live;
	INSERT INTO pg_temp.checks
	SELECT step, count(*) FILTER (WHERE should AND NOT is_member), count(*) FILTER (WHERE is_member AND NOT should),
		   count(*) FILTER (WHERE is_member)
	FROM answers;
	INSERT INTO pg_temp.wrong
	SELECT step, s.name, s.criteria::text, a.l, a.should, l.next_change_at, now()
	FROM answers a JOIN lead_gen.segment s ON s.segment_id = a.s JOIN lead_gen.lead l ON l.lead_id = a.l
	WHERE a.should IS DISTINCT FROM a.is_member;
$$;
SELECT pg_temp.check(0);
COMMIT;

-- A step: activity (some of it dated earlier than what is there), edits,
-- deletes; then time passes and the scheduled job's pass over the leads
-- whose time has come runs (the statement rescore() runs, here in the
-- transaction that checks, so that both see the same now()).
CREATE FUNCTION pg_temp.step() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
	SELECT 9601 + floor(random() * 40)::int, (ARRAY['sp_webinar', 'sp_visit', 'sp_other'])[1 + floor(random() * 3)::int],
		   CASE WHEN random() < 0.5 THEN now() ELSE now() - random() * interval '15 seconds' END
	FROM generate_series(1, 15);
	INSERT INTO lead_gen.activity (lead_id, kind) VALUES (9601 + floor(random() * 40)::int, 'sp_visit');
	UPDATE lead_gen.lead SET industry = (ARRAY['saas', 'fintech', 'retail', NULL])[1 + floor(random() * 4)::int]
	WHERE lead_id = 9601 + floor(random() * 40)::int;
	UPDATE lead_gen.lead SET consent = 'unsubscribed'
	WHERE lead_id = 9601 + floor(random() * 40)::int;
	UPDATE lead_gen.lead SET stage = 'lead'
	WHERE lead_id = 9601 + floor(random() * 40)::int AND stage = 'prospect';
	DELETE FROM lead_gen.activity
	WHERE activity_id IN (SELECT activity_id FROM lead_gen.activity WHERE lead_id BETWEEN 9601 AND 9640
						  ORDER BY random() LIMIT 3);
END $$;

BEGIN; SELECT pg_temp.step(); SELECT pg_temp.check(1); COMMIT;
SELECT pg_sleep(0.8);
BEGIN; SELECT pg_temp.check(2); COMMIT;
SELECT pg_temp.step();
SELECT pg_sleep(0.8);
BEGIN; SELECT pg_temp.check(3); COMMIT;
BEGIN; SELECT pg_temp.step(); SELECT pg_temp.check(4); COMMIT;
SELECT pg_sleep(1.5);
BEGIN; SELECT pg_temp.check(5); COMMIT;
-- a segment changes beside all this
BEGIN; SELECT alter_segment('sp_3', pg_temp.gen(99)) >= 0 AS altered; SELECT pg_temp.check(6); COMMIT;
SELECT pg_temp.step();
SELECT pg_sleep(2);
BEGIN; SELECT pg_temp.check(7); COMMIT;
SELECT pg_sleep(3);
BEGIN; SELECT pg_temp.check(8); COMMIT;

SELECT step, missing, extra FROM pg_temp.checks ORDER BY step;
SELECT * FROM pg_temp.wrong ORDER BY step, segment, lead_id;
-- the test saw members, and time moved some in and out
SELECT min(members) > 0 AS had_members, count(DISTINCT members) > 2 AS membership_moved FROM pg_temp.checks;
SELECT count(*) FILTER (WHERE cause = 'rescore') > 0 AS by_rescore, count(*) FILTER (WHERE cause = 'activity') > 0 AS by_activity,
	   count(*) FILTER (WHERE cause = 'edit') > 0 AS by_edit, count(*) FILTER (WHERE cause = 'segment') > 0 AS by_segment
FROM segment_history WHERE segment_id IN (SELECT segment_id FROM segment WHERE name LIKE 'sp\_%');

-- rescore() itself: a lead goes quiet 1.7 s after its visit, and the job
-- moves it in once that time has passed.
SELECT create_segment('sp_quiet', 'days_since_last(any) > 0.00002') > 0 AS created;
INSERT INTO lead (lead_id, email) VALUES (9699, 'quiet@prop.example');
INSERT INTO activity (lead_id, kind) VALUES (9699, 'sp_visit');
SELECT in_segment(9699, 'sp_quiet') AS quiet_at_once;
SELECT pg_sleep(2);
DO $$ DECLARE n bigint; BEGIN CALL lead_gen.rescore(1000, n); END $$;
SELECT in_segment(9699, 'sp_quiet') AS quiet_after_rescore;
SELECT cause FROM segment_history WHERE lead_id = 9699 AND segment_id = segment_id('sp_quiet');

-- leave nothing behind
SELECT count(*) AS dropped FROM (SELECT drop_segment(name) FROM segment WHERE name LIKE 'sp\_%') x;
DELETE FROM lead WHERE lead_id BETWEEN 9601 AND 9699;
DELETE FROM segment_history WHERE lead_id BETWEEN 9601 AND 9699;
DELETE FROM scoring_rule WHERE kind IN ('sp_webinar', 'sp_visit');
