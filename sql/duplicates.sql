-- Finding duplicates: the keys, duplicate_candidates(), dismissals, the report.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
-- one transaction, rolled back at the end
BEGIN;

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 1. The keys.
SELECT e, normalized_mailbox(e) AS mailbox, company_mail_domain(e) AS company_domain
FROM unnest(ARRAY['Jo.Smith+news@Corp.Example', 'jo.smith@corp.example', 'J.O.Smith+x@GoogleMail.com',
				  'josmith@gmail.com', ' Ann@Mail.Example ', '+tag@corp.example', 'no-at-sign', 'a@b@corp.example',
				  'jo@hotmail.com', NULL]) AS e;
SELECT p, normalized_phone(p) AS phone
FROM unnest(ARRAY['+44 20 7946 0000', '020 7946 0000', '0044 (20) 7946-0000', '+1 415-555-0100',
				  '1 (415) 555 0100', '1.415.555.0100', '555-0100', NULL]) AS p;
SELECT c, normalized_company(c) AS company
FROM unnest(ARRAY['ACME, Inc.', 'The Acme Corporation', 'acme', 'Müller GmbH & Co. KG', 'Inc.', 'Co-op Coffee Ltd', NULL]) AS c;
SELECT normalized_name('Jo', 'Smith') AS both, normalized_name(NULL, 'SMITH') AS last_only,
	   normalized_name(' ', NULL) AS neither;
SELECT s, similarity_evidence(s) AS evidence FROM unnest(ARRAY[0, 0.3, 0.5, 0.6, 1, NULL]::float8[]) AS s;
SELECT a, b, words_agree(a, b) FROM (VALUES ('henry smith', 'heather smith'), ('joanna smith', 'joanna smtih'),
	('marta nowak', 'nowak marta'), ('jo', 'jo smith'), ('mark marulman', 'mark stenulman'), ('ann lee', 'anne lee')) AS v(a, b);
SELECT trigram_similarity('jo smith', 'smith jo') AS swapped, trigram_similarity('jo smith', 'JO SMITH') AS cased,
	   round(trigram_similarity('joanna smith', 'joanna smtih')::numeric, 4) AS typo;

-- 2. Leads: pairs of every kind, and look-alikes that are two people.
INSERT INTO lead (lead_id, email, first_name, last_name, phone, company_name) OVERRIDING SYSTEM VALUE VALUES
	-- plus-addressing, and the same gmail mailbox with dots and case
	(7001, 'jo.smith@dup.example', 'Jo', 'Smith', NULL, 'Dup Inc'),
	(7002, 'Jo.Smith+webinar@dup.example', NULL, NULL, NULL, NULL),
	(7003, 'ann.lee@gmail.com', 'Ann', 'Lee', NULL, NULL),
	(7004, 'AnnLee@GoogleMail.com', 'Ann', 'Lee', NULL, NULL),
	-- the same phone in another format, nothing else in common
	(7005, 'p.one@one.example', 'Pat', 'One', '+1 415-555-0100', 'One Ltd'),
	(7006, NULL, NULL, NULL, '1 (415) 555 0100', NULL),
	-- a switchboard: four leads share it, no evidence
	(7007, 'a@switch.example', 'Amy', 'Adams', '+49 30 1234567', 'Switch AG'),
	(7008, 'b@switch.example', 'Bob', 'Brown', '+49 30 1234567', 'Switch AG'),
	(7009, 'c@switch.example', 'Cyd', 'Clark', '030 1234567', 'Switch AG'),
	(7010, 'd@switch.example', 'Dee', 'Davis', '030/1234567', 'Switch AG'),
	-- swapped first and last name at the same company, written differently
	(7011, 'marta.nowak@north.example', 'Marta', 'Nowak', NULL, 'North Corp'),
	(7012, NULL, 'Nowak', 'Marta', NULL, 'NORTH Corporation'),
	-- a typo in the name at the same company domain
	(7013, 'joanna.smith@south.example', 'Joanna', 'Smith', NULL, NULL),
	(7014, 'jsmith@south.example', 'Joanna', 'Smtih', NULL, NULL),
	-- a typo in the mailbox at the same domain, no names
	(7015, 'christopher.jones@east.example', NULL, NULL, NULL, NULL),
	(7016, 'christopher.jnoes@east.example', NULL, NULL, NULL, NULL),
	-- two people: one name at two companies, colleagues with one last name,
	-- two gmail users with one name
	(7017, 'sam.taylor@west.example', 'Sam', 'Taylor', NULL, 'West'),
	(7018, 'sam.taylor@other.example', 'Sam', 'Taylor', NULL, 'Other'),
	(7019, 'anna.schmidt@west.example', 'Anna', 'Schmidt', NULL, 'West'),
	(7020, 'peter.schmidt@west.example', 'Peter', 'Schmidt', NULL, 'West'),
	(7021, 'kim.park1@gmail.com', 'Kim', 'Park', NULL, NULL),
	(7022, 'kim.park2@gmail.com', 'Kim', 'Park', NULL, NULL),
	-- a forgotten lead is nobody's duplicate
	(7023, 'forgotten@dup.example', 'Jo', 'Smith', NULL, 'Dup Inc');
SELECT forget(7023);

SELECT lead_a, lead_b, round(score::numeric, 4) AS score, reasons
FROM duplicate_candidates(0.5) WHERE lead_a BETWEEN 7001 AND 7099;
-- the default threshold, 0.8
SELECT lead_a, lead_b, round(score::numeric, 4) AS score FROM duplicate_candidates() WHERE lead_a BETWEEN 7001 AND 7099;
-- evidence of several kinds adds up
UPDATE lead SET phone = '+44 20 7946 0000' WHERE lead_id = 7013;
UPDATE lead SET phone = '020 7946 0000' WHERE lead_id = 7014;
SELECT lead_a, lead_b, round(score::numeric, 4) AS score, reasons FROM duplicate_candidates() WHERE lead_a = 7013;
SELECT round((1 - (1 - 0.9) * (1 - similarity_evidence(trigram_similarity('joanna smith', 'joanna smtih'))))::numeric, 4) AS expected;

-- 3. Dismissed pairs are left out; merged pairs are gone.
SELECT dismiss_duplicate(7016, 7015);
SELECT dismiss_duplicate(7015, 7016);
SELECT lead_a, lead_b, dismissed_by = current_user AS by_me FROM duplicate_dismissal;
SELECT merge_leads(7001, 7002, 'plus-addressed');
SELECT lead_a, lead_b FROM duplicate_candidates() WHERE lead_a BETWEEN 7001 AND 7099;
-- (the report covers every lead: the other tests' leave here, for its sake)
DELETE FROM lead WHERE lead_id NOT BETWEEN 7001 AND 7099;
SELECT reason, pairs, leads FROM duplicate_report();
SELECT pg_temp.try('SELECT dismiss_duplicate(7003, 7003)');
SELECT pg_temp.try('SELECT dismiss_duplicate(7003, NULL)');
SELECT pg_temp.try('SELECT dismiss_duplicate(7003, 7002)');
SELECT pg_temp.try('SELECT * FROM duplicate_candidates(1.5)');
SELECT pg_temp.try('SELECT * FROM duplicate_candidates(NULL)');
SELECT pg_temp.try('SELECT * FROM duplicate_candidates(''NaN'')');
SELECT pg_temp.try('INSERT INTO duplicate_dismissal (lead_a, lead_b) VALUES (7004, 7003)');
SELECT count(*) AS all_pairs_at_zero FROM duplicate_candidates(0) WHERE lead_a BETWEEN 7001 AND 7099;

ROLLBACK;
