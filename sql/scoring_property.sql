-- Property: however activity arrives (one row at a time, in bulk, out of time
-- order, then updated and deleted), every lead's incrementally kept
-- engagement equals its recomputation from history.
SET search_path = lead_gen, public;
SELECT setseed(0.4242);
TRUNCATE lead CASCADE;

INSERT INTO lead (email) SELECT 'p' || g || '@property.example' FROM generate_series(1, 200) g;
SELECT min(lead_id) AS first_lead FROM lead \gset

-- 6,000 activities of capped, uncapped, negative and unknown kinds, many on
-- the same days (so daily caps bite), over the past 60 days.
CREATE TEMP TABLE planned AS
SELECT :first_lead + (random() * 199)::int AS lead_id,
	   (ARRAY['page_view', 'page_view', 'page_view', 'email_open', 'email_open', 'email_click',
			  'content_download', 'webinar', 'demo_request', 'unsubscribe', 'bounce',
			  'sales_call'])[1 + (random() * 11)::int] AS kind,
	   date_trunc('day', now()) - (random() * 60)::int * interval '1 day'
		 + (random() * 86399)::int * interval '1 second' - interval '1 day' AS occurred_at,
	   random() AS r, g
FROM generate_series(1, 6000) g;
-- everything on a handful of leads and days too, to pile up against caps
INSERT INTO planned
SELECT :first_lead, 'page_view',
	   date_trunc('day', now()) - interval '2 days' + (random() * 86399)::int * interval '1 second', random(), 6000 + g
FROM generate_series(1, 300) g;

-- a third one row at a time, in random order
DO $$
DECLARE
	a record;
BEGIN
	FOR a IN SELECT * FROM planned WHERE r < 0.33 ORDER BY g LOOP
		INSERT INTO lead_gen.activity (lead_id, kind, occurred_at) VALUES (a.lead_id, a.kind, a.occurred_at);
	END LOOP;
END
$$;
-- a third in one bulk statement, newest first
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, kind, occurred_at FROM planned WHERE r >= 0.33 AND r < 0.66 ORDER BY occurred_at DESC;
-- the rest in bulk batches of random order
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, kind, occurred_at FROM planned WHERE r >= 0.66 AND r < 0.83 ORDER BY random();
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, kind, occurred_at FROM planned WHERE r >= 0.83 ORDER BY random();
SELECT count(*) AS activities FROM activity;

CREATE TEMP VIEW mismatch AS
SELECT l.lead_id,
	   coalesce(engagement_value(l.engagement, now()), 0) AS incremental,
	   coalesce(engagement_value(engagement_from_history(l.lead_id), now()), 0) AS from_scratch
FROM lead l;
SELECT count(*) AS leads, count(*) FILTER (WHERE incremental <> 0) AS engaged,
	   count(*) FILTER (WHERE abs(incremental - from_scratch) > 1e-9 * greatest(1, abs(from_scratch))) AS differ
FROM mismatch;

-- Updates and deletes of history.
UPDATE activity SET kind = 'demo_request' WHERE activity_id % 37 = 0;
UPDATE activity SET occurred_at = occurred_at - interval '3 days' WHERE activity_id % 41 = 0;
DELETE FROM activity WHERE activity_id % 13 = 0;
SELECT count(*) FILTER (WHERE abs(incremental - from_scratch) > 1e-9 * greatest(1, abs(from_scratch))) AS differ_after_changes
FROM mismatch;

-- More late arrivals into days that already hit their caps.
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT lead_id, kind, occurred_at - interval '1 second' FROM activity WHERE activity_id % 7 = 0;
SELECT count(*) FILTER (WHERE abs(incremental - from_scratch) > 1e-9 * greatest(1, abs(from_scratch))) AS differ_after_late
FROM mismatch;

-- Statements that add to one lead each: its lead trigger settles the caps.
-- Most leads have no activity on today's UTC date yet (the history above
-- ends at most eight hours into it), so their groups today rank among the
-- new rows alone (no query); the same statements add to days that already
-- have some (read).  Each statement goes over the caps, in random time
-- order; the second round comes to days the first reached.
CREATE TEMP TABLE per_lead AS
SELECT :first_lead + (g % 40) AS lead_id,
	   (ARRAY['page_view', 'page_view', 'page_view', 'email_open', 'webinar', 'call'])[1 + (random() * 5)::int] AS kind,
	   CASE WHEN random() < 0.8
			THEN date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
				 + random() * (now() - date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
			ELSE now() - interval '2 days' - random() * interval '3 days' END AS occurred_at,
	   g
FROM generate_series(1, 4000) g;
DO $$
DECLARE
	l bigint;
BEGIN
	FOR round IN 0..1 LOOP
		FOR l IN SELECT DISTINCT lead_id FROM per_lead ORDER BY 1 LOOP
			INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
			SELECT lead_id, kind, occurred_at FROM per_lead
			WHERE lead_id = l AND g % 2 = round ORDER BY random();
		END LOOP;
	END LOOP;
END
$$;
SELECT count(*) FILTER (WHERE abs(incremental - from_scratch) > 1e-9 * greatest(1, abs(from_scratch))) AS differ_one_lead_statements
FROM mismatch;
-- One bulk statement for 100 other leads, over the caps: today, which most
-- of them have not reached (the new rows rank among themselves), and earlier
-- days they have (read after the leads are locked).
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT :first_lead + 50 + g % 100, CASE WHEN g % 3 = 0 THEN 'email_open' ELSE 'page_view' END,
	   CASE WHEN g % 10 = 0 THEN now() - interval '2 days' - (g % 17) * interval '1 hour'
			ELSE date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
				 + random() * (now() - date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') END
FROM generate_series(1, 4000) AS g ORDER BY random();
SELECT count(*) FILTER (WHERE abs(incremental - from_scratch) > 1e-9 * greatest(1, abs(from_scratch))) AS differ_bulk_over_caps
FROM mismatch;
-- With the lead trigger disabled nothing settles the caps: the activity
-- trigger counts that lead from history instead.
ALTER TABLE lead DISABLE TRIGGER lead_score;
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT :first_lead + 41, 'page_view', now() - g * interval '1 second' FROM generate_series(1, 25) g;
ALTER TABLE lead ENABLE TRIGGER lead_score;
SELECT abs(incremental - from_scratch) <= 1e-9 * greatest(1, abs(from_scratch)) AS counted_from_history
FROM mismatch WHERE lead_id = :first_lead + 41;
UPDATE lead SET engagement = engagement WHERE lead_id = :first_lead + 41;	-- its score

-- history_state (one pass: engagement and first sales touch) agrees with
-- history_engagement and the first sales touch read apart.
SELECT count(*) AS leads, count(s.first_touch_at) AS touched,
	   count(*) FILTER (WHERE abs(coalesce(engagement_value(s.engagement, now()), 0)
							  - coalesce(engagement_value(e.engagement, now()), 0)) > 1e-9
						   OR s.first_touch_at IS DISTINCT FROM t.first_touch_at
						   OR (s.engagement IS NULL) <> (e.engagement IS NULL)) AS state_differs
FROM lead AS l
LEFT JOIN history_state(:first_lead, :first_lead + 199) AS s USING (lead_id)
LEFT JOIN history_engagement(:first_lead, :first_lead + 199) AS e USING (lead_id)
LEFT JOIN history_first_touch(:first_lead, :first_lead + 199) AS t USING (lead_id);

-- Stored score and temperature are those of the stored state at scored_at,
-- and recompute_all changes no engagement.
SELECT count(*) FILTER (WHERE abs(score - lead_score(l, scored_at)) > 1e-9) AS score_differs,
	   count(*) FILTER (WHERE temperature <> CASE WHEN score >= 60 THEN 'hot' WHEN score >= 25 THEN 'warm' ELSE 'cold' END::temperature) AS temperature_differs
FROM lead l;
-- explain_score (a window function) and history (the capped_engagement
-- aggregate) state the daily-cap rule twice: they agree on every lead.
SELECT count(*) FILTER (WHERE abs(score_at(lead_id, now()) - lead_score(l, now())) > 1e-9 * greatest(1, abs(lead_score(l, now())))) AS explain_differs
FROM lead l;
CREATE TEMP TABLE before AS SELECT lead_id, now() AS t, engagement_value(engagement, now()) AS v FROM lead;
CALL recompute_all(37);
SELECT count(*) FILTER (WHERE abs(coalesce(b.v, 0) - coalesce(engagement_value(l.engagement, b.t), 0)) > 1e-9 * greatest(1, abs(b.v))) AS changed_by_recompute
FROM lead l JOIN before b USING (lead_id);
TRUNCATE lead CASCADE;
