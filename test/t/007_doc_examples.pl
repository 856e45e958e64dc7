# Every example in the docs runs and prints what the doc says.  An example
# is a ```sql block followed by a ```text block with its output as psql
# prints it (aligned, errors as ERROR/DETAIL/HINT lines); the examples of
# one page run in order in a database of their own, so later ones build on
# earlier ones.  A ```sql block without its output block is an error.
#
# DOC_UPDATE=DIR writes each page with the outputs this run printed into DIR
# (for a changed example: review the diff, then copy the page back).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use File::Basename;

my @pages = ('README.md', sort glob('doc/*.md'));
my $node = PostgreSQL::Test::Cluster->new('docs');
$node->init;
$node->start;

# [line, sql, expected output] of every example of a page
sub examples
{
	my ($page) = @_;
	my @lines = split /\n/, slurp_file($page), -1;
	my @found;
	for (my $i = 0; $i < @lines; $i++)
	{
		next unless $lines[$i] =~ /^```sql\s*$/;
		my $start = $i + 1;
		my @sql;
		push @sql, $lines[$i] while ++$i < @lines && $lines[$i] !~ /^```\s*$/;
		my $j = $i + 1;
		$j++ while $j < @lines && $lines[$j] =~ /^\s*$/;
		if ($j >= @lines || $lines[$j] !~ /^```text\s*$/)
		{
			push @found, [ $start, join("\n", @sql), undef ];
			next;
		}
		my $open = $j;
		my @out;
		push @out, $lines[$j] while ++$j < @lines && $lines[$j] !~ /^```\s*$/;
		push @found, [ $start, join("\n", @sql), join("\n", @out), $open, $j ];
		$i = $j;
	}
	return @found;
}

sub normalize
{
	my ($text) = @_;
	$text =~ s/^psql:<stdin>:\d+: //mg;
	$text =~ s/[ \t]+$//mg;
	$text =~ s/\n+\z//;
	return $text;
}

sub run_sql
{
	my ($db, $sql) = @_;
	my $out = '';
	IPC::Run::run([ 'psql', '-X', '-q', '-P', 'pager=off', '-v', 'VERBOSITY=default',
					'-d', $node->connstr($db), '-f', '-' ],
				  '<', \$sql, '>&', \$out);
	return normalize($out);
}

my $total = 0;
my @first;
for my $page (@pages)
{
	my @ex = examples($page);
	next unless @ex;
	(my $db = 'doc_' . lc(basename($page, '.md'))) =~ s/[^a-z0-9]/_/g;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION lead_gen CASCADE');
	my @lines = split /\n/, slurp_file($page), -1;
	my $changed = 0;
	for my $ex (reverse map { [ $_, run_sql($db, $_->[1]) ] } @ex)
	{
		my ($e, $got) = @$ex;
		my ($line, $sql, $want, $open, $close) = @$e;
		if (!defined $want)
		{
			fail("$page:$line: a ```sql block without its ```text output block");
			next;
		}
		is($got, normalize($want), "$page:$line");
		@first = ($db, $sql, $got) unless @first;
		if ($ENV{DOC_UPDATE} && $got ne normalize($want))
		{
			splice @lines, $open + 1, $close - $open - 1, split(/\n/, $got);
			$changed = 1;
		}
		$total++;
	}
	if ($changed)
	{
		mkdir $ENV{DOC_UPDATE} . '/' . dirname($page);
		open my $fh, '>', "$ENV{DOC_UPDATE}/$page" or die "$page: $!";
		print $fh join("\n", @lines);
		close $fh;
	}
}
cmp_ok($total, '>=', 15, "$total examples in the docs");

# The comparison sees a wrong output: an example's real output against its
# expected output with one digit (or letter) changed.
my (undef, undef, $got) = @first;
my $wrong = $got;
$wrong =~ s/(\d)/$1 == 9 ? 8 : $1 + 1/e or $wrong =~ s/([a-y])/chr(ord($1) + 1)/e;
isnt(normalize($wrong), $got, 'an output with one character changed does not pass');

$node->stop;
done_testing();
