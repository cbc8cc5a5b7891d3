/*-------------------------------------------------------------------------
 *
 * exchange.c
 *	  The exchange of one remote request with the provider: the pipeline,
 *	  what comes back, and the local error for a remote one.
 *
 * On a connection to the endpoint registered for the agency, it sends one
 * pipeline, in one round trip:
 *
 *		PARSE govshare_begin, _receipt, _end			(once the provider is
 *		DEALLOCATE govshare_query_<i>					 known, once per
 *		-- sync											 connection; a slot
 *														 taken back)
 *		SELECT govshare.begin_request_signed($token)	(govshare_begin)
 *		PARSE govshare_query_<i>						(a text sent again)
 *		<the query, $1..$n bound to its parameters>	(rows one at a time)
 *		-- sync
 *		SELECT * FROM govshare.request_receipt($jti)	(govshare_receipt)
 *		SELECT govshare.end_request()					(govshare_end)
 *		SELECT extversion ... 'govshare'				(first request on a
 *		-- sync											 connection only:
 *		DISCARD ALL										 these two)
 *		-- sync
 *
 * A refused token is an error in the first segment, and the provider
 * skips the rest of a segment after an error: the query never runs on a
 * provider that refused the request (or that has no govshare to refuse
 * it).  The token is spent even when the query fails or is cancelled: the
 * provider writes the token's use through its audit writer, outside the
 * query's transaction.  The provider's receipt (the seq and hash of its
 * access record) comes back for a denial too.  Within a signed request a
 * provider of govshare 0.2.0 or later refuses whatever would outlive the
 * request (src/enforce/readonly.c), so once a connection's provider is
 * known to be one, its requests need no DISCARD ALL, which would also
 * make the provider plan everything anew.
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

/* The statements of every request, and their names once prepared. */
static const char begin_sql[] = "SELECT govshare.begin_request_signed($1)";
static const char receipt_sql[] = "SELECT seq, hash FROM govshare.request_receipt($1)";
static const char end_sql[] = "SELECT govshare.end_request()";

#define BEGIN_NAME		"govshare_begin"
#define RECEIPT_NAME	"govshare_receipt"
#define END_NAME		"govshare_end"

/*
 * Sends a fixed statement of the request: through its prepared statement
 * once the session has them, else as an unnamed one.
 */
static bool
send_fixed(GovshareExchange *x, const char *name, const char *sql, int nparams,
		   const char *const *params)
{
	if (x->session->fixed)
		return PQsendQueryPrepared(x->conn, name, nparams, params, NULL, NULL, 0);
	return PQsendQueryParams(x->conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

/*
 * Sends the query: through its statement prepared on the connection
 * (preparing it first when x->preparing), else as an unnamed statement.
 */
static bool
send_query(GovshareExchange *x, const char *query)
{
	const char *const *params = (const char *const *) x->params;
	char	   *name;

	if (x->slot < 0)
		return PQsendQueryParams(x->conn, query, x->nparams, NULL, params, NULL, NULL, 0);
	name = govshare_session_query_name(x->slot);
	if (x->preparing && !PQsendPrepare(x->conn, name, query, x->nparams, NULL))
		return false;
	return PQsendQueryPrepared(x->conn, name, x->nparams, params, NULL, NULL, 0);
}

/*
 * Sends the whole pipeline in one go and flushes it: the token and the
 * query in the first segment, so that the provider skips the query when
 * the token fails (an error ends a segment's work up to its sync); the
 * receipt and the end of the request in the second, whatever happened in
 * the first; and, when the provider is not known to refuse whatever would
 * outlive a request, a third that asks its version and one that discards
 * the session's state.  On a provider known to refuse it, the statements
 * are prepared (session.c), so that the provider parses and plans them
 * once (its plans of a query outlive the request while the next one's
 * context would plan them alike: src/policy/consumer.c): the fixed ones,
 * and the deallocation of a statement whose slot the query takes, in a
 * segment of their own before the first; the query in the first segment,
 * after the token.
 */
static void
send_pipeline(GovshareExchange *x, const char *token, const char *query, const char *jti)
{
	const char *begin_params[1] = {token};
	const char *receipt_params[1] = {jti};

	x->slot = govshare_session_query_slot(x->session, query, x->nparams, &x->preparing,
										  &x->evicting);
	x->sent_fixed = x->session->read_only && !x->session->fixed;
	if (!PQenterPipelineMode(x->conn))
		lost(x, NULL);
	if (x->sent_fixed &&
		(!PQsendPrepare(x->conn, BEGIN_NAME, begin_sql, 1, NULL) ||
		 !PQsendPrepare(x->conn, RECEIPT_NAME, receipt_sql, 1, NULL) ||
		 !PQsendPrepare(x->conn, END_NAME, end_sql, 0, NULL)))
		lost(x, NULL);
	if (x->evicting &&
		!PQsendQueryParams(x->conn, psprintf("DEALLOCATE %s", govshare_session_query_name(x->slot)),
						   0, NULL, NULL, NULL, NULL, 0))
		lost(x, NULL);
	if ((x->sent_fixed || x->evicting) && !PQpipelineSync(x->conn))
		lost(x, NULL);
	/* named from here on if the prepares succeed, as they are read first */
	x->session->fixed = x->sent_fixed || x->session->fixed;
	if (!send_fixed(x, BEGIN_NAME, begin_sql, 1, begin_params) ||
		!send_query(x, query) ||
		!PQpipelineSync(x->conn) ||
		!send_fixed(x, RECEIPT_NAME, receipt_sql, 1, receipt_params) ||
		!send_fixed(x, END_NAME, end_sql, 0, NULL))
		lost(x, NULL);
	/* DISCARD ALL runs alone in its segment (not in a transaction block) */
	if (!x->session->read_only &&
		(!PQsendQueryParams(x->conn,
							"SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'govshare'",
							0, NULL, NULL, NULL, NULL, 0) ||
		 !PQpipelineSync(x->conn) ||
		 !PQsendQueryParams(x->conn, "DISCARD ALL", 0, NULL, NULL, NULL, NULL, 0)))
		lost(x, NULL);
	if (!PQpipelineSync(x->conn))
		lost(x, NULL);
	flush_conn(x);
}

/*
 * Reads one result of the segment before the request's, and the NULL
 * after it: false when it failed.  A failed preparation of the begin
 * (refusal: the provider's govshare is gone, say) is the request's remote
 * error, a refusal, as the begin then fails too.
 */
static bool
read_pre_result(GovshareExchange *x, bool refusal)
{
	PGresult   *res = next_result(x);
	ExecStatusType st;

	if (res == NULL)
		lost(x, NULL);
	st = PQresultStatus(res);
	if (st == PGRES_FATAL_ERROR && refusal)
	{
		note_remote_error(x, res);
		x->denied = true;
	}
	else if (st != PGRES_COMMAND_OK && st != PGRES_FATAL_ERROR && st != PGRES_PIPELINE_ABORTED)
		lost(x, res);
	PQclear(res);
	skip_to_end(x);
	return st == PGRES_COMMAND_OK;
}

/*
 * Reads the results of the segment before the request's, when it was
 * sent: the fixed statements' preparation, the deallocation.  When any
 * failed, some statements may exist and some not: the connection is not
 * kept.
 */
static void
read_pre(GovshareExchange *x)
{
	bool		ok = true;

	if (!x->sent_fixed && !x->evicting)
		return;
	if (x->sent_fixed)
	{
		for (int i = 0; i < 3; i++)
			ok &= read_pre_result(x, i == 0);
		x->session->fixed = ok;
	}
	if (x->evicting)
		ok &= read_pre_result(x, false);
	read_sync(x);
	x->pre_failed = !ok;
}

/*
 * Reads the answer to the token, the first result of the pipeline.
 * Returns whether the provider accepted the request; a refusal is noted
 * in x as a denial, and the query that follows was skipped.
 */
static bool
read_token(GovshareExchange *x)
{
	PGresult   *res = next_result(x);
	bool		accepted;

	if (res == NULL)
		lost(x, NULL);
	accepted = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
	{
		note_remote_error(x, res);
		x->denied = true;		/* whatever the reason, the provider refused the request */
	}
	else if (!accepted)
		lost(x, res);
	PQclear(res);
	skip_to_end(x);
	return accepted;
}

/*
 * Reads the query's results, a row at a time, into the sink, up to the
 * sync after it.  A remote error is noted in x; a query that returns no
 * rows (a command) is an error here.  When the token was refused, the
 * provider skipped the query (and its preparation): its one result says
 * so; so does it when the preparation failed (the query's syntax, say).
 */
static void
read_rows(GovshareExchange *x, GovshareRowSink *sink, bool accepted)
{
	PGresult   *res;
	ExecStatusType st;

	/* the query's preparation: kept in the session once it succeeded */
	if (x->preparing)
	{
		res = next_result(x);
		if (res == NULL)
			lost(x, NULL);
		st = PQresultStatus(res);
		if (st == PGRES_COMMAND_OK)
			govshare_session_prepared(x->session, x->slot, x->query, x->nparams);
		else if (st == PGRES_FATAL_ERROR)
		{
			note_remote_error(x, res);
			govshare_session_unprepared(x->session, x->query, x->nparams);
			accepted = false;
		}
		else if (st != PGRES_PIPELINE_ABORTED)
			lost(x, res);
		PQclear(res);
		skip_to_end(x);
	}
	/* skipped after a refusal, or after an error in its preparation */
	if (!accepted)
	{
		res = next_result(x);
		if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
			lost(x, res);
		PQclear(res);
		skip_to_end(x);
		read_sync(x);
		return;
	}
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
 * Does a govshare of this version refuse, within a signed request,
 * whatever would outlive the request (src/enforce/readonly.c, 0.2.0 on)?
 * v is extversion, "major.minor[.patch]".
 */
static bool
version_refuses_state(const char *v)
{
	int			major = 0;
	int			minor = 0;

	if (sscanf(v, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 0 || minor >= 2;
}

/*
 * Reads the results of end_request and, when they were sent, of the
 * version and of DISCARD ALL, the last segments of the pipeline, and
 * leaves pipeline mode.  x->clean says whether all of it ended as
 * expected, so that the connection may be kept; the session's read_only whether the
 * provider is known to refuse whatever would outlive a request, so that
 * the next request on the connection needs no DISCARD ALL.
 */
static void
read_end(GovshareExchange *x, bool receipt_seen)
{
	PGresult   *res;
	bool		sent_discard = !x->session->read_only;

	/* end_request */
	res = next_result(x);
	if (res == NULL)
		lost(x, NULL);
	x->clean = receipt_seen && PQresultStatus(res) == PGRES_TUPLES_OK && !x->pre_failed;
	PQclear(res);
	skip_to_end(x);

	if (sent_discard)
	{
		/* the provider's govshare: its version */
		res = next_result(x);
		if (res == NULL)
			lost(x, NULL);
		x->session->read_only = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			PQnfields(res) == 1 && !PQgetisnull(res, 0, 0) &&
			version_refuses_state(PQgetvalue(res, 0, 0));
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
	}
	read_sync(x);
	if (!PQexitPipelineMode(x->conn))
		x->clean = false;
}

/*
 * Sends the pipeline and reads everything it returns, rows into the sink:
 * one round trip.  The token and the query share a segment, so that the
 * provider runs the query only once it has accepted the token; a refusal
 * (or a provider with no govshare to refuse it) makes it skip the query.
 * Remote errors are noted in x; errors of the connection are raised.
 */
void
govshare_exchange_run(GovshareExchange *x, const char *token, const char *jti,
					  const char *query, GovshareRowSink *sink)
{
	bool		accepted;
	bool		receipt_seen;

	x->query = query;
	send_pipeline(x, token, query, jti);
	read_pre(x);
	accepted = read_token(x);
	read_rows(x, sink, accepted);
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
