/*
 * sql/install/privileges.sql
 *
 * Privileges: the reader, writer and admin access levels.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Privileges: three levels, granted to roles of the DBA's choosing
-- ---------------------------------------------------------------------------

-- Only the owner of lead_gen's tables (or a member of it, or a superuser)
-- can grant or revoke on them; anyone else's GRANT warns and does nothing.
CREATE FUNCTION @extschema@.check_access_owner(verb text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	owner name := (SELECT r.rolname FROM pg_class AS c JOIN pg_roles AS r ON r.oid = c.relowner
				   WHERE c.oid = '@extschema@.lead'::regclass);
BEGIN
	IF NOT pg_has_role(current_user, owner, 'USAGE') THEN
		RAISE EXCEPTION 'permission denied to % lead_gen access levels', verb
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('Access levels are granted and revoked by the owner of lead_gen''s tables (role %I) or a member of it.', owner);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_access_owner(text) IS
	'Errors (42501) unless the current user has the privileges of the owner of lead_gen''s tables; grant_access and revoke_access call it';

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
				   '@extschema@.stage_transition, @extschema@.stage_rule, @extschema@.bant_rule, '
				   '@extschema@.capture_field, @extschema@.identity_settings, @extschema@.segment';
BEGIN
	IF role_name IS NULL OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = 'undefined_object';
	END IF;
	IF access IS NULL OR access NOT IN ('reader', 'writer', 'admin', 'sender') THEN
		RAISE EXCEPTION 'unknown access level "%"', access
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Levels are reader, writer, admin and sender.';
	END IF;
	PERFORM @extschema@.check_access_owner('grant');
	-- senders (and admins): claim, ack and fail messages; senders read nothing
	IF access IN ('sender', 'admin') THEN
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.claim_messages(text, integer, interval), '
					   '@extschema@.ack_message(bigint, text, text), @extschema@.fail_message(bigint, text, timestamptz, text) TO %I',
					   role_name);
	END IF;
	IF access = 'sender' THEN
		EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', role_name);
		RETURN;
	END IF;
	-- readers: every table and view (scores, reports and triggers read the configuration)
	EXECUTE format('GRANT USAGE ON SCHEMA @extschema@ TO %I', role_name);
	EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO %I', role_name);
	IF access IN ('writer', 'admin') THEN
		-- writers: leads, activity, campaigns; the history their stage changes write
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.lead, @extschema@.campaign TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.activity TO %I', role_name);
		EXECUTE format('GRANT INSERT ON @extschema@.stage_change TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.visitor, @extschema@.capture_submission TO %I', role_name);
		EXECUTE format('GRANT INSERT, DELETE ON @extschema@.visitor_activity TO %I', role_name);
		EXECUTE format('GRANT INSERT ON @extschema@.duplicate_dismissal TO %I', role_name);
		-- the members their changes move (a live segment's only through
		-- lead_gen, see segment_member_changed) and the history of that
		EXECUTE format('GRANT INSERT, DELETE ON @extschema@.segment_member TO %I', role_name);
		EXECUTE format('GRANT INSERT ON @extschema@.segment_history TO %I', role_name);
		-- enrolling by hand; the suppressions their delivery events add
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.enroll(bigint, text), '
					   '@extschema@.unenroll(bigint, text) TO %I', role_name);
		EXECUTE format('GRANT INSERT, DELETE ON @extschema@.suppression TO %I', role_name);
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.lead_lead_id_seq, @extschema@.activity_activity_id_seq, '
					   '@extschema@.stage_change_stage_change_id_seq, @extschema@.campaign_campaign_id_seq, '
					   '@extschema@.visitor_activity_visitor_activity_id_seq, '
					   '@extschema@.segment_history_segment_history_id_seq TO %I',
					   role_name);
	END IF;
	IF access = 'admin' THEN
		-- admins: the configuration (and so forced stage moves), deleting leads,
		-- and what rescore() and recompute_all() write
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %s TO %I', config, role_name);
		EXECUTE format('GRANT DELETE ON @extschema@.lead, @extschema@.campaign TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE ON @extschema@.scoring_state, @extschema@.sla_flag, @extschema@.visitor_purge TO %I', role_name);
		EXECUTE format('GRANT DELETE ON @extschema@.visitor, @extschema@.sla_flag, @extschema@.duplicate_dismissal TO %I', role_name);
		-- forget() erases the reasons in the history; merge_leads() moves it
		-- and records the merge
		EXECUTE format('GRANT UPDATE (reason, lead_id) ON @extschema@.stage_change TO %I', role_name);
		EXECUTE format('GRANT INSERT, UPDATE (winner, reason, loser_data) ON @extschema@.lead_merge TO %I', role_name);
		-- segments: defined by admins; a merge moves members, a drop the history
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.segment_segment_id_seq TO %I', role_name);
		EXECUTE format('GRANT UPDATE (lead_id) ON @extschema@.segment_member TO %I', role_name);
		EXECUTE format('GRANT DELETE ON @extschema@.segment_history TO %I', role_name);
		-- programs: defined and run by admins; a merge moves enrolments and
		-- messages, forget() erases what messages carry
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.program, @extschema@.program_step, '
					   '@extschema@.content, @extschema@.outbox_settings TO %I', role_name);
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.program_program_id_seq TO %I', role_name);
		EXECUTE format('GRANT EXECUTE ON FUNCTION @extschema@.advance_batch(integer) TO %I', role_name);
		EXECUTE format('GRANT UPDATE (lead_id), DELETE ON @extschema@.enrollment, @extschema@.suppression TO %I', role_name);
		EXECUTE format('GRANT UPDATE (lead_id, fields, status, skip_reason, visible_at), DELETE ON @extschema@.outbox TO %I', role_name);
		-- models: trained, activated, kept on leads and dropped by admins
		-- (trigger model_written refuses what training did not compute)
		EXECUTE format('GRANT INSERT, UPDATE, DELETE ON @extschema@.model, @extschema@.model_term, '
					   '@extschema@.prediction_settings TO %I', role_name);
		EXECUTE format('GRANT USAGE ON SEQUENCE @extschema@.model_model_id_seq TO %I', role_name);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.grant_access(name, text) IS
	'Grants a role one of the access levels: reader (read everything, run reports), writer (also add and change leads, activity and campaigns, move stages, qualify, keep static segments, enroll leads in programs), admin (also change scoring rules, profiles and the stage machine, define segments and programs, train and keep models, force stage moves, delete, merge and forget leads, run rescore, recompute_all and advance_programs), sender (claim, ack and fail outbox messages, and nothing else; admins may too)';

CREATE FUNCTION @extschema@.revoke_access(role_name name)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF role_name IS NULL OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
		RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM @extschema@.check_access_owner('revoke');
	EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM %I', role_name);
	EXECUTE format('REVOKE EXECUTE ON FUNCTION @extschema@.claim_messages(text, integer, interval), '
				   '@extschema@.ack_message(bigint, text, text), @extschema@.fail_message(bigint, text, timestamptz, text), '
				   '@extschema@.enroll(bigint, text), @extschema@.unenroll(bigint, text), '
				   '@extschema@.advance_batch(integer) FROM %I', role_name);
	EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA @extschema@ FROM %I', role_name);
	EXECUTE format('REVOKE USAGE ON SCHEMA @extschema@ FROM %I', role_name);
END
$$;
COMMENT ON FUNCTION @extschema@.revoke_access(name) IS
	'Revokes every privilege grant_access gave a role';
