/*
 * sql/install/erasure.sql
 *
 * Erasure: forget() keeps a lead's numbers and drops who it was.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Erasure
-- ---------------------------------------------------------------------------

-- Erases what identifies a person (the right to be forgotten), keeping the
-- lead as an anonymous row so that counts, stages, history and funnel
-- metrics stay right.
CREATE FUNCTION @extschema@.forget(lead_id bigint)
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
