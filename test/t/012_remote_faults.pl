# test/t/012_remote_faults.pl — remote queries against providers that
# misbehave: a provider cannot hang, overflow or corrupt the consumer.
#
# Two clusters: the provider (MPS) and the consumer (MND).  Two fake
# providers, small Perl servers on 127.0.0.1 that exit on their own:
# 'silent' accepts connections and never answers; 'stall' answers the
# startup (its backend pid 4242, cancel key 1234), then never answers a
# query, and holds every connection, cancel requests included, open.
#
# Cases:
#   1. deadlines: against each fake, govshare.remote_timeout ends the
#      request with 57014 and at once (no blocking cancel); the stalled
#      provider gets a well-formed cancel request; pg_cancel_backend and
#      pg_terminate_backend of a waiting backend take effect within 3 s;
#      host names resolved by govshare (localhost, a list with a name that
#      does not resolve);
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
});
provider_db('postgres', 'MPS');

# The fake providers: one process per connection, each ending on its own.
# 'silent' never answers; 'stall' answers the startup, then nothing, and
# holds every connection (cancel requests included) open.
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
			last;
		}
	}
	sleep 1 while 1;			# holds the connection until the alarm
}
FAKE
my %fake;
for my $mode (qw(silent stall))
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
       add_agency('NXH', 'A host that does not resolve'),
       add_agency('SILENT', 'A silent fake'),
       add_agency('STALL', 'A stalling fake');
SELECT add_endpoint('MPS', 'host=$mps_sock port=$mps_port dbname=postgres user=mnd_gateway'),
       add_endpoint('NXH', 'host=nonexistent.invalid port=$mps_port dbname=postgres user=mnd_gateway'),
       add_endpoint('SILENT', 'host=127.0.0.1 port=$fake{silent}{port} dbname=x user=x sslmode=disable gssencmode=disable'),
       add_endpoint('STALL', 'host=127.0.0.1 port=$fake{stall}{port} dbname=x user=x sslmode=disable gssencmode=disable');
CREATE ROLE mnd_officer LOGIN IN ROLE govshare_requester;
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
	like($berr, qr/terminating connection due to administrator command/, "$mode: ... which says so")
	  or diag($berr);

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
