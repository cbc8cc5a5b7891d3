/*-------------------------------------------------------------------------
 *
 * archive.c
 *	  Archives of the access log (govshare.archive_log), verified offline.
 *
 * An archive is JSON Lines (docs/audit-format.md, "Archives"): a header
 * naming its seqs and the hash it continues, one line per record with its
 * canonical encoding, prev_hash and hash, and a checkpoint of the last
 * record signed by the self agency; beside it FILE.sha256.  archive_verify
 * checks the file's SHA-256 against the sidecar, the header, that each
 * record's hash is SHA-256 (or HMAC-SHA256 under the key its hmac_key_id
 * names) of prev_hash and canonical, that the records follow the chain
 * given (the previous archive's, or the header's for the first one), and
 * the checkpoint's signature, seq and hash.  The chain it leaves is where
 * the next archive, or the live log, must continue.
 *
 * tools/archive.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "govshare_verify.h"

/* A value's hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes n bytes of lowercase hex from s into out; false when malformed. */
static bool
unhex(const char *s, size_t slen, unsigned char *out, size_t n)
{
	if (slen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		int			hi = hexval(s[2 * i]);
		int			lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char) (hi << 4 | lo);
	}
	return true;
}

static uint64_t
get_be(const unsigned char *p, int n)
{
	uint64_t	v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Walks one tagged value of a canonical encoding at *p (end: its end);
 * returns false when it is malformed.  A text value's bytes are returned
 * in *text and *text_len, for the values the caller looks at.
 */
static bool
skip_value(const unsigned char **p, const unsigned char *end, const unsigned char **text,
		   size_t *text_len, int depth)
{
	unsigned char tag;
	uint64_t	n;

	if (*p >= end)
		return false;
	tag = *(*p)++;
	*text = NULL;
	switch (tag)
	{
		case 'N':
			return true;
		case 'I':
		case 'T':
			n = 8;
			break;
		case 'B':
			n = 1;
			break;
		case 'U':
			n = 16;
			break;
		case 'S':
		case 'X':
			if (end - *p < 4)
				return false;
			n = get_be(*p, 4);
			*p += 4;
			if (tag == 'S')
			{
				*text = *p;
				*text_len = n;
			}
			break;
		case 'A':
			if (depth > 0 || end - *p < 4)
				return false;
			n = get_be(*p, 4);
			*p += 4;
			for (uint64_t i = 0; i < n; i++)
			{
				const unsigned char *t;
				size_t		tl;

				if (!skip_value(p, end, &t, &tl, depth + 1))
					return false;
			}
			return true;
		default:
			return false;
	}
	if ((uint64_t) (end - *p) < n)
		return false;
	*p += n;
	return true;
}

/*
 * Checks the shape of a canonical encoding: a version tag, seq (must be
 * seq), 31 values, and for GSAL2 one text more, nothing after.  Fills the
 * kind and the hmac_key_id (NULL when plain).  Returns a problem, or NULL.
 */
static const char *
canonical_shape(const unsigned char *b, size_t len, int64_t seq, const unsigned char **kind,
				size_t *kind_len, const unsigned char **key_id, size_t *key_id_len)
{
	const unsigned char *p = b + 5;
	const unsigned char *end = b + len;
	bool		v2;

	if (len < 14 || (memcmp(b, "GSAL1", 5) != 0 && memcmp(b, "GSAL2", 5) != 0))
		return "its canonical encoding does not start with the version tag GSAL1 or GSAL2";
	v2 = b[4] == '2';
	if (p[0] != 'I' || (int64_t) get_be(p + 1, 8) != seq)
		return "its canonical encoding holds another seq";
	for (int i = 0; i < VERIFY_NCANONICAL; i++)
	{
		const unsigned char *t;
		size_t		tl = 0;

		if (!skip_value(&p, end, &t, &tl, 0))
			return "its canonical encoding is malformed";
		if (i == 2)
		{
			*kind = t;
			*kind_len = tl;
		}
		if (i == VERIFY_NCANONICAL - 1)
		{
			*key_id = t;
			*key_id_len = tl;
		}
	}
	if (v2)
	{
		const unsigned char *t;
		size_t		tl;

		if (!skip_value(&p, end, &t, &tl, 0) || t == NULL)
			return "its canonical encoding (GSAL2) has no detail";
	}
	return p == end ? NULL : "its canonical encoding has bytes after its last value";
}

/* hash of prev || canonical, plain or under the key named; false when no key. */
static bool
record_hash(Chain *c, const unsigned char *prev, const unsigned char *canon, size_t len,
			const unsigned char *key_id, size_t key_id_len, unsigned char *out)
{
	AuditKey   *key = NULL;
	size_t		outlen;
	unsigned int dlen;

	if (key_id != NULL)
	{
		for (int i = 0; i < c->nkeys; i++)
			if (strlen(c->keys[i].id) == key_id_len && memcmp(c->keys[i].id, key_id, key_id_len) == 0)
				key = &c->keys[i];
		if (key == NULL)
			return false;
		if (EVP_MAC_init(key->mac, NULL, 0, NULL) != 1 ||
			EVP_MAC_update(key->mac, prev, VERIFY_HASH_LEN) != 1 ||
			EVP_MAC_update(key->mac, canon, len) != 1 ||
			EVP_MAC_final(key->mac, out, &outlen, VERIFY_HASH_LEN) != 1)
			verify_fatal("HMAC-SHA256 failed");
		return true;
	}
	if (EVP_DigestInit_ex(c->md, c->sha256, NULL) != 1 ||
		EVP_DigestUpdate(c->md, prev, VERIFY_HASH_LEN) != 1 ||
		EVP_DigestUpdate(c->md, canon, len) != 1 ||
		EVP_DigestFinal_ex(c->md, out, &dlen) != 1)
		verify_fatal("SHA-256 failed");
	return true;
}

/* Checks one record line against the chain; false (c failed) when it breaks it. */
static bool
archive_record(Chain *c, const char *line, size_t len, unsigned char **canon, size_t *cap)
{
	JsonObject	obj;
	const char *error;
	const JsonMember *seq_m,
			   *prev_m,
			   *hash_m,
			   *canon_m;
	unsigned char prev[VERIFY_HASH_LEN];
	unsigned char stored[VERIFY_HASH_LEN];
	unsigned char computed[VERIFY_HASH_LEN];
	const unsigned char *kind = NULL,
			   *key_id = NULL;
	size_t		kind_len = 0,
				key_id_len = 0,
				clen;
	const char *problem;
	int64_t		seq;
	char	   *endp;

	if (!json_parse_object(line, len, &obj, &error))
	{
		chain_fail(c, c->expect, "The line of seq %lld is not a JSON object (%s): the archive was changed.",
				   (long long) c->expect, error);
		return false;
	}
	seq_m = json_member(&obj, "seq");
	prev_m = json_member(&obj, "prev_hash");
	hash_m = json_member(&obj, "hash");
	canon_m = json_member(&obj, "canonical");
	seq = seq_m && seq_m->kind == JSON_NUMBER ? strtoll(seq_m->value, &endp, 10) : -1;
	if (seq != c->expect || prev_m == NULL || hash_m == NULL || canon_m == NULL ||
		prev_m->kind != JSON_STRING || hash_m->kind != JSON_STRING || canon_m->kind != JSON_STRING ||
		!unhex(prev_m->value, prev_m->value_len, prev, VERIFY_HASH_LEN) ||
		!unhex(hash_m->value, hash_m->value_len, stored, VERIFY_HASH_LEN) ||
		canon_m->value_len % 2 != 0)
	{
		chain_fail(c, c->expect, seq > c->expect ? "Records are missing before seq %lld: the archive was changed."
				   : "The line of seq %lld is not a record of the archive format: the archive was changed.",
				   (long long) (seq > c->expect ? seq : c->expect));
		json_free(&obj);
		return false;
	}
	clen = canon_m->value_len / 2;
	if (clen > *cap)
	{
		free(*canon);
		*cap = clen;
		*canon = verify_malloc(clen);
	}
	if (!unhex(canon_m->value, canon_m->value_len, *canon, clen))
		problem = "its canonical encoding is not lowercase hex";
	else
		problem = canonical_shape(*canon, clen, seq, &kind, &kind_len, &key_id, &key_id_len);
	json_free(&obj);
	if (problem != NULL)
	{
		chain_fail(c, seq, "Seq %lld of the archive is malformed: %s.", (long long) seq, problem);
		return false;
	}
	if (memcmp(prev, c->prev, VERIFY_HASH_LEN) != 0)
	{
		chain_fail(c, seq, "The prev_hash of seq %lld is not the hash of the record before it: records were removed, reordered or replaced.",
				   (long long) seq);
		return false;
	}
	if (key_id == NULL && c->keyed_since > 0)
	{
		chain_fail(c, seq, "Seq %lld is hashed without the audit key, but seq %lld before it was keyed: the chain was recomputed without the key.",
				   (long long) seq, (long long) c->keyed_since);
		return false;
	}
	if (key_id != NULL && c->keyed_since == 0)
		c->keyed_since = seq;
	if (!record_hash(c, prev, *canon, clen, key_id, key_id_len, computed))
	{
		chain_fail(c, seq, "Seq %lld was hashed with audit key %.*s, which was not given (--audit-key).",
				   (long long) seq, (int) (key_id_len > 64 ? 64 : key_id_len), key_id);
		return false;
	}
	if (memcmp(computed, stored, VERIFY_HASH_LEN) != 0)
	{
		chain_fail(c, seq, "The hash of seq %lld does not match its contents: the archive was changed.",
				   (long long) seq);
		return false;
	}
	for (int i = 0; i < c->nwants; i++)
		if (c->wants[i].seq == seq)
		{
			c->wants[i].found = true;
			memcpy(c->wants[i].hash, computed, VERIFY_HASH_LEN);
		}
	if (kind_len == 6 && memcmp(kind, "access", 6) == 0)
		c->n_access++;
	else if (kind_len == 6 && memcmp(kind, "result", 6) == 0)
		c->n_result++;
	else if (kind_len == 6 && memcmp(kind, "remote", 6) == 0)
		c->n_remote++;
	memcpy(c->prev, computed, VERIFY_HASH_LEN);
	c->checked++;
	c->expect = seq + 1;
	return true;
}

/*
 * Checks the header line: an archive of format 1 whose first record
 * continues the chain (for the first archive given, the header says where;
 * seq 1 continues 32 zero bytes).  Fills *last_seq.
 */
static bool
archive_header(Chain *c, const char *line, size_t len, bool first, int64_t *last_seq,
			   char **agency)
{
	JsonObject	obj;
	const char *error;
	const JsonMember *typ,
			   *format,
			   *first_m,
			   *last_m,
			   *prev_m,
			   *agency_m;
	unsigned char prev[VERIFY_HASH_LEN];
	int64_t		first_seq;
	bool		ok;

	if (!json_parse_object(line, len, &obj, &error))
	{
		chain_fail(c, c->expect, "Its header is not a JSON object (%s).", error);
		return false;
	}
	typ = json_member(&obj, "typ");
	format = json_member(&obj, "format");
	first_m = json_member(&obj, "first_seq");
	last_m = json_member(&obj, "last_seq");
	prev_m = json_member(&obj, "prev_hash");
	agency_m = json_member(&obj, "agency");
	ok = typ && typ->kind == JSON_STRING && strcmp(typ->value, "govshare-archive") == 0 &&
		format && format->kind == JSON_NUMBER && strcmp(format->value, "1") == 0 &&
		first_m && first_m->kind == JSON_NUMBER && last_m && last_m->kind == JSON_NUMBER &&
		prev_m && prev_m->kind == JSON_STRING && agency_m && agency_m->kind == JSON_STRING &&
		unhex(prev_m->value, prev_m->value_len, prev, VERIFY_HASH_LEN);
	first_seq = ok ? strtoll(first_m->value, NULL, 10) : 0;
	*last_seq = ok ? strtoll(last_m->value, NULL, 10) : 0;
	if (ok)
		*agency = verify_strdup(agency_m->value);
	json_free(&obj);
	if (!ok || first_seq < 1 || *last_seq < first_seq)
	{
		chain_fail(c, c->expect, "Its header is not that of a govshare archive of format 1.");
		return false;
	}
	if (first)
	{
		/* where the chain starts: seq 1 after zeros, or as the header says */
		c->expect = first_seq;
		if (first_seq == 1)
			memset(c->prev, 0, VERIFY_HASH_LEN);
		else
			memcpy(c->prev, prev, VERIFY_HASH_LEN);
	}
	if (first_seq != c->expect)
	{
		chain_fail(c, c->expect, "It begins at seq %lld, but the chain continues at seq %lld: an archive is missing, or was given out of order.",
				   (long long) first_seq, (long long) c->expect);
		return false;
	}
	if (memcmp(prev, c->prev, VERIFY_HASH_LEN) != 0)
	{
		chain_fail(c, first_seq, "Its header's prev_hash is not the hash of seq %lld: it does not continue the chain.",
				   (long long) first_seq - 1);
		return false;
	}
	return true;
}

/* The SHA-256 FILE.sha256 holds, in hex, or "" when there is no sidecar. */
static void
sidecar(const char *path, char *hex)
{
	char		name[4096];
	FILE	   *f;

	hex[0] = '\0';
	snprintf(name, sizeof(name), "%s.sha256", path);
	if ((f = fopen(name, "r")) == NULL)
	{
		if (errno != ENOENT)
			verify_fatal("could not read \"%s\": %s", name, strerror(errno));
		return;
	}
	if (fscanf(f, "%64[0-9a-f]", hex) != 1 || strlen(hex) != 2 * VERIFY_HASH_LEN)
		hex[0] = '?';
	fclose(f);
}

/*
 * Verifies the archive at path, continuing chain c (first: the first
 * archive given, whose header says where the chain starts), with the
 * checkpoint's signature checked against keys.  Fills r; returns false
 * with c failed (or r->problem set, for the file as a whole) when it does
 * not verify.
 */
bool
archive_verify(const char *path, Chain *c, bool first, const PublicKey *keys, int nkeys,
			   ArchiveReport *r)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		linecap = 0;
	ssize_t		n;
	int64_t		lineno = 0;
	int64_t		last_seq = 0;
	bool		ended = false;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[VERIFY_HASH_LEN];
	unsigned int dlen;
	unsigned char *canon = NULL;
	size_t		cap = 0;
	char		side[2 * VERIFY_HASH_LEN + 2];

	memset(r, 0, sizeof(*r));
	r->path = path;
	if (f == NULL)
		verify_fatal("could not open archive \"%s\": %s", path, strerror(errno));
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		verify_fatal("SHA-256 failed");
	r->first_seq = c->expect;
	while (!c->failed && !r->problem[0] && (n = getline(&line, &linecap, f)) > 0)
	{
		size_t		len = (size_t) n;

		if (EVP_DigestUpdate(md, line, len) != 1)
			verify_fatal("SHA-256 failed");
		lineno++;
		if (ended)
			snprintf(r->problem, sizeof(r->problem), "lines follow its checkpoint: the archive was changed");
		else if (line[len - 1] != '\n')
			snprintf(r->problem, sizeof(r->problem), "its last line is cut short: the archive is incomplete");
		else if (lineno == 1)
		{
			if (archive_header(c, line, len - 1, first, &last_seq, &r->agency))
				r->first_seq = c->expect;
		}
		else if (strncmp(line, "{\"checkpoint\":", 14) == 0)
		{
			char		problem[512];
			char		hex[2 * VERIFY_HASH_LEN + 1];

			ended = true;
			if (c->expect != last_seq + 1)
				chain_fail(c, c->expect, "The archive ends at seq %lld, but its header says seq %lld: records were removed.",
						   (long long) c->expect - 1, (long long) last_seq);
			else if (len < 16 || line[len - 2] != '}' ||
					 !checkpoint_verify(line + 14, len - 16, keys, nkeys, &r->cp, problem, sizeof(problem)))
				snprintf(r->problem, sizeof(r->problem), "its checkpoint: %s",
						 len < 16 ? "malformed" : problem);
			else
			{
				verify_hex(c->prev, VERIFY_HASH_LEN, hex);
				if (r->cp.seq != last_seq || strcmp(r->cp.hash, hex) != 0)
					snprintf(r->problem, sizeof(r->problem),
							 "its checkpoint signs seq %lld, hash %s, not its last record: the archive was changed",
							 (long long) r->cp.seq, r->cp.hash);
			}
		}
		else
			(void) archive_record(c, line, len - 1, &canon, &cap);
	}
	free(line);
	free(canon);
	fclose(f);
	if (EVP_DigestFinal_ex(md, digest, &dlen) != 1)
		verify_fatal("SHA-256 failed");
	EVP_MD_CTX_free(md);
	verify_hex(digest, VERIFY_HASH_LEN, r->sha256);
	r->last_seq = c->expect - 1;
	if (c->failed || r->problem[0])
		return false;
	if (!ended)
	{
		snprintf(r->problem, sizeof(r->problem),
				 lineno == 0 ? "it is empty" : "it has no checkpoint at its end: the archive is incomplete, or was cut");
		return false;
	}
	sidecar(path, side);
	if (side[0] == '\0')
		r->no_sidecar = true;
	else if (strcmp(side, r->sha256) != 0)
	{
		snprintf(r->problem, sizeof(r->problem),
				 "its SHA-256 is %s, but %s.sha256 says %s: the file or its sidecar was changed",
				 r->sha256, path, side[0] == '?' ? "something else" : side);
		return false;
	}
	return true;
}
