/*
 * sql/install/scoring.sql
 *
 * Scoring: the rules and settings, the history functions every incremental
 * update must agree with, the triggers that keep scores current, rescore()
 * and recompute_all(), and explaining a score.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Scoring: rules, settings, the triggers that keep scores current
-- ---------------------------------------------------------------------------

-- Inserting a row with the key of an existing one replaces it: that is how
-- pg_restore brings back configuration whose defaults CREATE EXTENSION wrote.
CREATE FUNCTION @extschema@.config_replace()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	sets text;
	keys text;
	replaced bigint;
BEGIN
	SELECT string_agg(format('%I = ($1).%I', a.attname, a.attname), ', ')
	INTO sets
	FROM pg_attribute AS a
	WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped;
	SELECT string_agg(format('%I = ($1).%I', a.attname, a.attname), ' AND ')
	INTO keys
	FROM pg_index AS i
	JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
	WHERE i.indrelid = TG_RELID AND i.indisprimary;
	EXECUTE format('UPDATE %I.%I SET %s WHERE %s', TG_TABLE_SCHEMA, TG_TABLE_NAME, sets, keys)
		USING NEW;
	-- EXECUTE does not set FOUND
	GET DIAGNOSTICS replaced = ROW_COUNT;
	IF replaced OPERATOR(pg_catalog.>) 0 THEN
		RETURN NULL;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.config_replace() IS
	'BEFORE INSERT trigger on configuration tables: a row whose primary key exists replaces that row (this is how pg_restore brings configuration back)';

CREATE FUNCTION @extschema@.config_keep()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'cannot delete rows of %.%', TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'restrict_violation',
			  HINT = 'Its rows are the complete configuration; UPDATE them instead.';
END
$$;
COMMENT ON FUNCTION @extschema@.config_keep() IS
	'BEFORE DELETE/TRUNCATE trigger on configuration tables whose rows are fixed: they are changed, never deleted';

CREATE TABLE @extschema@.scoring_rule (
	kind		@extschema@.identifier PRIMARY KEY,
	points		float8 NOT NULL,
	daily_cap	integer,
	moves_to	@extschema@.lifecycle_stage,
	sales_touch	boolean NOT NULL DEFAULT false,
	description	text,
	CONSTRAINT scoring_rule_moves_to_check CHECK (moves_to OPERATOR(pg_catalog.<>) 'disqualified'),
	CONSTRAINT scoring_rule_points_check CHECK (
		points OPERATOR(pg_catalog.>=) -1000 AND points OPERATOR(pg_catalog.<=) 1000),
	CONSTRAINT scoring_rule_daily_cap_check CHECK (daily_cap OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT scoring_rule_description_check CHECK (pg_catalog.length(description) OPERATOR(pg_catalog.<=) 2000)
);
COMMENT ON TABLE @extschema@.scoring_rule IS
	'Points per activity kind (negative allowed), with an optional cap on how many of that kind count per lead per UTC day';
COMMENT ON COLUMN @extschema@.scoring_rule.moves_to IS
	'A high-intent event: an activity of the kind moves its lead forward to this stage (NULL: none)';
COMMENT ON COLUMN @extschema@.scoring_rule.sales_touch IS
	'An activity of the kind is a sales touch: it meets stage SLAs and sets lead.first_touch_at (speed to lead)';
COMMENT ON COLUMN @extschema@.scoring_rule.daily_cap IS
	'At most this many activities of the kind count per lead and UTC day (the first ones by time); NULL: no cap';

-- The rules CREATE EXTENSION writes, listed once: the install reads them,
-- and so does the trigger that keeps them from being deleted.
CREATE FUNCTION @extschema@.default_scoring_rules()
RETURNS SETOF @extschema@.scoring_rule
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.kind::@extschema@.identifier, r.points::float8, r.daily_cap::integer,
		   r.moves_to::@extschema@.lifecycle_stage, r.sales_touch, r.description
	FROM (VALUES
	('page_view', 1, 20, NULL, false, 'A page of the website'),
	('email_open', 1, 5, NULL, false, 'Opened a marketing e-mail'),
	('email_click', 3, 5, NULL, false, 'Clicked a link in a marketing e-mail'),
	('content_download', 8, NULL, NULL, false, 'Downloaded an ebook, whitepaper or guide'),
	('webinar', 10, NULL, NULL, false, 'Attended a webinar'),
	('newsletter_signup', 5, NULL, 'mql', false, 'Signed up for the newsletter'),
	('social_follow', 2, NULL, NULL, false, 'Followed a social account'),
	('contact_form', 10, NULL, NULL, false, 'Sent the contact form'),
	('form_submission', 10, NULL, NULL, false, 'Submitted a form (lead_gen.capture())'),
	('pricing_inquiry', 15, NULL, NULL, false, 'Asked about pricing'),
	('free_trial_request', 25, NULL, 'sql', false, 'Asked for a free trial'),
	('demo_request', 30, NULL, 'sql', false, 'Asked for a demo'),
	('careers_page_view', -5, NULL, NULL, false, 'Looked at job openings: likely a job seeker'),
	('unsubscribe', -15, NULL, NULL, false, 'Unsubscribed from e-mail'),
	('bounce', -5, NULL, NULL, false, 'An e-mail to the lead bounced'),
	('call', 0, NULL, NULL, true, 'A sales call with the lead'),
	('meeting', 0, NULL, NULL, true, 'A sales meeting with the lead'),
	('sales_email', 0, NULL, NULL, true, 'A personal e-mail from sales')
	) AS r(kind, points, daily_cap, moves_to, sales_touch, description)
$$;
COMMENT ON FUNCTION @extschema@.default_scoring_rules() IS
	'The default scoring rules: what CREATE EXTENSION writes, and the rules that can be changed but not deleted';
INSERT INTO @extschema@.scoring_rule SELECT * FROM @extschema@.default_scoring_rules();

CREATE TABLE @extschema@.scoring_settings (
	singleton			boolean PRIMARY KEY DEFAULT true,
	half_life			interval NOT NULL DEFAULT '30 days',
	fit_weight			float8 NOT NULL DEFAULT 0.2,
	engagement_weight	float8 NOT NULL DEFAULT 1,
	engagement_cap		float8 NOT NULL DEFAULT 100,
	warm_at				float8 NOT NULL DEFAULT 25,
	hot_at				float8 NOT NULL DEFAULT 60,
	-- last: added in 1.4, where an upgrade adds it
	prediction_weight	float8 NOT NULL DEFAULT 0,
	CONSTRAINT scoring_settings_singleton_check CHECK (singleton),
	CONSTRAINT scoring_settings_half_life_check CHECK (
		half_life OPERATOR(pg_catalog.>=) interval '1 second'
		AND half_life OPERATOR(pg_catalog.<=) interval '100 years'),
	CONSTRAINT scoring_settings_weights_check CHECK (
		fit_weight OPERATOR(pg_catalog.>=) 0 AND fit_weight OPERATOR(pg_catalog.<=) 1000
		AND engagement_weight OPERATOR(pg_catalog.>=) 0 AND engagement_weight OPERATOR(pg_catalog.<=) 1000),
	CONSTRAINT scoring_settings_cap_check CHECK (
		engagement_cap OPERATOR(pg_catalog.>) 0 AND engagement_cap OPERATOR(pg_catalog.<=) 1e9),
	CONSTRAINT scoring_settings_thresholds_check CHECK (
		warm_at OPERATOR(pg_catalog.>) '-Infinity' AND hot_at OPERATOR(pg_catalog.<) 'Infinity'
		AND hot_at OPERATOR(pg_catalog.>) warm_at),
	CONSTRAINT scoring_settings_prediction_weight_check CHECK (
		prediction_weight OPERATOR(pg_catalog.>=) 0 AND prediction_weight OPERATOR(pg_catalog.<=) 1000)
);
COMMENT ON TABLE @extschema@.scoring_settings IS
	'How scores are made (one row): score = fit_weight * fit + prediction_weight * 100 * prediction + engagement_weight * min(engagement, engagement_cap); warm from warm_at, hot from hot_at';
COMMENT ON COLUMN @extschema@.scoring_settings.prediction_weight IS
	'Points per percentage point of the kept model''s prediction (lead.prediction; 0: predictions do not score)';
COMMENT ON COLUMN @extschema@.scoring_settings.half_life IS 'Engagement halves every half_life (months count as 30 days)';
INSERT INTO @extschema@.scoring_settings DEFAULT VALUES;

-- Both tables start with defaults that CREATE EXTENSION writes; pg_dump
-- dumps all their rows, so on restore a row for an existing key replaces it
-- (config_replace), as for every configuration table.  The settings row
-- stays (config_keep); default rules can be changed, not deleted.
CREATE TRIGGER scoring_rule_replace BEFORE INSERT ON @extschema@.scoring_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER scoring_settings_replace BEFORE INSERT ON @extschema@.scoring_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER scoring_settings_keep BEFORE DELETE ON @extschema@.scoring_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER scoring_settings_no_truncate BEFORE TRUNCATE ON @extschema@.scoring_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_keep();

CREATE FUNCTION @extschema@.scoring_rule_keep_defaults()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
		RAISE EXCEPTION 'cannot truncate lead_gen.scoring_rule'
			USING ERRCODE = 'restrict_violation',
				  HINT = 'Delete the rules of your own kinds; set the points of default rules to 0 to stop them counting.';
	END IF;
	IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NEW.kind::text OPERATOR(pg_catalog.=) OLD.kind::text THEN
		RETURN NEW;
	END IF;
	-- renaming one is deleting it: a restore would bring it back beside the new name
	IF EXISTS (SELECT FROM @extschema@.default_scoring_rules() AS d
			   WHERE d.kind::text OPERATOR(pg_catalog.=) OLD.kind::text) THEN
		RAISE EXCEPTION 'cannot % the default scoring rule for "%"',
			CASE TG_OP WHEN 'UPDATE' THEN 'rename' ELSE 'delete' END, OLD.kind
			USING ERRCODE = 'restrict_violation',
				  HINT = 'Set its points to 0 (and moves_to to NULL, sales_touch to false) to stop it counting, and add a rule for the new kind; a deleted default rule would come back after a dump and restore.';
	END IF;
	IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
		RETURN NEW;
	END IF;
	RETURN OLD;
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_rule_keep_defaults() IS
	'BEFORE UPDATE OF kind/DELETE/TRUNCATE trigger: default rules (default_scoring_rules()) can be changed, not renamed or deleted';
CREATE TRIGGER scoring_rule_keep_defaults BEFORE UPDATE OF kind OR DELETE ON @extschema@.scoring_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.scoring_rule_keep_defaults();
CREATE TRIGGER scoring_rule_no_truncate BEFORE TRUNCATE ON @extschema@.scoring_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_rule_keep_defaults();

-- When rules or settings change, and when every lead was last recomputed:
-- rescore() recomputes everyone after a change.  Not dumped: restoring the
-- rules marks them changed, so the first rescore() after a restore
-- recomputes every lead under the restored rules.
CREATE TABLE @extschema@.scoring_state (
	singleton		boolean PRIMARY KEY DEFAULT true,
	changed_at		timestamptz,
	recomputed_at	timestamptz,
	CONSTRAINT scoring_state_singleton_check CHECK (singleton)
);
COMMENT ON TABLE @extschema@.scoring_state IS
	'When the scoring rules or settings last changed and when every lead was last recomputed (at most one row); not dumped: a restore marks the rules changed';

CREATE FUNCTION @extschema@.config_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_config_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.config_changed() IS
	'AFTER statement trigger on the configuration tables: every session reloads the configuration at commit';

CREATE FUNCTION @extschema@.restoring()
RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_restoring'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.restoring() IS
	'Whether this session replays a dump: row_security is off (as in pg_dump''s output) and the role is a superuser or the owner of lead_gen''s tables, which a writer cannot fake; the triggers then keep what is restored, rebuild derived values from it and do nothing else';

-- pg_dump orders the rows of lead_gen's tables by their foreign keys only:
-- leads and their activity may be restored before the rules and settings
-- they were scored under.  So when a restore brings rules or settings back,
-- every lead restored so far is recomputed under them at once (an activity
-- loader of a parallel restore waits for this, see score_activity.c).
CREATE FUNCTION @extschema@.scoring_mark_changed()
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

CREATE TRIGGER scoring_rule_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.scoring_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER scoring_rule_mark_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.scoring_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_mark_changed();
CREATE TRIGGER scoring_settings_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.scoring_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER scoring_settings_mark_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.scoring_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_mark_changed();

CREATE FUNCTION @extschema@.capped_engagement_accum(internal, float8, timestamptz, bigint, text, integer, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_capped_engagement_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.capped_engagement_accum(internal, float8, timestamptz, bigint, text, integer, interval) IS
	'Transition function of capped_engagement';
CREATE FUNCTION @extschema@.capped_engagement_final(internal)
RETURNS @extschema@.engagement
AS 'MODULE_PATHNAME', 'lead_gen_capped_engagement_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.capped_engagement_final(internal) IS
	'Final function of capped_engagement';
CREATE AGGREGATE @extschema@.capped_engagement(points float8, occurred_at timestamptz, activity_id bigint,
	kind text, daily_cap integer, half_life interval) (
	SFUNC = @extschema@.capped_engagement_accum,
	STYPE = internal,
	FINALFUNC = @extschema@.capped_engagement_final,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.capped_engagement(float8, timestamptz, bigint, text, integer, interval) IS
	'The engagement of one lead''s activities with daily caps: of a kind with a cap, only the first daily_cap per UTC day (by occurred_at, then activity_id) count; rows in any order';

-- The engagement of leads first_lead..last_lead from their activity up to
-- "until", under the current rules: the definition every incremental update
-- must agree with.
CREATE FUNCTION @extschema@.history_engagement(first_lead bigint, last_lead bigint,
	until timestamptz DEFAULT 'infinity')
RETURNS TABLE (lead_id bigint, engagement @extschema@.engagement)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.lead_id,
		   @extschema@.capped_engagement(r.points, a.occurred_at, a.activity_id, a.kind, r.daily_cap,
			   coalesce((SELECT s.half_life FROM @extschema@.scoring_settings AS s), interval '30 days'))
	FROM @extschema@.activity AS a
	JOIN @extschema@.scoring_rule AS r ON r.kind = a.kind
	WHERE a.lead_id BETWEEN first_lead AND last_lead AND a.occurred_at <= until
	  AND r.points <> 0 AND r.daily_cap IS DISTINCT FROM 0
	GROUP BY a.lead_id
$$;
COMMENT ON FUNCTION @extschema@.history_engagement(bigint, bigint, timestamptz) IS
	'Engagement of a range of leads recomputed from their activity up to a time, under the current rules; leads without scoring activity are left out';

CREATE FUNCTION @extschema@.engagement_from_history(lead_id bigint, until timestamptz DEFAULT 'infinity')
RETURNS @extschema@.engagement
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT h.engagement FROM @extschema@.history_engagement($1, $1, $2) AS h
$$;
COMMENT ON FUNCTION @extschema@.engagement_from_history(bigint, timestamptz) IS
	'A lead''s engagement recomputed from its activity up to a time (NULL: none that scores)';

CREATE FUNCTION @extschema@.history_first_touch(first_lead bigint, last_lead bigint)
RETURNS TABLE (lead_id bigint, first_touch_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.lead_id, min(a.occurred_at)
	FROM @extschema@.activity AS a
	JOIN @extschema@.scoring_rule AS r ON r.kind = a.kind
	WHERE a.lead_id BETWEEN first_lead AND last_lead AND r.sales_touch
	GROUP BY a.lead_id
$$;
COMMENT ON FUNCTION @extschema@.history_first_touch(bigint, bigint) IS
	'First sales touch of a range of leads, from their activity; leads without one are left out';

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

CREATE FUNCTION @extschema@.lead_score_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_lead_score_trigger'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_score_trigger() IS
	'BEFORE INSERT OR UPDATE row trigger on lead: score, temperature, next_change_at and scored_at as of now()';
-- after lead_fit (triggers fire in name order), so it sees the new fit
CREATE TRIGGER lead_score BEFORE INSERT OR UPDATE ON @extschema@.lead
	FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_score_trigger();

CREATE FUNCTION @extschema@.lead_score(l @extschema@.lead, at timestamptz DEFAULT pg_catalog.now())
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_gen_lead_score'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lead_score(@extschema@.lead, timestamptz) IS
	'A lead''s score at a time from its stored fit and engagement (decay computed on read)';

CREATE FUNCTION @extschema@.activity_inserted()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_activity_inserted'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.activity_inserted() IS
	'AFTER INSERT statement trigger with a transition table on activity: adds the points of new activity to each lead once, in lead_id order';
CREATE TRIGGER activity_scored AFTER INSERT ON @extschema@.activity
	REFERENCING NEW TABLE AS new_activity
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.activity_inserted();

CREATE FUNCTION @extschema@.activity_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_activity_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.activity_changed() IS
	'AFTER UPDATE/DELETE statement trigger on activity: recomputes each affected lead from its history';
CREATE TRIGGER activity_rescored_after_update AFTER UPDATE ON @extschema@.activity
	REFERENCING OLD TABLE AS old_activity NEW TABLE AS new_activity
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.activity_changed();
CREATE TRIGGER activity_rescored_after_delete AFTER DELETE ON @extschema@.activity
	REFERENCING OLD TABLE AS old_activity
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.activity_changed();

CREATE FUNCTION @extschema@.activity_truncated()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- every lead, when a live segment may test activity
	UPDATE @extschema@.lead SET engagement = NULL, first_touch_at = NULL
	WHERE engagement IS NOT NULL OR first_touch_at IS NOT NULL
	   OR EXISTS (SELECT FROM @extschema@.segment AS s WHERE s.live);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.activity_truncated() IS
	'AFTER TRUNCATE trigger on activity: no activity, no engagement and no sales touch';
CREATE TRIGGER activity_truncated AFTER TRUNCATE ON @extschema@.activity
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.activity_truncated();

-- Procedures that commit as they go cannot have a SET clause; every name in
-- them is schema-qualified instead.
CREATE PROCEDURE @extschema@.recompute_all(batch_size integer DEFAULT 10000, INOUT recomputed bigint DEFAULT NULL)
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
COMMENT ON PROCEDURE @extschema@.recompute_all(integer, bigint) IS
	'Recomputes every lead''s engagement and score from its history under the current rules, batch_size leads per transaction; returns how many leads';

CREATE PROCEDURE @extschema@.rescore(batch_size integer DEFAULT 1000, INOUT rescored bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	n bigint;
	stale boolean;
BEGIN
	IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT pg_catalog.has_table_privilege('@extschema@.sla_flag', 'INSERT')
	   OR NOT pg_catalog.has_table_privilege('@extschema@.scoring_state', 'INSERT, UPDATE') THEN
		RAISE EXCEPTION 'permission denied to rescore'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'recompute_all() and rescore() need the admin access level (lead_gen.grant_access).';
	END IF;
	rescored := 0;
	-- rules changed since everyone was last recomputed: recompute everyone
	SELECT s.changed_at OPERATOR(pg_catalog.>) coalesce(s.recomputed_at, '-infinity')
	INTO stale FROM @extschema@.scoring_state AS s;
	IF stale THEN
		CALL @extschema@.recompute_all(GREATEST(batch_size, 1000), rescored);
	END IF;
	-- leads whose temperature decay changes by now, a batch per transaction
	LOOP
		PERFORM pg_catalog.set_config('lead_gen.stage_cause', 'rescore', true);
		UPDATE @extschema@.lead AS l
		SET next_change_at = NULL
		FROM (SELECT d.lead_id FROM @extschema@.lead AS d
			  WHERE d.next_change_at OPERATOR(pg_catalog.<=) pg_catalog.now()
			  ORDER BY d.next_change_at
			  LIMIT batch_size
			  FOR UPDATE SKIP LOCKED) AS due
		WHERE l.lead_id OPERATOR(pg_catalog.=) due.lead_id;
		GET DIAGNOSTICS n = ROW_COUNT;
		rescored := rescored OPERATOR(pg_catalog.+) n;
		COMMIT;
		EXIT WHEN n OPERATOR(pg_catalog.<) batch_size;
	END LOOP;
	PERFORM @extschema@.flag_sla_breaches();
	PERFORM @extschema@.purge_anonymous();
	COMMIT;
END
$$;
COMMENT ON PROCEDURE @extschema@.rescore(integer, bigint) IS
	'Applies decay as of now: updates temperature (and what follows from it) of exactly the leads whose next_change_at has come, in batches that commit; first recomputes everyone if the rules or the stage machine changed; then flags new SLA breaches. Returns how many leads it touched';

-- pg_cron jobs of lead_gen (rescore, programs): one named job each, run as
-- the user who scheduled it
CREATE FUNCTION @extschema@.cron_schedule(job_name text, schedule text, command text, example text)
RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	job bigint;
BEGIN
	IF schedule IS NULL THEN
		RAISE EXCEPTION 'schedule must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = format('Give a cron schedule such as ''%s'', or leave it out for that default.', example);
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  HINT = format('Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, and run CREATE EXTENSION pg_cron; or %s from any scheduler.', command);
	END IF;
	-- a named job: scheduling again replaces it; it runs as the current user
	EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job USING job_name, schedule, command;
	RETURN job;
END
$$;
COMMENT ON FUNCTION @extschema@.cron_schedule(text, text, text, text) IS
	'Internal: schedules a command with pg_cron as a named job of the current user (again: replaces it); returns the job id';

CREATE FUNCTION @extschema@.cron_unschedule(job_name text)
RETURNS boolean LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	done boolean;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Nothing can have been scheduled with pg_cron here.';
	END IF;
	EXECUTE 'SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1 AND username = current_user)'
		INTO done USING job_name;
	IF done THEN
		EXECUTE 'SELECT cron.unschedule($1)' USING job_name;
	END IF;
	RETURN done;
END
$$;
COMMENT ON FUNCTION @extschema@.cron_unschedule(text) IS
	'Internal: removes the named pg_cron job of the current user; false if there was none';

CREATE FUNCTION @extschema@.schedule_rescore(schedule text DEFAULT '*/5 * * * *')
RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.cron_schedule('lead_gen_rescore', schedule, 'CALL lead_gen.rescore()', '*/5 * * * *')
$$;
COMMENT ON FUNCTION @extschema@.schedule_rescore(text) IS
	'Schedules CALL lead_gen.rescore() with pg_cron as the job lead_gen_rescore (again: replaces it), running as the current user; returns the job id';

CREATE FUNCTION @extschema@.unschedule_rescore()
RETURNS boolean LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.cron_unschedule('lead_gen_rescore')
$$;
COMMENT ON FUNCTION @extschema@.unschedule_rescore() IS
	'Removes the pg_cron job lead_gen_rescore of the current user; false if there was none';

-- Explaining a score: one row per contribution, adding up to the score.
CREATE FUNCTION @extschema@.explain_score(lead_id bigint, at timestamptz DEFAULT pg_catalog.now(),
	OUT component text, OUT kind text, OUT events bigint, OUT raw_points float8,
	OUT capped_points float8, OUT decay float8, OUT points float8)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	IF NOT isfinite(explain_score.at) THEN
		RAISE EXCEPTION 'at must be a finite timestamp' USING ERRCODE = 'datetime_field_overflow';
	END IF;
	RETURN QUERY
	WITH s AS (
		SELECT st.half_life, st.fit_weight, st.engagement_weight, st.engagement_cap, st.prediction_weight
		FROM @extschema@.scoring_settings AS st),
	acts AS (
		SELECT a.kind, a.occurred_at, r.points, r.daily_cap,
			   row_number() OVER (PARTITION BY a.kind, (a.occurred_at AT TIME ZONE 'UTC')::date
								  ORDER BY a.occurred_at, a.activity_id) AS nth
		FROM @extschema@.activity AS a
		LEFT JOIN @extschema@.scoring_rule AS r ON r.kind = a.kind
		WHERE a.lead_id = explain_score.lead_id AND a.occurred_at <= explain_score.at),
	per_kind AS (
		SELECT a.kind::text AS kind, count(*) AS events, a.points,
			   coalesce(sum(a.points), 0) AS raw_points,
			   coalesce(sum(a.points) FILTER (WHERE a.daily_cap IS NOT NULL AND a.nth > a.daily_cap), 0) AS capped,
			   coalesce(@extschema@.engagement_value(
							@extschema@.engagement_sum(a.points, a.occurred_at, s.half_life)
								FILTER (WHERE a.daily_cap IS NULL OR a.nth <= a.daily_cap),
							explain_score.at), 0) AS value
		FROM acts AS a CROSS JOIN s
		GROUP BY a.kind, a.points),
	total AS (SELECT coalesce(sum(value), 0) AS value FROM per_kind),
	l AS (SELECT coalesce(x.fit, 0) AS fit, coalesce(x.prediction, 0) AS prediction
		  FROM @extschema@.lead AS x WHERE x.lead_id = explain_score.lead_id),
	parts AS (
		SELECT 1 AS part, 0::float8 AS weight, 'fit' AS component, NULL::text AS kind, NULL::bigint AS events,
			   NULL::float8 AS raw_points, NULL::float8 AS capped_points, NULL::float8 AS decay,
			   s.fit_weight * l.fit AS points
		FROM l CROSS JOIN s
		UNION ALL
		-- the prediction's points, when the settings give it a weight
		SELECT 1, -1, 'prediction', NULL, NULL, NULL, NULL, NULL, s.prediction_weight * 100 * l.prediction
		FROM l CROSS JOIN s
		WHERE s.prediction_weight OPERATOR(pg_catalog.>) 0
		UNION ALL
		SELECT CASE WHEN p.points IS NULL THEN 3 ELSE 2 END, p.value,
			   CASE WHEN p.points IS NULL THEN 'no rule' ELSE 'activity' END, p.kind, p.events,
			   p.raw_points, 0 - p.capped, p.value - (p.raw_points - p.capped),
			   s.engagement_weight * p.value
		FROM per_kind AS p CROSS JOIN s
		UNION ALL
		SELECT 4, 0, 'engagement cap', NULL, NULL, NULL, NULL, NULL,
			   -s.engagement_weight * (t.value - s.engagement_cap)
		FROM total AS t CROSS JOIN s
		WHERE t.value > s.engagement_cap AND EXISTS (SELECT FROM l))
	SELECT x.component, x.kind, x.events, x.raw_points, x.capped_points, x.decay, x.points
	FROM parts AS x
	ORDER BY x.part, x.weight DESC, x.kind;
END
$$;
COMMENT ON FUNCTION @extschema@.explain_score(bigint, timestamptz) IS
	'A lead''s score at a time (default now), replayed from its activity under today''s rules, fit and prediction: one row for fit, one for the prediction when prediction_weight is above 0, one per activity kind (raw points, points lost to daily caps, points lost to decay, points counted), one for the engagement cap; points add up to the score';

CREATE FUNCTION @extschema@.score_at(lead_id bigint, at timestamptz)
RETURNS float8
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT sum(e.points) FROM @extschema@.explain_score(score_at.lead_id, score_at.at) AS e
$$;
COMMENT ON FUNCTION @extschema@.score_at(bigint, timestamptz) IS
	'The score a lead had at a past moment, replayed from its activity under today''s rules and today''s fit and prediction; NULL for no such lead';
