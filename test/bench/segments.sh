#!/usr/bin/env bash
# Segment comparisons; run by test/bench/run inside its throwaway cluster,
# after scoring.sh (its leads and activity).
#   segments.sh LEADS PGBENCH_SECONDS
set -euo pipefail
cd "$(dirname "$0")"
leads=$1 secs=$2
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
line() { q -At -c "$1"; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
q -f segments_defs.sql

# 1. Building a segment: create_segment() (members, history, next changes)
# against the plain INSERT ... SELECT of the same leads, and the floor: the
# same plain query with its activity tests dropped (one pass over the leads).
line "CREATE TABLE IF NOT EXISTS bench.members (lead_id bigint)"
build() {
	line "SELECT extract(epoch FROM clock_timestamp() - now()) FROM (SELECT lead_gen.create_segment('b_build', criteria) FROM bench.seg WHERE name = '$1') x"
}
plain() {
	line "TRUNCATE bench.members" >/dev/null
	line "SELECT extract(epoch FROM clock_timestamp() - now()) FROM (SELECT 1) x, LATERAL (SELECT bench.run('INSERT INTO bench.members SELECT l.lead_id FROM lead_gen.lead l WHERE ' || plain) FROM bench.seg WHERE name = '$1') y"
}
line "CREATE OR REPLACE FUNCTION bench.run(sql text) RETURNS void LANGUAGE plpgsql AS \$\$ BEGIN EXECUTE sql; END \$\$" >/dev/null
for s in b_hubspot_saas b_eu_readers b_no_demo_big b_active_today; do
	ours=() base=()
	for i in 1 2 3; do
		ours+=("$(build "$s")")
		line "SELECT lead_gen.drop_segment('b_build')" >/dev/null
		base+=("$(plain "$s")")
	done
	n=$(line "SELECT count(*) FROM bench.members")
	awk -v a="$(median "${ours[@]}")" -v b="$(median "${base[@]}")" -v s="$s" -v n="$n" \
		'BEGIN { printf "segment build %s (%d members): lead_gen %.3fs, plain INSERT ... SELECT %.3fs, ratio %.2fx\n", s, n, a, b, b / a }'
done
floor=$(line "SELECT bench.median_seconds(\$q\$SELECT count(*) FROM lead_gen.lead l WHERE l.attributes->>'tech_stack' = 'hubspot' AND l.industry = 'saas'\$q\$, 3)")
awk -v f="$floor" 'BEGIN { printf "segment build floor (one pass over the leads, static tests only): %.3fs\n", f }'

# 2. Activity inserts with the twenty live segments against none
# (alternated, median of three each), and the floor of a membership kept in
# the same transaction: with no segments, each insert also writes one member
# row and one history row in plain SQL (tables of the same shape and
# indexes, no triggers).
tps() {
	pgbench -n -c 2 -j 2 -T "$secs" -D leads="$leads" -f "${1:-activity_insert.pgbench}" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1
}
line "SET client_min_messages = warning; DROP TABLE IF EXISTS bench.member_floor, bench.history_floor" >/dev/null
line "CREATE TABLE bench.member_floor (LIKE lead_gen.segment_member INCLUDING DEFAULTS INCLUDING INDEXES)" >/dev/null
line "CREATE TABLE bench.history_floor (LIKE lead_gen.segment_history INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING INDEXES)" >/dev/null
t0=$(date +%s.%N)
line "SELECT count(lead_gen.create_segment(name, criteria)) FROM bench.seg" >/dev/null
t1=$(date +%s.%N)
members=$(line "SELECT count(*) FROM lead_gen.segment_member")
awk -v a="$t0" -v b="$t1" -v m="$members" 'BEGIN { printf "twenty live segments built in %.1fs (%d memberships)\n", b - a, m }'
with=() without=() floor=()
changes_before=$(line "SELECT count(*) FROM lead_gen.segment_history")
for i in 1 2 3; do
	with+=("$(tps)")
	line "UPDATE lead_gen.segment SET live = false, criteria = NULL WHERE name LIKE 'b\_%'" >/dev/null
	without+=("$(tps)")
	floor+=("$(tps activity_insert_floor.pgbench)")
	line "UPDATE lead_gen.segment s SET live = true, criteria = b.criteria::lead_gen.condition FROM bench.seg b WHERE b.name = s.name" >/dev/null
done
changes=$(( $(line "SELECT count(*) FROM lead_gen.segment_history") - changes_before ))
inserts=$(awk -v a="${with[0]}" -v b="${with[1]}" -v c="${with[2]}" -v s="$secs" 'BEGIN { printf "%d", (a + b + c) * s }')
awk -v a="$(median "${with[@]}")" -v b="$(median "${without[@]}")" -v c="$changes" -v n="$inserts" \
	'BEGIN { printf "activity insert (pgbench, 2 clients): 20 live segments %.0f tps, none %.0f tps, cost %.2fx (goal <= 1.2x; %.2f membership changes per insert)\n", a, b, b / a, c / n }'
awk -v a="$(median "${with[@]}")" -v f="$(median "${floor[@]}")" \
	'BEGIN { printf "activity insert floor (no segments, one member row and one history row written per insert in plain SQL): %.0f tps; 20 live segments cost %.2fx the floor\n", f, f / a }'

# 3. The scheduled job when 1% of the leads are due (their next_change_at
# set to the past, triggers bypassed) against recomputing all twenty
# segments in plain SQL.
q -c "DO \$\$ DECLARE n bigint; BEGIN CALL lead_gen.rescore(1000, n); END \$\$" >/dev/null
line "CREATE TABLE IF NOT EXISTS bench.plain_members (name text, lead_id bigint)" >/dev/null
job=() for_all=()
for i in 1 2 3; do
	q -c "SET session_replication_role = replica; UPDATE lead_gen.lead SET next_change_at = now() - interval '1 second' WHERE lead_id % 100 = $i" >/dev/null
	t0=$(date +%s.%N)
	q -c "DO \$\$ DECLARE n bigint; BEGIN CALL lead_gen.rescore(1000, n); END \$\$" >/dev/null
	t1=$(date +%s.%N)
	job+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
done
changed=$(line "SELECT count(*) FROM lead_gen.segment_history WHERE cause = 'rescore'")
t0=$(date +%s.%N)
line "TRUNCATE bench.plain_members; SELECT count(bench.run(format('INSERT INTO bench.plain_members SELECT %L, l.lead_id FROM lead_gen.lead l WHERE %s', name, plain))) FROM bench.seg" >/dev/null
t1=$(date +%s.%N)
awk -v a="$(median "${job[@]}")" -v t0="$t0" -v t1="$t1" -v n="$((leads / 100))" -v c="$changed" \
	'BEGIN { printf "scheduled job, %d leads due (1%%): rescore() %.3fs, recomputing 20 segments in plain SQL %.3fs, ratio %.1fx (goal >= 100x; %d memberships changed by the job)\n", n, a, t1 - t0, (t1 - t0) / a, c }'
agree=$(line "SELECT count(*) FROM (SELECT s.name, m.lead_id FROM lead_gen.segment_member m JOIN lead_gen.segment s USING (segment_id) WHERE s.live EXCEPT SELECT name, lead_id FROM bench.plain_members) x")
echo "segment members lead_gen has that the plain SQL does not: $agree (stored temperature and score differ from now's)"
