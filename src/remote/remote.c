/*-------------------------------------------------------------------------
 *
 * remote.c
 *	  Queries to another agency's database over libpq: govshare.remote_query()
 *	  and govshare.remote_query_json().
 *
 * A remote query proves who asks and why with a request token signed by
 * this agency's Ed25519 key (govshare.signing_key_file): issuer the self
 * agency, audience the agency asked, subject the officer, a fresh jti, a
 * lifetime of govshare.remote_token_lifetime.  The token and the query go
 * to the endpoint registered for the agency (govshare.add_endpoint;
 * endpoint.c), on a kept or a new connection (connection.c), in the
 * pipeline of exchange.c; the rows go into the function's result
 * (rows.c).  The provider enforces and audits the query like any
 * consumer's.  Here, the request is recorded in the access log as a row of
 * kind 'remote' with the receipt (src/audit/record.c; the view
 * govshare.remote_request).
 *
 * src/remote/remote.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/wait_event.h"

#include "audit/gs_audit.h"
#include "remote/remote_internal.h"

/* GUC govshare.remote_timeout: the longest a remote request takes, ms */
int			govshare_remote_timeout = 30000;

/* GUC govshare.remote_token_lifetime: exp - iat of the tokens sent, s */
int			govshare_remote_token_lifetime = 60;

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
	payload = psprintf("{\"iss\":%s,\"aud\":%s,\"sub\":%s,\"role\":%s,\"purpose\":%s,%s%s%s"
					   "\"iat\":%lld,\"exp\":%lld,\"jti\":%s}",
					   govshare_json_string(self), govshare_json_string(target),
					   govshare_json_string(officer),
					   govshare_json_string(GetUserNameFromId(GetUserId(), false)),
					   govshare_json_string(purpose),
					   reference ? "\"ref\":" : "",
					   reference ? govshare_json_string(reference) : "",
					   reference ? "," : "",
					   (long long) now, (long long) (now + govshare_remote_token_lifetime),
					   govshare_json_string(jti));
	return govshare_signer_sign(signer, header, payload);
}

/*
 * Refuses an officer, purpose or reference longer than the provider takes
 * (it refuses a request field over GOVSHARE_CONTEXT_FIELD_MAX bytes): it
 * would be refused there, and it is refused here before anything is sent.
 */
static void
check_claim(const char *name, const char *value)
{
	if (value != NULL && strlen(value) > GOVSHARE_CONTEXT_FIELD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("the %s of a remote query is at most %d bytes long", name,
						GOVSHARE_CONTEXT_FIELD_MAX),
				 errdetail("It goes into the request token, which the provider refuses with a longer one.")));
}

/* The most parameters a statement takes in the extended protocol (Int16). */
#define GOVSHARE_REMOTE_PARAMS_MAX 65535

/*
 * Reads the argument params (text[], NULL: none) into x: the values of
 * $1..$n of the query, sent out of line; a NULL element is SQL NULL.
 */
static void
read_params(FunctionCallInfo fcinfo, int argno, GovshareExchange *x)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (PG_ARGISNULL(argno))
		return;
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the parameters of a remote query must be a one-dimensional array"),
				 errhint("Pass ARRAY[$1 value, $2 value, ...]::text[].")));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n > GOVSHARE_REMOTE_PARAMS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a remote query takes at most %d parameters, not %d",
						GOVSHARE_REMOTE_PARAMS_MAX, n)));
	x->nparams = n;
	x->params = palloc0(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		x->params[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
}

/*
 * Reads the arguments of remote_query() and remote_query_json() into rec:
 * target, query and purpose must not be NULL; the officer is by default
 * the current role's name, and the reference may be NULL.  The officer,
 * purpose and reference are bounded (check_claim); the query is not, and
 * the record keeps its SHA-256 and its start (src/audit/).
 */
static void
read_arguments(FunctionCallInfo fcinfo, GovshareRemoteRecord *rec)
{
	/* what was given first, so that a refusal records it */
	rec->target = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	rec->query = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	rec->purpose = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	rec->officer = PG_ARGISNULL(3) ? GetUserNameFromId(GetUserId(), false)
		: text_to_cstring(PG_GETARG_TEXT_PP(3));
	rec->reference = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the %s of a remote query must not be NULL",
							i == 0 ? "target agency" : i == 1 ? "query" : "purpose")));
	check_claim("officer", rec->officer);
	check_claim("purpose", rec->purpose);
	check_claim("reference", rec->reference);
}

/*
 * Refuses a request this database may not make: there is no self agency
 * to make it in the name of, the caller acts for another agency (a
 * consumer), or the target is the self agency.
 */
static void
check_request(GovsharePolicy *policy, const char *target)
{
	bool		consumer;
	const char *acts_for;

	if (policy->self == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no agency is self in this database"),
				 errdetail("A remote query is made in the name of the self agency."),
				 errhint("Register it with govshare.add_agency(code, name, is_self => true).")));
	acts_for = govshare_role_agency(policy, GetUserId(), &consumer);
	if (consumer)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" acts for agency \"%s\" and may not make remote queries",
						GetUserNameFromId(GetUserId(), false), acts_for),
				 errdetail("A remote query is made in the name of the self agency \"%s\".",
						   policy->self)));
	if (strcmp(target, policy->self) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agency \"%s\" is this database's own agency", target),
				 errhint("Query local tables directly.")));
}

/*
 * Records a request whose exchange failed with the error reason: no
 * receipt, and the rows received before the error.  The reason may quote
 * what the provider sent (a value that did not convert): only its start is
 * kept, so that the record fits the audit queue.
 */
static void
record_failure(GovshareExchange *x, GovshareRemoteRecord *rec, const char *reason)
{
	rec->outcome = "error";
	rec->reason = reason ? govshare_remote_text(reason, GOVSHARE_REMOTE_TEXT_MAX) : NULL;
	rec->rows = x->rows;
	rec->has_receipt = false;
	govshare_audit_remote(rec);
}

/* The start of s, at most max bytes (cut at a character boundary), or NULL. */
static const char *
clipped(const char *s, int max)
{
	int			len;

	if (s == NULL)
		return NULL;
	len = strlen(s);
	return len <= max ? s : pnstrdup(s, pg_mbcliplen(s, len, max));
}

/*
 * Records a request refused here before anything was sent (a NULL
 * argument, a caller acting for another agency, no endpoint, an officer
 * the caller may not name, an unreadable signing key) as a denial, with
 * the error as its reason.  The fields are what the caller gave, each cut
 * to what a request takes, so that the record fits the audit queue
 * whatever was passed.
 */
static void
record_refusal(GovshareRemoteRecord *rec, const char *reason)
{
	rec->target = clipped(rec->target, GOVSHARE_CONTEXT_FIELD_MAX);
	rec->officer = clipped(rec->officer, GOVSHARE_CONTEXT_FIELD_MAX);
	rec->purpose = clipped(rec->purpose, GOVSHARE_CONTEXT_FIELD_MAX);
	rec->reference = clipped(rec->reference, GOVSHARE_CONTEXT_FIELD_MAX);
	rec->outcome = "denied";
	rec->reason = reason ? govshare_remote_text(reason, GOVSHARE_REMOTE_TEXT_MAX) : NULL;
	rec->rows = 0;
	rec->has_receipt = false;
	rec->detail = NULL;
	govshare_audit_remote(rec);
}

/*
 * Records a request whose exchange ended: allowed, or denied or failed by
 * the provider, with the rows and the provider's receipt.
 */
static void
record_outcome(GovshareExchange *x, GovshareRemoteRecord *rec)
{
	rec->outcome = x->remote_message == NULL ? "allowed" : x->denied ? "denied" : "error";
	rec->reason = x->remote_message;
	rec->rows = x->rows;
	rec->has_receipt = x->has_receipt;
	rec->receipt_seq = x->receipt_seq;
	memcpy(rec->receipt_hash, x->receipt_hash, GOVSHARE_HASH_LEN);
	govshare_audit_remote(rec);
}

/*
 * The work of remote_query() and remote_query_json(): the rows go into
 * the materialised result of fcinfo.
 */
static void
remote_query(FunctionCallInfo fcinfo, bool json)
{
	GovsharePolicy *policy = govshare_policy();
	char	   *conninfo;
	bool		trusted;
	char	   *token;
	GovshareExchange x = {0};
	GovshareRowSink *sink;
	GovshareRemoteRecord rec = {0};
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz started = GetCurrentTimestamp();

	/* a request refused before anything is sent is recorded as a denial */
	rec.started = started;
	PG_TRY();
	{
		read_arguments(fcinfo, &rec);
		read_params(fcinfo, 5, &x);
		check_request(policy, rec.target);
		/* the caller names only itself, its bound officers, or any as a gateway */
		if (!PG_ARGISNULL(3))
			govshare_officer_check(policy, rec.officer);
		conninfo = govshare_endpoint_conninfo(rec.target, &trusted);
		sink = govshare_rows_begin(fcinfo, json);
		rec.token_id = fresh_jti();
		token = mint_token(policy->self, rec.target, rec.officer, rec.purpose, rec.reference,
						   rec.token_id);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		record_refusal(&rec, edata->message);
		ReThrowError(edata);
	}
	PG_END_TRY();
	/* the parameters, apart from the query text, under the same limits */
	if (x.nparams > 0)
		rec.detail = psprintf("{\"params\":%s}",
							  govshare_audit_params_kept(rec.target, x.nparams,
														 (const char *const *) x.params));

	x.target = rec.target;
	x.deadline = TimestampTzPlusMilliseconds(started, govshare_remote_timeout);
	PG_TRY();
	{
		x.conn = govshare_connection_take(rec.target, conninfo, trusted, x.deadline, &x.session);
		pgstat_report_wait_start(PG_WAIT_EXTENSION);
		govshare_exchange_run(&x, token, rec.token_id, rec.query, sink);
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
			govshare_connection_abandon(x.conn);
		govshare_session_free(x.session);
		record_failure(&x, &rec, edata->message);
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (x.clean)
		govshare_connection_keep(rec.target, conninfo, trusted, x.conn, x.session);
	else
	{
		PQfinish(x.conn);
		govshare_session_free(x.session);
	}

	record_outcome(&x, &rec);
	if (x.remote_message != NULL)
		govshare_exchange_raise(&x);
}

/*
 * govshare.remote_query(target text, query text, purpose text,
 *						 officer text, reference text, params text[])
 *	returns setof record
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
