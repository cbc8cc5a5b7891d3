# test/t/040_standby.pl — audited reads on a hot standby.
#
# A primary and a streaming standby (init_from_backup, has_streaming).  On
# the standby a consumer reads under strict and async audit and is denied
# without a context: enforcement works from the replicated catalog, and
# every record reaches the primary's access log through the standby's
# forwarder and govshare.audit_submit(), with the standby's node name, in
# the primary's one chain.  Only a replication role in govshare_standby may
# submit: a consumer, and a member of govshare_standby without REPLICATION,
# are refused, and so is a malformed batch; one submission of a node runs
# at a time.  A standby refuses to spend a request token (only the primary
# can spend one once).  A batch the primary queued but could not confirm
# (its writer held back) is submitted again, and each record is in the log
# once; under load the forwarder pipelines its submissions, each record
# still once.  With the primary stopped, a strict read on the standby fails
# closed with the clear error and returns no row, while async reads go on
# and their records wait in the standby's queue; once the primary is back
# they arrive.  Finally the standby is promoted: its writer continues the
# replicated chain, and does not write again a record the old primary
# committed but the forwarder never heard confirmed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', join("\n",
	"shared_preload_libraries = 'govshare'",
	"govshare.audit_mode = 'strict'",
	"govshare.audit_timeout = '60s'", ''));
$primary->start;
$primary->safe_psql('postgres', q{
CREATE ROLE mnd_app LOGIN;
CREATE ROLE mnd_async LOGIN;
CREATE ROLE forwarder LOGIN REPLICATION;
CREATE ROLE not_a_standby LOGIN;
ALTER ROLE mnd_app SET govshare.audit_timeout = '3s';
ALTER ROLE mnd_async SET govshare.audit_mode = 'async';
CREATE DATABASE w;
});
$primary->safe_psql('w', citizen_sql(rows => 100) . q{
SELECT bind_role('mnd_app', 'MND'), bind_role('mnd_async', 'MND');
GRANT SELECT ON citizen TO mnd_app, mnd_async;
GRANT govshare_standby TO forwarder, not_a_standby;
CREATE TABLE test_key AS SELECT * FROM govshare.make_test_key();
SELECT add_agency_key('MND', public_key) FROM test_key;
});
$primary->backup('b');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', join("\n",
	"govshare.node_name = 'replica-hn1'",
	"govshare.standby_conninfo = 'host=" . $primary->host . ' port=' . $primary->port
	  . " user=forwarder'", ''));
$standby->start;
$primary->wait_for_catchup($standby);

# A consumer's read of citizens up to $k on $node, marked by $mark in its
# text; returns (exit code, rows as one string, stderr).
sub consumer
{
	my ($node, $role, $k, $mark) = @_;
	my ($rc, $out, $err) = $node->psql('w', qq{
SET search_path = public, govshare;
SELECT govshare.begin_request('military_service');
SELECT 'ROW:' || full_name FROM citizen /* $mark */ WHERE personal_id <= '0010901} . sprintf('%05d', $k) . q{'},
		extra_params => [ '-U', $role ]);
	return ($rc, join(',', $out =~ /ROW:(\S+ \d+)/g), $err);
}

# The records on $node of the statements whose text has $mark (result
# records name their statement by its id only): "kind/outcome/node ...".
sub records_sql
{
	my ($mark) = @_;
	return qq{
SELECT string_agg(kind || '/' || outcome || '/' || coalesce(detail->>'node', '-'), ' ' ORDER BY seq)
  FROM govshare.access_log
 WHERE statement_id IN (SELECT statement_id FROM govshare.access_log WHERE statement_text LIKE '%/* $mark */%')};
}

sub records
{
	my ($node, $mark) = @_;
	return $node->safe_psql('w', records_sql($mark));
}

sub chain_ok
{
	my ($node) = @_;
	return $node->safe_psql('w', q{
SELECT v.ok AND v.checked = c.n AND c.lo = 1 AND c.hi = c.n
  FROM govshare.verify_log() v, (SELECT count(*) n, min(seq) lo, max(seq) hi FROM govshare.access_log) c});
}

# Makes the forwarder connect to the primary anew (so that the primary's
# role settings of forwarder apply), and waits until a record went through
# the new connection: the next submission is a first try, not a retry.
my $reconnects = 0;

sub reconnect_forwarder
{
	$reconnects++;
	$primary->safe_psql('w', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE application_name = 'govshare audit forwarder'});
	my ($rc, $rows, $err) = consumer($standby, 'mnd_async', 1, "reconnect-$reconnects");
	die "read on the standby failed: $err" if $rc != 0;
	wait_records($primary, "reconnect-$reconnects", 'access/allowed/replica-hn1');
}

# Waits until $node's log has records with $mark as $want (up to three minutes).
sub wait_records
{
	my ($node, $mark, $want) = @_;
	$node->poll_query_until('w', "SELECT (" . records_sql($mark) . ") = '$want'")
	  or diag "records of $mark: " . records($node, $mark);
}

# --- reads on the standby, recorded on the primary ---
my ($rc, $rows, $err) = consumer($standby, 'mnd_app', 3, 'strict-1');
is($rc, 0, 'a strict read on the standby succeeds') or diag $err;
is($rows, 'Citizen 1,Citizen 2,Citizen 3', 'it returns the rows');
like(records($primary, 'strict-1'), qr{^access/allowed/replica-hn1( |$)},
	'its access record was on the primary, with the node, before a row left');
wait_records($primary, 'strict-1', 'access/allowed/replica-hn1 result/allowed/replica-hn1');
is(records($primary, 'strict-1'), 'access/allowed/replica-hn1 result/allowed/replica-hn1',
	'its result record follows');
is($primary->safe_psql('w', q{SELECT rows || ' ' || (subject_count >= 3 AND subjects @> '{001090100002}') FROM govshare.access_log
  WHERE kind = 'result' AND statement_id IN (SELECT statement_id FROM govshare.access_log
                                              WHERE statement_text LIKE '%/* strict-1 */%')}), '3 true',
	'with the rows and data subjects the standby saw');

($rc, $rows, $err) = consumer($standby, 'mnd_async', 2, 'async-1');
is($rc, 0, 'an async read on the standby succeeds') or diag $err;
is($rows, 'Citizen 1,Citizen 2', 'it returns the rows');
wait_records($primary, 'async-1', 'access/allowed/replica-hn1');
is(records($primary, 'async-1'), 'access/allowed/replica-hn1', 'its record reaches the primary');

($rc, $rows, $err) = $standby->psql('w',
	q{SELECT full_name FROM public.citizen /* denied-1 */ LIMIT 1},
	extra_params => [ '-U', 'mnd_app' ]);
like($err, qr/ERROR:.*request context|ERROR:.*purpose/i,
	'the standby enforces from the replicated catalog: no context, no read');
is($rows, '', 'and nothing is returned');
wait_records($primary, 'denied-1', 'access/denied/replica-hn1');
is(records($primary, 'denied-1'), 'access/denied/replica-hn1', 'the denial is recorded on the primary');
is($primary->safe_psql('w', q{SELECT count(*) FROM govshare.access_log
  WHERE statement_id IN (SELECT statement_id FROM govshare.access_log
                          WHERE statement_text ~ '/\* (strict|async|denied)-1 \*/')}), '4',
	'each record once');
is(chain_ok($primary), 't', "the primary's chain verifies");

# --- request tokens are spent on the primary only ---
# (a standby sees the primary's uses late and other standbys' never)
my $token = $primary->safe_psql('w', q{
SELECT govshare.sign_request_token(private_key, 'MND', 'military_service', 'Officer A') FROM test_key});
($rc, $rows, $err) = $standby->psql('w', qq{
SELECT govshare.begin_request_signed('$token');
SELECT 'ROW:' || full_name FROM public.citizen /* signed-1 */ LIMIT 1},
	extra_params => [ '-U', 'mnd_app', '-v', 'ON_ERROR_STOP=1' ]);
like($err, qr/a request token cannot be spent on a hot standby\nDETAIL:  .*only on the primary/,
	'a standby refuses a signed request, whose token only the primary can spend once');
is($rows, '', 'and nothing is returned');
($rc, $rows, $err) = $primary->psql('w', qq{
SET search_path = public, govshare;
SELECT govshare.begin_request_signed('$token');
SELECT 'ROW:' || full_name FROM public.citizen /* signed-2 */ WHERE personal_id = '001090100001'},
	extra_params => [ '-U', 'mnd_app', '-v', 'ON_ERROR_STOP=1' ]);
is($rc, 0, 'the token refused on the standby was not spent: the primary takes it') or diag $err;
is(join(',', $rows =~ /ROW:(\S+ \d+)/g), 'Citizen 1', 'and returns the row');

# --- who may submit ---
($rc, $rows, $err) = $primary->psql('w', q{SELECT govshare.audit_submit('forged', '\x')},
	extra_params => [ '-U', 'mnd_app' ]);
like($err, qr/permission denied for function audit_submit/, 'a consumer cannot submit records');
($rc, $rows, $err) = $primary->psql('w', q{SELECT govshare.audit_submit('forged', '\x')},
	extra_params => [ '-U', 'not_a_standby' ]);
like($err, qr/permission denied to submit access records.*\n.*does not have the REPLICATION attribute/,
	'nor a member of govshare_standby without REPLICATION');
($rc, $rows, $err) = $primary->psql('w',
	q{SELECT govshare.audit_submit('forged', '\x0000000453000000')},
	extra_params => [ '-U', 'forwarder' ]);
like($err, qr/access record 1 submitted by node "forged" is malformed/, 'a malformed record is refused');
($rc, $rows, $err) = $primary->psql('w',
	q{SELECT govshare.audit_submit('forged', '\x00000100')},
	extra_params => [ '-U', 'forwarder' ]);
like($err, qr/is truncated/, 'so is a truncated batch');
($rc, $rows, $err) = $primary->psql('w',
	q{SELECT govshare.audit_submit('bad name!', '\x')},
	extra_params => [ '-U', 'forwarder' ]);
like($err, qr/invalid node name/, 'and a node name that is not one');
($rc, $rows, $err) = $standby->psql('w', q{SELECT govshare.audit_submit('x', '\x')});
like($err, qr/cannot be submitted to a standby/, 'a standby takes no records');
is($primary->safe_psql('w', q{SELECT count(*) FROM govshare.access_log WHERE detail->>'node' = 'forged'}),
	'0', 'no forged record is in the log');

# one submission of a node at a time: an open one holds the node's lock
my $holder = $primary->background_psql('w', extra_params => [ '-U', 'forwarder' ]);
$holder->query_safe(q{BEGIN; SELECT govshare.audit_submit('held', '\x')});
($rc, $rows, $err) = $primary->psql('w', q{SELECT govshare.audit_submit('held', '\x', true)},
	extra_params => [ '-U', 'forwarder' ]);
like($err, qr/access records of node "held" are being submitted already/,
	'a second submission of a node is refused while the first is open');
$holder->query_safe('COMMIT');
$holder->quit;

# --- a batch the primary queued but could not confirm is recorded once ---
# The primary's writer is held back (a lock on its log) and the forwarder's
# audit_timeout there is 1 s: audit_submit queues the standby's records,
# cannot confirm them in time and fails; the forwarder submits them again,
# and again, until the writer is free.  Each record is in the log once.
$primary->safe_psql('postgres', q{ALTER ROLE forwarder SET govshare.audit_timeout = '1s'});
reconnect_forwarder();
my $locker = $primary->background_psql('w');
$locker->query_safe('BEGIN; LOCK govshare.access_log IN SHARE MODE');
for my $i (1 .. 3)
{
	($rc, $rows, $err) = consumer($standby, 'mnd_async', 1, "again-$i");
	is($rc, 0, "async read $i with the primary's writer held back") or diag $err;
}
ok($standby->poll_query_until('w', q{SELECT last_error LIKE '%queued before them are not committed%'
  FROM govshare.audit_status() WHERE database = 'w'}),
	'the forwarder submitted the records again while the first submission was still queued');
$locker->query_safe('COMMIT');
$locker->quit;
wait_records($primary, "again-$_", 'access/allowed/replica-hn1') for 1 .. 3;
$standby->poll_query_until('w', q{SELECT queued = 0 FROM govshare.audit_status() WHERE database = 'w'})
  or diag 'the standby still has records queued';
is(records($primary, "again-$_"), 'access/allowed/replica-hn1', "record $_ is in the log once")
  for 1 .. 3;
$primary->safe_psql('postgres', q{ALTER ROLE forwarder RESET govshare.audit_timeout});
is(chain_ok($primary), 't', "the primary's chain verifies");

# --- under load the forwarder pipelines its submissions ---
# (the primary checks and queues a batch while its writer commits the one
# before): with the primary's writer held back, one read's record is
# submitted and waits there; forty more pile up in the standby's queue
# meanwhile, and once the writer is free they go in batches of 32 or more
$locker = $primary->background_psql('w');
$locker->query_safe('BEGIN; LOCK govshare.access_log IN SHARE MODE');
($rc, $rows, $err) = consumer($standby, 'mnd_async', 1, 'burst-0');
is($rc, 0, "an async read on the standby while the primary's writer is held back") or diag $err;
ok($primary->poll_query_until('w', q{SELECT count(*) = 1 FROM pg_stat_activity
  WHERE application_name = 'govshare audit forwarder' AND wait_event_type = 'Extension'}),
	"its record's submission waits for the primary's writer");
($rc, $rows, $err) = $standby->psql('w', "SET search_path = public, govshare;\n"
	  . "SELECT govshare.begin_request('military_service');\n"
	  . join('', map { "SELECT full_name FROM citizen /* burst-$_ */ LIMIT 1;\n" } 1 .. 40),
	extra_params => [ '-U', 'mnd_async', '-v', 'ON_ERROR_STOP=1' ]);
is($rc, 0, 'forty more async reads meanwhile') or diag $err;
$locker->query_safe('COMMIT');
$locker->quit;
$primary->poll_query_until('w', q{SELECT count(*) >= 41 FROM govshare.access_log WHERE statement_text LIKE '%/* burst-%'})
  or diag 'the burst did not arrive';
$standby->poll_query_until('w', q{SELECT queued = 0 FROM govshare.audit_status() WHERE database = 'w'})
  or diag 'the standby still has records queued';
is($primary->safe_psql('w', q{SELECT count(*) || ' ' || count(DISTINCT statement_id) FROM govshare.access_log
  WHERE statement_text LIKE '%/* burst-%'}), '41 41', 'each of them is in the log once');
like(slurp_file($primary->logfile), qr/audit_submit\(\$1, \$2, \$3, \$4\)\n.*DETAIL:  [Pp]arameters: .*\$4 = 't'/,
	'the forwarder submitted them pipelined');
is(chain_ok($primary), 't', "the primary's chain verifies");

# --- the primary stopped ---
my $before = $primary->safe_psql('w', 'SELECT max(seq) FROM govshare.access_log');
$primary->stop;
($rc, $rows, $err) = consumer($standby, 'mnd_app', 3, 'strict-down');
isnt($rc, 0, 'with the primary stopped, a strict read on the standby fails');
is($rows, '', 'it returns no row');
like($err, qr/could not be recorded/, 'with the clear error');
like($err, qr/DETAIL:.*could not connect to the primary/, 'saying that the primary cannot be reached');
for my $i (1 .. 3)
{
	($rc, $rows, $err) = consumer($standby, 'mnd_async', 1, "async-down-$i");
	is($rc, 0, "async read $i on the standby goes on") or diag $err;
	is($rows, 'Citizen 1', "async read $i returns its row");
}
ok($standby->safe_psql('w', q{SELECT queued FROM govshare.audit_status() WHERE database = 'w'}) >= 3,
	"the standby's queue holds the async records");
$primary->start;
wait_records($primary, "async-down-$_", 'access/allowed/replica-hn1') for 1 .. 3;
is(records($primary, "async-down-$_"), 'access/allowed/replica-hn1',
	"async record $_ caught up after the restart") for 1 .. 3;
wait_records($primary, 'strict-down', 'access/allowed/replica-hn1 result/error/replica-hn1');
is(records($primary, 'strict-down'), 'access/allowed/replica-hn1 result/error/replica-hn1',
	'the failed strict read is recorded too, as an error');
ok($primary->safe_psql('w', 'SELECT min(seq) FROM govshare.access_log WHERE seq > ' . $before)
	  == $before + 1, 'the chain continues without a gap');
is(chain_ok($primary), 't', "the primary's chain verifies after the outage");

# --- promotion ---
($rc, $rows, $err) = consumer($standby, 'mnd_app', 1, 'strict-before-promotion');
is($rc, 0, 'a strict read before the promotion') or diag $err;
# records the old primary commits (and the standby replays) but the
# forwarder never hears confirmed: the primary's writer held back and a 1 s
# audit_timeout for the forwarder there make its call fail after queueing
# them; then a session holds the node's submission lock, so that no later
# call gets through, and the writer is let go
$primary->safe_psql('postgres', q{ALTER ROLE forwarder SET govshare.audit_timeout = '1s'});
reconnect_forwarder();
$locker = $primary->background_psql('w');
$locker->query_safe('BEGIN; LOCK govshare.access_log IN SHARE MODE');
for my $i (1 .. 3)
{
	($rc, $rows, $err) = consumer($standby, 'mnd_async', 1, "flight-$i");
	is($rc, 0, "async read $i before the promotion, the primary's writer held back") or diag $err;
}
$standby->poll_query_until('w', q{SELECT last_error LIKE '%could not be recorded%'
  FROM govshare.audit_status() WHERE database = 'w'})
  or diag 'the forwarder did not fail';
my $node_lock = $primary->background_psql('w', extra_params => [ '-U', 'forwarder' ], on_error_stop => 0);
my $held_lock = 0;
for (1 .. 100)
{
	my $out = $node_lock->query(q{BEGIN; SELECT 'held ' || govshare.audit_submit('replica-hn1', '\x')});
	if ($out =~ /held/) { $held_lock = 1; last; }
	$node_lock->query('ROLLBACK');
	usleep(100_000);
}
ok($held_lock, "a session holds the node's submission lock");
$locker->query_safe('COMMIT');
$locker->quit;
# (the forwarder's first call took the first read's record, maybe more;
# its retries, which wait for what is queued first, queue nothing more)
$standby->poll_query_until('w', q{SELECT count(*) = 1 FROM govshare.access_log WHERE statement_text LIKE '%/* flight-1 */%'})
  or diag 'the standby did not replay the record';
is($standby->safe_psql('w', q{SELECT queued >= 3 FROM govshare.audit_status() WHERE database = 'w'}), 't',
	"the first record is committed on the primary, replayed, and still unconfirmed in the standby's queue");
$primary->wait_for_catchup($standby);
my $last = $primary->safe_psql('w', 'SELECT max(seq) FROM govshare.access_log');
eval { $node_lock->quit; };
$primary->stop;
$standby->promote;
$standby->poll_query_until('w', 'SELECT NOT pg_is_in_recovery()')
  or die 'timed out waiting for the server';
# (it may have written records still queued for the old primary since)
is($standby->safe_psql('w', "SELECT count(*) FROM govshare.access_log WHERE seq <= $last"), $last,
	'the promoted standby has the replicated log');
($rc, $rows, $err) = consumer($standby, 'mnd_app', 2, 'strict-promoted');
is($rc, 0, 'a strict read on the promoted standby succeeds') or diag $err;
is($rows, 'Citizen 1,Citizen 2', 'it returns the rows');
like(records($standby, 'strict-promoted'), qr{^access/allowed/-( |$)},
	'its record is written by its own writer, without a node (served where written)');
is($standby->safe_psql('w', "SELECT min(seq) FROM govshare.access_log WHERE seq > $last"),
	$last + 1, 'the chain continues after the replicated tail');
$standby->poll_query_until('w', q{SELECT queued = 0 FROM govshare.audit_status() WHERE database = 'w'})
  or diag 'the promoted standby still has records queued';
is(records($standby, 'flight-1'), 'access/allowed/replica-hn1',
	'the record the old primary committed, unconfirmed, is not written again after the promotion');
# (the later reads' records went with the first call, or never reached the
# old primary and are the new writer's own: once either way)
like(records($standby, "flight-$_"), qr{^access/allowed/(replica-hn1|-)$}, "record $_ is in the log once")
  for 2 .. 3;
is(chain_ok($standby), 't', 'and verifies as one chain');
is($standby->safe_psql('w',
	q{SELECT string_agg(DISTINCT backend_type, ',') FROM pg_stat_activity WHERE backend_type LIKE 'govshare%'}),
	'govshare audit writer', 'the forwarder has handed over to the writer');

done_testing();
