/*
 * sql/install/identity.sql
 *
 * Capture and identity: form submissions, anonymous visitors and the lead
 * each becomes.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

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
