/*-------------------------------------------------------------------------
 *
 * deny.c
 *	  Who a statement is enforced for, and how a denial is raised.
 *
 * Both the planner hook's rewrite (rewrite.c) and the utility hook
 * (utility.c) start from the same question, asked once per statement:
 * is the session a consumer, under which request context, and does that
 * context apply?  A denial is recorded in the access log before the error
 * is raised, so that it survives the statement's abort.
 *
 * src/enforce/deny.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "audit/gs_audit.h"
#include "enforce/enforce_internal.h"

/* Starts the enforcement of a statement; false when govshare is not installed. */
bool
govshare_enforce_begin(GovshareEnforcement *e)
{
	memset(e, 0, sizeof(*e));
	e->policy = govshare_policy();
	if (!e->policy->installed)
		return false;
	e->now = GetCurrentStatementStartTimestamp();
	return true;
}

static void find_subject(GovshareEnforcement *e);

/*
 * Works out who plans: the consumer agency and its request context, or
 * internal access.  Returns true for a consumer.  Once a governed relation
 * is read (e->governed), a role that acts for two agencies and a context
 * that has ended are refused here.
 */
bool
govshare_enforce_is_consumer(GovshareEnforcement *e)
{
	if (!e->subject_known)
		find_subject(e);
	if (e->ambiguous && e->governed)
	{
		bool		consumer;

		/* raises the error that says which two agencies */
		(void) govshare_role_agency(e->policy, GetUserId(), &consumer);
		(void) govshare_role_agency(e->policy, GetSessionUserId(), &consumer);
	}
	/* a context that has ended refuses every read of governed data, saying why */
	if (e->ended != NULL && e->governed)
		govshare_enforce_deny(e, InvalidOid, NULL, NULL,
			 psprintf("the request context of agency \"%s\" has ended", e->request->agency),
			 e->ended,
			 "Begin a new request with govshare.begin_request_signed() or govshare.begin_request(), if the agency still may.");
	return e->agency != NULL;
}

/* Who plans, and under which request context (govshare_enforce_is_consumer). */
static void
find_subject(GovshareEnforcement *e)
{
	const GovshareRequest *r;

	e->subject_known = true;
	e->agency = govshare_consumer_of(e->policy, &e->ambiguous);
	if (e->agency == NULL)
		return;
	govshare_epoch_refresh(e->policy, e->now);
	r = govshare_context_current();
	e->request = r;
	/* what the context rests on was withdrawn: it has ended */
	if (r != NULL && r->roleid == GetUserId())
		e->ended = govshare_context_ended(e->policy, e->now);
	if (r == NULL)
		e->problem = NULL;
	else if (strcmp(r->agency, e->agency) != 0)
		e->problem = psprintf("The request context was begun for agency %s.", r->agency);
	else if (r->roleid != GetUserId())
		e->problem = psprintf("The request context was begun by role %s; the current role is %s.",
							  GetUserNameFromId(r->roleid, true) ? GetUserNameFromId(r->roleid, true) : "?",
							  GetUserNameFromId(GetUserId(), false));
	else if (r->expires_at <= e->now)
		e->problem = psprintf("The request token expired at %s.", timestamptz_to_str(r->expires_at));
	else if (!TIMESTAMP_NOT_FINITE(r->expires_at))
		govshare_epoch_limit(r->expires_at);
}

/* A reason from the decision ("no active rule ...") as a DETAIL sentence. */
char *
govshare_enforce_sentence(const char *reason)
{
	char	   *s = psprintf("%s.", reason);

	s[0] = pg_toupper((unsigned char) s[0]);
	return s;
}

/*
 * Raises a denial: records it in the access log first (src/audit/), so
 * that it stays recorded although the statement aborts.  column and
 * element may be NULL, relid InvalidOid.
 */
void
govshare_enforce_deny(GovshareEnforcement *e, Oid relid, const char *column, const char *element,
					  const char *message, const char *detail, const char *hint)
{
	govshare_audit_denial(e->agency, e->request, relid, column, element,
						  detail ? psprintf("%s: %s", message, detail) : message);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

/* Refuses a consumer's statement: relation is governed. */
void
govshare_enforce_refuse(GovshareEnforcement *e, Oid relid, const char *what)
{
	govshare_enforce_deny(e, relid, NULL, NULL,
		 psprintf("agency \"%s\" may not %s governed relation \"%s\"",
				  e->agency, what, get_rel_name(relid)),
		 "Consumer agencies read governed data through their sharing rules; they do not change, lock or maintain it.",
		 "Ask the providing agency.");
}

/*
 * Refuses a consumer's read of relid, a materialized view that is not
 * governed: a copy of governed data (owner InvalidOid), or made by owner,
 * a role that does not act for the agency (govshare_enforce_check_copy).
 */
void
govshare_enforce_refuse_copy(GovshareEnforcement *e, Oid relid, Oid owner)
{
	if (!OidIsValid(owner))
		govshare_enforce_deny(e, relid, NULL, NULL,
			 psprintf("agency \"%s\" may not read materialized view \"%s\" over governed data",
					  e->agency, get_rel_name(relid)),
			 "A materialized view holds a copy of governed rows made outside the sharing rules: neither masked nor filtered for the agency.",
			 "Query the governed relations, or an ordinary view over them, within a request context; govshare.check_setup() lists such materialized views.");
	govshare_enforce_deny(e, relid, NULL, NULL,
		 psprintf("agency \"%s\" may not read materialized view \"%s\" made by role \"%s\"",
				  e->agency, get_rel_name(relid), GetUserNameFromId(owner, false)),
		 "Its rows were computed by a role that does not act for the agency, outside its sharing rules; what the functions of its definition read cannot be told.",
		 "Ask the providing agency to share an ordinary view instead, or to classify and govern the materialized view so that rules apply to it.");
}

/*
 * Refuses a consumer's call of fn, a function of activity statistics
 * (plancheck.c): they count rows and blocks that scans touched, rows the
 * rules hide included.
 */
void
govshare_enforce_refuse_statistics(GovshareEnforcement *e, Oid fn)
{
	(void) govshare_enforce_is_consumer(e);
	govshare_enforce_deny(e, InvalidOid, NULL, NULL,
		 psprintf("agency \"%s\" may not call statistics function \"%s\"",
				  e->agency, get_func_name(fn)),
		 "Activity statistics count the rows and blocks that scans touched, the rows the sharing rules hide included.",
		 "Consumer agencies get no activity statistics (the pg_stat_* and pg_statio_* views call these functions); ask the providing agency for figures.");
}

/*
 * Refuses a consumer's cursor WITH HOLD over governed relations, from the
 * planner hook: at commit its rows are materialised, and a FETCH after
 * that runs no executor, so neither end_request() nor a revocation would
 * reach them.
 */
void
govshare_enforce_refuse_hold(void)
{
	GovshareEnforcement e;

	if (!govshare_enforce_begin(&e) || !govshare_enforce_is_consumer(&e))
		return;
	govshare_enforce_deny(&e, InvalidOid, NULL, NULL,
		 psprintf("agency \"%s\" may not keep governed data in a cursor WITH HOLD", e.agency),
		 "A cursor WITH HOLD keeps its rows after its transaction ends, out of reach of end_request() and of revocations.",
		 "Declare the cursor without WITH HOLD and fetch from it inside the transaction.");
}
