# test/t/020_strict_wait_cancel.pl — cancel and statement_timeout while a
# strict statement waits for the audit writer, which is stopped (SIGSTOP)
# for longer than govshare.audit_timeout.
#
# - statement_timeout shorter than audit_timeout ends the wait at
#   statement_timeout (57014), not later, and returns no row;
# - pg_cancel_backend() ends it at once (57014), no row;
# - the wait that reaches audit_timeout fails closed (53000, "could not be
#   recorded"), no row;
# - the session stays usable; when the writer goes on, each of these
#   statements has its access row and a result row with outcome 'error'
#   that says why; the chain verifies.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use Time::HiRes qw(usleep time);

my $held;
END { kill('CONT', $held) if $held; }

my $node = audit_node('strict_cancel', q{govshare.audit_timeout = '4s'});
sub sql { return $node->safe_psql('postgres', shift); }
sql(citizen_sql(rows => 10) . q{
CREATE ROLE mnd_app LOGIN;
SELECT bind_role('mnd_app', 'MND');
GRANT SELECT ON citizen TO mnd_app;
});

my $consumer = $node->connstr('postgres') . ' user=mnd_app';
my $prelude = q{SET search_path = public, govshare; SELECT govshare.begin_request('military_service');};

# Runs a consumer read marked $mark in a psql of its own: (stdout, stderr, seconds).
sub read_as_consumer
{
	my ($mark, $settings, $during) = @_;
	my ($out, $err) = ('', '');
	my $start = time;
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', $consumer, '-c',
		  "$settings $prelude SELECT 'ROW:$mark:' || full_name FROM citizen" ],
		'<', \undef, '>', \$out, '2>', \$err);
	$during->() if $during;
	$h->finish;
	return ($out, $err, time - $start);
}

# a writer, then stop it
read_as_consumer('warm');
my $writer = sql(q{SELECT writer_pid FROM govshare.audit_status() WHERE database = 'postgres'});
ok($writer, "the database has an audit writer ($writer)");
kill('STOP', $writer);
$held = $writer;
my $stopped_at = time;

# 1. statement_timeout (1 s) shorter than audit_timeout (4 s)
my ($out, $err, $took) = read_as_consumer('timeout', q{SET statement_timeout = '1s';});
like($err, qr/ERROR:  57014: canceling statement due to statement timeout/,
	'statement_timeout ends a strict wait for a stopped writer (57014)');
unlike($out, qr/ROW:/, '... and no row is returned');
ok($took < 3.5, sprintf('... at statement_timeout, not at audit_timeout (%.1f s)', $took));

# 2. pg_cancel_backend() while it waits
($out, $err, $took) = read_as_consumer('cancel', '', sub {
	my $pid = '';
	for (1 .. 100)
	{
		$pid = sql(q{SELECT pid FROM pg_stat_activity
		              WHERE usename = 'mnd_app' AND wait_event_type = 'Extension'});
		last if $pid;
		usleep(20_000);
	}
	ok($pid, 'the strict statement waits for the writer (wait event Extension)');
	sql("SELECT pg_cancel_backend($pid)");
});
like($err, qr/ERROR:  57014: canceling statement due to user request/,
	'pg_cancel_backend() ends the wait (57014)');
unlike($out, qr/ROW:/, '... and no row is returned');
ok($took < 3.5, sprintf('... at once, not at audit_timeout (%.1f s)', $took));

# 3. the whole audit_timeout
($out, $err, $took) = read_as_consumer('audit_timeout');
like($err, qr/ERROR:  53000: access to governed data by agency "MND" could not be recorded/,
	'a wait that reaches audit_timeout fails closed (53000)');
like($err, qr/DETAIL:  The audit writer \(process $writer\) has not committed the record within 4000 ms/,
	'... naming the writer');
unlike($out, qr/ROW:/, '... and no row is returned');
ok($took >= 3.9, sprintf('... after audit_timeout (%.1f s)', $took));

# 4. a session that was cancelled goes on
my ($s_out, $s_err) = ('', '');
my $h = IPC::Run::start([ 'psql', '-X', '-q', '-A', '-t', '-v', 'VERBOSITY=verbose', '-d', $consumer ],
	'<', \my $in, '>', \$s_out, '2>', \$s_err);
$in = "SET statement_timeout = '500ms'; $prelude SELECT 'ROW:again1:' || full_name FROM citizen;\n"
  . "SELECT 'still here';\n";
$h->pump until $s_out =~ /still here/ || !$h->pumpable;
like($s_err, qr/57014/, 'in a kept session the read is cancelled by statement_timeout');
like($s_out, qr/still here/, '... and the session goes on');
ok(time - $stopped_at > 4, 'the writer has been stopped longer than audit_timeout');

kill('CONT', $writer);
undef $held;
$in .= "RESET statement_timeout; SELECT 'ROW:again2:' || full_name FROM citizen LIMIT 1;\n\\q\n";
$h->finish;
like($s_out, qr/ROW:again2:Citizen/, 'once the writer goes on, the same session reads again');

sql('SELECT govshare.audit_flush(60000)');
# the kept session's last result row lands after its read returned
$node->poll_query_until('postgres', q{SELECT count(*) FILTER (WHERE kind = 'result') >=
  count(*) FILTER (WHERE kind = 'access' AND outcome = 'allowed') FROM govshare.access_log})
  or die 'timed out waiting for the server';
is(sql(q{SELECT string_agg(m || ' ' || kinds, ', ' ORDER BY m) FROM (
  SELECT substring(a.statement_text FROM 'ROW:([a-z_0-9]+):') AS m,
         string_agg(l.kind || '/' || l.outcome, ' ' ORDER BY l.seq) AS kinds
    FROM govshare.access_log a JOIN govshare.access_log l USING (statement_id)
   WHERE a.kind = 'access' AND a.statement_text LIKE '%ROW:%' GROUP BY 1) s}),
	'again1 access/allowed result/error, again2 access/allowed result/allowed, '
	  . 'audit_timeout access/allowed result/error, cancel access/allowed result/error, '
	  . 'timeout access/allowed result/error, warm access/allowed result/allowed',
	'each cancelled or timed-out statement has its access row and a result row saying error');
like(sql(q{SELECT string_agg(DISTINCT reason, ' | ') FROM govshare.access_log WHERE kind = 'result' AND outcome = 'error'}),
	qr/could not be made durable|failed or was cancelled/, '... with the reason');
is(sql(q{SELECT ok::text || ' ' || coalesce(problem, '') FROM govshare.verify_log()}), 'true ',
	'the chain verifies');

$node->stop;
done_testing();
