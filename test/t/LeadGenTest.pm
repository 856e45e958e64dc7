# Shared by the TAP tests: a node set up the way the tests need it.
package LeadGenTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Exporter 'import';
our @EXPORT = qw(cron_node);

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

1;
