# test/t/007_audit_tamper.pl — the access log detects tampering.
#
# A log of a few dozen records (consumer reads and denials) is built in a
# database "base" and a signed checkpoint of it is saved.  Each tampering
# is then made, committed, by a superuser who bypasses the log's triggers
# (session_replication_role = replica) in a fresh copy of that database
# (CREATE DATABASE ... TEMPLATE base), and must be caught: a changed field,
# a deleted row, a reordering by verify_log() alone; a removed tail and a
# whole rebuilt chain by verify_log(checkpoint); a chain rebuilt with plain
# SHA-256 over rows HMAC-keyed with govshare.audit_key_file by verify_log()
# alone.  Altered checkpoints and checkpoints signed by keys that are not
# the self agency's are refused; the triggers refuse every write to the
# superuser and to the table's owner; auditors read the log, consumers do
# not.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;

my $node = PostgreSQL::Test::Cluster->new('audit_tamper');
$node->init;
my $dir = $node->data_dir;

# the self agency's signing key, made by openssl
sub write_file
{
	my ($path, $content) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!";
	binmode $fh;
	print $fh $content;
	close($fh);
	chmod(0600, $path) or die "cannot chmod $path: $!";
}
system("openssl genpkey -algorithm ed25519 -out $dir/signing.pem 2>/dev/null") == 0
  or die "openssl genpkey failed";
chmod(0600, "$dir/signing.pem");
my $signing_pub = `openssl pkey -in $dir/signing.pem -pubout 2>/dev/null`;
die "openssl pkey failed" unless $signing_pub =~ /BEGIN PUBLIC KEY/;
my $signing_priv = slurp_file("$dir/signing.pem");

$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'\n"
	  . "govshare.signing_key_file = '$dir/signing.pem'\n");
$node->start;

sub sql { return $node->safe_psql(@_); }

# the same setup as the other suites: MND reads citizen for military service
sql('postgres', q{
CREATE ROLE mnd_app LOGIN;
CREATE ROLE log_owner LOGIN;
CREATE DATABASE base;
});
sql('base', citizen_sql(rows => 100, phone => 1) . q{
SELECT add_agency('MOH', 'Ministry of Health');
SELECT bind_role('mnd_app', 'MND');
SELECT bind_officer('mnd_app', 'Lt. Tran');
GRANT SELECT ON citizen TO mnd_app;
});
sql('postgres', q{
CREATE ROLE auditor LOGIN IN ROLE govshare_auditor;
CREATE ROLE admin1 LOGIN IN ROLE govshare_admin;
});

# a consumer session of MND: returns (ret, stdout, stderr)
sub consumer
{
	my ($db, $query) = @_;
	return $node->psql($db, qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service', 'Lt. Tran', 'CALL-2026-7');
$query}, extra_params => [ '-U', 'mnd_app' ]);
}

# the log: 14 reads (an access and a result record each) and 2 denials
for my $i (1 .. 14)
{
	my ($ret, $out, $err) = consumer('base',
		"SELECT personal_id::text, full_name FROM citizen WHERE personal_id <= '0010901" . sprintf('%05d', $i) . "'");
	die "consumer read $i failed: $err" if $ret != 0;
}
for my $i (1 .. 2)
{
	my ($ret, $out, $err) = consumer('base', 'SELECT full_name, phone FROM citizen');
	die "the denial was not denied: $out" unless $err =~ /is denied to agency "MND"/;
}
my $n = 30;
$node->poll_query_until('base', "SELECT count(*) = $n FROM govshare.access_log")
  or die "the audit writer did not write $n records";

is(sql('base', q{SELECT min(seq) || ' ' || max(seq) || ' ' || count(*) FROM govshare.access_log}),
	"1 $n $n", "the log has $n records, seq 1 to $n");
is(sql('base', q{SELECT count(*) FROM govshare.access_log WHERE outcome = 'denied' AND kind = 'access'}),
	'2', 'the denials are in it');
is(sql('base', q{SELECT count(*) FROM govshare.access_log WHERE hmac_key_id IS NOT NULL}),
	'0', 'without govshare.audit_key_file the chain is plain SHA-256');
is(sql('base', q{SELECT count(*) FROM govshare.access_log l
  WHERE hash <> sha256(prev_hash || govshare.audit_canonical(l))}),
	'0', 'every hash is sha256(prev_hash || audit_canonical(row))');

# verify_log() as (ok, checked, last_seq, first_bad_seq, problem).  Each
# call runs twice: walking the log in seq order (no workers), and in
# parallel however small the log, by the workers alone (the leader does
# not take part; src/audit/verify.c), where any doubt
# sends it back to the walk in order; the two verdicts must be the same,
# and the parallel run must have been one (its DEBUG1 line) when rows
# were checked.
my $nverdict = 0;
sub verdict
{
	my ($db, $args) = @_;
	my $call = qq{SELECT ok, checked, coalesce(last_seq, 0), coalesce(first_bad_seq, 0),
  coalesce(problem, '') FROM govshare.verify_log($args)};
	my ($ret, $out, $err) = $node->psql($db, qq{
SET max_parallel_maintenance_workers = 0;
$call;
SET min_parallel_table_scan_size = 0;
SET max_parallel_maintenance_workers = 2;
SET parallel_leader_participation = off;
SET client_min_messages = debug1;
$call;});
	die "verify_log($args) failed: $err" if $ret != 0;
	my ($serial, $parallel) = split /\n/, $out, 2;
	$nverdict++;
	is($parallel, $serial, "verdict $nverdict: the parallel verification gives the walk's verdict");
	my @v = split /\|/, $serial, 5;
	# (a checkpoint refused for its signature checks no row at all)
	like($err, qr/govshare: verify_log\(\) in parallel: [1-9]\d* workers? launched, \d+ rows in \d+ runs, 0 by the leader/,
		"verdict $nverdict: ... and it ran in parallel, in the workers")
	  if $v[1] > 0;
	# a sound log is decided by the parallel run itself, not by the walk
	unlike($err, qr/in doubt/, "verdict $nverdict: ... which needed no walk in order")
	  if $v[0] eq 't';
	return { ok => $v[0], checked => $v[1], last => $v[2], bad => $v[3], problem => $v[4] };
}

my $v = verdict('base', '');
is("$v->{ok} $v->{checked} $v->{last} $v->{bad}", "t $n $n 0", 'the untampered log verifies');
$v = verdict('base', '1, 20');
is("$v->{ok} $v->{checked} $v->{last} $v->{bad}", 't 20 20 0', '... and so does its start, up to seq 20');

# the checkpoint
sql('base', qq{SELECT govshare.add_agency_key('MPS', \$k\$$signing_pub\$k\$)});
my ($ret, $cp, $err) = $node->psql('base', 'SELECT govshare.checkpoint()');
is($ret, 0, 'govshare.checkpoint() signs with the registered key of govshare.signing_key_file')
  or diag("checkpoint() failed: $err");
if ($ret != 0)
{
	# The verification of checkpoints is tested all the same, with one made
	# the way govshare.checkpoint() makes it (src/verify.c).
	diag('building the checkpoint with govshare.sign_jws instead');
	$cp = sql('base', qq{
SELECT jsonb_build_object('agency', 'MPS', 'database', current_database(), 'seq', t.seq,
         'hash', encode(t.hash, 'hex'), 'time', now()::text, 'kid', k.kid,
         'jws', govshare.sign_jws(\$k\$$signing_priv\$k\$,
                  jsonb_build_object('alg', 'EdDSA', 'kid', k.kid, 'typ', 'govshare-checkpoint+jws'),
                  jsonb_build_object('typ', 'govshare-checkpoint', 'agency', 'MPS',
                    'database', current_database(), 'seq', t.seq, 'hash', encode(t.hash, 'hex'),
                    'time', now()::text)))
  FROM (SELECT seq, hash FROM govshare.access_log ORDER BY seq DESC LIMIT 1) t,
       (SELECT govshare.key_id(\$k\$$signing_pub\$k\$) AS kid) k});
}
my $cparg = "\$cp\$$cp\$cp\$::jsonb";
is(sql('base', qq{SELECT ($cparg ->> 'seq') || ' ' || (($cparg ->> 'hash') = encode(hash, 'hex'))
  FROM govshare.access_log WHERE seq = $n}), "$n true", 'the checkpoint names the last seq and its hash');
$v = verdict('base', $cparg);
is("$v->{ok} $v->{checked} $v->{last}", "t $n $n", 'the untampered log verifies against the checkpoint')
  or diag($v->{problem});

# The tampering: each in a fresh copy of base, committed, by a superuser
# for whom the triggers do not fire.
my $ncopy = 0;
sub tampered
{
	my ($template, $tamper) = @_;
	my $db = 'case' . ++$ncopy;
	sql('postgres', "CREATE DATABASE $db TEMPLATE $template");
	sql($db, "SET session_replication_role = replica;\n$tamper") if $tamper;
	return $db;
}
sub drop { sql('postgres', "DROP DATABASE $_[0]"); }

# rebuilds the chain from seq $from on, as verify_log() recomputes it
sub rechain
{
	my ($from) = @_;
	return qq{
DO \$\$
DECLARE r record; prev bytea;
BEGIN
	SELECT hash INTO prev FROM govshare.access_log WHERE seq = $from - 1;
	IF prev IS NULL THEN prev := '\\x' || repeat('00', 32); END IF;
	FOR r IN SELECT seq FROM govshare.access_log WHERE seq >= $from ORDER BY seq LOOP
		UPDATE govshare.access_log a
		   SET prev_hash = prev, hash = sha256(prev || govshare.audit_canonical(a))
		 WHERE a.seq = r.seq
		RETURNING a.hash INTO prev;
	END LOOP;
END
\$\$;};
}

my $result_seq = sql('base', q{SELECT min(seq) FROM govshare.access_log WHERE kind = 'result' AND rows > 3});
my $subject_seq = sql('base', q{SELECT min(seq) FROM govshare.access_log WHERE kind = 'result' AND subject_count >= 10});
for my $t (
	[ 9, "agency = 'MOH'", 'the agency' ],
	[ $result_seq, 'rows = 0', 'the rows returned' ],
	[ $subject_seq, 'subjects = subjects[2:]', 'the data subjects' ],
	[ 3, "statement_text = 'SELECT 1'", 'the statement text' ],
	[ 5, "stmt_time = stmt_time - interval '1 day'", 'the statement time' ],
	[ 6, q{detail = '{"purpose": "x"}'}, 'a detail added to a row of format GSAL1' ])
{
	my ($seq, $set, $what) = @$t;
	my $db = tampered('base', "UPDATE govshare.access_log SET $set WHERE seq = $seq;");
	$v = verdict($db, '');
	is("$v->{ok} $v->{bad}", "f $seq", "$what of seq $seq changed: verify_log() finds seq $seq");
	like($v->{problem}, qr/hash of seq $seq does not match its contents/, '... as a changed row');
	$v = verdict($db, $cparg);
	is("$v->{ok} $v->{bad}", "f $seq", '... and so does verify_log(checkpoint)');
	drop($db);
}

my $db = tampered('base', 'DELETE FROM govshare.access_log WHERE seq = 15;');
$v = verdict($db, '');
is("$v->{ok} $v->{bad}", 'f 15', 'a row deleted in the middle: verify_log() finds the gap at seq 15');
like($v->{problem}, qr/Rows are missing before seq 16/, '... saying rows are missing');
$v = verdict($db, '1, 14');
is("$v->{ok} $v->{checked} $v->{last}", 't 14 14', '... the rows before the gap verify on their own');
$v = verdict($db, '1, 20');
is("$v->{ok} $v->{bad}", 'f 15', '... and a range across it does not');
$v = verdict($db, $cparg);
is($v->{ok}, 'f', '... and so does verify_log(checkpoint)');
drop($db);

$db = tampered('base', 'DELETE FROM govshare.access_log WHERE seq = 1;');
$v = verdict($db, '');
is("$v->{ok} $v->{bad}", 'f 1', 'the first row deleted: verify_log() finds seq 1 missing');
like($v->{problem}, qr/does not begin at seq 1/, '... saying the log does not begin at seq 1');
drop($db);

$db = tampered('base', 'DELETE FROM govshare.access_log WHERE seq > 27;');
$v = verdict($db, '');
is("$v->{ok} $v->{checked} $v->{last}", 't 27 27',
	'the last 3 rows deleted: the rest is a valid chain, and verify_log() alone says ok');
$v = verdict($db, $cparg);
is("$v->{ok} $v->{bad}", 'f 28', 'verify_log(checkpoint) finds the removed tail at seq 28');
like($v->{problem}, qr/log ends at seq 27, but the checkpoint covers seq $n/, '... saying the log ends before the checkpoint');
# the unsigned copy of "seq" next to the jws is not what is checked
$v = verdict($db, "jsonb_set($cparg, '{seq}', '27')");
is("$v->{ok} $v->{bad}", 'f 28', '... also when the unsigned "seq" member is edited to match');
drop($db);

$db = tampered('base', q{
UPDATE govshare.access_log SET seq = -1 WHERE seq = 7;
UPDATE govshare.access_log SET seq = 7 WHERE seq = 8;
UPDATE govshare.access_log SET seq = 8 WHERE seq = -1;});
$v = verdict($db, '');
is("$v->{ok} $v->{bad}", 'f 7', 'two rows swapped: verify_log() finds seq 7');
like($v->{problem}, qr/removed, reordered or replaced|does not match its contents/, '... as a broken link');
drop($db);

$db = tampered('base', "UPDATE govshare.access_log SET agency = 'MOH' WHERE seq = 9;" . rechain(9));
is(sql($db, q{SELECT agency FROM govshare.access_log WHERE seq = 9}), 'MOH', 'a forged log: seq 9 changed');
$v = verdict($db, '');
is("$v->{ok} $v->{checked} $v->{last}", "t $n $n",
	'... and the chain rebuilt after it: verify_log() alone says ok');
$v = verdict($db, $cparg);
is("$v->{ok} $v->{bad}", "f $n", 'verify_log(checkpoint) finds the rewrite at the checkpoint\'s seq');
like($v->{problem}, qr/does not have the hash the checkpoint signed: the log before it was rewritten/,
	'... saying the log was rewritten');
drop($db);

# forged: the whole log replaced by a shorter, valid-looking one
$db = tampered('base', "DELETE FROM govshare.access_log WHERE seq BETWEEN 9 AND 10;
UPDATE govshare.access_log SET seq = -seq WHERE seq > 10;
UPDATE govshare.access_log SET seq = -seq - 2 WHERE seq < 0;" . rechain(9));
$v = verdict($db, '');
is("$v->{ok} $v->{last}", 't 28', 'a forged log without seq 9 and 10, renumbered and rechained: verify_log() says ok');
$v = verdict($db, $cparg);
is("$v->{ok} $v->{bad}", 'f 29', 'verify_log(checkpoint) finds it ends before the checkpoint');
drop($db);

# untampered: more records after the checkpoint
$db = tampered('base', '');
for my $i (1 .. 3)
{
	($ret, my $out, $err) = consumer($db, "SELECT full_name FROM citizen WHERE personal_id = '00109010000$i'");
	die "consumer read failed: $err" if $ret != 0;
}
$node->poll_query_until($db, "SELECT count(*) = $n + 6 FROM govshare.access_log")
  or die 'the records after the checkpoint were not written';
is(sql($db, qq{SELECT count(*) FROM govshare.access_log a JOIN govshare.access_log b ON b.seq = a.seq + 1
  WHERE a.seq = $n AND b.prev_hash = a.hash}), '1', 'the writer of a copy continues the chain');
$v = verdict($db, '');
is("$v->{ok} $v->{checked} $v->{last}", 't 36 36', 'the grown log verifies');
$v = verdict($db, $cparg);
is("$v->{ok} $v->{checked} $v->{last}", 't 36 36', '... and so it does against the earlier checkpoint')
  or diag($v->{problem});
drop($db);

# altered checkpoints
my $jws = sql('base', "SELECT $cparg ->> 'jws'");
my ($h64, $p64, $s64) = split /\./, $jws;
my $payload = b64url_decode($p64);
like($payload, qr/"seq": ?$n\b/, 'the signed payload carries the seq');

sub with_jws
{
	my ($new) = @_;
	return "jsonb_set($cparg, '{jws}', to_jsonb(\$j\$$new\$j\$::text))";
}
my $i = int(length($p64) / 2);
my $flipped = $p64;
substr($flipped, $i, 1) = substr($p64, $i, 1) eq 'A' ? 'B' : 'A';
$v = verdict('base', with_jws("$h64.$flipped.$s64"));
is($v->{ok}, 'f', 'a checkpoint with one character of its payload changed is refused');
like($v->{problem}, qr/signature/i, '... as a bad signature') or diag($v->{problem});

(my $p_seq = $payload) =~ s/"seq": ?$n\b/"seq": 27/;
$v = verdict('base', with_jws("$h64." . b64url_encode($p_seq) . ".$s64"));
is($v->{ok}, 'f', 'a checkpoint whose signed seq was changed is refused');
like($v->{problem}, qr/signature/i, '... as a bad signature') or diag($v->{problem});

(my $p_hash = $payload) =~ s/("hash": ?")(.)/$1 . ($2 eq '0' ? '1' : '0')/e;
$v = verdict('base', with_jws("$h64." . b64url_encode($p_hash) . ".$s64"));
is($v->{ok}, 'f', 'a checkpoint whose signed hash was changed is refused');

my $s_flip = $s64;
substr($s_flip, 5, 1) = substr($s64, 5, 1) eq 'A' ? 'B' : 'A';
$v = verdict('base', with_jws("$h64.$p64.$s_flip"));
is($v->{ok}, 'f', 'a checkpoint with a changed signature is refused');

$v = verdict('base', "$cparg - 'jws'");
is($v->{ok}, 'f', 'a checkpoint without its jws is refused');
$v = verdict('base', q{'{}'::jsonb});
is($v->{ok}, 'f', 'an empty object is refused');

# checkpoints signed by other keys
my $other = sql('base', q{SELECT private_key || '|' || public_key || '|' || key_id FROM govshare.make_test_key()});
my ($opriv, $opub, $okid) = split /\|/, $other;
my $kid = sql('base', "SELECT $cparg ->> 'kid'");
sub signed_by
{
	my ($priv, $hkid) = @_;
	my $s = sql('base', qq{SELECT govshare.sign_jws(\$k\$$priv\$k\$,
  jsonb_build_object('alg', 'EdDSA', 'kid', '$hkid', 'typ', 'govshare-checkpoint+jws'),
  \$p\$$payload\$p\$::jsonb)});
	return "jsonb_set(jsonb_set($cparg, '{kid}', to_jsonb('$hkid'::text)), '{jws}', to_jsonb(\$j\$$s\$j\$::text))";
}
$v = verdict('base', signed_by($opriv, $okid));
is($v->{ok}, 'f', 'a checkpoint signed by a key that is not registered is refused');
like($v->{problem}, qr/does not verify with any registered key of the self agency MPS/, '... saying so');
$v = verdict('base', signed_by($opriv, $kid));
is($v->{ok}, 'f', 'a checkpoint signed by another key but naming the registered one is refused');
like($v->{problem}, qr/signature/i, '... as a bad signature') or diag($v->{problem});

$db = tampered('base', qq{SELECT govshare.add_agency_key('MND', \$k\$$opub\$k\$);});
$v = verdict($db, signed_by($opriv, $okid));
is($v->{ok}, 'f', 'a checkpoint signed by a key registered for another agency (MND) is refused');
like($v->{problem}, qr/does not verify with any registered key of the self agency MPS/, '... saying so');
drop($db);

# checkpoint() will not sign with a key that is not registered
write_file("$dir/other.pem", $opriv);
sql('postgres', "ALTER SYSTEM SET govshare.signing_key_file = '$dir/other.pem'; SELECT pg_reload_conf();");
$node->poll_query_until('base', "SELECT current_setting('govshare.signing_key_file') = '$dir/other.pem'")
  or die 'reload did not take';
($ret, my $out, $err) = $node->psql('base', 'SELECT govshare.checkpoint()');
isnt($ret, 0, 'checkpoint() refuses to sign with a key that is not registered');
like($err, qr/the signing key is not a registered key of the self agency "MPS"/, '... saying so');
sql('postgres', 'ALTER SYSTEM RESET govshare.signing_key_file; SELECT pg_reload_conf();');
$node->poll_query_until('base', "SELECT current_setting('govshare.signing_key_file') = '$dir/signing.pem'")
  or die 'reload did not take';

# HMAC-keyed chain
# random bytes, not ending in the \n or \r the server strips from a key file
my $audit_key = join('', map { chr(int(rand(256))) } 1 .. 47) . 'k';
write_file("$dir/audit.key", $audit_key);
my $key_id = substr(sha256_hex($audit_key), 0, 16);
sql('postgres', "ALTER SYSTEM SET govshare.audit_key_file = '$dir/audit.key'; SELECT pg_reload_conf();");
$node->poll_query_until('base', "SELECT current_setting('govshare.audit_key_file') = '$dir/audit.key'")
  or die 'reload did not take';
my $keyed = tampered('base', '');
for my $i (1 .. 3)
{
	($ret, $out, $err) = consumer($keyed, "SELECT full_name FROM citizen WHERE personal_id <= '00109010000$i'");
	die "consumer read failed: $err" if $ret != 0;
}
$node->poll_query_until($keyed, "SELECT count(*) = $n + 6 FROM govshare.access_log")
  or die 'the keyed records were not written';
is(sql($keyed, qq{SELECT count(*) FILTER (WHERE hmac_key_id = '$key_id') || ' ' || count(*) FILTER (WHERE hmac_key_id IS NULL)
  FROM govshare.access_log WHERE seq > $n}), '6 0',
	'with govshare.audit_key_file the new rows name the key (first 8 bytes of its SHA-256)');
$v = verdict($keyed, '');
is("$v->{ok} $v->{checked}", 't 36', 'the log of plain and keyed rows verifies') or diag($v->{problem});
is(sql($keyed, qq{SELECT count(*) FROM govshare.access_log l WHERE seq > $n
  AND hash = sha256(prev_hash || govshare.audit_canonical(l))}), '0', 'keyed rows are not plain SHA-256');

my $kseq = $n + 3;
$db = tampered($keyed, "UPDATE govshare.access_log SET agency = 'MOH' WHERE seq = $kseq;" . rechain($kseq));
$v = verdict($db, '');
is("$v->{ok} $v->{bad}", "f $kseq",
	'a keyed row changed and the chain rebuilt with plain SHA-256: verify_log() alone finds it');
like($v->{problem}, qr/hash of seq $kseq does not match its contents/, '... as a changed row');
drop($db);

# the same, with hmac_key_id cleared as if the rows had never been keyed
$db = tampered($keyed, "UPDATE govshare.access_log SET agency = 'MOH', hmac_key_id = NULL WHERE seq = $kseq;
UPDATE govshare.access_log SET hmac_key_id = NULL WHERE seq > $kseq;" . rechain($kseq));
$v = verdict($db, '');
is($v->{ok}, 'f',
	'keyed rows downgraded to plain SHA-256 (hmac_key_id cleared, chain rebuilt) after keyed rows, with the key configured: verify_log() finds it')
  or diag("verify_log() says ok: checked $v->{checked}, last_seq $v->{last}");
drop($db);

# another key than the one the rows were hashed with
write_file("$dir/audit2.key", 'another key of thirty-two bytes or more, for the test');
sql('postgres', "ALTER SYSTEM SET govshare.audit_key_file = '$dir/audit2.key'; SELECT pg_reload_conf();");
$node->poll_query_until('base', "SELECT current_setting('govshare.audit_key_file') = '$dir/audit2.key'")
  or die 'reload did not take';
$v = verdict($keyed, '');
is("$v->{ok} $v->{bad}", 'f 31', 'with another audit key configured, the keyed rows do not verify');
like($v->{problem}, qr/hashed with audit key $key_id, but the configured audit key is/, '... saying which key');
sql('postgres', "ALTER SYSTEM RESET govshare.audit_key_file; SELECT pg_reload_conf();");
$node->poll_query_until('base', "SELECT current_setting('govshare.audit_key_file') = ''")
  or die 'reload did not take';
drop($keyed);

# the guards: the triggers refuse every write, to the superuser owner and to
# a non-superuser owner
my @writes = (
	[ 'INSERT', "INSERT INTO govshare.access_log SELECT * FROM govshare.access_log WHERE seq = 1" ],
	[ 'UPDATE', "UPDATE govshare.access_log SET rows = 0 WHERE seq = 2" ],
	[ 'DELETE', "DELETE FROM govshare.access_log WHERE seq = $n" ],
	[ 'TRUNCATE', "TRUNCATE govshare.access_log" ]);
is(sql('base', q{SELECT r.rolname || ' ' || r.rolsuper FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
  WHERE c.oid = 'govshare.access_log'::regclass}), 'postgres true', 'the log is owned by the superuser who created the extension');
$db = tampered('base', '');
for my $w (@writes)
{
	my ($op, $stmt) = @$w;
	($ret, $out, $err) = $node->psql($db, $stmt);
	isnt($ret, 0, "$op by the superuser owner fails");
	like($err, qr/append-only/, '... as the log is append-only');
}
sql($db, 'ALTER TABLE govshare.access_log OWNER TO log_owner; GRANT USAGE ON SCHEMA govshare TO log_owner;');
for my $w (@writes)
{
	my ($op, $stmt) = @$w;
	($ret, $out, $err) = $node->psql($db, $stmt, extra_params => [ '-U', 'log_owner' ]);
	isnt($ret, 0, "$op by a non-superuser owner fails");
	like($err, qr/append-only/, '... as the log is append-only');
}
for my $w (@writes)
{
	my ($op, $stmt) = @$w;
	($ret, $out, $err) = $node->psql($db, $stmt, extra_params => [ '-U', 'admin1' ]);
	isnt($ret, 0, "$op by a govshare_admin member fails");
}
$v = verdict($db, $cparg);
is("$v->{ok} $v->{checked}", "t $n", 'after the refused writes the log is whole');
drop($db);

# who reads the log
($ret, $out, $err) = $node->psql('base', 'SELECT count(*) FROM govshare.audit_access',
	extra_params => [ '-U', 'auditor' ]);
is("$ret $out", '0 16', 'a govshare_auditor member reads govshare.audit_access (16 statements)') or diag($err);
($ret, $out, $err) = $node->psql('base',
	"SELECT count(*) FROM govshare.audit_access WHERE outcome = 'denied' AND agency = 'MND'",
	extra_params => [ '-U', 'auditor' ]);
is($out, '2', '... the denials among them');
($ret, $out, $err) = $node->psql('base', 'SELECT ok FROM govshare.verify_log()',
	extra_params => [ '-U', 'auditor' ]);
is($out, 't', '... and verifies the chain');
($ret, $out, $err) = consumer('base', 'SELECT count(*) FROM govshare.access_log');
isnt($ret, 0, 'a consumer cannot read govshare.access_log');
like($err, qr/permission denied/, '... permission denied');
($ret, $out, $err) = consumer('base', 'SELECT count(*) FROM govshare.audit_access');
like($err, qr/permission denied/, '... nor govshare.audit_access');

$v = verdict('base', $cparg);
is("$v->{ok} $v->{checked}", "t $n", 'base, never tampered with, still verifies against its checkpoint');

$node->stop;
done_testing();
