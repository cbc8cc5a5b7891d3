
--
-- Request tokens: JWS compact, alg EdDSA (Ed25519).  (src/sql/token.sql;
-- the C side is src/token.c; docs/tokens.md says how agencies mint them.)
--

CREATE FUNCTION govshare.key_id(public_key text) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_key_id_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.key_id(text) IS
	'the RFC 7638 thumbprint of an Ed25519 public key (PEM): the "kid" of the agency''s tokens';

CREATE FUNCTION govshare.verify_token(token text, public_key text) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'govshare_verify_token' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION govshare.verify_token(text, text) IS
	'check the form and signature of a request token against a public key; returns its claims (no time or replay checks)';

-- For tests and gateways' trials: keys made here pass through SQL, so
-- production keys are made and kept outside the database (docs/tokens.md).
CREATE FUNCTION govshare.make_test_key(OUT private_key text, OUT public_key text, OUT key_id text)
	AS 'MODULE_PATHNAME', 'govshare_make_test_key' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govshare.make_test_key() IS
	'a fresh Ed25519 key pair in PEM, for tests';

CREATE FUNCTION govshare.sign_jws(private_key text, header jsonb, payload jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_sign_jws' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION govshare.sign_jws(text, jsonb, jsonb) IS
	'sign any header and payload with an Ed25519 private key (JWS compact), for tests';

CREATE FUNCTION govshare.sign_request_token(private_key text, issuer text, purpose text, officer text,
                                            reference text DEFAULT NULL,
                                            lifetime interval DEFAULT '5 minutes',
                                            key_id text DEFAULT NULL) RETURNS text
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT govshare.sign_jws(private_key,
	                         jsonb_strip_nulls(jsonb_build_object('alg', 'EdDSA', 'typ', 'JWT', 'kid', key_id)),
	                         jsonb_strip_nulls(jsonb_build_object(
	                             'iss', issuer, 'sub', officer, 'purpose', purpose, 'ref', reference,
	                             'iat', floor(extract(epoch FROM now()))::bigint,
	                             'exp', floor(extract(epoch FROM now() + lifetime))::bigint,
	                             'jti', gen_random_uuid()::text)))
$$;
COMMENT ON FUNCTION govshare.sign_request_token(text, text, text, text, text, interval, text) IS
	'mint a request token for begin_request_signed(), for tests';

REVOKE EXECUTE ON FUNCTION govshare.make_test_key(), govshare.sign_jws(text, jsonb, jsonb),
	govshare.sign_request_token(text, text, text, text, text, interval, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.make_test_key(), govshare.sign_jws(text, jsonb, jsonb),
	govshare.sign_request_token(text, text, text, text, text, interval, text) TO govshare_admin;
