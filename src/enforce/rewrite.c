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

#include "audit/gs_audit.h"
#include "enforce/enforce_internal.h"

/* GUC (src/guc.c): what a query that names a denied column gets. */
int			govshare_on_denied_column = GOVSHARE_DENIED_COLUMN_ERROR;

/* Raises the error for a relation the consumer may not read at all. */
static void
deny_relation(GovshareEnforcement *e, Oid relid, GovshareDecision *d)
{
	const char *rel = get_rel_name(relid);

	if (e->request == NULL)
		govshare_enforce_deny(e, relid, NULL, NULL,
			 psprintf("agency \"%s\" has declared no purpose to read governed relation \"%s\"",
					  e->agency, rel),
			 "Consumer agencies read governed data only within a request context that names the purpose.",
			 "Call govshare.begin_request(purpose) or govshare.begin_request_signed(token) first; govshare.explain_access() shows what a purpose gives.");
	if (e->problem != NULL)
		govshare_enforce_deny(e, relid, NULL, NULL,
			 psprintf("the request context does not apply to agency \"%s\" reading governed relation \"%s\" for purpose \"%s\"",
					  e->agency, rel, e->request->purpose),
			 e->problem,
			 "Call govshare.begin_request() or govshare.begin_request_signed() again as the current role.");
	govshare_enforce_deny(e, relid, NULL, NULL,
		 psprintf("agency \"%s\" may not read relation \"%s\" for purpose \"%s\"",
				  e->agency, rel, e->request->purpose),
		 govshare_enforce_sentence(d->reason),
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
column_expr(GovshareEnforcement *e, GovshareDecision *d, Form_pg_attribute att, Oid relid,
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
		if (govshare_on_denied_column == GOVSHARE_DENIED_COLUMN_NULL)
			return (Node *) makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
		govshare_enforce_deny(e, relid, NameStr(att->attname), c ? c->element : NULL,
			 psprintf("column \"%s\" of relation \"%s\" is denied to agency \"%s\" for purpose \"%s\"",
					  NameStr(att->attname), get_rel_name(relid), e->agency, e->request->purpose),
			 govshare_enforce_sentence(c && c->reason ? c->reason : "the column changed since the decision was made"),
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
rewrite_entry(GovshareEnforcement *e, Query *q, Index rti, RangeTblEntry *rte)
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
	govshare_epoch_limit(d->horizon);
	if (d->nrules == 0)
		deny_relation(e, rte->relid, d);

	/* system columns (ctid, xmin, ...) tell about rows, not of them: refused */
	for (int attno = FirstLowInvalidHeapAttributeNumber + 1; attno < 0; attno++)
		if (bms_is_member(attno - FirstLowInvalidHeapAttributeNumber, rte->selectedCols))
			govshare_enforce_deny(e, rte->relid, NULL, NULL,
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
enforce_level(GovshareEnforcement *e, Query *q)
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
			if (govshare_enforce_is_consumer(e))
				hide_statistics(q, rti, rte);
			continue;
		}
		if (!govshare_relation_governed(rte->relid))
		{
			if (rte->inh && govshare_enforce_is_consumer(e) && governed_below(rte->relid))
				govshare_enforce_deny(e, rte->relid, NULL, NULL,
					 psprintf("relation \"%s\" has governed partitions or inheritance children",
							  get_rel_name(rte->relid)),
					 psprintf("Agency \"%s\" reads governed data only through the governed tables themselves.",
							  e->agency),
					 psprintf("Query the governed tables, or ask the provider to govern \"%s\".",
							  get_rel_name(rte->relid)));
			continue;
		}
		e->governed = true;
		if (!govshare_enforce_is_consumer(e))
			continue;
		if (q->resultRelation == (int) rti)
			govshare_enforce_refuse(e, rte->relid, q->commandType == CMD_INSERT ? "insert into" :
				   q->commandType == CMD_UPDATE ? "update" :
				   q->commandType == CMD_DELETE ? "delete from" : "modify");
		if (get_parse_rowmark(q, rti) != NULL)
			govshare_enforce_refuse(e, rte->relid, "lock rows of");
		rewrite_entry(e, q, rti, rte);
	}
}

/* Walks a query tree bottom-up: sublinks, CTEs and subqueries first. */
static bool
enforce_walker(Node *node, GovshareEnforcement *e)
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
	GovshareEnforcement e;

	if (parse->commandType == CMD_UTILITY || !govshare_enforce_begin(&e))
		return GOVSHARE_PLAN_PLAIN;
	enforce_walker((Node *) parse, &e);
	if (!e.governed)
		return GOVSHARE_PLAN_PLAIN;
	return e.agency != NULL ? GOVSHARE_PLAN_CONSUMER : GOVSHARE_PLAN_GOVERNED;
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
	bool		stamped;
	bool		fits = true;
	ListCell   *lc;

	if (plan->commandType == CMD_UTILITY)
		return;
	agency = govshare_consumer_statement_start();
	if (agency == NULL)
		return;
	if (govshare_plan_fits(plan, &stamped))
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
	(void) govshare_consumer_statement_start();
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
