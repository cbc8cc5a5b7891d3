/*-------------------------------------------------------------------------
 *
 * writer.c
 *	  The audit writer: a background worker per database that appends the
 *	  queued access records to govshare.access_log (and the ids of used
 *	  request tokens to govshare.token_use).
 *
 * The writer is the only process that adds rows to the access log, and it
 * does so below SQL (heap and index insertion, as COPY does), so that the
 * table's triggers can refuse every INSERT, UPDATE, DELETE and TRUNCATE
 * made through SQL.  It assigns sequence numbers, computes the hash chain
 * (chain.c), writes a batch of records in one transaction and
 * commits it with synchronous_commit on, so that the WAL is flushed before
 * it tells the backends waiting under strict audit that their records are
 * durable.  After a failure it keeps the records queued and tries again;
 * after a restart it resumes the chain from the last row of the table.
 *
 * src/audit/writer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "access/genam.h"
#include "access/heapam.h"
#include "access/hio.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "audit/audit_internal.h"

/* Records written in one transaction at most. */
#define BATCH_RECORDS 5000

/* The chain's state: the last row written. */
typedef struct ChainTail
{
	int64		seq;
	unsigned char hash[GOVSHARE_HASH_LEN];
} ChainTail;

static GovshareAuditQueue *queue = NULL;

/* SIGTERM: write what is queued, then exit. */
static volatile sig_atomic_t got_sigterm = false;

/* Free the queue on exit: the database has no govshare (any more). */
static bool release_queue = false;

/* The chain's tail, once read from the table; static, as PG_TRY changes it. */
static ChainTail tail;
static ChainTail committed;		/* the tail as last committed */
static bool tail_known = false;
static Oid	tail_relid = InvalidOid;	/* the access log the tail is of */
static bool detail_dropped_noted = false;	/* logged: the log lacks detail */

/*
 * The heap insertions' ring of buffers, kept from one batch to the next
 * (its pin on the last page is dropped at the end of each batch).  A ring
 * made afresh for each batch took its buffers from the shared pool's
 * free list or clock sweep every time, so the log's pages spread over the
 * whole pool and pushed out the pages consumers read; one ring keeps
 * them within its 16 MB and reuses its own buffers.
 */
static BulkInsertState ring = NULL;

/* before_shmem_exit: leave the queue, so that backends start another writer. */
static void
writer_exit(int code, Datum arg)
{
	if (queue != NULL)
		govshare_audit_queue_detach(queue, release_queue);
	queue = NULL;
}

/*
 * SIGTERM (shutdown, pg_terminate_backend): unlike die(), does not end the
 * writer at once; the main loop writes what is queued first, so that a
 * clean shutdown loses no record.
 */
static void
writer_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	/* a second SIGTERM does not wait (a commit stuck on a synchronous standby) */
	if (got_sigterm)
		die(postgres_signal_arg);
	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/*
 * The OID of govshare.access_log, or InvalidOid without the extension.
 * The last one found is checked in the syscache (a dropped extension's
 * OID names nothing, or something else) rather than looked up again: the
 * extension lookup scans pg_extension, once per batch otherwise.
 */
static Oid
access_log_relid(void)
{
	static Oid	cached = InvalidOid;
	char	   *name;
	Oid			nsp;

	if (OidIsValid(cached) && (name = get_rel_name(cached)) != NULL &&
		strcmp(name, "access_log") == 0 &&
		(name = get_namespace_name(get_rel_namespace(cached))) != NULL &&
		strcmp(name, "govshare") == 0)
		return cached;
	cached = InvalidOid;
	if (!OidIsValid(get_extension_oid("govshare", true)))
		return InvalidOid;
	nsp = get_namespace_oid("govshare", true);
	cached = OidIsValid(nsp) ? get_relname_relid("access_log", nsp) : InvalidOid;
	return cached;
}

/*
 * Is govshare gone from this database, in a transaction of its own?  Only
 * then are queued records given up; a log renamed or otherwise missing
 * while the extension is there keeps them queued, and strict statements
 * fail, until it is back.
 */
static bool
extension_gone(void)
{
	bool		gone;

	StartTransactionCommand();
	gone = !OidIsValid(get_extension_oid("govshare", true));
	CommitTransactionCommand();
	return gone;
}

/*
 * After a failed batch the writer waits WRITER_RETRY_FIRST ms, doubling up
 * to WRITER_RETRY_MAX, before it tries again; it logs the first failure
 * and then each one at the longest wait, not every attempt.
 */
#define WRITER_RETRY_FIRST 100
#define WRITER_RETRY_MAX 30000

/* An idle writer exits and frees its queue after this long, in ms. */
#define WRITER_IDLE_EXIT (5 * 60 * 1000)

/* Records inserted by one heap multi-insert, at most (as COPY does). */
#define MULTI_INSERT_RECORDS 1000

/*
 * The heap, then the index entries, of the first n slots.  The heap rows
 * go after the last one written, never into room the free space map
 * offers on an earlier page: the log stays in seq order on disk, which
 * lets verify_log() read it with a sequential scan (verify.c).  Room a
 * VACUUM frees after archive_log() is therefore not reused by appends.
 */
static void
insert_slots(Relation rel, ResultRelInfo *rri, EState *estate, TupleTableSlot **slots, int n,
			 BulkInsertState bistate)
{
	table_multi_insert(rel, slots, n, GetCurrentCommandId(true), TABLE_INSERT_SKIP_FSM, bistate);
	for (int i = 0; i < n; i++)
	{
		(void) govshare_insert_index_tuples(rri, slots[i], estate);
		ResetPerTupleExprContext(estate);
	}
}

/* A bytea Datum of a 32-byte hash, in the current memory context. */
static Datum
hash_datum(const unsigned char *hash)
{
	bytea	   *b = palloc(VARHDRSZ + GOVSHARE_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + GOVSHARE_HASH_LEN);
	memcpy(VARDATA(b), hash, GOVSHARE_HASH_LEN);
	return PointerGetDatum(b);
}

/*
 * Writes the n records in batch (as govshare_audit_queue_peek left them)
 * in the current transaction, continuing the chain from *tail: each access
 * record is decoded into a slot, given its seq, time, key id and hashes,
 * and the slots are inserted MULTI_INSERT_RECORDS at a time; the used
 * request tokens among them go to govshare.token_use.
 *
 * The bytes a backend queued are the canonical encoding of the columns
 * kind .. receipt_hash, then of detail (both sides use chain.c's
 * encoders), so the canonical form of the row is the tag, the encodings
 * of seq and logged_at, those bytes up to receipt_hash, the encoding of
 * hmac_key_id and, for a row with a detail (format GSAL2), the detail
 * encoded again from the stored jsonb value.  Assertion-enabled builds
 * check that encoding the decoded values gives the same bytes.  A log
 * without the detail column (the 0.1.0 table, before ALTER EXTENSION
 * UPDATE) gets the record without its detail, noted once in the server log.
 */
static void
write_batch(Oid relid, const StringInfo batch, int n, ChainTail *tail)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);
	EState	   *estate = CreateExecutorState();
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slots[MULTI_INSERT_RECORDS];
	int			nslots = Min(n, MULTI_INSERT_RECORDS);
	int			filled = 0;
	MemoryContext records;
	MemoryContext old;
	const char *key_id;
	size_t		keylen;
	const unsigned char *key = govshare_chain_key(&key_id, &keylen);
	TimestampTz now = GetCurrentTimestamp();
	const char *p = batch->data;
	StringInfoData canonical;
	BulkInsertState bistate;
	GovshareTokenUse *uses = palloc(sizeof(GovshareTokenUse) * n);
	int			nuses = 0;
	bool		log_has_detail = govshare_chain_check_columns(desc);

	if (ring == NULL)
	{
		old = MemoryContextSwitchTo(TopMemoryContext);
		ring = GetBulkInsertState();
		MemoryContextSwitchTo(old);
	}
	bistate = ring;
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	for (int i = 0; i < nslots; i++)
		slots[i] = ExecInitExtraTupleSlot(estate, desc, &TTSOpsVirtual);
	/* the values of the slots not yet inserted */
	records = AllocSetContextCreate(CurrentMemoryContext, "govshare audit records",
									ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&canonical);

	for (int i = 0; i < n; i++)
	{
		TupleTableSlot *slot = slots[filled];
		Datum	   *values = slot->tts_values;
		bool	   *isnull = slot->tts_isnull;
		uint32		len;
		size_t		fixed;
		bool		has_detail;
		unsigned char hash[GOVSHARE_HASH_LEN];

		memcpy(&len, p, sizeof(uint32));
		p += sizeof(uint32);
		/* a used request token: for govshare.token_use, not the chain */
		if (len > 0 && p[0] == GOVSHARE_AUDIT_TOKEN_TAG)
		{
			govshare_audit_token_decode(p, len, &uses[nuses++]);
			p += len;
			continue;
		}
		old = MemoryContextSwitchTo(records);
		ExecClearTuple(slot);
		fixed = govshare_chain_decode(p, len, desc, Anum_access_log_kind,
									  Anum_access_log_receipt_hash, values, isnull);
		has_detail = fixed < len && p[fixed] != 'N';
		if (has_detail && !log_has_detail)
		{
			if (!detail_dropped_noted)
				ereport(LOG,
						(errmsg("govshare.access_log has no column \"detail\": access records are written without their detail"),
						 errhint("Run ALTER EXTENSION govshare UPDATE in database \"%s\".",
								 get_database_name(MyDatabaseId))));
			detail_dropped_noted = true;
			has_detail = false;
		}
		else if (log_has_detail &&
				 fixed + govshare_chain_decode(p + fixed, len - fixed, desc, Anum_access_log_detail,
											   Anum_access_log_detail, values, isnull) != len)
			elog(ERROR, "govshare: access record in the audit queue has trailing bytes");
		p += len;
		values[Anum_access_log_seq - 1] = Int64GetDatum(tail->seq + 1);
		isnull[Anum_access_log_seq - 1] = false;
		values[Anum_access_log_logged_at - 1] = TimestampTzGetDatum(now);
		isnull[Anum_access_log_logged_at - 1] = false;
		values[Anum_access_log_hmac_key_id - 1] = key ? CStringGetTextDatum(key_id) : (Datum) 0;
		isnull[Anum_access_log_hmac_key_id - 1] = key == NULL;

		/* hash = H(prev_hash || canonical(seq .. hmac_key_id [, detail])) */
		resetStringInfo(&canonical);
		appendBinaryStringInfo(&canonical, (char *) tail->hash, GOVSHARE_HASH_LEN);
		govshare_chain_put_tag(&canonical, has_detail);
		govshare_chain_encode(&canonical, desc, 1, Anum_access_log_logged_at, values, isnull);
		appendBinaryStringInfo(&canonical, p - len, fixed);
		govshare_chain_encode(&canonical, desc, Anum_access_log_hmac_key_id,
							  Anum_access_log_hmac_key_id, values, isnull);
		if (has_detail)
			govshare_chain_encode(&canonical, desc, Anum_access_log_detail,
								  Anum_access_log_detail, values, isnull);
#ifdef USE_ASSERT_CHECKING
		{
			StringInfoData again;

			initStringInfo(&again);
			appendBinaryStringInfo(&again, (char *) tail->hash, GOVSHARE_HASH_LEN);
			govshare_chain_encode_row(&again, desc, values, isnull);
			Assert(again.len == canonical.len && memcmp(again.data, canonical.data, again.len) == 0);
			pfree(again.data);
		}
#endif
		govshare_chain_hash(canonical.data, canonical.len, key, keylen, hash);
		values[Anum_access_log_prev_hash - 1] = hash_datum(tail->hash);
		isnull[Anum_access_log_prev_hash - 1] = false;
		values[Anum_access_log_hash - 1] = hash_datum(hash);
		isnull[Anum_access_log_hash - 1] = false;
		ExecStoreVirtualTuple(slot);
		MemoryContextSwitchTo(old);

		tail->seq++;
		memcpy(tail->hash, hash, GOVSHARE_HASH_LEN);
		if (++filled == nslots)
		{
			insert_slots(rel, rri, estate, slots, filled, bistate);
			filled = 0;
			MemoryContextReset(records);
		}
	}
	if (filled > 0)
		insert_slots(rel, rri, estate, slots, filled, bistate);
	govshare_token_use_insert(uses, nuses);

	ReleaseBulkInsertStatePin(bistate);
	ExecCloseIndices(rri);
	for (int i = 0; i < nslots; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	FreeExecutorState(estate);
	MemoryContextDelete(records);
	pfree(canonical.data);
	table_close(rel, NoLock);
}

/*
 * Writes the n records of batch (the queue's records up to next, the last
 * with ticket last) in a transaction of its own, and tells the queue they
 * are durable.  Returns NULL, or the message of the error that made the
 * attempt fail: the records then stay queued, in loop_context.
 */
static char *
write_queued(StringInfo batch, int n, uint64 next, uint64 last, MemoryContext loop_context)
{
	char	   *volatile failed_message = NULL;
	Oid			relid;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "writing access records");
		relid = access_log_relid();
		if (!OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("govshare.access_log does not exist in this database")));
		/* a dropped and re-created extension has a new log, and a new chain */
		if (relid != tail_relid)
			tail_known = false;
		if (!tail_known)
		{
			Relation	rel = table_open(relid, RowExclusiveLock);

			(void) govshare_chain_check_columns(RelationGetDescr(rel));
			govshare_chain_tail(rel, &tail.seq, tail.hash);
			table_close(rel, NoLock);
			committed = tail;
			tail_known = true;
			tail_relid = relid;
		}
		write_batch(relid, batch, n, &tail);
		PopActiveSnapshot();
		CommitTransactionCommand();
		committed = tail;
		pgstat_report_activity(STATE_IDLE, NULL);
		govshare_audit_queue_done(queue, next, last, n, tail.seq);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/*
		 * Keep the records queued and report.  No break or continue
		 * here: they would leave only PG_TRY's own block, not the loop.
		 */
		MemoryContextSwitchTo(loop_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		/* the abort dropped the ring's pin, if the batch held one */
		if (ring != NULL)
		{
			ring->current_buf = InvalidBuffer;
			ReleaseBulkInsertStatePin(ring);
		}
		/* read the tail again: a row may stand where the next one goes */
		tail = committed;
		tail_known = false;
		govshare_audit_queue_error(queue, edata->message);
		failed_message = edata->message;
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
	return failed_message;
}

/*
 * Waits ms before the writer tries a failed batch again.  Backends set the
 * writer's latch whenever they queue a record or find the queue full; that
 * must not cut the wait short, or a full disk would be tried again, and
 * logged, at every statement waiting for room (thousands of times a
 * second).  SIGTERM ends the wait; a reload is taken by the main loop
 * after it, before the next try.
 */
static void
retry_pause(int ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
	long		left;

	while (!got_sigterm &&
		   (left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until)) > 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Main loop of the audit writer of one database: bgw_main_arg is the
 * queue's index, bgw_extra the database's OID.
 */
void
govshare_audit_writer_main(Datum main_arg)
{
	int			qi = DatumGetInt32(main_arg);
	Oid			dboid;
	StringInfoData batch;
	MemoryContext loop_context;
	volatile int idle_after_sigterm = 0;
	volatile TimestampTz idle_since = 0;
	int			backoff_ms = 0;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, writer_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
#ifdef __GLIBC__

	/*
	 * A batch's records, tuples and index entries take a few megabytes,
	 * freed at its commit.  By default glibc gives memory that large back
	 * to the kernel at once (unmapped or trimmed), and the next batch
	 * takes a page fault at each page it touches again: a sixth of the
	 * writer's time in a profile.  The writer keeps it instead.
	 */
	(void) mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	(void) mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
	pgstat_report_appname("govshare audit writer");

	before_shmem_exit(writer_exit, (Datum) 0);
	queue = govshare_audit_queue_attach(qi, dboid);
	if (queue == NULL)
		proc_exit(0);			/* another writer has it */

	/* strict audit promises a flushed WAL: commit synchronously */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);

	if (extension_gone())
	{
		release_queue = true;
		ereport(LOG,
				(errmsg("govshare audit writer: database %u has no govshare extension; exiting",
						dboid)));
		proc_exit(0);
	}
	ereport(DEBUG1, (errmsg("govshare audit writer started")));

	loop_context = AllocSetContextCreate(TopMemoryContext, "govshare audit writer",
										 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		uint64		next;
		uint64		last = 0;
		bool		stop;
		int			n;
		char	   *failed_message;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(loop_context);
		MemoryContextSwitchTo(loop_context);
		initStringInfo(&batch);
		n = govshare_audit_queue_peek(queue, &batch, BATCH_RECORDS, 0, &next, &last, &stop);
		if (n == 0)
		{
			if (stop)
				break;
			if (got_sigterm)
			{
				/* backends stopping with us may still queue their last records */
				if (++idle_after_sigterm > 2)
					break;
				pg_usleep(50000L);
				continue;
			}
			/* long idle: free the queue for another database, if still empty */
			if (idle_since == 0)
				idle_since = GetCurrentTimestamp();
			else if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), WRITER_IDLE_EXIT) &&
					 govshare_audit_queue_retire(queue))
			{
				queue = NULL;
				proc_exit(0);
			}
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 GOVSHARE_AUDIT_WRITER_NAP, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		idle_since = 0;

		failed_message = write_queued(&batch, n, next, last, loop_context);
		if (failed_message == NULL)
		{
			backoff_ms = 0;
			continue;
		}
		if (extension_gone())
		{
			/* detach discards the records, with one LOG line that counts them */
			release_queue = true;
			break;
		}
		if (got_sigterm)
		{
			ereport(LOG,
					(errmsg("govshare audit writer exits with %d access records unwritten: %s",
							n, failed_message)));
			break;
		}
		/* wait before trying again, longer each time, and wake for SIGTERM only */
		backoff_ms = backoff_ms == 0 ? WRITER_RETRY_FIRST : Min(backoff_ms * 2, WRITER_RETRY_MAX);
		if (backoff_ms >= WRITER_RETRY_MAX || backoff_ms == WRITER_RETRY_FIRST)
			ereport(LOG,
					(errmsg("govshare audit writer could not write %d access records: %s",
							n, failed_message),
					 errdetail("The records stay queued; the writer tries again in %d ms.", backoff_ms)));
		retry_pause(backoff_ms);
	}
	proc_exit(0);
}
