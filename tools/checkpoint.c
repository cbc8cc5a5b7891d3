/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  Signed checkpoints of the access log, verified offline: Ed25519
 *	  public keys, their RFC 7638 thumbprints, the JWS of a checkpoint.
 *
 * A checkpoint is the JSON object govshare.checkpoint() returns; only its
 * member "jws" is evidence (docs/audit-format.md, "Checkpoints"): a JWS in
 * compact serialisation (RFC 7515) signed with EdDSA over Ed25519 (RFC
 * 8037), protected header {"alg":"EdDSA","kid":<thumbprint>,"typ":
 * "govshare-checkpoint+jws"}, payload {"typ":"govshare-checkpoint",
 * "agency", "database", "seq", "hash", "time"}.  The key is found by the
 * header's kid among the public keys given, the signature is checked over
 * the first two parts exactly as they were sent, and only then is the
 * payload read.  base64url must be canonical (no padding, unused bits
 * zero), as src/token.c demands of tokens.
 *
 * tools/checkpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "govshare_verify.h"

#define ED25519_KEY_LEN	32
#define ED25519_SIG_LEN	64

static const char b64url_chars[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of data without padding, NUL-terminated, malloc'd. */
static char *
b64url_encode(const unsigned char *data, size_t len)
{
	char	   *out = verify_malloc((len + 2) / 3 * 4 + 1);
	char	   *p = out;
	size_t		i;

	for (i = 0; i + 2 < len; i += 3)
	{
		uint32_t	v = ((uint32_t) data[i] << 16) | ((uint32_t) data[i + 1] << 8) | data[i + 2];

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

/*
 * Decodes canonical base64url; returns the bytes (malloc'd,
 * NUL-terminated) and their count in *len, or NULL when s is not
 * canonical base64url.
 */
static unsigned char *
b64url_decode(const char *s, size_t slen, size_t *len)
{
	unsigned char *out;
	size_t		n = 0;
	uint32_t	acc = 0;
	int			bits = 0;

	if (slen % 4 == 1)
		return NULL;
	out = verify_malloc(slen / 4 * 3 + 3);
	for (size_t i = 0; i < slen; i++)
	{
		const char *c = s[i] ? strchr(b64url_chars, s[i]) : NULL;

		if (c == NULL)
		{
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t) (c - b64url_chars);
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (acc >> bits) & 0xFF;
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
	{
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*len = n;
	return out;
}

/*
 * Reads the Ed25519 public key in the PEM file at path and computes its
 * RFC 7638 thumbprint, the kid a checkpoint names it by.  Errors are
 * fatal.
 */
void
checkpoint_load_key(PublicKey *pk, const char *path)
{
	FILE	   *f = fopen(path, "r");
	unsigned char raw[ED25519_KEY_LEN];
	size_t		raw_len = sizeof(raw);
	unsigned char digest[VERIFY_HASH_LEN];
	unsigned int dlen;
	char	   *x;
	char		jwk[128];

	if (f == NULL)
		verify_fatal("could not open the public key file \"%s\": %m", path);
	pk->path = path;
	pk->key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (pk->key == NULL)
		verify_fatal("\"%s\" is not a public key in PEM (-----BEGIN PUBLIC KEY-----)", path);
	if (EVP_PKEY_get_id(pk->key) != EVP_PKEY_ED25519 ||
		EVP_PKEY_get_raw_public_key(pk->key, raw, &raw_len) != 1 || raw_len != ED25519_KEY_LEN)
		verify_fatal("the public key in \"%s\" is not an Ed25519 key: checkpoints are signed with Ed25519", path);

	/* the required members in lexicographic order, no white space */
	x = b64url_encode(raw, raw_len);
	snprintf(jwk, sizeof(jwk), "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
	free(x);
	if (EVP_Digest(jwk, strlen(jwk), digest, &dlen, EVP_sha256(), NULL) != 1)
		verify_fatal("SHA-256 failed");
	pk->kid = b64url_encode(digest, dlen);
}

void
checkpoint_free_key(PublicKey *pk)
{
	EVP_PKEY_free(pk->key);
	free(pk->kid);
}

/* A string member without NUL bytes, or NULL. */
static const char *
string_member(const JsonObject *obj, const char *name)
{
	const JsonMember *m = json_member(obj, name);

	if (m == NULL || m->kind != JSON_STRING || strlen(m->value) != m->value_len)
		return NULL;
	return m->value;
}

/* A non-negative integer member written as digits only; false otherwise. */
static bool
seq_member(const JsonObject *obj, const char *name, int64_t *out)
{
	const JsonMember *m = json_member(obj, name);
	char	   *end;
	long long	v;

	if (m == NULL || m->kind != JSON_NUMBER || m->value[0] < '0' || m->value[0] > '9' ||
		strspn(m->value, "0123456789") != m->value_len)
		return false;
	errno = 0;
	v = strtoll(m->value, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static bool
problem_is(char *problem, size_t size, const char *fmt,...) __attribute__((format(printf, 3, 4)));

/* Writes the problem; returns false, for "return problem_is(...)". */
static bool
problem_is(char *problem, size_t size, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(problem, size, fmt, ap);
	va_end(ap);
	return false;
}

/* Does sig verify over input with key? */
static bool
signature_verifies(EVP_PKEY *key, const unsigned char *sig, size_t sig_len,
				   const char *input, size_t input_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool		ok;

	ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
		EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *) input, input_len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/*
 * The checks after the JWS is split: the header, the key, the signature,
 * then the payload.  Fills cp; false with the problem.
 */
static bool
verify_jws(const char *jws, const PublicKey *keys, int nkeys, Checkpoint *cp,
		   char *problem, size_t size, JsonObject *header, JsonObject *payload)
{
	const char *dot1 = strchr(jws, '.');
	const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	unsigned char *bytes;
	size_t		n;
	const char *error;
	const char *s;
	bool		ok;

	if (dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		return problem_is(problem, size, "The checkpoint's \"jws\" is not a JWS in compact serialisation (three parts separated by dots).");

	/* the protected header */
	if ((bytes = b64url_decode(jws, dot1 - jws, &n)) == NULL)
		return problem_is(problem, size, "The JWS header is not canonical base64url.");
	ok = json_parse_object((char *) bytes, n, header, &error);
	free(bytes);
	if (!ok)
		return problem_is(problem, size, "The JWS header is not a JSON object: %s.", error);
	if ((s = string_member(header, "alg")) == NULL || strcmp(s, "EdDSA") != 0)
		return problem_is(problem, size, "The JWS header's \"alg\" is not \"EdDSA\": checkpoints are signed with Ed25519.");
	if ((s = string_member(header, "typ")) == NULL || strcmp(s, "govshare-checkpoint+jws") != 0)
		return problem_is(problem, size, "The JWS header's \"typ\" is not \"govshare-checkpoint+jws\": what was signed is not a checkpoint.");
	if (json_member(header, "crit") != NULL)
		return problem_is(problem, size, "The JWS header has \"crit\" extensions, which no checkpoint has.");
	if ((s = string_member(header, "kid")) == NULL)
		return problem_is(problem, size, "The JWS header has no \"kid\" naming its key.");
	for (int i = 0; i < nkeys && cp->signer == NULL; i++)
		if (strcmp(keys[i].kid, s) == 0)
			cp->signer = &keys[i];
	if (cp->signer == NULL)
		return problem_is(problem, size, "The checkpoint is signed by key %.64s, which is not one of the public keys given (--public-key).", s);

	/* the signature, over the first two parts as they are */
	if ((bytes = b64url_decode(dot2 + 1, strlen(dot2 + 1), &n)) == NULL || n != ED25519_SIG_LEN)
	{
		free(bytes);
		return problem_is(problem, size, "The checkpoint's signature is not 64 bytes of canonical base64url.");
	}
	ok = signature_verifies(cp->signer->key, bytes, n, jws, dot2 - jws);
	free(bytes);
	if (!ok)
		return problem_is(problem, size, "The checkpoint's signature does not verify with key %s (%s): it was changed after signing, or signed by another key.",
						  cp->signer->kid, cp->signer->path);

	/* the payload, signed */
	if ((bytes = b64url_decode(dot1 + 1, dot2 - dot1 - 1, &n)) == NULL)
		return problem_is(problem, size, "The JWS payload is not canonical base64url.");
	ok = json_parse_object((char *) bytes, n, payload, &error);
	free(bytes);
	if (!ok)
		return problem_is(problem, size, "The signed payload is not a JSON object: %s.", error);
	if ((s = string_member(payload, "typ")) == NULL || strcmp(s, "govshare-checkpoint") != 0)
		return problem_is(problem, size, "What the key signed is not a govshare checkpoint (its \"typ\" is not \"govshare-checkpoint\").");
	s = string_member(payload, "hash");
	if (!seq_member(payload, "seq", &cp->seq) || s == NULL || strlen(s) != 2 * VERIFY_HASH_LEN ||
		strspn(s, "0123456789abcdef") != 2 * VERIFY_HASH_LEN ||
		string_member(payload, "agency") == NULL)
		return problem_is(problem, size, "The signed checkpoint lacks its \"agency\", \"seq\" or \"hash\".");
	memcpy(cp->hash, s, sizeof(cp->hash));
	cp->agency = verify_strdup(string_member(payload, "agency"));
	s = string_member(payload, "database");
	cp->database = verify_strdup(s ? s : "?");
	s = string_member(payload, "time");
	cp->time = verify_strdup(s ? s : "?");
	if (cp->seq == 0 && strspn(cp->hash, "0") != 2 * VERIFY_HASH_LEN)
		return problem_is(problem, size, "The checkpoint of an empty log (seq 0) has a hash.");
	return true;
}

/*
 * Verifies the checkpoint document doc (the JSON of govshare.checkpoint())
 * with the public keys given: fills cp with the signed payload and
 * returns true, or returns false with the problem.  What the log must
 * then show (the row at cp->seq with hash cp->hash) is the caller's.
 */
bool
checkpoint_verify(const char *doc, size_t len, const PublicKey *keys, int nkeys,
				  Checkpoint *cp, char *problem, size_t problem_size)
{
	JsonObject	top;
	JsonObject	header = {NULL, 0};
	JsonObject	payload = {NULL, 0};
	const char *error;
	const char *jws;
	bool		ok;

	memset(cp, 0, sizeof(*cp));
	if (!json_parse_object(doc, len, &top, &error))
		return problem_is(problem, problem_size, "The checkpoint is not a JSON object: %s.", error);
	if ((jws = string_member(&top, "jws")) == NULL)
		ok = problem_is(problem, problem_size, "The checkpoint has no \"jws\": it is not one govshare.checkpoint() made.");
	else if (nkeys == 0)
		ok = problem_is(problem, problem_size, "No public key was given (--public-key) to verify the checkpoint's signature with.");
	else
		ok = verify_jws(jws, keys, nkeys, cp, problem, problem_size, &header, &payload);
	json_free(&payload);
	json_free(&header);
	json_free(&top);
	return ok;
}

void
checkpoint_clear(Checkpoint *cp)
{
	free(cp->agency);
	free(cp->database);
	free(cp->time);
	memset(cp, 0, sizeof(*cp));
}
