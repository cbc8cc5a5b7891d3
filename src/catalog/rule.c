/*-------------------------------------------------------------------------
 *
 * rule.c
 *	  What a sharing rule means, defined once for C and SQL: its status
 *	  from its history, which elements its patterns cover, and whether it
 *	  applies at a given time.
 *
 * The policy snapshot (policy.c), the decision engine and the request
 * context (src/policy/) call the C functions here; src/sql/policy.sql
 * calls the same functions through the SQL-callable wrappers at the end
 * of this file (the govshare.rules view, the rule_check trigger), so that
 * the two sides cannot drift apart.  sql/agreement.sql checks that they
 * agree.
 *
 * src/catalog/rule.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "catalog/catalog_internal.h"
#include "catalog/gs_catalog.h"

static const char *const status_names[] = {
	[GOVSHARE_RULE_ACTIVE] = "active",
	[GOVSHARE_RULE_SUSPENDED] = "suspended",
	[GOVSHARE_RULE_REVOKED] = "revoked",
};

/* The SQL name of a rule status, as the govshare.rules view shows it. */
const char *
govshare_rule_status_name(GovshareRuleStatus status)
{
	return status_names[status];
}

/*
 * Adds one event of a rule's history to h, in any order: the first revoke
 * (by event id) and the latest suspend or resume are kept.  Other events
 * ("share") do not bear on the status.
 */
void
govshare_rule_history_add(GovshareRuleHistory *h, int64 id, const char *event, TimestampTz at)
{
	if (strcmp(event, "revoke") == 0)
	{
		if (!h->revoked || id < h->revoke_id)
		{
			h->revoked = true;
			h->revoke_id = id;
			h->revoke_at = at;
		}
	}
	else if (strcmp(event, "suspend") == 0 || strcmp(event, "resume") == 0)
	{
		if (!h->changed || id > h->change_id)
		{
			h->changed = true;
			h->change_id = id;
			h->change_at = at;
			h->suspended = event[0] == 's';
		}
	}
}

/*
 * A rule's status from its history: revoked once revoked (final);
 * otherwise suspended when its latest suspend or resume is a suspend;
 * otherwise active.  When it is not active, *event_id and *since are set
 * to the event that made it so; they are left alone otherwise.
 */
GovshareRuleStatus
govshare_rule_history_status(const GovshareRuleHistory *h, int64 *event_id, TimestampTz *since)
{
	if (h->revoked)
	{
		*event_id = h->revoke_id;
		*since = h->revoke_at;
		return GOVSHARE_RULE_REVOKED;
	}
	if (h->changed && h->suspended)
	{
		*event_id = h->change_id;
		*since = h->change_at;
		return GOVSHARE_RULE_SUSPENDED;
	}
	return GOVSHARE_RULE_ACTIVE;
}

/*
 * Is the element code written as a pattern: "*", or a prefix followed by
 * ".*" (such as "person.*")?
 */
static bool
is_pattern(const char *code)
{
	size_t		len = strlen(code);

	return strcmp(code, "*") == 0 || (len >= 2 && strcmp(code + len - 2, ".*") == 0);
}

/*
 * Does an element of a rule (a code, or a pattern "*" or "prefix.*") name
 * element?  A code names itself; "*" every element; "prefix.*" every
 * element that starts with "prefix.".  Characters match only themselves:
 * "_" and "%" are not wildcards.  Callers add the sensitivity rule: a
 * pattern never covers a sensitive element, or one not in the dictionary.
 */
bool
govshare_element_covers(const char *pattern, const char *element)
{
	if (strcmp(pattern, element) == 0)
		return true;
	return is_pattern(pattern) && strncmp(pattern, element, strlen(pattern) - 1) == 0;
}

/*
 * Does the rule apply at time now: active, valid_from <= now < valid_until?
 * Returns GOVSHARE_RULE_IN_FORCE, or why not.  When horizon is not NULL,
 * lowers *horizon to the next time the answer changes by the clock: the
 * start of a window not yet open, the end of one open now.  A revoked or
 * suspended rule changes only by its events, which move the policy.
 */
GovshareRuleActivity
govshare_rule_active(const GovshareRule *rule, TimestampTz now, TimestampTz *horizon)
{
	if (rule->status != GOVSHARE_RULE_ACTIVE)
		return GOVSHARE_RULE_NOT_ACTIVE;
	if (rule->valid_from > now)
	{
		if (horizon != NULL)
			*horizon = Min(*horizon, rule->valid_from);
		return GOVSHARE_RULE_NOT_YET_VALID;
	}
	if (rule->valid_until <= now)
		return GOVSHARE_RULE_EXPIRED;
	if (horizon != NULL && !TIMESTAMP_NOT_FINITE(rule->valid_until))
		*horizon = Min(*horizon, rule->valid_until);
	return GOVSHARE_RULE_IN_FORCE;
}

/*
 * SQL faces of the definitions above.
 */

/* govshare.element_is_pattern(code text) returns boolean */
PG_FUNCTION_INFO_V1(govshare_element_is_pattern_sql);
Datum
govshare_element_is_pattern_sql(PG_FUNCTION_ARGS)
{
	char	   *code = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(is_pattern(code));
}

/* govshare.element_covers(pattern text, element text) returns boolean */
PG_FUNCTION_INFO_V1(govshare_element_covers_sql);
Datum
govshare_element_covers_sql(PG_FUNCTION_ARGS)
{
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *element = text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_BOOL(govshare_element_covers(pattern, element));
}

/* The status named name; errors on any other name. */
static GovshareRuleStatus
status_from_name(const char *name)
{
	for (int i = 0; i < lengthof(status_names); i++)
		if (strcmp(status_names[i], name) == 0)
			return (GovshareRuleStatus) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("\"%s\" is not a rule status", name),
			 errhint("The statuses are active, suspended and revoked, as govshare.rules shows them.")));
	return GOVSHARE_RULE_REVOKED;
}

/*
 * govshare.rule_active(status text, valid_from timestamptz,
 *                      valid_until timestamptz, at timestamptz) returns boolean
 *
 * Does a rule with this status and window apply at time at?  A NULL
 * valid_from or valid_until is an open end; a NULL status or time gives
 * NULL.
 */
PG_FUNCTION_INFO_V1(govshare_rule_active_sql);
Datum
govshare_rule_active_sql(PG_FUNCTION_ARGS)
{
	GovshareRule rule;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	memset(&rule, 0, sizeof(rule));
	rule.status = status_from_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	rule.valid_from = PG_ARGISNULL(1) ? DT_NOBEGIN : PG_GETARG_TIMESTAMPTZ(1);
	rule.valid_until = PG_ARGISNULL(2) ? DT_NOEND : PG_GETARG_TIMESTAMPTZ(2);
	PG_RETURN_BOOL(govshare_rule_active(&rule, PG_GETARG_TIMESTAMPTZ(3), NULL) ==
				   GOVSHARE_RULE_IN_FORCE);
}

/* Errors unless called by an aggregate. */
static void
check_aggregate(FunctionCallInfo fcinfo, MemoryContext *aggcontext)
{
	if (!AggCheckCallContext(fcinfo, aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("govshare.rule_history_* functions are called only by the aggregates govshare.rule_status and govshare.rule_status_event")));
}

/*
 * govshare.rule_history_add(internal, id bigint, event text) returns internal
 *
 * The transition function of govshare.rule_status(id, event) and
 * govshare.rule_status_event(id, event): adds one event to the history.
 */
PG_FUNCTION_INFO_V1(govshare_rule_history_add_sql);
Datum
govshare_rule_history_add_sql(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	GovshareRuleHistory *h;

	check_aggregate(fcinfo, &aggcontext);
	if (PG_ARGISNULL(0))
		h = MemoryContextAllocZero(aggcontext, sizeof(GovshareRuleHistory));
	else
		h = (GovshareRuleHistory *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2))
	{
		char	   *event = text_to_cstring(PG_GETARG_TEXT_PP(2));

		govshare_rule_history_add(h, PG_GETARG_INT64(1), event, 0);
		pfree(event);
	}
	PG_RETURN_POINTER(h);
}

/*
 * The history an aggregate's final function is given: the state, or an
 * empty history when there were no events.
 */
static const GovshareRuleHistory *
final_history(FunctionCallInfo fcinfo)
{
	static const GovshareRuleHistory empty;

	if (PG_ARGISNULL(0))
		return &empty;
	check_aggregate(fcinfo, NULL);
	return (const GovshareRuleHistory *) PG_GETARG_POINTER(0);
}

/*
 * govshare.rule_history_status(internal) returns text
 *
 * The final function of govshare.rule_status(id, event): 'active',
 * 'suspended' or 'revoked'.
 */
PG_FUNCTION_INFO_V1(govshare_rule_history_status_sql);
Datum
govshare_rule_history_status_sql(PG_FUNCTION_ARGS)
{
	int64		event_id;
	TimestampTz since;
	GovshareRuleStatus status = govshare_rule_history_status(final_history(fcinfo),
															 &event_id, &since);

	PG_RETURN_TEXT_P(cstring_to_text(govshare_rule_status_name(status)));
}

/*
 * govshare.rule_history_event(internal) returns bigint
 *
 * The final function of govshare.rule_status_event(id, event): the id of
 * the event that made the rule revoked or suspended, NULL when it is
 * active.
 */
PG_FUNCTION_INFO_V1(govshare_rule_history_event_sql);
Datum
govshare_rule_history_event_sql(PG_FUNCTION_ARGS)
{
	int64		event_id;
	TimestampTz since;

	if (govshare_rule_history_status(final_history(fcinfo), &event_id, &since) ==
		GOVSHARE_RULE_ACTIVE)
		PG_RETURN_NULL();
	PG_RETURN_INT64(event_id);
}
