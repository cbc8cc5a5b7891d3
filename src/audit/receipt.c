/*-------------------------------------------------------------------------
 *
 * receipt.c
 *	  govshare.request_receipt(): the receipt a provider returns to a remote
 *	  caller, naming the access record of the caller's request.
 *
 * record.c notes here each access record it queues of a consumer
 * statement or denial made under a request token; the receipt names the
 * last one.  The caller keeps the receipt in its own record of the
 * request (govshare_audit_remote, record.c).
 *
 * src/audit/receipt.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "audit/audit_internal.h"

/*
 * The last access record of a consumer statement (or denial) this backend
 * queued, and the token it was made under: what govshare.request_receipt()
 * names to a remote caller.
 */
static bool receipt_known = false;
static uint64 receipt_ticket;
static pg_uuid_t receipt_id;
static char *receipt_token = NULL;	/* in TopMemoryContext; NULL: unsigned */

/*
 * Notes st's access record, queued with ticket, as the one
 * govshare.request_receipt() names: record.c calls it for each access
 * record of a consumer statement or denial made under a token.
 */
void
govshare_audit_receipt_note(const AuditStatement *st, uint64 ticket)
{
	receipt_known = true;
	receipt_ticket = ticket;
	receipt_id = st->id;
	if (receipt_token != NULL)
		pfree(receipt_token);
	receipt_token = MemoryContextStrdup(TopMemoryContext, st->token_id);
}

/*
 * Reads the receipt's access row into the function's result: a lookup of
 * the log's statement_id index (the one standby.c also reads), with the
 * latest snapshot, in which the writer's commit that the caller waited for
 * is visible whatever the transaction's isolation.  Read below SQL, as
 * the writer writes it: the caller, a consumer, may not read the log, and
 * a query would be parsed and planned again at every request (the
 * provider drops its cached plans when the request context changes).
 */
static void
read_receipt(ReturnSetInfo *rsinfo)
{
	Oid			nsp = get_namespace_oid("govshare", false);
	Oid			relid = get_relname_relid("access_log", nsp);
	Oid			index = get_relname_relid("access_log_statement", nsp);
	Relation	rel;
	Snapshot	snapshot;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	if (!OidIsValid(relid) || !OidIsValid(index))
		elog(ERROR, "govshare: govshare.access_log or its index access_log_statement is missing");
	rel = table_open(relid, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, Anum_access_log_statement_id, BTEqualStrategyNumber, F_UUID_EQ,
				UUIDPGetDatum(&receipt_id));
	scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
	while ((tuple = systable_getnext(scan)) != NULL)
	{
		static const int columns[4] = {Anum_access_log_seq, Anum_access_log_hash,
		Anum_access_log_outcome, Anum_access_log_statement_id};
		Datum		values[4];
		bool		nulls[4];
		bool		isnull;
		Datum		kind = heap_getattr(tuple, Anum_access_log_kind, RelationGetDescr(rel), &isnull);

		if (isnull || strcmp(TextDatumGetCString(kind), "access") != 0)
			continue;
		for (int c = 0; c < 4; c++)
			values[c] = heap_getattr(tuple, columns[c], RelationGetDescr(rel), &nulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		break;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
}

/*
 * govshare.request_receipt(token_id text) returns setof (seq bigint,
 * hash bytea, outcome text, statement_id uuid)
 *
 * The receipt a provider returns to a remote caller: the seq and hash of
 * the access record of this session's last consumer statement or denial,
 * once it is durable; no row when that statement was not made under the
 * token token_id (it read nothing governed, say).  The log is read as its
 * owner: the caller, a consumer, cannot read it.
 */
PG_FUNCTION_INFO_V1(govshare_request_receipt);
Datum
govshare_request_receipt(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *token_id;
	char	   *why;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || !receipt_known || receipt_token == NULL)
		PG_RETURN_VOID();
	token_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(token_id, receipt_token) != 0)
		PG_RETURN_VOID();
	/* under strict audit it is durable already: the rows waited for it */
	if (!govshare_audit_queue_wait(receipt_ticket, govshare_audit_timeout, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the access record of this request is not written yet"),
				 errdetail_internal("%s", why)));

	read_receipt(rsinfo);
	PG_RETURN_VOID();
}
