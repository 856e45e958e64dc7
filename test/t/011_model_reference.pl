# lead_gen's model against scikit-learn's: a data set with a known
# generating model (categorical and numeric facts, a count of activity,
# missing values; 25,000 leads), trained by train_model() and by
# LogisticRegression(C=1) on the same training leads, measured on the same
# holdout with scikit-learn's metrics.  lead_gen's AUC may be at most 0.005
# below scikit-learn's, its predictions must be calibrated (Brier score and
# log loss beside scikit-learn's), and, being the same model, the two must
# agree lead by lead.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $python = '/usr/bin/python3';
my $node = PostgreSQL::Test::Cluster->new('model_reference');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION lead_gen CASCADE;
SELECT setseed(0.19);
-- the facts
INSERT INTO lead_gen.lead (lead_id, email, industry, country, seniority, employees, annual_revenue, attributes, created_at)
SELECT g, 'r' || g || '@example.com',
	   (ARRAY['saas', 'fintech', 'retail', 'health', 'media', 'logistics'])[1 + floor(random() * 6)::int],
	   (ARRAY['US', 'GB', 'DE', 'FR', 'BR'])[1 + floor(random() * 5)::int],
	   (ARRAY['entry', 'manager', 'director', 'vp'])[1 + floor(random() * 4)::int]::lead_gen.seniority_level,
	   floor(exp(2 + random() * 6))::int,
	   CASE WHEN random() < 0.9 THEN round((random() * 50)::numeric, 1) * 1000000 END,
	   jsonb_build_object('plan', (ARRAY['free', 'trial', 'pro'])[1 + floor(random() * 3)::int],
						  'usage', round((random() * 100)::numeric, 2)),
	   now() - interval '400 days'
FROM generate_series(1, 25000) AS g;
-- early webinars: more for bigger companies
INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
SELECT l.lead_id, 'webinar', l.created_at + (k || ' days')::interval
FROM lead_gen.lead AS l, generate_series(1, 3) AS k
WHERE random() < 0.15 + 0.05 * ln(l.employees) / 8;
-- the known generating model
CREATE TABLE truth AS
SELECT l.lead_id,
	   -4.6 + CASE l.industry WHEN 'saas' THEN 1.2 WHEN 'fintech' THEN 0.8 WHEN 'retail' THEN -0.6 ELSE 0 END
	   + CASE l.country WHEN 'US' THEN 0.4 WHEN 'BR' THEN -0.5 ELSE 0 END
	   + CASE l.seniority WHEN 'vp' THEN 0.7 WHEN 'director' THEN 0.4 ELSE 0 END
	   + 0.35 * ln(l.employees)
	   + coalesce(0.02 * l.annual_revenue / 1000000, -0.3)
	   + CASE l.attributes->>'plan' WHEN 'pro' THEN 0.9 WHEN 'trial' THEN 0.3 ELSE 0 END
	   + 0.005 * (l.attributes->>'usage')::float8
	   + 0.6 * (SELECT count(*) FROM lead_gen.activity AS a WHERE a.lead_id = l.lead_id) AS logit
FROM lead_gen.lead AS l;
SET lead_gen.stage_reason = 'reference data';
UPDATE lead_gen.lead AS l SET stage = 'customer'
FROM truth AS t WHERE t.lead_id = l.lead_id AND random() < 1 / (1 + exp(-t.logit));
});
my $features = q{ARRAY['industry', 'country', 'seniority', 'employees', 'annual_revenue', 'attributes.plan',
	'attributes.usage', 'count(webinar in first 30 days)']};
my $t0 = time;
$node->safe_psql('postgres', "SELECT lead_gen.train_model('reference', $features)");
note(sprintf('lead_gen trained on 25,000 leads in %d s', time - $t0));
is($node->safe_psql('postgres', q{SELECT array_to_string(numeric, ',') FROM lead_gen.model WHERE name = 'reference'}),
   'f,f,f,t,t,f,t,t', 'sizes, revenue, usage and the count are numbers');
my ($customers, $leads) = split /\|/, $node->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE stage = 'customer'), count(*) FROM lead_gen.lead});
cmp_ok($customers, '>', 3000, "$customers of $leads leads became customers");

# the same facts, as plain SQL reads them, and lead_gen's prediction
my $csv = "$PostgreSQL::Test::Utils::tmp_check/model_reference.csv";
$node->safe_psql('postgres', qq{
COPY (SELECT l.lead_id, lead_gen.model_holdout(l.lead_id) AS holdout, l.stage = 'customer' AS label,
			 lead_gen.predict('reference', l.lead_id) AS prediction,
			 l.industry, l.country, l.seniority, l.employees, l.annual_revenue,
			 l.attributes->>'plan' AS plan, l.attributes->>'usage' AS usage,
			 (SELECT count(*) FROM lead_gen.activity AS a WHERE a.lead_id = l.lead_id
			  AND a.occurred_at < l.created_at + interval '30 days') AS webinars
	  FROM lead_gen.lead AS l ORDER BY l.lead_id) TO '$csv' WITH (FORMAT csv, HEADER)});

my ($out, $err) = ('', '');
IPC::Run::run([ $python, 'test/model_reference/sklearn_reference.py', $csv, 'f,f,f,t,t,f,t,t' ],
			  '>', \$out, '2>', \$err) or BAIL_OUT("sklearn_reference.py failed: $err");
my $r = decode_json($out);
note(sprintf('holdout %d leads: AUC lead_gen %.5f, scikit-learn %.5f; Brier lead_gen %.5f, scikit-learn %.5f; '
			 . 'log loss lead_gen %.5f, scikit-learn %.5f; largest difference of a prediction %.2g',
			 $r->{holdout}, $r->{lead_gen_auc}, $r->{sklearn_auc}, $r->{lead_gen_brier}, $r->{sklearn_brier},
			 $r->{lead_gen_log_loss}, $r->{sklearn_log_loss}, $r->{max_prediction_difference}));
diag(sprintf('AUC lead_gen %.5f vs scikit-learn %.5f; Brier %.5f vs %.5f',
			 $r->{lead_gen_auc}, $r->{sklearn_auc}, $r->{lead_gen_brier}, $r->{sklearn_brier}));

my $report = $node->safe_psql('postgres', q{
	SELECT measured_leads || '|' || auc || '|' || brier || '|' || log_loss FROM lead_gen.model_report('reference')});
my ($measured, $auc, $brier, $logloss) = split /\|/, $report;
is($measured, $r->{holdout}, 'the holdout is the leads model_holdout() picks');
cmp_ok(abs($auc - $r->{lead_gen_auc}), '<', 1e-9, "model_report's AUC is scikit-learn's roc_auc_score of lead_gen's predictions");
cmp_ok(abs($brier - $r->{lead_gen_brier}), '<', 1e-9, "model_report's Brier score is scikit-learn's");
cmp_ok(abs($logloss - $r->{lead_gen_log_loss}), '<', 1e-9, "model_report's log loss is scikit-learn's");

cmp_ok($r->{lead_gen_auc}, '>=', $r->{sklearn_auc} - 0.005, 'lead_gen\'s AUC is no worse than scikit-learn\'s by more than 0.005');
cmp_ok($r->{lead_gen_auc}, '>', 0.75, 'the model learned the generating model');
cmp_ok($r->{lead_gen_brier}, '<=', $r->{sklearn_brier} + 0.001, 'lead_gen is calibrated as well as scikit-learn (Brier)');
cmp_ok($r->{lead_gen_log_loss}, '<=', $r->{sklearn_log_loss} + 0.001, 'and by log loss');
cmp_ok($r->{max_prediction_difference}, '<', 1e-4, 'the same model: every holdout prediction agrees with scikit-learn\'s');

# calibration by decile: each within a few points of what happened
my $worst = $node->safe_psql('postgres', q{SELECT max(abs(predicted - observed)) FROM lead_gen.model_calibration('reference')});
cmp_ok($worst, '<', 0.08, "every decile's predicted rate is within 0.08 of its observed rate ($worst; about 500 leads each)");

$node->stop;
done_testing();
