# pg_dump / pg_restore keeps every row of every lead_gen table, and the
# identity sequences go on where they were.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE source');
$node->safe_psql('source', 'CREATE EXTENSION lead_gen CASCADE');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('source'),
	  '-f', 'test/data/sample.sql' ],
	'sample data loads');
# The stage machine at work after the import (automatic moves, a recycle, a
# disqualification, BANT), and configuration changed from its defaults.
$node->safe_psql('source', q{
	INSERT INTO lead_gen.activity (lead_id, kind)
		SELECT lead_id, 'demo_request' FROM lead_gen.lead WHERE stage = 'lead' ORDER BY lead_id LIMIT 20;
	SELECT lead_gen.recycle(lead_id, 'not now') FROM lead_gen.lead WHERE stage = 'sql' ORDER BY lead_id LIMIT 5;
	SELECT lead_gen.disqualify(lead_id, 'spam') FROM lead_gen.lead WHERE stage = 'prospect' ORDER BY lead_id LIMIT 5;
	SELECT lead_gen.qualify(lead_id, budget => 1000, need => 'x', authority => true, timeline => current_date + 10)
	FROM lead_gen.lead WHERE stage = 'mql' ORDER BY lead_id LIMIT 5;
	UPDATE lead_gen.stage_transition SET requires_bant = true WHERE from_stage = 'mql' AND to_stage = 'opportunity';
	UPDATE lead_gen.stage_rule SET sla = '2 days' WHERE stage = 'mql';
	UPDATE lead_gen.bant_rule SET min_budget = 500;
	SELECT lead_gen.flag_sla_breaches();
});
# Scoring and fit under configuration a restore must bring back before it
# can score anyone right: a longer half-life, other points, another daily
# cap, other weights and a changed profile, recomputed in the source.
$node->safe_psql('source', q{
	UPDATE lead_gen.scoring_settings SET half_life = '45 days', fit_weight = 0.3, warm_at = 20;
	UPDATE lead_gen.scoring_rule SET points = 4 WHERE kind = 'page_view';
	UPDATE lead_gen.scoring_rule SET daily_cap = 2 WHERE kind = 'email_open';
	INSERT INTO lead_gen.scoring_rule (kind, points) VALUES ('podcast_listen', 6);
	INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
		SELECT lead_id, 'podcast_listen', now() - interval '3 days' FROM lead_gen.lead ORDER BY lead_id LIMIT 50;
	UPDATE lead_gen.profile SET icp = (icp::text || '; country in (DE) 15')::lead_gen.icp WHERE active;
	CALL lead_gen.recompute_all();
});
# Capture and identity: anonymous visitors, one identified by a form with a
# submission key, a purge, and their configuration changed.
$node->safe_psql('source', q{
	SELECT lead_gen.track('dump-anon-' || g % 10, 'page_view', now() - g * interval '1 hour') FROM generate_series(1, 30) AS g;
	SELECT lead_gen.track('dump-known', 'pricing_inquiry', now() - interval '2 days');
	SELECT lead_gen.capture('{"form": "Demo", "email": "dump.form@corp.example", "first_name": "Dee"}',
							'dump-known', 'dump-key-1');
	SELECT lead_gen.track('dump-old', 'page_view', now() - interval '300 days');
	SELECT lead_gen.purge_anonymous();
	UPDATE lead_gen.capture_field SET overwrite = true WHERE field = 'first_name';
	UPDATE lead_gen.identity_settings SET anonymous_retention = '90 days';
});
# Merges: two leads merged into a third, in a chain, one with its visitor;
# a pair dismissed as two people.
$node->safe_psql('source', q{
	INSERT INTO lead_gen.lead (email, company_name) VALUES
		('dump.merge.a@corp.example', 'Corp'), ('dump.merge.b@corp.example', 'Corp'), ('dump.merge.c@corp.example', 'Corp');
	INSERT INTO lead_gen.activity (lead_id, kind, occurred_at)
		SELECT lead_id, 'webinar', now() - interval '4 days' FROM lead_gen.lead WHERE email LIKE 'dump.merge.%';
	SELECT lead_gen.track('dump-merge-visitor', 'page_view', now() - interval '1 day');
	SELECT lead_gen.identify('dump-merge-visitor', (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.a@corp.example'));
	SELECT lead_gen.merge_leads((SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.b@corp.example'),
								(SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.a@corp.example'), 'dump test');
	SELECT lead_gen.merge_leads((SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.c@corp.example'),
								(SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.b@corp.example'));
	SELECT lead_gen.dismiss_duplicate(1, 2);
});

# Segments: two live ones (one over activity and time), a static one.
$node->safe_psql('source', q{
	SELECT lead_gen.create_segment('dump_engaged', 'temperature in (warm, hot) or count(webinar within 30 days) >= 1');
	SELECT lead_gen.create_segment('dump_corp', 'company_name = Corp and never demo_request');
	SELECT lead_gen.create_segment('dump_vip', NULL, false);
	SELECT lead_gen.add_to_segment('dump_vip', lead_id) FROM lead_gen.lead ORDER BY lead_id LIMIT 3;
	INSERT INTO lead_gen.activity (lead_id, kind)
		SELECT lead_id, 'webinar' FROM lead_gen.lead WHERE temperature = 'cold' ORDER BY lead_id LIMIT 5;
});
# A program entered from a live segment: enrolments, messages handed out,
# acked and failed, a suppression from an unsubscribe.
$node->safe_psql('source', q{
	SELECT lead_gen.define_content('dump_welcome');
	SELECT lead_gen.create_program('dump_nurture',
		'[{"send": "dump_welcome"}, {"wait": "2 days"}, {"send": "dump_welcome", "label": "again"}]',
		entry => 'dump_engaged', goal => 'stage = sql', holdout => 0.2);
	CREATE TEMP TABLE joining AS
		SELECT l.lead_id FROM lead_gen.lead AS l
		WHERE NOT lead_gen.in_segment(l.lead_id, 'dump_engaged') AND l.stage IN ('lead', 'mql')
		ORDER BY l.lead_id LIMIT 40;
	UPDATE lead_gen.lead SET consent = 'subscribed' WHERE lead_id IN (SELECT lead_id FROM joining);
	INSERT INTO lead_gen.activity (lead_id, kind) SELECT lead_id, 'webinar' FROM joining;
	CALL lead_gen.advance_programs();
	SELECT count(lead_gen.ack_message(message_id, 'dump-' || message_id))
	FROM lead_gen.claim_messages('dump-worker', 20);
	SELECT count(lead_gen.fail_message(message_id, 'mailbox full'))
	FROM lead_gen.claim_messages('dump-worker', 3);
	INSERT INTO lead_gen.activity (lead_id, kind)
		SELECT lead_id, 'unsubscribe' FROM lead_gen.enrollment ORDER BY lead_id LIMIT 1;
});
is( $node->safe_psql('source', q{
		SELECT (SELECT count(*) FILTER (WHERE status = 'sent') > 0 AND count(*) FILTER (WHERE status = 'pending') > 0
				FROM lead_gen.outbox)
		   AND (SELECT count(*) FROM lead_gen.suppression) > 0
		   AND (SELECT count(*) FILTER (WHERE holdout) > 0 FROM lead_gen.enrollment)}),
	't', 'a program with messages sent, pending and held out, and a suppression');
# A model of the sample's outcomes in two versions, the second kept on every
# lead and counted into the score.
$node->safe_psql('source', q{
	SELECT lead_gen.train_model('dump_model', ARRAY['industry', 'country', 'seniority', 'count(webinar in first 30 days)']);
	SELECT lead_gen.train_model('dump_model', ARRAY['industry', 'country', 'seniority', 'count(webinar in first 30 days)'],
								regularization => 3);
	SELECT lead_gen.keep_prediction('dump_model');
	UPDATE lead_gen.scoring_settings SET prediction_weight = 0.3;
	CALL lead_gen.recompute_all();
});
is( $node->safe_psql('source', q{
		SELECT count(*) FILTER (WHERE prediction IS NULL) = 0 AND count(*) FILTER (WHERE prediction > 0.2) > 0
		FROM lead_gen.lead}),
	't', 'a model is kept on every lead before the dump');

# One fingerprint per table of the extension: row count and a hash of all
# rows in key order.  Tables are read from the catalog so that a table added
# later is covered without touching this test.
my $tables = $node->safe_psql('source', q{
	SELECT string_agg(c.oid::regclass::text, ' ' ORDER BY c.relname)
	FROM pg_class AS c
	WHERE c.relnamespace = 'lead_gen'::regnamespace AND c.relkind = 'r'
	  AND c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'lead_gen')::oid[])});
# The one table not dumped is operational state (see the schema test).
is( $node->safe_psql('source', q{
		SELECT string_agg(c.relname, ' ') FROM pg_class AS c
		WHERE c.relnamespace = 'lead_gen'::regnamespace AND c.relkind = 'r'
		  AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'lead_gen')::oid[])}),
	'scoring_state', 'every table but scoring_state is registered for pg_dump');
ok($tables =~ /lead_gen\.lead\b/ && $tables =~ /lead_gen\.activity\b/, "tables: $tables");

# Every column, except the values lead_gen derives from time and activity:
# a restore rebuilds engagement from the restored activity, and score,
# temperature and the next change as of the time of the restore.  Those are
# compared below.
my %derived = ('lead_gen.lead' => [qw(engagement score temperature next_change_at scored_at)]);

sub fingerprint
{
	my ($db) = @_;
	my %fp;
	for my $t (split / /, $tables)
	{
		my $row = 't';
		if ($derived{$t})
		{
			$row = "(to_jsonb(t) - ARRAY['" . join("', '", @{ $derived{$t} }) . "'])";
		}
		$fp{$t} = $node->safe_psql($db,
			"SELECT count(*) || ' ' || md5(coalesce(string_agg(${row}::text, '|' ORDER BY ${row}::text), ''))
			 FROM $t AS t");
	}
	return \%fp;
}

# Engagement as a number at one fixed time, per lead.
sub engagements
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(lead_id || ':' || coalesce(round(lead_gen.engagement_value(engagement, '2030-01-01')::numeric * 1e6)::text, '-'), ' ' ORDER BY lead_id)
		FROM lead_gen.lead});
}


# Right after the restore, with no call: every lead's engagement, score and
# fit as in the source, read at one time T (relative tolerance 1e-9), its
# grade and first touch equal, and its temperature equal unless the source's
# own next change came due between the dump and now.
sub derived
{
	my ($db, $at) = @_;
	my %by_lead;
	for my $row (split /\n/, $node->safe_psql($db, qq{
		SELECT l.lead_id, coalesce(lead_gen.engagement_value(l.engagement, '$at'), 0),
			   lead_gen.lead_score(l, '$at'), coalesce(l.fit, -1), coalesce(l.grade, '-'), l.temperature,
			   coalesce(l.first_touch_at::text, '-'), coalesce(l.next_change_at <= '$at', false)
		FROM lead_gen.lead AS l ORDER BY l.lead_id}))
	{
		my ($id, @v) = split /\|/, $row;
		$by_lead{$id} = \@v;
	}
	return \%by_lead;
}

sub close_enough
{
	my ($x, $y) = @_;
	return abs($x - $y) <= 1e-9 * (abs($x) > 1 ? abs($x) : 1);
}

sub check_derived
{
	my ($db, $what) = @_;
	my $at = $node->safe_psql('postgres', 'SELECT now()');
	my $src = derived('source', $at);
	my $dst = derived($db, $at);
	my %bad;
	my ($due, $hot_or_warm) = (0, 0);
	is(scalar(keys %$dst), scalar(keys %$src), "$what: as many leads");
	for my $id (keys %$src)
	{
		my ($se, $ss, $sf, $sg, $st, $sft, $sdue) = @{ $src->{$id} };
		my ($de, $ds, $df, $dg, $dt, $dft) = @{ $dst->{$id} // [] };
		$hot_or_warm++ if $st ne 'cold';
		$bad{engagement}++ unless defined $de && close_enough($se, $de);
		$bad{score}++ unless defined $ds && close_enough($ss, $ds);
		$bad{fit}++ unless defined $df && close_enough($sf, $df);
		$bad{grade}++ unless defined $dg && $sg eq $dg;
		$bad{first_touch}++ unless defined $dft && $sft eq $dft;
		if ($sdue eq 't') { $due++; next; }
		$bad{temperature}++ unless defined $dt && $st eq $dt;
	}
	cmp_ok($hot_or_warm, '>', 100, "$what: $hot_or_warm leads are warm or hot in the source");
	is(join(', ', map { "$_: $bad{$_}" } sort keys %bad), '',
		"$what: every lead's engagement, score, fit, grade, first touch and temperature as in the source ($due leads due to change left out of the temperature check)");
	cmp_ok($due, '<', 5, "$what: few leads were due to change");
	return;
}

my $before = fingerprint('source');
for my $t (qw(lead_gen.lead lead_gen.activity lead_gen.stage_change lead_gen.campaign lead_gen.sla_flag
	lead_gen.visitor lead_gen.visitor_activity lead_gen.visitor_purge lead_gen.capture_submission
	lead_gen.lead_merge lead_gen.duplicate_dismissal))
{
	my ($n) = split / /, $before->{$t};
	cmp_ok($n, '>', 0, "$t has rows before the dump");
}

my $dump = $node->basedir . '/source.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('source') ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
	'pg_restore');

my $after = fingerprint('restored');
check_derived('restored', 'pg_restore');
is_deeply($after, $before, 'every row of every lead_gen table survives the round trip');
my $engaged = $node->safe_psql('source', 'SELECT count(*) FROM lead_gen.lead WHERE engagement IS NOT NULL');
cmp_ok($engaged, '>', 1000, "$engaged leads have engagement before the dump");
is(engagements('restored'), engagements('source'),
	'engagement is rebuilt from the restored activity, not counted twice');
is( $node->safe_psql('restored',
		'SELECT count(*) FROM lead_gen.lead AS l WHERE abs(l.score - lead_gen.lead_score(l, l.scored_at)) > 1e-9'),
	'0', 'restored scores agree with restored engagement and fit');
is( $node->safe_psql('restored', 'SELECT changed_at IS NOT NULL FROM lead_gen.scoring_state'),
	't', 'the restore marked the rules changed, so the next rescore() recomputes everyone');

# The model comes back as it was (the fingerprints above): the predictions
# restored are what it predicts, and it keeps predicting.
is( $node->safe_psql('restored', q{
		SELECT count(*) FROM lead_gen.lead WHERE prediction IS DISTINCT FROM lead_gen.predict('dump_model', lead_id)}),
	'0', 'every restored prediction is the restored model\'s');
is( $node->safe_psql('restored', q{
		UPDATE lead_gen.lead SET industry = 'fintech' WHERE lead_id = 7;
		SELECT prediction = lead_gen.predict('dump_model', 7) AND version = 2
		FROM lead_gen.lead, lead_gen.model_report('dump_model') WHERE lead_id = 7}),
	't', 'the active version predicts a changed lead after the restore');

# The identity sequences were carried over: new rows get fresh keys.
for my $t (qw(campaign lead activity stage_change))
{
	is( $node->safe_psql('restored',
			"SELECT last_value FROM lead_gen.${t}_${t}_id_seq"),
		$node->safe_psql('source', "SELECT last_value FROM lead_gen.${t}_${t}_id_seq"),
		"sequence of $t carried over");
}
$node->safe_psql('restored', q{
	INSERT INTO lead_gen.lead (email) VALUES ('after.restore@corp.example');
	INSERT INTO lead_gen.activity (lead_id, kind)
		SELECT lead_id, 'page_view' FROM lead_gen.lead WHERE email = 'after.restore@corp.example';
});
pass('rows inserted after the restore get new keys');
is( $node->safe_psql('restored', q{
		SELECT lead_gen.capture('{"email": "dump.form@corp.example", "first_name": "Other"}', 'dump-known', 'dump-key-1')
			 = (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.form@corp.example')
		   AND lead_gen.track('dump-known', 'page_view') = (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.form@corp.example')
		   AND (SELECT first_name FROM lead_gen.lead WHERE email = 'dump.form@corp.example') = 'Dee'}),
	't', 'a submission key and an identified visitor still work after the restore');
is( $node->safe_psql('restored', q{
		WITH c AS (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.c@corp.example'),
			 a AS (SELECT (loser_data->>'lead_id')::bigint AS id FROM lead_gen.lead_merge WHERE loser_data->>'email' = 'dump.merge.a@corp.example'),
			 ins AS (INSERT INTO lead_gen.activity (lead_id, kind) SELECT id, 'page_view' FROM a RETURNING lead_id)
		SELECT (SELECT lead_id FROM ins) = (SELECT lead_id FROM c)
		   AND lead_gen.resolve_lead((SELECT id FROM a)) = (SELECT lead_id FROM c)
		   AND lead_gen.track('dump-merge-visitor', 'page_view') = (SELECT lead_id FROM c)}),
	't', 'a merged id still resolves, and its activity and visitor still go to the winner, after the restore');
is( $node->safe_psql('restored', q{
		SELECT count(*) FROM lead_gen.activity
		WHERE lead_id = (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.c@corp.example')}),
	'6', 'the winner has the three leads\' webinars, the visitor\'s two visits and the redirected one');

# Segments come back as they were (the fingerprints above), keep working,
# and the first rescore() brings them to now.
my $wrong = q{
	SELECT count(*) FROM lead_gen.segment s CROSS JOIN lead_gen.lead l
	WHERE s.live AND lead_gen.condition_holds(s.criteria, l) IS DISTINCT FROM
		EXISTS (SELECT FROM lead_gen.segment_member m WHERE m.segment_id = s.segment_id AND m.lead_id = l.lead_id)};
cmp_ok($node->safe_psql('source', 'SELECT count(*) FROM lead_gen.segment_member'), '>', 50,
	'the source has segment members');
is($node->safe_psql('restored', 'CALL lead_gen.rescore()') ne '' && $node->safe_psql('restored', $wrong),
	'0', 'after the first rescore() every live segment\'s members are the leads its criteria hold for');
is( $node->safe_psql('restored', q{
		INSERT INTO lead_gen.activity (lead_id, kind)
			SELECT lead_id, 'demo_request' FROM lead_gen.lead WHERE email = 'dump.merge.c@corp.example';
		SELECT lead_gen.in_segment(lead_id, 'dump_corp') FROM lead_gen.lead WHERE email = 'dump.merge.c@corp.example'}),
	'f', 'activity after the restore moves a lead out of a live segment');
is( $node->safe_psql('restored', q{
		SELECT count(*) FROM lead_gen.segment_history
		WHERE lead_id = (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.merge.c@corp.example')
		  AND event = 'left' AND cause = 'activity'}),
	'1', 'and records it');

# Programs keep running: a lead that joins the entry segment is enrolled,
# and its message gets a key the source never used.
$node->safe_psql('restored', q{
		INSERT INTO lead_gen.lead (email, consent) VALUES ('dump.program@corp.example', 'subscribed');
		INSERT INTO lead_gen.activity (lead_id, kind)
			SELECT lead_id, 'webinar' FROM lead_gen.lead WHERE email = 'dump.program@corp.example';
		CALL lead_gen.advance_programs();
});
is( $node->safe_psql('restored', q{
		SELECT count(*) FROM lead_gen.outbox AS o JOIN lead_gen.enrollment AS e USING (enrollment_id)
		WHERE o.lead_id = (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.program@corp.example')}),
	'1', 'a lead joining the entry segment after the restore is enrolled and sent its first message');
cmp_ok( $node->safe_psql('restored', q{
		SELECT o.message_id FROM lead_gen.outbox AS o
		WHERE o.lead_id = (SELECT lead_id FROM lead_gen.lead WHERE email = 'dump.program@corp.example')}),
	'>', $node->safe_psql('source', 'SELECT max(message_id) FROM lead_gen.outbox'),
	'with a message id the source never used');
# What was due and not sent before the dump is handed out once, what was
# sent is not handed out again.
is( $node->safe_psql('restored', q{
		SELECT string_agg(m.message_id::text, ' ' ORDER BY m.message_id)
		FROM lead_gen.claim_messages('after-restore', 1000) AS m
		WHERE m.message_id <= (SELECT max(message_id) FROM lead_gen.outbox WHERE claimed_by = 'dump-worker')}),
	$node->safe_psql('source', q{
		SELECT string_agg(o.message_id::text, ' ' ORDER BY o.message_id) FROM lead_gen.outbox AS o
		WHERE o.status IN ('pending', 'claimed') AND o.visible_at <= now()
		  AND o.message_id <= (SELECT max(message_id) FROM lead_gen.outbox WHERE claimed_by = 'dump-worker')}),
	'after the restore, the messages due are handed out and those sent are not');

# A plain-text dump restores too (the format most people pipe around).
my $sql = $node->basedir . '/source.sql';
$node->command_ok([ 'pg_dump', '-f', $sql, '-d', $node->connstr('source') ], 'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored_plain'),
	  '-f', $sql ],
	'plain dump replays');
is_deeply(fingerprint('restored_plain'), $before, 'plain dump keeps every row too');
check_derived('restored_plain', 'plain dump');
is(engagements('restored_plain'), engagements('source'), 'plain dump rebuilds engagement too');

$node->stop;
done_testing();
