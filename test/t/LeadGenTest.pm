# Shared by the TAP tests: a node set up the way the tests need it.
package LeadGenTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Test::More;
use Exporter 'import';
our @EXPORT = qw(cron_node check_leads_exact);

# A started node with pg_cron preloaded and running jobs in database postgres
# with background workers (no password needed), as in the README.
sub cron_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 20
});
	$node->start;
	return $node;
}

# What must hold after any crash or load: every lead's engagement equals its
# recomputation from history, every score agrees with it, every lead's stage
# is the last one its history records, and the history has no gaps.
sub check_leads_exact
{
	my ($node, $what) = @_;
	is( $node->safe_psql('postgres', q{
			SELECT count(*) FROM lead_gen.lead AS l
			WHERE abs(coalesce(lead_gen.engagement_value(l.engagement, '2030-01-01'), 0)
					  - coalesce(lead_gen.engagement_value(lead_gen.engagement_from_history(l.lead_id), '2030-01-01'), 0))
				  > 1e-9}),
		'0', "$what: every lead's engagement equals its recomputation from history");
	is( $node->safe_psql('postgres', q{
			SELECT count(*) FROM lead_gen.lead AS l
			WHERE abs(l.score - lead_gen.lead_score(l, l.scored_at)) > 1e-9}),
		'0', "$what: every score agrees with the lead's engagement and fit");
	is( $node->safe_psql('postgres', q{
			SELECT count(*) FROM lead_gen.lead AS l
			LEFT JOIN (SELECT DISTINCT ON (c.lead_id) c.lead_id, c.to_stage, c.changed_at
					   FROM lead_gen.stage_change AS c ORDER BY c.lead_id, c.stage_change_id DESC) AS h
			  ON h.lead_id = l.lead_id
			WHERE l.stage IS DISTINCT FROM coalesce(h.to_stage, l.stage)
			   OR l.stage_changed_at IS DISTINCT FROM coalesce(h.changed_at, l.created_at)}),
		'0', "$what: every lead's stage is the last one its history records");
	is( $node->safe_psql('postgres', q{
			SELECT count(*) FROM (
				SELECT c.to_stage, lead(c.from_stage) OVER (PARTITION BY c.lead_id ORDER BY c.stage_change_id) AS next_from
				FROM lead_gen.stage_change AS c) AS x
			WHERE x.next_from IS NOT NULL AND x.next_from <> x.to_stage}),
		'0', "$what: the history has no gaps");
	return;
}

1;
