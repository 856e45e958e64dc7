/*
 * sql/install/duplicates.sql
 *
 * Finding duplicates: the keys two records of one person share (the same
 * mailbox written differently, the same phone number in another format, a
 * similar name at the same company or e-mail domain), pairs scored from
 * them, and pairs people have looked at and dismissed.
 *
 * The current definition: edit here; make builds lead_gen--<version>.sql
 * from the files of sql/install/ in the order the Makefile lists them.
 */

-- ---------------------------------------------------------------------------
-- Similarity: pg_trgm's
-- ---------------------------------------------------------------------------

-- pg_trgm is a required extension, in a schema of the DBA's choosing; the
-- call is written with that schema when lead_gen is installed (PostgreSQL
-- 15 has no @extschema:pg_trgm@).  No SET clause, so it is inlined.
DO $$
DECLARE
	trgm name := (SELECT n.nspname FROM pg_catalog.pg_extension AS e
				  JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
				  WHERE e.extname OPERATOR(pg_catalog.=) 'pg_trgm');
BEGIN
	EXECUTE pg_catalog.format(
		'CREATE FUNCTION @extschema@.trigram_similarity(a text, b text) RETURNS real '
		'LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
		pg_catalog.format('SELECT %I.similarity($1, $2)', trgm));
END
$$;
COMMENT ON FUNCTION @extschema@.trigram_similarity(text, text) IS
	'pg_trgm''s similarity(): the share of trigrams two strings have in common, 0..1 (word order does not matter)';

-- ---------------------------------------------------------------------------
-- Keys
-- ---------------------------------------------------------------------------

-- Providers whose addresses say nothing about the employer: their domain is
-- no block of colleagues.
CREATE FUNCTION @extschema@.free_mail_domain(domain text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT $1 OPERATOR(pg_catalog.=) ANY ('{gmail.com,googlemail.com,yahoo.com,yahoo.co.uk,yahoo.fr,yahoo.de,ymail.com,
		hotmail.com,hotmail.co.uk,hotmail.fr,hotmail.de,outlook.com,live.com,msn.com,aol.com,icloud.com,me.com,mac.com,
		gmx.com,gmx.de,gmx.net,web.de,t-online.de,proton.me,protonmail.com,pm.me,mail.com,mail.ru,yandex.ru,yandex.com,
		zoho.com,fastmail.com,hey.com,qq.com,163.com,126.com,orange.fr,free.fr,libero.it,laposte.net}'::pg_catalog.text[])
$$;
COMMENT ON FUNCTION @extschema@.free_mail_domain(text) IS
	'Whether a (lower-case) domain is a free or consumer mail provider''s, whose users are not colleagues';

-- The mailbox an address delivers to: case ignored, a +tag dropped (nearly
-- every provider delivers local+tag to local), and for Gmail the dots of the
-- local part too (googlemail.com is gmail.com).
CREATE FUNCTION @extschema@.normalized_mailbox(email text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE
		WHEN m.local OPERATOR(pg_catalog.=) '' THEN NULL
		WHEN m.domain OPERATOR(pg_catalog.=) ANY ('{gmail.com,googlemail.com}'::pg_catalog.text[])
			THEN pg_catalog.replace(m.local, '.', '') OPERATOR(pg_catalog.||) '@gmail.com'
		ELSE m.local OPERATOR(pg_catalog.||) '@' OPERATOR(pg_catalog.||) m.domain END
	FROM (SELECT pg_catalog.split_part(pg_catalog.lower(pg_catalog.left(a.x, -pg_catalog.length(a.domain) - 1)),
									   '+', 1) AS local,
				 a.domain
		  FROM (SELECT t.x, @extschema@.email_domain(t.x) AS domain
				FROM (SELECT pg_catalog.btrim($1)) AS t(x)) AS a) AS m
$$;
COMMENT ON FUNCTION @extschema@.normalized_mailbox(text) IS
	'The mailbox an e-mail address delivers to: lower case, without a +tag, and for gmail.com and googlemail.com without the dots of the local part; NULL for no address';

-- The domain of an address when it is an employer's.
CREATE FUNCTION @extschema@.company_mail_domain(email text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE WHEN NOT @extschema@.free_mail_domain(d.domain) THEN d.domain END
	FROM (SELECT @extschema@.email_domain(pg_catalog.btrim($1)) AS domain) AS d
$$;
COMMENT ON FUNCTION @extschema@.company_mail_domain(text) IS
	'The lower-case domain of an e-mail address, unless it is a free mail provider''s (NULL then)';

-- A phone number as the digits that identify it: the last nine, so that
-- national and international forms of one number agree (+44 20 7946 0000,
-- 020 7946 0000 and 0044 20 7946 0000 are one).
CREATE FUNCTION @extschema@.normalized_phone(phone text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT CASE WHEN pg_catalog.length(d.digits) OPERATOR(pg_catalog.>=) 8 THEN pg_catalog.right(d.digits, 9) END
	FROM (SELECT pg_catalog.regexp_replace($1, '[^0-9]', '', 'g') AS digits) AS d
$$;
COMMENT ON FUNCTION @extschema@.normalized_phone(text) IS
	'The last nine digits of a phone number (national and international forms agree); NULL for fewer than eight digits';

-- A company name without case, punctuation and the legal form it ends with.
CREATE FUNCTION @extschema@.normalized_company(company_name text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT NULLIF(pg_catalog.regexp_replace(
		pg_catalog.btrim(pg_catalog.regexp_replace(pg_catalog.lower($1), '[^[:alnum:]]+', ' ', 'g')),
		'^the |( (inc|incorporated|ltd|limited|llc|llp|lp|plc|gmbh|kg|ag|sa|sas|sarl|srl|spa|bv|nv|oy|ab|as|corp|corporation|co|company))+$',
		'', 'g'), '')
$$;
COMMENT ON FUNCTION @extschema@.normalized_company(text) IS
	'A company name in lower case without punctuation, a leading "the" and the legal forms it ends with (Inc, Ltd, GmbH & Co. KG, Corp, ...); NULL if nothing is left';

CREATE FUNCTION @extschema@.normalized_name(first_name text, last_name text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
	SELECT NULLIF(pg_catalog.btrim(pg_catalog.lower(coalesce($1, '') OPERATOR(pg_catalog.||) ' '
												   OPERATOR(pg_catalog.||) coalesce($2, ''))), '')
$$;
COMMENT ON FUNCTION @extschema@.normalized_name(text, text) IS
	'First and last name in lower case, one string (NULL if both are empty)';

-- How much a similarity of names (or of mailboxes at one domain) of two
-- leads in the same company says: 0.8 at half the trigrams in common, 1 at
-- all of them.
CREATE FUNCTION @extschema@.similarity_evidence(similarity float8)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT least(1.0::pg_catalog.float8, greatest(0.0::pg_catalog.float8,
		0.8::pg_catalog.float8 OPERATOR(pg_catalog.+) (0.4::pg_catalog.float8 OPERATOR(pg_catalog.*) ($1 OPERATOR(pg_catalog.-) 0.5::pg_catalog.float8))))
$$;
COMMENT ON FUNCTION @extschema@.similarity_evidence(float8) IS
	'The evidence of a name or mailbox similarity between leads of one company or domain: 0.8 + 0.4 * (similarity - 0.5), within 0..1';

-- Whether every word of the shorter of two names has a counterpart in the
-- other that starts with the same letter and is as long give or take one:
-- a typo inside a word or a swap of the words keeps that, two colleagues of
-- one surname (Henry and Heather Smith) do not.  Trigrams alone cannot tell
-- those apart: one typo in a short word costs as many trigrams as another
-- word.
CREATE FUNCTION @extschema@.words_agree(a text, b text)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
	SELECT NOT EXISTS (
		SELECT FROM pg_catalog.unnest(CASE WHEN w.na OPERATOR(pg_catalog.<=) w.nb THEN w.wa ELSE w.wb END) AS x(word)
		WHERE NOT EXISTS (
			SELECT FROM pg_catalog.unnest(CASE WHEN w.na OPERATOR(pg_catalog.<=) w.nb THEN w.wb ELSE w.wa END) AS y(word)
			WHERE pg_catalog.left(x.word, 1) OPERATOR(pg_catalog.=) pg_catalog.left(y.word, 1)
			  AND pg_catalog.abs(pg_catalog.length(x.word) OPERATOR(pg_catalog.-) pg_catalog.length(y.word))
				  OPERATOR(pg_catalog.<=) 1))
	FROM (SELECT v.wa, v.wb, pg_catalog.cardinality(v.wa) AS na, pg_catalog.cardinality(v.wb) AS nb
		  FROM (SELECT pg_catalog.regexp_split_to_array($1, '[^[:alnum:]]+') AS wa,
					   pg_catalog.regexp_split_to_array($2, '[^[:alnum:]]+') AS wb) AS v) AS w
$$;
COMMENT ON FUNCTION @extschema@.words_agree(text, text) IS
	'Whether each word of the shorter of two names (or mailboxes) has a counterpart in the other with the same first letter and a length within one';

-- ---------------------------------------------------------------------------
-- Pairs
-- ---------------------------------------------------------------------------

-- Pairs people have looked at and found to be two people.
CREATE TABLE @extschema@.duplicate_dismissal (
	lead_a			bigint NOT NULL,
	lead_b			bigint NOT NULL,
	dismissed_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	dismissed_by	name NOT NULL DEFAULT CURRENT_USER,
	PRIMARY KEY (lead_a, lead_b),
	CONSTRAINT duplicate_dismissal_order_check CHECK (lead_a OPERATOR(pg_catalog.<) lead_b)
);
COMMENT ON TABLE @extschema@.duplicate_dismissal IS
	'Pairs of leads found to be two people: duplicate_candidates() leaves them out (lead_a < lead_b; pairs of leads that are gone are ignored)';

CREATE FUNCTION @extschema@.dismiss_duplicate(lead_a bigint, lead_b bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF lead_a IS NULL OR lead_b IS NULL THEN
		RAISE EXCEPTION 'lead_a and lead_b must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF lead_a = lead_b THEN
		RAISE EXCEPTION 'a lead is no duplicate of itself' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF (SELECT count(*) FROM @extschema@.lead AS l WHERE l.lead_id IN (lead_a, lead_b)) < 2 THEN
		RAISE EXCEPTION 'lead % does not exist',
			CASE WHEN EXISTS (SELECT FROM @extschema@.lead AS l WHERE l.lead_id = lead_a) THEN lead_b ELSE lead_a END
			USING ERRCODE = 'no_data_found';
	END IF;
	INSERT INTO @extschema@.duplicate_dismissal AS d (lead_a, lead_b)
	VALUES (least(dismiss_duplicate.lead_a, dismiss_duplicate.lead_b), greatest(dismiss_duplicate.lead_a, dismiss_duplicate.lead_b))
	ON CONFLICT ON CONSTRAINT duplicate_dismissal_pkey DO NOTHING;
END
$$;
COMMENT ON FUNCTION @extschema@.dismiss_duplicate(bigint, bigint) IS
	'Records that two leads are two people: duplicate_candidates() no longer proposes the pair';

-- Every pair with evidence, in one pass over the leads.  Exact keys are
-- joined by hash.  Names and mailboxes are compared (pg_trgm) only for leads
-- of one company or one company mail domain that share a word of their name
-- or mailbox: a typo leaves the other word whole, a swap both, and a large
-- company is not compared pair by pair.  A phone number shared by more than
-- three leads is a switchboard, no evidence.  Evidence of one kind counts
-- once (the strongest); kinds combine as independent:
-- 1 - (1 - mailbox)(1 - phone)(1 - name).
-- The planner cannot know how many rows the steps make, and a nested loop
-- over a step it thinks small is quadratic: every join here is an
-- equi-join, so hash or merge joins are forced.  No JIT for a query planned
-- on such guesses.
CREATE FUNCTION @extschema@.duplicate_candidates(min_score float8 DEFAULT 0.8)
RETURNS TABLE (lead_a bigint, lead_b bigint, score float8, reasons text[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_nestloop = off
SET jit = off
AS $$
BEGIN
	IF min_score IS NULL OR NOT (min_score BETWEEN 0 AND 1) THEN
		RAISE EXCEPTION 'min_score must be between 0 and 1, not %', coalesce(min_score::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN QUERY
	WITH k AS MATERIALIZED (
		SELECT l.lead_id,
			   -- keys compared byte by byte: sorting and hashing them is cheap
			   @extschema@.normalized_mailbox(l.email) COLLATE "C" AS mailbox,
			   @extschema@.normalized_phone(l.phone) COLLATE "C" AS phone,
			   @extschema@.normalized_company(l.company_name) COLLATE "C" AS company,
			   @extschema@.company_mail_domain(l.email) COLLATE "C" AS domain,
			   @extschema@.normalized_name(l.first_name, l.last_name) AS name,
			   pg_catalog.split_part(pg_catalog.split_part(pg_catalog.lower(l.email), '@', 1), '+', 1) AS local
		FROM @extschema@.lead AS l
		WHERE l.forgotten_at IS NULL
	),
	personal_phone AS (
		SELECT k.phone FROM k WHERE k.phone IS NOT NULL GROUP BY k.phone HAVING count(*) BETWEEN 2 AND 3
	),
	word AS MATERIALIZED (
		SELECT DISTINCT k.lead_id, b.block, w.word COLLATE "C" AS word
		FROM k
		CROSS JOIN LATERAL (VALUES ('c ' || k.company), ('d ' || k.domain)) AS b(block)
		CROSS JOIN LATERAL unnest(string_to_array(k.name, ' ') || regexp_split_to_array(k.local, '[^[:alnum:]]+')) AS w(word)
		WHERE b.block IS NOT NULL AND length(w.word) >= 2
	),
	near AS (
		SELECT DISTINCT a.lead_id AS a, b.lead_id AS b
		FROM word AS a JOIN word AS b ON b.block = a.block AND b.word = a.word AND b.lead_id > a.lead_id
	),
	compared AS (
		SELECT n.a, n.b, ka.company = kb.company AS same_company,
			   ka.name AS name_a, kb.name AS name_b, ka.local AS local_a, kb.local AS local_b,
			   CASE WHEN ka.company = kb.company OR ka.domain = kb.domain
					THEN @extschema@.trigram_similarity(ka.name, kb.name) END AS name_sim,
			   CASE WHEN ka.domain = kb.domain THEN @extschema@.trigram_similarity(ka.local, kb.local) END AS local_sim
		FROM near AS n
		JOIN k AS ka ON ka.lead_id = n.a
		JOIN k AS kb ON kb.lead_id = n.b
	),
	evidence AS (
		SELECT a.lead_id AS a, b.lead_id AS b, 'mailbox' AS kind, 1.0::float8 AS e, 'same mailbox' AS reason
		FROM k AS a JOIN k AS b ON b.mailbox = a.mailbox AND b.lead_id > a.lead_id
		UNION ALL
		SELECT a.lead_id, b.lead_id, 'phone', 0.9, 'same phone'
		FROM k AS a JOIN k AS b ON b.phone = a.phone AND b.lead_id > a.lead_id
		WHERE a.phone IN (SELECT p.phone FROM personal_phone AS p)
		UNION ALL
		SELECT s.a, s.b, 'name', greatest(s.name_e, s.local_e),
			   CASE WHEN coalesce(s.name_e, 0) >= coalesce(s.local_e, 0)
					THEN CASE WHEN s.same_company THEN 'similar name, same company' ELSE 'similar name, same domain' END
					ELSE 'similar mailbox, same domain' END
		FROM (SELECT c.a, c.b, c.same_company,
					 CASE WHEN c.name_sim >= 0.3 THEN @extschema@.similarity_evidence(c.name_sim)
						  * CASE WHEN @extschema@.words_agree(c.name_a, c.name_b) THEN 1 ELSE 0.9 END END AS name_e,
					 CASE WHEN c.local_sim >= 0.3 THEN @extschema@.similarity_evidence(c.local_sim)
						  * CASE WHEN @extschema@.words_agree(c.local_a, c.local_b) THEN 1 ELSE 0.9 END END AS local_e
			  FROM compared AS c) AS s
		WHERE greatest(s.name_e, s.local_e) IS NOT NULL
	),
	pairs AS (
		SELECT v.a, v.b,
			   1 - (1 - coalesce(max(v.e) FILTER (WHERE v.kind = 'mailbox'), 0))
				 * (1 - coalesce(max(v.e) FILTER (WHERE v.kind = 'phone'), 0))
				 * (1 - coalesce(max(v.e) FILTER (WHERE v.kind = 'name'), 0)) AS score,
			   array_agg(DISTINCT v.reason ORDER BY v.reason) AS reasons
		FROM evidence AS v
		GROUP BY v.a, v.b
	)
	SELECT p.a, p.b, p.score, p.reasons
	FROM pairs AS p
	WHERE p.score >= min_score
	  AND NOT EXISTS (SELECT FROM @extschema@.duplicate_dismissal AS d WHERE d.lead_a = p.a AND d.lead_b = p.b)
	ORDER BY p.score DESC, p.a, p.b;
END
$$;
COMMENT ON FUNCTION @extschema@.duplicate_candidates(float8) IS
	'Probable duplicates with a score of at least min_score (0..1): pairs with the same mailbox (1), the same personal phone (0.9), or a similar name or mailbox at the same company or company mail domain (pg_trgm similarity; 0.8 at half the trigrams in common, nine tenths of that when the words do not agree) among leads sharing a word of it, kinds combined as independent evidence; dismissed pairs left out';

CREATE FUNCTION @extschema@.duplicate_report(min_score float8 DEFAULT 0.8)
RETURNS TABLE (reason text, pairs bigint, leads bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT r.reason, count(DISTINCT (c.lead_a, c.lead_b)), count(DISTINCT x.id)
	FROM @extschema@.duplicate_candidates(min_score) AS c
	CROSS JOIN LATERAL unnest(c.reasons) AS r(reason)
	CROSS JOIN LATERAL (VALUES (c.lead_a), (c.lead_b)) AS x(id)
	GROUP BY r.reason
	ORDER BY r.reason;
END;
COMMENT ON FUNCTION @extschema@.duplicate_report(float8) IS
	'Duplicates pending (not merged, not dismissed) by reason: how many pairs, and how many leads are in them';
