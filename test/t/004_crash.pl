# Crash safety: the postmaster and every backend are killed with SIGKILL in
# the middle of a bulk activity load, of rescore() and of recompute_all().
# After crash recovery every lead's engagement equals its recomputation from
# history, every score agrees with it, and the stage history is whole.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::Bin;
use LeadGenTest;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION lead_gen CASCADE');

# 20,000 leads with some history and activity.
$node->safe_psql('postgres', q{
	INSERT INTO lead_gen.lead (email, industry)
	SELECT 'c' || g || '@crash.example', (ARRAY['saas', 'retail'])[1 + g % 2]
	FROM generate_series(1, 20000) AS g;
	INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
	SELECT 1 + g % 20000, (ARRAY['pricing_inquiry', 'email_click', 'webinar', 'content_download'])[1 + g % 4],
		   now() - (g % 1000) * interval '1 hour'
	FROM generate_series(1, 60000) AS g;
	SELECT lead_gen.disqualify(lead_id, 'test') FROM lead_gen.lead WHERE lead_id % 97 = 0;
});

# Start a statement in the background, wait until it is running (and a
# little more), then kill the postmaster and all its children at once.
sub crash_during
{
	my ($sql, $pattern, $wait_ms) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', $sql ],
		'>', \$out, '2>', \$err);
	my $running = 0;
	for (my $i = 0; $i < 600 && !$running; $i++)
	{
		usleep(50_000);
		$running = $node->safe_psql('postgres',
			"SELECT count(*) FROM pg_stat_activity WHERE query LIKE '$pattern' AND pid <> pg_backend_pid()");
	}
	ok($running, "started: $sql");
	usleep($wait_ms * 1000);
	open(my $fh, '<', $node->data_dir . '/postmaster.pid') or die "no postmaster.pid: $!";
	my $postmaster = <$fh>;
	close($fh);
	chomp $postmaster;
	my @children = split /\s+/, `ps -o pid= --ppid $postmaster`;
	$node->kill9;
	kill 'KILL', grep { /^\d+$/ } @children;
	$h->finish;
	like($err, qr/server closed the connection|terminating connection|connection to server was lost|could not receive data/,
		 'the statement was cut off by the crash');
	# wait for every old process to go before restarting
	for (my $i = 0; $i < 300 && (kill(0, $postmaster) || grep { /^\d+$/ && kill(0, $_) } @children); $i++)
	{
		usleep(100_000);
	}
	$node->start;
}

# 1. A bulk load of 400,000 activities.
my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM lead_gen.activity');
crash_during(q{INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
				SELECT 1 + g % 20000, (ARRAY['page_view', 'demo_request', 'webinar', 'email_open'])[1 + g % 4],
					   now() - (g % 500) * interval '1 minute'
				FROM generate_series(1, 400000) AS g},
	'INSERT INTO lead_gen.activity%', 300);
is($node->safe_psql('postgres', 'SELECT count(*) FROM lead_gen.activity'), $before,
	'the killed bulk load left no activity behind');
check_leads_exact($node, 'after a crash during a bulk load');

# 2. rescore() with most leads due, 10 leads per transaction: with a
# half-life of three seconds, warm and hot leads cool within seconds.
$node->safe_psql('postgres', q{UPDATE lead_gen.scoring_settings SET half_life = '3 seconds'});
$node->safe_psql('postgres', 'CALL lead_gen.recompute_all()');
$node->safe_psql('postgres', q{
	INSERT INTO lead_gen.activity (lead_id, kind)
	SELECT lead_id, 'webinar' FROM lead_gen.lead, generate_series(1, 3)});
sleep(6);
my $due = $node->safe_psql('postgres', 'SELECT count(*) FROM lead_gen.lead WHERE next_change_at <= now()');
cmp_ok($due, '>', 5000, "$due leads are due");
# every lead update takes a millisecond, so the work is surely under way
# (and not done) when the server dies, however fast the machine
$node->safe_psql('postgres', q{
	CREATE FUNCTION public.slow_down() RETURNS trigger LANGUAGE plpgsql
	AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$;
	CREATE TRIGGER zz_slow_down BEFORE UPDATE ON lead_gen.lead FOR EACH ROW EXECUTE FUNCTION public.slow_down();
});
crash_during('CALL lead_gen.rescore(10)', 'CALL lead_gen.rescore%', 1000);
my $left = $node->safe_psql('postgres', 'SELECT count(*) FROM lead_gen.lead WHERE next_change_at <= now()');
cmp_ok($left, '>', 0, "rescore() was cut off with $left leads still due");
check_leads_exact($node, 'after a crash during rescore()');
$node->safe_psql('postgres', 'ALTER TABLE lead_gen.lead DISABLE TRIGGER zz_slow_down');
$node->safe_psql('postgres', 'CALL lead_gen.rescore()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM lead_gen.lead WHERE next_change_at <= now()'), '0',
	'the next rescore() finishes the work');

# 3. recompute_all() after a change of the rules, 20 leads per transaction.
$node->safe_psql('postgres', q{UPDATE lead_gen.scoring_rule SET points = 4 WHERE kind = 'page_view'});
$node->safe_psql('postgres', 'ALTER TABLE lead_gen.lead ENABLE TRIGGER zz_slow_down');
crash_during('CALL lead_gen.recompute_all(20)', 'CALL lead_gen.recompute_all%', 1000);
$node->safe_psql('postgres', 'ALTER TABLE lead_gen.lead DISABLE TRIGGER zz_slow_down');
is( $node->safe_psql('postgres',
		q{SELECT changed_at > coalesce(recomputed_at, '-infinity') FROM lead_gen.scoring_state}),
	't', 'after the crash the rules are still marked as changed');
$node->safe_psql('postgres', 'CALL lead_gen.rescore()');
check_leads_exact($node, 'after a crash during recompute_all() and the next rescore()');

$node->stop;
done_testing();
