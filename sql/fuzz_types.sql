-- In-server fuzzing of the text input of lead_gen's types: thousands of
-- random mutations of valid and invalid seeds (same seed, same inputs).
-- Every input is either refused with a data exception (SQLSTATE class 22)
-- or accepted, and then prints text that reads back (an error there is a
-- bad round trip, not a refusal) to the same value; binary I/O round-trips
-- too.  (The ICP parser is also fuzzed with libFuzzer under
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
		printed := NULL;
		BEGIN
			EXECUTE format('SELECT %L::lead_gen.%s::text', input, type_name) INTO printed;
			accepted := accepted + 1;
		EXCEPTION WHEN OTHERS THEN
			-- data exceptions; the ICP language's syntax errors and limits
			IF SQLSTATE NOT LIKE '22%' AND SQLSTATE NOT IN ('42601', '54000') THEN
				bad_errors := bad_errors || (SQLSTATE || ': ' || SQLERRM || ' <- ' || input);
			END IF;
			refused := refused + 1;
		END;
		CONTINUE WHEN printed IS NULL;
		-- what it printed must read back, to the same text and bytes
		BEGIN
			EXECUTE format('SELECT %L::lead_gen.%s::text', printed, type_name) INTO again;
			EXECUTE format('SELECT lead_gen.%s_send(%L::lead_gen.%s) = lead_gen.%s_send(%L::lead_gen.%s)',
						   type_name, input, type_name, type_name, printed, type_name) INTO same_bytes;
			IF again IS DISTINCT FROM printed OR NOT same_bytes THEN
				bad_round_trips := bad_round_trips + 1;
			END IF;
		EXCEPTION WHEN OTHERS THEN
			bad_round_trips := bad_round_trips + 1;
		END;
	END LOOP;
END $$;

SELECT setseed(0.25);
SELECT accepted, refused, bad_errors[1:3] AS bad_errors, bad_round_trips FROM pg_temp.fuzz('engagement', ARRAY[
	'(12.5,2026-01-01 00:00:00+00,30 days)', '(-3,2025-06-30 12:00:00.5+02,1 hour)',
	'(0,epoch,1 second)', '( 1e300 , 2000-01-01 , 100 years )', '(1,2026-01-01,6000000 years)', '(1,infinity,1 day)',
	'(NaN,2026-01-01,1 day)', '(1,2026-01-01,-1 day)', '1,2,3', ''], 6000);
SELECT setseed(0.5);
SELECT accepted, refused, bad_errors[1:3] AS bad_errors, bad_round_trips FROM pg_temp.fuzz('icp', ARRAY[
	'industry in (saas, fintech) 30; employees 50..5000 20',
	'must not email_domain in (competitor.example); job_title ~* ''(vp|head)'' 15',
	'attributes.tech_stack in (salesforce) 5; not (country = US or country = CA) 10',
	'annual_revenue >= 1e6 40; decision_maker is true 10; city is absent -5',
	'must (seniority in (vp, c_level) and employees > 10)'], 6000);

-- Property: every engagement prints text that reads back to the same value,
-- under every DateStyle, IntervalStyle and extra_float_digits, and its
-- binary form reads back too (COPY BINARY out and in).  Values over the
-- whole range: any magnitude, as_of from 4713 BC to 294276 AD, half-lives
-- of any whole number of microseconds up to 100 years.
SELECT setseed(0.75);
CREATE TEMP TABLE eng_values AS
SELECT g AS id,
	   lead_gen.engagement(
		   (random() - 0.5) * power(10::float8, random() * 600 - 300),
		   timestamptz '2000-01-01 00:00:00+00' + make_interval(secs => round(random() * 8.2e12 - 2.1e11)),
		   make_interval(secs => (1 + floor(random() * 3.1104e15)) / 1e6)) AS e
FROM generate_series(1, 2000) AS g;
INSERT INTO eng_values VALUES
	(0, '(1,4713-11-24 00:00:00+00 BC,00:00:00.000001)'), (-1, '(-1.7976931348623157e308,294276-12-31 23:59:59.999999+00,100 years)'),
	(-2, '(5e-324,2000-01-01 00:00:00+00,36000 days)');
CREATE FUNCTION pg_temp.text_round_trips() RETURNS TABLE (style text, differ bigint) LANGUAGE plpgsql AS $$
DECLARE
	d text;
	i text;
	f int;
BEGIN
	FOREACH d IN ARRAY ARRAY['ISO, MDY', 'SQL, DMY', 'Postgres, YMD', 'German, DMY'] LOOP
		FOREACH i IN ARRAY ARRAY['postgres', 'postgres_verbose', 'sql_standard', 'iso_8601'] LOOP
			FOREACH f IN ARRAY ARRAY[-15, 0, 3] LOOP
				PERFORM set_config('datestyle', d, true), set_config('intervalstyle', i, true),
						set_config('extra_float_digits', f::text, true);
				style := d || ' / ' || i || ' / ' || f;
				SELECT count(*) INTO differ FROM eng_values AS v
				WHERE NOT (v.e::text::lead_gen.engagement OPERATOR(lead_gen.=) v.e);
				RETURN NEXT;
			END LOOP;
		END LOOP;
	END LOOP;
END $$;
SELECT count(*) AS styles, sum(differ) AS values_that_do_not_read_back FROM pg_temp.text_round_trips();
DO $$
BEGIN
	EXECUTE format('COPY (SELECT id, e FROM eng_values) TO %L WITH (FORMAT binary)',
				   current_setting('data_directory') || '/lead_gen_engagement.copy');
END $$;
CREATE TEMP TABLE eng_read (id int, e lead_gen.engagement);
DO $$
BEGIN
	EXECUTE format('COPY eng_read FROM %L WITH (FORMAT binary)',
				   current_setting('data_directory') || '/lead_gen_engagement.copy');
END $$;
SELECT count(*) AS read, count(*) FILTER (WHERE NOT (r.e OPERATOR(lead_gen.=) v.e)) AS differ,
	   count(*) FILTER (WHERE lead_gen.engagement_send(r.e) <> lead_gen.engagement_send(v.e)) AS bytes_differ
FROM eng_read AS r JOIN eng_values AS v USING (id);
-- the oracle sees a difference of one microsecond, or one unit in the last place
SELECT count(*) FILTER (WHERE v.e OPERATOR(lead_gen.=) lead_gen.engagement(lead_gen.engagement_value(v.e, lead_gen.engagement_as_of(v.e)),
	lead_gen.engagement_as_of(v.e) + interval '1 microsecond', lead_gen.engagement_half_life(v.e))) AS time_moved_unseen,
	   count(*) FILTER (WHERE v.e OPERATOR(lead_gen.=) lead_gen.engagement(lead_gen.engagement_value(v.e, lead_gen.engagement_as_of(v.e)) * (1 + 2.3e-16),
		   lead_gen.engagement_as_of(v.e), lead_gen.engagement_half_life(v.e))) AS value_moved_unseen
FROM eng_values AS v WHERE v.id > 0;
