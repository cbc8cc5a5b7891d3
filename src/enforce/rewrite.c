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
 * becomes a subquery
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
 * without filter grants it.  The filters (and the audit's subject qual) are
 * security quals of the relation entry, as row security's are, so a
 * consumer's qual runs before them only if it is leakproof, wherever the
 * planner puts it (an equality on a fully disclosed column still uses its
 * index, and a leaky function never sees a filtered row).  The subquery is
 * a security barrier only when there is no security qual (rewrite_entry
 * says why); otherwise the planner may pull it up, and a join clause of
 * the consumer's reaches the relation's indexes.
 *
 * Denials are errors raised while planning: no request context, a context
 * that no longer fits the session (SET ROLE, an expired token), no
 * applicable rule, or a referenced column that no rule grants (unless
 * govshare.on_denied_column = 'null').  Writes, row locks and most utility
 * commands on governed relations are refused; COPY relation TO becomes
 * COPY (SELECT ...) TO.
 *
 * The relation entry the subquery reads is marked (security_barrier, see
 * rewrite_entry), so that the executor can tell the reads the rewrite made
 * from relations the planner added afterwards (plancheck.c).  On the way
 * through the tree, a consumer's calls of activity statistics functions
 * and reads of materialized views made outside its rules are refused, and a
 * consumer's read of pg_statistic gets a qual that hides the statistics of
 * governed relations.
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
#include "rewrite/prs2lock.h"
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

/*
 * govshare.verify()'s own lookup (claims.c) while it runs: the relation it
 * reads at verify level, and the query text of its saved plan, or
 * InvalidOid and NULL.  Only the planning of that text, identified by its
 * address (the plan cache hands the planner its plan source's own copy),
 * reads at verify level: not another statement planned meanwhile, such as
 * the body of a function that the lookup's plan calls, even one with the
 * same text.
 */
static Oid	verify_armed = InvalidOid;
static const char *verify_query = NULL;

/*
 * While armed, the planning of query_string (that very string, not an
 * equal one) is govshare.verify()'s lookup of relid; InvalidOid disarms.
 */
void
govshare_enforce_verify_arm(Oid relid, const char *query_string)
{
	verify_armed = OidIsValid(relid) ? relid : InvalidOid;
	verify_query = OidIsValid(relid) ? query_string : NULL;
}

/* Is level read by SQL here?  Verify-level grants only by verify()'s lookup. */
static inline bool
level_read(GovshareEnforcement *e, Oid relid, GovshareLevel level)
{
	return level != GOVSHARE_VERIFY || e->verify_relid == relid;
}

/* Raises the denial of a column that rules disclose for verification only. */
static void
deny_verify_only(GovshareEnforcement *e, Oid relid, const char *column, const char *element)
{
	govshare_enforce_deny(e, relid, column, element,
		 column ?
		 psprintf("column \"%s\" of relation \"%s\" is disclosed to agency \"%s\" for verification only",
				  column, get_rel_name(relid), e->agency) :
		 psprintf("relation \"%s\" is disclosed to agency \"%s\" for verification only",
				  get_rel_name(relid), e->agency),
		 psprintf("The rules for purpose \"%s\" grant it at level verify: it cannot be read, filtered, grouped, ordered, joined or passed to a function.",
				  e->request->purpose),
		 "Check a claim with govshare.verify(relation, subject, claims), which answers true or false.");
}

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

/*
 * Raises the denial of a read of governed relation relid with no request
 * context, as planning it would (plancheck.c, for a plan made earlier).
 */
void
govshare_enforce_deny_unrequested(GovshareEnforcement *e, Oid relid)
{
	e->request = NULL;
	deny_relation(e, relid, NULL);
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
			Node *visible, int nread)
{
	int			i = att->attnum - 1;
	GovshareColumn *c = i < d->natts ? &d->columns[i] : NULL;
	Var		   *var;
	List	   *whens = NIL;
	Node	   *otherwise = NULL;
	CaseExpr   *cexpr;
	int			ngrants = 0;

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
	/* the most revealing grant is verify: SQL reads nothing of it */
	if (!level_read(e, relid, c->level))
	{
		if (govshare_on_denied_column == GOVSHARE_DENIED_COLUMN_NULL)
			return (Node *) makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
		deny_verify_only(e, relid, NameStr(att->attname), c->element);
	}
	for (int g = 0; g < c->ngrants; g++)
		ngrants += level_read(e, relid, c->grants[g].level);

	var = makeVar(1, att->attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
	for (int g = 0, k = 0; g < c->ngrants; g++)
	{
		GovshareDecisionRule *dr = &d->rules[c->grants[g].rule];
		GovshareLevel shown;
		Node	   *expr;

		/* rows that only verify-level rules grant it in read NULL */
		if (!level_read(e, relid, c->grants[g].level))
			continue;
		k++;
		/*
		 * verify()'s lookup compares, in C (claims.c), the value itself
		 * where a rule grants verify, and elsewhere what the rule discloses:
		 * a claim is never checked against more than SQL could read.
		 */
		if (e->verify_relid == relid && c->grants[g].level == GOVSHARE_VERIFY)
			expr = (Node *) copyObject(var);
		else
			expr = govshare_mask_expr(var, att, c->grants[g].level, e->agency, &shown);

		/*
		 * A rule without filter covers every visible row; so does a rule
		 * whose filter is the security qual itself, and the last grant when
		 * every rule read here grants the column, because a visible row
		 * passed some such rule's filter.
		 */
		if (dr->filter == NULL || (visible != NULL && equal(dr->filter, visible)) ||
			(k == ngrants && ngrants == nread))
		{
			otherwise = expr;
			break;
		}
		whens = lappend(whens, makeNode(CaseWhen));
		((CaseWhen *) llast(whens))->expr = (Expr *) copyObject(dr->filter);
		((CaseWhen *) llast(whens))->result = (Expr *) expr;
		((CaseWhen *) llast(whens))->location = -1;
	}
	if (whens == NIL && otherwise != NULL)
		return otherwise;
	/* rows that only rules not granting this column make visible: NULL */
	if (otherwise == NULL)
		otherwise = (Node *) makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
	if (whens == NIL)
		return otherwise;
	cexpr = makeNode(CaseExpr);
	cexpr->casetype = att->atttypid;
	cexpr->casecollid = att->attcollation;
	cexpr->args = whens;
	cexpr->defresult = (Expr *) otherwise;
	cexpr->location = -1;
	return (Node *) cexpr;
}

/*
 * Does the running server keep the statistics of a partition or child
 * table from a leaky estimator when the root parent has security quals?
 * From 15.14, 16.10 and 17.6 on (CVE-2025-8713), it checks the root
 * parent's security quals and privileges; before, a child entry's own,
 * which the expansion leaves empty.  The server's minor release can change
 * under a built extension, so the running one is asked.
 */
static bool
children_statistics_guarded(void)
{
	static int	version = 0;
	int			major;
	int			minor;

	if (version == 0)
		version = atoi(GetConfigOption("server_version_num", false, false));
	major = version / 10000;
	minor = version % 10000;
	return major >= 18 || (major == 17 && minor >= 6) ||
		(major == 16 && minor >= 10) || (major == 15 && minor >= 14);
}

/*
 * The security qual of a relation whose every row the consumer reads, with
 * no data subject to note (audit off, or no identity number): a call of
 * govshare.every_row_visible(), always true (PostgreSQL calls it per row
 * scanned, since it keeps a security qual at its relation, or once per
 * partition as a one-time filter).  Being a security qual, it lets
 * PostgreSQL pull the subquery up, a join's implied condition then probing
 * the index, while keeping the relation's statistics from leaky
 * estimators, as for any entry with security quals (see rewrite_entry).
 * NIL, and the subquery stays a barrier, in a database whose govshare
 * objects predate the function (ALTER EXTENSION ... UPDATE not yet run).
 */
static List *
every_row_visible_qual(void)
{
	Oid			fn = LookupFuncName(list_make2(makeString("govshare"), makeString("every_row_visible")),
									0, NULL, true);

	if (!OidIsValid(fn))
		return NIL;
	return list_make1(makeFuncExpr(fn, BOOLOID, NIL, InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL));
}

/*
 * Rewrites range-table entry rti of q, a governed relation read by a
 * consumer, into the subquery described at the top.
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
	int			nread = 0;
	Bitmapset  *selected = govshare_query_selected_cols(q, rte);
	Oid			owner;

	if (e->request == NULL || e->problem != NULL)
		deny_relation(e, rte->relid, NULL);
	d = govshare_decide(e->agency, e->request->purpose, rte->relid);
	govshare_epoch_limit(d->horizon);
	if (d->nrules == 0)
		deny_relation(e, rte->relid, d);

	/* system columns (ctid, xmin, ...) tell about rows, not of them: refused */
	for (int attno = FirstLowInvalidHeapAttributeNumber + 1; attno < 0; attno++)
		if (bms_is_member(attno - FirstLowInvalidHeapAttributeNumber, selected))
			govshare_enforce_deny(e, rte->relid, NULL, NULL,
				 psprintf("agency \"%s\" may not read system columns of governed relation \"%s\"",
						  e->agency, get_rel_name(rte->relid)),
				 "System columns describe the provider's storage, not shared data.",
				 "Leave ctid, xmin, xmax, cmin, cmax and tableoid out of the query.");

	/* the parser and rewriter hold a lock on it already */
	rel = relation_open(rte->relid, NoLock);
	desc = RelationGetDescr(rel);
	/*
	 * Rules of level verify make rows visible to verify()'s lookup only: to
	 * SQL, a relation that only they cover is refused whole, so that not
	 * even its rows' count shows.
	 */
	for (int r = 0; r < d->nrules; r++)
		nread += level_read(e, rte->relid, d->rules[r].level);
	if (nread == 0)
		deny_verify_only(e, rte->relid, NULL, NULL);

	/* the security qual: the rules' distinct filters, ORed */
	for (int r = 0; r < d->nrules && !every_row; r++)
	{
		ListCell   *lc;
		bool		seen = false;

		if (!level_read(e, rte->relid, d->rules[r].level))
			continue;
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

	whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, selected);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *expr;

		if (att->attisdropped)
			expr = dropped_null(att);
		else if (!whole_row &&
				 !bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, selected))
			expr = (Node *) makeNullConst(att->atttypid, att->atttypmod, att->attcollation);
		else
			expr = column_expr(e, d, att, rte->relid, visible, nread);
		tlist = lappend(tlist, makeTargetEntry((Expr *) expr, att->attnum,
											   pstrdup(att->attisdropped ? "" : NameStr(att->attname)),
											   false));
	}


	inner = copyObject(rte);
	owner = rel->rd_rel->relowner;

	/*
	 * The mark of a read the enforcement made (plancheck.c): PostgreSQL
	 * sets security_barrier on subquery entries only, and copies relation
	 * entries whole (inheritance children, the plan's flat range table),
	 * so every entry the planner derives from this one carries it, and no
	 * entry that bypassed the rewrite does.
	 */
	inner->security_barrier = true;
	if (visible != NULL)
		inner->securityQuals = lcons(copyObject(visible), inner->securityQuals);
	/* the data subjects of the visible rows, noted last (src/audit.c) */
	subjects = govshare_audit_subject_qual(d, desc);
	if (subjects != NULL)
		inner->securityQuals = lappend(inner->securityQuals, subjects);
	if (inner->securityQuals == NIL)
		inner->securityQuals = every_row_visible_qual();
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
	/* inner is checked as the owner, for SELECT of the columns read */
	govshare_move_permission_check(q, rte, sub, inner, owner);

	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;

	/*
	 * With security quals, the subquery may be pulled up: PostgreSQL keeps
	 * the consumer's leaky quals after them by security level, and its
	 * estimators call no leaky function on the relation's statistics.
	 * Without any, it would deem every row readable (the inner entry is
	 * checked as the owner) and show a leaky estimator the statistics of
	 * columns in full: the barrier keeps them from everything above it.
	 * An entry has none only where govshare.every_row_visible() is missing
	 * (every_row_visible_qual).
	 * Partitions and child tables have no security quals of their own once
	 * expanded; only minor releases that look up the root parent's
	 * (children_statistics_guarded) may pull such a relation up
	 * (docs/enforcement.md).
	 */
	rte->security_barrier = inner->securityQuals == NIL ||
		(inner->inh && has_subclass(inner->relid) && !children_statistics_guarded());
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = 0;
	rte->tablesample = NULL;
	rte->inh = false;
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

static bool reads_governed(Oid relid, int depth);

typedef struct ReadsState
{
	Oid			self;
	int			depth;
} ReadsState;

/*
 * Finds a governed relation anywhere in a query: itself, through its
 * partitions or inheritance children, or through a view or materialized
 * view that reads one.
 */
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
				(rte->inh && governed_below(rte->relid)) ||
				((rte->relkind == RELKIND_VIEW || rte->relkind == RELKIND_MATVIEW) &&
				 reads_governed(rte->relid, s->depth + 1)))
				return true;
		}
		return query_tree_walker(q, reads_walker, s, 0);
	}
	return expression_tree_walker(node, reads_walker, s);
}

/* The query of a view or materialized view (its _RETURN rule), or NULL. */
static Query *
definition(Relation rel)
{
	if (rel->rd_rules == NULL)
		return NULL;
	for (int i = 0; i < rel->rd_rules->numLocks; i++)
	{
		RewriteRule *rule = rel->rd_rules->rules[i];

		if (rule->event == CMD_SELECT && list_length(rule->actions) == 1)
			return linitial_node(Query, rule->actions);
	}
	return NULL;
}

/* Does a view's or materialized view's query read a governed relation? */
static bool
reads_governed(Oid relid, int depth)
{
	Relation	rel;
	Query	   *query = NULL;
	ReadsState	s;
	char		kind;

	if (depth > 32)
		return true;			/* fail closed on absurd nesting */
	/* only views and materialized views have a definition: others unopened */
	kind = get_rel_relkind(relid);
	if (kind != RELKIND_VIEW && kind != RELKIND_MATVIEW)
		return false;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return false;
	if (rel->rd_rel->relkind == RELKIND_VIEW || rel->rd_rel->relkind == RELKIND_MATVIEW)
		query = copyObject(definition(rel));
	relation_close(rel, AccessShareLock);
	if (query == NULL)
		return false;
	s.self = relid;
	s.depth = depth;
	return reads_walker((Node *) query, &s);
}

/*
 * Does the definition of relid, a view or a materialized view, read
 * governed data (directly, through views, partitions, or other
 * materialized views)?  False for any other relation.
 */
bool
govshare_enforce_reads_governed(Oid relid)
{
	return reads_governed(relid, 0);
}

/*
 * Would a consumer of agency be refused relid, a materialized view that is
 * not governed?  Its rows were computed by its owner when it was last
 * refreshed, outside the rules.  Refused when its definition reads
 * governed data (*owner set to InvalidOid), or when its owner does not act
 * for the agency (*owner set to it): what the functions of its definition
 * read (a SQL or PL/pgSQL function, query_to_xml, dblink) is not to be
 * seen in it.  A materialized view that a role of the agency made from its
 * own tables passes.
 */
static bool
copy_refused(GovsharePolicy *policy, const char *agency, Oid relid, Oid *owner)
{
	HeapTuple	tuple;
	const char *owner_agency;
	bool		consumer;
	bool		ambiguous;

	*owner = InvalidOid;
	if (govshare_enforce_reads_governed(relid))
		return true;
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return false;
	*owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	owner_agency = govshare_role_agency_noerror(policy, *owner, &consumer, &ambiguous);
	return !consumer || ambiguous || owner_agency == NULL || strcmp(owner_agency, agency) != 0;
}

/*
 * A consumer reads relid, a materialized view that is not governed:
 * refused (recorded) as copy_refused says.
 */
void
govshare_enforce_check_copy(GovshareEnforcement *e, Oid relid)
{
	Oid			owner;

	if (copy_refused(e->policy, e->agency, relid, &owner))
		govshare_enforce_refuse_copy(e, relid, owner);
}

/* "NOT govshare.<name>(starelid)" over pg_statistic, range-table entry rti. */
static Node *
not_of_starelid(const char *name, Index rti)
{
	Oid			argtype = REGCLASSOID;
	Oid			fn = LookupFuncName(list_make2(makeString("govshare"), makeString(pstrdup(name))),
									1, &argtype, true);
	Node	   *starelid = (Node *) makeVar(rti, Anum_pg_statistic_starelid, OIDOID, -1, InvalidOid, 0);
	Node	   *call;

	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("function govshare.%s(regclass) is missing", name),
				 errdetail("The extension's SQL objects are older than its library, which hides statistics with it."),
				 errhint("Run ALTER EXTENSION govshare UPDATE.")));
	call = (Node *) makeFuncExpr(fn, BOOLOID,
								 list_make1(makeRelabelType((Expr *) starelid, REGCLASSOID, -1,
															InvalidOid, COERCE_IMPLICIT_CAST)),
								 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	return (Node *) makeBoolExpr(NOT_EXPR, list_make1(call), -1);
}

/*
 * Hides the statistics of governed relations, and of the materialized
 * views refused to the consumer, from a consumer reading pg_statistic
 * (through pg_stats): "NOT govshare.statistics_hidden(starelid)" as a
 * security qual.  The entry gets the rewrite's mark, which the plan's
 * invariant asks of it (plancheck.c).
 */
static void
hide_statistics(Query *q, Index rti, RangeTblEntry *rte)
{
	rte->securityQuals = lcons(not_of_starelid("statistics_hidden", rti), rte->securityQuals);
	rte->security_barrier = true;
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
			if (rte->relkind == RELKIND_MATVIEW && govshare_enforce_is_consumer(e))
				govshare_enforce_check_copy(e, rte->relid);
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
		/* comparisons of its columns reach the raw columns' indexes */
		govshare_implied_add(q, rti, rte);
	}
}

/*
 * check_functions_in_node's callback: refuses a consumer's call of a
 * statistics function (plancheck.c).  Returns false (keep looking).
 */
static bool
refuse_statistics(Oid fn, void *context)
{
	GovshareEnforcement *e = context;

	if (govshare_enforce_statistics_function(fn))
		govshare_enforce_refuse_statistics(e, fn);
	return false;
}

/*
 * Walks a query tree bottom-up: sublinks, CTEs and subqueries first.  A
 * consumer's calls of statistics functions are refused on the way; the
 * calls the rewrite adds come after the walk.
 */
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
	if (e->calls_checked < 0)
		e->calls_checked = govshare_consumer_of(e->policy, NULL) != NULL;
	if (e->calls_checked)
		(void) check_functions_in_node(node, refuse_statistics, e);
	return expression_tree_walker(node, enforce_walker, e);
}

/*
 * The planner hook's first half: rewrites parse, planned from
 * query_string, for a consumer agency.  Returns what govshare_enforce_stamp needs to know of the plan.
 */
GovsharePlanKind
govshare_enforce_query(Query *parse, const char *query_string)
{
	GovshareEnforcement e;

	if (parse->commandType == CMD_UTILITY || !govshare_enforce_begin(&e))
		return GOVSHARE_PLAN_PLAIN;
	e.calls_checked = -1;
	e.verify_relid = (verify_query != NULL && query_string == verify_query) ?
		verify_armed : InvalidOid;
	enforce_walker((Node *) parse, &e);
	if (!e.governed)
		return GOVSHARE_PLAN_PLAIN;
	return e.agency != NULL ? GOVSHARE_PLAN_CONSUMER : GOVSHARE_PLAN_GOVERNED;
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
 * govshare.reads_governed(rel regclass) returns boolean
 *
 * Whether rel, a view or a materialized view, reads governed data: the
 * test the enforcement applies to materialized views, for check_setup().
 */
PG_FUNCTION_INFO_V1(govshare_reads_governed);
Datum
govshare_reads_governed(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(govshare_enforce_reads_governed(PG_GETARG_OID(0)));
}

/*
 * govshare.statistics_hidden(rel regclass) returns boolean
 *
 * Whether pg_stats hides rel's statistics from the session: from a
 * consumer, those of governed relations and of the materialized views it
 * is refused; from internal roles, those of governed relations only (the
 * qual is a consumer's).
 */
PG_FUNCTION_INFO_V1(govshare_statistics_hidden);
Datum
govshare_statistics_hidden(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	GovsharePolicy *policy;
	const char *agency;
	Oid			owner;

	if (govshare_relation_governed(relid))
		PG_RETURN_BOOL(true);
	if (get_rel_relkind(relid) != RELKIND_MATVIEW)
		PG_RETURN_BOOL(false);
	policy = govshare_policy();
	agency = policy->installed ? govshare_consumer_of(policy, NULL) : NULL;
	PG_RETURN_BOOL(agency != NULL && copy_refused(policy, agency, relid, &owner));
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

/*
 * govshare.every_row_visible() returns boolean
 *
 * True: the security qual of a governed relation the consumer reads whole
 * (every_row_visible_qual).
 */
PG_FUNCTION_INFO_V1(govshare_every_row_visible);
Datum
govshare_every_row_visible(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(true);
}
