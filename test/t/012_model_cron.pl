# update_model() scheduled with pg_cron: the job retrains a model on the
# outcomes that arrived since, as the user who scheduled it, makes the new
# version active and refreshes the predictions kept on the leads.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use LeadGenTest;

my $node = cron_node('model_cron');
$node->safe_psql('postgres', 'CREATE EXTENSION lead_gen CASCADE');
$node->safe_psql('postgres', q{
	INSERT INTO lead_gen.lead (lead_id, email, industry, employees, created_at)
	SELECT g, 'm' || g || '@cron.example', (ARRAY['saas', 'retail', 'health'])[1 + g % 3], 10 + (g * 37) % 900,
		   now() - interval '300 days'
	FROM generate_series(1, 1500) AS g;
	SET lead_gen.stage_reason = 'closed';
	UPDATE lead_gen.lead SET stage = 'customer'
	WHERE lead_id <= 1000 AND (hashint8(lead_id) & 1023) < CASE industry WHEN 'saas' THEN 500 ELSE 150 END;
	SELECT lead_gen.train_model('cron_model', ARRAY['industry', 'employees'], leads => ARRAY(SELECT generate_series(1, 1000)::bigint));
	SELECT lead_gen.keep_prediction('cron_model');
});

my ($rc, $out, $err) = $node->psql('postgres', q{SELECT lead_gen.schedule_training('cron_model')});
isnt($rc, 0, 'schedule_training fails without pg_cron');
like($err, qr/pg_cron is not installed in this database/, 'and says why');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');
($rc, $out, $err) = $node->psql('postgres', q{SELECT lead_gen.schedule_training('no_such_model')});
like($err, qr/model "no_such_model" does not exist/, 'an unknown model is not scheduled');

# new outcomes arrive: the other 500 leads, some of them customers
$node->safe_psql('postgres', q{
	SET lead_gen.stage_reason = 'closed';
	UPDATE lead_gen.lead SET stage = 'customer'
	WHERE lead_id > 1000 AND (hashint8(lead_id) & 1023) < CASE industry WHEN 'saas' THEN 500 ELSE 150 END;
});
my $job = $node->safe_psql('postgres', q{SELECT lead_gen.schedule_training('cron_model', '* * * * *')});
like($job, qr/^\d+$/, 'training scheduled');
is($node->safe_psql('postgres', q{SELECT lead_gen.schedule_training('cron_model', '* * * * *')}), $job,
   'scheduling again keeps the same job');
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || min(command) || ' ' || min(username) FROM cron.job WHERE jobname = 'lead_gen_train_cron_model'}),
   q{1 SELECT lead_gen.update_model('cron_model') } . $node->safe_psql('postgres', 'SELECT current_user'),
   'one job, calling update_model(), as the user who scheduled it');

ok($node->poll_query_until('postgres', q{SELECT count(*) >= 2 FROM lead_gen.model WHERE name = 'cron_model'}, 't'),
   'pg_cron trained a new version');
is($node->safe_psql('postgres', q{
	SELECT string_agg(version || ':' || active || ':' || restricted || ':' || (train_leads + holdout_leads), ' ' ORDER BY version)
	FROM lead_gen.model WHERE name = 'cron_model' AND version <= 2}),
   '1:false:true:1000 2:' . ($node->safe_psql('postgres', q{SELECT count(*) > 2 FROM lead_gen.model WHERE name = 'cron_model'}) eq 't' ? 'false' : 'true') . ':false:1500',
   'version 2 learned from every lead with an outcome, the new ones too');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE prediction IS NULL OR prediction <> lead_gen.predict('cron_model', lead_id)) FROM lead_gen.lead}),
   '0', 'the predictions kept on the leads are the new active version\'s');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'lead_gen_train_cron_model' AND d.status = 'failed'}), '0', 'no run failed');

is($node->safe_psql('postgres', q{SELECT lead_gen.unschedule_training('cron_model')}), 't', 'unscheduled');
is($node->safe_psql('postgres', q{SELECT lead_gen.unschedule_training('cron_model')}), 'f', 'nothing left to unschedule');
$node->stop;
done_testing();
