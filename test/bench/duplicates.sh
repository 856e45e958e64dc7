#!/usr/bin/env bash
# Finding duplicates: precision and recall of duplicate_candidates() on
# generated leads with injected duplicates of known kinds, and its speed
# against the self-joins a user would write with pg_trgm.  Run by
# test/bench/run inside its throwaway cluster, in databases of its own.
#   duplicates.sh LEADS
# (also the merge of two leads with 10,000 activities each)
set -euo pipefail
cd "$(dirname "$0")"
leads=$1
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
quality_base=${QUALITY_BASE:-100000}

setup_db() {
	q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
	q -d "$1" -c 'CREATE EXTENSION lead_gen CASCADE'
	q -d "$1" -v base="$2" -f duplicates_data.sql
}

# Quality: every candidate pair at a threshold against the injected truth.
setup_db dup_quality $quality_base
q -d dup_quality -At -F ' ' -c "
	CREATE TEMP TABLE found AS SELECT lead_a, lead_b, score FROM lead_gen.duplicate_candidates(0.5);
	SELECT format('duplicates at min_score %s over %s leads (%s injected): precision %s, recall %s (found %s, right %s)',
				  t, (SELECT count(*) FROM lead_gen.lead), (SELECT count(*) FROM dup_truth),
				  round(right_ones::numeric / nullif(found, 0), 4), round(right_ones::numeric / (SELECT count(*) FROM dup_truth), 4),
				  found, right_ones)
	FROM (SELECT t, count(*) FILTER (WHERE f.score >= t) AS found,
				 count(*) FILTER (WHERE f.score >= t AND d.kind IS NOT NULL) AS right_ones
		  FROM unnest(ARRAY[0.7, 0.8, 0.9]) AS t CROSS JOIN found AS f
		  LEFT JOIN dup_truth AS d ON d.lead_a = f.lead_a AND d.lead_b = f.lead_b
		  GROUP BY t) AS x ORDER BY t;
	SELECT format('  recall of kind %s at 0.8: %s of %s', d.kind,
				  round((count(*) FILTER (WHERE f.score >= 0.8))::numeric / count(*), 4), count(*))
	FROM dup_truth AS d LEFT JOIN found AS f USING (lead_a, lead_b)
	GROUP BY d.kind ORDER BY d.kind;"

# Speed: all candidates over about LEADS leads, against the naive self-join
# (one similarity() per pair of leads) and the self-join through pg_trgm's
# index (one index probe per lead), both measured on a sample of leads and
# extrapolated to all, and against the floor: one pass computing the keys.
db=dup_quality
if [ "$leads" -gt $((quality_base * 11 / 10)) ]; then
	db=dup_speed
	setup_db dup_speed $((leads * 10 / 11))
fi
n=$(q -d $db -At -c 'SELECT count(*) FROM lead_gen.lead')
naive_sample=$(( 20000000 / n + 1 ))		# about 20 million pairs
index_sample=$(( 200000000 / n + 1 ))		# about 2,000 probes at 100,000 leads
q -d $db -At -c "
CREATE FUNCTION pg_temp.seconds(sql text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE sql;
	RETURN extract(epoch FROM clock_timestamp() - t0);
END \$\$;
CREATE INDEX bench_name_trgm ON lead_gen.lead USING gin ((first_name || ' ' || last_name) gin_trgm_ops);
SET pg_trgm.similarity_threshold = 0.5;
WITH n AS (SELECT count(*)::float8 AS n FROM lead_gen.lead),
	 ours AS (SELECT pg_temp.seconds('SELECT count(*) FROM lead_gen.duplicate_candidates()') AS t),
	 floor AS (SELECT pg_temp.seconds('SELECT count(lead_gen.normalized_mailbox(email)), count(lead_gen.normalized_phone(phone)),
										count(lead_gen.normalized_company(company_name)), count(lead_gen.normalized_name(first_name, last_name))
									   FROM lead_gen.lead') AS t),
	 naive AS (SELECT pg_temp.seconds('SELECT count(*) FROM lead_gen.lead AS a JOIN lead_gen.lead AS b ON b.lead_id > a.lead_id
		WHERE a.lead_id <= $naive_sample AND (lower(a.email) = lower(b.email)
		   OR regexp_replace(a.phone, ''[^0-9]'', '''', ''g'') = regexp_replace(b.phone, ''[^0-9]'', '''', ''g'')
		   OR (lower(a.company_name) = lower(b.company_name)
			   AND similarity(a.first_name || '' '' || a.last_name, b.first_name || '' '' || b.last_name) > 0.5))') AS t,
			  (SELECT count(*) FROM lead_gen.lead WHERE lead_id <= $naive_sample) AS sample),
	 indexed AS (SELECT pg_temp.seconds('SELECT count(*) FROM lead_gen.lead AS a JOIN lead_gen.lead AS b
		ON (b.first_name || '' '' || b.last_name) % (a.first_name || '' '' || a.last_name)
		   AND b.lead_id > a.lead_id AND lower(b.company_name) = lower(a.company_name)
		WHERE a.lead_id <= $index_sample') AS t,
			  (SELECT count(*) FROM lead_gen.lead WHERE lead_id <= $index_sample) AS sample)
SELECT format('duplicate_candidates() over %s leads: %ss; naive similarity() self-join %ss (%s leads of %s measured, %s pairs, extrapolated to all %s pairs), ratio %sx',
			  n.n, round(ours.t::numeric, 2), round((naive.t * (n.n * (n.n - 1) / 2) / (naive.sample * n.n - naive.sample * (naive.sample + 1) / 2.0))::numeric, 0),
			  naive.sample, n.n, (naive.sample * n.n - naive.sample * (naive.sample + 1) / 2.0)::bigint, (n.n * (n.n - 1) / 2)::bigint,
			  round((naive.t * (n.n * (n.n - 1) / 2) / (naive.sample * n.n - naive.sample * (naive.sample + 1) / 2.0) / ours.t)::numeric, 1))
	   || E'\n' ||
	   format('duplicate_candidates() over %s leads: %ss; self-join through pg_trgm''s GIN index %ss (%s probes measured, extrapolated), ratio %sx',
			  n.n, round(ours.t::numeric, 2), round((indexed.t * n.n / indexed.sample)::numeric, 1), indexed.sample,
			  round((indexed.t * n.n / indexed.sample / ours.t)::numeric, 2))
	   || E'\n' ||
	   format('duplicate_candidates() over %s leads: %ss; the floor (one pass computing the keys) %ss, ratio %sx',
			  n.n, round(ours.t::numeric, 2), round(floor.t::numeric, 2), round((floor.t / ours.t)::numeric, 2))
FROM n, ours, floor, naive, indexed;"

# Merging two leads with 10,000 activities each: merge_leads() against the
# plain statements a user would write (move the activity, the history, the
# visitors, fill the winner's empty fields, delete the loser), on lead_gen's
# tables, and against the floor: the same UPDATE of 20,000 rows' lead id in
# a table with no index or trigger.  Each on a fresh pair, 5 times, median.
q -d dup_quality -c "
CREATE TABLE bench_bare_activity AS SELECT * FROM lead_gen.activity LIMIT 0;
CREATE FUNCTION bench_merge(how text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE w bigint; l bigint; t0 timestamptz;
BEGIN
	INSERT INTO lead_gen.lead (email, first_name, company_name) VALUES ('w' || (extract(epoch FROM clock_timestamp()) * 1e6)::bigint || '@merge.example', 'Wen', 'Merge')
	RETURNING lead_id INTO w;
	INSERT INTO lead_gen.lead (email, last_name, phone, company_name) VALUES ('l' || (extract(epoch FROM clock_timestamp()) * 1e6)::bigint || '@merge.example', 'Lo', '+1 555 0100 00', 'Merge')
	RETURNING lead_id INTO l;
	INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
	SELECT CASE WHEN g % 2 = 0 THEN w ELSE l END, (ARRAY['page_view', 'email_open', 'webinar', 'call'])[1 + g % 4],
		   now() - g * interval '1 minute'
	FROM generate_series(1, 20000) AS g;
	IF how = 'bare' THEN
		INSERT INTO bench_bare_activity SELECT * FROM lead_gen.activity WHERE lead_id IN (w, l);
	END IF;
	t0 := clock_timestamp();
	IF how = 'lead_gen' THEN
		PERFORM lead_gen.merge_leads(w, l);
	ELSIF how = 'plain' THEN
		UPDATE lead_gen.activity SET lead_id = w WHERE lead_id = l;
		UPDATE lead_gen.stage_change SET lead_id = w WHERE lead_id = l;
		UPDATE lead_gen.visitor SET lead_id = w WHERE lead_id = l;
		UPDATE lead_gen.capture_submission SET lead_id = w WHERE lead_id = l;
		UPDATE lead_gen.lead AS x SET last_name = coalesce(x.last_name, y.last_name), phone = coalesce(x.phone, y.phone)
		FROM lead_gen.lead AS y WHERE x.lead_id = w AND y.lead_id = l;
		DELETE FROM lead_gen.lead WHERE lead_id = l;
	ELSE
		UPDATE bench_bare_activity SET lead_id = w WHERE lead_id = l;
	END IF;
	RETURN extract(epoch FROM clock_timestamp() - t0);
END \$\$;"
median() { sort -g | sed -n 3p; }
run() { for i in 1 2 3 4 5; do q -d dup_quality -At -c "SELECT bench_merge('$1')"; done | median; }
ours=$(run lead_gen) plain=$(run plain) bare=$(run bare)
awk -v a="$ours" -v b="$plain" 'BEGIN { printf "merging two leads of 10000 activities each: merge_leads() %.3fs, plain UPDATEs %.3fs, ratio %.2fx\n", a, b, b / a }'
awk -v a="$ours" -v b="$bare" 'BEGIN { printf "merging two leads of 10000 activities each: merge_leads() %.3fs, the floor (UPDATE of a bare table) %.3fs, ratio %.2fx\n", a, b, b / a }'
