# test/t/018_pooler.pl — request contexts behind a real PgBouncer in
# transaction mode.
#
# PgBouncer (Debian's package) runs as postgres on a Unix socket in the
# test's directory, pool_mode = transaction, default_pool_size = 1: its two
# clients, A and B, both log in as the consumer role mnd_app, and every
# transaction of either runs on the one server connection.
#
# Under govshare.request_scope = session (the default) a context A begins
# stays on the server connection and serves B: what the setting is for.
# With ALTER ROLE mnd_app SET govshare.request_scope = transaction:
# begin_request and begin_request_signed outside a transaction block are
# refused (25P01, with a HINT; the token is not spent); a context begun in
# A's transaction ends at its COMMIT or ROLLBACK, so B, served next on the
# same connection, reads under no context and is denied; the access log
# names A's officer only on A's records; a superuser keeps the setting from
# the consumer (SET is refused).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use IPC::Run;
use Time::HiRes qw(usleep);

my $pgbouncer = '/usr/sbin/pgbouncer';
if (!ok(-x $pgbouncer, 'PgBouncer is installed (scripts/lib.sh installs Debian\'s pgbouncer)'))
{
	done_testing();
	exit;
}

my $node = audit_node('pooler');
sub admin { return $node->safe_psql('postgres', shift); }
admin(citizen_sql(rows => 10) . q{
CREATE ROLE mnd_app LOGIN;
SELECT bind_role('mnd_app', 'MND');
SELECT bind_officer('mnd_app', 'Officer A'), bind_officer('mnd_app', 'Officer B');
GRANT SELECT ON citizen TO mnd_app;
CREATE TABLE test_key AS SELECT * FROM make_test_key();
SELECT add_agency_key('MND', public_key) FROM test_key;
});

# PgBouncer's files in the test's own directory
my $dir = "$PostgreSQL::Test::Utils::tmp_check/pgbouncer";
mkdir $dir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my ($host, $pgport) = ($node->host, $node->port);
append_to_file("$dir/userlist.txt", qq{"mnd_app" ""\n"postgres" ""\n});
append_to_file("$dir/pgbouncer.ini", qq{[databases]
p = host=$host port=$pgport dbname=postgres

[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 10
server_lifetime = 3600
server_idle_timeout = 3600
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
});

my $bouncer;
END { $bouncer->kill_kill if $bouncer; }

# Starts PgBouncer, and waits for its socket.
sub start_bouncer
{
	$bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
		'>', "$dir/stdout", '2>', "$dir/stderr");
	for (1 .. 100)
	{
		last if -S "$dir/.s.PGSQL.$port";
		usleep(100_000);
	}
	ok(-S "$dir/.s.PGSQL.$port", 'PgBouncer listens on its Unix socket');
}

sub stop_bouncer
{
	$bouncer->signal('INT');
	$bouncer->finish;
	undef $bouncer;
}

# A client of the pool: psql through PgBouncer, as mnd_app.  (The node's
# background_psql, on a copy of the node whose port is PgBouncer's.)
my $via = bless { %$node, _port => $port, _host => $dir }, 'PostgreSQL::Test::Cluster';
sub client
{
	my $c = $via->background_psql('p', on_error_stop => 0, extra_params => [ '-U', 'mnd_app' ]);
	$c->query('\set VERBOSITY verbose');
	return $c;
}

# Runs SQL in a client: (stdout, stderr).
sub in
{
	my ($c, $sql) = @_;
	$c->{stderr} = '';
	my $out = $c->query($sql);
	return ($out, $c->{stderr});
}

my $read = q{SELECT count(*) FROM citizen};
my ($out, $err);

# 1. session scope: A's context serves B
start_bouncer();
my ($a, $b) = (client(), client());
my ($pid_a) = in($a, 'SELECT pg_backend_pid()');
my ($pid_b) = in($b, 'SELECT pg_backend_pid()');
is($pid_b, $pid_a, 'A and B are served by the same server connection');
($out, $err) = in($a, q{SELECT govshare.begin_request('military_service', officer => 'Officer A', reference => 'A-1')});
is($err, '', 'session scope: A begins a request outside a transaction block');
($out, $err) = in($b, "$read; SELECT officer FROM govshare.current_request()");
is($out, "10\nOfficer A", 'session scope: B, next on the connection, reads under A\'s context (the fault)');
in($b, 'SELECT govshare.end_request()');
$a->quit;
$b->quit;
stop_bouncer();

# 2. transaction scope, set by the DBA for the role; new server connections
admin(q{ALTER ROLE mnd_app SET govshare.request_scope = 'transaction'});
start_bouncer();
($a, $b) = (client(), client());
($out, $err) = in($a, 'SHOW govshare.request_scope');
is($out, 'transaction', 'the role\'s setting applies on the pooled connection');
($out, $err) = in($a, q{SET govshare.request_scope = 'session'});
like($err, qr/ERROR:  42501: permission denied to set parameter "govshare.request_scope"/,
	'the consumer cannot change its scope back');

($out, $err) = in($a, q{SELECT govshare.begin_request('military_service', officer => 'Officer A')});
like($err, qr/ERROR:  25P01: govshare.begin_request\(\) can only be called in a transaction block/,
	'transaction scope: begin_request outside a transaction block is refused (25P01)');
like($err, qr/DETAIL:  govshare.request_scope is "transaction" for role "mnd_app"/, '... with a DETAIL');
like($err, qr/HINT:  Begin a transaction \(BEGIN\)/, '... and a HINT');

my $token = admin(q{SELECT govshare.sign_request_token(private_key, 'MND', 'military_service', 'Officer A',
                   key_id => key_id) FROM test_key});
($out, $err) = in($a, "SELECT govshare.begin_request_signed('$token')");
like($err, qr/ERROR:  25P01: govshare.begin_request_signed\(\) can only be called in a transaction block/,
	'begin_request_signed outside a transaction block is refused too');
($out, $err) = in($a, "BEGIN; SELECT govshare.begin_request_signed('$token'); $read; COMMIT");
is("$out$err", "\n10", '... before its token is spent: the same token then begins a request in a transaction');
($out, $err) = in($b, $read);
like($err, qr/ERROR:  42501: agency "MND" has declared no purpose to read governed relation "citizen"/,
	'after A\'s COMMIT, B on the same connection has no context: its read is denied');

($out, $err) = in($a, q{BEGIN; SELECT govshare.begin_request('military_service', officer => 'Officer A', reference => 'A-2')});
is($err, '', 'A begins a request in a transaction');
($out, $err) = in($a, "$read; SELECT officer, reference FROM govshare.current_request()");
is($out, "10\nOfficer A|A-2", '... and reads under it');
in($a, 'COMMIT');
($out, $err) = in($b, "SELECT count(*) FROM govshare.current_request(); SELECT pg_backend_pid()");
my @lines = split /\n/, $out;
is($lines[0], '0', 'B, next on the connection, sees no context');
my ($pid_now) = in($a, 'SELECT pg_backend_pid()');
is($lines[1], $pid_now, '... on the server connection A used');

($out, $err) = in($a, q{BEGIN; SELECT govshare.begin_request('military_service', officer => 'Officer A', reference => 'A-3'); } . $read);
is($err, '', 'A begins a request in another transaction');
in($a, 'ROLLBACK');
($out, $err) = in($b, $read);
like($err, qr/has declared no purpose/, 'after A\'s ROLLBACK, B is denied');

# several statements in one query string are one (implicit) transaction
($out, $err) = in($a, q{SELECT govshare.begin_request('military_service', officer => 'Officer A', reference => 'A-4') \; } . $read);
is("$out$err", "\n10", 'A\'s request and read sent as one query string work');
($out, $err) = in($b, $read);
like($err, qr/has declared no purpose/, '... and end with that string\'s transaction');

# the access log: A's officer on A's records only
($out, $err) = in($b, "BEGIN; SELECT govshare.begin_request('military_service', officer => 'Officer B', reference => 'B-1'); $read; COMMIT");
is("$out$err", "\n10", 'B reads under its own request');
admin('SELECT govshare.audit_flush()');
is(admin(q{SELECT string_agg(coalesce(officer, '-') || '/' || coalesce(reference, '-') || '/' || outcome, ' ' ORDER BY seq)
             FROM govshare.access_log WHERE kind = 'access' AND role_name = 'mnd_app'}),
	join(' ', 'Officer A/A-1/allowed', 'Officer A/-/allowed', '-/-/denied',
		'Officer A/A-2/allowed', 'Officer A/A-3/allowed', '-/-/denied', 'Officer A/A-4/allowed', '-/-/denied',
		'Officer B/B-1/allowed'),
	'the access log names each read\'s own officer and reference; B\'s reads under no context carry none');
like(admin(q{SELECT ok::text || ' ' || coalesce(problem, '') FROM govshare.verify_log()}), qr/^true $/,
	'the chain verifies');

$a->quit;
$b->quit;
stop_bouncer();
done_testing();
