/*-------------------------------------------------------------------------
 *
 * archive.c
 *	  Retention of the access log: archives that stay verifiable, and the
 *	  signed anchor the log continues from.
 *
 * govshare.archive_log(through_seq) verifies the chain from the current
 * anchor (or seq 1) to through_seq, writes those records to a JSON Lines
 * file in govshare.archive_directory (a header, one line per record with
 * its canonical encoding and hashes, and a checkpoint of the last record
 * signed by the self agency; docs/audit-format.md), a sidecar with the
 * file's SHA-256, records the archiving in the log, then removes the
 * records and appends a row to govshare.access_log_archive: the anchor,
 * the last archived seq and hash with the file's name and SHA-256, signed
 * by the self agency.  Rows are removed and the anchor inserted below SQL,
 * as the audit writer appends: the triggers that refuse INSERT, UPDATE,
 * DELETE and TRUNCATE to every role stay in place, so a superuser's plain
 * DELETE is still refused.  verify.c starts the chain at the anchor.
 *
 * src/audit/archive.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit/audit_internal.h"

/* govshare.archive_directory (src/guc.c): where archive_log writes */
char	   *govshare_archive_directory = NULL;

/* The format of an archive file: the "format" member of its header. */
#define ARCHIVE_FORMAT 1

/* Bytes of an archive kept in memory before they are written. */
#define ARCHIVE_FLUSH (1024 * 1024)

/* The columns of govshare.access_log_archive. */
#define Natts_archive				9
#define Anum_archive_last_seq		1
#define Anum_archive_last_hash		2
#define Anum_archive_first_seq		3
#define Anum_archive_records		4
#define Anum_archive_file			5
#define Anum_archive_file_sha256	6
#define Anum_archive_archived_at	7
#define Anum_archive_archived_by	8
#define Anum_archive_anchor			9

/* govshare.access_log_archive, or InvalidOid (the SQL of 0.1.0 has none). */
static Oid
archive_relid(void)
{
	Oid			nsp = get_namespace_oid("govshare", true);

	return OidIsValid(nsp) ? get_relname_relid("access_log_archive", nsp) : InvalidOid;
}

/* A bytea Datum of n bytes. */
static Datum
bytea_datum(const unsigned char *data, int n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), data, n);
	return PointerGetDatum(b);
}

/*
 * The latest anchor: the last archived seq and its hash, and the archive's
 * file name and signed anchor (JWS), read from the newest row of
 * govshare.access_log_archive.  Returns false when nothing was archived
 * (or the table does not exist).  Nothing is verified here.
 */
bool
govshare_archive_anchor(GovshareAnchor *a)
{
	Oid			relid = archive_relid();
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	bool		found = false;

	memset(a, 0, sizeof(*a));
	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 0, 0);
	index_rescan(scan, NULL, 0, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull[Natts_archive];
		Datum		values[Natts_archive];
		bytea	   *hash;
		bytea	   *sha;

		slot_getallattrs(slot);
		memcpy(values, slot->tts_values, sizeof(values));
		memcpy(isnull, slot->tts_isnull, sizeof(isnull));
		a->seq = DatumGetInt64(values[Anum_archive_last_seq - 1]);
		a->first_seq = DatumGetInt64(values[Anum_archive_first_seq - 1]);
		a->records = DatumGetInt64(values[Anum_archive_records - 1]);
		hash = DatumGetByteaPP(values[Anum_archive_last_hash - 1]);
		sha = DatumGetByteaPP(values[Anum_archive_file_sha256 - 1]);
		a->hash_ok = VARSIZE_ANY_EXHDR(hash) == GOVSHARE_HASH_LEN &&
			VARSIZE_ANY_EXHDR(sha) == GOVSHARE_HASH_LEN;
		if (a->hash_ok)
		{
			memcpy(a->hash, VARDATA_ANY(hash), GOVSHARE_HASH_LEN);
			memcpy(a->file_sha256, VARDATA_ANY(sha), GOVSHARE_HASH_LEN);
		}
		a->file = TextDatumGetCString(values[Anum_archive_file - 1]);
		a->archived_at = DatumGetTimestampTz(values[Anum_archive_archived_at - 1]);
		a->jws = TextDatumGetCString(values[Anum_archive_anchor - 1]);
		found = true;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	return found;
}

/* The string member name of a jsonb object, or NULL. */
static char *
payload_string(Jsonb *j, const char *name)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&j->root, name, strlen(name), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* The integer member name of a jsonb object, or -1. */
static int64
payload_int8(Jsonb *j, const char *name)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&j->root, name, strlen(name), NULL);

	if (v == NULL || v->type != jbvNumeric)
		return -1;
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

/*
 * Why the anchor a does not vouch for itself, or NULL when it does: its
 * JWS verifies with a current key of the self agency and signs the seq,
 * hash, first seq, file and SHA-256 the row holds.
 */
char *
govshare_archive_anchor_problem(const GovshareAnchor *a)
{
	GovsharePolicy *policy = govshare_policy();
	char	   *payload_text = NULL;
	Jsonb	   *p;
	char	   *s;

	if (!a->hash_ok)
		return psprintf("The anchor of seq %lld has no valid hash.", (long long) a->seq);
	if (policy->self == NULL)
		return pstrdup("No agency is self in this database, so no key can vouch for the archive anchor.");
	for (int i = 0; i < policy->nkeys && payload_text == NULL; i++)
	{
		const char *why;

		if (strcmp(policy->keys[i].agency, policy->self) != 0 || policy->keys[i].revoked)
			continue;
		payload_text = govshare_jws_verify(a->jws, policy->keys[i].public_key, &why);
	}
	if (payload_text == NULL)
		return psprintf("The archive anchor of seq %lld is not signed by a current key of the self agency %s: it was changed.",
						(long long) a->seq, policy->self);
	p = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(payload_text)));
	if ((s = payload_string(p, "typ")) == NULL || strcmp(s, "govshare-anchor") != 0 ||
		payload_int8(p, "seq") != a->seq || payload_int8(p, "first_seq") != a->first_seq ||
		(s = payload_string(p, "hash")) == NULL ||
		strcmp(s, govshare_hex(a->hash, GOVSHARE_HASH_LEN)) != 0 ||
		(s = payload_string(p, "sha256")) == NULL ||
		strcmp(s, govshare_hex(a->file_sha256, GOVSHARE_HASH_LEN)) != 0 ||
		(s = payload_string(p, "file")) == NULL || strcmp(s, a->file) != 0)
		return psprintf("The archive anchor of seq %lld does not hold what its signature signed: it was changed.",
						(long long) a->seq);
	return NULL;
}

/* An archive file being written: its descriptor, its SHA-256, a buffer. */
typedef struct ArchiveFile
{
	char	   *path;
	int			fd;
	EVP_MD_CTX *md;
	StringInfoData buf;
} ArchiveFile;

static void
archive_flush(ArchiveFile *f)
{
	const char *p = f->buf.data;
	size_t		left = f->buf.len;

	if (EVP_DigestUpdate(f->md, f->buf.data, f->buf.len) != 1)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("SHA-256 failed")));
	while (left > 0)
	{
		ssize_t		n = write(f->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write archive file \"%s\": %m", f->path),
					 errhint("Make room in govshare.archive_directory; nothing was removed from the log.")));
		p += n;
		left -= n;
	}
	resetStringInfo(&f->buf);
}

/*
 * Writes a small file whole, through path.tmp renamed over path, and makes
 * it durable; errors name path.
 */
static void
write_whole_file(const char *path, const char *data)
{
	char	   *tmp = psprintf("%s.tmp", path);
	int			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, 0640);
	size_t		len = strlen(data);

	if (fd < 0 || write(fd, data, len) != (ssize_t) len || pg_fsync(fd) != 0 || close(fd) != 0)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", tmp),
				 errhint("Check govshare.archive_directory; nothing was removed from the log.")));
	}
	durable_rename(tmp, path, ERROR);
}

/*
 * Writes the records after anchor (seq a_seq, hash a_hash) up to
 * through_seq to f, from the log rel: the header, one line per record, the
 * signed checkpoint of the last.  Returns the hash of the last record.
 */
static void
write_records(ArchiveFile *f, Relation rel, int64 a_seq, const unsigned char *a_hash,
			  int64 through_seq, const char *self, unsigned char *last_hash)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData key;
	StringInfoData canonical;
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "govshare archive row",
												  ALLOCSET_DEFAULT_SIZES);
	int64		expect = a_seq + 1;
	char	   *checkpoint;

	appendStringInfo(&f->buf,
					 "{\"typ\":\"govshare-archive\",\"format\":%d,\"agency\":%s,\"database\":%s,"
					 "\"first_seq\":%lld,\"last_seq\":%lld,\"prev_hash\":\"%s\"}\n",
					 ARCHIVE_FORMAT, govshare_json_string(self),
					 govshare_json_string(get_database_name(MyDatabaseId)),
					 (long long) a_seq + 1, (long long) through_seq,
					 govshare_hex(a_hash, GOVSHARE_HASH_LEN));
	initStringInfo(&canonical);
	ScanKeyInit(&key, 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(a_seq + 1));
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (expect <= through_seq && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		MemoryContext old = MemoryContextSwitchTo(row_cxt);
		int64		seq;
		bytea	   *hash;
		bytea	   *prev;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		seq = DatumGetInt64(slot->tts_values[Anum_access_log_seq - 1]);
		if (seq != expect)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("seq %lld of govshare.access_log is missing", (long long) expect),
					 errhint("Run govshare.verify_log(); nothing was removed from the log.")));
		prev = DatumGetByteaPP(slot->tts_values[Anum_access_log_prev_hash - 1]);
		hash = DatumGetByteaPP(slot->tts_values[Anum_access_log_hash - 1]);
		resetStringInfo(&canonical);
		govshare_chain_encode_row(&canonical, desc, slot->tts_values, slot->tts_isnull);
		appendStringInfo(&f->buf, "{\"seq\":%lld,\"prev_hash\":\"%s\",\"hash\":\"%s\",\"canonical\":\"%s\"}\n",
						 (long long) seq,
						 govshare_hex((unsigned char *) VARDATA_ANY(prev), VARSIZE_ANY_EXHDR(prev)),
						 govshare_hex((unsigned char *) VARDATA_ANY(hash), VARSIZE_ANY_EXHDR(hash)),
						 govshare_hex((unsigned char *) canonical.data, canonical.len));
		memcpy(last_hash, VARDATA_ANY(hash), GOVSHARE_HASH_LEN);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
		if (f->buf.len >= ARCHIVE_FLUSH)
			archive_flush(f);
		expect = seq + 1;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	MemoryContextDelete(row_cxt);
	if (expect <= through_seq)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("govshare.access_log ends at seq %lld, before seq %lld", (long long) expect - 1,
						(long long) through_seq)));

	/* the checkpoint of the last record, signed: what ends the file */
	checkpoint = govshare_audit_sign("govshare-checkpoint",
									 psprintf("\"seq\":%lld,\"hash\":\"%s\"", (long long) through_seq,
											  govshare_hex(last_hash, GOVSHARE_HASH_LEN)), NULL, NULL);
	appendStringInfo(&f->buf, "{\"checkpoint\":{\"jws\":\"%s\"}}\n", checkpoint);
	archive_flush(f);
}

/* Removes the rows of the log with seq a_seq + 1 .. through_seq, below SQL. */
static int64
remove_records(Relation rel, int64 a_seq, int64 through_seq)
{
	Relation	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan;
	ScanKeyData key;
	int64		removed = 0;

	ScanKeyInit(&key, 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(a_seq + 1));
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		if (DatumGetInt64(slot_getattr(slot, Anum_access_log_seq, &isnull)) > through_seq)
			break;
		simple_table_tuple_delete(rel, &slot->tts_tid, GetActiveSnapshot());
		removed++;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	return removed;
}

/* Appends the anchor row to govshare.access_log_archive, below SQL. */
static void
insert_anchor(Oid relid, Datum *values, bool *isnull)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel), &TTSOpsVirtual);

	if (RelationGetDescr(rel)->natts != Natts_archive)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("govshare.access_log_archive has %d columns, expected %d",
						RelationGetDescr(rel)->natts, Natts_archive),
				 errhint("The installed govshare library and the extension's SQL objects differ in version.")));
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	ExecClearTuple(slot);
	memcpy(slot->tts_values, values, sizeof(Datum) * Natts_archive);
	memcpy(slot->tts_isnull, isnull, sizeof(bool) * Natts_archive);
	ExecStoreVirtualTuple(slot);
	table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, NULL);
	(void) govshare_insert_index_tuples(rri, slot, estate);
	ExecCloseIndices(rri);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
}

/*
 * Writes the archive of the records after the anchor (a_seq, a_hash) up
 * to through_seq to dir/name, and its SHA-256 to dir/name.sha256, both
 * made durable.  Each is written as name.tmp and renamed into place only
 * once whole, so a file of that name is always complete; one left by an
 * archive of the same records whose transaction rolled back (the records
 * are still in the log: the anchor says so) is replaced.  Fills last_hash
 * and file_sha and returns the file's path.
 */
static char *
write_archive(const char *dir, const char *name, Relation rel, int64 a_seq,
			  const unsigned char *a_hash, int64 through_seq, const char *self,
			  unsigned char *last_hash, unsigned char *file_sha)
{
	ArchiveFile f;
	unsigned int shalen;
	char	   *path = psprintf("%s/%s", dir, name);

	memset(&f, 0, sizeof(f));
	f.path = psprintf("%s.tmp", path);
	f.fd = -1;
	initStringInfo(&f.buf);
	PG_TRY();
	{
		f.md = EVP_MD_CTX_new();
		if (f.md == NULL || EVP_DigestInit_ex(f.md, EVP_sha256(), NULL) != 1)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("SHA-256 failed")));
		f.fd = open(f.path, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, 0640);
		if (f.fd < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create archive file \"%s\": %m", f.path),
					 errhint("Check govshare.archive_directory: the server's user must be able to write there.")));
		write_records(&f, rel, a_seq, a_hash, through_seq, self, last_hash);
		if (EVP_DigestFinal_ex(f.md, file_sha, &shalen) != 1 || pg_fsync(f.fd) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write archive file \"%s\": %m", f.path)));
		close(f.fd);
		f.fd = -1;
		durable_rename(f.path, path, ERROR);
		write_whole_file(psprintf("%s.sha256", path),
						 psprintf("%s  %s\n", govshare_hex(file_sha, GOVSHARE_HASH_LEN), name));
	}
	PG_CATCH();
	{
		if (f.fd >= 0)
			close(f.fd);
		unlink(f.path);
		EVP_MD_CTX_free(f.md);
		PG_RE_THROW();
	}
	PG_END_TRY();
	EVP_MD_CTX_free(f.md);
	return path;
}

/* The directory archives go to, checked; errors say what to set. */
static const char *
archive_directory(void)
{
	struct stat st;
	const char *dir = govshare_archive_directory;

	if (dir == NULL || dir[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("govshare.archive_directory is not set"),
				 errdetail("Archives of the access log are written to a directory of the server."),
				 errhint("A superuser sets it: ALTER SYSTEM SET govshare.archive_directory = '/var/lib/govshare/archive'; SELECT pg_reload_conf();")));
	if (!is_absolute_path(dir))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("govshare.archive_directory must be an absolute path"),
				 errdetail("It is \"%s\".", dir)));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("govshare.archive_directory \"%s\" is not a directory the server can read", dir),
				 errhint("Create it, owned by the server's user, mode 0700.")));
	return dir;
}

/*
 * govshare.archive_log(through_seq bigint) returns jsonb
 *
 * Archives the records after the current anchor up to through_seq and
 * removes them from the log; returns {"file", "sha256", "first_seq",
 * "last_seq", "records", "hash", "anchor"}.
 */
PG_FUNCTION_INFO_V1(govshare_archive_log);
Datum
govshare_archive_log(PG_FUNCTION_ARGS)
{
	int64		through_seq = PG_GETARG_INT64(0);
	GovsharePolicy *policy = govshare_policy();
	Oid			arch_relid = archive_relid();
	const char *dir = archive_directory();
	GovshareAnchor anchor;
	unsigned char a_hash[GOVSHARE_HASH_LEN];
	int64		a_seq = 0;
	int64		tail_seq;
	unsigned char tail_hash[GOVSHARE_HASH_LEN];
	unsigned char last_hash[GOVSHARE_HASH_LEN];
	unsigned char file_sha[GOVSHARE_HASH_LEN];
	char	   *problem;
	char	   *name;
	char	   *dbname = get_database_name(MyDatabaseId);
	char	   *path;
	Relation	rel;
	int64		removed;
	char	   *anchor_jws;
	Datum		values[Natts_archive];
	bool		isnull[Natts_archive] = {0};
	TimestampTz now = GetCurrentTimestamp();

	/* a standby or a read-only transaction cannot remove records */
	PreventCommandIfReadOnly("govshare.archive_log()");
	PreventCommandDuringRecovery("govshare.archive_log()");
	if (!OidIsValid(arch_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("govshare.access_log_archive does not exist"),
				 errhint("Update the extension: ALTER EXTENSION govshare UPDATE.")));
	if (policy->self == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no agency is self in this database"),
				 errdetail("An archive ends with a checkpoint signed by the self agency."),
				 errhint("Register it with govshare.add_agency(code, name, is_self => true).")));

	/* one archive at a time; the writer goes on appending meanwhile */
	LockRelationOid(arch_relid, ShareRowExclusiveLock);
	if (govshare_archive_anchor(&anchor))
	{
		if ((problem = govshare_archive_anchor_problem(&anchor)) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the archive anchor of govshare.access_log does not verify"),
					 errdetail_internal("%s", problem),
					 errhint("Nothing was archived.  Compare the anchor with the archive file %s.", anchor.file)));
		a_seq = anchor.seq;
		memcpy(a_hash, anchor.hash, GOVSHARE_HASH_LEN);
	}
	else
		memset(a_hash, 0, GOVSHARE_HASH_LEN);

	rel = table_open(get_relname_relid("access_log", get_namespace_oid("govshare", false)),
					 RowExclusiveLock);
	(void) govshare_chain_check_columns(RelationGetDescr(rel));
	govshare_chain_tail(rel, &tail_seq, tail_hash);
	if (through_seq <= a_seq || through_seq > tail_seq)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot archive govshare.access_log through seq %lld", (long long) through_seq),
				 errdetail("The log holds seq %lld to %lld.", (long long) a_seq + 1, (long long) tail_seq),
				 errhint("Give a seq in that range; records are archived in order, each once.")));
	if (!govshare_verify_chain(a_seq + 1, through_seq, &problem))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("govshare.access_log does not verify up to seq %lld", (long long) through_seq),
				 errdetail_internal("%s", problem),
				 errhint("Nothing was archived: an archive must verify.  Keep the log as it is for the inspectorate.")));

	name = psprintf("govshare-%s-%020lld-%020lld.jsonl", dbname, (long long) a_seq + 1,
					(long long) through_seq);
	if (strchr(name, '/') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("database name \"%s\" cannot be part of an archive file's name", dbname)));
	path = write_archive(dir, name, rel, a_seq, a_hash, through_seq, policy->self, last_hash, file_sha);

	/* the archiving is recorded first; then the records go */
	govshare_audit_log_event(policy->self, debug_query_string ? debug_query_string : "govshare.archive_log",
							 psprintf("archived seq %lld..%lld (%lld records) to %s, SHA-256 %s; the log continues from seq %lld, hash %s",
									  (long long) a_seq + 1, (long long) through_seq,
									  (long long) (through_seq - a_seq), name,
									  govshare_hex(file_sha, GOVSHARE_HASH_LEN), (long long) through_seq,
									  govshare_hex(last_hash, GOVSHARE_HASH_LEN)),
							 psprintf("{\"archive\":{\"first_seq\":%lld,\"last_seq\":%lld,\"records\":%lld,"
									  "\"file\":%s,\"sha256\":\"%s\",\"hash\":\"%s\"}}",
									  (long long) a_seq + 1, (long long) through_seq,
									  (long long) (through_seq - a_seq), govshare_json_string(name),
									  govshare_hex(file_sha, GOVSHARE_HASH_LEN),
									  govshare_hex(last_hash, GOVSHARE_HASH_LEN)));
	removed = remove_records(rel, a_seq, through_seq);
	if (removed != through_seq - a_seq)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("removed %lld records of govshare.access_log, expected %lld",
						(long long) removed, (long long) (through_seq - a_seq))));
	table_close(rel, NoLock);

	anchor_jws = govshare_audit_sign("govshare-anchor",
									 psprintf("\"first_seq\":%lld,\"seq\":%lld,\"hash\":\"%s\",\"records\":%lld,"
											  "\"file\":%s,\"sha256\":\"%s\"",
											  (long long) a_seq + 1, (long long) through_seq,
											  govshare_hex(last_hash, GOVSHARE_HASH_LEN),
											  (long long) removed, govshare_json_string(name),
											  govshare_hex(file_sha, GOVSHARE_HASH_LEN)), NULL, NULL);
	values[Anum_archive_last_seq - 1] = Int64GetDatum(through_seq);
	values[Anum_archive_last_hash - 1] = bytea_datum(last_hash, GOVSHARE_HASH_LEN);
	values[Anum_archive_first_seq - 1] = Int64GetDatum(a_seq + 1);
	values[Anum_archive_records - 1] = Int64GetDatum(removed);
	values[Anum_archive_file - 1] = CStringGetTextDatum(name);
	values[Anum_archive_file_sha256 - 1] = bytea_datum(file_sha, GOVSHARE_HASH_LEN);
	values[Anum_archive_archived_at - 1] = TimestampTzGetDatum(now);
	values[Anum_archive_archived_by - 1] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	values[Anum_archive_anchor - 1] = CStringGetTextDatum(anchor_jws);
	insert_anchor(arch_relid, values, isnull);

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(
		psprintf("{\"file\":%s,\"sha256\":\"%s\",\"first_seq\":%lld,\"last_seq\":%lld,"
				 "\"records\":%lld,\"hash\":\"%s\",\"anchor\":\"%s\"}",
				 govshare_json_string(path), govshare_hex(file_sha, GOVSHARE_HASH_LEN),
				 (long long) a_seq + 1, (long long) through_seq, (long long) removed,
				 govshare_hex(last_hash, GOVSHARE_HASH_LEN), anchor_jws))));
}
