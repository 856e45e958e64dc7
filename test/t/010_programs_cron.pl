# advance_programs() scheduled with pg_cron: the job runs the due steps with
# no one calling it, each run does each step once, and it unschedules.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use LeadGenTest;

my $node = cron_node('programs_cron');
$node->safe_psql('postgres', 'CREATE EXTENSION lead_gen CASCADE');

my ($rc, $out, $err) = $node->psql('postgres', 'SELECT lead_gen.schedule_programs()');
isnt($rc, 0, 'schedule_programs fails without pg_cron');
like($err, qr/pg_cron is not installed in this database/, 'and says why');

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_cron;
	SELECT lead_gen.define_content('hello'), lead_gen.define_content('later');
	SELECT lead_gen.create_program('drip', '[{"send": "hello"}, {"wait": "1 second"}, {"send": "later"}]');
	INSERT INTO lead_gen.lead (email, consent) SELECT 'p' || g || '@cron.example', 'subscribed' FROM generate_series(1, 5) AS g;
	SELECT count(lead_gen.enroll(lead_id, 'drip')) FROM lead_gen.lead;
});
my $job = $node->safe_psql('postgres', q{SELECT lead_gen.schedule_programs('* * * * *')});
like($job, qr/^\d+$/, 'advance_programs scheduled');
is($node->safe_psql('postgres', q{SELECT lead_gen.schedule_programs('* * * * *')}), $job,
   'scheduling again keeps the same job');
is($node->safe_psql('postgres', q{SELECT count(*) || ' ' || min(command) || ' ' || min(username) FROM cron.job WHERE jobname = 'lead_gen_programs'}),
   '1 CALL lead_gen.advance_programs() ' . $node->safe_psql('postgres', 'SELECT current_user'),
   'one job, calling advance_programs(), as the user who scheduled it');

# the first run sends hello and waits a second; the next one sends later
my $runs = q{SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
			 WHERE j.jobname = 'lead_gen_programs' AND d.status = 'succeeded'};
ok($node->poll_query_until('postgres', "SELECT ($runs) >= 2", 't'), 'pg_cron ran the job twice');
is($node->safe_psql('postgres', q{
	SELECT string_agg(content_key || ' ' || n, ', ' ORDER BY content_key)
	FROM (SELECT content_key, count(*) AS n FROM lead_gen.outbox GROUP BY 1) AS m}),
   'hello 5, later 5', 'each lead got each message once');
is($node->safe_psql('postgres', q{SELECT string_agg(DISTINCT status, ',') FROM lead_gen.enrollment}),
   'completed', 'and completed the program');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	WHERE j.jobname = 'lead_gen_programs' AND d.status = 'failed'}), '0', 'no run failed');

is($node->safe_psql('postgres', 'SELECT lead_gen.unschedule_programs()'), 't', 'unscheduled');
is($node->safe_psql('postgres', 'SELECT lead_gen.unschedule_programs()'), 'f', 'nothing left to unschedule');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE jobname = 'lead_gen_programs'}), '0',
   'the job is gone');
$node->stop;
done_testing();
