#!/usr/bin/env bash
# Capture and identity comparisons; run by test/bench/run inside its
# throwaway cluster, after the scoring benchmark (the leads and activity are
# there).
#   identity.sh LEADS PGBENCH_SECONDS
set -euo pipefail
cd "$(dirname "$0")"
leads=$1 secs=$2
visitors=$(( leads / 2 ))
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Half the visitors are anonymous, half are leads' (one visitor per lead).
q -c "
INSERT INTO lead_gen.visitor (visitor, lead_id, first_seen_at, last_seen_at)
SELECT 'v' || g, CASE WHEN g % 2 = 0 THEN g END, now() - interval '30 days', now() - interval '30 days'
FROM generate_series(1, $visitors) AS g;
CREATE UNLOGGED TABLE bench.plain_visit (visitor text, kind text, occurred_at timestamptz DEFAULT now(), properties jsonb DEFAULT '{}');"
q -c "VACUUM ANALYZE lead_gen.visitor"

tps() {
	pgbench -n -c 2 -j 2 -T "$secs" -D visitors="$visitors" -f "$1" 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1
}
script() { printf '\\set v random(1, :visitors)\n%s\n' "$2" >"$work/$1.pgbench"; echo "$work/$1.pgbench"; }

# An anonymous visit: track() against the two statements a user would write
# (keep the visitor, keep the visit), and against one INSERT into a table
# with no index, key or trigger (the floor).
anon=$(tps "$(script anon "SELECT lead_gen.track('v' || (:v * 2 - 1), 'page_view');")")
user=$(tps "$(script user "INSERT INTO lead_gen.visitor AS x (visitor) VALUES ('v' || (:v * 2 - 1)) ON CONFLICT (visitor) DO UPDATE SET last_seen_at = greatest(x.last_seen_at, excluded.last_seen_at) RETURNING lead_id;
INSERT INTO lead_gen.visitor_activity (visitor, kind) VALUES ('v' || (:v * 2 - 1), 'page_view');")")
floor=$(tps "$(script floor "INSERT INTO bench.plain_visit (visitor, kind) VALUES ('v' || (:v * 2 - 1), 'page_view');")")
awk -v a="$anon" -v b="$user" 'BEGIN { printf "anonymous visit (pgbench, 2 clients): track() %.0f tps, plain SQL upsert and insert %.0f tps, ratio %.2fx\n", a, b, a / b }'
awk -v a="$anon" -v b="$floor" 'BEGIN { printf "anonymous visit (pgbench, 2 clients): track() %.0f tps, insert into a bare table %.0f tps, ratio %.2fx\n", a, b, a / b }'

# A known visitor's visit: track() finds the lead and scores the visit,
# against the caller who already knows the lead id inserting the activity.
known=$(tps "$(script known "SELECT lead_gen.track('v' || (:v * 2), 'page_view');")")
direct=$(tps "$(script direct "INSERT INTO lead_gen.activity (lead_id, kind) VALUES (:v * 2, 'page_view');")")
awk -v a="$known" -v b="$direct" 'BEGIN { printf "identified visit (pgbench, 2 clients): track() %.0f tps, insert into activity by lead id %.0f tps, ratio %.2fx\n", a, b, a / b }'

# Identifying a visitor with 1,000 anonymous visits: identify() against the
# plain SQL a user would write for the same (move the visits with DELETE ...
# RETURNING into activity, link the visitor), each on a fresh visitor.
q -c "
CREATE OR REPLACE FUNCTION bench.time_identify(name text, lead bigint, plain boolean) RETURNS float8
LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz;
BEGIN
	INSERT INTO lead_gen.visitor (visitor) VALUES (name);
	INSERT INTO lead_gen.visitor_activity (visitor, kind, occurred_at)
	SELECT name, (ARRAY['page_view', 'content_download', 'webinar'])[1 + g % 3], now() - g * interval '1 minute'
	FROM generate_series(1, 1000) AS g;
	t0 := clock_timestamp();
	IF plain THEN
		WITH moved AS (DELETE FROM lead_gen.visitor_activity AS a WHERE a.visitor = name
					   RETURNING a.kind, a.occurred_at, a.properties)
		INSERT INTO lead_gen.activity (lead_id, kind, occurred_at, properties)
		SELECT lead, m.kind, m.occurred_at, m.properties FROM moved AS m;
		UPDATE lead_gen.visitor AS v SET lead_id = lead WHERE v.visitor = name;
	ELSE
		PERFORM lead_gen.identify(name, lead);
	END IF;
	RETURN extract(epoch FROM clock_timestamp() - t0);
END \$\$;"
line() { q -At -c "$1"; }
ours=() plain=()
for i in 1 2 3 4 5; do
	ours+=("$(line "SELECT bench.time_identify('id-a$i', $i * 3 + 1, false)")")
	plain+=("$(line "SELECT bench.time_identify('id-p$i', $i * 3 + 2, true)")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
awk -v a="$(median "${ours[@]}")" -v b="$(median "${plain[@]}")" \
	'BEGIN { printf "identify a visitor with 1000 visits: identify() %.4fs, plain SQL move %.4fs, ratio %.2fx\n", a, b, b / a }'
