# test/t/009_verify_tool.pl — govshare-verify, the offline verifier.
#
# The log of 007_audit_tamper.pl (consumer reads and denials of MND) is
# built in a database "base", with two rows of kind 'remote' fabricated
# after it (one with a receipt, one without, with texts and arrays that
# exercise the encoding), and a checkpoint of it is saved to a file.  The
# tool, run as a govshare_auditor member, must verify it (exit 0), encode
# every row as govshare.audit_canonical() does, verify the checkpoint and
# save a new one that verifies in turn; and every tampering of the tamper
# suite, each in a fresh copy of base, must make it fail (exit 1) at the
# right seq: changed fields, deleted rows, a removed tail and a rebuilt
# chain (against the checkpoint), swapped rows, a keyed chain rebuilt
# plain, checkpoints edited or signed by other keys.  A keyed log needs
# --audit-key.  Usage, connection and file errors exit 2 without showing
# the connection's password.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use IPC::Run;
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;

my $keys = PostgreSQL::Test::Utils::tempdir();

sub write_file
{
	my ($path, $content, $mode) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!";
	binmode $fh;
	print $fh $content;
	close($fh);
	chmod($mode // 0600, $path) or die "cannot chmod $path: $!";
}

# the self agency's signing key, made by openssl
system("openssl genpkey -algorithm ed25519 -out $keys/signing.pem 2>/dev/null") == 0
  or die "openssl genpkey failed";
chmod(0600, "$keys/signing.pem");
system("openssl pkey -in $keys/signing.pem -pubout -out $keys/signing.pub 2>/dev/null") == 0
  or die "openssl pkey failed";
my $signing_pub = slurp_file("$keys/signing.pub");

my $node = audit_node('verify_tool', "govshare.signing_key_file = '$keys/signing.pem'");
sub sql { return $node->safe_psql(@_); }

my $tool = $ENV{GOVSHARE_VERIFY} // $node->config_data('--bindir') . '/govshare-verify';
ok(-x $tool, "govshare-verify is installed ($tool)");

sql('postgres', q{
CREATE ROLE mnd_app LOGIN;
CREATE DATABASE base;
});
sql('base', citizen_sql(rows => 100, phone => 1) . q{
SELECT add_agency('MOH', 'Ministry of Health');
SELECT bind_role('mnd_app', 'MND');
GRANT SELECT ON citizen TO mnd_app;
CREATE ROLE auditor LOGIN IN ROLE govshare_auditor;
});
sql('base', "SELECT govshare.add_agency_key('MPS', \$k\$$signing_pub\$k\$)");

sub consumer
{
	my ($db, $query) = @_;
	return $node->psql($db, qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service', 'Lt. Tran', 'CALL-2026-7');
$query}, extra_params => [ '-U', 'mnd_app' ]);
}

# 14 reads (an access and a result row each) and 2 denials, as in 007
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
$node->poll_query_until('base', 'SELECT count(*) = 30 FROM govshare.access_log')
  or die 'the audit writer did not write 30 records';

# Two outgoing requests, fabricated as the writer would chain them: one
# answered with the provider's receipt, one refused.  Their texts and
# arrays reach the corners of the encoding: UTF-8, an empty array, a NULL
# element, bytea with zero bytes.
sub append_remote
{
	my ($db, $receipt, $outcome, $text, $relations) = @_;
	my $r = $receipt ? "17, sha256('the receipt')" : 'NULL, NULL';
	return sql($db, qq{
SET session_replication_role = replica;
INSERT INTO govshare.access_log (seq, logged_at, kind, statement_id, stmt_time, outcome, internal,
    agency, role_name, login_role, officer, purpose, reference, token_id, query_id,
    statement_sha256, statement_text, relations, columns, rows, reason, receipt_seq, receipt_hash,
    hmac_key_id, prev_hash, hash)
SELECT max(seq) + 1, now(), 'remote', gen_random_uuid(), now() - interval '1 ms', '$outcome', false,
       'MOH', 'postgres', 'postgres', 'Đại úy Trần', 'military_service', 'REF-2026/9', 'jti-' || max(seq),
       -42, sha256(convert_to(\$t\$$text\$t\$, 'UTF8')), \$t\$$text\$t\$, $relations, NULL,
       CASE WHEN '$outcome' = 'allowed' THEN 3 END,
       CASE WHEN '$outcome' = 'denied' THEN 'refused: no rule' END, $r,
       NULL, (SELECT hash FROM govshare.access_log ORDER BY seq DESC LIMIT 1), '\\x00'
  FROM govshare.access_log;
UPDATE govshare.access_log a SET hash = sha256(prev_hash || govshare.audit_canonical(a))
 WHERE seq = (SELECT max(seq) FROM govshare.access_log);
SELECT max(seq) FROM govshare.access_log;});
}
append_remote('base', 1, 'allowed', "SELECT họ_tên FROM dân_cư WHERE x = 'ü\xF0\x9F\x98\x80'",
	q{ARRAY['moh.patient', NULL, '']});
append_remote('base', 0, 'denied', 'SELECT 1', q{'{}'::text[]});
my $n = 32;
is(sql('base', q{SELECT count(*) || ' ' || max(seq) FROM govshare.access_log}), "$n $n",
	"the log: 30 records of consumers, 2 fabricated remote ones, seq 1 to $n");
is(sql('base', q{SELECT count(*) FROM govshare.access_log l
  WHERE hash <> sha256(prev_hash || govshare.audit_canonical(l))}), '0',
	'every hash is sha256(prev_hash || audit_canonical(row))');
is(sql('base', 'SELECT ok FROM govshare.verify_log()'), 't', 'verify_log() agrees the log is whole');

# the tool, as the auditor: returns (exit status, stdout, stderr)
sub verify
{
	my ($db, @args) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ($tool, '--dbname=' . $node->connstr($db) . ' user=auditor', @args);
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

my ($rc, $out, $err) = verify('base');
is($rc, 0, 'the untampered log verifies: exit 0') or diag("$out$err");
like($out, qr/^govshare-verify: OK: $n records \(access 16, result 14, remote 2, 1 of them with a receipt\) seq 1\.\.$n, last hash [0-9a-f]{64}$/m,
	'... one line saying what it verified');
my $last_hash = sql('base', "SELECT encode(hash, 'hex') FROM govshare.access_log WHERE seq = $n");
like($out, qr/last hash $last_hash/, '... and the last hash, the hash of seq 32');
like($out, qr/^govshare-verify: $n records in [0-9.]+ s \([0-9]+ records\/s\), max RSS [0-9]+ kB$/m,
	'... and how fast, in how much memory');
unlike($err, qr/records verified/, 'no progress when stderr is not a terminal');

($rc, $out, $err) = verify('base', '--dump-canonical');
is($rc, 0, '--dump-canonical verifies too');
my $canonical = sql('base', q{SELECT seq || E'\t' || encode(govshare.audit_canonical(l), 'hex')
  FROM govshare.access_log l ORDER BY seq});
is($out, "$canonical\n", 'the canonical encoding of every row equals govshare.audit_canonical()');

($rc, $out, $err) = verify('base', '--progress');
like($err, qr/\r[^\n]*$n records verified \([0-9]+\/s\)/, '--progress shows the count on stderr');
($rc, $out, $err) = verify('base', '--quiet');
is("$rc [$out]", '0 []', '--quiet prints nothing when the log verifies');

# checkpoints
my $cp = sql('base', 'SELECT govshare.checkpoint()');
write_file("$keys/cp.json", $cp, 0644);
($rc, $out, $err) = verify('base', '--checkpoint', "$keys/cp.json", '--public-key', "$keys/signing.pub");
is($rc, 0, 'the log verifies against its checkpoint') or diag("$out$err");
like($out, qr/^govshare-verify: checkpoint \S+cp\.json: OK: agency MPS, database base, seq $n, time [^,]+, key \S+$/m,
	'... saying what the checkpoint signed');
($rc, $out, $err) = verify('base', '--checkpoint', "$keys/cp.json");
is($rc, 2, 'a checkpoint without --public-key is a usage error');

unlink("$keys/new.json");
($rc, $out, $err) = verify('base', '--public-key', "$keys/signing.pub", '--save-checkpoint', "$keys/new.json");
is($rc, 0, '--save-checkpoint, as a govshare_auditor member: exit 0') or diag("$out$err");
like($out, qr/saved checkpoint \S+new\.json: agency MPS, database base, seq $n, hash $last_hash/, '... saying what it saved');
ok(-f "$keys/new.json" && !glob("$keys/new.json.tmp.*"), '... the file is written, no temporary file left');
($rc, $out, $err) = verify('base', '--checkpoint', "$keys/new.json", '--public-key', "$keys/signing.pub");
is($rc, 0, '... and the saved checkpoint verifies') or diag("$out$err");
is(sql('base', "SELECT ok FROM govshare.verify_log(\$c\$" . slurp_file("$keys/new.json") . "\$c\$::jsonb)"),
	't', '... also with verify_log(checkpoint)');

# --save-checkpoint while a consumer reads: the server's checkpoint may
# cover rows appended after the scan, which are verified up to it
sql('postgres', 'CREATE DATABASE growing TEMPLATE base');
write_file("$keys/reader.sql", qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service', 'Lt. Tran', 'CALL-2026-8');
DO \$\$ DECLARE v text; BEGIN
  FOR i IN 1 .. 100000 LOOP
    SELECT full_name INTO v FROM citizen WHERE personal_id = '001090100007';
  END LOOP;
END \$\$;
}, 0644);
my ($gout, $gerr) = ('', '');
my $reader = IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$keys/reader.sql",
		'-d', $node->connstr('growing'), '-U', 'mnd_app' ],
	'<', \undef, '>', \$gout, '2>', \$gerr);
$node->poll_query_until('growing', "SELECT count(*) > $n + 20 FROM govshare.access_log")
  or die 'the reader did not start';
my ($caught, $tries) = (0, 0);
while (!$caught && $tries++ < 40)
{
	($rc, $out, $err) = verify('growing', '--public-key', "$keys/signing.pub", '--save-checkpoint', "$keys/grow.json");
	last if $rc != 0;
	my ($verified) = $out =~ /OK: (\d+) records/;
	my ($saved) = $out =~ /saved checkpoint \S+: .*? seq (\d+),/;
	$caught = 1 if defined $saved && $saved > $verified;
}
is($rc, 0, '--save-checkpoint while the log grows: exit 0') or diag("$out$err");
ok($caught, "... and once the server's checkpoint covered rows appended after the scan (try $tries)")
  or diag($out);
like($out, qr/saved checkpoint/, '... the checkpoint is saved');
sql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE datname = 'growing' AND usename = 'mnd_app'});
$reader->finish;
($rc, $out, $err) = verify('growing', '--checkpoint', "$keys/grow.json", '--public-key', "$keys/signing.pub");
is($rc, 0, '... and it verifies') or diag("$out$err");
sql('postgres', 'DROP DATABASE growing');

# the tampering, each in a fresh copy of base
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
my @cp = ('--checkpoint', "$keys/cp.json", '--public-key', "$keys/signing.pub");

sub fails_at
{
	my ($db, $seq, $problem, $what, @args) = @_;
	my ($rc, $out, $err) = verify($db, @args);
	is($rc, 1, "$what: exit 1") or diag("$out$err");
	like($out, qr/^govshare-verify: FAILED at seq $seq: $problem/m, "... FAILED at seq $seq") or diag("$out$err");
}

my $result_seq = sql('base', q{SELECT min(seq) FROM govshare.access_log WHERE kind = 'result' AND rows > 3});
my $subject_seq = sql('base', q{SELECT min(seq) FROM govshare.access_log WHERE kind = 'result' AND subject_count >= 10});
for my $t (
	[ 9, "agency = 'MOH'", 'the agency' ],
	[ $result_seq, 'rows = 0', 'the rows returned' ],
	[ $subject_seq, 'subjects = subjects[2:]', 'the data subjects' ],
	[ 3, "statement_text = 'SELECT 1'", 'the statement text' ],
	[ 5, "stmt_time = stmt_time - interval '1 day'", 'the statement time' ],
	[ 31, 'receipt_seq = 18', 'the receipt of a remote row' ],
	[ 32, "relations = '{x}'", 'the relations of a remote row' ],
	[ 4, q{detail = '{"officer": "x"}'}, 'a detail added to a row of format GSAL1' ])
{
	my ($seq, $set, $what) = @$t;
	my $db = tampered('base', "UPDATE govshare.access_log SET $set WHERE seq = $seq;");
	fails_at($db, $seq, "The hash of seq $seq does not match its contents: the row was changed\\.",
		"$what of seq $seq changed");
	fails_at($db, $seq, 'The hash', '... and with the checkpoint', @cp);
	drop($db);
}

# Format GSAL2: rows with a detail, hashed as the server's encoder
# (audit_canonical) says; the tool's own encoder must agree, and a detail
# changed or removed afterwards is found.
my $db = tampered('base', q{UPDATE govshare.access_log
  SET detail = '{"params": ["a''b", "$$;x"], "n": 1.50, "node": {"name": "s1"}}' WHERE seq IN (4, 9);} . rechain(4));
is(sql($db, q{SELECT string_agg(encode(substr(govshare.audit_canonical(l), 1, 5), 'escape'), ',' ORDER BY seq)
  FROM govshare.access_log l WHERE seq IN (3, 4)}), 'GSAL1,GSAL2', 'GSAL2: a row with a detail is encoded in format GSAL2, one without in GSAL1');
($rc, $out, $err) = verify($db);
is($rc, 0, 'GSAL2: a chain of rows with and without a detail verifies with the tool') or diag("$out$err");
is(sql($db, 'SELECT ok FROM govshare.verify_log()'), 't', '... and with verify_log()');
sql($db, q{SET session_replication_role = replica;
  UPDATE govshare.access_log SET detail = detail || '{"n": 2}' WHERE seq = 9;});
fails_at($db, 9, "The hash of seq 9 does not match its contents: the row was changed\\.", 'GSAL2: a detail changed');
sql($db, q{SET session_replication_role = replica;
  UPDATE govshare.access_log SET detail = NULL WHERE seq IN (4, 9);});
fails_at($db, 4, "The hash of seq 4 does not match its contents: the row was changed\\.", 'GSAL2: a detail removed');
drop($db);

$db = tampered('base', 'DELETE FROM govshare.access_log WHERE seq = 15;');
fails_at($db, 15, 'Rows are missing before seq 16\.', 'a row deleted in the middle');
drop($db);

$db = tampered('base', 'DELETE FROM govshare.access_log WHERE seq = 1;');
fails_at($db, 1, 'The log does not begin at seq 1: it begins at seq 2\.', 'the first row deleted');
drop($db);

$db = tampered('base', "DELETE FROM govshare.access_log WHERE seq > $n - 3;");
($rc, $out, $err) = verify($db);
is($rc, 0, 'the last 3 rows deleted: without a checkpoint the rest verifies');
like($out, qr/OK: 29 records/, '... as 29 records');
fails_at($db, 30, "The log ends at seq 29, but the checkpoint \\S+cp\\.json covers seq $n: rows were removed from its end\\.",
	'with the older checkpoint: truncation', @cp);
# the unsigned "seq" next to the jws is not what is checked
(my $cp_edited = $cp) =~ s/"seq": ?$n\b/"seq": 29/;
isnt($cp_edited, $cp, 'the checkpoint\'s unsigned "seq" edited to 29');
write_file("$keys/cp_seq.json", $cp_edited, 0644);
fails_at($db, 30, 'The log ends at seq 29', '... still truncation',
	'--checkpoint', "$keys/cp_seq.json", '--public-key', "$keys/signing.pub");
drop($db);

$db = tampered('base', q{
UPDATE govshare.access_log SET seq = -1 WHERE seq = 7;
UPDATE govshare.access_log SET seq = 7 WHERE seq = 8;
UPDATE govshare.access_log SET seq = 8 WHERE seq = -1;});
fails_at($db, 7, 'The prev_hash of seq 7 is not the hash of seq 6: rows were removed, reordered or replaced\.',
	'two rows swapped');
drop($db);

$db = tampered('base', "UPDATE govshare.access_log SET agency = 'MOH' WHERE seq = 9;" . rechain(9));
($rc, $out, $err) = verify($db);
is($rc, 0, 'seq 9 changed and the chain rebuilt after it: without a checkpoint it verifies');
fails_at($db, $n, "Seq $n does not have the hash the checkpoint \\S+cp\\.json signed: the log before it was rewritten\\.",
	'with the checkpoint: rewriting', @cp);
drop($db);

$db = tampered('base', "DELETE FROM govshare.access_log WHERE seq BETWEEN 9 AND 10;
UPDATE govshare.access_log SET seq = -seq WHERE seq > 10;
UPDATE govshare.access_log SET seq = -seq - 2 WHERE seq < 0;" . rechain(9));
($rc, $out, $err) = verify($db);
is($rc, 0, 'a forged log without seq 9 and 10, renumbered and rechained, verifies alone');
fails_at($db, $n - 1, "The log ends at seq @{[$n - 2]}, but the checkpoint", '... not against the checkpoint', @cp);
drop($db);

$db = tampered('base', q{UPDATE govshare.access_log SET prev_hash = '\x01' WHERE seq = 4;});
fails_at($db, 4, 'Seq 4 has no valid hash or prev_hash\.', 'a prev_hash that is not 32 bytes');
drop($db);

$db = tampered('base', q{UPDATE govshare.access_log SET prev_hash = sha256('x') WHERE seq = 1;});
fails_at($db, 1, 'The prev_hash of seq 1 is not zero\.', 'a first row that does not start from zero');
drop($db);

# altered checkpoints
my $jws = sql('base', "SELECT \$c\$$cp\$c\$::jsonb ->> 'jws'");
my ($h64, $p64, $s64) = split /\./, $jws;
my $payload = b64url_decode($p64);
my $ncp = 0;
sub checkpoint_fails
{
	my ($doc, $problem, $what, @keyargs) = @_;
	my $path = "$keys/altered" . ++$ncp . '.json';
	write_file($path, $doc, 0644);
	@keyargs = ('--public-key', "$keys/signing.pub") unless @keyargs;
	my ($rc, $out, $err) = verify('base', '--checkpoint', $path, @keyargs);
	is($rc, 1, "$what: exit 1") or diag("$out$err");
	like($out, qr/^govshare-verify: FAILED: checkpoint \S+: .*$problem/m, "... saying so") or diag("$out$err");
	return $path;
}
sub with_jws
{
	my ($new) = @_;
	(my $doc = $cp) =~ s/"jws": ?"[^"]*"/"jws": "$new"/;
	return $doc;
}
(my $p_seq = $payload) =~ s/"seq": ?$n\b/"seq": 29/;
checkpoint_fails(with_jws("$h64." . b64url_encode($p_seq) . ".$s64"), 'signature does not verify',
	'a checkpoint whose signed seq was changed');
(my $p_hash = $payload) =~ s/("hash": ?")(.)/$1 . ($2 eq '0' ? '1' : '0')/e;
checkpoint_fails(with_jws("$h64." . b64url_encode($p_hash) . ".$s64"), 'signature does not verify',
	'a checkpoint whose signed hash was changed');
my $s_flip = $s64;
substr($s_flip, 5, 1) = substr($s64, 5, 1) eq 'A' ? 'B' : 'A';
checkpoint_fails(with_jws("$h64.$p64.$s_flip"), 'signature', 'a checkpoint with a changed signature');
checkpoint_fails(with_jws("$h64.$p64"), 'not a JWS in compact serialisation', 'a JWS of two parts');
(my $no_jws = $cp) =~ s/"jws": ?"[^"]*",?//;
checkpoint_fails($no_jws, 'no "jws"', 'a checkpoint without its jws');
checkpoint_fails('not json', 'not a JSON object', 'a file that is not JSON');

my $other = sql('base', q{SELECT private_key || '|' || public_key || '|' || key_id FROM govshare.make_test_key()});
my ($opriv, $opub, $okid) = split /\|/, $other;
write_file("$keys/other.pub", $opub, 0644);
my $kid = sql('base', "SELECT \$c\$$cp\$c\$::jsonb ->> 'kid'");
sub signed_by
{
	my ($priv, $hkid, $body) = @_;
	return with_jws(sql('base', qq{SELECT govshare.sign_jws(\$k\$$priv\$k\$,
  jsonb_build_object('alg', 'EdDSA', 'kid', '$hkid', 'typ', 'govshare-checkpoint+jws'),
  \$p\$@{[$body // $payload]}\$p\$::jsonb)}));
}
my $resigned = checkpoint_fails(signed_by($opriv, $okid), "signed by key $okid, which is not one of the public keys given",
	'a checkpoint resigned with an unregistered key');
checkpoint_fails(signed_by($opriv, $kid), "signature does not verify with key $kid",
	'a checkpoint signed by another key but naming the agency\'s');
($rc, $out, $err) = verify('base', '--checkpoint', $resigned, '--public-key', "$keys/other.pub");
is($rc, 0, 'the key that signed a checkpoint verifies it when it is given (the keys given are the trust)')
  or diag("$out$err");
(my $p_typ = $payload) =~ s/"govshare-checkpoint"/"not-a-checkpoint"/;
checkpoint_fails(signed_by($opriv, $okid, $p_typ), 'not a govshare checkpoint', 'a signed payload of another type',
	'--public-key', "$keys/other.pub");

# the HMAC-keyed chain
# random bytes; not ending in \n or \r, which the server strips from the file
my $audit_key = join('', map { chr(int(rand(256))) } 1 .. 47) . 'k';
write_file("$keys/audit.key", $audit_key);
my $key_id = substr(sha256_hex($audit_key), 0, 16);
write_file("$keys/audit2.key", "another key of thirty-two bytes or more, for the test\n");
sql('postgres', "ALTER SYSTEM SET govshare.audit_key_file = '$keys/audit.key'; SELECT pg_reload_conf();");
$node->poll_query_until('base', "SELECT current_setting('govshare.audit_key_file') = '$keys/audit.key'")
  or die 'reload did not take';
my $keyed = tampered('base', '');
for my $i (1 .. 3)
{
	($rc, $out, $err) = consumer($keyed, "SELECT full_name FROM citizen WHERE personal_id <= '00109010000$i'");
	die "consumer read failed: $err" if $rc != 0;
}
$node->poll_query_until($keyed, "SELECT count(*) = $n + 6 FROM govshare.access_log")
  or die 'the keyed records were not written';
is(sql($keyed, "SELECT count(*) FROM govshare.access_log WHERE hmac_key_id = '$key_id'"), '6',
	'the keyed copy: 6 rows keyed after 32 plain ones');
my $k1 = $n + 1;
fails_at($keyed, $k1, "Seq $k1 was hashed with audit key $key_id, but no audit key was given \\(--audit-key\\)\\.",
	'a keyed log without --audit-key');
($rc, $out, $err) = verify($keyed, '--audit-key', "$keys/audit.key");
is($rc, 0, '... with it, it verifies') or diag("$out$err");
like($out, qr/OK: @{[$n + 6]} records/, '... all of it');
($rc, $out, $err) = verify($keyed, '--audit-key', "$keys/audit.key", '--dump-canonical');
is($out, sql($keyed, q{SELECT seq || E'\t' || encode(govshare.audit_canonical(l), 'hex')
  FROM govshare.access_log l ORDER BY seq}) . "\n", '... and encodes the keyed rows as audit_canonical() does');
my $id2 = substr(sha256_hex('another key of thirty-two bytes or more, for the test'), 0, 16);
fails_at($keyed, $k1, "Seq $k1 was hashed with audit key $key_id, but the audit key given \\(--audit-key\\) is $id2\\.",
	'a keyed log with another key', '--audit-key', "$keys/audit2.key");
($rc, $out, $err) = verify($keyed, '--audit-key', "$keys/audit2.key", '--audit-key', "$keys/audit.key");
is($rc, 0, '... and with both keys it verifies');

my $kseq = $n + 3;
$db = tampered($keyed, "UPDATE govshare.access_log SET agency = 'MOH' WHERE seq = $kseq;" . rechain($kseq));
fails_at($db, $kseq, "The hash of seq $kseq does not match its contents",
	'a keyed row changed and the chain rebuilt with plain SHA-256', '--audit-key', "$keys/audit.key");
drop($db);
$db = tampered($keyed, "UPDATE govshare.access_log SET agency = 'MOH', hmac_key_id = NULL WHERE seq >= $kseq;" . rechain($kseq));
fails_at($db, $kseq, "Seq $kseq is hashed without the audit key, but seq $k1 before it was keyed: the chain was recomputed without the key\\.",
	'keyed rows downgraded to plain SHA-256 (hmac_key_id cleared, chain rebuilt)', '--audit-key', "$keys/audit.key");
drop($db);
sql('postgres', "ALTER SYSTEM RESET govshare.audit_key_file; SELECT pg_reload_conf();");
$node->poll_query_until('base', "SELECT current_setting('govshare.audit_key_file') = ''")
  or die 'reload did not take';
drop($keyed);

# errors: exit 2, and no password in what is printed
my $port = $node->port;
my @bad = ($tool, "--dbname=host=/nonexistent port=$port dbname=base user=auditor password=s3cr3t-pw");
IPC::Run::run(\@bad, '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 2, 'a connection that fails: exit 2');
like($err, qr/could not connect to the database/, '... saying so');
unlike("$out$err", qr/s3cr3t-pw/, '... without the password');
@bad = ($tool, "--dbname=host=/nonexistent password=s3cr3t-pw port");
IPC::Run::run(\@bad, '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 2, 'a malformed connection string: exit 2');
unlike("$out$err", qr/s3cr3t-pw/, '... without the password');
($rc, $out, $err) = verify('base', '--public-key', "$keys/nonexistent.pem");
is($rc, 2, 'a public key file that does not exist: exit 2');
like($err, qr/could not open the public key file/, '... saying so');
($rc, $out, $err) = verify('base', '--public-key', "$keys/signing.pem");
is($rc, 2, 'a private key given as --public-key: exit 2');
($rc, $out, $err) = verify('base', '--audit-key', "$keys/cp.json.none");
is($rc, 2, 'an audit key file that does not exist: exit 2');
($rc, $out, $err) = verify('base', 'extra');
is($rc, 2, 'an unexpected argument: exit 2');
IPC::Run::run([ $tool ], '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 2, 'no --dbname: exit 2');
sql('postgres', 'CREATE ROLE nobody LOGIN');
IPC::Run::run([ $tool, '--dbname=' . $node->connstr('base') . ' user=nobody' ], '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 2, 'a role that may not read the log: exit 2');
like($err, qr/permission denied/, '... with the server\'s reason');

$node->stop;
done_testing();
