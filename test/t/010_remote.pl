# test/t/010_remote.pl — remote queries between agencies, and an
# inspectorate's live copy of the provider's access log.
#
# Three clusters: the Ministry of Public Security (MPS, the provider, with
# wal_level = logical), the Ministry of National Defence (MND, the
# consumer, which asks with govshare.remote_query() and tokens signed by
# its Ed25519 key), and an inspectorate that receives every insert into
# MPS's access log by logical replication (publish = 'insert').
#
# Cases: allowed rows (remote_query and remote_query_json) with MND's
# record of the request naming the provider's receipt; a masked column; a
# denied column, purpose and write; refused tokens (revoked key, unknown
# key); a replayed token taken from the provider's server log; the network
# cut mid-stream (provider stopped) and a restart; a cancel; the timeout;
# connection reuse; no secret of the endpoint shown anywhere; the copy at
# the inspectorate equal to the log and verifying, tampering on MPS not
# replicated.  govshare-verify is run on the three logs when it is
# installed.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MIME::Base64;

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
my $mps_pub = make_key('mps');
my $mnd_pub = make_key('mnd');
my $mnd2_pub = make_key('mnd2');

sub node
{
	my ($name, $logical, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init($logical ? (allows_streaming => 'logical') : ());
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'govshare'",
		"govshare.audit_mode = 'strict'",
		"govshare.audit_timeout = '60s'", @conf) . "\n");
	$node->start;
	return $node;
}

# The provider logs every statement with its parameters (case 5 reads a
# token out of its log).
my $mps = node('mps', 1, "govshare.signing_key_file = '$keys/mps.pem'",
	"log_statement = 'all'", 'log_parameter_max_length = -1');
my $mnd = node('mnd', 0, "govshare.signing_key_file = '$keys/mnd.pem'");
my $insp = node('inspectorate', 0);

my $rows = 300;
$mps->safe_psql('postgres', qq{
CREATE ROLE mnd_gateway LOGIN;
ALTER ROLE mnd_gateway SET search_path = public, govshare;
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text, phone text);
INSERT INTO citizen
SELECT ('0010901' || lpad(i::text, 5, '0'))::personal_id, 'Citizen ' || i, '0912345' || lpad(i::text, 3, '0')
  FROM generate_series(1, $rows) i;
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'phone', 'person.phone'),
       govern('citizen'),
       add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Military service call-up', 'Law 78/2015/QH13'),
       add_purpose('conscription_review', 'Review of a call-up decision', 'Law 78/2015/QH13'),
       add_purpose('tax_audit', 'Tax audit', 'Law 38/2019/QH14');
SELECT share('MND', '{military_service, conscription_review}', '{person.personal_id, person.full_name}', 'full');
SELECT share('MND', '{military_service}', '{person.phone}', 'masked');
SELECT bind_role('mnd_gateway', 'MND');
GRANT SELECT, UPDATE ON citizen TO mnd_gateway;
SELECT add_agency_key('MPS', \$k\$$mps_pub\$k\$);
CREATE PUBLICATION govshare_audit FOR TABLE govshare.access_log WITH (publish = 'insert');
});
my $mnd_kid = $mps->safe_psql('postgres', qq{SELECT govshare.add_agency_key('MND', \$k\$$mnd_pub\$k\$)});
like($mnd_kid, qr/^[A-Za-z0-9_-]{43}$/, 'MPS registers MND\'s public key');

# the endpoint holds a password (trust authentication ignores it)
my $secret = 's3cretPw';
my $endpoint = $mps->connstr('postgres') . " user=mnd_gateway password=$secret";
$mnd->safe_psql('postgres', qq{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
SELECT add_agency('MND', 'Ministry of National Defence', is_self => true),
       add_agency('MPS', 'Ministry of Public Security'),
       add_agency('MOH', 'Ministry of Health');
SELECT add_agency_key('MND', \$k\$$mnd_pub\$k\$);
SELECT add_endpoint('MPS', \$c\$$endpoint\$c\$);
CREATE ROLE mnd_officer LOGIN IN ROLE govshare_requester;
SELECT bind_officer('mnd_officer', o) FROM unnest(ARRAY['Lt. Nguyen Van An', 'Lt. Tran', 'Maj. Le']) o;
CREATE ROLE mnd_admin LOGIN IN ROLE govshare_admin;
});

# the inspectorate subscribes to MPS's access log
$insp->safe_psql('postgres', 'CREATE DATABASE copy');
$insp->safe_psql('copy', 'CREATE EXTENSION govshare');
my $mps_conn = $mps->connstr('postgres');
$insp->safe_psql('copy', "CREATE SUBSCRIPTION audit_copy CONNECTION \$c\$$mps_conn\$c\$ PUBLICATION govshare_audit");
$insp->wait_for_subscription_sync($mps, 'audit_copy');

# psql on MND as the officer; returns (ret, stdout, stderr), errors verbose
sub mnd
{
	my ($sql, $user) = @_;
	return $mnd->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		extra_params => [ '-U', $user // 'mnd_officer' ]);
}
sub mps_sql { return $mps->safe_psql('postgres', "SET search_path = public, govshare;\n" . shift, @_); }
sub mnd_sql { return $mnd->safe_psql('postgres', @_); }

# MND's last record of a remote request, as a hash
my @remote_cols = qw(seq target role_name officer purpose reference token_id query rows outcome reason
  receipt_seq receipt_hash);
sub last_remote
{
	my $r = mnd_sql(q{SELECT seq, target, role_name, officer, purpose, coalesce(reference, '<null>'),
  token_id, query, coalesce(rows::text, '<null>'), outcome, coalesce(reason, '<null>'),
  coalesce(receipt_seq::text, '<null>'), coalesce(encode(receipt_hash, 'hex'), '<null>')
  FROM govshare.remote_request ORDER BY seq DESC LIMIT 1});
	my %h;
	@h{@remote_cols} = split /\|/, $r, scalar(@remote_cols);
	return \%h;
}
# MPS's access rows (kind 'access') made under the token id
sub provider_access
{
	my ($jti) = @_;
	my $r = mps_sql(qq{SELECT seq || '|' || encode(hash, 'hex') || '|' || outcome || '|' || agency || '|'
  || role_name || '|' || coalesce(officer, '') || '|' || coalesce(purpose, '') || '|'
  || coalesce(reference, '') || '|' || coalesce(reason, '')
  FROM govshare.access_log WHERE kind = 'access' AND token_id = '$jti' ORDER BY seq});
	my @rows;
	for my $line (split /\n/, $r)
	{
		my %h;
		@h{qw(seq hash outcome agency role_name officer purpose reference reason)} = split /\|/, $line, 9;
		push @rows, \%h;
	}
	return @rows;
}
# the receipt on MND is the provider's access row of the token, alone
sub receipt_matches
{
	my ($rec, $what) = @_;
	my @p = provider_access($rec->{token_id});
	is(scalar(@p), 1, "$what: MPS has one access row with MND's token id");
	return unless @p;
	is("$rec->{receipt_seq} $rec->{receipt_hash}", "$p[0]{seq} $p[0]{hash}",
		"$what: MND's receipt is that row's seq and hash");
	return $p[0];
}

my $q_names = q{SELECT personal_id::text, full_name FROM public.citizen WHERE personal_id <= '001090100005' ORDER BY 1};
my $coldef = 'AS t(personal_id text, full_name text)';

#
# 1. allowed
#
my ($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service',
  officer => 'Lt. Nguyen Van An', reference => 'CALL-2026-12') $coldef});
is($ret, 0, 'allowed: remote_query succeeds') or diag($err);
is($out, join("\n", map { sprintf('0010901%05d|Citizen %d', $_, $_) } 1 .. 5),
	'allowed: the five rows come back, in order');
my $rec = last_remote();
is(join(' ', map { $rec->{$_} } qw(target role_name officer purpose reference rows outcome reason)),
	'MPS mnd_officer Lt. Nguyen Van An military_service CALL-2026-12 5 allowed <null>',
	'allowed: MND records the request (target, role, officer, purpose, reference, rows, outcome)');
is($rec->{query}, $q_names, 'allowed: ... with the query sent');
is(mnd_sql("SELECT query_sha256 = sha256(convert_to(query, 'UTF8')) FROM govshare.remote_request WHERE seq = $rec->{seq}"),
	't', 'allowed: ... and its SHA-256');
like($rec->{token_id}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
	'allowed: the token id is a UUID');
my $p = receipt_matches($rec, 'allowed');
is(join(' ', map { $p->{$_} } qw(outcome agency role_name officer purpose reference)),
	'allowed MND mnd_gateway Lt. Nguyen Van An military_service CALL-2026-12',
	'allowed: MPS records the read by MND with the officer, purpose and reference of the token');
ok($mps->poll_query_until('postgres', "SELECT count(*) = 1 FROM govshare.access_log a
  JOIN govshare.access_log r ON r.statement_id = a.statement_id AND r.kind = 'result'
  WHERE a.seq = " . ($p ? $p->{seq} : 0)), 'allowed: the result row of the read follows');
is(mps_sql("SELECT r.rows || ' ' || r.outcome || ' ' || r.subject_count FROM govshare.access_log a
  JOIN govshare.access_log r ON r.statement_id = a.statement_id AND r.kind = 'result'
  WHERE a.seq = " . ($p ? $p->{seq} : 0)), '5 allowed 5', 'allowed: ... and its result, 5 rows about 5 subjects');

($ret, $out, $err) = mnd(qq{SELECT r FROM govshare.remote_query_json('MPS', \$q\$$q_names\$q\$, 'military_service',
  officer => 'Lt. Nguyen Van An') r});
is($ret, 0, 'allowed: remote_query_json succeeds') or diag($err);
is($out, join("\n", map { sprintf('{"full_name": "Citizen %d", "personal_id": "0010901%05d"}', $_, $_) } 1 .. 5),
	'allowed: ... each row a jsonb object');
$rec = last_remote();
is("$rec->{outcome} $rec->{rows} $rec->{reference}", 'allowed 5 <null>',
	'allowed: remote_query_json is recorded too, without reference');
receipt_matches($rec, 'allowed (json)');

# under strict audit the provider's writer commits a token's use with the
# access record of the request's query, in one transaction: the use is
# queued without waking the writer, and the query's wait for its access
# record, queued after it, wakes the writer for both.  (Now and then the
# writer's nap may end in between.)
($ret, $out, $err) = mnd(qq{SELECT sum(n) FROM generate_series(1, 10) i,
  LATERAL (SELECT count(*) AS n FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service',
    officer => 'Lt. Nguyen Van An', reference => 'TEN-' || i) $coldef) r});
is("$ret $out", '0 50', 'allowed: ten requests in a row') or diag($err);
my $jtis = join(',', map { "'$_'" } split /\n/, mnd_sql(q{SELECT token_id FROM govshare.remote_request
  ORDER BY seq DESC LIMIT 10}));
my $together = mps_sql(qq{SELECT count(*) FROM govshare.token_use u WHERE u.jti IN ($jtis)
  AND EXISTS (SELECT 1 FROM govshare.access_log l WHERE l.token_id = u.jti AND l.kind = 'access'
              AND l.xmin::text = u.xmin::text)});
cmp_ok($together, '>=', 8,
	"allowed: MPS committed each token's use with its request's access record ($together of 10)");

#
# 2. masked
#
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MPS',
  $q$SELECT personal_id::text, phone FROM public.citizen WHERE personal_id = '001090100007'$q$,
  'military_service') AS t(personal_id text, phone text)});
is($ret, 0, 'masked: a masked column may be read') or diag($err);
my ($pid7, $phone7) = split /\|/, $out;
is($pid7, '001090100007', 'masked: the row comes back');
isnt($phone7, '0912345007', 'masked: the phone is not the clear value');
is($phone7, mps_sql(q{SELECT govshare.mask('0912345007')}), 'masked: ... it is the masked value')
  or diag("phone: $phone7");
unlike($phone7, qr/912345/, 'masked: ... and hides the subscriber digits');
($ret, $out, $err) = mnd(q{SELECT r FROM govshare.remote_query_json('MPS',
  $q$SELECT phone FROM public.citizen WHERE personal_id = '001090100007'$q$, 'military_service') r});
unlike($out, qr/0912345007/, 'masked: remote_query_json shows no clear value either');
$rec = last_remote();
$p = receipt_matches($rec, 'masked');
is(mps_sql("SELECT levels::text FROM govshare.access_log WHERE seq = " . ($p ? $p->{seq} : 0)), '{full,masked}',
	'masked: MPS records the personal id read in full, the phone masked');

#
# 3. denied
#
# The token of the request with token id $jti, as the provider's server log
# shows it (log_statement = all logs the parameters of each execute).
sub logged_token
{
	my ($jti) = @_;
	my $log = slurp_file($mps->logfile);
	for my $tok ($log =~ /begin_request_signed\(\$1\)\n[^\n]*DETAIL:  [Pp]arameters: \$1 = '([A-Za-z0-9_.-]+)'/g)
	{
		my (undef, $p64) = split /\./, $tok;
		$p64 =~ tr{-_}{+/};
		return $tok if decode_base64($p64) =~ /"jti":"\Q$jti\E"/;
	}
	return undef;
}

my @denials = (
	[ 'a column not shared for the purpose',
	  q{SELECT phone FROM public.citizen WHERE personal_id = '001090100001'}, 'conscription_review',
	  'AS t(phone text)', qr/column "phone" of relation "citizen" is denied to agency "MND" for purpose "conscription_review"/ ],
	[ 'a purpose with no rule for MND',
	  q{SELECT full_name FROM public.citizen WHERE personal_id = '001090100001'}, 'tax_audit',
	  'AS t(full_name text)', qr/agency "MND" has no active rule for purpose "tax_audit"/ ],
	[ 'a write',
	  q{UPDATE public.citizen SET full_name = 'X' WHERE personal_id = '001090100001' RETURNING full_name},
	  'military_service', 'AS t(full_name text)', qr/agency "MND" may not update governed relation "citizen"/ ]);
my %denied_token;
for my $d (@denials)
{
	my ($what, $query, $purpose, $def, $msg) = @$d;
	($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$query\$q\$, '$purpose') $def});
	isnt($ret, 0, "denied, $what: the remote query fails");
	like($err, qr/ERROR:  42501: agency "MPS" refused or failed the remote query: /,
		"denied, $what: 42501 locally, naming the agency");
	like($err, $msg, "denied, $what: ... with the provider's message") or diag($err);
	is($out, '', "denied, $what: no row");
	$rec = last_remote();
	is("$rec->{outcome} $rec->{rows} $rec->{purpose}", "denied 0 $purpose", "denied, $what: MND records outcome denied");
	like($rec->{reason}, $msg, "denied, $what: ... with the provider's reason");
	$p = receipt_matches($rec, "denied, $what");
	is($p && $p->{outcome}, 'denied', "denied, $what: MPS's row of it is a denial");
	like($err, qr/DETAIL:  .*recorded it at seq $rec->{receipt_seq} of its access log \(hash $rec->{receipt_hash}\)/,
		"denied, $what: the DETAIL names the receipt") if $p;
	$denied_token{$what} = logged_token($rec->{token_id});
}
is(mps_sql(q{SELECT full_name FROM citizen WHERE personal_id = '001090100001'}), 'Citizen 1',
	'denied: the write changed nothing');

# Presents a token to MPS as the gateway role would, then runs the query.
sub replay
{
	my ($tok, $query) = @_;
	return $mps->psql('postgres', qq{\\set VERBOSITY verbose
SELECT govshare.begin_request_signed('$tok');
$query}, extra_params => [ '-U', 'mnd_gateway' ]);
}

# the token of a request whose query was denied was presented, and recorded
# with its denial: it must not be usable again
for my $what (sort keys %denied_token)
{
	($ret, $out, $err) = replay($denied_token{$what},
		q{SELECT full_name FROM public.citizen WHERE personal_id = '001090100001'});
	isnt($ret, 0, "replay: the token of the denied request ($what) is refused when presented again")
	  or diag("the replay read: $out");
	# a token refused at begin_request_signed was never accepted: refused again for the same reason
	like($err, $what =~ /no rule/ ? qr/no active rule/ : qr/The token has been used before/,
		"replay: ... as " . ($what =~ /no rule/ ? 'before' : 'used before')) or diag($err);
}

#
# 4. invalid token
#
sub token_refused
{
	my ($what, $detail) = @_;
	($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service',
  officer => 'Lt. Tran') $coldef});
	isnt($ret, 0, "invalid token, $what: the remote query fails");
	like($err, qr/ERROR:  28000: agency "MPS" refused or failed the remote query: invalid request token/,
		"invalid token, $what: 28000 locally");
	like($err, $detail, "invalid token, $what: ... saying why") or diag($err);
	is($out, '', "invalid token, $what: no row");
	my $r = last_remote();
	is("$r->{outcome} $r->{rows}", 'denied 0', "invalid token, $what: MND records outcome denied");
	my $pp = receipt_matches($r, "invalid token, $what");
	is($pp && $pp->{outcome}, 'denied', "invalid token, $what: MPS records a denial");
	like($pp && $pp->{reason}, qr/^invalid request token/, "invalid token, $what: ... as an invalid request token");
	is($pp && "$pp->{officer} $pp->{purpose}", 'Lt. Tran military_service',
		"invalid token, $what: ... with the claims presented");
	return $r;
}
mps_sql(qq{SELECT govshare.revoke_agency_key('$mnd_kid', 'compromised')});
token_refused('revoked key', qr/revoked/);

# MND signs with a new key that MPS does not know yet
$mnd->append_conf('postgresql.conf', "govshare.signing_key_file = '$keys/mnd2.pem'\n");
$mnd->reload;
$mnd->poll_query_until('postgres', "SELECT current_setting('govshare.signing_key_file') = '$keys/mnd2.pem'")
  or die 'reload did not take';
mnd_sql(qq{SELECT govshare.add_agency_key('MND', \$k\$$mnd2_pub\$k\$)});
token_refused('unknown key', qr/No registered key has the id given by "kid"/);

mps_sql(qq{SELECT govshare.add_agency_key('MND', \$k\$$mnd2_pub\$k\$)});
($ret, $out, $err) = mnd(qq{SELECT count(*) FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef});
is("$ret $out", '0 5', 'invalid token: with the new key registered at MPS, requests work again') or diag($err);

#
# 5. replayed token
#
$rec = last_remote();
my $token = logged_token($rec->{token_id});
ok($token, 'replay: the provider\'s server log holds the token of the last request (log_statement = all)');
($ret, $out, $err) = replay($token, q{SELECT full_name FROM public.citizen WHERE personal_id = '001090100001'});
isnt($ret, 0, 'replay: a token taken from the log and presented again by the gateway role is refused');
like($err, qr/ERROR:  28000: invalid request token\nDETAIL:  The token has been used before/,
	'replay: ... as used before');
unlike($out, qr/Citizen/, 'replay: ... and nothing is read');
ok($mps->poll_query_until('postgres', "SELECT count(*) = 2 FROM govshare.access_log WHERE kind = 'access' AND token_id = '$rec->{token_id}'"),
	'replay: MPS now has two access rows with the token id');
my @p = provider_access($rec->{token_id});
is($p[1] && "$p[1]{outcome} " . ($p[1]{reason} =~ /^invalid request token: The token has been used before/ ? 'replay' : $p[1]{reason}),
	'denied replay', 'replay: ... the second a denial of the replay');

#
# 6. network cut
#
# a slow remote query: 20 rows of 2 kB at once (more than the provider's
# 8 kB output buffer, so they leave), then one row every 50 ms
my $slow = q{SELECT personal_id::text, repeat(full_name, 200),
  pg_sleep(CASE WHEN personal_id <= '001090100020' THEN 0 ELSE 0.05 END)::text
  FROM public.citizen /* TAG */ ORDER BY 1};
sub slow_query
{
	my ($tag) = @_;
	(my $q = $slow) =~ s/TAG/$tag/;
	return $q;
}
sub bg_start
{
	my ($sql) = @_;
	my %b = (out => '', err => '');
	$b{h} = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-d', $mnd->connstr('postgres'),
		  '-U', 'mnd_officer', '-c', $sql ],
		'<', \undef, '>', \$b{out}, '2>', \$b{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return \%b;
}
sub bg_finish
{
	my ($b) = @_;
	eval { $b->{h}->finish; };
	return ($b->{h}->result(0), $b->{out}, $b->{err});
}
# waits until the provider runs the query tagged $tag and has recorded
# its access (strict: before the first row left); returns its pid
sub provider_running
{
	my ($tag) = @_;
	# in pg_sleep: the first 20 rows are produced, and most of them sent
	$mps->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM pg_stat_activity
  WHERE application_name = 'govshare remote_query' AND state = 'active' AND wait_event = 'PgSleep'
    AND query LIKE '%/* $tag */%'})
	  or return 0;
	$mps->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM govshare.access_log
  WHERE kind = 'access' AND statement_text LIKE '%/* $tag */%'}) or return 0;
	return mps_sql(qq{SELECT pid FROM pg_stat_activity
  WHERE application_name = 'govshare remote_query' AND query LIKE '%/* $tag */%'});
}
sub slow_call
{
	my ($tag, $pre) = @_;
	return ($pre // '') . "SELECT count(*) FROM govshare.remote_query('MPS', \$q\$" . slow_query($tag)
	  . "\$q\$, 'military_service') AS t(personal_id text, full_name text, s text)";
}

# a session with a connection to MPS kept from an earlier request
my $kept = $mnd->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'mnd_officer', '-v', 'VERBOSITY=verbose' ]);
sub kept_query
{
	my ($sql) = @_;
	$kept->{stderr} = '';
	my $o = $kept->query($sql);
	return ($o, $kept->{stderr});
}
($out, $err) = kept_query("SELECT count(*) FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef");
is("$out$err", '5', 'network cut: a session made a request, its connection is kept');

my $b = bg_start(slow_call('cut'));
ok(provider_running('cut'), 'network cut: the slow remote query runs at MPS and has recorded its access');
$mps->stop('immediate');
($ret, $out, $err) = bg_finish($b);
isnt($ret, 0, 'network cut: the remote query fails when the provider goes away');
like($err, qr/ERROR:  08006: lost the connection to agency "MPS" during a remote query/,
	'network cut: ... with 08006 "lost the connection to agency MPS"') or diag($err);
$rec = last_remote();
is("$rec->{outcome} $rec->{receipt_seq}", 'error <null>', 'network cut: MND records outcome error, without receipt');
like($rec->{query}, qr{/\* cut \*/}, 'network cut: ... for the query cut');
ok($rec->{rows} > 0 && $rec->{rows} < $rows, "network cut: ... mid-stream ($rec->{rows} of $rows rows received)");
like($rec->{reason}, qr/lost the connection to agency "MPS"/, 'network cut: ... with the reason');

($ret, $out, $err) = mnd(qq{SELECT * FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef});
like($err, qr/ERROR:  08001: could not connect to agency "MPS"/, 'network cut: with the provider down, "could not connect"');
unlike($err, qr/\Q$secret\E/, 'network cut: ... and the error does not show the endpoint\'s password');
$rec = last_remote();
is($rec->{outcome}, 'error', 'network cut: ... recorded as an error');

$mps->start;
($ret, $out, $err) = mnd(qq{SELECT count(*) FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef});
is("$ret $out", '0 5', 'network cut: after the restart a new session\'s request works') or diag($err);
($out, $err) = kept_query("SELECT count(*) FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef");
is("$out$err", '5', 'network cut: the session whose kept connection died reconnects, its request works')
  or diag($err);
($out, $err) = kept_query("SELECT count(*) FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef");
is("$out$err", '5', 'network cut: ... and its next one too');

#
# 7. cancel
#
$b = bg_start(slow_call('cancel'));
my $ppid = provider_running('cancel');
ok($ppid, 'cancel: the slow remote query runs at MPS');
my $mnd_pid = mnd_sql(q{SELECT pid FROM pg_stat_activity WHERE usename = 'mnd_officer' AND query LIKE '%/* cancel */%'
  AND pid <> pg_backend_pid()});
ok($mnd_pid, 'cancel: MND\'s backend of it is found');
is(mnd_sql("SELECT pg_cancel_backend($mnd_pid)"), 't', 'cancel: pg_cancel_backend on MND');
($ret, $out, $err) = bg_finish($b);
isnt($ret, 0, 'cancel: the remote query fails');
like($err, qr/ERROR:  57014: canceling statement due to user request/, 'cancel: ... canceled by the user') or diag($err);
$rec = last_remote();
is("$rec->{outcome} $rec->{receipt_seq}", 'error <null>', 'cancel: MND records outcome error');
like($rec->{query}, qr{/\* cancel \*/}, 'cancel: ... for the query canceled');
ok($mps->poll_query_until('postgres', qq{SELECT count(*) = 0 FROM pg_stat_activity
  WHERE query LIKE '%/* cancel */%' AND state = 'active' AND pid <> pg_backend_pid()}, 't'),
	'cancel: the provider\'s backend stops running it');
ok($mps->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $ppid"),
	'cancel: ... and its session ends (MND does not keep the connection)');
sub provider_result
{
	my ($tag) = @_;
	$mps->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM govshare.access_log a
  JOIN govshare.access_log r ON r.statement_id = a.statement_id AND r.kind = 'result'
  WHERE a.kind = 'access' AND a.statement_text LIKE '%/* $tag */%'}) or return '';
	return mps_sql(qq{SELECT r.outcome || ' ' || coalesce(r.reason, '') FROM govshare.access_log a
  JOIN govshare.access_log r ON r.statement_id = a.statement_id AND r.kind = 'result'
  WHERE a.kind = 'access' AND a.statement_text LIKE '%/* $tag */%'});
}
like(provider_result('cancel'), qr/^error ./,
	'cancel: the provider records the result of the query as an error');
is(mps_sql(qq{SELECT a.token_id FROM govshare.access_log a WHERE a.kind = 'access' AND a.statement_text LIKE '%/* cancel */%'}),
	$rec->{token_id}, 'cancel: ... under the token MND minted');
# the provider accepted the token of the canceled request: it must not be
# accepted again
($ret, $out, $err) = replay(logged_token($rec->{token_id}),
	q{SELECT full_name FROM public.citizen WHERE personal_id = '001090100002'});
isnt($ret, 0, 'cancel: the token of the canceled request is refused when presented again')
  or diag("the replay read: $out");
like($err, qr/The token has been used before/, 'cancel: ... as used before') or diag($err);

#
# 8. timeout
#
$b = bg_start(slow_call('timeout', "SET govshare.remote_timeout = '500ms'; "));
($ret, $out, $err) = bg_finish($b);
isnt($ret, 0, 'timeout: the slow remote query fails after govshare.remote_timeout');
like($err, qr/ERROR:  57014: the remote query to agency "MPS" timed out after 500 ms/, 'timeout: ... with 57014')
  or diag($err);
$rec = last_remote();
is($rec->{outcome}, 'error', 'timeout: MND records outcome error');
ok($mps->poll_query_until('postgres', qq{SELECT count(*) = 0 FROM pg_stat_activity
  WHERE query LIKE '%/* timeout */%' AND state = 'active' AND pid <> pg_backend_pid()}, 't'),
	'timeout: the provider stops running it');
like(provider_result('timeout'), qr/^error ./,
	'timeout: ... and records its result as an error');

#
# 9. connection reuse
#
($out, $err) = kept_query("SELECT count(*) FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef");
is("$out$err", '5', 'reuse: a request');
# the sessions of the requests before are gone, or going
$mps->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'govshare remote_query'})
  or diag('more than one govshare connection at MPS');
my $gw = mps_sql(q{SELECT pid || ' ' || state FROM pg_stat_activity WHERE application_name = 'govshare remote_query'});
like($gw, qr/^\d+ idle$/, 'reuse: MPS has one govshare connection, idle (not in a transaction)');
my ($gwpid) = split / /, $gw;
my $ctx = q{SELECT * FROM govshare.remote_query('MPS', $q$SELECT agency, purpose, officer, token_id FROM govshare.current_request()$q$,
  'conscription_review', officer => 'Maj. Le') AS t(agency text, purpose text, officer text, token_id text)};
($out, $err) = kept_query($ctx);
$rec = last_remote();
is("$out$err", "MND|conscription_review|Maj. Le|$rec->{token_id}",
	'reuse: the next request, for another purpose, runs in its own context alone');
is(mps_sql(q{SELECT pid || ' ' || state FROM pg_stat_activity WHERE application_name = 'govshare remote_query'}),
	"$gwpid idle", 'reuse: ... on the same connection, idle after it');
($out, $err) = kept_query(qq{SELECT * FROM govshare.remote_query('MPS',
  \$q\$SELECT phone FROM public.citizen WHERE personal_id = '001090100001'\$q\$, 'conscription_review') AS t(phone text)});
like($err, qr/42501/, 'reuse: a denied request');
is(mps_sql(q{SELECT state FROM pg_stat_activity WHERE application_name = 'govshare remote_query'}), 'idle',
	'reuse: ... leaves the connection idle, no transaction open or aborted');
($out, $err) = kept_query($ctx);
$rec = last_remote();
is("$out$err", "MND|conscription_review|Maj. Le|$rec->{token_id}",
	'reuse: after the denial the next request has its own context');
# a refused token: the query after it must not run under any context
mps_sql(q{ALTER SYSTEM SET govshare.token_max_lifetime = 10; SELECT pg_reload_conf()});
$mps->poll_query_until('postgres', q{SELECT current_setting('govshare.token_max_lifetime') = '10s'})
  or die 'reload did not take';
($out, $err) = kept_query($ctx);
like($err, qr/28000: .*invalid request token/, 'reuse: a request whose token is refused fails') or diag($err);
is($out, '', 'reuse: ... and its query did not run (no context is left from before)');
mps_sql(q{ALTER SYSTEM RESET govshare.token_max_lifetime; SELECT pg_reload_conf()});
$mps->poll_query_until('postgres', q{SELECT current_setting('govshare.token_max_lifetime') = '1h'})
  or die 'reload did not take';
($out, $err) = kept_query($ctx);
$rec = last_remote();
is("$out$err", "MND|conscription_review|Maj. Le|$rec->{token_id}", 'reuse: then the next request works');
$kept->quit;

#
# 10. no secrets
#
mnd_sql(q{SELECT govshare.add_endpoint('MOH', 'host=/nonexistent port=1 dbname=x user=u password=} . $secret . q{')});
($ret, $out, $err) = mnd(q{SELECT * FROM govshare.remote_query('MOH', 'SELECT 1', 'military_service') AS t(x int)});
like($err, qr/could not connect to agency "MOH"/, 'secrets: a request to an unreachable endpoint fails');
unlike($err, qr/\Q$secret\E/, 'secrets: ... without the password in the error');
($ret, $out, $err) = mnd(q{SELECT govshare.add_endpoint('MOH', 'host=x password=} . $secret . q{ nonsense')}, 'mnd_admin');
like($err, qr/invalid connection string/, 'secrets: a bad connection string is refused');
unlike($err, qr/\Q$secret\E/, 'secrets: ... without repeating it');
($ret, $out, $err) = mnd(q{SELECT govshare.add_endpoint('MOH', 'host=x password=} . $secret . q{ bogus=1')}, 'mnd_admin');
unlike($err, qr/\Q$secret\E/, 'secrets: ... nor with an unknown option');
($ret, $out, $err) = mnd('SELECT conninfo FROM govshare.endpoint');
like($err, qr/permission denied for table endpoint/, 'secrets: a govshare_requester cannot read govshare.endpoint');
($ret, $out, $err) = mnd('SELECT * FROM govshare.endpoints ORDER BY agency');
is($ret, 0, 'secrets: a govshare_requester reads govshare.endpoints') or diag($err);
like($out, qr/^MOH\|.*\nMPS\|/, 'secrets: ... which lists the endpoints');
unlike($out, qr/\Q$secret\E|port=/, 'secrets: ... without their connection strings');
is(mnd_sql(q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
  WHERE attrelid = 'govshare.endpoints'::regclass AND attnum > 0}), 'agency,added_at,added_by',
	'secrets: govshare.endpoints has no conninfo column');
($ret, $out, $err) = mnd('SELECT count(*) FROM govshare.remote_request');
like($err, qr/permission denied/, 'secrets: a govshare_requester does not read govshare.remote_request');
($ret, $out, $err) = mnd(q{SELECT govshare.add_endpoint('MOH', 'host=x')});
like($err, qr/permission denied for function add_endpoint/, 'secrets: nor registers endpoints');
# (the queries below name the password reversed, so that they do not show it)
my $pattern = "'%' || reverse('" . reverse($secret) . "') || '%'";
is(mnd_sql(qq{SELECT count(*) FROM govshare.access_log l WHERE l::text LIKE $pattern}), '0',
	'secrets: no row of MND\'s access log holds the password');
is(mps_sql(qq{SELECT count(*) FROM govshare.access_log l WHERE l::text LIKE $pattern}), '0',
	'secrets: nor of MPS\'s');
is(mps_sql(qq{SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $pattern OR query LIKE $pattern}),
	'0', 'secrets: nor does MPS\'s pg_stat_activity');
unlike(slurp_file($mps->logfile), qr/\Q$secret\E/, 'secrets: nor MPS\'s server log');
# MND logs its own callers' statements (log_statement = all), add_endpoint's
# text among them; nothing else
my @leaks = grep { /\Q$secret\E/ && !/(statement|STATEMENT): +SELECT (govshare\.)?add_endpoint\(/ }
  split /\n/, slurp_file($mnd->logfile);
is(join("\n", @leaks), '', 'secrets: MND\'s server log shows the password only in the text of add_endpoint calls');

#
# 11. inspectorate
#
$mps->wait_for_catchup('audit_copy');
my $log_rows = q{SELECT string_agg(seq || ':' || encode(hash, 'hex'), ',' ORDER BY seq) FROM govshare.access_log};
my $mps_rows = mps_sql($log_rows);
my $n = mps_sql('SELECT count(*) FROM govshare.access_log');
is(mps_sql('SELECT max(seq) FROM govshare.access_log'), $n, "inspectorate: MPS's log has $n rows, seq 1 to $n");
is($insp->safe_psql('copy', $log_rows), $mps_rows, 'inspectorate: the copy has the same rows (seq, hash)');
is($insp->safe_psql('copy', 'SELECT ok, checked FROM govshare.verify_log()'), "t|$n", 'inspectorate: the copy verifies');
is(mps_sql('SELECT ok, checked FROM govshare.verify_log()'), "t|$n", 'inspectorate: ... and so does MPS\'s log');
is(mnd_sql('SELECT ok FROM govshare.verify_log()'), 't', 'inspectorate: ... and MND\'s');
is($insp->safe_psql('copy', q{SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger
  WHERE tgrelid = 'govshare.access_log'::regclass}), 'guard_access_log:O,guard_access_log_truncate:O',
	'inspectorate: the guard triggers of the copy fire in origin mode only: apply (a replica) skips them');
my ($iret, $iout, $ierr) = $insp->psql('copy', "UPDATE govshare.access_log SET rows = 0 WHERE seq = 1");
like($ierr, qr/append-only/, 'inspectorate: ... and the copy refuses local writes');

my $verify = $insp->config_data('--bindir') . '/govshare-verify';
my $have_verify = -x $verify;
sub verify_tool
{
	my ($node, $db, $pub) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ $verify, '--dbname=' . $node->connstr($db), '--public-key', $pub ],
		'>', \$o, '2>', \$e, IPC::Run::timeout(60));
	return ($? >> 8, "$o$e");
}
SKIP:
{
	skip 'govshare-verify is not installed', 3 unless $have_verify;
	my ($rc, $msg) = verify_tool($insp, 'copy', "$keys/mps.pub");
	is($rc, 0, 'govshare-verify: the copy is OK') or diag($msg);
	($rc, $msg) = verify_tool($mnd, 'postgres', "$keys/mnd2.pub");
	is($rc, 0, 'govshare-verify: MND\'s log is OK') or diag($msg);
	($rc, $msg) = verify_tool($mps, 'postgres', "$keys/mps.pub");
	is($rc, 0, 'govshare-verify: MPS\'s log is OK') or diag($msg);
}

# a superuser tampers with MPS's log, the triggers off
mps_sql(q{SET session_replication_role = replica;
UPDATE govshare.access_log SET agency = 'MOH' WHERE seq = 3;
DELETE FROM govshare.access_log WHERE seq = 5;});
is(mps_sql('SELECT ok, first_bad_seq FROM govshare.verify_log()'), 'f|3',
	'inspectorate: MPS\'s tampered log fails verification at seq 3');
# a new request after the tampering, so that catching up passes it
($ret, $out, $err) = mnd(qq{SELECT count(*) FROM govshare.remote_query('MPS', \$q\$$q_names\$q\$, 'military_service') $coldef});
is("$ret $out", '0 5', 'inspectorate: a request after the tampering');
ok($mps->poll_query_until('postgres', "SELECT count(*) = 2 FROM govshare.access_log WHERE seq > $n"),
	'inspectorate: ... its access and result rows are written at MPS');
$mps->wait_for_catchup('audit_copy');
my $n2 = mps_sql('SELECT max(seq) FROM govshare.access_log');
is($insp->safe_psql('copy', $log_rows),
	$mps_rows . ',' . mps_sql("SELECT string_agg(seq || ':' || encode(hash, 'hex'), ',' ORDER BY seq) FROM govshare.access_log WHERE seq > $n"),
	'inspectorate: the copy has the rows written before the tampering, unchanged, and the new ones');
is($insp->safe_psql('copy', q{SELECT agency FROM govshare.access_log WHERE seq = 3}),
	mnd_sql(q{SELECT 'MND'}), 'inspectorate: the UPDATE was not replicated');
is($insp->safe_psql('copy', 'SELECT ok, checked FROM govshare.verify_log()'), "t|$n2",
	'inspectorate: the copy still verifies, to the last row');
SKIP:
{
	skip 'govshare-verify is not installed', 3 unless $have_verify;
	my ($rc, $msg) = verify_tool($mps, 'postgres', "$keys/mps.pub");
	is($rc, 1, 'govshare-verify: MPS\'s tampered log is not OK (exit 1)') or diag($msg);
	like($msg, qr/\b3\b/, 'govshare-verify: ... naming seq 3');
	($rc, $msg) = verify_tool($insp, 'copy', "$keys/mps.pub");
	is($rc, 0, 'govshare-verify: the copy still is') or diag($msg);
}

$insp->stop;
$mnd->stop;
$mps->stop;
done_testing();
