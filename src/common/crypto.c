/*-------------------------------------------------------------------------
 *
 * crypto.c
 *	  SHA-256 and HMAC-SHA256 over OpenSSL, and hex.
 *
 * The one place govshare hashes: the audit chain, statement digests, key
 * ids and checkpoints (SHA-256), the keyed chain and pseudonyms (HMAC).
 *
 * src/common/crypto.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/gs_common.h"

/*
 * SHA-256 of data, into out (32 bytes).  The digest is fetched from
 * OpenSSL once per process: an implicit fetch on every call costs more
 * than hashing a statement's text.
 */
void
govshare_sha256(const void *data, size_t len, unsigned char *out)
{
	static EVP_MD *sha256 = NULL;
	unsigned int dlen;

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		elog(ERROR, "govshare: OpenSSL has no SHA-256");
	if (EVP_Digest(data, len, out, &dlen, sha256, NULL) != 1)
		elog(ERROR, "govshare: SHA-256 failed");
}

/* HMAC-SHA256 of data under key, into out (32 bytes). */
void
govshare_hmac_sha256(const unsigned char *key, size_t keylen, const void *data,
					 size_t len, unsigned char *out)
{
	unsigned int outlen = 0;

	if (HMAC(EVP_sha256(), key, (int) keylen, (const unsigned char *) data, len,
			 out, &outlen) == NULL || outlen != GOVSHARE_HASH_LEN)
		elog(ERROR, "govshare: HMAC-SHA256 failed");
}

/* n bytes as lowercase hex digits, in the current memory context. */
char *
govshare_hex(const unsigned char *b, int n)
{
	static const char digits[] = "0123456789abcdef";
	char	   *s = palloc(2 * n + 1);

	for (int i = 0; i < n; i++)
	{
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 0xf];
	}
	s[2 * n] = '\0';
	return s;
}
