# test/t/041_follow.pl — govshare-verify --follow, the verified JSON Lines
# stream for SIEMs.
#
# A log of consumers' reads and a denial is streamed as the auditor:
# every line is a JSON object whose members are exactly those
# docs/verify.md lists, in its order, with the values the table holds.
# The stream resumes from its position file (only the new records are
# appended, none twice), starts at --from-seq, follows the log while it
# grows (--interval) and ends cleanly on SIGTERM.  At a tampered record it
# writes nothing more, says why, exits 1 and keeps its position; a log
# rewritten and rechained from a record already streamed, which verifies
# on its own, does not continue the stream: the position carries the hash;
# and a tail deleted under the position is reported, not waited for.
use strict;
use warnings;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use Time::HiRes qw(usleep);

my $node = audit_node('follow');
sub sql { return $node->safe_psql('w', @_); }
$node->safe_psql('postgres', q{
CREATE ROLE mnd_app LOGIN;
CREATE DATABASE w;
});
sql(citizen_sql(rows => 100) . q{
SELECT bind_role('mnd_app', 'MND');
GRANT SELECT ON citizen TO mnd_app;
CREATE ROLE auditor LOGIN IN ROLE govshare_auditor;
});

my $tool = $node->config_data('--bindir') . '/govshare-verify';
ok(-x $tool, "govshare-verify is installed ($tool)");
my $dir = PostgreSQL::Test::Utils::tempdir();

# $n consumer reads (strict: an access and a result row each), marked $mark
sub reads
{
	my ($n, $mark) = @_;
	for my $i (1 .. $n)
	{
		$node->safe_psql('w', qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service', reference => 'case "$mark" $i');
SELECT full_name FROM citizen /* $mark $i */ WHERE personal_id = '0010901} . sprintf('%05d', $i) . q{';
SELECT govshare.audit_flush();}, extra_params => [ '-U', 'mnd_app' ]);
	}
}

# the tool, as the auditor: returns (exit status, stdout, stderr)
sub follow
{
	my (@args) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ($tool, '--dbname=' . $node->connstr('w') . ' user=auditor', '--follow', @args);
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	return ($? >> 8, $out, $err);
}

sub slurp
{
	my ($path) = @_;
	open(my $f, '<', $path) or return '';
	local $/;
	my $s = <$f>;
	close $f;
	return $s;
}

sub lines_of { return grep { length } split /\n/, $_[0]; }

reads(5, 'first');
$node->psql('w', 'SELECT full_name FROM public.citizen /* no context */',
	extra_params => [ '-U', 'mnd_app' ]);
sql('SELECT govshare.audit_flush()');
# the other sessions' last records land after their reads returned
$node->poll_query_until('w', 'SELECT max(seq) >= 11 FROM govshare.access_log')
  or die 'timed out waiting for the server';
my $n = sql('SELECT max(seq) FROM govshare.access_log');
is($n, '11', 'the log: five strict reads and a denial');

# --- the whole log, to a file, with a position ---
my ($out_file, $pos_file) = ("$dir/out.jsonl", "$dir/pos.json");
my ($rc, $out, $err) = follow('--until-end', "--position-file=$pos_file", "--output=$out_file");
is($rc, 0, '--follow --until-end exits 0 at the end') or diag $err;
like($err, qr/^govshare-verify: 11 records written, verified up to seq 11$/m, 'and says how far');
my @lines = lines_of(slurp($out_file));
is(scalar @lines, 11, 'one line per record');
my @records = map { JSON::PP->new->decode($_) } @lines;
is(scalar @records, 11, 'each line is a JSON object');

# the members docs/verify.md lists, in its order
my @documented;
{
	my $in = 0;
	for my $line (split /\n/, slurp("$ENV{GOVSHARE_SRC}/docs/verify.md"))
	{
		$in = 1 if $line =~ /^### Fields of a record/;
		$in = 0 if $in && $line =~ /^## /;
		push @documented, $1 if $in && $line =~ /^\| `([a-z_0-9]+)` \|/;
	}
}
ok(@documented > 30, 'docs/verify.md lists the members of a record');
my @keys = ($lines[0] =~ /"([a-z_0-9]+)":/g);
@keys = grep { my $k = $_; grep { $_ eq $k } @documented } @keys;
is(join(',', @keys), join(',', @documented), 'the members are those the page lists, in its order');
is(join(',', sort keys %{ $records[0] }), join(',', sort @documented), 'and no other');

# the values are the table's
my $expect = sql(q{
SELECT string_agg(concat_ws('|', seq, kind, statement_id, outcome, coalesce(reference, '-'),
                            encode(hash, 'hex'), encode(prev_hash, 'hex'),
                            to_char(logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                            coalesce(rows::text, '-'), coalesce(array_to_string(subjects, ','), '-'),
                            coalesce(query_id::text, '-'), coalesce(statement_text, '-')), E'\n' ORDER BY seq)
  FROM govshare.access_log});
my $got = join("\n", map {
	my $r = $_;
	join('|', $r->{seq}, $r->{kind}, $r->{statement_id}, $r->{outcome}, $r->{reference} // '-',
		$r->{hash}, $r->{prev_hash}, $r->{logged_at}, $r->{rows} // '-',
		defined $r->{subjects} ? join(',', @{ $r->{subjects} }) : '-', $r->{query_id} // '-',
		$r->{statement_text} // '-')
} @records);
is($got, $expect, 'seq, kind, ids, outcome, text with quotes, hashes, times, rows, subjects match the table');
is($records[-1]{outcome}, 'denied', 'the denial is in the stream');
is(ref $records[0]{columns}, 'ARRAY', 'arrays are JSON arrays');
ok(!ref $records[0]{query_id} && $records[0]{query_id} =~ /^-?\d+$/, 'query_id is a decimal string');
is($records[0]{database}, 'w', 'each record names its database');
my $pos = JSON::PP->new->decode(slurp($pos_file));
is($pos->{seq}, 11, 'the position is the last record written');
is($pos->{hash}, $records[-1]{hash}, 'with its hash');
is($pos->{database}, 'w', 'and the database');

# --- resume: only what is new, none twice ---
reads(2, 'second');
($rc, $out, $err) = follow('--until-end', "--position-file=$pos_file", "--output=$out_file");
is($rc, 0, 'the resumed stream exits 0') or diag $err;
@records = map { JSON::PP->new->decode($_) } lines_of(slurp($out_file));
is(join(',', map { $_->{seq} } @records), join(',', 1 .. 15), 'it appended the four new records, none twice');
is(JSON::PP->new->decode(slurp($pos_file))->{seq}, 15, 'the position moved on');
($rc, $out, $err) = follow('--until-end', "--position-file=$pos_file", '--from-seq=3');
is($rc, 2, '--from-seq is refused once a position file exists');
like($err, qr/--from-seq cannot be given with it/, 'saying so');

# --- --from-seq, to stdout ---
($rc, $out, $err) = follow('--until-end', '--from-seq=9');
is($rc, 0, '--from-seq=9 to stdout') or diag $err;
is(join(',', map { JSON::PP->new->decode($_)->{seq} } lines_of($out)), join(',', 9 .. 15),
	'writes seq 9 to the end, the rows before verified, not written');
($rc, $out, $err) = follow('--until-end', '--from-seq=99');
is($rc, 1, '--from-seq past the end fails');
like($err, qr/FAILED at seq 16: The log ends at seq 15, before --from-seq 99/, 'saying where the log ends');

# --- following a growing log; SIGTERM ends it cleanly ---
my ($bg_out, $bg_err) = ('', '');
my $bg_pos = "$dir/bg.json";
my $bg = IPC::Run::start([ $tool, '--dbname=' . $node->connstr('w') . ' user=auditor', '--follow',
	'--interval=0.2', "--position-file=$bg_pos" ], '<', \undef, '>', \$bg_out, '2>', \$bg_err);
sub wait_lines
{
	my ($want) = @_;
	for (1 .. 600)
	{
		$bg->pump_nb;
		return 1 if lines_of($bg_out) >= $want;
		usleep(100_000);
	}
	return 0;
}
ok(wait_lines(15), 'the follower writes the log so far');
reads(1, 'third');
ok(wait_lines(17), 'and the records appended while it waits');
$bg->signal('TERM');
$bg->finish;
is($? >> 8, 0, 'SIGTERM ends it with status 0') or diag $bg_err;
is(JSON::PP->new->decode(slurp($bg_pos))->{seq}, 17, 'its position is saved');

# --- a tampered record stops the stream ---
reads(2, 'fourth');
my $bad = 19;
$node->safe_psql('w', "SET session_replication_role = replica;
UPDATE govshare.access_log SET agency = 'MOH' WHERE seq = $bad");
($rc, $out, $err) = follow('--until-end', "--position-file=$bg_pos");
is($rc, 1, 'at a tampered record the stream exits 1');
like($err, qr/^govshare-verify: FAILED at seq $bad: The hash of seq $bad does not match its contents: the row was changed\.$/m,
	'saying which record and why');
is(join(',', map { JSON::PP->new->decode($_)->{seq} } lines_of($out)), '18',
	'the records before it are written, it and those after are not');
is(JSON::PP->new->decode(slurp($bg_pos))->{seq}, 18, 'the position stays before it');
($rc, $out, $err) = follow('--until-end', "--position-file=$bg_pos");
is($rc . ':' . $out, '1:', 'a resumed stream stops there again, writing nothing');

# --- a rewrite of what was streamed, rechained, does not continue it ---
$node->safe_psql('w', qq{SET session_replication_role = replica;
UPDATE govshare.access_log SET agency = 'MND' WHERE seq = $bad;
UPDATE govshare.access_log SET reference = 'rewritten' WHERE seq = 17;
DO \$\$
DECLARE r record; prev bytea;
BEGIN
	SELECT hash INTO prev FROM govshare.access_log WHERE seq = 16;
	FOR r IN SELECT seq FROM govshare.access_log WHERE seq >= 17 ORDER BY seq LOOP
		UPDATE govshare.access_log a
		   SET prev_hash = prev, hash = sha256(prev || govshare.audit_canonical(a))
		 WHERE a.seq = r.seq
		RETURNING a.hash INTO prev;
	END LOOP;
END
\$\$;});
is(sql('SELECT ok FROM govshare.verify_log()'), 't', 'the rewritten log verifies on its own');
($rc, $out, $err) = follow('--until-end', "--position-file=$bg_pos");
is($rc, 1, 'but the stream resumed from its position fails');
like($err, qr/FAILED at seq 18: Seq 18 does not have the hash the stream verified: the log was rewritten\./,
	'at the record of its position: the chain it verified was rewritten');
is($out, '', 'and writes nothing');

# --- a tail removed under a position: said at once, not waited for ---
my $tail_pos = "$dir/tail.json";
($rc, $out, $err) = follow('--until-end', "--position-file=$tail_pos");
is($rc, 0, 'a stream of the rewritten log from the start') or diag $err;
my $last = sql('SELECT max(seq) FROM govshare.access_log');
$node->safe_psql('w', "SET session_replication_role = replica;
DELETE FROM govshare.access_log WHERE seq = $last");
($rc, $out, $err) = follow('--until-end', "--position-file=$tail_pos");
is($rc, 1, 'resumed after its last record was deleted, it fails');
like($err, qr/FAILED at seq $last: The log no longer has seq $last, which the stream verified: rows were removed from its end\./,
	'saying that the end of the log was removed');

# --- usage ---
($rc, $out, $err) = follow('--checkpoint=x');
is($rc, 2, '--follow refuses --checkpoint');
($rc, $out, $err) = follow('--interval=0');
like($err, qr/--interval must be a number of seconds/, 'and an interval of 0');
my @cmd = ($tool, '--dbname=' . $node->connstr('w') . ' user=auditor', '--until-end');
IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
like($err, qr/go with --follow/, '--until-end needs --follow');

done_testing();
