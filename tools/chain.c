/*-------------------------------------------------------------------------
 *
 * chain.c
 *	  The access log's canonical encoding and hash chain, recomputed from
 *	  the rows as the server sends them in binary.
 *
 * docs/audit-format.md is the specification; this file implements it
 * without the server's code.  Every row's hash must be SHA-256 (or
 * HMAC-SHA256 under the audit key its hmac_key_id names) of its prev_hash
 * followed by "GSAL1" and columns 1 .. 31 as tagged values (or, for a row
 * with a detail, "GSAL2", the same columns, then detail); seq runs 1, 2,
 * 3 ... without gaps; each prev_hash is the previous row's hash (32 zero
 * bytes before seq 1); once a row is keyed, every later row is.  The
 * binary forms of the column types map onto the tagged values almost as
 * they are: integers are big-endian in both, a timestamptz is microseconds
 * since 2000-01-01 on the wire and since 1970-01-01 in the encoding, and
 * an array's header gives way to its element count.  The checks and their
 * messages are src/verify.c's.
 *
 * tools/chain.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/err.h>

#include "govshare_verify.h"

/* microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch */
#define UNIX_TO_PG_USECS	INT64_C(946684800000000)

/* type OIDs of the log's columns (pg_type.dat) */
#define BOOLOID			16
#define BYTEAOID		17
#define INT8OID			20
#define TEXTOID			25
#define TIMESTAMPTZOID	1184
#define TEXTARRAYOID	1009
#define INT8ARRAYOID	1016
#define UUIDOID			2950
#define JSONBOID		3802

/* the audit key file, as the server reads it (src/keyfile.c) */
#define KEY_MIN_LEN		32
#define KEY_MAX_LEN		1024

/* The columns of govshare.access_log, in order (docs/audit-format.md). */
const char *const chain_column_names[VERIFY_NCOLUMNS] = {
	"seq", "logged_at", "kind", "statement_id", "stmt_time", "outcome", "internal",
	"agency", "role_name", "login_role", "officer", "purpose", "reference", "token_id",
	"query_id", "statement_sha256", "statement_text", "relations", "columns", "elements",
	"levels", "rule_ids", "policy_version", "reason", "rows", "subjects", "subject_count",
	"subject_overflow", "receipt_seq", "receipt_hash", "hmac_key_id", "prev_hash", "hash",
	"detail",
};

const Oid	chain_column_types[VERIFY_NCOLUMNS] = {
	INT8OID, TIMESTAMPTZOID, TEXTOID, UUIDOID, TIMESTAMPTZOID, TEXTOID, BOOLOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
	INT8OID, BYTEAOID, TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, INT8ARRAYOID, INT8OID, TEXTOID, INT8OID, TEXTARRAYOID, INT8OID,
	BOOLOID, INT8OID, BYTEAOID, TEXTOID, BYTEAOID, BYTEAOID, JSONBOID,
};

#define COL_SEQ			0
#define COL_KIND		2
#define COL_RECEIPT_SEQ	28
#define COL_HMAC_KEY_ID	30
#define COL_PREV_HASH	31
#define COL_HASH		32
#define COL_DETAIL		33		/* read as detail::text: jsonb's text form */

/* big-endian integers of the binary protocol (also for follow.c) */
uint32_t
verify_get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *) p;

	return ((uint32_t) u[0] << 24) | ((uint32_t) u[1] << 16) | ((uint32_t) u[2] << 8) | u[3];
}

uint64_t
verify_get_u64(const char *p)
{
	return ((uint64_t) verify_get_u32(p) << 32) | verify_get_u32(p + 4);
}

/* Room for n more bytes in the row buffer. */
static void
reserve(Chain *c, size_t n)
{
	if (c->len + n <= c->cap)
		return;
	while (c->len + n > c->cap)
		c->cap = c->cap ? 2 * c->cap : 8192;
	c->buf = realloc(c->buf, c->cap);
	if (c->buf == NULL)
		verify_fatal("out of memory");
}

static void
put(Chain *c, const void *data, size_t n)
{
	reserve(c, n);
	memcpy(c->buf + c->len, data, n);
	c->len += n;
}

static void
put_tag(Chain *c, char tag)
{
	reserve(c, 1);
	c->buf[c->len++] = (unsigned char) tag;
}

static void
put_u32(Chain *c, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

	put(c, b, 4);
}

static void
put_u64(Chain *c, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char) (v >> (56 - 8 * i));
	put(c, b, 8);
}

/*
 * Encodes one non-NULL scalar of type typid from its binary form; false
 * when the binary form is not that type's.
 */
static bool
put_scalar(Chain *c, Oid typid, const char *data, int len)
{
	switch (typid)
	{
		case INT8OID:
			if (len != 8)
				return false;
			put_tag(c, 'I');
			put(c, data, 8);
			return true;
		case TIMESTAMPTZOID:
			if (len != 8)
				return false;
			put_tag(c, 'T');
			/* unsigned: the server's addition wraps at the infinities too */
			put_u64(c, verify_get_u64(data) + (uint64_t) UNIX_TO_PG_USECS);
			return true;
		case BOOLOID:
			if (len != 1)
				return false;
			put_tag(c, 'B');
			put_tag(c, data[0] ? 1 : 0);
			return true;
		case TEXTOID:
		case BYTEAOID:
			put_tag(c, typid == TEXTOID ? 'S' : 'X');
			put_u32(c, (uint32_t) len);
			put(c, data, len);
			return true;
		case UUIDOID:
			if (len != 16)
				return false;
			put_tag(c, 'U');
			put(c, data, 16);
			return true;
	}
	return false;
}

/*
 * Encodes a one-dimensional array from its binary form (array_send: ndim,
 * a has-nulls flag, the element type, then per dimension its length and
 * lower bound, then each element as a length, -1 for NULL, and bytes).
 * Returns NULL, or what is wrong.
 */
static const char *
put_array(Chain *c, Oid elemtype, const char *data, int len)
{
	const char *end = data + len;
	uint32_t	ndim;
	uint32_t	n = 0;

	if (len < 12 || verify_get_u32(data + 8) != elemtype)
		return "malformed";
	ndim = verify_get_u32(data);
	if (ndim > 1)
		return "multidimensional";
	data += 12;
	if (ndim == 1)
	{
		if (end - data < 8)
			return "malformed";
		n = verify_get_u32(data);
		data += 8;				/* the lower bound is not encoded */
	}
	put_tag(c, 'A');
	put_u32(c, n);
	for (uint32_t i = 0; i < n; i++)
	{
		int32_t		elen;

		if (end - data < 4)
			return "malformed";
		elen = (int32_t) verify_get_u32(data);
		data += 4;
		if (elen == -1)
		{
			put_tag(c, 'N');
			continue;
		}
		if (elen < 0 || end - data < elen || !put_scalar(c, elemtype, data, elen))
			return "malformed";
		data += elen;
	}
	return data == end ? NULL : "malformed";
}

/* Sets up an empty chain: nothing verified, seq 1 expected. */
void
chain_init(Chain *c)
{
	memset(c, 0, sizeof(*c));
	c->expect = 1;
	c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->md = EVP_MD_CTX_new();
	if (c->sha256 == NULL || c->md == NULL)
		verify_fatal("OpenSSL has no SHA-256");
}

/*
 * Reads the audit key file at path as the server does (its bytes, without
 * the \n and \r that end it) and adds it to the chain's keys.
 */
void
chain_add_key(Chain *c, const char *path)
{
	AuditKey   *k;
	FILE	   *f;
	unsigned char buf[KEY_MAX_LEN + 2];
	unsigned char digest[VERIFY_HASH_LEN];
	unsigned int dlen;
	size_t		n;
	EVP_MAC    *hmac;
	OSSL_PARAM	params[2];

	if (c->nkeys == VERIFY_MAX_KEYS)
		verify_fatal("at most %d --audit-key options", VERIFY_MAX_KEYS);
	k = &c->keys[c->nkeys];
	if ((f = fopen(path, "rb")) == NULL)
		verify_fatal("could not open the audit key file \"%s\": %m", path);
	n = fread(buf, 1, sizeof(buf), f);
	if (ferror(f))
		verify_fatal("could not read the audit key file \"%s\": %m", path);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < KEY_MIN_LEN || n > KEY_MAX_LEN)
	{
		OPENSSL_cleanse(buf, sizeof(buf));
		verify_fatal("the audit key file \"%s\" must hold between %d and %d bytes, as govshare.audit_key_file does",
					 path, KEY_MIN_LEN, KEY_MAX_LEN);
	}
	k->path = path;
	k->len = n;
	k->key = verify_malloc(n);
	memcpy(k->key, buf, n);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (EVP_Digest(k->key, n, digest, &dlen, c->sha256, NULL) != 1)
		verify_fatal("SHA-256 failed");
	verify_hex(digest, 8, k->id);
	for (int i = 0; i < c->nkeys; i++)
		if (strcmp(c->keys[i].id, k->id) == 0)
			verify_fatal("the audit key file \"%s\" holds the same key as \"%s\"", path, c->keys[i].path);

	/* keyed once; EVP_MAC_init without a key starts again with the same one */
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	k->mac = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	EVP_MAC_free(hmac);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (k->mac == NULL || EVP_MAC_init(k->mac, k->key, k->len, params) != 1)
		verify_fatal("OpenSSL has no HMAC-SHA256");
	c->nkeys++;
}

/* Records the first problem: at seq, what (a sentence). */
void
chain_fail(Chain *c, int64_t seq, const char *fmt,...)
{
	va_list		ap;

	if (c->failed)
		return;
	c->failed = true;
	c->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
	va_end(ap);
}

/* The key a row names, or NULL when it was not given. */
static AuditKey *
key_named(Chain *c, const Field *id)
{
	for (int i = 0; i < c->nkeys; i++)
		if (strlen(c->keys[i].id) == (size_t) id->len &&
			memcmp(c->keys[i].id, id->data, id->len) == 0)
			return &c->keys[i];
	return NULL;
}

/* "a", "a or b", for a message naming the keys given */
static void
key_list(Chain *c, char *out, size_t size)
{
	out[0] = '\0';
	for (int i = 0; i < c->nkeys; i++)
	{
		strncat(out, i == 0 ? "" : (i == c->nkeys - 1 ? " or " : ", "), size - strlen(out) - 1);
		strncat(out, c->keys[i].id, size - strlen(out) - 1);
	}
}

static bool
field_is(const Field *f, const char *s)
{
	return !f->isnull && (size_t) f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/*
 * Checks the next row of the log, given as its 34 columns in binary (detail
 * as text; NULL for a log without the column).
 * Returns true when it continues the chain; false, with the problem
 * recorded, when it does not.
 */
bool
chain_row(Chain *c, const Field *f)
{
	int64_t		seq;
	const Field *key_id = &f[COL_HMAC_KEY_ID];
	AuditKey   *key = NULL;
	unsigned char computed[VERIFY_HASH_LEN];
	size_t		outlen;
	unsigned int dlen;

	if (f[COL_SEQ].isnull || f[COL_SEQ].len != 8)
	{
		chain_fail(c, c->expect, "A row after seq %lld has no seq.", (long long) c->expect - 1);
		return false;
	}
	seq = (int64_t) verify_get_u64(f[COL_SEQ].data);
	if (seq != c->expect)
	{
		if (c->expect == 1)
			chain_fail(c, 1, "The log does not begin at seq 1: it begins at seq %lld.", (long long) seq);
		else if (seq < c->expect)
			chain_fail(c, seq, "Seq %lld appears more than once.", (long long) seq);
		else
			chain_fail(c, c->expect, "Rows are missing before seq %lld.", (long long) seq);
		return false;
	}
	if (f[COL_PREV_HASH].isnull || f[COL_PREV_HASH].len != VERIFY_HASH_LEN ||
		f[COL_HASH].isnull || f[COL_HASH].len != VERIFY_HASH_LEN)
	{
		chain_fail(c, seq, "Seq %lld has no valid hash or prev_hash.", (long long) seq);
		return false;
	}
	if (memcmp(f[COL_PREV_HASH].data, c->prev, VERIFY_HASH_LEN) != 0)
	{
		if (seq == 1)
			chain_fail(c, seq, "The prev_hash of seq 1 is not zero.");
		else
			chain_fail(c, seq, "The prev_hash of seq %lld is not the hash of seq %lld: rows were removed, reordered or replaced.",
					   (long long) seq, (long long) seq - 1);
		return false;
	}

	/* the key this row was hashed with; once keyed, always keyed */
	if (key_id->isnull && c->keyed_since > 0)
	{
		chain_fail(c, seq, "Seq %lld is hashed without the audit key, but seq %lld before it was keyed: the chain was recomputed without the key.",
				   (long long) seq, (long long) c->keyed_since);
		return false;
	}
	if (!key_id->isnull)
	{
		if (c->keyed_since == 0)
			c->keyed_since = seq;
		if ((key = key_named(c, key_id)) == NULL)
		{
			char		given[VERIFY_MAX_KEYS * 20 + 1];

			key_list(c, given, sizeof(given));
			chain_fail(c, seq, "Seq %lld was hashed with audit key %.*s, but %s%s.", (long long) seq,
					   key_id->len > 64 ? 64 : key_id->len, key_id->data,
					   c->nkeys == 0 ? "no audit key was given (--audit-key)"
					   : c->nkeys == 1 ? "the audit key given (--audit-key) is "
					   : "the audit keys given (--audit-key) are ", given);
			return false;
		}
	}

	/* prev_hash, then the canonical encoding */
	c->len = 0;
	put(c, f[COL_PREV_HASH].data, VERIFY_HASH_LEN);
	put(c, f[COL_DETAIL].isnull ? "GSAL1" : "GSAL2", 5);
	for (int i = 0; i < VERIFY_NCANONICAL; i++)
	{
		Oid			typid = chain_column_types[i];
		const char *bad = NULL;

		if (f[i].isnull)
			put_tag(c, 'N');
		else if (typid == TEXTARRAYOID || typid == INT8ARRAYOID)
			bad = put_array(c, typid == TEXTARRAYOID ? TEXTOID : INT8OID, f[i].data, f[i].len);
		else if (!put_scalar(c, typid, f[i].data, f[i].len))
			bad = "malformed";
		if (bad != NULL && strcmp(bad, "multidimensional") == 0)
		{
			chain_fail(c, seq, "Column %s of seq %lld holds a multidimensional array, which no row of the log can: the row was changed.",
					   chain_column_names[i], (long long) seq);
			return false;
		}
		if (bad != NULL)
			verify_fatal("the server sent a malformed binary value of column %s of seq %lld",
						 chain_column_names[i], (long long) seq);
	}
	if (!f[COL_DETAIL].isnull && !put_scalar(c, TEXTOID, f[COL_DETAIL].data, f[COL_DETAIL].len))
		verify_fatal("the server sent a malformed value of column detail of seq %lld", (long long) seq);
	if (c->dump)
	{
		char		hex[2 * 256 + 1];

		printf("%lld\t", (long long) seq);
		for (size_t off = VERIFY_HASH_LEN; off < c->len; off += 256)
		{
			size_t		n = c->len - off < 256 ? c->len - off : 256;

			verify_hex(c->buf + off, n, hex);
			fputs(hex, stdout);
		}
		putchar('\n');
	}

	if (key != NULL)
	{
		if (EVP_MAC_init(key->mac, NULL, 0, NULL) != 1 ||
			EVP_MAC_update(key->mac, c->buf, c->len) != 1 ||
			EVP_MAC_final(key->mac, computed, &outlen, sizeof(computed)) != 1 ||
			outlen != VERIFY_HASH_LEN)
			verify_fatal("HMAC-SHA256 failed");
	}
	else if (EVP_DigestInit_ex(c->md, c->sha256, NULL) != 1 ||
			 EVP_DigestUpdate(c->md, c->buf, c->len) != 1 ||
			 EVP_DigestFinal_ex(c->md, computed, &dlen) != 1)
		verify_fatal("SHA-256 failed");
	if (memcmp(computed, f[COL_HASH].data, VERIFY_HASH_LEN) != 0)
	{
		chain_fail(c, seq, "The hash of seq %lld does not match its contents: the row was changed.",
				   (long long) seq);
		return false;
	}

	for (int i = 0; i < c->nwants; i++)
		if (c->wants[i].seq == seq)
		{
			c->wants[i].found = true;
			memcpy(c->wants[i].hash, computed, VERIFY_HASH_LEN);
		}
	if (field_is(&f[COL_KIND], "access"))
		c->n_access++;
	else if (field_is(&f[COL_KIND], "result"))
		c->n_result++;
	else if (field_is(&f[COL_KIND], "remote"))
	{
		c->n_remote++;
		if (!f[COL_RECEIPT_SEQ].isnull)
			c->n_receipt++;
	}
	memcpy(c->prev, computed, VERIFY_HASH_LEN);
	c->checked++;
	c->expect = seq + 1;
	if (c->on_row != NULL)
		c->on_row(c->on_row_arg, c, f);
	return true;
}

/* Frees what chain_init and chain_add_key took; wipes the keys. */
void
chain_free(Chain *c)
{
	for (int i = 0; i < c->nkeys; i++)
	{
		OPENSSL_cleanse(c->keys[i].key, c->keys[i].len);
		free(c->keys[i].key);
		EVP_MAC_CTX_free(c->keys[i].mac);
	}
	c->nkeys = 0;
	free(c->buf);
	c->buf = NULL;
	EVP_MD_CTX_free(c->md);
	EVP_MD_free(c->sha256);
}
