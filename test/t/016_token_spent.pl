# test/t/016_token_spent.pl — a request token is spent when it is presented,
# for good: whether the transaction that presented it commits or rolls
# back, whether its backend is killed once it has read, whether the server
# restarts or crashes; of two sessions presenting one token at once,
# exactly one passes; and nothing governed is read under a token before
# its use is durable.
#
# Tokens are minted in SQL (govshare.make_test_key, sign_request_token) and
# presented by a real login bound to the consumer agency.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('spent');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'\nrestart_after_crash = on");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION govshare;
	SET search_path = public, govshare;
	CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text);
	INSERT INTO citizen VALUES ('079099123456', 'Nguyen Van An'), ('079301123457', 'Tran Thi Binh');
	SELECT classify('citizen', 'personal_id', 'person.personal_id'),
	       classify('citizen', 'full_name', 'person.full_name'), govern('citizen');
	SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
	       add_agency('MND', 'Ministry of National Defence'),
	       add_purpose('military_service', 'Call-up', 'Law on Military Service 2015');
	SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'masked');
	CREATE ROLE mnd_app LOGIN;
	SELECT bind_role('mnd_app', 'MND');
	CREATE TABLE test_key AS SELECT * FROM make_test_key();
	SELECT add_agency_key('MND', public_key) FROM test_key;
});

# a fresh token of MND
sub token
{
	return $node->safe_psql('postgres', q{
		SELECT govshare.sign_request_token(private_key, 'MND', 'military_service', 'Officer A')
		FROM test_key});
}

# runs SQL as the consumer's login; returns (exit code, stdout, stderr)
sub mnd
{
	my ($sql) = @_;
	return $node->psql('postgres', $sql, extra_params => [ '-U', 'mnd_app', '-v', 'ON_ERROR_STOP=1' ]);
}

my $replay = qr/invalid request token\nDETAIL:  The token has been used before/;
my $read = q{SELECT count(*) FROM citizen};

# read, roll back, present again
my $t = token();
my ($ret, $out, $err) = mnd("BEGIN; SELECT govshare.begin_request_signed('$t'); $read; ROLLBACK;");
is($ret, 0, 'a token read with, in a transaction that rolls back') or diag($err);
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, '... is refused when presented again');
($ret, $out, $err) = mnd("BEGIN; SELECT govshare.begin_request_signed('$t'); $read;");
like($err, $replay, '... and again, in a new transaction, so nothing is read with it');

# presented and rolled back without a read; a savepoint rolled back
$t = token();
mnd("BEGIN; SELECT govshare.begin_request_signed('$t'); ROLLBACK;");
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, 'a token presented in a transaction that rolls back before any read is spent');
$t = token();
mnd("BEGIN; SAVEPOINT s; SELECT govshare.begin_request_signed('$t'); ROLLBACK TO s; COMMIT;");
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, 'a token presented in a savepoint rolled back is spent');

# a REPEATABLE READ transaction whose snapshot was taken before the token
# was spent elsewhere still sees it spent
$t = token();
my $rr = $node->background_psql('postgres', on_error_stop => 0, extra_params => [ '-U', 'mnd_app' ]);
$rr->query_safe("SET default_transaction_isolation = 'repeatable read'");
$rr->query_safe('BEGIN');
$rr->query_safe('SELECT count(*) FROM govshare.agency');
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
is($ret, 0, 'a token is presented in one session') or diag($err);
$rr->{stderr} = '';
$rr->query("SELECT govshare.begin_request_signed('$t')");
like($rr->{stderr}, qr/The token has been used before/,
	'... and refused in a REPEATABLE READ transaction whose snapshot is older');
$rr->quit;
ok($node->poll_query_until('postgres', 'SELECT count(*) = count(DISTINCT jti) AND count(*) = 4 FROM govshare.token_use'),
	'each id is in govshare.token_use once, written by the audit writer, not the caller');

# a crash: kill -9 of the backend after it presented a token and read
# with it, its transaction still open
$t = token();
my $s = $node->background_psql('postgres', extra_params => [ '-U', 'mnd_app' ]);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
$s->query_safe("BEGIN; SELECT govshare.begin_request_signed('$t'); $read");
kill 'KILL', $pid;
eval { $s->quit; };
$node->poll_query_until('postgres', 'SELECT true') or die 'the server did not come back';
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, 'a token read with by a backend killed with SIGKILL (crash restart) stays spent');

# a clean restart, after presenting in a transaction that rolled back,
# with and without a read (a clean shutdown lets the writer empty its
# queue); an immediate stop after a read
$t = token();
mnd("BEGIN; SELECT govshare.begin_request_signed('$t'); $read; ROLLBACK;");
my $t2 = token();
mnd("BEGIN; SELECT govshare.begin_request_signed('$t2'); ROLLBACK;");
$node->restart;
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, 'a token read with in a rolled-back transaction stays spent after a restart');
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t2')");
like($err, $replay, '... and one presented without a read');
$t = token();
mnd("BEGIN; SELECT govshare.begin_request_signed('$t'); $read; ROLLBACK;");
$node->stop('immediate');
$node->start;
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, '... and, read with, after an immediate shutdown');

# two sessions present one token at once: exactly one passes, every time
my $tokens = $node->safe_psql('postgres', q{
	SELECT string_agg(govshare.sign_request_token(private_key, 'MND', 'military_service', 'Officer B'), ' ')
	FROM test_key, generate_series(1, 20)});
my ($passed, $refused, $other) = (0, 0, 0);
for my $tok (split / /, $tokens)
{
	my @runs;
	for my $i (1 .. 2)
	{
		my %r = (out => '', err => '');
		$r{h} = IPC::Run::start(
			[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-U', 'mnd_app',
			  '-c', "SELECT govshare.begin_request_signed('$tok'); SELECT 'passed'" ],
			'<', \undef, '>', \$r{out}, '2>', \$r{err},
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
		push @runs, \%r;
	}
	my $ok = 0;
	for my $r (@runs)
	{
		eval { $r->{h}->finish; };
		if ($r->{out} =~ /passed/) { $ok++; }
		elsif ($r->{err} =~ /The token has been used before/) { $refused++; }
		else { $other++; diag($r->{err}); }
	}
	$passed++ if $ok == 1;
}
is("$passed $refused $other", '20 20 0', 'two sessions presenting one token at once: exactly one passes (20 tokens)');

# the writer held back (by a lock on govshare.token_use): a token is
# presented at once, and the first read under it waits until its use is
# durable; meanwhile the shared-memory claim refuses a second session
$t = token();
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK govshare.token_use IN SHARE MODE');
my %first = (out => '', err => '');
$first{h} = IPC::Run::start(
	[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-U', 'mnd_app',
	  '-c', "SELECT govshare.begin_request_signed('$t')", '-c', "SELECT 'presented'",
	  '-c', 'SELECT full_name FROM citizen ORDER BY 1' ],
	'<', \undef, '>', \$first{out}, '2>', \$first{err},
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE backend_type = 'govshare audit writer' AND wait_event_type = 'Lock'}),
	'the writer waits for the lock');
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
	WHERE usename = 'mnd_app' AND query LIKE 'SELECT full_name%' AND wait_event_type = 'Extension'}),
	'the token was presented without waiting; its first read waits for the writer');
($ret, $out, $err) = mnd("SET lock_timeout = '10s'; SELECT govshare.begin_request_signed('$t')");
like($err, $replay, 'meanwhile a second session presenting the same token is refused at once');
$locker->query_safe('COMMIT');
$locker->quit;
eval { $first{h}->finish; };
is($first{out}, "\npresented\nN***** V** A*\nT*** T** B***\n",
	'the read returns its rows once the writer has recorded the id') or diag($first{err});
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, '... and the token stays spent');

# a read that times out waiting: no row, the token stays spent; and a crash
# while the use is not durable forgets it, with nothing read under it
$node->safe_psql('postgres', "ALTER ROLE mnd_app SET govshare.audit_timeout = '1s'; ALTER ROLE mnd_app SET govshare.audit_mode = 'async'");
$t = token();
$locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK govshare.token_use IN SHARE MODE');
($ret, $out, $err) = $node->psql('postgres', "SELECT govshare.begin_request_signed('$t');\n$read;\n$read;",
	on_error_stop => 0,
	extra_params => [ '-U', 'mnd_app' ]);
is($out, '', 'reads under a token whose use is not durable return no row (async audit)');
my @refusals = $err =~ /the use of the request token could not be recorded\nDETAIL:  The audit writer .*? has not committed the record within 1000 ms/g;
is(scalar @refusals, 2, '... each says why') or diag($err);
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, '... and the token stays spent');
$node->safe_psql('postgres', "ALTER ROLE mnd_app RESET govshare.audit_mode");
$t2 = token();
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t2'); $read");
like($err, qr/access to governed data by agency "MND" could not be recorded/,
	'under strict audit the wait for the access record, which comes after the use, fails first');
# an internal role's COPY relation TO, which reads without a plan, waits
# for its token's use the same way: no row before it is durable
$node->safe_psql('postgres', q{
	CREATE TABLE mps_key AS SELECT * FROM govshare.make_test_key();
	SELECT govshare.add_agency_key('MPS', public_key) FROM mps_key});
my $t3 = $node->safe_psql('postgres', q{
	SELECT govshare.sign_request_token(private_key, 'MPS', 'military_service', 'Officer B') FROM mps_key});
($ret, $out, $err) = $node->psql('postgres', qq{
	SET govshare.audit_mode = 'async'; SET govshare.audit_timeout = '1s';
	SELECT govshare.begin_request_signed('$t3');
	COPY citizen TO STDOUT;}, on_error_stop => 1);
is($out, '', "an internal COPY under a token whose use is not durable copies no row");
like($err, qr/the use of the request token could not be recorded/, '... and says why') or diag($err);
$node->stop('immediate');
eval { $locker->quit; };
$node->start;
$node->safe_psql('postgres', "ALTER ROLE mnd_app RESET govshare.audit_timeout");
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t2')");
is($ret, 0, '... and that token too is accepted again') or diag($err);
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t'); $read");
is("$ret $out", "0 \n2", 'after a crash that lost its use, a token nothing was read under is accepted again')
	or diag($err);
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t')");
like($err, $replay, '... once');

# the denials of replayed tokens are in the audit log
ok($node->poll_query_until('postgres', q{SELECT count(*) >= 21 FROM govshare.access_log
	WHERE outcome = 'denied' AND reason LIKE '%has been used before%'}),
	'refused replays are recorded as denials');

# claims left by sessions that exited before their tokens' uses were
# durable fill the shared-memory set; once the writer has recorded the
# ids, the set drops those claims when it needs room
# (about: the set also has room for the backends PostgreSQL 17 adds)
my $max = $node->safe_psql('postgres', q{SELECT 1024 + 8 * (current_setting('max_connections')::int
	+ current_setting('autovacuum_max_workers')::int + 1 + current_setting('max_worker_processes')::int
	+ current_setting('max_wal_senders')::int)});
my @tokens = split /\n/, $node->safe_psql('postgres', qq{
	SELECT govshare.sign_request_token(private_key, 'MND', 'military_service', 'Officer A')
	FROM test_key, generate_series(1, $max + 64)});
$locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK govshare.token_use IN SHARE MODE');
my ($presented, $full) = (0, '');
while (!$full && (my @batch = splice(@tokens, 0, 8)))
{
	# eight uses pending at most per session: none waits, and the claims stay at exit
	($ret, $out, $err) = mnd(join('', map { "SELECT govshare.begin_request_signed('$_');\n" } @batch));
	if ($err =~ /too many request tokens are being presented at once/) { $full = $err; }
	elsif ($ret == 0) { $presented += @batch; }
	else { diag($err); last; }
}
ok($presented > $max - 64, "$presented tokens presented by sessions that exited before their uses were recorded");
like($full, qr/too many request tokens are being presented at once\nDETAIL:  \d+ tokens are waiting/,
	'until the set of claims was full');
my $t4 = token();
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t4')");
like($err, qr/too many request tokens are being presented at once/, '... and stays full while the writer is held back');
$locker->query_safe('COMMIT');
$locker->quit;
ok($node->poll_query_until('postgres', "SELECT count(*) >= $max FROM govshare.token_use"),
	'the writer records their uses');
$t4 = token();
($ret, $out, $err) = mnd("SELECT govshare.begin_request_signed('$t4')");
is($ret, 0, 'then the claims of recorded uses make room for a new token') or diag($err);

# the writer prunes the ids of tokens that expired more than a day ago, a
# hundred at a time, the oldest first, in one of its batches of 32 (at
# random): 400 requests, each read waiting for its own batch, prune the
# 150 ids planted two days after their expiry, and none younger
$node->safe_psql('postgres', q{
	INSERT INTO govshare.token_use (issuer, jti, expires_at, used_at, used_by)
	SELECT 'MND', 'old-' || i, now() - interval '2 days' - i * interval '1 s', now() - interval '3 days', 'mnd_app'
	FROM generate_series(1, 150) i
	UNION ALL
	SELECT 'MND', 'recent-' || i, now() - interval '12 hours', now() - interval '13 hours', 'mnd_app'
	FROM generate_series(1, 20) i});
@tokens = split /\n/, $node->safe_psql('postgres', q{
	SELECT govshare.sign_request_token(private_key, 'MND', 'military_service', 'Officer A')
	FROM test_key, generate_series(1, 400)});
my $before = $node->safe_psql('postgres', q{SELECT count(*) FROM govshare.token_use WHERE jti NOT LIKE 'old-%'});
my $since = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
($ret, $out, $err) = mnd(join('', map {
	"SELECT govshare.begin_request_signed('$_');\n$read;\nSELECT govshare.end_request();\n" } @tokens));
is($ret, 0, '400 signed requests, one after the other') or diag($err);
# (each request's read waited for its id; older ids may still come in)
ok($node->poll_query_until('postgres', qq{SELECT count(*) >= $before + 400 FROM govshare.token_use
	WHERE jti NOT LIKE 'old-%'}), '... their ids recorded');
is($node->safe_psql('postgres', q{SELECT count(*) FILTER (WHERE jti LIKE 'old-%'),
	count(*) FILTER (WHERE jti LIKE 'recent-%') FROM govshare.token_use}),
	'0|20', 'the ids of tokens expired more than a day ago are pruned, the others kept');

# a token's use is queued without waking the writer, so that under strict
# audit the read after it (here in the next transaction), which waits for
# its access record, wakes it once that record is queued too: one writer
# transaction commits both.  (The writer's nap of 200 ms may end between
# the two for a request or two; a writer woken for the use alone commits
# none together.)
my $together = $node->safe_psql('postgres', qq{
	SELECT count(DISTINCT u.jti) FROM govshare.token_use u
	JOIN govshare.access_log l ON l.token_id = u.jti AND l.xmin::text = u.xmin::text
	WHERE u.used_at >= '$since'});
cmp_ok($together, '>=', 380,
	"the uses of 400 tokens and their reads' access records committed together ($together)");

$node->stop;
done_testing();
