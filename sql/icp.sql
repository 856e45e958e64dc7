-- The icp type: language, canonical output, matching, explanation, errors.
\set VERBOSITY default
\set SHOW_CONTEXT never
-- = and <> on icp live in schema lead_gen, like the type
SET search_path = lead_gen, public;

-- Every kind of test, printed in canonical form.
SELECT $$industry in (saas, fintech) 30; employees 50..500 25;
		 country in (US, CA, GB) 15; job_title ~* '(vp|head|chief)' 20;
		 annual_revenue >= 1000000 10; must not email_domain in (competitor.com)$$::lead_gen.icp;
SELECT $$seniority NOT IN (intern, 'entry') 5; title !~* 'student' 5;
		 title STARTS WITH head 3; title ends with 'officer' 3; title contains data 3;
		 decision_maker is true 10; decision_maker IS FALSE -10; phone is present 2;
		 attributes.churned is absent 2; score > 1.5 1; score < 0.25 1; score <= -3 1;
		 country = US 1; country != 'GB' 1; country <> 'FR' 1$$::lead_gen.icp;
SELECT $$-- comments run to the end of a line
		 (industry = saas or industry = fintech) and (employees >= 50) 40;  -- like this
		 not (country in (US) or country in (CA)) 5;
		 a is true and (b is true or c is true) and not d is true 1;
		 must (not x is true); must not not y is present;
		 "in" in (1, 2.50, 'it''s', 1e3) 2; attributes."pain points".top is present 1$$::lead_gen.icp;
-- A must criterion that starts with "not" keeps its parentheses (found by
-- the fuzzer: without them it would read back as "must not").
SELECT 'must (not a is true) and b is true'::lead_gen.icp AS must_not_first,
	   'must (not a is true) and b is true'::lead_gen.icp::text::lead_gen.icp::text AS again;
-- Parentheses that add nothing are dropped; nested and/or are flattened.
SELECT '((a is true) and ((b is true and c is true))) 1'::lead_gen.icp;
SELECT '(a is true or (b is true or c is true)) and d is true 1'::lead_gen.icp;

-- out(in(x)) is stable and re-parses to an equal value.
CREATE TEMP TABLE icp_samples (id serial, p lead_gen.icp);
INSERT INTO icp_samples (p) VALUES
	('industry in (saas, fintech) 30; employees 50..500 25; must not email_domain in (competitor.com)'),
	($$job_title ~* '^(vp|head)' 20; job_title contains 'o''neil' 1; x.y.z = -0.5 1$$),
	('must country in (US); must not (a is true and not b is false); c 1e-3..2.5e3 7'),
	('attributes."weird key" in (x) 1; "must" is present 2; Industry = SaaS 3');
SELECT id, p::text = p::text::lead_gen.icp::text AS stable,
	   p = p::text::lead_gen.icp AS equal
FROM icp_samples ORDER BY id;
SELECT 'a in (x) 1'::lead_gen.icp = 'A in (x) 1'::lead_gen.icp AS field_case_matters,
	   'a in (x) 1'::lead_gen.icp = 'a IN (x)  1'::lead_gen.icp AS keyword_case_does_not,
	   'a in (x) 1'::lead_gen.icp <> 'a in (X) 1'::lead_gen.icp AS value_case_is_kept;
SELECT count(*) AS groups FROM (SELECT p FROM
	(SELECT p FROM icp_samples UNION ALL SELECT p::text::lead_gen.icp FROM icp_samples) s GROUP BY p) g;

-- Binary COPY round trip.
COPY icp_samples TO '/tmp/lead_gen_icp_samples.bin' WITH (FORMAT binary);
CREATE TEMP TABLE icp_copy (LIKE icp_samples);
COPY icp_copy FROM '/tmp/lead_gen_icp_samples.bin' WITH (FORMAT binary);
SELECT s.id, s.p = c.p AS same FROM icp_samples s JOIN icp_copy c USING (id) ORDER BY 1;
SELECT lead_gen.icp_send(p) = lead_gen.icp_send(p::text::lead_gen.icp) AS send_stable,
	   get_byte(lead_gen.icp_send(p), 0) AS format_version
FROM icp_samples WHERE id = 1;

-- Matching.  fit = 100 * matched weight / total positive weight.
CREATE TEMP TABLE facts (name text, f jsonb);
INSERT INTO facts VALUES
	('perfect', '{"industry": "SaaS", "employees": 120, "country": "us", "job_title": "VP Sales",
				  "annual_revenue": 5000000, "email_domain": "buyer.example"}'),
	('partial', '{"industry": "retail", "employees": "200", "country": "DE", "job_title": "Head of Data"}'),
	('competitor', '{"industry": "saas", "employees": 120, "country": "US", "job_title": "Chief of Staff",
					 "annual_revenue": 5000000, "email_domain": "Competitor.COM"}'),
	('empty', '{}'),
	('nulls', '{"industry": null, "employees": null, "email_domain": null}'),
	('not an object', '[1, 2, 3]');
SELECT name, round(lead_gen.icp_match(
	'industry in (saas, fintech) 30; employees 50..500 25; country in (US, CA, GB) 15;
	 job_title ~* ''(vp|head|chief)'' 20; annual_revenue >= 1000000 10;
	 must not email_domain in (competitor.com)', f)::numeric, 2) AS fit
FROM facts ORDER BY name;

-- One test per kind, on facts where it is true, false and unknown (missing).
CREATE TEMP TABLE kinds (test text);
INSERT INTO kinds VALUES
	('v in (a, B, 3)'), ('v not in (a, b)'), ('v = a'), ('v = 3'), ('v != a'),
	('v < 3'), ('v <= 3'), ('v > 3'), ('v >= 3'), ('v 2..4'),
	('v ~* ''^a'''), ('v !~* ''^a'''), ('v starts with ab'), ('v ends with BC'), ('v contains b'),
	('v is true'), ('v is false'), ('v is present'), ('v is absent'),
	('not v = a'), ('v = a or v = z'), ('v = a and v = z');
CREATE TEMP TABLE vals (label text, f jsonb);
INSERT INTO vals VALUES
	('"abc"', '{"v": "abc"}'), ('"A"', '{"v": "A"}'), ('3', '{"v": 3}'), ('"3"', '{"v": "3"}'),
	('3.5', '{"v": 3.5}'), ('true', '{"v": true}'), ('"FALSE"', '{"v": "FALSE"}'),
	('["x","a"]', '{"v": ["x", "a"]}'), ('[]', '{"v": []}'), ('{}', '{"v": {}}'),
	('null', '{"v": null}'), ('missing', '{}');
SELECT k.test,
	   string_agg(v.label || '=' || lead_gen.icp_match((k.test || ' 1')::lead_gen.icp, v.f)::int,
				  ' ' ORDER BY v.label) AS fits
FROM kinds k CROSS JOIN vals v GROUP BY k.test ORDER BY k.test;

-- Unknown stays unknown through "not": missing never matches either way.
SELECT lead_gen.icp_match('v = a 1', '{}'::jsonb) AS eq_missing,
	   lead_gen.icp_match('not v = a 1', '{}'::jsonb) AS not_eq_missing,
	   lead_gen.icp_match('v = a or w is present 1', '{"w": 0}'::jsonb) AS or_true_wins,
	   lead_gen.icp_match('v = a and w is present 1', '{"w": 0}'::jsonb) AS and_unknown;

-- Knock-outs: must fails on false and on missing; must not fires only on true.
SELECT lead_gen.icp_match('must country in (US); industry = saas 1', '{"industry": "saas", "country": "US"}'::jsonb) AS must_true,
	   lead_gen.icp_match('must country in (US); industry = saas 1', '{"industry": "saas", "country": "FR"}'::jsonb) AS must_false,
	   lead_gen.icp_match('must country in (US); industry = saas 1', '{"industry": "saas"}'::jsonb) AS must_missing,
	   lead_gen.icp_match('must not country in (US); industry = saas 1', '{"industry": "saas"}'::jsonb) AS must_not_missing,
	   lead_gen.icp_match('must country in (US)', '{"country": "us"}'::jsonb) AS knockouts_only_pass,
	   lead_gen.icp_match('must country in (US)', '{"country": "fr"}'::jsonb) AS knockouts_only_fail;

-- Negative weights lower fit, never below 0; fit never above 100.
SELECT lead_gen.icp_match('a is true 10; b is true -5', '{"a": true, "b": true}'::jsonb) AS half,
	   lead_gen.icp_match('a is true 10; b is true -50', '{"a": true, "b": true}'::jsonb) AS floor,
	   lead_gen.icp_match('a is true 10; b is true -5', '{"a": true}'::jsonb) AS full;

-- Paths into nested objects; non-ASCII text folds like lower().
SELECT lead_gen.icp_match('attributes.plan.tier in (gold) 1', '{"attributes": {"plan": {"tier": "GOLD"}}}'::jsonb) AS nested,
	   lead_gen.icp_match('attributes.plan.tier in (gold) 1', '{"attributes": {"plan": "gold"}}'::jsonb) AS through_scalar,
	   lead_gen.icp_match('city in (''SÃO PAULO'') 1', '{"city": "São Paulo"}'::jsonb) AS non_ascii,
	   lead_gen.icp_match('city contains ''ÃO'' 1', '{"city": "São Paulo"}'::jsonb) AS non_ascii_contains,
	   lead_gen.icp_match('city ~* ''^são'' 1', '{"city": "SÃO PAULO"}'::jsonb) AS non_ascii_regex;

-- NULL in, NULL out.
SELECT lead_gen.icp_match(NULL, '{}'::jsonb) IS NULL AS null_icp,
	   lead_gen.icp_match('a is true 1', NULL::jsonb) IS NULL AS null_facts;

-- Explanation: points add up to the fit.
SELECT * FROM lead_gen.icp_explain(
	'industry in (saas) 30; employees 50..500 25; pain_points in (reporting) 10; title contains vp -5;
	 must country in (US); must not email_domain in (competitor.com)',
	'{"industry": "SaaS", "employees": 1000, "pain_points": ["x", "Reporting"], "title": "VP",
	  "country": "US", "email_domain": "buyer.example"}'::jsonb);
SELECT round((100 * sum(points) / sum(max_points))::numeric, 6) AS from_explain,
	   round(lead_gen.icp_match(p, f)::numeric, 6) AS from_match
FROM (SELECT 'industry in (saas) 30; employees 50..500 25; title contains vp -5'::lead_gen.icp AS p,
			 '{"industry": "saas", "employees": 100, "title": "vp"}'::jsonb AS f) x,
	 lead_gen.icp_explain(x.p, x.f)
GROUP BY p, f;

-- The lead form reads the columns (and email_domain, attributes) directly,
-- exactly as matching lead_facts() would.
INSERT INTO lead_gen.lead (email, job_title, seniority, decision_maker, industry, employees,
						   annual_revenue, country, city, source_channel, consent, attributes)
VALUES ('Pat@Buyer.Example', 'VP Revenue', 'vp', true, 'saas', 300, 2.5e7, 'US', 'Austin',
		'referral', 'subscribed', '{"tech_stack": "hubspot", "pain_points": ["reporting"]}'),
	   ('sam@competitor.com', 'Intern', 'intern', false, 'retail', 3, NULL, 'FR', NULL,
		'paid', 'unknown', '{}');
SELECT l.email, lead_gen.lead_facts(l) FROM lead_gen.lead l
WHERE l.email IN ('Pat@Buyer.Example', 'sam@competitor.com') ORDER BY l.lead_id;
WITH p AS (SELECT $$industry in (saas) 20; employees 50..500 10; annual_revenue >= 1e7 10;
					 job_title ~* 'vp' 10; seniority in (vp, c_level) 5; decision_maker is true 5;
					 country = us 5; city starts with aus 1; source_channel = referral 1;
					 consent != unsubscribed 1; attributes.tech_stack in (hubspot) 3;
					 attributes.pain_points in (reporting) 3; email_domain ends with '.example' 1;
					 budget is absent 1; first_name is present -1;
					 must not email_domain in (competitor.com)$$::lead_gen.icp AS icp)
SELECT l.email, round(lead_gen.icp_match(p.icp, l)::numeric, 3) AS fit,
	   lead_gen.icp_match(p.icp, l) = lead_gen.icp_match(p.icp, lead_gen.lead_facts(l)) AS same_as_facts
FROM lead_gen.lead l, p
WHERE l.email IN ('Pat@Buyer.Example', 'sam@competitor.com') ORDER BY l.lead_id;
-- icp_match(icp, lead) is inlined: the scan passes the columns, no whole row.
EXPLAIN (VERBOSE, COSTS OFF) SELECT lead_gen.icp_match('x is true 1', l) FROM lead_gen.lead l;
SELECT lead_gen.icp_match('x is true 1', NULL::lead_gen.lead) IS NULL AS null_lead,
	   lead_gen.icp_match(NULL, l) IS NULL AS null_icp
FROM lead_gen.lead l WHERE l.email = 'Pat@Buyer.Example';
SELECT criterion, matched, points FROM lead_gen.icp_explain(
	'email_domain in (buyer.example) 1; no_such_column is present 1; lead_id is present 1; stage is present 1',
	(SELECT l FROM lead_gen.lead l WHERE email = 'Pat@Buyer.Example'));

-- Errors: syntax (42601) with the character position and a hint, values
-- (22P02), limits (54000), regular expressions (2201B).
\set VERBOSITY verbose
SELECT ''::lead_gen.icp;
SELECT '  -- only a comment'::lead_gen.icp;
SELECT 'industry in (saas)'::lead_gen.icp;
SELECT 'industry in (saas) 30;; x is true 1'::lead_gen.icp;
SELECT 'industry in saas 30'::lead_gen.icp;
SELECT 'industry in (saas, ) 30'::lead_gen.icp;
SELECT 'industry in (saas fintech) 30'::lead_gen.icp;
SELECT 'industry 30'::lead_gen.icp;
SELECT 'industry like ''x'' 30'::lead_gen.icp;
SELECT 'employees 500..50 1'::lead_gen.icp;
SELECT 'employees 50.. 1'::lead_gen.icp;
SELECT 'employees > many 1'::lead_gen.icp;
SELECT 'title ~* unquoted 1'::lead_gen.icp;
SELECT 'title ~ ''x'' 1'::lead_gen.icp;
SELECT 'title starts ''x'' 1'::lead_gen.icp;
SELECT 'x is maybe 1'::lead_gen.icp;
SELECT 'must x is true 5'::lead_gen.icp;
SELECT 'x is true -5'::lead_gen.icp;
SELECT 'x is true 1e400'::lead_gen.icp;
SELECT 'x is true 2000000'::lead_gen.icp;
SELECT 'in in (a) 1'::lead_gen.icp;
SELECT 'x is true 1 y is true 1'::lead_gen.icp;
SELECT '(x is true 1'::lead_gen.icp;
SELECT 'x = ''unterminated 1'::lead_gen.icp;
SELECT '"unterminated = 1'::lead_gen.icp;
SELECT 'x.  is true 1'::lead_gen.icp;
SELECT 'naïve § 1'::lead_gen.icp;
SELECT 'x ~* ''(unclosed'' 1'::lead_gen.icp;
SELECT 'x ~* ''a{3,2}'' 1'::lead_gen.icp;
SELECT 'x !~* ''[z-a]'' 1'::lead_gen.icp;
-- limits
SELECT (SELECT string_agg('c' || i || ' is true 1', '; ') FROM generate_series(1, 257) i)::lead_gen.icp;
SELECT ('x in (' || (SELECT string_agg(i::text, ',') FROM generate_series(1, 1001) i) || ') 1')::lead_gen.icp;
SELECT ('x = ''' || repeat('a', 1001) || ''' 1')::lead_gen.icp;
SELECT ('x ~* ''' || repeat('a', 1001) || ''' 1')::lead_gen.icp;
SELECT (repeat('(', 40) || 'x is true' || repeat(')', 40) || ' 1')::lead_gen.icp;
SELECT (repeat('not ', 40) || 'x is true 1')::lead_gen.icp;
SELECT ('a.b.c.d.e.f.g.h.i is true 1')::lead_gen.icp;
SELECT ('"' || repeat('k', 256) || '" is true 1')::lead_gen.icp;
SELECT ((SELECT string_agg('c' || i || ' is true', ' or ') FROM generate_series(1, 4100) i) || ' 1')::lead_gen.icp;
SELECT (repeat('x', 100001))::lead_gen.icp;
-- and what is just inside them works
SELECT length((SELECT string_agg('c' || i || ' is true 1', '; ') FROM generate_series(1, 256) i)::lead_gen.icp::text) > 0 AS max_criteria_ok,
	   length(('x in (' || (SELECT string_agg(i::text, ',') FROM generate_series(1, 1000) i) || ') 1')::lead_gen.icp::text) > 0 AS max_set_ok,
	   length((repeat('(', 31) || 'x is true' || repeat(')', 31) || ' 1')::lead_gen.icp::text) > 0 AS max_depth_ok;
\set VERBOSITY default

-- Binary input is checked like text input: a hand-made binary COPY file
-- with a good value, a wrong format version, text that does not parse, a
-- bad regular expression, and no data at all.
CREATE TEMP TABLE bin_in (p lead_gen.icp);
COPY bin_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\014\001x is true 1\377\377''' WITH (FORMAT binary);
SELECT p FROM bin_in;
COPY bin_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\014\002x is true 1\377\377''' WITH (FORMAT binary);
COPY bin_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\014\001x is tru 11\377\377''' WITH (FORMAT binary);
COPY bin_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\013\001x ~* ''"''"''(''"''"'' 1\377\377''' WITH (FORMAT binary);
COPY bin_in FROM PROGRAM 'printf ''PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\000\377\377''' WITH (FORMAT binary);
SELECT count(*) AS rows_loaded FROM bin_in;
