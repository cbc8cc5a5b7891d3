# test/t/021_full_disk.pl — a full disk under the access log.
#
# The access log (table and indexes) of database "postgres" is moved to a
# tablespace on a 16 MB tmpfs, which a file then fills.  The test runs as
# postgres and cannot mount: scripts/test and scripts/runtap, as root,
# mount the tmpfs and name it in GOVSHARE_FULL_DISK_DIR (under
# scripts/test, GOVSHARE_FULL_DISK_REQUIRED makes its absence a failure).
#
# While the disk is full:
# - a strict consumer read fails closed after govshare.audit_timeout, with
#   SQLSTATE 53000 (not XX000) and the writer's error (no space left) in
#   its DETAIL, and returns no row;
# - async reads go on while their records fit in their agency's share of
#   the audit queue (half of govshare.audit_queue_size); then each waits audit_timeout for room
#   and fails with 53000 "the audit queue ... is full", before it reads a
#   row: fail closed;
# - a cursor opened before the queue filled and rolled back after keeps
#   its record: the room for a statement's last record is reserved when
#   it starts, so the abort path does not lose it;
# - govshare.audit_status() shows the records queued and the error;
# - the server, and another database's audit, keep working.
# When the file is removed the writer resumes by itself (its backoff is at
# most 30 s): every record queued lands once, the chain verifies.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use Time::HiRes qw(time usleep);

my $small = $ENV{GOVSHARE_FULL_DISK_DIR} // '';
if ($small eq '' || !-d $small || !-w $small)
{
	if ($ENV{GOVSHARE_FULL_DISK_REQUIRED})
	{
		fail('GOVSHARE_FULL_DISK_DIR names a mounted 16 MB tmpfs (scripts/test mounts one as root)');
		done_testing();
		exit;
	}
	plan skip_all => 'GOVSHARE_FULL_DISK_DIR names no small file system (scripts/test and scripts/runtap mount one as root)';
}
like(`df -k --output=size '$small' | tail -1`, qr/^\s*1[0-9]{4}\s*$/, "$small is a small file system (16 MB)");

my $node = audit_node('full_disk', q{govshare.audit_timeout = '3s'}, q{govshare.audit_queue_size = '128kB'});
sub sql { return $node->safe_psql(@_); }

mkdir "$small/ts" or die "mkdir $small/ts: $!";
my $setup = citizen_sql(rows => 10) . q{
CREATE ROLE mnd_app LOGIN;
CREATE ROLE mnd_async LOGIN;
ALTER ROLE mnd_async SET govshare.audit_mode = 'async';
SELECT bind_role('mnd_app', 'MND'), bind_role('mnd_async', 'MND');
GRANT SELECT ON citizen TO mnd_app, mnd_async;
};
sql('postgres', "CREATE TABLESPACE small LOCATION '$small/ts'");
sql('postgres', $setup);
sql('postgres', q{
ALTER TABLE govshare.access_log SET TABLESPACE small;
ALTER INDEX govshare.access_log_pkey SET TABLESPACE small;
ALTER INDEX govshare.access_log_statement SET TABLESPACE small;
ALTER INDEX govshare.access_log_subjects SET TABLESPACE small;
});
sql('postgres', 'CREATE DATABASE other');
sql('other', citizen_sql(rows => 10) . q{
SELECT bind_role('mnd_app', 'MND');
GRANT SELECT ON citizen TO mnd_app;
});
is(sql('postgres', q{SELECT count(*) FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
                     WHERE t.spcname = 'small' AND c.relnamespace = 'govshare'::regnamespace
                       AND c.relname IN ('access_log', 'access_log_pkey', 'access_log_statement', 'access_log_subjects')}),
	'4', 'the access log and its indexes are on the small disk');

# A consumer's read in $db as $role: (stdout, stderr).
sub read_as
{
	my ($db, $role, $mark) = @_;
	my ($ret, $out, $err) = $node->psql($db, qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service');
SELECT 'ROW:$mark:' || full_name FROM citizen LIMIT 1},
		extra_params => [ '-U', $role, '-v', 'VERBOSITY=verbose' ]);
	return ($out, $err);
}

my ($out, $err) = read_as('postgres', 'mnd_app', 'before');
like($out, qr/ROW:before:Citizen/, 'a strict read before the disk fills');

# fill the disk
open(my $fill, '>', "$small/filler") or die "filler: $!";
my $chunk = 'x' x 65536;
1 while print $fill $chunk;
close($fill);
note 'filled: ' . `df -k --output=avail '$small' | tail -1`;

# strict reads, until one fails: the log's last page may take a few rows
my $failed_at;
for my $i (1 .. 50)
{
	($out, $err) = read_as('postgres', 'mnd_app', "strict$i");
	if ($err =~ /ERROR/)
	{
		$failed_at = $i;
		last;
	}
}
ok($failed_at, "a strict read fails once the disk is full (read $failed_at)");
like($err, qr/ERROR:  53000: access to governed data by agency "MND" could not be recorded/,
	'... closed, with SQLSTATE 53000');
like($err, qr/DETAIL:  The audit writer \(process \d+\) has not committed the record within 3000 ms; its last error: could not extend file .*No space left on device/,
	'... its DETAIL names the writer\'s error: no space left on device');
unlike($err, qr/XX000/, '... never XX000');
unlike($out, qr/ROW:strict$failed_at:/, '... and no row is returned');

# A consumer's cursor, opened before the queue fills: its statement has
# started, and its record is queued when it ends.
my $k = $node->background_psql('postgres', on_error_stop => 0, extra_params => [ '-U', 'mnd_async' ]);
$k->query_safe(q{SET search_path = public, govshare});
$k->query_safe(q{SELECT govshare.begin_request('military_service')});
$k->query_safe(q{BEGIN});
$k->query_safe(q{DECLARE kept CURSOR FOR SELECT 'ROW:cursor:' || full_name FROM citizen});
like($k->query_safe(q{FETCH 1 FROM kept}), qr/ROW:cursor:Citizen/, 'a consumer\'s cursor is open');

# async: queued until the queue is full, then 53000 after audit_timeout
my $script_file = PostgreSQL::Test::Utils::tempdir . "/async.sql";
open(my $script, ">", $script_file) or die;
print $script "SET search_path = public, govshare;\nSELECT govshare.begin_request('military_service');\n";
print $script "SELECT 'ROW:async$_:' || full_name FROM citizen LIMIT 1;\n" for 1 .. 5000;
close($script);
my $started = time;
my ($ret, $async_out, $async_err) = $node->psql('postgres', '',
	extra_params => [ '-U', 'mnd_async', '-v', 'VERBOSITY=verbose', '-f', $script_file ]);
my $async_ok = () = $async_out =~ /ROW:async\d+:/g;
note sprintf('%d async reads in %.1f s before one failed', $async_ok, time - $started);
ok($async_ok >= 50 && $async_ok < 5000, "async reads go on while their records fit in the queue ($async_ok)");
like($async_err, qr/ERROR:  53000: the audit queue of database "postgres" is full/,
	'then an async read waits audit_timeout for room and fails (53000, queue full)');
like($async_err, qr/DETAIL:  The records of agency "MND" have filled its share of the queue/,
	'... naming the agency whose share is full');
unlike($async_err, qr/XX000/, '... never XX000');
unlike($async_out, qr/ROW:async@{[$async_ok + 1]}:/, '... before it returns a row');

# the cursor's transaction rolls back with the queue full: its record is
# queued in the abort path, in the room reserved when it started
my $log_at = -s $node->logfile;
$k->query(q{ROLLBACK});
unlike(slurp_file($node->logfile, $log_at), qr/could not be queued and is lost/,
	'the rolled-back cursor\'s record is not lost although the queue is full');
$k->{stderr} = '';
$k->query(q{SELECT govshare.audit_flush(1)});
unlike($k->{stderr}, qr/are lost/, '... and audit_flush() reports no loss');
$k->quit;

my ($queued, $bytes, $error) = split /\|/, sql('postgres',
	q{SELECT queued, queued_bytes, last_error FROM govshare.audit_status() WHERE database = 'postgres'});
ok($bytes > 48 * 1024, "audit_status() shows the agency's share of the queue (half of it) full ($queued records, $bytes bytes)");
like($error, qr/No space left on device/, '... and the writer\'s error');

# the server and the other database go on
is(sql('postgres', 'SELECT 1'), '1', 'the server answers');
($out, $err) = read_as('other', 'mnd_app', 'other');
like($out, qr/ROW:other:Citizen/, 'strict reads in another database are recorded and return rows');
is(sql('other', q{SELECT count(*) FROM govshare.access_log WHERE statement_text LIKE '%ROW:other:%'}), '1',
	'... and its log has the record');

# the writer's retries back off (100 ms, doubling to 30 s) although every
# statement waiting for room wakes it: it logs the first failure and then
# one at each 30 s retry, not one per wake-up
my $failures = () = slurp_file($node->logfile) =~ /govshare audit writer could not write/g;
cmp_ok($failures, '<=', 10, "the writer's failures are logged a few times, not at every wake-up ($failures)");

# space returns: the writer resumes by itself
unlink "$small/filler" or die "unlink: $!";
$started = time;
$node->poll_query_until('postgres',
	q{SELECT queued = 0 FROM govshare.audit_status() WHERE database = 'postgres'}, 't')
  or diag('the queue was not emptied');
note sprintf('the queue emptied %.1f s after the space returned', time - $started);
is(sql('postgres', q{SELECT queued || ' ' || coalesce(last_error, '') FROM govshare.audit_status() WHERE database = 'postgres'}),
	'0 ', 'the writer resumes without intervention and writes everything queued');
is(sql('postgres', q{SELECT count(DISTINCT statement_text) || ' ' || count(*)
                       FROM govshare.access_log WHERE kind = 'access' AND statement_text LIKE '%ROW:async%'}),
	"$async_ok $async_ok", "each async read that returned rows has its access record, once ($async_ok)");
is(sql('postgres', q{SELECT outcome || ' ' || coalesce(reason, '') FROM govshare.access_log
                     WHERE kind = 'access' AND statement_text LIKE '%ROW:cursor:%'}),
	'error the statement failed or was cancelled', 'the rolled-back cursor is recorded, outcome error');
is(sql('postgres', q{SELECT count(*) FROM govshare.access_log
                     WHERE kind = 'result' AND outcome = 'error'
                       AND statement_id = (SELECT statement_id FROM govshare.access_log
                                            WHERE kind = 'access' AND statement_text LIKE '%ROW:strict} . $failed_at . q{:%')}),
	'1', 'the strict read that failed is recorded, outcome error');
is(sql('postgres', q{SELECT ok::text || ' ' || coalesce(problem, '') FROM govshare.verify_log()}), 'true ',
	'the chain verifies');
($out, $err) = read_as('postgres', 'mnd_app', 'after');
like($out, qr/ROW:after:Citizen/, 'strict reads work again');

$node->stop;
done_testing();
