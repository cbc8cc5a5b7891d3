/*-------------------------------------------------------------------------
 *
 * enforce.c
 *	  Transparent enforcement: what a consumer agency's statement may read
 *	  of governed relations, rewritten into the plan.
 *
 * The planner hook hands every query tree here after parse analysis and
 * rewriting, when views are expanded and row security applied.  For a
 * consumer agency (a role bound to an agency other than self, or a session
 * logged in as one), every range-table entry that reads a governed relation
 * becomes a security-barrier subquery
 *
 *	SELECT <each attribute through its disclosure expression>
 *	  FROM ONLY? relation		-- checked as the relation's owner
 *	 WHERE <the rules' row filters>	-- as a security qual
 *
 * projecting every attribute in attribute-number order, so that the Vars
 * above (including whole-row ones) keep their meaning.  A column's
 * expression is a CASE over the granting rules, most revealing first
 * (DESIGN §2.2): "CASE WHEN filter1 THEN mask(col) WHEN filter2 THEN
 * pseudonym(col) ELSE NULL END", reduced to the bare transform when a rule
 * without filter grants it.  Because the subquery is a security barrier,
 * the consumer's own quals see only what it projects, and only leakproof
 * ones are pushed into it (so an equality on a fully disclosed column
 * still uses its index, and a leaky function never sees a filtered row).
 *
 * Denials are errors raised while planning: no request context, a context
 * that no longer fits the session (SET ROLE, an expired token), no
 * applicable rule, or a referenced column that no rule grants (unless
 * govshare.on_denied_column = 'null').  Writes, row locks and most utility
 * commands on governed relations are refused; COPY relation TO becomes
 * COPY (SELECT ...) TO.
 *
 * Plans depend on the policy and on the request context.  Each consumer
 * plan is stamped with an epoch that changes with the policy, the context
 * and the time the decisions it used stop holding; a change resets the
 * backend's plan cache, and the executor refuses a plan with an old stamp.
 *
 * src/enforce.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "commands/tablecmds.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "rewrite/rewriteManip.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "govshare.h"

/* Marks of a consumer plan, kept in PlannedStmt.invalItems (no cache has them). */
#define STAMP_EPOCH		(-0x6773)
#define STAMP_ROLE		(-0x6774)

/* GUC: what a query that names a denied column gets. */
typedef enum DeniedColumn
{
	DENIED_COLUMN_ERROR,
	DENIED_COLUMN_NULL
} DeniedColumn;

static const struct config_enum_entry denied_column_options[] = {
	{"error", DENIED_COLUMN_ERROR, false},
	{"null", DENIED_COLUMN_NULL, false},
	{NULL, 0, false}
};

static int	on_denied_column = DENIED_COLUMN_ERROR;

/* The consumer agency of the session, cached by roles and policy. */
static bool subject_valid = false;
static Oid	subject_user = InvalidOid;
static Oid	subject_session = InvalidOid;
static uint64 subject_generation = 0;
static const char *subject_agency = NULL;
static bool subject_ambiguous = false;	/* the role acts for two agencies */

/* The epoch of consumer plans, and what it was computed from. */
static uint64 epoch = 1;
static uint64 epoch_generation = 0;
static uint64 epoch_context = 0;
static TimestampTz epoch_horizon = DT_NOEND;

/* Planning state of one query tree. */
typedef struct Enforcement
{
	GovsharePolicy *policy;
	bool		subject_known;
	const char *agency;			/* consumer agency, or NULL: internal */
	const GovshareRequest *request;
	const char *problem;		/* why the request context does not apply */
	TimestampTz now;
	bool		governed;		/* reads a governed relation */
} Enforcement;

/* Syscache callback: role memberships or attributes changed. */
static void
subject_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	subject_valid = false;
}

/* Defines govshare.on_denied_column and registers callbacks; from _PG_init. */
void
govshare_enforce_init(void)
{
	DefineCustomEnumVariable("govshare.on_denied_column",
							 "What a consumer's query that reads a denied column gets: an error, or NULL.",
							 "With 'null', SELECT * over a relation with denied columns returns NULL for them.",
							 &on_denied_column, DENIED_COLUMN_ERROR, denied_column_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, subject_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, subject_invalidate, (Datum) 0);
}

/*
 * The consumer agency the session acts for, or NULL when its access is
 * internal.  The current role decides; a session logged in as a consumer
 * role stays a consumer after SET ROLE or inside SECURITY DEFINER
 * functions.
 */
static const char *
consumer_agency(GovsharePolicy *policy)
{
	Oid			user = GetUserId();
	Oid			session = GetSessionUserId();
	const char *agency;
	bool		consumer;

	if (subject_valid && subject_user == user && subject_session == session &&
		subject_generation == policy->generation)
		return subject_agency;

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
	subject_user = user;
	subject_session = session;
	subject_generation = policy->generation;
	subject_agency = agency;
	subject_valid = true;
	return agency;
}

/* The consumer agency the session acts for, or NULL (src/audit.c). */
const char *
govshare_enforce_consumer(void)
{
	GovsharePolicy *policy = govshare_policy();

	return policy->installed ? consumer_agency(policy) : NULL;
}

/* Is the session a consumer acting for agency?  (src/pseudonym.c) */
bool
govshare_enforce_agency_matches(const char *agency)
{
	GovsharePolicy *policy;
	const char *own;

	/* a parallel worker runs the leader's plan, checked by the leader */
	if (IsParallelWorker())
		return true;
	policy = govshare_policy();
	own = consumer_agency(policy);
	return own != NULL && strcmp(own, agency) == 0;
}

/*
 * Moves to a new epoch (and drops the backend's cached plans) when the
 * policy, the request context or the time makes the current one stale.
 */
static void
refresh_epoch(GovsharePolicy *policy, TimestampTz now)
{
	uint64		context = govshare_context_serial();

	if (policy->generation == epoch_generation && context == epoch_context &&
		now < epoch_horizon)
		return;
	epoch++;
	epoch_generation = policy->generation;
	epoch_context = context;
	epoch_horizon = DT_NOEND;
	ResetPlanCache();
}

/*
 * Works out who plans: the consumer agency and its request context, or
 * internal access.  Returns true for a consumer.
 */
static bool
is_consumer(Enforcement *e)
{
	const GovshareRequest *r;

	if (e->subject_known)
		return e->agency != NULL;
	e->subject_known = true;
	e->agency = consumer_agency(e->policy);
	if (e->agency == NULL)
		return false;
	if (subject_ambiguous)
	{
		bool		consumer;

		/* raises the error that says which two agencies */
		(void) govshare_role_agency(e->policy, GetUserId(), &consumer);
		(void) govshare_role_agency(e->policy, GetSessionUserId(), &consumer);
	}

	refresh_epoch(e->policy, e->now);
	r = govshare_context_current();
	e->request = r;
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
		epoch_horizon = Min(epoch_horizon, r->expires_at);
	return true;
}

/* A reason from the decision ("no active rule ...") as a DETAIL sentence. */
static char *
sentence(const char *reason)
{
	char	   *s = psprintf("%s.", reason);

	s[0] = pg_toupper((unsigned char) s[0]);
	return s;
}

/*
 * Raises a denial: records it in the access log first (src/audit.c), so
 * that it stays recorded although the statement aborts.  column and
 * element may be NULL, relid InvalidOid.
 */
static void
pg_attribute_noreturn()
deny(Enforcement *e, Oid relid, const char *column, const char *element,
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
static void
refuse(Enforcement *e, Oid relid, const char *what)
{
	deny(e, relid, NULL, NULL,
		 psprintf("agency \"%s\" may not %s governed relation \"%s\"",
				  e->agency, what, get_rel_name(relid)),
		 "Consumer agencies read governed data through their sharing rules; they do not change, lock or maintain it.",
		 "Ask the providing agency.");
}

/* Raises the error for a relation the consumer may not read at all. */
static void
deny_relation(Enforcement *e, Oid relid, GovshareDecision *d)
{
	const char *rel = get_rel_name(relid);

	if (e->request == NULL)
		deny(e, relid, NULL, NULL,
			 psprintf("agency \"%s\" has declared no purpose to read governed relation \"%s\"",
					  e->agency, rel),
			 "Consumer agencies read governed data only within a request context that names the purpose.",
			 "Call govshare.begin_request(purpose) or govshare.begin_request_signed(token) first; govshare.explain_access() shows what a purpose gives.");
	if (e->problem != NULL)
		deny(e, relid, NULL, NULL,
			 psprintf("the request context does not apply to agency \"%s\" reading governed relation \"%s\" for purpose \"%s\"",
					  e->agency, rel, e->request->purpose),
			 e->problem,
			 "Call govshare.begin_request() or govshare.begin_request_signed() again as the current role.");
	deny(e, relid, NULL, NULL,
		 psprintf("agency \"%s\" may not read relation \"%s\" for purpose \"%s\"",
				  e->agency, rel, e->request->purpose),
		 sentence(d->reason),
		 psprintf("govshare.explain_access('%s', '%s', '%s') shows what the agreements cover.",
				  e->agency, e->request->purpose, rel));
}

/* A typed NULL that fits a dropped attribute's storage (whole-row checks). */
static Node *
dropped_null(Form_pg_attribute att)
{
	static const struct
	{
		int16		len;
		char		align;
		Oid			typid;
	}			fits[] = {
		{1, TYPALIGN_CHAR, BOOLOID},
		{2, TYPALIGN_SHORT, INT2OID},
		{4, TYPALIGN_INT, INT4OID},
		{8, TYPALIGN_DOUBLE, INT8OID},
		{-1, TYPALIGN_INT, TEXTOID},
		{-1, TYPALIGN_DOUBLE, INT8ARRAYOID},
		{16, TYPALIGN_DOUBLE, INTERVALOID},
		{16, TYPALIGN_CHAR, UUIDOID},
		{12, TYPALIGN_DOUBLE, TIMETZOID},
		{6, TYPALIGN_INT, MACADDROID},
	};

	for (int i = 0; i < lengthof(fits); i++)
		if (fits[i].len == att->attlen && fits[i].align == att->attalign)
			return (Node *) makeNullConst(fits[i].typid, -1, InvalidOid);
	return (Node *) makeNullConst(INT4OID, -1, InvalidOid);
}

/*
 * The expression that shows attribute att (number attnum) of the relation
 * decided in d to the consumer: a CASE over the granting rules, or the
 * denial.  visible is the security qual (NULL: every row is visible).
 */
static Node *
column_expr(Enforcement *e, GovshareDecision *d, Form_pg_attribute att, Oid relid,
			Node *visible)
{
	int			i = att->attnum - 1;
	GovshareColumn *c = i < d->natts ? &d->columns[i] : NULL;
	Var		   *var;
	List	   *whens = NIL;
	Node	   *otherwise = NULL;
	CaseExpr   *cexpr;

	if (c == NULL || c->attname == NULL || strcmp(c->attname, NameStr(att->attname)) != 0 ||
		c->ngrants == 0)
	{
		if (on_denied_column == DENIED_COLUMN_NULL)
			return (Node *) makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
		deny(e, relid, NameStr(att->attname), c ? c->element : NULL,
			 psprintf("column \"%s\" of relation \"%s\" is denied to agency \"%s\" for purpose \"%s\"",
					  NameStr(att->attname), get_rel_name(relid), e->agency, e->request->purpose),
			 sentence(c && c->reason ? c->reason : "the column changed since the decision was made"),
			 psprintf("Leave the column out of the query, or see govshare.explain_access('%s', '%s', '%s').",
					  e->agency, e->request->purpose, get_rel_name(relid)));
	}

	var = makeVar(1, att->attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
	for (int g = 0; g < c->ngrants; g++)
	{
		GovshareDecisionRule *dr = &d->rules[c->grants[g].rule];
		GovshareLevel shown;
		Node	   *expr = govshare_mask_expr(var, att, c->grants[g].level, e->agency, &shown);

		/*
		 * A rule without filter covers every visible row; so does a rule
		 * whose filter is the security qual itself, and the last grant when
		 * every applicable rule grants the column, because a visible row
		 * passed some applicable rule's filter.
		 */
		if (dr->filter == NULL || (visible != NULL && equal(dr->filter, visible)) ||
			(g == c->ngrants - 1 && c->ngrants == d->nrules))
		{
			otherwise = expr;
			break;
		}
		whens = lappend(whens, makeNode(CaseWhen));
		((CaseWhen *) llast(whens))->expr = (Expr *) copyObject(dr->filter);
		((CaseWhen *) llast(whens))->result = (Expr *) expr;
		((CaseWhen *) llast(whens))->location = -1;
	}
	if (whens == NIL)
		return otherwise;
	/* rows that only rules not granting this column make visible: NULL */
	if (otherwise == NULL)
		otherwise = (Node *) makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
	cexpr = makeNode(CaseExpr);
	cexpr->casetype = att->atttypid;
	cexpr->casecollid = att->attcollation;
	cexpr->args = whens;
	cexpr->defresult = (Expr *) otherwise;
	cexpr->location = -1;
	return (Node *) cexpr;
}

/*
 * Rewrites range-table entry rti of q, a governed relation read by a
 * consumer, into the security-barrier subquery described at the top.
 */
static void
rewrite_entry(Enforcement *e, Query *q, Index rti, RangeTblEntry *rte)
{
	GovshareDecision *d;
	Relation	rel;
	TupleDesc	desc;
	RangeTblEntry *inner;
	Query	   *sub;
	List	   *tlist = NIL;
	List	   *filters = NIL;
	bool		every_row = false;
	Node	   *visible = NULL;
	Node	   *subjects;
	bool		whole_row;

	if (e->request == NULL || e->problem != NULL)
		deny_relation(e, rte->relid, NULL);
	d = govshare_decide(e->agency, e->request->purpose, rte->relid);
	epoch_horizon = Min(epoch_horizon, d->horizon);
	if (d->nrules == 0)
		deny_relation(e, rte->relid, d);

	/* system columns (ctid, xmin, ...) tell about rows, not of them: refused */
	for (int attno = FirstLowInvalidHeapAttributeNumber + 1; attno < 0; attno++)
		if (bms_is_member(attno - FirstLowInvalidHeapAttributeNumber, rte->selectedCols))
			deny(e, rte->relid, NULL, NULL,
				 psprintf("agency \"%s\" may not read system columns of governed relation \"%s\"",
						  e->agency, get_rel_name(rte->relid)),
				 "System columns describe the provider's storage, not shared data.",
				 "Leave ctid, xmin, xmax, cmin, cmax and tableoid out of the query.");

	/* the parser and rewriter hold a lock on it already */
	rel = relation_open(rte->relid, NoLock);
	desc = RelationGetDescr(rel);
	/* the security qual: the rules' distinct filters, ORed */
	for (int r = 0; r < d->nrules && !every_row; r++)
	{
		ListCell   *lc;
		bool		seen = false;

		if (d->rules[r].filter == NULL)
			every_row = true;
		foreach(lc, filters)
			seen |= equal(lfirst(lc), d->rules[r].filter);
		if (!every_row && !seen)
			filters = lappend(filters, d->rules[r].filter);
	}
	if (!every_row)
		visible = list_length(filters) == 1 ? linitial(filters) :
			(Node *) makeBoolExpr(OR_EXPR, filters, -1);

	whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, rte->selectedCols);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *expr;

		if (att->attisdropped)
			expr = dropped_null(att);
		else if (!whole_row &&
				 !bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, rte->selectedCols))
			expr = (Node *) makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
		else
			expr = column_expr(e, d, att, rte->relid, visible);
		tlist = lappend(tlist, makeTargetEntry((Expr *) expr, att->attnum,
											   pstrdup(att->attisdropped ? "" : NameStr(att->attname)),
											   false));
	}


	inner = copyObject(rte);
	inner->requiredPerms = ACL_SELECT;
	inner->checkAsUser = rel->rd_rel->relowner;
	inner->insertedCols = NULL;
	inner->updatedCols = NULL;
	inner->extraUpdatedCols = NULL;
	if (visible != NULL)
		inner->securityQuals = lcons(copyObject(visible), inner->securityQuals);
	/* the data subjects of the visible rows, noted last (src/audit.c) */
	subjects = govshare_audit_subject_qual(d, desc);
	if (subjects != NULL)
		inner->securityQuals = lappend(inner->securityQuals, subjects);
	table_close(rel, NoLock);

	sub = makeNode(Query);
	sub->commandType = CMD_SELECT;
	sub->querySource = QSRC_ORIGINAL;
	sub->canSetTag = true;
	sub->rtable = list_make1(inner);
	sub->jointree = makeFromExpr(list_make1(makeNode(RangeTblRef)), NULL);
	((RangeTblRef *) linitial(sub->jointree->fromlist))->rtindex = 1;
	sub->targetList = tlist;
	sub->hasSubLinks = checkExprHasSubLink((Node *) inner->securityQuals);

	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->security_barrier = true;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = 0;
	rte->tablesample = NULL;
	rte->inh = false;
	rte->requiredPerms = 0;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = NULL;
	rte->insertedCols = NULL;
	rte->updatedCols = NULL;
	rte->extraUpdatedCols = NULL;
	rte->securityQuals = NIL;
}

/* Does an inheritance tree under relid (not itself) hold a governed table? */
static bool
governed_below(Oid relid)
{
	List	   *tree;
	ListCell   *lc;

	if (!has_subclass(relid))
		return false;
	tree = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, tree)
		if (lfirst_oid(lc) != relid && govshare_relation_governed(lfirst_oid(lc)))
			return true;
	return false;
}

/*
 * Hides the statistics of governed relations from a consumer reading
 * pg_statistic (through pg_stats): "NOT govshare.is_governed(starelid)"
 * as a security qual.
 */
static void
hide_statistics(Query *q, Index rti, RangeTblEntry *rte)
{
	Oid			argtype = REGCLASSOID;
	Oid			fn = LookupFuncName(list_make2(makeString("govshare"), makeString("is_governed")),
									1, &argtype, false);
	Node	   *starelid = (Node *) makeVar(rti, Anum_pg_statistic_starelid, OIDOID, -1, InvalidOid, 0);
	Node	   *call = (Node *) makeFuncExpr(fn, BOOLOID,
											 list_make1(makeRelabelType((Expr *) starelid, REGCLASSOID, -1,
																		InvalidOid, COERCE_IMPLICIT_CAST)),
											 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);

	rte->securityQuals = lcons(makeBoolExpr(NOT_EXPR, list_make1(call), -1), rte->securityQuals);
}

/* Enforces on the range table of one query level. */
static void
enforce_level(Enforcement *e, Query *q)
{
	Index		rti = 0;
	ListCell   *lc;

	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rti++;
		if (rte->rtekind != RTE_RELATION)
			continue;
		if (rte->relid == StatisticRelationId)
		{
			if (is_consumer(e))
				hide_statistics(q, rti, rte);
			continue;
		}
		if (!govshare_relation_governed(rte->relid))
		{
			if (rte->inh && is_consumer(e) && governed_below(rte->relid))
				deny(e, rte->relid, NULL, NULL,
					 psprintf("relation \"%s\" has governed partitions or inheritance children",
							  get_rel_name(rte->relid)),
					 psprintf("Agency \"%s\" reads governed data only through the governed tables themselves.",
							  e->agency),
					 psprintf("Query the governed tables, or ask the provider to govern \"%s\".",
							  get_rel_name(rte->relid)));
			continue;
		}
		e->governed = true;
		if (!is_consumer(e))
			continue;
		if (q->resultRelation == (int) rti)
			refuse(e, rte->relid, q->commandType == CMD_INSERT ? "insert into" :
				   q->commandType == CMD_UPDATE ? "update" :
				   q->commandType == CMD_DELETE ? "delete from" : "modify");
		if (get_parse_rowmark(q, rti) != NULL)
			refuse(e, rte->relid, "lock rows of");
		rewrite_entry(e, q, rti, rte);
	}
}

/* Walks a query tree bottom-up: sublinks, CTEs and subqueries first. */
static bool
enforce_walker(Node *node, Enforcement *e)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		query_tree_walker(q, enforce_walker, e, 0);
		enforce_level(e, q);
		return false;
	}
	return expression_tree_walker(node, enforce_walker, e);
}

/*
 * The planner hook's first half: rewrites parse for a consumer agency.
 * Returns what govshare_enforce_stamp needs to know of the plan.
 */
GovsharePlanKind
govshare_enforce_query(Query *parse)
{
	Enforcement e;

	memset(&e, 0, sizeof(e));
	e.policy = govshare_policy();
	if (!e.policy->installed || parse->commandType == CMD_UTILITY)
		return GOVSHARE_PLAN_PLAIN;
	e.now = GetCurrentStatementStartTimestamp();
	enforce_walker((Node *) parse, &e);
	if (!e.governed)
		return GOVSHARE_PLAN_PLAIN;
	return e.agency != NULL ? GOVSHARE_PLAN_CONSUMER : GOVSHARE_PLAN_GOVERNED;
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
 * plan with the epoch it was made in.
 */
void
govshare_enforce_stamp(PlannedStmt *plan, GovsharePlanKind kind)
{
	GovsharePolicy *policy;

	if (kind == GOVSHARE_PLAN_PLAIN)
		return;
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
static const char *
consumer_statement_start(void)
{
	GovsharePolicy *policy;

	if (IsParallelWorker())
		return NULL;
	policy = govshare_policy();
	if (!policy->installed || consumer_agency(policy) == NULL)
		return NULL;
	AcceptInvalidationMessages();
	/* the policy may have been reloaded: ask again, from the new one */
	policy = govshare_policy();
	refresh_epoch(policy, GetCurrentStatementStartTimestamp());
	return policy->installed ? consumer_agency(policy) : NULL;
}

/* Was plan made for a consumer (stamped by govshare_enforce_stamp)? */
bool
govshare_enforce_plan_is_consumer(PlannedStmt *plan)
{
	ListCell   *lc;

	foreach(lc, plan->invalItems)
		if (((PlanInvalItem *) lfirst(lc))->cacheId == STAMP_EPOCH)
			return true;
	return false;
}

/*
 * Executor start and run (each FETCH): refuses a plan that does not fit
 * the consumer's current epoch, role and rules.  Internal access is not
 * checked.
 */
void
govshare_enforce_check_plan(PlannedStmt *plan)
{
	const char *agency;
	bool		stamped = false;
	bool		fits = true;
	ListCell   *lc;

	if (plan->commandType == CMD_UTILITY)
		return;
	agency = consumer_statement_start();
	if (agency == NULL)
		return;

	foreach(lc, plan->invalItems)
	{
		PlanInvalItem *item = lfirst(lc);

		if (item->cacheId == STAMP_EPOCH)
		{
			stamped = true;
			fits &= item->hashValue == (uint32) epoch;
		}
		else if (item->cacheId == STAMP_ROLE)
			fits &= item->hashValue == (uint32) GetUserId();
	}
	if (stamped && fits)
		return;
	if (!stamped)
	{
		/* made for internal access (or before govshare): fine unless governed */
		foreach(lc, plan->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION && govshare_relation_governed(rte->relid))
			{
				fits = false;
				break;
			}
		}
		if (fits)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the plan of this statement no longer fits the sharing rules of agency \"%s\"", agency),
			 errdetail("The rules, the request context or the role changed after the statement was planned."),
			 errhint("Run the statement again; an open cursor must be opened again.")));
}

/*
 * Statement start (parse analysis): moves to a new epoch if time or the
 * policy made the cached plans stale, so that they are planned again
 * before use.
 */
void
govshare_enforce_statement_start(void)
{
	(void) consumer_statement_start();
}

/* A relation named by a utility statement, or InvalidOid. */
static Oid
named(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

static bool reads_governed(Oid relid, int depth);

typedef struct ReadsState
{
	Oid			self;
	int			depth;
} ReadsState;

/* Finds a governed relation, or a view reading one, anywhere in a query. */
static bool
reads_walker(Node *node, ReadsState *s)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind != RTE_RELATION || rte->relid == s->self)
				continue;
			if (govshare_relation_governed(rte->relid) ||
				((rte->relkind == RELKIND_VIEW || rte->relkind == RELKIND_MATVIEW) &&
				 reads_governed(rte->relid, s->depth + 1)))
				return true;
		}
		return query_tree_walker(q, reads_walker, s, 0);
	}
	return expression_tree_walker(node, reads_walker, s);
}

/* Does a view's or materialized view's query read a governed relation? */
static bool
reads_governed(Oid relid, int depth)
{
	Relation	rel;
	Query	   *query = NULL;
	ReadsState	s;

	if (depth > 32)
		return true;			/* fail closed on absurd nesting */
	rel = relation_open(relid, AccessShareLock);
	if (rel->rd_rel->relkind == RELKIND_VIEW || rel->rd_rel->relkind == RELKIND_MATVIEW)
		query = copyObject(get_view_query(rel));
	relation_close(rel, AccessShareLock);
	if (query == NULL)
		return false;
	s.self = relid;
	s.depth = depth;
	return reads_walker((Node *) query, &s);
}

/*
 * The utility hook's check for a consumer: refuses commands that write,
 * lock, maintain or relabel governed relations, and turns COPY relation TO
 * into COPY (SELECT ...) TO so that the planner enforces it.  Returns the
 * statement to run (pstmt itself, or a rewritten copy).
 */
PlannedStmt *
govshare_enforce_utility(PlannedStmt *pstmt)
{
	Node	   *stmt = pstmt->utilityStmt;
	Enforcement e;
	List	   *relids = NIL;
	const char *what = NULL;
	ListCell   *lc;

	memset(&e, 0, sizeof(e));
	e.policy = govshare_policy();
	if (!e.policy->installed)
		return pstmt;
	e.now = GetCurrentStatementStartTimestamp();

	switch (nodeTag(stmt))
	{
		case T_CopyStmt:
			{
				CopyStmt   *copy = (CopyStmt *) stmt;
				Oid			relid = named(copy->relation);

				if (!OidIsValid(relid) || !govshare_relation_governed(relid) || !is_consumer(&e))
					return pstmt;
				if (copy->is_from)
					refuse(&e, relid, "copy into");
				{
					CopyStmt   *query_copy = copyObject(copy);
					SelectStmt *select = makeNode(SelectStmt);
					RangeVar   *from = makeRangeVar(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid), -1);
					PlannedStmt *result = copyObject(pstmt);

					from->inh = false;	/* COPY t TO copies t's own rows */
					if (copy->attlist == NIL)
					{
						ColumnRef  *star = makeNode(ColumnRef);
						ResTarget  *target = makeNode(ResTarget);

						star->fields = list_make1(makeNode(A_Star));
						star->location = -1;
						target->val = (Node *) star;
						target->location = -1;
						select->targetList = list_make1(target);
					}
					else
						foreach(lc, copy->attlist)
						{
							ColumnRef  *column = makeNode(ColumnRef);
							ResTarget  *target = makeNode(ResTarget);

							column->fields = list_make1(makeString(strVal(lfirst(lc))));
							column->location = -1;
							target->name = pstrdup(strVal(lfirst(lc)));
							target->val = (Node *) column;
							target->location = -1;
							select->targetList = lappend(select->targetList, target);
						}
					select->fromClause = list_make1(from);
					query_copy->relation = NULL;
					query_copy->attlist = NIL;
					query_copy->query = (Node *) select;
					result->utilityStmt = (Node *) query_copy;
					return result;
				}
			}
		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) stmt)->relations)
				relids = lappend_oid(relids, named(lfirst(lc)));
			what = "truncate";
			break;
		case T_LockStmt:
			foreach(lc, ((LockStmt *) stmt)->relations)
				relids = lappend_oid(relids, named(lfirst(lc)));
			what = "lock";
			break;
		case T_RefreshMatViewStmt:
			{
				Oid			relid = named(((RefreshMatViewStmt *) stmt)->relation);

				if (OidIsValid(relid) && is_consumer(&e) && reads_governed(relid, 0))
					deny(&e, relid, NULL, NULL,
						 psprintf("agency \"%s\" may not refresh materialized view \"%s\" over governed data",
								  e.agency, get_rel_name(relid)),
						 "A materialized view keeps governed data beyond the request that read it.",
						 "Query the governed relations within a request context instead.");
				return pstmt;
			}
		case T_AlterTableStmt:
			relids = list_make1_oid(named(((AlterTableStmt *) stmt)->relation));
			what = "alter";
			break;
		case T_SecLabelStmt:
			if (is_consumer(&e))
				deny(&e, InvalidOid, NULL, NULL,
					 psprintf("agency \"%s\" may not set security labels", e.agency),
					 "Labels classify the provider's data; consumer agencies cannot change them.",
					 NULL);
			return pstmt;
		case T_ClusterStmt:
			relids = list_make1_oid(named(((ClusterStmt *) stmt)->relation));
			what = "cluster";
			break;
		case T_VacuumStmt:
			foreach(lc, ((VacuumStmt *) stmt)->rels)
				relids = lappend_oid(relids, named(((VacuumRelation *) lfirst(lc))->relation));
			what = ((VacuumStmt *) stmt)->is_vacuumcmd ? "vacuum" : "analyze";
			break;
		case T_ReindexStmt:
			relids = list_make1_oid(named(((ReindexStmt *) stmt)->relation));
			what = "reindex";
			break;
		case T_IndexStmt:
			relids = list_make1_oid(named(((IndexStmt *) stmt)->relation));
			what = "index";
			break;
		case T_CreateTrigStmt:
			relids = list_make1_oid(named(((CreateTrigStmt *) stmt)->relation));
			what = "create triggers on";
			break;
		case T_CreatePolicyStmt:
			relids = list_make1_oid(named(((CreatePolicyStmt *) stmt)->table));
			what = "create policies on";
			break;
		case T_AlterPolicyStmt:
			relids = list_make1_oid(named(((AlterPolicyStmt *) stmt)->table));
			what = "alter policies on";
			break;
		case T_RuleStmt:
			relids = list_make1_oid(named(((RuleStmt *) stmt)->relation));
			what = "create rules on";
			break;
		case T_RenameStmt:
			relids = list_make1_oid(named(((RenameStmt *) stmt)->relation));
			what = "rename";
			break;
		case T_AlterObjectSchemaStmt:
			relids = list_make1_oid(named(((AlterObjectSchemaStmt *) stmt)->relation));
			what = "move";
			break;
		case T_GrantStmt:
			{
				GrantStmt  *grant = (GrantStmt *) stmt;

				if (grant->targtype == ACL_TARGET_OBJECT && grant->objtype == OBJECT_TABLE)
					foreach(lc, grant->objects)
						relids = lappend_oid(relids, named(lfirst(lc)));
				what = "grant or revoke privileges on";
				break;
			}
		case T_DropStmt:
			{
				DropStmt   *drop = (DropStmt *) stmt;

				if (drop->removeType == OBJECT_TABLE)
					foreach(lc, drop->objects)
						relids = lappend_oid(relids, named(makeRangeVarFromNameList(lfirst(lc))));
				what = "drop";
				break;
			}
		default:
			return pstmt;
	}

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		if (OidIsValid(relid) && govshare_relation_governed(relid) && is_consumer(&e))
			refuse(&e, relid, what);
	}
	return pstmt;
}

/*
 * govshare.is_governed(rel regclass) returns boolean
 *
 * Whether rel is governed, itself or through an ancestor.
 */
PG_FUNCTION_INFO_V1(govshare_is_governed);
Datum
govshare_is_governed(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(govshare_relation_governed(PG_GETARG_OID(0)));
}
