#!/usr/bin/env bash
# Scoring comparisons; run by test/bench/run inside its throwaway cluster.
#   scoring.sh LEADS ACTIVITIES BULK PGBENCH_SECONDS
set -euo pipefail
cd "$(dirname "$0")"
leads=$1 activities=$2 bulk=$3 secs=$4
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
line() { q -At -c "$1"; }

echo "generating $activities activities"
q -v leads="$leads" -v activities="$activities" -f activities.sql >/dev/null
q -f plpgsql_trigger.sql

# Single-row inserts, pgbench with 2 clients: transactions per second.
tps() {
	pgbench -n -c 2 -j 2 -T "$secs" -D leads="$leads" -f activity_insert.pgbench 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1
}
trigger_off() { q -c "ALTER TABLE lead_gen.activity DISABLE TRIGGER activity_scored"; }
trigger_on() { q -c "ALTER TABLE lead_gen.activity ENABLE TRIGGER activity_scored"; }
plpgsql_on() { q -c "CREATE TRIGGER bench_plpgsql AFTER INSERT ON lead_gen.activity FOR EACH ROW EXECUTE FUNCTION bench.plpgsql_activity_scored()"; }
plpgsql_off() { q -c "DROP TRIGGER bench_plpgsql ON lead_gen.activity"; }

ours=$(tps)
trigger_off; none=$(tps)
plpgsql_on; plpgsql=$(tps); plpgsql_off; trigger_on
awk -v a="$ours" -v b="$none" 'BEGIN { printf "activity insert (pgbench, 2 clients): lead_gen %.0f tps, no trigger %.0f tps, ratio %.2fx\n", a, b, a / b }'
awk -v a="$ours" -v b="$plpgsql" 'BEGIN { printf "activity insert (pgbench, 2 clients): lead_gen %.0f tps, plpgsql trigger %.0f tps, ratio %.2fx\n", a, b, a / b }'

# The stage machine's cost on the same inserts when no stage changes: every
# lead sits at mql without BANT, so each insert evaluates thresholds, events
# and the BANT rule and moves nobody; against automatic moves off and the
# history/notification trigger disabled.  Alternated, median of three each.
q -c "SET session_replication_role = replica; UPDATE lead_gen.lead SET stage = 'mql', stage_changed_at = created_at WHERE stage <> 'mql'" >/dev/null
stage_before=$(line "SELECT count(*) FROM lead_gen.stage_change")
machine=() bare=()
for i in 1 2 3; do
	machine+=("$(tps)")
	q -c "ALTER TABLE lead_gen.lead DISABLE TRIGGER lead_changed"
	bare+=("$(PGOPTIONS='-c lead_gen.automatic_stage_moves=off' tps)")
	q -c "ALTER TABLE lead_gen.lead ENABLE TRIGGER lead_changed"
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
stage_moves=$(( $(line "SELECT count(*) FROM lead_gen.stage_change") - stage_before ))
awk -v a="$(median "${machine[@]}")" -v b="$(median "${bare[@]}")" -v m="$stage_moves" \
	'BEGIN { printf "activity insert, no stage change (pgbench, 2 clients): stage machine %.0f tps, without %.0f tps, overhead %.1f%% (target <= 10%%), stage changes %d\n", a, b, 100 * (b - a) / b, m }'

# Bulk insert: one INSERT ... SELECT of $bulk activities, with the statement
# trigger and with no trigger; each run's rows are removed (untimed).
line "
CREATE OR REPLACE FUNCTION bench.bulk(with_trigger boolean) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz; secs float8; first bigint;
BEGIN
	SELECT coalesce(max(activity_id), 0) + 1 INTO first FROM lead_gen.activity;
	IF NOT with_trigger THEN
		ALTER TABLE lead_gen.activity DISABLE TRIGGER activity_scored;
	END IF;
	t0 := clock_timestamp();
	INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
	SELECT 1 + (g * 7919) % $leads, (ARRAY['page_view', 'email_open', 'webinar', 'content_download'])[1 + g % 4],
		   now() - (g % 86400) * interval '1 second'
	FROM generate_series(1::bigint, $bulk) g;
	secs := extract(epoch FROM clock_timestamp() - t0);
	ALTER TABLE lead_gen.activity ENABLE TRIGGER activity_scored;
	ALTER TABLE lead_gen.activity DISABLE TRIGGER activity_rescored_after_delete;
	DELETE FROM lead_gen.activity WHERE activity_id >= first;
	ALTER TABLE lead_gen.activity ENABLE TRIGGER activity_rescored_after_delete;
	RETURN secs;
END \$\$;" >/dev/null
ours=() none=()
for i in 1 2 3; do
	ours+=("$(line "SELECT bench.bulk(true)")")
	q -c "VACUUM lead_gen.activity"
	none+=("$(line "SELECT bench.bulk(false)")")
	q -c "VACUUM lead_gen.activity"
done
awk -v a="$(median "${ours[@]}")" -v b="$(median "${none[@]}")" -v n="$bulk" \
	'BEGIN { printf "bulk insert of %d activities: lead_gen %.3fs, no trigger %.3fs, ratio %.2fx\n", n, a, b, b / a }'
q -c "CALL lead_gen.recompute_all(10000)" >/dev/null

# rescore() when 1% of leads are due, against the plain-SQL recompute of every
# lead from its activity (aggregate + UPDATE, on a table with no triggers).
q -f scoring_compare.sql -v leads="$leads"
