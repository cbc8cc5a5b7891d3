# test/t/006_audit_concurrency.pl — the access log under concurrent load.
#
# pgbench runs 8 consumer sessions of 2,000 audited statements each under
# strict audit, then 8 of 500 under async audit.  Every statement must get
# exactly one access row (strict: and one result row with the same
# statement_id, carrying the rows returned and the data subject), no two
# statements the same statement_id, sequence numbers 1..N without a gap,
# and a hash chain that verifies.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use Time::HiRes qw(usleep);

# The records are told apart by their statements' texts: no text budget
# (test/t/013_audit_volume.pl tests the budget).
my $node = audit_node('audit_concurrency', 'max_connections = 30', 'log_statement = none',
	"govshare.audit_text_budget = '1GB'");

$node->safe_psql('postgres', citizen_sql(rows => 1000) . q{
CREATE ROLE mnd_app LOGIN;
ALTER ROLE mnd_app SET search_path = public, govshare;
SELECT bind_role('mnd_app', 'MND');
});

my $dir = PostgreSQL::Test::Utils::tempdir;

# One pgbench transaction: the request context, then one audited lookup of
# a random citizen whose id (001090100001 .. 001090101000) is in the text.
sub pgbench_run
{
	my ($mode, $clients, $per_client) = @_;
	my $script = "$dir/$mode.sql";
	open(my $fh, '>', $script) or die "cannot write $script: $!";
	print $fh "SELECT govshare.begin_request('military_service');\n"
	  . "\\set pid 1090100000 + random(1, 1000)\n"
	  . "SELECT '$mode-run' AS marker, full_name FROM citizen WHERE personal_id = '00:pid';\n";
	close($fh);
	my ($stdout, $stderr) = ('', '');
	my $ok = IPC::Run::run(
		[ 'pgbench', '-n', '-c', $clients, '-j', 2, '-t', $per_client, '-f', $script,
		  '-h', $node->host, '-p', $node->port, '-U', 'mnd_app', 'postgres' ],
		'<', \undef, '>', \$stdout, '2>', \$stderr);
	my $total = $clients * $per_client;
	note "$mode: $1" while $stdout =~ /^(latency average = .*|tps = .*)$/mg;
	ok($ok && $stdout =~ m{number of transactions actually processed: $total/$total}
		  && $stdout =~ m{number of failed transactions: 0 },
		"$mode: pgbench ran $clients clients x $per_client transactions without error")
	  or diag("pgbench stdout:\n$stdout\nstderr:\n$stderr");
}

# Waits until the writer has committed everything queued (results included).
sub wait_written
{
	for (my $i = 0; $i < 1800; $i++)
	{
		my $queued = $node->safe_psql('postgres',
			q{SELECT coalesce(sum(queued), 0) FROM govshare.audit_status()});
		return 1 if $queued eq '0';
		usleep(100_000);
	}
	diag('the audit queue did not drain: '
		  . $node->safe_psql('postgres', 'SELECT * FROM govshare.audit_status()'));
	return 0;
}

# The log as a whole: gapless sequence 1..N, a verifying chain.
sub check_chain
{
	my ($what) = @_;
	is($node->safe_psql('postgres', q{
SELECT (SELECT min(seq) || ' ' || (max(seq) = count(*))::text || ' ' || (count(DISTINCT seq) = count(*))::text
          FROM govshare.access_log)
       || ' | ' || ok::text || ' ' || (checked = (SELECT count(*) FROM govshare.access_log))::text
       || ' ' || coalesce(problem, '')
  FROM govshare.verify_log()}),
		'1 true true | true true ', "$what: seq runs 1..N without a gap and the chain verifies");
}

sub log_size
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM govshare.access_log');
}

# Strict: 8 x 2000.
my $size0 = log_size();
pgbench_run('strict', 8, 2000);
wait_written();

is($node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT statement_id) || ' ' || count(*) FILTER (WHERE outcome = 'allowed')
  FROM govshare.access_log
 WHERE kind = 'access' AND statement_text LIKE 'SELECT ''strict-run''%'}),
	'16000 16000 16000', 'strict: one access row for each of the 16000 statements, each its own statement_id');

# Each result row follows its own access row and names the row returned:
# one row, of the citizen whose id the statement's text holds.
is($node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT r.statement_id) || ' ' || count(*) FILTER (WHERE r.seq > a.seq)
       || ' ' || count(*) FILTER (WHERE r.rows = 1 AND r.subject_count = 1
                                  AND r.subjects = ARRAY[substring(a.statement_text FROM '''([0-9]{12})''')])
  FROM govshare.access_log r
  JOIN govshare.access_log a ON a.statement_id = r.statement_id AND a.kind = 'access'
 WHERE r.kind = 'result' AND a.statement_text LIKE 'SELECT ''strict-run''%'}),
	'16000 16000 16000 16000',
	'strict: one result row after each access row, with its one row and its data subject');

is(log_size() - $size0, 32000, 'strict: the run added 32000 rows to the log, no more');
check_chain('strict');

# Async: 8 x 500; the one access row of each statement carries its result.
$node->safe_psql('postgres', q{ALTER ROLE mnd_app SET govshare.audit_mode = 'async'});
my $size1 = log_size();
pgbench_run('async', 8, 500);
wait_written();

is($node->safe_psql('postgres', q{
SELECT count(*) || ' ' || count(DISTINCT a.statement_id)
       || ' ' || count(*) FILTER (WHERE a.rows = 1 AND a.subject_count = 1
                                  AND a.subjects = ARRAY[substring(a.statement_text FROM '''([0-9]{12})''')])
       || ' ' || count(*) FILTER (WHERE EXISTS (SELECT FROM govshare.access_log r
                                                 WHERE r.statement_id = a.statement_id AND r.seq <> a.seq))
  FROM govshare.access_log a
 WHERE a.kind = 'access' AND a.statement_text LIKE 'SELECT ''async-run''%'}),
	'4000 4000 4000 0',
	'async: one access row for each of the 4000 statements, with its row and data subject, and no other row');
is(log_size() - $size1, 4000, 'async: the run added 4000 rows to the log, no more');
check_chain('async');

$node->stop;
done_testing();
