# The example sender end to end: examples/sender/sender.py claims, renders,
# sends by SMTP to a real server on loopback (aiosmtpd, the sink beside it)
# and acks.  Every due message arrives exactly once; a worker killed holding
# its claim has its messages sent by a second worker after the lease; a lead
# that unsubscribed between the step and the claim gets nothing; a message
# without a template is failed, not sent; a sleeping worker wakes on NOTIFY.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(sleep time);

my $python = '/usr/bin/python3';
my $dir = 'examples/sender';
my $node = PostgreSQL::Test::Cluster->new('sender');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION lead_gen CASCADE;
CREATE ROLE lg_sender LOGIN;
SELECT lead_gen.grant_access('lg_sender', 'sender');
SELECT lead_gen.define_content('welcome'), lead_gen.define_content('tips'), lead_gen.define_content('no_such_template');
SELECT lead_gen.create_segment('signups', NULL, false);
SELECT lead_gen.create_program('welcome', '[{"send": "welcome"}, {"send": "tips"}]', entry => 'signups');
SELECT lead_gen.create_program('broken', '[{"send": "no_such_template"}]');
INSERT INTO lead_gen.lead (lead_id, email, first_name, company_name, consent)
SELECT i, 'u' || i || '@example.com', 'Pat' || i, 'Co ' || i, 'subscribed' FROM generate_series(1, 30) AS i;
SELECT count(lead_gen.add_to_segment('signups', i)) FROM generate_series(1, 30) AS i;
SELECT lead_gen.enroll(30, 'broken');
CALL lead_gen.advance_programs();
-- between the step and the claim: lead 7 unsubscribes
INSERT INTO lead_gen.activity (lead_id, kind) VALUES (7, 'unsubscribe');
});
is($node->safe_psql('postgres', "SELECT count(*) FROM lead_gen.outbox WHERE status = 'pending'"), '61',
   'two messages for each of 30 leads and one without a template are due');

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $mails = "$PostgreSQL::Test::Utils::tmp_check/sender_mails.txt";
unlink $mails;
my $sink = IPC::Run::start([ $python, "$dir/smtp_sink.py", $port, $mails ],
						   '>', "$PostgreSQL::Test::Utils::tmp_check/sink.log", '2>&1');
my $up = 0;
for (1 .. 100)
{
	last if ($up = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port"));
	sleep 0.1;
}
ok($up, 'the SMTP sink listens');

my $dsn = $node->connstr('postgres') . ' user=lg_sender';
sub worker
{
	my ($name, @opts) = @_;
	return IPC::Run::start(
		[ $python, "$dir/sender.py", '--dsn', $dsn, '--worker', $name, '--smtp', "127.0.0.1:$port",
		  '--from', 'news@example.com', '--templates', "$dir/templates", @opts ],
		'>', "$PostgreSQL::Test::Utils::tmp_check/$name.log", '2>&1');
}

# worker 1 claims ten with a 3 second lease and dies holding them
my $w1 = worker('w1', '--batch', '10', '--lease', '3 seconds', '--stall-after-claim');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 10 FROM lead_gen.outbox WHERE claimed_by = 'w1' AND status = 'claimed'"),
   'worker 1 claimed ten');
$w1->signal('KILL');
$w1->finish;

# worker 2 drains the rest, then (after the lease) worker 1's ten
my $w2 = worker('w2', '--batch', '7', '--poll', '0.5', '--idle-exit', '6');
$w2->finish;
is($?, 0, 'worker 2 exits cleanly when idle');

my %count;
my %to;
open my $fh, '<', $mails or die "no mails: $!";
while (<$fh>)
{
	my ($id, $rcpt) = split / /;
	$count{$id}++;
	$to{$rcpt}++;
}
close $fh;
my $due = $node->safe_psql('postgres', q{
	SELECT string_agg(message_id::text, ' ' ORDER BY message_id) FROM lead_gen.outbox
	WHERE lead_id <> 7 AND content_key <> 'no_such_template'});
my @due = split / /, $due;
is(scalar(@due), 58, '58 messages are for subscribed leads with a template');
is(scalar(grep { ($count{$_} // 0) == 1 } @due), 58, 'each of them arrived exactly once');
is(scalar(keys %count), 58, 'and nothing else arrived');
ok(!exists $to{'u7@example.com'}, 'the lead that unsubscribed got nothing');
is($node->safe_psql('postgres', q{
	SELECT string_agg(status || coalesce(' ' || skip_reason, '') || ' ' || n, ', ' ORDER BY status)
	FROM (SELECT status, skip_reason, count(*) AS n FROM lead_gen.outbox
		  WHERE content_key <> 'no_such_template' GROUP BY 1, 2) AS s}),
   'sent 58, skipped suppressed 2', 'the outbox says so: sent, or skipped with the reason');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM lead_gen.outbox
	WHERE status = 'sent' AND claimed_by = 'w2' AND attempts = 2 AND provider_ref LIKE '<lead-gen-%'}),
   '10', "worker 1's ten were sent by worker 2 on their second claim");
is($node->safe_psql('postgres', q{
	SELECT status || ' ' || attempts || ' ' || last_error || ' ' || (visible_at > now() + interval '50 minutes')
	FROM lead_gen.outbox WHERE content_key = 'no_such_template'}),
   'pending 1 no template for content key no_such_template true',
   'a message without a template is failed and retried in an hour');
my $body = slurp_file($mails);
like($body, qr/^\d+ u3\@example\.com Welcome to Example, Pat3$/m, 'the template was rendered with the fields');

# a sleeping worker (polling every 60 s) wakes on NOTIFY lead_gen_outbox
my $w3 = worker('w3', '--poll', '60', '--idle-exit', '40');
sleep 1;
my $t0 = time;
$node->safe_psql('postgres', q{
	INSERT INTO lead_gen.lead (lead_id, email, first_name, consent) VALUES (31, 'u31@example.com', 'Sam', 'subscribed');
	SELECT lead_gen.add_to_segment('signups', 31);
	CALL lead_gen.advance_programs();});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM lead_gen.outbox WHERE lead_id = 31 AND status = 'sent'"),
   'a new lead\'s messages are sent');
cmp_ok(time - $t0, '<', 30, 'by a worker woken by NOTIFY, not by its 60 second poll');
$w3->signal('TERM');
$w3->finish;
is($?, 0, 'a worker stops cleanly on SIGTERM');
is(scalar(grep { /u31\@example\.com/ } split /\n/, slurp_file($mails)), 2, 'the new lead got its two messages once');

$sink->signal('TERM');
$sink->finish;
$node->stop;
done_testing();
