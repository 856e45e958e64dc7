-- rescore() and recompute_all() against the plain-SQL way to bring every
-- lead's decayed score up to date: an aggregate over all activity and an
-- UPDATE of every lead (on the table with its triggers off, as a table
-- without lead_gen would be).
CREATE OR REPLACE PROCEDURE bench.plain_recompute() LANGUAGE plpgsql AS $$
BEGIN
	ALTER TABLE lead_gen.lead DISABLE TRIGGER USER;
	UPDATE lead_gen.lead AS l
	SET score = 0.2 * coalesce(l.fit, 0) + least(s.points, 100),
		temperature = CASE WHEN 0.2 * coalesce(l.fit, 0) + least(s.points, 100) >= 60 THEN 'hot'
						   WHEN 0.2 * coalesce(l.fit, 0) + least(s.points, 100) >= 25 THEN 'warm'
						   ELSE 'cold' END::lead_gen.temperature,
		scored_at = now()
	FROM (SELECT a.lead_id,
				 sum(r.points * power(2::float8, -extract(epoch FROM now() - a.occurred_at)::float8 / 2592000)) AS points
		  FROM lead_gen.activity AS a JOIN lead_gen.scoring_rule AS r USING (kind)
		  GROUP BY a.lead_id) AS s
	WHERE l.lead_id = s.lead_id;
	ALTER TABLE lead_gen.lead ENABLE TRIGGER USER;
END $$;

-- The same recompute with lead_gen's daily caps (the first daily_cap of a
-- kind per lead and UTC day count, by time): the plain SQL that gives the
-- scores lead_gen gives, checked after each run.
CREATE OR REPLACE PROCEDURE bench.plain_recompute_capped() LANGUAGE plpgsql AS $$
BEGIN
	ALTER TABLE lead_gen.lead DISABLE TRIGGER USER;
	UPDATE lead_gen.lead AS l
	SET score = 0.2 * coalesce(l.fit, 0) + least(s.points, 100),
		temperature = CASE WHEN 0.2 * coalesce(l.fit, 0) + least(s.points, 100) >= 60 THEN 'hot'
						   WHEN 0.2 * coalesce(l.fit, 0) + least(s.points, 100) >= 25 THEN 'warm'
						   ELSE 'cold' END::lead_gen.temperature,
		scored_at = now()
	FROM (SELECT c.lead_id,
				 sum(c.points * power(2::float8, -extract(epoch FROM now() - c.occurred_at)::float8 / 2592000)) AS points
		  FROM (SELECT a.lead_id, r.points, r.daily_cap, a.occurred_at,
					   row_number() OVER (PARTITION BY a.lead_id, a.kind, (a.occurred_at AT TIME ZONE 'UTC')::date
										  ORDER BY a.occurred_at, a.activity_id) AS n
				FROM lead_gen.activity AS a JOIN lead_gen.scoring_rule AS r USING (kind)
				WHERE r.points <> 0) AS c
		  WHERE c.daily_cap IS NULL OR c.n <= c.daily_cap
		  GROUP BY c.lead_id) AS s
	WHERE l.lead_id = s.lead_id;
	ALTER TABLE lead_gen.lead ENABLE TRIGGER USER;
END $$;

-- A share of the leads due now, set behind the triggers' back (untimed).
CREATE OR REPLACE PROCEDURE bench.make_due(every int) LANGUAGE plpgsql AS $$
BEGIN
	ALTER TABLE lead_gen.lead DISABLE TRIGGER lead_score;
	UPDATE lead_gen.lead SET next_change_at = now() - interval '1 second' WHERE lead_id % every = 0;
	ALTER TABLE lead_gen.lead ENABLE TRIGGER lead_score;
END $$;

CREATE TEMP TABLE times (name text, secs float8);
CREATE TEMP TABLE capped_differs (n bigint);
\o /dev/null

-- three runs of each, interleaved; the median counts (their output is not wanted)
\ir scoring_round.sql
\ir scoring_round.sql
\ir scoring_round.sql
\o

WITH m AS (SELECT name, percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS secs FROM times GROUP BY name)
SELECT format('rescore() with 1%% of leads due: lead_gen %ss, plain SQL recompute %ss, ratio %sx',
			  round(r.secs::numeric, 3), round(p.secs::numeric, 3), round((p.secs / r.secs)::numeric, 1)) AS line
FROM m r, m p WHERE r.name = 'rescore' AND p.name = 'plain' \gset
\echo :line
WITH m AS (SELECT name, percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS secs FROM times GROUP BY name)
SELECT format('recompute_all(): lead_gen %ss, plain SQL recompute %ss, ratio %sx',
			  round(r.secs::numeric, 3), round(p.secs::numeric, 3), round((p.secs / r.secs)::numeric, 2)) AS line
FROM m r, m p WHERE r.name = 'recompute_all' AND p.name = 'plain' \gset
\echo :line
WITH m AS (SELECT name, percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) AS secs FROM times GROUP BY name)
SELECT format('recompute_all(): lead_gen %ss, plain SQL recompute with daily caps %ss, ratio %sx (leads scored differently: %s)',
			  round(r.secs::numeric, 3), round(p.secs::numeric, 3), round((p.secs / r.secs)::numeric, 2),
			  (SELECT max(n) FROM capped_differs)) AS line
FROM m r, m p WHERE r.name = 'recompute_all' AND p.name = 'plain_capped' \gset
\echo :line
