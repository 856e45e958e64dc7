# lead_gen's own job, scheduled with pg_cron, changes a lead's temperature
# with no one touching the lead: decay alone cools it, and the job's
# rescore() applies that; it also flags SLA breaches.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use LeadGenTest;

my $node = cron_node('rescore');

$node->safe_psql('postgres', 'CREATE EXTENSION lead_gen CASCADE');

# Without pg_cron in the database, scheduling fails with a hint.
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT lead_gen.schedule_rescore()');
isnt($rc, 0, 'schedule_rescore fails without pg_cron');
like($err, qr/pg_cron is not installed in this database/, 'and says why');

$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron');

# A one-minute half-life: a demo request (30 points, warm) drops below the
# warm threshold (25) about 16 seconds later.
$node->safe_psql('postgres', q{
	UPDATE lead_gen.scoring_settings SET half_life = '1 minute';
	CALL lead_gen.recompute_all();
	INSERT INTO lead_gen.lead (email) VALUES ('cooling@tap.example');
	INSERT INTO lead_gen.activity (lead_id, kind)
	SELECT lead_id, 'demo_request' FROM lead_gen.lead WHERE email = 'cooling@tap.example';
	-- an SQL nobody has called for two days: the job flags the SLA breach
	INSERT INTO lead_gen.lead (email, stage, stage_changed_at)
	VALUES ('uncalled@tap.example', 'sql', now() - interval '2 days');
});
is($node->safe_psql('postgres', "SELECT temperature FROM lead_gen.lead WHERE email = 'cooling\@tap.example'"),
	'warm', 'the lead starts warm');

my $job = $node->safe_psql('postgres', q{SELECT lead_gen.schedule_rescore('* * * * *')});
like($job, qr/^\d+$/, 'rescore scheduled');
is($node->safe_psql('postgres', q{SELECT lead_gen.schedule_rescore('* * * * *')}), $job,
	'scheduling again keeps the same job');
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || min(command) || ' ' || min(username) FROM cron.job WHERE jobname = 'lead_gen_rescore'}),
	'1 CALL lead_gen.rescore() ' . $node->safe_psql('postgres', 'SELECT current_user'),
	'one job, calling rescore(), as the user who scheduled it');

# pg_cron runs at minute boundaries: wait for a run after the lead is due.
my $temperature = 'warm';
for (my $waited = 0; $waited < 180 && $temperature eq 'warm'; $waited++)
{
	sleep 1;
	$temperature = $node->safe_psql('postgres',
		"SELECT temperature FROM lead_gen.lead WHERE email = 'cooling\@tap.example'");
}
is($temperature, 'cold', 'the scheduled job cooled the lead');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'lead_gen_rescore' AND d.status = 'succeeded'}) > 0 ? 'ran' : 'did not run',
	'ran', 'pg_cron recorded a successful run');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'lead_gen_rescore' AND d.status = 'failed'}), '0', 'and no failed one');

is($node->safe_psql('postgres', q{
	SELECT l.email || ' ' || f.stage FROM lead_gen.sla_flag AS f JOIN lead_gen.lead AS l USING (lead_id)}),
	'uncalled@tap.example sql', 'the scheduled job flagged the SLA breach, once');

is($node->safe_psql('postgres', 'SELECT lead_gen.unschedule_rescore()'), 't', 'unscheduled');
is($node->safe_psql('postgres', 'SELECT lead_gen.unschedule_rescore()'), 'f', 'nothing left to unschedule');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE jobname = 'lead_gen_rescore'}), '0',
	'the job is gone');

$node->stop;
done_testing();
