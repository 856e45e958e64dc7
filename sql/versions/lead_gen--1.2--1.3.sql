/*
 * lead_gen 1.2 -> 1.3: recompute_all() reads activity in windows of 200,000
 * leads, once, instead of twice per batch.
 *
 * Activity is stored in the order it arrives, not by lead, so reading the
 * history of a batch of leads visits most of the table's pages whatever the
 * batch's size: a million leads in batches of 10,000 meant a hundred passes
 * over the activity table, two per batch (engagement, then first touch).
 * history_state() reads both in one pass, for a window of many batches; each
 * batch then writes the leads whose row is still the version read beside
 * their history (any change of a lead's activity updates the lead, so a
 * changed lead has a new row version), and recomputes the rest from history
 * after locking them.  Same results, same signature.
 */

\echo Use "ALTER EXTENSION lead_gen UPDATE TO '1.3'" to load this file. \quit

CREATE FUNCTION @extschema@.history_state(first_lead bigint, last_lead bigint)
RETURNS TABLE (lead_id bigint, engagement @extschema@.engagement, first_touch_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.lead_id,
		   @extschema@.capped_engagement(r.points, a.occurred_at, a.activity_id, a.kind, r.daily_cap,
			   coalesce((SELECT s.half_life FROM @extschema@.scoring_settings AS s), interval '30 days'))
			   FILTER (WHERE r.points <> 0 AND r.daily_cap IS DISTINCT FROM 0),
		   min(a.occurred_at) FILTER (WHERE r.sales_touch)
	FROM @extschema@.activity AS a
	JOIN @extschema@.scoring_rule AS r ON r.kind = a.kind
	WHERE a.lead_id BETWEEN first_lead AND last_lead
	GROUP BY a.lead_id
$$;
COMMENT ON FUNCTION @extschema@.history_state(bigint, bigint) IS
	'Engagement and first sales touch of a range of leads recomputed from their activity in one pass, under the current rules; leads without activity of a kind with a rule are left out';

CREATE OR REPLACE PROCEDURE @extschema@.recompute_all(batch_size integer DEFAULT 10000, INOUT recomputed bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	lo bigint;
	window_hi bigint;
	last_id bigint;
	n bigint;
	nwindow integer;
	i integer;
	j integer;
	me pg_catalog.xid;
	-- leads whose history one statement reads: enough that a pass over the
	-- activity table serves many of them
	window_size integer := GREATEST(batch_size, 200000);
	ids bigint[];
	versions pg_catalog.xid[];
	engagements @extschema@.engagement[];
	touches timestamptz[];
	started timestamptz := pg_catalog.clock_timestamp();
BEGIN
	IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT pg_catalog.has_table_privilege('@extschema@.scoring_state', 'INSERT, UPDATE') THEN
		RAISE EXCEPTION 'permission denied to recompute every lead'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'recompute_all() and rescore() need the admin access level (lead_gen.grant_access).';
	END IF;
	recomputed := 0;
	SELECT pg_catalog.min(l.lead_id), pg_catalog.max(l.lead_id) INTO lo, last_id FROM @extschema@.lead AS l;
	WHILE lo IS NOT NULL AND lo OPERATOR(pg_catalog.<=) last_id LOOP
		SELECT pg_catalog.max(w.lead_id) INTO window_hi
		FROM (SELECT l.lead_id FROM @extschema@.lead AS l
			  WHERE l.lead_id OPERATOR(pg_catalog.>=) lo
			  ORDER BY l.lead_id LIMIT window_size) AS w;
		EXIT WHEN window_hi IS NULL;
		-- the window's leads in lead_id order, each with its history and the
		-- row version that history was read beside (one snapshot)
		SELECT pg_catalog.array_agg(s.lead_id), pg_catalog.array_agg(s.version),
			   pg_catalog.array_agg(s.engagement), pg_catalog.array_agg(s.first_touch_at)
		INTO ids, versions, engagements, touches
		FROM (SELECT l.lead_id, l.xmin AS version, h.engagement, h.first_touch_at
			  FROM @extschema@.lead AS l
			  LEFT JOIN @extschema@.history_state(lo, window_hi) AS h ON h.lead_id OPERATOR(pg_catalog.=) l.lead_id
			  WHERE l.lead_id OPERATOR(pg_catalog.>=) lo AND l.lead_id OPERATOR(pg_catalog.<=) window_hi
			  ORDER BY l.lead_id) AS s;
		nwindow := coalesce(pg_catalog.cardinality(ids), 0);
		i := 1;
		WHILE i OPERATOR(pg_catalog.<=) nwindow LOOP
			j := LEAST(i OPERATOR(pg_catalog.+) batch_size OPERATOR(pg_catalog.-) 1, nwindow);
			-- stage moves this causes are the scheduled job's (until COMMIT)
			PERFORM pg_catalog.set_config('lead_gen.stage_cause', 'rescore', true);
			-- the leads still at the row version read: any change of their
			-- activity since would have updated them
			UPDATE @extschema@.lead AS l
			SET engagement = h.engagement, first_touch_at = h.first_touch_at
			FROM ROWS FROM (pg_catalog.unnest(ids[i:j]), pg_catalog.unnest(versions[i:j]),
							pg_catalog.unnest(engagements[i:j]), pg_catalog.unnest(touches[i:j]))
				 AS h(lead_id, version, engagement, first_touch_at)
			WHERE l.lead_id OPERATOR(pg_catalog.=) h.lead_id
			  AND l.xmin OPERATOR(pg_catalog.=) h.version
			  AND l.lead_id OPERATOR(pg_catalog.>=) ids[i] AND l.lead_id OPERATOR(pg_catalog.<=) ids[j];
			GET DIAGNOSTICS n = ROW_COUNT;
			recomputed := recomputed OPERATOR(pg_catalog.+) n;
			-- the others of the batch's range (changed since, or new): locked
			-- first, so that the next statement reads their history with what
			-- their writers committed
			me := pg_catalog.pg_current_xact_id()::pg_catalog.xid;
			PERFORM 1 FROM @extschema@.lead AS l
			WHERE l.lead_id OPERATOR(pg_catalog.>=) ids[i] AND l.lead_id OPERATOR(pg_catalog.<=) ids[j]
			  AND l.xmin OPERATOR(pg_catalog.<>) me
			ORDER BY l.lead_id
			FOR NO KEY UPDATE;
			IF FOUND THEN
				UPDATE @extschema@.lead AS l
				SET (engagement, first_touch_at) =
					(SELECT h.engagement, h.first_touch_at
					 FROM @extschema@.history_state(l.lead_id, l.lead_id) AS h)
				WHERE l.lead_id OPERATOR(pg_catalog.>=) ids[i] AND l.lead_id OPERATOR(pg_catalog.<=) ids[j]
				  AND l.xmin OPERATOR(pg_catalog.<>) me;
				GET DIAGNOSTICS n = ROW_COUNT;
				recomputed := recomputed OPERATOR(pg_catalog.+) n;
			END IF;
			COMMIT;
			i := j OPERATOR(pg_catalog.+) 1;
		END LOOP;
		lo := window_hi OPERATOR(pg_catalog.+) 1;
	END LOOP;
	INSERT INTO @extschema@.scoring_state (singleton, recomputed_at) VALUES (true, started)
	ON CONFLICT (singleton) DO UPDATE SET recomputed_at = excluded.recomputed_at;
	COMMIT;
END
$$;
