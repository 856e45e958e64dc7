#!/usr/bin/env bash
# Predictive models; run by test/bench/run inside its throwaway cluster, in a
# database of its own (models_bench) with leads old enough to have outcomes.
#   models.sh LEADS
# 1. train_model with 20 features at LEADS / 10 and at LEADS leads, against
#    the floor: the query that reads the training data alone.
# 2. The cost the prediction trigger adds to a lead update (a kept model of
#    the 20 features, four of them activity counts, against none).
# 3. conversion_lift over six facts against the plain GROUP BY per fact a
#    user would write (rates only, no intervals), and its floor.
set -euo pipefail
cd "$(dirname "$0")"
leads=$1
small=$((leads / 10))
db=models_bench
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }
line() { q -At -c "$1"; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
secs() { line "SELECT extract(epoch FROM clock_timestamp() - now()) FROM ($1) AS x"; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
q -c 'CREATE EXTENSION lead_gen CASCADE' -f lib.sql

# Leads from 200 to 600 days ago with firmographics, attributes and early
# activity; who became a customer follows a known logistic model of them.
gen() {
	q -v from="$1" -v to="$2" <<'SQL'
SELECT setseed(0.31);
INSERT INTO lead_gen.lead (lead_id, email, job_title, seniority, decision_maker, industry, employees, annual_revenue,
						   country, city, source_channel, consent, authority, budget, attributes, created_at)
SELECT g, 'm' || g || '@' || (ARRAY['acme', 'globex', 'initech', 'umbrella', 'hooli', 'gmail'])[1 + (hashint8(g * 3) & 65535) % 6] || '.example',
	   (ARRAY['VP Sales', 'Marketing Manager', 'Head of Growth', 'Data Analyst', 'CEO', 'Intern'])[1 + (hashint8(g * 7) & 65535) % 6],
	   (ARRAY['vp', 'manager', 'director', 'mid', 'c_level', 'intern'])[1 + (hashint8(g * 11) & 65535) % 6]::lead_gen.seniority_level,
	   (hashint8(g * 13) & 65535) % 3 = 0,
	   (ARRAY['saas', 'fintech', 'healthcare', 'retail', 'manufacturing', 'education', 'media', 'logistics'])[1 + (hashint8(g * 17) & 65535) % 8],
	   (ARRAY[3, 12, 45, 80, 250, 900, 3000, 12000])[1 + (hashint8(g * 19) & 65535) % 8],
	   CASE WHEN (hashint8(g * 5) & 65535) % 10 <> 0 THEN ((hashint8(g * 31) & 65535) % 1000) * 100000 END,
	   (ARRAY['US', 'CA', 'GB', 'DE', 'FR', 'NL', 'IN', 'BR', 'JP', 'AU'])[1 + (hashint8(g * 23) & 65535) % 10],
	   'City ' || (hashint8(g * 29) & 65535) % 120,
	   (ARRAY['content', 'social', 'search', 'email', 'paid', 'event', 'referral', 'landing_page'])[1 + (hashint8(g * 37) & 65535) % 8],
	   (ARRAY['subscribed', 'unknown', 'unsubscribed'])[1 + (hashint8(g * 41) & 65535) % 3]::lead_gen.consent_status,
	   CASE WHEN (hashint8(g * 67) & 65535) % 4 <> 0 THEN (hashint8(g * 43) & 65535) % 2 = 0 END,
	   CASE WHEN (hashint8(g * 71) & 65535) % 3 = 0 THEN ((hashint8(g * 47) & 65535) % 200) * 1000 END,
	   jsonb_build_object('tech_stack', (ARRAY['salesforce', 'hubspot', 'pipedrive', 'zoho', 'none'])[1 + (hashint8(g * 53) & 65535) % 5],
						  'plan', (ARRAY['free', 'trial', 'pro', 'enterprise'])[1 + (hashint8(g * 59) & 65535) % 4],
						  'usage', round((random() * 100)::numeric, 1), 'nps', floor(random() * 11)),
	   now() - (200 + (hashint8(g * 61) & 65535) % 400) * interval '1 day'
FROM generate_series(:from, :to) AS g;
INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
SELECT l.lead_id, k.kind, l.created_at + (1 + (l.lead_id * k.n) % 25) * interval '1 day'
FROM lead_gen.lead AS l,
	 (VALUES ('webinar', 3), ('content_download', 5), ('page_view', 7), ('demo_request', 11), ('page_view', 13)) AS k(kind, n)
WHERE l.lead_id BETWEEN :from AND :to
  AND (hashint8(l.lead_id * 31 + k.n) & 1023) / 1024.0 < CASE k.kind WHEN 'page_view' THEN 0.6 WHEN 'demo_request' THEN 0.08 ELSE 0.25 END;
SET lead_gen.stage_reason = 'closed';
UPDATE lead_gen.lead AS l SET stage = 'customer'
FROM (SELECT x.lead_id,
			 -3.2 + CASE x.industry WHEN 'saas' THEN 1.0 WHEN 'fintech' THEN 0.7 WHEN 'retail' THEN -0.5 ELSE 0 END
			 + 0.15 * ln(x.employees) + CASE WHEN x.decision_maker THEN 0.4 ELSE 0 END
			 + CASE x.attributes->>'plan' WHEN 'enterprise' THEN 0.9 WHEN 'pro' THEN 0.5 ELSE 0 END
			 + 0.01 * (x.attributes->>'usage')::float8
			 + 0.8 * (SELECT count(*) FROM lead_gen.activity AS a WHERE a.lead_id = x.lead_id AND a.kind = 'webinar')
			 + 1.2 * (SELECT count(*) FROM lead_gen.activity AS a WHERE a.lead_id = x.lead_id AND a.kind = 'demo_request') AS logit
	  FROM lead_gen.lead AS x WHERE x.lead_id BETWEEN :from AND :to) AS t
WHERE l.lead_id = t.lead_id AND random() < 1 / (1 + exp(-t.logit));
SQL
	q -c 'VACUUM ANALYZE lead_gen.lead, lead_gen.activity'
}

features="ARRAY['industry', 'country', 'seniority', 'job_title', 'decision_maker', 'source_channel', 'consent',
	'authority', 'city', 'email_domain', 'employees', 'annual_revenue', 'budget', 'attributes.tech_stack',
	'attributes.plan', 'attributes.usage', 'attributes.nps', 'count(webinar in first 30 days)',
	'count(content_download in first 30 days)', 'count(demo_request in first 30 days)']"
# the training data alone: what model_train() reads, as one query (its
# results used, or the planner would drop the join and the sums)
floor_query="SELECT count(*), sum(length(l.industry || l.country || l.seniority || coalesce(l.job_title, '') || l.source_channel
		|| l.consent || l.city || l.email || coalesce(l.employees, 0) || coalesce(l.annual_revenue, 0) || coalesce(l.budget, 0)
		|| l.attributes::text || coalesce(c.c1, 0) || coalesce(c.c2, 0) || coalesce(c.c3, 0)))
	FROM lead_gen.lead AS l
	LEFT JOIN (SELECT a.lead_id, count(*) FILTER (WHERE a.kind = 'webinar' AND a.occurred_at < x.created_at + interval '30 days') AS c1,
					  count(*) FILTER (WHERE a.kind = 'content_download' AND a.occurred_at < x.created_at + interval '30 days') AS c2,
					  count(*) FILTER (WHERE a.kind = 'demo_request' AND a.occurred_at < x.created_at + interval '30 days') AS c3
			   FROM lead_gen.activity AS a JOIN lead_gen.lead AS x ON x.lead_id = a.lead_id GROUP BY a.lead_id) AS c
	  ON c.lead_id = l.lead_id
	WHERE l.forgotten_at IS NULL"

train() {
	local n=$1 ours=() floor=()
	for i in 1 2 3; do
		ours+=("$(secs "SELECT lead_gen.train_model('bench_$n', $features)")")
		floor+=("$(secs "SELECT * FROM ($floor_query) AS f WHERE f IS NOT NULL")")
	done
	local report
	report=$(line "SELECT train_leads || ' trained, ' || measured_leads || ' measured, AUC ' || round(auc::numeric, 3)
				  || ', Brier ' || round(brier::numeric, 4) || ', ' || iterations || ' Newton steps, '
				  || (SELECT count(*) FROM lead_gen.model_term WHERE model_id = lead_gen.model_id('bench_$n')) || ' terms'
				  FROM lead_gen.model_report('bench_$n')")
	awk -v a="$(median "${ours[@]}")" -v f="$(median "${floor[@]}")" -v n="$n" -v r="$report" \
		'BEGIN { printf "train_model, %d leads, 20 features: lead_gen %.2fs (goal at 1,000,000: < 60s), reading the training data alone %.2fs, %.2fx the floor (%s)\n", n, a, f, a / f, r }'
}

gen 1 "$small"
train "$small"
gen $((small + 1)) "$leads"
train "$leads"
line "SELECT 'data: ' || count(*) || ' leads, ' || count(*) FILTER (WHERE stage = 'customer') || ' customers, '
	|| (SELECT count(*) FROM lead_gen.activity) || ' activities' FROM lead_gen.lead"

# 2. A lead update (a profile edit of a fact the model reads), with a model
# kept on every lead against none.
update="UPDATE lead_gen.lead SET employees = employees + 1 WHERE lead_id % 100 = 7"
# trigger_cost MODEL WHAT: the update with MODEL kept against none, alternated
trigger_cost() {
	local kept=() none=()
	line "SELECT lead_gen.keep_prediction('$1')" >/dev/null
	for i in 1 2 3 4 5; do
		kept+=("$(secs "SELECT bench.median_seconds('$update', 1)")")
		line "SELECT lead_gen.keep_prediction(NULL)" >/dev/null
		none+=("$(secs "SELECT bench.median_seconds('$update', 1)")")
		line "SELECT lead_gen.keep_prediction('$1')" >/dev/null
	done
	awk -v a="$(median "${kept[@]}")" -v b="$(median "${none[@]}")" -v n="$((leads / 100))" -v w="$2" \
		'BEGIN { printf "lead update (%d leads, one fact each): kept %s %.3fs, none %.3fs, the prediction trigger costs %.1f%% (goal < 10%%)\n", n, w, a / 2, b / 2, (a / b - 1) * 100 }'
}
trigger_cost "bench_$leads" "model of the 20 features (3 activity counts)"
# the same with a model of the 17 lead facts alone (no activity to count)
line "SELECT lead_gen.train_model('bench_facts', ARRAY['industry', 'country', 'seniority', 'job_title', 'decision_maker',
	'source_channel', 'consent', 'authority', 'city', 'email_domain', 'employees', 'annual_revenue', 'budget',
	'attributes.tech_stack', 'attributes.plan', 'attributes.usage', 'attributes.nps'])" >/dev/null
trigger_cost bench_facts "model of the 17 lead facts (no counts)"
keep=$(secs "SELECT lead_gen.keep_prediction('bench_$leads')")

# 3. conversion_lift over six facts against the plain GROUP BY per fact
facts="ARRAY['industry', 'country', 'source_channel', 'attributes.plan', 'activity(webinar)', 'activity(demo_request)']"
plain="SELECT * FROM (
	SELECT 'industry' AS fact, industry AS value, count(*) AS leads, avg((peak_stage >= 'customer')::int) AS rate FROM lead_gen.lead GROUP BY industry
	UNION ALL SELECT 'country', country, count(*), avg((peak_stage >= 'customer')::int) FROM lead_gen.lead GROUP BY country
	UNION ALL SELECT 'source_channel', source_channel, count(*), avg((peak_stage >= 'customer')::int) FROM lead_gen.lead GROUP BY source_channel
	UNION ALL SELECT 'plan', attributes->>'plan', count(*), avg((peak_stage >= 'customer')::int) FROM lead_gen.lead GROUP BY attributes->>'plan'
	UNION ALL SELECT 'webinar', (lead_id IN (SELECT lead_id FROM lead_gen.activity WHERE kind = 'webinar'))::text, count(*),
		avg((peak_stage >= 'customer')::int) FROM lead_gen.lead GROUP BY 2
	UNION ALL SELECT 'demo_request', (lead_id IN (SELECT lead_id FROM lead_gen.activity WHERE kind = 'demo_request'))::text, count(*),
		avg((peak_stage >= 'customer')::int) FROM lead_gen.lead GROUP BY 2) AS x ORDER BY rate DESC"
line "SELECT bench.compare('conversion_lift, $leads leads, six facts (with lift and Wilson intervals)',
	\$q\$SELECT count(*) FROM lead_gen.conversion_lift($facts)\$q\$,
	'plain GROUP BY per fact (rates only)', \$q\$SELECT count(*) FROM ($plain) AS p\$q\$, 3)"
line "SELECT 'conversion_lift floor (one pass counting the leads of each value of the four lead facts, no activity, no rates): '
	|| round(bench.median_seconds(\$q\$SELECT count(*) FROM (SELECT count(*) FROM lead_gen.lead AS l
		GROUP BY GROUPING SETS ((l.industry), (l.country), (l.source_channel), (l.attributes->>'plan'))) AS x\$q\$, 3)::numeric, 3) || 's'"
line "SELECT 'strongest lifts: ' || string_agg(fact || '=' || value || ' ' || round(lift::numeric, 2) || 'x', ', ')
	FROM (SELECT * FROM lead_gen.conversion_lift($facts) LIMIT 3) AS x"
awk -v k="$keep" 'BEGIN { printf "keep_prediction (every lead refreshed under the 20-feature model): %.1fs\n", k }'
psql -X -q -d postgres -c "DROP DATABASE $db"
