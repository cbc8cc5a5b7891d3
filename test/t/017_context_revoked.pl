# test/t/017_context_revoked.pl — a request context ends when what it rests
# on is withdrawn in another session: the key that signed its token
# (revoked), the role's binding to the agency (removed or changed), the
# agency's rules for the purpose (revoked or suspended).  The session's
# next read is refused, naming why; cached plans and open cursors too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('revoked');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'");
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
	       add_agency('MOF', 'Ministry of Finance'),
	       add_purpose('military_service', 'Call-up', 'Law on Military Service 2015');
	SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'masked');
	CREATE ROLE mnd_app LOGIN;
	SELECT bind_role('mnd_app', 'MND');
	GRANT SELECT ON citizen TO mnd_app;   -- a mistaken grant: unbinding must not open it
	CREATE TABLE test_key AS SELECT * FROM make_test_key();
	SELECT add_agency_key('MND', public_key) FROM test_key;
});

sub admin { return $node->safe_psql('postgres', shift); }

sub token
{
	return admin(q{SELECT govshare.sign_request_token(private_key, 'MND', 'military_service', 'Officer A',
	               key_id => key_id) FROM test_key});
}

# session A: the consumer's login, kept open
my $a = $node->background_psql('postgres', on_error_stop => 0, extra_params => [ '-U', 'mnd_app' ]);
sub in_a
{
	my ($sql) = @_;
	$a->{stderr} = '';
	my $out = $a->query($sql);
	return ($out, $a->{stderr});
}

my $read = q{SELECT count(*) FROM citizen};

# 1. the signing key is revoked
# (a statement is prepared before the request: within it PREPARE is refused)
in_a(q{PREPARE by_name AS SELECT full_name FROM citizen ORDER BY 1});
my ($out, $err) = in_a("SELECT govshare.begin_request_signed('" . token() . "')");
is($err, '', 'session A begins a signed request');
($out, $err) = in_a($read);
is($out, '2', 'A reads');
($out, $err) = in_a(q{EXECUTE by_name});
is($err, '', 'A executes the statement it prepared before the request');
in_a(q{BEGIN; DECLARE cur CURSOR FOR SELECT full_name FROM citizen});
admin(q{SELECT govshare.revoke_agency_key(key_id, 'compromised') FROM test_key});
($out, $err) = in_a(q{FETCH 1 FROM cur});
like($err, qr/ERROR:  the plan of this statement no longer fits/, 'an open cursor of A stops at the next FETCH');
in_a('ROLLBACK');
($out, $err) = in_a($read);
like($err, qr/ERROR:  the request context of agency "MND" has ended/,
	'after session B revoked the key, A\'s next read is refused');
like($err, qr/DETAIL:  The key that signed its token \(\S+\) was revoked/, '... naming the revoked key');
($out, $err) = in_a(q{EXECUTE by_name});
like($err, qr/has ended/, '... and so is a prepared statement');
admin(q{UPDATE govshare.agency_key SET revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL});
($out, $err) = in_a($read);
like($err, qr/has ended/, 'an ended context stays ended when the key comes back');
($out, $err) = in_a("SELECT govshare.begin_request_signed('" . token() . "'); $read");
is("$out$err", "\n2", 'a new request reads again');

# 2. the role's binding is removed: the role is no longer a consumer, but
# its context ends rather than its reads becoming internal
admin(q{SELECT govshare.unbind_role('mnd_app')});
($out, $err) = in_a($read);
like($err, qr/ERROR:  the request context of agency "MND" has ended/, 'after the binding is removed, A is refused');
like($err, qr/DETAIL:  Role "mnd_app" no longer acts for agency "MND"/, '... naming the binding');
($out, $err) = in_a(q{SELECT full_name FROM citizen ORDER BY 1 LIMIT 1});
unlike($out, qr/Nguyen/, '... and reads no raw value through its (mistaken) table privilege');
($out, $err) = in_a(q{SELECT govshare.end_request(); } . $read);
is("$out$err", "\n2", 'only after end_request() is the unbound role internal');
admin(q{SELECT govshare.bind_role('mnd_app', 'MND')});

# 3. the role is bound to another agency
($out, $err) = in_a("SELECT govshare.begin_request_signed('" . token() . "'); $read");
is("$out$err", "\n2", 'a new request');
admin(q{SELECT govshare.bind_role('mnd_app', 'MOF')});
($out, $err) = in_a($read);
like($err, qr/has ended.*\nDETAIL:  Role "mnd_app" no longer acts for agency "MND"/,
	'after the role is bound to another agency, A is refused');
admin(q{SELECT govshare.bind_role('mnd_app', 'MND')});

# 4. the agency's rules for the purpose are suspended (an agency suspended)
($out, $err) = in_a("SELECT govshare.begin_request_signed('" . token() . "'); $read");
is("$out$err", "\n2", 'a new request');
admin(q{SELECT govshare.suspend(id, 'audit of MND') FROM govshare.rules WHERE consumer = 'MND'});
($out, $err) = in_a($read);
like($err, qr/has ended\nDETAIL:  Agency "MND" no longer has a rule in force for purpose "military_service"/,
	'after its rules are suspended, A is refused, naming the rules');
admin(q{SELECT govshare.resume(id) FROM govshare.rules WHERE consumer = 'MND'});

# 5. an unsigned request ends likewise when its rules are revoked
# (a signed context binds its transaction: it is ended first, in one of its own)
($out, $err) = in_a(qq{SELECT govshare.end_request(); SELECT govshare.begin_request('military_service'); $read});
is("$out$err", "\n\n2", 'an unsigned request');
admin(q{SELECT govshare.revoke(id, 'agreement ended') FROM govshare.rules WHERE consumer = 'MND'});
($out, $err) = in_a($read);
like($err, qr/has ended\nDETAIL:  Agency "MND" no longer has a rule in force/, '... ends when the rules are revoked');

ok($node->poll_query_until('postgres', q{SELECT count(*) >= 4 FROM govshare.access_log
	WHERE outcome = 'denied' AND reason LIKE 'the request context of agency "MND" has ended%'}),
	'each refusal is recorded as a denial');

$a->quit;
$node->stop;
done_testing();
