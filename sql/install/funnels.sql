/*
 * sql/install/funnels.sql
 *
 * Ordered step funnels and retention: aggregates in C with parallel
 * combine functions.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

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

-- window_funnel with the steps named: step k holds on a row whose event
-- equals the k-th step (compared in C, byte for byte).
CREATE FUNCTION @extschema@.window_funnel_event_accum(internal, interval, timestamptz, text, VARIADIC text[])
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_event_accum'
LANGUAGE C PARALLEL SAFE;
CREATE FUNCTION @extschema@.window_funnel_event_accum(internal, interval, text, timestamptz, text, VARIADIC text[])
RETURNS internal
AS 'MODULE_PATHNAME', 'lead_gen_window_funnel_event_accum'
LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.window_funnel_event_accum(internal, interval, timestamptz, text, VARIADIC text[]) IS
	'Transition function of window_funnel with named steps';
COMMENT ON FUNCTION @extschema@.window_funnel_event_accum(internal, interval, text, timestamptz, text, VARIADIC text[]) IS
	'Transition function of window_funnel with a mode and named steps';

CREATE AGGREGATE @extschema@.window_funnel("window" interval, ts timestamptz, event text, VARIADIC steps text[]) (
	SFUNC = @extschema@.window_funnel_event_accum,
	STYPE = internal,
	FINALFUNC = @extschema@.window_funnel_final,
	COMBINEFUNC = @extschema@.window_funnel_combine,
	SERIALFUNC = @extschema@.window_funnel_serialize,
	DESERIALFUNC = @extschema@.window_funnel_deserialize,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.window_funnel("window" interval, mode text, ts timestamptz, event text, VARIADIC steps text[]) (
	SFUNC = @extschema@.window_funnel_event_accum,
	STYPE = internal,
	FINALFUNC = @extschema@.window_funnel_final,
	COMBINEFUNC = @extschema@.window_funnel_combine,
	SERIALFUNC = @extschema@.window_funnel_serialize,
	DESERIALFUNC = @extschema@.window_funnel_deserialize,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, timestamptz, text, VARIADIC text[]) IS
	'window_funnel with named steps: step k holds on a row whose event equals the k-th step';
COMMENT ON AGGREGATE @extschema@.window_funnel(interval, text, timestamptz, text, VARIADIC text[]) IS
	'window_funnel with a mode and named steps';

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
