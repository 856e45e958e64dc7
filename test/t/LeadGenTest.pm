# Shared by the TAP tests: a node set up the way the tests need it.
package LeadGenTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Test::More;
use Exporter 'import';
our @EXPORT = qw(cron_node lead_mismatches check_leads_exact check_oracle_sees_one_wrong_lead catalog_of catalog_diff);

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

# How many leads of a database (default postgres) break each rule that must
# hold after any crash or load (an empty database: all 0).  Engagement is
# compared with its recomputation from history at the lead's own time (the
# later of the two as_of), with a relative tolerance: far in the future
# decay would shrink any difference below an absolute one.
sub lead_mismatches
{
	my ($node, $db) = @_;
	$db //= 'postgres';
	my %count;
	my @rules = (
		engagement => q{
			SELECT count(*) FROM lead_gen.lead AS l
			CROSS JOIN LATERAL (SELECT lead_gen.engagement_from_history(l.lead_id) AS h) AS r
			CROSS JOIN LATERAL (SELECT greatest(lead_gen.engagement_as_of(l.engagement),
												lead_gen.engagement_as_of(r.h)) AS t) AS at
			CROSS JOIN LATERAL (SELECT coalesce(lead_gen.engagement_value(l.engagement, at.t), 0) AS stored,
									   coalesce(lead_gen.engagement_value(r.h, at.t), 0) AS recomputed) AS v
			WHERE abs(v.stored - v.recomputed) > 1e-9 * greatest(abs(v.stored), abs(v.recomputed), 1e-6)
			   OR lead_gen.engagement_half_life(l.engagement) <> lead_gen.engagement_half_life(r.h)},
		first_touch => q{
			SELECT count(*) FROM lead_gen.lead AS l
			LEFT JOIN lead_gen.history_first_touch(0, 9223372036854775807) AS h ON h.lead_id = l.lead_id
			WHERE l.first_touch_at IS DISTINCT FROM h.first_touch_at},
		score => q{
			SELECT count(*) FROM lead_gen.lead AS l
			CROSS JOIN LATERAL (SELECT lead_gen.lead_score(l, l.scored_at) AS s) AS x
			WHERE abs(l.score - x.s) > 1e-9 * greatest(abs(l.score), abs(x.s), 1e-6)},
		stage => q{
			SELECT count(*) FROM lead_gen.lead AS l
			LEFT JOIN (SELECT DISTINCT ON (c.lead_id) c.lead_id, c.to_stage, c.changed_at
					   FROM lead_gen.stage_change AS c ORDER BY c.lead_id, c.stage_change_id DESC) AS h
			  ON h.lead_id = l.lead_id
			WHERE l.stage IS DISTINCT FROM coalesce(h.to_stage, l.stage)
			   OR l.stage_changed_at IS DISTINCT FROM coalesce(h.changed_at, l.created_at)},
		history_gaps => q{
			SELECT count(*) FROM (
				SELECT c.to_stage, lead(c.from_stage) OVER (PARTITION BY c.lead_id ORDER BY c.stage_change_id) AS next_from
				FROM lead_gen.stage_change AS c) AS x
			WHERE x.next_from IS NOT NULL AND x.next_from <> x.to_stage});
	while (my ($rule, $sql) = splice(@rules, 0, 2))
	{
		$count{$rule} = $node->safe_psql($db, $sql);
	}
	return \%count;
}

# What must hold after any crash or load: every lead's engagement and first
# touch equal their recomputation from history, every score agrees with
# them, every lead's stage is the last one its history records, and the
# history has no gaps.
sub check_leads_exact
{
	my ($node, $what) = @_;
	my $m = lead_mismatches($node);
	is($m->{engagement}, '0', "$what: every lead's engagement equals its recomputation from history");
	is($m->{first_touch}, '0', "$what: every lead's first touch equals its recomputation from history");
	is($m->{score}, '0', "$what: every score agrees with the lead's engagement and fit");
	is($m->{stage}, '0', "$what: every lead's stage is the last one its history records");
	is($m->{history_gaps}, '0', "$what: the history has no gaps");
	return;
}

# The oracle sees one wrong lead: the engagement of the lead that has
# decayed most (so that by 2030 the error would be far below 1e-9) made
# larger by a millionth, as an admin may write it; then recomputed.
sub check_oracle_sees_one_wrong_lead
{
	my ($node) = @_;
	my $victim = $node->safe_psql('postgres', q{
		SELECT lead_id FROM lead_gen.lead WHERE engagement IS NOT NULL
		ORDER BY lead_gen.engagement_as_of(engagement), lead_id LIMIT 1});
	$node->safe_psql('postgres', qq{
		UPDATE lead_gen.lead
		SET engagement = lead_gen.engagement(lead_gen.engagement_value(engagement, lead_gen.engagement_as_of(engagement)) * 1.000001,
											 lead_gen.engagement_as_of(engagement), lead_gen.engagement_half_life(engagement))
		WHERE lead_id = $victim});
	my $m = lead_mismatches($node);
	is($m->{engagement}, '1', "the oracle sees one lead's engagement off by a millionth (lead $victim)");
	is($m->{score}, '0', 'and that its score follows its engagement');
	$node->safe_psql('postgres', qq{UPDATE lead_gen.lead SET first_touch_at = first_touch_at - interval '1 second'
									WHERE lead_id = (SELECT min(lead_id) FROM lead_gen.lead WHERE first_touch_at IS NOT NULL)});
	is(lead_mismatches($node)->{first_touch}, '1', 'and one lead\'s first touch a second early');
	$node->safe_psql('postgres', 'CALL lead_gen.recompute_all()');
	$m = lead_mismatches($node);
	is("$m->{engagement} $m->{first_touch}", '0 0', 'recompute_all() puts both right');
	return;
}

# Everything about lead_gen's objects that an install or upgrade script
# decides, one line per fact, sorted: members, columns (in order, with type,
# default, nullability, identity), constraints, indexes, triggers, function
# and aggregate definitions, views, enum labels, operators, comments,
# privileges, row security, what pg_dump dumps.  Two databases with the same
# lines have the same lead_gen.
my $catalog_sql = q{
WITH ext AS (SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'lead_gen'),
member AS (
	SELECT d.classid, d.objid FROM pg_depend AS d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rel AS (SELECT c.* FROM pg_class AS c WHERE c.relnamespace = 'lead_gen'::regnamespace),
facts AS (
	SELECT 'member ' || pg_describe_object(m.classid, m.objid, 0) AS f FROM member AS m
	UNION ALL
	SELECT format('column %s.%s #%s %s notnull=%s default=%s identity=%s generated=%s collation=%s',
				  r.relname, a.attname,
				  row_number() OVER (PARTITION BY r.oid ORDER BY a.attnum),
				  format_type(a.atttypid, a.atttypmod), a.attnotnull,
				  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attcollation::regcollation)
	FROM rel AS r JOIN pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_attrdef AS ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
	UNION ALL
	SELECT format('relation %s kind=%s persistence=%s options=%s acl=%s rls=%s,%s', r.relname, r.relkind,
				  r.relpersistence, r.reloptions, r.relacl, r.relrowsecurity, r.relforcerowsecurity)
	FROM rel AS r
	UNION ALL
	SELECT format('constraint %s %s %s deferrable=%s,%s', coalesce(c.conrelid::regclass::text, c.contypid::regtype::text),
				  c.conname, pg_get_constraintdef(c.oid), c.condeferrable, c.condeferred)
	FROM pg_constraint AS c WHERE c.connamespace = 'lead_gen'::regnamespace
	UNION ALL
	SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index AS i JOIN rel AS r ON r.oid = i.indrelid
	UNION ALL
	SELECT format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
	FROM pg_trigger AS t JOIN rel AS r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
	UNION ALL
	SELECT format('function %s %s acl=%s', p.oid::regprocedure,
				  CASE WHEN p.prokind = 'a' THEN NULL ELSE pg_get_functiondef(p.oid) END, p.proacl)
	FROM pg_proc AS p WHERE p.pronamespace = 'lead_gen'::regnamespace
	UNION ALL
	SELECT format('aggregate %s trans=%s final=%s combine=%s serial=%s deserial=%s stype=%s init=%s finalmodify=%s parallel=%s',
				  a.aggfnoid::regprocedure, a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,
				  a.aggdeserialfn, a.aggtranstype::regtype, a.agginitval, a.aggfinalmodify, p.proparallel)
	FROM pg_aggregate AS a JOIN pg_proc AS p ON p.oid = a.aggfnoid
	WHERE p.pronamespace = 'lead_gen'::regnamespace
	UNION ALL
	SELECT format('view %s %s', r.relname, pg_get_viewdef(r.oid)) FROM rel AS r WHERE r.relkind IN ('v', 'm')
	UNION ALL
	SELECT format('type %s type=%s input=%s output=%s receive=%s send=%s len=%s align=%s storage=%s basetype=%s notnull=%s default=%s acl=%s',
				  t.typname, t.typtype, t.typinput, t.typoutput, t.typreceive, t.typsend, t.typlen, t.typalign,
				  t.typstorage, t.typbasetype::regtype, t.typnotnull, t.typdefault, t.typacl)
	FROM pg_type AS t WHERE t.typnamespace = 'lead_gen'::regnamespace
	UNION ALL
	SELECT format('enum %s %s %s', e.enumtypid::regtype,
				  row_number() OVER (PARTITION BY e.enumtypid ORDER BY e.enumsortorder), e.enumlabel)
	FROM pg_enum AS e JOIN pg_type AS t ON t.oid = e.enumtypid WHERE t.typnamespace = 'lead_gen'::regnamespace
	UNION ALL
	SELECT format('operator %s code=%s commutator=%s negator=%s restrict=%s join=%s hashes=%s merges=%s',
				  o.oid::regoperator, o.oprcode, o.oprcom::regoperator, o.oprnegate::regoperator,
				  o.oprrest, o.oprjoin, o.oprcanhash, o.oprcanmerge)
	FROM pg_operator AS o WHERE o.oprnamespace = 'lead_gen'::regnamespace
	UNION ALL
	SELECT format('opclass %s method=%s type=%s default=%s', c.opcname, c.opcmethod, c.opcintype::regtype, c.opcdefault)
	FROM pg_opclass AS c WHERE c.opcnamespace = 'lead_gen'::regnamespace
	UNION ALL
	SELECT format('policy %s.%s %s %s using=%s check=%s', r.relname, p.polname, p.polcmd, p.polroles,
				  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
	FROM pg_policy AS p JOIN rel AS r ON r.oid = p.polrelid
	UNION ALL
	SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
	FROM pg_description AS d
	WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM member)
	   OR (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rel))
	UNION ALL
	SELECT format('dumped %s where=%s', c.cfg::regclass, c.cond)
	FROM ext, unnest(ext.extconfig, ext.extcondition) AS c(cfg, cond)
	UNION ALL
	SELECT format('schema acl=%s', n.nspacl) FROM pg_namespace AS n WHERE n.nspname = 'lead_gen')
SELECT string_agg(replace(f, E'\n', E'\n    '), E'\n' ORDER BY f) FROM facts
};

sub catalog_of
{
	my ($node, $db, $before) = @_;
	return $node->safe_psql($db, ($before // '') . $catalog_sql);
}

# The lines in which two catalogs differ ('' when they are the same).
sub catalog_diff
{
	my ($a, $b) = @_;
	my %in_a = map { $_ => 1 } split /\n(?! )/, $a;
	my %in_b = map { $_ => 1 } split /\n(?! )/, $b;
	my @diff = ((map { "- $_" } grep { !$in_b{$_} } sort keys %in_a),
				(map { "+ $_" } grep { !$in_a{$_} } sort keys %in_b));
	return join("\n", @diff);
}

1;
