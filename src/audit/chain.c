/*-------------------------------------------------------------------------
 *
 * chain.c
 *	  The access log's canonical encoding and hash chain.
 *
 * Every row of govshare.access_log carries hash = SHA-256(prev_hash ||
 * canonical), or HMAC-SHA256 under the key of govshare.audit_key_file,
 * where canonical is the row's columns seq .. hmac_key_id (and, in format
 * GSAL2, detail) in a tagged, self-delimiting binary form
 * (docs/audit-format.md, byte for byte).  A row whose detail is NULL is
 * encoded in format GSAL1, so rows written before detail existed and rows
 * without one hash alike; the tag is hashed, so a row cannot be moved from
 * one format to the other.  The same encoder serves three callers, so they
 * cannot drift apart:
 *
 *	- backends, which encode a record's columns kind .. receipt_hash and
 *	  then detail into the shared-memory queue (record.c);
 *	- the audit writer, which decodes them into a heap tuple, adds seq,
 *	  logged_at and hmac_key_id, and hashes (writer.c);
 *	- verification, which re-encodes stored rows (verify.c).
 *
 * src/audit/chain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "audit/audit_internal.h"

/* microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch */
#define UNIX_TO_PG_USECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC)

/*
 * The version tags a canonical record starts with: GSAL1, columns seq ..
 * hmac_key_id; GSAL2, the same followed by detail (not NULL).
 */
static const char canonical_tag1[] = "GSAL1";
static const char canonical_tag2[] = "GSAL2";

/* The key as read, and its id; valid while key_loaded. */
static bool key_loaded = false;
static unsigned char *hmac_key = NULL;
static size_t hmac_key_len = 0;
static char hmac_key_id[17];

/*
 * Forgets the chain's HMAC key: govshare.audit_key_file changed (its
 * assign hook, src/guc.c).
 */
void
govshare_audit_forget_key(void)
{
	if (hmac_key != NULL)
	{
		explicit_bzero(hmac_key, hmac_key_len);
		pfree(hmac_key);
	}
	hmac_key = NULL;
	hmac_key_len = 0;
	key_loaded = false;
}

/*
 * The chain's HMAC key, or NULL for plain SHA-256; *key_id is its id (the
 * first 8 bytes of its SHA-256, in hex), *len its length.  Raises an error
 * when the key file is set but unreadable.
 */
const unsigned char *
govshare_chain_key(const char **key_id, size_t *len)
{
	if (!key_loaded)
	{
		unsigned char digest[32];
		MemoryContext old;

		if (!govshare_keyfile_configured(GOVSHARE_KEY_AUDIT))
		{
			*key_id = NULL;
			*len = 0;
			return NULL;
		}
		old = MemoryContextSwitchTo(TopMemoryContext);
		hmac_key = govshare_keyfile_read(GOVSHARE_KEY_AUDIT,
										 "The access log's hash chain is keyed.",
										 &hmac_key_len);
		MemoryContextSwitchTo(old);
		govshare_sha256(hmac_key, hmac_key_len, digest);
		for (int i = 0; i < 8; i++)
			snprintf(hmac_key_id + 2 * i, 3, "%02x", digest[i]);
		key_loaded = true;
	}
	*key_id = hmac_key_id;
	*len = hmac_key_len;
	return hmac_key;
}

/*
 * The chain hash of a record: SHA-256, or HMAC-SHA256 under key, of data,
 * which holds prev_hash (32 bytes) followed by the canonical encoding.
 */
void
govshare_chain_hash(const char *data, size_t len, const unsigned char *key, size_t keylen,
					unsigned char *out)
{
	if (key != NULL)
		govshare_hmac_sha256(key, keylen, data, len, out);
	else
		govshare_sha256(data, len, out);
}

/* The 32 bytes of a bytea Datum, or false when it is not 32 bytes. */
bool
govshare_chain_hash_of(Datum d, bool isnull, unsigned char *out)
{
	bytea	   *b;

	if (isnull)
		return false;
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != GOVSHARE_HASH_LEN)
		return false;
	memcpy(out, VARDATA_ANY(b), GOVSHARE_HASH_LEN);
	return true;
}

/*
 * Does a row's stored hash match its contents, hashed over its own
 * prev_hash, under key (NULL: plain SHA-256)?  buf is scratch room.
 */
bool
govshare_chain_row_matches(StringInfo buf, TupleDesc desc, Datum *values, bool *isnull,
				 const unsigned char *stored_prev, const unsigned char *stored,
				 const unsigned char *key, size_t keylen)
{
	unsigned char computed[GOVSHARE_HASH_LEN];

	resetStringInfo(buf);
	appendBinaryStringInfo(buf, (const char *) stored_prev, GOVSHARE_HASH_LEN);
	govshare_chain_encode_row(buf, desc, values, isnull);
	govshare_chain_hash(buf->data, buf->len, key, keylen, computed);
	return memcmp(computed, stored, GOVSHARE_HASH_LEN) == 0;
}

/*
 * The encoders: one tag byte, then the value (docs/audit-format.md).
 * Each value takes its room at once (reserve), not a byte or a field at a
 * time: the encoder runs for every column of every row verify_log() reads.
 */
static inline unsigned char *
reserve(StringInfo out, int n)
{
	unsigned char *p;

	if (out->len + n >= out->maxlen)
		enlargeStringInfo(out, n);
	p = (unsigned char *) out->data + out->len;
	out->len += n;
	out->data[out->len] = '\0';
	return p;
}

static inline void
store_u32(unsigned char *p, uint32 v)
{
	p[0] = (unsigned char) (v >> 24);
	p[1] = (unsigned char) (v >> 16);
	p[2] = (unsigned char) (v >> 8);
	p[3] = (unsigned char) v;
}

/* tag, then v in 8 bytes, most significant first */
static inline void
put_tagged_u64(StringInfo out, char tag, uint64 v)
{
	unsigned char *p = reserve(out, 9);

	p[0] = (unsigned char) tag;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (unsigned char) (v >> (56 - 8 * i));
}

void
govshare_chain_put_null(StringInfo out)
{
	appendStringInfoCharMacro(out, 'N');
}

void
govshare_chain_put_int8(StringInfo out, int64 v)
{
	put_tagged_u64(out, 'I', (uint64) v);
}

void
govshare_chain_put_time(StringInfo out, TimestampTz t)
{
	put_tagged_u64(out, 'T', (uint64) t + (uint64) UNIX_TO_PG_USECS);	/* wraps, never overflows */
}

void
govshare_chain_put_bool(StringInfo out, bool b)
{
	unsigned char *p = reserve(out, 2);

	p[0] = 'B';
	p[1] = b ? 1 : 0;
}

void
govshare_chain_put_text(StringInfo out, const char *s)
{
	if (s == NULL)
	{
		govshare_chain_put_null(out);
		return;
	}
	govshare_chain_put_bytes(out, 'S', s, strlen(s));
}

/* tag 'S' (text) or 'X' (bytea), length, bytes */
void
govshare_chain_put_bytes(StringInfo out, char tag, const char *data, size_t len)
{
	unsigned char *p;

	if (len > (size_t) (MaxAllocSize - 6))
		elog(ERROR, "govshare: a value of %zu bytes is too long for an access record", len);
	p = reserve(out, 5 + (int) len);
	p[0] = (unsigned char) tag;
	store_u32(p + 1, (uint32) len);
	memcpy(p + 5, data, len);
}

void
govshare_chain_put_uuid(StringInfo out, const unsigned char *uuid)
{
	unsigned char *p = reserve(out, 1 + UUID_LEN);

	p[0] = 'U';
	memcpy(p + 1, uuid, UUID_LEN);
}

/* An array of n elements follows: each put by its own encoder. */
void
govshare_chain_put_array(StringInfo out, int n)
{
	unsigned char *p = reserve(out, 5);

	p[0] = 'A';
	store_u32(p + 1, (uint32) n);
}

/*
 * The element type of an array column of the access log, and its storage,
 * or InvalidOid for a scalar column: the log's columns are fixed (see
 * govshare_chain_check_columns), so no catalog lookup per row is needed.
 */
static Oid
element_of(Oid typid, int16 *typlen, bool *typbyval, char *typalign)
{
	switch (typid)
	{
		case TEXTARRAYOID:
			*typlen = -1;
			*typbyval = false;
			*typalign = TYPALIGN_INT;
			return TEXTOID;
		case INT8ARRAYOID:
			*typlen = sizeof(int64);
			*typbyval = FLOAT8PASSBYVAL;
			*typalign = TYPALIGN_DOUBLE;
			return INT8OID;
		default:
			return InvalidOid;
	}
}

/* Encodes one scalar Datum of type typid (a column or array element). */
static void
put_datum(StringInfo out, Oid typid, Datum d, bool isnull)
{
	if (isnull)
	{
		govshare_chain_put_null(out);
		return;
	}
	switch (typid)
	{
		case INT8OID:
			govshare_chain_put_int8(out, DatumGetInt64(d));
			break;
		case TIMESTAMPTZOID:
			govshare_chain_put_time(out, DatumGetTimestampTz(d));
			break;
		case BOOLOID:
			govshare_chain_put_bool(out, DatumGetBool(d));
			break;
		case TEXTOID:
		case BYTEAOID:
			{
				text	   *t = DatumGetTextPP(d);

				govshare_chain_put_bytes(out, typid == TEXTOID ? 'S' : 'X',
										 VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				break;
			}
		case UUIDOID:
			govshare_chain_put_uuid(out, DatumGetUUIDP(d)->data);
			break;
		case JSONBOID:
			{
				/* jsonb's own text form: keys sorted, no insignificant space */
				Jsonb	   *jb = DatumGetJsonbP(d);

				govshare_chain_put_text(out, JsonbToCString(NULL, &jb->root, VARSIZE(jb)));
				break;
			}
		default:
			elog(ERROR, "govshare: access log column of unexpected type %u", typid);
	}
}

/*
 * Appends the canonical encoding of columns first .. last (attribute
 * numbers) of a row of the access log given as values/isnull.
 */
void
govshare_chain_encode(StringInfo out, TupleDesc desc, int first, int last,
					  Datum *values, bool *isnull)
{
	for (int a = first; a <= last; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a - 1);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Oid			elemtype = element_of(att->atttypid, &typlen, &typbyval, &typalign);

		if (!OidIsValid(elemtype) || isnull[a - 1])
		{
			put_datum(out, att->atttypid, values[a - 1], isnull[a - 1]);
			continue;
		}
		{
			ArrayType  *arr = DatumGetArrayTypeP(values[a - 1]);
			Datum	   *elems;
			bool	   *nulls;
			int			n;

			if (ARR_NDIM(arr) > 1)
				elog(ERROR, "govshare: access log column \"%s\" holds a multidimensional array",
					 NameStr(att->attname));
			deconstruct_array(arr, elemtype, typlen, typbyval, typalign, &elems, &nulls, &n);
			govshare_chain_put_array(out, n);
			for (int i = 0; i < n; i++)
				put_datum(out, elemtype, elems[i], nulls[i]);
		}
	}
}

/*
 * Appends the version tag of a row whose detail is (not) NULL: GSAL2 for a
 * row with a detail, GSAL1 for one without.
 */
void
govshare_chain_put_tag(StringInfo out, bool has_detail)
{
	if (has_detail)
		appendBinaryStringInfo(out, canonical_tag2, sizeof(canonical_tag2) - 1);
	else
		appendBinaryStringInfo(out, canonical_tag1, sizeof(canonical_tag1) - 1);
}

/*
 * Appends the whole canonical encoding of a stored row of the access log:
 * the tag, columns seq .. hmac_key_id, and detail when the log has that
 * column and the row a detail.
 */
void
govshare_chain_encode_row(StringInfo out, TupleDesc desc, Datum *values, bool *isnull)
{
	bool		has_detail = desc->natts >= Anum_access_log_detail &&
		!isnull[Anum_access_log_detail - 1];

	govshare_chain_put_tag(out, has_detail);
	govshare_chain_encode(out, desc, 1, Anum_access_log_hmac_key_id, values, isnull);
	if (has_detail)
		govshare_chain_encode(out, desc, Anum_access_log_detail, Anum_access_log_detail,
							  values, isnull);
}

/*
 * The decoder, for the audit writer: reads what backends encoded for
 * columns first .. last into values/isnull (in the current memory
 * context).  The input comes from our own backends through shared memory,
 * but is still checked: a short or mistyped record is an error, never a
 * read past its end.
 */
typedef struct Reader
{
	const unsigned char *p;
	const unsigned char *end;
} Reader;

static void
need(Reader *r, size_t n)
{
	if ((size_t) (r->end - r->p) < n)
		elog(ERROR, "govshare: truncated access record in the audit queue");
}

static uint64
get_u(Reader *r, int bytes)
{
	uint64		v = 0;

	need(r, bytes);
	for (int i = 0; i < bytes; i++)
		v = (v << 8) | *r->p++;
	return v;
}

static Datum
get_datum(Reader *r, Oid typid, bool *isnull)
{
	char		tag;

	need(r, 1);
	tag = (char) *r->p++;
	*isnull = tag == 'N';
	if (*isnull)
		return (Datum) 0;
	switch (typid)
	{
		case INT8OID:
			if (tag == 'I')
				return Int64GetDatum((int64) get_u(r, 8));
			break;
		case TIMESTAMPTZOID:
			if (tag == 'T')
				return TimestampTzGetDatum((int64) get_u(r, 8) - UNIX_TO_PG_USECS);
			break;
		case BOOLOID:
			if (tag == 'B')
				return BoolGetDatum(get_u(r, 1) != 0);
			break;
		case TEXTOID:
		case BYTEAOID:
			if (tag == (typid == TEXTOID ? 'S' : 'X'))
			{
				uint32		len = (uint32) get_u(r, 4);
				bytea	   *b;

				need(r, len);
				b = palloc(VARHDRSZ + len);
				SET_VARSIZE(b, VARHDRSZ + len);
				memcpy(VARDATA(b), r->p, len);
				r->p += len;
				return PointerGetDatum(b);
			}
			break;
		case JSONBOID:
			if (tag == 'S')
			{
				uint32		len = (uint32) get_u(r, 4);
				char	   *json;

				need(r, len);
				json = pnstrdup((const char *) r->p, len);
				r->p += len;
				return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
			}
			break;
		case UUIDOID:
			if (tag == 'U')
			{
				pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

				need(r, UUID_LEN);
				memcpy(u->data, r->p, UUID_LEN);
				r->p += UUID_LEN;
				return UUIDPGetDatum(u);
			}
			break;
	}
	elog(ERROR, "govshare: access record in the audit queue has tag '%c' for type %u", tag, typid);
	return (Datum) 0;			/* keep the compiler quiet */
}

/* Decodes columns first .. last; returns the bytes consumed. */
size_t
govshare_chain_decode(const char *data, size_t len, TupleDesc desc, int first, int last,
					  Datum *values, bool *isnull)
{
	Reader		r = {(const unsigned char *) data, (const unsigned char *) data + len};

	for (int a = first; a <= last; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a - 1);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Oid			elemtype = element_of(att->atttypid, &typlen, &typbyval, &typalign);
		uint32		n;
		Datum	   *elems;
		bool	   *nulls;
		int			dims[1];
		int			lbs[1] = {1};

		if (!OidIsValid(elemtype))
		{
			values[a - 1] = get_datum(&r, att->atttypid, &isnull[a - 1]);
			continue;
		}
		need(&r, 1);
		if (*r.p == 'N')
		{
			r.p++;
			isnull[a - 1] = true;
			values[a - 1] = (Datum) 0;
			continue;
		}
		if (*r.p++ != 'A')
			elog(ERROR, "govshare: access record in the audit queue lacks an array for \"%s\"",
				 NameStr(att->attname));
		n = (uint32) get_u(&r, 4);
		if (n > (uint32) (r.end - r.p))
			elog(ERROR, "govshare: truncated access record in the audit queue");
		elems = palloc(sizeof(Datum) * Max(n, 1));
		nulls = palloc(sizeof(bool) * Max(n, 1));
		for (uint32 i = 0; i < n; i++)
			elems[i] = get_datum(&r, elemtype, &nulls[i]);
		dims[0] = (int) n;
		values[a - 1] = PointerGetDatum(n == 0 ? construct_empty_array(elemtype) :
										construct_md_array(elems, nulls, 1, dims, lbs, elemtype,
														   typlen, typbyval, typalign));
		isnull[a - 1] = false;
	}
	return (size_t) (r.p - (const unsigned char *) data);
}

/* The expected columns of govshare.access_log, in order, with their types. */
static const struct
{
	const char *name;
	Oid			typid;
}			log_columns[Natts_access_log] = {
	{"seq", INT8OID},
	{"logged_at", TIMESTAMPTZOID},
	{"kind", TEXTOID},
	{"statement_id", UUIDOID},
	{"stmt_time", TIMESTAMPTZOID},
	{"outcome", TEXTOID},
	{"internal", BOOLOID},
	{"agency", TEXTOID},
	{"role_name", TEXTOID},
	{"login_role", TEXTOID},
	{"officer", TEXTOID},
	{"purpose", TEXTOID},
	{"reference", TEXTOID},
	{"token_id", TEXTOID},
	{"query_id", INT8OID},
	{"statement_sha256", BYTEAOID},
	{"statement_text", TEXTOID},
	{"relations", TEXTARRAYOID},
	{"columns", TEXTARRAYOID},
	{"elements", TEXTARRAYOID},
	{"levels", TEXTARRAYOID},
	{"rule_ids", INT8ARRAYOID},
	{"policy_version", INT8OID},
	{"reason", TEXTOID},
	{"rows", INT8OID},
	{"subjects", TEXTARRAYOID},
	{"subject_count", INT8OID},
	{"subject_overflow", BOOLOID},
	{"receipt_seq", INT8OID},
	{"receipt_hash", BYTEAOID},
	{"hmac_key_id", TEXTOID},
	{"prev_hash", BYTEAOID},
	{"hash", BYTEAOID},
	{"detail", JSONBOID},
};

/*
 * Checks that desc is the access log this code writes and verifies: the
 * same columns in the same order with the same types.  An extension
 * upgrade that changes the table must change this file and the format
 * version together.  Returns whether the log has the column detail (format
 * GSAL2); a log without it is the table of govshare 0.1.0, which this
 * library still writes and verifies (in format GSAL1) until ALTER
 * EXTENSION govshare UPDATE adds the column.
 */
bool
govshare_chain_check_columns(TupleDesc desc)
{
	if (desc->natts != Natts_access_log && desc->natts != Natts_access_log - 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("govshare.access_log has %d columns, expected %d", desc->natts, Natts_access_log),
				 errhint("The installed govshare library and the extension's SQL objects differ in version.")));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), log_columns[i].name) != 0 ||
			att->atttypid != log_columns[i].typid)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("column %d of govshare.access_log is not \"%s\" of type %s",
							i + 1, log_columns[i].name, format_type_be(log_columns[i].typid)),
					 errhint("The installed govshare library and the extension's SQL objects differ in version.")));
	}
	return desc->natts == Natts_access_log;
}

/*
 * The last row of the log, where the chain continues: its seq and hash
 * (the archive anchor's when every record was archived, archive.c; 0 and
 * zeros for an empty log).  Reads the primary key backwards, so it
 * costs one index descent however long the log is.
 */
void
govshare_chain_tail(Relation rel, int64 *seq, unsigned char *hash)
{
	Relation	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);

	*seq = 0;
	memset(hash, 0, GOVSHARE_HASH_LEN);
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 0, 0);
	index_rescan(scan, NULL, 0, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d;

		*seq = DatumGetInt64(slot_getattr(slot, Anum_access_log_seq, &isnull));
		d = slot_getattr(slot, Anum_access_log_hash, &isnull);
		if (isnull || VARSIZE_ANY_EXHDR(DatumGetByteaPP(d)) != GOVSHARE_HASH_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the last row of govshare.access_log (seq %lld) has no valid hash",
							(long long) *seq),
					 errhint("Run govshare.verify_log() to find where the log was changed.")));
		memcpy(hash, VARDATA_ANY(DatumGetByteaPP(d)), GOVSHARE_HASH_LEN);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);

	/* every record archived: the chain continues from the anchor */
	if (*seq == 0)
	{
		GovshareAnchor a;

		if (govshare_archive_anchor(&a) && a.hash_ok)
		{
			*seq = a.seq;
			memcpy(hash, a.hash, GOVSHARE_HASH_LEN);
		}
	}
}
