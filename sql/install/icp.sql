/*
 * sql/install/icp.sql
 *
 * Ideal customer profiles: the icp type, matching a lead against one, and
 * the profiles table whose active row sets every lead's fit and grade.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Ideal customer profile: the icp type
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.icp;

CREATE FUNCTION @extschema@.icp_in(cstring) RETURNS @extschema@.icp
AS 'MODULE_PATHNAME', 'lead_gen_icp_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.icp_out(@extschema@.icp) RETURNS cstring
AS 'MODULE_PATHNAME', 'lead_gen_icp_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.icp_recv(internal) RETURNS @extschema@.icp
AS 'MODULE_PATHNAME', 'lead_gen_icp_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.icp_send(@extschema@.icp) RETURNS bytea
AS 'MODULE_PATHNAME', 'lead_gen_icp_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.icp (
	INPUT = @extschema@.icp_in,
	OUTPUT = @extschema@.icp_out,
	RECEIVE = @extschema@.icp_recv,
	SEND = @extschema@.icp_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE @extschema@.icp IS
	'An ideal customer profile: weighted criteria over a lead''s attributes, parsed once into a compact binary form';
COMMENT ON FUNCTION @extschema@.icp_in(cstring) IS 'Parses ICP text (see the README for the language)';
COMMENT ON FUNCTION @extschema@.icp_out(@extschema@.icp) IS 'Prints an ICP in its canonical text form';
COMMENT ON FUNCTION @extschema@.icp_recv(internal) IS
	'Reads an ICP in binary form (a version byte and the text), with the checks of text input';
COMMENT ON FUNCTION @extschema@.icp_send(@extschema@.icp) IS 'Writes an ICP in binary form';

CREATE FUNCTION @extschema@.icp_eq(@extschema@.icp, @extschema@.icp) RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_icp_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.icp_ne(@extschema@.icp, @extschema@.icp) RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_icp_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.icp_hash(@extschema@.icp) RETURNS integer
AS 'MODULE_PATHNAME', 'lead_gen_icp_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.icp_eq(@extschema@.icp, @extschema@.icp) IS
	'Whether two ICPs are the same (have the same canonical text)';
COMMENT ON FUNCTION @extschema@.icp_ne(@extschema@.icp, @extschema@.icp) IS
	'Whether two ICPs differ';
COMMENT ON FUNCTION @extschema@.icp_hash(@extschema@.icp) IS 'Hash of an ICP, for hash joins and GROUP BY';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.icp, RIGHTARG = @extschema@.icp,
	FUNCTION = @extschema@.icp_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.icp, RIGHTARG = @extschema@.icp,
	FUNCTION = @extschema@.icp_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR CLASS @extschema@.icp_hash_ops
	DEFAULT FOR TYPE @extschema@.icp USING hash AS
	OPERATOR 1 @extschema@.= (@extschema@.icp, @extschema@.icp),
	FUNCTION 1 @extschema@.icp_hash(@extschema@.icp);

-- ---------------------------------------------------------------------------
-- Matching
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.icp_match(profile @extschema@.icp, facts jsonb)
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_gen_icp_match'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.icp_match(@extschema@.icp, jsonb) IS
	'Fit 0..100 of a JSON object to an ICP: 0 if a knock-out fires, else matched weight over total positive weight';

CREATE FUNCTION @extschema@.icp_match_facts(profile @extschema@.icp,
	email text, first_name text, last_name text, phone text, job_title text,
	seniority text, decision_maker boolean, company_name text, industry text,
	employees integer, annual_revenue numeric, country text, city text,
	source_channel text, campaign_id bigint, consent text, budget numeric,
	need text, authority boolean, attributes jsonb)
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_gen_icp_match_facts'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.icp_match_facts(@extschema@.icp, text, text, text, text, text, text,
	boolean, text, text, integer, numeric, text, text, text, bigint, text, numeric, text, boolean, jsonb) IS
	'Fit 0..100 of a lead given as its fact columns; what icp_match(icp, lead) runs. NULL if the ICP or attributes is NULL';

-- An inlinable SQL wrapper (no SET clause, every name qualified): the
-- planner turns it into icp_match_facts over the scanned columns, so no
-- whole row is formed per lead.
CREATE FUNCTION @extschema@.icp_match(profile @extschema@.icp, l @extschema@.lead)
RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT @extschema@.icp_match_facts($1,
		($2).email, ($2).first_name, ($2).last_name, ($2).phone, ($2).job_title,
		($2).seniority, ($2).decision_maker, ($2).company_name, ($2).industry,
		($2).employees, ($2).annual_revenue, ($2).country, ($2).city,
		($2).source_channel, ($2).campaign_id, ($2).consent, ($2).budget,
		($2).need, ($2).authority, ($2).attributes)
$$;
COMMENT ON FUNCTION @extschema@.icp_match(@extschema@.icp, @extschema@.lead) IS
	'Fit 0..100 of a lead to an ICP; the same as icp_match(profile, lead_facts(l)), without building the JSON';

CREATE FUNCTION @extschema@.icp_explain(profile @extschema@.icp, facts jsonb,
	OUT criterion text, OUT kind text, OUT matched boolean,
	OUT points float8, OUT max_points float8, OUT knockout boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lead_gen_icp_explain'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.icp_explain(@extschema@.icp, jsonb) IS
	'One row per criterion of an ICP: its canonical text, kind, whether it matched a JSON object, points won, points possible, whether it knocked the fit to 0';

CREATE FUNCTION @extschema@.icp_explain(profile @extschema@.icp, l @extschema@.lead,
	OUT criterion text, OUT kind text, OUT matched boolean,
	OUT points float8, OUT max_points float8, OUT knockout boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lead_gen_icp_explain_lead'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.icp_explain(@extschema@.icp, @extschema@.lead) IS
	'One row per criterion of an ICP, explaining a lead''s fit';

-- The facts of a lead that an ICP can test, as a JSON object.  The C form of
-- icp_match(icp, lead) reads the same columns straight from the row.
CREATE FUNCTION @extschema@.lead_facts(l @extschema@.lead)
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'email', l.email,
		'email_domain', @extschema@.email_domain(l.email),
		'first_name', l.first_name,
		'last_name', l.last_name,
		'phone', l.phone,
		'job_title', l.job_title,
		'seniority', l.seniority,
		'decision_maker', l.decision_maker,
		'company_name', l.company_name,
		'industry', l.industry,
		'employees', l.employees,
		'annual_revenue', l.annual_revenue,
		'country', l.country,
		'city', l.city,
		'source_channel', l.source_channel,
		'campaign_id', l.campaign_id,
		'consent', l.consent,
		'budget', l.budget,
		'need', l.need,
		'authority', l.authority,
		'attributes', l.attributes))
$$;
COMMENT ON FUNCTION @extschema@.lead_facts(@extschema@.lead) IS
	'The facts of a lead an ICP can test, as a JSON object: contact, role, company, source, consent, budget, need, authority, email_domain and attributes';

-- ---------------------------------------------------------------------------
-- Profiles: the active one sets every lead's fit and grade
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.profile (
	name		text PRIMARY KEY,
	icp			@extschema@.icp NOT NULL,
	active		boolean NOT NULL DEFAULT false,
	grade_a_min	float8 NOT NULL DEFAULT 80,
	grade_b_min	float8 NOT NULL DEFAULT 60,
	grade_c_min	float8 NOT NULL DEFAULT 40,
	grade_d_min	float8 NOT NULL DEFAULT 20,
	description	text,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT profile_name_check CHECK (pg_catalog.length(name) BETWEEN 1 AND 100),
	CONSTRAINT profile_grades_check CHECK (
		grade_a_min OPERATOR(pg_catalog.<=) 100
		AND grade_a_min OPERATOR(pg_catalog.>) grade_b_min
		AND grade_b_min OPERATOR(pg_catalog.>) grade_c_min
		AND grade_c_min OPERATOR(pg_catalog.>) grade_d_min
		AND grade_d_min OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT profile_description_check CHECK (pg_catalog.length(description) OPERATOR(pg_catalog.<=) 2000)
);
CREATE UNIQUE INDEX profile_one_active ON @extschema@.profile ((true)) WHERE active;
COMMENT ON TABLE @extschema@.profile IS
	'Named ideal customer profiles; the one marked active sets every lead''s fit and grade';
COMMENT ON COLUMN @extschema@.profile.active IS 'At most one profile is active';
COMMENT ON COLUMN @extschema@.profile.grade_a_min IS 'Least fit for grade A (default 80); B, C, D likewise; below D is F';

CREATE TRIGGER profile_touch_updated_at
	BEFORE UPDATE ON @extschema@.profile
	FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at('updated_at');

CREATE FUNCTION @extschema@.lead_fit(l @extschema@.lead)
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_gen_lead_fit'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.lead_fit(@extschema@.lead) IS
	'Fit of a lead to the active profile, 0..100; NULL when no profile is active';

CREATE FUNCTION @extschema@.fit_grade(fit float8)
RETURNS text
AS 'MODULE_PATHNAME', 'lead_gen_fit_grade'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.fit_grade(float8) IS
	'Grade letter A..F of a fit under the active profile''s cut-offs; NULL when no profile is active';

CREATE FUNCTION @extschema@.lead_fit_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_lead_fit_trigger'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.lead_fit_trigger() IS
	'BEFORE INSERT OR UPDATE row trigger on lead: sets fit and grade from the active profile';

CREATE TRIGGER lead_fit
	BEFORE INSERT OR UPDATE OF email, first_name, last_name, phone, job_title, seniority,
		decision_maker, company_name, industry, employees, annual_revenue, country, city,
		source_channel, campaign_id, consent, budget, need, authority, attributes, fit, grade
	ON @extschema@.lead
	FOR EACH ROW EXECUTE FUNCTION @extschema@.lead_fit_trigger();

CREATE FUNCTION @extschema@.refresh_fit()
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH changed AS (
		UPDATE @extschema@.lead AS l
		SET fit = @extschema@.lead_fit(l)
		WHERE l.fit IS DISTINCT FROM @extschema@.lead_fit(l)
		   OR l.grade IS DISTINCT FROM @extschema@.fit_grade(@extschema@.lead_fit(l))
		RETURNING 1)
	SELECT count(*) FROM changed
$$;
COMMENT ON FUNCTION @extschema@.refresh_fit() IS
	'Recomputes fit and grade of every lead whose values differ from the active profile''s; returns how many changed';

CREATE FUNCTION @extschema@.profile_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_profile_changed'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.profile_changed() IS
	'AFTER statement trigger on profile: drops every session''s cached profile at commit and refreshes all fits';

CREATE TRIGGER profile_changed
	AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.profile
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.profile_changed();

CREATE FUNCTION @extschema@.explain_fit(lead_id bigint,
	OUT criterion text, OUT kind text, OUT matched boolean,
	OUT points float8, OUT max_points float8, OUT knockout boolean)
RETURNS SETOF record
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT e.*
	FROM @extschema@.profile AS p
	CROSS JOIN @extschema@.lead AS l
	CROSS JOIN LATERAL @extschema@.icp_explain(p.icp, l) AS e
	WHERE p.active AND l.lead_id OPERATOR(pg_catalog.=) explain_fit.lead_id
$$;
COMMENT ON FUNCTION @extschema@.explain_fit(bigint) IS
	'Explains a lead''s fit under the active profile, one row per criterion; no rows without an active profile';
