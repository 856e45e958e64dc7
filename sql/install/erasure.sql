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
BEGIN
	IF lead_id IS NULL THEN
		RAISE EXCEPTION 'lead_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	UPDATE @extschema@.lead AS l
	SET email = NULL, first_name = NULL, last_name = NULL, phone = NULL, job_title = NULL,
		company_name = NULL, city = NULL, need = NULL, attributes = '{}',
		forgotten_at = coalesce(l.forgotten_at, now())
	WHERE l.lead_id = forget.lead_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'lead % does not exist', forget.lead_id USING ERRCODE = 'no_data_found';
	END IF;
	UPDATE @extschema@.activity AS a SET properties = '{}'
	WHERE a.lead_id = forget.lead_id AND a.properties <> '{}';
	UPDATE @extschema@.stage_change AS c SET reason = NULL
	WHERE c.lead_id = forget.lead_id AND c.reason IS NOT NULL;
	-- a cookie or device id identifies a person too
	DELETE FROM @extschema@.visitor AS v WHERE v.lead_id = forget.lead_id;
END
$$;
COMMENT ON FUNCTION @extschema@.forget(bigint) IS
	'Erases a person''s personal data: the lead''s contact, name, role, company, city, need and attributes, its activities'' properties (form fields included), its history''s reasons and its visitor ids; keeps the anonymous lead (stage, dates, channel, campaign, scores, industry, size, country) so that counts and funnels stay right';
