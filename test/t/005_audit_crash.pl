# test/t/005_audit_crash.pl — strict audit survives kill -9 of the postmaster.
#
# Several consumer sessions read governed rows while the postmaster is
# killed with SIGKILL.  Under govshare.audit_mode = 'strict' a statement
# returns no row before its access record is committed, so every statement
# whose rows a client received must be in the access log after crash
# recovery, exactly once; the hash chain must verify; and the audit writer
# must continue the chain after the restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Config;
use IPC::Run;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use POSIX qw(WNOHANG);
use Time::HiRes qw(usleep);

my $nclients = 4;
my $nstatements = 20000;	# per client: far more than run before the kill

# The postmaster, once pg_ctl has exited, is an orphan: if PID 1 does not
# reap it after the kill, the zombie keeps its PID alive for the next
# postmaster's lock-file check.  Become the orphans' reaper (Linux
# prctl(PR_SET_CHILD_SUBREAPER) = 36; SYS_prctl = 157 on x86_64).
my $subreaper = $Config{archname} =~ /^x86_64-linux/ && syscall(157, 36, 1, 0, 0, 0) == 0;
note "reaping orphans here: " . ($subreaper ? 'yes' : 'no');
my $node = audit_node('audit_crash', 'max_connections = 30', 'log_statement = none');

$node->safe_psql('postgres', citizen_sql(rows => 1000) . q{
CREATE ROLE mnd_app LOGIN;
SELECT bind_role('mnd_app', 'MND');
});

my $dir = PostgreSQL::Test::Utils::tempdir;
my $consumer = $node->connstr('postgres') . ' user=mnd_app';

# A consumer's psql script: each SELECT returns its own marker with the row.
sub write_script
{
	my ($file, $prefix, $n) = @_;
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh "SET search_path = public, govshare;\n"
	  . "SELECT govshare.begin_request('military_service');\n";
	for my $s (1 .. $n)
	{
		my $id = sprintf('0010901%05d', 1 + ($s * 7 + length($prefix)) % 1000);
		print $fh "SELECT '$prefix-s$s' AS marker, full_name FROM citizen WHERE personal_id = '$id';\n";
	}
	close($fh);
}

# The markers a client's output shows: the statements whose rows it received.
sub received
{
	my ($file) = @_;
	my @m;
	open(my $fh, '<', $file) or return ();
	while (<$fh>)
	{
		push @m, $1 if /^([a-z0-9]+-s\d+)\|Citizen \d+$/;
	}
	close($fh);
	return @m;
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

# Consumer load.
my @clients;
for my $c (1 .. $nclients)
{
	my $script = "$dir/client$c.sql";
	write_script($script, "c$c", $nstatements);
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $consumer, '-f', $script ],
		'<', \undef, '>', "$dir/client$c.out", '2>', "$dir/client$c.err",
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	push @clients, $h;
}

# Kill when the load is well under way: 2000 statements recorded.
my $recorded = 0;
for (my $i = 0; $i < 600 && $recorded < 2000; $i++)
{
	usleep(100_000);
	$recorded = $node->safe_psql('postgres',
		q{SELECT count(*) FROM govshare.access_log WHERE kind = 'access'});
}
my $alive = grep { $_->pumpable } @clients;
my $datadir = $node->data_dir;
my $postmaster = (split /\n/, slurp_file("$datadir/postmaster.pid"))[0];
note "killing postmaster $postmaster with SIGKILL after $recorded access rows";
$node->kill9;

# Wait until the server's processes (all run in the data directory) are gone.
sub server_processes
{
	my @pids;
	opendir(my $proc, '/proc') or die "no /proc: $!";
	for my $pid (grep { /^\d+$/ } readdir($proc))
	{
		my $cwd = readlink("/proc/$pid/cwd");
		push @pids, $pid if defined $cwd && $cwd eq $datadir;
	}
	closedir($proc);
	return @pids;
}
my @left;
for (my $i = 0; $i < 600; $i++)
{
	@left = server_processes();
	last unless @left;
	usleep(100_000);
}
die "server processes still running after the postmaster was killed: @left" if @left;
for my $h (@clients)
{
	eval { $h->finish; };
	$h->kill_kill if $@;
}
if ($subreaper)
{
	waitpid($postmaster, 0);
	1 while waitpid(-1, WNOHANG) > 0;	# the backends it left
}

my @received;
push @received, received("$dir/client$_.out") for 1 .. $nclients;
for my $c (1 .. $nclients)
{
	my $err = slurp_file("$dir/client$c.err");
	note "client $c: " . scalar(received("$dir/client$c.out")) . " markers received; stderr: $err";
}
ok(@received > 50 && $alive == $nclients,
	"the crash hit a running load: $alive of $nclients clients running, "
	  . scalar(@received) . " markers received");

$node->start;

my %logged = logged_markers();
my @missing = grep { !exists $logged{$_} } @received;
my @twice = grep { exists $logged{$_} && $logged{$_} != 1 } @received;
is(scalar(@missing) . ' missing, ' . scalar(@twice) . ' logged more than once', '0 missing, 0 logged more than once',
	'every statement whose rows a client received has one access row after the crash')
  or diag("missing: @missing[0 .. ($#missing < 9 ? $#missing : 9)]; twice: @twice[0 .. ($#twice < 9 ? $#twice : 9)]");

is($node->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE n > 1)
  FROM (SELECT count(*) AS n FROM govshare.access_log GROUP BY statement_id, kind) s}),
	'0', 'no statement has two rows of the same kind');

my $before = $node->safe_psql('postgres',
	q{SELECT count(*) || ' ' || coalesce(max(seq), 0) FROM govshare.access_log});
my ($rows_before, $max_before) = split / /, $before;
is($node->safe_psql('postgres', q{
SELECT ok::text || ' ' || checked || ' ' || last_seq || ' ' || coalesce(problem, '')
  FROM govshare.verify_log()}),
	"true $rows_before $rows_before ",
	"the chain verifies after the crash: $rows_before rows, seq 1..$max_before");

# The writer continues the chain after the restart.
write_script("$dir/after.sql", 'after', 20);
open(my $fh, '>>', "$dir/after.sql") or die;
print $fh "SELECT govshare.audit_flush();\n";
close($fh);
my ($stdout, $stderr) = ('', '');
IPC::Run::run(
	[ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $consumer, '-f', "$dir/after.sql" ],
	'<', \undef, '>', \$stdout, '2>', \$stderr);
my @after = grep { /^after-s\d+\|Citizen \d+$/ } split /\n/, $stdout;
note "after the restart: " . scalar(@after) . " statements returned rows; stderr: $stderr";
is($node->safe_psql('postgres', qq{
SELECT count(DISTINCT a.statement_id) || ' ' || count(*) FILTER (WHERE a.seq > $max_before)
       || ' ' || count(r.seq) FILTER (WHERE r.seq > $max_before)
  FROM govshare.access_log a
  LEFT JOIN govshare.access_log r ON r.statement_id = a.statement_id AND r.kind = 'result'
 WHERE a.kind = 'access' AND a.statement_text LIKE 'SELECT ''after-s%'}),
	'20 20 20', 'after the restart, 20 new statements get access and result rows after the old chain')
  or diag(scalar(@after) . " of the 20 statements returned rows");
is($node->safe_psql('postgres', q{
SELECT ok::text || ' ' || (checked = (SELECT count(*) FROM govshare.access_log))::text
       || ' ' || (last_seq = (SELECT max(seq) FROM govshare.access_log))::text
       || ' ' || coalesce(problem, '')
  FROM govshare.verify_log()}),
	'true true true ', 'the chain still verifies, across the restart');

$node->stop;
done_testing();
