# A backend killed with SIGKILL in the middle of advance_programs(): after
# crash recovery every enrolment is either before its step (due, no message)
# or after it (waiting, its one message written), never both, never lost;
# the next run finishes the rest and writes nothing twice.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('program_crash');
$node->init;
# as in production: the postmaster restarts the server after a backend crash
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION lead_gen CASCADE;
SELECT lead_gen.define_content('hello'), lead_gen.define_content('later');
SELECT lead_gen.create_program('drip', '[{"send": "hello"}, {"wait": "1 day"}, {"send": "later"}]');
INSERT INTO lead_gen.lead (email, first_name, consent)
SELECT 'k' || g || '@crash.example', 'K' || g, 'subscribed' FROM generate_series(1, 30000) AS g;
SELECT count(lead_gen.enroll(lead_id, 'drip')) FROM lead_gen.lead;
});

# each enrolment's state: before (due at step 1, no message), after
# (waiting at step 3 for a day, one message for step 1), or broken
my $states = q{
	SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM (
		SELECT CASE
			WHEN e.status = 'active' AND e.step = 1 AND e.next_at <= now() AND m.n = 0 THEN 'before'
			WHEN e.status = 'active' AND e.step = 3 AND e.next_at > now() + interval '23 hours'
				 AND m.n = 1 AND m.steps = '{1}' THEN 'after'
			ELSE 'broken' END AS state, count(*) AS n
		FROM lead_gen.enrollment AS e
		CROSS JOIN LATERAL (SELECT count(*) AS n, array_agg(o.step) AS steps FROM lead_gen.outbox AS o
							WHERE o.enrollment_id = e.enrollment_id) AS m
		GROUP BY 1) AS s};
is($node->safe_psql('postgres', $states), 'before 30000', 'all 30,000 are due');

my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', 'CALL lead_gen.advance_programs(100)' ],
	'>', \$out, '2>', \$err);
# kill it once some batches have committed, well before the end
my $pid = '';
for (my $i = 0; $i < 600; $i++)
{
	$pid = $node->safe_psql('postgres', q{
		SELECT a.pid FROM pg_stat_activity AS a
		WHERE a.query LIKE 'CALL lead_gen.advance_programs%' AND a.pid <> pg_backend_pid()
		  AND (SELECT count(*) FROM lead_gen.outbox) >= 3000});
	last if $pid ne '';
	usleep(20_000);
}
ok($pid ne '', 'advance_programs is under way, some batches committed');
kill 'KILL', $pid;
$h->finish;
like($err, qr/server closed the connection|terminating connection|connection to server was lost|could not receive data/,
	 'the run was cut off');
# the postmaster restarts after the crash; wait for it
my $back = 0;
for (my $i = 0; $i < 600 && !$back; $i++)
{
	usleep(100_000);
	$back = system('pg_isready', '-q', '-h', $node->host, '-p', $node->port) == 0;
}
ok($back && $node->safe_psql('postgres', 'SELECT true') eq 't', 'the server is back after crash recovery');
like($node->safe_psql('postgres', $states), qr/^after \d+, before \d+$/,
	 'every enrolment is before or after its step, none broken, none lost');
my ($after, $before) = $node->safe_psql('postgres', $states) =~ /^after (\d+), before (\d+)$/;
cmp_ok($after, '>=', 3000, "some advanced before the crash ($after)");
cmp_ok($before, '>', 0, "some had not yet ($before)");
is($after + $before, 30000, 'all 30,000 are there');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lead_gen.outbox'), $after,
   'a message for each that advanced, and no other');

$node->safe_psql('postgres', 'CALL lead_gen.advance_programs()');
is($node->safe_psql('postgres', $states), 'after 30000', 'the next run advanced the rest');
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || count(DISTINCT enrollment_id) || ' ' || count(*) FILTER (WHERE status = 'pending')
	FROM lead_gen.outbox}), '30000 30000 30000', 'one message each, all pending for the sender');
$node->stop;
done_testing();
