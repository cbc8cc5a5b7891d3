# test/t/019_writer_kill.pl — kill -9 of the audit writer in the middle of
# a batch, under strict and async load.
#
# Three consumer sessions read under strict audit, each statement
# returning its own marker; two read under async audit and, every tenth
# statement, acknowledge what they queued with govshare.audit_flush(),
# returning a flush marker.  When the writer is seen writing a batch
# (pg_stat_activity: "writing access records") it is killed with SIGKILL.
# PostgreSQL treats a background worker's death by a signal as a crash:
# the postmaster ends every backend and restarts, shared memory (and the
# audit queue in it) is set up anew.  Afterwards:
# - every statement whose rows a strict client received has one access
#   row; the async statements before each acknowledged flush have one each;
# - no statement has two rows of one kind (nothing written twice);
# - the strict clients that were waiting got an error (the connection
#   ended), never rows;
# - the chain verifies, and the next writer continues it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use Time::HiRes qw(usleep time);

my $nstatements = 20000;	# per client: far more than run before the kill

my $node = audit_node('writer_kill', 'max_connections = 30', 'log_statement = none',
	'restart_after_crash = on');
$node->safe_psql('postgres', citizen_sql(rows => 1000) . q{
CREATE ROLE mnd_strict LOGIN;
CREATE ROLE mnd_async LOGIN;
SELECT bind_role('mnd_strict', 'MND'), bind_role('mnd_async', 'MND');
ALTER ROLE mnd_async SET govshare.audit_mode = 'async';
});

my $dir = PostgreSQL::Test::Utils::tempdir;

# A consumer's psql script: each SELECT returns its own marker with the
# row; with flush_every, every so many statements an audit_flush() returns
# the marker of the statement before it.
sub write_script
{
	my ($file, $prefix, $n, $flush_every) = @_;
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh "SET search_path = public, govshare;\n"
	  . "SELECT govshare.begin_request('military_service');\n";
	for my $s (1 .. $n)
	{
		my $id = sprintf('0010901%05d', 1 + ($s * 7 + length($prefix)) % 1000);
		print $fh "SELECT '$prefix-s$s' AS marker, full_name FROM citizen WHERE personal_id = '$id';\n";
		print $fh "SELECT 'flushed $prefix-s$s', govshare.audit_flush(60000);\n"
		  if $flush_every && $s % $flush_every == 0;
	}
	close($fh);
}

# The markers in a client's output: (received statements, last flushed).
sub received
{
	my ($file) = @_;
	my (@m, $flushed);
	open(my $fh, '<', $file) or return ();
	while (<$fh>)
	{
		push @m, $1 if /^([a-z0-9]+-s\d+)\|Citizen \d+$/;
		$flushed = $1 if /^flushed [a-z0-9]+-s(\d+)\|$/;
	}
	close($fh);
	return (\@m, $flushed // 0);
}

# The access rows of the log, by the marker in their statement text.
sub logged_markers
{
	my %count;
	my $out = $node->safe_psql('postgres', q{
SELECT substring(statement_text FROM '''([a-z0-9]+-s[0-9]+)'''), count(*)
  FROM govshare.access_log
 WHERE kind = 'access' AND statement_text LIKE 'SELECT ''%'
 GROUP BY 1});
	for (split /\n/, $out)
	{
		my ($m, $c) = split /\|/;
		$count{$m} = $c if defined $m && $m ne '';
	}
	return %count;
}

my %clients = (s1 => 'mnd_strict', s2 => 'mnd_strict', s3 => 'mnd_strict',
	a1 => 'mnd_async', a2 => 'mnd_async');
my %run;
for my $c (sort keys %clients)
{
	write_script("$dir/$c.sql", $c, $nstatements, $c =~ /^a/ ? 10 : 0);
	$run{$c} = IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d',
		  $node->connstr('postgres') . " user=$clients{$c}", '-f', "$dir/$c.sql" ],
		'<', \undef, '>', "$dir/$c.out", '2>', "$dir/$c.err",
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
}

# When the load runs (1000 access rows), watch for the writer in a batch
# and kill it there.
my $recorded = 0;
for (my $i = 0; $i < 600 && $recorded < 1000; $i++)
{
	usleep(100_000);
	$recorded = $node->safe_psql('postgres', q{SELECT count(*) FROM govshare.access_log});
}
my $watch = $node->background_psql('postgres');
my ($writer, $state) = (0, '');
my $deadline = time + 60;
while (time < $deadline)
{
	($writer, $state) = split /\|/, $watch->query(q{
SELECT pid, coalesce(query, '') FROM pg_stat_activity
 WHERE backend_type = 'govshare audit writer' AND datname = 'postgres'});
	last if $writer && $state eq 'writing access records';
}
$watch->quit;
my $alive = grep { $run{$_}->pumpable } keys %run;
ok($writer && $state eq 'writing access records' && $alive == 5,
	"the writer (process $writer) is caught writing a batch, under the load of $alive clients");
my $queued = $node->safe_psql('postgres', q{SELECT queued FROM govshare.audit_status() WHERE database = 'postgres'});
note "killing the writer $writer with SIGKILL, $queued records queued";
kill('KILL', $writer);

for my $c (keys %run)
{
	eval { $run{$c}->finish; };
	$run{$c}->kill_kill if $@;
}
$node->poll_query_until('postgres', 'SELECT true')
  or die 'the server did not come back after the crash';
like(slurp_file($node->logfile), qr/background worker "govshare audit writer" \(PID $writer\) was terminated by signal 9/,
	'the postmaster saw the writer killed, and restarted');

my %logged = logged_markers();
my (@missing, @twice, $received, $acked);
for my $c (sort keys %clients)
{
	my ($m, $flushed) = received("$dir/$c.out");
	my $err = slurp_file("$dir/$c.err");
	note "$c: " . scalar(@$m) . " markers received, the last flush after s$flushed; stderr: $err";
	like($err, qr/terminating connection because of crash of another server process|server closed the connection/,
		"$c ends with an error, not with rows") if $c =~ /^s/;
	# strict: every received statement; async: those before the last acknowledged flush
	my @must = $c =~ /^s/ ? @$m : grep { /-s(\d+)$/ && $1 <= $flushed } @$m;
	$received += @must;
	$acked += $flushed if $c =~ /^a/;
	push @missing, grep { !exists $logged{$_} } @must;
	push @twice, grep { ($logged{$_} // 0) > 1 } @$m;
}
ok($received > 100 && $acked > 0, "$received acknowledged statements to check ($acked async ones flushed)");
is(scalar(@missing) . ' missing, ' . scalar(@twice) . ' logged more than once', '0 missing, 0 logged more than once',
	'every acknowledged statement has exactly one access row after the writer was killed')
  or diag("missing: @missing[0 .. ($#missing < 9 ? $#missing : 9)]; twice: @twice[0 .. ($#twice < 9 ? $#twice : 9)]");
is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE n > 1)
  FROM (SELECT count(*) AS n FROM govshare.access_log GROUP BY statement_id, kind) s}),
	'0', 'no statement has two rows of the same kind');

my $max_before = $node->safe_psql('postgres', 'SELECT max(seq) FROM govshare.access_log');
my ($stdout, $stderr) = ('', '');
IPC::Run::run(
	[ 'psql', '-X', '-q', '-A', '-t', '-d', $node->connstr('postgres') . ' user=mnd_strict', '-c',
	  q{SELECT govshare.begin_request('military_service'); SELECT count(*) FROM citizen} ],
	'<', \undef, '>', \$stdout, '2>', \$stderr);
is("$stdout$stderr", "\n1000\n", 'a strict read after the restart is recorded and returns its rows');
audit_drained($node);
is($node->safe_psql('postgres', qq{SELECT count(*) FROM govshare.access_log WHERE seq > $max_before}),
	'2', '... its access and result rows continue the chain');
is($node->safe_psql('postgres', q{
SELECT ok::text || ' ' || (checked = (SELECT count(*) FROM govshare.access_log))::text
       || ' ' || coalesce(problem, '')
  FROM govshare.verify_log()}),
	'true true ', 'the chain verifies across the kill');

$node->stop;
done_testing();
