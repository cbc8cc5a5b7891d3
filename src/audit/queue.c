/*-------------------------------------------------------------------------
 *
 * queue.c
 *	  The shared-memory queues between backends and the audit writers.
 *
 * Each database that records access has a queue: a ring of bytes in shared
 * memory (govshare.audit_queue_size), claimed on first use from a pool of
 * govshare.audit_max_databases.  A backend appends an encoded record under
 * the queue's lock and gets a ticket; the database's audit writer (one
 * background worker per queue, writer.c) copies records out, writes and
 * commits them, and only then moves the queue's tail and its durable mark
 * past them and wakes the backends waiting on its condition variable.  A
 * record therefore leaves the queue only once it is committed: if the
 * writer fails before that, the next writer finds it still there.
 *
 * A statement that reads governed data reserves, when it starts, room for
 * its last record (the result, or its one record), which may be queued
 * in an abort path that can neither wait nor fail: other records count
 * the reserved bytes as taken, and the last record spends them.  A record
 * is lost only if it is larger than its reservation while the queue is
 * full, or no queue is free; the backend counts such losses and
 * govshare.audit_flush() reports them.
 *
 * Each agency has a fair share of the queue (share.c): a record or a
 * reservation that would take its agency past its share waits as if the
 * queue were full.
 *
 * A backend that needs a writer and finds none registers one (a dynamic
 * background worker); the writer exits when asked to, which DROP DATABASE
 * and the other commands that need a database without sessions do
 * (govshare_audit_queue_stop), or when its database has no govshare.
 * govshare.audit_status() shows each queue and its writer.
 *
 * src/audit/queue.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "audit/audit_internal.h"

/* Each record in the ring: this header, then the payload, MAXALIGNed. */
typedef struct RecordHeader
{
	uint32		len;			/* payload bytes */
	uint32		slot;			/* its agency's entry of the queue's shares */
	uint64		ticket;
} RecordHeader;

typedef struct AuditShared
{
	LWLock	   *lock;			/* guards claiming and releasing queues */
	int			nqueues;
	Size		size;			/* ring bytes of each queue */
	GovshareAuditQueue queues[FLEXIBLE_ARRAY_MEMBER];
} AuditShared;

/* What govshare.audit_status() shows of a queue. */
typedef struct QueueStatus
{
	Oid			dboid;
	pid_t		writer_pid;
	uint64		queued;
	uint64		queued_bytes;
	uint64		written;
	int64		last_seq;
	char		error[256];
	TimestampTz error_at;
} QueueStatus;

/* GUCs (PGC_POSTMASTER: they size shared memory). */
int			govshare_audit_queue_size = 4096;	/* kB */
int			govshare_audit_max_databases = 8;

static AuditShared *shared = NULL;

/* This backend's queue, as last found (checked again under its lock). */
static int	my_queue = -1;

/*
 * The queue this backend last queued a record in: its tickets are that
 * queue's, which keeps counting them when it serves another database.
 */
static int	put_queue = -1;

/* Records this backend could not queue (lost), not yet reported. */
static uint64 lost_records = 0;

/* Bytes this backend holds reserved, released at exit whatever happens. */
static GovshareAuditReservation held = {-1, 0, 0};
static bool held_exit_registered = false;

/* How long after registering a writer a backend waits before trying again. */
#define WRITER_RETRY_MS 2000

static Size
ring_size(void)
{
	return MAXALIGN((Size) govshare_audit_queue_size * 1024);
}

static Size
header_size(void)
{
	return MAXALIGN(offsetof(AuditShared, queues) + sizeof(GovshareAuditQueue) * govshare_audit_max_databases);
}

static char *
ring(GovshareAuditQueue *q)
{
	return (char *) shared + header_size() + ring_size() * (q - shared->queues);
}

/* shmem_request_hook: the queues and their locks. */
void
govshare_audit_queue_request(void)
{
	RequestAddinShmemSpace(add_size(header_size(), mul_size(ring_size(), govshare_audit_max_databases)));
	RequestNamedLWLockTranche("govshare audit", govshare_audit_max_databases + 1);
	govshare_audit_budget_request();
}

/* shmem_startup_hook: attaches to the queues, creating them the first time. */
void
govshare_audit_queue_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("govshare audit queues",
							 add_size(header_size(), mul_size(ring_size(), govshare_audit_max_databases)),
							 &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche("govshare audit");

		memset(shared, 0, header_size());
		shared->lock = &locks[0].lock;
		shared->nqueues = govshare_audit_max_databases;
		shared->size = ring_size();
		for (int i = 0; i < govshare_audit_max_databases; i++)
		{
			GovshareAuditQueue *q = &shared->queues[i];

			q->lock = &locks[i + 1].lock;
			pg_atomic_init_u64(&q->durable, 1);
			q->next_ticket = 1;
			ConditionVariableInit(&q->cv);
		}
	}
	govshare_audit_budget_startup();
	LWLockRelease(AddinShmemInitLock);
}

/* The queue of dboid, or NULL. */
static GovshareAuditQueue *
find_queue(Oid dboid)
{
	for (int i = 0; i < shared->nqueues; i++)
		if (shared->queues[i].dboid == dboid)
			return &shared->queues[i];
	return NULL;
}

/*
 * The queue of the current database, claimed if it has none.  Raises an
 * error (or returns NULL, with noerror) when every queue is taken.
 */
static GovshareAuditQueue *
my_database_queue(bool noerror)
{
	GovshareAuditQueue *q;

	if (my_queue >= 0 && shared->queues[my_queue].dboid == MyDatabaseId)
		return &shared->queues[my_queue];
	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	q = find_queue(MyDatabaseId);
	if (q == NULL && (q = find_queue(InvalidOid)) != NULL)
	{
		LWLockAcquire(q->lock, LW_EXCLUSIVE);
		q->dboid = MyDatabaseId;
		q->head = q->tail = 0;
		q->reserved = 0;
		q->generation++;
		memset(q->shares, 0, sizeof(q->shares));
		q->stop = false;
		q->error[0] = '\0';
		q->requested_at = 0;
		LWLockRelease(q->lock);
	}
	LWLockRelease(shared->lock);
	if (q == NULL)
	{
		if (noerror)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no audit queue is free for database \"%s\"", get_database_name(MyDatabaseId)),
				 errdetail("All %d audit queues serve other databases.", shared->nqueues),
				 errhint("Raise govshare.audit_max_databases and restart the server.")));
	}
	my_queue = q - shared->queues;
	return q;
}

/*
 * Registers a writer for q unless it has one or one was registered
 * recently.  Called with q's lock held exclusively; releases nothing.
 * Returns false when no background-worker slot is free.
 */
static bool
request_writer(GovshareAuditQueue *q)
{
	BackgroundWorker worker;
	TimestampTz now = GetCurrentTimestamp();

	if (q->writer_pid != 0 ||
		(q->requested_at != 0 && !TimestampDifferenceExceeds(q->requested_at, now, WRITER_RETRY_MS)))
		return true;
	q->requested_at = now;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "govshare");
	if (RecoveryInProgress())
	{
		/* a hot standby: its records go to the primary (standby.c) */
		worker.bgw_start_time = BgWorkerStart_ConsistentState;
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "govshare_audit_forwarder_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "govshare audit forwarder for database %u", q->dboid);
		snprintf(worker.bgw_type, BGW_MAXLEN, "govshare audit forwarder");
	}
	else
	{
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "govshare_audit_writer_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "govshare audit writer for database %u", q->dboid);
		snprintf(worker.bgw_type, BGW_MAXLEN, "govshare audit writer");
	}
	worker.bgw_main_arg = Int32GetDatum((int32) (q - shared->queues));
	memcpy(worker.bgw_extra, &q->dboid, sizeof(Oid));
	if (!RegisterDynamicBackgroundWorker(&worker, NULL))
	{
		snprintf(q->error, sizeof(q->error),
				 "could not start the audit writer: no background worker slot is free (max_worker_processes)");
		q->error_at = now;
		return false;
	}
	return true;
}

/*
 * One step of waiting for q's writer to commit or make room: the first
 * call prepares to sleep on q's condition variable (the caller then checks
 * again before sleeping), later ones sleep up to 100 ms.  The caller
 * cancels the sleep when done.
 */
static void
wait_for_writer(GovshareAuditQueue *q, bool *sleeping)
{
	if (!*sleeping)
	{
		ConditionVariablePrepareToSleep(&q->cv);
		*sleeping = true;
	}
	else
		(void) ConditionVariableTimedSleep(&q->cv, 100, PG_WAIT_EXTENSION);
}

/* Copies len bytes into the ring at byte position pos, wrapping. */
static void
ring_write(GovshareAuditQueue *q, uint64 pos, const char *data, Size len)
{
	Size		off = pos % shared->size;
	Size		first = Min(len, shared->size - off);

	memcpy(ring(q) + off, data, first);
	if (first < len)
		memcpy(ring(q), data + first, len - first);
}

static void
ring_read(GovshareAuditQueue *q, uint64 pos, char *data, Size len)
{
	Size		off = pos % shared->size;
	Size		first = Min(len, shared->size - off);

	memcpy(data, ring(q) + off, first);
	if (first < len)
		memcpy(data + first, ring(q), len - first);
}

/*
 * Raises the error of a queue that has had no room for timeout_ms, for
 * the agency, or (over_share) none within the agency's share.
 */
static void
queue_full(int timeout_ms, const char *agency, bool over_share)
{
	if (over_share)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the audit queue of database \"%s\" is full", get_database_name(MyDatabaseId)),
				 errdetail("The records of agency \"%s\" have filled its share of the queue, and the audit writer has not written enough of them for %d ms.",
						   agency ? agency : "(none)", timeout_ms),
				 errhint("Each agency may hold at most half of the audit queue, less when more agencies have records queued; govshare.audit_status() shows the writer.")));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("the audit queue of database \"%s\" is full", get_database_name(MyDatabaseId)),
			 errdetail("The audit writer has not made room for %d ms.", timeout_ms),
			 errhint("govshare.audit_status() shows the writer and its last error; access to governed data waits for the audit.")));
}

/*
 * The bytes res holds in q (locked), or 0: a reservation made in an
 * earlier claim of the queue (emptied since) holds nothing.
 */
static uint64
reservation_in(GovshareAuditQueue *q, const GovshareAuditReservation *res)
{
	if (res == NULL || res->bytes == 0 || res->queue != q - shared->queues ||
		res->generation != q->generation)
		return 0;
	return Min(res->bytes, q->reserved);
}

/* Releases the mine bytes of res from q (locked); res holds none after. */
static void
release_locked(GovshareAuditQueue *q, GovshareAuditReservation *res, uint64 mine)
{
	if (res == NULL)
		return;
	q->reserved -= mine;
	govshare_audit_share_add(q, res->slot, -(int64) mine);
	if (held.queue == res->queue && held.generation == res->generation)
		held.bytes -= Min(held.bytes, res->bytes);
	res->bytes = 0;
}

/*
 * on_shmem_exit: gives back what this backend still holds reserved
 * (after the transaction callbacks of before_shmem_exit have queued, or
 * freed, the statements' records).
 */
static void
release_held(int code, Datum arg)
{
	GovshareAuditQueue *q;

	if (held.bytes == 0 || held.queue < 0 || shared == NULL)
		return;
	q = &shared->queues[held.queue];
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	if (q->generation == held.generation)
		q->reserved -= Min(held.bytes, q->reserved);
	held.bytes = 0;
	LWLockRelease(q->lock);
	ConditionVariableBroadcast(&q->cv);
}

/*
 * Appends a record of len bytes to the current database's queue and
 * returns its ticket.  When the queue is full, waits up to timeout_ms for
 * the writer to make room, then raises an error.  With noerror (abort
 * paths, where nothing may fail), never waits or raises: returns 0 when
 * the record cannot be queued, and says so in the server log.
 *
 * The writer is woken at once for an urgent record (one a backend will
 * wait for); otherwise only when the queue is a quarter full, so that
 * under async audit it writes large batches, at least every
 * GOVSHARE_AUDIT_WRITER_NAP ms.
 */
uint64
govshare_audit_queue_put(const char *data, Size len, const char *agency, int timeout_ms,
						 bool urgent, bool noerror, GovshareAuditReservation *res)
{
	GovshareAuditQueue *q = my_database_queue(noerror);
	Size		need = sizeof(RecordHeader) + MAXALIGN(len);
	TimestampTz start = 0;
	RecordHeader h;
	bool		sleeping = false;
	uint64		mine = 0;		/* of q->reserved, what res holds */
	int			slot = 0;
	bool		over_share = false;

	if (q == NULL)
		goto lost;
	if (need > shared->size / 2)
	{
		if (noerror)
			goto lost;
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("access record of %zu bytes does not fit the audit queue", len),
				 errhint("Raise govshare.audit_queue_size, or lower govshare.audit_subject_limit, or set govshare.audit_statement_text = off.")));
	}

	for (;;)
	{
		LWLockAcquire(q->lock, LW_EXCLUSIVE);
		if (q->dboid != MyDatabaseId)
		{
			/* released under us (DROP DATABASE elsewhere): claim again */
			LWLockRelease(q->lock);
			my_queue = -1;
			if ((q = my_database_queue(noerror)) == NULL)
				goto lost;
			continue;
		}
		mine = reservation_in(q, res);
		slot = govshare_audit_share_slot(q, agency);
		/* a last record (reserved) or an abort path's is not held to the share */
		over_share = mine == 0 && !noerror &&
			!govshare_audit_share_allows(q, slot, need, shared->size);
		if (q->head - q->tail + (q->reserved - mine) + need <= shared->size && !over_share)
			break;
		if (q->writer_latch != NULL)
			SetLatch(q->writer_latch);
		else
			(void) request_writer(q);
		LWLockRelease(q->lock);
		if (noerror)
			goto lost;
		if (start == 0)
			start = GetCurrentTimestamp();
		else if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_ms))
		{
			if (sleeping)
				ConditionVariableCancelSleep();
			queue_full(timeout_ms, agency, over_share);
		}
		wait_for_writer(q, &sleeping);
	}
	if (sleeping)
		ConditionVariableCancelSleep();

	h.len = (uint32) len;
	h.slot = (uint32) slot;
	h.ticket = q->next_ticket++;
	ring_write(q, q->head, (char *) &h, sizeof(h));
	ring_write(q, q->head + sizeof(h), data, len);
	q->head += need;
	govshare_audit_share_add(q, slot, need);
	/* the record spends its reservation, whatever its size */
	release_locked(q, res, mine);
	put_queue = q - shared->queues;
	if (q->writer_pid == 0)
		(void) request_writer(q);
	else if (q->writer_latch != NULL && (urgent || q->head - q->tail > shared->size / 4))
		SetLatch(q->writer_latch);
	LWLockRelease(q->lock);
	return h.ticket;

lost:
	lost_records++;
	ereport(LOG,
			(errmsg("govshare: an access record of database %u could not be queued and is lost",
					MyDatabaseId)));
	if (res != NULL)
		govshare_audit_queue_unreserve(res);
	return 0;
}

/*
 * Reserves room for a record of up to len bytes in the current database's
 * queue (res must hold none), waiting up to timeout_ms for the writer to
 * make room, then raising "the audit queue ... is full".
 */
void
govshare_audit_queue_reserve(Size len, const char *agency, int timeout_ms,
							 GovshareAuditReservation *res)
{
	GovshareAuditQueue *q = my_database_queue(false);
	Size		need = sizeof(RecordHeader) + MAXALIGN(len);
	TimestampTz start = 0;
	bool		sleeping = false;
	int			slot;
	bool		over_share = false;

	Assert(res->bytes == 0);
	need = Min(need, shared->size / 2);
	if (!held_exit_registered)
	{
		on_shmem_exit(release_held, (Datum) 0);
		held_exit_registered = true;
	}
	for (;;)
	{
		LWLockAcquire(q->lock, LW_EXCLUSIVE);
		if (q->dboid != MyDatabaseId)
		{
			LWLockRelease(q->lock);
			my_queue = -1;
			q = my_database_queue(false);
			continue;
		}
		slot = govshare_audit_share_slot(q, agency);
		over_share = !govshare_audit_share_allows(q, slot, need, shared->size);
		if (q->head - q->tail + q->reserved + need <= shared->size && !over_share)
			break;
		if (q->writer_latch != NULL)
			SetLatch(q->writer_latch);
		else
			(void) request_writer(q);
		LWLockRelease(q->lock);
		if (start == 0)
			start = GetCurrentTimestamp();
		else if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_ms))
		{
			if (sleeping)
				ConditionVariableCancelSleep();
			queue_full(timeout_ms, agency, over_share);
		}
		wait_for_writer(q, &sleeping);
	}
	if (sleeping)
		ConditionVariableCancelSleep();
	q->reserved += need;
	govshare_audit_share_add(q, slot, need);
	res->queue = q - shared->queues;
	res->generation = q->generation;
	res->bytes = need;
	res->slot = slot;
	if (held.queue != res->queue || held.generation != q->generation)
	{
		held.queue = res->queue;
		held.generation = q->generation;
		held.bytes = 0;
	}
	held.bytes += need;
	LWLockRelease(q->lock);
}

/* Gives back what res holds, unspent (a statement freed without its record). */
void
govshare_audit_queue_unreserve(GovshareAuditReservation *res)
{
	GovshareAuditQueue *q;

	if (res == NULL || res->bytes == 0 || shared == NULL)
		return;
	q = &shared->queues[res->queue];
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	release_locked(q, res, reservation_in(q, res));
	LWLockRelease(q->lock);
	ConditionVariableBroadcast(&q->cv);
}

/*
 * How many records this backend could not queue since it was last asked,
 * and forgets them: govshare.audit_flush() reports them.
 */
uint64
govshare_audit_queue_lost(void)
{
	uint64		n = lost_records;

	lost_records = 0;
	return n;
}

/* The index of the queue this backend last queued a record in. */
int
govshare_audit_queue_last_put(void)
{
	Assert(put_queue >= 0);
	return put_queue;
}

/*
 * Is the record with ticket in queue qi committed by the writer?  Never
 * waits.  A queue's tickets and durable mark only grow, across the
 * databases it serves in turn, and a queue is given up only when empty.
 */
bool
govshare_audit_queue_durable_at(int qi, uint64 ticket)
{
	return pg_atomic_read_u64(&shared->queues[qi].durable) > ticket;
}

/* Wakes the writer of queue qi, if one runs; never waits or fails. */
void
govshare_audit_queue_wake_at(int qi)
{
	GovshareAuditQueue *q = &shared->queues[qi];

	LWLockAcquire(q->lock, LW_SHARED);
	if (q->writer_latch != NULL)
		SetLatch(q->writer_latch);
	LWLockRelease(q->lock);
}

/*
 * Waits until the record with ticket (of the queue this backend last
 * queued in) is committed by the writer, or timeout_ms passes.  Returns
 * true when it is durable; otherwise false with a sentence saying why in
 * *why.
 */
bool
govshare_audit_queue_wait(uint64 ticket, int timeout_ms, char **why)
{
	Assert(put_queue >= 0);
	return govshare_audit_queue_wait_at(put_queue, ticket, timeout_ms, why);
}

/* The same, for the record with ticket in queue qi. */
bool
govshare_audit_queue_wait_at(int qi, uint64 ticket, int timeout_ms, char **why)
{
	GovshareAuditQueue *q = &shared->queues[qi];
	TimestampTz start = GetCurrentTimestamp();
	bool		sleeping = false;

	if (pg_atomic_read_u64(&q->durable) > ticket)
		return true;
	/* the record may have been queued without waking the writer */
	govshare_audit_queue_wake_at(qi);

	for (;;)
	{
		if (pg_atomic_read_u64(&q->durable) > ticket)
			break;
		if (ticket < q->discarded)
		{
			if (sleeping)
				ConditionVariableCancelSleep();
			*why = pstrdup("The queued record was discarded: the database's audit queue was emptied because govshare is no longer installed there.");
			return false;
		}
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), timeout_ms))
		{
			if (sleeping)
				ConditionVariableCancelSleep();
			LWLockAcquire(q->lock, LW_SHARED);
			if (q->writer_pid == 0)
				*why = psprintf("No audit writer is running for this database%s%s.",
								q->error[0] ? "; its last error: " : "", q->error);
			else
				*why = psprintf("The audit writer (process %d) has not committed the record within %d ms%s%s.",
								(int) q->writer_pid, timeout_ms,
								q->error[0] ? "; its last error: " : "", q->error);
			LWLockRelease(q->lock);
			return false;
		}
		if (q->writer_pid == 0)
		{
			LWLockAcquire(q->lock, LW_EXCLUSIVE);
			(void) request_writer(q);
			LWLockRelease(q->lock);
		}
		wait_for_writer(q, &sleeping);
	}
	if (sleeping)
		ConditionVariableCancelSleep();
	return true;
}

/*
 * Waits until every record queued so far in the current database's queue
 * is committed by the writer, or timeout_ms passes: as
 * govshare_audit_queue_wait_at for the last ticket handed out.
 */
bool
govshare_audit_queue_wait_all(int timeout_ms, char **why)
{
	GovshareAuditQueue *q = my_database_queue(false);
	uint64		last;
	bool		none;

	LWLockAcquire(q->lock, LW_SHARED);
	last = q->next_ticket - 1;
	/* nothing queued yet, or only records discarded with another database's queue */
	none = last == 0 || last < q->discarded;
	LWLockRelease(q->lock);
	if (none)
		return true;
	return govshare_audit_queue_wait_at(q - shared->queues, last, timeout_ms, why);
}

/*
 * The writer's side.  Attaches the calling process as queue qi's writer
 * for dboid; returns the queue, or NULL when it serves another database or
 * has a writer already.
 */
GovshareAuditQueue *
govshare_audit_queue_attach(int qi, Oid dboid)
{
	GovshareAuditQueue *q;

	if (shared == NULL || qi < 0 || qi >= shared->nqueues)
		return NULL;
	q = &shared->queues[qi];
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	if (q->dboid != dboid || q->writer_pid != 0)
	{
		LWLockRelease(q->lock);
		return NULL;
	}
	q->writer_pid = MyProcPid;
	q->writer_latch = MyLatch;
	q->requested_at = 0;
	q->stop = false;			/* a stop asked of an earlier writer is done */
	LWLockRelease(q->lock);
	return q;
}

/*
 * The writer leaves q.  With release (its database has no govshare, or is
 * being dropped), the queue is emptied and freed for another database.
 */
void
govshare_audit_queue_detach(GovshareAuditQueue *q, bool release)
{
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	if (q->writer_pid == MyProcPid)
	{
		q->writer_pid = 0;
		q->writer_latch = NULL;
		if (release)
		{
			uint64		lost = q->next_ticket - Max(pg_atomic_read_u64(&q->durable), q->discarded);

			if (q->head != q->tail)
				ereport(LOG,
						(errmsg("govshare audit writer: %llu access records (%llu bytes) queued for database %u, which no longer has govshare, were discarded",
								(unsigned long long) lost,
								(unsigned long long) (q->head - q->tail), q->dboid)));
			/* lost, not durable: waiting backends learn it */
			q->tail = q->head;
			q->discarded = q->next_ticket;
			q->dboid = InvalidOid;
			q->reserved = 0;
			memset(q->shares, 0, sizeof(q->shares));
		}
	}
	LWLockRelease(q->lock);
	ConditionVariableBroadcast(&q->cv);
}

/*
 * A standby's forwarder leaves q after a promotion and registers the
 * audit writer in its place, which writes what is still queued.
 */
void
govshare_audit_queue_hand_over(GovshareAuditQueue *q)
{
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	if (q->writer_pid == MyProcPid)
	{
		q->writer_pid = 0;
		q->writer_latch = NULL;
		q->requested_at = 0;
		(void) request_writer(q);
	}
	LWLockRelease(q->lock);
	ConditionVariableBroadcast(&q->cv);
}

/* The last seq the writer of the current database's queue committed. */
int64
govshare_audit_queue_last_seq(void)
{
	GovshareAuditQueue *q = my_database_queue(false);
	int64		seq;

	LWLockAcquire(q->lock, LW_SHARED);
	seq = q->last_seq;
	LWLockRelease(q->lock);
	return seq;
}

/*
 * An idle writer leaves q and frees it for another database, if nothing
 * is queued (checked under the lock, so no record can slip in); returns
 * false, and stays, otherwise.
 */
bool
govshare_audit_queue_retire(GovshareAuditQueue *q)
{
	bool		empty;

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	empty = q->head == q->tail && q->reserved == 0 && q->writer_pid == MyProcPid;
	if (empty)
	{
		q->writer_pid = 0;
		q->writer_latch = NULL;
		q->dboid = InvalidOid;
	}
	LWLockRelease(q->lock);
	LWLockRelease(shared->lock);
	return empty;
}

/*
 * Copies up to max_records records from the oldest of q, or (from > 0)
 * from ring position from, into batch (each as its uint32 length and
 * payload).  Returns the number copied, and sets *next to the ring
 * position after them and *last to the last ticket.
 */
int
govshare_audit_queue_peek(GovshareAuditQueue *q, StringInfo batch, int max_records, uint64 from,
						  uint64 *next, uint64 *last, bool *stop)
{
	uint64		pos;
	uint64		head;
	int			n = 0;

	/*
	 * Only the writer moves the tail, and backends write only past the head,
	 * so the bytes between them stay as they are while they are copied:
	 * the lock is held just to read where they end.
	 */
	LWLockAcquire(q->lock, LW_SHARED);
	pos = Max(q->tail, from);
	head = q->head;
	*stop = q->stop;
	LWLockRelease(q->lock);
	while (pos < head && n < max_records)
	{
		RecordHeader h;

		ring_read(q, pos, (char *) &h, sizeof(h));
		enlargeStringInfo(batch, sizeof(uint32) + h.len);
		memcpy(batch->data + batch->len, &h.len, sizeof(uint32));
		ring_read(q, pos + sizeof(h), batch->data + batch->len + sizeof(uint32), h.len);
		batch->len += sizeof(uint32) + h.len;
		*last = h.ticket;
		pos += sizeof(h) + MAXALIGN(h.len);
		n++;
	}
	*next = pos;
	return n;
}

/*
 * The records before ring position next, up to ticket last, are committed
 * as sequence numbers up to last_seq: frees their space and wakes the
 * backends waiting for them.
 */
void
govshare_audit_queue_done(GovshareAuditQueue *q, uint64 next, uint64 last, int n, int64 last_seq)
{
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	/* each record's bytes leave its agency's share */
	for (uint64 pos = q->tail; pos < next;)
	{
		RecordHeader h;

		ring_read(q, pos, (char *) &h, sizeof(h));
		govshare_audit_share_add(q, (int) h.slot, -(int64) (sizeof(h) + MAXALIGN(h.len)));
		pos += sizeof(h) + MAXALIGN(h.len);
	}
	q->tail = next;
	pg_atomic_write_u64(&q->durable, last + 1);
	q->written += n;
	q->last_seq = last_seq;
	q->error[0] = '\0';
	LWLockRelease(q->lock);
	ConditionVariableBroadcast(&q->cv);
}

/* The writer could not write: keeps the message for waiting backends. */
void
govshare_audit_queue_error(GovshareAuditQueue *q, const char *message)
{
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	strlcpy(q->error, message, sizeof(q->error));
	q->error_at = GetCurrentTimestamp();
	LWLockRelease(q->lock);
	ConditionVariableBroadcast(&q->cv);
}

/*
 * Asks the writer of database dboid to finish and exit, and waits for it
 * (up to 10 s): DROP DATABASE, ALTER DATABASE RENAME and CREATE DATABASE
 * ... TEMPLATE need a database without sessions.
 */
void
govshare_audit_queue_stop(Oid dboid)
{
	GovshareAuditQueue *q;

	if (shared == NULL || !OidIsValid(dboid))
		return;
	LWLockAcquire(shared->lock, LW_SHARED);
	q = find_queue(dboid);
	LWLockRelease(shared->lock);
	if (q == NULL)
		return;
	for (int i = 0; i < 1000; i++)
	{
		bool		running;

		LWLockAcquire(q->lock, LW_EXCLUSIVE);
		running = q->dboid == dboid && q->writer_pid != 0;
		if (running)
		{
			q->stop = true;
			if (q->writer_latch)
				SetLatch(q->writer_latch);
		}
		else if (q->dboid == dboid && q->head == q->tail)
		{
			/* nothing left to write: free the queue */
			q->dboid = InvalidOid;
			q->stop = false;
			q->reserved = 0;
		}
		LWLockRelease(q->lock);
		if (!running)
			return;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}
}

/* What govshare.audit_status() shows of queue i; false when it is free. */
static bool
queue_status(int i, QueueStatus *st)
{
	GovshareAuditQueue *q;

	if (shared == NULL || i >= shared->nqueues)
		return false;
	q = &shared->queues[i];
	LWLockAcquire(q->lock, LW_SHARED);
	st->dboid = q->dboid;
	st->writer_pid = q->writer_pid;
	st->queued = q->next_ticket - pg_atomic_read_u64(&q->durable);
	st->queued_bytes = q->head - q->tail;
	st->written = q->written;
	st->last_seq = q->last_seq;
	strlcpy(st->error, q->error, sizeof(st->error));
	st->error_at = q->error_at;
	LWLockRelease(q->lock);
	return OidIsValid(st->dboid);
}

/* The number of queues, for iterating with queue_status. */
static int
queue_count(void)
{
	return shared ? shared->nqueues : 0;
}

/*
 * govshare.audit_status() returns setof (database name, writer_pid integer,
 * queued bigint, queued_bytes bigint, written bigint, last_seq bigint,
 * last_error text, last_error_at timestamptz)
 */
PG_FUNCTION_INFO_V1(govshare_audit_status);
Datum
govshare_audit_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < queue_count(); i++)
	{
		QueueStatus s;
		Datum		values[8];
		bool		nulls[8] = {0};
		char	   *db;

		if (!queue_status(i, &s))
			continue;
		db = get_database_name(s.dboid);
		values[0] = db ? CStringGetDatum(db) : CStringGetDatum("?");
		values[0] = DirectFunctionCall1(namein, values[0]);
		values[1] = Int32GetDatum(s.writer_pid);
		nulls[1] = s.writer_pid == 0;
		values[2] = Int64GetDatum((int64) s.queued);
		values[3] = Int64GetDatum((int64) s.queued_bytes);
		values[4] = Int64GetDatum((int64) s.written);
		values[5] = Int64GetDatum(s.last_seq);
		values[6] = CStringGetTextDatum(s.error);
		nulls[6] = s.error[0] == '\0';
		values[7] = TimestampTzGetDatum(s.error_at);
		nulls[7] = s.error_at == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
