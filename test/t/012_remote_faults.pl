# test/t/012_remote_faults.pl — remote queries against providers that
# misbehave: a provider cannot hang, overflow or corrupt the consumer.
#
# Two clusters: the provider (MPS, a UTF8 database, and MPA, a SQL_ASCII
# database of the same cluster) and the consumer (MND).  Three fake
# providers, small Perl servers on 127.0.0.1 that exit on their own:
# 'silent' accepts connections and never answers; 'stall' answers the
# startup (its backend pid 4242, cancel key 1234), then never answers a
# query, and holds every connection, cancel requests included, open;
# 'rows' answers the pipeline with what the query asks for.
#
# Cases:
#   1. deadlines: against each fake, govshare.remote_timeout ends the
#      request with 57014 and at once (no blocking cancel); the stalled
#      provider gets a well-formed cancel request; pg_cancel_backend and
#      pg_terminate_backend of a waiting backend take effect within 3 s;
#      host names resolved by govshare (localhost, a list with a name that
#      does not resolve);
#   2. sizes: a provider error of 3 MB (message, detail and hint), a row
#      value of 3 MB that does not convert, a 3 MB query text: the
#      consumer's record is written, bounded; an officer over 200 bytes is
#      refused before anything is sent;
#   3. encoding: a fake provider returns bytes that are not UTF8 (a
#      SQL_ASCII database of PostgreSQL refuses to), in a value, a column
#      name and an error message: the values are refused (nothing stored),
#      the message is kept with '?' in their place; an int4 and a jsonb
#      that would add keys to a jsonb object are strings; a SQLSTATE of
#      success is 08000;
#   and last, a fast shutdown with requests waiting on the fakes.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $keys = PostgreSQL::Test::Utils::tempdir;

# Ed25519 key pairs made by openssl; the private keys mode 0600, ours
sub make_key
{
	my ($name) = @_;
	system("openssl genpkey -algorithm ed25519 -out $keys/$name.pem 2>/dev/null") == 0
	  or die "openssl genpkey failed";
	chmod(0600, "$keys/$name.pem") or die "chmod: $!";
	system("openssl pkey -in $keys/$name.pem -pubout -out $keys/$name.pub 2>/dev/null") == 0
	  or die "openssl pkey failed";
	return slurp_file("$keys/$name.pub");
}
my $mnd_pub = make_key('mnd');

sub node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'govshare'",
		"govshare.audit_mode = 'strict'",
		"govshare.audit_timeout = '60s'", @conf) . "\n");
	$node->start;
	return $node;
}

# the provider also listens on 127.0.0.1, for endpoints that name a host
my $mps = node('mps', "listen_addresses = '127.0.0.1'");
my $mnd = node('mnd', "govshare.signing_key_file = '$keys/mnd.pem'");

# a provider database: self agency $self, MND's gateway, key and agreement
sub provider_db
{
	my ($db, $self) = @_;
	$mps->safe_psql($db, qq{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text);
INSERT INTO citizen VALUES ('001090100001', 'Citizen 1');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       govern('citizen'),
       add_agency('$self', 'Provider $self', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Military service call-up', 'Law 78/2015/QH13');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full');
SELECT bind_role('mnd_gateway', 'MND');
SELECT add_agency_key('MND', \$k\$$mnd_pub\$k\$);
});
}
$mps->safe_psql('postgres', q{
CREATE ROLE mnd_gateway LOGIN;
ALTER ROLE mnd_gateway SET search_path = public, govshare;
CREATE DATABASE ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
});
provider_db('postgres', 'MPS');
provider_db('ascii', 'MPA');

# what the provider's function sends back: an error of 3 MB
$mps->safe_psql('postgres', q{
CREATE FUNCTION public.huge_error() RETURNS int LANGUAGE plpgsql AS $f$
BEGIN
	RAISE EXCEPTION 'huge: %', repeat('x', 3000000)
		USING DETAIL = repeat('d', 3000000), HINT = repeat('h', 3000000);
END $f$;
});

# The fake providers: one process per connection, each ending on its own.
# 'silent' never answers; 'stall' answers the startup, then nothing, and
# holds every connection (cancel requests included) open; 'rows' speaks
# enough of the extended protocol to answer the pipeline, with what the
# query asks for in its text: a value or a column name not UTF8, a value
# with a NUL, an int4 that is no number, an error not UTF8, an error whose
# SQLSTATE says success.
my $fake_code = <<'FAKE';
use strict;
use warnings;
use IO::Socket::INET;
my ($mode, $port, $log) = @ARGV;
my @kids;
$SIG{TERM} = $SIG{ALRM} = sub { kill 'KILL', @kids; exit 0 };
alarm 150;
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 64,
	ReuseAddr => 1) or die "listen on $port: $!";
open(my $lf, '>>', $log) or die "$log: $!";
$lf->autoflush(1);
print $lf "listening\n";

sub readn
{
	my ($c, $n) = @_;
	my $buf = '';
	while (length($buf) < $n)
	{
		my $r = sysread($c, $buf, $n - length($buf), length($buf));
		return undef unless $r;
	}
	return $buf;
}
sub msg { my ($t, $body) = @_; return $t . pack('N', length($body) + 4) . $body; }
sub rowdesc
{
	my @cols = @_;
	return msg('T', pack('n', scalar @cols)
		  . join('', map { "$_->[0]\0" . pack('N n N n N n', 0, 0, $_->[1], -1 & 0xffff, 0xffffffff, 0) } @cols));
}
sub datarow { return msg('D', pack('n', scalar @_) . join('', map { pack('N', length $_) . $_ } @_)); }
sub error
{
	my ($state, $m, $d) = @_;
	return msg('E', "SERROR\0VERROR\0C$state\0M$m\0" . (defined $d ? "D$d\0" : '') . "\0");
}
# what a query gets: [ error ] or [ columns, rows, tag ]
sub answer
{
	my ($q) = @_;
	return [ [ [ 'begin_request_signed', 25 ] ], [ [''] ], 'SELECT 1' ] if $q =~ /begin_request_signed/;
	return [ [ [ 'seq', 20 ], [ 'hash', 17 ] ], [], 'SELECT 0' ] if $q =~ /request_receipt/;
	return [ [ [ 'end_request', 2278 ] ], [ [''] ], 'SELECT 1' ] if $q =~ /end_request/;
	return [ undef, [], 'DISCARD ALL' ] if $q =~ /DISCARD ALL/;
	return [ [ [ 'v', 25 ] ], [ ["ok \xff\xfe"] ], 'SELECT 1' ] if $q =~ /bad_value/;
	return [ [ [ 'v', 25 ] ], [ ["a\0b"] ], 'SELECT 1' ] if $q =~ /nul_value/;
	return [ [ [ "col\xff", 23 ] ], [ ['1'] ], 'SELECT 1' ] if $q =~ /bad_name/;
	return [ [ [ 'n', 23 ], [ 'j', 3802 ] ], [ [ '1,"x":2', '{"a":1},"y":3' ] ], 'SELECT 1' ] if $q =~ /json_keys/;
	return error('P0001', "bad: \xff\xfe", "detail \xff") if $q =~ /bad_error/;
	return error('00000', 'all is well') if $q =~ /success_error/;
	return [ [ [ 'n', 23 ] ], [ ['1'] ], 'SELECT 1' ];
}
sub serve
{
	my ($c) = @_;
	my ($query, $skip) = ('', 0);
	for (;;)
	{
		my $type = readn($c, 1) // return;
		my $len = readn($c, 4) // return;
		my $body = readn($c, unpack('N', $len) - 4) // return;
		my $a = answer($query);
		if ($type eq 'S') { syswrite($c, msg('Z', 'I')); $skip = 0; next; }
		if ($type eq 'X') { return; }
		next if $skip;
		if ($type eq 'P')
		{
			(undef, $query) = split /\0/, $body;
			$a = answer($query);
			if (!ref $a) { syswrite($c, $a); $skip = 1; next; }
			syswrite($c, msg('1', ''));
		}
		elsif ($type eq 'B') { syswrite($c, msg('2', '')); }
		elsif ($type eq 'D') { syswrite($c, $a->[0] ? rowdesc(@{ $a->[0] }) : msg('n', '')); }
		elsif ($type eq 'E') { syswrite($c, join('', map { datarow(@$_) } @{ $a->[1] }) . msg('C', "$a->[2]\0")); }
	}
}
while (my $c = $srv->accept)
{
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if ($pid) { push @kids, $pid; close($c); next; }
	@kids = ();
	alarm 150;
	if ($mode ne 'silent')
	{
		for (;;)
		{
			my $len = readn($c, 4) // last;
			my $body = readn($c, unpack('N', $len) - 4) // last;
			my $code = unpack('N', $body);
			if ($code == 80877102)
			{
				my (undef, $pid, $key) = unpack('N N N', $body);
				print $lf "cancel $pid $key\n";
				last;
			}
			if ($code == 80877103 || $code == 80877104)
			{
				syswrite($c, 'N');		# no TLS, no GSS encryption
				next;
			}
			syswrite($c, msg('R', pack('N', 0)) . msg('S', "server_version\0" . "15.0\0")
				  . msg('S', "client_encoding\0UTF8\0") . msg('S', "standard_conforming_strings\0on\0")
				  . msg('K', pack('N N', 4242, 1234)) . msg('Z', 'I'));
			print $lf "startup\n";
			if ($mode eq 'rows') { serve($c); exit 0; }
			last;
		}
	}
	sleep 1 while 1;			# holds the connection until the alarm
}
FAKE
my %fake;
for my $mode (qw(silent stall rows))
{
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $log = "$keys/fake_$mode.log";
	my $h = IPC::Run::start([ 'perl', '-e', $fake_code, $mode, $port, $log ],
		'<', '/dev/null', '>', "$log.out", '2>', "$log.err");
	my $deadline = time + 30;
	usleep(50_000) until (-s $log || time > $deadline);
	ok(-s $log, "fake provider '$mode' listens on port $port");
	$fake{$mode} = { h => $h, port => $port, log => $log };
}
sub fake_log { return -e $_[0] ? slurp_file($_[0]) : ''; }

# the consumer: agencies, endpoints (a superuser's: no password needed)
my $mps_port = $mps->port;
my $mps_sock = $mps->host;
$mnd->safe_psql('postgres', qq{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
SELECT add_agency('MND', 'Ministry of National Defence', is_self => true),
       add_agency('MPS', 'Ministry of Public Security'),
       add_agency('MPA', 'Provider MPA'),
       add_agency('NXH', 'A host that does not resolve'),
       add_agency('SILENT', 'A silent fake'),
       add_agency('STALL', 'A stalling fake'),
       add_agency('ROWS', 'A fake that answers');
SELECT add_endpoint('MPS', 'host=$mps_sock port=$mps_port dbname=postgres user=mnd_gateway'),
       add_endpoint('MPA', 'host=$mps_sock port=$mps_port dbname=ascii user=mnd_gateway'),
       add_endpoint('NXH', 'host=nonexistent.invalid port=$mps_port dbname=postgres user=mnd_gateway'),
       add_endpoint('SILENT', 'host=127.0.0.1 port=$fake{silent}{port} dbname=x user=x sslmode=disable gssencmode=disable'),
       add_endpoint('STALL', 'host=127.0.0.1 port=$fake{stall}{port} dbname=x user=x sslmode=disable gssencmode=disable'),
       add_endpoint('ROWS', 'host=127.0.0.1 port=$fake{rows}{port} dbname=x user=x sslmode=disable gssencmode=disable');
CREATE ROLE mnd_officer LOGIN IN ROLE govshare_requester;
GRANT CREATE ON SCHEMA public TO mnd_officer;
});

# psql on MND as the officer; returns (ret, stdout, stderr, seconds)
sub mnd
{
	my ($sql) = @_;
	my $t0 = time;
	my @r = $mnd->psql('postgres', "\\set VERBOSITY verbose\n$sql", extra_params => [ '-U', 'mnd_officer' ]);
	return (@r, time - $t0);
}
sub mnd_sql { return $mnd->safe_psql('postgres', @_); }
sub last_remote
{
	return mnd_sql(q{SELECT outcome || '|' || coalesce(reason, '<null>')
  FROM govshare.remote_request ORDER BY seq DESC LIMIT 1});
}
sub nrecords { return mnd_sql('SELECT count(*) FROM govshare.remote_request'); }

# a request in the background, as the officer, tagged /* $tag */
sub bg_start
{
	my ($tag, $target, $timeout) = @_;
	my %b = (out => '', err => '', tag => $tag);
	my $sql = "SET govshare.remote_timeout = '$timeout'; SELECT * FROM govshare.remote_query('$target', "
	  . "'SELECT 1 /* $tag */', 'military_service') AS t(n int)";
	$b{h} = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'VERBOSITY=verbose', '-d', $mnd->connstr('postgres'),
		  '-U', 'mnd_officer', '-c', $sql ],
		'<', \undef, '>', \$b{out}, '2>', \$b{err}, IPC::Run::timeout(170));
	return \%b;
}
# waits (10 s at most) until its backend waits on the provider; its pid
sub bg_waiting
{
	my ($b) = @_;
	my $deadline = time + 10;
	while (time < $deadline)
	{
		my $pid = mnd_sql(qq{SELECT pid FROM pg_stat_activity WHERE query LIKE '%/* $b->{tag} */%'
  AND wait_event = 'Extension' AND pid <> pg_backend_pid()});
		return $pid if $pid;
		usleep(50_000);
	}
	return 0;
}
# waits for the psql of the request to end; (ret, stderr, seconds)
sub bg_finish
{
	my ($b, $t0) = @_;
	eval { $b->{h}->finish; };
	return ($b->{h}->result(0), $b->{err}, time - $t0);
}
# waits (10 s at most) until the backend is gone; seconds taken, or 99
sub gone_after
{
	my ($pid, $t0) = @_;
	while (time - $t0 < 10)
	{
		return time - $t0 if mnd_sql("SELECT count(*) FROM pg_stat_activity WHERE pid = $pid") eq '0';
		usleep(20_000);
	}
	return 99;
}

#
# 1. deadlines
#
for my $mode (qw(silent stall))
{
	my $target = uc $mode;
	my ($ret, $out, $err, $secs) = mnd("SET govshare.remote_timeout = '1500ms';
SELECT * FROM govshare.remote_query('$target', 'SELECT 1', 'military_service') AS t(n int)");
	like($err, qr/ERROR:  57014: the remote query to agency "$target" timed out after 1500 ms/,
		"$mode: govshare.remote_timeout ends the request with 57014") or diag($err);
	cmp_ok($secs, '<', 4, "$mode: ... at once, not blocked in a cancel (" . sprintf('%.1f', $secs) . ' s)');
	like(last_remote(), qr/^error\|the remote query to agency "$target" timed out/,
		"$mode: ... and recorded as an error");

	my $b = bg_start("$mode cancel", $target, '60s');
	my $pid = bg_waiting($b);
	ok($pid, "$mode: a request waits on the provider");
	my $t0 = time;
	mnd_sql("SELECT pg_cancel_backend($pid)");
	my ($bret, $berr, $bsecs) = bg_finish($b, $t0);
	like($berr, qr/ERROR:  57014: canceling statement due to user request/,
		"$mode: pg_cancel_backend cancels it") or diag($berr);
	cmp_ok($bsecs, '<', 3, "$mode: ... within 3 s (" . sprintf('%.1f', $bsecs) . ' s)');

	$b = bg_start("$mode terminate", $target, '60s');
	$pid = bg_waiting($b);
	ok($pid, "$mode: another request waits on the provider");
	$t0 = time;
	mnd_sql("SELECT pg_terminate_backend($pid)");
	my $gone = gone_after($pid, $t0);
	cmp_ok($gone, '<', 3, "$mode: pg_terminate_backend ends its backend within 3 s (" . sprintf('%.1f', $gone) . ' s)');
	($bret, $berr) = bg_finish($b, $t0);
	# The request is abandoned with an error first, so that it is cancelled
	# and recorded on the way out, and the FATAL follows at the backend's
	# next CHECK_FOR_INTERRUPTS.  That is most often still inside the
	# abort, and libpq then reports the FATAL in the error's place; when it
	# comes after the error's ReadyForQuery, psql has the error and quits
	# without reading the FATAL.  Either says why the request ended.
	like($berr, qr/FATAL:  57P01: terminating connection due to administrator command|ERROR:  57P01: the remote query to agency "$target" is abandoned: this backend is terminating/,
		"$mode: ... which says so") or diag($berr);

	# a cancel, then at once a terminate: nothing blocks in between
	$b = bg_start("$mode both", $target, '60s');
	$pid = bg_waiting($b);
	$t0 = time;
	mnd_sql("SELECT pg_cancel_backend($pid)");
	usleep(100_000);
	mnd_sql("SELECT pg_terminate_backend($pid)");
	$gone = gone_after($pid, $t0);
	cmp_ok($gone, '<', 3, "$mode: a cancel then a terminate end the backend within 3 s (" . sprintf('%.1f', $gone) . ' s)');
	bg_finish($b, $t0);
}
like(fake_log($fake{stall}{log}), qr/^cancel 4242 1234$/m,
	'stall: the stalled query was cancelled, with the backend pid and key the provider gave');

# host names are resolved by govshare with the deadline, libpq gets addresses
mnd_sql("SELECT govshare.add_endpoint('MPS', 'host=nonexistent.invalid,localhost port=$mps_port dbname=postgres user=mnd_gateway')");
my ($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS', 'SELECT full_name FROM public.citizen',
  'military_service') AS t(n text)});
is("$ret $out", '0 Citizen 1', 'names: an endpoint "host=nonexistent.invalid,localhost" reaches the provider by the second')
  or diag($err);
mnd_sql("SELECT govshare.add_endpoint('MPS', 'host=$mps_sock port=$mps_port dbname=postgres user=mnd_gateway')");
($ret, $out, $err) = mnd(q{SET govshare.remote_timeout = '3s';
SELECT * FROM govshare.remote_query('NXH', 'SELECT 1', 'military_service') AS t(n int)});
like($err, qr/ERROR:  (08001: could not connect to agency "NXH"|57014: the remote query to agency "NXH" timed out)/,
	'names: a host name that does not resolve fails the request') or diag($err);
like(last_remote(), qr/^error\|/, 'names: ... recorded as an error');

#
# 2. sizes: the record always fits the audit queue
#
my $n = nrecords();
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS', 'SELECT public.huge_error()',
  'military_service') AS t(n int)});
like($err, qr/ERROR:  P0001: agency "MPS" refused or failed the remote query: huge: x{100}/,
	'sizes: a provider error of 3 MB is raised') or diag(substr($err, 0, 300));
cmp_ok(length($err), '<', 20000, 'sizes: ... with its message, detail and hint cut (' . length($err) . ' bytes)');
is(nrecords(), $n + 1, 'sizes: ... and the request is recorded');
is(mnd_sql(q{SELECT outcome || ' ' || left(reason, 10) || ' ' || (length(reason) < 5000)
  FROM govshare.remote_request ORDER BY seq DESC LIMIT 1}), 'error huge: xxxx true',
	'sizes: ... with the start of the provider\'s message');

($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS', 'SELECT repeat(''y'', 3000000)',
  'military_service') AS t(n int)});
like($err, qr/ERROR:  22P02: invalid input syntax for type integer/, 'sizes: a 3 MB value that does not convert fails')
  or diag(substr($err, 0, 300));
is(nrecords(), $n + 2, 'sizes: ... and the request is recorded');
like(last_remote(), qr/^error\|invalid input syntax for type integer: "y{100}/, 'sizes: ... with the error');
cmp_ok(length(last_remote()), '<', 5000, 'sizes: ... cut');

my $long = 'SELECT 1 /* ' . ('z' x 3000000) . ' */';
($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', '$long', 'military_service') AS t(n int)});
is($ret, 0, 'sizes: a query of 3 MB runs') or diag(substr($err, 0, 300));
is(mnd_sql(qq{SELECT length(query) || ' ' || (query_sha256 = sha256(convert_to('$long', 'UTF8')))
  FROM govshare.remote_request ORDER BY seq DESC LIMIT 1}), '4096 true',
	'sizes: ... recorded with its first govshare.audit_text_max bytes (4 kB) and the SHA-256 of the whole');

$n = nrecords();
my $officer = 'O' x 3000000;
($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', 'SELECT 1', 'military_service',
  officer => '$officer') AS t(n int)});
like($err, qr/ERROR:  22001: the officer of a remote query is at most 200 bytes long/,
	'sizes: an officer of 3 MB is refused') or diag(substr($err, 0, 300));
is(nrecords(), $n + 1, 'sizes: ... before anything is sent, recorded as a denial');
is(mnd_sql(q{SELECT outcome || ' ' || length(officer) || ' ' || (receipt_seq IS NULL) FROM govshare.remote_request ORDER BY seq DESC LIMIT 1}),
	'denied 200 true', 'sizes: ... with the officer cut to 200 bytes, and no receipt');

#
# 3. encoding: bytes that are not UTF8, and types that lie
#
# PostgreSQL itself checks what a SQL_ASCII database sends to a UTF8 client
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPA', 'SELECT ''ok '' || chr(255)',
  'military_service') AS t(v text)});
like($err, qr/ERROR:  22021: agency "MPA" refused or failed the remote query: invalid byte sequence for encoding "UTF8": 0xff/,
	'encoding: a SQL_ASCII database of PostgreSQL refuses to send bytes not UTF8 itself') or diag($err);
# a provider that is not PostgreSQL (or someone at its address) sends anything
sub rows_query
{
	my ($what, $json, $coldef) = @_;
	my $f = $json ? 'remote_query_json' : 'remote_query';
	return mnd("SELECT * FROM govshare.$f('ROWS', 'SELECT $what', 'military_service')" . ($json ? '' : " AS $coldef"));
}
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('ROWS', 'SELECT 1', 'military_service') AS t(n int)});
is("$ret $out", '0 1', 'encoding: the fake provider answers a request') or diag($err);
($ret, $out, $err) = mnd(q{CREATE TABLE public.stored AS SELECT * FROM govshare.remote_query('ROWS',
  'SELECT bad_value', 'military_service') AS t(v text)});
like($err, qr/ERROR:  22021: the remote query to agency "ROWS" returned a value that is not valid UTF8/,
	'encoding: a value with bytes not UTF8 is refused with 22021') or diag($err);
is(mnd_sql(q{SELECT count(*) FROM pg_class WHERE relname = 'stored'}), '0', 'encoding: ... and nothing is stored');
like(last_remote(), qr/^error\|the remote query to agency "ROWS" returned a value that is not valid UTF8$/,
	'encoding: ... recorded as an error');
like(fake_log($fake{rows}{log}), qr/^cancel 4242 1234$/m, 'encoding: ... and the remote query cancelled');
($ret, $out, $err) = rows_query('bad_value', 1);
like($err, qr/ERROR:  22021: the remote query to agency "ROWS" returned a value that is not valid UTF8/,
	'encoding: ... in remote_query_json too') or diag($err);
($ret, $out, $err) = rows_query('nul_value', 0, 't(v text)');
like($err, qr/ERROR:  22021: the remote query to agency "ROWS" returned a value that is not valid UTF8/,
	'encoding: a value with a NUL byte is refused (not cut at the NUL)') or diag($err);
($ret, $out, $err) = rows_query('bad_name', 1);
like($err, qr/ERROR:  22021: the remote query to agency "ROWS" returned a column name that is not valid UTF8/,
	'encoding: a column name with bytes not UTF8 is refused as a jsonb key') or diag($err);
($ret, $out, $err) = rows_query('json_keys', 1);
is($out, '{"j": "{\"a\":1},\"y\":3", "n": "1,\"x\":2"}',
	'types: an int4 that is no number and a jsonb that is not one value are strings, adding no key') or diag($err);
($ret, $out, $err) = rows_query('bad_error', 0, 't(n int)');
like($err, qr/ERROR:  P0001: agency "ROWS" refused or failed the remote query: bad: \?\?\nDETAIL:  detail \? /,
	'encoding: an error with bytes not UTF8 is raised with "?" in their place') or diag($err);
is(last_remote(), 'error|bad: ??', 'encoding: ... and recorded so');
($ret, $out, $err) = rows_query('success_error', 0, 't(n int)');
like($err, qr/ERROR:  08000: agency "ROWS" refused or failed the remote query: all is well/,
	'types: an error whose SQLSTATE says success is raised as 08000') or diag($err);

is(mnd_sql(q{SELECT ok FROM govshare.verify_log() WHERE NOT ok}), '', 'the consumer\'s log verifies');

#
# a fast shutdown with requests waiting on the fakes, one of them just
# timed out (its provider holds the cancel request's connection)
#
my @bg = (bg_start('stop silent', 'SILENT', '60s'), bg_start('stop stall', 'STALL', '60s'),
	bg_start('stop timeout', 'STALL', '1s'));
ok(bg_waiting($bg[0]) && bg_waiting($bg[1]), 'stop: two requests wait on the fakes');
usleep(1_500_000);
my $t0 = time;
$mnd->stop('fast');
my $stop = time - $t0;
cmp_ok($stop, '<', 5, 'stop: a fast shutdown completes within 5 s (' . sprintf('%.1f', $stop) . ' s)');
bg_finish($_, $t0) for @bg;

$_->{h}->kill_kill for values %fake;
$mps->stop;
done_testing();
