/*-------------------------------------------------------------------------
 *
 * ff1.c
 *	  FF1 format-preserving encryption (NIST SP 800-38G) over AES, for
 *	  numeral strings short enough to be held as one integer.
 *
 * A keyed permutation of the numeral strings of length n in base radix:
 * the pseudonyms of the 8-byte national types (src/enforce/pseudonym.c)
 * are FF1 of the value's 59-bit encoding, so that the server, holding the
 * key, can turn a pseudonym a consumer compares back into the value and
 * look it up in the column's index.  A numeral string is carried as its
 * number (NUM_radix in the standard), its halves as the number's quotient
 * and remainder by radix^v: every half must be below 2^56, which holds
 * for the bit strings govshare needs and for the standard's samples that
 * govshare_ff1_self_test() checks.
 *
 * The PRF of the standard is a CBC-MAC of P || Q under AES.  P depends on
 * the radix, the lengths and the tweak only; its encryption is computed
 * once per call and chained into each round's Q (one AES block a round,
 * since Q is one block whenever the tweak and B fit in it).
 *
 * src/common/ff1.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <openssl/evp.h>

#include "common/gs_common.h"

/* The rounds of FF1. */
#define FF1_ROUNDS		10
/* Every half of a numeral string stays below this. */
#define FF1_HALF_LIMIT	(UINT64_C(1) << 56)

/*
 * An AES context in ECB mode without padding, keyed with key (16, 24 or
 * 32 bytes), for govshare_ff1(); the caller frees it with
 * EVP_CIPHER_CTX_free().
 */
EVP_CIPHER_CTX *
govshare_ff1_context(const unsigned char *key, int keylen)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;

	cipher = keylen == 16 ? EVP_aes_128_ecb() : keylen == 24 ? EVP_aes_192_ecb() :
		keylen == 32 ? EVP_aes_256_ecb() : NULL;
	if (cipher == NULL)
		elog(ERROR, "govshare: an FF1 key has 16, 24 or 32 bytes, not %d", keylen);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		elog(ERROR, "govshare: out of memory for an AES context");
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, NULL) != 1 ||
		EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
	{
		EVP_CIPHER_CTX_free(ctx);
		elog(ERROR, "govshare: AES could not be set up");
	}
	return ctx;
}

/* One AES block: out = AES(in). */
static void
aes_block(EVP_CIPHER_CTX *ctx, const unsigned char *in, unsigned char *out)
{
	int			len = 0;

	if (EVP_EncryptUpdate(ctx, out, &len, in, 16) != 1 || len != 16)
		elog(ERROR, "govshare: AES failed");
}

/* radix^m, or 0 when it is not below FF1_HALF_LIMIT. */
static uint64
power(unsigned radix, int m)
{
	uint64		p = 1;

	for (int i = 0; i < m; i++)
	{
		if (p >= FF1_HALF_LIMIT / radix)
			return 0;
		p *= radix;
	}
	return p;
}

/*
 * FF1 of the numeral string of n digits in base radix whose number is x,
 * under the AES context aes and the tweak (t bytes): its encryption when
 * encrypt, else its decryption.  Returns the result's number.
 */
uint64
govshare_ff1(EVP_CIPHER_CTX *aes, bool encrypt, unsigned radix, int n,
			 const unsigned char *tweak, int t, uint64 x)
{
	int			u = n / 2;
	int			v = n - u;
	uint64		radix_u = power(radix, u);
	uint64		radix_v = power(radix, v);
	int			b;
	int			d;
	unsigned char p[16];
	unsigned char ep[16];
	unsigned char q[16];
	unsigned char r[16];
	int			pad;
	uint64		a;
	uint64		bb;

	if (radix < 2 || radix > 65536 || n < 2 || radix_u == 0 || radix_v == 0 ||
		x / radix_v >= radix_u)
		elog(ERROR, "govshare: FF1 input out of range");
	b = (int) ((ceil(v * log2((double) radix)) + 7) / 8);
	d = 4 * ((b + 3) / 4) + 4;
	/* Q must be one block: the tweak, its padding, the round and B */
	pad = (int) (((-(long) t - b - 1) % 16 + 16) % 16);
	if (t + pad + 1 + b != 16 || d > 16)
		elog(ERROR, "govshare: FF1 with a %d-byte tweak and %d-digit halves is not supported", t, v);

	/* P = [1]^1 [2]^1 [1]^1 [radix]^3 [10]^1 [u mod 256]^1 [n]^4 [t]^4 */
	p[0] = 1;
	p[1] = 2;
	p[2] = 1;
	p[3] = (unsigned char) (radix >> 16);
	p[4] = (unsigned char) (radix >> 8);
	p[5] = (unsigned char) radix;
	p[6] = 10;
	p[7] = (unsigned char) (u % 256);
	for (int i = 0; i < 4; i++)
	{
		p[8 + i] = (unsigned char) ((uint32) n >> (24 - 8 * i));
		p[12 + i] = (unsigned char) ((uint32) t >> (24 - 8 * i));
	}
	aes_block(aes, p, ep);

	a = x / radix_v;
	bb = x % radix_v;
	for (int k = 0; k < FF1_ROUNDS; k++)
	{
		int			i = encrypt ? k : FF1_ROUNDS - 1 - k;
		uint64		m_pow = (i % 2 == 0) ? radix_u : radix_v;
		uint64		num = encrypt ? bb : a;
		uint64		y = 0;

		/* Q = T || [0]^pad || [i]^1 || [NUM_radix(B)]^b, chained after AES(P) */
		if (t > 0)
			memcpy(q, tweak, t);
		memset(q + t, 0, pad);
		q[t + pad] = (unsigned char) i;
		for (int j = 0; j < b; j++)
			q[15 - j] = (unsigned char) (j < 8 ? num >> (8 * j) : 0);
		for (int j = 0; j < 16; j++)
			q[j] ^= ep[j];
		aes_block(aes, q, r);
		/* y = NUM(S), S the first d bytes of R, reduced modulo radix^m (< 2^56) */
		for (int j = 0; j < d; j++)
			y = (y * 256 + r[j]) % m_pow;
		if (encrypt)
		{
			uint64		c = (a % m_pow + y) % m_pow;

			a = bb;
			bb = c;
		}
		else
		{
			uint64		c = (bb % m_pow + m_pow - y) % m_pow;

			bb = a;
			a = c;
		}
	}
	return a * radix_v + bb;
}

/*
 * Checks govshare_ff1() against the samples of NIST's FF1 examples
 * (AES-128 and AES-256, radix 10): a wrong permutation would give every consumer
 * pseudonyms the server cannot turn back, and lookups by pseudonym would
 * find nothing.  Raises an error on a mismatch.
 */
void
govshare_ff1_self_test(void)
{
	static bool passed = false;
	static const unsigned char key[16] = {
		0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6,
		0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F, 0x3C
	};
	static const unsigned char key256[32] = {
		0x2B, 0x7E, 0x15, 0x16, 0x28, 0xAE, 0xD2, 0xA6,
		0xAB, 0xF7, 0x15, 0x88, 0x09, 0xCF, 0x4F, 0x3C,
		0xEF, 0x43, 0x59, 0xD8, 0xD5, 0x80, 0xAA, 0x4F,
		0x7F, 0x03, 0x6D, 0x6F, 0x04, 0xFC, 0x6A, 0x94
	};
	static const unsigned char tweak[10] = {
		0x39, 0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, 0x30
	};
	EVP_CIPHER_CTX *aes;
	uint64		y1;
	uint64		y2;
	uint64		back;
	uint64		y7;

	if (passed)
		return;
	aes = govshare_ff1_context(key, sizeof(key));
	y1 = govshare_ff1(aes, true, 10, 10, NULL, 0, UINT64CONST(123456789));
	y2 = govshare_ff1(aes, true, 10, 10, tweak, sizeof(tweak), UINT64CONST(123456789));
	back = govshare_ff1(aes, false, 10, 10, tweak, sizeof(tweak), y2);
	EVP_CIPHER_CTX_free(aes);	/* (an error above leaks it: AES fails only when broken) */
	/* AES-256, as the pseudonyms use: NIST's sample 7 */
	aes = govshare_ff1_context(key256, sizeof(key256));
	y7 = govshare_ff1(aes, true, 10, 10, NULL, 0, UINT64CONST(123456789));
	EVP_CIPHER_CTX_free(aes);
	if (y1 != UINT64CONST(2433477484) || y2 != UINT64CONST(6124200773) ||
		back != UINT64CONST(123456789) || y7 != UINT64CONST(6657667009))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("govshare: the FF1 self-test failed"),
				 errdetail("NIST's samples 1, 2 and 7 gave %llu, %llu and %llu, not 2433477484, 6124200773 and 6657667009.",
						   (unsigned long long) y1, (unsigned long long) y2, (unsigned long long) y7)));
	passed = true;
}
