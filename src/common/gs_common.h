/*-------------------------------------------------------------------------
 *
 * gs_common.h
 *	  The lowest subsystem of govshare: what every other one may call.
 *
 * Secret files and the three settings that name them, SHA-256 and HMAC,
 * hex, Unix time, JSON string literals, SPI work done as a relation's
 * owner, and whose code may run as whom (trust.c).  Nothing here calls any other govshare subsystem.
 *
 * src/common/gs_common.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_COMMON_H
#define GS_COMMON_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/nodes.h"

#include "compat.h"

/* keyfile.c: secrets in files only the server can read */
typedef enum GovshareKeyFile
{
	GOVSHARE_KEY_PSEUDONYM,		/* govshare.pseudonym_key_file */
	GOVSHARE_KEY_AUDIT,			/* govshare.audit_key_file */
	GOVSHARE_KEY_SIGNING		/* govshare.signing_key_file */
} GovshareKeyFile;

extern char *govshare_pseudonym_key_file;
extern char *govshare_audit_key_file;
extern char *govshare_signing_key_file;

extern bool govshare_keyfile_configured(GovshareKeyFile file);
extern unsigned char *govshare_keyfile_read(GovshareKeyFile file, const char *why, size_t *len);

/* crypto.c: hashes */
#define GOVSHARE_HASH_LEN 32
extern void govshare_sha256(const void *data, size_t len, unsigned char *out);
extern void govshare_hmac_sha256(const unsigned char *key, size_t keylen,
								 const void *data, size_t len, unsigned char *out);
extern char *govshare_hex(const unsigned char *b, int n);

/* ff1.c: format-preserving encryption (OpenSSL's EVP_CIPHER_CTX) */
struct evp_cipher_ctx_st;
extern struct evp_cipher_ctx_st *govshare_ff1_context(const unsigned char *key, int keylen);
extern uint64 govshare_ff1(struct evp_cipher_ctx_st *aes, bool encrypt, unsigned radix, int n,
						   const unsigned char *tweak, int t, uint64 x);
extern void govshare_ff1_self_test(void);

/* util.c: time, JSON strings, work as a relation's owner */
extern int64 govshare_unix_now(void);
extern TimestampTz govshare_from_unix(int64 t);
extern char *govshare_json_string(const char *s);
extern void govshare_spi_as_owner(Oid relid, void (*work) (void *arg), void *arg);

/* fold.c: text as govshare.verify() compares it */
extern char *govshare_fold_text(const char *s, int len, bool ignore_diacritics);

/* trust.c: whose code may run as whom */
extern const char *govshare_type_problem(Oid typid, Oid runner);
extern const char *govshare_expr_problem(Node *expr, Oid runner);

#endif							/* GS_COMMON_H */
