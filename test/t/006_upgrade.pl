# Upgrades: from every released version (VERSIONS below), install it, add
# the demo data and some life, ALTER EXTENSION lead_gen UPDATE, and check
# that the data is untouched, the result has exactly the objects of a fresh
# install of the new version, lead_gen behaves (including what the update
# changed), and a dump taken after the update restores.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use LeadGenTest;

# every released version; the default version is read from the control file
my @released = ('1.0', '1.1', '1.2', '1.3');
my ($current) = slurp_file('lead_gen.control') =~ /default_version\s*=\s*'([^']+)'/;
ok($current, "the default version is $current");

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

# Every row of every lead_gen table but the values derived from the clock.
sub fingerprint
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(t || ' ' || n, ', ' ORDER BY t) FROM (
			SELECT 'lead' AS t, count(*) || ':' || md5(string_agg((to_jsonb(l) - ARRAY['engagement', 'score', 'temperature',
				'next_change_at', 'scored_at', 'prediction'])::text, '|' ORDER BY l.lead_id)) AS n FROM lead_gen.lead AS l
			UNION ALL SELECT 'activity', count(*) || ':' || md5(string_agg(a::text, '|' ORDER BY a.activity_id))
			FROM lead_gen.activity AS a
			UNION ALL SELECT 'stage_change', count(*) || ':' || md5(string_agg(c::text, '|' ORDER BY c.stage_change_id))
			FROM lead_gen.stage_change AS c
			UNION ALL SELECT 'campaign', count(*)::text FROM lead_gen.campaign
			-- but the default rule new in 1.4 (checked below)
			UNION ALL SELECT 'scoring_rule', md5(string_agg(r::text, '|' ORDER BY r.kind)) FROM lead_gen.scoring_rule AS r
			WHERE r.kind::text <> 'form_submission'
			UNION ALL SELECT 'stage_transition', md5(string_agg(s::text, '|' ORDER BY s.from_stage, s.to_stage))
			FROM lead_gen.stage_transition AS s) AS x});
}

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION lead_gen CASCADE');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'lead_gen'}),
	$current, "a fresh install is $current");
my $fresh_catalog = catalog_of($node, 'fresh');
cmp_ok(scalar(split /\n(?! )/, $fresh_catalog), '>', 500, 'the catalog of a fresh install has its facts');

# The comparison sees a wrong upgrade script: each of these is what an
# upgrade script that forgot or botched one statement would leave behind.
my %botched = (
	'a function body not replaced' => q{CREATE OR REPLACE FUNCTION lead_gen.score_at(lead_id bigint, at timestamptz)
		RETURNS float8 LANGUAGE sql STABLE STRICT SET search_path = pg_catalog, pg_temp
		AS $$ SELECT 0::float8 $$;},
	'a comment not updated' => q{COMMENT ON TABLE lead_gen.lead IS 'stale';},
	'a trigger not created' => q{DROP TRIGGER lead_changed ON lead_gen.lead;},
	'a column default not changed' => q{ALTER TABLE lead_gen.scoring_settings ALTER COLUMN hot_at SET DEFAULT 61;},
	'a privilege not revoked' => q{GRANT SELECT ON lead_gen.scoring_state TO PUBLIC;},
	'a table not registered for pg_dump' => q{UPDATE pg_extension SET extconfig = extconfig || 'lead_gen.scoring_state'::regclass::oid,
		extcondition = extcondition || ''::text WHERE extname = 'lead_gen';},
	'a constraint not replaced' => q{ALTER TABLE lead_gen.campaign DROP CONSTRAINT campaign_dates_check;},
);
for my $what (sort keys %botched)
{
	my $catalog = catalog_of($node, 'fresh', "BEGIN; $botched{$what}\n");
	$node->safe_psql('fresh', 'SELECT 1');	# the BEGIN above ended with its session
	isnt(catalog_diff($fresh_catalog, $catalog), '', "the catalog comparison sees $what");
}
is(catalog_diff($fresh_catalog, catalog_of($node, 'fresh')), '', 'and nothing in a fresh install compared with itself');

for my $old (@released)
{
	next if $old eq $current;
	my $db = 'from_' . ($old =~ s/\./_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION lead_gen VERSION '$old'");
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'lead_gen'}),
		$old, "installed $old");
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db),
		  '-f', 'test/data/sample.sql' ],
		"demo data loaded into $old");
	$node->safe_psql($db, q{
		INSERT INTO lead_gen.activity (lead_id, kind)
			SELECT lead_id, 'demo_request' FROM lead_gen.lead WHERE stage = 'lead' ORDER BY lead_id LIMIT 10;
		SELECT lead_gen.disqualify(lead_id, 'before the update') FROM lead_gen.lead
		WHERE stage = 'prospect' ORDER BY lead_id LIMIT 3;
		UPDATE lead_gen.scoring_rule SET points = 2 WHERE kind = 'page_view';
	});
	my $before = fingerprint($db);

	# 1.4 requires pg_trgm, which an older install may not have
	my ($trgm_rc, $trgm_out, $trgm_err) = $node->psql($db, 'ALTER EXTENSION lead_gen UPDATE');
	like($trgm_err, qr/required extension "pg_trgm" is not installed/,
		"$old -> $current without pg_trgm: refused, saying what is missing");
	$node->safe_psql($db, 'CREATE EXTENSION pg_trgm');
	$node->safe_psql($db, 'ALTER EXTENSION lead_gen UPDATE');
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'lead_gen'}),
		$current, "$old updated to $current");
	is(fingerprint($db), $before, "$old -> $current: every row is as it was");
	is($node->safe_psql($db, q{SELECT r::text FROM lead_gen.scoring_rule AS r WHERE kind = 'form_submission'}),
		$node->safe_psql('fresh', q{SELECT r::text FROM lead_gen.scoring_rule AS r WHERE kind = 'form_submission'}),
		"$old -> $current: the default rule new in 1.4 is there");
	my $diff = catalog_diff($fresh_catalog, catalog_of($node, $db));
	is($diff, '', "$old -> $current: the same catalog as a fresh install (- fresh, + upgraded)");

	# behaviour after the update: scoring, stages, reports
	$node->safe_psql($db, q{
		INSERT INTO lead_gen.activity (lead_id, kind)
			SELECT lead_id, 'webinar' FROM lead_gen.lead ORDER BY lead_id LIMIT 100;
		SELECT lead_gen.transition(lead_id, 'opportunity', 'after the update') FROM lead_gen.lead
		WHERE stage = 'sql' ORDER BY lead_id LIMIT 3;
	});
	# the rules changed before the update: the scheduled job recomputes everyone
	$node->safe_psql($db, 'CALL lead_gen.rescore()');
	is(lead_mismatches($node, $db)->{engagement}, '0', "$old -> $current: scoring still exact");
	# 1.2, 1.3: recompute_all() in batches of its own range, from a window read once
	$node->safe_psql($db, q{
		UPDATE lead_gen.scoring_rule SET points = 3 WHERE kind = 'page_view';
		CALL lead_gen.recompute_all(37);
	});
	my $m = lead_mismatches($node, $db);
	is("$m->{engagement} $m->{first_touch} $m->{score}", '0 0 0',
		"$old -> $current: recompute_all() in small batches recomputes every lead");
	cmp_ok($node->safe_psql($db, q{SELECT reached FROM lead_gen.stage_funnel() WHERE stage = 'customer'}),
		'>', 0, "$old -> $current: reports work");
	# 1.4: a model of the updated leads, kept on every one of them (and dumped below)
	$node->safe_psql($db, q{
		SELECT lead_gen.train_model('upgraded', ARRAY['industry', 'country', 'count(webinar in first 30 days)']);
		SELECT lead_gen.keep_prediction('upgraded');
	});
	is( $node->safe_psql($db, q{
			SELECT count(*) > 0 AND count(*) FILTER (WHERE prediction IS NULL) = 0
			   AND bool_and(prediction = lead_gen.predict('upgraded', lead_id))
			FROM lead_gen.lead}),
		't', "$old -> $current: a model trains and its predictions are kept on every lead");
	# 1.1: only lead_gen writes history (admins may import)
	$node->safe_psql($db, q{
		DO $$BEGIN
			-- roles are the cluster's: one for every version tested
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'upgrade_writer') THEN
				CREATE ROLE upgrade_writer;
			END IF;
		END$$;
		SELECT lead_gen.grant_access('upgrade_writer', 'writer');
	});
	my ($rc, $out, $err) = $node->psql($db, q{
		SET ROLE upgrade_writer;
		INSERT INTO lead_gen.stage_change (lead_id, from_stage, to_stage, cause) VALUES (1, 'lead', 'customer', 'manual');
	});
	like($err, qr/permission denied to write stage history/, "$old -> $current: writers cannot forge history");
	is( $node->safe_psql($db, q{
			SET ROLE upgrade_writer;
			SELECT (lead_gen.transition(lead_id, 'disqualified', 'by a writer')).kind
			FROM lead_gen.lead WHERE stage = 'lead' ORDER BY lead_id LIMIT 1}),
		'disqualify', "$old -> $current: writers still move stages, with history");

	# a dump of the updated database restores, at the new version
	my $dump = $node->basedir . "/$db.dump";
	$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr($db) ], "pg_dump after the update");
	$node->safe_psql('postgres', "CREATE DATABASE ${db}_restored");
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr("${db}_restored"), $dump ],
		'pg_restore');
	is($node->safe_psql("${db}_restored", q{SELECT extversion FROM pg_extension WHERE extname = 'lead_gen'}),
		$current, "restored at $current");
	is(fingerprint("${db}_restored"), fingerprint($db), "$old -> $current -> dump -> restore: every row");
}

# What 1.3 let a writer (or hostile input) write, 1.4 repairs when it
# updates, each repair counted in a WARNING (ALTER EXTENSION hides an
# extension script's NOTICEs).  The library is already 1.4's, whose triggers
# refuse the forgeries: they are written with the triggers off, as 1.3's let
# them in.
{
	my $db = 'forged_1_3';
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION lead_gen VERSION '1.3'; CREATE EXTENSION pg_trgm");
	$node->safe_psql($db, q{
		INSERT INTO lead_gen.campaign (name, channel, spend) VALUES ('nan', 'paid', 'NaN'), ('fine', 'paid', 100);
		INSERT INTO lead_gen.lead (lead_id, email, budget, annual_revenue) VALUES
			(1, 'forged-engagement@x.example', 'NaN', 'NaN'), (2, 'forged-stage@x.example', NULL, NULL),
			(3, 'honest@x.example', 1000, NULL), (4, 'forged-insert@x.example', NULL, NULL);
		INSERT INTO lead_gen.activity (lead_id, kind) SELECT g % 3 + 1, 'social_follow' FROM generate_series(1, 9) AS g;
		UPDATE lead_gen.bant_rule SET min_budget = 'NaN';
		UPDATE lead_gen.scoring_rule SET kind = 'page_viewz' WHERE kind = 'page_view';
		CALL lead_gen.recompute_all();
		SET session_replication_role = replica;
		UPDATE lead_gen.lead SET engagement = '(5000,2026-01-01 00:00:00+00,30 days)' WHERE lead_id = 1;
		UPDATE lead_gen.lead SET first_touch_at = '2020-01-01' WHERE lead_id = 2;
		UPDATE lead_gen.lead SET peak_stage = 'customer', mql_at = '2020-01-01', stage_changed_at = '2020-01-01',
			created_at = '2030-01-01' WHERE lead_id = 4;
	});
	# (1.4 adds prediction, NULL without a kept model)
	my $honest = $node->safe_psql($db, q{SELECT (to_jsonb(l) - 'prediction')::text FROM lead_gen.lead AS l WHERE lead_id = 3});
	my ($rc, $out, $err) = $node->psql($db, 'ALTER EXTENSION lead_gen UPDATE', on_error_stop => 1);
	is($rc, 0, 'a 1.3 install with forged and NaN data updates');
	my @notices = $err =~ /WARNING:  lead_gen 1\.4: ([^\n]*)/g;
	is(join("\n", @notices), join("\n",
		"2 leads' engagement or first touch recomputed from their activity",
		'1 leads created or updated in the future now say now',
		'2 NaN budgets and annual revenues of leads set to NULL',
		'1 NaN campaign spends set to 0',
		'a NaN BANT minimum budget set to 0',
		"1 leads' peak stage, mql_at or stage_changed_at set to what their stage history says",
		'1 renamed default scoring rules put back (with their default points)'),
		'each repair is counted in a WARNING');
	is(lead_mismatches($node, $db)->{engagement}, '0', 'every engagement is its recomputation again');
	is( $node->safe_psql($db, q{
			SELECT string_agg(format('%s %s %s %s %s', lead_id, budget, annual_revenue, peak_stage,
									 mql_at IS NULL AND stage_changed_at = created_at AND created_at <= now()), ', '
							  ORDER BY lead_id)
			FROM lead_gen.lead WHERE lead_id IN (1, 2, 4)}),
		'1   prospect t, 2   prospect t, 4   prospect t', 'NaN amounts and forged bookkeeping are gone');
	is($node->safe_psql($db, q{SELECT count(*) FROM lead_gen.channel_report() WHERE cost_per_lead = 'NaN' OR spend = 'NaN'}),
		'0', 'no NaN in the channel report');
	is($node->safe_psql($db, q{SELECT string_agg(kind, ' ' ORDER BY kind) FROM lead_gen.scoring_rule WHERE kind LIKE 'page_view%'}),
		'page_view page_viewz', 'the renamed default rule is back beside the new name');
	is($node->safe_psql($db, q{SELECT (to_jsonb(l) - 'prediction')::text FROM lead_gen.lead AS l WHERE lead_id = 3}), $honest,
		'an honest lead is left as it was');
	is(catalog_diff($fresh_catalog, catalog_of($node, $db)), '', 'and the catalog is a fresh install\'s');
}

$node->stop;
done_testing();
