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

# every released version; the default version is read from the control file
my @released = ('1.0', '1.1', '1.2');
my ($current) = slurp_file('lead_gen.control') =~ /default_version\s*=\s*'([^']+)'/;
ok($current, "the default version is $current");

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

# The extension's objects, described so that two databases can be compared.
sub objects
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(pg_describe_object(classid, objid, objsubid), E'\n' ORDER BY 1)
		FROM pg_depend
		WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
		  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lead_gen')});
}

# Every row of every lead_gen table but the values derived from the clock.
sub fingerprint
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(t || ' ' || n, ', ' ORDER BY t) FROM (
			SELECT 'lead' AS t, count(*) || ':' || md5(string_agg((to_jsonb(l) - ARRAY['engagement', 'score', 'temperature',
				'next_change_at', 'scored_at'])::text, '|' ORDER BY l.lead_id)) AS n FROM lead_gen.lead AS l
			UNION ALL SELECT 'activity', count(*) || ':' || md5(string_agg(a::text, '|' ORDER BY a.activity_id))
			FROM lead_gen.activity AS a
			UNION ALL SELECT 'stage_change', count(*) || ':' || md5(string_agg(c::text, '|' ORDER BY c.stage_change_id))
			FROM lead_gen.stage_change AS c
			UNION ALL SELECT 'campaign', count(*)::text FROM lead_gen.campaign
			UNION ALL SELECT 'scoring_rule', md5(string_agg(r::text, '|' ORDER BY r.kind)) FROM lead_gen.scoring_rule AS r
			UNION ALL SELECT 'stage_transition', md5(string_agg(s::text, '|' ORDER BY s.from_stage, s.to_stage))
			FROM lead_gen.stage_transition AS s) AS x});
}

# The definitions of the extension's functions and procedures: an update
# script that forgets to replace a body leaves the old one behind.
sub definitions
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid)), E'\n' ORDER BY 1)
		FROM pg_proc AS p JOIN pg_depend AS d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
		WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND p.prokind <> 'a'
		  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'lead_gen')});
}

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION lead_gen');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'lead_gen'}),
	$current, "a fresh install is $current");
my $fresh_objects = objects('fresh');
my $fresh_definitions = definitions('fresh');

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

	$node->safe_psql($db, 'ALTER EXTENSION lead_gen UPDATE');
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'lead_gen'}),
		$current, "$old updated to $current");
	is(fingerprint($db), $before, "$old -> $current: every row is as it was");
	is(objects($db), $fresh_objects, "$old -> $current: the same objects as a fresh install");
	is(definitions($db), $fresh_definitions, "$old -> $current: the same function bodies as a fresh install");

	# behaviour after the update: scoring, stages, reports
	$node->safe_psql($db, q{
		INSERT INTO lead_gen.activity (lead_id, kind)
			SELECT lead_id, 'webinar' FROM lead_gen.lead ORDER BY lead_id LIMIT 100;
		SELECT lead_gen.transition(lead_id, 'opportunity', 'after the update') FROM lead_gen.lead
		WHERE stage = 'sql' ORDER BY lead_id LIMIT 3;
	});
	is( $node->safe_psql($db, q{
			SELECT count(*) FROM lead_gen.lead AS l
			WHERE abs(coalesce(lead_gen.engagement_value(l.engagement, '2030-01-01'), 0)
					  - coalesce(lead_gen.engagement_value(lead_gen.engagement_from_history(l.lead_id), '2030-01-01'), 0)) > 1e-9}),
		'0', "$old -> $current: scoring still exact");
	# 1.2, 1.3: recompute_all() in batches of its own range, from a window read once
	$node->safe_psql($db, q{
		UPDATE lead_gen.scoring_rule SET points = 3 WHERE kind = 'page_view';
		CALL lead_gen.recompute_all(37);
	});
	is( $node->safe_psql($db, q{
			SELECT count(*) FROM lead_gen.lead AS l
			WHERE abs(coalesce(lead_gen.engagement_value(l.engagement, '2030-01-01'), 0)
					  - coalesce(lead_gen.engagement_value(lead_gen.engagement_from_history(l.lead_id), '2030-01-01'), 0)) > 1e-9
			   OR l.first_touch_at IS DISTINCT FROM (
					SELECT min(a.occurred_at) FROM lead_gen.activity AS a JOIN lead_gen.scoring_rule AS r USING (kind)
					WHERE a.lead_id = l.lead_id AND r.sales_touch)}),
		'0', "$old -> $current: recompute_all() in small batches recomputes every lead");
	cmp_ok($node->safe_psql($db, q{SELECT reached FROM lead_gen.stage_funnel() WHERE stage = 'customer'}),
		'>', 0, "$old -> $current: reports work");
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

$node->stop;
done_testing();
