/*
 * sql/install/dump.sql
 *
 * pg_dump registration: which tables and sequences are dumped with their
 * rows.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

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
SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor_activity', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor_purge', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.identity_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.capture_field', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.capture_submission', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_merge', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.duplicate_dismissal', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_member', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_history', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.content', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program_step', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.enrollment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.suppression', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_term', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.prediction_settings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.campaign_campaign_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.lead_lead_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.activity_activity_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.stage_change_stage_change_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.visitor_activity_visitor_activity_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_segment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segment_history_segment_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.program_program_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.enrollment_enrollment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.outbox_message_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_model_id_seq', '');
