-- window_funnel and retention: ClickHouse's semantics, cases from its
-- documentation, every mode, bad input, and forced parallel plans.
SET search_path = lead_gen, public;
\set VERBOSITY terse

-- ClickHouse's windowFunnel example: one user's events over a week, four
-- steps in order within the window.
CREATE TEMP TABLE trend (event_date date, user_id int, ts timestamptz, event_id int, product text);
INSERT INTO trend VALUES
	('2019-01-28', 1, '2019-01-29 10:00:00+00', 1003, 'phone'),
	('2019-01-31', 1, '2019-01-31 09:00:00+00', 1007, 'phone'),
	('2019-01-30', 1, '2019-01-30 08:00:00+00', 1009, 'phone'),
	('2019-02-01', 1, '2019-02-01 08:00:00+00', 1010, 'phone');
SELECT level, count(*) AS c
FROM (SELECT user_id,
			 window_funnel(interval '70000 days', ts, event_id = 1003, event_id = 1009,
						   event_id = 1007, event_id = 1010) AS level
	  FROM trend
	  WHERE event_date BETWEEN '2019-01-01' AND '2019-02-02'
	  GROUP BY user_id) AS x
GROUP BY level ORDER BY level;
-- the window counts from the first step: two days are not enough for all four
SELECT window_funnel(interval '2 days', ts, event_id = 1003, event_id = 1009, event_id = 1007, event_id = 1010)
FROM trend;

-- The modes, on the documentation's chains of events A, B, C, D.
CREATE TEMP TABLE chain (name text, step int, ev text);
INSERT INTO chain VALUES
	('A-B-C-B-D', 1, 'A'), ('A-B-C-B-D', 2, 'B'), ('A-B-C-B-D', 3, 'C'), ('A-B-C-B-D', 4, 'B'), ('A-B-C-B-D', 5, 'D'),
	('A-B-D-C', 1, 'A'), ('A-B-D-C', 2, 'B'), ('A-B-D-C', 3, 'D'), ('A-B-D-C', 4, 'C'),
	('A-B-X-C-D', 1, 'A'), ('A-B-X-C-D', 2, 'B'), ('A-B-X-C-D', 3, 'X'), ('A-B-X-C-D', 4, 'C'), ('A-B-X-C-D', 5, 'D'),
	('B-A-C-D', 1, 'B'), ('B-A-C-D', 2, 'A'), ('B-A-C-D', 3, 'C'), ('B-A-C-D', 4, 'D'),
	('A-C-B-C-D', 1, 'A'), ('A-C-B-C-D', 2, 'C'), ('A-C-B-C-D', 3, 'B'), ('A-C-B-C-D', 4, 'C'), ('A-C-B-C-D', 5, 'D'),
	('C-D', 1, 'C'), ('C-D', 2, 'D');
SELECT name,
	   window_funnel('1 hour', '2026-01-01'::timestamptz + step * interval '1 minute',
					 ev = 'A', ev = 'B', ev = 'C', ev = 'D') AS "default",
	   window_funnel('1 hour', 'strict_deduplication', '2026-01-01'::timestamptz + step * interval '1 minute',
					 ev = 'A', ev = 'B', ev = 'C', ev = 'D') AS dedup,
	   window_funnel('1 hour', 'strict_order', '2026-01-01'::timestamptz + step * interval '1 minute',
					 ev = 'A', ev = 'B', ev = 'C', ev = 'D') AS "order",
	   window_funnel('1 hour', 'strict_order, allow_reentry', '2026-01-01'::timestamptz + step * interval '1 minute',
					 ev = 'A', ev = 'B', ev = 'C', ev = 'D') AS reentry
FROM chain GROUP BY name ORDER BY name;

-- strict_increase: steps at the same moment do not follow each other.
SELECT window_funnel('1 hour', ts, ev = 'A', ev = 'B', ev = 'C') AS "default",
	   window_funnel('1 hour', 'strict_increase', ts, ev = 'A', ev = 'B', ev = 'C') AS increase
FROM (VALUES ('A', '2026-01-01 10:00+00'::timestamptz), ('B', '2026-01-01 10:00+00'),
			 ('C', '2026-01-01 10:05+00')) AS e(ev, ts);
-- the mode may differ from group to group in one query (the mode read last
-- is kept parsed: a change must be noticed, and a change back)
SELECT g, window_funnel('1 hour', m, ts, ev = 'A', ev = 'B', ev = 'C') AS level
FROM (VALUES (1, 'strict_increase'), (2, ''), (3, 'strict_increase'), (4, 'strict_deduplication')) AS k(g, m),
	 (VALUES ('A', '2026-01-01 10:00+00'::timestamptz), ('B', '2026-01-01 10:00+00'),
			 ('C', '2026-01-01 10:05+00')) AS e(ev, ts)
GROUP BY g ORDER BY g;
-- one row meeting two steps at once counts for both (not with strict_increase)
SELECT window_funnel('1 hour', ts, true, true, false) AS both_steps,
	   window_funnel('1 hour', 'strict_increase', ts, true, true, false) AS increase
FROM (VALUES ('2026-01-01 10:00+00'::timestamptz)) AS e(ts);

-- Out-of-order input gives the same answer; NULL times are ignored, NULL
-- conditions are false; a group with no step at all is 0; no rows: NULL.
SELECT window_funnel('1 day', ts, ev = 'A', ev = 'B', ev = 'C') AS shuffled
FROM (VALUES ('C', '2026-01-03 00:00+00'::timestamptz), ('B', '2026-01-02 12:00+00'),
			 ('A', '2026-01-02 08:00+00'), ('A', NULL), ('B', NULL)) AS e(ev, ts);
SELECT window_funnel('1 day', ts, ev = 'A', NULL::boolean, ev = 'C') AS null_step,
	   window_funnel('1 day', ts, ev = 'X') AS none
FROM (VALUES ('A', '2026-01-01 00:00+00'::timestamptz), ('C', '2026-01-01 01:00+00')) AS e(ev, ts);
SELECT window_funnel('1 day', ts, true) AS no_rows FROM (SELECT now() AS ts) AS e WHERE false;
-- the window is inclusive, to the microsecond
SELECT window_funnel('1 hour', ts, ev = 'A', ev = 'B') AS at_the_edge
FROM (VALUES ('A', '2026-01-01 10:00+00'::timestamptz), ('B', '2026-01-01 11:00+00')) AS e(ev, ts);
SELECT window_funnel('1 hour', ts, ev = 'A', ev = 'B') AS just_past
FROM (VALUES ('A', '2026-01-01 10:00+00'::timestamptz), ('B', '2026-01-01 11:00:00.000001+00')) AS e(ev, ts);

-- More than 32 steps (ClickHouse stops at 32): 40 steps in order.
SELECT window_funnel('1 day', '2026-01-01'::timestamptz + g * interval '1 minute',
					 VARIADIC (SELECT array_agg(i = g ORDER BY i) FROM generate_series(1, 40) AS i)) AS forty
FROM generate_series(1, 40) AS g;

-- The steps may come as one boolean array.
SELECT window_funnel('1 hour', ts, VARIADIC ARRAY[ev = 'A', ev = 'B']) AS from_array
FROM (VALUES ('A', '2026-01-01 10:00+00'::timestamptz), ('B', '2026-01-01 10:30+00')) AS e(ev, ts);

-- Steps may be named: step k holds on a row whose event is the k-th name,
-- compared byte for byte; a NULL event or a NULL name never holds.  The
-- same answers as the conditions event = name.
SELECT window_funnel('1 hour', ts, ev, 'A', 'B', 'C') AS named,
	   window_funnel('1 hour', ts, ev = 'A', ev = 'B', ev = 'C') AS conditions,
	   window_funnel('1 hour', ts, ev, 'A', NULL, 'C') AS null_name,
	   window_funnel('1 hour', ts, ev, 'a', 'b') AS case_matters,
	   window_funnel('1 hour', 'strict_order', ts, ev, 'A', 'C') AS strict_named,
	   window_funnel('1 hour', 'strict_order', ts, ev = 'A', ev = 'C') AS strict_conditions
FROM (VALUES ('A', '2026-01-01 10:00+00'::timestamptz), (NULL, '2026-01-01 10:10+00'),
			 ('B', '2026-01-01 10:20+00'), ('C', '2026-01-01 10:30+00')) AS e(ev, ts);
-- a name given twice: one event holds both steps, as with conditions
SELECT window_funnel('1 hour', ts, ev, 'A', 'A') AS named,
	   window_funnel('1 hour', ts, ev = 'A', ev = 'A') AS conditions,
	   window_funnel('1 hour', 'strict_increase', ts, ev, 'A', 'A') AS named_increase,
	   window_funnel('1 hour', 'strict_increase', ts, ev = 'A', ev = 'A') AS conditions_increase
FROM (VALUES ('A', '2026-01-01 10:00+00'::timestamptz)) AS e(ev, ts);
-- names that are not a constant of the query are read row by row
SELECT lead_id, window_funnel('1 hour', ts, ev, VARIADIC names) AS from_rows
FROM (VALUES (1, 'A', '2026-01-01 10:00+00'::timestamptz, ARRAY['A', 'B']),
			 (1, 'B', '2026-01-01 10:20+00', ARRAY['A', 'B']),
			 (2, 'B', '2026-01-01 10:00+00', ARRAY['B', 'A']),
			 (2, 'A', '2026-01-01 10:20+00', ARRAY['B', 'A']),
			 (3, 'B', '2026-01-01 10:00+00', ARRAY['A', 'B'])) AS e(lead_id, ev, ts, names)
GROUP BY lead_id ORDER BY lead_id;

-- Bad input.
SELECT window_funnel('0', now(), true);
SELECT window_funnel('-1 hour', now(), true);
SELECT window_funnel(NULL::interval, now(), true);
SELECT window_funnel('1 hour', 'strict_ordering', now(), true);
SELECT window_funnel('1 hour', 'strict_once', now(), true);
SELECT window_funnel('1 hour', 'allow_reentry', now(), true);
SELECT window_funnel('1 hour', NULL::text, now(), true);
SELECT window_funnel('1 hour', now(), VARIADIC ARRAY[]::boolean[]);
SELECT window_funnel('1 hour', now());
SELECT window_funnel('1 hour', now(), 1);
SELECT window_funnel('1 hour', now(), VARIADIC array_fill(true, ARRAY[1001]));
SELECT window_funnel('1 hour', ts, VARIADIC s)
FROM (VALUES (now(), ARRAY[true]), (now(), ARRAY[true, false])) AS e(ts, s);

-- ClickHouse's retention example: users seen on three days.
CREATE TEMP TABLE retention_test (date date, uid int);
INSERT INTO retention_test SELECT '2020-01-01', g FROM generate_series(0, 4) g;
INSERT INTO retention_test SELECT '2020-01-02', g FROM generate_series(0, 9) g;
INSERT INTO retention_test SELECT '2020-01-03', g FROM generate_series(0, 14) g;
SELECT uid, retention(date = '2020-01-01', date = '2020-01-02', date = '2020-01-03') AS r
FROM retention_test
WHERE date IN ('2020-01-01', '2020-01-02', '2020-01-03')
GROUP BY uid ORDER BY uid;
SELECT sum(r[1]) AS r1, sum(r[2]) AS r2, sum(r[3]) AS r3
FROM (SELECT uid, retention(date = '2020-01-01', date = '2020-01-02', date = '2020-01-03') AS r
	  FROM retention_test WHERE date IN ('2020-01-01', '2020-01-02', '2020-01-03')
	  GROUP BY uid) AS a;
-- pairs with the first condition, not chains: signup, login, purchase
SELECT user_id, retention(event_type = 'signup', event_type = 'login', event_type = 'purchase') AS r
FROM (VALUES (1, 'signup'), (1, 'login'), (2, 'signup'), (2, 'purchase'), (3, 'login'), (3, 'purchase'))
	 AS e(user_id, event_type)
GROUP BY user_id ORDER BY user_id;
SELECT retention(NULL::boolean, true) AS null_first, retention(VARIADIC ARRAY[true, false, true]) AS from_array;
SELECT retention(true) AS no_rows WHERE false;
SELECT retention(VARIADIC ARRAY[]::boolean[]);
SELECT retention(VARIADIC array_fill(true, ARRAY[57]));
SELECT retention('yes'::text);
SELECT retention(VARIADIC s) FROM (VALUES (ARRAY[true]), (ARRAY[true, false])) AS e(s);
SELECT window_funnel('1 hour', now(), 'A', VARIADIC ARRAY[]::text[]);
SELECT window_funnel('1 hour', now(), 'A', VARIADIC NULL::text[]);
SELECT window_funnel('1 hour', now(), 'A', VARIADIC array_fill('A'::text, ARRAY[1001]));
SELECT window_funnel('1 hour', 'strict', now(), 'A', 'A');
SELECT window_funnel('1 hour', ts, 'A', VARIADIC s)
FROM (VALUES (now(), ARRAY['A']), (now(), ARRAY['A', 'B'])) AS e(ts, s);

-- Forced parallel plans give the same answers as serial ones, and the
-- window_funnel answers agree with the plain-SQL definition of the default
-- mode (a step counts if some chain of earlier steps started within the
-- window before it).
SELECT setseed(0.5);
CREATE TABLE funnel_events AS
SELECT 1 + (random() * 499)::int AS lead_id,
	   (ARRAY['visit', 'download', 'webinar', 'demo'])[1 + (random() * 3)::int] AS kind,
	   '2026-01-01'::timestamptz + (random() * 20000)::int * interval '1 minute' AS ts
FROM generate_series(1, 20000) AS g;
ANALYZE funnel_events;
CREATE VIEW funnel_answers AS
SELECT lead_id,
	   window_funnel('3 days', ts, kind = 'visit', kind = 'download', kind = 'webinar', kind = 'demo') AS f,
	   window_funnel('3 days', 'strict_order', ts, kind = 'visit', kind = 'download', kind = 'webinar') AS o,
	   window_funnel('3 days', 'strict_deduplication, strict_increase', ts,
					 kind = 'visit', kind = 'download', kind = 'webinar') AS d,
	   retention(kind = 'visit', kind = 'demo', kind = 'webinar') AS r,
	   window_funnel('3 days', ts, kind, 'visit', 'download', 'webinar', 'demo') AS fn,
	   window_funnel('3 days', 'strict_order', ts, kind, 'visit', 'download', 'webinar') AS "on",
	   window_funnel('3 days', 'strict_deduplication, strict_increase', ts, kind,
					 'visit', 'download', 'webinar') AS dn
FROM funnel_events GROUP BY lead_id;
CREATE TABLE serial_answers AS SELECT * FROM funnel_answers;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT lead_id, window_funnel('3 days', ts, kind = 'visit', kind = 'download') FROM funnel_events GROUP BY lead_id;
SELECT count(*) AS differ_in_parallel FROM (
SELECT * FROM funnel_answers
EXCEPT SELECT * FROM serial_answers) AS x;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
RESET enable_hashagg;
-- named steps give every lead the same answers as the conditions
SELECT count(*) AS leads,
	   count(*) FILTER (WHERE fn <> f OR "on" <> o OR dn <> d) AS named_differ
FROM serial_answers;
SELECT f, count(*) FROM serial_answers GROUP BY f ORDER BY f;
SELECT o, d, count(*) FROM serial_answers GROUP BY o, d ORDER BY o, d;
SELECT r, count(*) FROM serial_answers GROUP BY r ORDER BY r;
-- the plain-SQL definition, step by step
WITH s1 AS (SELECT lead_id, ts AS t1 FROM funnel_events WHERE kind = 'visit'),
s2 AS (SELECT DISTINCT ON (a.lead_id, b.ts) a.lead_id, a.t1, b.ts AS t2
	   FROM s1 AS a JOIN funnel_events AS b ON b.lead_id = a.lead_id AND b.kind = 'download'
	   AND b.ts >= a.t1 AND b.ts <= a.t1 + interval '3 days'
	   ORDER BY a.lead_id, b.ts, a.t1 DESC),
s3 AS (SELECT DISTINCT ON (a.lead_id, c.ts) a.lead_id, a.t1, c.ts AS t3
	   FROM s2 AS a JOIN funnel_events AS c ON c.lead_id = a.lead_id AND c.kind = 'webinar'
	   AND c.ts >= a.t2 AND c.ts <= a.t1 + interval '3 days'
	   ORDER BY a.lead_id, c.ts, a.t1 DESC),
s4 AS (SELECT DISTINCT a.lead_id
	   FROM s3 AS a JOIN funnel_events AS d ON d.lead_id = a.lead_id AND d.kind = 'demo'
	   AND d.ts >= a.t3 AND d.ts <= a.t1 + interval '3 days'),
plain AS (
	SELECT l.lead_id,
		   CASE WHEN l.lead_id IN (SELECT lead_id FROM s4) THEN 4
				WHEN l.lead_id IN (SELECT lead_id FROM s3) THEN 3
				WHEN l.lead_id IN (SELECT lead_id FROM s2) THEN 2
				WHEN l.lead_id IN (SELECT lead_id FROM s1) THEN 1 ELSE 0 END AS f
	FROM (SELECT DISTINCT lead_id FROM funnel_events) AS l)
SELECT count(*) AS leads, count(*) FILTER (WHERE p.f <> s.f) AS differ
FROM plain AS p JOIN serial_answers AS s USING (lead_id);
DROP VIEW funnel_answers;
DROP TABLE funnel_events, serial_answers;
