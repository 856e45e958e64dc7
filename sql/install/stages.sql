/*
 * sql/install/stages.sql
 *
 * Lifecycle stages: the stage machine, automatic moves, BANT, SLAs, the
 * stage history guard and the notifications.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Lifecycle stages: the stage machine, automatic moves, BANT, SLAs
-- ---------------------------------------------------------------------------

-- Every pair of stages has a row (the set of stages is fixed), so the machine
-- is changed by UPDATE only: a restore cannot bring back a pair someone
-- removed, and no pair can be missing.
CREATE TABLE @extschema@.stage_transition (
	from_stage		@extschema@.lifecycle_stage NOT NULL,
	to_stage		@extschema@.lifecycle_stage NOT NULL,
	kind			text,
	reason_required	boolean NOT NULL DEFAULT false,
	requires_bant	boolean NOT NULL DEFAULT false,
	PRIMARY KEY (from_stage, to_stage),
	CONSTRAINT stage_transition_moves_check CHECK (from_stage OPERATOR(pg_catalog.<>) to_stage),
	CONSTRAINT stage_transition_kind_check CHECK (kind IN ('forward', 'recycle', 'disqualify')),
	CONSTRAINT stage_transition_disqualify_check CHECK (
		(kind OPERATOR(pg_catalog.=) 'disqualify') OPERATOR(pg_catalog.=) (to_stage OPERATOR(pg_catalog.=) 'disqualified'))
);
COMMENT ON TABLE @extschema@.stage_transition IS
	'The stage machine: one row per pair of stages; kind NULL means the move is not allowed (except forced by an admin)';
COMMENT ON COLUMN @extschema@.stage_transition.kind IS
	'forward (automatic moves may take it), recycle (backward, or reopening a disqualified lead) or disqualify; NULL: not allowed';
COMMENT ON COLUMN @extschema@.stage_transition.reason_required IS
	'The move needs a reason (automatic moves never take such a transition)';
COMMENT ON COLUMN @extschema@.stage_transition.requires_bant IS
	'The move needs the lead to meet the BANT rule (lead_gen.bant_rule)';

-- Defaults: forward moves may skip stages; going back, reopening and
-- disqualifying need a reason; customer is final.
INSERT INTO @extschema@.stage_transition (from_stage, to_stage, kind, reason_required)
SELECT f.s, t.s,
	   CASE WHEN f.s = 'customer' THEN NULL
			WHEN t.s = 'disqualified' THEN 'disqualify'
			WHEN f.s = 'disqualified' AND t.s = 'customer' THEN NULL
			WHEN f.s = 'disqualified' THEN 'recycle'
			WHEN t.s > f.s THEN 'forward'
			ELSE 'recycle' END,
	   NOT (t.s > f.s AND t.s <> 'disqualified' AND f.s <> 'disqualified')
FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::@extschema@.lifecycle_stage)) AS f(s)
CROSS JOIN pg_catalog.unnest(pg_catalog.enum_range(NULL::@extschema@.lifecycle_stage)) AS t(s)
WHERE f.s <> t.s;

-- Per stage: the score and fit a lead needs to be moved there automatically,
-- and the service level of a lead in it.
CREATE TABLE @extschema@.stage_rule (
	stage		@extschema@.lifecycle_stage PRIMARY KEY,
	min_score	float8,
	min_fit		float8,
	min_grade	text,
	sla			interval,
	CONSTRAINT stage_rule_min_score_check CHECK (
		min_score OPERATOR(pg_catalog.>) '-Infinity' AND min_score OPERATOR(pg_catalog.<) 'Infinity'),
	CONSTRAINT stage_rule_min_fit_check CHECK (min_fit BETWEEN 0 AND 100),
	CONSTRAINT stage_rule_min_grade_check CHECK (min_grade IN ('A', 'B', 'C', 'D', 'F')),
	CONSTRAINT stage_rule_threshold_check CHECK (
		min_score IS NOT NULL OR (min_fit IS NULL AND min_grade IS NULL)),
	CONSTRAINT stage_rule_forward_check CHECK (
		min_score IS NULL OR stage NOT IN ('prospect', 'disqualified')),
	CONSTRAINT stage_rule_sla_check CHECK (
		sla OPERATOR(pg_catalog.>) interval '0' AND sla OPERATOR(pg_catalog.<=) interval '10 years')
);
COMMENT ON TABLE @extschema@.stage_rule IS
	'Per stage (one row each): the threshold that moves a lead there automatically, and the service level of leads in it';
COMMENT ON COLUMN @extschema@.stage_rule.min_score IS
	'A lead with at least this score (and min_fit, min_grade) moves here automatically, forward only; NULL: no threshold';
COMMENT ON COLUMN @extschema@.stage_rule.min_fit IS 'With min_score: the fit the lead needs too (NULL: any)';
COMMENT ON COLUMN @extschema@.stage_rule.min_grade IS
	'With min_score: the grade the lead needs, or a better one (NULL: any; a lead without a grade never meets one)';
COMMENT ON COLUMN @extschema@.stage_rule.sla IS
	'A lead in this stage must get a sales touch within this time of entering it (NULL: no service level)';
INSERT INTO @extschema@.stage_rule (stage, min_score, min_fit, min_grade, sla)
SELECT s, CASE s WHEN 'lead' THEN 10 WHEN 'mql' THEN 50 END,
	   NULL, CASE s WHEN 'mql' THEN 'B' END,
	   CASE s WHEN 'sql' THEN interval '24 hours' END
FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::@extschema@.lifecycle_stage)) AS s;

-- BANT: which of budget, need, authority and timeline a lead needs for the
-- MQL -> SQL handoff; a lead that meets it moves to moves_to.
CREATE TABLE @extschema@.bant_rule (
	singleton		boolean PRIMARY KEY DEFAULT true,
	needs_budget	boolean NOT NULL DEFAULT true,
	min_budget		@extschema@.amount NOT NULL DEFAULT 0,
	needs_need		boolean NOT NULL DEFAULT true,
	needs_authority	boolean NOT NULL DEFAULT true,
	needs_timeline	boolean NOT NULL DEFAULT true,
	timeline_within	interval NOT NULL DEFAULT '6 months',
	moves_to		@extschema@.lifecycle_stage DEFAULT 'sql',
	CONSTRAINT bant_rule_singleton_check CHECK (singleton),
	CONSTRAINT bant_rule_something_check CHECK (needs_budget OR needs_need OR needs_authority OR needs_timeline),
	CONSTRAINT bant_rule_timeline_check CHECK (
		timeline_within OPERATOR(pg_catalog.>=) interval '0' AND timeline_within OPERATOR(pg_catalog.<=) interval '10 years'),
	CONSTRAINT bant_rule_moves_to_check CHECK (moves_to NOT IN ('prospect', 'disqualified'))
);
COMMENT ON TABLE @extschema@.bant_rule IS
	'The BANT rule (one row): which of budget, need, authority, timeline a lead must have to be qualified, and where qualification moves it';
COMMENT ON COLUMN @extschema@.bant_rule.min_budget IS 'With needs_budget: budget must be at least this';
COMMENT ON COLUMN @extschema@.bant_rule.needs_authority IS 'The contact must have authority (authority is true)';
COMMENT ON COLUMN @extschema@.bant_rule.timeline_within IS
	'With needs_timeline: the timeline date must be from today to today + timeline_within (UTC)';
COMMENT ON COLUMN @extschema@.bant_rule.moves_to IS
	'A lead that meets the rule moves forward to this stage (default sql); NULL: qualification moves no one';
INSERT INTO @extschema@.bant_rule DEFAULT VALUES;

CREATE TRIGGER stage_transition_replace BEFORE INSERT ON @extschema@.stage_transition
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER stage_transition_keep BEFORE DELETE ON @extschema@.stage_transition
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER stage_transition_no_truncate BEFORE TRUNCATE ON @extschema@.stage_transition
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER stage_rule_replace BEFORE INSERT ON @extschema@.stage_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER stage_rule_keep BEFORE DELETE ON @extschema@.stage_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER stage_rule_no_truncate BEFORE TRUNCATE ON @extschema@.stage_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER bant_rule_replace BEFORE INSERT ON @extschema@.bant_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_replace();
CREATE TRIGGER bant_rule_keep BEFORE DELETE ON @extschema@.bant_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.config_keep();
CREATE TRIGGER bant_rule_no_truncate BEFORE TRUNCATE ON @extschema@.bant_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_keep();

-- Changing the machine reloads every session's copy at commit, and (like a
-- change of the scoring rules) makes the next rescore() revisit every lead,
-- so that new thresholds move the leads that now meet them.
CREATE TRIGGER stage_transition_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.stage_transition
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER stage_transition_mark_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.stage_transition
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_mark_changed();
CREATE TRIGGER stage_rule_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.stage_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER stage_rule_mark_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.stage_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_mark_changed();
CREATE TRIGGER bant_rule_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.bant_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.config_changed();
CREATE TRIGGER bant_rule_mark_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.bant_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_mark_changed();

-- Only lead_gen writes the stage history (imports by admins of the stage
-- machine and restores aside).
CREATE FUNCTION @extschema@.stage_change_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_stage_change_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.stage_change_guard() IS
	'BEFORE INSERT OR UPDATE OF lead_id row trigger on stage_change: only lead_gen writes history and moves it to another lead (a merge), except imports by roles that may UPDATE stage_transition and restores';

CREATE TRIGGER stage_change_guard BEFORE INSERT OR UPDATE OF lead_id ON @extschema@.stage_change
	FOR EACH ROW EXECUTE FUNCTION @extschema@.stage_change_guard();

-- The history row and the notifications of a change: after the row is
-- written, so there is no history without a change.
CREATE FUNCTION @extschema@.lead_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_lead_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_changed() IS
	'AFTER UPDATE row trigger on lead: records a stage change in stage_change and sends NOTIFY lead_gen_events for stage and temperature changes';
CREATE TRIGGER lead_changed AFTER UPDATE ON @extschema@.lead
	FOR EACH ROW
	WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.temperature IS DISTINCT FROM NEW.temperature)
	EXECUTE FUNCTION @extschema@.lead_changed();

CREATE FUNCTION @extschema@.lead_bant(l @extschema@.lead,
	OUT qualified boolean, OUT met text[], OUT missing text[])
AS 'MODULE_PATHNAME', 'lead_gen_lead_bant'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.lead_bant(@extschema@.lead) IS
	'Whether a lead meets the BANT rule now, which required elements it meets and which are missing';

CREATE FUNCTION @extschema@.bant_status(lead_id bigint,
	OUT qualified boolean, OUT met text[], OUT missing text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	SELECT b.qualified, b.met, b.missing INTO qualified, met, missing
	FROM @extschema@.lead AS l, @extschema@.lead_bant(l) AS b
	WHERE l.lead_id = bant_status.lead_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', bant_status.lead_id USING ERRCODE = 'no_data_found';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.bant_status(bigint) IS
	'BANT of a lead: whether it is qualified under lead_gen.bant_rule, the required elements it meets and those missing';

-- Sets the stage of a lead through the stage machine: lock, check, update.
-- The trigger validates the move and writes history; these functions only
-- pass it the reason and check what a plain UPDATE cannot say.
CREATE FUNCTION @extschema@.transition(lead_id bigint, to_stage @extschema@.lifecycle_stage,
	reason text DEFAULT NULL, force boolean DEFAULT false)
RETURNS @extschema@.stage_change
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current @extschema@.lifecycle_stage;
	result @extschema@.stage_change;
BEGIN
	IF to_stage IS NULL THEN
		RAISE EXCEPTION 'to_stage must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT l.stage INTO current FROM @extschema@.lead AS l
	WHERE l.lead_id = transition.lead_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', transition.lead_id USING ERRCODE = 'no_data_found';
	END IF;
	IF current = to_stage THEN
		RAISE EXCEPTION 'lead % is already in stage %', transition.lead_id, to_stage
			USING ERRCODE = 'check_violation';
	END IF;
	PERFORM set_config('lead_gen.stage_reason', coalesce(reason, ''), true),
			set_config('lead_gen.stage_force', CASE WHEN force THEN 'on' ELSE 'off' END, true);
	UPDATE @extschema@.lead AS l SET stage = to_stage WHERE l.lead_id = transition.lead_id;
	PERFORM set_config('lead_gen.stage_reason', '', true),
			set_config('lead_gen.stage_force', 'off', true);
	SELECT c.* INTO result FROM @extschema@.stage_change AS c
	WHERE c.lead_id = transition.lead_id
	ORDER BY c.stage_change_id DESC LIMIT 1;
	RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.transition(bigint, @extschema@.lifecycle_stage, text, boolean) IS
	'Moves a lead to a stage through the stage machine (a reason where the transition needs one; force: any move, for admins of the stage machine) and returns the history row';

CREATE FUNCTION @extschema@.disqualify(lead_id bigint, reason text)
RETURNS @extschema@.stage_change
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF pg_catalog.btrim(coalesce(reason, '')) = '' THEN
		RAISE EXCEPTION 'disqualifying a lead needs a reason' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	RETURN @extschema@.transition(lead_id, 'disqualified', reason);
END
$$;
COMMENT ON FUNCTION @extschema@.disqualify(bigint, text) IS
	'Disqualifies a lead, with a reason; returns the history row';

CREATE FUNCTION @extschema@.recycle(lead_id bigint, reason text,
	to_stage @extschema@.lifecycle_stage DEFAULT 'lead')
RETURNS @extschema@.stage_change
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	current @extschema@.lifecycle_stage;
	move_kind text;
BEGIN
	IF pg_catalog.btrim(coalesce(reason, '')) = '' THEN
		RAISE EXCEPTION 'recycling a lead needs a reason' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT l.stage INTO current FROM @extschema@.lead AS l
	WHERE l.lead_id = recycle.lead_id FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', recycle.lead_id USING ERRCODE = 'no_data_found';
	END IF;
	SELECT t.kind INTO move_kind FROM @extschema@.stage_transition AS t
	WHERE t.from_stage = current AND t.to_stage = recycle.to_stage;
	IF move_kind IS DISTINCT FROM 'recycle' THEN
		RAISE EXCEPTION 'lead % cannot be recycled from stage % to %', recycle.lead_id, current, to_stage
			USING ERRCODE = 'check_violation',
				  DETAIL = CASE WHEN move_kind IS NULL THEN 'The stage machine does not allow that move.'
								ELSE format('That move is of kind %s, not recycle.', move_kind) END;
	END IF;
	RETURN @extschema@.transition(lead_id, to_stage, reason);
END
$$;
COMMENT ON FUNCTION @extschema@.recycle(bigint, text, @extschema@.lifecycle_stage) IS
	'Sends a lead back (default: to lead, for nurturing), or reopens a disqualified one, with a reason; a sales rejection of an MQL is such a recycle. Returns the history row';

CREATE FUNCTION @extschema@.qualify(lead_id bigint, budget numeric DEFAULT NULL, need text DEFAULT NULL,
	authority boolean DEFAULT NULL, timeline date DEFAULT NULL)
RETURNS @extschema@.lifecycle_stage
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	result @extschema@.lifecycle_stage;
BEGIN
	UPDATE @extschema@.lead AS l
	SET budget = coalesce(qualify.budget, l.budget),
		need = coalesce(qualify.need, l.need),
		authority = coalesce(qualify.authority, l.authority),
		timeline = coalesce(qualify.timeline, l.timeline)
	WHERE l.lead_id = qualify.lead_id
	RETURNING l.stage INTO result;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', qualify.lead_id USING ERRCODE = 'no_data_found';
	END IF;
	RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.qualify(bigint, numeric, text, boolean, date) IS
	'Records BANT (budget, need, authority, timeline; NULL leaves one as it is) on a lead; a lead that now meets the BANT rule moves forward (cause bant). Returns the lead''s stage';

CREATE FUNCTION @extschema@.stage_at(lead_id bigint, at timestamptz)
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

CREATE VIEW @extschema@.sla_breach WITH (security_invoker = true) AS
	SELECT l.lead_id, l.stage, l.stage_changed_at AS entered_at,
		   l.stage_changed_at OPERATOR(pg_catalog.+) r.sla AS due_at,
		   pg_catalog.now() OPERATOR(pg_catalog.-) (l.stage_changed_at OPERATOR(pg_catalog.+) r.sla) AS overdue
	FROM @extschema@.lead AS l
	JOIN @extschema@.stage_rule AS r ON r.stage OPERATOR(pg_catalog.=) l.stage
	WHERE r.sla IS NOT NULL
	  AND l.stage_changed_at OPERATOR(pg_catalog.+) r.sla OPERATOR(pg_catalog.<) pg_catalog.now()
	  AND NOT EXISTS (
		SELECT FROM @extschema@.activity AS a
		JOIN @extschema@.scoring_rule AS k ON k.kind OPERATOR(pg_catalog.=) a.kind
		WHERE a.lead_id OPERATOR(pg_catalog.=) l.lead_id AND k.sales_touch
		  AND a.occurred_at OPERATOR(pg_catalog.>=) l.stage_changed_at);
COMMENT ON VIEW @extschema@.sla_breach IS
	'Leads that breach their stage''s service level now: no sales touch since they entered a stage with an SLA, and the SLA is over; overdue says by how much';

-- Breaches the scheduled job has already announced, so each is announced once.
CREATE TABLE @extschema@.sla_flag (
	lead_id		bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	stage		@extschema@.lifecycle_stage NOT NULL,
	entered_at	timestamptz NOT NULL,
	due_at		timestamptz NOT NULL,
	flagged_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (lead_id, stage, entered_at)
);
COMMENT ON TABLE @extschema@.sla_flag IS
	'SLA breaches flagged by rescore() (the scheduled job): one row per lead and stage entry, with when it was flagged';

CREATE FUNCTION @extschema@.flag_sla_breaches()
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
COMMENT ON FUNCTION @extschema@.flag_sla_breaches()
	IS 'Records the SLA breaches not yet flagged in sla_flag and sends NOTIFY lead_gen_events for each; returns how many. rescore() calls it';

CREATE VIEW @extschema@.speed_to_lead WITH (security_invoker = true) AS
	SELECT l.lead_id, l.created_at, l.mql_at, l.first_touch_at,
		   l.first_touch_at OPERATOR(pg_catalog.-) l.created_at AS from_arrival,
		   l.first_touch_at OPERATOR(pg_catalog.-) l.mql_at AS from_mql
	FROM @extschema@.lead AS l;
COMMENT ON VIEW @extschema@.speed_to_lead IS
	'Per lead: time from arrival, and from reaching mql, to the first sales touch (NULL while there is none)';
