# test/t/001_preload.pl — govshare works only when preloaded.
#
# A server started without govshare in shared_preload_libraries refuses
# CREATE EXTENSION and LOAD with a message and a HINT that say what to do;
# once preloaded, the extension installs, its types work, the "govshare."
# GUC prefix is reserved, and DROP / CREATE EXTENSION round-trips.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $refusal = qr/ERROR:  govshare must be loaded via shared_preload_libraries/;
my $hint = qr/HINT:  Add 'govshare' to shared_preload_libraries in postgresql\.conf and restart the server\./;

my $node = PostgreSQL::Test::Cluster->new('preload');
$node->init;
$node->start;

# Not preloaded: both ways of loading the library are refused.
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION govshare');
isnt($ret, 0, 'CREATE EXTENSION fails without preloading');
like($stderr, $refusal, 'CREATE EXTENSION says govshare must be preloaded');
like($stderr, $hint, 'CREATE EXTENSION hints at shared_preload_libraries');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_extension WHERE extname = 'govshare'}),
	'0', 'no half-created extension is left behind');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_namespace WHERE nspname = 'govshare'}),
	'0', 'no govshare schema is left behind');

($ret, $stdout, $stderr) = $node->psql('postgres', q{LOAD 'govshare'});
isnt($ret, 0, 'LOAD fails without preloading');
like($stderr, $refusal, 'LOAD says govshare must be preloaded');
like($stderr, $hint, 'LOAD hints at shared_preload_libraries');

# Preloaded: the extension installs and a type works.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'");
$node->restart;
is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'govshare', 'govshare is preloaded after the restart');

($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION govshare');
is($ret, 0, 'CREATE EXTENSION succeeds when preloaded');
is($stderr, '', 'CREATE EXTENSION prints nothing on stderr');
is($node->safe_psql('postgres',
		q{SELECT '001 090 123 456'::govshare.personal_id::text,
				 govshare.mask('001090123456'::govshare.personal_id)::text,
				 govshare.personal_id_birth_year('001090123456')}),
	'001090123456|001*******56|1990', 'a personal_id reads, prints and masks');

# The prefix is reserved (MarkGUCPrefixReserved): an unknown govshare.*
# setting is an error, not a silently created placeholder.
($ret, $stdout, $stderr) = $node->psql('postgres', 'SET govshare.nonexistent = 1');
isnt($ret, 0, 'SET of an unknown govshare.* parameter fails');
like($stderr,
	qr/ERROR:  invalid configuration parameter name "govshare\.nonexistent"/,
	'the unknown parameter name is refused');
like($stderr, qr/DETAIL:  "govshare" is a reserved prefix\./,
	'the detail says the prefix is reserved');
($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT set_config('govshare.other', 'x', false)});
isnt($ret, 0, 'set_config of an unknown govshare.* parameter fails too');
like($stderr, qr/"govshare" is a reserved prefix/,
	'set_config is refused for the same reason');
is($node->safe_psql('postgres', 'SET other_prefix.setting = 1; SHOW other_prefix.setting'),
	'1', 'other prefixes still get placeholders');

# DROP and CREATE again.
$node->safe_psql('postgres', 'DROP EXTENSION govshare');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_type WHERE typname = 'personal_id'}),
	'0', 'DROP EXTENSION removes the types');
($ret, $stdout, $stderr) = $node->psql('postgres', 'CREATE EXTENSION govshare');
is($ret, 0, 'CREATE EXTENSION succeeds again after DROP');
is($node->safe_psql('postgres',
		q{SELECT '001090123456'::govshare.personal_id::text}),
	'001090123456', 'personal_id works after re-creation');
($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SELECT '099090123456'::govshare.personal_id});
like($stderr, qr/ERROR:  invalid input for type personal_id/,
	'invalid input is still refused after re-creation');

# docs/settings.md lists every setting with its default, unit and context,
# as pg_settings has them: the page and the registration in src/guc.c
# agree, setting for setting, in both directions.
my %documented;
open(my $doc, '<', "$ENV{GOVSHARE_SRC}/docs/settings.md")
  or die "docs/settings.md: $!";
while (my $line = <$doc>)
{
	next unless $line =~ /^\| `(govshare\.[a-z_]+)` \| `([^`]*)` \| ([^|]*?) *\| ([a-z]+) \|/;
	# an empty default is written '' on the page
	$documented{$1} = join('|', $2 eq "''" ? '' : $2, $3, $4);
}
close $doc;
my %registered = map { my ($n, $rest) = split /\|/, $_, 2; ($n => $rest) }
  split /\n/, $node->safe_psql('postgres',
	q{SELECT name || '|' || boot_val || '|' || coalesce(unit, '') || '|' || context
	  FROM pg_settings WHERE name LIKE 'govshare.%' ORDER BY name});
ok(scalar(keys %registered) >= 16, 'govshare registers its settings');
is_deeply(\%documented, \%registered,
	'docs/settings.md lists every setting with the default, unit and context pg_settings shows');

$node->stop;
done_testing();
