# pg_cron really runs a job in the test setup (the same setup the rescoring
# job of lead_gen uses): a job scheduled every minute writes a row within two
# minutes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use LeadGenTest;

my $node = cron_node('cron');

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_cron;
	CREATE EXTENSION lead_gen CASCADE;
	CREATE TABLE cron_ran (at timestamptz NOT NULL DEFAULT now(), who name NOT NULL DEFAULT current_user);
});
my $jobid = $node->safe_psql('postgres',
	q{SELECT cron.schedule('lead_gen_tap_probe', '* * * * *', 'INSERT INTO cron_ran DEFAULT VALUES')});
like($jobid, qr/^\d+$/, 'job scheduled');

# Minute granularity: the first run comes at the next minute boundary.
my $ran = 0;
for (my $waited = 0; $waited < 150; $waited++)
{
	$ran = $node->safe_psql('postgres', 'SELECT count(*) FROM cron_ran');
	last if $ran > 0;
	sleep 1;
}
cmp_ok($ran, '>', 0, 'the job ran within 150 seconds');

is( $node->safe_psql('postgres',
		"SELECT status FROM cron.job_run_details WHERE jobid = $jobid ORDER BY runid LIMIT 1"),
	'succeeded', 'pg_cron recorded the run as succeeded');
is($node->safe_psql('postgres', 'SELECT DISTINCT who FROM cron_ran'),
	$node->safe_psql('postgres', 'SELECT current_user'), 'the job ran as the user who scheduled it');

$node->safe_psql('postgres', "SELECT cron.unschedule($jobid)");
$node->stop;
done_testing();
