/*-------------------------------------------------------------------------
 *
 * counters.c
 *	  What each consumer agency has used of its quotas, counted in shared
 *	  memory across every backend.
 *
 * One entry per (database, agency, purpose) holds three counters, each in
 * its window: statements in the current minute, govshare.verify() calls
 * in the current minute, rows in the current day.  Windows are aligned on
 * UTC: a minute starts at second 0, a day at 00:00 UTC; a counter whose
 * window has passed starts again at 0 when it is next used.  Each entry
 * has a spinlock: a check and its increment are one step, so that
 * concurrent sessions never pass a limit together (the totals are exact).
 *
 * Entries are never removed while the server runs (there is one per
 * agency and purpose that has a quota, a few hundred at most).  After a
 * restart the counters of the current windows are rebuilt from the access
 * log, once per database, by the first backend that needs them
 * (src/enforce/quota.c asks govshare_counters_claim_rebuild).
 *
 * src/policy/counters.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "policy/gs_policy.h"

#define COUNTERS_MAX 4096
#define NAME_LEN 72				/* agency codes 64, purpose codes 63 */

typedef struct CounterKey
{
	Oid			dboid;
	char		agency[NAME_LEN];	/* "" with purpose "": the database's mark */
	char		purpose[NAME_LEN];
} CounterKey;

typedef struct CounterEntry
{
	CounterKey	key;
	slock_t		mutex;
	int64		window[GOVSHARE_QUOTA_KINDS];	/* the window's number */
	int64		used[GOVSHARE_QUOTA_KINDS];
	int			rebuilt;		/* the mark: 0 not yet, 1 under way, 2 done */
} CounterEntry;

static HTAB *counters = NULL;
static LWLock *counters_lock = NULL;

/* shmem_request_hook: the table and its lock. */
void
govshare_counters_shmem_request(void)
{
	RequestAddinShmemSpace(hash_estimate_size(COUNTERS_MAX, sizeof(CounterEntry)));
	RequestNamedLWLockTranche("govshare quotas", 1);
}

/* shmem_startup_hook: attaches to the table, creating it the first time. */
void
govshare_counters_shmem_startup(void)
{
	HASHCTL		info;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(CounterKey);
	info.entrysize = sizeof(CounterEntry);
	counters = ShmemInitHash("govshare quota counters", COUNTERS_MAX, COUNTERS_MAX, &info,
							 HASH_ELEM | HASH_BLOBS);
	counters_lock = &(GetNamedLWLockTranche("govshare quotas"))->lock;
	LWLockRelease(AddinShmemInitLock);
}

/* The length of a window of kind, in seconds. */
static int64
window_seconds(GovshareQuotaKind kind)
{
	return kind == GOVSHARE_QUOTA_ROWS ? SECS_PER_DAY : SECS_PER_MINUTE;
}

/* The number of the window of kind that holds time t. */
static int64
window_of(GovshareQuotaKind kind, TimestampTz t)
{
	int64		secs = (t - SetEpochTimestamp()) / USECS_PER_SEC;

	return secs / window_seconds(kind) - (secs < 0 && secs % window_seconds(kind) != 0);
}

/* When the window of kind that holds time t ends (the counter resets). */
TimestampTz
govshare_counters_reset_at(GovshareQuotaKind kind, TimestampTz t)
{
	return SetEpochTimestamp() +
		(window_of(kind, t) + 1) * window_seconds(kind) * USECS_PER_SEC;
}

/* When the window of kind that holds time t began. */
TimestampTz
govshare_counters_window_start(GovshareQuotaKind kind, TimestampTz t)
{
	return SetEpochTimestamp() + window_of(kind, t) * window_seconds(kind) * USECS_PER_SEC;
}

/*
 * The entry of (this database, agency, purpose), made when missing if
 * create (else NULL).  Errors when the table is full: a quota that cannot
 * be counted is not passed.
 */
static CounterEntry *
entry_of(const char *agency, const char *purpose, bool create)
{
	CounterKey	key;
	CounterEntry *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.dboid = MyDatabaseId;
	strlcpy(key.agency, agency, NAME_LEN);
	strlcpy(key.purpose, purpose, NAME_LEN);

	LWLockAcquire(counters_lock, LW_SHARED);
	e = hash_search(counters, &key, HASH_FIND, NULL);
	LWLockRelease(counters_lock);
	if (e != NULL || !create)
		return e;
	LWLockAcquire(counters_lock, LW_EXCLUSIVE);
	e = hash_search(counters, &key, HASH_ENTER_NULL, &found);
	if (e != NULL && !found)
	{
		SpinLockInit(&e->mutex);
		memset(e->window, 0, sizeof(e->window));
		memset(e->used, 0, sizeof(e->used));
		e->rebuilt = 0;
	}
	LWLockRelease(counters_lock);
	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no room to count the quotas of agency \"%s\" for purpose \"%s\"",
						agency, purpose),
				 errdetail("The server counts at most %d agency and purpose pairs.", COUNTERS_MAX),
				 errhint("Restart the server to forget the counters of quotas no longer set.")));
	return e;
}

/* Moves e's counter of kind into the window of now (under e's mutex). */
static void
roll(CounterEntry *e, GovshareQuotaKind kind, TimestampTz now)
{
	int64		w = window_of(kind, now);

	if (e->window[kind] != w)
	{
		e->window[kind] = w;
		e->used[kind] = 0;
	}
}

/*
 * Takes n units of kind for agency and purpose when that keeps the count
 * within limit (-1: no limit); returns whether it did.  *used is the
 * count in the current window before the call.
 */
bool
govshare_counters_take(const char *agency, const char *purpose, GovshareQuotaKind kind,
					   int64 n, int64 limit, TimestampTz now, int64 *used)
{
	CounterEntry *e = entry_of(agency, purpose, true);
	bool		taken;

	SpinLockAcquire(&e->mutex);
	roll(e, kind, now);
	*used = e->used[kind];
	taken = limit < 0 || e->used[kind] + n <= limit;
	if (taken)
		e->used[kind] += n;
	SpinLockRelease(&e->mutex);
	return taken;
}

/*
 * The count of kind for agency and purpose in the window of now (0 when
 * nothing was counted: no entry is made, so that asking fills no room).
 */
int64
govshare_counters_used(const char *agency, const char *purpose, GovshareQuotaKind kind,
					   TimestampTz now)
{
	CounterEntry *e = entry_of(agency, purpose, false);
	int64		used;

	if (e == NULL)
		return 0;
	SpinLockAcquire(&e->mutex);
	roll(e, kind, now);
	used = e->used[kind];
	SpinLockRelease(&e->mutex);
	return used;
}

/*
 * Adds what the access log says was used in the window of at (the
 * rebuild after a restart): counted as if taken then.
 */
void
govshare_counters_add(const char *agency, const char *purpose, GovshareQuotaKind kind,
					  int64 n, TimestampTz at)
{
	CounterEntry *e = entry_of(agency, purpose, true);

	SpinLockAcquire(&e->mutex);
	roll(e, kind, at);
	e->used[kind] += n;
	SpinLockRelease(&e->mutex);
}

/*
 * Should this backend rebuild the database's counters from the access log?
 * True once per database and server start (for the first caller); the
 * caller then calls govshare_counters_rebuilt(ok).  False when done or
 * under way elsewhere.
 */
bool
govshare_counters_claim_rebuild(void)
{
	CounterEntry *mark = entry_of("", "", true);
	bool		mine;

	SpinLockAcquire(&mark->mutex);
	mine = mark->rebuilt == 0;
	if (mine)
		mark->rebuilt = 1;
	SpinLockRelease(&mark->mutex);
	return mine;
}

/* The rebuild claimed above is done; when it failed, the next caller tries again. */
void
govshare_counters_rebuilt(bool ok)
{
	CounterEntry *mark = entry_of("", "", true);

	SpinLockAcquire(&mark->mutex);
	mark->rebuilt = ok ? 2 : 0;
	SpinLockRelease(&mark->mutex);
}
