/*
 * lead_gen 1.0: the data model.
 *
 * Everything lives in the extension's own schema (@extschema@, always
 * lead_gen: the extension is not relocatable).  Functions pin their
 * search_path; SQL that runs at call time qualifies what it uses.
 */

\echo Use "CREATE EXTENSION lead_gen" to load this file. \quit

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
	CONSTRAINT phone_number_check CHECK (VALUE OPERATOR(pg_catalog.~) '^\+?[0-9][0-9 ()./-]{3,30}$');
COMMENT ON DOMAIN @extschema@.phone_number IS
	'A phone number: digits with an optional leading +, spaces, dots, dashes, slashes, parentheses';
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
CREATE DOMAIN @extschema@.amount AS numeric(16,2)
	CONSTRAINT amount_check CHECK (VALUE OPERATOR(pg_catalog.>=) 0);
COMMENT ON DOMAIN @extschema@.amount IS 'An amount of money, >= 0, with cents';
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

-- ---------------------------------------------------------------------------
-- Campaigns
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.campaign (
	campaign_id	bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name		text NOT NULL,
	channel		@extschema@.identifier NOT NULL,
	spend		numeric(14,2) NOT NULL DEFAULT 0,
	starts_on	date,
	ends_on		date,
	created_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CONSTRAINT campaign_name_key UNIQUE (name),
	CONSTRAINT campaign_name_check CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
	CONSTRAINT campaign_spend_check CHECK (spend OPERATOR(pg_catalog.>=) 0),
	CONSTRAINT campaign_dates_check CHECK (ends_on OPERATOR(pg_catalog.>=) starts_on)
);
COMMENT ON TABLE @extschema@.campaign IS
	'A marketing campaign: the channel it runs in, what it cost and when it ran';
COMMENT ON COLUMN @extschema@.campaign.channel IS
	'Channel: content, social, search, email, paid, event, referral, landing_page, direct, or a name of your own';
COMMENT ON COLUMN @extschema@.campaign.spend IS 'Total spend over the campaign''s run, >= 0';
COMMENT ON COLUMN @extschema@.campaign.starts_on IS 'First day of the run (inclusive)';
COMMENT ON COLUMN @extschema@.campaign.ends_on IS 'Last day of the run (inclusive); NULL while it runs';

-- ---------------------------------------------------------------------------
-- Leads
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.lead (
	lead_id			bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	-- contact
	email			@extschema@.email_address,
	first_name		@extschema@.short_text,
	last_name		@extschema@.short_text,
	phone			@extschema@.phone_number,
	-- who they are
	job_title		@extschema@.medium_text,
	seniority		@extschema@.seniority_level,
	decision_maker	boolean,
	-- their company
	company_name	@extschema@.medium_text,
	industry		@extschema@.short_text,
	employees		@extschema@.head_count,
	annual_revenue	@extschema@.amount,
	country			@extschema@.country_code,
	city			@extschema@.short_text,
	-- where they came from, and consent
	source_channel	@extschema@.identifier,
	campaign_id		bigint REFERENCES @extschema@.campaign ON DELETE SET NULL,
	consent			@extschema@.consent_status NOT NULL DEFAULT 'unknown',
	-- BANT qualification, recorded by sales
	budget			@extschema@.amount,
	need			@extschema@.long_text,
	authority		boolean,
	timeline		date,
	-- anything else a team tracks
	attributes		@extschema@.json_object NOT NULL DEFAULT '{}',
	-- state
	stage			@extschema@.lifecycle_stage NOT NULL DEFAULT 'prospect',
	temperature		@extschema@.temperature NOT NULL DEFAULT 'cold',
	-- fit to the active ideal customer profile, kept by trigger lead_fit
	fit				float8,
	grade			text,
	-- engagement and score, kept by the activity triggers and trigger lead_score
	engagement		@extschema@.engagement,
	score			float8 NOT NULL DEFAULT 0,
	next_change_at	timestamptz,
	scored_at		timestamptz,
	-- lifecycle bookkeeping, kept by trigger lead_score and the activity triggers
	stage_changed_at timestamptz,
	mql_at			timestamptz,
	first_touch_at	timestamptz,
	forgotten_at	timestamptz,
	recycled_from	@extschema@.lifecycle_stage,
	peak_stage		@extschema@.lifecycle_stage,
	created_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	updated_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	-- the one check across columns; fit, grade and score are set by triggers
	CONSTRAINT lead_identity_check CHECK (
		email IS NOT NULL OR phone IS NOT NULL OR company_name IS NOT NULL OR forgotten_at IS NOT NULL)
) WITH (fillfactor = 80);	-- room for HOT updates: activity updates every lead often
CREATE UNIQUE INDEX lead_email_key ON @extschema@.lead (pg_catalog.lower(email));
CREATE INDEX lead_campaign_idx ON @extschema@.lead (campaign_id);
CREATE INDEX lead_stage_idx ON @extschema@.lead (stage);
CREATE INDEX lead_created_at_idx ON @extschema@.lead (created_at);
-- rescore() visits only the leads whose temperature changes by now
CREATE INDEX lead_next_change_idx ON @extschema@.lead (next_change_at) WHERE next_change_at IS NOT NULL;

-- updated_at follows what people and applications write, not the values
-- lead_gen derives (fit, grade): refitting after a profile change, or a
-- restore, leaves it alone.
CREATE TRIGGER lead_touch_updated_at
	BEFORE UPDATE OF email, first_name, last_name, phone, job_title, seniority, decision_maker,
		company_name, industry, employees, annual_revenue, country, city, source_channel,
		campaign_id, consent, budget, need, authority, timeline, attributes, stage, created_at
	ON @extschema@.lead
	FOR EACH ROW EXECUTE FUNCTION @extschema@.touch_updated_at('updated_at');

COMMENT ON TABLE @extschema@.lead IS
	'A person or company that has shown interest: contact, role, company, source, consent, BANT, attributes and state';
COMMENT ON COLUMN @extschema@.lead.email IS 'E-mail address, unique case-insensitively';
COMMENT ON COLUMN @extschema@.lead.phone IS 'Phone number: digits with an optional leading +, spaces, dots, dashes, slashes, parentheses';
COMMENT ON COLUMN @extschema@.lead.seniority IS 'intern, entry, mid, senior, manager, director, vp, c_level or owner';
COMMENT ON COLUMN @extschema@.lead.decision_maker IS 'Whether the person can decide a purchase';
COMMENT ON COLUMN @extschema@.lead.employees IS 'Company head count, >= 0';
COMMENT ON COLUMN @extschema@.lead.annual_revenue IS 'Company annual revenue, >= 0';
COMMENT ON COLUMN @extschema@.lead.country IS 'ISO 3166-1 alpha-2 country code, upper case';
COMMENT ON COLUMN @extschema@.lead.source_channel IS 'The channel the lead came from (see campaign.channel)';
COMMENT ON COLUMN @extschema@.lead.campaign_id IS 'The campaign that brought the lead';
COMMENT ON COLUMN @extschema@.lead.consent IS 'Marketing consent: unknown, subscribed or unsubscribed';
COMMENT ON COLUMN @extschema@.lead.budget IS 'BANT budget: the amount the buyer can spend, >= 0';
COMMENT ON COLUMN @extschema@.lead.need IS 'BANT need: the problem the buyer wants solved';
COMMENT ON COLUMN @extschema@.lead.authority IS 'BANT authority: whether the contact can sign off the purchase';
COMMENT ON COLUMN @extschema@.lead.timeline IS 'BANT timeline: when the buyer expects to buy';
COMMENT ON COLUMN @extschema@.lead.attributes IS 'Free-form attributes (a JSON object of at most 64 kB)';
COMMENT ON COLUMN @extschema@.lead.stage IS 'Lifecycle stage';
COMMENT ON COLUMN @extschema@.lead.temperature IS 'Engagement temperature, derived from the score';
COMMENT ON COLUMN @extschema@.lead.fit IS
	'Fit to the active ideal customer profile, 0..100; NULL when no profile is active. Kept by trigger lead_fit';
COMMENT ON COLUMN @extschema@.lead.grade IS
	'Grade A (best fit) .. F from fit and the active profile''s cut-offs. Kept by trigger lead_fit';
COMMENT ON COLUMN @extschema@.lead.engagement IS
	'Decaying sum of the points of the lead''s activity (NULL: none that scores). Kept by the activity triggers';
COMMENT ON COLUMN @extschema@.lead.score IS
	'fit_weight * fit + engagement_weight * min(engagement, cap), as of scored_at. Kept by trigger lead_score';
COMMENT ON COLUMN @extschema@.lead.next_change_at IS
	'No later than when decay alone will next change the temperature (NULL: never); rescore() visits leads whose time has come and stores the exact time';
COMMENT ON COLUMN @extschema@.lead.scored_at IS 'When score and temperature were last computed';
COMMENT ON COLUMN @extschema@.lead.stage_changed_at IS
	'When the lead entered its current stage (at creation: created_at). Kept by trigger lead_score';
COMMENT ON COLUMN @extschema@.lead.mql_at IS
	'When the lead first reached mql or a later stage (NULL: never). Kept by trigger lead_score';
COMMENT ON COLUMN @extschema@.lead.recycled_from IS
	'The stage the lead was last recycled from, while it is below it: thresholds and BANT do not move it back there (events and people may). Kept by trigger lead_score';
COMMENT ON COLUMN @extschema@.lead.peak_stage IS
	'The highest of prospect .. customer the lead has reached (funnels count it there). Kept by trigger lead_score';
COMMENT ON COLUMN @extschema@.lead.forgotten_at IS
	'When lead_gen.forget() erased the person''s personal data (NULL: never)';
COMMENT ON COLUMN @extschema@.lead.first_touch_at IS
	'Time of the lead''s first sales touch (activity of a kind marked sales_touch in scoring_rule). Kept by the activity triggers';
COMMENT ON COLUMN @extschema@.lead.updated_at IS
	'Last change of the lead''s own data (not of values lead_gen derives), kept by trigger lead_touch_updated_at';

-- ---------------------------------------------------------------------------
-- Activity: one behavioral event of a lead
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.activity (
	activity_id	bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	lead_id		bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	kind		@extschema@.identifier NOT NULL,
	occurred_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	campaign_id	bigint REFERENCES @extschema@.campaign ON DELETE SET NULL,
	properties	@extschema@.json_object NOT NULL DEFAULT '{}'
);
CREATE INDEX activity_lead_occurred_at_idx ON @extschema@.activity (lead_id, occurred_at);
CREATE INDEX activity_campaign_idx ON @extschema@.activity (campaign_id);

COMMENT ON TABLE @extschema@.activity IS
	'One behavioral event of a lead (page view, e-mail click, demo request, ...) with its time and properties';
COMMENT ON COLUMN @extschema@.activity.kind IS
	'What happened, e.g. page_view, email_open, email_click, content_download, webinar, demo_request';
COMMENT ON COLUMN @extschema@.activity.campaign_id IS 'The campaign that caused the event, for attribution';
COMMENT ON COLUMN @extschema@.activity.properties IS 'Free-form event properties (a JSON object of at most 64 kB)';

-- ---------------------------------------------------------------------------
-- Stage history
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.stage_change (
	stage_change_id	bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	lead_id			bigint NOT NULL REFERENCES @extschema@.lead ON DELETE CASCADE,
	from_stage		@extschema@.lifecycle_stage NOT NULL,
	to_stage		@extschema@.lifecycle_stage NOT NULL,
	changed_at		timestamptz NOT NULL DEFAULT pg_catalog.now(),
	cause			text NOT NULL,
	kind			text NOT NULL DEFAULT 'forward',
	reason			text,
	changed_by		name NOT NULL DEFAULT CURRENT_USER,
	CONSTRAINT stage_change_moves_check CHECK (from_stage OPERATOR(pg_catalog.<>) to_stage),
	CONSTRAINT stage_change_cause_check CHECK (cause IN
		('threshold', 'event', 'bant', 'manual', 'rescore', 'import')),
	CONSTRAINT stage_change_kind_check CHECK (kind IN ('forward', 'recycle', 'disqualify', 'forced')),
	CONSTRAINT stage_change_reason_check CHECK (pg_catalog.length(reason) OPERATOR(pg_catalog.<=) 2000)
);
CREATE INDEX stage_change_lead_idx ON @extschema@.stage_change (lead_id, changed_at);

COMMENT ON TABLE @extschema@.stage_change IS
	'Lifecycle history: every stage a lead entered, when, why and by whom';
COMMENT ON COLUMN @extschema@.stage_change.from_stage IS
	'Stage before the change (a lead''s first stage is the one it was created with: no row)';
COMMENT ON COLUMN @extschema@.stage_change.cause IS
	'What moved the lead: threshold (score/fit), event (activity kind), bant, manual, rescore (the scheduled job) or import';
COMMENT ON COLUMN @extschema@.stage_change.kind IS
	'The kind of transition: forward, recycle (backward, or reopening a disqualified lead), disqualify, or forced (by an admin, outside the stage machine)';
COMMENT ON COLUMN @extschema@.stage_change.reason IS
	'Why: given by the caller (required for recycle, disqualify, forced), or written by lead_gen for automatic moves';
COMMENT ON COLUMN @extschema@.stage_change.changed_by IS 'The role that made the change (current_user)';

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

-- ---------------------------------------------------------------------------
-- Scoring: rules, settings, the triggers that keep scores current
-- ---------------------------------------------------------------------------

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

INSERT INTO @extschema@.scoring_rule (kind, points, daily_cap, moves_to, sales_touch, description) VALUES
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
	('sales_email', 0, NULL, NULL, true, 'A personal e-mail from sales');

CREATE TABLE @extschema@.scoring_settings (
	singleton			boolean PRIMARY KEY DEFAULT true,
	half_life			interval NOT NULL DEFAULT '30 days',
	fit_weight			float8 NOT NULL DEFAULT 0.2,
	engagement_weight	float8 NOT NULL DEFAULT 1,
	engagement_cap		float8 NOT NULL DEFAULT 100,
	warm_at				float8 NOT NULL DEFAULT 25,
	hot_at				float8 NOT NULL DEFAULT 60,
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
		AND hot_at OPERATOR(pg_catalog.>) warm_at)
);
COMMENT ON TABLE @extschema@.scoring_settings IS
	'How scores are made (one row): score = fit_weight * fit + engagement_weight * min(engagement, engagement_cap); warm from warm_at, hot from hot_at';
COMMENT ON COLUMN @extschema@.scoring_settings.half_life IS 'Engagement halves every half_life (months count as 30 days)';
INSERT INTO @extschema@.scoring_settings DEFAULT VALUES;

-- Both tables start with defaults that CREATE EXTENSION writes; pg_dump
-- dumps all their rows, so on restore a row for an existing key replaces it.
CREATE FUNCTION @extschema@.scoring_rule_upsert()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE @extschema@.scoring_rule
	SET points = NEW.points, daily_cap = NEW.daily_cap, moves_to = NEW.moves_to,
		sales_touch = NEW.sales_touch, description = NEW.description
	WHERE kind OPERATOR(pg_catalog.=) NEW.kind;
	IF FOUND THEN
		RETURN NULL;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_rule_upsert() IS
	'BEFORE INSERT trigger: inserting a rule for a kind that has one replaces it (this is how pg_restore brings rules back)';
CREATE TRIGGER scoring_rule_upsert BEFORE INSERT ON @extschema@.scoring_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.scoring_rule_upsert();

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
	IF OLD.kind::text OPERATOR(pg_catalog.=) ANY (ARRAY[
		'page_view', 'email_open', 'email_click', 'content_download', 'webinar',
		'newsletter_signup', 'social_follow', 'contact_form', 'pricing_inquiry',
		'free_trial_request', 'demo_request', 'careers_page_view', 'unsubscribe', 'bounce',
		'call', 'meeting', 'sales_email'])
	THEN
		RAISE EXCEPTION 'cannot delete the default scoring rule for "%"', OLD.kind
			USING ERRCODE = 'restrict_violation',
				  HINT = 'Set its points to 0 (and moves_to to NULL, sales_touch to false) to stop it counting; a deleted default rule would come back after a dump and restore.';
	END IF;
	RETURN OLD;
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_rule_keep_defaults() IS
	'BEFORE DELETE/TRUNCATE trigger: default rules can be changed, not deleted';
CREATE TRIGGER scoring_rule_keep_defaults BEFORE DELETE ON @extschema@.scoring_rule
	FOR EACH ROW EXECUTE FUNCTION @extschema@.scoring_rule_keep_defaults();
CREATE TRIGGER scoring_rule_no_truncate BEFORE TRUNCATE ON @extschema@.scoring_rule
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_rule_keep_defaults();

CREATE FUNCTION @extschema@.scoring_settings_upsert()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.singleton IS DISTINCT FROM true THEN
		RETURN NEW;				-- let the check constraint refuse it
	END IF;
	UPDATE @extschema@.scoring_settings
	SET half_life = NEW.half_life, fit_weight = NEW.fit_weight,
		engagement_weight = NEW.engagement_weight, engagement_cap = NEW.engagement_cap,
		warm_at = NEW.warm_at, hot_at = NEW.hot_at;
	IF FOUND THEN
		RETURN NULL;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_settings_upsert() IS
	'BEFORE INSERT trigger: the settings are one row; inserting one replaces it';
CREATE TRIGGER scoring_settings_upsert BEFORE INSERT ON @extschema@.scoring_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.scoring_settings_upsert();

-- The settings row stays: scoring reads it, with no second copy of the
-- defaults anywhere.
CREATE FUNCTION @extschema@.scoring_settings_keep()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'cannot delete the scoring settings'
		USING ERRCODE = 'restrict_violation',
			  HINT = 'UPDATE lead_gen.scoring_settings to change them.';
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_settings_keep() IS
	'BEFORE DELETE/TRUNCATE trigger: the one row of scoring_settings cannot be deleted';
CREATE TRIGGER scoring_settings_keep BEFORE DELETE ON @extschema@.scoring_settings
	FOR EACH ROW EXECUTE FUNCTION @extschema@.scoring_settings_keep();
CREATE TRIGGER scoring_settings_no_truncate BEFORE TRUNCATE ON @extschema@.scoring_settings
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.scoring_settings_keep();

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

CREATE FUNCTION @extschema@.scoring_mark_changed()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO @extschema@.scoring_state (singleton, changed_at) VALUES (true, pg_catalog.now())
	ON CONFLICT (singleton) DO UPDATE SET changed_at = excluded.changed_at;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.scoring_mark_changed() IS
	'AFTER statement trigger on scoring_rule and scoring_settings: records that every lead needs recomputing';

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
	UPDATE @extschema@.lead SET engagement = NULL, first_touch_at = NULL
	WHERE engagement IS NOT NULL OR first_touch_at IS NOT NULL;
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
	hi bigint;
	last_id bigint;
	n bigint;
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
		SELECT pg_catalog.max(b.lead_id) INTO hi
		FROM (SELECT l.lead_id FROM @extschema@.lead AS l
			  WHERE l.lead_id OPERATOR(pg_catalog.>=) lo
			  ORDER BY l.lead_id LIMIT batch_size) AS b;
		EXIT WHEN hi IS NULL;
		-- stage moves this causes are the scheduled job's (until COMMIT)
		PERFORM pg_catalog.set_config('lead_gen.stage_cause', 'rescore', true);
		-- lock the batch first: the UPDATE then reads history with a snapshot
		-- that includes what concurrent writers of these leads committed
		PERFORM 1 FROM @extschema@.lead AS l
		WHERE l.lead_id OPERATOR(pg_catalog.>=) lo AND l.lead_id OPERATOR(pg_catalog.<=) hi
		ORDER BY l.lead_id
		FOR NO KEY UPDATE;
		UPDATE @extschema@.lead AS l
		SET engagement = h.engagement, first_touch_at = h.first_touch_at
		FROM (SELECT l2.lead_id, x.engagement, t.first_touch_at
			  FROM @extschema@.lead AS l2
			  LEFT JOIN @extschema@.history_engagement(lo, hi) AS x
				ON x.lead_id OPERATOR(pg_catalog.=) l2.lead_id
			  LEFT JOIN @extschema@.history_first_touch(lo, hi) AS t
				ON t.lead_id OPERATOR(pg_catalog.=) l2.lead_id
			  WHERE l2.lead_id OPERATOR(pg_catalog.>=) lo AND l2.lead_id OPERATOR(pg_catalog.<=) hi) AS h
		WHERE l.lead_id OPERATOR(pg_catalog.=) h.lead_id;
		GET DIAGNOSTICS n = ROW_COUNT;
		recomputed := recomputed OPERATOR(pg_catalog.+) n;
		COMMIT;
		lo := hi OPERATOR(pg_catalog.+) 1;
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
	COMMIT;
END
$$;
COMMENT ON PROCEDURE @extschema@.rescore(integer, bigint) IS
	'Applies decay as of now: updates temperature (and what follows from it) of exactly the leads whose next_change_at has come, in batches that commit; first recomputes everyone if the rules or the stage machine changed; then flags new SLA breaches. Returns how many leads it touched';

CREATE FUNCTION @extschema@.schedule_rescore(schedule text DEFAULT '*/5 * * * *')
RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	job bigint;
BEGIN
	IF schedule IS NULL THEN
		RAISE EXCEPTION 'schedule must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Give a cron schedule such as ''*/5 * * * *'', or leave it out for that default.';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in this database'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, and run CREATE EXTENSION pg_cron; or CALL lead_gen.rescore() from any scheduler.';
	END IF;
	-- a named job: scheduling again replaces it; it runs as the current user
	EXECUTE 'SELECT cron.schedule($1, $2, $3)'
		INTO job USING 'lead_gen_rescore', schedule, 'CALL lead_gen.rescore()';
	RETURN job;
END
$$;
COMMENT ON FUNCTION @extschema@.schedule_rescore(text) IS
	'Schedules CALL lead_gen.rescore() with pg_cron as the job lead_gen_rescore (again: replaces it), running as the current user; returns the job id';

CREATE FUNCTION @extschema@.unschedule_rescore()
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
		INTO done USING 'lead_gen_rescore';
	IF done THEN
		EXECUTE 'SELECT cron.unschedule($1)' USING 'lead_gen_rescore';
	END IF;
	RETURN done;
END
$$;
COMMENT ON FUNCTION @extschema@.unschedule_rescore() IS
	'Removes the pg_cron job lead_gen_rescore of the current user; false if there was none';

-- Explaining a score: one row per contribution, adding up to the score.
CREATE FUNCTION @extschema@.explain_score(lead_id bigint, at timestamptz DEFAULT pg_catalog.now(),
	OUT component text, OUT kind text, OUT events bigint, OUT raw_points float8,
	OUT capped_points float8, OUT decay float8, OUT points float8)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH s AS (
		SELECT st.half_life, st.fit_weight, st.engagement_weight, st.engagement_cap
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
	l AS (SELECT coalesce(x.fit, 0) AS fit FROM @extschema@.lead AS x WHERE x.lead_id = explain_score.lead_id),
	parts AS (
		SELECT 1 AS part, 0::float8 AS weight, 'fit' AS component, NULL::text AS kind, NULL::bigint AS events,
			   NULL::float8 AS raw_points, NULL::float8 AS capped_points, NULL::float8 AS decay,
			   s.fit_weight * l.fit AS points
		FROM l CROSS JOIN s
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
	SELECT component, kind, events, raw_points, capped_points, decay, points
	FROM parts
	ORDER BY part, weight DESC, kind
$$;
COMMENT ON FUNCTION @extschema@.explain_score(bigint, timestamptz) IS
	'A lead''s score at a time (default now), replayed from its activity under today''s rules and fit: one row for fit, one per activity kind (raw points, points lost to daily caps, points lost to decay, points counted), one for the engagement cap; points add up to the score';

CREATE FUNCTION @extschema@.score_at(lead_id bigint, at timestamptz)
RETURNS float8
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT sum(e.points) FROM @extschema@.explain_score(score_at.lead_id, score_at.at) AS e
$$;
COMMENT ON FUNCTION @extschema@.score_at(bigint, timestamptz) IS
	'The score a lead had at a past moment, replayed from its activity under today''s rules and today''s fit; NULL for no such lead';

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

-- Inserting a row with the key of an existing one replaces it: that is how
-- pg_restore brings back configuration whose defaults CREATE EXTENSION wrote.
CREATE FUNCTION @extschema@.config_replace()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	sets text;
	keys text;
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
	IF FOUND THEN
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
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(
		(SELECT c.to_stage FROM @extschema@.stage_change AS c
		 WHERE c.lead_id = l.lead_id AND c.changed_at <= stage_at.at
		 ORDER BY c.changed_at DESC, c.stage_change_id DESC LIMIT 1),
		(SELECT c.from_stage FROM @extschema@.stage_change AS c
		 WHERE c.lead_id = l.lead_id AND c.changed_at > stage_at.at
		 ORDER BY c.changed_at, c.stage_change_id LIMIT 1),
		l.stage)
	FROM @extschema@.lead AS l
	WHERE l.lead_id = stage_at.lead_id AND l.created_at <= stage_at.at
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
	n bigint := 0;
	notify boolean := coalesce(current_setting('lead_gen.notify', true), 'on') <> 'off';
BEGIN
	FOR b IN
		INSERT INTO @extschema@.sla_flag (lead_id, stage, entered_at, due_at)
		SELECT s.lead_id, s.stage, s.entered_at, s.due_at FROM @extschema@.sla_breach AS s
		ORDER BY s.lead_id
		ON CONFLICT DO NOTHING
		RETURNING lead_id, stage, due_at
	LOOP
		n := n + 1;
		IF notify THEN
			PERFORM pg_notify('lead_gen_events', json_build_object(
				'lead_id', b.lead_id, 'event', 'sla_breach', 'stage', b.stage, 'due_at', b.due_at)::text);
		END IF;
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

-- ---------------------------------------------------------------------------
-- Ordered step funnels and retention (ClickHouse's windowFunnel, retention)
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.window_funnel_accum(internal, interval, timestamptz, VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_accum'
LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_accum(internal, interval, text, timestamptz, VARIADIC "any")
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_accum'
LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_final(internal)
RETURNS integer
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_final'
LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_combine'
LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_serialize'
LANGUAGE C STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_deserialize'
LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.window_funnel_accum(internal, interval, timestamptz, VARIADIC "any") IS
	'Transition function of window_funnel';
COMMENT ON FUNCTION @extschema@.window_funnel_accum(internal, interval, text, timestamptz, VARIADIC "any") IS
	'Transition function of window_funnel with a mode';
COMMENT ON FUNCTION @extschema@.window_funnel_final(internal) IS 'Final function of window_funnel: the level reached';
COMMENT ON FUNCTION @extschema@.window_funnel_combine(internal, internal) IS 'Combine function of window_funnel';
COMMENT ON FUNCTION @extschema@.window_funnel_serialize(internal) IS 'Serialize function of window_funnel';
COMMENT ON FUNCTION @extschema@.window_funnel_deserialize(bytea, internal) IS 'Deserialize function of window_funnel';

CREATE AGGREGATE @extschema@.window_funnel("window" interval, ts timestamptz, VARIADIC steps "any") (
	SFUNC = @extschema@.window_funnel_accum,
	STYPE = internal,
	FINALFUNC = @extschema@.window_funnel_final,
	COMBINEFUNC = @extschema@.window_funnel_combine,
	SERIALFUNC = @extschema@.window_funnel_serialize,
	DESERIALFUNC = @extschema@.window_funnel_deserialize,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.window_funnel("window" interval, mode text, ts timestamptz, VARIADIC steps "any") (
	SFUNC = @extschema@.window_funnel_accum,
	STYPE = internal,
	FINALFUNC = @extschema@.window_funnel_final,
	COMBINEFUNC = @extschema@.window_funnel_combine,
	SERIALFUNC = @extschema@.window_funnel_serialize,
	DESERIALFUNC = @extschema@.window_funnel_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, timestamptz, VARIADIC "any") IS
	'How many consecutive steps (boolean conditions, in order) a group completed within the window of its first step, as ClickHouse''s windowFunnel';
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, text, timestamptz, VARIADIC "any") IS
	'window_funnel with a mode: strict_order, strict_deduplication, strict_increase, allow_reentry (comma-separated)';

CREATE FUNCTION @extschema@.retention_accum(bigint, VARIADIC "any")
RETURNS bigint
AS 'MODULE_PATHNAME', 'lead_gen_retention_accum'
LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.retention_final(bigint)
RETURNS integer[]
AS 'MODULE_PATHNAME', 'lead_gen_retention_final'
LANGUAGE C STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.retention_accum(bigint, VARIADIC "any") IS 'Transition function of retention';
COMMENT ON FUNCTION @extschema@.retention_final(bigint) IS 'Final function of retention';
CREATE AGGREGATE @extschema@.retention(VARIADIC conditions "any") (
	SFUNC = @extschema@.retention_accum,
	STYPE = bigint,
	FINALFUNC = @extschema@.retention_final,
	COMBINEFUNC = pg_catalog.int8or,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.retention(VARIADIC "any") IS
	'r[1]: the first condition held on some row; r[k]: the first and the k-th each held on some row (ClickHouse''s retention)';

-- ---------------------------------------------------------------------------
-- Funnel reports: leads per period, the stage funnel, conversion, velocity,
-- money and attribution.  Every report takes an optional period of lead
-- creation (from_date .. to_date, inclusive, UTC days) and a grouping.
-- ---------------------------------------------------------------------------

-- The period, checked; NULL ends are open.
CREATE FUNCTION @extschema@.report_period(from_date date, to_date date,
	OUT from_ts timestamptz, OUT to_ts timestamptz)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF from_date > to_date THEN
		RAISE EXCEPTION 'the period ends (%) before it starts (%)', to_date, from_date
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	from_ts := coalesce(from_date::timestamp AT TIME ZONE 'UTC', '-infinity');
	to_ts := coalesce((to_date + 1)::timestamp AT TIME ZONE 'UTC', 'infinity');
END
$$;
COMMENT ON FUNCTION @extschema@.report_period(date, date) IS
	'The instants a report period covers: from the start of from_date to the end of to_date (UTC); NULL ends are open; an end before the start is an error';

CREATE FUNCTION @extschema@.check_group_by(group_by text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF group_by IS NOT NULL AND group_by NOT IN ('channel', 'campaign', 'cohort', 'grade', 'industry', 'country') THEN
		RAISE EXCEPTION 'unknown grouping "%"', group_by
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Group by channel, campaign, cohort (month of creation), grade, industry or country, or NULL for all leads.';
	END IF;
	RETURN group_by;
END
$$;
COMMENT ON FUNCTION @extschema@.check_group_by(text) IS
	'Checks a report grouping: channel, campaign, cohort, grade, industry, country or NULL';

-- The segment a lead falls in under a grouping.  Inlined into the reports
-- (no SET clause, every name qualified), so no function call per lead.
CREATE FUNCTION @extschema@.lead_segment(l @extschema@.lead, group_by text, campaign_name text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN $2 OPERATOR(pg_catalog.=) 'channel' THEN coalesce(($1).source_channel::pg_catalog.text, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'campaign' THEN coalesce($3, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'cohort'
			THEN pg_catalog.to_char(pg_catalog.timezone('UTC', ($1).created_at), 'YYYY-MM')
		WHEN $2 OPERATOR(pg_catalog.=) 'grade' THEN coalesce(($1).grade, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'industry' THEN coalesce(($1).industry::pg_catalog.text, '(none)')
		WHEN $2 OPERATOR(pg_catalog.=) 'country' THEN coalesce(($1).country::pg_catalog.text, '(none)')
		ELSE 'all' END
$$;
COMMENT ON FUNCTION @extschema@.lead_segment(@extschema@.lead, text, text) IS
	'The segment of a lead under a report grouping (''all'' for none), given the name of its campaign';

CREATE FUNCTION @extschema@.leads_per_period(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	period text DEFAULT 'month', group_by text DEFAULT NULL)
RETURNS TABLE (period_start date, segment text, leads bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	IF period IS NULL OR period NOT IN ('day', 'week', 'month', 'quarter', 'year') THEN
		RAISE EXCEPTION 'unknown period "%"', period
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Use day, week, month, quarter or year.';
	END IF;
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

-- A lead's highest forward stage at a moment, from its history.
CREATE FUNCTION @extschema@.peak_stage_at(lead_id bigint, at timestamptz)
RETURNS @extschema@.lifecycle_stage
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT greatest(
		coalesce((SELECT c.from_stage FROM @extschema@.stage_change AS c
				  WHERE c.lead_id = l.lead_id ORDER BY c.changed_at, c.stage_change_id LIMIT 1), l.stage),
		(SELECT max(c.to_stage) FROM @extschema@.stage_change AS c
		 WHERE c.lead_id = l.lead_id AND c.changed_at <= peak_stage_at.at AND c.to_stage <> 'disqualified'))
	FROM @extschema@.lead AS l
	WHERE l.lead_id = peak_stage_at.lead_id AND l.created_at <= peak_stage_at.at
$$;
COMMENT ON FUNCTION @extschema@.peak_stage_at(bigint, timestamptz) IS
	'The highest of prospect .. customer a lead had reached at a moment (its first stage if disqualified at once); NULL before it existed';

CREATE FUNCTION @extschema@.stage_funnel(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
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

CREATE FUNCTION @extschema@.mql_acceptance(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL)
RETURNS TABLE (segment text, mqls bigint, accepted bigint, rejected bigint, pending bigint,
			   acceptance_rate numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	WITH mql AS (
		SELECT @extschema@.lead_segment(l, group_by, cn.name) AS seg, l.peak_stage,
			   (SELECT c.to_stage FROM @extschema@.stage_change AS c
				WHERE c.lead_id = l.lead_id AND c.from_stage = 'mql'
				ORDER BY c.changed_at, c.stage_change_id LIMIT 1) AS left_to
		FROM @extschema@.lead AS l
		LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
		WHERE l.mql_at >= p.from_ts AND l.mql_at < p.to_ts)
	SELECT m.seg, count(*),
		   count(*) FILTER (WHERE m.left_to > 'mql' AND m.left_to <> 'disqualified'
								OR m.left_to IS NULL AND m.peak_stage > 'mql'),
		   count(*) FILTER (WHERE m.left_to < 'mql' OR m.left_to = 'disqualified'),
		   count(*) FILTER (WHERE m.left_to IS NULL AND m.peak_stage <= 'mql'),
		   round(100.0 * count(*) FILTER (WHERE m.left_to > 'mql' AND m.left_to <> 'disqualified'
											  OR m.left_to IS NULL AND m.peak_stage > 'mql')
				 / nullif(count(*) FILTER (WHERE m.left_to IS NOT NULL OR m.peak_stage > 'mql'), 0), 1)
	FROM mql AS m
	GROUP BY m.seg
	ORDER BY m.seg;
END
$$;
COMMENT ON FUNCTION @extschema@.mql_acceptance(date, date, text) IS
	'Of the leads that became MQLs in a period: how many sales accepted (moved on to sql or later), rejected (recycled or disqualified from mql), still pending; the rate among those decided';

CREATE FUNCTION @extschema@.time_in_stage(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL)
RETURNS TABLE (segment text, stage @extschema@.lifecycle_stage, stays bigint,
			   median interval, p90 interval, mean interval)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	WITH stays AS (
		SELECT c.from_stage AS stage, c.changed_at AS ended_at,
			   c.changed_at - coalesce(lag(c.changed_at) OVER w, l.created_at) AS spent,
			   @extschema@.lead_segment(l, group_by, cn.name) AS seg
		FROM @extschema@.stage_change AS c
		JOIN @extschema@.lead AS l ON l.lead_id = c.lead_id
		LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
		WINDOW w AS (PARTITION BY c.lead_id ORDER BY c.changed_at, c.stage_change_id))
	SELECT s.seg, s.stage, count(*),
		   justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY s.spent))),
		   justify_hours(date_trunc('second', percentile_cont(0.9) WITHIN GROUP (ORDER BY s.spent))),
		   justify_hours(date_trunc('second', avg(s.spent)))
	FROM stays AS s
	WHERE s.ended_at >= p.from_ts AND s.ended_at < p.to_ts
	GROUP BY s.seg, s.stage
	ORDER BY s.seg, s.stage;
END
$$;
COMMENT ON FUNCTION @extschema@.time_in_stage(date, date, text) IS
	'How long leads stayed in each stage, from the stays that ended in a period (a lead''s first stay starts at its creation): count, median, 90th percentile, mean';

CREATE FUNCTION @extschema@.speed_to_lead_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	group_by text DEFAULT NULL)
RETURNS TABLE (segment text, leads bigint, touched bigint, median_from_arrival interval,
			   p90_from_arrival interval, mqls bigint, median_from_mql interval, p90_from_mql interval)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	PERFORM @extschema@.check_group_by(group_by);
	RETURN QUERY
	SELECT @extschema@.lead_segment(l, group_by, cn.name) AS seg, count(*),
		   count(l.first_touch_at),
		   justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY l.first_touch_at - l.created_at))),
		   justify_hours(date_trunc('second', percentile_cont(0.9) WITHIN GROUP (ORDER BY l.first_touch_at - l.created_at))),
		   count(l.mql_at),
		   justify_hours(date_trunc('second', percentile_cont(0.5) WITHIN GROUP (ORDER BY l.first_touch_at - l.mql_at)
			   FILTER (WHERE l.first_touch_at >= l.mql_at))),
		   justify_hours(date_trunc('second', percentile_cont(0.9) WITHIN GROUP (ORDER BY l.first_touch_at - l.mql_at)
			   FILTER (WHERE l.first_touch_at >= l.mql_at)))
	FROM @extschema@.lead AS l
	LEFT JOIN @extschema@.campaign AS cn ON cn.campaign_id = l.campaign_id AND group_by = 'campaign'
	WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
	GROUP BY 1
	ORDER BY 1;
END
$$;
COMMENT ON FUNCTION @extschema@.speed_to_lead_report(date, date, text) IS
	'Speed to lead of the leads created in a period: median and 90th percentile time from arrival, and from reaching mql (touches after it), to the first sales touch';

-- What a campaign spent within a period: its spend spread evenly over the
-- days it ran (starts_on .. ends_on, or its creation .. today while it runs).
CREATE FUNCTION @extschema@.campaign_spend(c @extschema@.campaign, from_date date, to_date date)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN from_date IS NULL AND to_date IS NULL THEN c.spend
				ELSE round(c.spend * greatest(0, least(coalesce(to_date, 'infinity'), e.last)
											   - greatest(coalesce(from_date, '-infinity'), e.first) + 1)
						   / (e.last - e.first + 1), 2) END
	FROM (SELECT coalesce(c.starts_on, (c.created_at AT TIME ZONE 'UTC')::date) AS first,
				 greatest(coalesce(c.ends_on, (now() AT TIME ZONE 'UTC')::date),
						  coalesce(c.starts_on, (c.created_at AT TIME ZONE 'UTC')::date)) AS last) AS e
$$;
COMMENT ON FUNCTION @extschema@.campaign_spend(@extschema@.campaign, date, date) IS
	'The part of a campaign''s spend that falls in a period (spread evenly over the days it ran; while running, up to today)';

CREATE FUNCTION @extschema@.campaign_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (campaign_id bigint, campaign text, channel text, spend numeric, leads bigint,
			   mqls bigint, sqls bigint, customers bigint, cost_per_lead numeric, cost_per_mql numeric,
			   cost_per_customer numeric, conversion_rate numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	RETURN QUERY
	WITH won AS (
		SELECT l.campaign_id, count(*) AS leads,
			   count(*) FILTER (WHERE l.peak_stage >= 'mql') AS mqls,
			   count(*) FILTER (WHERE l.peak_stage >= 'sql') AS sqls,
			   count(*) FILTER (WHERE l.peak_stage = 'customer') AS customers
		FROM @extschema@.lead AS l
		WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts AND l.campaign_id IS NOT NULL
		GROUP BY l.campaign_id),
	r AS (
		SELECT c.campaign_id, c.name, c.channel::text AS channel,
			   @extschema@.campaign_spend(c, from_date, to_date) AS spend,
			   coalesce(w.leads, 0) AS leads, coalesce(w.mqls, 0) AS mqls,
			   coalesce(w.sqls, 0) AS sqls, coalesce(w.customers, 0) AS customers
		FROM @extschema@.campaign AS c
		LEFT JOIN won AS w ON w.campaign_id = c.campaign_id)
	SELECT r.campaign_id, r.name, r.channel, r.spend, r.leads, r.mqls, r.sqls, r.customers,
		   CASE WHEN r.spend > 0 AND r.leads > 0 THEN round(r.spend / r.leads, 2) END,
		   CASE WHEN r.spend > 0 AND r.mqls > 0 THEN round(r.spend / r.mqls, 2) END,
		   CASE WHEN r.spend > 0 AND r.customers > 0 THEN round(r.spend / r.customers, 2) END,
		   round(100.0 * r.customers / nullif(r.leads, 0), 1)
	FROM r
	ORDER BY r.channel, r.name;
END
$$;
COMMENT ON FUNCTION @extschema@.campaign_report(date, date) IS
	'Per campaign, for the leads it brought in a period: spend in the period, leads, MQLs, SQLs, customers, cost per lead, per MQL and per customer (NULL without spend or without any), lead-to-customer conversion in percent';

CREATE FUNCTION @extschema@.channel_report(from_date date DEFAULT NULL, to_date date DEFAULT NULL)
RETURNS TABLE (channel text, spend numeric, leads bigint, mqls bigint, sqls bigint, customers bigint,
			   cost_per_lead numeric, cost_per_mql numeric, cost_per_customer numeric,
			   conversion_rate numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record := @extschema@.report_period(from_date, to_date);
BEGIN
	RETURN QUERY
	WITH won AS (
		SELECT coalesce(c.channel::text, l.source_channel::text, '(none)') AS channel, count(*) AS leads,
			   count(*) FILTER (WHERE l.peak_stage >= 'mql') AS mqls,
			   count(*) FILTER (WHERE l.peak_stage >= 'sql') AS sqls,
			   count(*) FILTER (WHERE l.peak_stage = 'customer') AS customers
		FROM @extschema@.lead AS l
		LEFT JOIN @extschema@.campaign AS c ON c.campaign_id = l.campaign_id
		WHERE l.created_at >= p.from_ts AND l.created_at < p.to_ts
		GROUP BY 1),
	spent AS (
		SELECT c.channel::text AS channel, sum(@extschema@.campaign_spend(c, from_date, to_date)) AS spend
		FROM @extschema@.campaign AS c
		GROUP BY 1),
	r AS (
		SELECT coalesce(w.channel, s.channel) AS channel, coalesce(s.spend, 0) AS spend,
			   coalesce(w.leads, 0) AS leads, coalesce(w.mqls, 0) AS mqls,
			   coalesce(w.sqls, 0) AS sqls, coalesce(w.customers, 0) AS customers
		FROM won AS w FULL JOIN spent AS s ON s.channel = w.channel)
	SELECT r.channel, r.spend, r.leads, r.mqls, r.sqls, r.customers,
		   CASE WHEN r.spend > 0 AND r.leads > 0 THEN round(r.spend / r.leads, 2) END,
		   CASE WHEN r.spend > 0 AND r.mqls > 0 THEN round(r.spend / r.mqls, 2) END,
		   CASE WHEN r.spend > 0 AND r.customers > 0 THEN round(r.spend / r.customers, 2) END,
		   round(100.0 * r.customers / nullif(r.leads, 0), 1)
	FROM r
	ORDER BY r.channel;
END
$$;
COMMENT ON FUNCTION @extschema@.channel_report(date, date) IS
	'Per channel (the campaign''s, else the lead''s source channel): spend in the period, leads created in it, MQLs, SQLs, customers, costs per lead, MQL and customer, conversion in percent';

-- When each lead first reached a stage (or a later forward one).
CREATE FUNCTION @extschema@.reached_at(lead_id bigint, stage @extschema@.lifecycle_stage)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN f.first_stage >= reached_at.stage AND f.first_stage <> 'disqualified' THEN l.created_at
				ELSE (SELECT min(c.changed_at) FROM @extschema@.stage_change AS c
					  WHERE c.lead_id = l.lead_id AND c.to_stage >= reached_at.stage
						AND c.to_stage <> 'disqualified') END
	FROM @extschema@.lead AS l
	CROSS JOIN LATERAL (
		SELECT coalesce((SELECT c.from_stage FROM @extschema@.stage_change AS c
						 WHERE c.lead_id = l.lead_id ORDER BY c.changed_at, c.stage_change_id LIMIT 1),
						l.stage) AS first_stage) AS f
	WHERE l.lead_id = reached_at.lead_id
$$;
COMMENT ON FUNCTION @extschema@.reached_at(bigint, @extschema@.lifecycle_stage) IS
	'When a lead first reached a stage or a later one of prospect .. customer (its creation if it arrived there); NULL if it never did';

CREATE FUNCTION @extschema@.attribution(model text DEFAULT 'linear',
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
			   power(0.5, extract(epoch FROM t.conv_at - t.at)::float8 / hl) AS decay
		FROM t
		WINDOW w AS (PARTITION BY t.lead_id ORDER BY t.at, t.ord),
			   lw AS (PARTITION BY t.lead_id)),
	anchored AS (
		SELECT r.*,
			   coalesce(max(r.i) FILTER (WHERE r.at <= r.created_at) OVER lw, 1) AS creation_i,
			   coalesce(max(r.i) FILTER (WHERE r.at <= r.opp_at) OVER lw, r.n) AS opp_i,
			   sum(r.decay) OVER lw AS decay_sum
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

-- Text bars readable in psql.
CREATE FUNCTION @extschema@.funnel_chart(labels text[], counts numeric[], width integer DEFAULT 40)
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

CREATE FUNCTION @extschema@.stage_funnel_chart(from_date date DEFAULT NULL, to_date date DEFAULT NULL,
	as_of timestamptz DEFAULT NULL, width integer DEFAULT 40)
RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT @extschema@.funnel_chart(array_agg(f.stage::text ORDER BY f.stage),
									array_agg(f.reached::numeric ORDER BY f.stage), width)
	FROM @extschema@.stage_funnel(from_date, to_date, NULL, as_of) AS f
$$;
COMMENT ON FUNCTION @extschema@.stage_funnel_chart(date, date, timestamptz, integer) IS
	'The stage funnel of the leads created in a period as text bars (lead_gen.funnel_chart)';

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
END
$$;
COMMENT ON FUNCTION @extschema@.forget(bigint) IS
	'Erases a person''s personal data: the lead''s contact, name, role, company, city, need and attributes, its activities'' properties and its history''s reasons; keeps the anonymous lead (stage, dates, channel, campaign, scores, industry, size, country) so that counts and funnels stay right';

-- ---------------------------------------------------------------------------
-- Privileges: three levels, granted to roles of the DBA's choosing
-- ---------------------------------------------------------------------------

-- Nothing of lead_gen is granted to PUBLIC but EXECUTE on functions, which
-- run with the caller's rights (SECURITY INVOKER): without the table
-- privileges below they can read or change nothing.
CREATE FUNCTION @extschema@.grant_access(role_name name, access text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	config text := '@extschema@.profile, @extschema@.scoring_rule, @extschema@.scoring_settings, '
				   '@extschema@.stage_transition, @extschema@.stage_rule, @extschema@.bant_rule';
BEGIN
	IF role_name IS NULL OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = 'undefined_object';
	END IF;
	IF access IS NULL OR access NOT IN ('reader', 'writer', 'admin') THEN
		RAISE EXCEPTION 'unknown access level "%"', access
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Levels are reader, writer and admin.';
	END IF;
	-- readers: every table and view (scores, reports and triggers read the configuration)
	EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', role_name);
	EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO %I', role_name);
	IF access IN ('writer', 'admin') THEN
		-- writers: leads, activity, campaigns; the history their stage changes write
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.lead, @extschema@.campaign TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.activity TO %I', role_name);
		EXECUTE format('GRANT INSERT ON @extschema@.stage_change TO %I', role_name);
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.lead_lead_id_seq, @extschema@.activity_activity_id_seq, '
					   '@extschema@.stage_change_stage_change_id_seq, @extschema@.campaign_campaign_id_seq TO %I',
					   role_name);
	END IF;
	IF access = 'admin' THEN
		-- admins: the configuration (and so forced stage moves), deleting leads,
		-- and what rescore() and recompute_all() write
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %s TO %I', config, role_name);
		EXECUTE format('GRANT DELETE ON @extschema@.lead, @extschema@.campaign TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.scoring_state, @extschema@.sla_flag TO %I', role_name);
		-- forget() erases the reasons in the history
		EXECUTE format('GRANT UPDATE (reason) ON @extschema@.stage_change TO %I', role_name);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_access(name, text) IS
	'Grants a role one of the access levels: reader (read everything, run reports), writer (also add and change leads, activity and campaigns, move stages, qualify), admin (also change scoring rules, profiles and the stage machine, force stage moves, delete and forget leads, run rescore and recompute_all)';

CREATE FUNCTION @extschema@.revoke_access(role_name name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF role_name IS NULL OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = 'undefined_object';
	END IF;
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM %I', role_name);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA @extschema@ FROM %I', role_name);
	EXECUTE format('REVOKE USAGE ON SCHEMA @extschema@ FROM %I', role_name);
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_access(name) IS
	'Revokes every privilege grant_access gave a role';

-- ---------------------------------------------------------------------------
-- pg_dump: every table with user data or configuration is dumped with its
-- rows, and so are the sequences behind their identity columns.
-- ---------------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activity', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_change', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.profile', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.scoring_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.scoring_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_transition', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.bant_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.sla_flag', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign_campaign_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_lead_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activity_activity_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_change_stage_change_id_seq', '');
