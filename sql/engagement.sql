-- The engagement type: a decaying sum of points.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- Text I/O.
SELECT '(12.5,2026-01-01 00:00:00+00,30 days)'::engagement;
SELECT ' ( -3 , 2026-01-01 12:00:00+02 , 1 day 12:00:00 ) '::engagement;
SELECT '(0,2026-01-01,1 second)'::engagement;
-- a value reads back as itself
SELECT e::text::engagement = e AS round_trip
FROM (VALUES ('(1.0000000000000002,2026-01-01 00:00:00.123456+00,7 days 03:04:05.678901)'::engagement)) v(e);

-- Bad input.
\set VERBOSITY default
SELECT 'nonsense'::engagement;
SELECT '(1,2026-01-01)'::engagement;
SELECT '(1,2026-01-01,30 days,4)'::engagement;
SELECT '(x,2026-01-01,30 days)'::engagement;
SELECT '(NaN,2026-01-01,30 days)'::engagement;
SELECT '(Infinity,2026-01-01,30 days)'::engagement;
SELECT '(1,infinity,30 days)'::engagement;
SELECT '(1,2026-01-01,0 days)'::engagement;
SELECT '(1,2026-01-01,-1 day)'::engagement;
SELECT '(1,not a time,30 days)'::engagement;
SELECT engagement(1, '2026-01-01', '0 seconds');
SELECT engagement('NaN', '2026-01-01');
SELECT engagement(1, '-infinity');
SELECT engagement_add(engagement(1, '2026-01-01'), 'Infinity', '2026-01-02');

-- Decay: half the points after one half-life, a quarter after two.
SELECT engagement_value(engagement(8, '2026-01-01', '10 days'), '2026-01-01') AS at_once,
	   engagement_value(engagement(8, '2026-01-01', '10 days'), '2026-01-11') AS one_half_life,
	   engagement_value(engagement(8, '2026-01-01', '10 days'), '2026-01-21') AS two,
	   engagement_value(engagement(8, '2026-01-01', '10 days'), '2025-12-22') AS before_as_of;

-- Adding points at any time, also before as_of, is exact.
SELECT round(engagement_value(engagement_add(engagement_add(engagement(4, '2026-01-11', '10 days'),
		8, '2026-01-01'), 2, '2026-01-21'), '2026-01-21')::numeric, 12) AS three_events;
SELECT engagement_add(engagement(4, '2026-01-11', '10 days'), 8, '2026-01-01') AS late_event,
	   engagement_add(engagement(4, '2026-01-11', '10 days'), 8, '2026-01-21') AS later_event;

-- + is commutative and associative; NULL adds nothing.
WITH e(a, b, c) AS (VALUES (engagement(3, '2026-01-01'), engagement(-1, '2026-02-01'), engagement(5, '2025-12-01')))
SELECT (a + b) = (b + a) AS commutative,
	   abs(engagement_value((a + b) + c, '2026-03-01') - engagement_value(a + (b + c), '2026-03-01')) < 1e-12 AS associative,
	   (a + NULL) = a AS null_right, (NULL + a) = a AS null_left, (NULL::engagement + NULL) IS NULL AS both_null
FROM e;
SELECT engagement(1, '2026-01-01', '1 day') + engagement(1, '2026-01-01', '2 days');

-- Accessors.
SELECT engagement_as_of(e), engagement_half_life(e)
FROM (VALUES ('(1,2026-01-01 10:00:00+00,36 hours)'::engagement)) v(e);

-- The aggregate: the same as adding one by one, in any order; NULL rows
-- skipped; NULL for no rows.
CREATE TEMP TABLE pts AS
SELECT (g % 7) - 2 AS points, timestamptz '2026-01-01' + (g * 7919 % 1000) * interval '1 hour' AS at, g
FROM generate_series(1, 5000) g;
INSERT INTO pts VALUES (NULL, '2026-01-01', 0), (1, NULL, 0);
SELECT round(engagement_value(engagement_sum(points, at, '30 days'), '2026-03-01')::numeric, 9) AS aggregate,
	   round(sum(points * power(2, -extract(epoch FROM timestamptz '2026-03-01' - at)::float8 / (30 * 86400)))::numeric, 9) AS by_hand
FROM pts;
SELECT round(engagement_value(engagement_sum(points, at, '30 days' ORDER BY g DESC), '2026-03-01')::numeric, 9) AS reversed,
	   round(engagement_value(engagement_sum(points, at, '30 days' ORDER BY at), '2026-03-01')::numeric, 9) AS in_time_order
FROM pts;
SELECT engagement_sum(points, at, '30 days') IS NULL AS no_rows FROM pts WHERE false;
SELECT engagement_sum(points, at, CASE WHEN g % 2 = 0 THEN interval '1 day' ELSE interval '2 days' END) FROM pts;

-- A forced parallel plan combines partial states to the same answer.
CREATE TABLE pts_big AS
SELECT g % 1000 AS lead, (g % 11) - 3 AS points, timestamptz '2026-01-01' + (g::bigint * 104729 % 100000) * interval '1 minute' AS at
FROM generate_series(1, 200000) g;
ANALYZE pts_big;
CREATE TEMP TABLE serial_result AS
SELECT lead, engagement_value(engagement_sum(points, at, '7 days'), '2026-04-01') AS v FROM pts_big GROUP BY lead;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT engagement_value(engagement_sum(points, at, '7 days'), '2026-04-01') FROM pts_big;
SELECT round(engagement_value(engagement_sum(points, at, '7 days'), '2026-04-01')::numeric, 6) AS parallel,
	   round((SELECT sum(v) FROM serial_result)::numeric, 6) AS serial
FROM pts_big;
SELECT count(*) AS groups_that_differ
FROM (SELECT lead, engagement_value(engagement_sum(points, at, '7 days'), '2026-04-01') AS v
	  FROM pts_big GROUP BY lead) p
JOIN serial_result s USING (lead)
WHERE abs(p.v - s.v) > 1e-9 * greatest(1, abs(s.v));
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE pts_big;

-- Binary COPY round trip, and binary input is checked.
CREATE TEMP TABLE eng (e engagement);
INSERT INTO eng VALUES ('(2.5,2026-05-01 00:00:00+00,30 days)'), ('(-1e300,2000-01-01 00:00:00+00,00:00:01)');
COPY eng TO '/tmp/lead_gen_engagement.bin' WITH (FORMAT binary);
CREATE TEMP TABLE eng2 (e engagement);
COPY eng2 FROM '/tmp/lead_gen_engagement.bin' WITH (FORMAT binary);
SELECT count(*) AS same FROM eng JOIN eng2 USING (e);
-- value NaN
COPY eng2 FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\030\177\370\000\000\000\000\000\000\000\000\000\000\000\000\000\000\100\044\000\000\000\000\000\000\377\377''' WITH (FORMAT binary);
-- half-life 0
COPY eng2 FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\030\077\360\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\377\377''' WITH (FORMAT binary);
-- too short
COPY eng2 FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\010\077\360\000\000\000\000\000\000\377\377''' WITH (FORMAT binary);
SELECT count(*) FROM eng2;

-- capped_engagement: of a capped kind, only the first daily_cap per UTC day
-- count (by time, then id), whatever the order of the rows.
CREATE TEMP TABLE ev (id bigint, kind text, at timestamptz, points float8, cap int);
INSERT INTO ev VALUES
	(5, 'open', '2026-03-01 12:00+00', 1, 2), (1, 'open', '2026-03-01 09:00+00', 1, 2),
	(3, 'open', '2026-03-01 09:00+00', 1, 2), (2, 'demo', '2026-03-01 10:00+00', 30, NULL),
	(4, 'open', '2026-03-02 00:00+00', 1, 2), (6, 'open', '2026-03-01 23:59:59+00', 1, 2),
	(7, 'open', NULL, 1, 2);
SELECT round(engagement_value(capped_engagement(points, at, id, kind, cap, '1 day' ORDER BY id DESC), '2026-03-03')::numeric, 9) AS capped,
	   round(engagement_value(engagement_sum(points, at, '1 day') FILTER (WHERE id IN (1, 3, 2, 4)), '2026-03-03')::numeric, 9) AS by_hand
FROM ev;
SELECT capped_engagement(points, at, id, kind, 0, '1 day') IS NULL AS cap_zero_counts_nothing FROM ev;
-- Kinds are numbered once per query for all groups: groups sharing kinds,
-- kinds in any order, more groups than kinds, and many distinct kinds.
SELECT g % 4 AS grp,
	   round(engagement_value(capped_engagement(1, '2026-03-01 00:00+00'::timestamptz + (i % 5) * interval '1 hour', i,
												'k' || ((i * 7 + g) % 3), 2, '1 day'), '2026-03-02')::numeric, 9) AS capped,
	   round(engagement_value(engagement_sum(1, '2026-03-01 00:00+00'::timestamptz + (i % 5) * interval '1 hour', '1 day')
								FILTER (WHERE n <= 2), '2026-03-02')::numeric, 9) AS by_hand
FROM (SELECT g, i, row_number() OVER (PARTITION BY g % 4, (i * 7 + g) % 3 ORDER BY i % 5, i) AS n
	  FROM generate_series(0, 7) AS g, generate_series(1, 10) AS i) AS x
GROUP BY g % 4 ORDER BY 1;
-- 10,000 kinds, each twice in its group with a cap of one: 10,000 points
SELECT count(*) AS groups, sum(engagement_value(e, '2026-03-01 00:00+00')) AS points
FROM (SELECT capped_engagement(1, '2026-03-01 00:00+00', i, md5((i / 2)::text), 1, '1 day') AS e
	  FROM generate_series(0, 19999) AS i GROUP BY (i / 2) % 100) AS x;
