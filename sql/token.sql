--
-- Request tokens (JWS compact, alg EdDSA) and begin_request_signed: every
-- rejection, the key checks, replay protection, and RFC vectors.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
-- a database of its own: agencies and rules are never deleted
CREATE DATABASE govshare_token;
\c govshare_token
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- RFC 8037 A.3: the thumbprint of the RFC's Ed25519 public key
SELECT '-----BEGIN PUBLIC KEY-----' || E'\n' ||
       encode('\x302a300506032b6570032100'::bytea ||
              decode(translate('11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', '-_', '+/') || '=', 'base64'),
              'base64') || E'\n-----END PUBLIC KEY-----\n' AS rfc_pub \gset
SELECT '-----BEGIN PRIVATE KEY-----' || E'\n' ||
       encode('\x302e020100300506032b657004220420'::bytea ||
              decode(translate('nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', '-_', '+/') || '=', 'base64'),
              'base64') || E'\n-----END PRIVATE KEY-----\n' AS rfc_priv \gset
SELECT govshare.key_id(:'rfc_pub') = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k' AS rfc8037_thumbprint;
-- Ed25519 is deterministic: the RFC's private key signs, its public key verifies
SELECT govshare.verify_token(govshare.sign_jws(:'rfc_priv', '{"alg":"EdDSA"}',
       '{"iss":"X","sub":"s","purpose":"p","jti":"1","iat":1,"exp":2}'), :'rfc_pub');
SELECT split_part(govshare.sign_jws(:'rfc_priv', '{"alg":"EdDSA"}', '{"a":1}'), '.', 3);

-- keys that are not Ed25519 public keys
SELECT govshare.key_id('hello');
SELECT govshare.key_id(:'rfc_priv');
SELECT govshare.key_id('-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCZuv0SeOJPPSYPu/y0ehuJo0D
fIzsOd/xQOugggPvaMfpzwNkdKIHXRC6EU84Tn5uIPadBBP92wttSRb8V7xqI9QR
KK93diag79OVSgMvfwSW+B6tuyvn6y57BmkEeIyzYqokknQQ0rSeTPleKcBa11IW
e4G3qHwIVd74IpjiEwIDAQAB
-----END PUBLIC KEY-----');
SELECT govshare.key_id('-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEw4GBPzVSyNDfiNQWK4UOig6x26aw
8EwLwG/362nLd86tHzlZCx5gAN6Cob+FvWCF0wTGOqmGX+X4bMG0aTUfsg==
-----END PUBLIC KEY-----');

-- the provider, a consumer with a key and a rule
SELECT govshare.add_agency('MPS', 'Ministry of Public Security', is_self => true);
SELECT govshare.add_agency('MND', 'Ministry of National Defence');
SELECT govshare.add_agency('MOF', 'Ministry of Finance');
SELECT govshare.add_purpose('military_service', 'Military service call-up', 'Law on Military Service 2015');
SELECT govshare.add_purpose('tax_administration', 'Tax administration', 'Law on Tax Administration 2019');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full') IS NOT NULL AS shared;
SELECT private_key AS priv, public_key AS pub, key_id AS kid FROM govshare.make_test_key() \gset
SELECT private_key AS priv2, public_key AS pub2, key_id AS kid2 FROM govshare.make_test_key() \gset
SELECT private_key AS other, public_key AS other_pub FROM govshare.make_test_key() \gset
SELECT private_key AS mof_priv, public_key AS mof_pub FROM govshare.make_test_key() \gset
SELECT govshare.add_agency_key('MND', :'pub') = :'kid' AS registered;
SELECT govshare.add_agency_key('MND', :'pub2') = :'kid2' AS registered;
SELECT govshare.add_agency_key('MOF', :'mof_pub') IS NOT NULL AS registered;
\set VERBOSITY terse
SELECT govshare.add_agency_key('MOF', :'pub');
\set VERBOSITY default
SELECT govshare.add_agency_key('MND', :'other_pub', valid_until => now() - interval '1 day');
SELECT govshare.revoke_agency_key(:'kid2', 'laptop lost');
CREATE ROLE mnd_gw;
SELECT govshare.bind_role('mnd_gw', 'MND');
-- tests let the consumer sign, to build tokens inline
GRANT EXECUTE ON FUNCTION govshare.sign_jws(text, jsonb, jsonb) TO mnd_gw;

-- the claims of a good token, now; extra members override
CREATE FUNCTION claims(extra jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('iss', 'MND', 'sub', 'Officer Tran Van B', 'purpose', 'military_service',
	                          'ref', 'CV-2026/77', 'iat', floor(extract(epoch FROM now()))::bigint,
	                          'exp', floor(extract(epoch FROM now()))::bigint + 300,
	                          'jti', gen_random_uuid()::text) || extra
$$;
-- base64url of a text, for hand-made tokens
CREATE FUNCTION b64url(t text) RETURNS text LANGUAGE sql AS $$
	SELECT translate(encode(convert_to(t, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;
CREATE FUNCTION b64url(b bytea) RETURNS text LANGUAGE sql AS $$
	SELECT translate(encode(b, 'base64'), E'+/=\n', '-_')
$$;
GRANT EXECUTE ON FUNCTION claims(jsonb), b64url(text), b64url(bytea) TO mnd_gw;
SELECT govshare.sign_jws(:'priv', '{"alg":"EdDSA","typ":"JWT"}', claims()) AS good \gset
SELECT split_part(:'good', '.', 3) AS sig \gset

SET ROLE mnd_gw;
-- a good token, then the same token again
SELECT govshare.begin_request_signed(:'good');
SELECT agency, role, officer, purpose, reference, token_id IS NOT NULL AS has_jti, key_id = :'kid' AS by_kid,
       signed, expires_at > now() AS expires_later
FROM govshare.current_request();
SELECT govshare.begin_request_signed(:'good');
-- with a "kid" naming the key
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', jsonb_build_object('alg', 'EdDSA', 'kid', :'kid'), claims()));
SELECT key_id = :'kid' AS by_kid FROM govshare.current_request();

-- signatures and keys
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' ||
       b64url(claims()::text) || '.' || :'sig');
SELECT govshare.begin_request_signed(govshare.sign_jws(:'other', '{"alg":"EdDSA"}', claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA","kid":"nope"}', claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv2', jsonb_build_object('alg', 'EdDSA', 'kid', :'kid2'), claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv2', '{"alg":"EdDSA"}', claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'mof_priv', '{"alg":"EdDSA"}', claims('{"iss":"MOF","purpose":"tax_administration"}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"iss":"NOBODY"}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"purpose":"tax_administration"}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"purpose":"nope"}')));

-- algorithms: only EdDSA
SELECT govshare.begin_request_signed(b64url('{"alg":"none"}') || '.' || b64url(claims()::text) || '.');
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"HS256"}', claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"RS256"}', claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"eddsa"}', claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"typ":"JWT"}', claims()));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA","crit":["exp"]}', claims()));

-- times
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}',
       claims(jsonb_build_object('iat', floor(extract(epoch FROM now()))::bigint - 3600,
                                 'exp', floor(extract(epoch FROM now()))::bigint - 600))));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}',
       claims(jsonb_build_object('iat', floor(extract(epoch FROM now()))::bigint + 3600,
                                 'exp', floor(extract(epoch FROM now()))::bigint + 3900))));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}',
       claims(jsonb_build_object('nbf', floor(extract(epoch FROM now()))::bigint + 600))));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}',
       claims(jsonb_build_object('exp', floor(extract(epoch FROM now()))::bigint + 86400))));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}',
       claims(jsonb_build_object('exp', floor(extract(epoch FROM now()))::bigint - 10))));
-- within the clock skew (60 s by default) an expired token still passes
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}',
       claims(jsonb_build_object('iat', floor(extract(epoch FROM now()))::bigint - 100,
                                 'exp', floor(extract(epoch FROM now()))::bigint - 30))));

-- claims
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims() - 'jti'));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims() - 'sub'));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"iss":7}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"exp":"tomorrow"}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"exp":1.5}')));
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' ||
       b64url('{"iss":"MND","sub":"s","purpose":"military_service","jti":"j","iat":1,"exp":1e10}') || '.' || :'sig');
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"exp":-5}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"exp":99999999999999999999}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims('{"jti":""}')));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims(jsonb_build_object('sub', repeat('x', 201)))));
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', '[1, 2]'));

-- form
SELECT govshare.begin_request_signed(NULL);
SELECT govshare.begin_request_signed('');
SELECT govshare.begin_request_signed('abc');
SELECT govshare.begin_request_signed('a.b');
SELECT govshare.begin_request_signed(:'good' || '.x');
SELECT govshare.begin_request_signed(repeat('a', 9000));
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '=.' || split_part(:'good', '.', 2) || '.' || :'sig');
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' || '!' || substr(split_part(:'good', '.', 2), 2) || '.' || :'sig');
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' || split_part(:'good', '.', 2) || '.' || :'sig' || 'A');
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' || split_part(:'good', '.', 2) || '.' || substr(:'sig', 1, 84));
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' || split_part(:'good', '.', 2) || '.' || substr(:'sig', 1, 85) || 'B');
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' || b64url('not json') || '.' || :'sig');
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' || b64url('\xff7b7d'::bytea) || '.' || :'sig');
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' ||
       b64url('{"iss":"MND","iss":"MOF","sub":"s","purpose":"military_service","jti":"j","iat":1,"exp":2}') || '.' || :'sig');
SELECT govshare.begin_request_signed(split_part(:'good', '.', 1) || '.' ||
       b64url('{"iss":"MND","sub":"s","purpose":"military_service","jti":"j\u0000","iat":1,"exp":2}') || '.' || :'sig');

-- a token is spent when presented, for good: a transaction that rolls
-- back takes its context away, not the use of its token
SELECT govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims()) AS t2 \gset
SELECT govshare.end_request();
BEGIN;
SELECT govshare.begin_request_signed(:'t2');
SELECT purpose FROM govshare.current_request();
ROLLBACK;
SELECT count(*) FROM govshare.current_request();
SELECT govshare.begin_request_signed(:'t2');
BEGIN;
SAVEPOINT s;
SELECT govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims()) AS t3 \gset
SELECT govshare.begin_request_signed(:'t3');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT govshare.begin_request_signed(:'t3');
RESET ROLE;

-- used token ids are kept, with their expiry (written by the audit writer:
-- audit_flush() waits for this session's)
SELECT govshare.audit_flush();
SELECT issuer, count(*) FROM govshare.token_use GROUP BY issuer;

-- with require_signed_requests, signed requests still work
SET govshare.require_signed_requests = on;
SET ROLE mnd_gw;
SELECT govshare.begin_request('military_service');
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims()));
SELECT signed FROM govshare.current_request();
RESET ROLE;
RESET govshare.require_signed_requests;

-- an internal role speaks for the self agency only
SELECT private_key AS mps_priv, public_key AS mps_pub FROM govshare.make_test_key() \gset
SELECT govshare.add_agency_key('MPS', :'mps_pub') IS NOT NULL AS registered;
SELECT govshare.begin_request_signed(govshare.sign_jws(:'mps_priv', '{"alg":"EdDSA"}', claims('{"iss":"MPS"}')));
SELECT agency, signed FROM govshare.current_request();
SELECT govshare.begin_request_signed(govshare.sign_jws(:'priv', '{"alg":"EdDSA"}', claims()));

-- check_setup reports keys that expire soon (and expired ones)
SELECT private_key AS soon_priv, public_key AS soon_pub FROM govshare.make_test_key() \gset
SELECT govshare.add_agency_key('MND', :'soon_pub', valid_until => now() + interval '10 days') IS NOT NULL AS registered;
SELECT severity, problem ~ 'key .* of agency MND expires on' AS expiring FROM govshare.check_setup() WHERE object LIKE 'key %';
