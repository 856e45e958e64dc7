-- ICP matching over every lead: icp_match in C against the CASE expression a
-- user would write for the same profile, and against a bare scan.
\set profile '$$industry in (saas, fintech) 30; employees 50..5000 20; country in (US, CA, GB, DE, NL) 15; job_title ~* ''(vp|head|chief|director|founder|ceo)'' 15; decision_maker is true 10; attributes.tech_stack in (salesforce, hubspot) 5; attributes.pain_points in (scoring, attribution, reporting) 5; employees < 10 -10; must not email_domain in (competitor.example)$$::lead_gen.icp'

CREATE TEMP VIEW icp_case AS
SELECT l.lead_id,
	   CASE WHEN lower(split_part(l.email, '@', 2)) = 'competitor.example' THEN 0
	   ELSE greatest(0, least(100, 100.0 * (
			  CASE WHEN lower(l.industry) IN ('saas', 'fintech') THEN 30 ELSE 0 END
			+ CASE WHEN l.employees BETWEEN 50 AND 5000 THEN 20 ELSE 0 END
			+ CASE WHEN lower(l.country) IN ('us', 'ca', 'gb', 'de', 'nl') THEN 15 ELSE 0 END
			+ CASE WHEN l.job_title ~* '(vp|head|chief|director|founder|ceo)' THEN 15 ELSE 0 END
			+ CASE WHEN l.decision_maker THEN 10 ELSE 0 END
			+ CASE WHEN lower(l.attributes->>'tech_stack') IN ('salesforce', 'hubspot') THEN 5 ELSE 0 END
			+ CASE WHEN l.attributes->'pain_points' ?| ARRAY['scoring', 'attribution', 'reporting'] THEN 5 ELSE 0 END
			+ CASE WHEN l.employees < 10 THEN -10 ELSE 0 END) / 100))
	   END AS fit
FROM lead_gen.lead AS l;

-- Both compute the same fits (or the comparison would mean nothing).
SELECT count(*) AS leads,
	   count(*) FILTER (WHERE abs(c.fit - lead_gen.icp_match(:profile, l)) > 1e-9) AS fits_that_differ
FROM lead_gen.lead l JOIN icp_case c USING (lead_id) \gset
\echo icp_match check: :leads leads, :fits_that_differ fits differ from the CASE expression
SELECT :fits_that_differ = 0 AS ok \gset
\if :ok
\else
	\echo 'icp_match and the CASE expression disagree'
	\quit
\endif

SELECT bench.compare('icp_match vs CASE (all leads)',
	format('SELECT sum(lead_gen.icp_match(%L::lead_gen.icp, l)) FROM lead_gen.lead l', :profile::text),
	'SQL CASE', 'SELECT sum(fit) FROM icp_case') AS line \gset
\echo :line
SELECT bench.compare('icp_match vs bare scan (all leads)',
	format('SELECT sum(lead_gen.icp_match(%L::lead_gen.icp, l)) FROM lead_gen.lead l', :profile::text),
	'bare scan', 'SELECT count(*) FROM lead_gen.lead l WHERE l.attributes IS NOT NULL') AS line \gset
\echo :line
