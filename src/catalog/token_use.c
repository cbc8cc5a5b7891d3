/*-------------------------------------------------------------------------
 *
 * token_use.c
 *	  govshare.token_use: the ids of the request tokens already presented.
 *
 * The table is the durable half of replay protection (src/policy/spent.c
 * is the other).  Rows are added by the audit writer, in its own
 * transactions, never by the session that presents a token: a rollback of
 * that session's transaction, or its crash, must not bring a token back.
 * A session asks whether a token is in the table with the latest snapshot,
 * not its own: a REPEATABLE READ transaction must see an id the writer
 * committed after the transaction began.  Rows are pruned a day after
 * their token expired.
 *
 * src/catalog/token_use.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog/catalog_internal.h"
#include "catalog/gs_catalog.h"

/*
 * Was the token (issuer, jti) presented before, as far as committed rows
 * say?  A lookup of the table's primary key with the latest snapshot.
 */
bool
govshare_token_use_recorded(const char *issuer, const char *jti)
{
	Relation	rel = govshare_catalog_open(GOVSHARE_TABLE_TOKEN_USE);
	Oid			pkey = RelationGetPrimaryKeyIndex(rel);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	Relation	index;
	ScanKeyData keys[2];
	SysScanDesc scan;
	bool		found;

	if (!OidIsValid(pkey))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("catalog table govshare.token_use has no primary key"),
				 errhint("Run ALTER EXTENSION govshare UPDATE, or install the library that matches the extension.")));
	index = index_open(pkey, AccessShareLock);
	/* the index's collation, so that the scan descends it as it was built */
	ScanKeyEntryInitialize(&keys[0], 0, Anum_token_use_issuer, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_TEXTEQ, CStringGetTextDatum(issuer));
	ScanKeyEntryInitialize(&keys[1], 0, Anum_token_use_jti, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_TEXTEQ, CStringGetTextDatum(jti));
	index_close(index, AccessShareLock);
	scan = systable_beginscan(rel, pkey, true, snapshot, 2, keys);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/* What record_uses does as the table's owner. */
typedef struct UseBatch
{
	const GovshareTokenUse *uses;
	int			n;
} UseBatch;

static void
record_uses(void *arg)
{
	static SPIPlanPtr insert_plan = NULL;
	UseBatch   *batch = arg;

	if (insert_plan == NULL)
	{
		Oid			types[5] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};
		SPIPlanPtr	plan = SPI_prepare("INSERT INTO govshare.token_use (issuer, jti, expires_at, used_at, used_by)"
									   " VALUES ($1, $2, $3, $4, $5::pg_catalog.name) ON CONFLICT DO NOTHING",
									   5, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "govshare: could not prepare the token id record");
		insert_plan = plan;
	}
	for (int i = 0; i < batch->n; i++)
	{
		const GovshareTokenUse *u = &batch->uses[i];
		Datum		values[5];

		values[0] = CStringGetTextDatum(u->issuer);
		values[1] = CStringGetTextDatum(u->jti);
		values[2] = TimestampTzGetDatum(u->expires_at);
		values[3] = TimestampTzGetDatum(u->used_at);
		values[4] = CStringGetTextDatum(u->used_by);
		if (SPI_execute_plan(insert_plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "govshare: could not record the token id");
	}
}

/*
 * Deletes up to 100 ids of tokens that expired before cutoff, the oldest
 * first, through the index on expires_at, whose scan stops at the first
 * id not expired however many the table holds (a day's tokens and more).
 * Below SQL: a kept plan of the DELETE, made while the table was small,
 * went on reading it whole with a sequential scan as it grew, in every
 * writer batch that pruned.  An id another transaction has locked or
 * deleted is left for a later prune; without that index (dropped by
 * hand) nothing is pruned, and the table only grows.
 */
static void
prune_expired(TimestampTz cutoff)
{
	Relation	rel = table_open(govshare_catalog_relid(GOVSHARE_TABLE_TOKEN_USE), RowExclusiveLock);
	List	   *indexes = RelationGetIndexList(rel);
	Oid			by_expiry = InvalidOid;
	ListCell   *lc;

	/*
	 * A whole, usable btree on expires_at alone: not one a failed CREATE
	 * INDEX CONCURRENTLY left behind, nor a partial one.
	 */
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;

		if (index->rd_rel->relam == BTREE_AM_OID && form->indnatts == 1 &&
			form->indkey.values[0] == Anum_token_use_expires_at &&
			form->indisvalid && form->indisready && form->indislive &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
			by_expiry = RelationGetRelid(index);
		index_close(index, AccessShareLock);
		if (OidIsValid(by_expiry))
			break;
	}
	list_free(indexes);
	if (OidIsValid(by_expiry))
	{
		Relation	index = index_open(by_expiry, AccessShareLock);
		Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		ScanKeyData key;
		IndexScanDesc scan;
		int			deleted = 0;

		ScanKeyInit(&key, 1, BTLessStrategyNumber, F_TIMESTAMPTZ_LT, TimestampTzGetDatum(cutoff));
		scan = index_beginscan(rel, index, snapshot, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		while (deleted < 100 && index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			TM_FailureData tmfd;
			bool		isnull;
			Datum		expires_at = slot_getattr(slot, Anum_token_use_expires_at, &isnull);

			/* the row itself says it expired: a spent id must not come back */
			if (isnull || DatumGetTimestampTz(expires_at) >= cutoff)
				break;
			if (table_tuple_delete(rel, &slot->tts_tid, GetCurrentCommandId(true), snapshot,
								   InvalidSnapshot, false, &tmfd, false) == TM_Ok)
				deleted++;
		}
		index_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		UnregisterSnapshot(snapshot);
		index_close(index, AccessShareLock);
		CommandCounterIncrement();
	}
	table_close(rel, RowExclusiveLock);
}

/*
 * Inserts n token uses into govshare.token_use (an id already there stays
 * as it is), as the table's owner, in the current transaction: the audit
 * writer's.  In one batch of 32, at random, prunes up to 100 ids of tokens
 * that expired a day ago: more than are added.
 */
void
govshare_token_use_insert(const GovshareTokenUse *uses, int n)
{
	UseBatch	batch = {uses, n};
	Relation	rel;

	if (n == 0)
		return;
	/* there, and laid out as this library expects, or an error */
	rel = govshare_catalog_open(GOVSHARE_TABLE_TOKEN_USE);
	table_close(rel, AccessShareLock);
	govshare_spi_as_owner(govshare_catalog_relid(GOVSHARE_TABLE_TOKEN_USE), record_uses, &batch);
	if (pg_prng_uint32(&pg_global_prng_state) % 32 == 0)
		prune_expired(GetCurrentTransactionStartTimestamp() - USECS_PER_DAY);
}
