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

-- config_replace tested FOUND after EXECUTE, which does not set it: a row
-- with a new key was silently dropped instead of inserted (or refused by a
-- check constraint).
CREATE OR REPLACE FUNCTION @extschema@.config_replace()
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

-- One way to bring configuration back: config_replace and config_keep serve
-- the scoring tables as they serve the stage machine's, and the default
-- rules are listed once, in default_scoring_rules().
DROP TRIGGER scoring_rule_upsert ON @extschema@.scoring_rule;
DROP FUNCTION @extschema@.scoring_rule_upsert();
DROP TRIGGER scoring_settings_upsert ON @extschema@.scoring_settings;
DROP TRIGGER scoring_settings_keep ON @extschema@.scoring_settings;
DROP TRIGGER scoring_settings_no_truncate ON @extschema@.scoring_settings;
DROP FUNCTION @extschema@.scoring_settings_upsert();
DROP FUNCTION @extschema@.scoring_settings_keep();
CREATE TRIGGER scoring_rule_replace BEFORE INSERT ON @extschema@.scoring_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER scoring_settings_replace BEFORE INSERT ON @extschema@.scoring_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER scoring_settings_keep BEFORE DELETE ON @extschema@.scoring_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER scoring_settings_no_truncate BEFORE TRUNCATE ON @extschema@.scoring_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_keep();

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

CREATE OR REPLACE FUNCTION @extschema@.scoring_rule_keep_defaults()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
		RAISE EXCEPTION 'cannot truncate lead_gen.scoring_rule'
			USING ERRCODE = 'restrict_violation',
				  HINT = 'Delete the rules of your own kinds; set the points of default rules to 0 to stop them counting.';
	END IF;
	IF EXISTS (SELECT FROM @extschema@.default_scoring_rules() AS d
			   WHERE d.kind::text OPERATOR(pg_catalog.=) OLD.kind::text) THEN
		RAISE EXCEPTION 'cannot delete the default scoring rule for "%"', OLD.kind
			USING ERRCODE = 'restrict_violation',
				  HINT = 'Set its points to 0 (and moves_to to NULL, sales_touch to false) to stop it counting; a deleted default rule would come back after a dump and restore.';
	END IF;
	RETURN OLD;
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_rule_keep_defaults() IS
	'BEFORE DELETE/TRUNCATE trigger: default rules (default_scoring_rules()) can be changed, not deleted';
