# test/t/015_privileges.pl — every govshare function's grants follow the
# privilege model.
#
# docs/security.md ("Privilege model", "Functions") lists every SQL-callable
# function of the extension: which of PUBLIC, govshare_admin,
# govshare_auditor and govshare_requester may execute it, whether it runs
# as its caller or as its owner (SECURITY DEFINER), and whether it runs
# with a search path of its own.  This test compares that table with the
# catalog of a fresh CREATE EXTENSION, function by function, in both
# directions: a function the page does not list, a listed function that
# does not exist, and a grant, a SECURITY DEFINER flag or a search path
# that differs from the page all fail.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my @roles = qw(PUBLIC govshare_admin govshare_auditor govshare_requester);

# The page's table.  A row is
#   | `govshare.f(type,type)` | PUBLIC, govshare_admin ... | caller or owner | own, caller's or — | what |
# with the signature as regprocedure prints it; <T> stands for each
# national type and <N> for each of those whose value is a number, as the
# page's "Placeholders" line lists them.
open(my $doc, '<', "$ENV{GOVSHARE_SRC}/docs/security.md")
  or die "docs/security.md: $!";
my (@types, @number_types, @rows);
my $in_table = 0;
while (my $line = <$doc>)
{
	if ($line =~ /^Placeholders: `<T>` is each national type \(([^)]*)\); `<N>` is each of them whose value is a number \(([^)]*)\)/)
	{
		@types = map { s/`//gr } split /,\s*/, $1;
		@number_types = map { s/`//gr } split /,\s*/, $2;
	}
	$in_table = 1 if $line =~ /^### Functions/;
	$in_table = 0 if $in_table && $line =~ /^## /;
	next unless $in_table;
	next unless $line =~ /^\| `(govshare\.[^`]+)` \| ([^|]*?) *\| (caller|owner) *\| (own|caller's|—) *\|/;
	push @rows, [ $1, $2, $3, $4 ];
}
close $doc;
ok(@types >= 7, 'the page names the national types its placeholders stand for');
ok(@number_types >= 3, 'the page names the number types');
ok(@rows > 50, 'the page lists the functions');

my %documented;
for my $row (@rows)
{
	my ($signature, $grantees, $runs_as, $path) = @$row;
	my %granted = map { $_ => 1 } grep { $_ ne '—' } split /,\s*/, $grantees;
	for my $g (keys %granted)
	{
		die "docs/security.md: unknown grantee $g in the row of $signature"
		  unless grep { $_ eq $g } @roles;
	}
	my $value = join(' ',
		(map { "$_=" . ($granted{PUBLIC} || $granted{$_} ? 'yes' : 'no') } @roles),
		"runs_as=$runs_as", "search_path=$path");
	my @names = ($signature);
	@names = map { my $t = $_; $signature =~ s/<T>/$t/gr } @types
	  if $signature =~ /<T>/;
	@names = map { my $t = $_; $signature =~ s/<N>/$t/gr } @number_types
	  if $signature =~ /<N>/;
	for my $name (@names)
	{
		die "docs/security.md lists $name twice" if exists $documented{$name};
		$documented{$name} = $value;
	}
}

my $node = PostgreSQL::Test::Cluster->new('privileges');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION govshare');

# PUBLIC's grant is read from the ACL (NULL: the default, which grants
# EXECUTE to PUBLIC); a role's is has_function_privilege, which counts
# PUBLIC's grant and memberships too.
my %catalog = map { my ($n, $v) = split /\|/, $_, 2; ($n => $v) }
  split /\n/, $node->safe_psql('postgres', q{
SELECT p.oid::pg_catalog.regprocedure::text || '|' ||
       'PUBLIC=' || CASE WHEN EXISTS (
           SELECT FROM pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
           WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') THEN 'yes' ELSE 'no' END ||
       ' govshare_admin=' || CASE WHEN pg_catalog.has_function_privilege('govshare_admin', p.oid, 'EXECUTE') THEN 'yes' ELSE 'no' END ||
       ' govshare_auditor=' || CASE WHEN pg_catalog.has_function_privilege('govshare_auditor', p.oid, 'EXECUTE') THEN 'yes' ELSE 'no' END ||
       ' govshare_requester=' || CASE WHEN pg_catalog.has_function_privilege('govshare_requester', p.oid, 'EXECUTE') THEN 'yes' ELSE 'no' END ||
       ' runs_as=' || CASE WHEN p.prosecdef THEN 'owner' ELSE 'caller' END ||
       ' search_path=' || CASE
           WHEN 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig) THEN 'own'
           WHEN EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%') THEN 'other'
           WHEN l.lanname IN ('sql', 'plpgsql') THEN 'caller''s'
           ELSE '—' END
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE p.pronamespace = 'govshare'::pg_catalog.regnamespace
ORDER BY 1});
ok(scalar(keys %catalog) > 100, 'the extension has its functions');

my @missing = sort grep { !exists $documented{$_} } keys %catalog;
my @extra = sort grep { !exists $catalog{$_} } keys %documented;
is_deeply(\@missing, [], 'docs/security.md lists every function of the extension')
  or diag(join("\n", map { "catalog: $_ $catalog{$_}" } @missing));
is_deeply(\@extra, [], 'every function docs/security.md lists exists');

my @differ = sort grep { exists $catalog{$_} && $catalog{$_} ne $documented{$_} } keys %documented;
is_deeply(\@differ, [],
	'grants, SECURITY DEFINER and search paths are as docs/security.md says')
  or diag(join("\n", map { "$_\n  page:    $documented{$_}\n  catalog: $catalog{$_}" } @differ));

# The rule the table follows: a function that runs as its owner has a
# search path of its own.
my @definer_without_path = sort grep { $catalog{$_} =~ /runs_as=owner/ && $catalog{$_} !~ /search_path=own/ } keys %catalog;
is_deeply(\@definer_without_path, [], 'every SECURITY DEFINER function sets its search path');

$node->stop;
done_testing();
