/*
 * lead_gen 1.1 -> 1.2: recompute_all() reads only its batch of leads,
 * rescore()'s SLA check only the leads in stages with an SLA, and
 * window_funnel takes its steps as names too.
 *
 * Each batch's UPDATE joined the lead table to the batch without the batch's
 * range on the updated table itself, so the planner read every lead per
 * batch: a full recompute of n leads in batches of b read n * n / b lead
 * rows (100 times the table at a million leads).  Same results, same
 * signature; only the procedure's body changes.
 *
 * flag_sla_breaches(), which every rescore() runs, joined every lead to the
 * stage rules; it now reads one stage with an SLA at a time, by the stage
 * index.
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

CREATE OR REPLACE FUNCTION @extschema@.flag_sla_breaches()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	b record;
	st @extschema@.lifecycle_stage;
	n bigint := 0;
	notify boolean := coalesce(current_setting('lead_gen.notify', true), 'on') <> 'off';
BEGIN
	-- one stage with an SLA at a time, planned for that stage (EXECUTE: a
	-- cached generic plan would not know how few leads it holds): its leads
	-- are read by lead_stage_idx instead of every lead being read, on every
	-- rescore()
	FOR st IN SELECT r.stage FROM @extschema@.stage_rule AS r WHERE r.sla IS NOT NULL ORDER BY r.stage
	LOOP
		FOR b IN EXECUTE
			'INSERT INTO @extschema@.sla_flag (lead_id, stage, entered_at, due_at)
			 SELECT s.lead_id, s.stage, s.entered_at, s.due_at FROM @extschema@.sla_breach AS s
			 WHERE s.stage = $1
			 ORDER BY s.lead_id
			 ON CONFLICT DO NOTHING
			 RETURNING lead_id, stage, due_at' USING st
		LOOP
			n := n + 1;
			IF notify THEN
				PERFORM pg_notify('lead_gen_events', json_build_object(
					'lead_id', b.lead_id, 'event', 'sla_breach', 'stage', b.stage, 'due_at', b.due_at)::text);
			END IF;
		END LOOP;
	END LOOP;
	RETURN n;
END
$$;

-- window_funnel with the steps named: step k holds on a row whose event
-- equals the k-th step (compared in C, byte for byte).
CREATE FUNCTION @extschema@.window_funnel_event_accum(internal, interval, timestamptz, text, VARIADIC text[])
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_event_accum'
LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_event_accum(internal, interval, text, timestamptz, text, VARIADIC text[])
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_event_accum'
LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.window_funnel_event_accum(internal, interval, timestamptz, text, VARIADIC text[]) IS
	'Transition function of window_funnel with named steps';
COMMENT ON FUNCTION @extschema@.window_funnel_event_accum(internal, interval, text, timestamptz, text, VARIADIC text[]) IS
	'Transition function of window_funnel with a mode and named steps';

CREATE AGGREGATE @extschema@.window_funnel("window" interval, ts timestamptz, event text, VARIADIC steps text[]) (
	SFUNC = @extschema@.window_funnel_event_accum,
	STYPE = internal,
	FINALFUNC = @extschema@.window_funnel_final,
	COMBINEFUNC = @extschema@.window_funnel_combine,
	SERIALFUNC = @extschema@.window_funnel_serialize,
	DESERIALFUNC = @extschema@.window_funnel_deserialize,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.window_funnel("window" interval, mode text, ts timestamptz, event text, VARIADIC steps text[]) (
	SFUNC = @extschema@.window_funnel_event_accum,
	STYPE = internal,
	FINALFUNC = @extschema@.window_funnel_final,
	COMBINEFUNC = @extschema@.window_funnel_combine,
	SERIALFUNC = @extschema@.window_funnel_serialize,
	DESERIALFUNC = @extschema@.window_funnel_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, timestamptz, text, VARIADIC text[]) IS
	'window_funnel with named steps: step k holds on a row whose event equals the k-th step';
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, text, timestamptz, text, VARIADIC text[]) IS
	'window_funnel with a mode and named steps';
