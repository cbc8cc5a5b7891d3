/*-------------------------------------------------------------------------
 *
 * exchange.c
 *	  The exchange of one remote request with the provider: the pipeline,
 *	  what comes back, and the local error for a remote one.
 *
 * On a connection to the endpoint registered for the agency, it sends
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
 * connection kept for the next request.
 *
 * src/remote/exchange.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq-fe.h"

#include "remote/remote_internal.h"

/* Sends what is buffered, waiting on the socket as needed. */
static void
flush_conn(GovshareExchange *x)
{
	int			r;

	while ((r = PQflush(x->conn)) == 1)
	{
		govshare_connection_wait(x->conn, true, true, x->deadline, x->target);
		if (!PQconsumeInput(x->conn))
			govshare_connection_lost(x->target, x->conn);
	}
	if (r < 0)
		govshare_connection_lost(x->target, x->conn);
}

/*
 * The next result of the pipeline, waiting for it without blocking.  The
 * deadline holds even while results keep coming without a wait (a
 * provider that streams rows without end).
 */
static PGresult *
next_result(GovshareExchange *x)
{
	govshare_connection_check(x->target, x->deadline);
	while (PQisBusy(x->conn))
	{
		govshare_connection_wait(x->conn, true, false, x->deadline, x->target);
		if (!PQconsumeInput(x->conn))
			govshare_connection_lost(x->target, x->conn);
	}
	return PQgetResult(x->conn);
}

/* Reads results up to the end of the current query (the NULL result). */
static void
skip_to_end(GovshareExchange *x)
{
	PGresult   *res;

	while ((res = next_result(x)) != NULL)
		PQclear(res);
}

/*
 * A copy of an error field of the result, or NULL when it has none: the
 * provider's text, bounded and valid in the database encoding.
 */
static char *
field_copy(const PGresult *res, int field)
{
	char	   *v = PQresultErrorField(res, field);

	return v ? govshare_remote_text(v, GOVSHARE_REMOTE_TEXT_MAX) : NULL;
}

/* Notes a remote error: the first one of the exchange is the one reported. */
static void
note_remote_error(GovshareExchange *x, const PGresult *res)
{
	char	   *state;

	if (x->remote_message != NULL)
		return;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	x->remote_message = field_copy(res, PG_DIAG_MESSAGE_PRIMARY);
	if (x->remote_message == NULL)
		x->remote_message = govshare_remote_text(PQresultErrorMessage(res),
												 GOVSHARE_REMOTE_TEXT_MAX);
	x->remote_detail = field_copy(res, PG_DIAG_MESSAGE_DETAIL);
	x->remote_hint = field_copy(res, PG_DIAG_MESSAGE_HINT);
	/* an error's SQLSTATE: five digits or capitals, not of class 00, 01 or 02 */
	x->remote_sqlstate = state && strlen(state) == 5 &&
		strspn(state, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5 &&
		!(state[0] == '0' && state[1] >= '0' && state[1] <= '2') ?
		MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]) :
		ERRCODE_CONNECTION_EXCEPTION;
	/* a refusal: a privilege (42501) or the token (28000) */
	x->denied = x->remote_sqlstate == ERRCODE_INSUFFICIENT_PRIVILEGE ||
		x->remote_sqlstate == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
}

/* The value of a hex digit, or -1. */
static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes a bytea in hex output ("\x..."), 32 bytes long, into out; false
 * for anything else.
 */
static bool
hex_hash(const char *v, unsigned char *out)
{
	if (strlen(v) != 2 + 2 * GOVSHARE_HASH_LEN || v[0] != '\\' || v[1] != 'x')
		return false;
	for (int i = 0; i < GOVSHARE_HASH_LEN; i++)
	{
		int			hi = hex_digit(v[2 + 2 * i]);
		int			lo = hex_digit(v[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char) (hi << 4 | lo);
	}
	return true;
}

/* Decodes a seq (a positive bigint) in its text form; false for anything else. */
static bool
decimal_seq(const char *v, int64 *out)
{
	int64		n = 0;
	size_t		len = strlen(v);

	if (len == 0 || strspn(v, "0123456789") != len)
		return false;
	for (; *v; v++)
	{
		if (n > (PG_INT64_MAX - (*v - '0')) / 10)
			return false;
		n = n * 10 + (*v - '0');
	}
	*out = n;
	return n > 0;
}

/* The connection failed: res (if any) is freed first, as libpq will not. */
static void
lost(GovshareExchange *x, PGresult *res)
{
	if (res != NULL)
		PQclear(res);
	govshare_connection_lost(x->target, x->conn);
}

/* Reads the PGRES_PIPELINE_SYNC that ends a segment of the pipeline. */
static void
read_sync(GovshareExchange *x)
{
	PGresult   *res = next_result(x);

	if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
		lost(x, res);
	PQclear(res);
}

/*
 * Sends the token alone, the first segment of the pipeline, and reads the
 * provider's answer.  Returns whether the provider accepted the request;
 * a refusal is noted in x as a denial.
 */
static bool
spend_token(GovshareExchange *x, const char *token)
{
	const char *begin_params[1] = {token};
	PGresult   *res;

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
	return x->remote_message == NULL;
}

/*
 * Sends the rest of the pipeline in one go, after the provider answered
 * the token, and flushes it.
 */
static void
send_rest(GovshareExchange *x, bool accepted, const char *query, const char *jti)
{
	const char *receipt_params[1] = {jti};

	/* the query, if the request was accepted; the receipt and the end in any case */
	if ((accepted &&
		 (!PQsendQueryParams(x->conn, query, x->nparams, NULL,
							 (const char *const *) x->params, NULL, NULL, 0) ||
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
}

/*
 * Reads the query's results, a row at a time, into the sink, up to the
 * sync after it.  A remote error is noted in x; a query that returns no
 * rows (a command) is an error here.
 */
static void
read_rows(GovshareExchange *x, GovshareRowSink *sink)
{
	PGresult   *res;
	ExecStatusType st;

	/* the query, a row at a time */
	if (!PQsetSingleRowMode(x->conn))
		lost(x, NULL);
	while ((res = next_result(x)) != NULL)
	{
		st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK)
		{
			x->pending = res;	/* cleared by the caller if this fails */
			/* no row in TUPLES_OK: the columns, to check */
			govshare_rows_put(sink, x->target, res);
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

/*
 * Reads the result of request_receipt into x.  Returns whether it came
 * back at all (rather than failing): only then did the request context
 * end as expected.
 */
static bool
read_receipt(GovshareExchange *x)
{
	PGresult   *res;
	bool		receipt_seen = false;

	/* the receipt; one that failed (the provider's writer is late) is none */
	res = next_result(x);
	if (res == NULL)
		lost(x, NULL);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
	{
		receipt_seen = true;
		/* a receipt is two well-formed values, or none */
		if (PQntuples(res) == 1 && PQnfields(res) == 2 &&
			!PQgetisnull(res, 0, 0) && !PQgetisnull(res, 0, 1) &&
			decimal_seq(PQgetvalue(res, 0, 0), &x->receipt_seq) &&
			hex_hash(PQgetvalue(res, 0, 1), x->receipt_hash))
			x->has_receipt = true;
	}
	else if (PQresultStatus(res) != PGRES_FATAL_ERROR)
		lost(x, res);
	PQclear(res);
	skip_to_end(x);
	return receipt_seen;
}

/*
 * Reads the results of end_request and of DISCARD ALL, the last segments
 * of the pipeline, and leaves pipeline mode.  x->clean says whether all of
 * it ended as expected, so that the connection may be kept.
 */
static void
read_end(GovshareExchange *x, bool receipt_seen)
{
	PGresult   *res;

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

/*
 * Sends the pipeline and reads everything it returns, rows into the sink.
 * The token goes first, alone: the query is sent only once the provider
 * has accepted it, so that nothing runs on a provider that refused the
 * request (or that has no govshare to refuse it).  Remote errors are
 * noted in x; errors of the connection are raised.
 */
void
govshare_exchange_run(GovshareExchange *x, const char *token, const char *jti,
					  const char *query, GovshareRowSink *sink)
{
	bool		accepted;
	bool		receipt_seen;

	accepted = spend_token(x, token);
	send_rest(x, accepted, query, jti);
	if (accepted)
		read_rows(x, sink);
	receipt_seen = read_receipt(x);
	read_end(x, receipt_seen);
}

/* The local error for a remote one, with the receipt when there is one. */
void
govshare_exchange_raise(GovshareExchange *x)
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
