/*
 * sql/install/merge.sql
 *
 * Merging duplicates: merge_leads() moves everything a lead owns to the lead
 * it is merged into, in one transaction, and records the merge so that the
 * merged id stays resolvable.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

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
