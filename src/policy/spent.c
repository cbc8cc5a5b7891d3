/*-------------------------------------------------------------------------
 *
 * spent.c
 *	  Request tokens being spent: a set in shared memory, so that two
 *	  sessions presenting one token at once cannot both pass.
 *
 * A token is spent when it is presented (context.c): its id goes into
 * govshare.token_use, written by the audit writer in a transaction of its
 * own, so that no rollback of the caller's transaction and no crash after
 * the session read under the token brings it back.  Between the check of
 * that table and the writer's commit another session could present the
 * same token and find it missing there too; this set closes that window.
 * A backend claims the token here first, under one lock (check and insert
 * together); a second claim of the same token fails.  Once the writer has
 * committed the id, the backend releases its claim (at its next executor
 * start, or when it exits): from then on the table answers, for every
 * session, with the latest snapshot.  A claim knows where its id was
 * queued, so that one whose backend is gone is dropped as soon as the id
 * is durable, when the set needs room.  A claim whose record could not
 * be queued or made durable is kept until the token expires (with the
 * clock skew), when no session would accept it anyway.
 *
 * A token is known by the SHA-256 of its database, issuer and id: one
 * fixed-size key, and govshare.token_use is per database too.  After a
 * restart the set is empty and the table is the whole truth.
 *
 * src/policy/spent.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "policy/gs_policy.h"

/*
 * A claim: the token's key, until when it holds if never released, and
 * where its id was queued (ticket 0 until it is).
 */
typedef struct SpentEntry
{
	unsigned char key[GOVSHARE_HASH_LEN];
	TimestampTz until;
	GovshareTokenTicket queued;
} SpentEntry;

static HTAB *spent = NULL;
static LWLock *spent_lock = NULL;

/* Says when a queued id is durable (the audit's, through context.c). */
static GovshareTokenWaiter waiter = NULL;

/*
 * Claims at most: each backend holds those whose ids the writer has not
 * yet committed (usually one, at most eight), and claims that could not
 * be recorded stay until their tokens expire.
 */
static long
spent_max(void)
{
	return 1024 + 8L * MaxBackends;
}

/* shmem_request_hook: the set and its lock. */
void
govshare_spent_shmem_request(void)
{
	RequestAddinShmemSpace(hash_estimate_size(spent_max(), sizeof(SpentEntry)));
	RequestNamedLWLockTranche("govshare tokens", 1);
}

/* shmem_startup_hook: attaches to the set, creating it the first time. */
void
govshare_spent_shmem_startup(void)
{
	HASHCTL		info;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	memset(&info, 0, sizeof(info));
	info.keysize = GOVSHARE_HASH_LEN;
	info.entrysize = sizeof(SpentEntry);
	spent = ShmemInitHash("govshare spent tokens", spent_max(), spent_max(), &info,
						  HASH_ELEM | HASH_BLOBS);
	spent_lock = &(GetNamedLWLockTranche("govshare tokens"))->lock;
	LWLockRelease(AddinShmemInitLock);
}

/* Sets who says when a queued id is durable; from _PG_init. */
void
govshare_spent_set_waiter(GovshareTokenWaiter w)
{
	waiter = w;
}

/*
 * Removes the claims that have lapsed, and those whose ids are durable in
 * govshare.token_use (their backends exited before releasing them); called
 * with the lock held exclusively.
 */
static void
purge(TimestampTz now)
{
	HASH_SEQ_STATUS status;
	SpentEntry *e;

	hash_seq_init(&status, spent);
	while ((e = hash_seq_search(&status)) != NULL)
		if (e->until <= now ||
			(e->queued.ticket != 0 && waiter != NULL && waiter(&e->queued, GOVSHARE_TOKEN_CHECK, NULL)))
			(void) hash_search(spent, e->key, HASH_REMOVE, NULL);
}

/*
 * Claims the token known by key until the time until.  Returns false when
 * another claim holds it (the token is being spent, or could not be
 * recorded); raises an error when the set is full of live claims, and on
 * a hot standby.
 */
bool
govshare_spent_claim(const unsigned char *key, TimestampTz until)
{
	TimestampTz now = GetCurrentTimestamp();
	SpentEntry *e;
	bool		found;
	bool		full;

	if (spent == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("govshare must be loaded via shared_preload_libraries")));
	/*
	 * Once in the whole cluster only where govshare.token_use is written: a
	 * standby sees the primary's uses late (after replay) and other
	 * standbys' claims never, so it could accept a token the primary, or
	 * another standby, accepts at the same moment.
	 */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a request token cannot be spent on a hot standby"),
				 errdetail("A token is spent once across the primary and its standbys only on the primary, which records its use in govshare.token_use."),
				 errhint("Send signed requests to the primary; consumers on a standby read under govshare.begin_request().")));
	LWLockAcquire(spent_lock, LW_EXCLUSIVE);
	e = hash_search(spent, key, HASH_FIND, NULL);
	if (e != NULL && e->until > now)
	{
		LWLockRelease(spent_lock);
		return false;
	}
	if (e == NULL && hash_get_num_entries(spent) >= spent_max())
		purge(now);
	full = e == NULL && hash_get_num_entries(spent) >= spent_max();
	if (!full)
	{
		e = hash_search(spent, key, HASH_ENTER_NULL, &found);
		if (e != NULL)
		{
			e->until = until;
			e->queued.queue = 0;
			e->queued.ticket = 0;
		}
		full = e == NULL;
	}
	LWLockRelease(spent_lock);
	if (full)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("too many request tokens are being presented at once"),
				 errdetail("%ld tokens are waiting to be recorded as used, or could not be.", spent_max()),
				 errhint("govshare.audit_status() shows whether the audit writer, which records them, is working.")));
	return true;
}

/* Notes where the id of the token claimed with key was queued. */
void
govshare_spent_queued(const unsigned char *key, const GovshareTokenTicket *t)
{
	SpentEntry *e;

	LWLockAcquire(spent_lock, LW_EXCLUSIVE);
	e = hash_search(spent, key, HASH_FIND, NULL);
	if (e != NULL)
		e->queued = *t;
	LWLockRelease(spent_lock);
}

/* Releases the claim on a token whose use is durable in govshare.token_use. */
void
govshare_spent_release(const unsigned char *key)
{
	LWLockAcquire(spent_lock, LW_EXCLUSIVE);
	(void) hash_search(spent, key, HASH_REMOVE, NULL);
	LWLockRelease(spent_lock);
}
