-- Bad data is refused with a clear error and a specific SQLSTATE.
\set VERBOSITY terse

INSERT INTO lead_gen.lead (email) VALUES ('first@corp.example');

-- activity of a missing lead
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (999999, 'page_view');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- negative spend, empty name, end before start
INSERT INTO lead_gen.campaign (name, channel, spend) VALUES ('Ads', 'paid', -1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.campaign (name, channel) VALUES ('', 'paid');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.campaign (name, channel, starts_on, ends_on)
VALUES ('Backwards', 'paid', '2026-02-01', '2026-01-31');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.campaign (name, channel) VALUES ('Bad channel', 'Paid Ads');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- invalid e-mail addresses, and a duplicate that differs only in case
INSERT INTO lead_gen.lead (email) VALUES ('not-an-email');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email) VALUES ('two@@corp.example');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email) VALUES ('white space@corp.example');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email) VALUES ('nodot@localhost');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email) VALUES (repeat('a', 250) || '@b.example');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email) VALUES ('FIRST@Corp.Example');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- unknown stage and temperature names
INSERT INTO lead_gen.lead (email, stage) VALUES ('s@corp.example', 'won');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
UPDATE lead_gen.lead SET temperature = 'lukewarm';
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- over-long texts
INSERT INTO lead_gen.lead (email, first_name) VALUES ('long@corp.example', repeat('x', 101));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, job_title) VALUES ('long@corp.example', repeat('x', 201));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (company_name) VALUES (repeat('x', 201));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (1, repeat('k', 64));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, attributes)
VALUES ('big@corp.example', jsonb_build_object('blob', repeat('x', 70000)));
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- other constraints on a lead
INSERT INTO lead_gen.lead (first_name) VALUES ('Nobody');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, phone) VALUES ('p@corp.example', 'call me');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, phone) VALUES ('p@corp.example', '(   ) 555');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, phone) VALUES ('p@corp.example', '(1)');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- a number may start with a parenthesis
SELECT p, p::lead_gen.phone_number IS NOT NULL AS taken
FROM unnest(ARRAY['(415) 555-0100', '+(44) 20 7946 0000', '0044 20 7946 0000', '1234']) AS p;
INSERT INTO lead_gen.lead (email, country) VALUES ('c@corp.example', 'usa');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, employees) VALUES ('e@corp.example', -5);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, seniority) VALUES ('e@corp.example', 'boss');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, consent) VALUES ('e@corp.example', 'maybe');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, attributes) VALUES ('a@corp.example', '[1, 2]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.lead (email, attributes) VALUES ('a@corp.example', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- activity: bad kind, non-object properties
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (1, 'Page View');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.activity (lead_id, kind, properties) VALUES (1, 'page_view', '"x"');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- history: a change must change something, causes are a known set
INSERT INTO lead_gen.stage_change (lead_id, from_stage, to_stage, cause)
VALUES (1, 'mql', 'mql', 'manual');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.stage_change (lead_id, from_stage, to_stage, cause)
VALUES (1, 'mql', 'sql', 'because');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- nothing of the above got in
SELECT count(*) AS leads FROM lead_gen.lead;
SELECT count(*) AS campaigns FROM lead_gen.campaign;
SELECT count(*) AS activities FROM lead_gen.activity;
