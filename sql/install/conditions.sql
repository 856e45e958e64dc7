/*
 * sql/install/conditions.sql
 *
 * Conditions on leads: the condition type (one test in the ICP language,
 * without a weight, over a lead's facts, state and activity) and testing a
 * lead against one now.  Segments, program branches and goals are written
 * as conditions.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

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
