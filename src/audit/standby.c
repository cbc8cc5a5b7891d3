/*-------------------------------------------------------------------------
 *
 * standby.c
 *	  Audit on hot standbys: the forwarder that sends a standby's access
 *	  records to the primary, and the primary's entry point that takes them.
 *
 * A hot standby enforces from its replicated catalog like the primary, and
 * its backends queue their access records in its own shared-memory queue
 * (queue.c), but it cannot write the log: the chain is the primary's.  So
 * on a standby the queue is served not by the audit writer but by the
 * *forwarder*, a background worker per database that takes batches from
 * the queue and hands them, over libpq, to govshare.audit_submit() on the
 * primary.  That function checks the batch, names the node that served
 * the records (govshare.node_name) and puts them into the primary's own
 * queue, where the primary's writer chains them like any other record; it
 * returns once they are committed there.  Only then does the forwarder
 * tell the standby's queue that they are durable, so strict audit on a
 * standby waits for the primary's durable commit and fails closed (after
 * govshare.audit_timeout) when the primary cannot be reached; async
 * records stay queued and are sent when it can.  A standby that is
 * promoted hands its queue to a writer, which continues the replicated
 * chain.
 *
 * Who may submit: audit_submit() is executable by govshare_standby only,
 * and refuses a current role without the REPLICATION attribute (a role
 * that may stream the whole database anyway).  A consumer therefore cannot
 * add records of its choosing to the primary's log.
 *
 * src/audit/standby.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "audit/audit_internal.h"

/* Settings (src/guc.c). */
char	   *govshare_standby_conninfo = NULL;
char	   *govshare_node_name = NULL;

/* Records in one submission at most, and their bytes (about). */
#define FORWARD_RECORDS 2000
#define FORWARD_BYTES (1024 * 1024)

/* The longest node name, in bytes. */
#define NODE_NAME_MAX 63

/* After a failed submission, the wait before the next: doubling up to the max. */
#define FORWARD_RETRY_FIRST 100
#define FORWARD_RETRY_MAX 5000

/* A connection attempt to the primary gives up after this long, in ms. */
#define FORWARD_CONNECT_TIMEOUT 5000

/* The last field of the advisory lock tag of a node's submission (SQL's are 1 and 2). */
#define GOVSHARE_SUBMIT_LOCK_FIELD4 0x4753

/* A batch of this many records or more is submitted pipelined (audit_submit). */
#define FORWARD_PIPELINE_MIN 32

/* An idle forwarder exits and frees its queue after this long, in ms. */
#define FORWARD_IDLE_EXIT (5 * 60 * 1000)

static GovshareAuditQueue *queue = NULL;
static PGconn *conn = NULL;
static volatile sig_atomic_t got_sigterm = false;

/*
 * The primary's side: where the last record of this session's previous
 * pipelined submission was queued, until the next submission has waited
 * for it (ticket 0: none).
 */
typedef struct QueuedAt
{
	int			queue;
	uint64		ticket;
} QueuedAt;

static QueuedAt unconfirmed = {0, 0};

/*
 * Is name a node name: 1 to NODE_NAME_MAX letters, digits and "_.:-"?
 * (It goes into every record the node forwards.)
 */
static bool
node_name_valid(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > NODE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char) name[i]) || strchr("_.:-", name[i]) != NULL))
			return false;
	return true;
}

/* check_hook of govshare.node_name: empty, or a valid node name. */
bool
govshare_node_name_check(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || node_name_valid(*newval))
		return true;
	GUC_check_errdetail("A node name is 1 to %d letters, digits, \"_\", \".\", \":\" or \"-\".",
						NODE_NAME_MAX);
	return false;
}

/*
 * The name this node gives the records it forwards: govshare.node_name,
 * else cluster_name, else the host name and port.
 */
static const char *
node_name(void)
{
	static char name[NODE_NAME_MAX + 1];
	char		host[256];

	if (govshare_node_name && govshare_node_name[0])
		return govshare_node_name;
	if (cluster_name && node_name_valid(cluster_name))
		return cluster_name;
	if (gethostname(host, sizeof(host)) != 0)
		strlcpy(host, "standby", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(name, sizeof(name), "%s:%d", host, PostPortNumber);
	for (char *p = name; *p; p++)
		if (!(isalnum((unsigned char) *p) || strchr("_.:-", *p) != NULL))
			*p = '-';
	return name;
}

/* ---------------------------------------------------------------------
 * The primary's side
 * ---------------------------------------------------------------------
 */

/* Reads a 4-byte big-endian length at p. */
static uint32
get_be32(const unsigned char *p)
{
	return ((uint32) p[0] << 24) | ((uint32) p[1] << 16) | ((uint32) p[2] << 8) | p[3];
}

/*
 * The detail of a submitted record: the bytes after its columns kind ..
 * receipt_hash are nothing (a record of a library without format GSAL2),
 * a NULL, or the detail's text.  Returns it (NULL for none); raises an
 * error on anything else.
 */
static char *
submitted_detail(const char *data, uint32 len)
{
	uint32		n;

	if (len == 0 || (len == 1 && data[0] == 'N'))
		return NULL;
	if (len < 5 || data[0] != 'S' ||
		(n = get_be32((const unsigned char *) data + 1)) != len - 5)
		elog(ERROR, "malformed detail");
	/* checked (a JSON object) and normalised by govshare_audit_detail_merge */
	return pnstrdup(data + 5, n);
}

/*
 * A submitted record, checked and ready to queue: where its bytes are in
 * the batch being built, and what identifies an access record in the log
 * (token uses need nothing: their table ignores an id it has).
 */
typedef struct Submitted
{
	int			off;
	int			len;
	bool		token;
	pg_uuid_t	statement_id;
	char		kind[8];		/* "access", "result" or "remote" */
} Submitted;

/*
 * Checks that a submitted record is one the standby's backends could have
 * queued: a token use, or the canonical encoding of an access record's
 * columns and its detail (what the writer will decode), and appends it to
 * out as it is to be queued here: an access record with member "node" of
 * its detail set to node.  Fills *sub.  Raises a data error naming the
 * record's place in the batch otherwise.
 */
static void
take_submitted(const char *data, uint32 len, TupleDesc desc, int i, const char *node,
			   StringInfo out, Submitted *sub)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *isnull = palloc(sizeof(bool) * desc->natts);
	bool		ok = true;

	sub->off = out->len;
	PG_TRY();
	{
		if (len > 0 && data[0] == GOVSHARE_AUDIT_TOKEN_TAG)
		{
			GovshareTokenUse use;

			govshare_audit_token_decode(data, len, &use);
			appendBinaryStringInfo(out, data, len);
			sub->token = true;
		}
		else
		{
			size_t		fixed = govshare_chain_decode(data, len, desc, Anum_access_log_kind,
													  Anum_access_log_receipt_hash, values, isnull);
			char	   *detail = submitted_detail(data + fixed, len - fixed);
			StringInfoData name;

			initStringInfo(&name);
			escape_json(&name, node);
			appendBinaryStringInfo(out, data, fixed);
			govshare_chain_put_text(out, govshare_audit_detail_merge(detail, "node", name.data));
			sub->token = false;
			/* both NOT NULL columns: the decoder refused a record without them */
			memcpy(&sub->statement_id, DatumGetUUIDP(values[Anum_access_log_statement_id - 1]),
				   sizeof(pg_uuid_t));
			text_to_cstring_buffer(DatumGetTextPP(values[Anum_access_log_kind - 1]),
								   sub->kind, sizeof(sub->kind));
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("access record %d submitted by node \"%s\" is malformed", i + 1, node),
				 errdetail("It is not the canonical encoding of an access record (docs/audit-format.md) or a token use."),
				 errhint("Standby and primary must run the same version of govshare.")));
	sub->len = out->len - sub->off;
	pfree(values);
	pfree(isnull);
}

/*
 * Is sub, an access record node submitted, in the log already (committed,
 * as seen by snapshot)?  A statement has one record of each kind, so its
 * statement id, kind and node name it.
 */
static bool
already_logged(Relation rel, Oid index, Snapshot snapshot, const Submitted *sub, const char *node)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;
	JsonbValue	node_key;

	node_key.type = jbvString;
	node_key.val.string.val = "node";
	node_key.val.string.len = strlen("node");

	ScanKeyInit(&key, Anum_access_log_statement_id, BTEqualStrategyNumber, F_UUID_EQ,
				UUIDPGetDatum(&sub->statement_id));
	scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
	while (!found && (tuple = systable_getnext(scan)) != NULL)
	{
		bool		isnull;
		Datum		kind = heap_getattr(tuple, Anum_access_log_kind, RelationGetDescr(rel), &isnull);
		Datum		detail;
		JsonbValue *name;

		if (isnull || strcmp(TextDatumGetCString(kind), sub->kind) != 0)
			continue;
		detail = heap_getattr(tuple, Anum_access_log_detail, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		/* a record served where it was written has no node */
		name = findJsonbValueFromContainer(&DatumGetJsonbP(detail)->root, JB_FOBJECT, &node_key);
		found = name != NULL && name->type == jbvString &&
			name->val.string.len == (int) strlen(node) &&
			memcmp(name->val.string.val, node, name->val.string.len) == 0;
	}
	systable_endscan(scan);
	return found;
}

/*
 * Takes the lock that lets one submission of node run at a time in this
 * database (until the transaction ends), or raises an error at once.  An
 * advisory lock tag whose last field no SQL function uses.
 */
static void
lock_node(const char *node)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, hash_bytes((const unsigned char *) node, strlen(node)),
						 0, GOVSHARE_SUBMIT_LOCK_FIELD4);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("access records of node \"%s\" are being submitted already", node),
				 errdetail("An earlier submission of the node has not ended."),
				 errhint("The standby's forwarder submits them again once it has.")));
}

/*
 * govshare.audit_submit(node text, records bytea, again boolean,
 *						 pipelined boolean) returns bigint
 *
 * The entry point of standbys' forwarders: records is a batch of queued
 * access records, each a 4-byte big-endian length and the record's bytes.
 * All are checked, given their node, and queued in this database's audit
 * queue; returns once the last is committed by the writer (so all are),
 * with the log's last seq at that moment.  Fails, and none of the batch is
 * acknowledged, when that does not happen within govshare.audit_timeout;
 * a malformed batch is refused before any of it is queued.
 *
 * Pipelined, it returns once the records of the session's previous
 * pipelined submission are committed instead, and leaves its own to the
 * next submission, which may be empty: so the writer writes one batch
 * while this backend checks the next.  A forwarder under load submits so.
 *
 * Each record is recorded once however often it is submitted: a forwarder
 * that cannot know whether an earlier submission was recorded (it failed,
 * or its answer was lost, or the forwarder is new) says again, and then
 * the records already in the log are skipped, after everything queued
 * before (an earlier submission's records among it) is committed.  One
 * submission of a node runs at a time.
 */
PG_FUNCTION_INFO_V1(govshare_audit_submit);
Datum
govshare_audit_submit(PG_FUNCTION_ARGS)
{
	char	   *node = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *records = PG_GETARG_BYTEA_PP(1);
	bool		again = PG_GETARG_BOOL(2);
	bool		pipelined = PG_GETARG_BOOL(3);
	QueuedAt	previous = unconfirmed;
	const unsigned char *p = (const unsigned char *) VARDATA_ANY(records);
	const unsigned char *end = p + VARSIZE_ANY_EXHDR(records);
	Oid			nsp = get_namespace_oid("govshare", false);
	Relation	rel;
	TupleDesc	desc;
	uint64		ticket = 0;
	int			n = 0;
	int			queued = 0;
	char	   *why = NULL;
	char	   *share_name;
	StringInfoData taken;
	Submitted  *subs;
	int			room = 64;
	MemoryContext per_record;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("access records cannot be submitted to a standby"),
				 errdetail("The access log is written on the primary only."),
				 errhint("Point govshare.standby_conninfo (or primary_conninfo) of node \"%s\" at the primary.",
						 node)));
	if (!has_rolreplication(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to submit access records"),
				 errdetail("Role \"%s\" does not have the REPLICATION attribute; only standbys submit access records.",
						   GetUserNameFromId(GetUserId(), false)),
				 errhint("Standbys' forwarders connect as a role with REPLICATION that is a member of govshare_standby.")));
	if (!node_name_valid(node))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid node name in submitted access records"),
				 errdetail("A node name is 1 to %d letters, digits, \"_\", \".\", \":\" or \"-\".",
						   NODE_NAME_MAX)));
	lock_node(node);
	/* a submission that fails leaves nothing to confirm: its forwarder starts again */
	unconfirmed.ticket = 0;

	share_name = psprintf("standby %s", node);
	rel = table_open(get_relname_relid("access_log", nsp), AccessShareLock);
	desc = RelationGetDescr(rel);
	(void) govshare_chain_check_columns(desc);
	initStringInfo(&taken);
	subs = palloc(sizeof(Submitted) * room);
	/*
	 * what checking one record allocates (its decoded columns, the JSON
	 * parser's state) is freed before the next: a batch of 2,000 would
	 * otherwise take fresh memory for each
	 */
	per_record = AllocSetContextCreate(CurrentMemoryContext, "govshare submitted record",
									   ALLOCSET_DEFAULT_SIZES);
	/* all checked before any is queued */
	while (p < end)
	{
		uint32		len;
		MemoryContext old;

		if (end - p < 4 || (len = get_be32(p)) > (uint32) (end - p - 4))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("the batch of access records submitted by node \"%s\" is truncated", node),
					 errdetail("Record %d claims more bytes than the batch has.", n + 1)));
		if (n == room)
		{
			room *= 2;
			subs = repalloc(subs, sizeof(Submitted) * room);
		}
		old = MemoryContextSwitchTo(per_record);
		take_submitted((const char *) p + 4, len, desc, n, node, &taken, &subs[n]);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_record);
		p += 4 + len;
		n++;
	}
	if (again && n > 0)
	{
		Oid			index = get_relname_relid("access_log_statement", nsp);
		Snapshot	snapshot;

		if (!OidIsValid(index))
			elog(ERROR, "govshare: index govshare.access_log_statement is missing");
		/* an earlier submission's records may still be queued: let them be written */
		if (!govshare_audit_queue_wait_all(govshare_audit_timeout, &why))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("the %d access records submitted by node \"%s\" could not be recorded", n, node),
					 errdetail("The records queued before them are not committed: %s", why),
					 errhint("The standby keeps them queued and submits them again; govshare.audit_status() shows the audit writer.")));
		snapshot = RegisterSnapshot(GetLatestSnapshot());
		for (int i = 0; i < n; i++)
			if (!subs[i].token && already_logged(rel, index, snapshot, &subs[i], node))
				subs[i].len = -1;
		UnregisterSnapshot(snapshot);
	}
	for (int i = 0; i < n; i++)
		if (subs[i].len >= 0)
			queued = i + 1;
	for (int i = 0; i < queued; i++)
	{
		if (subs[i].len < 0)
			continue;
		/* a standby's records take a share of the queue of their own (share.c) */
		ticket = govshare_audit_queue_put(taken.data + subs[i].off, subs[i].len, share_name,
										  govshare_audit_timeout, i + 1 == queued, false, NULL);
	}
	table_close(rel, AccessShareLock);
	/* the previous pipelined submission's records, then (not pipelined) these */
	if (previous.ticket != 0 &&
		!govshare_audit_queue_wait_at(previous.queue, previous.ticket, govshare_audit_timeout, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the access records node \"%s\" submitted before could not be recorded", node),
				 errdetail("%s", why),
				 errhint("The standby keeps them queued and submits them again; govshare.audit_status() shows the audit writer.")));
	if (pipelined && queued > 0)
	{
		unconfirmed.queue = govshare_audit_queue_last_put();
		unconfirmed.ticket = ticket;
	}
	else if (!pipelined && queued > 0 && !govshare_audit_queue_wait(ticket, govshare_audit_timeout, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the %d access records submitted by node \"%s\" could not be recorded", n, node),
				 errdetail("%s", why),
				 errhint("The standby keeps them queued and submits them again; govshare.audit_status() shows the audit writer.")));
	PG_RETURN_INT64(govshare_audit_queue_last_seq());
}

/* ---------------------------------------------------------------------
 * The standby's side: the forwarder
 * ---------------------------------------------------------------------
 */

/* SIGTERM: send what is queued (one attempt), then exit. */
static void
forwarder_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	if (got_sigterm)
		die(postgres_signal_arg);
	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* before_shmem_exit: close the connection and leave the queue. */
static void
forwarder_exit(int code, Datum arg)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	if (queue != NULL)
		govshare_audit_queue_detach(queue, false);
	queue = NULL;
}

/* Milliseconds until deadline, at least 0. */
static long
remaining(TimestampTz deadline)
{
	long		ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);

	return Max(ms, 0);
}

/*
 * Waits for conn's socket (reading or writing), the latch or the deadline;
 * returns false once the deadline passed.
 */
static bool
wait_socket(bool writing, TimestampTz deadline)
{
	long		ms = remaining(deadline);

	if (ms <= 0)
		return false;
	(void) WaitLatchOrSocket(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH |
							 (writing ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE),
							 PQsocket(conn), ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	return true;
}

/* libpq's message without its trailing newline, in memory of the caller. */
static char *
conn_error(const char *what)
{
	char	   *m = pstrdup(conn ? PQerrorMessage(conn) : "out of memory");
	int			len = strlen(m);

	while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == ' '))
		m[--len] = '\0';
	return psprintf("%s: %s", what, m);
}

/*
 * Connects to the primary: govshare.standby_conninfo, else primary_conninfo,
 * with this database's name.  Returns NULL, or why it could not.
 */
static char *
connect_primary(const char *dbname)
{
	const char *conninfo = govshare_standby_conninfo && govshare_standby_conninfo[0] ?
		govshare_standby_conninfo : PrimaryConnInfo;
	const char *keywords[] = {"connect_timeout", "dbname", "dbname", "application_name", NULL};
	const char *values[] = {"5", conninfo ? conninfo : "", dbname, "govshare audit forwarder", NULL};
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), FORWARD_CONNECT_TIMEOUT);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	conn = PQconnectStartParams(keywords, values, true);
	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		return conn_error("could not connect to the primary");
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED)
	{
		if (!wait_socket(st == PGRES_POLLING_WRITING, deadline))
			return psprintf("could not connect to the primary within %d ms", FORWARD_CONNECT_TIMEOUT);
		st = PQconnectPoll(conn);
	}
	if (st != PGRES_POLLING_OK)
		return conn_error("could not connect to the primary");
	if (PQsetnonblocking(conn, 1) != 0)
		return conn_error("could not use the connection to the primary");
	return NULL;
}

/*
 * The records of batch (as govshare_audit_queue_peek left them: host-order
 * lengths) as audit_submit() takes them: big-endian lengths.
 */
static void
batch_to_wire(const StringInfo batch, int n, StringInfo wire)
{
	const char *p = batch->data;

	for (int i = 0; i < n; i++)
	{
		uint32		len;
		unsigned char be[4];

		memcpy(&len, p, sizeof(uint32));
		be[0] = len >> 24;
		be[1] = len >> 16;
		be[2] = len >> 8;
		be[3] = len;
		appendBinaryStringInfo(wire, (char *) be, 4);
		appendBinaryStringInfo(wire, p + sizeof(uint32), len);
		p += sizeof(uint32) + len;
	}
}

/*
 * Submits the n records of batch to the primary and waits for its answer:
 * the primary's audit_timeout and a margin.  again says that some of them
 * may have been recorded by an earlier submission (the primary skips
 * those).  Returns NULL once the primary committed them (pipelined: once
 * it committed those of the previous pipelined submission on this
 * connection, and queued these), with its log's last seq in *last_seq;
 * otherwise why not (the connection is then closed, to be made again).
 */
static char *
submit(const char *dbname, const StringInfo batch, int n, bool again, bool pipelined,
	   int64 *last_seq)
{
	StringInfoData wire;
	const char *params[4];
	int			lengths[4];
	int			formats[4] = {0, 1, 0, 0};
	Oid			types[4] = {TEXTOID, BYTEAOID, BOOLOID, BOOLOID};
	TimestampTz deadline;
	PGresult   *res;
	char	   *failed = NULL;

	if (conn == NULL && (failed = connect_primary(dbname)) != NULL)
		goto fail;
	initStringInfo(&wire);
	batch_to_wire(batch, n, &wire);
	params[0] = node_name();
	lengths[0] = strlen(params[0]);
	params[1] = wire.data;
	lengths[1] = wire.len;
	params[2] = again ? "true" : "false";
	lengths[2] = strlen(params[2]);
	params[3] = pipelined ? "true" : "false";
	lengths[3] = strlen(params[3]);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   govshare_audit_timeout + FORWARD_CONNECT_TIMEOUT);
	if (!PQsendQueryParams(conn, "SELECT govshare.audit_submit($1, $2, $3, $4)", 4, types, params,
						   lengths, formats, 0))
	{
		failed = conn_error("could not send access records to the primary");
		goto fail;
	}
	for (;;)
	{
		int			r = PQflush(conn);

		if (r == 0)
			break;
		if (r < 0 || !wait_socket(true, deadline))
		{
			failed = r < 0 ? conn_error("could not send access records to the primary") :
				pstrdup("the primary did not take the access records in time");
			goto fail;
		}
	}
	while (PQisBusy(conn))
	{
		if (!wait_socket(false, deadline))
		{
			failed = pstrdup("the primary did not answer in time");
			goto fail;
		}
		if (!PQconsumeInput(conn))
		{
			failed = conn_error("lost the connection to the primary");
			goto fail;
		}
	}
	res = PQgetResult(conn);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		char	   *m = pstrdup(PQresultErrorMessage(res));
		int			len = strlen(m);

		while (len > 0 && m[len - 1] == '\n')
			m[--len] = '\0';
		failed = psprintf("the primary refused the access records: %s", m);
		PQclear(res);
		goto fail;
	}
	*last_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	/* the end of the query: a NULL result */
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	pfree(wire.data);
	return NULL;

fail:
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
	return failed;
}

/*
 * At promotion: marks done the oldest queued records that the old primary
 * committed (they were replayed here) but this forwarder never heard
 * confirmed (in flight, or their call failed after the commit), so that
 * the writer taking over the queue does not write them again.  The
 * primary commits a node's records in the order they were queued, and a
 * standby replays a prefix of its commits, so those are a prefix of the
 * queue: the first record not in the log ends it.  Returns how many.
 */
static int
drop_replayed(void)
{
	Oid			nsp;
	Relation	rel;
	Oid			index;
	Snapshot	snapshot;
	StringInfoData one;
	StringInfoData scratch;
	uint64		pos = 0;
	uint64		done_next = 0;
	uint64		done_last = 0;
	int			dropped = 0;

	StartTransactionCommand();
	nsp = get_namespace_oid("govshare", false);
	rel = table_open(get_relname_relid("access_log", nsp), AccessShareLock);
	index = get_relname_relid("access_log_statement", nsp);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	initStringInfo(&one);
	initStringInfo(&scratch);
	for (;;)
	{
		uint64		next;
		uint64		last;
		bool		stop;
		uint32		len;
		Submitted	sub;

		resetStringInfo(&one);
		resetStringInfo(&scratch);
		if (govshare_audit_queue_peek(queue, &one, 1, pos, &next, &last, &stop) == 0)
			break;
		memcpy(&len, one.data, sizeof(uint32));
		take_submitted(one.data + sizeof(uint32), len, RelationGetDescr(rel), dropped, node_name(),
					   &scratch, &sub);
		if (sub.token || !OidIsValid(index) ||
			!already_logged(rel, index, snapshot, &sub, node_name()))
			break;
		dropped++;
		done_next = pos = next;
		done_last = last;
	}
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	if (dropped > 0)
		govshare_audit_queue_done(queue, done_next, done_last, dropped, 0);
	return dropped;
}

/* Is govshare installed in this database, in a transaction of its own? */
static bool
extension_here(void)
{
	bool		here;

	StartTransactionCommand();
	here = OidIsValid(get_extension_oid("govshare", true));
	CommitTransactionCommand();
	return here;
}

/*
 * Main loop of the forwarder of one database on a standby: bgw_main_arg is
 * the queue's index, bgw_extra the database's OID (as for the writer).
 */
void
govshare_audit_forwarder_main(Datum main_arg)
{
	int			qi = DatumGetInt32(main_arg);
	Oid			dboid;
	char	   *dbname;
	MemoryContext loop_context;
	StringInfoData batch;
	int			backoff_ms = 0;
	TimestampTz idle_since = 0;
	/* may the primary have recorded some of what is queued? (a forwarder before this one may have sent it) */
	bool		again = true;
	/*
	 * The oldest records, queued on the primary by the last (pipelined)
	 * submission and not yet confirmed: the next submission confirms them.
	 */
	bool		in_flight = false;
	uint64		flight_next = 0;
	uint64		flight_last = 0;
	int			flight_n = 0;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, forwarder_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("govshare audit forwarder");

	before_shmem_exit(forwarder_exit, (Datum) 0);
	queue = govshare_audit_queue_attach(qi, dboid);
	if (queue == NULL)
		proc_exit(0);			/* another writer or forwarder has it */
	StartTransactionCommand();
	dbname = MemoryContextStrdup(TopMemoryContext, get_database_name(dboid));
	CommitTransactionCommand();
	if (!extension_here())
		proc_exit(0);
	ereport(DEBUG1, (errmsg("govshare audit forwarder started for node \"%s\"", node_name())));

	loop_context = AllocSetContextCreate(TopMemoryContext, "govshare audit forwarder",
										 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		uint64		next;
		uint64		last = 0;
		bool		stop;
		int			n;
		int64		last_seq = 0;
		char	   *failed;
		bool		pipelined;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!RecoveryInProgress())
		{
			/* promoted: this node writes its own log now */
			int			replayed = drop_replayed();

			ereport(LOG,
					(errmsg("govshare audit forwarder: the server was promoted; the audit writer takes over database \"%s\"",
							dbname),
					 replayed > 0 ?
					 errdetail("%d queued records the old primary had committed were already in the log.", replayed) : 0));
			govshare_audit_queue_hand_over(queue);
			queue = NULL;
			proc_exit(0);
		}
		MemoryContextReset(loop_context);
		MemoryContextSwitchTo(loop_context);
		initStringInfo(&batch);
		n = govshare_audit_queue_peek(queue, &batch, FORWARD_RECORDS, in_flight ? flight_next : 0,
									  &next, &last, &stop);
		if (n == 0 && !in_flight)
		{
			if (stop || got_sigterm)
				break;
			if (idle_since == 0)
				idle_since = GetCurrentTimestamp();
			else if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), FORWARD_IDLE_EXIT) &&
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
		pgstat_report_activity(STATE_RUNNING, "submitting access records to the primary");
		/*
		 * Under load the primary checks and queues one batch while its writer
		 * commits the one before; a lone record (a strict read waiting) is
		 * confirmed by the call that sends it.  Nothing new to send confirms
		 * what is in flight.
		 */
		pipelined = in_flight || n >= FORWARD_PIPELINE_MIN;
		failed = submit(dbname, &batch, n, again, pipelined, &last_seq);
		pgstat_report_activity(STATE_IDLE, NULL);
		if (failed == NULL)
		{
			if (in_flight)
				govshare_audit_queue_done(queue, flight_next, flight_last, flight_n, last_seq);
			in_flight = pipelined && n > 0;
			if (in_flight)
			{
				flight_next = next;
				flight_last = last;
				flight_n = n;
			}
			else if (n > 0)
				govshare_audit_queue_done(queue, next, last, n, last_seq);
			backoff_ms = 0;
			again = false;
			continue;
		}
		/*
		 * the primary may have queued them, or committed them and lost the
		 * answer: all that is not confirmed goes again, from the oldest
		 */
		again = true;
		if (in_flight)
			n += flight_n;
		in_flight = false;
		govshare_audit_queue_error(queue, failed);
		if (got_sigterm)
		{
			ereport(LOG,
					(errmsg("govshare audit forwarder exits with %d access records unsent: %s", n, failed)));
			break;
		}
		backoff_ms = backoff_ms == 0 ? FORWARD_RETRY_FIRST : Min(backoff_ms * 2, FORWARD_RETRY_MAX);
		if (backoff_ms == FORWARD_RETRY_FIRST || backoff_ms == FORWARD_RETRY_MAX)
			ereport(LOG,
					(errmsg("govshare audit forwarder could not submit %d access records: %s", n, failed),
					 errdetail("The records stay queued; the forwarder tries again in %d ms.", backoff_ms)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, backoff_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	proc_exit(0);
}
