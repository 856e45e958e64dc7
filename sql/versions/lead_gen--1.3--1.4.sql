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
	'Whether this session replays a dump: row_security is off (as in pg_dump''s output) and the role is a superuser or the owner of lead_gen''s tables, which a writer cannot fake; the triggers then keep what is restored, rebuild derived values from it and do nothing else';

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
-- renaming a default rule is refused too
DROP TRIGGER scoring_rule_keep_defaults ON @extschema@.scoring_rule;
CREATE TRIGGER scoring_rule_keep_defaults BEFORE UPDATE OF kind OR DELETE ON @extschema@.scoring_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.scoring_rule_keep_defaults();

-- ---------------------------------------------------------------------------
-- Trust, round two
-- ---------------------------------------------------------------------------

-- Data that 1.3 let in and 1.4 refuses is repaired, each repair counted in
-- a WARNING (PostgreSQL does not show an extension script's NOTICEs).
-- A writer could write what lead_gen derives (1.4 refuses it in C, see
-- src/derived.c and stage.c): what can be recomputed is, first (repairing
-- the BANT rule below marks the configuration changed).  Engagement and
-- first touch from the activity, as recompute_all() would (unless the rules
-- changed since the last recompute: then the next rescore() recomputes every
-- lead anyway), and times in the future.
DO $$
DECLARE
	n bigint;
BEGIN
	IF EXISTS (SELECT FROM @extschema@.scoring_state AS s
			   WHERE s.changed_at > coalesce(s.recomputed_at, '-infinity')) THEN
		RAISE WARNING 'lead_gen 1.4: the scoring rules changed since the last recompute: the next rescore() recomputes every lead''s engagement and first touch';
	ELSE
		WITH h AS (
			SELECT * FROM @extschema@.history_state(0, 9223372036854775807)),
		wrong AS (
			SELECT l.lead_id, h.engagement, h.first_touch_at
			FROM @extschema@.lead AS l
			LEFT JOIN h ON h.lead_id = l.lead_id
			CROSS JOIN LATERAL (SELECT greatest(@extschema@.engagement_as_of(l.engagement),
												@extschema@.engagement_as_of(h.engagement)) AS t) AS at
			CROSS JOIN LATERAL (SELECT coalesce(@extschema@.engagement_value(l.engagement, at.t), 0) AS stored,
									   coalesce(@extschema@.engagement_value(h.engagement, at.t), 0) AS recomputed) AS v
			WHERE l.first_touch_at IS DISTINCT FROM h.first_touch_at
			   OR abs(v.stored - v.recomputed) > 1e-9 * greatest(abs(v.stored), abs(v.recomputed), 1e-6)
			   OR @extschema@.engagement_half_life(l.engagement) <> @extschema@.engagement_half_life(h.engagement)),
		fixed AS (
			UPDATE @extschema@.lead AS l
			SET engagement = w.engagement, first_touch_at = w.first_touch_at
			FROM wrong AS w
			WHERE w.lead_id = l.lead_id
			RETURNING 1)
		SELECT count(*) INTO n FROM fixed;
		IF n > 0 THEN
			RAISE WARNING 'lead_gen 1.4: % leads'' engagement or first touch recomputed from their activity', n;
		END IF;
	END IF;
	UPDATE @extschema@.lead AS l
	SET created_at = least(l.created_at, now()), updated_at = least(l.updated_at, now())
	WHERE l.created_at > now() OR l.updated_at > now();
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE WARNING 'lead_gen 1.4: % leads created or updated in the future now say now', n;
	END IF;
END
$$;

-- NaN passed ">= 0": amounts become NULL (unknown),
-- spend and the BANT minimum 0.
DO $$
DECLARE
	n bigint;
	total bigint := 0;
BEGIN
	UPDATE @extschema@.lead SET budget = NULL WHERE budget = 'NaN';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	UPDATE @extschema@.lead SET annual_revenue = NULL WHERE annual_revenue = 'NaN';
	GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
	IF total > 0 THEN
		RAISE WARNING 'lead_gen 1.4: % NaN budgets and annual revenues of leads set to NULL', total;
	END IF;
	UPDATE @extschema@.campaign SET spend = 0 WHERE spend = 'NaN';
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE WARNING 'lead_gen 1.4: % NaN campaign spends set to 0', n;
	END IF;
	UPDATE @extschema@.bant_rule SET min_budget = 0 WHERE min_budget = 'NaN';
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE WARNING 'lead_gen 1.4: a NaN BANT minimum budget set to 0';
	END IF;
END
$$;
-- a phone number may start with a parenthesis: (415) 555-0100 (wider: every
-- number 1.3 took still passes)
ALTER DOMAIN @extschema@.phone_number DROP CONSTRAINT phone_number_check;
ALTER DOMAIN @extschema@.phone_number ADD CONSTRAINT phone_number_check CHECK (
		VALUE OPERATOR(pg_catalog.~) '^\+?(\([0-9][0-9 ()./-]{2,29}|[0-9][0-9 ()./-]{3,30})$');
COMMENT ON DOMAIN @extschema@.phone_number IS
	'A phone number: digits with an optional leading +, spaces, dots, dashes, slashes, parentheses; it starts with a digit or an opening parenthesis and a digit';
ALTER DOMAIN @extschema@.amount DROP CONSTRAINT amount_check;
ALTER DOMAIN @extschema@.amount ADD CONSTRAINT amount_check CHECK (
		VALUE OPERATOR(pg_catalog.>=) 0 AND VALUE OPERATOR(pg_catalog.<>) 'NaN');
COMMENT ON DOMAIN @extschema@.amount IS 'An amount of money, >= 0 (not NaN), with cents';
ALTER TABLE @extschema@.campaign DROP CONSTRAINT campaign_spend_check;
ALTER TABLE @extschema@.campaign ADD CONSTRAINT campaign_spend_check CHECK (
		spend OPERATOR(pg_catalog.>=) 0 AND spend OPERATOR(pg_catalog.<>) 'NaN');
COMMENT ON COLUMN @extschema@.campaign.spend IS 'Total spend over the campaign''s run, >= 0 (not NaN)';

-- The stage bookkeeping an INSERT could give: where it disagrees with the
-- lead's history, the history wins (it is what the as_of reports read, and
-- what lead_gen keeps them equal to): the peak is the highest stage the
-- history shows, mql_at when it first reached mql or beyond, and
-- stage_changed_at its last change.  The lead trigger keeps these as they
-- are on UPDATE, so it steps aside for the repair.
ALTER TABLE @extschema@.lead DISABLE TRIGGER lead_score;
DO $$
DECLARE
	n bigint;
BEGIN
	WITH h AS (
		SELECT l.lead_id,
			   CASE WHEN p.peak = 'disqualified' THEN 'prospect' ELSE p.peak END AS peak,
			   @extschema@.reached_at(l.lead_id, 'mql') AS mql_at,
			   coalesce((SELECT max(c.changed_at) FROM @extschema@.stage_change AS c
						 WHERE c.lead_id = l.lead_id), l.created_at) AS changed_at
		FROM @extschema@.lead AS l
		-- 1.3's peak_stage_at (replaced below), for which infinity is after everything
		CROSS JOIN LATERAL (SELECT @extschema@.peak_stage_at(l.lead_id, 'infinity') AS peak) AS p),
	fixed AS (
		UPDATE @extschema@.lead AS l
		SET peak_stage = h.peak, mql_at = h.mql_at, stage_changed_at = h.changed_at
		FROM h
		WHERE h.lead_id = l.lead_id
		  AND (l.peak_stage IS DISTINCT FROM h.peak OR l.mql_at IS DISTINCT FROM h.mql_at
			   OR l.stage_changed_at IS DISTINCT FROM h.changed_at)
		RETURNING 1)
	SELECT count(*) INTO n FROM fixed;
	IF n > 0 THEN
		RAISE WARNING 'lead_gen 1.4: % leads'' peak stage, mql_at or stage_changed_at set to what their stage history says', n;
	END IF;
END
$$;
ALTER TABLE @extschema@.lead ENABLE TRIGGER lead_score;

-- A renamed default rule is put back beside the new name.
DO $$
DECLARE
	n bigint;
BEGIN
	INSERT INTO @extschema@.scoring_rule
	SELECT d.* FROM @extschema@.default_scoring_rules() AS d
	WHERE NOT EXISTS (SELECT FROM @extschema@.scoring_rule AS r WHERE r.kind::text = d.kind::text)
	  AND d.kind::text <> 'form_submission';
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RAISE WARNING 'lead_gen 1.4: % renamed default scoring rules put back (with their default points)', n;
	END IF;
END
$$;

-- New in 1.4, the kind capture() records (a rule of one's own for it stays).
-- After the repairs above: a new rule marks the rules changed, and the next
-- rescore() recomputes everyone.
INSERT INTO @extschema@.scoring_rule
SELECT d.* FROM @extschema@.default_scoring_rules() AS d
WHERE d.kind::text OPERATOR(pg_catalog.=) 'form_submission'
  AND NOT EXISTS (SELECT FROM @extschema@.scoring_rule AS r WHERE r.kind::text OPERATOR(pg_catalog.=) 'form_submission');

-- Negligible time-decay credit is 0, and a lead's credits still add up to 1.

CREATE OR REPLACE FUNCTION @extschema@.attribution(model text DEFAULT 'linear',
	to_stage @extschema@.lifecycle_stage DEFAULT 'customer', from_date date DEFAULT NULL,
	to_date date DEFAULT NULL, by text DEFAULT 'campaign', half_life interval DEFAULT '7 days')
RETURNS TABLE (campaign_id bigint, campaign text, channel text, conversions numeric, touches bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
	hl float8;
BEGIN
	IF model IS NULL OR model NOT IN ('first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay') THEN
		RAISE EXCEPTION 'unknown attribution model "%"', model
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Models: first_touch, last_touch, linear, u_shaped, w_shaped, time_decay.';
	END IF;
	IF by IS NULL OR by NOT IN ('campaign', 'channel') THEN
		RAISE EXCEPTION 'attribution is by campaign or by channel, not "%"', by
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF to_stage IS NULL OR to_stage = 'disqualified' OR to_stage = 'prospect' THEN
		RAISE EXCEPTION 'attribution needs a stage from lead to customer, not %', coalesce(to_stage::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	hl := extract(epoch FROM half_life);
	IF hl IS NULL OR hl <= 0 THEN
		RAISE EXCEPTION 'half_life must be positive' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	WITH conv AS (
		SELECT l.lead_id, l.created_at, l.campaign_id,
			   @extschema@.reached_at(l.lead_id, attribution.to_stage) AS conv_at,
			   @extschema@.reached_at(l.lead_id, 'opportunity') AS opp_at
		FROM @extschema@.lead AS l
		WHERE l.peak_stage >= attribution.to_stage),
	-- the touches before conversion: activity with a campaign, and the
	-- campaign that brought the lead, at its creation
	t AS (
		SELECT v.lead_id, a.campaign_id AS cid, a.occurred_at AS at, a.activity_id AS ord,
			   v.conv_at, v.created_at, v.opp_at
		FROM conv AS v
		JOIN @extschema@.activity AS a ON a.lead_id = v.lead_id
		WHERE v.conv_at >= p.from_ts AND v.conv_at < p.to_ts
		  AND a.campaign_id IS NOT NULL AND a.occurred_at <= v.conv_at
		UNION ALL
		SELECT v.lead_id, v.campaign_id, v.created_at, 0, v.conv_at, v.created_at, v.opp_at
		FROM conv AS v
		WHERE v.conv_at >= p.from_ts AND v.conv_at < p.to_ts AND v.campaign_id IS NOT NULL),
	ranked AS (
		SELECT t.*,
			   row_number() OVER w AS i,
			   count(*) OVER lw AS n,
			   -- halvings since the lead's latest touch, not since conversion:
			   -- the shares are the same, and the latest touch weighs 1, so
			   -- the sum never underflows to 0 (and 2^-1000 is 0 credit)
			   extract(epoch FROM max(t.at) OVER lw - t.at)::float8 / hl AS halvings
		FROM t
		WINDOW w AS (PARTITION BY t.lead_id ORDER BY t.at, t.ord),
			   lw AS (PARTITION BY t.lead_id)),
	anchored AS (
		SELECT r.*,
			   coalesce(max(r.i) FILTER (WHERE r.at <= r.created_at) OVER lw, 1) AS creation_i,
			   coalesce(max(r.i) FILTER (WHERE r.at <= r.opp_at) OVER lw, r.n) AS opp_i,
			   CASE WHEN r.halvings > 1000 THEN 0 ELSE power(0.5, r.halvings) END AS decay,
			   sum(CASE WHEN r.halvings > 1000 THEN 0 ELSE power(0.5, r.halvings) END) OVER lw AS decay_sum
		FROM ranked AS r
		WINDOW lw AS (PARTITION BY r.lead_id)),
	credited AS (
		SELECT a.cid, CASE model
			WHEN 'first_touch' THEN CASE WHEN a.i = 1 THEN 1 ELSE 0 END
			WHEN 'last_touch' THEN CASE WHEN a.i = a.n THEN 1 ELSE 0 END
			WHEN 'linear' THEN 1.0 / a.n
			WHEN 'time_decay' THEN a.decay / a.decay_sum
			WHEN 'u_shaped' THEN
				CASE WHEN a.i = 1 THEN 0.4 ELSE 0 END + CASE WHEN a.i = a.n THEN 0.4 ELSE 0 END
				+ CASE WHEN a.n <= 2 THEN 0.2 / a.n
					   WHEN a.i > 1 AND a.i < a.n THEN 0.2 / (a.n - 2) ELSE 0 END
			ELSE	-- w_shaped
				CASE WHEN a.i = 1 THEN 0.3 ELSE 0 END + CASE WHEN a.i = a.creation_i THEN 0.3 ELSE 0 END
				+ CASE WHEN a.i = a.opp_i THEN 0.3 ELSE 0 END
				+ CASE WHEN a.n - (SELECT count(DISTINCT x) FROM unnest(ARRAY[1, a.creation_i, a.opp_i]) AS x) = 0
					   THEN 0.1 / a.n
					   WHEN a.i NOT IN (1, a.creation_i, a.opp_i)
					   THEN 0.1 / (a.n - (SELECT count(DISTINCT x) FROM unnest(ARRAY[1, a.creation_i, a.opp_i]) AS x))
					   ELSE 0 END
			END::numeric AS credit
		FROM anchored AS a)
	SELECT CASE WHEN by = 'campaign' THEN c.campaign_id END,
		   CASE WHEN by = 'campaign' THEN min(c.name) END,
		   c.channel::text, round(sum(x.credit), 3), count(*)
	FROM credited AS x
	JOIN @extschema@.campaign AS c ON c.campaign_id = x.cid
	GROUP BY 1, 3
	ORDER BY 4 DESC, 3, 1;
END
$$;
COMMENT ON FUNCTION @extschema@.attribution(text, @extschema@.lifecycle_stage, date, date, text, interval) IS
	'Credit for the leads that reached a stage (default customer) in a period, shared among the campaigns (or channels) that touched them before: first_touch, last_touch, linear, u_shaped (40/20/40), w_shaped (30 first, 30 lead creation, 30 opportunity, 10 spread), time_decay (half-life); a lead''s credits add up to 1';


-- One rule for infinite times: a moment lead_gen is asked about (at, as_of)
-- must be finite (22008); a bound of a period may be infinite.

CREATE OR REPLACE FUNCTION @extschema@.peak_stage_at(lead_id bigint, at timestamptz)
RETURNS @extschema@.lifecycle_stage
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'at must be a finite timestamp' USING ERRCODE = 'datetime_field_overflow';
	END IF;
	RETURN (SELECT greatest(
		coalesce((SELECT c.from_stage FROM @extschema@.stage_change AS c
				  WHERE c.lead_id = l.lead_id ORDER BY c.changed_at, c.stage_change_id LIMIT 1), l.stage),
		(SELECT max(c.to_stage) FROM @extschema@.stage_change AS c
		 WHERE c.lead_id = l.lead_id AND c.changed_at <= peak_stage_at.at AND c.to_stage <> 'disqualified'))
	FROM @extschema@.lead AS l
	WHERE l.lead_id = peak_stage_at.lead_id AND l.created_at <= peak_stage_at.at);
END
$$;
COMMENT ON FUNCTION @extschema@.peak_stage_at(bigint, timestamptz) IS
	'The highest of prospect .. customer a lead had reached at a moment (its first stage if disqualified at once); NULL before it existed';

CREATE OR REPLACE FUNCTION @extschema@.stage_funnel(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL, as_of timestamptz DEFAULT NULL)
RETURNS TABLE (segment text, stage @extschema@.lifecycle_stage, reached bigint,
			   pct_of_leads numeric, pct_of_previous numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	IF NOT isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'datetime_field_overflow';
	END IF;
	RETURN QUERY
	WITH leads AS (
		SELECT @extschema@.lead_segment(l, group_by, cn.name) AS seg,
			   CASE WHEN as_of IS NULL THEN l.peak_stage
					ELSE @extschema@.peak_stage_at(l.lead_id, as_of) END AS peak
		FROM @extschema@.lead AS l
		LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
		WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
		  AND (as_of IS NULL OR l.created_at <= as_of)),
	per_peak AS (
		SELECT x.seg, x.peak, count(*) AS n FROM leads AS x GROUP BY x.seg, x.peak),
	counts AS (
		SELECT x.seg, s.stage, coalesce(sum(x.n) FILTER (WHERE x.peak >= s.stage), 0)::bigint AS n,
			   sum(x.n)::bigint AS total
		FROM per_peak AS x
		CROSS JOIN unnest(enum_range('prospect'::@extschema@.lifecycle_stage, 'customer')) AS s(stage)
		GROUP BY x.seg, s.stage)
	SELECT c.seg, c.stage, c.n,
		   round(100.0 * c.n / nullif(c.total, 0), 1),
		   round(100.0 * c.n / nullif(lag(c.n) OVER (PARTITION BY c.seg ORDER BY c.stage), 0), 1)
	FROM counts AS c
	ORDER BY c.seg, c.stage;
END
$$;
COMMENT ON FUNCTION @extschema@.stage_funnel(date, date, text, timestamptz) IS
	'The stage funnel of the leads created in a period: per segment and stage, how many reached it (or a later one), as a share of all and of the stage before; as_of: as it stood then';

CREATE OR REPLACE FUNCTION @extschema@.stage_at(lead_id bigint, at timestamptz)
RETURNS @extschema@.lifecycle_stage
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT isfinite(at) THEN
		RAISE EXCEPTION 'at must be a finite timestamp' USING ERRCODE = 'datetime_field_overflow';
	END IF;
	RETURN (SELECT coalesce(
		(SELECT c.to_stage FROM @extschema@.stage_change AS c
		 WHERE c.lead_id = l.lead_id AND c.changed_at <= stage_at.at
		 ORDER BY c.changed_at DESC, c.stage_change_id DESC LIMIT 1),
		(SELECT c.from_stage FROM @extschema@.stage_change AS c
		 WHERE c.lead_id = l.lead_id AND c.changed_at > stage_at.at
		 ORDER BY c.changed_at, c.stage_change_id LIMIT 1),
		l.stage)
	FROM @extschema@.lead AS l
	WHERE l.lead_id = stage_at.lead_id AND l.created_at <= stage_at.at);
END
$$;
COMMENT ON FUNCTION @extschema@.stage_at(bigint, timestamptz) IS
	'The stage a lead had at a moment, from its history; NULL before it was created or for no such lead';

CREATE OR REPLACE FUNCTION @extschema@.explain_score(lead_id bigint, at timestamptz DEFAULT pg_catalog.now(),
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

CREATE OR REPLACE FUNCTION @extschema@.funnel_chart(labels text[], counts numeric[], width integer DEFAULT 40)
RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	top numeric;
	label_width int;
	number_width int;
	bar int;
BEGIN
	IF labels IS NULL OR counts IS NULL OR cardinality(labels) <> cardinality(counts) THEN
		RAISE EXCEPTION 'funnel_chart needs as many counts as labels'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF width IS NULL OR width < 1 OR width > 200 THEN
		RAISE EXCEPTION 'funnel_chart width must be from 1 to 200' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM unnest(counts) AS c WHERE c IS NULL OR c < 0) THEN
		RAISE EXCEPTION 'funnel_chart counts must not be null or negative' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM unnest(counts) AS c WHERE c IN ('NaN', 'Infinity')) THEN
		RAISE EXCEPTION 'funnel_chart counts must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT max(c) INTO top FROM unnest(counts) AS c;
	SELECT max(length(coalesce(l, ''))) INTO label_width FROM unnest(labels) AS l;
	SELECT max(length(c::text)) INTO number_width FROM unnest(counts) AS c;
	FOR i IN 1 .. coalesce(cardinality(labels), 0) LOOP
		bar := CASE WHEN top > 0 THEN round(width * counts[i] / top)::int ELSE 0 END;
		IF bar = 0 AND counts[i] > 0 THEN
			bar := 1;
		END IF;
		RETURN NEXT rpad(coalesce(labels[i], ''), label_width) || ' '
			|| lpad(counts[i]::text, number_width) || ' '
			|| repeat(' ', (width - bar) / 2) || repeat('█', bar) || repeat(' ', width - bar - (width - bar) / 2)
			|| CASE WHEN i = 1 OR counts[1] = 0 THEN ''
					ELSE ' ' || to_char(100.0 * counts[i] / counts[1], 'FM990.0') || '%' END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.funnel_chart(text[], numeric[], integer) IS
	'A funnel as centred text bars, one line per step: label, count, bar (width characters for the largest), share of the first step';


-- grant_access() and revoke_access() by a role that cannot grant fail
-- (both are replaced once, at the end, with all 1.4 grants).

CREATE FUNCTION @extschema@.check_access_owner(verb text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	owner name := (SELECT r.rolname FROM pg_class AS c JOIN pg_roles AS r ON r.oid = c.relowner
				   WHERE c.oid = '@extschema@.lead'::regclass);
BEGIN
	IF NOT pg_has_role(current_user, owner, 'USAGE') THEN
		RAISE EXCEPTION 'permission denied to % lead_gen access levels', verb
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Access levels are granted and revoked by the owner of lead_gen''s tables (role %I) or a member of it.', owner);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_access_owner(text) IS
	'Errors (42501) unless the current user has the privileges of the owner of lead_gen''s tables; grant_access and revoke_access call it';

-- ---------------------------------------------------------------------------
-- Conditions on leads (new in 1.4; kept equal to sql/install/conditions.sql)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- The condition type: the ICP's representation, printer and equality
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.condition;

CREATE FUNCTION @extschema@.condition_in(cstring) RETURNS @extschema@.condition
AS 'MODULE_PATHNAME', 'lead_gen_condition_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.condition_out(@extschema@.condition) RETURNS cstring
AS 'MODULE_PATHNAME', 'lead_gen_icp_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.condition_recv(internal) RETURNS @extschema@.condition
AS 'MODULE_PATHNAME', 'lead_gen_condition_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.condition_send(@extschema@.condition) RETURNS bytea
AS 'MODULE_PATHNAME', 'lead_gen_icp_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.condition (
	INPUT = @extschema@.condition_in,
	OUTPUT = @extschema@.condition_out,
	RECEIVE = @extschema@.condition_recv,
	SEND = @extschema@.condition_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.condition IS
	'A condition on leads: one test in the ICP language, without a weight, over a lead''s facts, state (score, temperature, stage, grade, fit, days_in_stage) and activity (count, days_since_last, never)';
COMMENT ON FUNCTION @extschema@.condition_in(cstring) IS 'Parses condition text (see doc/segments.md for the language)';
COMMENT ON FUNCTION @extschema@.condition_out(@extschema@.condition) IS 'Prints a condition in its canonical text form';
COMMENT ON FUNCTION @extschema@.condition_recv(internal) IS
	'Reads a condition in binary form (a version byte and the text), with the checks of text input';
COMMENT ON FUNCTION @extschema@.condition_send(@extschema@.condition) IS 'Writes a condition in binary form';

CREATE FUNCTION @extschema@.condition_eq(@extschema@.condition, @extschema@.condition) RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_icp_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.condition_ne(@extschema@.condition, @extschema@.condition) RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_icp_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.condition_hash(@extschema@.condition) RETURNS integer
AS 'MODULE_PATHNAME', 'lead_gen_icp_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.condition_eq(@extschema@.condition, @extschema@.condition) IS
	'Whether two conditions are the same (have the same canonical text)';
COMMENT ON FUNCTION @extschema@.condition_ne(@extschema@.condition, @extschema@.condition) IS
	'Whether two conditions differ';
COMMENT ON FUNCTION @extschema@.condition_hash(@extschema@.condition) IS
	'Hash of a condition, for hash joins and GROUP BY';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.condition, RIGHTARG = @extschema@.condition,
	FUNCTION = @extschema@.condition_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.condition, RIGHTARG = @extschema@.condition,
	FUNCTION = @extschema@.condition_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR CLASS @extschema@.condition_hash_ops
	DEFAULT FOR TYPE @extschema@.condition USING hash AS
	OPERATOR 1 @extschema@.= (@extschema@.condition, @extschema@.condition),
	FUNCTION 1 @extschema@.condition_hash(@extschema@.condition);

-- ---------------------------------------------------------------------------
-- Testing a lead
-- ---------------------------------------------------------------------------

-- STABLE: the answer moves with now() and the lead's activity, which it reads.
CREATE FUNCTION @extschema@.condition_holds(criteria @extschema@.condition, l @extschema@.lead)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_condition_holds'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.condition_holds(@extschema@.condition, @extschema@.lead) IS
	'Whether a condition holds for a lead now (a test on a missing fact is unknown, and unknown does not hold), from the lead''s row, its score now and its activity';

CREATE FUNCTION @extschema@.condition_changes_at(criteria @extschema@.condition, l @extschema@.lead)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'lead_gen_condition_changes_at'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.condition_changes_at(@extschema@.condition, @extschema@.lead) IS
	'No later than when time alone next changes whether a condition holds for a lead (windows emptying, days passing, the score decaying); NULL if time alone never does';

-- ---------------------------------------------------------------------------
-- Capture and identity (new in 1.4)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Anonymous visitors
-- ---------------------------------------------------------------------------

CREATE DOMAIN @extschema@.visitor_id AS text
	CONSTRAINT visitor_id_check CHECK (VALUE OPERATOR(pg_catalog.~) '^[[:graph:]]{1,200}$');
COMMENT ON DOMAIN @extschema@.visitor_id IS
	'A visitor''s cookie or device id: 1 to 200 printable characters, no white space';

-- A visitor is one lead's at a time (lead_id), from identified_at on; until
-- then its activity waits in visitor_activity.
CREATE TABLE @extschema@.visitor (
	visitor			@extschema@.visitor_id PRIMARY KEY,
	lead_id			bigint REFERENCES @extschema@.lead ON DELETE CASCADE,
	first_seen_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	last_seen_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	identified_at	timestamptz,
	CONSTRAINT visitor_identified_check CHECK ((lead_id IS NULL) = (identified_at IS NULL))
);
CREATE INDEX visitor_lead_idx ON @extschema@.visitor (lead_id);
COMMENT ON TABLE @extschema@.visitor IS
	'Visitors (cookie or device ids) seen by track(); lead_id is the lead a visitor was identified as, from identified_at';

CREATE TABLE @extschema@.visitor_activity (
	visitor_activity_id	bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	visitor			@extschema@.visitor_id NOT NULL REFERENCES @extschema@.visitor ON DELETE CASCADE,
	kind			@extschema@.identifier NOT NULL,
	occurred_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	properties		@extschema@.json_object NOT NULL DEFAULT '{}'
);
CREATE INDEX visitor_activity_visitor_idx ON @extschema@.visitor_activity (visitor, occurred_at);
CREATE INDEX visitor_activity_occurred_at_idx ON @extschema@.visitor_activity (occurred_at);
COMMENT ON TABLE @extschema@.visitor_activity IS
	'Activity of visitors not identified yet; identify() makes it its lead''s activity, purge_anonymous() deletes what is older than the retention';

CREATE TABLE @extschema@.identity_settings (
	singleton			boolean PRIMARY KEY DEFAULT true,
	anonymous_retention	interval NOT NULL DEFAULT '180 days',
	CONSTRAINT identity_settings_singleton_check CHECK (singleton),
	CONSTRAINT identity_settings_retention_check CHECK (
		anonymous_retention OPERATOR(pg_catalog.>=) interval '1 hour'
		AND anonymous_retention OPERATOR(pg_catalog.<=) interval '10 years')
);
COMMENT ON TABLE @extschema@.identity_settings IS
	'Identity settings (one row): anonymous activity never identified is deleted when older than anonymous_retention';
INSERT INTO @extschema@.identity_settings DEFAULT VALUES;
CREATE TRIGGER identity_settings_replace BEFORE INSERT ON @extschema@.identity_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER identity_settings_keep BEFORE DELETE ON @extschema@.identity_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER identity_settings_no_truncate BEFORE TRUNCATE ON @extschema@.identity_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_keep();

CREATE TABLE @extschema@.visitor_purge (
	purged_at		timestamptz NOT NULL DEFAULT pg_catalog.now() PRIMARY KEY,
	activities		bigint NOT NULL,
	visitors		bigint NOT NULL,
	older_than		timestamptz NOT NULL
);
COMMENT ON TABLE @extschema@.visitor_purge IS
	'One row per run of purge_anonymous() that deleted something: how many anonymous activities and visitors, older than when';

-- Anonymous activity is held to the same rule as a lead's: not in the future.
CREATE FUNCTION @extschema@.visitor_activity_check()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT isfinite(NEW.occurred_at) OR NEW.occurred_at > now() + interval '1 minute' THEN
		RAISE EXCEPTION 'activity of visitor % is dated in the future: %', NEW.visitor, NEW.occurred_at
			USING ERRCODE = 'check_violation',
				  DETAIL = 'Activity may be at most one minute ahead of the database clock.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.visitor_activity_check() IS
	'BEFORE INSERT OR UPDATE row trigger on visitor_activity: refuses activity dated in the future (23514), as for leads';
CREATE TRIGGER visitor_activity_check BEFORE INSERT OR UPDATE ON @extschema@.visitor_activity
	FOR EACH ROW EXECUTE FUNCTION @extschema@.visitor_activity_check();

-- However a visitor gets its lead (identify(), capture(), or a plain
-- UPDATE), the same rules hold: once a lead's, always that lead's.
CREATE FUNCTION @extschema@.visitor_guard()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- (merge_leads() moves a merged lead's visitors to the lead it lives on)
	IF TG_OP = 'UPDATE' AND OLD.lead_id IS NOT NULL
	   AND NEW.lead_id IS DISTINCT FROM OLD.lead_id
	   AND NOT EXISTS (SELECT FROM @extschema@.lead_merge AS m
					   WHERE m.loser OPERATOR(pg_catalog.=) OLD.lead_id
						 AND m.winner OPERATOR(pg_catalog.=) NEW.lead_id) THEN
		RAISE EXCEPTION 'visitor % is already lead %''s', NEW.visitor, OLD.lead_id
			USING ERRCODE = 'unique_violation',
				  DETAIL = format('A visitor is one lead''s; lead %s cannot have it too.', coalesce(NEW.lead_id::text, 'NULL')),
				  HINT = 'If both leads are the same person, merge them.';
	END IF;
	-- when a visitor was identified is lead_gen's to say (a restore keeps it)
	IF NOT @extschema@.restoring() THEN
		NEW.identified_at := CASE
			WHEN NEW.lead_id IS NULL THEN NULL
			WHEN TG_OP = 'UPDATE' AND OLD.lead_id IS NOT NULL THEN OLD.identified_at
			ELSE now() END;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.visitor_guard() IS
	'BEFORE INSERT OR UPDATE row trigger on visitor: a visitor identified as a lead stays that lead''s (23505), or the lead it is merged into''s; identified_at is when that happened, whatever the row says';
CREATE TRIGGER visitor_guard BEFORE INSERT OR UPDATE ON @extschema@.visitor
	FOR EACH ROW EXECUTE FUNCTION @extschema@.visitor_guard();

-- The visitor's earlier activity becomes the lead's, with its own times:
-- the activity triggers score it as late events, caps included, so the lead
-- ends as if the activity had been its own from the start.
CREATE FUNCTION @extschema@.visitor_identified()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	WITH moved AS (
		DELETE FROM @extschema@.visitor_activity AS a
		WHERE a.visitor OPERATOR(pg_catalog.=) NEW.visitor
		RETURNING a.kind, a.occurred_at, a.properties, a.visitor_activity_id
	)
	INSERT INTO @extschema@.activity (lead_id, kind, occurred_at, properties)
	SELECT NEW.lead_id, m.kind, m.occurred_at, m.properties
	FROM moved AS m
	ORDER BY m.occurred_at, m.visitor_activity_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.visitor_identified() IS
	'AFTER INSERT OR UPDATE OF lead_id row trigger on visitor: moves the visitor''s anonymous activity to its lead';
CREATE TRIGGER visitor_identified AFTER INSERT OR UPDATE OF lead_id ON @extschema@.visitor
	FOR EACH ROW WHEN (NEW.lead_id IS NOT NULL) EXECUTE FUNCTION @extschema@.visitor_identified();

CREATE FUNCTION @extschema@.track(visitor text, kind text, occurred_at timestamptz DEFAULT pg_catalog.now(),
								  properties jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	owner bigint;
BEGIN
	IF track.visitor IS NULL OR track.kind IS NULL OR track.occurred_at IS NULL OR track.properties IS NULL THEN
		RAISE EXCEPTION 'visitor, kind, occurred_at and properties must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the visitor's row lock orders this against identify() of the same visitor
	INSERT INTO @extschema@.visitor AS v (visitor, first_seen_at, last_seen_at)
	VALUES (track.visitor, least(track.occurred_at, now()), least(track.occurred_at, now()))
	ON CONFLICT ON CONSTRAINT visitor_pkey DO UPDATE
		SET first_seen_at = least(v.first_seen_at, excluded.first_seen_at),
			last_seen_at = greatest(v.last_seen_at, excluded.last_seen_at)
	RETURNING v.lead_id INTO owner;
	IF owner IS NULL THEN
		INSERT INTO @extschema@.visitor_activity (visitor, kind, occurred_at, properties)
		VALUES (track.visitor, track.kind, track.occurred_at, track.properties);
	ELSE
		INSERT INTO @extschema@.activity (lead_id, kind, occurred_at, properties)
		VALUES (owner, track.kind, track.occurred_at, track.properties);
	END IF;
	RETURN owner;
END
$$;
COMMENT ON FUNCTION @extschema@.track(text, text, timestamptz, jsonb) IS
	'Records activity of a visitor (a cookie or device id): its lead''s activity at once if the visitor is identified, else kept until identify(); returns the lead id, or NULL while anonymous';

CREATE FUNCTION @extschema@.identify(visitor text, lead_id bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	owner bigint;
	waiting bigint;
	-- a merged lead's id stands for the lead it was merged into
	target bigint := coalesce(@extschema@.resolve_lead(identify.lead_id), identify.lead_id);
BEGIN
	IF identify.visitor IS NULL OR identify.lead_id IS NULL THEN
		RAISE EXCEPTION 'visitor and lead_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM FROM @extschema@.lead AS l WHERE l.lead_id OPERATOR(pg_catalog.=) target FOR KEY SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', identify.lead_id USING ERRCODE = 'no_data_found';
	END IF;
	-- lock the visitor (tracks of it wait), then count what waits for a lead
	INSERT INTO @extschema@.visitor AS v (visitor) VALUES (identify.visitor)
	ON CONFLICT ON CONSTRAINT visitor_pkey DO UPDATE SET last_seen_at = v.last_seen_at
	RETURNING v.lead_id INTO owner;
	IF owner OPERATOR(pg_catalog.=) target THEN
		RETURN 0;
	END IF;
	SELECT count(*) INTO waiting FROM @extschema@.visitor_activity AS a
	WHERE a.visitor OPERATOR(pg_catalog.=) identify.visitor;
	-- visitor_guard refuses a visitor of another lead; visitor_identified moves
	UPDATE @extschema@.visitor AS v SET lead_id = target
	WHERE v.visitor OPERATOR(pg_catalog.=) identify.visitor;
	RETURN waiting;
END
$$;
COMMENT ON FUNCTION @extschema@.identify(text, bigint) IS
	'Links a visitor to a lead: every earlier activity of the visitor becomes the lead''s, with its own times; a visitor already another lead''s is refused (23505); a merged lead''s id links to the lead it was merged into. Returns how many activities became the lead''s';

CREATE FUNCTION @extschema@.purge_anonymous()
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cutoff timestamptz := now() - (SELECT s.anonymous_retention FROM @extschema@.identity_settings AS s);
	activities bigint;
	visitors bigint;
BEGIN
	DELETE FROM @extschema@.visitor_activity AS a
	WHERE a.occurred_at < cutoff;
	GET DIAGNOSTICS activities = ROW_COUNT;
	DELETE FROM @extschema@.visitor AS v
	WHERE v.lead_id IS NULL AND v.last_seen_at < cutoff
	  AND NOT EXISTS (SELECT FROM @extschema@.visitor_activity AS a WHERE a.visitor OPERATOR(pg_catalog.=) v.visitor);
	GET DIAGNOSTICS visitors = ROW_COUNT;
	IF activities > 0 OR visitors > 0 THEN
		INSERT INTO @extschema@.visitor_purge (activities, visitors, older_than)
		VALUES (activities, visitors, cutoff)
		ON CONFLICT (purged_at) DO UPDATE
			SET activities = @extschema@.visitor_purge.activities + excluded.activities,
				visitors = @extschema@.visitor_purge.visitors + excluded.visitors;
	END IF;
	RETURN activities;
END
$$;
COMMENT ON FUNCTION @extschema@.purge_anonymous() IS
	'Deletes anonymous activity older than identity_settings.anonymous_retention, and the visitors it leaves with nothing, counted in visitor_purge; rescore() calls it. Returns how many activities it deleted';

-- ---------------------------------------------------------------------------
-- Capture: form submissions
-- ---------------------------------------------------------------------------

-- The fields a form may bring, and which of them a submission overwrites
-- (the others only fill what is empty).
CREATE TABLE @extschema@.capture_field (
	field			name PRIMARY KEY,
	overwrite		boolean NOT NULL DEFAULT false,
	CONSTRAINT capture_field_check CHECK (field OPERATOR(pg_catalog.=) ANY (ARRAY[
		'email', 'first_name', 'last_name', 'phone', 'job_title', 'seniority', 'decision_maker',
		'company_name', 'industry', 'city', 'employees', 'annual_revenue', 'country',
		'source_channel', 'campaign_id', 'consent', 'attributes']::name[]))
);
COMMENT ON TABLE @extschema@.capture_field IS
	'The lead columns capture() accepts from a form; overwrite: a submission replaces a value the lead has (else it only fills an empty one)';
INSERT INTO @extschema@.capture_field (field, overwrite) VALUES
	('email', false), ('first_name', false), ('last_name', false), ('phone', true),
	('job_title', true), ('seniority', true), ('decision_maker', true), ('company_name', false),
	('industry', false), ('city', true), ('employees', true), ('annual_revenue', true),
	('country', true), ('source_channel', false), ('campaign_id', false), ('consent', true),
	('attributes', false);
CREATE TRIGGER capture_field_replace BEFORE INSERT ON @extschema@.capture_field
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();

-- A submission key seen once: a retried POST returns the same lead.
CREATE TABLE @extschema@.capture_submission (
	submission_key	text PRIMARY KEY,
	lead_id			bigint REFERENCES @extschema@.lead ON DELETE CASCADE,
	activity_id		bigint,
	captured_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT capture_submission_key_check CHECK (pg_catalog.length(submission_key) BETWEEN 1 AND 200)
);
COMMENT ON TABLE @extschema@.capture_submission IS
	'Submission keys capture() has seen, with the lead and form_submission activity each made';

CREATE FUNCTION @extschema@.capture(fields jsonb, visitor text DEFAULT NULL, submission_key text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	form text;
	given jsonb;
	f record;
	bad text;
	lid bigint;
	aid bigint;
	cols text;
	sets text;
	campaign bigint;
BEGIN
	IF fields IS NULL THEN
		RAISE EXCEPTION 'fields must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM capture.visitor::@extschema@.visitor_id;
	IF jsonb_typeof(fields) <> 'object' THEN
		RAISE EXCEPTION 'fields must be a JSON object, not %', jsonb_typeof(fields)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF submission_key IS NOT NULL THEN
		IF length(submission_key) NOT BETWEEN 1 AND 200 THEN
			RAISE EXCEPTION 'submission_key must have 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
		END IF;
		-- a second submission with the key waits here for the first to end
		INSERT INTO @extschema@.capture_submission AS s (submission_key) VALUES (capture.submission_key)
		ON CONFLICT ON CONSTRAINT capture_submission_pkey DO NOTHING;
		IF NOT FOUND THEN
			SELECT s.lead_id INTO lid FROM @extschema@.capture_submission AS s
			WHERE s.submission_key OPERATOR(pg_catalog.=) capture.submission_key;
			RETURN lid;
		END IF;
	END IF;
	form := fields ->> 'form';
	IF jsonb_typeof(fields -> 'form') NOT IN ('string', 'null') THEN
		RAISE EXCEPTION 'field "form" must be a string (the form''s name)' USING ERRCODE = 'invalid_parameter_value';
	END IF;

	SELECT string_agg(format('"%s"', k), ', ' ORDER BY k) INTO bad
	FROM jsonb_object_keys(fields - 'form') AS k
	WHERE NOT EXISTS (SELECT FROM @extschema@.capture_field AS c WHERE c.field OPERATOR(pg_catalog.=) k);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'unknown field %', bad
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A form brings the fields listed in lead_gen.capture_field, and "form" (its name).';
	END IF;
	-- empty values say nothing: they neither fill nor overwrite
	SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}') INTO given
	FROM jsonb_each(fields - 'form') AS e
	WHERE e.value NOT IN ('null', '""', '{}')
	  AND NOT (e.key = 'consent' AND e.value = '"unknown"');
	-- each value must be one its column takes; the error names the field
	FOR f IN SELECT e.key, e.value FROM jsonb_each(given) AS e ORDER BY e.key LOOP
		BEGIN
			PERFORM jsonb_populate_record(NULL::@extschema@.lead, jsonb_build_object(f.key, f.value));
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION 'field "%": %', f.key, SQLERRM USING ERRCODE = SQLSTATE;
		END;
	END LOOP;
	IF given ? 'campaign_id' AND NOT EXISTS (
			SELECT FROM @extschema@.campaign AS c WHERE c.campaign_id OPERATOR(pg_catalog.=) (given ->> 'campaign_id')::bigint) THEN
		RAISE EXCEPTION 'field "campaign_id": campaign % does not exist', given ->> 'campaign_id'
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	campaign := (given ->> 'campaign_id')::bigint;

	-- the lead: by e-mail (as the unique index compares), else the visitor's
	IF given ? 'email' THEN
		SELECT l.lead_id INTO lid FROM @extschema@.lead AS l
		WHERE lower(l.email) OPERATOR(pg_catalog.=) lower(given ->> 'email') FOR UPDATE;
		IF lid IS NULL THEN
			-- the address of a lead merged into another is that lead's
			SELECT m.winner INTO lid FROM @extschema@.lead_merge AS m
			WHERE lower(m.loser_data ->> 'email') OPERATOR(pg_catalog.=) lower(given ->> 'email')
			ORDER BY m.merged_at DESC LIMIT 1;
			PERFORM FROM @extschema@.lead AS l WHERE l.lead_id OPERATOR(pg_catalog.=) lid FOR UPDATE;
		END IF;
	ELSIF capture.visitor IS NOT NULL THEN
		SELECT v.lead_id INTO lid FROM @extschema@.visitor AS v
		WHERE v.visitor OPERATOR(pg_catalog.=) capture.visitor;
	END IF;
	IF lid IS NULL THEN
		IF NOT (given ?| ARRAY['email', 'phone', 'company_name']) THEN
			RAISE EXCEPTION 'a new lead needs an email, phone or company_name field'
				USING ERRCODE = 'not_null_violation';
		END IF;
		SELECT string_agg(quote_ident(k), ', ') INTO cols FROM jsonb_object_keys(given) AS k;
		EXECUTE format('INSERT INTO @extschema@.lead (%s) SELECT %s FROM jsonb_populate_record(NULL::@extschema@.lead, $1) '
					   'ON CONFLICT ((pg_catalog.lower(email))) DO NOTHING RETURNING lead_id', cols, cols)
			INTO lid USING given;
		IF lid IS NULL THEN
			-- created by a concurrent capture since we looked: fill it
			SELECT l.lead_id INTO lid FROM @extschema@.lead AS l
			WHERE lower(l.email) OPERATOR(pg_catalog.=) lower(given ->> 'email') FOR UPDATE;
		ELSE
			given := '{}';		-- all written
		END IF;
	END IF;
	-- fill what is empty; overwrite what capture_field says
	SELECT string_agg(CASE
			WHEN c.field = 'attributes' AND c.overwrite THEN 'attributes = l.attributes || r.attributes'
			WHEN c.field = 'attributes' THEN 'attributes = r.attributes || l.attributes'
			WHEN c.overwrite THEN format('%1$I = r.%1$I', c.field)
			WHEN c.field = 'consent' THEN 'consent = CASE WHEN l.consent = ''unknown'' THEN r.consent ELSE l.consent END'
			ELSE format('%1$I = coalesce(l.%1$I, r.%1$I)', c.field) END, ', ')
	INTO sets
	FROM @extschema@.capture_field AS c
	WHERE given ? c.field;
	IF sets IS NOT NULL THEN
		EXECUTE format('UPDATE @extschema@.lead AS l SET %s FROM jsonb_populate_record(NULL::@extschema@.lead, $1) AS r '
					   'WHERE l.lead_id = $2', sets)
			USING given, lid;
	END IF;

	INSERT INTO @extschema@.activity (lead_id, kind, campaign_id, properties)
	VALUES (lid, 'form_submission', campaign,
			jsonb_build_object('form', form, 'fields', fields - 'form'))
	RETURNING activity_id INTO aid;
	IF capture.visitor IS NOT NULL THEN
		PERFORM @extschema@.identify(capture.visitor, lid);
	END IF;
	IF submission_key IS NOT NULL THEN
		UPDATE @extschema@.capture_submission AS s SET lead_id = lid, activity_id = aid
		WHERE s.submission_key OPERATOR(pg_catalog.=) capture.submission_key;
	END IF;
	RETURN lid;
END
$$;
COMMENT ON FUNCTION @extschema@.capture(jsonb, text, text) IS
	'Records a form submission: finds the lead by e-mail (case-insensitively) or creates it, fills empty fields (and overwrites those capture_field says), records a form_submission activity with the form''s name and fields, identifies the visitor as the lead; a submission_key seen before returns its lead and changes nothing. Returns the lead id';

-- Leads identified from anonymous traffic, by the channel they came from.
CREATE FUNCTION @extschema@.identification_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (channel text, visitors bigint, leads bigint, median_time_to_identify interval)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce(l.source_channel, '(none)')::text,
		   count(*),
		   count(DISTINCT v.lead_id),
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY v.identified_at - v.first_seen_at)
	FROM @extschema@.visitor AS v
	JOIN @extschema@.lead AS l ON l.lead_id = v.lead_id
	WHERE (from_date IS NULL OR v.identified_at >= (from_date::timestamp AT TIME ZONE 'UTC'))
	  AND (to_date IS NULL OR v.identified_at < ((to_date + 1)::timestamp AT TIME ZONE 'UTC'))
	GROUP BY 1
	ORDER BY 1;
END;
COMMENT ON FUNCTION @extschema@.identification_report(date, date) IS
	'Visitors identified in a period (UTC days, inclusive; NULL: unbounded), by their lead''s source channel: how many, as how many leads, and the median time from first visit to identification';

-- rescore() purges anonymous activity past its retention
CREATE OR REPLACE PROCEDURE @extschema@.rescore(batch_size integer DEFAULT 1000, INOUT rescored bigint DEFAULT NULL)
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

-- ---------------------------------------------------------------------------
-- Merging duplicates (new in 1.4)
-- ---------------------------------------------------------------------------

-- a merge is a cause of stage changes, and moves history to the winner
ALTER TABLE @extschema@.stage_change DROP CONSTRAINT stage_change_cause_check;
ALTER TABLE @extschema@.stage_change ADD CONSTRAINT stage_change_cause_check CHECK (cause IN
	('threshold', 'event', 'bant', 'manual', 'rescore', 'import', 'merge'));
COMMENT ON COLUMN @extschema@.stage_change.cause IS
	'What moved the lead: threshold (score/fit), event (activity kind), bant, manual, rescore (the scheduled job), import or merge (lead_gen.merge_leads())';
DROP TRIGGER stage_change_guard ON @extschema@.stage_change;
COMMENT ON FUNCTION @extschema@.stage_change_guard() IS
	'BEFORE INSERT OR UPDATE OF lead_id row trigger on stage_change: only lead_gen writes history and moves it to another lead (a merge), except imports by roles that may UPDATE stage_transition and restores';
CREATE TRIGGER stage_change_guard BEFORE INSERT OR UPDATE OF lead_id ON @extschema@.stage_change
	FOR EACH ROW EXECUTE FUNCTION @extschema@.stage_change_guard();

-- ---------------------------------------------------------------------------
-- Reports: one check of a period unit (merge_report() has one too)
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.check_period_unit(period text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF period IS NULL OR period NOT IN ('day', 'week', 'month', 'quarter', 'year') THEN
		RAISE EXCEPTION 'unknown period "%"', period
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use day, week, month, quarter or year.';
	END IF;
	RETURN period;
END
$$;
COMMENT ON FUNCTION @extschema@.check_period_unit(text) IS
	'Checks the unit of a per-period report: day, week, month, quarter or year';

CREATE OR REPLACE FUNCTION @extschema@.leads_per_period(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	period text DEFAULT 'month', group_by text DEFAULT NULL)
RETURNS TABLE (period_start date, segment text, leads bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_period_unit(period);
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	SELECT date_trunc(period, l.created_at AT TIME ZONE 'UTC')::date, @extschema@.lead_segment(l, group_by, cn.name),
		   count(*)
	FROM @extschema@.lead AS l
	LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
	WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
	GROUP BY 1, 2
	ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION @extschema@.leads_per_period(date, date, text, text) IS
	'New leads per day, week, month, quarter or year (UTC), optionally per segment';

-- ---------------------------------------------------------------------------
-- The record of merges
-- ---------------------------------------------------------------------------

-- One row per merged lead.  winner is kept flat (a merge of the winner
-- moves its losers' rows on), so resolving an id is one lookup; merged_into
-- says which lead the loser was merged into at the time.
CREATE TABLE @extschema@.lead_merge (
	loser			bigint PRIMARY KEY,
	winner			bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	merged_into		bigint NOT NULL,
	merged_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	merged_by		name NOT NULL DEFAULT CURRENT_USER,
	reason			text,
	loser_data		jsonb NOT NULL,
	CONSTRAINT lead_merge_self_check CHECK (loser OPERATOR(pg_catalog.<>) winner
		AND loser OPERATOR(pg_catalog.<>) merged_into),
	CONSTRAINT lead_merge_reason_check CHECK (pg_catalog.length(reason) OPERATOR(pg_catalog.<=) 2000)
);
CREATE INDEX lead_merge_winner_idx ON @extschema@.lead_merge (winner);
CREATE INDEX lead_merge_merged_at_idx ON @extschema@.lead_merge (merged_at);
-- capture() finds a merged lead's address
CREATE INDEX lead_merge_loser_email_idx ON @extschema@.lead_merge ((pg_catalog.lower(loser_data OPERATOR(pg_catalog.->>) 'email')));
COMMENT ON TABLE @extschema@.lead_merge IS
	'Merged leads: which lead each now lives on (winner), which it was merged into, when, by whom, why, and its row as it was';
COMMENT ON COLUMN @extschema@.lead_merge.winner IS
	'The lead the merged lead lives on now (after chains of merges: the last); lead_gen.resolve_lead(loser) gives it';
COMMENT ON COLUMN @extschema@.lead_merge.merged_into IS 'The lead it was merged into';
COMMENT ON COLUMN @extschema@.lead_merge.loser_data IS
	'The merged lead''s row as it was before the merge (lead_gen.forget() of the winner erases its personal data)';

-- A merged id is no lead's: the loser is gone when the merge commits.
CREATE FUNCTION @extschema@.lead_merge_check()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT FROM @extschema@.lead AS l WHERE l.lead_id = NEW.loser) THEN
		RAISE EXCEPTION 'merged lead % still exists', NEW.loser
			USING ERRCODE = 'check_violation',
				  HINT = 'Merge leads with lead_gen.merge_leads().';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.lead_merge_check() IS
	'Deferred constraint trigger on lead_merge: a merged lead no longer exists at commit';
CREATE CONSTRAINT TRIGGER lead_merge_check AFTER INSERT OR UPDATE ON @extschema@.lead_merge
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_merge_check();

-- Activity written later with a merged id goes to the lead it lives on.
CREATE FUNCTION @extschema@.activity_redirect()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_activity_redirect'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.activity_redirect() IS
	'BEFORE INSERT row trigger on activity: activity of a merged lead goes to the lead it was merged into';
CREATE TRIGGER activity_redirect BEFORE INSERT ON @extschema@.activity
	FOR EACH ROW EXECUTE FUNCTION @extschema@.activity_redirect();

CREATE FUNCTION @extschema@.resolve_lead(lead_id bigint)
RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT l.lead_id FROM @extschema@.lead AS l WHERE l.lead_id = $1),
					(SELECT m.winner FROM @extschema@.lead_merge AS m WHERE m.loser = $1))
$$;
COMMENT ON FUNCTION @extschema@.resolve_lead(bigint) IS
	'The lead an id stands for: the lead itself, or the lead it was merged into (following chains of merges); NULL for an id that was never a lead or whose lead was deleted';

-- ---------------------------------------------------------------------------
-- Merging
-- ---------------------------------------------------------------------------

-- What a lead owns: every table with a foreign key to lead (lead_gen's and
-- the user's), and for each unique index holding the lead's column, when a
-- loser's row x and a winner's row y would hold the same key.  Declaring the
-- foreign key is how a table registers.
CREATE FUNCTION @extschema@.lead_owned_tables()
RETURNS TABLE (table_name regclass, lead_column name, same_key text[])
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.conrelid::regclass, a.attname,
		   (SELECT array_agg(coalesce(k.same, 'true') ORDER BY k.indexrelid)
			FROM (SELECT i.indexrelid,
						 (SELECT string_agg(format('y.%1$I = x.%1$I', ka.attname), ' AND ' ORDER BY u.ord)
						  FROM unnest(i.indkey) WITH ORDINALITY AS u(attnum, ord)
						  JOIN pg_attribute AS ka ON ka.attrelid = i.indrelid AND ka.attnum = u.attnum
						  WHERE u.attnum <> a.attnum) AS same
				  FROM pg_index AS i
				  WHERE i.indrelid = c.conrelid AND i.indisunique AND i.indpred IS NULL
					AND i.indexprs IS NULL AND a.attnum = ANY (i.indkey)) AS k)
	FROM pg_constraint AS c
	JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
	WHERE c.contype = 'f' AND c.confrelid = '@extschema@.lead'::regclass
	  AND pg_catalog.cardinality(c.conkey) = 1
	ORDER BY c.conrelid::regclass::text, a.attname
$$;
COMMENT ON FUNCTION @extschema@.lead_owned_tables() IS
	'The tables whose rows belong to a lead (a foreign key to lead_gen.lead): merge_leads() moves them; same_key gives, per unique index holding the lead''s column, the condition under which a loser''s row x and a winner''s row y would hold the same key (the loser''s is then dropped)';

CREATE FUNCTION @extschema@.merge_leads(winner bigint, loser bigint, reason text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET lead_gen.stage_cause = 'merge'
SET lead_gen.stage_reason = ''
AS $$
DECLARE
	w @extschema@.lead;
	l @extschema@.lead;
	into_lead bigint;
	t record;
	same text;
	new_stage @extschema@.lifecycle_stage;
BEGIN
	IF winner IS NULL OR loser IS NULL THEN
		RAISE EXCEPTION 'winner and loser must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF winner = loser THEN
		RAISE EXCEPTION 'cannot merge lead % into itself', loser USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF pg_catalog.length(reason) > 2000 THEN
		RAISE EXCEPTION 'the reason of a merge is at most 2000 characters' USING ERRCODE = 'string_data_right_truncation';
	END IF;
	IF NOT has_table_privilege('@extschema@.lead', 'DELETE') THEN
		RAISE EXCEPTION 'permission denied to merge leads'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'A merge deletes the merged lead.',
				  HINT = 'Admins merge: lead_gen.grant_access(role, ''admin'').';
	END IF;
	-- Activity written beside the merge would be refused by the foreign key
	-- once the loser is gone: writers wait for the merge (and the merge for
	-- open writes) and then go to the winner (trigger activity_redirect).
	-- The lock also serialises merges.
	LOCK TABLE @extschema@.activity IN SHARE ROW EXCLUSIVE MODE;

	SELECT m.winner INTO into_lead FROM @extschema@.lead_merge AS m WHERE m.loser = merge_leads.loser;
	IF FOUND THEN
		IF into_lead = winner THEN
			RETURN winner;		-- merged already: a retry changes nothing
		END IF;
		RAISE EXCEPTION 'lead % was merged into lead %', loser, into_lead
			USING ERRCODE = 'invalid_parameter_value', HINT = format('Merge lead %s instead.', into_lead);
	END IF;
	SELECT m.winner INTO into_lead FROM @extschema@.lead_merge AS m WHERE m.loser = merge_leads.winner;
	IF FOUND THEN
		IF into_lead = loser THEN
			RAISE EXCEPTION 'cannot merge lead % into lead %, which was merged into it', loser, winner
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		RAISE EXCEPTION 'lead % was merged into lead %', winner, into_lead
			USING ERRCODE = 'invalid_parameter_value', HINT = format('Merge into lead %s instead.', into_lead);
	END IF;

	-- both rows locked in id order: two merges, or a merge and rescore(),
	-- lock leads in the same order
	PERFORM FROM @extschema@.lead AS x WHERE x.lead_id IN (winner, loser) ORDER BY x.lead_id FOR UPDATE;
	SELECT * INTO w FROM @extschema@.lead AS x WHERE x.lead_id = winner;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', winner USING ERRCODE = 'no_data_found';
	END IF;
	SELECT * INTO l FROM @extschema@.lead AS x WHERE x.lead_id = loser;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', loser USING ERRCODE = 'no_data_found';
	END IF;
	IF w.forgotten_at IS NOT NULL OR l.forgotten_at IS NOT NULL THEN
		RAISE EXCEPTION 'cannot merge lead % into lead %: lead % was forgotten', loser, winner,
			CASE WHEN l.forgotten_at IS NOT NULL THEN loser ELSE winner END
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'A forgotten lead''s personal data is erased; a merge would tie it to a person again.';
	END IF;

	INSERT INTO @extschema@.lead_merge (loser, winner, merged_into, reason, loser_data)
	VALUES (loser, winner, winner, reason, to_jsonb(l));

	-- Everything the loser owns becomes the winner's.  Where a unique key
	-- would then hold twice, the winner's row stands for both.  Moving the
	-- activity recomputes both leads' engagement, caps and first touch from
	-- their history (the activity triggers).
	FOR t IN SELECT * FROM @extschema@.lead_owned_tables() LOOP
		FOREACH same IN ARRAY coalesce(t.same_key, '{}') LOOP
			EXECUTE format('DELETE FROM %s AS x WHERE x.%I = $2 AND EXISTS (SELECT FROM %s AS y WHERE y.%I = $1 AND %s)',
						   t.table_name, t.lead_column, t.table_name, t.lead_column, same)
				USING winner, loser;
		END LOOP;
		EXECUTE format('UPDATE %s SET %I = $1 WHERE %I = $2', t.table_name, t.lead_column, t.lead_column)
			USING winner, loser;
	END LOOP;
	DELETE FROM @extschema@.lead AS x WHERE x.lead_id = loser;

	-- The winner: its own values first, the loser's where it has none; the
	-- more restrictive consent; the further stage, a live one over a
	-- disqualified one (the winner's as it is now: the moved activity may
	-- have moved it on).
	SELECT x.stage INTO new_stage FROM @extschema@.lead AS x WHERE x.lead_id = winner;
	new_stage := CASE
		WHEN new_stage = 'disqualified' THEN l.stage
		WHEN l.stage = 'disqualified' THEN new_stage
		ELSE greatest(new_stage, l.stage) END;
	PERFORM set_config('lead_gen.stage_reason',
					   format('merged lead %s (%s) into lead %s', loser, l.stage, winner)
					   || coalesce(': ' || reason, ''), true);
	UPDATE @extschema@.lead AS x SET
		email = coalesce(x.email, l.email),
		first_name = coalesce(x.first_name, l.first_name),
		last_name = coalesce(x.last_name, l.last_name),
		phone = coalesce(x.phone, l.phone),
		job_title = coalesce(x.job_title, l.job_title),
		seniority = coalesce(x.seniority, l.seniority),
		decision_maker = coalesce(x.decision_maker, l.decision_maker),
		company_name = coalesce(x.company_name, l.company_name),
		industry = coalesce(x.industry, l.industry),
		employees = coalesce(x.employees, l.employees),
		annual_revenue = coalesce(x.annual_revenue, l.annual_revenue),
		country = coalesce(x.country, l.country),
		city = coalesce(x.city, l.city),
		source_channel = coalesce(x.source_channel, l.source_channel),
		campaign_id = coalesce(x.campaign_id, l.campaign_id),
		consent = CASE
			WHEN 'unsubscribed' IN (x.consent, l.consent) THEN 'unsubscribed'
			WHEN 'unknown' IN (x.consent, l.consent) THEN 'unknown'
			ELSE 'subscribed' END,
		budget = coalesce(x.budget, l.budget),
		need = coalesce(x.need, l.need),
		authority = coalesce(x.authority, l.authority),
		timeline = coalesce(x.timeline, l.timeline),
		attributes = l.attributes::jsonb || x.attributes::jsonb,
		stage = new_stage,
		mql_at = least(x.mql_at, l.mql_at),
		peak_stage = greatest(x.peak_stage, l.peak_stage),
		created_at = least(x.created_at, l.created_at)
	WHERE x.lead_id = winner;
	RETURN winner;
END
$$;
COMMENT ON FUNCTION @extschema@.merge_leads(bigint, bigint, text) IS
	'Merges lead loser into lead winner in one transaction: moves everything the loser owns (activity, history, visitors, submissions, SLA flags and every table with a foreign key to lead), fills the winner''s empty fields, keeps the more restrictive consent and the further stage, recomputes the score, records the merge in lead_merge and deletes the loser; returns winner';

-- ---------------------------------------------------------------------------
-- Reports
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.merge_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	period text DEFAULT 'month')
RETURNS TABLE (period_start date, merges bigint, leads_merged_into bigint, merged_by name[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_period_unit(period);
	RETURN QUERY
	SELECT date_trunc(period, m.merged_at AT TIME ZONE 'UTC')::date, count(*), count(DISTINCT m.merged_into),
		   array_agg(DISTINCT m.merged_by ORDER BY m.merged_by)
	FROM @extschema@.lead_merge AS m
	WHERE m.merged_at >= p.from_ts AND m.merged_at < p.to_ts
	GROUP BY 1
	ORDER BY 1;
END
$$;
COMMENT ON FUNCTION @extschema@.merge_report(date, date, text) IS
	'Merges per day, week, month, quarter or year (UTC): how many, into how many leads, and by whom';

-- ---------------------------------------------------------------------------
-- Finding duplicates (new in 1.4; pg_trgm is required from 1.4 on)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Similarity: pg_trgm's
-- ---------------------------------------------------------------------------

-- pg_trgm is a required extension, in a schema of the DBA's choosing; the
-- call is written with that schema when lead_gen is installed (PostgreSQL
-- 15 has no @extschema:pg_trgm@).  No SET clause, so it is inlined.
DO $$
DECLARE
	trgm name := (SELECT n.nspname FROM pg_catalog.pg_extension AS e
				  JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
				  WHERE e.extname OPERATOR(pg_catalog.=) 'pg_trgm');
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE FUNCTION @extschema@.trigram_similarity(a text, b text) RETURNS real '
		'LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
		pg_catalog.format('SELECT %I.similarity($1, $2)', trgm));
END
$$;
COMMENT ON FUNCTION @extschema@.trigram_similarity(text, text) IS
	'pg_trgm''s similarity(): the share of trigrams two strings have in common, 0..1 (word order does not matter)';

-- ---------------------------------------------------------------------------
-- Keys
-- ---------------------------------------------------------------------------

-- Providers whose addresses say nothing about the employer: their domain is
-- no block of colleagues.
CREATE FUNCTION @extschema@.free_mail_domain(domain text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT $1 OPERATOR(pg_catalog.=) ANY ('{gmail.com,googlemail.com,yahoo.com,yahoo.co.uk,yahoo.fr,yahoo.de,ymail.com,
		hotmail.com,hotmail.co.uk,hotmail.fr,hotmail.de,outlook.com,live.com,msn.com,aol.com,icloud.com,me.com,mac.com,
		gmx.com,gmx.de,gmx.net,web.de,t-online.de,proton.me,protonmail.com,pm.me,mail.com,mail.ru,yandex.ru,yandex.com,
		zoho.com,fastmail.com,hey.com,qq.com,163.com,126.com,orange.fr,free.fr,libero.it,laposte.net}'::pg_catalog.text[])
$$;
COMMENT ON FUNCTION @extschema@.free_mail_domain(text) IS
	'Whether a (lower-case) domain is a free or consumer mail provider''s, whose users are not colleagues';

-- The mailbox an address delivers to: case ignored, a +tag dropped (nearly
-- every provider delivers local+tag to local), and for Gmail the dots of the
-- local part too (googlemail.com is gmail.com).
CREATE FUNCTION @extschema@.normalized_mailbox(email text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN m.local OPERATOR(pg_catalog.=) '' THEN NULL
		WHEN m.domain OPERATOR(pg_catalog.=) ANY ('{gmail.com,googlemail.com}'::pg_catalog.text[])
			THEN pg_catalog.replace(m.local, '.', '') OPERATOR(pg_catalog.||) '@gmail.com'
		ELSE m.local OPERATOR(pg_catalog.||) '@' OPERATOR(pg_catalog.||) m.domain END
	FROM (SELECT pg_catalog.split_part(pg_catalog.lower(pg_catalog.left(a.x, -pg_catalog.length(a.domain) - 1)),
									   '+', 1) AS local,
				 a.domain
		  FROM (SELECT t.x, @extschema@.email_domain(t.x) AS domain
				FROM (SELECT pg_catalog.btrim($1)) AS t(x)) AS a) AS m
$$;
COMMENT ON FUNCTION @extschema@.normalized_mailbox(text) IS
	'The mailbox an e-mail address delivers to: lower case, without a +tag, and for gmail.com and googlemail.com without the dots of the local part; NULL for no address';

-- The domain of an address when it is an employer's.
CREATE FUNCTION @extschema@.company_mail_domain(email text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE WHEN NOT @extschema@.free_mail_domain(d.domain) THEN d.domain END
	FROM (SELECT @extschema@.email_domain(pg_catalog.btrim($1)) AS domain) AS d
$$;
COMMENT ON FUNCTION @extschema@.company_mail_domain(text) IS
	'The lower-case domain of an e-mail address, unless it is a free mail provider''s (NULL then)';

-- A phone number as the digits that identify it: the last nine, so that
-- national and international forms of one number agree (+44 20 7946 0000,
-- 020 7946 0000 and 0044 20 7946 0000 are one).
CREATE FUNCTION @extschema@.normalized_phone(phone text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE WHEN pg_catalog.length(d.digits) OPERATOR(pg_catalog.>=) 8 THEN pg_catalog.right(d.digits, 9) END
	FROM (SELECT pg_catalog.regexp_replace($1, '[^0-9]', '', 'g') AS digits) AS d
$$;
COMMENT ON FUNCTION @extschema@.normalized_phone(text) IS
	'The last nine digits of a phone number (national and international forms agree); NULL for fewer than eight digits';

-- A company name without case, punctuation and the legal form it ends with.
CREATE FUNCTION @extschema@.normalized_company(company_name text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT NULLIF(pg_catalog.regexp_replace(
		pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.lower($1), '[^[:alnum:]]+', ' ', 'g')),
		'^the |( (inc|incorporated|ltd|limited|llc|llp|lp|plc|gmbh|kg|ag|sa|sas|sarl|srl|spa|bv|nv|oy|ab|as|corp|corporation|co|company))+$',
		'', 'g'), '')
$$;
COMMENT ON FUNCTION @extschema@.normalized_company(text) IS
	'A company name in lower case without punctuation, a leading "the" and the legal forms it ends with (Inc, Ltd, GmbH & Co. KG, Corp, ...); NULL if nothing is left';

CREATE FUNCTION @extschema@.normalized_name(first_name text, last_name text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT NULLIF(pg_catalog.btrim(pg_catalog.lower(coalesce($1, '') OPERATOR(pg_catalog.||) ' '
												   OPERATOR(pg_catalog.||) coalesce($2, ''))), '')
$$;
COMMENT ON FUNCTION @extschema@.normalized_name(text, text) IS
	'First and last name in lower case, one string (NULL if both are empty)';

-- How much a similarity of names (or of mailboxes at one domain) of two
-- leads in the same company says: 0.8 at half the trigrams in common, 1 at
-- all of them.
CREATE FUNCTION @extschema@.similarity_evidence(similarity float8)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT least(1.0::pg_catalog.float8, greatest(0.0::pg_catalog.float8,
		0.8::pg_catalog.float8 OPERATOR(pg_catalog.+) (0.4::pg_catalog.float8 OPERATOR(pg_catalog.*) ($1 OPERATOR(pg_catalog.-) 0.5::pg_catalog.float8))))
$$;
COMMENT ON FUNCTION @extschema@.similarity_evidence(float8) IS
	'The evidence of a name or mailbox similarity between leads of one company or domain: 0.8 + 0.4 * (similarity - 0.5), within 0..1';

-- Whether every word of the shorter of two names has a counterpart in the
-- other that starts with the same letter and is as long give or take one:
-- a typo inside a word or a swap of the words keeps that, two colleagues of
-- one surname (Henry and Heather Smith) do not.  Trigrams alone cannot tell
-- those apart: one typo in a short word costs as many trigrams as another
-- word.
CREATE FUNCTION @extschema@.words_agree(a text, b text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT NOT EXISTS (
		SELECT FROM pg_catalog.unnest(CASE WHEN w.na OPERATOR(pg_catalog.<=) w.nb THEN w.wa ELSE w.wb END) AS x(word)
		WHERE NOT EXISTS (
			SELECT FROM pg_catalog.unnest(CASE WHEN w.na OPERATOR(pg_catalog.<=) w.nb THEN w.wb ELSE w.wa END) AS y(word)
			WHERE pg_catalog.left(x.word, 1) OPERATOR(pg_catalog.=) pg_catalog.left(y.word, 1)
			  AND pg_catalog.abs(pg_catalog.length(x.word) OPERATOR(pg_catalog.-) pg_catalog.length(y.word))
				  OPERATOR(pg_catalog.<=) 1))
	FROM (SELECT v.wa, v.wb, pg_catalog.cardinality(v.wa) AS na, pg_catalog.cardinality(v.wb) AS nb
		  FROM (SELECT pg_catalog.regexp_split_to_array($1, '[^[:alnum:]]+') AS wa,
					   pg_catalog.regexp_split_to_array($2, '[^[:alnum:]]+') AS wb) AS v) AS w
$$;
COMMENT ON FUNCTION @extschema@.words_agree(text, text) IS
	'Whether each word of the shorter of two names (or mailboxes) has a counterpart in the other with the same first letter and a length within one';

-- ---------------------------------------------------------------------------
-- Pairs
-- ---------------------------------------------------------------------------

-- Pairs people have looked at and found to be two people.
CREATE TABLE @extschema@.duplicate_dismissal (
	lead_a			bigint NOT NULL,
	lead_b			bigint NOT NULL,
	dismissed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	dismissed_by	name NOT NULL DEFAULT CURRENT_USER,
	PRIMARY KEY (lead_a, lead_b),
	CONSTRAINT duplicate_dismissal_order_check CHECK (lead_a OPERATOR(pg_catalog.<) lead_b)
);
COMMENT ON TABLE @extschema@.duplicate_dismissal IS
	'Pairs of leads found to be two people: duplicate_candidates() leaves them out (lead_a < lead_b; pairs of leads that are gone are ignored)';

CREATE FUNCTION @extschema@.dismiss_duplicate(lead_a bigint, lead_b bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF lead_a IS NULL OR lead_b IS NULL THEN
		RAISE EXCEPTION 'lead_a and lead_b must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF lead_a = lead_b THEN
		RAISE EXCEPTION 'a lead is no duplicate of itself' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (SELECT count(*) FROM @extschema@.lead AS l WHERE l.lead_id IN (lead_a, lead_b)) < 2 THEN
		RAISE EXCEPTION 'lead % does not exist',
			CASE WHEN EXISTS (SELECT FROM @extschema@.lead AS l WHERE l.lead_id = lead_a) THEN lead_b ELSE lead_a END
			USING ERRCODE = 'no_data_found';
	END IF;
	INSERT INTO @extschema@.duplicate_dismissal AS d (lead_a, lead_b)
	VALUES (least(dismiss_duplicate.lead_a, dismiss_duplicate.lead_b), greatest(dismiss_duplicate.lead_a, dismiss_duplicate.lead_b))
	ON CONFLICT ON CONSTRAINT duplicate_dismissal_pkey DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@.dismiss_duplicate(bigint, bigint) IS
	'Records that two leads are two people: duplicate_candidates() no longer proposes the pair';

-- Every pair with evidence, in one pass over the leads.  Exact keys are
-- joined by hash.  Names and mailboxes are compared (pg_trgm) only for leads
-- of one company or one company mail domain that share a word of their name
-- or mailbox: a typo leaves the other word whole, a swap both, and a large
-- company is not compared pair by pair.  A phone number shared by more than
-- three leads is a switchboard, no evidence.  Evidence of one kind counts
-- once (the strongest); kinds combine as independent:
-- 1 - (1 - mailbox)(1 - phone)(1 - name).
-- The planner cannot know how many rows the steps make, and a nested loop
-- over a step it thinks small is quadratic: every join here is an
-- equi-join, so hash or merge joins are forced.  No JIT for a query planned
-- on such guesses.
CREATE FUNCTION @extschema@.duplicate_candidates(min_score float8 DEFAULT 0.8)
RETURNS TABLE (lead_a bigint, lead_b bigint, score float8, reasons text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_nestloop = off
SET jit = off
AS $$
BEGIN
	IF min_score IS NULL OR NOT (min_score BETWEEN 0 AND 1) THEN
		RAISE EXCEPTION 'min_score must be between 0 and 1, not %', coalesce(min_score::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	WITH k AS MATERIALIZED (
		SELECT l.lead_id,
			   -- keys compared byte by byte: sorting and hashing them is cheap
			   @extschema@.normalized_mailbox(l.email) COLLATE "C" AS mailbox,
			   @extschema@.normalized_phone(l.phone) COLLATE "C" AS phone,
			   @extschema@.normalized_company(l.company_name) COLLATE "C" AS company,
			   @extschema@.company_mail_domain(l.email) COLLATE "C" AS domain,
			   @extschema@.normalized_name(l.first_name, l.last_name) AS name,
			   pg_catalog.split_part(pg_catalog.split_part(pg_catalog.lower(l.email), '@', 1), '+', 1) AS local
		FROM @extschema@.lead AS l
		WHERE l.forgotten_at IS NULL
	),
	personal_phone AS (
		SELECT k.phone FROM k WHERE k.phone IS NOT NULL GROUP BY k.phone HAVING count(*) BETWEEN 2 AND 3
	),
	word AS MATERIALIZED (
		SELECT DISTINCT k.lead_id, b.block, w.word COLLATE "C" AS word
		FROM k
		CROSS JOIN LATERAL (VALUES ('c ' || k.company), ('d ' || k.domain)) AS b(block)
		CROSS JOIN LATERAL unnest(string_to_array(k.name, ' ') || regexp_split_to_array(k.local, '[^[:alnum:]]+')) AS w(word)
		WHERE b.block IS NOT NULL AND length(w.word) >= 2
	),
	near AS (
		SELECT DISTINCT a.lead_id AS a, b.lead_id AS b
		FROM word AS a JOIN word AS b ON b.block = a.block AND b.word = a.word AND b.lead_id > a.lead_id
	),
	compared AS (
		SELECT n.a, n.b, ka.company = kb.company AS same_company,
			   ka.name AS name_a, kb.name AS name_b, ka.local AS local_a, kb.local AS local_b,
			   CASE WHEN ka.company = kb.company OR ka.domain = kb.domain
					THEN @extschema@.trigram_similarity(ka.name, kb.name) END AS name_sim,
			   CASE WHEN ka.domain = kb.domain THEN @extschema@.trigram_similarity(ka.local, kb.local) END AS local_sim
		FROM near AS n
		JOIN k AS ka ON ka.lead_id = n.a
		JOIN k AS kb ON kb.lead_id = n.b
	),
	evidence AS (
		SELECT a.lead_id AS a, b.lead_id AS b, 'mailbox' AS kind, 1.0::float8 AS e, 'same mailbox' AS reason
		FROM k AS a JOIN k AS b ON b.mailbox = a.mailbox AND b.lead_id > a.lead_id
		UNION ALL
		SELECT a.lead_id, b.lead_id, 'phone', 0.9, 'same phone'
		FROM k AS a JOIN k AS b ON b.phone = a.phone AND b.lead_id > a.lead_id
		WHERE a.phone IN (SELECT p.phone FROM personal_phone AS p)
		UNION ALL
		SELECT s.a, s.b, 'name', greatest(s.name_e, s.local_e),
			   CASE WHEN coalesce(s.name_e, 0) >= coalesce(s.local_e, 0)
					THEN CASE WHEN s.same_company THEN 'similar name, same company' ELSE 'similar name, same domain' END
					ELSE 'similar mailbox, same domain' END
		FROM (SELECT c.a, c.b, c.same_company,
					 CASE WHEN c.name_sim >= 0.3 THEN @extschema@.similarity_evidence(c.name_sim)
						  * CASE WHEN @extschema@.words_agree(c.name_a, c.name_b) THEN 1 ELSE 0.9 END END AS name_e,
					 CASE WHEN c.local_sim >= 0.3 THEN @extschema@.similarity_evidence(c.local_sim)
						  * CASE WHEN @extschema@.words_agree(c.local_a, c.local_b) THEN 1 ELSE 0.9 END END AS local_e
			  FROM compared AS c) AS s
		WHERE greatest(s.name_e, s.local_e) IS NOT NULL
	),
	pairs AS (
		SELECT v.a, v.b,
			   1 - (1 - coalesce(max(v.e) FILTER (WHERE v.kind = 'mailbox'), 0))
				 * (1 - coalesce(max(v.e) FILTER (WHERE v.kind = 'phone'), 0))
				 * (1 - coalesce(max(v.e) FILTER (WHERE v.kind = 'name'), 0)) AS score,
			   array_agg(DISTINCT v.reason ORDER BY v.reason) AS reasons
		FROM evidence AS v
		GROUP BY v.a, v.b
	)
	SELECT p.a, p.b, p.score, p.reasons
	FROM pairs AS p
	WHERE p.score >= min_score
	  AND NOT EXISTS (SELECT FROM @extschema@.duplicate_dismissal AS d WHERE d.lead_a = p.a AND d.lead_b = p.b)
	ORDER BY p.score DESC, p.a, p.b;
END
$$;
COMMENT ON FUNCTION @extschema@.duplicate_candidates(float8) IS
	'Probable duplicates with a score of at least min_score (0..1): pairs with the same mailbox (1), the same personal phone (0.9), or a similar name or mailbox at the same company or company mail domain (pg_trgm similarity; 0.8 at half the trigrams in common, nine tenths of that when the words do not agree) among leads sharing a word of it, kinds combined as independent evidence; dismissed pairs left out';

CREATE FUNCTION @extschema@.duplicate_report(min_score float8 DEFAULT 0.8)
RETURNS TABLE (reason text, pairs bigint, leads bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT r.reason, count(DISTINCT (c.lead_a, c.lead_b)), count(DISTINCT x.id)
	FROM @extschema@.duplicate_candidates(min_score) AS c
	CROSS JOIN LATERAL unnest(c.reasons) AS r(reason)
	CROSS JOIN LATERAL (VALUES (c.lead_a), (c.lead_b)) AS x(id)
	GROUP BY r.reason
	ORDER BY r.reason;
END;
COMMENT ON FUNCTION @extschema@.duplicate_report(float8) IS
	'Duplicates pending (not merged, not dismissed) by reason: how many pairs, and how many leads are in them';


SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor_activity', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor_purge', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.identity_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.capture_field', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.capture_submission', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor_activity_visitor_activity_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_merge', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.duplicate_dismissal', '');

-- ---------------------------------------------------------------------------
-- Segments (new in 1.4; kept equal to sql/install/segments.sql)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Segments, members, history
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.segment (
	segment_id	bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name		text NOT NULL,
	criteria	@extschema@.condition,
	live		boolean NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT segment_name_key UNIQUE (name),
	CONSTRAINT segment_name_check CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
	CONSTRAINT segment_criteria_check CHECK (live = (criteria IS NOT NULL))
);
COMMENT ON TABLE @extschema@.segment IS
	'A named set of leads: live (its members are the leads its criteria hold for, kept current) or static (kept by hand)';
COMMENT ON COLUMN @extschema@.segment.criteria IS 'The condition a lead of a live segment meets; NULL for a static segment';

-- segment_id has no foreign key: segment_member_changed checks every row it
-- records anyway (a foreign key's check would be a second query per change),
-- and a deleted segment takes its members and history (segment_deleted).
CREATE TABLE @extschema@.segment_member (
	segment_id	bigint NOT NULL,
	lead_id		bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	joined_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (segment_id, lead_id)
);
CREATE INDEX segment_member_lead_idx ON @extschema@.segment_member (lead_id);
COMMENT ON TABLE @extschema@.segment_member IS
	'The leads of each segment now: of a live segment kept by lead_gen alone, of a static one by hand (add_to_segment, remove_from_segment)';

-- No foreign keys: the history of a deleted lead stays (the sizes of the
-- past do not change), and a merged lead's stays under its own id.
CREATE TABLE @extschema@.segment_history (
	segment_history_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	segment_id	bigint NOT NULL,
	lead_id		bigint NOT NULL,
	event		text NOT NULL,
	at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	cause		text NOT NULL,
	CONSTRAINT segment_history_event_check CHECK (event IN ('joined', 'left')),
	CONSTRAINT segment_history_cause_check CHECK (cause IN
		('activity', 'rescore', 'edit', 'segment', 'merge', 'manual', 'delete'))
);
CREATE INDEX segment_history_segment_idx ON @extschema@.segment_history (segment_id, at);
CREATE INDEX segment_history_lead_idx ON @extschema@.segment_history (lead_id, at);
COMMENT ON TABLE @extschema@.segment_history IS
	'Every lead that joined or left a segment, when and why; written by lead_gen alone';
COMMENT ON COLUMN @extschema@.segment_history.cause IS
	'activity (new, changed or deleted activity), rescore (time alone, the scheduled job), edit (a change of the lead), segment (its criteria were set or changed), merge, manual (a static segment by hand) or delete (the lead was deleted)';

-- The members of live segments and the whole history are lead_gen's:
-- checked per statement, history and notifications written from the rows.
CREATE FUNCTION @extschema@.segment_member_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_segment_member_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_member_changed() IS
	'AFTER statement trigger with transition tables on segment_member: a statement may change only a static segment''s members (a merge by an admin moves any, a deleted lead leaves); records each join and leave in segment_history and sends NOTIFY lead_gen_segment. lead_gen writes live segments'' rows and history itself, without a statement';
CREATE TRIGGER segment_member_joined AFTER INSERT ON @extschema@.segment_member
	REFERENCING NEW TABLE AS new_members
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.segment_member_changed();
CREATE TRIGGER segment_member_left AFTER DELETE ON @extschema@.segment_member
	REFERENCING OLD TABLE AS old_members
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.segment_member_changed();
CREATE TRIGGER segment_member_moved AFTER UPDATE ON @extschema@.segment_member
	REFERENCING OLD TABLE AS old_members NEW TABLE AS new_members
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.segment_member_changed();

CREATE FUNCTION @extschema@.segment_history_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_segment_history_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.segment_history_guard() IS
	'BEFORE INSERT OR UPDATE row trigger on segment_history: only lead_gen writes it (and a restore)';
CREATE TRIGGER segment_history_guard BEFORE INSERT OR UPDATE ON @extschema@.segment_history
	FOR EACH ROW EXECUTE FUNCTION @extschema@.segment_history_guard();

CREATE FUNCTION @extschema@.segment_deleted()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.segment_member AS m
	WHERE m.segment_id IN (SELECT o.segment_id FROM old_segments AS o);
	DELETE FROM @extschema@.segment_history AS h
	WHERE h.segment_id IN (SELECT o.segment_id FROM old_segments AS o);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.segment_deleted() IS
	'AFTER DELETE statement trigger on segment: a deleted segment''s members and history go with it';
CREATE TRIGGER segment_deleted AFTER DELETE ON @extschema@.segment
	REFERENCING OLD TABLE AS old_segments
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.segment_deleted();

-- Every session reloads the live segments when they change.
CREATE TRIGGER segment_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.segment
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

-- A restore brings the members and history back as they were dumped; the
-- first rescore() after it recomputes every lead, which brings the live
-- segments up to date (time has passed since the dump).
CREATE FUNCTION @extschema@.segment_restored()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF @extschema@.restoring() THEN
		INSERT INTO @extschema@.scoring_state (singleton, changed_at) VALUES (true, pg_catalog.now())
		ON CONFLICT (singleton) DO UPDATE SET changed_at = excluded.changed_at;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.segment_restored() IS
	'AFTER INSERT statement trigger on segment: in a restore, the first rescore() recomputes every lead and so every live segment';
CREATE TRIGGER segment_restored AFTER INSERT ON @extschema@.segment
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.segment_restored();

-- New leads join live segments once their row exists.
CREATE FUNCTION @extschema@.lead_segments_joined()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_lead_segments_joined'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_segments_joined() IS
	'AFTER INSERT row trigger on lead: a new lead joins the live segments whose criteria hold for it';
CREATE TRIGGER lead_segments_joined AFTER INSERT ON @extschema@.lead
	FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_segments_joined();

-- ---------------------------------------------------------------------------
-- Defining segments
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.segment_rebuild(segment_id bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'lead_gen_segment_rebuild'
LANGUAGE C STRICT;
COMMENT ON FUNCTION @extschema@.segment_rebuild(bigint) IS
	'Internal: makes a live segment''s members the leads its criteria hold for now, in one pass over the leads writing the changes in batches, and brings each lead''s next membership change forward where it comes sooner; returns how many joined or left. create_segment() and alter_segment() call it';

-- One segment definition at a time, beside no lead write: the build reads
-- every lead and its activity as they are once the writes before it ended.
CREATE FUNCTION @extschema@.lock_segments()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT pg_catalog.has_table_privilege('@extschema@.segment', 'INSERT, UPDATE, DELETE') THEN
		RAISE EXCEPTION 'permission denied to define segments'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Defining segments needs the admin access level (lead_gen.grant_access).';
	END IF;
	LOCK TABLE @extschema@.lead, @extschema@.activity IN SHARE ROW EXCLUSIVE MODE;
END
$$;
COMMENT ON FUNCTION @extschema@.lock_segments() IS
	'Internal: checks the caller may define segments, and waits for lead and activity writes to end and holds new ones until commit';

CREATE FUNCTION @extschema@.check_segment_name(name text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF name IS NULL THEN
		RAISE EXCEPTION 'segment name must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF pg_catalog.length(name) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'segment name must be 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_segment_name(text) IS 'Internal: a segment name is 1 to 200 characters';

CREATE FUNCTION @extschema@.create_segment(name text, criteria text, live boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
	c @extschema@.condition;
BEGIN
	PERFORM @extschema@.check_segment_name(name);
	IF live IS NULL THEN
		RAISE EXCEPTION 'live must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF live AND criteria IS NULL THEN
		RAISE EXCEPTION 'a live segment needs criteria' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Write its condition, such as stage = mql and days_in_stage > 14; a static segment (live => false) is kept by hand.';
	END IF;
	IF NOT live AND criteria IS NOT NULL THEN
		RAISE EXCEPTION 'a static segment has no criteria' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Add its members with lead_gen.add_to_segment(), or make it live.';
	END IF;
	c := criteria::@extschema@.condition;
	PERFORM @extschema@.lock_segments();
	IF EXISTS (SELECT FROM @extschema@.segment AS s WHERE s.name OPERATOR(pg_catalog.=) create_segment.name) THEN
		RAISE EXCEPTION 'segment "%" already exists', name USING ERRCODE = 'duplicate_object',
			HINT = 'Change it with lead_gen.alter_segment(), or choose another name.';
	END IF;
	INSERT INTO @extschema@.segment (name, criteria, live) VALUES (name, c, live)
	RETURNING segment_id INTO id;
	IF live THEN
		PERFORM @extschema@.segment_rebuild(id);
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.create_segment(text, text, boolean) IS
	'Creates a segment and returns its id: live (the default) with the leads its criteria (a condition) hold for as members from now on, or static (live => false, criteria NULL), kept by hand';

CREATE FUNCTION @extschema@.segment_id(name text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	SELECT s.segment_id INTO id FROM @extschema@.segment AS s WHERE s.name OPERATOR(pg_catalog.=) segment_id.name;
	IF id IS NULL THEN
		RAISE EXCEPTION 'segment "%" does not exist', name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.segment_id(text) IS 'The id of the segment of this name (42704 if there is none)';

CREATE FUNCTION @extschema@.alter_segment(name text, criteria text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
	c @extschema@.condition;
	is_live boolean;
	changed bigint;
BEGIN
	PERFORM @extschema@.check_segment_name(name);
	IF criteria IS NULL THEN
		RAISE EXCEPTION 'a live segment needs criteria' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	c := criteria::@extschema@.condition;
	PERFORM @extschema@.lock_segments();
	id := @extschema@.segment_id(name);
	SELECT s.live INTO is_live FROM @extschema@.segment AS s WHERE s.segment_id OPERATOR(pg_catalog.=) id FOR UPDATE;
	IF NOT is_live THEN
		RAISE EXCEPTION 'segment "%" is static', name USING ERRCODE = 'wrong_object_type',
			HINT = 'A static segment has no criteria: change its members with add_to_segment() and remove_from_segment().';
	END IF;
	UPDATE @extschema@.segment AS s SET criteria = c, updated_at = pg_catalog.now()
	WHERE s.segment_id OPERATOR(pg_catalog.=) id;
	changed := @extschema@.segment_rebuild(id);
	RETURN changed;
END
$$;
COMMENT ON FUNCTION @extschema@.alter_segment(text, text) IS
	'Changes a live segment''s criteria and recomputes its members at once (cause segment in the history); returns how many leads joined or left';

CREATE FUNCTION @extschema@.drop_segment(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM @extschema@.check_segment_name(name);
	PERFORM @extschema@.lock_segments();
	id := @extschema@.segment_id(name);
	DELETE FROM @extschema@.segment AS s WHERE s.segment_id OPERATOR(pg_catalog.=) id;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_segment(text) IS 'Drops a segment, its members and its history';

-- ---------------------------------------------------------------------------
-- Static segments, and asking about members
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.static_segment_id(name text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.segment_id(name);
BEGIN
	IF (SELECT s.live FROM @extschema@.segment AS s WHERE s.segment_id OPERATOR(pg_catalog.=) id) THEN
		RAISE EXCEPTION 'segment "%" is live', name USING ERRCODE = 'wrong_object_type',
			HINT = 'A live segment''s members are the leads its criteria hold for; change the criteria with alter_segment().';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.static_segment_id(text) IS 'Internal: the id of a static segment (42809 for a live one)';

CREATE FUNCTION @extschema@.add_to_segment(name text, lead_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.static_segment_id(name);
	l bigint := @extschema@.resolve_lead(lead_id);
BEGIN
	IF lead_id IS NULL THEN
		RAISE EXCEPTION 'lead_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF l IS NULL THEN
		RAISE EXCEPTION 'lead % does not exist', lead_id USING ERRCODE = 'no_data_found';
	END IF;
	INSERT INTO @extschema@.segment_member (segment_id, lead_id) VALUES (id, l)
	ON CONFLICT ON CONSTRAINT segment_member_pkey DO NOTHING;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.add_to_segment(text, bigint) IS
	'Adds a lead (a merged lead''s id: the lead it was merged into) to a static segment; false if it was a member already';

CREATE FUNCTION @extschema@.remove_from_segment(name text, lead_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.static_segment_id(name);
	l bigint := coalesce(@extschema@.resolve_lead(lead_id), lead_id);
BEGIN
	IF lead_id IS NULL THEN
		RAISE EXCEPTION 'lead_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	DELETE FROM @extschema@.segment_member AS m
	WHERE m.segment_id OPERATOR(pg_catalog.=) id AND m.lead_id OPERATOR(pg_catalog.=) l;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.remove_from_segment(text, bigint) IS
	'Removes a lead from a static segment; false if it was not a member';

CREATE FUNCTION @extschema@.in_segment(lead_id bigint, name text)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF lead_id IS NULL OR name IS NULL THEN
		RETURN NULL;
	END IF;
	id := @extschema@.segment_id(name);
	RETURN EXISTS (SELECT FROM @extschema@.segment_member AS m
				   WHERE m.segment_id OPERATOR(pg_catalog.=) id
					 AND m.lead_id OPERATOR(pg_catalog.=) coalesce(@extschema@.resolve_lead(in_segment.lead_id), in_segment.lead_id));
END
$$;
COMMENT ON FUNCTION @extschema@.in_segment(bigint, text) IS
	'Whether a lead (a merged lead''s id: the lead it was merged into) is a member of the segment now';

-- ---------------------------------------------------------------------------
-- Reports
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.segment_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	period text DEFAULT 'day', segment_name text DEFAULT NULL)
RETURNS TABLE (segment text, period_start date, joins bigint, leaves bigint, members bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
	only_id bigint;
BEGIN
	PERFORM @extschema@.check_period_unit(period);
	IF segment_name IS NOT NULL THEN
		only_id := @extschema@.segment_id(segment_name);
	END IF;
	RETURN QUERY
	WITH h AS (
		SELECT x.segment_id, date_trunc(period, x.at AT TIME ZONE 'UTC')::date AS day,
			   count(*) FILTER (WHERE x.event = 'joined') AS j,
			   count(*) FILTER (WHERE x.event = 'left') AS l
		FROM @extschema@.segment_history AS x
		WHERE only_id IS NULL OR x.segment_id = only_id
		GROUP BY 1, 2),
	span AS (
		SELECT s.segment_id, s.name,
			   date_trunc(period, greatest(p.from_ts, s.created_at) AT TIME ZONE 'UTC')::date AS first_day,
			   date_trunc(period, least(p.to_ts - interval '1 microsecond', now()) AT TIME ZONE 'UTC')::date AS last_day
		FROM @extschema@.segment AS s
		WHERE only_id IS NULL OR s.segment_id = only_id),
	days AS (
		SELECT span.segment_id, span.name, g::date AS day
		FROM span, generate_series(span.first_day::timestamp, span.last_day::timestamp,
								   ('1 ' || period)::interval) AS g),
	running AS (
		SELECT d.segment_id, d.name, d.day, coalesce(h.j, 0) AS j, coalesce(h.l, 0) AS l,
			   (SELECT coalesce(sum(y.j - y.l), 0) FROM h AS y
				WHERE y.segment_id = d.segment_id AND y.day <= d.day)::bigint AS m
		FROM days AS d LEFT JOIN h ON h.segment_id = d.segment_id AND h.day = d.day)
	SELECT r.name, r.day, r.j, r.l, r.m FROM running AS r
	ORDER BY r.name, r.day;
END
$$;
COMMENT ON FUNCTION @extschema@.segment_report(date, date, text, text) IS
	'Per segment (or one, by name) and per day, week, month, quarter or year (UTC) from its creation on: how many leads joined and left, and how many were members at the end of the period, from segment_history';

CREATE FUNCTION @extschema@.segment_conversion(segment_name text)
RETURNS TABLE (leads_in text, leads bigint, reached_sql bigint, customers bigint,
	sql_rate float8, customer_rate float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.segment_id(segment_name);
BEGIN
	RETURN QUERY
	SELECT g.who, count(*), count(*) FILTER (WHERE g.peak IN ('sql', 'opportunity', 'customer')), count(*) FILTER (WHERE g.peak = 'customer'),
		   (count(*) FILTER (WHERE g.peak IN ('sql', 'opportunity', 'customer')))::float8 / nullif(count(*), 0),
		   (count(*) FILTER (WHERE g.peak = 'customer'))::float8 / nullif(count(*), 0)
	FROM (SELECT CASE WHEN m.lead_id IS NULL THEN 'others' ELSE 'members' END AS who,
				 coalesce(l.peak_stage, 'prospect') AS peak
		  FROM @extschema@.lead AS l
		  LEFT JOIN @extschema@.segment_member AS m ON m.segment_id = id AND m.lead_id = l.lead_id) AS g
	GROUP BY g.who
	ORDER BY g.who;
END
$$;
COMMENT ON FUNCTION @extschema@.segment_conversion(text) IS
	'How the members of a segment convert against every other lead: leads, how many reached sql (or a later stage) and customer, and the rates';

-- truncating activity changes what live segments see
CREATE OR REPLACE FUNCTION @extschema@.activity_truncated()
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

COMMENT ON COLUMN @extschema@.lead.next_change_at IS
	'No later than when time alone will next change the temperature or a live segment membership (NULL: never); rescore() visits leads whose time has come and stores the exact time';


SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_segment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_history_segment_history_id_seq', '');

-- pg_cron jobs: schedule_rescore and schedule_programs share one helper
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

CREATE OR REPLACE FUNCTION @extschema@.schedule_rescore(schedule text DEFAULT '*/5 * * * *')
RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.cron_schedule('lead_gen_rescore', schedule, 'CALL lead_gen.rescore()', '*/5 * * * *')
$$;
COMMENT ON FUNCTION @extschema@.schedule_rescore(text) IS
	'Schedules CALL lead_gen.rescore() with pg_cron as the job lead_gen_rescore (again: replaces it), running as the current user; returns the job id';

CREATE OR REPLACE FUNCTION @extschema@.unschedule_rescore()
RETURNS boolean LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.cron_unschedule('lead_gen_rescore')
$$;

-- ---------------------------------------------------------------------------
-- Nurture programs and the outbox (new in 1.4; kept equal to
-- sql/install/programs.sql)
-- ---------------------------------------------------------------------------

-- ---------------------------------------------------------------------------
-- Content, programs, steps
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.content (
	content_key	@extschema@.identifier PRIMARY KEY,
	channel		@extschema@.identifier NOT NULL DEFAULT 'email',
	policy		text NOT NULL DEFAULT 'marketing',
	description	text,
	CONSTRAINT content_policy_check CHECK (policy IN ('marketing', 'transactional')),
	CONSTRAINT content_description_check CHECK (pg_catalog.length(description) OPERATOR(pg_catalog.<=) 2000)
);
COMMENT ON TABLE @extschema@.content IS
	'What a send step may name: a content key, the channel it goes out on and its policy (marketing: consent, suppression and the frequency cap apply; transactional: only a hard bounce stops it). The sender renders the key';

CREATE TABLE @extschema@.program (
	program_id		bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name			text NOT NULL,
	entry_segment_id bigint REFERENCES @extschema@.segment ON DELETE RESTRICT,
	goal_segment_id	bigint REFERENCES @extschema@.segment ON DELETE RESTRICT,
	reentry			interval,
	holdout			float8 NOT NULL DEFAULT 0,
	time_zone		text NOT NULL DEFAULT 'UTC',
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT program_name_key UNIQUE (name),
	CONSTRAINT program_name_check CHECK (pg_catalog.length(name) BETWEEN 1 AND 150),
	CONSTRAINT program_reentry_check CHECK (reentry OPERATOR(pg_catalog.>=) interval '0'),
	CONSTRAINT program_holdout_check CHECK (
		holdout OPERATOR(pg_catalog.>=) 0 AND holdout OPERATOR(pg_catalog.<) 1)
);
COMMENT ON TABLE @extschema@.program IS
	'A nurture program: who enters (a segment''s joins, or enroll() by hand), its steps, its exit goal, re-entry and holdout';
COMMENT ON COLUMN @extschema@.program.entry_segment_id IS
	'Leads joining this segment are enrolled (NULL: only by hand, lead_gen.enroll())';
COMMENT ON COLUMN @extschema@.program.goal_segment_id IS
	'The exit goal: the live segment "program <name>: goal" create_program made of the goal''s condition; a lead that joins it leaves at once, counted as converted (NULL: no goal)';
COMMENT ON COLUMN @extschema@.program.reentry IS
	'How long after its last enrolment ended a lead may enter again (NULL: never again)';
COMMENT ON COLUMN @extschema@.program.holdout IS
	'The share of entrants held out (no steps; compared in program_lift), chosen by lead id: 0 <= holdout < 1';
COMMENT ON COLUMN @extschema@.program.time_zone IS
	'The time zone of wait_until steps for leads without a valid attributes->>''time_zone''';

CREATE TABLE @extschema@.program_step (
	program_id	bigint NOT NULL REFERENCES @extschema@.program ON DELETE CASCADE,
	step		integer NOT NULL,
	label		text,
	kind		text NOT NULL,
	content_key	@extschema@.identifier REFERENCES @extschema@.content ON DELETE RESTRICT,
	wait		interval,
	weekdays	integer[],
	at_hour		integer,
	at_minute	integer,
	criterion	@extschema@.condition,
	then_step	integer,
	else_step	integer,
	to_stage	@extschema@.lifecycle_stage,
	message		text,
	PRIMARY KEY (program_id, step),
	CONSTRAINT program_step_label_key UNIQUE (program_id, label),
	CONSTRAINT program_step_kind_check CHECK (kind IN
		('send', 'wait', 'wait_until', 'branch', 'stage', 'notify_sales')),
	CONSTRAINT program_step_fields_check CHECK (CASE kind
		WHEN 'send' THEN content_key IS NOT NULL
		WHEN 'wait' THEN wait OPERATOR(pg_catalog.>) interval '0'
		WHEN 'wait_until' THEN at_hour BETWEEN 0 AND 23 AND at_minute BETWEEN 0 AND 59
		WHEN 'branch' THEN criterion IS NOT NULL
		WHEN 'stage' THEN to_stage IS NOT NULL
		WHEN 'notify_sales' THEN message IS NOT NULL END)
);
COMMENT ON TABLE @extschema@.program_step IS
	'The steps of a program in order (1..n): send, wait, wait_until, branch, stage, notify_sales; written by create_program from its JSON';
COMMENT ON COLUMN @extschema@.program_step.then_step IS 'branch: the step to go to when criterion holds (NULL: the next)';
COMMENT ON COLUMN @extschema@.program_step.else_step IS 'branch: the step to go to when it does not (NULL: the next)';
COMMENT ON COLUMN @extschema@.program_step.weekdays IS 'wait_until: ISO days of the week, 1 = Monday (NULL: any day)';

-- Every session re-reads which segments programs enter from and exit by.
CREATE TRIGGER program_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.program
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

-- ---------------------------------------------------------------------------
-- Enrolments, the outbox, suppression, settings
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.enrollment (
	enrollment_id	bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	program_id		bigint NOT NULL REFERENCES @extschema@.program ON DELETE CASCADE,
	lead_id			bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	round			integer NOT NULL DEFAULT 1,
	holdout			boolean NOT NULL DEFAULT false,
	status			text NOT NULL DEFAULT 'active',
	step			integer,
	next_at			timestamptz,
	cause			text NOT NULL,
	entered_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	ended_at		timestamptz,
	last_error		text,
	CONSTRAINT enrollment_round_key UNIQUE (program_id, lead_id, round),
	CONSTRAINT enrollment_status_check CHECK (status IN ('active', 'completed', 'converted', 'exited')),
	CONSTRAINT enrollment_cause_check CHECK (cause IN ('segment', 'manual')),
	CONSTRAINT enrollment_due_check CHECK (next_at IS NULL OR (status = 'active' AND NOT holdout AND step IS NOT NULL)),
	CONSTRAINT enrollment_ended_check CHECK ((status = 'active') = (ended_at IS NULL))
);
-- advance_programs() visits only the enrolments whose next step is due
CREATE INDEX enrollment_due_idx ON @extschema@.enrollment (next_at, enrollment_id) WHERE next_at IS NOT NULL;
CREATE INDEX enrollment_lead_idx ON @extschema@.enrollment (lead_id);
COMMENT ON TABLE @extschema@.enrollment IS
	'A lead''s way through a program: its next step and when it is due, and how it ended (completed the steps, converted: met the goal, exited: taken out). Written by lead_gen alone';
COMMENT ON COLUMN @extschema@.enrollment.round IS 'The lead''s nth enrolment in the program (re-entry)';
COMMENT ON COLUMN @extschema@.enrollment.holdout IS 'Held out: runs no steps, counted against the members in program_lift';
COMMENT ON COLUMN @extschema@.enrollment.step IS 'The step to run next (NULL: none)';
COMMENT ON COLUMN @extschema@.enrollment.next_at IS 'When the next step is due (NULL: nothing due)';
COMMENT ON COLUMN @extschema@.enrollment.last_error IS 'Why the last stage step could not move the lead (the enrolment went on)';

CREATE TABLE @extschema@.outbox (
	message_id		bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	enrollment_id	bigint REFERENCES @extschema@.enrollment ON DELETE SET NULL,
	step			integer NOT NULL,
	program_id		bigint NOT NULL REFERENCES @extschema@.program ON DELETE CASCADE,
	lead_id			bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	channel			@extschema@.identifier NOT NULL,
	content_key		@extschema@.identifier NOT NULL,
	policy			text NOT NULL,
	fields			jsonb NOT NULL,
	due_at			timestamptz NOT NULL,
	status			text NOT NULL DEFAULT 'pending',
	visible_at		timestamptz,
	attempts		integer NOT NULL DEFAULT 0,
	claimed_by		text,
	claimed_at		timestamptz,
	sent_at			timestamptz,
	provider_ref	text,
	last_error		text,
	skip_reason		text,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT outbox_once_key UNIQUE (enrollment_id, step),
	CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'claimed', 'sent', 'skipped', 'dead')),
	CONSTRAINT outbox_visible_check CHECK ((visible_at IS NOT NULL) = (status IN ('pending', 'claimed'))),
	CONSTRAINT outbox_skip_check CHECK ((skip_reason IS NOT NULL) = (status = 'skipped'))
);
-- claim_messages() reads the messages visible now, oldest first, in the
-- index order (no sort of every due message per claim)
CREATE INDEX outbox_visible_idx ON @extschema@.outbox (visible_at, message_id) WHERE visible_at IS NOT NULL;
-- the frequency cap counts a lead's recent messages
CREATE INDEX outbox_lead_idx ON @extschema@.outbox (lead_id, claimed_at);
-- no index by program: every claim and ack writes a new version into every
-- index (visible_at changes, so no HOT update), and the reports read the
-- whole outbox anyway
COMMENT ON TABLE @extschema@.outbox IS
	'Messages for a sender: one per enrolment and send step at most. pending -> claimed (hidden for a lease) -> sent (acked), or back to pending (failed, or the lease ran out), dead after max_attempts failures, skipped when consent, suppression, the goal or an exit stopped it. Written by lead_gen alone';
COMMENT ON COLUMN @extschema@.outbox.fields IS 'The personalisation fields for the template: the lead''s name, e-mail, company, job title and attributes as of when the step ran';
COMMENT ON COLUMN @extschema@.outbox.visible_at IS 'When a claim may hand the message out (due time, end of a lease, retry time); NULL once it is done';
COMMENT ON COLUMN @extschema@.outbox.attempts IS 'How many times the message was claimed';
COMMENT ON COLUMN @extschema@.outbox.skip_reason IS 'Why it was never handed out (again): unsubscribed, suppressed, forgotten, goal, exited';

CREATE TABLE @extschema@.suppression (
	lead_id		bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	channel		@extschema@.identifier NOT NULL,
	reason		text NOT NULL,
	activity_id	bigint,
	at			timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (lead_id, channel),
	CONSTRAINT suppression_reason_check CHECK (reason IN ('unsubscribe', 'hard_bounce', 'complaint', 'manual'))
);
COMMENT ON TABLE @extschema@.suppression IS
	'Leads that get nothing more on a channel: an unsubscribe or hard bounce activity adds them; a writer may add or delete rows (a resubscribe). A hard bounce stops transactional messages too';

CREATE TABLE @extschema@.outbox_settings (
	singleton		boolean PRIMARY KEY DEFAULT true,
	max_attempts	integer NOT NULL DEFAULT 5,
	retry_delay		interval NOT NULL DEFAULT '5 minutes',
	cap_messages	integer,
	cap_window		interval NOT NULL DEFAULT '7 days',
	CONSTRAINT outbox_settings_singleton_check CHECK (singleton),
	CONSTRAINT outbox_settings_attempts_check CHECK (max_attempts BETWEEN 1 AND 100),
	CONSTRAINT outbox_settings_retry_check CHECK (
		retry_delay OPERATOR(pg_catalog.>=) interval '1 second' AND retry_delay OPERATOR(pg_catalog.<=) interval '1 day'),
	CONSTRAINT outbox_settings_cap_check CHECK (cap_messages OPERATOR(pg_catalog.>=) 1),
	CONSTRAINT outbox_settings_window_check CHECK (
		cap_window OPERATOR(pg_catalog.>=) interval '1 minute' AND cap_window OPERATOR(pg_catalog.<=) interval '1 year')
);
COMMENT ON TABLE @extschema@.outbox_settings IS
	'Outbox settings (one row): a message failing max_attempts times is dead; a failure without retry_at retries after retry_delay, doubling; at most cap_messages marketing messages per lead per cap_window (NULL: no cap)';
INSERT INTO @extschema@.outbox_settings DEFAULT VALUES;
CREATE TRIGGER outbox_settings_replace BEFORE INSERT ON @extschema@.outbox_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER outbox_settings_keep BEFORE DELETE ON @extschema@.outbox_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER outbox_settings_no_truncate BEFORE TRUNCATE ON @extschema@.outbox_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_keep();

-- Delivery events come back as activity: an unsubscribe, a hard bounce or a
-- complaint suppresses the lead on the message's channel.  The WHEN clause
-- keeps the trigger off every other activity insert.
CREATE FUNCTION @extschema@.activity_suppresses()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	why text := CASE
		WHEN NEW.kind = 'unsubscribe' THEN 'unsubscribe'
		WHEN NEW.kind = 'complaint' THEN 'complaint'
		WHEN NEW.kind = 'bounce' AND NEW.properties->>'bounce' = 'hard' THEN 'hard_bounce' END;
BEGIN
	-- a restore brings the suppressions back as they were dumped
	IF why IS NOT NULL AND NOT @extschema@.restoring() THEN
		INSERT INTO @extschema@.suppression AS s (lead_id, channel, reason, activity_id, at)
		VALUES (NEW.lead_id, coalesce(NEW.properties->>'channel', 'email'), why, NEW.activity_id, NEW.occurred_at)
		ON CONFLICT (lead_id, channel) DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.activity_suppresses() IS
	'AFTER INSERT row trigger on activity (unsubscribe, complaint, bounce with properties bounce = hard): suppresses the lead on the channel of properties->>''channel'' (default email)';
CREATE TRIGGER activity_suppresses AFTER INSERT ON @extschema@.activity
	FOR EACH ROW WHEN (NEW.kind IN ('unsubscribe', 'bounce', 'complaint'))
	EXECUTE FUNCTION @extschema@.activity_suppresses();

-- ---------------------------------------------------------------------------
-- Defining content and programs
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.define_content(content_key text, channel text DEFAULT 'email',
	policy text DEFAULT 'marketing', description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF content_key IS NULL OR channel IS NULL OR policy IS NULL THEN
		RAISE EXCEPTION 'content_key, channel and policy must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF policy NOT IN ('marketing', 'transactional') THEN
		RAISE EXCEPTION 'unknown content policy "%"', policy
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A policy is marketing (consent, suppression and the frequency cap apply) or transactional (only a hard bounce stops it).';
	END IF;
	INSERT INTO @extschema@.content AS c (content_key, channel, policy, description)
	VALUES (content_key, channel, policy, description)
	ON CONFLICT ON CONSTRAINT content_pkey DO UPDATE
	SET channel = excluded.channel, policy = excluded.policy, description = excluded.description;
END
$$;
COMMENT ON FUNCTION @extschema@.define_content(text, text, text, text) IS
	'Defines (or redefines) a content key a send step may name: its channel and its policy, marketing or transactional';

-- A step list from its JSON: each element one of
--   {"send": key}, {"wait": interval}, {"wait_until": {"weekday": day(s), "hour": h, "minute": m}},
--   {"branch": condition, "then": target, "else": target}, {"stage": stage, "reason": text},
--   {"notify_sales": text}
-- with an optional "label"; a target is a label or a step number.
CREATE FUNCTION @extschema@.program_steps_from_json(steps jsonb)
RETURNS SETOF @extschema@.program_step
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	kinds CONSTANT text[] := ARRAY['send', 'wait', 'wait_until', 'branch', 'stage', 'notify_sales'];
	n integer;
	s jsonb;
	i integer;
	k text;
	extra text;
	r @extschema@.program_step;
	rows @extschema@.program_step[] := '{}';
	labels text[] := '{}';
	target jsonb;
	day text;
	days integer[];
BEGIN
	IF steps IS NULL OR jsonb_typeof(steps) <> 'array' OR jsonb_array_length(steps) = 0 THEN
		RAISE EXCEPTION 'steps must be a non-empty JSON array' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'For example ''[{"send": "welcome"}, {"wait": "2 days"}, {"send": "tips"}]''.';
	END IF;
	n := jsonb_array_length(steps);
	IF n > 100 THEN
		RAISE EXCEPTION 'a program has at most 100 steps' USING ERRCODE = 'program_limit_exceeded';
	END IF;
	FOR i IN 1..n LOOP
		s := steps -> (i - 1);
		IF jsonb_typeof(s) <> 'object' THEN
			RAISE EXCEPTION 'step %: a step is a JSON object', i USING ERRCODE = 'invalid_parameter_value';
		END IF;
		SELECT min(key) FILTER (WHERE key = ANY (kinds)), count(*) FILTER (WHERE key = ANY (kinds))::integer
		INTO k, extra FROM jsonb_object_keys(s) AS key;
		IF extra::integer <> 1 THEN
			RAISE EXCEPTION 'step %: give exactly one of send, wait, wait_until, branch, stage, notify_sales', i
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		SELECT min(key) INTO extra FROM jsonb_object_keys(s) AS key
		WHERE key <> ALL (ARRAY[k, 'label'] || CASE k WHEN 'branch' THEN ARRAY['then', 'else']
												   WHEN 'stage' THEN ARRAY['reason'] ELSE '{}' END);
		IF extra IS NOT NULL THEN
			RAISE EXCEPTION 'step %: unknown key "%" in a % step', i, extra, k USING ERRCODE = 'invalid_parameter_value';
		END IF;
		r := ROW(NULL, i, NULL, k, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
		IF s ? 'label' THEN
			IF jsonb_typeof(s->'label') <> 'string' OR length(s->>'label') NOT BETWEEN 1 AND 63 THEN
				RAISE EXCEPTION 'step %: a label is a string of 1 to 63 characters', i USING ERRCODE = 'invalid_parameter_value';
			END IF;
			IF (s->>'label') = ANY (labels) THEN
				RAISE EXCEPTION 'step %: label "%" is used twice', i, s->>'label' USING ERRCODE = 'invalid_parameter_value';
			END IF;
			r.label := s->>'label';
			labels := labels || r.label;
		END IF;
		IF jsonb_typeof(s->k) = 'null' THEN
			RAISE EXCEPTION 'step %: % must not be null', i, k USING ERRCODE = 'null_value_not_allowed';
		END IF;
		CASE k
		WHEN 'send' THEN
			SELECT c.content_key INTO r.content_key FROM @extschema@.content AS c WHERE c.content_key = s->>'send';
			IF NOT FOUND THEN
				RAISE EXCEPTION 'step %: content key "%" does not exist', i, s->>'send' USING ERRCODE = 'undefined_object',
					HINT = 'Define it first with lead_gen.define_content().';
			END IF;
		WHEN 'wait' THEN
			r.wait := (s->>'wait')::interval;
			IF r.wait <= interval '0' THEN
				RAISE EXCEPTION 'step %: a wait must be positive, not %', i, r.wait USING ERRCODE = 'invalid_parameter_value';
			END IF;
			IF r.wait > interval '10 years' THEN
				RAISE EXCEPTION 'step %: a wait is at most 10 years', i USING ERRCODE = 'invalid_parameter_value';
			END IF;
		WHEN 'wait_until' THEN
			IF jsonb_typeof(s->'wait_until') <> 'object'
			   OR EXISTS (SELECT FROM jsonb_object_keys(s->'wait_until') AS key WHERE key NOT IN ('weekday', 'hour', 'minute'))
			   OR jsonb_typeof(s->'wait_until'->'hour') IS DISTINCT FROM 'number' THEN
				RAISE EXCEPTION 'step %: wait_until is an object with an hour and optionally a weekday and a minute', i
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'For example {"wait_until": {"weekday": ["tue", "thu"], "hour": 9}}.';
			END IF;
			r.at_hour := (s->'wait_until'->>'hour')::numeric;
			r.at_minute := coalesce((s->'wait_until'->>'minute')::numeric, 0);
			IF r.at_hour NOT BETWEEN 0 AND 23 OR r.at_minute NOT BETWEEN 0 AND 59
			   OR (s->'wait_until'->>'hour')::numeric <> r.at_hour
			   OR coalesce((s->'wait_until'->>'minute')::numeric, 0) <> r.at_minute THEN
				RAISE EXCEPTION 'step %: the hour is a whole number 0 to 23, the minute 0 to 59', i USING ERRCODE = 'invalid_parameter_value';
			END IF;
			IF s->'wait_until' ? 'weekday' THEN
				target := s->'wait_until'->'weekday';
				IF jsonb_typeof(target) = 'string' THEN
					target := jsonb_build_array(target);
				END IF;
				IF jsonb_typeof(target) <> 'array' OR jsonb_array_length(target) = 0 THEN
					RAISE EXCEPTION 'step %: weekday is a day name or a non-empty array of them', i USING ERRCODE = 'invalid_parameter_value';
				END IF;
				days := '{}';
				FOR day IN SELECT jsonb_array_elements_text(target) LOOP
					IF lower(day) NOT IN ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun') THEN
						RAISE EXCEPTION 'step %: unknown weekday "%"', i, day USING ERRCODE = 'invalid_parameter_value',
							HINT = 'Days are mon, tue, wed, thu, fri, sat, sun.';
					END IF;
					days := days || array_position(ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], lower(day));
				END LOOP;
				r.weekdays := ARRAY(SELECT DISTINCT d FROM unnest(days) AS d ORDER BY d);
			END IF;
		WHEN 'branch' THEN
			IF jsonb_typeof(s->'branch') <> 'string' THEN
				RAISE EXCEPTION 'step %: a branch is a condition, as a string', i USING ERRCODE = 'invalid_parameter_value';
			END IF;
			r.criterion := (s->>'branch')::@extschema@.condition;
			IF NOT (s ? 'then' OR s ? 'else') THEN
				RAISE EXCEPTION 'step %: a branch needs then or else (a label or a step number)', i USING ERRCODE = 'invalid_parameter_value';
			END IF;
		WHEN 'stage' THEN
			r.to_stage := (s->>'stage')::@extschema@.lifecycle_stage;
			r.message := s->>'reason';
		WHEN 'notify_sales' THEN
			IF jsonb_typeof(s->'notify_sales') <> 'string' OR length(s->>'notify_sales') NOT BETWEEN 1 AND 2000 THEN
				RAISE EXCEPTION 'step %: notify_sales is a message of 1 to 2000 characters', i USING ERRCODE = 'invalid_parameter_value';
			END IF;
			r.message := s->>'notify_sales';
		END CASE;
		rows := rows || r;
	END LOOP;
	-- branch targets: a label or a step number
	FOR i IN 1..n LOOP
		s := steps -> (i - 1);
		CONTINUE WHEN rows[i].kind <> 'branch';
		FOREACH k IN ARRAY ARRAY['then', 'else'] LOOP
			CONTINUE WHEN NOT s ? k;
			target := s -> k;
			IF jsonb_typeof(target) = 'number' AND (target #>> '{}')::numeric BETWEEN 1 AND n
			   AND (target #>> '{}')::numeric = trunc((target #>> '{}')::numeric) THEN
				extra := target #>> '{}';
			ELSIF jsonb_typeof(target) = 'string' AND (target #>> '{}') = ANY (labels) THEN
				extra := (SELECT x.step FROM unnest(rows) AS x WHERE x.label = target #>> '{}')::text;
			ELSE
				RAISE EXCEPTION 'step %: % refers to no step: %', i, k, target
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = format('A target is a step''s label or its number, 1 to %s.', n);
			END IF;
			r := rows[i];
			IF k = 'then' THEN
				r.then_step := extra::integer;
			ELSE
				r.else_step := extra::integer;
			END IF;
			rows[i] := r;
		END LOOP;
	END LOOP;
	-- a cycle must pass a wait, or one run of advance_programs() would go round it forever
	IF EXISTS (
		WITH RECURSIVE edge(src, dst) AS (
			SELECT x.step, d.dst
			FROM unnest(rows) AS x,
				 LATERAL (VALUES (CASE WHEN x.kind = 'branch' THEN coalesce(x.then_step, x.step + 1) ELSE x.step + 1 END),
								 (CASE WHEN x.kind = 'branch' THEN coalesce(x.else_step, x.step + 1) END)) AS d(dst)
			WHERE x.kind NOT IN ('wait', 'wait_until') AND d.dst IS NOT NULL
		), walk(start, node) AS (
			SELECT e.src, e.dst FROM edge AS e
			UNION
			SELECT w.start, e.dst FROM walk AS w JOIN edge AS e ON e.src = w.node WHERE w.node <> w.start
		)
		SELECT FROM walk AS w WHERE w.start = w.node)
	THEN
		RAISE EXCEPTION 'the steps have a cycle without a wait' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'Put a wait or a wait_until step on every way back to an earlier step.';
	END IF;
	RETURN QUERY SELECT * FROM unnest(rows);
END
$$;
COMMENT ON FUNCTION @extschema@.program_steps_from_json(jsonb) IS
	'Internal: the steps of a program from create_program''s JSON, checked (kinds, keys, content keys, positive waits, hours, weekdays, branch conditions and targets, no cycle without a wait)';

CREATE FUNCTION @extschema@.create_program(name text, steps jsonb, entry text DEFAULT NULL,
	goal text DEFAULT NULL, reentry interval DEFAULT NULL, holdout float8 DEFAULT 0,
	time_zone text DEFAULT 'UTC')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
	entry_id bigint;
	goal_id bigint;
	g @extschema@.condition;
BEGIN
	IF name IS NULL OR holdout IS NULL OR time_zone IS NULL THEN
		RAISE EXCEPTION 'name, holdout and time_zone must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF length(name) NOT BETWEEN 1 AND 150 THEN
		RAISE EXCEPTION 'program name must be 1 to 150 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT (holdout >= 0 AND holdout < 1) THEN
		RAISE EXCEPTION 'holdout must be at least 0 and below 1, not %', holdout USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF reentry < interval '0' THEN
		RAISE EXCEPTION 'reentry must not be negative' USING ERRCODE = 'invalid_parameter_value',
			HINT = 'NULL: a lead enters once; an interval: it may enter again that long after its enrolment ended.';
	END IF;
	PERFORM now() AT TIME ZONE time_zone;	-- an unknown zone errors here (22023)
	IF EXISTS (SELECT FROM @extschema@.program AS p WHERE p.name = create_program.name) THEN
		RAISE EXCEPTION 'program "%" already exists', name USING ERRCODE = 'duplicate_object';
	END IF;
	g := goal::@extschema@.condition;
	IF entry IS NOT NULL THEN
		entry_id := @extschema@.segment_id(entry);
	END IF;
	INSERT INTO @extschema@.program AS p (name, entry_segment_id, reentry, holdout, time_zone)
	VALUES (name, entry_id, reentry, holdout, time_zone)
	RETURNING p.program_id INTO id;
	INSERT INTO @extschema@.program_step
	SELECT id, s.step, s.label, s.kind, s.content_key, s.wait, s.weekdays, s.at_hour, s.at_minute,
		   s.criterion, s.then_step, s.else_step, s.to_stage, s.message
	FROM @extschema@.program_steps_from_json(steps) AS s;
	IF g IS NOT NULL THEN
		-- who meets the goal is a live segment: kept current by every change
		-- and by time, and its joins are the conversions the report counts
		goal_id := @extschema@.create_segment(format('program %s: goal', name), g::text);
		UPDATE @extschema@.program AS p SET goal_segment_id = goal_id WHERE p.program_id = id;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.create_program(text, jsonb, text, text, interval, float8, text) IS
	'Creates a nurture program and returns its id: steps (a JSON array: send, wait, wait_until, branch, stage, notify_sales), entry (a segment whose joins enroll; NULL: by hand), goal (a condition; met: the lead leaves, converted), reentry (NULL: once), holdout (a share of entrants held out) and time_zone (for leads without one)';

CREATE FUNCTION @extschema@.program_id(name text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	SELECT p.program_id INTO id FROM @extschema@.program AS p WHERE p.name = program_id.name;
	IF id IS NULL THEN
		RAISE EXCEPTION 'program "%" does not exist', name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.program_id(text) IS 'The id of the program of this name (42704 if there is none)';

CREATE FUNCTION @extschema@.drop_program(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.program_id(name);
	goal_id bigint;
BEGIN
	DELETE FROM @extschema@.program AS p WHERE p.program_id = id RETURNING p.goal_segment_id INTO goal_id;
	IF goal_id IS NOT NULL THEN
		PERFORM @extschema@.drop_segment(s.name) FROM @extschema@.segment AS s WHERE s.segment_id = goal_id;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_program(text) IS
	'Drops a program with its steps, enrolments, messages and goal segment';

-- ---------------------------------------------------------------------------
-- Enrolling, leaving
-- ---------------------------------------------------------------------------

-- Whether a program holds a lead out: the same answer for a lead every
-- time (a hash of lead and program), so a re-entry is held out again.
CREATE FUNCTION @extschema@.held_out(program_id bigint, lead_id bigint, share float8)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT share > 0
	   AND ((hashint8extended(lead_id, program_id) & 9223372036854775807) % 1000000)::float8 < share * 1000000
$$;
COMMENT ON FUNCTION @extschema@.held_out(bigint, bigint, float8) IS
	'Whether a program with this holdout share holds the lead out (deterministic in lead and program)';

-- The one place an enrolment starts.  Runs as the owner: writers enroll by
-- hand and by their changes, and may not write enrolments themselves.
CREATE FUNCTION @extschema@.enroll_lead(program_id bigint, lead_id bigint, cause text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p @extschema@.program;
	last @extschema@.enrollment;
	first_step integer;
	id bigint;
	out_held boolean;
BEGIN
	SELECT * INTO p FROM @extschema@.program AS x WHERE x.program_id = enroll_lead.program_id;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO last FROM @extschema@.enrollment AS e
	WHERE e.program_id = p.program_id AND e.lead_id = enroll_lead.lead_id
	ORDER BY e.round DESC LIMIT 1;
	IF FOUND AND (last.status = 'active' OR p.reentry IS NULL
				  OR last.ended_at + p.reentry > now()) THEN
		RETURN NULL;			-- enrolled now, or not (yet) again
	END IF;
	IF p.goal_segment_id IS NOT NULL AND EXISTS (
		SELECT FROM @extschema@.segment_member AS m
		WHERE m.segment_id = p.goal_segment_id AND m.lead_id = enroll_lead.lead_id) THEN
		RETURN NULL;			-- there already
	END IF;
	out_held := @extschema@.held_out(p.program_id, enroll_lead.lead_id, p.holdout);
	SELECT min(s.step) INTO first_step FROM @extschema@.program_step AS s WHERE s.program_id = p.program_id;
	-- two enrolments at once compute the same round: the second waits for
	-- the first and does nothing
	INSERT INTO @extschema@.enrollment AS e (program_id, lead_id, round, holdout, status, step, next_at, cause)
	VALUES (p.program_id, enroll_lead.lead_id, coalesce(last.round, 0) + 1, out_held, 'active',
			CASE WHEN NOT out_held THEN first_step END, CASE WHEN NOT out_held THEN now() END, cause)
	ON CONFLICT ON CONSTRAINT enrollment_round_key DO NOTHING
	RETURNING e.enrollment_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.enroll_lead(bigint, bigint, text) IS
	'Internal: enrols a lead in a program unless it is enrolled, may not enter again yet, or meets the goal; the first step is due at once (a held-out lead runs none); returns the enrolment id or NULL';
REVOKE ALL ON FUNCTION @extschema@.enroll_lead(bigint, bigint, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.enroll(lead_id bigint, program text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.program_id(program);
	target bigint;
BEGIN
	IF lead_id IS NULL THEN
		RAISE EXCEPTION 'lead_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	target := @extschema@.resolve_lead(lead_id);
	PERFORM FROM @extschema@.lead AS l WHERE l.lead_id = target FOR KEY SHARE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', lead_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN @extschema@.enroll_lead(id, target, 'manual');
END
$$;
COMMENT ON FUNCTION @extschema@.enroll(bigint, text) IS
	'Enrols a lead in a program by hand (a merged id: the lead it was merged into); returns the enrolment id, or NULL when the lead is enrolled already, may not enter again yet, or meets the goal';
REVOKE ALL ON FUNCTION @extschema@.enroll(bigint, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.end_enrollments(lead_id bigint, program_ids bigint[], how text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n integer;
BEGIN
	UPDATE @extschema@.enrollment AS e
	SET status = how, ended_at = now(), step = NULL, next_at = NULL
	WHERE e.lead_id = end_enrollments.lead_id AND e.program_id = ANY (program_ids) AND e.status = 'active';
	GET DIAGNOSTICS n = ROW_COUNT;
	-- What the lead was not handed yet stays with it, of an enrolment that
	-- completed its steps too.  A statement of its own: its snapshot is
	-- taken after the wait above, so it sees the messages of a step that
	-- ran meanwhile.
	UPDATE @extschema@.outbox AS o
	SET status = 'skipped', skip_reason = CASE how WHEN 'converted' THEN 'goal' ELSE how END, visible_at = NULL
	WHERE o.lead_id = end_enrollments.lead_id AND o.program_id = ANY (program_ids) AND o.status = 'pending';
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.end_enrollments(bigint, bigint[], text) IS
	'Internal: ends a lead''s active enrolments in these programs (converted or exited) and skips its messages of these programs not yet handed out; returns how many enrolments ended';
REVOKE ALL ON FUNCTION @extschema@.end_enrollments(bigint, bigint[], text) FROM PUBLIC;

-- A lead joined a segment (lead_gen calls this for every join of a segment a
-- program enters from or exits by, in the transaction of the join).
CREATE FUNCTION @extschema@.program_segment_joined(segment_id bigint, lead_id bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record;
BEGIN
	IF NOT EXISTS (SELECT FROM @extschema@.segment_member AS m
				   WHERE m.segment_id = program_segment_joined.segment_id
					 AND m.lead_id = program_segment_joined.lead_id) THEN
		RETURN;					-- not a member: nothing to do
	END IF;
	PERFORM @extschema@.end_enrollments(program_segment_joined.lead_id,
		ARRAY(SELECT x.program_id FROM @extschema@.program AS x
			  WHERE x.goal_segment_id = program_segment_joined.segment_id), 'converted');
	FOR p IN SELECT x.program_id FROM @extschema@.program AS x
			 WHERE x.entry_segment_id = program_segment_joined.segment_id ORDER BY x.program_id LOOP
		PERFORM @extschema@.enroll_lead(p.program_id, program_segment_joined.lead_id, 'segment');
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.program_segment_joined(bigint, bigint) IS
	'Internal: a lead joined a segment: programs with it as goal count the lead converted, programs entered from it enrol it; lead_gen calls it, nobody else may';
REVOKE ALL ON FUNCTION @extschema@.program_segment_joined(bigint, bigint) FROM PUBLIC;

CREATE FUNCTION @extschema@.unenroll(lead_id bigint, program text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.program_id(program);
BEGIN
	IF lead_id IS NULL THEN
		RAISE EXCEPTION 'lead_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN @extschema@.end_enrollments(@extschema@.resolve_lead(lead_id), ARRAY[id], 'exited') > 0;
END
$$;
COMMENT ON FUNCTION @extschema@.unenroll(bigint, text) IS
	'Takes a lead out of a program (status exited; its messages not yet handed out are skipped); false if it was not enrolled';
REVOKE ALL ON FUNCTION @extschema@.unenroll(bigint, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Advancing
-- ---------------------------------------------------------------------------

-- The next time it is the hour and minute of one of the days in a zone.
CREATE FUNCTION @extschema@.next_local_time(after timestamptz, zone text, weekdays integer[],
	at_hour integer, at_minute integer)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	local timestamp := after AT TIME ZONE zone;
	candidate timestamp := date_trunc('day', local) + make_interval(hours => at_hour, mins => at_minute);
BEGIN
	FOR i IN 0..7 LOOP
		IF candidate + make_interval(days => i) > local
		   AND (weekdays IS NULL OR extract(isodow FROM candidate + make_interval(days => i))::integer = ANY (weekdays)) THEN
			RETURN (candidate + make_interval(days => i)) AT TIME ZONE zone;
		END IF;
	END LOOP;
	RAISE EXCEPTION 'no weekday in %', weekdays USING ERRCODE = 'invalid_parameter_value';
END
$$;
COMMENT ON FUNCTION @extschema@.next_local_time(timestamptz, text, integer[], integer, integer) IS
	'The first time after a moment when the clock in a time zone shows at_hour:at_minute on one of the ISO weekdays (NULL: any day)';

-- One batch of due enrolments, each run up to its next wait or its end.
-- Rows are taken FOR UPDATE SKIP LOCKED and re-checked when locked, so two
-- runs at once share the work and never run a step twice.
CREATE FUNCTION @extschema@.advance_batch(batch_size integer)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e @extschema@.enrollment;
	l @extschema@.lead;
	s @extschema@.program_step;
	p @extschema@.program;
	c @extschema@.content;
	n integer := 0;
	sent integer := 0;
	at_step integer;
	next_time timestamptz;
	zone text;
	moves integer;
	problem text;
	-- the program of the enrolment before, its steps and their content by
	-- step number (a batch is mostly one program's)
	cached bigint;
	r record;
	steps @extschema@.program_step[];
	contents @extschema@.content[];
BEGIN
	FOR e IN SELECT * FROM @extschema@.enrollment AS x
			 WHERE x.next_at <= now()
			 ORDER BY x.next_at, x.enrollment_id
			 LIMIT batch_size
			 FOR UPDATE SKIP LOCKED LOOP
		n := n + 1;
		IF cached IS DISTINCT FROM e.program_id THEN
			SELECT * INTO p FROM @extschema@.program AS x WHERE x.program_id = e.program_id;
			steps := '{}';
			contents := '{}';
			FOR r IN SELECT x AS st, y AS ct FROM @extschema@.program_step AS x
					 LEFT JOIN @extschema@.content AS y ON y.content_key = x.content_key
					 WHERE x.program_id = e.program_id LOOP
				steps[(r.st).step] := r.st;
				contents[(r.st).step] := r.ct;
			END LOOP;
			cached := e.program_id;
		END IF;
		SELECT * INTO l FROM @extschema@.lead AS x WHERE x.lead_id = e.lead_id;
		at_step := e.step;
		next_time := NULL;
		moves := 0;
		problem := NULL;
		LOOP
			s := steps[at_step];
			EXIT WHEN s.step IS NULL;	-- past the last step: completed
			moves := moves + 1;
			IF moves > 1000 THEN	-- the steps were checked for cycles without a wait
				RAISE EXCEPTION 'program "%" went round more than 1000 steps without a wait', p.name
					USING ERRCODE = 'program_limit_exceeded';
			END IF;
			CASE s.kind
			WHEN 'send' THEN
				c := contents[s.step];
				INSERT INTO @extschema@.outbox AS o
					(enrollment_id, step, program_id, lead_id, channel, content_key, policy, fields, due_at, visible_at)
				VALUES (e.enrollment_id, s.step, e.program_id, e.lead_id, c.channel, c.content_key, c.policy,
						jsonb_strip_nulls(jsonb_build_object(
							'lead_id', l.lead_id, 'email', l.email, 'first_name', l.first_name,
							'last_name', l.last_name, 'company_name', l.company_name,
							'job_title', l.job_title, 'attributes', l.attributes)),
						now(), now())
				ON CONFLICT ON CONSTRAINT outbox_once_key DO NOTHING;
				IF FOUND THEN
					sent := sent + 1;
				END IF;
				at_step := s.step + 1;
			WHEN 'wait' THEN
				next_time := now() + s.wait;
				at_step := s.step + 1;
			WHEN 'wait_until' THEN
				zone := l.attributes->>'time_zone';
				BEGIN
					next_time := @extschema@.next_local_time(now(), coalesce(zone, p.time_zone), s.weekdays, s.at_hour, s.at_minute);
				EXCEPTION WHEN invalid_parameter_value THEN
					-- not a zone PostgreSQL knows: the program's
					next_time := @extschema@.next_local_time(now(), p.time_zone, s.weekdays, s.at_hour, s.at_minute);
				END;
				at_step := s.step + 1;
			WHEN 'branch' THEN
				at_step := CASE WHEN @extschema@.condition_holds(s.criterion, l)
								THEN coalesce(s.then_step, s.step + 1) ELSE coalesce(s.else_step, s.step + 1) END;
			WHEN 'stage' THEN
				IF l.stage <> s.to_stage THEN
					BEGIN
						PERFORM @extschema@.transition(l.lead_id, s.to_stage,
							coalesce(s.message, format('program %s, step %s', p.name, s.step)));
					EXCEPTION WHEN check_violation OR invalid_parameter_value OR object_not_in_prerequisite_state
								   OR insufficient_privilege THEN
						problem := SQLERRM;
					END;
					SELECT * INTO l FROM @extschema@.lead AS x WHERE x.lead_id = e.lead_id;
					-- the move may have met the goal and ended the enrolment
					SELECT * INTO e FROM @extschema@.enrollment AS x WHERE x.enrollment_id = e.enrollment_id;
					EXIT WHEN e.status <> 'active';
				END IF;
				at_step := s.step + 1;
			WHEN 'notify_sales' THEN
				IF coalesce(current_setting('lead_gen.notify', true), 'on')::boolean THEN
					PERFORM pg_notify('lead_gen_sales', json_build_object(
						'lead_id', e.lead_id, 'program', p.name, 'step', s.step, 'message', s.message)::text);
				END IF;
				at_step := s.step + 1;
			END CASE;
			EXIT WHEN next_time IS NOT NULL;
		END LOOP;
		CONTINUE WHEN e.status <> 'active';
		IF next_time IS NOT NULL THEN
			UPDATE @extschema@.enrollment AS x
			SET step = at_step, next_at = next_time, last_error = coalesce(problem, x.last_error)
			WHERE x.enrollment_id = e.enrollment_id;
		ELSE
			UPDATE @extschema@.enrollment AS x
			SET status = 'completed', ended_at = now(), step = NULL, next_at = NULL,
				last_error = coalesce(problem, x.last_error)
			WHERE x.enrollment_id = e.enrollment_id;
		END IF;
	END LOOP;
	IF sent > 0 AND coalesce(current_setting('lead_gen.notify', true), 'on')::boolean THEN
		PERFORM pg_notify('lead_gen_outbox', '');
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.advance_batch(integer) IS
	'Internal: runs up to batch_size due enrolments to their next wait or end (advance_programs calls it); returns how many';
REVOKE ALL ON FUNCTION @extschema@.advance_batch(integer) FROM PUBLIC;

CREATE PROCEDURE @extschema@.advance_programs(batch_size integer DEFAULT 1000, INOUT advanced bigint DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
	n integer;
BEGIN
	IF batch_size IS NULL OR batch_size OPERATOR(pg_catalog.<) 1 THEN
		RAISE EXCEPTION 'batch_size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF NOT pg_catalog.has_function_privilege('@extschema@.advance_batch(integer)', 'EXECUTE') THEN
		RAISE EXCEPTION 'permission denied to advance programs'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'advance_programs() needs the admin access level (lead_gen.grant_access).';
	END IF;
	advanced := 0;
	LOOP
		n := @extschema@.advance_batch(batch_size);
		advanced := advanced OPERATOR(pg_catalog.+) n;
		COMMIT;
		EXIT WHEN n OPERATOR(pg_catalog.<) batch_size;
	END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.advance_programs(integer, bigint) IS
	'Runs every enrolment whose next step is due up to its next wait or its end, batch_size per transaction (each commits); two runs at once share the work. Returns how many enrolments it advanced';

CREATE FUNCTION @extschema@.schedule_programs(schedule text DEFAULT '* * * * *')
RETURNS bigint LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.cron_schedule('lead_gen_programs', schedule, 'CALL lead_gen.advance_programs()', '* * * * *')
$$;
COMMENT ON FUNCTION @extschema@.schedule_programs(text) IS
	'Schedules CALL lead_gen.advance_programs() with pg_cron as the job lead_gen_programs (again: replaces it), running as the current user; returns the job id';

CREATE FUNCTION @extschema@.unschedule_programs()
RETURNS boolean LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.cron_unschedule('lead_gen_programs')
$$;
COMMENT ON FUNCTION @extschema@.unschedule_programs() IS
	'Removes the pg_cron job lead_gen_programs of the current user; false if there was none';

-- ---------------------------------------------------------------------------
-- The outbox: claim, ack, fail
-- ---------------------------------------------------------------------------

-- Senders run these as themselves and may read nothing else: they are
-- SECURITY DEFINER, executable by the sender and admin levels only.
CREATE FUNCTION @extschema@.claim_messages(worker text, max integer DEFAULT 10,
	lease interval DEFAULT '5 minutes')
RETURNS SETOF @extschema@.outbox
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m @extschema@.outbox;
	cfg @extschema@.outbox_settings;
	capped boolean;
	recent integer;
	oldest timestamptz;
	handed integer := 0;
	picked integer;
	passed bigint[] := '{}';
BEGIN
	IF worker IS NULL OR max IS NULL OR lease IS NULL THEN
		RAISE EXCEPTION 'worker, max and lease must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF length(worker) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'worker must be 1 to 200 characters' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'max must be 1 to 10000, not %', max USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF lease < interval '1 second' OR lease > interval '1 day' THEN
		RAISE EXCEPTION 'lease must be 1 second to 1 day, not %', lease USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO cfg FROM @extschema@.outbox_settings;
	capped := cfg.cap_messages IS NOT NULL;
	-- Lock no more rows than are still wanted (a row locked and not handed
	-- out would be hidden from other workers until this transaction ends);
	-- take more while some were skipped, held back or passed by.  One
	-- statement skips the blocked and claims the rest, but for marketing
	-- messages under a frequency cap: those come back locked and unchanged,
	-- to be decided one by one below.
	<<batches>>
	LOOP
		picked := 0;
		FOR m IN WITH p AS (
					SELECT o.message_id,
						   -- consent and suppression as they are now, not as when it was written
						   CASE WHEN l.forgotten_at IS NOT NULL THEN 'forgotten'
								WHEN o.policy = 'marketing' AND l.consent = 'unsubscribed' THEN 'unsubscribed'
								WHEN EXISTS (SELECT FROM @extschema@.suppression AS s
											 WHERE s.lead_id = o.lead_id AND s.channel = o.channel
											   AND (o.policy = 'marketing' OR s.reason = 'hard_bounce')) THEN 'suppressed'
						   END AS blocked,
						   capped AND o.policy = 'marketing' AS one_by_one
					FROM @extschema@.outbox AS o
					JOIN @extschema@.lead AS l ON l.lead_id = o.lead_id
					WHERE o.visible_at <= now() AND o.message_id <> ALL (passed)
					ORDER BY o.visible_at, o.message_id
					LIMIT max - handed
					FOR UPDATE OF o SKIP LOCKED),
				 u AS (
					UPDATE @extschema@.outbox AS o
					SET status = CASE WHEN p.blocked IS NULL THEN 'claimed' ELSE 'skipped' END,
						skip_reason = p.blocked,
						visible_at = CASE WHEN p.blocked IS NULL THEN now() + lease END,
						claimed_by = CASE WHEN p.blocked IS NULL THEN worker ELSE o.claimed_by END,
						claimed_at = CASE WHEN p.blocked IS NULL THEN now() ELSE o.claimed_at END,
						attempts = o.attempts + CASE WHEN p.blocked IS NULL THEN 1 ELSE 0 END
					FROM p
					WHERE o.message_id = p.message_id AND (p.blocked IS NOT NULL OR NOT p.one_by_one)
					RETURNING o.*)
				 SELECT * FROM u
				 UNION ALL
				 SELECT o.* FROM @extschema@.outbox AS o JOIN p ON p.message_id = o.message_id
				 WHERE p.blocked IS NULL AND p.one_by_one LOOP
			picked := picked + 1;
			IF m.visible_at IS NULL THEN		-- skipped
				CONTINUE;
			ELSIF m.visible_at > now() THEN		-- claimed
				RETURN NEXT m;
				handed := handed + 1;
				CONTINUE;
			END IF;
			-- one claim at a time decides a lead's cap; another claim passes
			-- the lead by for now (like SKIP LOCKED)
			IF NOT pg_try_advisory_xact_lock(
				((m.lead_id >> 32)::integer) # 1818588274,
				((m.lead_id & 4294967295) - 2147483648)::integer) THEN
				passed := passed || m.message_id;
				CONTINUE;
			END IF;
			SELECT count(*), min(coalesce(o.sent_at, o.claimed_at)) INTO recent, oldest
			FROM @extschema@.outbox AS o
			WHERE o.lead_id = m.lead_id AND o.policy = 'marketing' AND o.message_id <> m.message_id
			  AND o.claimed_at > now() - cfg.cap_window
			  AND (o.status = 'sent' OR (o.status = 'claimed' AND o.visible_at > now()));
			IF recent >= cfg.cap_messages THEN
				UPDATE @extschema@.outbox AS o SET visible_at = oldest + cfg.cap_window
				WHERE o.message_id = m.message_id;
				CONTINUE;
			END IF;
			UPDATE @extschema@.outbox AS o
			SET status = 'claimed', claimed_by = worker, claimed_at = now(), attempts = o.attempts + 1,
				visible_at = now() + lease
			WHERE o.message_id = m.message_id
			RETURNING * INTO m;
			RETURN NEXT m;
			handed := handed + 1;
		END LOOP;
		EXIT batches WHEN picked = 0 OR handed >= max;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.claim_messages(text, integer, interval) IS
	'Hands a sender up to max messages that are due, hidden from other claims for the lease (SKIP LOCKED: workers never wait for each other); skips (and records) those whose lead unsubscribed, is suppressed on the channel or forgotten, and holds back marketing messages over the frequency cap';
REVOKE ALL ON FUNCTION @extschema@.claim_messages(text, integer, interval) FROM PUBLIC;

CREATE FUNCTION @extschema@.claimed_message(message_id bigint, worker text)
RETURNS @extschema@.outbox
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m @extschema@.outbox;
BEGIN
	IF message_id IS NULL THEN
		RAISE EXCEPTION 'message_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO m FROM @extschema@.outbox AS o WHERE o.message_id = claimed_message.message_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'message % does not exist', message_id USING ERRCODE = 'no_data_found';
	END IF;
	IF m.status <> 'claimed' THEN
		RAISE EXCEPTION 'message % is not claimed', message_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = format('It is %s.', m.status),
				  HINT = 'Only a message handed out by claim_messages() and not yet acked or failed can be.';
	END IF;
	-- after its lease ran out another worker may hold it: only that one may say
	IF worker IS NOT NULL AND m.claimed_by IS DISTINCT FROM worker THEN
		RAISE EXCEPTION 'message % is held by another worker', message_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Its lease ran out and another worker claimed it.';
	END IF;
	RETURN m;
END
$$;
COMMENT ON FUNCTION @extschema@.claimed_message(bigint, text) IS
	'Internal: the claimed message of this id, locked (P0002 if there is none, 55000 if it is not claimed, or claimed last by another worker than a worker given)';
REVOKE ALL ON FUNCTION @extschema@.claimed_message(bigint, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.ack_message(message_id bigint, provider_ref text DEFAULT NULL, worker text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF length(provider_ref) > 500 THEN
		RAISE EXCEPTION 'provider_ref is at most 500 characters' USING ERRCODE = 'string_data_right_truncation';
	END IF;
	UPDATE @extschema@.outbox AS o
	SET status = 'sent', sent_at = now(), provider_ref = ack_message.provider_ref, visible_at = NULL
	WHERE o.message_id = ack_message.message_id AND o.status = 'claimed'
	  AND (ack_message.worker IS NULL OR o.claimed_by = ack_message.worker);
	IF NOT FOUND THEN
		-- says why (and raises)
		PERFORM @extschema@.claimed_message(message_id, worker);
		RAISE EXCEPTION 'message % changed while it was acked', message_id
			USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.ack_message(bigint, text, text) IS
	'A sender reports a claimed message sent, with the provider''s reference; errors if the message is not claimed (55000), was claimed last by another worker than the worker given (55000) or does not exist (P0002)';
REVOKE ALL ON FUNCTION @extschema@.ack_message(bigint, text, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.fail_message(message_id bigint, error text, retry_at timestamptz DEFAULT NULL,
	worker text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m @extschema@.outbox;
	cfg @extschema@.outbox_settings;
BEGIN
	IF retry_at IN ('infinity', '-infinity') THEN
		RAISE EXCEPTION 'retry_at must be finite' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	m := @extschema@.claimed_message(message_id, worker);
	SELECT * INTO cfg FROM @extschema@.outbox_settings;
	IF m.attempts >= cfg.max_attempts THEN
		UPDATE @extschema@.outbox AS o
		SET status = 'dead', visible_at = NULL, last_error = left(error, 2000)
		WHERE o.message_id = m.message_id;
	ELSE
		UPDATE @extschema@.outbox AS o
		SET status = 'pending', last_error = left(error, 2000),
			visible_at = greatest(now(), coalesce(retry_at,
				now() + least(cfg.retry_delay * power(2, least(m.attempts - 1, 20)), interval '1 day')))
		WHERE o.message_id = m.message_id;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.fail_message(bigint, text, timestamptz, text) IS
	'A sender reports a claimed message failed: it is handed out again at retry_at (NULL: after retry_delay, doubling per attempt, at most a day), or dead after max_attempts claims; errors as ack_message() does';
REVOKE ALL ON FUNCTION @extschema@.fail_message(bigint, text, timestamptz, text) FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Reports
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.program_report(program text DEFAULT NULL)
RETURNS TABLE (program text, step integer, content_key text, messages bigint, sent bigint,
	delivered bigint, skipped bigint, dead bigint, opened bigint, clicked bigint, bounced bigint,
	unsubscribed bigint, reached_goal bigint, median_time_to_goal interval)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH msg AS (
		SELECT o.*, p.name, p.goal_segment_id,
			   (SELECT min(h.at) FROM @extschema@.segment_history AS h
				WHERE h.segment_id = p.goal_segment_id AND h.lead_id = o.lead_id
				  AND h.event = 'joined' AND h.at >= o.created_at) AS goal_at,
			   (SELECT array_agg(DISTINCT a.kind) FROM @extschema@.activity AS a
				WHERE a.lead_id = o.lead_id AND a.occurred_at >= o.created_at
				  AND a.kind IN ('email_open', 'email_click', 'bounce', 'unsubscribe')
				  AND a.properties->>'message_id' = o.message_id::text) AS events
		FROM @extschema@.outbox AS o
		JOIN @extschema@.program AS p ON p.program_id = o.program_id
		WHERE program_report.program IS NULL OR p.name = program_report.program)
	SELECT m.name, m.step, min(m.content_key), count(*),
		   count(*) FILTER (WHERE m.status = 'sent'),
		   count(*) FILTER (WHERE m.status = 'sent' AND NOT coalesce('bounce' = ANY (m.events), false)),
		   count(*) FILTER (WHERE m.status = 'skipped'),
		   count(*) FILTER (WHERE m.status = 'dead'),
		   count(*) FILTER (WHERE 'email_open' = ANY (m.events) OR 'email_click' = ANY (m.events)),
		   count(*) FILTER (WHERE 'email_click' = ANY (m.events)),
		   count(*) FILTER (WHERE 'bounce' = ANY (m.events)),
		   count(*) FILTER (WHERE 'unsubscribe' = ANY (m.events)),
		   count(m.goal_at),
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY m.goal_at - m.created_at)
	FROM msg AS m
	GROUP BY m.name, m.step
	ORDER BY m.name, m.step
$$;
COMMENT ON FUNCTION @extschema@.program_report(text) IS
	'Per program and send step: messages written, sent (acked), delivered (sent, not bounced), skipped, dead, opened, clicked, bounced, unsubscribed (activity carrying the message_id), leads that reached the goal after the message and the median time from message to goal';

CREATE FUNCTION @extschema@.program_lift(program text,
	OUT members bigint, OUT members_converted bigint, OUT member_rate float8,
	OUT holdouts bigint, OUT holdouts_converted bigint, OUT holdout_rate float8,
	OUT lift float8, OUT lift_low float8, OUT lift_high float8, OUT median_time_to_goal interval)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p @extschema@.program;
	se float8;
BEGIN
	SELECT * INTO p FROM @extschema@.program AS x WHERE x.program_id = @extschema@.program_id(program);
	IF p.goal_segment_id IS NULL THEN
		RAISE EXCEPTION 'program "%" has no goal', program USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	-- a lead converted when it joined the goal after it entered, whatever
	-- became of the enrolment: the same measure for both groups
	SELECT count(*) FILTER (WHERE NOT g.holdout), count(g.goal_at) FILTER (WHERE NOT g.holdout),
		   count(*) FILTER (WHERE g.holdout), count(g.goal_at) FILTER (WHERE g.holdout),
		   percentile_disc(0.5) WITHIN GROUP (ORDER BY g.goal_at - g.entered_at) FILTER (WHERE NOT g.holdout)
	INTO members, members_converted, holdouts, holdouts_converted, median_time_to_goal
	FROM (SELECT e.holdout, e.entered_at,
				 (SELECT min(h.at) FROM @extschema@.segment_history AS h
				  WHERE h.segment_id = p.goal_segment_id AND h.lead_id = e.lead_id
					AND h.event = 'joined' AND h.at >= e.entered_at) AS goal_at
		  FROM @extschema@.enrollment AS e WHERE e.program_id = p.program_id) AS g;
	member_rate := CASE WHEN members > 0 THEN members_converted::float8 / members END;
	holdout_rate := CASE WHEN holdouts > 0 THEN holdouts_converted::float8 / holdouts END;
	lift := member_rate - holdout_rate;
	-- the normal approximation of a difference of two proportions
	se := sqrt(member_rate * (1 - member_rate) / members + holdout_rate * (1 - holdout_rate) / holdouts);
	lift_low := lift - 1.959963984540054 * se;
	lift_high := lift + 1.959963984540054 * se;
END
$$;
COMMENT ON FUNCTION @extschema@.program_lift(text) IS
	'Whether a program works: entrants and conversions (joined the goal after entering) of members and of the held-out, their rates, the lift (member rate minus holdout rate) with its 95% interval (normal approximation), and the members'' median time to goal';

-- ---------------------------------------------------------------------------
-- Predictive models (new in 1.4; kept equal to sql/install/models.sql)
-- ---------------------------------------------------------------------------

-- the kept model's probability, last in the lead as in a new install
ALTER TABLE @extschema@.lead ADD COLUMN prediction float8;
COMMENT ON COLUMN @extschema@.lead.prediction IS
	'Probability 0..1 that the lead becomes a customer, by the active version of the model keep_prediction() named (NULL: none). Kept by trigger lead_predict';
COMMENT ON COLUMN @extschema@.lead.score IS
	'fit_weight * fit + prediction_weight * 100 * prediction + engagement_weight * min(engagement, cap), as of scored_at. Kept by trigger lead_score';
-- and its weight in the score (0: none, so no score moves)
ALTER TABLE @extschema@.scoring_settings ADD COLUMN prediction_weight float8 NOT NULL DEFAULT 0,
	ADD CONSTRAINT scoring_settings_prediction_weight_check CHECK (
		prediction_weight OPERATOR(pg_catalog.>=) 0 AND prediction_weight OPERATOR(pg_catalog.<=) 1000);
COMMENT ON TABLE @extschema@.scoring_settings IS
	'How scores are made (one row): score = fit_weight * fit + prediction_weight * 100 * prediction + engagement_weight * min(engagement, engagement_cap); warm from warm_at, hot from hot_at';
COMMENT ON COLUMN @extschema@.scoring_settings.prediction_weight IS
	'Points per percentage point of the kept model''s prediction (lead.prediction; 0: predictions do not score)';
COMMENT ON FUNCTION @extschema@.score_at(bigint, timestamptz) IS
	'The score a lead had at a past moment, replayed from its activity under today''s rules and today''s fit and prediction; NULL for no such lead';

-- ---------------------------------------------------------------------------
-- Models: one row per trained version, its terms, and the model kept on leads
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.model (
	model_id		bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name			@extschema@.identifier NOT NULL,
	version			integer NOT NULL,
	features		text[] NOT NULL,
	numeric			boolean[] NOT NULL,
	horizon			interval NOT NULL,
	regularization	float8 NOT NULL,
	max_values		integer NOT NULL,
	restricted		boolean NOT NULL,
	intercept		float8 NOT NULL,
	iterations		integer NOT NULL,
	train_leads		bigint NOT NULL,
	train_positives	bigint NOT NULL,
	holdout_leads	bigint NOT NULL,
	report			jsonb NOT NULL,
	active			boolean NOT NULL DEFAULT false,
	trained_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT model_name_version_key UNIQUE (name, version),
	CONSTRAINT model_intercept_check CHECK (
		intercept OPERATOR(pg_catalog.<>) 'NaN' AND pg_catalog.abs(intercept) OPERATOR(pg_catalog.<) 'Infinity')
);
CREATE UNIQUE INDEX model_active_key ON @extschema@.model (name) WHERE active;
COMMENT ON TABLE @extschema@.model IS
	'A trained predictive model, one row per version (written by train_model only); one version per name is active';
COMMENT ON COLUMN @extschema@.model.features IS 'The facts it learns from, canonical (see doc/models.md)';
COMMENT ON COLUMN @extschema@.model.numeric IS 'Per feature: used as a number (else one term per value)';
COMMENT ON COLUMN @extschema@.model.horizon IS 'A lead older than this without becoming a customer is a negative outcome';
COMMENT ON COLUMN @extschema@.model.regularization IS 'The L2 penalty: scikit-learn''s 1 / C';
COMMENT ON COLUMN @extschema@.model.max_values IS 'The most values a categorical feature keeps a term for; the rest share one';
COMMENT ON COLUMN @extschema@.model.restricted IS 'Whether it was trained on given leads only (train_model''s leads)';
COMMENT ON COLUMN @extschema@.model.report IS
	'How good it is, measured on the holdout: auc, log_loss, brier, calibration by decile, importance per feature';

CREATE TABLE @extschema@.model_term (
	model_id	bigint NOT NULL REFERENCES @extschema@.model ON DELETE CASCADE,
	term_no		integer NOT NULL,
	feature_no	integer NOT NULL,
	kind		text NOT NULL,
	value		text,
	weight		float8 NOT NULL,
	center		float8,
	scale		float8,
	leads		bigint NOT NULL,
	PRIMARY KEY (model_id, term_no),
	CONSTRAINT model_term_kind_check CHECK (kind IN ('value', 'other', 'missing', 'number')),
	CONSTRAINT model_term_weight_check CHECK (
		weight OPERATOR(pg_catalog.<>) 'NaN' AND pg_catalog.abs(weight) OPERATOR(pg_catalog.<) 'Infinity')
);
COMMENT ON TABLE @extschema@.model_term IS
	'The terms of a model: a lead''s log-odds is the intercept plus, per feature, the weight of its value (other, missing) or weight * (number - center) / scale';
COMMENT ON COLUMN @extschema@.model_term.feature_no IS 'The feature, 1-based in model.features';
COMMENT ON COLUMN @extschema@.model_term.kind IS
	'value: leads with this value; other: a value without a term of its own; missing: no value; number: the standardised number';
COMMENT ON COLUMN @extschema@.model_term.leads IS 'Training leads the term was active for';

CREATE FUNCTION @extschema@.model_written()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_model_written'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.model_written() IS
	'BEFORE row trigger on model and model_term: refuses a model training did not compute, and a version made active other than by train_model or activate_model (a restore replays them)';

CREATE TRIGGER model_written
	BEFORE INSERT OR UPDATE OF model_id, name, version, features, numeric, horizon, regularization,
		max_values, restricted, intercept, iterations, train_leads, train_positives, holdout_leads, report,
		active
	ON @extschema@.model
	FOR EACH ROW EXECUTE FUNCTION @extschema@.model_written();
CREATE TRIGGER model_term_written BEFORE INSERT OR UPDATE ON @extschema@.model_term
	FOR EACH ROW EXECUTE FUNCTION @extschema@.model_written();

CREATE TABLE @extschema@.prediction_settings (
	singleton	boolean PRIMARY KEY DEFAULT true,
	model		@extschema@.identifier,
	CONSTRAINT prediction_settings_singleton_check CHECK (singleton)
);
COMMENT ON TABLE @extschema@.prediction_settings IS
	'The model whose active version is kept on every lead as lead.prediction (at most one row; set by keep_prediction)';

CREATE TRIGGER model_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.model
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER model_term_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.model_term
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER prediction_settings_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.prediction_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();

-- ---------------------------------------------------------------------------
-- Training
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.model_train(name text, features text[], leads bigint[], horizon interval,
	regularization float8, max_values integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'lead_gen_model_train'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.model_train(text, text[], bigint[], interval, float8, integer) IS
	'Internal: trains and stores a new, inactive version of a model (train_model checks, activates and keeps it)';

CREATE FUNCTION @extschema@.model_activate(model_id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'lead_gen_model_activate'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.model_activate(bigint) IS
	'Internal: makes a version the active one of its name and, if that model is kept on leads, refreshes their predictions (train_model and activate_model call it)';

CREATE FUNCTION @extschema@.model_features(features text[])
RETURNS text[]
AS 'MODULE_PATHNAME', 'lead_gen_model_features'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_features(text[]) IS
	'The canonical names of model features; errors (22023) with a hint for a name that is no fact a model can learn from';

CREATE FUNCTION @extschema@.model_holdout(lead_id bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_model_holdout'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.model_holdout(bigint) IS
	'Whether training keeps the lead aside to measure the model (about one lead in five, fixed by its id)';

CREATE FUNCTION @extschema@.model_id(name text)
RETURNS bigint LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	SELECT m.model_id INTO id FROM @extschema@.model AS m
	WHERE m.name OPERATOR(pg_catalog.=) model_id.name AND m.active;
	IF id IS NULL THEN
		RAISE EXCEPTION 'model "%" does not exist', model_id.name
			USING ERRCODE = 'undefined_object',
				  HINT = 'Train it with lead_gen.train_model(name, features); lead_gen.model lists the models.';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.model_id(text) IS
	'The id of the active version of a model; errors (42704) when there is none';

CREATE FUNCTION @extschema@.refresh_predictions()
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH changed AS (
		-- the trigger sets the value: writing prediction makes it recompute
		UPDATE @extschema@.lead AS l
		SET prediction = l.prediction
		WHERE l.prediction IS DISTINCT FROM @extschema@.lead_prediction(l)
		RETURNING 1)
	SELECT count(*) FROM changed
$$;
COMMENT ON FUNCTION @extschema@.refresh_predictions() IS
	'Recomputes the prediction of every lead whose value differs from the kept model''s; returns how many changed';

CREATE FUNCTION @extschema@.train_model(name text, features text[], leads bigint[] DEFAULT NULL,
	horizon interval DEFAULT '180 days', regularization float8 DEFAULT 1, max_values integer DEFAULT 50)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
	current_features text[];
BEGIN
	IF name IS NULL OR name !~ '^[a-z][a-z0-9_]*$' OR length(name) > 63 THEN
		RAISE EXCEPTION 'invalid model name "%"', name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A model name is a lower-case identifier: [a-z][a-z0-9_]*, at most 63 characters.';
	END IF;
	IF features IS NULL OR cardinality(features) = 0 THEN
		RAISE EXCEPTION 'a model needs at least one feature'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name facts such as ARRAY[''industry'', ''employees'', ''count(webinar in first 30 days)''].';
	END IF;
	IF horizon IS NULL OR horizon <= interval '0' THEN
		RAISE EXCEPTION 'horizon must be a positive interval'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'It is how long a lead may take to become a customer before it counts as lost.';
	END IF;
	-- versions of one name are numbered one after the other
	LOCK TABLE @extschema@.model IN SHARE ROW EXCLUSIVE MODE;
	SELECT m.features INTO current_features FROM @extschema@.model AS m
	WHERE m.name OPERATOR(pg_catalog.=) train_model.name AND m.active;
	IF current_features IS NOT NULL AND
	   current_features IS DISTINCT FROM @extschema@.model_features(train_model.features) THEN
		RAISE EXCEPTION 'model name "%" is taken by a model of other features', name
			USING ERRCODE = 'duplicate_object',
				  DETAIL = format('Its active version learns from %s.', array_to_string(current_features, ', ')),
				  HINT = 'Pick another name, or drop the model with lead_gen.drop_model() first.';
	END IF;
	id := @extschema@.model_train(train_model.name, train_model.features, train_model.leads,
								  train_model.horizon, train_model.regularization, train_model.max_values);
	PERFORM @extschema@.model_activate(id);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.train_model(text, text[], bigint[], interval, float8, integer) IS
	'Trains a new version of a model of the probability that a lead becomes a customer, on the leads with an outcome (or the given ones), keeping one in five aside to measure it; makes it the active version and returns its id';

CREATE FUNCTION @extschema@.update_model(name text)
RETURNS bigint LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.train_model(m.name, m.features, NULL, m.horizon, m.regularization, m.max_values)
	FROM @extschema@.model AS m
	WHERE m.model_id OPERATOR(pg_catalog.=) @extschema@.model_id(update_model.name)
$$;
COMMENT ON FUNCTION @extschema@.update_model(text) IS
	'Trains a new version of a model with the features and settings of its active version on every lead with an outcome now; returns its id';

CREATE FUNCTION @extschema@.activate_model(name text, version integer)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	LOCK TABLE @extschema@.model IN SHARE ROW EXCLUSIVE MODE;
	SELECT m.model_id INTO id FROM @extschema@.model AS m
	WHERE m.name OPERATOR(pg_catalog.=) activate_model.name AND m.version OPERATOR(pg_catalog.=) activate_model.version;
	IF id IS NULL THEN
		RAISE EXCEPTION 'model "%" has no version %', name, version
			USING ERRCODE = 'undefined_object', HINT = 'lead_gen.model lists the versions.';
	END IF;
	PERFORM @extschema@.model_activate(id);
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.activate_model(text, integer) IS
	'Makes an earlier (or later) version of a model the active one; returns its id';

CREATE FUNCTION @extschema@.drop_model(name text)
RETURNS integer LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n integer;
BEGIN
	IF EXISTS (SELECT FROM @extschema@.prediction_settings AS s WHERE s.model OPERATOR(pg_catalog.=) drop_model.name) THEN
		RAISE EXCEPTION 'model "%" is kept on every lead', name
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = 'Stop keeping it first: SELECT lead_gen.keep_prediction(NULL).';
	END IF;
	DELETE FROM @extschema@.model AS m WHERE m.name OPERATOR(pg_catalog.=) drop_model.name;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n = 0 THEN
		RAISE EXCEPTION 'model "%" does not exist', name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_model(text) IS
	'Deletes every version of a model; returns how many';

-- ---------------------------------------------------------------------------
-- Predicting and explaining
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.model_predict(model_id bigint, l @extschema@.lead)
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_gen_model_predict'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.model_predict(bigint, @extschema@.lead) IS
	'The probability 0..1 a model version gives a lead';

CREATE FUNCTION @extschema@.model_contributions(model_id bigint, l @extschema@.lead,
	OUT feature_no integer, OUT feature text, OUT value text, OUT contribution float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lead_gen_model_contributions'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.model_contributions(bigint, @extschema@.lead) IS
	'Per feature of a model version: the lead''s value and its contribution to the log-odds';

CREATE FUNCTION @extschema@.lead_prediction(l @extschema@.lead)
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_gen_lead_prediction'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.lead_prediction(@extschema@.lead) IS
	'The prediction of the kept model for a lead (NULL when none is kept): what trigger lead_predict stores';

CREATE FUNCTION @extschema@.lead_predict_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_lead_predict_trigger'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_predict_trigger() IS
	'BEFORE INSERT OR UPDATE row trigger on lead: sets prediction from the kept model';

CREATE TRIGGER lead_predict
	BEFORE INSERT OR UPDATE OF email, job_title, seniority, decision_maker, company_name, industry,
		employees, annual_revenue, country, city, source_channel, campaign_id, consent, budget,
		authority, attributes, fit, engagement, created_at, prediction
	ON @extschema@.lead
	FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_predict_trigger();

CREATE FUNCTION @extschema@.refresh_kept_predictions()
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	-- a snapshot older than the lock would miss leads written meanwhile
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'the model kept on leads can only change in a READ COMMITTED transaction'
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Changing it refreshes every lead''s prediction, and a transaction snapshot could miss leads written concurrently.',
				  HINT = 'Run SET TRANSACTION ISOLATION LEVEL READ COMMITTED first.';
	END IF;
	-- writers that come later wait, and then see the new model (as for a profile)
	LOCK TABLE @extschema@.lead IN SHARE MODE;
	RETURN @extschema@.refresh_predictions();
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_kept_predictions() IS
	'Internal: locks the leads against writers and recomputes every prediction under the kept model';

CREATE FUNCTION @extschema@.keep_prediction(name text)
RETURNS bigint LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF name IS NOT NULL THEN
		PERFORM @extschema@.model_id(name);
	END IF;
	INSERT INTO @extschema@.prediction_settings AS s (singleton, model) VALUES (true, name)
	ON CONFLICT (singleton) DO UPDATE SET model = excluded.model
	WHERE s.model IS DISTINCT FROM excluded.model;
	RETURN @extschema@.refresh_kept_predictions();
END
$$;
COMMENT ON FUNCTION @extschema@.keep_prediction(text) IS
	'Keeps the active version of a model on every lead as lead.prediction (NULL: none); returns how many leads changed';

CREATE FUNCTION @extschema@.predict(name text, lead_id bigint)
RETURNS float8 LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.model_id(name);
	p float8;
BEGIN
	IF lead_id IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT @extschema@.model_predict(id, l) INTO p FROM @extschema@.lead AS l
	WHERE l.lead_id OPERATOR(pg_catalog.=) predict.lead_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', lead_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION @extschema@.predict(text, bigint) IS
	'The probability 0..1 that a lead becomes a customer, by the active version of a model';

CREATE FUNCTION @extschema@.explain_prediction(name text, lead_id bigint,
	OUT feature text, OUT value text, OUT contribution float8)
RETURNS SETOF record LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	id bigint := @extschema@.model_id(name);
	l @extschema@.lead;
BEGIN
	SELECT * INTO l FROM @extschema@.lead AS x WHERE x.lead_id OPERATOR(pg_catalog.=) explain_prediction.lead_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', lead_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN QUERY
		SELECT '(intercept)'::text, NULL::text, m.intercept FROM @extschema@.model AS m
		WHERE m.model_id OPERATOR(pg_catalog.=) id;
	RETURN QUERY
		SELECT c.feature, c.value, c.contribution FROM @extschema@.model_contributions(id, l) AS c
		ORDER BY c.feature_no;
END
$$;
COMMENT ON FUNCTION @extschema@.explain_prediction(text, bigint) IS
	'One row per feature of the active version of a model (the lead''s value, its contribution in log-odds) plus the intercept: they add up to the logit of predict()';

-- ---------------------------------------------------------------------------
-- How good a model is
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.model_report(name text,
	OUT version integer, OUT trained_at timestamptz, OUT train_leads bigint, OUT train_positives bigint,
	OUT measured_on text, OUT measured_leads bigint, OUT measured_positives bigint,
	OUT auc float8, OUT log_loss float8, OUT brier float8, OUT iterations integer)
RETURNS record LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT m.version, m.trained_at, m.train_leads, m.train_positives,
		   m.report OPERATOR(pg_catalog.->>) 'measured_on',
		   (m.report OPERATOR(pg_catalog.->>) 'measured_leads')::bigint,
		   (m.report OPERATOR(pg_catalog.->>) 'measured_positives')::bigint,
		   (m.report OPERATOR(pg_catalog.->>) 'auc')::float8,
		   (m.report OPERATOR(pg_catalog.->>) 'log_loss')::float8,
		   (m.report OPERATOR(pg_catalog.->>) 'brier')::float8,
		   m.iterations
	FROM @extschema@.model AS m
	WHERE m.model_id OPERATOR(pg_catalog.=) @extschema@.model_id(model_report.name)
$$;
COMMENT ON FUNCTION @extschema@.model_report(text) IS
	'How good the active version of a model is on the holdout training kept aside: ROC AUC, log loss, Brier score (measured_on says training when there was no holdout)';

CREATE FUNCTION @extschema@.model_calibration(name text,
	OUT decile integer, OUT leads bigint, OUT predicted float8, OUT observed float8)
RETURNS SETOF record LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.decile, c.leads, c.predicted, c.observed
	FROM @extschema@.model AS m,
		 pg_catalog.jsonb_to_recordset(m.report OPERATOR(pg_catalog.->) 'calibration')
			AS c(decile integer, leads bigint, predicted float8, observed float8)
	WHERE m.model_id OPERATOR(pg_catalog.=) @extschema@.model_id(model_calibration.name)
	ORDER BY c.decile
$$;
COMMENT ON FUNCTION @extschema@.model_calibration(text) IS
	'The holdout in ten equal groups by prediction: the mean predicted probability and the observed rate of each';

CREATE FUNCTION @extschema@.model_importance(name text,
	OUT rank bigint, OUT feature text, OUT importance float8)
RETURNS SETOF record LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.row_number() OVER (ORDER BY i.importance DESC, i.feature), i.feature, i.importance
	FROM @extschema@.model AS m,
		 pg_catalog.jsonb_to_recordset(m.report OPERATOR(pg_catalog.->) 'importance')
			AS i(feature text, importance float8)
	WHERE m.model_id OPERATOR(pg_catalog.=) @extschema@.model_id(model_importance.name)
	ORDER BY 1
$$;
COMMENT ON FUNCTION @extschema@.model_importance(text) IS
	'The features of the active version of a model, most important first: the mean absolute deviation of their contribution (log-odds) over the holdout';

-- ---------------------------------------------------------------------------
-- Training on a schedule
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.schedule_training(name text, schedule text DEFAULT '0 3 * * 0')
RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM @extschema@.model_id(name);
	RETURN @extschema@.cron_schedule('lead_gen_train_' || name, schedule,
									 format('SELECT lead_gen.update_model(%L)', name), '0 3 * * 0');
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_training(text, text) IS
	'Schedules update_model(name) with pg_cron as the job lead_gen_train_<name> (again: replaces it), running as the current user; returns the job id';

CREATE FUNCTION @extschema@.unschedule_training(name text)
RETURNS boolean LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.cron_unschedule('lead_gen_train_' || name)
$$;
COMMENT ON FUNCTION @extschema@.unschedule_training(text) IS
	'Removes the pg_cron job lead_gen_train_<name> of the current user; false if there was none';

-- ---------------------------------------------------------------------------
-- Conversion lift: which facts of a lead go with converting
-- ---------------------------------------------------------------------------

-- The SQL of one fact: its value per lead l (text, NULL for a lead without
-- one), or for an activity fact the test of an activity a (on_activity).
CREATE FUNCTION @extschema@.lift_fact_sql(fact text, OUT on_activity boolean, OUT sql text)
RETURNS record LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m text[];
	canonical text;
BEGIN
	IF fact IS NULL THEN
		RAISE EXCEPTION 'a fact must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	on_activity := false;
	m := regexp_match(fact, '^\s*activity\s*\(\s*([a-z][a-z0-9_]*)\s*(?:,\s*([^\s=()]+)\s*=\s*([^()]*?)\s*)?\)\s*$');
	IF m IS NOT NULL THEN
		on_activity := true;
		sql := format('a.kind OPERATOR(pg_catalog.=) %L::text%s',
					  m[1], CASE WHEN m[2] IS NULL THEN ''
							ELSE format(' AND a.properties OPERATOR(pg_catalog.->>) %L OPERATOR(pg_catalog.=) %L',
										m[2], btrim(m[3], '''"')) END);
		RETURN;
	END IF;
	m := regexp_match(fact, '^\s*segment\s*\(\s*([^()]+?)\s*\)\s*$');
	IF m IS NOT NULL THEN
		sql := format('(l.lead_id OPERATOR(pg_catalog.=) ANY (SELECT s.lead_id FROM @extschema@.segment_member AS s'
					  ' WHERE s.segment_id OPERATOR(pg_catalog.=) %s))::text',
					  @extschema@.segment_id(btrim(m[1], '''"')));
		RETURN;
	END IF;
	IF btrim(fact) = 'campaign' THEN
		sql := '(SELECT c.name::text FROM @extschema@.campaign AS c'
			   ' WHERE c.campaign_id OPERATOR(pg_catalog.=) l.campaign_id)';
		RETURN;
	END IF;
	IF fact ~ '^\s*count\s*\(' THEN
		RAISE EXCEPTION '"%" is a number, not a fact a lead has or has not', fact
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Write activity(kind) for the leads with at least one such activity, or activity(kind, key = value) to test a property too.';
	END IF;
	canonical := (@extschema@.model_features(ARRAY[fact]))[1];
	IF canonical IN ('employees', 'annual_revenue', 'budget', 'fit') THEN
		RAISE EXCEPTION '"%" is a number, not a fact a lead has or has not', fact
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Compare a range of it as a segment: segment(name) for a segment such as ''employees >= 200''.';
	END IF;
	sql := CASE WHEN canonical = 'email_domain'
				THEN 'NULLIF(pg_catalog.split_part(pg_catalog.lower(l.email), ''@'', -1), '''')'
				WHEN canonical LIKE 'attributes.%'
				THEN format('(l.attributes OPERATOR(pg_catalog.->>) %L)', substr(canonical, 12))
				ELSE format('(pg_catalog.to_jsonb(l.%I) OPERATOR(pg_catalog.#>>) ''{}'')', canonical) END;
END
$$;
COMMENT ON FUNCTION @extschema@.lift_fact_sql(text) IS
	'Internal: the SQL of a conversion_lift fact: its value for lead l, or the test of an activity a for an activity fact';

CREATE FUNCTION @extschema@.conversion_lift(facts text[], min_leads integer DEFAULT 30,
	stage @extschema@.lifecycle_stage DEFAULT 'customer',
	OUT fact text, OUT value text, OUT leads bigint, OUT converted bigint, OUT rate float8,
	OUT others_rate float8, OUT lift float8, OUT rate_low float8, OUT rate_high float8)
RETURNS SETOF record LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f record;
	columns text := '';
	tests text := '';
	any_test text := '';
	sets text := '';
	which text := '';
	val text := '';
	reached text;
BEGIN
	IF facts IS NULL OR cardinality(facts) = 0 THEN
		RAISE EXCEPTION 'conversion_lift needs at least one fact'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name facts such as ARRAY[''industry'', ''activity(content_download, asset = pricing_guide)''].';
	END IF;
	IF min_leads IS NULL OR min_leads < 1 THEN
		RAISE EXCEPTION 'min_leads must be at least 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF stage IS NULL THEN
		RAISE EXCEPTION 'stage must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	FOR i IN 1 .. cardinality(facts) LOOP
		f := @extschema@.lift_fact_sql(facts[i]);
		IF f.on_activity THEN
			-- every activity fact from one pass over the activity
			tests := tests || format(', pg_catalog.bool_or(%s) AS a%s', f.sql, i);
			any_test := any_test || CASE WHEN any_test = '' THEN '' ELSE ' OR ' END || '(' || f.sql || ')';
			columns := columns || format(', COALESCE(act.a%s, false)::text AS v%s', i, i);
		ELSE
			columns := columns || format(', %s AS v%s', f.sql, i);
		END IF;
		sets := sets || format('(v%s), ', i);
		which := which || format(' WHEN GROUPING(v%s) OPERATOR(pg_catalog.=) 0 THEN %s', i, i);
		val := val || format(' WHEN GROUPING(v%s) OPERATOR(pg_catalog.=) 0 THEN v%s', i, i);
	END LOOP;
	-- reaching a stage is reaching it or a later one (peak_stage); disqualified is being it
	reached := CASE WHEN stage = 'disqualified'
					THEN 'l.stage OPERATOR(pg_catalog.=) ''disqualified'''
					ELSE format('l.peak_stage OPERATOR(pg_catalog.>=) %L', stage) END;
	-- one pass: every fact's values and the total, as grouping sets
	RETURN QUERY EXECUTE format($q$
		WITH g AS (
			SELECT CASE %s END AS no, CASE %s END AS value,
				   pg_catalog.count(*) AS n, pg_catalog.count(*) FILTER (WHERE s.reached) AS c
			FROM (SELECT (%s) AS reached %s
				  FROM @extschema@.lead AS l %s WHERE l.forgotten_at IS NULL) AS s
			GROUP BY GROUPING SETS (%s ())),
		t AS (SELECT g.n, g.c FROM g WHERE g.no IS NULL),
		r AS (
			SELECT $1[g.no] AS fact, g.value, g.n, g.c,
				   g.c::float8 / g.n AS rate,
				   CASE WHEN t.n OPERATOR(pg_catalog.>) g.n
						THEN (t.c OPERATOR(pg_catalog.-) g.c)::float8 / (t.n OPERATOR(pg_catalog.-) g.n) END AS others
			FROM g, t
			WHERE g.no IS NOT NULL AND g.value IS NOT NULL AND g.n OPERATOR(pg_catalog.>=) $2)
		SELECT r.fact, r.value, r.n, r.c, r.rate, r.others,
			   CASE WHEN r.others OPERATOR(pg_catalog.>) 0 THEN r.rate / r.others END,
			   w.low, w.high
		FROM r, @extschema@.wilson_interval(r.c, r.n) AS w
		ORDER BY 7 DESC NULLS LAST, 1, 2
	$q$, which, val, reached, columns,
		CASE WHEN tests <> '' THEN
			format('LEFT JOIN (SELECT a.lead_id %s FROM @extschema@.activity AS a WHERE %s GROUP BY a.lead_id) AS act'
				   ' ON act.lead_id OPERATOR(pg_catalog.=) l.lead_id', tests, any_test)
		ELSE '' END,
		sets) USING facts, min_leads;
END
$$;
COMMENT ON FUNCTION @extschema@.conversion_lift(text[], integer, @extschema@.lifecycle_stage) IS
	'For each value of each fact: the leads with it, how many reached the stage (or a later one), their rate, the rate of all other leads, the lift (rate / others_rate) and a 95% Wilson interval of the rate; most lift first, values of fewer than min_leads leads left out';

CREATE FUNCTION @extschema@.wilson_interval(successes bigint, trials bigint, OUT low float8, OUT high float8)
RETURNS record LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	-- z = 1.959964: the 97.5th percentile of the standard normal
	SELECT (p + z * z / (2 * n) - z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n),
		   (p + z * z / (2 * n) + z * sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
	FROM (SELECT successes::float8 / trials AS p, trials::float8 AS n, 1.959963984540054::float8 AS z
		  WHERE trials OPERATOR(pg_catalog.>) 0) AS s
$$;
COMMENT ON FUNCTION @extschema@.wilson_interval(bigint, bigint) IS
	'The 95% Wilson score interval of a rate of successes in trials (NULL for 0 trials)';

-- forget() also forgets visitor ids and merged leads (1.4) and empties messages
CREATE OR REPLACE FUNCTION @extschema@.forget(lead_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	-- a merged id stands for the lead the person's data now lives on
	target bigint := @extschema@.resolve_lead(forget.lead_id);
BEGIN
	IF lead_id IS NULL THEN
		RAISE EXCEPTION 'lead_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	UPDATE @extschema@.lead AS l
	SET email = NULL, first_name = NULL, last_name = NULL, phone = NULL, job_title = NULL,
		company_name = NULL, city = NULL, need = NULL, attributes = '{}',
		forgotten_at = coalesce(l.forgotten_at, now())
	WHERE l.lead_id = target;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', forget.lead_id USING ERRCODE = 'no_data_found';
	END IF;
	UPDATE @extschema@.activity AS a SET properties = '{}'
	WHERE a.lead_id = target AND a.properties <> '{}';
	UPDATE @extschema@.stage_change AS c SET reason = NULL
	WHERE c.lead_id = target AND c.reason IS NOT NULL;
	-- a cookie or device id identifies a person too
	DELETE FROM @extschema@.visitor AS v WHERE v.lead_id = target;
	-- and so do the rows of the leads merged into this one
	UPDATE @extschema@.lead_merge AS m
	SET loser_data = m.loser_data - ARRAY['email', 'first_name', 'last_name', 'phone', 'job_title',
										  'company_name', 'city', 'need']
					 || '{"attributes": {}}',
		reason = NULL
	WHERE m.winner = target;
	-- messages carry the person's name and address: nothing more goes out
	UPDATE @extschema@.outbox AS o
	SET fields = '{}',
		status = CASE WHEN o.status = 'pending' THEN 'skipped' ELSE o.status END,
		skip_reason = CASE WHEN o.status = 'pending' THEN 'forgotten' ELSE o.skip_reason END,
		visible_at = CASE WHEN o.status = 'pending' THEN NULL ELSE o.visible_at END
	WHERE o.lead_id = target AND (o.fields <> '{}' OR o.status = 'pending');
END
$$;
COMMENT ON FUNCTION @extschema@.forget(bigint) IS
	'Erases a person''s personal data: the lead''s contact, name, role, company, city, need and attributes, its activities'' properties (form fields included), its history''s reasons, its visitor ids, what lead_merge keeps of the leads merged into it and the fields of its messages (those not yet handed out are skipped); keeps the anonymous lead (stage, dates, channel, campaign, scores, industry, size, country) so that counts and funnels stay right. A merged id forgets the lead it was merged into';

-- the sender level; writers enroll, admins run programs
CREATE OR REPLACE FUNCTION @extschema@.grant_access(role_name name, access text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	config text := '@extschema@.profile, @extschema@.scoring_rule, @extschema@.scoring_settings, '
				   '@extschema@.stage_transition, @extschema@.stage_rule, @extschema@.bant_rule, '
				   '@extschema@.capture_field, @extschema@.identity_settings, @extschema@.segment';
BEGIN
	IF role_name IS NULL OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = 'undefined_object';
	END IF;
	IF access IS NULL OR access NOT IN ('reader', 'writer', 'admin', 'sender') THEN
		RAISE EXCEPTION 'unknown access level "%"', access
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Levels are reader, writer, admin and sender.';
	END IF;
	PERFORM @extschema@.check_access_owner('grant');
	-- senders (and admins): claim, ack and fail messages; senders read nothing
	IF access IN ('sender', 'admin') THEN
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.claim_messages(text, integer, interval), '
					   '@extschema@.ack_message(bigint, text, text), @extschema@.fail_message(bigint, text, timestamptz, text) TO %I',
					   role_name);
	END IF;
	IF access = 'sender' THEN
		EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', role_name);
		RETURN;
	END IF;
	-- readers: every table and view (scores, reports and triggers read the configuration)
	EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', role_name);
	EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO %I', role_name);
	IF access IN ('writer', 'admin') THEN
		-- writers: leads, activity, campaigns; the history their stage changes write
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.lead, @extschema@.campaign TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.activity TO %I', role_name);
		EXECUTE format('GRANT INSERT ON @extschema@.stage_change TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.visitor, @extschema@.capture_submission TO %I', role_name);
		EXECUTE format('GRANT INSERT, DELETE ON @extschema@.visitor_activity TO %I', role_name);
		EXECUTE format('GRANT INSERT ON @extschema@.duplicate_dismissal TO %I', role_name);
		-- the members their changes move (a live segment's only through
		-- lead_gen, see segment_member_changed) and the history of that
		EXECUTE format('GRANT INSERT, DELETE ON @extschema@.segment_member TO %I', role_name);
		EXECUTE format('GRANT INSERT ON @extschema@.segment_history TO %I', role_name);
		-- enrolling by hand; the suppressions their delivery events add
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.enroll(bigint, text), '
					   '@extschema@.unenroll(bigint, text) TO %I', role_name);
		EXECUTE format('GRANT INSERT, DELETE ON @extschema@.suppression TO %I', role_name);
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.lead_lead_id_seq, @extschema@.activity_activity_id_seq, '
					   '@extschema@.stage_change_stage_change_id_seq, @extschema@.campaign_campaign_id_seq, '
					   '@extschema@.visitor_activity_visitor_activity_id_seq, '
					   '@extschema@.segment_history_segment_history_id_seq TO %I',
					   role_name);
	END IF;
	IF access = 'admin' THEN
		-- admins: the configuration (and so forced stage moves), deleting leads,
		-- and what rescore() and recompute_all() write
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %s TO %I', config, role_name);
		EXECUTE format('GRANT DELETE ON @extschema@.lead, @extschema@.campaign TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.scoring_state, @extschema@.sla_flag, @extschema@.visitor_purge TO %I', role_name);
		EXECUTE format('GRANT DELETE ON @extschema@.visitor, @extschema@.sla_flag, @extschema@.duplicate_dismissal TO %I', role_name);
		-- forget() erases the reasons in the history; merge_leads() moves it
		-- and records the merge
		EXECUTE format('GRANT UPDATE (reason, lead_id) ON @extschema@.stage_change TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE (winner, reason, loser_data) ON @extschema@.lead_merge TO %I', role_name);
		-- segments: defined by admins; a merge moves members, a drop the history
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.segment_segment_id_seq TO %I', role_name);
		EXECUTE format('GRANT UPDATE (lead_id) ON @extschema@.segment_member TO %I', role_name);
		EXECUTE format('GRANT DELETE ON @extschema@.segment_history TO %I', role_name);
		-- programs: defined and run by admins; a merge moves enrolments and
		-- messages, forget() erases what messages carry
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.program, @extschema@.program_step, '
					   '@extschema@.content, @extschema@.outbox_settings TO %I', role_name);
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.program_program_id_seq TO %I', role_name);
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.advance_batch(integer) TO %I', role_name);
		EXECUTE format('GRANT UPDATE (lead_id), DELETE ON @extschema@.enrollment, @extschema@.suppression TO %I', role_name);
		EXECUTE format('GRANT UPDATE (lead_id, fields, status, skip_reason, visible_at), DELETE ON @extschema@.outbox TO %I', role_name);
		-- models: trained, activated, kept on leads and dropped by admins
		-- (trigger model_written refuses what training did not compute)
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.model, @extschema@.model_term, '
					   '@extschema@.prediction_settings TO %I', role_name);
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.model_model_id_seq TO %I', role_name);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_access(name, text) IS
	'Grants a role one of the access levels: reader (read everything, run reports), writer (also add and change leads, activity and campaigns, move stages, qualify, keep static segments, enroll leads in programs), admin (also change scoring rules, profiles and the stage machine, define segments and programs, train and keep models, force stage moves, delete, merge and forget leads, run rescore, recompute_all and advance_programs), sender (claim, ack and fail outbox messages, and nothing else; admins may too)';

CREATE OR REPLACE FUNCTION @extschema@.revoke_access(role_name name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF role_name IS NULL OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM @extschema@.check_access_owner('revoke');
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM %I', role_name);
	EXECUTE format('REVOKE EXECUTE ON FUNCTION @extschema@.claim_messages(text, integer, interval), '
				   '@extschema@.ack_message(bigint, text, text), @extschema@.fail_message(bigint, text, timestamptz, text), '
				   '@extschema@.enroll(bigint, text), @extschema@.unenroll(bigint, text), '
				   '@extschema@.advance_batch(integer) FROM %I', role_name);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA @extschema@ FROM %I', role_name);
	EXECUTE format('REVOKE USAGE ON SCHEMA @extschema@ FROM %I', role_name);
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_access(name) IS
	'Revokes every privilege grant_access gave a role';

-- Roles given access before 1.4 get what their level needs of segments,
-- programs and models: readers read them; a writer's changes of leads move
-- members and write their history, and writers enroll; admins define
-- segments and programs and run them, and train models.
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT DISTINCT pg_catalog.pg_get_userbyid(a.grantee) AS role_name,
			   pg_catalog.has_table_privilege(a.grantee, '@extschema@.lead', 'INSERT') AS writer,
			   pg_catalog.has_table_privilege(a.grantee, '@extschema@.scoring_rule', 'UPDATE') AS admin
		FROM pg_catalog.pg_class AS c, pg_catalog.aclexplode(c.relacl) AS a
		WHERE c.oid = '@extschema@.lead'::pg_catalog.regclass AND a.privilege_type = 'SELECT'
		  AND a.grantee <> c.relowner AND a.grantee <> 0
	LOOP
		-- segments
		EXECUTE format('GRANT SELECT ON @extschema@.segment, @extschema@.segment_member, @extschema@.segment_history TO %I', r.role_name);
		IF r.writer THEN
			EXECUTE format('GRANT INSERT, DELETE ON @extschema@.segment_member TO %I', r.role_name);
			EXECUTE format('GRANT INSERT ON @extschema@.segment_history TO %I', r.role_name);
			EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.segment_history_segment_history_id_seq TO %I', r.role_name);
		END IF;
		IF r.admin THEN
			EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.segment TO %I', r.role_name);
			EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.segment_segment_id_seq TO %I', r.role_name);
			EXECUTE format('GRANT UPDATE (lead_id) ON @extschema@.segment_member TO %I', r.role_name);
			EXECUTE format('GRANT DELETE ON @extschema@.segment_history TO %I', r.role_name);
		END IF;
		-- programs
		EXECUTE format('GRANT SELECT ON @extschema@.content, @extschema@.program, @extschema@.program_step, '
					   '@extschema@.enrollment, @extschema@.outbox, @extschema@.suppression, '
					   '@extschema@.outbox_settings TO %I', r.role_name);
		IF r.writer THEN
			EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.enroll(bigint, text), '
						   '@extschema@.unenroll(bigint, text) TO %I', r.role_name);
			EXECUTE format('GRANT INSERT, DELETE ON @extschema@.suppression TO %I', r.role_name);
		END IF;
		IF r.admin THEN
			EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.claim_messages(text, integer, interval), '
						   '@extschema@.ack_message(bigint, text, text), @extschema@.fail_message(bigint, text, timestamptz, text), '
						   '@extschema@.advance_batch(integer) TO %I', r.role_name);
			EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.program, @extschema@.program_step, '
						   '@extschema@.content, @extschema@.outbox_settings TO %I', r.role_name);
			EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.program_program_id_seq TO %I', r.role_name);
			EXECUTE format('GRANT UPDATE (lead_id), DELETE ON @extschema@.enrollment, @extschema@.suppression TO %I', r.role_name);
			EXECUTE format('GRANT UPDATE (lead_id, fields, status, skip_reason, visible_at), DELETE ON @extschema@.outbox TO %I', r.role_name);
		END IF;
		-- models
		EXECUTE format('GRANT SELECT ON @extschema@.model, @extschema@.model_term, @extschema@.prediction_settings TO %I', r.role_name);
		IF r.admin THEN
			EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.model, @extschema@.model_term, '
						   '@extschema@.prediction_settings TO %I', r.role_name);
			EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.model_model_id_seq TO %I', r.role_name);
		END IF;
	END LOOP;
END
$$;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.content', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program_step', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.enrollment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.suppression', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program_program_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.enrollment_enrollment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_message_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_term', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.prediction_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_model_id_seq', '');
