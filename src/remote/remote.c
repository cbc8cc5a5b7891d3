/*-------------------------------------------------------------------------
 *
 * remote.c
 *	  Queries to another agency's database over libpq: govshare.remote_query().
 *
 * A remote query proves who asks and why with a request token signed by
 * this agency's Ed25519 key (govshare.signing_key_file): issuer the self
 * agency, audience the agency asked, subject the officer, a fresh jti, a
 * lifetime of govshare.remote_token_lifetime.  On a connection to the
 * endpoint registered for the agency (govshare.add_endpoint), it sends
 *
 *		SELECT govshare.begin_request_signed($token)
 *		-- sync: the token is spent, in a transaction of its own
 *
 * and, once the provider has accepted it, one pipeline:
 *
 *		<the query>										(rows one at a time)
 *		-- sync
 *		SELECT * FROM govshare.request_receipt($jti)
 *		SELECT govshare.end_request()
 *		-- sync
 *		DISCARD ALL										(what the query set)
 *		-- sync
 *
 * (without the query when the token was refused).  Two round trips: the
 * token is spent even when the query fails or is cancelled (the replay
 * guard is a table row, which the query's transaction would take with
 * it); nothing runs on a provider that refused the request; the
 * provider's receipt (the seq and hash of its access record) comes back
 * for a denial too, and no context, setting, role or lock is left on a
 * connection kept for the next request.  The provider
 * enforces and audits the query like any consumer's.  Here, the request
 * is recorded in the access log as a row of kind 'remote' with the receipt
 * (src/audit.c; the view govshare.remote_request).
 *
 * Rows are read in single-row mode into the function's tuplestore, which
 * spills to disk beyond work_mem, so neither libpq nor this backend holds
 * the whole result in memory.  Every wait for the provider is on the latch
 * and the socket, so a cancel or govshare.remote_timeout interrupts it;
 * the remote query is then cancelled too (PQcancel, which itself blocks
 * until the provider answers) and the connection closed.  A connection is kept
 * for the next request to the same endpoint only when the whole pipeline
 * ended cleanly, with the remote context ended.
 *
 * Connection strings may hold secrets: they are read as the table's
 * owner, never shown in errors, and only govshare_admin reads the table.
 *
 * src/remote.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <poll.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "audit/gs_audit.h"
#include "remote/gs_remote.h"

/* GUC govshare.remote_timeout: the longest a remote request takes, ms */
int			govshare_remote_timeout = 30000;

/* GUC govshare.remote_token_lifetime: exp - iat of the tokens sent, s */
int			govshare_remote_token_lifetime = 60;

/* A connection kept for the next request to the same agency. */
typedef struct RemoteConn
{
	char	   *agency;			/* in TopMemoryContext */
	char	   *conninfo;		/* the endpoint it was opened with */
	bool		trusted;
	PGconn	   *conn;
} RemoteConn;

#define MAX_CONNS 16
static RemoteConn conns[MAX_CONNS];
static int	nconns = 0;

/* What came back from the provider. */
typedef struct Exchange
{
	const char *target;
	PGconn	   *conn;
	TimestampTz deadline;
	int64		rows;
	bool		denied;
	char	   *remote_error;	/* the query's or the token's error, formatted */
	int			remote_sqlstate;
	char	   *remote_message;
	char	   *remote_detail;
	char	   *remote_hint;
	bool		has_receipt;
	int64		receipt_seq;
	unsigned char receipt_hash[GOVSHARE_HASH_LEN];
	bool		clean;			/* the pipeline ended as expected */
	PGresult   *pending;		/* a row being stored */
} Exchange;

/* What endpoint_conninfo asks of the SPI work it runs as the table's owner. */
typedef struct EndpointRead
{
	const char *agency;
	MemoryContext cxt;
	char	   *conninfo;		/* NULL: none */
	bool		trusted;		/* registered by a superuser */
} EndpointRead;

static void
read_endpoint(void *arg)
{
	EndpointRead *e = arg;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];

	args[0] = CStringGetTextDatum(e->agency);
	if (SPI_execute_with_args("SELECT conninfo, by_superuser FROM govshare.endpoint"
							  " WHERE agency OPERATOR(pg_catalog.=) $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "govshare: could not read govshare.endpoint");
	if (SPI_processed == 1)
	{
		bool		isnull;

		e->conninfo = MemoryContextStrdup(e->cxt, SPI_getvalue(SPI_tuptable->vals[0],
															   SPI_tuptable->tupdesc, 1));
		e->trusted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
												&isnull)) && !isnull;
	}
}

/* The connection string of the agency's endpoint, read as the table's owner. */
static char *
endpoint_conninfo(const char *agency, bool *trusted)
{
	Oid			relid = get_relname_relid("endpoint", get_namespace_oid("govshare", false));
	EndpointRead e = {agency, CurrentMemoryContext, NULL, false};
	char	   *conninfo;

	if (!OidIsValid(relid))
		elog(ERROR, "govshare: table govshare.endpoint is missing");
	govshare_spi_as_owner(relid, read_endpoint, &e);
	conninfo = e.conninfo;
	*trusted = e.trusted;
	if (conninfo == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("agency \"%s\" has no registered endpoint", agency),
				 errhint("A govshare_admin registers one with govshare.add_endpoint(agency, conninfo).")));
	return conninfo;
}

/* Milliseconds left before the deadline, at least 0. */
static long
remaining_ms(TimestampTz deadline)
{
	return TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
}

static void
timed_out(const char *target)
{
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("the remote query to agency \"%s\" timed out after %d ms", target, govshare_remote_timeout),
			 errhint("govshare.remote_timeout bounds a remote query, connection included.")));
}

/* libpq's message, without its trailing newline. */
static char *
conn_message(PGconn *conn)
{
	char	   *m = pstrdup(PQerrorMessage(conn));
	int			n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		m[--n] = '\0';
	return m;
}

/* Set when the connection failed: a cancel request would not get through. */
static bool conn_failed = false;

static void
connection_lost(const char *target, PGconn *conn)
{
	conn_failed = true;
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("lost the connection to agency \"%s\" during a remote query", target),
			 errdetail_internal("%s", conn_message(conn))));
}

/*
 * Waits for the socket (read, or write too when want_write), the latch or
 * the deadline; interrupts are served, so a cancel ends the wait.
 */
static void
wait_socket(PGconn *conn, bool want_read, bool want_write, TimestampTz deadline,
			const char *target)
{
	int			events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;
	long		ms = remaining_ms(deadline);

	if (ms <= 0)
		timed_out(target);
	if (want_read)
		events |= WL_SOCKET_READABLE;
	if (want_write)
		events |= WL_SOCKET_WRITEABLE;
	(void) WaitLatchOrSocket(MyLatch, events, PQsocket(conn), ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* A new connection to the endpoint, made without blocking. */
/* The provider's notices are not for this server's log. */
static void
drop_notice(void *arg, const PGresult *res)
{
}

static PGconn *
connect_endpoint(const char *target, const char *conninfo, bool trusted, TimestampTz deadline)
{
	const char *keywords[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
	const char *values[] = {conninfo, "govshare remote_query", GetDatabaseEncodingName(), NULL};
	PGconn	   *volatile conn;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	conn = PQconnectStartParams(keywords, values, true);
	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory connecting to agency \"%s\"", target)));
	PG_TRY();
	{
		if (PQstatus(conn) == CONNECTION_BAD)
			st = PGRES_POLLING_FAILED;
		while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED)
		{
			wait_socket(conn, st == PGRES_POLLING_READING, st == PGRES_POLLING_WRITING,
						deadline, target);
			st = PQconnectPoll(conn);
		}
		if (st == PGRES_POLLING_FAILED)
			ereport(ERROR,
					(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
					 errmsg("could not connect to agency \"%s\"", target),
					 errdetail_internal("%s", conn_message(conn)),
					 errhint("govshare.add_endpoint() registers the agency's connection; a govshare_admin can check it.")));
		if (!trusted && !PQconnectionUsedPassword(conn))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("the endpoint of agency \"%s\" did not authenticate with its password", target),
					 errdetail("An endpoint registered by a non-superuser must not use the server's own credentials."),
					 errhint("Make the provider ask for the password, or have a superuser register the endpoint.")));
		PQsetNoticeReceiver(conn, drop_notice, NULL);
		if (PQsetnonblocking(conn, 1) != 0)
			connection_lost(target, conn);
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return conn;
}

/* Forgets the kept connection to the agency, closing it. */
static void
drop_conn(const char *agency)
{
	for (int i = 0; i < nconns; i++)
		if (strcmp(conns[i].agency, agency) == 0)
		{
			PQfinish(conns[i].conn);
			pfree(conns[i].agency);
			pfree(conns[i].conninfo);
			conns[i] = conns[--nconns];
			return;
		}
}

/*
 * Is a kept, idle connection still usable?  The server sends nothing to an
 * idle connection of ours but its end (a shutdown's FATAL, a terminated
 * backend's EOF), so one with something to read is not.  A peer gone
 * without a word is found out only when the request fails.
 */
static bool
conn_alive(PGconn *conn)
{
	struct pollfd pfd;
	int			r;

	if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
		return false;
	pfd.fd = PQsocket(conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	r = poll(&pfd, 1, 0);
	return r == 0;
}

/*
 * The connection to use for a request to the agency: the kept one when it
 * was opened with the same endpoint and is idle, else a new one.  It is
 * taken out of the cache while in use and put back by keep_conn().
 */
static PGconn *
take_conn(const char *target, const char *conninfo, bool trusted, TimestampTz deadline)
{
	for (int i = 0; i < nconns; i++)
		if (strcmp(conns[i].agency, target) == 0)
		{
			PGconn	   *conn = conns[i].conn;
			bool		same = strcmp(conns[i].conninfo, conninfo) == 0 &&
				conns[i].trusted == trusted;

			pfree(conns[i].agency);
			pfree(conns[i].conninfo);
			conns[i] = conns[--nconns];
			if (same && conn_alive(conn))
				return conn;
			PQfinish(conn);
			break;
		}
	return connect_endpoint(target, conninfo, trusted, deadline);
}

static void
keep_conn(const char *target, const char *conninfo, bool trusted, PGconn *conn)
{
	drop_conn(target);
	if (nconns == MAX_CONNS)
		drop_conn(conns[0].agency);
	conns[nconns].agency = MemoryContextStrdup(TopMemoryContext, target);
	conns[nconns].conninfo = MemoryContextStrdup(TopMemoryContext, conninfo);
	conns[nconns].trusted = trusted;
	conns[nconns].conn = conn;
	nconns++;
}

/* Sends what is buffered, waiting on the socket as needed. */
static void
flush_conn(Exchange *x)
{
	int			r;

	while ((r = PQflush(x->conn)) == 1)
	{
		wait_socket(x->conn, true, true, x->deadline, x->target);
		if (!PQconsumeInput(x->conn))
			connection_lost(x->target, x->conn);
	}
	if (r < 0)
		connection_lost(x->target, x->conn);
}

/* The next result of the pipeline, waiting for it without blocking. */
static PGresult *
next_result(Exchange *x)
{
	while (PQisBusy(x->conn))
	{
		wait_socket(x->conn, true, false, x->deadline, x->target);
		if (!PQconsumeInput(x->conn))
			connection_lost(x->target, x->conn);
	}
	return PQgetResult(x->conn);
}

/* Reads results up to the end of the current query (the NULL result). */
static void
skip_to_end(Exchange *x)
{
	PGresult   *res;

	while ((res = next_result(x)) != NULL)
		PQclear(res);
}

static char *
field_copy(const PGresult *res, int field)
{
	char	   *v = PQresultErrorField(res, field);

	return v ? pstrdup(v) : NULL;
}

/* Notes a remote error: the first one of the exchange is the one reported. */
static void
note_remote_error(Exchange *x, const PGresult *res)
{
	char	   *state;

	if (x->remote_message != NULL)
		return;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	x->remote_message = field_copy(res, PG_DIAG_MESSAGE_PRIMARY);
	if (x->remote_message == NULL)
		x->remote_message = pstrdup(PQresultErrorMessage(res));
	x->remote_detail = field_copy(res, PG_DIAG_MESSAGE_DETAIL);
	x->remote_hint = field_copy(res, PG_DIAG_MESSAGE_HINT);
	x->remote_sqlstate = state && strlen(state) == 5 ?
		MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]) :
		ERRCODE_CONNECTION_EXCEPTION;
	/* a refusal: a privilege (42501) or the token (28000) */
	x->denied = x->remote_sqlstate == ERRCODE_INSUFFICIENT_PRIVILEGE ||
		x->remote_sqlstate == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
}

/* How a result row becomes a tuple of the caller's row type. */
typedef struct RowSink
{
	bool		json;
	TupleDesc	desc;
	AttInMetadata *attinmeta;
	Tuplestorestate *store;
	MemoryContext row_cxt;
	int			nfields;		/* of the remote result, once known */
	char	  **fieldnames;
	Oid		   *fieldtypes;
	char	  **values;
} RowSink;

/* Appends a remote value to a JSON object, typed by its (built-in) type. */
static void
json_value(StringInfo out, Oid typid, const char *v)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
			appendStringInfoString(out, v);
			return;
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			/* NaN and the infinities are no JSON numbers */
			if (strspn(v, "0123456789+-.eE") == strlen(v))
			{
				appendStringInfoString(out, v);
				return;
			}
			break;
		case BOOLOID:
			appendStringInfoString(out, v[0] == 't' ? "true" : "false");
			return;
		case JSONOID:
		case JSONBOID:
			appendStringInfoString(out, v);
			return;
	}
	escape_json(out, v);
}

static void
sink_row(RowSink *sink, const char *target, const PGresult *res)
{
	int			nf = PQnfields(res);
	MemoryContext old;

	if (sink->fieldnames == NULL)
	{
		MemoryContext o = MemoryContextSwitchTo(GetMemoryChunkContext(sink));

		if (!sink->json && nf != sink->desc->natts)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the remote query to agency \"%s\" returns %d columns, but the column definition list has %d",
							target, nf, sink->desc->natts)));
		sink->nfields = nf;
		sink->fieldnames = palloc(sizeof(char *) * Max(nf, 1));
		sink->fieldtypes = palloc(sizeof(Oid) * Max(nf, 1));
		sink->values = palloc(sizeof(char *) * Max(nf, 1));
		for (int i = 0; i < nf; i++)
		{
			sink->fieldnames[i] = pstrdup(PQfname(res, i));
			sink->fieldtypes[i] = PQftype(res, i);
		}
		MemoryContextSwitchTo(o);
	}
	if (PQntuples(res) == 0)
		return;
	old = MemoryContextSwitchTo(sink->row_cxt);
	if (sink->json)
	{
		StringInfoData buf;
		Datum		value;
		bool		isnull = false;

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		for (int i = 0; i < nf; i++)
		{
			if (i > 0)
				appendStringInfoChar(&buf, ',');
			escape_json(&buf, sink->fieldnames[i]);
			appendStringInfoChar(&buf, ':');
			if (PQgetisnull(res, 0, i))
				appendStringInfoString(&buf, "null");
			else
				json_value(&buf, sink->fieldtypes[i], PQgetvalue(res, 0, i));
		}
		appendStringInfoChar(&buf, '}');
		value = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		tuplestore_putvalues(sink->store, sink->desc, &value, &isnull);
	}
	else
	{
		HeapTuple	tuple;

		for (int i = 0; i < nf; i++)
			sink->values[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
		tuple = BuildTupleFromCStrings(sink->attinmeta, sink->values);
		tuplestore_puttuple(sink->store, tuple);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(sink->row_cxt);
}

/* Decodes a bytea in hex output ("\x..."), 32 bytes long, into out. */
static bool
hex_hash(const char *v, unsigned char *out)
{
	if (strlen(v) != 2 + 2 * GOVSHARE_HASH_LEN || v[0] != '\\' || v[1] != 'x')
		return false;
	for (int i = 0; i < GOVSHARE_HASH_LEN; i++)
	{
		unsigned int b;

		if (sscanf(v + 2 + 2 * i, "%2x", &b) != 1)
			return false;
		out[i] = (unsigned char) b;
	}
	return true;
}

/* The connection failed: res (if any) is freed first, as libpq will not. */
static void
lost(Exchange *x, PGresult *res)
{
	if (res != NULL)
		PQclear(res);
	connection_lost(x->target, x->conn);
}

/* Reads the PGRES_PIPELINE_SYNC that ends a segment of the pipeline. */
static void
read_sync(Exchange *x)
{
	PGresult   *res = next_result(x);

	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
		lost(x, res);
	PQclear(res);
}

/*
 * Sends the pipeline and reads everything it returns, rows into the sink.
 * The token goes first, alone: the query is sent only once the provider
 * has accepted it, so that nothing runs on a provider that refused the
 * request (or that has no govshare to refuse it).  Remote errors are
 * noted in x; errors of the connection are raised.
 */
static void
run_exchange(Exchange *x, const char *token, const char *jti, const char *query, RowSink *sink)
{
	const char *begin_params[1] = {token};
	const char *receipt_params[1] = {jti};
	PGresult   *res;
	ExecStatusType st;
	bool		receipt_seen = false;
	bool		accepted;

	if (!PQenterPipelineMode(x->conn) ||
		!PQsendQueryParams(x->conn, "SELECT govshare.begin_request_signed($1)",
						   1, NULL, begin_params, NULL, NULL, 0) ||
		!PQpipelineSync(x->conn))
		lost(x, NULL);
	flush_conn(x);

	/* begin_request_signed: the token is spent in a transaction of its own */
	res = next_result(x);
	if (res == NULL)
		lost(x, NULL);
	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
	{
		note_remote_error(x, res);
		x->denied = true;		/* whatever the reason, the provider refused the request */
	}
	else if (PQresultStatus(res) != PGRES_TUPLES_OK)
		lost(x, res);
	PQclear(res);
	skip_to_end(x);
	read_sync(x);
	accepted = x->remote_message == NULL;

	/* the query, if the request was accepted; the receipt and the end in any case */
	if ((accepted &&
		 (!PQsendQueryParams(x->conn, query, 0, NULL, NULL, NULL, NULL, 0) ||
		  !PQpipelineSync(x->conn))) ||
		!PQsendQueryParams(x->conn,
						   "SELECT seq, hash FROM govshare.request_receipt($1)",
						   1, NULL, receipt_params, NULL, NULL, 0) ||
		!PQsendQueryParams(x->conn, "SELECT govshare.end_request()",
						   0, NULL, NULL, NULL, NULL, 0) ||
		!PQpipelineSync(x->conn) ||
		!PQsendQueryParams(x->conn, "DISCARD ALL", 0, NULL, NULL, NULL, NULL, 0) ||
		!PQpipelineSync(x->conn))
		lost(x, NULL);
	flush_conn(x);

	if (accepted)
	{
		/* the query, a row at a time */
		if (!PQsetSingleRowMode(x->conn))
			lost(x, NULL);
		while ((res = next_result(x)) != NULL)
		{
			st = PQresultStatus(res);
			if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK)
			{
				x->pending = res;	/* cleared by the caller if this fails */
				sink_row(sink, x->target, res); /* no row in TUPLES_OK: the columns, to check */
				x->pending = NULL;
				if (st == PGRES_SINGLE_TUPLE)
					x->rows++;
			}
			else if (st == PGRES_FATAL_ERROR)
				note_remote_error(x, res);
			else if (st == PGRES_COMMAND_OK)
			{
				PQclear(res);
				ereport(ERROR,
						(errcode(ERRCODE_WRONG_OBJECT_TYPE),
						 errmsg("the remote query to agency \"%s\" returns no rows", x->target),
						 errdetail("The provider ran it as a command."),
						 errhint("remote_query() runs a query, such as SELECT, that returns rows.")));
			}
			else
				lost(x, res);
			PQclear(res);
		}
		read_sync(x);
	}

	/* the receipt; one that failed (the provider's writer is late) is none */
	res = next_result(x);
	if (res == NULL)
		lost(x, NULL);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
	{
		receipt_seen = true;
		if (PQntuples(res) == 1 && PQnfields(res) == 2 &&
			!PQgetisnull(res, 0, 0) && !PQgetisnull(res, 0, 1) &&
			hex_hash(PQgetvalue(res, 0, 1), x->receipt_hash))
		{
			x->receipt_seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			x->has_receipt = true;
		}
	}
	else if (PQresultStatus(res) != PGRES_FATAL_ERROR)
		lost(x, res);
	PQclear(res);
	skip_to_end(x);

	/* end_request */
	res = next_result(x);
	if (res == NULL)
		lost(x, NULL);
	x->clean = receipt_seen && PQresultStatus(res) == PGRES_TUPLES_OK;
	PQclear(res);
	skip_to_end(x);
	read_sync(x);

	/* DISCARD ALL: nothing the query set (a role, a setting, a lock) stays */
	res = next_result(x);
	if (res == NULL)
		lost(x, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		x->clean = false;
	PQclear(res);
	skip_to_end(x);
	read_sync(x);
	if (!PQexitPipelineMode(x->conn))
		x->clean = false;
}

/* Cancels what the connection runs (PQcancel blocks until the provider answers). */
static void
cancel_remote(PGconn *conn)
{
	PGcancel   *cancel;
	char		errbuf[256];

	if (PQtransactionStatus(conn) != PQTRANS_ACTIVE)
		return;
	cancel = PQgetCancel(conn);
	if (cancel == NULL)
		return;
	(void) PQcancel(cancel, errbuf, sizeof(errbuf));
	PQfreeCancel(cancel);
}

/* A fresh jti: a random UUID, as text. */
static char *
fresh_jti(void)
{
	pg_uuid_t  *u = DatumGetUUIDP(DirectFunctionCall1(gen_random_uuid, (Datum) 0));

	return DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(u)));
}

/*
 * The self agency's key, decoded once per backend: decoding a PEM key
 * costs far more than a signature.  The key file is read for every token,
 * so a new key (a rotation, a SIGHUP to another file) is used at once; the
 * decoded key is kept until the file's contents change.
 */
static GovshareSigner *signer = NULL;

/* The request token, signed with the self agency's key. */
static char *
mint_token(const char *self, const char *target, const char *officer, const char *purpose,
		   const char *reference, const char *jti)
{
	size_t		len;
	unsigned char *private_pem;
	int64		now = govshare_unix_now();
	char	   *header;
	char	   *payload;

	private_pem = govshare_keyfile_read(GOVSHARE_KEY_SIGNING,
										"Remote queries prove the request with a token signed by the self agency's Ed25519 key.",
										&len);
	PG_TRY();
	{
		if (signer != NULL && !govshare_signer_is(signer, (char *) private_pem))
		{
			govshare_signer_free(signer);
			signer = NULL;
		}
		if (signer == NULL)
			signer = govshare_signer_new((char *) private_pem);
	}
	PG_FINALLY();
	{
		explicit_bzero(private_pem, len);
	}
	PG_END_TRY();

	header = psprintf("{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":%s}",
					  govshare_json_string(govshare_signer_kid(signer)));
	payload = psprintf("{\"iss\":%s,\"aud\":%s,\"sub\":%s,\"purpose\":%s,%s%s%s"
					   "\"iat\":%lld,\"exp\":%lld,\"jti\":%s}",
					   govshare_json_string(self), govshare_json_string(target),
					   govshare_json_string(officer), govshare_json_string(purpose),
					   reference ? "\"ref\":" : "",
					   reference ? govshare_json_string(reference) : "",
					   reference ? "," : "",
					   (long long) now, (long long) (now + govshare_remote_token_lifetime),
					   govshare_json_string(jti));
	return govshare_signer_sign(signer, header, payload);
}

/* The local error for a remote one, with the receipt when there is one. */
static void
raise_remote_error(Exchange *x)
{
	char	   *receipt = x->has_receipt ?
		psprintf("The provider recorded it at seq %lld of its access log (hash %s).",
				 (long long) x->receipt_seq, govshare_hex(x->receipt_hash, GOVSHARE_HASH_LEN)) :
		"The provider returned no receipt.";

	ereport(ERROR,
			(errcode(x->remote_sqlstate),
			 errmsg("agency \"%s\" refused or failed the remote query: %s", x->target, x->remote_message),
			 x->remote_detail ? errdetail("%s %s", x->remote_detail, receipt) : errdetail("%s", receipt),
			 x->remote_hint ? errhint("%s", x->remote_hint) : 0));
}

/*
 * The work of remote_query() and remote_query_json(): the rows go into
 * the materialised result of fcinfo.
 */
static void
remote_query(FunctionCallInfo fcinfo, bool json)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GovsharePolicy *policy = govshare_policy();
	char	   *target;
	char	   *query;
	char	   *purpose;
	char	   *officer;
	char	   *reference;
	char	   *conninfo;
	bool		trusted;
	char	   *jti;
	char	   *token;
	Exchange	x = {0};
	RowSink    *sink;
	GovshareRemoteRecord rec = {0};
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz started = GetCurrentTimestamp();

	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s of a remote query must not be NULL",
							i == 0 ? "target agency" : i == 1 ? "query" : "purpose")));
	target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	purpose = text_to_cstring(PG_GETARG_TEXT_PP(2));
	officer = PG_ARGISNULL(3) ? GetUserNameFromId(GetUserId(), false)
		: text_to_cstring(PG_GETARG_TEXT_PP(3));
	reference = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));

	if (policy->self == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no agency is self in this database"),
				 errdetail("A remote query is made in the name of the self agency."),
				 errhint("Register it with govshare.add_agency(code, name, is_self => true).")));
	{
		bool		consumer;
		const char *acts_for = govshare_role_agency(policy, GetUserId(), &consumer);

		if (consumer)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" acts for agency \"%s\" and may not make remote queries",
							GetUserNameFromId(GetUserId(), false), acts_for),
					 errdetail("A remote query is made in the name of the self agency \"%s\".",
							   policy->self)));
	}
	if (strcmp(target, policy->self) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agency \"%s\" is this database's own agency", target),
				 errhint("Query local tables directly.")));
	conninfo = endpoint_conninfo(target, &trusted);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	sink = palloc0(sizeof(RowSink));
	sink->json = json;
	sink->desc = rsinfo->setDesc;
	sink->store = rsinfo->setResult;
	if (!json)
		sink->attinmeta = TupleDescGetAttInMetadata(sink->desc);
	sink->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "govshare remote row",
										  ALLOCSET_DEFAULT_SIZES);

	jti = fresh_jti();
	token = mint_token(policy->self, target, officer, purpose, reference, jti);

	rec.target = target;
	rec.officer = officer;
	rec.purpose = purpose;
	rec.reference = reference;
	rec.token_id = jti;
	rec.query = query;
	rec.started = started;

	x.target = target;
	x.deadline = TimestampTzPlusMilliseconds(started, govshare_remote_timeout);
	conn_failed = false;
	PG_TRY();
	{
		x.conn = take_conn(target, conninfo, trusted, x.deadline);
		pgstat_report_wait_start(PG_WAIT_EXTENSION);
		run_exchange(&x, token, jti, query, sink);
		pgstat_report_wait_end();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		pgstat_report_wait_end();
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		/*
		 * The remote side stops too (a cancel, a timeout, a row that does
		 * not convert), unless the connection itself failed; the connection
		 * is not reused.
		 */
		if (x.pending != NULL)
			PQclear(x.pending);
		if (x.conn != NULL)
		{
			if (!conn_failed)
				cancel_remote(x.conn);
			PQfinish(x.conn);
		}
		rec.outcome = "error";
		rec.reason = edata->message;
		rec.rows = x.rows;
		rec.has_receipt = false;
		govshare_audit_remote(&rec);
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (x.clean)
		keep_conn(target, conninfo, trusted, x.conn);
	else
		PQfinish(x.conn);

	rec.outcome = x.remote_message == NULL ? "allowed" : x.denied ? "denied" : "error";
	rec.reason = x.remote_message;
	rec.rows = x.rows;
	rec.has_receipt = x.has_receipt;
	rec.receipt_seq = x.receipt_seq;
	memcpy(rec.receipt_hash, x.receipt_hash, GOVSHARE_HASH_LEN);
	govshare_audit_remote(&rec);

	if (x.remote_message != NULL)
		raise_remote_error(&x);
}

/*
 * govshare.remote_query(target text, query text, purpose text,
 *						 officer text, reference text) returns setof record
 */
PG_FUNCTION_INFO_V1(govshare_remote_query);
Datum
govshare_remote_query(PG_FUNCTION_ARGS)
{
	remote_query(fcinfo, false);
	return (Datum) 0;
}

/* govshare.remote_query_json(...) returns setof jsonb: a row as an object */
PG_FUNCTION_INFO_V1(govshare_remote_query_json);
Datum
govshare_remote_query_json(PG_FUNCTION_ARGS)
{
	remote_query(fcinfo, true);
	return (Datum) 0;
}

/*
 * govshare.check_conninfo(conninfo text, trusted boolean) returns void
 *
 * Refuses a connection string libpq cannot parse, without repeating it or
 * libpq's message (which quotes it).  Unless trusted (a superuser registers
 * it), the string must carry a password and name none of the server's own
 * credentials: its password and service files, its client certificates.
 * A connection is made by the server's operating-system user, which peer
 * authentication, ~/.pgpass and ~/.postgresql would otherwise lend to a
 * govshare_admin.
 */
PG_FUNCTION_INFO_V1(govshare_check_conninfo);
Datum
govshare_check_conninfo(PG_FUNCTION_ARGS)
{
	char	   *conninfo = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		trusted = PG_GETARG_BOOL(1);
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	static const char *const server_files[] = {"passfile", "service", "sslcert", "sslkey",
	"sslpassword", "sslcrl", "sslcrldir"};
	const char *refused = NULL;
	bool		password = false;

	if (err)
		PQfreemem(err);
	if (opts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection string for an endpoint"),
				 errhint("libpq cannot parse it (an unknown keyword, a missing \"=\", an unterminated quote); it is not repeated here.")));
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0)
			password = true;
		for (int i = 0; i < lengthof(server_files); i++)
			if (strcmp(o->keyword, server_files[i]) == 0)
				refused = server_files[i];
	}
	PQconninfoFree(opts);
	if (!trusted && refused != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may register an endpoint that names \"%s\"", refused),
				 errdetail("The connection is made by the server's operating-system user, with its files.")));
	if (!trusted && !password)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("an endpoint registered by a non-superuser must carry a password"),
				 errdetail("Without one, the connection could authenticate with the server's own credentials (peer, ~/.pgpass, certificates)."),
				 errhint("Add password=... to the connection string, or have a superuser register the endpoint.")));
	PG_RETURN_VOID();
}
