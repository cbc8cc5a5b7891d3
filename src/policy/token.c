/*-------------------------------------------------------------------------
 *
 * token.c
 *	  Request tokens: JWS compact serialisation, alg EdDSA (Ed25519).
 *
 *	  base64url(header) "." base64url(payload) "." base64url(signature)
 *
 * RFC 7515 (JWS), RFC 8037 (EdDSA in JOSE), RFC 7638 (key thumbprints).
 * Parsing is strict: canonical base64url without padding, header and
 * payload JSON objects without duplicate members, "alg" exactly "EdDSA"
 * and no "crit", claims of the right JSON types, a 64-byte signature.
 * Error details say what is wrong and never quote the token.  The checks
 * of time, issuer, key and replay are the request context's
 * (src/context.c); this file only parses, verifies and signs.
 *
 * OpenSSL objects are freed on every path, errors included (PG_FINALLY).
 *
 * src/token.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/jsonapi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "policy/gs_policy.h"

#define ED25519_KEY_LEN 32
#define ED25519_SIG_LEN 64
#define CLAIM_MAX_LEN 200

static const char b64url_chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Raises "invalid request token" with a detail. */
static void
reject(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid request token"),
			 errdetail("%s", detail)));
}

/* base64url without padding, NUL-terminated, in the current context. */
static char *
b64url_encode(const unsigned char *data, size_t len)
{
	char	   *out = palloc((len + 2) / 3 * 4 + 1);
	char	   *p = out;
	size_t		i;

	for (i = 0; i + 2 < len; i += 3)
	{
		uint32		v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];

		*p++ = b64url_chars[(v >> 18) & 63];
		*p++ = b64url_chars[(v >> 12) & 63];
		*p++ = b64url_chars[(v >> 6) & 63];
		*p++ = b64url_chars[v & 63];
	}
	if (len - i == 1)
	{
		*p++ = b64url_chars[data[i] >> 2];
		*p++ = b64url_chars[(data[i] & 3) << 4];
	}
	else if (len - i == 2)
	{
		*p++ = b64url_chars[data[i] >> 2];
		*p++ = b64url_chars[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
		*p++ = b64url_chars[(data[i + 1] & 15) << 2];
	}
	*p = '\0';
	return out;
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decodes canonical base64url (no padding, no other characters, unused
 * trailing bits zero) of part (named for errors); returns the bytes,
 * NUL-terminated, and their count in *len.
 */
static unsigned char *
b64url_decode(const char *s, size_t slen, const char *part, size_t *len)
{
	unsigned char *out = palloc(slen / 4 * 3 + 3);
	size_t		n = 0;
	uint32		acc = 0;
	int			bits = 0;

	if (slen % 4 == 1)
		reject(psprintf("The %s is not valid base64url: its length is impossible.", part));
	for (size_t i = 0; i < slen; i++)
	{
		int			v = b64url_value(s[i]);

		if (v < 0)
			reject(psprintf("The %s is not valid base64url: it contains a character outside A-Z a-z 0-9 - _ (padding is not allowed).", part));
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (acc >> bits) & 0xFF;
		}
	}
	if (bits > 0 && (acc & ((1 << bits) - 1)) != 0)
		reject(psprintf("The %s is not canonical base64url: its unused trailing bits are not zero.", part));
	out[n] = '\0';
	*len = n;
	return out;
}

/* The top-level members of a JSON object, collected by the parser. */
typedef enum MemberType
{
	MEMBER_STRING,
	MEMBER_NUMBER,
	MEMBER_OTHER
} MemberType;

typedef struct Member
{
	char	   *name;
	MemberType	type;
	char	   *value;			/* strings and numbers */
} Member;

typedef struct ObjectState
{
	int			depth;
	bool		root_is_object;
	bool		duplicate;
	int			nmembers;
	Member		members[32];
	bool		too_many;
	char	   *field;			/* the member being parsed at depth 1 */
} ObjectState;

static void
add_member(ObjectState *st, MemberType type, char *value)
{
	if (st->field == NULL)
		return;
	if (st->nmembers == lengthof(st->members))
	{
		st->too_many = true;
		return;
	}
	for (int i = 0; i < st->nmembers; i++)
		if (strcmp(st->members[i].name, st->field) == 0)
			st->duplicate = true;
	st->members[st->nmembers].name = st->field;
	st->members[st->nmembers].type = type;
	st->members[st->nmembers].value = value;
	st->nmembers++;
	st->field = NULL;
}

static GOVSHARE_JSON_ACTION
on_object_start(void *state)
{
	ObjectState *st = state;

	if (st->depth == 0)
		st->root_is_object = true;
	else if (st->depth == 1)
		add_member(st, MEMBER_OTHER, NULL);
	st->depth++;
	return GOVSHARE_JSON_CONTINUE;
}

static GOVSHARE_JSON_ACTION
on_nested_end(void *state)
{
	((ObjectState *) state)->depth--;
	return GOVSHARE_JSON_CONTINUE;
}

static GOVSHARE_JSON_ACTION
on_array_start(void *state)
{
	ObjectState *st = state;

	if (st->depth == 1)
		add_member(st, MEMBER_OTHER, NULL);
	st->depth++;
	return GOVSHARE_JSON_CONTINUE;
}

static GOVSHARE_JSON_ACTION
on_field_start(void *state, char *fname, bool isnull)
{
	ObjectState *st = state;

	if (st->depth == 1)
		st->field = fname;
	return GOVSHARE_JSON_CONTINUE;
}

static GOVSHARE_JSON_ACTION
on_scalar(void *state, char *token, JsonTokenType type)
{
	ObjectState *st = state;

	if (st->depth != 1)
		return GOVSHARE_JSON_CONTINUE;
	if (type == JSON_TOKEN_STRING)
		add_member(st, MEMBER_STRING, token);
	else if (type == JSON_TOKEN_NUMBER)
		add_member(st, MEMBER_NUMBER, token);
	else
		add_member(st, MEMBER_OTHER, NULL);
	return GOVSHARE_JSON_CONTINUE;
}

/* Parses bytes as a JSON object (part names it for errors) into st. */
static void
parse_object(const unsigned char *bytes, size_t len, const char *part, ObjectState *st)
{
	JsonLexContext *lex;
	JsonSemAction sem;

	memset(st, 0, sizeof(*st));
	if (memchr(bytes, '\0', len) != NULL ||
		!pg_verify_mbstr(PG_UTF8, (const char *) bytes, len, true))
		reject(psprintf("The %s is not valid UTF-8 text.", part));
	memset(&sem, 0, sizeof(sem));
	sem.semstate = st;
	sem.object_start = on_object_start;
	sem.object_end = on_nested_end;
	sem.array_start = on_array_start;
	sem.array_end = on_nested_end;
	sem.object_field_start = on_field_start;
	sem.scalar = on_scalar;
	lex = govshare_json_lexer((char *) bytes, len, PG_UTF8, true);
	if (pg_parse_json(lex, &sem) != JSON_SUCCESS)
		reject(psprintf("The %s is not valid JSON.", part));
	if (!st->root_is_object)
		reject(psprintf("The %s is not a JSON object.", part));
	if (st->duplicate)
		reject(psprintf("The %s has a member twice.", part));
	if (st->too_many)
		reject(psprintf("The %s has more than %d members.", part, (int) lengthof(st->members)));
}

static Member *
find_member(ObjectState *st, const char *name)
{
	for (int i = 0; i < st->nmembers; i++)
		if (strcmp(st->members[i].name, name) == 0)
			return &st->members[i];
	return NULL;
}

/* A string claim: NULL if absent and optional, else checked. */
static char *
string_claim(ObjectState *st, const char *name, bool required)
{
	Member	   *m = find_member(st, name);

	if (m == NULL)
	{
		if (required)
			reject(psprintf("The claim \"%s\" is missing.", name));
		return NULL;
	}
	if (m->type != MEMBER_STRING)
		reject(psprintf("The claim \"%s\" is not a string.", name));
	if (m->value[0] == '\0')
		reject(psprintf("The claim \"%s\" is empty.", name));
	if (strlen(m->value) > CLAIM_MAX_LEN)
		reject(psprintf("The claim \"%s\" is longer than %d bytes.", name, CLAIM_MAX_LEN));
	return pg_any_to_server(m->value, strlen(m->value), PG_UTF8);
}

/* A NumericDate claim: a non-negative integer. */
static bool
time_claim(ObjectState *st, const char *name, bool required, int64 *out)
{
	Member	   *m = find_member(st, name);
	char	   *end;

	if (m == NULL)
	{
		if (required)
			reject(psprintf("The claim \"%s\" is missing.", name));
		return false;
	}
	if (m->type != MEMBER_NUMBER || strspn(m->value, "0123456789") != strlen(m->value))
		reject(psprintf("The claim \"%s\" is not a non-negative integer (seconds since 1970).", name));
	errno = 0;
	*out = strtoi64(m->value, &end, 10);
	if (errno != 0 || *end != '\0' || *out > INT64CONST(253402300799))
		reject(psprintf("The claim \"%s\" is out of range.", name));
	return true;
}

/*
 * Parses a compact JWS into tok, checking its form (see the file header).
 * Does not verify the signature nor check times, issuer or replay.
 */
void
govshare_token_parse(const char *token, GovshareToken *tok)
{
	size_t		len;
	const char *dot1;
	const char *dot2;
	unsigned char *header;
	unsigned char *payload;
	unsigned char *sig;
	size_t		header_len;
	size_t		payload_len;
	size_t		sig_len;
	ObjectState st;
	Member	   *m;

	memset(tok, 0, sizeof(*tok));
	if (token == NULL || token[0] == '\0')
		reject("The token is empty.");
	len = strlen(token);
	if (len > GOVSHARE_TOKEN_MAX_LENGTH)
		reject(psprintf("The token is %zu bytes long; at most %d are accepted.",
						len, GOVSHARE_TOKEN_MAX_LENGTH));
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		reject("A token has three parts separated by dots: header, payload, signature.");

	header = b64url_decode(token, dot1 - token, "header", &header_len);
	payload = b64url_decode(dot1 + 1, dot2 - dot1 - 1, "payload", &payload_len);
	sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), "signature", &sig_len);

	parse_object(header, header_len, "header", &st);
	m = find_member(&st, "alg");
	if (m == NULL)
		reject("The header has no \"alg\".");
	if (m->type != MEMBER_STRING || strcmp(m->value, "EdDSA") != 0)
	{
		static const char *const known[] = {"none", "HS256", "HS384", "HS512", "RS256", "RS384",
		"RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "Ed25519"};

		for (int i = 0; m->type == MEMBER_STRING && i < lengthof(known); i++)
			if (strcmp(m->value, known[i]) == 0)
				reject(psprintf("The algorithm is \"%s\"; only \"EdDSA\" (Ed25519) is accepted.", known[i]));
		reject("The algorithm is an unsupported one; only \"EdDSA\" (Ed25519) is accepted.");
	}
	if (find_member(&st, "crit") != NULL)
		reject("The header has \"crit\" extensions, which are not supported.");
	m = find_member(&st, "kid");
	if (m != NULL)
	{
		if (m->type != MEMBER_STRING || m->value[0] == '\0' || strlen(m->value) > CLAIM_MAX_LEN)
			reject("The header's \"kid\" is not a short non-empty string.");
		tok->kid = pstrdup(m->value);
	}

	parse_object(payload, payload_len, "payload", &st);
	tok->iss = string_claim(&st, "iss", true);
	tok->sub = string_claim(&st, "sub", true);
	tok->purpose = string_claim(&st, "purpose", true);
	tok->ref = string_claim(&st, "ref", false);
	tok->aud = string_claim(&st, "aud", false);
	tok->role = string_claim(&st, "role", false);
	tok->jti = string_claim(&st, "jti", true);
	time_claim(&st, "iat", true, &tok->iat);
	time_claim(&st, "exp", true, &tok->exp);
	tok->has_nbf = time_claim(&st, "nbf", false, &tok->nbf);

	if (sig_len != ED25519_SIG_LEN)
		reject(psprintf("The signature is %zu bytes long; an Ed25519 signature is %d.",
						sig_len, ED25519_SIG_LEN));
	memcpy(tok->signature, sig, ED25519_SIG_LEN);
	tok->signing_input_len = dot2 - token;
	tok->signing_input = pnstrdup(token, tok->signing_input_len);
}

/* Raises an error about a key, with OpenSSL's queue cleared. */
static void
key_error(const char *msg, const char *detail, const char *hint)
{
	ERR_clear_error();
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s", msg),
			 detail ? errdetail("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/*
 * Reads an Ed25519 key from PEM: the public key (SubjectPublicKeyInfo) or,
 * with private, the private key (PKCS#8).  The caller frees it.
 */
static EVP_PKEY *
read_key(const char *pem, bool private)
{
	BIO		   *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY   *key;

	if (bio == NULL)
		elog(ERROR, "govshare: out of memory for OpenSSL");
	key = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
		: PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL)
	{
		/* tell a private key given for a public one */
		if (!private && strstr(pem, "PRIVATE KEY-----") != NULL)
			key_error("not a public key", "This is a private key; register the public key.",
					  "openssl pkey -in private.pem -pubout prints the public key.");
		key_error(private ? "not a PEM private key" : "not a PEM public key",
				  private ? "Expected \"-----BEGIN PRIVATE KEY-----\" (PKCS#8)."
				  : "Expected \"-----BEGIN PUBLIC KEY-----\" (SubjectPublicKeyInfo).", NULL);
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
	{
		const char *kind = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA ? "an RSA key"
			: EVP_PKEY_get_base_id(key) == EVP_PKEY_EC ? "an elliptic-curve (ECDSA) key"
			: "not an Ed25519 key";

		EVP_PKEY_free(key);
		key_error("not an Ed25519 key", psprintf("The key is %s.", kind),
				  "Request tokens are signed with Ed25519 (JWS alg EdDSA).");
	}
	return key;
}

/*
 * Public keys already decoded, by their PEM text: decoding costs far more
 * than verifying, and a provider sees the same few keys again and again.
 * Public keys are no secret, and a PEM text always decodes alike, so the
 * cache needs no invalidation; it is emptied when full.
 */
#define PUBLIC_KEY_CACHE 32
static struct
{
	char	   *pem;
	EVP_PKEY   *key;
}			public_keys[PUBLIC_KEY_CACHE];
static int	npublic_keys = 0;

static EVP_PKEY *
cached_public_key(const char *pem)
{
	EVP_PKEY   *key;

	for (int i = 0; i < npublic_keys; i++)
		if (strcmp(public_keys[i].pem, pem) == 0)
			return public_keys[i].key;
	key = read_key(pem, false);
	if (npublic_keys == PUBLIC_KEY_CACHE)
	{
		for (int i = 0; i < npublic_keys; i++)
		{
			pfree(public_keys[i].pem);
			EVP_PKEY_free(public_keys[i].key);
		}
		npublic_keys = 0;
	}
	public_keys[npublic_keys].pem = MemoryContextStrdup(TopMemoryContext, pem);
	public_keys[npublic_keys].key = key;
	npublic_keys++;
	return key;
}

/* Does the token's signature verify with the PEM public key? */
bool
govshare_token_verify(const GovshareToken *tok, const char *public_key_pem)
{
	EVP_PKEY   *volatile key = cached_public_key(public_key_pem);
	EVP_MD_CTX *volatile ctx = NULL;
	volatile bool ok = false;

	PG_TRY();
	{
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
			elog(ERROR, "govshare: could not set up Ed25519 verification");
		ok = EVP_DigestVerify(ctx, tok->signature, ED25519_SIG_LEN,
							  (const unsigned char *) tok->signing_input,
							  tok->signing_input_len) == 1;
	}
	PG_CATCH();
	{
		EVP_MD_CTX_free(ctx);
		ERR_clear_error();
		PG_RE_THROW();
	}
	PG_END_TRY();
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* The RFC 7638 thumbprint of an Ed25519 public key in PEM. */
char *
govshare_key_id(const char *public_key_pem)
{
	EVP_PKEY   *volatile key = NULL;
	unsigned char raw[ED25519_KEY_LEN];
	size_t		raw_len = sizeof(raw);
	unsigned char digest[32];
	unsigned int digest_len;
	char	   *jwk;

	PG_TRY();
	{
		key = read_key(public_key_pem, false);
		if (EVP_PKEY_get_raw_public_key(key, raw, &raw_len) != 1 || raw_len != ED25519_KEY_LEN)
			elog(ERROR, "govshare: could not read the Ed25519 public key");
	}
	PG_CATCH();
	{
		EVP_PKEY_free(key);
		ERR_clear_error();
		PG_RE_THROW();
	}
	PG_END_TRY();
	EVP_PKEY_free(key);
	ERR_clear_error();

	/* the required members in lexicographic order, no whitespace */
	jwk = psprintf("{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}",
				   b64url_encode(raw, raw_len));
	if (EVP_Digest(jwk, strlen(jwk), digest, &digest_len, EVP_sha256(), NULL) != 1)
		elog(ERROR, "govshare: SHA-256 failed");
	return b64url_encode(digest, digest_len);
}

/* Signs the input with key, into the 64 bytes of sig. */
static void
ed25519_sign(EVP_PKEY *key, const char *input, unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t		sig_len = ED25519_SIG_LEN;
	bool		ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *) input, strlen(input)) == 1 &&
		sig_len == ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		elog(ERROR, "govshare: Ed25519 signing failed");
}

/*
 * A signer: a private key decoded once, with its key id, kept for a
 * backend's later signatures (src/remote.c signs a token per request).
 * It is made from the PEM text and knows the SHA-256 of that text, so a
 * caller that reads the key file again can tell whether it changed.
 */
struct GovshareSigner
{
	EVP_PKEY   *key;
	char	   *kid;
	unsigned char pem_sha256[32];
};

GovshareSigner *
govshare_signer_new(const char *private_key_pem)
{
	GovshareSigner *signer;
	EVP_PKEY   *key = read_key(private_key_pem, true);
	char	   *kid;

	PG_TRY();
	{
		kid = govshare_key_id(govshare_public_key_pem(private_key_pem));
	}
	PG_CATCH();
	{
		EVP_PKEY_free(key);
		PG_RE_THROW();
	}
	PG_END_TRY();
	signer = MemoryContextAllocZero(TopMemoryContext, sizeof(GovshareSigner));
	signer->key = key;
	signer->kid = MemoryContextStrdup(TopMemoryContext, kid);
	govshare_sha256(private_key_pem, strlen(private_key_pem), signer->pem_sha256);
	return signer;
}

/* Was the signer made from this PEM text? */
bool
govshare_signer_is(const GovshareSigner *signer, const char *private_key_pem)
{
	unsigned char digest[32];

	govshare_sha256(private_key_pem, strlen(private_key_pem), digest);
	return memcmp(digest, signer->pem_sha256, sizeof(digest)) == 0;
}

void
govshare_signer_free(GovshareSigner *signer)
{
	EVP_PKEY_free(signer->key);
	pfree(signer->kid);
	pfree(signer);
}

const char *
govshare_signer_kid(const GovshareSigner *signer)
{
	return signer->kid;
}

/* The JWS compact serialisation of header and payload, signed by signer. */
char *
govshare_signer_sign(const GovshareSigner *signer, const char *header_json,
					 const char *payload_json)
{
	char	   *input = psprintf("%s.%s",
								 b64url_encode((const unsigned char *) header_json, strlen(header_json)),
								 b64url_encode((const unsigned char *) payload_json, strlen(payload_json)));
	unsigned char sig[ED25519_SIG_LEN];

	ed25519_sign(signer->key, input, sig);
	return psprintf("%s.%s", input, b64url_encode(sig, ED25519_SIG_LEN));
}

/* Signs header and payload (JSON texts) with an Ed25519 private key. */
char *
govshare_jws_sign(const char *private_key_pem, const char *header_json, const char *payload_json)
{
	EVP_PKEY   *volatile key = NULL;
	char	   *input = psprintf("%s.%s",
								 b64url_encode((const unsigned char *) header_json, strlen(header_json)),
								 b64url_encode((const unsigned char *) payload_json, strlen(payload_json)));
	unsigned char sig[ED25519_SIG_LEN];

	key = read_key(private_key_pem, true);
	PG_TRY();
	{
		ed25519_sign(key, input, sig);
	}
	PG_FINALLY();
	{
		EVP_PKEY_free(key);
	}
	PG_END_TRY();
	return psprintf("%s.%s", input, b64url_encode(sig, ED25519_SIG_LEN));
}

/* govshare.key_id(public_key text) returns text */
PG_FUNCTION_INFO_V1(govshare_key_id_sql);
Datum
govshare_key_id_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(govshare_key_id(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

/* govshare.verify_token(token text, public_key text) returns jsonb */
PG_FUNCTION_INFO_V1(govshare_verify_token);
Datum
govshare_verify_token(PG_FUNCTION_ARGS)
{
	GovshareToken tok;
	char	   *token = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *dot;
	size_t		len;
	unsigned char *payload;

	govshare_token_parse(token, &tok);
	if (!govshare_token_verify(&tok, text_to_cstring(PG_GETARG_TEXT_PP(1))))
		reject("The signature does not verify with the given key.");
	dot = strchr(token, '.');
	payload = b64url_decode(dot + 1, strchr(dot + 1, '.') - dot - 1, "payload", &len);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(pg_any_to_server((char *) payload, len, PG_UTF8)));
}

/* govshare.make_test_key() returns table (private_key text, public_key text, key_id text) */
PG_FUNCTION_INFO_V1(govshare_make_test_key);
Datum
govshare_make_test_key(PG_FUNCTION_ARGS)
{
	EVP_PKEY_CTX *volatile pctx = NULL;
	EVP_PKEY   *volatile key = NULL;
	BIO		   *volatile bio = NULL;
	char	   *pems[2];
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "govshare: make_test_key must return a row");
	PG_TRY();
	{
		EVP_PKEY   *k = NULL;

		pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
		if (pctx == NULL || EVP_PKEY_keygen_init(pctx) != 1 || EVP_PKEY_keygen(pctx, &k) != 1)
			elog(ERROR, "govshare: Ed25519 key generation failed");
		key = k;
		for (int i = 0; i < 2; i++)
		{
			char	   *data;
			long		n;

			bio = BIO_new(BIO_s_mem());
			if (bio == NULL ||
				(i == 0 ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
				 : PEM_write_bio_PUBKEY(bio, key)) != 1)
				elog(ERROR, "govshare: could not write the key");
			n = BIO_get_mem_data(bio, &data);
			pems[i] = pnstrdup(data, n);
			BIO_free(bio);
			bio = NULL;
		}
	}
	PG_FINALLY();
	{
		BIO_free(bio);
		EVP_PKEY_free(key);
		EVP_PKEY_CTX_free(pctx);
		ERR_clear_error();
	}
	PG_END_TRY();
	values[0] = CStringGetTextDatum(pems[0]);
	values[1] = CStringGetTextDatum(pems[1]);
	values[2] = CStringGetTextDatum(govshare_key_id(pems[1]));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* govshare.sign_jws(private_key text, header jsonb, payload jsonb) returns text */
PG_FUNCTION_INFO_V1(govshare_sign_jws);
Datum
govshare_sign_jws(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *header = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(1)));
	char	   *payload = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(2)));

	header = pg_server_to_any(header, strlen(header), PG_UTF8);
	payload = pg_server_to_any(payload, strlen(payload), PG_UTF8);
	PG_RETURN_TEXT_P(cstring_to_text(govshare_jws_sign(key, header, payload)));
}

/*
 * The PEM public key (SubjectPublicKeyInfo) of an Ed25519 private key in
 * PEM, in the current memory context.
 */
char *
govshare_public_key_pem(const char *private_key_pem)
{
	EVP_PKEY   *key = read_key(private_key_pem, true);
	BIO		   *bio = BIO_new(BIO_s_mem());
	char	   *data;
	long		len = 0;
	bool		ok;

	/* nothing below raises an error before the handles are freed */
	ok = bio != NULL && PEM_write_bio_PUBKEY(bio, key) == 1 &&
		(len = BIO_get_mem_data(bio, &data)) > 0;
	data = ok ? pnstrdup(data, len) : NULL;
	BIO_free(bio);
	EVP_PKEY_free(key);
	ERR_clear_error();
	if (!ok)
		elog(ERROR, "govshare: could not write the public key");
	return data;
}

/*
 * Verifies a compact JWS signed with EdDSA against a PEM public key.
 * Returns its payload, decoded and NUL-terminated, or NULL with a sentence
 * in *problem when the JWS is malformed or its signature does not verify.
 * Unlike govshare_token_parse, it says nothing of the claims: the caller
 * reads the payload it needs.
 */
char *
govshare_jws_verify(const char *jws, const char *public_key_pem, const char **problem)
{
	const char *dot1 = strchr(jws, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	GovshareToken tok;
	unsigned char *volatile payload = NULL;
	unsigned char *volatile sig = NULL;
	volatile size_t sig_len = 0;
	MemoryContext cxt = CurrentMemoryContext;

	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
	{
		*problem = "The signature is not a compact JWS: three parts separated by dots.";
		return NULL;
	}
	PG_TRY();
	{
		size_t		len;

		(void) b64url_decode(jws, dot1 - jws, "header", &len);
		payload = b64url_decode(dot1 + 1, dot2 - dot1 - 1, "payload", &len);
		sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), "signature", &len);
		sig_len = len;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		*problem = edata->detail ? edata->detail : edata->message;
		return NULL;
	}
	PG_END_TRY();
	if (sig_len != ED25519_SIG_LEN)
	{
		*problem = "The signature is not an Ed25519 signature.";
		return NULL;
	}
	memset(&tok, 0, sizeof(tok));
	memcpy(tok.signature, sig, ED25519_SIG_LEN);
	tok.signing_input_len = dot2 - jws;
	tok.signing_input = pnstrdup(jws, tok.signing_input_len);
	if (!govshare_token_verify(&tok, public_key_pem))
	{
		*problem = "The signature does not verify with the registered key.";
		return NULL;
	}
	return (char *) payload;
}
