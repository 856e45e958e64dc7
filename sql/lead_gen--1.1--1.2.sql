/*
 * lead_gen 1.1 -> 1.2: recompute_all() reads only its batch of leads.
 *
 * Each batch's UPDATE joined the lead table to the batch without the batch's
 * range on the updated table itself, so the planner read every lead per
 * batch: a full recompute of n leads in batches of b read n * n / b lead
 * rows (100 times the table at a million leads).  Same results, same
 * signature; only the procedure's body changes.
 */

\echo Use "ALTER EXTENSION lead_gen UPDATE TO '1.2'" to load this file. \quit

CREATE OR REPLACE PROCEDURE @extschema@.recompute_all(batch_size integer DEFAULT 10000, INOUT recomputed bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	lo bigint;
	hi bigint;
	last_id bigint;
	n bigint;
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
		SELECT pg_catalog.max(b.lead_id) INTO hi
		FROM (SELECT l.lead_id FROM @extschema@.lead AS l
			  WHERE l.lead_id OPERATOR(pg_catalog.>=) lo
			  ORDER BY l.lead_id LIMIT batch_size) AS b;
		EXIT WHEN hi IS NULL;
		-- stage moves this causes are the scheduled job's (until COMMIT)
		PERFORM pg_catalog.set_config('lead_gen.stage_cause', 'rescore', true);
		-- lock the batch first: the UPDATE then reads history with a snapshot
		-- that includes what concurrent writers of these leads committed
		PERFORM 1 FROM @extschema@.lead AS l
		WHERE l.lead_id OPERATOR(pg_catalog.>=) lo AND l.lead_id OPERATOR(pg_catalog.<=) hi
		ORDER BY l.lead_id
		FOR NO KEY UPDATE;
		-- the batch's range on the updated table too: without it every batch
		-- read the whole lead table to find its rows
		UPDATE @extschema@.lead AS l
		SET engagement = h.engagement, first_touch_at = h.first_touch_at
		FROM (SELECT l2.lead_id, x.engagement, t.first_touch_at
			  FROM @extschema@.lead AS l2
			  LEFT JOIN @extschema@.history_engagement(lo, hi) AS x
				ON x.lead_id OPERATOR(pg_catalog.=) l2.lead_id
			  LEFT JOIN @extschema@.history_first_touch(lo, hi) AS t
				ON t.lead_id OPERATOR(pg_catalog.=) l2.lead_id
			  WHERE l2.lead_id OPERATOR(pg_catalog.>=) lo AND l2.lead_id OPERATOR(pg_catalog.<=) hi) AS h
		WHERE l.lead_id OPERATOR(pg_catalog.=) h.lead_id
		  AND l.lead_id OPERATOR(pg_catalog.>=) lo AND l.lead_id OPERATOR(pg_catalog.<=) hi;
		GET DIAGNOSTICS n = ROW_COUNT;
		recomputed := recomputed OPERATOR(pg_catalog.+) n;
		COMMIT;
		lo := hi OPERATOR(pg_catalog.+) 1;
	END LOOP;
	INSERT INTO @extschema@.scoring_state (singleton, recomputed_at) VALUES (true, started)
	ON CONFLICT (singleton) DO UPDATE SET recomputed_at = excluded.recomputed_at;
	COMMIT;
END
$$;
