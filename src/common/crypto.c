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
	static EVP_MD_CTX *ctx = NULL;
	unsigned int dlen;

	/*
	 * The context too is made once per process and reinitialised for each
	 * digest: EVP_Digest allocates, wipes and frees one per call, which
	 * cost verify_log() a third of its hashing (perf, 600-byte records).
	 */
	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		elog(ERROR, "govshare: OpenSSL has no SHA-256");
	if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
		elog(ERROR, "govshare: out of memory for a SHA-256 context");
	if (EVP_DigestInit_ex(ctx, sha256, NULL) != 1 ||
		EVP_DigestUpdate(ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ctx, out, &dlen) != 1)
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
