-- Ordered step funnels: window_funnel (with the steps as conditions, and
-- named) against the window-function formulation a user would write for the
-- same four steps (page view, download, webinar, demo request within 30
-- days, ClickHouse's default mode), and against a bare count(*) of the same
-- rows.  The rows: :activities
-- activities of those kinds for :leads leads over 90 days, shaped like
-- lead_gen.activity (a table of their own: the scoring benchmark's rows give
-- each lead a single kind).
SELECT setseed(0.6) AS seeded \gset
DROP TABLE IF EXISTS bench.funnel_activity CASCADE;
CREATE TABLE bench.funnel_activity AS
SELECT 1 + (random() * (:leads - 1))::bigint AS lead_id,
	   CASE WHEN r < 0.55 THEN 'page_view' WHEN r < 0.75 THEN 'content_download'
			WHEN r < 0.90 THEN 'webinar' ELSE 'demo_request' END AS kind,
	   now() - random() * interval '90 days' AS occurred_at
FROM (SELECT random() AS r FROM generate_series(1, :activities)) AS g;
-- The index lead_gen.activity has, (lead_id, occurred_at), with the kind the
-- steps read included, as the README recommends for funnels over millions of
-- rows: both sides may read the rows lead by lead in time order (an
-- index-only scan), no hash table over a million leads, no sort.  The planner
-- chooses for each side.
CREATE INDEX ON bench.funnel_activity (lead_id, occurred_at) INCLUDE (kind);
-- With synchronous_commit off, VACUUM cannot mark a page all-visible until
-- the load's commit record is flushed (the hint bits wait for it), and an
-- index-only scan then reads the heap for every row: flush first.  Checked,
-- since both sides' speed depends on it.
-- An autovacuum worker's ANALYZE of another table that began before the
-- load holds the same horizon back: wait for snapshots older than the load
-- to end (at most two minutes), vacuum, and once more if needed.
ALTER TABLE bench.funnel_activity SET (autovacuum_enabled = off);
SELECT pg_catalog.pg_sleep(1) AS slept \gset
SELECT bench.wait_for_older_snapshots('bench.funnel_activity') AS waited \gset
VACUUM ANALYZE bench.funnel_activity;
SELECT relallvisible = relpages AS all_visible FROM pg_class
WHERE oid = 'bench.funnel_activity'::regclass \gset
\if :all_visible
\else
	SELECT bench.wait_for_older_snapshots('bench.funnel_activity') AS waited \gset
	VACUUM bench.funnel_activity;
	SELECT relallvisible = relpages AS all_visible FROM pg_class
	WHERE oid = 'bench.funnel_activity'::regclass \gset
\endif
\if :all_visible
\else
	\echo 'bench.funnel_activity: VACUUM left pages not all-visible (an old snapshot open?)'
	\quit
\endif
CREATE TEMP VIEW funnel_window_functions AS
WITH e AS (
	SELECT a.lead_id, a.occurred_at AS ts,
		   CASE a.kind WHEN 'page_view' THEN 1 WHEN 'content_download' THEN 2
					   WHEN 'webinar' THEN 3 ELSE 4 END AS step
	FROM bench.funnel_activity AS a
	WHERE a.kind IN ('page_view', 'content_download', 'webinar', 'demo_request')),
-- the latest start of a chain that reached the step before, for every event
s1 AS (SELECT e.*, max(ts) FILTER (WHERE step = 1) OVER w AS c1 FROM e
	   WINDOW w AS (PARTITION BY lead_id ORDER BY ts, step ROWS UNBOUNDED PRECEDING)),
s2 AS (SELECT s1.*, max(CASE WHEN step = 2 AND ts <= c1 + interval '30 days' THEN c1 END) OVER w AS c2 FROM s1
	   WINDOW w AS (PARTITION BY lead_id ORDER BY ts, step ROWS UNBOUNDED PRECEDING)),
s3 AS (SELECT s2.*, max(CASE WHEN step = 3 AND ts <= c2 + interval '30 days' THEN c2 END) OVER w AS c3 FROM s2
	   WINDOW w AS (PARTITION BY lead_id ORDER BY ts, step ROWS UNBOUNDED PRECEDING))
SELECT lead_id,
	   CASE WHEN bool_or(step = 4 AND ts <= c3 + interval '30 days') THEN 4
			WHEN bool_or(c3 IS NOT NULL) THEN 3
			WHEN bool_or(c2 IS NOT NULL) THEN 2
			WHEN bool_or(step = 1) THEN 1 ELSE 0 END AS level
FROM s3
GROUP BY lead_id;

CREATE TEMP VIEW funnel_lead_gen AS
SELECT a.lead_id,
	   lead_gen.window_funnel('30 days', a.occurred_at, a.kind = 'page_view', a.kind = 'content_download',
							  a.kind = 'webinar', a.kind = 'demo_request') AS level
FROM bench.funnel_activity AS a
WHERE a.kind IN ('page_view', 'content_download', 'webinar', 'demo_request')
GROUP BY a.lead_id;

-- The same funnel with the steps named (compared in C).
CREATE TEMP VIEW funnel_lead_gen_named AS
SELECT a.lead_id,
	   lead_gen.window_funnel('30 days', a.occurred_at, a.kind, 'page_view', 'content_download',
							  'webinar', 'demo_request') AS level
FROM bench.funnel_activity AS a
WHERE a.kind IN ('page_view', 'content_download', 'webinar', 'demo_request')
GROUP BY a.lead_id;

-- All give every lead the same level (or the comparison would mean nothing).
SELECT count(*) AS leads,
	   count(*) FILTER (WHERE f.level IS DISTINCT FROM w.level OR n.level IS DISTINCT FROM w.level) AS differ,
	   string_agg(DISTINCT f.level::text, ',') AS levels
FROM funnel_lead_gen AS f FULL JOIN funnel_window_functions AS w USING (lead_id)
FULL JOIN funnel_lead_gen_named AS n USING (lead_id) \gset
SELECT count(*) AS rows FROM bench.funnel_activity
WHERE kind IN ('page_view', 'content_download', 'webinar', 'demo_request') \gset
\echo window_funnel check: :rows activity rows, :leads leads, levels :levels, :differ levels differ from the window functions (conditions or named steps)
SELECT :differ = 0 AS ok \gset
\if :ok
\else
	\echo 'window_funnel and the window functions disagree'
	\quit
\endif

SELECT bench.compare('window_funnel vs window functions (' || :rows || ' rows)',
	'SELECT level, count(*) FROM funnel_lead_gen GROUP BY level',
	'window functions', 'SELECT level, count(*) FROM funnel_window_functions GROUP BY level', 3) AS line \gset
\echo :line
SELECT bench.compare('window_funnel vs bare count(*) (' || :rows || ' rows)',
	'SELECT level, count(*) FROM funnel_lead_gen GROUP BY level',
	'count(*)', $$SELECT count(*) FROM bench.funnel_activity AS a
				 WHERE a.kind IN ('page_view', 'content_download', 'webinar', 'demo_request')$$) AS line \gset
\echo :line
SELECT bench.compare('window_funnel, named steps, vs window functions (' || :rows || ' rows)',
	'SELECT level, count(*) FROM funnel_lead_gen_named GROUP BY level',
	'window functions', 'SELECT level, count(*) FROM funnel_window_functions GROUP BY level', 3) AS line \gset
\echo :line
SELECT bench.compare('window_funnel, named steps, vs bare count(*) (' || :rows || ' rows)',
	'SELECT level, count(*) FROM funnel_lead_gen_named GROUP BY level',
	'count(*)', $$SELECT count(*) FROM bench.funnel_activity AS a
				 WHERE a.kind IN ('page_view', 'content_download', 'webinar', 'demo_request')$$) AS line \gset
\echo :line
-- The floor of any per-lead aggregate: grouping the same rows by lead and
-- counting them, with the faster of the two plans (the planner hashes here,
-- which takes twice as long as reading the index in lead order).  How much
-- faster than the window functions that floor is bounds what window_funnel
-- (or anything computing per lead) can reach.
CREATE OR REPLACE FUNCTION bench.leads_counted() RETURNS bigint LANGUAGE sql SET enable_hashagg = off AS $$
	SELECT count(*) FROM (SELECT a.lead_id, count(*) FROM bench.funnel_activity AS a
		WHERE a.kind IN ('page_view', 'content_download', 'webinar', 'demo_request')
		GROUP BY a.lead_id) AS g
$$;
SELECT bench.compare('floor: GROUP BY lead_id count(*) vs window functions (' || :rows || ' rows)',
	'SELECT bench.leads_counted()',
	'window functions', 'SELECT level, count(*) FROM funnel_window_functions GROUP BY level', 3,
	'GROUP BY count(*)') AS line \gset
\echo :line
DROP TABLE bench.funnel_activity CASCADE;
DROP FUNCTION bench.leads_counted();
