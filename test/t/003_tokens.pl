# test/t/003_tokens.pl — request tokens from independent implementations,
# and replay protection across a crash and a restart.
#
# Tokens are minted with the openssl command-line tool alone (keys made by
# `openssl genpkey`, signatures by `openssl pkeyutl -rawin`), and, when
# Node.js is there, with the `jose` library from the npm registry
# (test/tokens/mint.mjs).  Both must verify in begin_request_signed, with
# key ids equal to the libraries' RFC 7638 thumbprints.  A token used once
# stays used after an immediate shutdown and a restart.
use strict;
use warnings;
use File::Copy;
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('tokens');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION govshare;
	SELECT govshare.add_agency('MPS', 'Ministry of Public Security', is_self => true);
	SELECT govshare.add_agency('MND', 'Ministry of National Defence');
	SELECT govshare.add_purpose('military_service', 'Military service call-up', 'Law on Military Service 2015');
	SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full');
	CREATE ROLE mnd_app LOGIN;
	SELECT govshare.bind_role('mnd_app', 'MND');
});

my $dir = PostgreSQL::Test::Utils::tempdir;

sub b64url
{
	my $s = encode_base64(shift, '');
	$s =~ tr{+/}{-_};
	$s =~ s/=+$//;
	return $s;
}

# A token made with the openssl CLI: header and claims as JSON text.
sub openssl_token
{
	my ($key, $header, $claims) = @_;
	my $input = b64url($header) . '.' . b64url($claims);
	open(my $fh, '>', "$dir/input") or die;
	print $fh $input;
	close $fh;
	system('openssl', 'pkeyutl', '-sign', '-rawin', '-inkey', $key,
		'-in', "$dir/input", '-out', "$dir/sig") == 0 or die "openssl pkeyutl failed";
	open($fh, '<', "$dir/sig") or die;
	binmode $fh;
	local $/;
	my $sig = <$fh>;
	close $fh;
	return $input . '.' . b64url($sig);
}

sub claims
{
	my (%extra) = @_;
	my $now = time();
	my %c = (iss => 'MND', sub => 'Officer A', purpose => 'military_service',
		iat => $now, exp => $now + 300, jti => "jti-" . int(rand(1e12)), %extra);
	return '{' . join(',', map {
		my $v = $c{$_};
		qq{"$_":} . ($v =~ /^\d+$/ ? $v : qq{"$v"})
	} sort keys %c) . '}';
}

# keys from openssl
system("openssl genpkey -algorithm ed25519 -out $dir/mnd.pem 2>/dev/null") == 0 or die;
system("openssl pkey -in $dir/mnd.pem -pubout -out $dir/mnd.pub 2>/dev/null") == 0 or die;
my $pub = slurp_file("$dir/mnd.pub");
my $kid = $node->safe_psql('postgres', "SELECT govshare.add_agency_key('MND', \$k\$$pub\$k\$)");
like($kid, qr/^[A-Za-z0-9_-]{43}$/, 'an openssl-made public key registers');

my $token = openssl_token("$dir/mnd.pem", '{"alg":"EdDSA","typ":"JWT"}', claims(ref => 'CV-1'));
my ($ret, $out, $err) = $node->psql('postgres',
	"SELECT govshare.begin_request_signed('$token'); SELECT officer, reference, signed FROM govshare.current_request()",
	extra_params => [ '-U', 'mnd_app' ]);
is($ret, 0, 'a token signed by openssl pkeyutl is accepted') or diag($err);
is($out, "\nOfficer A|CV-1|t", 'its claims become the request context');

my $with_kid = openssl_token("$dir/mnd.pem", qq{{"alg":"EdDSA","kid":"$kid"}}, claims());
($ret, $out, $err) = $node->psql('postgres', "SELECT govshare.begin_request_signed('$with_kid')",
	extra_params => [ '-U', 'mnd_app' ]);
is($ret, 0, 'a token naming its key by thumbprint is accepted') or diag($err);

# replay survives a crash and a restart
$node->stop('immediate');
$node->start;
($ret, $out, $err) = $node->psql('postgres', "SELECT govshare.begin_request_signed('$token')",
	extra_params => [ '-U', 'mnd_app' ]);
isnt($ret, 0, 'a used token is refused after a crash and restart');
like($err, qr/The token has been used before/, 'as a replay');
$node->restart;
($ret, $out, $err) = $node->psql('postgres', "SELECT govshare.begin_request_signed('$with_kid')",
	extra_params => [ '-U', 'mnd_app' ]);
like($err, qr/The token has been used before/, 'and after a clean restart');

# tokens minted by the server verify with openssl
my $minted = $node->safe_psql('postgres', q{
	SELECT private_key || '|' || public_key || '|' ||
	       govshare.sign_jws(private_key, '{"alg":"EdDSA"}', '{"x":1}')
	FROM govshare.make_test_key()});
my ($priv, $spub, $jws) = split /\|/, $minted;
open(my $fh, '>', "$dir/server.pub") or die;
print $fh $spub;
close $fh;
my ($h, $p, $s) = split /\./, $jws;
open($fh, '>', "$dir/input") or die;
print $fh "$h.$p";
close $fh;
$s =~ tr{-_}{+/};
$s .= '=' x ((4 - length($s) % 4) % 4);
open($fh, '>', "$dir/sig") or die;
binmode $fh;
print $fh decode_base64($s);
close $fh;
is(system("openssl pkeyutl -verify -rawin -pubin -inkey $dir/server.pub -in $dir/input -sigfile $dir/sig >/dev/null 2>&1"),
	0, 'a signature made by govshare.sign_jws verifies with openssl');

# the jose library, when Node.js and the npm registry are reachable
SKIP:
{
	my $tokens = "$ENV{GOVSHARE_SRC}/test/tokens";
	my $have_node = system('node --version >/dev/null 2>&1') == 0
	  && -d "$tokens/node_modules/jose";
	if (!$have_node)
	{
		die "jose is required in CI (scripts/test installs it)" if $ENV{CI};
		skip 'Node.js with jose is not installed (scripts/test installs it)', 3;
	}
	my $jkid = `node $tokens/mint.mjs thumbprint $dir/mnd.pub`;
	chomp $jkid;
	is($jkid, $kid, 'govshare.key_id equals jose calculateJwkThumbprint');
	my $jtoken = `node $tokens/mint.mjs sign $dir/mnd.pem '@{[claims(ref => 'jose')]}' $kid`;
	chomp $jtoken;
	($ret, $out, $err) = $node->psql('postgres',
		"SELECT govshare.begin_request_signed('$jtoken'); SELECT reference FROM govshare.current_request()",
		extra_params => [ '-U', 'mnd_app' ]);
	is($ret, 0, 'a token signed by jose SignJWT is accepted') or diag($err);
	my $ours = $node->safe_psql('postgres',
		"SELECT govshare.sign_jws(\$k\$$priv\$k\$, '{\"alg\":\"EdDSA\"}', '{\"sub\":\"x\"}')");
	my $verified = `node $tokens/mint.mjs verify $dir/server.pub '$ours'`;
	like($verified, qr/"sub":"x"/, 'a token signed by govshare verifies with jose');
}

done_testing();
