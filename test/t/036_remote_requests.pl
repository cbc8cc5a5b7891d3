# test/t/036_remote_requests.pl — what a remote request may do on the
# provider, and what the consumer records of it (issue 21).
#
# Two clusters: the Ministry of Public Security (MPS, the provider) and
# the Ministry of National Defence (MND, the consumer, which asks with
# govshare.remote_query() and tokens signed by its Ed25519 key).
#
# Cases: (1) read-only on the provider: COPY ... TO PROGRAM, DDL, a SET
# and a set_config() that would outlive the request, temporary objects,
# LISTEN, DO, PREPARE, a session's advisory lock are each refused before
# they run, recorded as denials on both sides with the receipt, and leave
# the provider's session unchanged for the next request.  (2) Parameters:
# values with quotes, semicolons, comments and dollar quotes stay values;
# both records keep them apart from the statement text, within its limit.
# (3) Officers: a role names only itself or its bound officers unless it
# is a gateway, remotely and in a local begin_request; the provider's
# record carries the officer and the consumer's role from the signed
# token.  (4) Requests refused before anything is sent (a NULL argument,
# no endpoint, a caller bound to another agency, an unreadable key) are
# recorded as denials on the consumer's side.  (5) Prepared statements on
# a kept connection: the provider plans a query once for the requests
# whose context would plan it alike, and anew for another purpose, after
# a revocation, for another officer's record; a query that does not parse
# is the provider's error; a consumer's own prepared statement on the
# provider does not run once its request context ended.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $keys = PostgreSQL::Test::Utils::tempdir;

# an Ed25519 key pair made by openssl; the private key mode 0600
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
my $mps = node('mps', 'log_statement = all', 'log_parameter_max_length = -1');
my $mnd = node('mnd', "govshare.signing_key_file = '$keys/mnd.pem'");

$mps->safe_psql('postgres', qq{
CREATE ROLE mnd_gateway LOGIN;
ALTER ROLE mnd_gateway SET search_path = public, govshare;
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text, phone text);
INSERT INTO citizen
SELECT ('0010901' || lpad(i::text, 5, '0'))::personal_id, 'Citizen ' || i, '0912345' || lpad(i::text, 3, '0')
  FROM generate_series(1, 20) i;
INSERT INTO citizen VALUES ('001090100099', \$n\$O'Brien; DROP TABLE citizen; --\$n\$, NULL),
                           ('001090100098', 'a \$\$ b', NULL);
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'phone', 'person.phone'),
       govern('citizen'),
       add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Military service call-up', 'Law 78/2015/QH13');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full');
SELECT bind_role('mnd_gateway', 'MND');
SELECT add_agency_key('MND', \$k\$$mnd_pub\$k\$);
CREATE TABLE plain (x int);
GRANT SELECT ON plain TO mnd_gateway;
GRANT CREATE ON SCHEMA public TO mnd_gateway;
GRANT pg_execute_server_program TO mnd_gateway;
});

my $endpoint = $mps->connstr('postgres') . ' user=mnd_gateway password=unused';
$mnd->safe_psql('postgres', qq{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
SELECT add_agency('MND', 'Ministry of National Defence', is_self => true),
       add_agency('MPS', 'Ministry of Public Security');
SELECT add_agency_key('MND', \$k\$$mnd_pub\$k\$);
SELECT add_endpoint('MPS', \$c\$$endpoint\$c\$);
CREATE ROLE mnd_officer LOGIN IN ROLE govshare_requester;
});

# psql on MND as a role (the officer's by default); returns (ret, stdout, stderr)
sub mnd
{
	my ($sql, $user) = @_;
	return $mnd->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $user // 'mnd_officer' ]);
}
sub mps_sql { return $mps->safe_psql('postgres', "SET search_path = public, govshare;\n" . shift, @_); }
sub mnd_sql { return $mnd->safe_psql('postgres', @_); }

# MND's last record of a remote request, as a hash
my @remote_cols = qw(seq role_name officer outcome reason receipt_seq receipt_hash token_id);
sub last_remote
{
	my $r = mnd_sql(q{SELECT seq, role_name, officer, outcome, coalesce(reason, '<null>'),
  coalesce(receipt_seq::text, '<null>'), coalesce(encode(receipt_hash, 'hex'), '<null>'), token_id
  FROM govshare.remote_request ORDER BY seq DESC LIMIT 1});
	my %h;
	@h{@remote_cols} = split /\|/, $r, scalar(@remote_cols);
	return \%h;
}

# MPS's access row (kind 'access') made under the token id: outcome|reason
sub provider_row
{
	my ($jti, $seq) = @_;
	return mps_sql(qq{SELECT outcome || '|' || coalesce(reason, '') FROM govshare.access_log
  WHERE kind = 'access' AND token_id = '$jti' AND seq = $seq});
}

my ($ret, $out, $err);

#
# 1. Read-only on the provider: each of these is refused before it runs.
#
my $marker = "$keys/copy-to-program-ran";
my @refused = (
	[ 'COPY ... TO PROGRAM', qq{COPY (SELECT 1) TO PROGRAM 'touch $marker'}, qr/may not run COPY within a signed request/ ],
	[ 'DDL', 'CREATE TABLE public.made_by_gateway (x int)', qr/may not run CREATE TABLE within a signed request/ ],
	[ 'a SET for the session', q{SET work_mem = '77MB'}, qr/may not run SET within a signed request/ ],
	[ 'set_config() for the session', q{SELECT set_config('work_mem', '77MB', false)},
	  qr/may not call set_config\(\) within a signed request/ ],
	[ 'set_config() for the session, in a subquery', q{SELECT x FROM (SELECT set_config('role', 'postgres', false) AS x) s},
	  qr/may not call set_config\(\) within a signed request/ ],
	[ 'a temporary table', 'CREATE TEMP TABLE t_gateway AS SELECT 1 AS x', qr/may not run SELECT within a signed request|may not run CREATE TABLE AS within a signed request/ ],
	[ 'a temporary function', q{CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'},
	  qr/may not run CREATE FUNCTION within a signed request/ ],
	[ 'LISTEN', 'LISTEN gateway_channel', qr/may not run LISTEN within a signed request/ ],
	[ 'a DO block', q{DO $$BEGIN PERFORM 1; END$$}, qr/may not run DO within a signed request/ ],
	[ 'PREPARE', 'PREPARE p AS SELECT 1', qr/may not run PREPARE within a signed request/ ],
	[ "a session's advisory lock", 'SELECT pg_advisory_lock(4242)', qr/may not call pg_advisory_lock\(\) within a signed request/ ],
	[ 'NOTIFY through pg_notify()', q{SELECT pg_notify('c', 'x')}, qr/may not call pg_notify\(\) within a signed request/ ],
	[ 'pg_prepared_statements', 'SELECT count(*)::text FROM pg_prepared_statements',
	  qr/may not call pg_prepared_statement\(\) within a signed request/ ],
	[ "EXECUTE of a statement govshare prepared for requests", 'EXECUTE govshare_query_0(1)',
	  qr/may not run EXECUTE govshare_query_0 within a signed request/ ],
	[ 'EXPLAIN EXECUTE of one', 'EXPLAIN (COSTS OFF) EXECUTE govshare_query_0(1)',
	  qr/may not run EXPLAIN EXECUTE govshare_query_0 within a signed request/ ],
	[ 'DEALLOCATE ALL', 'DEALLOCATE ALL', qr/may not run DEALLOCATE ALL within a signed request/ ],
);
for my $c (@refused)
{
	my ($what, $query, $msg) = @$c;
	($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$query\$q\$, 'military_service') AS t(x text)});
	isnt($ret, 0, "read-only, $what: the remote query fails");
	like($err, qr/ERROR:  42501: agency "MPS" refused or failed the remote query: agency "MND" /,
		"read-only, $what: refused by the provider (42501)") or diag($err);
	like($err, $msg, "read-only, $what: ... naming what was refused") or diag($err);
	my $rec = last_remote();
	is($rec->{outcome}, 'denied', "read-only, $what: MND records a denial");
	isnt($rec->{receipt_seq}, '<null>', "read-only, $what: ... with the provider's receipt");
	like(provider_row($rec->{token_id}, $rec->{receipt_seq} eq '<null>' ? 0 : $rec->{receipt_seq}),
		qr/^denied\|.*within a signed request/, "read-only, $what: the receipt names MPS's denial");
}
ok(!-e $marker, 'read-only: COPY TO PROGRAM ran nothing');
is(mps_sql(q{SELECT count(*) FROM pg_class WHERE relname IN ('made_by_gateway', 't_gateway')}), '0',
	'read-only: no table was made');

# In one session of MND, so that every request goes over one kept
# connection: the provider's session is as before after all the refusals.
my $state = q{SELECT * FROM govshare.remote_query('MPS',
  $q$SELECT pg_backend_pid() || ' ' || current_setting('work_mem') || ' ' || current_user || ' ' ||
         (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) || ' ' ||
         (SELECT count(*) FROM pg_listening_channels()) || ' ' ||
         (SELECT count(*) FROM pg_class WHERE relpersistence = 't')$q$,
  'military_service') AS t(x text);};
($ret, $out, $err) = $mnd->psql('postgres', join("\n", '\\set VERBOSITY verbose', $state,
	(map { qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$_->[1]\$q\$, 'military_service') AS t(x text);} } @refused),
	$state), extra_params => [ '-U', 'mnd_officer' ], on_error_stop => 0);
my @states = split /\n/, $out;
is(scalar(@states), 2, 'read-only: in one session, the reads before and after the refusals succeed') or diag($err);
like($states[0], qr/^\d+ 4MB mnd_gateway 0 0 0$/, 'read-only: ... the first in a clean session');
my ($pid0) = split / /, $states[0];
is($states[1], "$pid0 4MB mnd_gateway 0 0 0",
	'read-only: ... the last on the same provider session, with no setting, role, lock, channel or temporary table left');
is(scalar(() = $err =~ /ERROR:  42501: agency "MPS" refused or failed the remote query: agency "MND" may not/g), scalar(@refused),
	'read-only: ... each refusal refused there too');

# reads still work: a plain read, SET LOCAL, a cursor-free query, EXPLAIN is a read too
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS',
  $q$SELECT full_name FROM public.citizen WHERE personal_id = '001090100003'$q$, 'military_service') AS t(x text)});
is("$ret $out", '0 Citizen 3', 'read-only: a read of governed data is allowed') or diag($err);

# a write is refused by the read-only transaction itself (not only by the rules)
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS',
  $q$WITH w AS (INSERT INTO public.plain VALUES (1) RETURNING x) SELECT x::text FROM w$q$, 'military_service') AS t(x text)});
isnt($ret, 0, 'read-only: an INSERT into an ungoverned table is refused');
like($err, qr/25006: agency "MPS" refused or failed the remote query: cannot execute (INSERT|SELECT) in a read-only transaction/,
	'read-only: ... by the read-only transaction (25006)') or diag($err);
is(mps_sql('SELECT count(*) FROM plain'), '0', 'read-only: ... and nothing was written');

#
# 2. Parameters: sent out of line, recorded apart from the text.
#
# MPS's access row of the token: statement text | params (jsonb text)
sub provider_params
{
	my ($jti) = @_;
	return mps_sql(qq{SELECT statement_text || '|' || coalesce(detail->>'params', '<none>') FROM govshare.access_log
  WHERE kind = 'access' AND token_id = '$jti' ORDER BY seq DESC LIMIT 1});
}
my $q_by_name = 'SELECT personal_id::text, full_name FROM public.citizen WHERE full_name = $1';
for my $c ([ 'quotes, a semicolon and a comment', q{O'Brien; DROP TABLE citizen; --}, '001090100099' ],
	[ 'dollar quotes', 'a $$ b', '001090100098' ])
{
	my ($what, $value, $id) = @$c;
	($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$q_by_name\$q\$, 'military_service',
  params => ARRAY[\$v\$$value\$v\$]) AS t(personal_id text, full_name text)});
	is($ret, 0, "params, $what: the query succeeds") or diag($err);
	is($out, "$id|$value", "params, $what: the value matched as a value");
	my $rec = last_remote();
	is(mnd_sql("SELECT params->>0 FROM govshare.remote_request WHERE seq = $rec->{seq}"), $value,
		"params, $what: MND's record keeps the parameter apart");
	is(provider_params($rec->{token_id}), $q_by_name . '|' . mnd_sql(q{SELECT jsonb_build_array($v$} . $value . q{$v$)::text}),
		"params, $what: MPS's record has the statement text as sent and the parameter apart");
}
is(mps_sql('SELECT count(*) FROM citizen'), '22', 'params: the table is still there, whole');

# an injection attempt is a value that matches nothing
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS', $q$SELECT full_name FROM public.citizen WHERE full_name = $1$q$,
  'military_service', params => ARRAY[$v$x' OR '1' = '1$v$]) AS t(full_name text)});
is("$ret|$out", '0|', 'params: a value that would widen the WHERE clause matches nothing') or diag($err);

# several parameters, a typed one and a NULL
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS',
  $q$SELECT full_name || ' ' || ($2::text IS NULL) FROM public.citizen WHERE personal_id = $1$q$,
  'military_service', params => ARRAY['001090100003', NULL]) AS t(x text)});
is("$ret|$out", '0|Citizen 3 true', 'params: a national type and a NULL bind as such') or diag($err);
is(mps_sql(q{SELECT detail->'params' FROM govshare.access_log WHERE kind = 'access' AND token_id = '} . last_remote()->{token_id} . q{'}),
	'["001090100003", null]', 'params: ... and MPS records both, NULL as null');

# a parameter is recorded within the statement text's limit (audit_text_max, 4 kB)
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS',
  $q$SELECT full_name FROM public.citizen WHERE personal_id = '001090100004' AND length($1) > 0$q$,
  'military_service', params => ARRAY[repeat('p', 10000)]) AS t(x text)});
is("$ret|$out", '0|Citizen 4', 'params: a 10 kB parameter is sent whole') or diag($err);
is(mps_sql(q{SELECT length(detail->'params'->>0) FROM govshare.access_log WHERE kind = 'access' AND token_id = '}
	. last_remote()->{token_id} . q{'}), '4096', 'params: ... and MPS records its first 4 kB');
is(mnd_sql(q{SELECT length(params->>0) FROM govshare.remote_request ORDER BY seq DESC LIMIT 1}), '4096',
	'params: ... as MND does');

# a query that uses $1 without a parameter fails on the provider
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS', $q$SELECT $1::text$q$, 'military_service') AS t(x text)});
like($err, qr/ERROR:  08P01: agency "MPS" refused or failed the remote query: bind message supplies 0 parameters|there is no parameter \$1/,
	'params: $1 without a parameter is the provider\'s error') or diag($err);

# a parameter array of two dimensions is refused before anything is sent
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS', 'SELECT 1', 'military_service',
  params => ARRAY[ARRAY['a'], ARRAY['b']]) AS t(x text)});
like($err, qr/2202E: the parameters of a remote query must be a one-dimensional array/, 'params: a 2-D array is refused')
  or diag($err);

#
# 3. Accountable officers: a role names only itself or its bound officers,
# unless it is a gateway; the provider's record carries both, signed.
#
$mnd->safe_psql('postgres', q{
CREATE ROLE recruitment_app LOGIN IN ROLE govshare_requester;
CREATE ROLE portal_gateway LOGIN IN ROLE govshare_requester;
CREATE ROLE portal_user LOGIN IN ROLE portal_gateway;
CREATE ROLE mnd_admin LOGIN IN ROLE govshare_admin;
});
my $q_one = q{SELECT full_name FROM public.citizen WHERE personal_id = '001090100005'};
sub ask_as
{
	my ($role, $officer) = @_;
	my $arg = defined $officer ? qq{, officer => \$o\$$officer\$o\$} : '';
	return mnd(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$q_one\$q\$, 'military_service'$arg) AS t(x text)}, $role);
}

($ret, $out, $err) = ask_as('recruitment_app', 'Lt. Tran Van Binh');
isnt($ret, 0, 'officers: an unbound officer is refused');
like($err, qr/ERROR:  42501: role "recruitment_app" may not act as officer "Lt. Tran Van Binh"/,
	'officers: ... saying the role may not act as the officer') or diag($err);
like($err, qr/HINT:  .*govshare\.bind_officer\(role, officer\)/, 'officers: ... with the hint');
my $rec = last_remote();
is(join(' ', @$rec{qw(role_name officer outcome)}), 'recruitment_app Lt. Tran Van Binh denied',
	'officers: MND records the refusal as a denial, with role and officer');
is($rec->{receipt_seq}, '<null>', 'officers: ... and nothing was sent (no receipt)');
like($rec->{reason}, qr/may not act as officer/, 'officers: ... with the reason');

# a role may name itself (the default) without a binding
($ret, $out, $err) = ask_as('recruitment_app');
is("$ret $out", '0 Citizen 5', 'officers: a role acts as itself by default') or diag($err);
is(last_remote()->{officer}, 'recruitment_app', 'officers: ... and is recorded as the officer');

# only an administrator binds officers
($ret, $out, $err) = mnd(q{SELECT govshare.bind_officer('recruitment_app', 'Lt. Tran Van Binh')}, 'recruitment_app');
like($err, qr/42501: permission denied for function bind_officer/, 'officers: a requester cannot bind itself an officer')
  or diag($err);
($ret, $out, $err) = mnd(q{SELECT govshare.bind_officer('recruitment_app', 'Lt. Tran Van Binh')}, 'mnd_admin');
is($ret, 0, 'officers: govshare_admin binds an officer to the role') or diag($err);

($ret, $out, $err) = ask_as('recruitment_app', 'Lt. Tran Van Binh');
is("$ret $out", '0 Citizen 5', 'officers: the bound officer may be named') or diag($err);
$rec = last_remote();
is(join(' ', @$rec{qw(role_name officer outcome)}), 'recruitment_app Lt. Tran Van Binh allowed',
	'officers: MND records role and officer');
is(mps_sql(qq{SELECT officer || ' ' || role_name || ' ' || (detail->>'consumer_role') FROM govshare.access_log
  WHERE kind = 'access' AND token_id = '$rec->{token_id}'}), 'Lt. Tran Van Binh mnd_gateway recruitment_app',
	"officers: MPS's record carries the officer and MND's role, from the signed token");
($ret, $out, $err) = ask_as('recruitment_app', 'Maj. Le Thi Hoa');
like($err, qr/may not act as officer "Maj. Le Thi Hoa"/, 'officers: ... and no other');

# a gateway names any officer; its members too
($ret, $out, $err) = ask_as('portal_user', 'Citizen portal user 4711');
like($err, qr/may not act as officer/, 'gateway: not yet marked, the portal may not name officers');
($ret, $out, $err) = mnd(q{SELECT govshare.set_gateway('portal_gateway', true)}, 'mnd_admin');
is($ret, 0, 'gateway: govshare_admin marks a gateway') or diag($err);
($ret, $out, $err) = ask_as('portal_user', 'Citizen portal user 4711');
is("$ret $out", '0 Citizen 5', 'gateway: a member of the gateway names any officer') or diag($err);
is(mnd_sql(q{SELECT role::text || ' ' || coalesce(officer, '(any)') || ' ' || gateway FROM govshare.officers ORDER BY gateway, role::text}),
	"recruitment_app Lt. Tran Van Binh false\nportal_gateway (any) true", 'officers: the view lists bindings and gateways');

# unbinding and unmarking take effect at the next request
mnd(q{SELECT govshare.unbind_officer('recruitment_app', 'Lt. Tran Van Binh'), govshare.set_gateway('portal_gateway', false)},
	'mnd_admin');
($ret, $out, $err) = ask_as('recruitment_app', 'Lt. Tran Van Binh');
like($err, qr/may not act as officer/, 'officers: an unbound officer is refused at once');
($ret, $out, $err) = ask_as('portal_user', 'Citizen portal user 4711');
like($err, qr/may not act as officer/, 'gateway: ... and so is an unmarked gateway');
($ret, $out, $err) = mnd(q{SELECT govshare.unbind_officer('recruitment_app', 'Nobody')}, 'mnd_admin');
like($err, qr/42704: officer "Nobody" is not bound to role "recruitment_app"/, 'officers: unbinding an unknown officer fails');

# local begin_request follows the same rule
$mnd->safe_psql('postgres', q{SELECT govshare.add_purpose('military_service', 'Military service call-up', 'Law 78/2015/QH13')});
($ret, $out, $err) = mnd(q{SELECT govshare.begin_request('military_service', 'Col. Pham')}, 'recruitment_app');
like($err, qr/42501: role "recruitment_app" may not act as officer "Col. Pham"/, 'officers: begin_request refuses an unbound officer')
  or diag($err);
($ret, $out, $err) = mnd(q{SELECT govshare.begin_request('military_service')}, 'recruitment_app');
is($ret, 0, 'officers: begin_request without an officer is allowed') or diag($err);
mnd(q{SELECT govshare.bind_officer('recruitment_app', 'Col. Pham')}, 'mnd_admin');
($ret, $out, $err) = mnd(q{SELECT govshare.begin_request('military_service', 'Col. Pham'); SELECT officer FROM govshare.current_request()},
	'recruitment_app');
is("$ret $out", "0 \nCol. Pham", 'officers: begin_request accepts a bound officer') or diag($err);

#
# 4. Requests refused before anything is sent are recorded as denials.
#
# every record of the requests above is written first: a strict
# statement's result record is queued after its rows, and no receipt waits
# for it
$mps->poll_query_until('postgres', q{SELECT coalesce(sum(queued), 0) = 0 FROM govshare.audit_status()})
  or die 'the audit queue of MPS did not empty';
my $before = mps_sql(q{SELECT count(*) FROM govshare.access_log});
for my $c ([ 'a NULL query', q{SELECT * FROM govshare.remote_query('MPS', NULL, 'military_service') AS t(x text)},
		qr/22004: the query of a remote query must not be NULL/, 'MPS' ],
	[ 'no endpoint', q{SELECT * FROM govshare.remote_query('MOF', 'SELECT 1', 'military_service') AS t(x text)},
		qr/42704: .*"MOF"/, 'MOF' ],
	[ 'a caller bound to another agency', q{SELECT * FROM govshare.remote_query('MPS', 'SELECT 1', 'military_service') AS t(x text)},
		qr/42501: role "mps_liaison" acts for agency "MPS" and may not make remote queries/, 'MPS', 'mps_liaison' ],
	[ 'an unreadable signing key', q{SELECT * FROM govshare.remote_query('MPS', 'SELECT 1', 'military_service') AS t(x text)},
		qr/signing key|govshare\.signing_key_file/, 'MPS', undef, 1 ])
{
	my ($what, $sql, $msg, $target, $role, $breakkey) = @$c;
	if ($what eq 'a caller bound to another agency')
	{
		$mnd->safe_psql('postgres', q{CREATE ROLE mps_liaison LOGIN IN ROLE govshare_requester; SELECT govshare.bind_role('mps_liaison', 'MPS')});
	}
	if ($breakkey)
	{
		chmod(0000, "$keys/mnd.pem");
		rename("$keys/mnd.pem", "$keys/mnd.pem.away") or die "rename: $!";
	}
	my $n = mnd_sql(q{SELECT count(*) FROM govshare.remote_request});
	($ret, $out, $err) = mnd($sql, $role);
	if ($breakkey)
	{
		rename("$keys/mnd.pem.away", "$keys/mnd.pem") or die "rename: $!";
		chmod(0600, "$keys/mnd.pem");
	}
	isnt($ret, 0, "refused before sending, $what: the call fails");
	like($err, $msg, "refused before sending, $what: ... with its error") or diag($err);
	is(mnd_sql(q{SELECT count(*) FROM govshare.remote_request}), $n + 1, "refused before sending, $what: MND records it");
	$rec = last_remote();
	is(join(' ', $rec->{outcome}, $rec->{receipt_seq}, mnd_sql("SELECT target FROM govshare.remote_request WHERE seq = $rec->{seq}")),
		"denied <null> $target", "refused before sending, $what: ... as a denial, without a receipt");
	is($rec->{role_name}, $role // 'mnd_officer', "refused before sending, $what: ... naming the role");
}
is(mps_sql(q{SELECT count(*) FROM govshare.access_log}), $before, 'refused before sending: MPS saw none of them');

#
# 5. Prepared statements on a kept connection.
#
mps_sql(q{SELECT add_purpose('conscription_check', 'Conscription eligibility check', 'Law 78/2015/QH13');
SELECT share('MND', '{conscription_check}', '{person.personal_id}', 'full');
SELECT share('MND', '{conscription_check}', '{person.full_name}', 'masked');});
mps_sql(q{ALTER ROLE mnd_gateway SET log_planner_stats = on});
my $log_at = -s $mps->logfile;
my $q_prep = 'SELECT full_name FROM public.citizen WHERE personal_id = $1';
my $prep = $mnd->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'mnd_officer', '-v', 'VERBOSITY=verbose' ]);
sub prep_ask
{
	my ($purpose, $id, $query) = @_;
	$prep->{stderr} = '';
	my $o = $prep->query(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$} . ($query // $q_prep)
		. qq{\$q\$, '$purpose', params => ARRAY['$id']) AS t(x text)});
	return ($o, $prep->{stderr});
}
# MPS's access row of MND's last request: purpose, officer, statement text
sub provider_request
{
	my $jti = last_remote()->{token_id};
	return mps_sql(qq{SELECT purpose || '|' || officer || '|' || statement_text FROM govshare.access_log
  WHERE kind = 'access' AND token_id = '$jti'});
}
# the query runs often enough for the plan cache to keep a generic plan
# (it plans the first five runs with their parameter's value)
my @asked = (
	[ 'military_service', '001090100006', 'Citizen 6', 'the first request (a new connection)' ],
	[ 'military_service', '001090100007', 'Citizen 7', 'the second, which prepares the statements' ],
	(map { [ 'military_service', "00109010000$_", "Citizen $_", "the request for citizen $_, through the prepared query" ] } 1 .. 8),
	[ 'conscription_check', '001090100008', undef, 'another purpose, whose rule masks the name' ],
	[ 'military_service', '001090100009', 'Citizen 9', 'the first purpose again' ]);
my $masked;
for my $a (@asked)
{
	my ($purpose, $id, $want, $what) = @$a;
	($out, $err) = prep_ask($purpose, $id);
	if (defined $want)
	{
		is("$out$err", $want, "prepared: $what: disclosed in full");
	}
	else
	{
		$masked = $out;
		isnt($out, 'Citizen 8', "prepared: $what: not in full") or diag($err);
		like($out, qr/\*/, "prepared: $what: masked") or diag($err);
	}
	is(provider_request(), "$purpose|mnd_officer|$q_prep", "prepared: $what: MPS records the purpose and the text");
}
like(slurp_file($mps->logfile, $log_at), qr/execute govshare_query_0: \Q$q_prep\E/,
	'prepared: the provider ran the query as a prepared statement');

# Whether the provider planned each run of the query: log_planner_stats
# logs "PLANNER STATISTICS" just before the run's "execute" line.
sub planned_runs
{
	my ($from, $text) = @_;
	my (%last, @runs);
	for my $line (split /\n/, slurp_file($mps->logfile, $from))
	{
		next unless $line =~ /\[(\d+)\] .*?LOG:  (.*)$/;
		my ($pid, $msg) = ($1, $2);
		push @runs, ($last{$pid} // '') eq 'PLANNER STATISTICS' ? 1 : 0
		  if $msg =~ /^execute [^:]+: \Q$text\E$/;
		$last{$pid} = $msg;
	}
	return @runs;
}
my @planned = planned_runs($log_at, $q_prep);
is(scalar(@planned), 12, 'prepared: the provider logged the twelve runs of the query');
ok((grep { !$_ } @planned[0 .. 9]) >= 1,
	'prepared: some of the ten runs for the same purpose ran a plan kept from an earlier request')
  or diag(join('', @planned));
is($planned[10], 1, 'prepared: ... the run for another purpose was planned anew');
is($planned[11], 1, 'prepared: ... and so was the first purpose\'s next run');

# another officer, the same plan: MPS's record names the officer of the request
$mnd->safe_psql('postgres', q{SELECT govshare.bind_officer('mnd_officer', 'Capt. Do Van Hai')});
$prep->{stderr} = '';
$out = $prep->query(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$q_prep\$q\$, 'military_service',
  officer => 'Capt. Do Van Hai', params => ARRAY['001090100010']) AS t(x text)});
is("$out$prep->{stderr}", 'Citizen 10', 'prepared: another officer, the same purpose');
is(provider_request(), "military_service|Capt. Do Van Hai|$q_prep", "prepared: ... MPS's record names that officer");

# a revocation on the provider applies to the next request over the kept
# connection, whose context is alike the last one's: the purpose keeps a
# rule, the name lost its own
($out, $err) = prep_ask('conscription_check', '001090100008');
is("$out$err", $masked, 'prepared: a request for the second purpose, masked');
mps_sql(q{SELECT revoke(id, 'no longer needed') FROM rule
  WHERE 'conscription_check' = ANY (purposes) AND 'person.full_name' = ANY (elements)});
($out, $err) = prep_ask('conscription_check', '001090100008');
like($err, qr/42501: agency "MPS" refused or failed the remote query: column "full_name" of relation "citizen" is denied to agency "MND" for purpose "conscription_check"/,
	'prepared: after the revocation, the next request alike is refused') or diag("$out$err");
is(last_remote()->{outcome}, 'denied', 'prepared: ... recorded as a denial');
($out, $err) = prep_ask('military_service', '001090100011');
is("$out$err", 'Citizen 11', 'prepared: ... and the other purpose still reads, on the same connection');

# what earlier requests prepared is not shown to a later one, nor run by it
($out, $err) = prep_ask('military_service', '0', q{SELECT count(*)::text FROM pg_prepared_statements WHERE $1 = '0'});
like($err, qr/42501: .*may not call pg_prepared_statement\(\) within a signed request/,
	'prepared: a request may not list the statements prepared on the connection') or diag("$out$err");
for my $c ([ 'EXPLAIN (COSTS OFF) EXECUTE govshare_query_0', 'EXPLAIN EXECUTE govshare_query_0', 'nor explain one, which would show its text' ],
	[ 'EXECUTE govshare_query_0', 'EXECUTE govshare_query_0', 'nor run one' ])
{
	$prep->{stderr} = '';
	$prep->query(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$c->[0]('001090100001')\$q\$,
  'military_service') AS t(x text)});
	like($prep->{stderr}, qr/42501: .*may not run \Q$c->[1]\E within a signed request/, "prepared: $c->[2]")
	  or diag($prep->{stderr});
}
($out, $err) = prep_ask('military_service', '001090100011');
is("$out$err", 'Citizen 11', 'prepared: ... and the next request runs its own, on the same connection');

# a query that does not parse is the provider's error, whether sent
# unnamed (the first time) or prepared (the second); it is not prepared
# again (the third), and the connection serves on
my $bad = 'SELEC full_name FROM public.citizen WHERE personal_id = $1';
my $bad_at = -s $mps->logfile;
for my $n (1 .. 3)
{
	($out, $err) = prep_ask('military_service', '1', $bad);
	like($err, qr/42601: agency "MPS" refused or failed the remote query: syntax error at or near "SELEC"/,
		"prepared: a query that does not parse fails with the provider's error ($n)") or diag($err);
	is(last_remote()->{outcome}, 'error', "prepared: ... recorded as an error ($n)");
}
is(scalar(() = slurp_file($mps->logfile, $bad_at) =~ /ERROR:  syntax error at or near "SELEC"/g), 3,
	'prepared: ... each time on the provider');
($out, $err) = prep_ask('military_service', '001090100012');
is("$out$err", 'Citizen 12', 'prepared: ... and the next request succeeds');

# texts sent twice take the 32 slots; the one used least lately makes room
my $evict_at = -s $mps->logfile;
$prep->{stderr} = '';
$out = $prep->query(q{SELECT count(*) FROM generate_series(1, 34) i, generate_series(1, 2) j,
  LATERAL govshare.remote_query('MPS', 'SELECT ' || i || '::text WHERE $1::int > 0', 'military_service',
    params => ARRAY[j::text]) AS t(x text)
  WHERE t.x = i::text});
is("$out$prep->{stderr}", '68', 'prepared: 34 texts, each sent twice');
my $evict_log = slurp_file($mps->logfile, $evict_at);
is(scalar(() = $evict_log =~ /execute <unnamed>: DEALLOCATE govshare_query_\d+$/mg), 3,
	'prepared: ... three statements deallocated to make room for the last three texts');
is(scalar(() = $evict_log =~ /execute govshare_query_\d+: SELECT \d+::text WHERE \$1::int > 0$/mg), 34,
	'prepared: ... each text ran once as a prepared statement');
$prep->quit;

# On the provider, a consumer's own prepared statement (protocol-level, as
# pgbench -M prepared makes them) reads within its request context, and
# again in the next one alike, but not once the context ended.
my $script = "$keys/prepared.sql";
open(my $fh, '>', $script) or die "open: $!";
print $fh "\\set n :n + 1\n\\if :n <= 2\nSELECT govshare.begin_request('military_service');\n\\endif\n"
  . "SELECT full_name FROM public.citizen WHERE personal_id = '001090100013';\n"
  . "\\if :n <= 2\nSELECT govshare.end_request();\n\\endif\n";
close($fh);
chmod(0644, $script);
my ($pb_out, $pb_err) = ('', '');
IPC::Run::run([ 'pgbench', '-n', '-M', 'prepared', '-t', '3', '-D', 'n=0', '-f', $script, '-U', 'mnd_gateway',
	'-h', $mps->host, '-p', $mps->port, 'postgres' ], '>', \$pb_out, '2>', \$pb_err);
like($pb_err, qr/client 0 script 0 aborted in command \d+ query 0: ERROR:  agency "MND" has declared no purpose to read governed relation "citizen"/,
	'prepared on the provider: in the third transaction, with no context, the prepared read is refused') or diag("$pb_out$pb_err");
is(mps_sql(q{SELECT count(*) FROM govshare.access_log WHERE kind = 'access' AND role_name = 'mnd_gateway'
  AND statement_text LIKE '%''001090100013''%' AND outcome = 'allowed'}), '2',
	'prepared on the provider: ... the reads within the two contexts before were served and recorded');

done_testing();
