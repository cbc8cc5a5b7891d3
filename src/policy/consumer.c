/*-------------------------------------------------------------------------
 *
 * consumer.c
 *	  Who the session acts for, and the epoch of consumer plans.
 *
 * A session is a consumer when its current role, or the role it logged in
 * as, acts for an agency other than self (bound to it, or a member of a
 * role bound to it: src/catalog/policy.c), or while the current role has
 * a consumer's request context, even after its binding was removed (the
 * context has then ended and its reads are refused: context.c); every
 * other session is internal.  The enforcement, the audit, pseudonyms and
 * remote queries all ask the same question, so it is answered once, here,
 * and cached until the roles, the policy or the context change.
 *
 * Plans depend on the policy and on the request context, which
 * PostgreSQL's plan cache does not know.  Each consumer plan is stamped
 * with an epoch (two PlanInvalItems with cache ids no syscache has) that
 * moves with the policy, the context and the time the decisions it used
 * stop holding; moving it resets the backend's plan cache, and the
 * executor refuses a plan with an old stamp (src/enforce/).
 *
 * src/policy/consumer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "policy/gs_policy.h"

/* Marks of a consumer plan, kept in PlannedStmt.invalItems (no cache has them). */
#define STAMP_EPOCH		(-0x6773)
#define STAMP_ROLE		(-0x6774)

/* The consumer agency of the session, cached by roles and policy. */
static bool subject_valid = false;
static Oid	subject_user = InvalidOid;
static Oid	subject_session = InvalidOid;
static uint64 subject_generation = 0;
static uint64 subject_context = 0;
static const char *subject_agency = NULL;
static bool subject_ambiguous = false;	/* the role acts for two agencies */

/* The epoch of consumer plans, and what it was computed from. */
static uint64 epoch = 1;
static uint64 epoch_generation = 0;
static uint64 epoch_context = 0;
static TimestampTz epoch_horizon = DT_NOEND;

/*
 * What the epoch's plans took from the request context it was begun
 * under (epoch_has_context false: none): the parts a plan depends on.
 * The officer, the reference and the token's id change no plan.
 */
static bool epoch_has_context = false;
static Oid	epoch_roleid = InvalidOid;
static bool epoch_consumer = false;
static bool epoch_signed = false;
static char *epoch_agency = NULL;	/* in TopMemoryContext */
static char *epoch_purpose = NULL;
static char *epoch_key_id = NULL;

/* Syscache callback: role memberships or attributes changed. */
static void
subject_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	subject_valid = false;
}

/*
 * Limits the current epoch to end by until: a decision or a request token
 * used by a plan stops holding then.
 */
void
govshare_epoch_limit(TimestampTz until)
{
	epoch_horizon = Min(epoch_horizon, until);
}

/*
 * Does a plan fit the current epoch and role?  *stamped says whether it
 * carries a consumer stamp at all; an unstamped plan does not fit.
 */
bool
govshare_plan_fits(PlannedStmt *plan, bool *stamped)
{
	bool		fits = true;
	ListCell   *lc;

	*stamped = false;
	foreach(lc, plan->invalItems)
	{
		PlanInvalItem *item = lfirst(lc);

		if (item->cacheId == STAMP_EPOCH)
		{
			*stamped = true;
			fits &= item->hashValue == (uint32) epoch;
		}
		else if (item->cacheId == STAMP_ROLE)
			fits &= item->hashValue == (uint32) GetUserId();
	}
	return *stamped && fits;
}

/* Registers the callbacks that drop the cached answer; from _PG_init. */
void
govshare_consumer_init(void)
{
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, subject_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, subject_invalidate, (Datum) 0);
}

/*
 * The consumer agency the session acts for, or NULL when its access is
 * internal.  The current role decides; a session logged in as a consumer
 * role stays a consumer after SET ROLE or inside SECURITY DEFINER
 * functions.  *ambiguous (when not NULL) says whether a role acts for
 * two agencies, which govshare_role_agency() reports as an error.
 */
const char *
govshare_consumer_of(GovsharePolicy *policy, bool *ambiguous)
{
	Oid			user = GetUserId();
	Oid			session = GetSessionUserId();
	const char *agency;
	bool		consumer;

	if (subject_valid && subject_user == user && subject_session == session &&
		subject_generation == policy->generation && subject_context == govshare_context_serial())
	{
		if (ambiguous)
			*ambiguous = subject_ambiguous;
		return subject_agency;
	}

	agency = govshare_role_agency_noerror(policy, user, &consumer, &subject_ambiguous);
	if (!consumer)
	{
		agency = NULL;
		if (session != user)
		{
			agency = govshare_role_agency_noerror(policy, session, &consumer, &subject_ambiguous);
			if (!consumer)
				agency = NULL;
		}
	}
	if (agency == NULL)
	{
		const GovshareRequest *r = govshare_context_current();

		/* unbinding the role ends its context; it does not lift the rules */
		if (r != NULL && r->consumer && r->roleid == user)
			agency = r->agency;
	}
	subject_user = user;
	subject_context = govshare_context_serial();
	subject_session = session;
	subject_generation = policy->generation;
	subject_agency = agency;
	subject_valid = true;
	if (ambiguous)
		*ambiguous = subject_ambiguous;
	return agency;
}

/* The consumer agency the session acts for, or NULL (internal access). */
const char *
govshare_consumer_agency(void)
{
	GovsharePolicy *policy = govshare_policy();

	return policy->installed ? govshare_consumer_of(policy, NULL) : NULL;
}

/* Is the session a consumer acting for agency? */
bool
govshare_consumer_is(const char *agency)
{
	GovsharePolicy *policy;
	const char *own;

	/* a parallel worker runs the leader's plan, checked by the leader */
	if (IsParallelWorker())
		return true;
	policy = govshare_policy();
	own = govshare_consumer_of(policy, NULL);
	return own != NULL && strcmp(own, agency) == 0;
}

static bool
same_text(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Would a plan made under the epoch's context be made alike under r? */
static bool
epoch_context_fits(const GovshareRequest *r)
{
	return epoch_has_context && r->roleid == epoch_roleid &&
		r->consumer == epoch_consumer && r->is_signed == epoch_signed &&
		same_text(r->agency, epoch_agency) && same_text(r->purpose, epoch_purpose) &&
		same_text(r->key_id, epoch_key_id);
}

static char *
epoch_strdup(char *old, const char *s)
{
	if (old != NULL)
		pfree(old);
	return s ? MemoryContextStrdup(TopMemoryContext, s) : NULL;
}

/* Remembers what the new epoch's plans take from the context r (or none). */
static void
epoch_context_remember(const GovshareRequest *r)
{
	epoch_has_context = r != NULL;
	if (r == NULL)
		return;
	epoch_roleid = r->roleid;
	epoch_consumer = r->consumer;
	epoch_signed = r->is_signed;
	epoch_agency = epoch_strdup(epoch_agency, r->agency);
	epoch_purpose = epoch_strdup(epoch_purpose, r->purpose);
	epoch_key_id = epoch_strdup(epoch_key_id, r->key_id);
}

/*
 * Moves to a new epoch (and drops the backend's cached plans) when the
 * policy, the request context or the time makes the current one stale.
 *
 * A new context that a plan would take alike from the epoch's (the same
 * role, agency, purpose and signing key: the next request of a pooled
 * connection, say) keeps the epoch, so that the plans made in the last
 * request serve this one; its token's expiry then bounds the epoch too.
 * No context keeps the epoch as it is, so that the next context alike
 * finds its plans: meanwhile no consumer plan is made (planning one is
 * refused), and a stamped plan is refused when it would run
 * (src/enforce/plancheck.c).
 */
void
govshare_epoch_refresh(GovsharePolicy *policy, TimestampTz now)
{
	uint64		context = govshare_context_serial();
	const GovshareRequest *r = govshare_context_current();

	if (policy->generation == epoch_generation && now < epoch_horizon)
	{
		if (context == epoch_context || r == NULL)
			return;
		if (epoch_context_fits(r))
		{
			epoch_context = context;
			govshare_epoch_limit(r->expires_at);
			if (now < epoch_horizon)
				return;
		}
	}
	epoch++;
	epoch_generation = policy->generation;
	epoch_context = context;
	epoch_horizon = DT_NOEND;
	epoch_context_remember(r);
	if (r != NULL)
		govshare_epoch_limit(r->expires_at);	/* DT_NOEND: no limit */
	ResetPlanCache();
}

static PlanInvalItem *
stamp_item(int kind, uint32 value)
{
	PlanInvalItem *item = makeNode(PlanInvalItem);

	item->cacheId = kind;
	item->hashValue = value;
	return item;
}

/*
 * The planner hook's second half: marks a plan that reads governed
 * relations as depending on the role and on the rules, and a consumer's
 * plan with the epoch it was made in; context is the context's serial
 * when planning began.
 */
void
govshare_plan_stamp(PlannedStmt *plan, GovsharePlanKind kind, uint64 context)
{
	GovsharePolicy *policy;

	if (kind == GOVSHARE_PLAN_PLAIN)
		return;

	/*
	 * The rewrite read the context planning began under; a function the
	 * planner evaluated may have begun another since (and moved the epoch
	 * the stamp would carry): such a plan fits no context.
	 */
	if (kind == GOVSHARE_PLAN_CONSUMER && context != govshare_context_serial())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the request context changed while this statement was planned"),
				 errdetail("A function evaluated while planning began or ended a request."),
				 errhint("Begin the request in a statement of its own.")));
	policy = govshare_policy();
	plan->dependsOnRole = true;
	if (OidIsValid(policy->rule_relid))
		plan->relationOids = lappend_oid(plan->relationOids, policy->rule_relid);
	if (kind == GOVSHARE_PLAN_CONSUMER)
	{
		plan->invalItems = lappend(plan->invalItems, stamp_item(STAMP_EPOCH, (uint32) epoch));
		plan->invalItems = lappend(plan->invalItems, stamp_item(STAMP_ROLE, (uint32) GetUserId()));
	}
}

/*
 * The start of a consumer's statement (parse analysis, executor start and
 * run): reads the invalidation messages, so that revocations committed
 * elsewhere apply from this statement on, and moves to a new epoch if the
 * plans are stale.  Returns the consumer agency, or NULL for internal
 * access (nothing done) and in parallel workers, which run the leader's
 * plan, checked by the leader.
 */
const char *
govshare_consumer_statement_start(void)
{
	GovsharePolicy *policy;

	if (IsParallelWorker())
		return NULL;
	policy = govshare_policy();
	if (!policy->installed || govshare_consumer_of(policy, NULL) == NULL)
		return NULL;
	AcceptInvalidationMessages();
	/* the policy may have been reloaded: ask again, from the new one */
	policy = govshare_policy();
	govshare_epoch_refresh(policy, GetCurrentStatementStartTimestamp());
	return policy->installed ? govshare_consumer_of(policy, NULL) : NULL;
}

/* Was plan made for a consumer (stamped by govshare_plan_stamp)? */
bool
govshare_plan_is_consumer(PlannedStmt *plan)
{
	ListCell   *lc;

	foreach(lc, plan->invalItems)
		if (((PlanInvalItem *) lfirst(lc))->cacheId == STAMP_EPOCH)
			return true;
	return false;
}

/*
 * Does plan read a governed relation, as a consumer's or with internal
 * access (govshare_plan_stamp lists the rules' relation among its
 * relations)?
 */
bool
govshare_plan_reads_governed(PlannedStmt *plan)
{
	GovsharePolicy *policy;

	if (govshare_plan_is_consumer(plan))
		return true;
	policy = govshare_policy();
	return OidIsValid(policy->rule_relid) && list_member_oid(plan->relationOids, policy->rule_relid);
}
