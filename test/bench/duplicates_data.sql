-- Leads with injected duplicates of known kinds, and the truth about them.
--   psql -v base=N -f duplicates_data.sql     (in a database of its own)
-- base people at companies of skewed size (a few large, most small), three
-- in four with their employer's mail domain, the rest with free mail; one
-- in ten gets a duplicate of one of five kinds:
--   case     name and company in other case (and legal form), the same Gmail
--            mailbox with dots dropped and the domain upper-cased, or no e-mail
--   plus     the same mailbox with a +tag, company kept or left out
--   typo     one typo in the first or last name; the mailbox with a typo too,
--            or none
--   swapped  first and last name swapped, another (free) mailbox or none
--   phone    the same phone number in another format, nothing else but
--            maybe the name
\set ON_ERROR_STOP on
SELECT setseed(0.16);

CREATE TEMP TABLE syllable AS
SELECT row_number() OVER () - 1 AS i, s
FROM unnest('{an,ber,car,dor,el,fin,gar,hol,ing,jen,kel,lor,mar,nor,ols,per,quin,ros,sten,tor,ul,ven,wil,yor,zan}'::text[]) AS s;
CREATE TEMP TABLE first_name AS
SELECT row_number() OVER () - 1 AS i, n
FROM unnest('{James,Mary,John,Patricia,Robert,Jennifer,Michael,Linda,William,Elizabeth,David,Barbara,Richard,Susan,Joseph,Jessica,
Thomas,Sarah,Charles,Karen,Christopher,Nancy,Daniel,Lisa,Matthew,Betty,Anthony,Margaret,Mark,Sandra,Donald,Ashley,Steven,Kimberly,
Paul,Emily,Andrew,Donna,Joshua,Michelle,Kenneth,Dorothy,Kevin,Carol,Brian,Amanda,George,Melissa,Edward,Deborah,Ronald,Stephanie,
Timothy,Rebecca,Jason,Sharon,Jeffrey,Laura,Ryan,Cynthia,Jacob,Kathleen,Gary,Amy,Nicholas,Shirley,Eric,Angela,Jonathan,Helen,
Stephen,Anna,Larry,Brenda,Justin,Pamela,Scott,Nicole,Brandon,Emma,Benjamin,Samantha,Samuel,Katherine,Gregory,Christine,Frank,
Debra,Alexander,Rachel,Raymond,Catherine,Patrick,Carolyn,Jack,Janet,Dennis,Ruth,Jerry,Maria,Tyler,Heather,Aaron,Diane,Jose,
Virginia,Adam,Julie,Henry,Joyce,Nathan,Victoria,Douglas,Olivia,Zachary,Kelly,Peter,Christina,Kyle,Lauren,Walter,Joan,Ethan,
Evelyn,Jeremy,Judith,Harold,Megan,Keith,Cheryl,Christian,Andrea,Roger,Hannah,Noah,Martha,Gerald,Jacqueline,Carl,Frances,Terry,
Gloria,Sean,Ann,Austin,Teresa,Arthur,Kathryn,Lawrence,Sara,Jesse,Janice,Dylan,Jean,Bryan,Alice,Joe,Madison,Jordan,Doris,Billy,
Abigail,Bruce,Julia,Albert,Judy,Willie,Grace,Gabriel,Denise,Logan,Amber,Alan,Marilyn,Juan,Beverly,Wayne,Danielle,Roy,Theresa,
Ralph,Sophia,Randy,Marie,Eugene,Diana,Vincent,Brittany,Russell,Natalie,Elijah,Isabella,Louis,Charlotte,Bobby,Rose,Philip,Alexis,Johnny,Kayla}'::text[]) AS n;
CREATE TEMP TABLE last_suffix AS
SELECT row_number() OVER () - 1 AS i, s FROM unnest('{son,er,ton,ley,man,berg,ski,ez,ford,wood,""}'::text[]) AS s;
CREATE TEMP TABLE legal_form AS
SELECT row_number() OVER () - 1 AS i, s FROM unnest('{Inc,Ltd,GmbH,Corp,LLC,"",Group,Labs}'::text[]) AS s;

-- companies: syllable names, each with its own domain
CREATE TEMP TABLE company AS
SELECT c AS company_id,
	   initcap(s1.s || s2.s || s3.s) || CASE WHEN c >= 15625 THEN ' ' || (c / 15625) ELSE '' END AS name,
	   lf.s AS legal_form,
	   s1.s || s2.s || s3.s || c || '.example' AS domain
FROM generate_series(0, greatest(:base / 8, 10) - 1) AS c
JOIN syllable AS s1 ON s1.i = c % 25
JOIN syllable AS s2 ON s2.i = (c / 25) % 25
JOIN syllable AS s3 ON s3.i = (c / 625) % 25
JOIN legal_form AS lf ON lf.i = (c * 7) % 8;

-- people: names, employer (skewed), mailbox, phone
CREATE TEMP TABLE person AS
SELECT g, f.n AS first_name,
	   initcap(s1.s || s2.s || ls.s) AS last_name,
	   floor((select count(*) FROM company) * power(random(), 2.5))::int AS company_id,
	   random() < 0.75 AS corporate,
	   random() < 0.6 OR (g % 10 = 3 AND (g / 10) % 5 = 4) AS has_phone,
	   (ARRAY['gmail.com', 'yahoo.com', 'outlook.com', 'gmx.de'])[1 + (g % 4)] AS free_domain
FROM generate_series(1, :base) AS g
JOIN first_name AS f ON f.i = (hashint4(g) & 2147483647) % (SELECT count(*) FROM first_name)
JOIN syllable AS s1 ON s1.i = (hashint4(g + 17) & 2147483647) % 25
JOIN syllable AS s2 ON s2.i = (hashint4(g + 31) & 2147483647) % 25
JOIN last_suffix AS ls ON ls.i = (hashint4(g + 53) & 2147483647) % 11;
-- one name once per company: two people of one name at one employer cannot
-- be told from a duplicate by anything in the record
DELETE FROM person AS p USING person AS q
WHERE q.company_id = p.company_id AND q.first_name = p.first_name AND q.last_name = p.last_name AND q.g < p.g;

INSERT INTO lead_gen.lead (lead_id, email, first_name, last_name, phone, company_name, created_at)
OVERRIDING SYSTEM VALUE
SELECT p.g,
	   CASE WHEN p.corporate THEN lower(p.first_name || '.' || p.last_name) || '@' || c.domain
			ELSE lower(p.first_name || '.' || p.last_name) || p.g || '@' || p.free_domain END,
	   p.first_name, p.last_name,
	   CASE WHEN p.has_phone THEN '+1 ' || (200 + p.g % 700) || ' ' || lpad(((p.g::bigint * 7919) % 10000000)::text, 7, '0') END,
	   c.name || CASE WHEN c.legal_form <> '' THEN ' ' || c.legal_form ELSE '' END,
	   now() - interval '200 days'
FROM person AS p JOIN company AS c USING (company_id);

-- a typo: one letter replaced by its neighbour's, or two letters swapped
CREATE FUNCTION pg_temp.typo(s text, seed int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN length(s) < 3 THEN s || 'e'
				WHEN (seed % 2 = 0 OR substr(lower(s), p, 1) !~ '[a-z]') AND substr(s, p, 1) <> substr(s, p + 1, 1)
				THEN overlay(s placing substr(s, p + 1, 1) || substr(s, p, 1) from p for 2)
				WHEN substr(lower(s), p, 1) !~ '[a-z]' THEN s || 'e'
				ELSE overlay(s placing chr(ascii('a') + (ascii(substr(lower(s), p, 1)) - ascii('a') + 1) % 26) from p for 1) END
	FROM (SELECT 2 + (abs(seed) % greatest(length(s) - 2, 1)) AS p) AS x
$$;

CREATE TABLE dup_truth (lead_a bigint, lead_b bigint, kind text, PRIMARY KEY (lead_a, lead_b));
CREATE TEMP TABLE dup AS
SELECT l.lead_id AS original, :base + l.lead_id AS lead_id,
	   (ARRAY['case', 'plus', 'typo', 'swapped', 'phone'])[1 + (l.lead_id / 10) % 5] AS kind,
	   l.email, l.first_name, l.last_name, l.phone, l.company_name, hashint4(l.lead_id::int) AS h
FROM lead_gen.lead AS l
WHERE l.lead_id % 10 = 3;

INSERT INTO lead_gen.lead (lead_id, email, first_name, last_name, phone, company_name, created_at)
OVERRIDING SYSTEM VALUE
SELECT d.lead_id,
	   CASE d.kind
		WHEN 'case' THEN CASE WHEN d.email LIKE '%@gmail.com'
							  THEN replace(split_part(d.email, '@', 1), '.', '') || '@GMAIL.COM' END
		WHEN 'plus' THEN split_part(d.email, '@', 1) || '+' || (ARRAY['news', 'webinar', 'crm'])[1 + abs(d.h) % 3]
						 || '@' || split_part(d.email, '@', 2)
		WHEN 'typo' THEN CASE WHEN d.h % 2 = 0 AND d.email NOT LIKE '%@gmail.com' AND d.email NOT LIKE '%@yahoo.com'
								   AND d.email NOT LIKE '%@outlook.com' AND d.email NOT LIKE '%@gmx.de'
							  THEN pg_temp.typo(split_part(d.email, '@', 1), d.h / 7) || '@' || split_part(d.email, '@', 2) END
		WHEN 'swapped' THEN CASE WHEN d.h % 2 = 0 THEN lower(d.last_name || d.first_name) || d.lead_id || '@gmail.com' END
		END,
	   CASE d.kind WHEN 'case' THEN CASE WHEN d.h % 2 = 0 THEN upper(d.first_name) ELSE lower(d.first_name) END
				   WHEN 'typo' THEN CASE WHEN d.h % 3 = 0 THEN pg_temp.typo(d.first_name, d.h / 3) ELSE d.first_name END
				   WHEN 'swapped' THEN d.last_name
				   WHEN 'phone' THEN CASE WHEN d.h % 2 = 0 THEN d.first_name END
				   ELSE d.first_name END,
	   CASE d.kind WHEN 'case' THEN CASE WHEN d.h % 2 = 0 THEN upper(d.last_name) ELSE lower(d.last_name) END
				   WHEN 'typo' THEN CASE WHEN d.h % 3 <> 0 THEN pg_temp.typo(d.last_name, d.h / 5) ELSE d.last_name END
				   WHEN 'swapped' THEN d.first_name
				   WHEN 'phone' THEN CASE WHEN d.h % 2 = 0 THEN d.last_name END
				   ELSE d.last_name END,
	   CASE d.kind WHEN 'phone' THEN '1.' || replace(substr(d.phone, 4), ' ', '.') END,
	   CASE d.kind WHEN 'case' THEN upper(d.company_name)
				   WHEN 'plus' THEN CASE WHEN d.h % 2 = 0 THEN regexp_replace(d.company_name, ' (Inc|Ltd|Corp)$', ', \1.') END
				   WHEN 'phone' THEN NULL
				   ELSE d.company_name END,
	   now() - interval '100 days'
FROM dup AS d;
-- (a dup the lead table refused for want of an e-mail, phone or company
-- cannot happen: each kind keeps one of them)
INSERT INTO dup_truth SELECT original, lead_id, kind FROM dup;
SELECT setval('lead_gen.lead_lead_id_seq', (SELECT max(lead_id) FROM lead_gen.lead)) \g /dev/null
ANALYZE lead_gen.lead;
SELECT count(*) AS leads, (SELECT count(*) FROM dup_truth) AS injected_duplicates FROM lead_gen.lead;
