# test/t/030_upgrade.pl — an upgrade from the release 0.1.0 keeps the
# rules, the enforcement and the audit chain.
#
# The release is built from its tag by scripts/test (release_stage in
# scripts/lib.sh, GOVSHARE_RELEASE_STAGE); on a server other than
# PostgreSQL 15, which 0.1.0 never supported, the test is skipped.  The test copies the server's
# installation, lays 0.1.0 over it and runs a cluster from the copy: an
# agency's citizen table, classified and governed, rules for two consumer
# agencies (full, masked, a row filter, a revoked rule), and some 5,000
# access records from consumer reads under strict and async audit, with a
# checkpoint signed under 0.1.0.  Then the current build is installed over
# the copy, as `make install` would, and the server restarted:
#
# - the window "new library, old SQL": every C function the 0.1.0 script
#   declares resolves in the new library, consumers get what they got,
#   denials are refused alike, reads are still recorded, the chain
#   verifies;
# - ALTER EXTENSION govshare UPDATE: the rules, events, agencies, bindings,
#   keys and classifications are unchanged, consumers get what they got,
#   and verify_log(), verify_log(checkpoint of 0.1.0) and govshare-verify
#   pass over the records of before, during and after the upgrade as one
#   chain; the records of 0.1.0 are then archived (govshare.archive_log)
#   and the archive, the GSAL2 record of the archiving and the log after
#   it verify as one chain;
# - the schema of a 0.1.0 database updated to the current version equals
#   that of a fresh install (pg_dump --binary-upgrade of the extension's
#   members, the contents of its tables, its privileges).
use strict;
use warnings;
use File::Copy qw(move);
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => $ENV{GOVSHARE_RELEASE_SKIP} if $ENV{GOVSHARE_RELEASE_SKIP};
my $stage = $ENV{GOVSHARE_RELEASE_STAGE};
if (!$stage)
{
	my $why = $ENV{GOVSHARE_RELEASE_MISSING}
	  // 'GOVSHARE_RELEASE_STAGE is not set: run this test through scripts/test or scripts/runtap';
	if ($ENV{CI})
	{
		fail("the release 0.1.0 to upgrade from is available: $why");
		done_testing();
		exit 0;
	}
	plan skip_all => $why;
}

# --- an installation of our own: the server's, govshare 0.1.0 laid over it

my $bindir = `pg_config --bindir`;
chomp $bindir;
$bindir =~ m{^(.*)/usr/lib/postgresql/(\d+)/bin$}
  or die "pg_config --bindir is not a Debian layout: $bindir";
my ($prefix, $major) = ($1, $2);
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $inst = "$tmp/root";
my $new = "$tmp/new";
make_path("$inst/usr/lib/postgresql", "$inst/usr/share/postgresql");
system('cp', '-a', "$prefix/usr/lib/postgresql/$major", "$inst/usr/lib/postgresql/") == 0
  && system('cp', '-a', "$prefix/usr/share/postgresql/$major", "$inst/usr/share/postgresql/") == 0
  or die "could not copy the server's installation";

my $lib = "usr/lib/postgresql/$major/lib";
my @govshare_files = (
	"$lib/govshare.so", "$lib/bitcode/govshare.index.bc", "$lib/bitcode/govshare",
	"usr/lib/postgresql/$major/bin/govshare-verify",
	map { s{^\Q$inst\E/}{}r } glob("$inst/usr/share/postgresql/$major/extension/govshare*"));
# the current build's files leave the copy, to be installed over 0.1.0 later
for my $f (@govshare_files)
{
	next unless -e "$inst/$f";
	my $to = "$new/$f";
	make_path($to =~ s{/[^/]+$}{}r);
	move("$inst/$f", $to) or die "cannot move $inst/$f: $!";
}
ok(-f "$new/$lib/govshare.so" && -x "$new/usr/lib/postgresql/$major/bin/govshare-verify",
	'the current build is installed in the server copied');
system('cp', '-a', "$stage/usr", $inst) == 0 or die "cannot install 0.1.0 from $stage";
like(slurp_file("$inst/usr/share/postgresql/$major/extension/govshare.control"),
	qr/default_version = '0\.1\.0'/, 'govshare 0.1.0 is installed in the copy');

# --- the self agency's signing key

my $keys = "$tmp/keys";
make_path($keys);
system("openssl genpkey -algorithm ed25519 -out $keys/signing.pem 2>/dev/null") == 0
  && system("openssl pkey -in $keys/signing.pem -pubout -out $keys/signing.pub 2>/dev/null") == 0
  or die 'openssl could not make a key';
chmod(0600, "$keys/signing.pem");
my $signing_pub = slurp_file("$keys/signing.pub");

# --- a server running 0.1.0

my $node = PostgreSQL::Test::Cluster->new('upgrade', install_path => "$inst/usr/lib/postgresql/$major");
$node->init;
$node->append_conf('postgresql.conf', join("\n",
	"shared_preload_libraries = 'govshare'",
	"govshare.audit_mode = 'strict'",
	"govshare.audit_timeout = '60s'",
	"govshare.audit_text_budget = '1GB'",
	"govshare.signing_key_file = '$keys/signing.pem'",
	'max_connections = 30', 'log_statement = none') . "\n");
$node->start;
sub sql { return $node->safe_psql(@_); }

sql('postgres', q{
CREATE ROLE mnd_app LOGIN;
CREATE ROLE tax_app LOGIN;
CREATE ROLE auditor LOGIN;
CREATE DATABASE mps;
CREATE DATABASE updated;
});
is((split /\n/, sql('mps', q{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text, phone phone_number,
                      religion text, note text);
INSERT INTO citizen
SELECT ('0010901' || lpad(i::text, 5, '0'))::personal_id, 'Citizen ' || i,
       ('09' || lpad((12345000 + i)::text, 8, '0'))::phone_number, 'religion ' || (i % 5), 'note ' || i
  FROM generate_series(1, 1000) i;
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'religion', 'person.religion'),
       govern('citizen'),
       add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_agency('GDT', 'General Department of Taxation'),
       add_purpose('military_service', 'Military service call-up', 'Law 78/2015/QH13'),
       add_purpose('tax_administration', 'Tax administration', 'Law 38/2019/QH14'),
       bind_role('mnd_app', 'MND'), bind_role('tax_app', 'GDT');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full');
SELECT share('MND', '{military_service}', '{person.phone}', 'masked');
SELECT share('GDT', '{tax_administration}', '{person.personal_id, person.full_name}', 'masked',
             relation => 'citizen', row_filter => $$personal_id <= '001090100500'$$);
SELECT revoke(share('GDT', '{tax_administration}', '{person.phone}', 'full'), 'issued in error');
GRANT govshare_auditor TO auditor;
ALTER ROLE mnd_app SET search_path = public, govshare;
ALTER ROLE tax_app SET search_path = public, govshare;
SELECT count(*) FROM govshare.rules;
}))[-1], '4', 'govshare 0.1.0 runs, with agencies, rules and a governed table');
is(sql('mps', q{SELECT extversion FROM pg_extension WHERE extname = 'govshare'}), '0.1.0',
	'the extension is at 0.1.0');
sql('mps', "SELECT govshare.add_agency_key('MPS', \$k\$$signing_pub\$k\$)");
sql('updated', 'CREATE EXTENSION govshare');

# What the policy is: rules and their history, agencies, bindings, keys,
# purposes, labels.  The columns are 0.1.0's.
my $catalog = q{
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT format('rule %s %s %s %s %s %s %s %s %s %s %s', id, consumer, purposes, elements, level,
                relation, row_filter, row_filter_tree, legal_basis, valid_from, valid_until) FROM govshare.rule
  UNION ALL SELECT format('event %s %s %s %s %s', id, rule_id, event, reason, at) FROM govshare.rule_event
  UNION ALL SELECT format('agency %s %s %s %s', code, name, parent, is_self) FROM govshare.agency
  UNION ALL SELECT format('binding %s %s', role::regrole, agency) FROM govshare.role_binding
  UNION ALL SELECT format('key %s %s %s %s', key_id, agency, public_key, revoked_at) FROM govshare.agency_key
  UNION ALL SELECT format('purpose %s %s %s', code, description, legal_basis) FROM govshare.purpose
  UNION ALL SELECT format('label %s %s %s', objoid::regclass, objsubid, label)
              FROM pg_seclabel WHERE provider = 'govshare'
  UNION ALL SELECT format('rules %s %s', id, status) FROM govshare.rules) s(x)};
my $catalog_before = sql('mps', $catalog);
like($catalog_before, qr/event \d+ \d+ revoke issued in error/, 'the catalog dump holds the revocation');

# What each consumer gets, and what a consumer is refused.
sub consumer
{
	my ($role, $purpose, $query) = @_;
	my ($ret, $out, $err) = $node->psql('mps', qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('$purpose', 'Officer', 'REF-1');
$query}, extra_params => [ '-U', $role ]);
	$err =~ s/^psql:<stdin>:\d+: //mg;
	return "$ret\n$out\n$err";
}
my %reads = (
	'MND, full and masked' => [ 'mnd_app', 'military_service',
		q{SELECT personal_id, full_name, phone FROM citizen ORDER BY personal_id LIMIT 3;} ],
	'GDT, masked and filtered' => [ 'tax_app', 'tax_administration',
		q{SELECT count(*), min(full_name), max(personal_id::text) FROM citizen;} ],
	'MND, a sensitive column' => [ 'mnd_app', 'military_service', q{SELECT religion FROM citizen LIMIT 1;} ],
	'MND, a write' => [ 'mnd_app', 'military_service', q{UPDATE citizen SET note = 'x';} ],
	'GDT, a purpose it has no rule for' => [ 'tax_app', 'military_service', q{SELECT full_name FROM citizen LIMIT 1;} ]);
my %seen;
$seen{$_} = consumer(@{ $reads{$_} }) for sort keys %reads;
like($seen{'MND, full and masked'}, qr/^0\n.*^001090100001\|Citizen 1\|/ms, 'MND reads in full');
like($seen{'MND, full and masked'}, qr/^001090100001\|Citizen 1\|\+8491\*+01$/m, 'MND gets the phone masked');
like($seen{'GDT, masked and filtered'}, qr/^0\n.*^500\|/ms, 'GDT sees the 500 rows of its filter');
like($seen{'MND, a sensitive column'}, qr/^3\n.*religion/s, 'MND is refused the religion');
like($seen{'MND, a write'}, qr/^3\n/, 'MND is refused a write');
like($seen{'GDT, a purpose it has no rule for'}, qr/^3\n/, 'GDT is refused another purpose');

sub same_reads
{
	my ($when) = @_;
	for my $what (sort keys %reads)
	{
		is(consumer(@{ $reads{$what} }), $seen{$what}, "$when: $what, as under 0.1.0");
	}
}

# Consumer reads through pgbench: strict for MND, async for GDT.
my $dir = PostgreSQL::Test::Utils::tempdir();
sub reads
{
	my ($tag, $role, $purpose, $clients, $per_client) = @_;
	my $script = "$dir/$tag.sql";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	print $fh "SELECT govshare.begin_request('$purpose');\n"
	  . "\\set pid 1090100000 + random(1, 500)\n"
	  . "SELECT '$tag' AS marker, full_name FROM citizen WHERE personal_id = '00:pid';\n";
	close($fh);
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[ "$inst/usr/lib/postgresql/$major/bin/pgbench", '-n', '-c', $clients, '-j', 2,
		  '-t', $per_client, '-f', $script, '-h', $node->host, '-p', $node->port, '-U', $role, 'mps' ],
		'<', \undef, '>', \$out, '2>', \$err);
	my $total = $clients * $per_client;
	ok($ok && $out =~ m{number of transactions actually processed: $total/$total},
		"$tag: $total reads by $role") or diag("pgbench:\n$out\n$err");
}

sub wait_written
{
	for (1 .. 1800)
	{
		return 1 if sql('mps', 'SELECT coalesce(sum(queued), 0) FROM govshare.audit_status()') eq '0';
		select(undef, undef, undef, 0.1);
	}
	diag('the audit queue did not drain: ' . sql('mps', 'SELECT * FROM govshare.audit_status()'));
	return 0;
}

sub records
{
	my ($tag) = @_;
	return sql('mps', qq{SELECT count(*) FROM govshare.access_log
	                      WHERE kind = 'access' AND statement_text LIKE 'SELECT ''$tag''%'});
}

sub chain_ok
{
	my ($when) = @_;
	is(sql('mps', q{SELECT ok || ' ' || (checked = (SELECT count(*) FROM govshare.access_log))
	                       || ' ' || (last_seq = (SELECT max(seq) FROM govshare.access_log))
	                       || ' ' || coalesce(problem, '')
	                  FROM govshare.verify_log()}),
		'true true true ', "$when: verify_log() checks every record from seq 1, and the chain holds");
}

sql('mps', q{ALTER ROLE tax_app SET govshare.audit_mode = 'async'});
reads('release-strict', 'mnd_app', 'military_service', 2, 1000);
reads('release-async', 'tax_app', 'tax_administration', 2, 500);
wait_written();
is(records('release-strict') . ' ' . records('release-async'), '2000 1000',
	'0.1.0: every read recorded');
cmp_ok(sql('mps', 'SELECT count(*) FROM govshare.access_log'), '>=', 5000,
	'0.1.0: the log holds some 5,000 records');
chain_ok('0.1.0');
my $checkpoint = sql('mps', 'SELECT govshare.checkpoint()');
my $checkpoint_seq = sql('mps', 'SELECT max(seq) FROM govshare.access_log');
open(my $cpf, '>', "$tmp/release.json") or die;
print $cpf $checkpoint;
close($cpf);

# --- the current build installed over 0.1.0, the server restarted

$node->stop;
system('cp', '-a', "$new/usr", $inst) == 0 or die 'cannot install the current build';
$node->start;
my $version = sql('mps', q{SHOW server_version_num});
ok(defined $version, 'the server restarts with the new library');
is(sql('mps', q{SELECT extversion FROM pg_extension WHERE extname = 'govshare'}), '0.1.0',
	'the window: the database still has the SQL of 0.1.0');

# Every C function the 0.1.0 SQL declares resolves in the new library:
# CREATE FUNCTION ... LANGUAGE C looks its symbol and its info function up.
my $symbols = sql('mps', q{
SELECT string_agg(format('%s %s', p.probin, p.prosrc), E'\n' ORDER BY p.prosrc)
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'govshare'
 WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')});
my @missing;
my $count = 0;
for my $line (split /\n/, $symbols)
{
	my ($probin, $prosrc) = split / /, $line;
	$count++;
	my ($ret, $out, $err) = $node->psql('mps', qq{BEGIN;
CREATE FUNCTION pg_temp.symbol_check() RETURNS void AS '$probin', '$prosrc' LANGUAGE C;
ROLLBACK;});
	push @missing, "$prosrc: $err" if $ret != 0;
}
cmp_ok($count, '>', 50, "the 0.1.0 SQL declares $count C functions");
is(join("\n", @missing), '', 'the window: each of them is in the new library');

same_reads('the window');
reads('window-strict', 'mnd_app', 'military_service', 2, 100);
reads('window-async', 'tax_app', 'tax_administration', 2, 100);
wait_written();
is(records('window-strict') . ' ' . records('window-async'), '200 200',
	'the window: reads are still recorded, strict and async');
like(sql('mps', q{SELECT count(*) FROM govshare.access_log WHERE outcome = 'denied'
                    AND seq > } . $checkpoint_seq), qr/^[1-9]/, 'the window: denials are recorded');
chain_ok('the window');
is(sql('mps', q{SELECT string_agg(severity, ',') FROM govshare.check_setup() WHERE severity = 'error'}),
	'', 'the window: check_setup() runs and finds no error');
is(sql('mps', $catalog), $catalog_before, 'the window: the policy is unchanged');

# --- ALTER EXTENSION UPDATE

my $current = slurp_file("$new/usr/share/postgresql/$major/extension/govshare.control")
  =~ /default_version = '([^']+)'/ ? $1 : die 'no default_version';
sql('mps', 'ALTER EXTENSION govshare UPDATE');
is(sql('mps', q{SELECT extversion FROM pg_extension WHERE extname = 'govshare'}), $current,
	"ALTER EXTENSION govshare UPDATE goes from 0.1.0 to $current");
is(sql('mps', $catalog), $catalog_before, 'after the update: rules, history, agencies, bindings, keys, labels unchanged');
# the types' comparison functions were LANGUAGE internal aliases of the
# integer ones, which fmgr looks up by name at every plan start; the update
# makes them C functions of the library (src/types/compare.c)
my $internal = q{SELECT count(*) FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'govshare'
 WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'internal') AND p.prokind <> 'a'};
is(sql('mps', $internal), '0', 'after the update: no function of the extension is LANGUAGE internal (aggregates aside)');
is(sql('mps', q{SELECT govshare.personal_id_lt('001090000001', '001090000002')::text
	|| govshare.admin_unit_cmp('2025:79', '2025:01') || (SELECT govshare.max(d) FROM (VALUES ('1999-01'::govshare.partial_date), ('2000')) v(d))}),
	'true1' . '2000', '... and they compare as before');
# 0.2.0 checks the officers a role names (accountable officers): the DBA
# binds the ones its applications name, as README's upgrade notes say
sql('mps', q{SELECT govshare.bind_officer('mnd_app', 'Officer'), govshare.bind_officer('tax_app', 'Officer')});
same_reads('after the update');
reads('updated-strict', 'mnd_app', 'military_service', 2, 100);
reads('updated-async', 'tax_app', 'tax_administration', 2, 100);
wait_written();
is(records('updated-strict') . ' ' . records('updated-async'), '200 200',
	'after the update: reads are recorded, strict and async');
chain_ok('after the update');
is(sql('mps', q{SELECT ok || ' ' || coalesce(problem, '') FROM govshare.verify_log($cp$} . $checkpoint . q{$cp$::jsonb)}),
	'true ', 'after the update: the checkpoint signed under 0.1.0 still verifies');

# govshare-verify of the current build, as an auditor, over the one chain
my $tool = "$inst/usr/lib/postgresql/$major/bin/govshare-verify";
my ($out, $err) = ('', '');
my $total = sql('mps', 'SELECT count(*) FROM govshare.access_log');
IPC::Run::run([ $tool, '--no-progress', '-d', $node->connstr('mps') . ' user=auditor',
		'--public-key', "$keys/signing.pub", '--checkpoint', "$tmp/release.json",
		'--save-checkpoint', "$tmp/updated.json" ], '<', \undef, '>', \$out, '2>', \$err);
like($out, qr/OK: $total records .* seq 1\.\.$total,/, "govshare-verify: the $total records verify as one chain")
  or diag("$out\n$err");
like($out, qr/checkpoint \S+release\.json: OK: agency MPS, database mps, seq $checkpoint_seq,/,
	'govshare-verify: the checkpoint of 0.1.0 holds');
ok(-s "$tmp/updated.json", 'govshare-verify: a checkpoint saved after the update');

# --- retention on the updated database: the archive chains into the log
# across formats (the record of the archiving is GSAL2, with a detail)

my $archive_dir = "$tmp/archive";
make_path($archive_dir);
sql('mps', "ALTER SYSTEM SET govshare.archive_directory = '$archive_dir'");
sql('mps', 'SELECT pg_reload_conf()');
my $archived = sql('mps', "SELECT govshare.archive_log($checkpoint_seq)");
like($archived, qr/"records": $checkpoint_seq/, "the records written under 0.1.0 are archived ($checkpoint_seq)");
my ($archive_file) = $archived =~ /"file": "([^"]+)"/;
is(sql('mps', q{SELECT substr(encode(govshare.audit_canonical(l), 'hex'), 1, 10) || ' ' || (detail->'archive'->>'last_seq')
                  FROM govshare.access_log l WHERE detail ? 'archive'}),
	"4753414c32 $checkpoint_seq", 'the archiving is recorded as a GSAL2 record, with its detail');
chain_ok('after the archive');
$total = sql('mps', 'SELECT max(seq) FROM govshare.access_log');
($out, $err) = ('', '');
IPC::Run::run([ $tool, '--no-progress', '--archive', $archive_file, '--public-key', "$keys/signing.pub",
		'--checkpoint', "$tmp/release.json", '-d', $node->connstr('mps') . ' user=auditor' ],
	'<', \undef, '>', \$out, '2>', \$err);
like($out, qr/OK: $total records .* seq 1\.\.$total, last hash [0-9a-f]{64} \(the archives, then the log continuing them\)/,
	'govshare-verify: the archive of the 0.1.0 records and the log after the update, one chain across GSAL1 and GSAL2')
  or diag("$out\n$err");
like($out, qr/checkpoint \S+release\.json: OK: .* seq $checkpoint_seq,/,
	'govshare-verify: the checkpoint of 0.1.0 holds against the archive');

# --- the schema: 0.1.0 updated equals a fresh install

sql('updated', 'ALTER EXTENSION govshare UPDATE');
sql('postgres', 'CREATE DATABASE fresh');
sql('fresh', 'CREATE EXTENSION govshare');

# pg_dump --binary-upgrade writes each member of an extension (its
# privileges and comments too); object ids and the extension's own
# statement are left out.
sub schema
{
	my ($db) = @_;
	my ($dump, $derr) = ('', '');
	IPC::Run::run([ "$inst/usr/lib/postgresql/$major/bin/pg_dump", '-s', '--binary-upgrade',
			'-d', $node->connstr($db) ], '<', \undef, '>', \$dump, '2>', \$derr)
	  or die "pg_dump $db: $derr";
	my @keep;
	for my $l (split /\n/, $dump)
	{
		next if $l =~ /binary_upgrade_set_next_|binary_upgrade_set_missing_value|^--|^\s*$|^\\(un)?restrict /;
		$l =~ s/\b\d{4,}\b/N/g if $l =~ /binary_upgrade_/;
		$l =~ s/relfrozenxid = '\d+', relminmxid = '\d+'/relfrozenxid = X/;
		$l =~ s/^WHERE oid = '\d+';/WHERE oid = N;/;
		push @keep, $l;
	}
	return join("\n", @keep) . "\n";
}
my ($updated, $fresh) = (schema('updated'), schema('fresh'));
like($fresh, qr/CREATE TABLE govshare\.access_log/, 'the schema dump holds the extension\'s members');
my $diff = '';
if ($updated ne $fresh)
{
	open(my $a, '>', "$tmp/updated.sql") or die;
	print $a $updated;
	close($a);
	open(my $b, '>', "$tmp/fresh.sql") or die;
	print $b $fresh;
	close($b);
	$diff = `diff -u $tmp/fresh.sql $tmp/updated.sql | head -200`;
}
is($diff, '', "the schema of 0.1.0 updated to $current is that of a fresh install");

# the contents of the extension's tables (the shipped dictionary, code lists)
sub contents
{
	my ($db) = @_;
	my @tables = split /\n/, sql($db, q{
SELECT c.oid::regclass FROM pg_class c
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
 WHERE c.relkind = 'r' ORDER BY c.oid::regclass::text});
	return join("\n", map {
		"$_ " . sql($db, "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM $_ t")
	} @tables);
}
my $fresh_contents = contents('fresh');
like($fresh_contents, qr/govshare\.element \d+ /, "the extension's tables are listed");
is(contents('updated'), $fresh_contents,
	"the extension's tables hold the same rows in 0.1.0 updated and in a fresh install");

$node->stop;
done_testing();
