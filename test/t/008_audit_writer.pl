# test/t/008_audit_writer.pl — the audit writer stopped, killed, restarted.
#
# With the writer stopped (SIGSTOP), a strict consumer statement fails
# after govshare.audit_timeout with "could not be recorded" and returns no
# row, while async statements go on and their records wait in the queue;
# when the writer continues, everything queued lands, the failed statement
# with outcome 'error'.  A terminated writer is replaced by the next
# statement that needs one; one sent SIGTERM (shutdown, pg_terminate_backend)
# writes what is queued before it exits, so a clean shutdown loses nothing.
# The chain continues across all this and across a server restart.
# DROP DATABASE stops the writer of the database it drops.  The log's new
# pages take at most the writer's ring of shared buffers.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('audit_writer');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'\n");
$node->start;

# processes this test stopped, to continue whatever happens
my %stopped;
END { kill('CONT', $_) for keys %stopped; }

sub sql { return $node->safe_psql(@_); }

my $setup = citizen_sql(rows => 100) . q{
SELECT bind_role('mnd_app', 'MND'), bind_role('mnd_async', 'MND');
GRANT SELECT ON citizen TO mnd_app, mnd_async;
};
sql('postgres', q{
CREATE ROLE mnd_app LOGIN;
CREATE ROLE mnd_async LOGIN;
ALTER ROLE mnd_app SET govshare.audit_timeout = '1s';
ALTER ROLE mnd_async SET govshare.audit_mode = 'async';
CREATE DATABASE w;
});
sql('w', $setup);

# A consumer's read of the first $k citizens; each row comes out as "ROW:name".
sub consumer
{
	my ($role, $db, $k) = @_;
	return $node->psql($db, qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service');
SELECT 'ROW:' || full_name FROM citizen WHERE personal_id <= '0010901} . sprintf('%05d', $k) . q{'},
		extra_params => [ '-U', $role ]);
}

sub writer_pid
{
	my ($db) = @_;
	return sql($db, "SELECT coalesce(writer_pid, 0) FROM govshare.audit_status() WHERE database = '$db'");
}
sub log_count { return sql($_[0], 'SELECT count(*) FROM govshare.access_log'); }
sub queued { return sql($_[0], "SELECT queued FROM govshare.audit_status() WHERE database = '$_[0]'"); }
sub chain_ok
{
	my ($db) = @_;
	return sql($db, q{SELECT v.ok AND v.checked = c.n AND c.lo = 1 AND c.hi = c.n
  FROM govshare.verify_log() v, (SELECT count(*) n, min(seq) lo, max(seq) hi FROM govshare.access_log) c});
}

# Stops the writer while it waits on its latch (so it holds no lock).
sub stop_writer
{
	my ($pid) = @_;
	for (1 .. 200)
	{
		kill('STOP', $pid) or die "cannot stop $pid: $!";
		$stopped{$pid} = 1;
		return if sql('postgres', "SELECT wait_event_type = 'Extension' AND state = 'idle'
  FROM pg_stat_activity WHERE pid = $pid") eq 't';
		kill('CONT', $pid);
		delete $stopped{$pid};
		usleep(50_000);
	}
	die "could not stop the writer $pid while it waits";
}
sub cont_writer
{
	my ($pid) = @_;
	kill('CONT', $pid);
	delete $stopped{$pid};
}

my ($ret, $out, $err) = consumer('mnd_app', 'w', 2);
is($ret, 0, 'a strict consumer read works') or diag($err);
my $pid1 = writer_pid('w');
ok($pid1 > 0, 'the database has an audit writer');
is(sql('w', "SELECT backend_type FROM pg_stat_activity WHERE pid = $pid1"), 'govshare audit writer',
	'... a background worker "govshare audit writer"');
ok($node->poll_query_until('w', 'SELECT count(*) = 2 FROM govshare.access_log'),
	'its access and result rows are written');

# the writer stopped
stop_writer($pid1);
my $before = log_count('w');
($ret, $out, $err) = consumer('mnd_app', 'w', 3);
isnt($ret, 0, 'writer stopped: a strict read fails');
like($err, qr/access to governed data by agency "MND" could not be recorded/, '... as it could not be recorded');
like($err, qr/DETAIL:  The audit writer \(process $pid1\) has not committed the record within 1000 ms/,
	'... the DETAIL names the writer that has not committed');
unlike($out, qr/ROW:/, '... and no row leaves');

for my $i (1 .. 3)
{
	($ret, $out, $err) = consumer('mnd_async', 'w', 3);
	is($ret, 0, "writer stopped: async read $i goes on") or diag($err);
	is(scalar(() = $out =~ /ROW:/g), 3, '... with its rows');
}
is(log_count('w'), $before, 'nothing is written while the writer is stopped');
is(queued('w'), 5, 'five records wait in the queue (the failed strict read\'s two, three async)');

cont_writer($pid1);
ok($node->poll_query_until('w', "SELECT count(*) = $before + 5 FROM govshare.access_log"),
	'writer continued: the queued records land');
is(sql('w', q{SELECT outcome || ' ' || reason || ' ' || coalesce(rows::text, 'null')
  FROM govshare.audit_access WHERE role_name = 'mnd_app' ORDER BY seq DESC LIMIT 1}),
	'error the access record could not be made durable 0',
	'the failed strict read is recorded with outcome error and why');
is(sql('w', q{SELECT count(*) FROM govshare.audit_access
  WHERE role_name = 'mnd_async' AND outcome = 'allowed' AND rows = 3 AND subject_count = 3}),
	'3', 'the async reads are recorded with their rows and subjects');
is(chain_ok('w'), 't', 'the chain verifies, seq 1 to the end without a gap');
is(queued('w'), 0, 'the queue is empty');

# the writer terminated while idle
is(sql('w', "SELECT pg_terminate_backend($pid1)"), 't', 'the writer is terminated');
ok($node->poll_query_until('w', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid1"),
	'... and exits');
is(writer_pid('w'), 0, 'the database has no writer');
sql('postgres', "ALTER ROLE mnd_app SET govshare.audit_timeout = '60s'");
$before = log_count('w');
($ret, $out, $err) = consumer('mnd_app', 'w', 4);
is($ret, 0, 'the next strict read succeeds') or diag($err);
is(scalar(() = $out =~ /ROW:/g), 4, '... with its rows');
my $pid2 = writer_pid('w');
ok($pid2 > 0 && $pid2 != $pid1, 'it started a new writer');
ok($node->poll_query_until('w', "SELECT count(*) = $before + 2 FROM govshare.access_log"),
	'its records are written');
is(chain_ok('w'), 't', 'the chain continues: it verifies, seq without a gap');

# the writer sent SIGTERM with records queued: it writes them, then exits
stop_writer($pid2);
$before = log_count('w');
($ret, $out, $err) = consumer('mnd_async', 'w', 5);
is($ret, 0, 'an async read while the writer is stopped') or diag($err);
is(queued('w'), 1, '... leaves its record queued');
kill('TERM', $pid2);
cont_writer($pid2);
ok($node->poll_query_until('w', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid2"),
	'the writer, sent SIGTERM, exits');
is(writer_pid('w') . ' ' . queued('w') . ' ' . log_count('w'), '0 0 ' . ($before + 1),
	'... after writing the queued record: none is left, and no writer runs');
$before = log_count('w');
($ret, $out, $err) = consumer('mnd_app', 'w', 6);
is($ret, 0, 'the next strict read succeeds') or diag($err);
my $pid3 = writer_pid('w');
ok($pid3 > 0 && $pid3 != $pid2, '... with a new writer');
ok($node->poll_query_until('w', "SELECT count(*) = $before + 2 FROM govshare.access_log"),
	'the new read\'s records are written');
is(sql('w', q{SELECT count(*) FROM govshare.audit_access WHERE role_name = 'mnd_async' AND rows = 5}),
	'1', 'the left record is there');
is(chain_ok('w'), 't', 'the chain verifies, seq without a gap');

# a clean restart with everything written
ok($node->poll_query_until('w', "SELECT queued = 0 FROM govshare.audit_status() WHERE database = 'w'"),
	'nothing is queued before the restart');
my $last = sql('w', 'SELECT max(seq) FROM govshare.access_log');
$node->restart;
($ret, $out, $err) = consumer('mnd_app', 'w', 7);
is($ret, 0, 'after a restart a strict read succeeds') or diag($err);
ok($node->poll_query_until('w', "SELECT count(*) = $last + 2 FROM govshare.access_log"),
	'its records are written');
is(sql('w', "SELECT min(seq) FROM govshare.access_log WHERE seq > $last AND role_name = 'mnd_app'"),
	$last + 1, 'the chain resumes at the next seq');
is(sql('w', "SELECT a.hash = b.prev_hash FROM govshare.access_log a, govshare.access_log b
  WHERE a.seq = $last AND b.seq = $last + 1"), 't', '... from the hash of the last row');
is(chain_ok('w'), 't', 'the chain verifies across the restart');

# a clean shutdown while async records wait for the writer
my $pid4 = writer_pid('w');
stop_writer($pid4);
$before = log_count('w');
for my $i (1 .. 2)
{
	($ret, $out, $err) = consumer('mnd_async', 'w', 8);
	is($ret, 0, "an async read $i returns its rows while the writer is stopped") or diag($err);
}
is(queued('w'), 2, '... and its record waits in the queue');
my $offset = -s $node->logfile;
my ($sout, $serr) = ('', '');
my $stopper = IPC::Run::start([ 'pg_ctl', '-D', $node->data_dir, '-m', 'fast', '-w', 'stop' ],
	'>', \$sout, '2>', \$serr);
$node->wait_for_log(qr/received fast shutdown request/, $offset);
cont_writer($pid4);
ok($stopper->finish, 'the server shuts down (fast) cleanly') or diag($serr);
$node->_update_pid(0);
$node->start;
is(log_count('w'), $before + 2,
	'after a clean shutdown the async records that were queued are in the log (not lost)')
  or diag('lost: ' . ($before + 2 - log_count('w')) . " records; server log:\n"
	  . join('', grep { /govshare|worker|shutdown/ } split(/^/m, slurp_file($node->logfile, $offset))));
$last = sql('w', 'SELECT max(seq) FROM govshare.access_log');
($ret, $out, $err) = consumer('mnd_app', 'w', 9);
is($ret, 0, 'after that restart a strict read succeeds') or diag($err);
ok($node->poll_query_until('w', "SELECT max(seq) = $last + 2 FROM govshare.access_log"),
	'the chain resumes at the next seq');
is(chain_ok('w'), 't', 'the chain verifies');

# DROP DATABASE of a database whose writer runs
sql('postgres', 'CREATE DATABASE dropme');
sql('dropme', $setup);
($ret, $out, $err) = consumer('mnd_app', 'dropme', 2);
is($ret, 0, 'a strict read in another database') or diag($err);
my $dpid = writer_pid('dropme');
ok($dpid > 0 && $dpid != writer_pid('w'), '... has a writer of its own');
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE dropme');
is($ret, 0, 'DROP DATABASE of a database whose writer runs works') or diag($err);
is(sql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $dpid"), '0', '... its writer has exited');
is(sql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'dropme'"), '0', '... the database is gone');
is(sql('w', 'SELECT string_agg(database, \',\') FROM govshare.audit_status()'), 'w',
	'... and its audit queue is free');
($ret, $out, $err) = consumer('mnd_app', 'w', 3);
is($ret, 0, 'the other database records on') or diag($err);
is(chain_ok('w'), 't', '... and its chain verifies');

# The writer's heap insertions go through one ring of buffers, kept from
# batch to batch (writer.c): however long the log grows, its new heap pages
# take at most the ring's 16 MB (2,048 buffers) of the shared pool, rather
# than a buffer per page written that pushes out the pages consumers read.
sql('w', 'CREATE EXTENSION pg_buffercache');
my $pages0 = sql('w', "SELECT pg_relation_size('govshare.access_log') / 8192");
($ret, $out, $err) = $node->psql('w', q{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service');
DO $$ BEGIN
	FOR i IN 1 .. 50000 LOOP
		PERFORM full_name FROM citizen WHERE personal_id = '001090100001';
	END LOOP;
END $$;}, extra_params => [ '-U', 'mnd_async' ]);
is($ret, 0, '50,000 async reads in a loop') or diag($err);
ok($node->poll_query_until('w',
	"SELECT coalesce(sum(queued), 0) = 0 FROM govshare.audit_status() WHERE database = 'w'"),
	'... are all written');
my ($grown, $buffered) = split /\|/, sql('w', qq{
SELECT pg_relation_size('govshare.access_log') / 8192 - $pages0,
       (SELECT count(*) FROM pg_buffercache
         WHERE relfilenode = pg_relation_filenode('govshare.access_log') AND relforknumber = 0
           AND reldatabase = (SELECT oid FROM pg_database WHERE datname = 'w')
           AND relblocknumber >= $pages0)});
cmp_ok($grown, '>', 3000, "the log's heap grew by more pages than the ring holds ($grown)");
cmp_ok($buffered, '<=', 2048, "... and at most the ring's 2,048 of them are in shared buffers ($buffered)");
is(chain_ok('w'), 't', '... and the chain verifies');

$node->stop;
done_testing();
