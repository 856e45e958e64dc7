/*
 * sql/install/types.sql
 *
 * The vocabulary every other file uses: the lifecycle and temperature enums,
 * the domains of a lead's values, and the engagement type.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Vocabulary
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.lifecycle_stage AS ENUM
	('prospect', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'disqualified');
COMMENT ON TYPE @extschema@.lifecycle_stage IS
	'Where a lead stands: prospect -> lead -> mql -> sql -> opportunity -> customer, or disqualified';

CREATE TYPE @extschema@.temperature AS ENUM ('cold', 'warm', 'hot');
COMMENT ON TYPE @extschema@.temperature IS
	'How engaged a lead is right now, derived from its score: cold, warm or hot';

-- An e-mail address: one @, a dotted domain, no white space, at most 254
-- characters (RFC 5321).  Uniqueness is case-insensitive, see lead_email_key.
CREATE DOMAIN @extschema@.email_address AS text
	CONSTRAINT email_address_check CHECK (
		VALUE OPERATOR(pg_catalog.~) '^[^@[:space:]]+@[^@[:space:].]+(\.[^@[:space:].]+)+$'
		AND pg_catalog.length(VALUE) OPERATOR(pg_catalog.<=) 254);
COMMENT ON DOMAIN @extschema@.email_address IS
	'An e-mail address: local part, @, dotted domain; no white space; at most 254 characters';

-- Channels and activity kinds are identifiers, not enums, so a team can add
-- its own without altering an extension-owned type (which pg_dump would not
-- carry over).
CREATE DOMAIN @extschema@.identifier AS text
	CONSTRAINT identifier_check CHECK (
		VALUE OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$'
		AND pg_catalog.length(VALUE) OPERATOR(pg_catalog.<=) 63);
COMMENT ON DOMAIN @extschema@.identifier IS
	'A lower-case name such as a channel or an activity kind: [a-z][a-z0-9_]*, at most 63 characters';

-- The other kinds of values a lead holds.  Domains rather than table CHECK
-- constraints: a domain is checked when a value is written to its column,
-- while PostgreSQL re-reads a table's CHECK constraints for every statement
-- that updates the table, which the scoring triggers do once per activity.
CREATE DOMAIN @extschema@.short_text AS text
	CONSTRAINT short_text_check CHECK (pg_catalog.length(VALUE) OPERATOR(pg_catalog.<=) 100);
COMMENT ON DOMAIN @extschema@.short_text IS 'Text of at most 100 characters (names, industry, city)';
CREATE DOMAIN @extschema@.medium_text AS text
	CONSTRAINT medium_text_check CHECK (pg_catalog.length(VALUE) OPERATOR(pg_catalog.<=) 200);
COMMENT ON DOMAIN @extschema@.medium_text IS 'Text of at most 200 characters (job title, company name)';
CREATE DOMAIN @extschema@.long_text AS text
	CONSTRAINT long_text_check CHECK (pg_catalog.length(VALUE) OPERATOR(pg_catalog.<=) 2000);
COMMENT ON DOMAIN @extschema@.long_text IS 'Text of at most 2000 characters';
CREATE DOMAIN @extschema@.phone_number AS text
	CONSTRAINT phone_number_check CHECK (
		VALUE OPERATOR(pg_catalog.~) '^\+?(\([0-9][0-9 ()./-]{2,29}|[0-9][0-9 ()./-]{3,30})$');
COMMENT ON DOMAIN @extschema@.phone_number IS
	'A phone number: digits with an optional leading +, spaces, dots, dashes, slashes, parentheses; it starts with a digit or an opening parenthesis and a digit';
CREATE DOMAIN @extschema@.seniority_level AS text
	CONSTRAINT seniority_level_check CHECK (VALUE IN
		('intern', 'entry', 'mid', 'senior', 'manager', 'director', 'vp', 'c_level', 'owner'));
COMMENT ON DOMAIN @extschema@.seniority_level IS
	'intern, entry, mid, senior, manager, director, vp, c_level or owner';
CREATE DOMAIN @extschema@.country_code AS text
	CONSTRAINT country_code_check CHECK (VALUE OPERATOR(pg_catalog.~) '^[A-Z]{2}$');
COMMENT ON DOMAIN @extschema@.country_code IS 'An ISO 3166-1 alpha-2 country code, upper case';
CREATE DOMAIN @extschema@.consent_status AS text
	CONSTRAINT consent_status_check CHECK (VALUE IN ('unknown', 'subscribed', 'unsubscribed'));
COMMENT ON DOMAIN @extschema@.consent_status IS 'Marketing consent: unknown, subscribed or unsubscribed';
CREATE DOMAIN @extschema@.head_count AS integer
	CONSTRAINT head_count_check CHECK (VALUE OPERATOR(pg_catalog.>=) 0);
COMMENT ON DOMAIN @extschema@.head_count IS 'A number of employees, >= 0';
-- numeric has NaN, which compares greater than every number: >= 0 alone
-- lets it in, and one NaN makes every sum and average over it NaN
CREATE DOMAIN @extschema@.amount AS numeric(16,2)
	CONSTRAINT amount_check CHECK (
		VALUE OPERATOR(pg_catalog.>=) 0 AND VALUE OPERATOR(pg_catalog.<>) 'NaN');
COMMENT ON DOMAIN @extschema@.amount IS 'An amount of money, >= 0 (not NaN), with cents';
CREATE DOMAIN @extschema@.json_object AS jsonb
	CONSTRAINT json_object_check CHECK (
		pg_catalog.jsonb_typeof(VALUE) OPERATOR(pg_catalog.=) 'object'
		AND pg_catalog.octet_length(VALUE::text) OPERATOR(pg_catalog.<=) 65536);
COMMENT ON DOMAIN @extschema@.json_object IS 'A JSON object of at most 64 kB as text';

-- ---------------------------------------------------------------------------
-- Functions the tables use
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.email_domain(email text)
RETURNS text
AS 'MODULE_PATHNAME', 'lead_gen_email_domain'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.email_domain(text) IS
	'The lower-cased domain of an e-mail address (after its last @), or NULL when it has none';

CREATE FUNCTION @extschema@.touch_updated_at()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_touch_updated_at'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.touch_updated_at() IS
	'BEFORE UPDATE row trigger: sets the column named by its argument to transaction_timestamp() unless the update set it';

-- ---------------------------------------------------------------------------
-- Engagement: a decaying sum of points
-- ---------------------------------------------------------------------------

CREATE TYPE @extschema@.engagement;

CREATE FUNCTION @extschema@.engagement_in(cstring) RETURNS @extschema@.engagement
AS 'MODULE_PATHNAME', 'lead_gen_engagement_in'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.engagement_out(@extschema@.engagement) RETURNS cstring
AS 'MODULE_PATHNAME', 'lead_gen_engagement_out'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.engagement_recv(internal) RETURNS @extschema@.engagement
AS 'MODULE_PATHNAME', 'lead_gen_engagement_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.engagement_send(@extschema@.engagement) RETURNS bytea
AS 'MODULE_PATHNAME', 'lead_gen_engagement_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.engagement (
	INPUT = @extschema@.engagement_in,
	OUTPUT = @extschema@.engagement_out,
	RECEIVE = @extschema@.engagement_recv,
	SEND = @extschema@.engagement_send,
	INTERNALLENGTH = 24,
	ALIGNMENT = double,
	STORAGE = plain
);
COMMENT ON TYPE @extschema@.engagement IS
	'A decaying sum of points: (value at as_of, as_of, half-life); adding points and reading the value at any time are O(1)';
COMMENT ON FUNCTION @extschema@.engagement_in(cstring) IS
	'Reads an engagement as (value,as_of,half_life), e.g. (12.5,2026-01-01 00:00:00+00,30 days)';
COMMENT ON FUNCTION @extschema@.engagement_out(@extschema@.engagement) IS 'Prints an engagement as (value,as_of,half_life)';
COMMENT ON FUNCTION @extschema@.engagement_recv(internal) IS
	'Reads an engagement in binary form (float8 value, int64 as_of, float8 half-life in seconds), with the checks of text input';
COMMENT ON FUNCTION @extschema@.engagement_send(@extschema@.engagement) IS 'Writes an engagement in binary form';

CREATE FUNCTION @extschema@.engagement(points float8, at timestamptz, half_life interval DEFAULT '30 days')
RETURNS @extschema@.engagement
AS 'MODULE_PATHNAME', 'lead_gen_engagement_make'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.engagement(float8, timestamptz, interval) IS
	'An engagement of the given points earned at the given time';

CREATE FUNCTION @extschema@.engagement_add(e @extschema@.engagement, points float8, at timestamptz)
RETURNS @extschema@.engagement
AS 'MODULE_PATHNAME', 'lead_gen_engagement_add'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.engagement_add(@extschema@.engagement, float8, timestamptz) IS
	'An engagement with points earned at a time (also before its as_of) added, in O(1)';

CREATE FUNCTION @extschema@.engagement_combine(a @extschema@.engagement, b @extschema@.engagement)
RETURNS @extschema@.engagement
AS 'MODULE_PATHNAME', 'lead_gen_engagement_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.engagement_combine(@extschema@.engagement, @extschema@.engagement) IS
	'The sum of two engagements of the same half-life (NULL adds nothing); commutative and associative';

CREATE FUNCTION @extschema@.engagement_value(e @extschema@.engagement, at timestamptz DEFAULT pg_catalog.now())
RETURNS float8
AS 'MODULE_PATHNAME', 'lead_gen_engagement_value'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.engagement_value(@extschema@.engagement, timestamptz) IS
	'The decayed value of an engagement at a time: value * 2^(-(at - as_of) / half_life)';

CREATE FUNCTION @extschema@.engagement_as_of(e @extschema@.engagement)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'lead_gen_engagement_as_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.engagement_as_of(@extschema@.engagement) IS
	'The instant an engagement''s stored value refers to (its latest points)';

CREATE FUNCTION @extschema@.engagement_half_life(e @extschema@.engagement)
RETURNS interval
AS 'MODULE_PATHNAME', 'lead_gen_engagement_half_life'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.engagement_half_life(@extschema@.engagement) IS 'The half-life of an engagement';

CREATE FUNCTION @extschema@.engagement_eq(@extschema@.engagement, @extschema@.engagement)
RETURNS boolean
AS 'MODULE_PATHNAME', 'lead_gen_engagement_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.engagement_eq(@extschema@.engagement, @extschema@.engagement) IS
	'Whether two engagements have the same value, as_of and half-life';

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.engagement, RIGHTARG = @extschema@.engagement,
	FUNCTION = @extschema@.engagement_eq, COMMUTATOR = OPERATOR(@extschema@.=),
	RESTRICT = eqsel, JOIN = eqjoinsel
);
CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.engagement, RIGHTARG = @extschema@.engagement,
	FUNCTION = @extschema@.engagement_combine, COMMUTATOR = OPERATOR(@extschema@.+)
);

CREATE FUNCTION @extschema@.engagement_accum(@extschema@.engagement, float8, timestamptz, interval)
RETURNS @extschema@.engagement
AS 'MODULE_PATHNAME', 'lead_gen_engagement_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.engagement_accum(@extschema@.engagement, float8, timestamptz, interval) IS
	'Transition function of engagement_sum';

CREATE AGGREGATE @extschema@.engagement_sum(points float8, occurred_at timestamptz, half_life interval) (
	SFUNC = @extschema@.engagement_accum,
	STYPE = @extschema@.engagement,
	COMBINEFUNC = @extschema@.engagement_combine,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.engagement_sum(float8, timestamptz, interval) IS
	'The engagement of points earned at times (rows with a NULL are skipped; NULL for no rows); its state is the engagement itself, so partial states combine';
