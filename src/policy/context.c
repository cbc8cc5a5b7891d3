/*-------------------------------------------------------------------------
 *
 * context.c
 *	  The request context of a session: which agency asks, who, why.
 *
 *	  govshare.begin_request(purpose, officer, reference)
 *	  govshare.begin_request_signed(token)
 *	  govshare.end_request()
 *	  govshare.current_request()
 *
 * A context lasts for the session, until end_request(), another
 * begin_request*() or DISCARD ALL.  Setting or clearing it is
 * transactional: if the transaction (or subtransaction) that set it rolls
 * back, the previous context comes back.
 *
 * Under govshare.request_scope = transaction (set per role by the DBA, for
 * roles that reach the database through a pooler in transaction mode) a
 * context is begun only inside a transaction block and ends with that
 * transaction, at commit as at rollback: a server connection handed to the
 * next client of the pool carries no context over to it.
 *
 * A signed request is a JWS compact token (alg EdDSA), parsed and verified
 * by token.c.  Here: the issuer must be the agency the session's role acts
 * for, the key one of the issuer's registered, unrevoked, unexpired keys,
 * the token within its lifetime (with govshare.token_clock_skew of
 * tolerance, and at most govshare.token_max_lifetime long), and its jti
 * never seen before.
 *
 * A token is spent when it is presented, for good, unlike the context:
 * whether the caller's transaction commits or rolls back, and whether its
 * backend lives on or crashes once it has read under the token, the same
 * token is refused afterwards.  Its id is claimed in shared memory
 * (spent.c: one of two sessions presenting it at once passes), looked up
 * in govshare.token_use, and queued for the audit writer, which writes it
 * there in a transaction of the writer's own (the recorder the audit
 * registers at init: calls go down only).  Nothing is written in the
 * caller's transaction.  The session reads no governed data until that
 * write is durable (govshare_context_spend_before, at each executor
 * start): under strict audit the wait for the statement's own access
 * record, queued after the id, wakes the writer (the id does not) and
 * covers the id: one writer transaction, one wait.  A session exiting
 * without a read wakes the writer as it exits.
 *
 * A consumer's context rests on its role's binding to the agency, on the
 * agency's rules for the purpose and, when signed, on the signing key.
 * When any of them is withdrawn (the binding removed or changed, the key
 * revoked or expired, the rules revoked, suspended or expired), the
 * context ends: the enforcement refuses the session's next read, naming
 * why (govshare_context_ended), until a new request begins.
 *
 * src/context.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "policy/gs_policy.h"

/* GUC govshare.require_signed_requests: consumers must prove their context */
bool		govshare_require_signed_requests = false;

/* GUC govshare.token_clock_skew: seconds of tolerance on iat, nbf and exp */
int			govshare_token_clock_skew = 60;

/* GUC govshare.token_max_lifetime: the longest exp - iat accepted, seconds */
int			govshare_token_max_lifetime = 3600;

/* GUC govshare.request_scope: how long a context begun now lasts */
int			govshare_request_scope = GOVSHARE_REQUEST_SCOPE_SESSION;

/*
 * Who records a refused token as a denial: the audit, a higher subsystem,
 * registers itself at init (govshare_context_set_denial_recorder).
 */
static GovshareDenialRecorder denial_recorder = NULL;

/*
 * Who records a token as used, durably and outside the caller's
 * transaction, and says when it is durable: the audit's writer, registered
 * at init (govshare_context_set_token_recorder).
 */
static GovshareTokenRecorder token_recorder = NULL;
static GovshareTokenWaiter token_waiter = NULL;

/*
 * Tokens this session presented whose use is queued and not yet known to
 * be durable: their claims' keys and where their ids were queued, oldest
 * first.  Their claims are released once the ids are durable.
 */
#define MAX_PENDING_SPENDS 8
typedef struct PendingSpend
{
	unsigned char key[GOVSHARE_HASH_LEN];
	GovshareTokenTicket queued;
} PendingSpend;

static PendingSpend pending[MAX_PENDING_SPENDS];
static int	npending = 0;
static bool pending_exit_registered = false;

static GovshareRequest *current = NULL;

/*
 * What to restore if the (sub)transaction that changed the context rolls
 * back: one entry per change, newest first.
 */
typedef struct Undo
{
	int			nest_level;
	GovshareRequest *previous;
	struct Undo *next;
} Undo;

static Undo *undo = NULL;

/* Changes with every change of the context (plans depend on it). */
static uint64 serial = 0;

/*
 * A signed context binds the transactions it is used in.  While a
 * consumer's context begun with a signed token is current, and in the rest
 * of the transaction in which one ended (signed_ended), the consumer may
 * not begin an unsigned context, and each statement it runs makes its
 * transaction read-only (govshare_context_statement_start).  So a query
 * sent within a remote request cannot replace the context its token set
 * (end it, then name another purpose or officer) nor write, create or
 * alter anything, the gateway role's own password included.
 */
static bool signed_ended = false;

/* Is a consumer's signed context current, or did one end in this transaction? */
static bool
signed_binding(void)
{
	return (current != NULL && current->is_signed && current->consumer) || signed_ended;
}

static void
request_free(GovshareRequest *r)
{
	if (r == NULL)
		return;
	if (r->agency)
		pfree(r->agency);
	if (r->officer)
		pfree(r->officer);
	if (r->purpose)
		pfree(r->purpose);
	if (r->reference)
		pfree(r->reference);
	if (r->token_id)
		pfree(r->token_id);
	if (r->key_id)
		pfree(r->key_id);
	if (r->consumer_role)
		pfree(r->consumer_role);
	if (r->ended)
		pfree(r->ended);
	pfree(r);
}

static char *
top_strdup(const char *s)
{
	return s ? MemoryContextStrdup(TopMemoryContext, s) : NULL;
}

/* Makes r (or no context, r NULL) current, remembering what to undo. */
static void
set_current(GovshareRequest *r)
{
	Undo	   *u = MemoryContextAlloc(TopMemoryContext, sizeof(Undo));

	u->nest_level = GetCurrentTransactionNestLevel();
	u->previous = current;
	u->next = undo;
	undo = u;
	current = r;
	serial++;
	/* plans made under another context go before a prepared one is bound */
	if (r != NULL && r->consumer)
		govshare_epoch_refresh(govshare_policy(), GetCurrentStatementStartTimestamp());
}

/*
 * Transaction end under govshare.request_scope = transaction: the context
 * begun in the transaction ends with it (a context still current from an
 * earlier transaction, begun under session scope, stays).
 */
static void
end_transaction_scoped(void)
{
	if (current == NULL || !current->transaction_scoped)
		return;
	request_free(current);
	current = NULL;
	serial++;
}

/*
 * Transaction end: keep the context on commit, restore it on abort; a
 * transaction-scoped context ends either way.
 */
static void
context_xact_callback(XactEvent event, void *arg)
{
	Undo	   *u;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			signed_ended = false;
			while ((u = undo) != NULL)
			{
				undo = u->next;
				request_free(u->previous);
				pfree(u);
			}
			end_transaction_scoped();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			signed_ended = false;
			while ((u = undo) != NULL)
			{
				undo = u->next;
				request_free(current);
				current = u->previous;
				pfree(u);
				serial++;
			}
			end_transaction_scoped();
			break;
		default:
			break;
	}
}

/* Subtransaction end: restore on abort, hand over to the parent on commit. */
static void
context_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	Undo	   *u;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		while ((u = undo) != NULL && u->nest_level >= level)
		{
			undo = u->next;
			request_free(current);
			current = u->previous;
			pfree(u);
			serial++;
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (u = undo; u != NULL && u->nest_level >= level; u = u->next)
			u->nest_level = level - 1;
	}
}

/* Sets who records refused tokens as denials (the audit); from _PG_init. */
void
govshare_context_set_denial_recorder(GovshareDenialRecorder recorder)
{
	denial_recorder = recorder;
}

/* Sets who records used token ids (the audit writer); from _PG_init. */
void
govshare_context_set_token_recorder(GovshareTokenRecorder recorder, GovshareTokenWaiter waiter)
{
	token_recorder = recorder;
	token_waiter = waiter;
	govshare_spent_set_waiter(waiter);
}

/* Registers the callbacks; called from _PG_init. */
void
govshare_context_init(void)
{
	RegisterXactCallback(context_xact_callback, NULL);
	RegisterSubXactCallback(context_subxact_callback, NULL);
}

/* The current request context, or NULL. */
const GovshareRequest *
govshare_context_current(void)
{
	return current;
}

/* A number that changes whenever the context does. */
uint64
govshare_context_serial(void)
{
	return serial;
}

/*
 * The start of a statement (parse analysis): in a consumer's session that
 * began a signed context, a statement run as the consumer makes its
 * transaction read-only, as SET TRANSACTION READ ONLY would, so that a
 * query sent within a remote request cannot write, create or alter
 * anything, the gateway role's own password included.
 */
void
govshare_context_statement_start(void)
{
	if (signed_binding() && IsTransactionState() && !XactReadOnly &&
		govshare_consumer_agency() != NULL)
		XactReadOnly = true;
}

/*
 * Does a consumer's signed context bind the current transaction (one is
 * current, or one ended in it)?  Then the consumer only reads
 * (src/enforce/readonly.c).
 */
bool
govshare_context_binds(void)
{
	return signed_binding();
}

/* DISCARD ALL: forget the context (never inside a transaction block). */
void
govshare_context_discard(void)
{
	Undo	   *u;

	while ((u = undo) != NULL)
	{
		undo = u->next;
		request_free(u->previous);
		pfree(u);
	}
	request_free(current);
	current = NULL;
	signed_ended = false;
	serial++;
}

static bool has_rule_for(GovsharePolicy *policy, const char *agency, const char *purpose,
						 TimestampTz now);

/*
 * Why r, a consumer's context, no longer holds at now, or NULL: its role
 * does not act for its agency any more, its signing key is gone, revoked
 * or expired, or the agency has no rule in force for its purpose.
 */
static char *
withdrawn(GovsharePolicy *policy, const GovshareRequest *r, TimestampTz now)
{
	bool		consumer;
	bool		ambiguous;
	const char *agency = govshare_role_agency_noerror(policy, r->roleid, &consumer, &ambiguous);
	const char *role = GetUserNameFromId(r->roleid, true);

	if (role == NULL)
		return psprintf("The role that began it (OID %u) no longer exists.", r->roleid);
	if (ambiguous)
		return psprintf("Role \"%s\" now acts for two agencies.", role);
	if (agency == NULL || !consumer || strcmp(agency, r->agency) != 0)
		return psprintf("Role \"%s\" no longer acts for agency \"%s\": its binding to the agency was removed or changed.",
						role, r->agency);
	if (r->is_signed)
	{
		const GovshareKey *k = NULL;

		for (int i = 0; i < policy->nkeys && k == NULL; i++)
			if (strcmp(policy->keys[i].key_id, r->key_id) == 0)
				k = &policy->keys[i];
		if (k == NULL)
			return psprintf("The key that signed its token (%s) is no longer registered.", r->key_id);
		if (k->revoked)
			return psprintf("The key that signed its token (%s) was revoked.", r->key_id);
		if (k->valid_until <= now)
			return psprintf("The key that signed its token (%s) expired at %s.", r->key_id,
							timestamptz_to_str(k->valid_until));
	}
	if (!has_rule_for(policy, r->agency, r->purpose, now))
		return psprintf("Agency \"%s\" no longer has a rule in force for purpose \"%s\": its rules were revoked, suspended or have expired.",
						r->agency, r->purpose);
	return NULL;
}

/*
 * Why the current context has ended, or NULL while it holds (or there is
 * none, or it is an internal role's).  Asked by the enforcement at each
 * statement that reads governed data, after the policy was reloaded; a
 * context once ended stays ended, whatever is restored later, until a new
 * request begins.
 */
const char *
govshare_context_ended(GovsharePolicy *policy, TimestampTz now)
{
	GovshareRequest *r = current;
	char	   *why;

	if (r == NULL || r->ended != NULL || !r->consumer)
		return r ? r->ended : NULL;
	why = withdrawn(policy, r, now);
	if (why != NULL)
		r->ended = MemoryContextStrdup(TopMemoryContext, why);
	return r->ended;
}

/*
 * Under govshare.request_scope = transaction, a context is begun only in a
 * transaction block (BEGIN ... COMMIT, or several statements sent as one
 * query string), whose end ends it: refuses one begun outside.
 */
static void
check_scope(const char *function)
{
	if (govshare_request_scope != GOVSHARE_REQUEST_SCOPE_TRANSACTION || IsTransactionBlock())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
			 errmsg("%s can only be called in a transaction block", function),
			 errdetail("govshare.request_scope is \"transaction\" for role \"%s\": a request context ends with the transaction that began it.",
					   GetUserNameFromId(GetUserId(), false)),
			 errhint("Begin a transaction (BEGIN), begin the request in it, run the request's statements and end it with COMMIT.")));
}

/* Raises "invalid request token" with a detail. */
static void
reject_token(const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid request token"),
			 errdetail("%s", detail),
			 hint ? errhint("%s", hint) : 0));
}

/*
 * The agency the current role acts for: its bound agency, or self for an
 * internal role.  *consumer tells which.
 */
static const char *
session_agency(GovsharePolicy *policy, bool *consumer)
{
	const char *agency;

	if (!policy->installed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"govshare\" is not installed in this database")));
	agency = govshare_role_agency(policy, GetUserId(), consumer);
	if (agency == NULL)
		agency = policy->self;
	if (agency == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("role \"%s\" acts for no agency", GetUserNameFromId(GetUserId(), false)),
				 errdetail("The role is not bound to an agency, and no agency is self."),
				 errhint("Register this database's agency with govshare.add_agency(code, name, is_self => true).")));
	return agency;
}

/*
 * Does the agency have a rule for the purpose in force at now
 * (govshare_rule_active, as for decisions)?
 */
static bool
has_rule_for(GovsharePolicy *policy, const char *agency, const char *purpose, TimestampTz now)
{
	for (int i = 0; i < policy->nrules; i++)
	{
		GovshareRule *r = &policy->rules[i];

		if (strcmp(r->consumer, agency) != 0 ||
			govshare_rule_active(r, now, NULL) != GOVSHARE_RULE_IN_FORCE)
			continue;
		for (int p = 0; p < r->npurposes; p++)
			if (strcmp(r->purposes[p], purpose) == 0)
				return true;
	}
	return false;
}

/*
 * Checks the purpose: it exists, and a consumer agency has a rule for it
 * that is in force now.
 */
static void
check_purpose(GovsharePolicy *policy, const char *agency, bool consumer, const char *purpose)
{
	TimestampTz now = GetCurrentStatementStartTimestamp();

	if (!govshare_policy_has_purpose(policy, purpose))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("purpose \"%s\" does not exist", purpose),
				 errhint("The purposes are listed in govshare.purpose.")));
	if (!consumer || has_rule_for(policy, agency, purpose, now))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agency \"%s\" has no active rule for purpose \"%s\"", agency, purpose),
			 errhint("govshare.explain_access(agency, purpose, relation) shows what the agency may read; the provider records agreements with govshare.share().")));
}

static void
check_field(const char *name, const char *value)
{
	if (value != NULL && strlen(value) > GOVSHARE_CONTEXT_FIELD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("the %s of a request is at most %d bytes long", name,
						GOVSHARE_CONTEXT_FIELD_MAX)));
}

/*
 * Refuses officer as the officer of the current role's request, unless the
 * role may name it: the officer is the role itself, or bound to it
 * (govshare.bind_officer), or the role is a gateway (govshare.set_gateway)
 * or a superuser (which could mark itself one).  NULL, no officer named,
 * is always allowed: the record names the role.  The rule of
 * begin_request() and of remote_query().
 */
void
govshare_officer_check(GovsharePolicy *policy, const char *officer)
{
	Oid			role = GetUserId();
	const char *name;

	if (officer == NULL || superuser() || !policy->officers_bound)
		return;
	name = GetUserNameFromId(role, false);
	if (strcmp(officer, name) == 0 || govshare_role_is_gateway(policy, role) ||
		govshare_role_has_officer(policy, role, officer))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("role \"%s\" may not act as officer \"%s\"", name, officer),
			 errdetail("The officer is not bound to the role, and the role is not a gateway."),
			 errhint("An administrator binds the role's officers with govshare.bind_officer(role, officer), or marks a role that authenticates its own users a gateway with govshare.set_gateway(role, true).")));
}

static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * In a PG_CATCH of a request's beginning: a consumer's refused token (28000),
 * purpose (unknown, 42704) or request (not shared, a required signature,
 * an officer not its own: 42501) is a denial, recorded by the audit with
 * the claims as presented (claimed) before the error is raised again.
 * Other errors (a NULL argument, a usage error) are raised as they are.
 */
static void request_refused(MemoryContext cxt, bool consumer, const char *agency,
							const GovshareRequest *claimed) pg_attribute_noreturn();

static void
request_refused(MemoryContext cxt, bool consumer, const char *agency,
				const GovshareRequest *claimed)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (consumer && (edata->sqlerrcode == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION ||
					 edata->sqlerrcode == ERRCODE_UNDEFINED_OBJECT ||
					 edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE))
	{
		FlushErrorState();

		/*
		 * The refusal is what the caller sees, even if its record cannot be
		 * made (the audit queue full, a cancel while waiting for room): that
		 * failure goes to the server log.
		 */
		PG_TRY();
		{
			if (denial_recorder != NULL)
				denial_recorder(agency, claimed, InvalidOid, NULL, NULL,
								edata->detail ? psprintf("%s: %s", edata->message, edata->detail)
								: edata->message);
		}
		PG_CATCH();
		{
			ErrorData  *failed;

			MemoryContextSwitchTo(cxt);
			failed = CopyErrorData();
			FlushErrorState();
			ereport(LOG,
					(errmsg("govshare: the denial of a request of agency \"%s\" could not be recorded: %s",
							agency, failed->message)));
		}
		PG_END_TRY();
		ReThrowError(edata);
	}
	FreeErrorData(edata);
	PG_RE_THROW();
}

/* govshare.begin_request(purpose text, officer text, reference text) returns void */
PG_FUNCTION_INFO_V1(govshare_begin_request);
Datum
govshare_begin_request(PG_FUNCTION_ARGS)
{
	char	   *purpose = text_arg(fcinfo, 0);
	char	   *officer = text_arg(fcinfo, 1);
	char	   *reference = text_arg(fcinfo, 2);
	GovsharePolicy *policy = govshare_policy();
	bool		consumer;
	const char *agency = session_agency(policy, &consumer);
	GovshareRequest *r;
	MemoryContext cxt = CurrentMemoryContext;

	check_scope("govshare.begin_request()");
	/* a consumer's refused request is a denial, and recorded as one */
	PG_TRY();
	{
		if (consumer && govshare_require_signed_requests)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("agency \"%s\" must prove its requests with a signed token", agency),
					 errdetail("govshare.require_signed_requests is on."),
					 errhint("Call govshare.begin_request_signed(token) with a token signed by the agency's registered key.")));
		if (consumer && signed_binding())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("agency \"%s\" may not replace a signed request context with an unsigned one", agency),
					 errdetail("A context proved by a token binds the transaction it is used in, so that a query sent within the request cannot name another purpose or officer."),
					 errhint("Begin the new context in a new transaction, or with govshare.begin_request_signed(token).")));
		if (purpose == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a request needs a purpose")));
		check_field("purpose", purpose);
		check_field("officer", officer);
		check_field("reference", reference);
		govshare_officer_check(policy, officer);
		check_purpose(policy, agency, consumer, purpose);
	}
	PG_CATCH();
	{
		GovshareRequest claimed = {0};

		claimed.officer = officer;
		claimed.purpose = purpose;
		claimed.reference = reference;
		request_refused(cxt, consumer, agency, &claimed);
	}
	PG_END_TRY();

	r = MemoryContextAllocZero(TopMemoryContext, sizeof(GovshareRequest));
	r->agency = top_strdup(agency);
	r->roleid = GetUserId();
	r->officer = top_strdup(officer);
	r->purpose = top_strdup(purpose);
	r->reference = top_strdup(reference);
	r->consumer = consumer;
	r->began_at = GetCurrentTimestamp();
	r->expires_at = DT_NOEND;
	r->transaction_scoped = govshare_request_scope == GOVSHARE_REQUEST_SCOPE_TRANSACTION;
	set_current(r);
	PG_RETURN_VOID();
}

/*
 * The key that verifies the token: the one its kid names, or any current
 * key of the issuer.  Errors when none does.
 */
static const GovshareKey *
verifying_key(GovsharePolicy *policy, const GovshareToken *tok)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		any = false;

	for (int i = 0; i < policy->nkeys; i++)
	{
		const GovshareKey *k = &policy->keys[i];

		if (tok->kid != NULL && strcmp(k->key_id, tok->kid) != 0)
			continue;
		if (tok->kid != NULL && strcmp(k->agency, tok->iss) != 0)
			reject_token("The key named by \"kid\" belongs to another agency.", NULL);
		if (strcmp(k->agency, tok->iss) != 0)
			continue;
		if (tok->kid != NULL && k->revoked)
			reject_token("The key named by \"kid\" has been revoked.",
						 "Sign with a current key of the agency.");
		if (tok->kid != NULL && k->valid_until <= now)
			reject_token("The key named by \"kid\" has expired.",
						 "Sign with a current key of the agency.");
		if (k->revoked || k->valid_until <= now)
			continue;
		any = true;
		if (govshare_token_verify(tok, k->public_key))
			return k;
	}
	if (tok->kid != NULL && !any)
		reject_token("No registered key has the id given by \"kid\".",
					 "Register the agency's public key with govshare.add_agency_key().");
	if (!any)
		reject_token("The issuing agency has no current registered key.",
					 "Register the agency's public key with govshare.add_agency_key().");
	reject_token("The signature does not verify with the issuer's registered keys.", NULL);
	return NULL;
}

/*
 * The key of a token in the set of tokens being spent: the SHA-256 of the
 * database, the issuer and the id (govshare.token_use is per database).
 */
static void
token_key(const GovshareToken *tok, unsigned char *key)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (const char *) &MyDatabaseId, sizeof(Oid));
	appendBinaryStringInfo(&buf, tok->iss, strlen(tok->iss) + 1);
	appendBinaryStringInfo(&buf, tok->jti, strlen(tok->jti));
	govshare_sha256(buf.data, buf.len, key);
	pfree(buf.data);
}

/*
 * Releases the claims of the pending token uses once they are durable;
 * with GOVSHARE_TOKEN_WAIT, waits for that (up to govshare.audit_timeout)
 * and raises an error when it cannot be, keeping them pending; with
 * GOVSHARE_TOKEN_HASTEN, wakes the writer for those that are not.
 */
static void
spend_settle(GovshareTokenWait how)
{
	for (int i = 0; i < npending; i++)
	{
		char	   *why = NULL;

		if (token_waiter(&pending[i].queued, how, &why))
			continue;
		if (how != GOVSHARE_TOKEN_WAIT)
			return;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the use of the request token could not be recorded"),
				 why ? errdetail_internal("%s", why) : 0,
				 errhint("No governed data is read under a token before its use is durable; the token stays used. govshare.audit_status() shows the audit writer.")));
	}
	for (int i = 0; i < npending; i++)
		govshare_spent_release(pending[i].key);
	npending = 0;
}

/*
 * At each executor start, after the audit's: before a plan that reads
 * governed data, waits until the uses of the tokens presented are durable,
 * so that no governed row is read under a token whose use a crash could
 * forget (under strict audit the statement's access record, queued after
 * them and waited for already, covers them); before any other plan, only
 * releases the claims of those already durable.
 */
void
govshare_context_spend_before(PlannedStmt *plan)
{
	if (npending > 0)
		spend_settle(govshare_plan_reads_governed(plan) ? GOVSHARE_TOKEN_WAIT : GOVSHARE_TOKEN_CHECK);
}

/*
 * Before a command that reads without a plan (an internal role's COPY
 * relation TO): waits, as govshare_context_spend_before for a plan that
 * reads governed data.
 */
void
govshare_context_spend_before_copy(void)
{
	if (npending > 0)
		spend_settle(GOVSHARE_TOKEN_WAIT);
}

/* At backend exit: releases durable uses' claims, wakes the writer for the rest. */
static void
spend_settle_at_exit(int code, Datum arg)
{
	spend_settle(GOVSHARE_TOKEN_HASTEN);
}

/*
 * Spends the token: errors if it was presented before, in any session,
 * committed or not; otherwise queues its id for govshare.token_use,
 * written by the audit writer outside the caller's transaction, and keeps
 * the claim until that is durable (spend_settle).  A token whose use
 * could not be queued or made durable stays claimed (spent) until it
 * expires.
 */
static void
consume_token_id(const GovshareToken *tok)
{
	unsigned char key[GOVSHARE_HASH_LEN];
	GovshareTokenUse use;
	char	   *why = NULL;
	GovshareTokenTicket queued;

	/* room for one more pending use (several tokens in one statement) */
	if (npending == MAX_PENDING_SPENDS)
		spend_settle(GOVSHARE_TOKEN_WAIT);
	token_key(tok, key);
	/* being presented by another session right now, or lately and not recorded */
	if (!govshare_spent_claim(key, govshare_from_unix(tok->exp + govshare_token_clock_skew)))
		reject_token("The token has been used before (its jti was already presented).",
					 "Mint a new token, with a fresh jti, for every request.");
	/* presented before and recorded: the claim stays, the token is spent */
	if (govshare_token_use_recorded(tok->iss, tok->jti))
		reject_token("The token has been used before (its jti was already presented).",
					 "Mint a new token, with a fresh jti, for every request.");
	use.issuer = tok->iss;
	use.jti = tok->jti;
	use.expires_at = govshare_from_unix(tok->exp);
	use.used_at = GetCurrentTimestamp();
	use.used_by = GetUserNameFromId(GetSessionUserId(), false);
	if (token_recorder == NULL || !token_recorder(&use, &queued, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the use of the request token could not be recorded"),
				 why ? errdetail_internal("%s", why) : 0,
				 errhint("The token stays used; mint a new one when govshare.audit_status() shows the audit writer working.")));
	if (!pending_exit_registered)
	{
		on_shmem_exit(spend_settle_at_exit, (Datum) 0);
		pending_exit_registered = true;
	}
	govshare_spent_queued(key, &queued);
	memcpy(pending[npending].key, key, GOVSHARE_HASH_LEN);
	pending[npending++].queued = queued;
}

/* govshare.begin_request_signed(token text) returns void */
PG_FUNCTION_INFO_V1(govshare_begin_request_signed);
Datum
govshare_begin_request_signed(PG_FUNCTION_ARGS)
{
	GovshareToken tok;
	GovsharePolicy *policy;
	bool		consumer;
	const char *agency;
	const GovshareKey *volatile key = NULL;
	int64		now = govshare_unix_now();
	GovshareRequest *r;
	MemoryContext cxt = CurrentMemoryContext;

	/* before the token is looked at, so that a refused call spends nothing */
	check_scope("govshare.begin_request_signed()");
	policy = govshare_policy();
	agency = session_agency(policy, &consumer);
	memset(&tok, 0, sizeof(tok));

	/* a consumer's refused token or purpose is a denial, and recorded as one */
	PG_TRY();
	{
		bool		known = false;

		if (PG_ARGISNULL(0))
			reject_token("The token is NULL.", NULL);
		govshare_token_parse(text_to_cstring(PG_GETARG_TEXT_PP(0)), &tok);
		for (int i = 0; i < policy->nagencies; i++)
			known |= strcmp(policy->agencies[i], tok.iss) == 0;
		if (!known)
			reject_token("The issuer (\"iss\") is not a registered agency.", NULL);
		if (strcmp(agency, tok.iss) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("invalid request token"),
					 errdetail("Role \"%s\" acts for agency \"%s\" and may not present a token issued by agency \"%s\".",
							   GetUserNameFromId(GetUserId(), false), agency, tok.iss),
					 errhint("Connect with a role bound to the issuing agency.")));
		if (tok.aud != NULL && (policy->self == NULL || strcmp(tok.aud, policy->self) != 0))
			reject_token(psprintf("The token is addressed (\"aud\") to agency \"%s\", not to this database's agency.",
								  tok.aud),
						 "Mint the token for the agency whose database is asked.");

		key = verifying_key(policy, &tok);

		/* times, only once the signature is known to be the issuer's */
		if (tok.exp <= tok.iat)
			reject_token("The token expires (\"exp\") before it was issued (\"iat\").", NULL);
		if (tok.exp - tok.iat > govshare_token_max_lifetime)
			reject_token(psprintf("The token's lifetime is %lld s; at most %d s is accepted (govshare.token_max_lifetime).",
								  (long long) (tok.exp - tok.iat), govshare_token_max_lifetime),
						 "Mint short-lived tokens, one per request.");
		if (tok.exp + govshare_token_clock_skew <= now)
			reject_token("The token has expired.", "Mint a new token.");
		if (tok.iat > now + govshare_token_clock_skew)
			reject_token("The token was issued in the future (\"iat\"); check the issuer's clock.", NULL);
		if (tok.has_nbf && tok.nbf > now + govshare_token_clock_skew)
			reject_token("The token is not valid yet (\"nbf\").", NULL);

		check_field("officer", tok.sub);
		check_field("reference", tok.ref);
		check_field("role", tok.role);
		check_purpose(policy, agency, consumer, tok.purpose);
		consume_token_id(&tok);
	}
	PG_CATCH();
	{
		GovshareRequest claimed = {0};

		/* the claims as presented, unverified: who tried, and with which token */
		claimed.officer = tok.sub;
		claimed.purpose = tok.purpose;
		claimed.reference = tok.ref;
		claimed.token_id = tok.jti;
		claimed.consumer_role = tok.role;
		request_refused(cxt, consumer, agency, &claimed);
	}
	PG_END_TRY();

	r = MemoryContextAllocZero(TopMemoryContext, sizeof(GovshareRequest));
	r->agency = top_strdup(agency);
	r->roleid = GetUserId();
	r->officer = top_strdup(tok.sub);
	r->purpose = top_strdup(tok.purpose);
	r->reference = top_strdup(tok.ref);
	r->token_id = top_strdup(tok.jti);
	r->key_id = top_strdup(key->key_id);
	r->consumer_role = top_strdup(tok.role);
	r->is_signed = true;
	r->consumer = consumer;
	r->began_at = GetCurrentTimestamp();
	r->expires_at = govshare_from_unix(tok.exp);
	r->transaction_scoped = govshare_request_scope == GOVSHARE_REQUEST_SCOPE_TRANSACTION;
	set_current(r);
	PG_RETURN_VOID();
}

/* govshare.end_request() returns void */
PG_FUNCTION_INFO_V1(govshare_end_request);
Datum
govshare_end_request(PG_FUNCTION_ARGS)
{
	if (current != NULL && current->is_signed && current->consumer)
		signed_ended = true;
	if (current != NULL)
		set_current(NULL);
	PG_RETURN_VOID();
}

/* govshare.current_request() returns setof record: one row, or none */
PG_FUNCTION_INFO_V1(govshare_current_request);
Datum
govshare_current_request(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[10];
	bool		nulls[10] = {false};
	const GovshareRequest *r = current;

	InitMaterializedSRF(fcinfo, 0);
	if (r == NULL)
		return (Datum) 0;
	values[0] = CStringGetTextDatum(r->agency);
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(r->roleid, true) ?
																 GetUserNameFromId(r->roleid, true) : "?"));
#define TEXT_OR_NULL(i, s) \
	do { nulls[i] = (s) == NULL; values[i] = (s) ? CStringGetTextDatum(s) : (Datum) 0; } while (0)
	TEXT_OR_NULL(2, r->officer);
	TEXT_OR_NULL(3, r->purpose);
	TEXT_OR_NULL(4, r->reference);
	TEXT_OR_NULL(5, r->token_id);
	TEXT_OR_NULL(6, r->key_id);
#undef TEXT_OR_NULL
	values[7] = BoolGetDatum(r->is_signed);
	values[8] = TimestampTzGetDatum(r->began_at);
	values[9] = TimestampTzGetDatum(r->expires_at);
	nulls[9] = TIMESTAMP_NOT_FINITE(r->expires_at);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
