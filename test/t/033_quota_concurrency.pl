# test/t/033_quota_concurrency.pl — quotas are counted in shared memory
# across backends, exactly: several sessions of a consumer's login run at
# once against each quota (statements_per_minute, rows_per_day,
# verify_per_minute), and the number of statements, rows and verify calls
# that pass is the quota, no more and no fewer.  Every refusal is a denial
# in the access log, and the counters survive a restart (rebuilt from the
# log).
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('quota');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'\nmax_connections = 40");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION govshare;
	SET search_path = public, govshare;
	CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text, birth_date partial_date);
	INSERT INTO citizen
	SELECT lpad((79000000000 + i)::text, 12, '0')::personal_id, 'Citizen ' || i, '1990-05-15'
	  FROM generate_series(1, 200) i;
	SELECT classify('citizen', 'personal_id', 'person.personal_id'),
	       classify('citizen', 'full_name', 'person.full_name'),
	       classify('citizen', 'birth_date', 'person.date_of_birth'), govern('citizen');
	SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
	       add_agency('MND', 'Ministry of National Defence'),
	       add_agency('BANK', 'A bank'),
	       add_purpose('military_service', 'Call-up', 'Law on Military Service 2015'),
	       add_purpose('kyc', 'Know your customer', 'Decree 13/2023');
	SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full');
	SELECT share('BANK', '{kyc}', '{person.personal_id, person.full_name, person.date_of_birth}', 'verify');
	CREATE ROLE mnd_app LOGIN;
	CREATE ROLE bank_app LOGIN;
	SELECT bind_role('mnd_app', 'MND'), bind_role('bank_app', 'BANK');
	ALTER ROLE mnd_app SET search_path = public, govshare;
	ALTER ROLE bank_app SET search_path = public, govshare;
});

# Waits, if need be, until a minute has at least 20 seconds left, so that
# a burst of sessions falls into one window of the per-minute quotas.
sub fresh_minute
{
	my $s = $node->safe_psql('postgres', q{SELECT extract(second FROM clock_timestamp() AT TIME ZONE 'UTC')::int});
	sleep(61 - $s) if $s > 40;
}

# Starts $n sessions of $login that each run $body (PL/pgSQL, in a DO
# block after begin_request($purpose)) and print the count of what passed
# and of what was refused with SQLSTATE 53400; returns the totals.
sub burst
{
	my ($n, $login, $purpose, $body) = @_;
	my @runs;
	for my $i (1 .. $n)
	{
		my %r = (out => '', err => '');
		my $sql = qq{SELECT govshare.begin_request('$purpose');
DO \$\$
DECLARE
	passed int := 0;
	refused int := 0;
	x bigint;
	j jsonb;
BEGIN
	$body
	RAISE NOTICE 'counts % %', passed, refused;
END
\$\$;};
		$r{h} = IPC::Run::start(
			[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-U', $login,
			  '-c', $sql ],
			'<', \undef, '>', \$r{out}, '2>', \$r{err},
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
		push @runs, \%r;
	}
	my ($passed, $refused, $bad) = (0, 0, 0);
	for my $r (@runs)
	{
		eval { $r->{h}->finish; };
		if ($r->{err} =~ /counts (\d+) (\d+)/) { $passed += $1; $refused += $2; }
		else { $bad++; diag($r->{err}); }
	}
	return ($passed, $refused, $bad);
}

# statements_per_minute: 8 sessions try 25 statements each; 100 pass
$node->safe_psql('postgres', q{SELECT govshare.set_quota('MND', 'military_service', statements_per_minute => 100)});
fresh_minute();
my ($passed, $refused, $bad) = burst(8, 'mnd_app', 'military_service', q{
	FOR i IN 1 .. 25 LOOP
		BEGIN
			SELECT count(*) INTO x FROM citizen WHERE personal_id = '079000000001';
			passed := passed + 1;
		EXCEPTION WHEN configuration_limit_exceeded THEN
			refused := refused + 1;
		END;
	END LOOP;});
is("$passed $refused $bad", '100 100 0',
	'statements_per_minute 100: of 200 statements in 8 concurrent sessions, exactly 100 pass');
is($node->safe_psql('postgres', q{SELECT statements_this_minute FROM govshare.quotas WHERE consumer = 'MND'}),
	'100', '... and govshare.quotas counts 100');

# verify_per_minute: 5 sessions try 12 verify calls each; 30 pass
$node->safe_psql('postgres', q{SELECT govshare.set_quota('BANK', 'kyc', verify_per_minute => 30)});
fresh_minute();
($passed, $refused, $bad) = burst(5, 'bank_app', 'kyc', q{
	FOR i IN 1 .. 12 LOOP
		BEGIN
			j := govshare.verify('citizen', lpad((79000000000 + i)::text, 12, '0')::personal_id,
			                     '{"full_name": "citizen  1", "birth_date": "15/05/1990"}');
			passed := passed + 1;
		EXCEPTION WHEN configuration_limit_exceeded THEN
			refused := refused + 1;
		END;
	END LOOP;});
is("$passed $refused $bad", '30 30 0',
	'verify_per_minute 30: of 60 calls in 5 concurrent sessions, exactly 30 pass');

# rows_per_day: 6 sessions run 60 one-row statements each; exactly 250
# rows are returned (a statement whose row would pass the quota is stopped,
# the next ones are refused before they run)
# (the day's rows so far, 100, count too: the quota is on the day's total)
my $base = $node->safe_psql('postgres', q{SELECT rows_today FROM govshare.quotas WHERE consumer = 'MND'});
is($base, '100', 'the 100 statements above returned 100 rows, counted for the day');
$node->safe_psql('postgres', qq{SELECT govshare.set_quota('MND', 'military_service', rows_per_day => $base + 250)});
($passed, $refused, $bad) = burst(6, 'mnd_app', 'military_service', q{
	FOR i IN 1 .. 60 LOOP
		BEGIN
			SELECT count(*) INTO x FROM citizen WHERE personal_id = '079000000001';
			passed := passed + 1;
		EXCEPTION WHEN configuration_limit_exceeded THEN
			refused := refused + 1;
		END;
	END LOOP;});
is("$passed $refused $bad", '250 110 0',
	'rows_per_day 250: of 360 one-row statements in 6 concurrent sessions, exactly 250 return their row');
is($node->safe_psql('postgres', q{SELECT rows_today FROM govshare.quotas WHERE consumer = 'MND'}),
	$base + 250, '... and govshare.quotas counts them');

# a running statement that crosses the quota is stopped with the same error
$node->safe_psql('postgres', qq{SELECT govshare.set_quota('MND', 'military_service', rows_per_day => $base + 255)});
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT govshare.begin_request('military_service'); SELECT full_name FROM citizen LIMIT 20;},
	extra_params => [ '-U', 'mnd_app' ]);
like($err, qr/quota rows_per_day of agency "MND" for purpose "military_service" is used up/,
	'a statement that crosses rows_per_day while it runs is stopped');
is($node->safe_psql('postgres', q{SELECT rows_today FROM govshare.quotas WHERE consumer = 'MND'}),
	$base + 255, '... after the rows up to the quota were sent');

# every refusal is a denial, naming the quota (written after the refusal)
$node->poll_query_until('postgres', 'SELECT coalesce(sum(queued), 0) = 0 FROM govshare.audit_status()')
  or die 'timed out waiting for the server';
is($node->safe_psql('postgres', q{
	SELECT string_agg(q || '=' || n, ' ' ORDER BY q) FROM (
	  SELECT substring(reason FROM 'quota (\w+)') AS q, count(*) AS n
	    FROM govshare.audit_denied GROUP BY 1) s}),
	'rows_per_day=111 statements_per_minute=100 verify_per_minute=30',
	'each refusal is in govshare.audit_denied, naming its quota');

# the error: SQLSTATE 53400, the quota, its window and when it resets
($ret, $out, $err) = $node->psql('postgres',
	q{\set VERBOSITY verbose
	  SELECT govshare.begin_request('military_service'); SELECT 1 FROM citizen LIMIT 1;},
	extra_params => [ '-U', 'mnd_app' ]);
like($err, qr/53400: quota rows_per_day of agency "MND" for purpose "military_service" is used up/,
	'a refused statement: SQLSTATE 53400 naming the quota');
like($err, qr/DETAIL:  At most 355 rows a day \(UTC\); 355 used since \d{4}-\d\d-\d\d 00:00:00 UTC\./,
	'... its window in the detail');
like($err, qr/HINT:  The quota resets at \d{4}-\d\d-\d\d 00:00:00 UTC/, '... and when it resets in the hint');

# counters survive a restart: rebuilt from the access log
my $before = $node->safe_psql('postgres', q{SELECT rows_today FROM govshare.quotas WHERE consumer = 'MND'});
my $verified = $node->safe_psql('postgres', q{SELECT verify_this_minute FROM govshare.quotas WHERE consumer = 'BANK'});
$node->restart;
is($node->safe_psql('postgres', q{SELECT rows_today FROM govshare.quotas WHERE consumer = 'MND'}),
	$before, "after a restart the rows of the day ($before) are counted again from the access log");
($ret, $out, $err) = $node->psql('postgres',
	q{SELECT govshare.begin_request('military_service'); SELECT 1 FROM citizen LIMIT 1;},
	extra_params => [ '-U', 'mnd_app' ]);
like($err, qr/quota rows_per_day of agency "MND" for purpose "military_service" is used up/,
	'... so the day\'s quota stays used up');

# raising the quota lets the agency read again, from the next statement
$node->safe_psql('postgres', q{SELECT govshare.set_quota('MND', 'military_service', rows_per_day => 100000)});
is($node->safe_psql('postgres',
	q{SELECT govshare.begin_request('military_service'); SELECT count(*) FROM (SELECT 1 FROM citizen LIMIT 3) s},
	extra_params => [ '-U', 'mnd_app' ]), "\n3", 'a raised quota applies at the next statement');

# the usage of the day agrees with the counters (once every record is written)
$node->poll_query_until('postgres', 'SELECT coalesce(sum(queued), 0) = 0 FROM govshare.audit_status()')
  or die 'timed out waiting for the server';
my $rows = $node->safe_psql('postgres', q{SELECT rows_today FROM govshare.quotas WHERE consumer = 'MND'});
is($node->safe_psql('postgres', q{
	SELECT agency, purpose, rows, verify_calls, denials, bytes > 0, exec_seconds > 0
	  FROM govshare.usage ORDER BY agency}),
	"BANK|kyc|0|30|30|f|f\nMND|military_service|$rows|0|213|t|t",
	'govshare.usage: the rows, verify calls and denials of the day, with bytes and time');
is($node->safe_psql('postgres', q{SELECT govshare.usage_refresh() > 0}), 't', 'usage_refresh() sums the log');
is($node->safe_psql('postgres', q{
	SELECT agency, purpose, rows, verify_calls, denials FROM govshare.usage ORDER BY agency}),
	"BANK|kyc|0|30|30\nMND|military_service|$rows|0|213",
	'... and the usage reads the same from the daily sums');

done_testing();
