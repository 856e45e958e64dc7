/*
 * lead_gen 1.3 -> 1.4
 */

\echo Use "ALTER EXTENSION lead_gen UPDATE TO '1.4'" to load this file. \quit

-- A restore is right at once: restoring the scoring rules or settings
-- recomputes the leads restored before them (see sql/install/scoring.sql).
CREATE FUNCTION @extschema@.restoring()
RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_restoring'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.restoring() IS
	'Whether this session replays a dump (pg_dump output runs with row_security off); the triggers then rebuild derived values from what is restored and do nothing else';

CREATE OR REPLACE FUNCTION @extschema@.scoring_mark_changed()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO @extschema@.scoring_state (singleton, changed_at) VALUES (true, pg_catalog.now())
	ON CONFLICT (singleton) DO UPDATE SET changed_at = excluded.changed_at;
	IF @extschema@.restoring() AND TG_TABLE_NAME IN ('scoring_rule', 'scoring_settings') THEN
		LOCK TABLE @extschema@.lead IN SHARE ROW EXCLUSIVE MODE;
		UPDATE @extschema@.lead AS l
		SET engagement = h.engagement, first_touch_at = h.first_touch_at
		FROM (SELECT x.lead_id, s.engagement, s.first_touch_at
			  FROM @extschema@.lead AS x
			  LEFT JOIN @extschema@.history_state((SELECT pg_catalog.min(y.lead_id) FROM @extschema@.lead AS y),
												   (SELECT pg_catalog.max(y.lead_id) FROM @extschema@.lead AS y)) AS s
				ON s.lead_id OPERATOR(pg_catalog.=) x.lead_id) AS h
		WHERE l.lead_id OPERATOR(pg_catalog.=) h.lead_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_mark_changed() IS
	'AFTER statement trigger on the scoring and stage configuration: records that every lead needs recomputing; in a restore, recomputes the restored leads under restored scoring rules or settings at once';
