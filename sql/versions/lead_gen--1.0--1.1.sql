/*
 * lead_gen 1.0 -> 1.1: the stage history is written by lead_gen only.
 *
 * 1.0 let any role with INSERT on stage_change (every writer: the history is
 * written with the writer's rights) add rows directly.  1.1 refuses rows that
 * lead_gen did not write, except for roles that may change the stage machine
 * (importing history) and restores.
 */

\echo Use "ALTER EXTENSION lead_gen UPDATE TO '1.1'" to load this file. \quit

CREATE FUNCTION @extschema@.stage_change_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'lead_gen_stage_change_guard'
LANGUAGE C;
COMMENT ON FUNCTION @extschema@.stage_change_guard() IS
	'BEFORE INSERT row trigger on stage_change: only lead_gen writes history, except imports by roles that may UPDATE stage_transition and restores';

CREATE TRIGGER stage_change_guard BEFORE INSERT ON @extschema@.stage_change
	FOR EACH ROW EXECUTE FUNCTION @extschema@.stage_change_guard();
