# test/t/031_archive.pl — retention: archives of the access log that stay
# verifiable.
#
# A log of some 600 records (consumer reads under strict audit) is archived
# in two steps with govshare.archive_log(): each archive is a JSON Lines
# file whose records chain from the previous anchor and end with a
# checkpoint signed by the self agency, beside a SHA-256 sidecar; the
# records leave the log, the archiving is recorded in it, and
# verify_log() verifies from the signed anchor.  Checked: who may archive
# (a superuser, a role granted EXECUTE; not govshare_admin, auditors or
# consumers), that a superuser's plain DELETE is still refused, the
# errors (no directory, a seq out of range, an archive that exists), that
# a changed row after the anchor and a changed anchor are detected, that
# subject_access() says when records were archived, that VACUUM removes
# the archived records' entries from the GIN index of data subjects, and
# that the writer continues the chain after the whole log was archived
# and the server restarted.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;

my $keys = PostgreSQL::Test::Utils::tempdir();
system("openssl genpkey -algorithm ed25519 -out $keys/signing.pem 2>/dev/null") == 0
  && system("openssl pkey -in $keys/signing.pem -pubout -out $keys/signing.pub 2>/dev/null") == 0
  or die 'openssl could not make a key';
chmod(0600, "$keys/signing.pem");
my $archive_dir = PostgreSQL::Test::Utils::tempdir();

# verify_log() in parallel however small the log (src/audit/verify.c):
# from the anchor after an archive, as from seq 1 before it
my $node = audit_node('archive', "govshare.signing_key_file = '$keys/signing.pem'",
	"govshare.audit_text_budget = '1GB'", 'min_parallel_table_scan_size = 0',
	'max_parallel_maintenance_workers = 1');
$node->safe_psql('postgres', 'CREATE DATABASE base');
sub sql { return $node->safe_psql('base', @_); }

sql(citizen_sql(rows => 300) . q{
CREATE ROLE mnd_app LOGIN;
ALTER ROLE mnd_app SET search_path = public, govshare;
SELECT bind_role('mnd_app', 'MND');
CREATE ROLE archiver LOGIN;
CREATE ROLE admin LOGIN IN ROLE govshare_admin;
CREATE ROLE auditor LOGIN IN ROLE govshare_auditor;
});
sql("SELECT govshare.add_agency_key('MPS', \$k\$" . slurp_file("$keys/signing.pub") . "\$k\$)");

# n reads by the consumer, each of one citizen (its data subject)
sub reads
{
	my ($from, $n) = @_;
	my $script = join('', map { "SELECT full_name FROM citizen WHERE personal_id = '0010901" . sprintf('%05d', $_) . "';\n" }
		  ($from .. $from + $n - 1));
	my ($ret, $out, $err) = $node->psql('base',
		"SELECT govshare.begin_request('military_service');\n$script", extra_params => [ '-U', 'mnd_app' ]);
	is($ret, 0, "$n consumer reads") or diag($err);
}
reads(1, 300);
# the result row of the last read is written after it returned
$node->poll_query_until('base', 'SELECT max(seq) >= 600 FROM govshare.access_log')
  or diag('the log stays below 600 records');
my $last = sql('SELECT max(seq) FROM govshare.access_log');
cmp_ok($last, '>=', 600, "the log holds $last records");

# --- who may archive, and the errors
my ($ret, $out, $err) = $node->psql('base', 'SELECT govshare.archive_log(10)');
like($err, qr/govshare\.archive_directory is not set/, 'no archive directory: refused, with what to set');
sql("ALTER SYSTEM SET govshare.archive_directory = '$archive_dir'; SELECT pg_reload_conf();");
sleep 1;
for my $role (qw(admin auditor mnd_app archiver))
{
	($ret, $out, $err) = $node->psql('base', 'SELECT govshare.archive_log(10)',
		extra_params => [ '-U', $role ]);
	like($err, qr/permission denied for function archive_log/, "$role may not archive");
}
($ret, $out, $err) = $node->psql('base', "SELECT govshare.archive_log($last + 100)");
like($err, qr/cannot archive govshare\.access_log through seq \d+.*DETAIL:  The log holds seq 1 to $last\./s,
	'a seq past the end is refused');
($ret, $out, $err) = $node->psql('base', 'BEGIN READ ONLY; SELECT govshare.archive_log(10);');
like($err, qr/cannot execute govshare\.archive_log\(\) in a read-only transaction/, 'a read-only transaction may not archive');
($ret, $out, $err) = $node->psql('base', 'DELETE FROM govshare.access_log WHERE seq <= 10');
like($err, qr/append-only/, "a superuser's plain DELETE is still refused");
($ret, $out, $err) = $node->psql('base', 'TRUNCATE govshare.access_log');
like($err, qr/append-only/, "a superuser's TRUNCATE is still refused");

# --- the first archive, by a role granted it
sql('GRANT EXECUTE ON FUNCTION govshare.archive_log(bigint) TO archiver');
my $subject = '001090100007';
like(sql(qq{SELECT count(*) FROM govshare.subject_access('$subject')}), qr/^[1-9]/,
	'the subject was read before the archive');

# an archive whose transaction rolls back removes nothing; its file is
# replaced by the next archive of the same records
($ret, $out, $err) = $node->psql('base', 'BEGIN; SELECT govshare.archive_log(200); ROLLBACK;');
is(sql('SELECT min(seq) || \' \' || (SELECT count(*) FROM govshare.access_log_archive) FROM govshare.access_log'), '1 0',
	'an archive rolled back removes nothing and leaves no anchor');
my @left = glob("$archive_dir/*.jsonl");
is(scalar(@left), 1, 'it leaves its file, complete');
my $res = $node->safe_psql('base', 'SELECT govshare.archive_log(200)', extra_params => [ '-U', 'archiver' ]);
like($res, qr/"records": 200/, 'archive_log(200) by a role granted it archives 200 records');
my ($file) = $res =~ /"file": "([^"]+)"/;
my ($sha) = $res =~ /"sha256": "([0-9a-f]{64})"/;
ok(-f $file, "the archive file exists ($file)");
is(sha256_hex(slurp_file($file)), $sha, 'its SHA-256 is the one returned');
is(slurp_file("$file.sha256"), "$sha  " . ($file =~ s{.*/}{}r) . "\n", 'the sidecar holds it, as sha256sum writes');
my @lines = split /\n/, slurp_file($file);
is(scalar(@lines), 202, 'the file: a header, 200 records, a checkpoint');
like($lines[0], qr/^\{"typ":"govshare-archive","format":1,"agency":"MPS","database":"base","first_seq":1,"last_seq":200,"prev_hash":"0{64}"\}$/,
	'the header names the records and the hash they continue');
like($lines[1], qr/^\{"seq":1,"prev_hash":"0{64}","hash":"[0-9a-f]{64}","canonical":"4753414c3[12][0-9a-f]+"\}$/,
	'a record: seq, prev_hash, hash, canonical encoding');
like($lines[-1], qr/^\{"checkpoint":\{"jws":"[\w-]+\.[\w-]+\.[\w-]+"\}\}$/, 'the file ends with a checkpoint');

# the archive's records chain as the log did (sha256 of prev_hash || canonical)
my $chain_ok = 1;
my $prev = '0' x 64;
for my $i (1 .. 200)
{
	my ($seq, $p, $h, $c) = $lines[$i] =~ /"seq":(\d+),"prev_hash":"(\w+)","hash":"(\w+)","canonical":"(\w+)"/;
	$chain_ok = 0 unless $seq == $i && $p eq $prev && sha256_hex(pack('H*', $p . $c)) eq $h;
	$prev = $h;
}
ok($chain_ok, 'the archived records chain from zero, each hash over prev_hash and canonical');
my ($payload) = $lines[-1] =~ /"jws":"[\w-]+\.([\w-]+)\./;
like(b64url_decode($payload), qr/"typ":"govshare-checkpoint","agency":"MPS","database":"base","seq":200,"hash":"$prev"/,
	'the checkpoint signs the last archived seq and hash');

is(sql('SELECT min(seq) FROM govshare.access_log'), '201', 'the archived records left the log');
is(sql(q{SELECT last_seq || ' ' || first_seq || ' ' || records || ' ' || encode(last_hash, 'hex') || ' ' || encode(file_sha256, 'hex') || ' ' || archived_by
           FROM govshare.access_log_archive}),
	"200 1 200 $prev $sha archiver", 'the anchor: the last archived seq and hash, the file and its SHA-256');
like(sql(q{SELECT reason FROM govshare.access_log WHERE internal AND relations = '{govshare.access_log}' ORDER BY seq DESC LIMIT 1}),
	qr/^archived seq 1\.\.200 \(200 records\) to \S+, SHA-256 $sha; the log continues from seq 200, hash $prev$/,
	'the archiving is recorded in the log');
is(sql(q{SELECT detail->'archive'->>'first_seq' || ' ' || (detail->'archive'->>'last_seq') || ' ' || (detail->'archive'->>'sha256')
           FROM govshare.access_log WHERE internal AND relations = '{govshare.access_log}' ORDER BY seq DESC LIMIT 1}),
	"1 200 $sha", 'the record of the archiving carries it in its detail too');
is(sql(q{SELECT ok || ' ' || checked || ' ' || last_seq || ' ' || coalesce(problem, '') FROM govshare.verify_log()}),
	'true ' . ($last - 200 + 2) . ' ' . ($last + 2) . ' ',
	'verify_log() verifies the rest from the anchor (with the records of both archivings)');
is(join(' ', map { s{.*/}{}r } glob("$archive_dir/*")), ($file =~ s{.*/}{}r) . ' ' . ($file =~ s{.*/}{}r) . '.sha256',
	'the archive replaced the file of the one rolled back; nothing else is left');
my $reads_left = sql(qq{SELECT count(*) FROM govshare.subject_access('$subject') WHERE outcome <> 'archived'});
like(sql(qq{SELECT seq || ' ' || reference || ' ' || outcome FROM govshare.subject_access('$subject') WHERE outcome = 'archived'}),
	qr/^200 govshare-base-0+1-0+200\.jsonl archived$/, 'subject_access() says that records up to seq 200 were archived');
is($reads_left, '0', 'subject_access() lists no read that was archived');

# VACUUM removes the archived records' entries from the GIN index
my ($vret, $vout, $verr) = $node->psql('base', 'VACUUM (VERBOSE) govshare.access_log');
my ($reusable) = $verr =~ /index "access_log_subjects": pages: \d+ in total, \d+ newly deleted, \d+ currently deleted, (\d+) reusable/;
cmp_ok($reusable // 0, '>=', 1, 'VACUUM frees the GIN index pages of the archived subjects for reuse')
  or diag($verr);

# --- the second archive continues from the anchor
reads(1, 50);
my $through = sql('SELECT max(seq) - 10 FROM govshare.access_log');
$res = sql("SELECT govshare.archive_log($through)");
like($res, qr/"last_seq": $through, "first_seq": 201/, 'a second archive starts after the anchor');
my ($file2) = $res =~ /"file": "([^"]+)"/;
like((split /\n/, slurp_file($file2))[0], qr/"first_seq":201,"last_seq":$through,"prev_hash":"$prev"/,
	'its header continues the first archive');
($ret, $out, $err) = $node->psql('base', "SELECT govshare.archive_log($through)");
like($err, qr/cannot archive .*DETAIL:  The log holds seq @{[$through + 1]} to/s, 'records are archived once');
is(sql(q{SELECT ok || ' ' || coalesce(problem, '') FROM govshare.verify_log()}), 'true ', 'the log verifies');

# --- govshare-verify --archive: the archives offline, and the log continuing them
my $tool = $node->config_data('--bindir') . '/govshare-verify';
sub tool
{
	my (@args) = @_;
	my ($tout, $terr) = ('', '');
	IPC::Run::run([ $tool, '--no-progress', @args ], '<', \undef, '>', \$tout, '2>', \$terr);
	return ($? >> 8, $tout . $terr);
}
my @pub = ('--public-key', "$keys/signing.pub");
my ($code, $report) = tool('--archive', $file, @pub);
is($code, 0, 'govshare-verify verifies the first archive offline') or diag($report);
like($report, qr/archive \S+: OK: agency MPS, seq 1\.\.200, SHA-256 $sha \(as its \.sha256 sidecar says\)/,
	'... its records, checkpoint and SHA-256');
($code, $report) = tool('--archive', $file, '--archive', $file2, @pub, '-d', $node->connstr('base') . ' user=auditor');
is($code, 0, 'govshare-verify verifies both archives and the live log continuing them') or diag($report);
my $now_last = sql('SELECT max(seq) FROM govshare.access_log');
like($report, qr/OK: $now_last records .* seq 1\.\.$now_last, last hash [0-9a-f]{64} \(the archives, then the log continuing them\)/,
	'... as one chain from seq 1');
($code, $report) = tool('-d', $node->connstr('base') . ' user=auditor');
is($code, 1, 'without the archives the log does not verify from seq 1');
like($report, qr/The log does not begin at seq 1: it begins at seq @{[$through + 1]}/, '... and says where it begins');
($code, $report) = tool('--archive', $file2, '--archive', $file, @pub);
like($report, qr/FAILED: archive \S+ at seq @{[$through + 1]}: It begins at seq 1, but the chain continues at seq @{[$through + 1]}/,
	'archives out of order are refused');
($code, $report) = tool('--archive', $file2, @pub, '-d', $node->connstr('base') . ' user=auditor');
is($code, 0, 'the newest archive alone verifies, from the hash its header continues') or diag($report);

# tampered copies of the first archive
sub tampered_archive
{
	my ($edit) = @_;
	my $copy_path = "$archive_dir/copy.jsonl";
	my @l = split /\n/, slurp_file($file);
	$edit->(\@l);
	open(my $fh, '>', $copy_path) or die;
	print $fh join("\n", @l) . "\n";
	close($fh);
	my $side = slurp_file("$file.sha256") =~ s/  \S+$/  copy.jsonl/r;
	open($fh, '>', "$copy_path.sha256") or die;
	print $fh $side;
	close($fh);
	my @r = tool('--archive', $copy_path, @pub);
	unlink($copy_path, "$copy_path.sha256");
	return @r;
}
sub rehash
{
	my ($l, $from) = @_;
	my ($prev) = $l->[$from] =~ /"prev_hash":"(\w+)"/;
	for my $i ($from .. 200)
	{
		my ($c) = $l->[$i] =~ /"canonical":"(\w+)"/;
		my $h = sha256_hex(pack('H*', $prev . $c));
		$l->[$i] =~ s/"prev_hash":"\w+","hash":"\w+"/"prev_hash":"$prev","hash":"$h"/;
		$prev = $h;
	}
}
($code, $report) = tampered_archive(sub { $_[0][50] =~ s/("canonical":"\w{60})(\w)/$1 . ($2 eq '0' ? '1' : '0')/e; });
is($code, 1, 'a changed record in an archive: exit status 1');
like($report, qr/FAILED: archive \S+ at seq 50: The hash of seq 50 does not match its contents/, '... found at its seq');
($code, $report) = tampered_archive(sub { $_[0][50] =~ s/("canonical":"\w{60})(\w)/$1 . ($2 eq '0' ? '1' : '0')/e; rehash($_[0], 50); });
like($report, qr/FAILED: archive \S+: its checkpoint signs seq 200, hash [0-9a-f]+, not its last record/,
	'a changed record with the chain recomputed: the signed checkpoint does not match');
($code, $report) = tampered_archive(sub { splice(@{ $_[0] }, 100, 1); });
like($report, qr/FAILED: archive \S+ at seq 100: Records are missing before seq 101/, 'a record removed from an archive is found');
($code, $report) = tampered_archive(sub { splice(@{ $_[0] }, 150, 51); rehash($_[0], 1); });
like($report, qr/FAILED: archive \S+ at seq 150: The archive ends at seq 149, but its header says seq 200/,
	'an archive cut short is found');
($code, $report) = tampered_archive(sub { $_[0][0] =~ s/^\{/{ /; });
like($report, qr/FAILED: archive \S+: its SHA-256 is [0-9a-f]+, but \S+ says $sha/,
	'a file that differs from its SHA-256 sidecar is found');
($code, $report) = tampered_archive(sub { $_[0][-1] =~ s/\.([\w-])([\w-]+)"\}\}$/'.' . ($1 eq 'A' ? 'B' : 'A') . $2 . '"}}'/e; });
like($report, qr/FAILED: archive \S+: its checkpoint: .*signature/, 'a forged checkpoint is found');

# --- tampering: a row after the anchor, the anchor
my $copy = 'tamper';
sub tampered
{
	my ($what, $sql) = @_;
	$node->safe_psql('postgres', "DROP DATABASE IF EXISTS $copy");
	$node->safe_psql('postgres', "CREATE DATABASE $copy TEMPLATE base");
	$node->safe_psql($copy, "ALTER TABLE govshare.access_log DISABLE TRIGGER USER;
ALTER TABLE govshare.access_log_archive DISABLE TRIGGER USER; $sql");
	return $node->safe_psql($copy, q{SELECT ok || ' ' || coalesce(first_bad_seq::text, '') || ' ' || coalesce(problem, '') FROM govshare.verify_log()});
}
my $first = $through + 1;
like(tampered('a changed row', "UPDATE govshare.access_log SET rows = 99 WHERE seq = $first"),
	qr/^false $first The hash of seq $first does not match/, 'a changed row after the anchor is detected');
like(tampered('a deleted first row', "DELETE FROM govshare.access_log WHERE seq = $first"),
	qr/^false $first Rows are missing before seq/, 'the first row after the anchor deleted is detected');
($code, $report) = tool('--archive', $file, '--archive', $file2, @pub, '-d', $node->connstr($copy));
like($report, qr/FAILED at seq $first: Rows are missing before seq/,
	'govshare-verify: a log that does not continue the archives is found');
like(tampered('a moved anchor', "UPDATE govshare.access_log_archive SET last_seq = last_seq + 1 WHERE last_seq = $through;
DELETE FROM govshare.access_log WHERE seq = $first"),
	qr/^false \d+ The archive anchor of seq \d+ does not hold what its signature signed/, 'an anchor moved past a deleted row is detected');
like(tampered('a changed anchor hash', "UPDATE govshare.access_log_archive SET last_hash = sha256(last_hash) WHERE last_seq = $through"),
	qr/^false \d+ The archive anchor of seq $through does not hold what its signature signed/, 'a changed anchor hash is detected');
like(tampered('a re-signed anchor', "UPDATE govshare.access_log_archive SET anchor = replace(anchor, substr(anchor, length(anchor) - 10, 5), 'AAAAA') WHERE last_seq = $through"),
	qr/^false \d+ The archive anchor of seq $through is not signed by a current key/, 'an anchor with a broken signature is detected');
$node->safe_psql('postgres', "DROP DATABASE $copy");

# --- everything archived; the writer continues the chain after a restart
reads(1, 5);
# the last read's result row is written after the read returned
$node->poll_query_until('base', 'SELECT coalesce(sum(queued), 0) = 0 FROM govshare.audit_status()')
  or die 'the audit queue did not drain';
my $end = sql('SELECT max(seq) FROM govshare.access_log');
like(sql("SELECT govshare.archive_log($end)"), qr/"last_seq": $end/, 'the whole log is archived');
$node->restart;
reads(1, 5);
is(sql(q{SELECT min(seq) FROM govshare.access_log WHERE NOT internal}), $end + 2,
	'after a restart the writer continues at the seq after the anchor (and the archiving\'s record)');
is(sql(q{SELECT ok || ' ' || coalesce(problem, '') FROM govshare.verify_log()}), 'true ', 'the log verifies from the anchor');
my $cp = sql('SELECT govshare.checkpoint()');
is(sql("SELECT ok || ' ' || coalesce(problem, '') FROM govshare.verify_log(\$cp\$$cp\$cp\$::jsonb)"), 'true ',
	'a checkpoint taken after the archives verifies');
my ($jws1) = $lines[-1] =~ /"jws":"([^"]+)"/;
my ($old_ok, $old_problem) = split /\|/, sql(qq{SELECT ok, problem FROM govshare.verify_log('{"jws":"$jws1"}'::jsonb)});
is($old_ok, 'f', 'a checkpoint of archived records is not vouched for by the log');
like($old_problem, qr/^Seq 200 was archived .*against the archive files with govshare-verify --archive/, '... it says to verify it against the archives');

# --- the room of archived rows: the writer appends after the last row, so
# the log stays in seq order on disk; CLUSTER gives the room back
sql('VACUUM govshare.access_log');
my $pages = sql(q{SELECT pg_relation_size('govshare.access_log') / 8192});
reads(6, 10);
is(sql(q{SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY ctid) AS before
  FROM govshare.access_log) x WHERE seq < before}), '0',
	'after an archive and a VACUUM, new rows still go after the last one on disk');
cmp_ok(sql(q{SELECT min((ctid::text::point)[0]) FROM govshare.access_log WHERE seq > (SELECT max(seq) - 5 FROM govshare.access_log)}),
	'>=', $pages - 1, '... not into the room the archived rows left');
sql('CLUSTER govshare.access_log USING access_log_pkey');
cmp_ok(sql(q{SELECT pg_relation_size('govshare.access_log') / 8192}), '<', $pages,
	'CLUSTER by the primary key gives that room back');
reads(11, 15);
is(sql(q{SELECT ok || ' ' || coalesce(problem, '') FROM govshare.verify_log()}), 'true ',
	'the log verifies after CLUSTER, and the writer went on after it');

$node->stop;
done_testing();
