-- In-server fuzzing of the text input of lead_gen's types: thousands of
-- random mutations of valid and invalid seeds (same seed, same inputs).
-- Every input is either refused with a data exception (SQLSTATE class 22)
-- or accepted, and then prints and re-reads to the same value; binary I/O
-- round-trips too.  (The ICP parser is also fuzzed with libFuzzer under
-- ASan, see test/fuzz.)
SET search_path = lead_gen, public;

CREATE FUNCTION pg_temp.mutate(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	alphabet text := '0123456789(),.:-+ eEinfINFaty' || chr(9) || '''"\\';
	n int := 1 + (random() * 3)::int;
	pos int;
BEGIN
	FOR i IN 1 .. n LOOP
		pos := 1 + (random() * greatest(length(s), 1))::int;
		CASE (random() * 3)::int
			WHEN 0 THEN s := overlay(s placing substr(alphabet, 1 + (random() * (length(alphabet) - 1))::int, 1)
									 from pos for 1);
			WHEN 1 THEN s := substr(s, 1, pos - 1) || substr(alphabet, 1 + (random() * (length(alphabet) - 1))::int, 1)
							 || substr(s, pos);
			WHEN 2 THEN s := substr(s, 1, pos - 1) || substr(s, pos + 1);
			ELSE s := s || substr(s, 1, pos);
		END CASE;
	END LOOP;
	RETURN s;
END $$;

CREATE FUNCTION pg_temp.fuzz(type_name text, seeds text[], iterations int,
	OUT accepted int, OUT refused int, OUT bad_errors text[], OUT bad_round_trips int)
LANGUAGE plpgsql AS $$
DECLARE
	input text;
	printed text;
	again text;
	same_bytes boolean;
BEGIN
	accepted := 0; refused := 0; bad_errors := '{}'; bad_round_trips := 0;
	FOR i IN 1 .. iterations LOOP
		input := pg_temp.mutate(seeds[1 + (i % cardinality(seeds))]);
		BEGIN
			EXECUTE format('SELECT %L::lead_gen.%s::text', input, type_name) INTO printed;
			EXECUTE format('SELECT %L::lead_gen.%s::text', printed, type_name) INTO again;
			EXECUTE format('SELECT lead_gen.%s_send(%L::lead_gen.%s) = lead_gen.%s_send(%L::lead_gen.%s)',
						   type_name, input, type_name, type_name, printed, type_name) INTO same_bytes;
			accepted := accepted + 1;
			IF again IS DISTINCT FROM printed OR NOT same_bytes THEN
				bad_round_trips := bad_round_trips + 1;
			END IF;
		EXCEPTION WHEN OTHERS THEN
			-- data exceptions; the ICP language's syntax errors and limits
			IF SQLSTATE NOT LIKE '22%' AND SQLSTATE NOT IN ('42601', '54000') THEN
				bad_errors := bad_errors || (SQLSTATE || ': ' || SQLERRM || ' <- ' || input);
			END IF;
			refused := refused + 1;
		END;
	END LOOP;
END $$;

SELECT setseed(0.25);
SELECT accepted, refused, bad_errors[1:3] AS bad_errors, bad_round_trips FROM pg_temp.fuzz('engagement', ARRAY[
	'(12.5,2026-01-01 00:00:00+00,30 days)', '(-3,2025-06-30 12:00:00.5+02,1 hour)',
	'(0,epoch,1 second)', '( 1e300 , 2000-01-01 , 100 years )', '(1,infinity,1 day)',
	'(NaN,2026-01-01,1 day)', '(1,2026-01-01,-1 day)', '1,2,3', ''], 6000);
SELECT setseed(0.5);
SELECT accepted, refused, bad_errors[1:3] AS bad_errors, bad_round_trips FROM pg_temp.fuzz('icp', ARRAY[
	'industry in (saas, fintech) 30; employees 50..5000 20',
	'must not email_domain in (competitor.example); job_title ~* ''(vp|head)'' 15',
	'attributes.tech_stack in (salesforce) 5; not (country = US or country = CA) 10',
	'annual_revenue >= 1e6 40; decision_maker is true 10; city is absent -5',
	'must (seniority in (vp, c_level) and employees > 10)'], 6000);
