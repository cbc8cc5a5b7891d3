/*-------------------------------------------------------------------------
 *
 * verify_parallel.c
 *	  The access log's chain verified by parallel workers (verify.c).
 *
 * A row's hash covers its own prev_hash, so each row can be checked apart
 * from the others and the links afterwards.  Each participant (the
 * leader, unless parallel_leader_participation is off, and its workers)
 * reads the blocks a parallel heap scan hands it and checks each row on
 * its own: a valid hash and prev_hash, the audit key it names (the
 * calling backend's key, handed over in shared memory), its hash
 * recomputed over its own prev_hash.  Rows of consecutive seqs read one
 * after the other, each prev_hash the hash before it, form a run; the
 * leader sorts the runs of all participants and links them.  A
 * participant that finds anything amiss says so and stops; the leader
 * then gives up, and verify.c's walk in seq order finds and names the
 * problem exactly.
 *
 * src/audit/verify_parallel.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "optimizer/paths.h"
#include "storage/bufmgr.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "audit/audit_internal.h"

#define VERIFY_KEY_SHARED	UINT64CONST(0x6753564552460001)
#define VERIFY_KEY_SCAN		UINT64CONST(0x6753564552460002)
/* runs at most, all participants together; more and the walk in order runs */
#define VERIFY_MAX_RUNS		65536

typedef struct ChainRun
{
	int64		first_seq;
	int64		last_seq;
	unsigned char first_prev[GOVSHARE_HASH_LEN];
	unsigned char last_hash[GOVSHARE_HASH_LEN];
} ChainRun;

typedef struct VerifyShared
{
	Oid			relid;
	int64		from_seq;
	int64		to_seq;			/* 0: the end */
	int64		want_seq;
	slock_t		mutex;
	/* the fields below under mutex */
	bool		doubt;			/* a participant found something: walk in order */
	bool		want_found;
	unsigned char want_hash[GOVSHARE_HASH_LEN];
	int64		checked;
	int64		min_keyed;		/* the lowest seq hashed with the key; 0: none */
	int64		max_plain;		/* the highest seq hashed without it; 0: none */
	int64		leader_checked; /* rows the leader checked itself */
	int			max_runs;
	int			nruns;
	/* the leader's audit key (a worker reading the file could find another) */
	bool		have_key;
	char		key_id[GOVSHARE_HASH_LEN + 1];
	size_t		keylen;
	ChainRun	runs[FLEXIBLE_ARRAY_MEMBER];
	/* then the key's keylen bytes */
} VerifyShared;

#define VERIFY_SHARED_KEY(sh) ((unsigned char *) &(sh)->runs[(sh)->max_runs])

/* A participant's share of the work: see above. */
static void
verify_participate(VerifyShared *sh, ParallelTableScanDesc pscan, bool leader)
{
	Relation	rel = table_open(sh->relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	TableScanDesc scan = table_beginscan_parallel(rel, pscan);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "govshare verify row",
												  ALLOCSET_DEFAULT_SIZES);
	int			cap = 64;
	int			n = 0;
	ChainRun   *runs = palloc(sizeof(ChainRun) * cap);
	bool		doubt = false;
	bool		want_found = false;
	unsigned char want_hash[GOVSHARE_HASH_LEN];
	int64		checked = 0;
	int64		min_keyed = 0;
	int64		max_plain = 0;
	const unsigned char *hkey = sh->have_key ? VERIFY_SHARED_KEY(sh) : NULL;
	StringInfoData buf;

	initStringInfo(&buf);
	while (!doubt && table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		Datum	   *values;
		bool	   *isnull;
		int64		seq;
		unsigned char stored_prev[GOVSHARE_HASH_LEN];
		unsigned char stored[GOVSHARE_HASH_LEN];
		bool		keyed;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		/* another participant's doubt ends this one's work early */
		if ((checked & 1023) == 0 && ((volatile VerifyShared *) sh)->doubt)
			break;
		slot_getallattrs(slot);
		values = slot->tts_values;
		isnull = slot->tts_isnull;
		seq = DatumGetInt64(values[Anum_access_log_seq - 1]);
		if (seq < sh->from_seq || (sh->to_seq > 0 && seq > sh->to_seq))
			continue;
		old = MemoryContextSwitchTo(row_cxt);
		keyed = !isnull[Anum_access_log_hmac_key_id - 1];
		if (!govshare_chain_hash_of(values[Anum_access_log_prev_hash - 1], isnull[Anum_access_log_prev_hash - 1],
					 stored_prev) ||
			!govshare_chain_hash_of(values[Anum_access_log_hash - 1], isnull[Anum_access_log_hash - 1], stored) ||
			(keyed && (hkey == NULL ||
					   strcmp(TextDatumGetCString(values[Anum_access_log_hmac_key_id - 1]), sh->key_id) != 0)))
			doubt = true;
		else
			doubt = !govshare_chain_row_matches(&buf, desc, values, isnull, stored_prev, stored,
									  keyed ? hkey : NULL, sh->keylen);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
		if (doubt)
			break;
		if (keyed && (min_keyed == 0 || seq < min_keyed))
			min_keyed = seq;
		if (!keyed && seq > max_plain)
			max_plain = seq;
		if (seq == sh->want_seq)
		{
			want_found = true;
			memcpy(want_hash, stored, GOVSHARE_HASH_LEN);
		}
		if (n > 0 && seq == runs[n - 1].last_seq + 1)
		{
			/* a row that follows the last one read must link to it */
			if (memcmp(stored_prev, runs[n - 1].last_hash, GOVSHARE_HASH_LEN) != 0)
			{
				doubt = true;
				break;
			}
		}
		else
		{
			if (n == sh->max_runs)
			{
				doubt = true;
				break;
			}
			if (n == cap)
			{
				cap *= 2;
				runs = repalloc(runs, sizeof(ChainRun) * cap);
			}
			runs[n].first_seq = seq;
			memcpy(runs[n].first_prev, stored_prev, GOVSHARE_HASH_LEN);
			n++;
		}
		runs[n - 1].last_seq = seq;
		memcpy(runs[n - 1].last_hash, stored, GOVSHARE_HASH_LEN);
		checked++;
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);

	SpinLockAcquire(&sh->mutex);
	if (doubt || sh->nruns + n > sh->max_runs)
		sh->doubt = true;
	else
	{
		memcpy(&sh->runs[sh->nruns], runs, sizeof(ChainRun) * n);
		sh->nruns += n;
		sh->checked += checked;
		if (leader)
			sh->leader_checked = checked;
		if (min_keyed != 0 && (sh->min_keyed == 0 || min_keyed < sh->min_keyed))
			sh->min_keyed = min_keyed;
		sh->max_plain = Max(sh->max_plain, max_plain);
		if (want_found)
		{
			sh->want_found = true;
			memcpy(sh->want_hash, want_hash, GOVSHARE_HASH_LEN);
		}
	}
	SpinLockRelease(&sh->mutex);
	MemoryContextDelete(row_cxt);
	pfree(runs);
	pfree(buf.data);
}

/* The entry point of a parallel worker of verify_log(). */
PGDLLEXPORT void govshare_verify_worker(dsm_segment *seg, shm_toc *toc);

void
govshare_verify_worker(dsm_segment *seg, shm_toc *toc)
{
	VerifyShared *sh = shm_toc_lookup(toc, VERIFY_KEY_SHARED, false);
	ParallelTableScanDesc pscan = shm_toc_lookup(toc, VERIFY_KEY_SCAN, false);

	verify_participate(sh, pscan, false);
}

static int
run_order(const void *a, const void *b)
{
	const ChainRun *x = a;
	const ChainRun *y = b;

	return (x->first_seq > y->first_seq) - (x->first_seq < y->first_seq);
}

/*
 * The workers for a log of blocks blocks: none below
 * min_parallel_table_scan_size, then one more each time it triples (the
 * planner's rule for a table scan), up to max_parallel_maintenance_workers.
 */
static int
verify_workers(BlockNumber blocks)
{
	double		threshold = Max(min_parallel_table_scan_size, 1);
	int			workers;

	if (IsInParallelMode() || max_parallel_maintenance_workers <= 0 ||
		blocks < (BlockNumber) min_parallel_table_scan_size)
		return 0;
	workers = 1;
	while (blocks >= threshold * 3 && workers < max_parallel_maintenance_workers)
	{
		workers++;
		threshold *= 3;
	}
	return workers;
}

/*
 * The audit key the walk in order would use (it reads it at the first
 * keyed row), read now so that every participant uses this backend's: a
 * worker reading the file itself could find another key there.  False
 * when it cannot be read: the walk, which needs it only for keyed rows,
 * then decides.
 */
static bool
leader_key(const unsigned char **key, const char **key_id, size_t *len)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		*key = govshare_chain_key(key_id, len);
	}
	PG_CATCH();
	{
		/* the key file's reader holds no resource when it fails */
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * Verifies the log from from_seq (the first row's prev_hash must be prev)
 * to to_seq (0: the end), reading its first blocks blocks
 * (InvalidBlockNumber: all), in parallel, and fills out when the whole
 * range checks and links.  Returns false when the log is too small for
 * workers or anything is in doubt: the caller then walks it in order.
 */
bool
govshare_verify_parallel(Relation rel, int64 from_seq, int64 to_seq, BlockNumber blocks_to,
						 const unsigned char *prev, GovshareChainCheck *out)
{
	BlockNumber blocks = RelationGetNumberOfBlocks(rel);
	int			nworkers = verify_workers(blocks);
	/* a run per chunk of blocks a participant is handed, in a log in order */
	int			max_runs = (int) Min((BlockNumber) VERIFY_MAX_RUNS, blocks + 64);
	const unsigned char *key = NULL;
	const char *key_id = NULL;
	size_t		keylen = 0;
	ParallelContext *pcxt;
	Snapshot	snapshot = GetActiveSnapshot();
	Size		shared_size;
	Size		scan_size;
	VerifyShared *sh;
	ParallelTableScanDesc pscan;
	bool		ok;

	if (nworkers == 0 || !leader_key(&key, &key_id, &keylen))
		return false;
	shared_size = add_size(add_size(offsetof(VerifyShared, runs),
									mul_size(sizeof(ChainRun), max_runs)), keylen);
	EnterParallelMode();
	pcxt = CreateParallelContext("govshare", "govshare_verify_worker", nworkers);
	scan_size = table_parallelscan_estimate(rel, snapshot);
	shm_toc_estimate_chunk(&pcxt->estimator, shared_size);
	shm_toc_estimate_chunk(&pcxt->estimator, scan_size);
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	InitializeParallelDSM(pcxt);

	sh = shm_toc_allocate(pcxt->toc, shared_size);
	memset(sh, 0, offsetof(VerifyShared, runs));
	sh->relid = RelationGetRelid(rel);
	sh->from_seq = from_seq;
	sh->to_seq = to_seq;
	sh->want_seq = out->want_seq;
	sh->max_runs = max_runs;
	if (key != NULL)
	{
		sh->have_key = true;
		strlcpy(sh->key_id, key_id, sizeof(sh->key_id));
		sh->keylen = keylen;
		memcpy(VERIFY_SHARED_KEY(sh), key, keylen);
	}
	SpinLockInit(&sh->mutex);
	shm_toc_insert(pcxt->toc, VERIFY_KEY_SHARED, sh);
	pscan = shm_toc_allocate(pcxt->toc, scan_size);
	table_parallelscan_initialize(rel, pscan, snapshot);
	if (blocks_to != InvalidBlockNumber && rel->rd_tableam == GetHeapamTableAmRoutine())
	{
		/* a block-based scan (heapam): it reads from the first block to blocks_to */
		ParallelBlockTableScanDesc bpscan = (ParallelBlockTableScanDesc) pscan;

		bpscan->phs_nblocks = Min(bpscan->phs_nblocks, blocks_to);
		bpscan->base.phs_syncscan = false;
	}
	shm_toc_insert(pcxt->toc, VERIFY_KEY_SCAN, pscan);

	LaunchParallelWorkers(pcxt);
	/* the leader checks its share too, unless told not to and it has help */
	if (parallel_leader_participation || pcxt->nworkers_launched == 0)
		verify_participate(sh, pscan, true);
	WaitForParallelWorkersToFinish(pcxt);

	/* link the runs, in seq order, from prev */
	ok = !sh->doubt && !(sh->min_keyed != 0 && sh->max_plain > sh->min_keyed);
	if (ok)
	{
		qsort(sh->runs, sh->nruns, sizeof(ChainRun), run_order);
		for (int i = 0; i < sh->nruns && ok; i++)
		{
			int64		want = i == 0 ? from_seq : sh->runs[i - 1].last_seq + 1;
			const unsigned char *link = i == 0 ? prev : sh->runs[i - 1].last_hash;

			ok = sh->runs[i].first_seq == want &&
				memcmp(sh->runs[i].first_prev, link, GOVSHARE_HASH_LEN) == 0;
		}
		/* the rows asked for are all there */
		if (ok && to_seq > 0)
			ok = sh->nruns > 0 && sh->runs[sh->nruns - 1].last_seq == to_seq;
	}
	ereport(DEBUG1,
			(errmsg_internal("govshare: verify_log() in parallel: %d worker%s launched, %lld rows in %d runs, %lld by the leader%s",
							 pcxt->nworkers_launched, pcxt->nworkers_launched == 1 ? "" : "s",
							 (long long) sh->checked, sh->nruns, (long long) sh->leader_checked,
							 ok ? "" : "; in doubt, walking the log in seq order")));
	if (ok)
	{
		out->checked = sh->checked;
		out->last_seq = sh->nruns > 0 ? sh->runs[sh->nruns - 1].last_seq : 0;
		if (sh->nruns > 0)
			memcpy(out->last_hash, sh->runs[sh->nruns - 1].last_hash, GOVSHARE_HASH_LEN);
		out->want_found = sh->want_found;
		memcpy(out->want_hash, sh->want_hash, GOVSHARE_HASH_LEN);
	}
	if (sh->have_key)
		explicit_bzero(VERIFY_SHARED_KEY(sh), sh->keylen);
	DestroyParallelContext(pcxt);
	ExitParallelMode();
	return ok;
}

