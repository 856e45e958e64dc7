-- Profiles: the active ICP sets every lead's stored fit and grade.
\set VERBOSITY terse
TRUNCATE lead_gen.lead CASCADE;
INSERT INTO lead_gen.lead (email, job_title, industry, employees, country, attributes) VALUES
	('a@saas.example', 'VP Sales', 'saas', 200, 'US', '{"tech_stack": "hubspot"}'),
	('b@shop.example', 'Clerk', 'retail', 20, 'FR', '{}'),
	('c@bank.example', 'Head of Data', 'fintech', 5000, 'GB', '{"tech_stack": "salesforce"}');

-- No active profile: fit and grade are NULL.
SELECT email, fit, grade, lead_gen.lead_fit(l) AS lead_fit FROM lead_gen.lead l ORDER BY email;
SELECT lead_gen.fit_grade(50) AS grade_without_profile;

-- Activating a profile grades every lead at once.
INSERT INTO lead_gen.profile (name, icp, active, description) VALUES
	('b2b', 'industry in (saas, fintech) 40; employees 50..1000 20; country in (US, GB) 20;
			 job_title ~* ''^(vp|head)'' 10; attributes.tech_stack in (hubspot) 10', true,
	 'Mid-size SaaS and fintech in the US and UK');
SELECT email, fit, grade FROM lead_gen.lead ORDER BY email;
SELECT * FROM lead_gen.explain_fit((SELECT lead_id FROM lead_gen.lead WHERE email = 'c@bank.example'));

-- New and changed leads are graded by trigger; fit cannot be set by hand.
INSERT INTO lead_gen.lead (email, industry, employees) VALUES ('d@saas.example', 'SaaS', 60)
RETURNING email, fit, grade;
UPDATE lead_gen.lead SET country = 'US' WHERE email = 'd@saas.example' RETURNING fit, grade;
UPDATE lead_gen.lead SET attributes = attributes || '{"tech_stack": "HubSpot"}'
WHERE email = 'c@bank.example' RETURNING fit, grade;
UPDATE lead_gen.lead SET fit = 99, grade = 'A' WHERE email = 'b@shop.example' RETURNING fit, grade;

-- Cut-offs are per profile; changing them regrades everyone.
UPDATE lead_gen.profile SET grade_a_min = 95, grade_b_min = 85 WHERE name = 'b2b';
SELECT email, fit, grade FROM lead_gen.lead ORDER BY email;
SELECT lead_gen.fit_grade(95) AS a, lead_gen.fit_grade(94.9) AS b, lead_gen.fit_grade(40) AS c,
	   lead_gen.fit_grade(20) AS d, lead_gen.fit_grade(19.99) AS f, lead_gen.fit_grade(NULL) AS null_fit;

-- Changing the ICP refits everyone (in this transaction, leaving updated_at
-- alone: fit is derived); refresh_fit() then finds nothing left to do.
CREATE TEMP TABLE before AS SELECT lead_id, updated_at FROM lead_gen.lead;
BEGIN;
UPDATE lead_gen.profile SET icp = 'country in (FR) 1; must not industry in (fintech)' WHERE name = 'b2b';
SELECT email, fit, grade FROM lead_gen.lead ORDER BY email;
COMMIT;
SELECT count(*) AS updated_at_moved
FROM lead_gen.lead l JOIN before b USING (lead_id) WHERE l.updated_at <> b.updated_at;
SELECT lead_gen.refresh_fit() AS changed;

-- Only one profile is active at a time.
INSERT INTO lead_gen.profile (name, icp, active) VALUES ('other', 'industry in (retail) 1', true);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- Switching the active profile in one transaction.
BEGIN;
UPDATE lead_gen.profile SET active = false WHERE name = 'b2b';
INSERT INTO lead_gen.profile (name, icp, active) VALUES ('other', 'industry in (retail) 1', true);
COMMIT;
SELECT email, fit, grade FROM lead_gen.lead ORDER BY email;

-- A rolled-back change leaves the old profile in force.
BEGIN;
UPDATE lead_gen.profile SET icp = 'industry in (saas) 1' WHERE name = 'other';
SELECT email, grade FROM lead_gen.lead WHERE email = 'b@shop.example';
ROLLBACK;
INSERT INTO lead_gen.lead (email, industry) VALUES ('e@shop.example', 'retail') RETURNING fit, grade;

-- No active profile again: fits go back to NULL.
DELETE FROM lead_gen.profile WHERE name = 'other';
SELECT count(*) FILTER (WHERE fit IS NULL AND grade IS NULL) AS ungraded, count(*) FROM lead_gen.lead;
SELECT count(*) AS explained FROM lead_gen.explain_fit(1);

-- Bad profiles are refused.
INSERT INTO lead_gen.profile (name, icp) VALUES ('broken', 'industry in (saas');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.profile (name, icp, grade_a_min, grade_b_min) VALUES ('flat', 'x is true 1', 50, 60);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.profile (name, icp, grade_a_min) VALUES ('over', 'x is true 1', 101);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.profile (name, icp, grade_d_min) VALUES ('under', 'x is true 1', -1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.profile (name, icp) VALUES ('', 'x is true 1');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO lead_gen.profile (name, icp) VALUES ('no icp', NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- Profile changes need READ COMMITTED (they refit leads written meanwhile).
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO lead_gen.profile (name, icp) VALUES ('rr', 'x is true 1');
ROLLBACK;

-- The trigger functions refuse to run elsewhere.
SELECT lead_gen.lead_fit_trigger();
CREATE TABLE not_a_lead (id int);
CREATE TRIGGER t BEFORE INSERT ON not_a_lead FOR EACH ROW EXECUTE FUNCTION lead_gen.lead_fit_trigger();
INSERT INTO not_a_lead VALUES (1);
DROP TABLE not_a_lead;
