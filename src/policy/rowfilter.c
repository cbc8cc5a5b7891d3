/*-------------------------------------------------------------------------
 *
 * rowfilter.c
 *	  Row filters of sharing rules: analysed once, stored as node trees.
 *
 * A rule's row filter is written as SQL text ("province = 79") but it is
 * never spliced into a query.  It is parsed on its own, analysed against
 * the rule's relation, and checked: a boolean expression over that
 * relation's columns, with no subquery, aggregate, window function,
 * set-returning or volatile function, system or whole-row column.  The
 * result is stored as a node tree (nodeToString) in govshare.rule, and the
 * decision engine reads it back with stringToNode.
 *
 * When a rule made for a parent applies to a partition or an inheritance
 * child, its filter's columns are mapped by name to the child's.  A filter
 * that no longer matches its relation (a column was dropped or changed
 * type) is reported, and the rule grants nothing: fail closed.
 *
 * src/rowfilter.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "parser/parser.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "policy/gs_policy.h"

/* Raises "invalid row filter" with the given detail. */
static void
reject(Relation rel, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid row filter for relation \"%s\"", RelationGetRelationName(rel)),
			 errdetail("%s", detail),
			 errhint("A row filter is a boolean expression over the relation's own columns, such as \"province = 79\".")));
}

/*
 * Turns the error being handled (from the parser or the analysis of a
 * filter) into "invalid row filter", keeping its code, message and hint.
 */
static void
reraise(Relation rel, MemoryContext caller)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(caller);
	edata = CopyErrorData();
	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->elevel > ERROR)
		PG_RE_THROW();
	FlushErrorState();
	ereport(ERROR,
			(errcode(edata->sqlerrcode),
			 errmsg("invalid row filter for relation \"%s\"", RelationGetRelationName(rel)),
			 errdetail("%s.", edata->message),
			 edata->hint ? errhint("%s", edata->hint)
			 : errhint("A row filter is a boolean expression over the relation's own columns, such as \"province = 79\".")));
}

/* Checks every Var of the filter: this relation's user columns only. */
static bool
check_vars(Node *node, Relation rel)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno != 1 || var->varlevelsup != 0)
			reject(rel, "It refers to another relation.");
		if (var->varattno == 0)
			reject(rel, "It refers to the whole row.");
		if (var->varattno < 0)
			reject(rel, "It refers to a system column.");
		return false;
	}
	return expression_tree_walker(node, check_vars, (void *) rel);
}

/*
 * Parses and analyses text as a row filter of rel; returns the expression
 * (Vars with varno 1) or raises an error naming what is wrong.
 */
Node *
govshare_rowfilter_analyse(Relation rel, const char *text)
{
	List	   *volatile raw = NIL;
	SelectStmt *select;
	ResTarget  *target;
	ParseState *pstate;
	ParseNamespaceItem *nsitem;
	Node	   *volatile expr = NULL;
	MemoryContext caller = CurrentMemoryContext;
	const char *problem;

	if (text[strspn(text, " \t\r\n")] == '\0')
		reject(rel, "It is empty.");

	/*
	 * An expression, parsed as PL/pgSQL parses one: no statement around it.
	 * Errors of the parser and of the analysis are reported as errors of
	 * the filter, without a cursor position, which would point into
	 * whatever statement called us rather than into the filter.
	 */
	PG_TRY();
	{
		raw = raw_parser(text, RAW_PARSE_PLPGSQL_EXPR);
	}
	PG_CATCH();
	{
		reraise(rel, caller);
	}
	PG_END_TRY();
	if (list_length(raw) != 1 || !IsA(linitial_node(RawStmt, raw)->stmt, SelectStmt))
		reject(rel, "It is not a single expression.");
	select = (SelectStmt *) linitial_node(RawStmt, raw)->stmt;
	if (list_length(select->targetList) != 1 || select->fromClause != NIL ||
		select->whereClause != NULL || select->groupClause != NIL ||
		select->havingClause != NULL || select->windowClause != NIL ||
		select->sortClause != NIL || select->limitCount != NULL ||
		select->limitOffset != NULL || select->lockingClause != NIL ||
		select->distinctClause != NIL || select->intoClause != NULL ||
		select->withClause != NULL)
		reject(rel, "It is not a single expression.");
	target = linitial_node(ResTarget, select->targetList);
	if (target->name != NULL)
		reject(rel, "It is not a single expression.");

	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = text;
	nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, NULL, false, false);
	addNSItemToQuery(pstate, nsitem, false, true, true);

	/* EXPR_KIND_POLICY refuses aggregates, window functions and SRFs */
	PG_TRY();
	{
		expr = transformExpr(pstate, target->val, EXPR_KIND_POLICY);
		expr = coerce_to_boolean(pstate, expr, "row filter");
		assign_expr_collations(pstate, expr);
	}
	PG_CATCH();
	{
		reraise(rel, caller);
	}
	PG_END_TRY();

	if (pstate->p_hasSubLinks || checkExprHasSubLink(expr))
		reject(rel, "It contains a subquery.");
	if (pstate->p_hasAggs || contain_aggs_of_level(expr, 0))
		reject(rel, "It contains an aggregate.");
	if (pstate->p_hasWindowFuncs || contain_windowfuncs(expr))
		reject(rel, "It contains a window function.");
	if (expression_returns_set(expr))
		reject(rel, "It contains a set-returning function.");
	if (contain_volatile_functions(expr))
		reject(rel, "It calls a volatile function, whose result could differ from row to row or call to call.");
	/* every consumer runs it as itself: only code a superuser owns */
	if ((problem = govshare_expr_problem(expr, InvalidOid)) != NULL)
		reject(rel, psprintf("Consumers run a row filter as themselves, and %s.", problem));
	check_vars(expr, rel);
	free_parsestate(pstate);
	return expr;
}

/*
 * govshare.analyse_row_filter(relation regclass, row_filter text) returns text
 *
 * The node tree of a row filter, for govshare.rule.row_filter_tree.
 */
PG_FUNCTION_INFO_V1(govshare_analyse_row_filter);
Datum
govshare_analyse_row_filter(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Relation	rel;
	Node	   *expr;
	char	   *tree;

	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("Sharing rules apply to tables and partitioned tables.")));
	expr = govshare_rowfilter_analyse(rel, source);
	tree = nodeToString(expr);
	relation_close(rel, AccessShareLock);
	PG_RETURN_TEXT_P(cstring_to_text(tree));
}

typedef struct map_context
{
	Oid			from;
	Oid			to;
	const char *problem;
} map_context;

/* Maps Vars of a filter over ctx->from to the same-named columns of ctx->to. */
static Node *
map_vars(Node *node, map_context *ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		HeapTuple	tuple;
		Form_pg_attribute att;
		char	   *name;
		AttrNumber	attnum;
		Oid			type;
		int32		typmod;
		Oid			collation;

		tuple = SearchSysCache2(ATTNUM, ObjectIdGetDatum(ctx->from), Int16GetDatum(var->varattno));
		if (!HeapTupleIsValid(tuple))
		{
			ctx->problem = "a column it reads no longer exists";
			return node;
		}
		att = (Form_pg_attribute) GETSTRUCT(tuple);
		if (att->attisdropped || att->atttypid != var->vartype ||
			att->atttypmod != var->vartypmod || att->attcollation != var->varcollid)
		{
			ReleaseSysCache(tuple);
			ctx->problem = "a column it reads was dropped or changed type";
			return node;
		}
		name = pstrdup(NameStr(att->attname));
		ReleaseSysCache(tuple);
		if (ctx->from == ctx->to)
			return (Node *) copyObject(var);
		attnum = get_attnum(ctx->to, name);
		if (attnum == InvalidAttrNumber)
		{
			ctx->problem = "a column it reads is missing from this relation";
			return node;
		}
		get_atttypetypmodcoll(ctx->to, attnum, &type, &typmod, &collation);
		if (type != var->vartype || typmod != var->vartypmod || collation != var->varcollid)
		{
			ctx->problem = "a column it reads has another type in this relation";
			return node;
		}
		var = copyObject(var);
		var->varattno = attnum;
		var->varattnosyn = attnum;
		return (Node *) var;
	}
	return expression_tree_mutator(node, map_vars, (void *) ctx);
}

/*
 * The filter of a rule made for relation from, as it applies to relation to
 * (from itself or a descendant): a copy with the columns mapped by name.
 * Returns NULL and sets *problem when the filter no longer fits.
 */
Node *
govshare_rowfilter_map(Node *filter, Oid from, Oid to, const char **problem)
{
	map_context ctx = {from, to, NULL};
	Node	   *result = map_vars(filter, &ctx);

	*problem = ctx.problem;
	return ctx.problem ? NULL : result;
}
