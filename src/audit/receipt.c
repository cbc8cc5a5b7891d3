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

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

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

/* What read_receipt fills: the function's result. */
typedef struct ReceiptRead
{
	ReturnSetInfo *rsinfo;
} ReceiptRead;

/* Reads the receipt's access row into the function's result, as the log's owner. */
static void
read_receipt(void *arg)
{
	ReturnSetInfo *rsinfo = ((ReceiptRead *) arg)->rsinfo;
	Oid			types[1] = {UUIDOID};
	Datum		args[1];

	args[0] = UUIDPGetDatum(&receipt_id);
	if (SPI_execute_with_args("SELECT seq, hash, outcome, statement_id FROM govshare.access_log"
							  " WHERE statement_id = $1 AND kind = 'access'",
							  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "govshare: could not read the access log");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[4];
		bool		nulls[4];

		for (int c = 0; c < 4; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1,
									  &nulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
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
	ReceiptRead read;

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

	read.rsinfo = rsinfo;
	govshare_spi_as_owner(get_relname_relid("access_log", get_namespace_oid("govshare", false)),
						  read_receipt, &read);
	PG_RETURN_VOID();
}
