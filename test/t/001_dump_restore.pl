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
$node->safe_psql('source', 'CREATE EXTENSION lead_gen');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('source'),
	  '-f', 'test/data/sample.sql' ],
	'sample data loads');

# One fingerprint per table of the extension: row count and a hash of all
# rows in key order.  Tables are read from the catalog so that a table added
# later is covered without touching this test.
my $tables = $node->safe_psql('source', q{
	SELECT string_agg(c.oid::regclass::text, ' ' ORDER BY c.relname)
	FROM pg_class AS c
	WHERE c.relnamespace = 'lead_gen'::regnamespace AND c.relkind = 'r'});
ok($tables =~ /lead_gen\.lead\b/ && $tables =~ /lead_gen\.activity\b/, "tables: $tables");

sub fingerprint
{
	my ($db) = @_;
	my %fp;
	for my $t (split / /, $tables)
	{
		$fp{$t} = $node->safe_psql($db,
			"SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
			 FROM $t AS t");
	}
	return \%fp;
}

my $before = fingerprint('source');
for my $t (qw(lead_gen.lead lead_gen.activity lead_gen.stage_change lead_gen.campaign))
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
is_deeply($after, $before, 'every row of every lead_gen table survives the round trip');

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

# A plain-text dump restores too (the format most people pipe around).
my $sql = $node->basedir . '/source.sql';
$node->command_ok([ 'pg_dump', '-f', $sql, '-d', $node->connstr('source') ], 'pg_dump plain');
$node->safe_psql('postgres', 'CREATE DATABASE restored_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored_plain'),
	  '-f', $sql ],
	'plain dump replays');
is_deeply(fingerprint('restored_plain'), $before, 'plain dump keeps every row too');

$node->stop;
done_testing();
