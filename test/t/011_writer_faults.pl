# test/t/011_writer_faults.pl — the audit writer when its log goes away.
#
# A database's extension is dropped while its writer has records to write
# (a consumer's statements, then DROP EXTENSION govshare CASCADE), ten
# times over: the writer discards what it cannot write with one LOG line
# that counts it, and never retries in a loop; a log renamed while the
# extension stays keeps the records queued and the writer retries with
# backoff, logging a bounded number of lines, and writes them when the
# name comes back; through all of this a fast shutdown finishes at once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use Time::HiRes qw(time usleep);

# a writer this test stopped goes on whatever happens
my $held;
END { kill('CONT', $held) if $held; }

my $node = audit_node('writer_faults', 'govshare.audit_timeout = 2s');
sub sql { return $node->safe_psql(@_); }

sql('postgres', q{CREATE ROLE mnd_app LOGIN; CREATE DATABASE f;});

# The extension and the consumer; async records wait in the queue for a
# while (the writer is not woken before the queue is a quarter full).
my $setup = 'DROP TABLE IF EXISTS citizen;' . citizen_sql(rows => 10) . q{
SELECT bind_role('mnd_app', 'MND');
GRANT SELECT ON citizen TO mnd_app;
ALTER ROLE mnd_app SET govshare.audit_mode = 'async';
};
my $reads = q{
SET search_path = public, govshare;
SELECT begin_request('military_service');
SELECT count(*) FROM citizen;
SELECT count(full_name) FROM citizen;
};

my $log_start = -s $node->logfile;

# Once with the writer held (SIGSTOP) while the reads queue and the
# extension is dropped, so that records are surely queued for a log that
# no longer exists when it goes on; then nine times at full speed.
sql('f', $setup);
$node->psql('f', $reads, extra_params => [ '-U', 'mnd_app' ]);
sql('f', 'SELECT govshare.audit_flush()');
my $writer = sql('f', q{SELECT coalesce(writer_pid, 0) FROM govshare.audit_status() WHERE database = 'f'});
ok($writer > 0, 'the database has an audit writer');
$held = $writer;
kill('STOP', $writer);
$node->psql('f', $reads, extra_params => [ '-U', 'mnd_app' ]);
sql('f', 'DROP EXTENSION govshare CASCADE');
kill('CONT', $writer);
sleep 1;
for my $round (2 .. 10)
{
	sql('f', $setup);
	$node->psql('f', $reads, extra_params => [ '-U', 'mnd_app' ]);
	sql('f', 'DROP EXTENSION govshare CASCADE');
}
# leave the writer time to spin, were it to
sleep 3;
my $log = slurp_file($node->logfile, $log_start);
my $failures = () = $log =~ /could not write \d+ access records/g;
ok($failures <= 20, "a dropped extension's writer does not retry in a loop ($failures failure lines)");
my $discards = () = $log =~ /access records \(\d+ bytes\) queued for database \d+, which no longer has govshare, were discarded/g;
ok($discards >= 1, "what was queued for a dropped extension is discarded and counted ($discards lines)");
unlike($log, qr/TRAP|PANIC|server process .* was terminated/, 'no crash');

# The extension back, and the log renamed under it: the records stay
# queued, the writer retries with backoff, and they land when the name is
# back; strict statements fail meanwhile instead of returning rows.
sql('f', $setup);
sql('f', q{ALTER ROLE mnd_app SET govshare.audit_mode = 'strict'});
$log_start = -s $node->logfile;
sql('f', 'ALTER TABLE govshare.access_log RENAME TO access_log_away');
my ($ret, $out, $err) = $node->psql('f', $reads, extra_params => [ '-U', 'mnd_app' ]);
like($err, qr/could not be recorded|audit/, 'a strict read fails while the log is missing');
unlike($out, qr/^10$/m, 'and returns no count');
sleep 4;
$log = slurp_file($node->logfile, $log_start);
$failures = () = $log =~ /could not write \d+ access records/g;
ok($failures >= 1 && $failures <= 5,
	"the writer logs its retries with backoff, not each attempt ($failures lines in 4 s)");
sql('f', 'ALTER TABLE govshare.access_log_away RENAME TO access_log');
my $landed = 0;
for (1 .. 100)
{
	$landed = sql('f', q{SELECT count(*) FROM govshare.access_log WHERE role_name = 'mnd_app'});
	last if $landed > 0;
	usleep(200_000);
}
ok($landed > 0, 'the queued records land once the log is back');
is(sql('f', 'SELECT (govshare.verify_log()).ok'), 't', 'and the chain verifies');

# Records queued, the log gone for good: a fast shutdown does not wait on
# a writer in a retry.
sql('f', 'ALTER TABLE govshare.access_log RENAME TO access_log_away');
$node->psql('f', $reads, extra_params => [ '-U', 'mnd_app' ]);
my $t0 = time;
$node->stop('fast');
my $took = time - $t0;
ok($took < 10, sprintf('a fast shutdown with a writer in retry takes %.1f s', $took));

done_testing();
