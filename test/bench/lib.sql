-- Benchmark helpers: time a query by running it several times and taking
-- the median, and print one comparison line in the project's format.
CREATE SCHEMA IF NOT EXISTS bench;

CREATE OR REPLACE FUNCTION bench.median_seconds(query text, reps int DEFAULT 5)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	times float8[] := '{}';
BEGIN
	EXECUTE query;	-- warm the cache, not counted
	FOR i IN 1..reps LOOP
		t0 := clock_timestamp();
		EXECUTE query;
		times := times || extract(epoch FROM clock_timestamp() - t0)::float8;
	END LOOP;
	RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t);
END $$;

-- "<name>: lead_gen <s>s, <baseline> <s>s, ratio <r>x" (ratio > 1: lead_gen faster)
CREATE OR REPLACE FUNCTION bench.compare(name text, ours text, baseline_name text, baseline text,
										 reps int DEFAULT 5, ours_name text DEFAULT 'lead_gen')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	a float8 := bench.median_seconds(ours, reps);
	b float8 := bench.median_seconds(baseline, reps);
BEGIN
	RETURN format('%s: %s %ss, %s %ss, ratio %sx', name,
				  ours_name, round(a::numeric, 3), baseline_name, round(b::numeric, 3),
				  round((b / greatest(a, 1e-9))::numeric, 2));
END $$;

-- Wait (at most two minutes) until no other session holds a snapshot older
-- than the rows of a table just loaded, so that VACUUM can mark its pages
-- all-visible; true if none is left.
CREATE OR REPLACE FUNCTION bench.wait_for_older_snapshots(t regclass) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	loaded xid;
	deadline timestamptz := clock_timestamp() + interval '2 minutes';
BEGIN
	EXECUTE format('SELECT xmin FROM %s LIMIT 1', t) INTO loaded;
	LOOP
		IF NOT EXISTS (SELECT FROM pg_stat_activity
					   WHERE pid <> pg_backend_pid() AND backend_xmin IS NOT NULL
						 AND age(backend_xmin) >= age(loaded)) THEN
			RETURN true;
		END IF;
		EXIT WHEN clock_timestamp() > deadline;
		PERFORM pg_sleep(0.5);
	END LOOP;
	RETURN false;
END $$;
