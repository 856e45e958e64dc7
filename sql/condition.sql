-- Conditions: the language (canonical text, errors), and testing a lead now
-- and when time alone next changes the answer, checked against SQL.
SET search_path = lead_gen, public;
SET timezone = 'UTC';
-- what an error says, and where
SELECT 'count(webinar within 30 fortnights) >= 1'::condition;
SELECT 'stage = mql and bogus.x = 1'::condition;
BEGIN;

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 1. Canonical text: keywords in lower case, redundant parentheses dropped,
-- and printing then parsing gives the same value.
SELECT c::condition AS canonical, c::condition::text::condition = c::condition AS reads_back
FROM unnest(ARRAY[
	'industry = FinTech AND country = US and COUNT(webinar WITHIN 30 DAYS) >= 1 and consent = subscribed',
	'temperature = hot and days_since_last(any) > 14',
	'stage = mql and never sales_call',
	'not (score >= 50 or grade in (A, B)) and fit 10..80',
	'count(any within 2 weeks) in (0, 1, 2) or days_in_stage > 7.5',
	'count(''any'' within 1 day) = 0 and attributes.plan.tier = gold',
	'days_since_last(email_click) is absent or count(email_open) != 3',
	'((employees >= 50)) and not never demo_request',
	'count(page_view within 90 minutes) 1..5',
	'count(webinar within 1 hour) >= 1 or count(webinar within 1.5 hours) > 2',
	'email_domain ends with ''acme.example'''
]) AS c;

-- binary form (COPY BINARY, send/recv), equality and hashing
CREATE TEMP TABLE cond (c condition);
INSERT INTO cond VALUES ('count(webinar within 30 days) >= 1'), ('never any'), ('stage = sql');
COPY cond TO '/tmp/lead_gen_condition.bin' (FORMAT binary);
CREATE TEMP TABLE cond2 (c condition);
COPY cond2 FROM '/tmp/lead_gen_condition.bin' (FORMAT binary);
SELECT count(*) AS same FROM cond JOIN cond2 USING (c);
SELECT count(*) AS distinct_values FROM (SELECT c FROM cond UNION SELECT c FROM cond2) x;
SELECT 'never any'::condition = 'NEVER ANY'::condition AS eq, 'never any'::condition <> 'never webinar'::condition AS ne;

-- 2. Errors, with their SQLSTATE and where they are.
SELECT c, pg_temp.try(format('SELECT %L::lead_gen.condition', c)) AS error
FROM unnest(ARRAY[
	'',
	'bogus = 1',
	'industry.sub = x',
	'score.x > 1',
	'count(webinar within 0 days) >= 1',
	'count(webinar within -3 days) >= 1',
	'count(webinar within 3651 days) >= 1',
	'count(webinar within 0.5 seconds) >= 1',
	'count(webinar within 30 fortnights) >= 1',
	'count(webinar within days) >= 1',
	'days_since_last(webinar within 3 days) > 1',
	'count(Webinar) > 1',
	'count(''page view'') > 1',
	'count(webinar) ~* ''x''',
	'count(webinar) = many',
	'count(webinar',
	'never',
	'score > 10 20',
	'stage = mql; stage = sql',
	'must stage = mql',
	'industry in (saas fintech)'
]) AS c;
SELECT pg_temp.try(format('SELECT %L::lead_gen.condition',
						  'industry in (' || string_agg('x' || g, ', ') || ')')) AS over_64_kB
FROM generate_series(1, 12000) g;
-- an ICP is not a condition, nor a condition an ICP
SELECT pg_temp.try('SELECT ''industry = saas 30''::lead_gen.condition') AS weight;
SELECT pg_temp.try('SELECT ''count(webinar) > 1 30''::lead_gen.icp') AS activity_in_icp;

-- 3. Testing leads, each kind of fact, at known times.
INSERT INTO lead (lead_id, email, industry, employees, country, consent, created_at) VALUES
	(9101, 'ana@fin.example', 'fintech', 120, 'US', 'subscribed', now() - interval '10 days'),
	(9102, 'bo@shop.example', 'retail', 8, 'FR', 'unknown', now() - interval '2 days'),
	(9103, 'cy@new.example', NULL, NULL, 'US', 'subscribed', now() - interval '1 hour');
INSERT INTO activity (lead_id, kind, occurred_at) VALUES
	(9101, 'webinar', now() - interval '29 days'),
	(9101, 'webinar', now() - interval '3 days'),
	(9101, 'webinar', now() - interval '3 days'),
	(9101, 'email_open', now() - interval '20 days'),
	(9102, 'page_view', now() - interval '1 hour');
CREATE TEMP TABLE probe (c condition, note text);
INSERT INTO probe VALUES
	('count(webinar within 30 days) >= 1', 'holds until the last webinar is 30 days old'),
	('count(webinar within 30 days) >= 3', 'the first leaves the window in a day'),
	('count(webinar within 30 days) = 2', 'joins in a day, when the first leaves'),
	('count(webinar) = 3', 'all time: time alone never changes it'),
	('days_since_last(any) > 14', 'a day since the last page view: 13 days to go'),
	('days_since_last(webinar) < 5', '2 days left'),
	('days_since_last(webinar) is absent', 'no webinar at all'),
	('never webinar', 'time alone never changes it'),
	('days_in_stage >= 7', 'since created_at'),
	('industry = FINTECH and country = us', 'text, case-insensitively'),
	('industry != fintech', 'unknown for a lead without an industry'),
	('not (employees >= 50)', 'unknown stays unknown'),
	('consent = subscribed and count(any within 7 days) = 0', 'and of both kinds'),
	('stage = prospect', 'state');
SELECT p.c, l.lead_id, condition_holds(p.c, l) AS holds,
	   extract(epoch FROM condition_changes_at(p.c, l) - now()) / 3600 AS changes_in_hours
FROM probe p CROSS JOIN lead l WHERE l.lead_id BETWEEN 9101 AND 9103
ORDER BY p.note, l.lead_id;
-- NULL arguments give NULL
SELECT condition_holds(NULL, l) IS NULL AS null_condition, condition_changes_at('never any', NULL) IS NULL AS null_lead
FROM lead l WHERE lead_id = 9101;

-- 4. Property: random leads, random activity, random conditions over every
-- kind of fact; each answer equals the same test written in SQL, the answer
-- holds until just before the time of its next change, and (but for the
-- score, whose time is a bound) differs at it.
SELECT setseed(0.17);
INSERT INTO lead (lead_id, email, industry, employees, country, created_at)
SELECT 9200 + g, 'p' || g || '@prop.example',
	   (ARRAY['saas', 'fintech', 'retail', NULL])[1 + floor(random() * 4)::int],
	   CASE WHEN random() < 0.8 THEN (random() * 500)::int END,
	   (ARRAY['US', 'GB', 'FR'])[1 + floor(random() * 3)::int],
	   now() - random() * interval '40 days'
FROM generate_series(1, 40) g;
INSERT INTO scoring_rule (kind, points) VALUES ('prop_webinar', 40), ('prop_visit', 3)
ON CONFLICT (kind) DO UPDATE SET points = excluded.points;
INSERT INTO activity (lead_id, kind, occurred_at)
SELECT 9200 + 1 + floor(random() * 40)::int,
	   (ARRAY['prop_webinar', 'prop_visit', 'prop_other'])[1 + floor(random() * 3)::int],
	   now() - random() * interval '60 days' + interval '30 seconds'
FROM generate_series(1, 400);

-- A generator of (condition, the same test in SQL over lead l at time $1).
CREATE FUNCTION pg_temp.atom() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	k text := (ARRAY['prop_webinar', 'prop_visit', 'prop_other', 'any'])[1 + floor(random() * 4)::int];
	kq text := CASE WHEN k = 'any' THEN 'true' ELSE format('a.kind = %L', k) END;
	ops text[] := ARRAY['=', '!=', '<', '<=', '>', '>='];
	op text := ops[1 + floor(random() * 6)::int];
	sop text := CASE op WHEN '!=' THEN '<>' ELSE op END;
	n int := (random() * 4)::int;
	d numeric := round((random() * 30)::numeric, 1);
	u text := (ARRAY['seconds', 'minutes', 'hours', 'days', 'weeks'])[1 + floor(random() * 5)::int];
	w numeric := CASE u WHEN 'seconds' THEN 1 + (random() * 200000)::int WHEN 'minutes' THEN 1 + (random() * 3000)::int WHEN 'hours' THEN 1 + (random() * 500)::int
						WHEN 'days' THEN 1 + (random() * 40)::int ELSE 1 + (random() * 6)::int END;
	cnt text := format('(SELECT count(*) FROM lead_gen.activity a WHERE a.lead_id = l.lead_id AND %s', kq);
	pick int := floor(random() * 10)::int;
	v text := (ARRAY['fintech', 'retail'])[1 + floor(random() * 2)::int];
	c text := (ARRAY['us', 'GB'])[1 + floor(random() * 2)::int];
BEGIN
	CASE pick
	WHEN 0 THEN RETURN ARRAY[format('count(%s within %s %s) %s %s', k, w, u, op, n),
							 format('%s AND a.occurred_at > $1 - interval %L) %s %s', cnt, w || ' ' || u, sop, n), 'exact'];
	WHEN 1 THEN RETURN ARRAY[format('count(%s within %s %s) %s..%s', k, w, u, n, n + 2),
							 format('%s AND a.occurred_at > $1 - interval %L) BETWEEN %s AND %s', cnt, w || ' ' || u, n, n + 2), 'exact'];
	WHEN 2 THEN RETURN ARRAY[format('count(%s) %s %s', k, op, n * 3), format('%s) %s %s', cnt, sop, n * 3), 'exact'];
	WHEN 3 THEN RETURN ARRAY[format('days_since_last(%s) %s %s', k, op, d),
							 format('extract(epoch FROM $1 - (SELECT max(a.occurred_at) FROM lead_gen.activity a WHERE a.lead_id = l.lead_id AND %s)) / 86400 %s %s', kq, sop, d), 'exact'];
	WHEN 4 THEN RETURN ARRAY[format('never %s', k), format('NOT EXISTS %s)', replace(cnt, 'count(*)', '1')), 'exact'];
	WHEN 5 THEN RETURN ARRAY[format('days_in_stage %s %s', op, d),
							 format('extract(epoch FROM $1 - l.stage_changed_at) / 86400 %s %s', sop, d), 'exact'];
	WHEN 6 THEN RETURN ARRAY[format('score %s %s', op, n * 10), format('lead_gen.lead_score(l, $1) %s %s', sop, n * 10), 'score'];
	WHEN 7 THEN RETURN ARRAY[format('industry in (saas, %s)', v), format('lower(l.industry) IN (''saas'', %L)', v), 'exact'];
	WHEN 8 THEN RETURN ARRAY[format('employees %s %s', op, n * 100), format('l.employees %s %s', sop, n * 100), 'exact'];
	ELSE RETURN ARRAY[format('country = %s', c), format('upper(l.country) = upper(%L)', c), 'exact'];
	END CASE;
END $$;

-- one to three of them, joined by and / or, some negated (i: one call per row)
CREATE FUNCTION pg_temp.gen(i int, OUT c text, OUT o text, OUT exact boolean) LANGUAGE plpgsql AS $$
DECLARE
	a text[] := pg_temp.atom();
	b text[];
	joiner text;
BEGIN
	c := a[1]; o := a[2]; exact := a[3] = 'exact';
	IF random() < 0.2 THEN
		c := format('not (%s)', c); o := format('NOT (%s)', o);
	END IF;
	FOR j IN 1 .. (random() * 2.2)::int LOOP
		b := pg_temp.atom();
		joiner := (ARRAY['and', 'or'])[1 + floor(random() * 2)::int];
		c := format('(%s) %s (%s)', c, joiner, b[1]);
		o := format('(%s) %s (%s)', o, upper(joiner), b[2]);
		exact := false;			-- the time of a combination is a bound
	END LOOP;
END $$;

CREATE FUNCTION pg_temp.oracle(o text, id bigint, t timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	r boolean;
BEGIN
	EXECUTE format('SELECT (%s) IS TRUE FROM lead_gen.lead l WHERE l.lead_id = $2', o) INTO r USING t, id;
	RETURN r;
END $$;

CREATE TEMP TABLE gen AS SELECT g.* FROM generate_series(1, 80) i, LATERAL pg_temp.gen(i) g;
CREATE TEMP TABLE checks AS
SELECT l.lead_id, g.c, g.o, g.exact, condition_holds(g.c::condition, l) AS holds,
	   condition_changes_at(g.c::condition, l) AS at
FROM gen g CROSS JOIN lead l WHERE l.lead_id BETWEEN 9201 AND 9240;
SELECT count(*) AS pairs,
	   count(*) FILTER (WHERE holds) > 300 AND count(*) FILTER (WHERE NOT holds) > 300 AS both_answers,
	   count(*) FILTER (WHERE at IS NOT NULL) > 200 AS many_change,
	   count(*) FILTER (WHERE holds IS DISTINCT FROM pg_temp.oracle(o, lead_id, now())) AS wrong_now,
	   count(*) FILTER (WHERE at <= now()) AS change_not_ahead,
	   count(*) FILTER (WHERE at IS NOT NULL AND pg_temp.oracle(o, lead_id, at - interval '1 microsecond') <> holds) AS changed_before,
	   count(*) FILTER (WHERE at IS NOT NULL AND exact AND pg_temp.oracle(o, lead_id, at) = holds) AS exact_did_not_change,
	   count(*) FILTER (WHERE at IS NULL AND pg_temp.oracle(o, lead_id, now() + interval '20 years') <> holds) AS changed_though_never
FROM checks;
-- every kind of fact was tried
SELECT count(DISTINCT c) AS conditions, count(*) FILTER (WHERE c LIKE '%count(%within%') > 0 AS windows, count(*) FILTER (WHERE c LIKE '%days_since_last%') > 0 AS since,
	   count(*) FILTER (WHERE c LIKE '%never%') > 0 AS never, count(*) FILTER (WHERE c LIKE '%days_in_stage%') > 0 AS in_stage,
	   count(*) FILTER (WHERE c LIKE '%score%') > 0 AS score, count(*) FILTER (WHERE c LIKE '%not (%') > 0 AS negated
FROM gen;

ROLLBACK;
