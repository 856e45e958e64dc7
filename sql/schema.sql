-- The data model: objects, documentation, pg_dump registration, helpers.

-- Every object of the extension, by kind.
SELECT pg_describe_object(classid, objid, 0) AS object
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lead_gen')
  AND deptype = 'e'
ORDER BY 1;

-- Not relocatable, in its own schema.
SELECT extname, extrelocatable, extnamespace::regnamespace
FROM pg_extension WHERE extname = 'lead_gen';

-- Every function, table and type is documented.
SELECT p.oid::regprocedure AS undocumented_function
FROM pg_proc AS p
WHERE p.pronamespace = 'lead_gen'::regnamespace
  AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.oid::regclass AS undocumented_table
FROM pg_class AS c
WHERE c.relnamespace = 'lead_gen'::regnamespace AND c.relkind IN ('r', 'v', 'm')
  AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT t.oid::regtype AS undocumented_type
FROM pg_type AS t
WHERE t.typnamespace = 'lead_gen'::regnamespace AND t.typtype IN ('b', 'd', 'e', 'c')
  AND t.typrelid = 0 AND t.typcategory <> 'A'
  AND obj_description(t.oid, 'pg_type') IS NULL;

-- Every table and identity sequence is dumped with its rows by pg_dump, but
-- scoring_state (operational state: a restore marks the rules changed).
SELECT c.oid::regclass AS not_dumped
FROM pg_class AS c
WHERE c.relnamespace = 'lead_gen'::regnamespace AND c.relkind IN ('r', 'S')
  AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'lead_gen')::oid[]);

-- email_domain: lower case, after the last @, NULL without one.
SELECT e, lead_gen.email_domain(e)
FROM (VALUES ('Ada@Example.COM'), ('"a@b"@Corp.Example'), ('no-at-sign'),
			 ('trailing@'), (NULL)) AS v(e);

-- A lead with the defaults.
INSERT INTO lead_gen.lead (email, first_name, company_name, country, attributes)
VALUES ('Ada.Lovelace@Analytical.Example', 'Ada', 'Analytical Engines', 'GB',
		'{"plan": "enterprise"}')
RETURNING lead_id, email, stage, temperature, consent, attributes,
		  created_at = now() AS created_now, updated_at = created_at AS updated_is_created;

-- updated_at moves on a real change ...
BEGIN;
UPDATE lead_gen.lead SET updated_at = '2020-01-01', city = 'London' WHERE lead_id = 1;
SELECT updated_at = '2020-01-01' AS explicit_value_kept FROM lead_gen.lead WHERE lead_id = 1;
UPDATE lead_gen.lead SET city = 'Cambridge' WHERE lead_id = 1;
SELECT updated_at = transaction_timestamp() AS stamped FROM lead_gen.lead WHERE lead_id = 1;
COMMIT;

-- ... and the trigger function refuses to run anywhere else.
CREATE TABLE touch_misuse (id int, updated_at timestamptz, note text);
INSERT INTO touch_misuse VALUES (1, now(), 'x');
CREATE TRIGGER t BEFORE UPDATE ON touch_misuse FOR EACH ROW
	EXECUTE FUNCTION lead_gen.touch_updated_at('no_such_column');
UPDATE touch_misuse SET note = 'y';
DROP TRIGGER t ON touch_misuse;
CREATE TRIGGER t BEFORE UPDATE ON touch_misuse FOR EACH ROW
	EXECUTE FUNCTION lead_gen.touch_updated_at('note');
UPDATE touch_misuse SET note = 'y';
DROP TRIGGER t ON touch_misuse;
CREATE TRIGGER t AFTER UPDATE ON touch_misuse FOR EACH ROW
	EXECUTE FUNCTION lead_gen.touch_updated_at('updated_at');
UPDATE touch_misuse SET note = 'y';
DROP TRIGGER t ON touch_misuse;
CREATE TRIGGER t BEFORE UPDATE ON touch_misuse FOR EACH ROW
	EXECUTE FUNCTION lead_gen.touch_updated_at();
UPDATE touch_misuse SET note = 'y';
DROP TABLE touch_misuse;
SELECT lead_gen.touch_updated_at();

-- Campaigns, activity and history hang together; deleting a lead removes
-- its activity and history, deleting a campaign keeps its leads.
INSERT INTO lead_gen.campaign (name, channel, spend, starts_on, ends_on)
VALUES ('Webinar: scoring', 'event', 1200, '2026-01-01', '2026-01-01')
RETURNING campaign_id, name, channel, spend;
INSERT INTO lead_gen.lead (email, source_channel, campaign_id)
VALUES ('grace@navy.example', 'event', 1) RETURNING lead_id, source_channel, campaign_id;
INSERT INTO lead_gen.activity (lead_id, kind, occurred_at, campaign_id, properties)
VALUES (2, 'webinar', '2026-01-01 16:00+00', 1, '{"title": "Scoring 101"}'),
	   (2, 'demo_request', '2026-01-02 09:00+00', NULL, '{}');
-- the demo request made the lead an SQL, with history
SELECT from_stage, to_stage, cause, kind, reason FROM lead_gen.stage_change WHERE lead_id = 2;
DELETE FROM lead_gen.campaign WHERE campaign_id = 1;
SELECT lead_id, campaign_id FROM lead_gen.lead WHERE lead_id = 2;
SELECT kind, campaign_id FROM lead_gen.activity ORDER BY activity_id;
DELETE FROM lead_gen.lead WHERE lead_id = 2;
SELECT count(*) AS activities_left FROM lead_gen.activity;
SELECT count(*) AS history_left FROM lead_gen.stage_change;

-- Every SQL and PL/pgSQL function pins its search_path, except the ones the
-- planner must inline and the procedures that commit as they go (neither may
-- have a SET clause; every name in them is schema-qualified instead).
SELECT p.oid::regprocedure AS unpinned_function
FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
WHERE p.pronamespace = 'lead_gen'::regnamespace
  AND l.lanname IN ('sql', 'plpgsql')
  AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
ORDER BY 1;
-- SECURITY DEFINER only where a role must have done what it may not do
-- itself (enrolments and the outbox, which only lead_gen writes): each pins its
-- search_path and none is executable by PUBLIC.
SELECT p.oid::regprocedure AS security_definer,
	   coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false) AS pinned,
	   has_function_privilege('public', p.oid, 'EXECUTE') AS public_executes
FROM pg_proc AS p WHERE p.pronamespace = 'lead_gen'::regnamespace AND p.prosecdef
ORDER BY p.oid::regprocedure::text;
