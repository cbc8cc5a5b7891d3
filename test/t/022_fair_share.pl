# test/t/022_fair_share.pl — one agency's flood of the audit queue does not
# starve other agencies.
#
# Eight sessions of the Ministry of National Defence (MND) read under
# async audit with 3 kB statement texts, as fast as they can, into a
# 128 kB audit queue, while the writer is stopped (SIGSTOP): MND's records
# fill its share, half the queue, and its sessions wait.  The Ministry of
# Finance (MOF) still finds room: its async read returns at once.  With
# the writer going on again and the flood still running, MOF's strict
# reads complete well within govshare.audit_timeout.  Then the flood is
# stopped, everything queued lands, the chain verifies.
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

my $node = audit_node('fair_share', q{govshare.audit_queue_size = '128kB'},
	q{govshare.audit_text_budget = '100MB'}, 'max_connections = 40', 'log_statement = none');
sub sql { return $node->safe_psql('postgres', shift); }
sql(citizen_sql(rows => 10) . q{
SELECT add_agency('MOF', 'Ministry of Finance'),
       add_purpose('tax_administration', 'Tax administration', 'Law 38/2019/QH14');
SELECT share('MOF', '{tax_administration}', '{person.personal_id, person.full_name}', 'full');
CREATE ROLE mnd_flood LOGIN;
CREATE ROLE mof_app LOGIN;
CREATE ROLE mof_async LOGIN;
SELECT bind_role('mnd_flood', 'MND'), bind_role('mof_app', 'MOF'), bind_role('mof_async', 'MOF');
GRANT SELECT ON citizen TO mnd_flood, mof_app, mof_async;
ALTER ROLE mnd_flood SET govshare.audit_mode = 'async';
ALTER ROLE mnd_flood SET govshare.audit_timeout = '120s';
ALTER ROLE mof_async SET govshare.audit_mode = 'async';
ALTER ROLE mof_app SET govshare.audit_timeout = '5s';
ALTER ROLE mof_async SET govshare.audit_timeout = '5s';
});

# A read as $role for $purpose, its text as long as a flooding one's
# (so that it cannot slip into what room the flood leaves): (stdout,
# stderr, seconds).
my $long = '/* ' . ('y' x 3500) . ' */';
sub read_as
{
	my ($role, $purpose, $mark) = @_;
	my $start = time;
	my ($ret, $out, $err) = $node->psql('postgres', qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('$purpose');
SELECT 'ROW:$mark:' || full_name $long FROM citizen LIMIT 1},
		extra_params => [ '-U', $role, '-v', 'VERBOSITY=verbose' ]);
	return ($out, $err, time - $start);
}

my ($out, $err, $took) = read_as('mof_app', 'tax_administration', 'warm');
like($out, qr/ROW:warm:/, 'MOF reads under strict audit');
my $writer = sql(q{SELECT writer_pid FROM govshare.audit_status() WHERE database = 'postgres'});
kill('STOP', $writer);
$held = $writer;

# the flood: 8 sessions, 3 kB texts
my $dir = PostgreSQL::Test::Utils::tempdir;
my $comment = '/* ' . ('x' x 3000) . ' */';
open(my $fh, '>', "$dir/flood.sql") or die;
print $fh "SET search_path = public, govshare;\nSELECT govshare.begin_request('military_service');\n";
print $fh "SELECT 'FLOOD' || full_name $comment FROM citizen LIMIT 1;\n" for 1 .. 3000;
close($fh);
my @flood;
for my $i (1 .. 8)
{
	push @flood, IPC::Run::start(
		[ 'psql', '-X', '-q', '-A', '-t', '-d', $node->connstr('postgres') . ' user=mnd_flood',
		  '-f', "$dir/flood.sql" ],
		'<', \undef, '>', '/dev/null', '2>', "$dir/flood$i.err");
}
# until every flooding session waits for room
my $waiting = 0;
for (1 .. 300)
{
	$waiting = sql(q{SELECT count(*) FROM pg_stat_activity
	                  WHERE usename = 'mnd_flood' AND wait_event_type = 'Extension'});
	last if $waiting == 8;
	usleep(100_000);
}
is($waiting, 8, 'the eight flooding sessions of MND wait for room in the queue');
my ($queued, $bytes) = split /\|/, sql(q{SELECT queued, queued_bytes FROM govshare.audit_status()
                                          WHERE database = 'postgres'});
ok($bytes <= 64 * 1024, "MND's records fill at most half the 128 kB queue ($queued records, $bytes bytes)");

($out, $err, $took) = read_as('mof_async', 'tax_administration', 'mof_async');
like($out, qr/ROW:mof_async:Citizen/, 'MOF\'s async read finds room in the queue while MND floods it');
ok($took < 4, sprintf('... at once (%.1f s), not after waiting for the writer', $took));
is($err, '', '... without an error');

kill('CONT', $writer);
undef $held;
my ($worst, $failed) = (0, 0);
for my $i (1 .. 10)
{
	($out, $err, $took) = read_as('mof_app', 'tax_administration', "mof$i");
	$failed++ unless $out =~ /ROW:mof$i:Citizen/;
	diag($err) if $err;
	$worst = $took if $took > $worst;
}
my $flooding = grep { $_->pumpable } @flood;
is($failed, 0, sprintf('with the writer going and %d flooding sessions, MOF\'s ten strict reads complete (slowest %.1f s, audit_timeout 5 s)',
	$flooding, $worst));
ok($flooding > 0, '... while the flood still runs');

$_->kill_kill for @flood;
sql(q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mnd_flood'});
$node->poll_query_until('postgres',
	q{SELECT queued = 0 FROM govshare.audit_status() WHERE database = 'postgres'}, 't')
  or die 'timed out waiting for the server';
is(sql(q{SELECT count(*) FROM govshare.access_log l WHERE l.kind = 'access' AND l.agency = 'MOF'
          AND l.statement_text ~ 'ROW:(mof[0-9]+|mof_async|warm):'}), '12', 'MOF\'s twelve reads are recorded');
is(sql(q{SELECT ok::text || ' ' || coalesce(problem, '') FROM govshare.verify_log()}), 'true ',
	'the chain verifies');

$node->stop;
done_testing();
