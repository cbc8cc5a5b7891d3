/*-------------------------------------------------------------------------
 *
 * implied.c
 *	  Index-preserving enforcement: the conditions on a raw column that a
 *	  consumer's comparison of the column's disclosed value implies.
 *
 * After rewrite.c has turned a governed relation into its subquery, a
 * column disclosed in full for some rows and transformed for
 * the others is a CASE over the rows ("CASE WHEN f THEN col ELSE
 * mask(col) END"), and the consumer's "personal_id = '079...'" compares
 * that CASE: no index applies.  For the 8-byte national types a value form
 * can only come from the full branch (fullform.c says why), so the
 * comparison implies one on the raw column.  This file finds, in the
 * query level that reads the relation, each top-level conjunct of the
 * WHERE clause and of every join's ON clause of the form
 *
 *	column <op> value		(op one of = < <= > >= of the type's btree family,
 *	value <op> column		 either side)
 *	column = ANY(values)	(IN lists too)
 *
 * where value holds no column of the relation, nothing volatile and no
 * subquery (a constant, a parameter, a column of another range-table
 * entry, personal_id($1)), and ANDs to the same clause the implied
 * condition, as a call of govshare.full_form_*() on the raw column:
 *
 *	WHERE c.personal_id = $1
 *	  becomes
 *	WHERE c.personal_id = $1 AND govshare.full_form_eq(c.<raw personal_id>, $1)
 *
 * The consumer's comparison stays and decides; the added condition holds
 * whenever it does (Q AND I is Q when Q implies I, in WHERE and in any ON
 * clause alike), so the answer cannot change.  The raw column reaches the
 * outer query as an output of the subquery after the relation's own
 * columns, named in the entry only after parsing, so no name of the
 * consumer's reaches it, and statements with a whole-row reference
 * of the entry (which would read every output) get no implied condition.
 * The planner pushes the condition into the subquery, or pulls the
 * subquery up: either way it becomes a condition on the base relation,
 * leakproof, and may be an index condition below the rules' filters, like
 * a comparison on a column disclosed in full.  A join's condition reaches
 * the relation only once the subquery is pulled up (rewrite.c says when it
 * may be), as the condition of a parameterized scan.
 *
 * A column disclosed as the keyed pseudonym wherever it is disclosed
 * ("pseudonym(col, agency)") compares pseudonyms, which the server can
 * decipher (src/enforce/pseudonym.c): "col = x" and IN lists of
 * pseudonyms get govshare.pseudonym_eq(<raw col>, x, agency), whose
 * support function offers the deciphered bounds to the column's index
 * (pseudonym_conditions).
 *
 * src/enforce/implied.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "access/sysattr.h"
#include "catalog/pg_am.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "common/gs_common.h"
#include "enforce/enforce_internal.h"

/* One conjunct that compares a column of the rewritten entry. */
typedef struct Comparison
{
	AttrNumber	attno;
	int			strategy;		/* btree strategy, column on the left */
	bool		any;			/* column = ANY(value) */
	Node	   *value;
	Node	   *agency;			/* disclosed as pseudonym(col, agency): the agency */
	Var		   *column;			/* the consumer's reference to the column */
} Comparison;

/* Most elements of an IN list of parameters turned into one OR. */
#define IMPLIED_MAX_OR	1000

/*
 * Is expr, the disclosure expression of attribute attno, a CASE over the
 * rows with the raw column as one of its results (in full for some rows,
 * transformed or NULL for the others), of a type whose values carry their
 * form?  Only such columns need, and allow, implied conditions.
 */
static bool
form_separated(Node *expr, AttrNumber attno)
{
	CaseExpr   *c;
	ListCell   *lc;
	bool		raw = false;

	if (expr == NULL || !IsA(expr, CaseExpr))
		return false;
	c = (CaseExpr *) expr;
	if (!govshare_fullform_type(c->casetype))
		return false;
	foreach(lc, c->args)
	{
		Node	   *r = (Node *) ((CaseWhen *) lfirst(lc))->result;

		raw |= IsA(r, Var) && ((Var *) r)->varattno == attno;
	}
	if (c->defresult != NULL && IsA(c->defresult, Var))
		raw |= ((Var *) c->defresult)->varattno == attno;
	return raw;
}

/*
 * Is expr the keyed pseudonym of attribute attno, "pseudonym(col, agency)"
 * as mask.c builds it, of an 8-byte national type?  Returns the agency's
 * constant, else NULL.
 */
static Node *
pseudonym_call_agency(Node *expr, AttrNumber attno)
{
	FuncExpr   *f = (FuncExpr *) expr;
	Node	   *col;
	char	   *name;

	if (expr == NULL || !IsA(expr, FuncExpr) || f->funcformat != COERCE_SQL_SYNTAX ||
		list_length(f->args) != 2 || !govshare_fullform_type(f->funcresulttype))
		return NULL;
	col = linitial(f->args);
	if (!IsA(col, Var) || ((Var *) col)->varattno != attno || !IsA(lsecond(f->args), Const))
		return NULL;
	name = get_func_name(f->funcid);
	if (name == NULL || strcmp(name, "pseudonym") != 0 ||
		get_func_namespace(f->funcid) != get_namespace_oid("govshare", true))
		return NULL;
	return lsecond(f->args);
}

/*
 * Is expr, the disclosure expression of attribute attno, the keyed
 * pseudonym of the raw column wherever it is disclosed: the call itself
 * (a rule without filter), or a CASE over the rows whose every result is
 * that call, for one agency, or NULL (rules with filters)?  Returns the
 * agency's constant, else NULL.  Such a pseudonym names its value
 * (src/enforce/pseudonym.c), so an equality with it implies bounds on the
 * raw column (pseudonym_conditions).
 */
static Node *
pseudonym_agency(Node *expr, AttrNumber attno)
{
	CaseExpr   *c = (CaseExpr *) expr;
	Node	   *agency = NULL;
	List	   *results = NIL;
	ListCell   *lc;

	if (expr == NULL || !IsA(expr, CaseExpr))
		return pseudonym_call_agency(expr, attno);
	foreach(lc, c->args)
		results = lappend(results, ((CaseWhen *) lfirst(lc))->result);
	results = lappend(results, c->defresult);
	foreach(lc, results)
	{
		Node	   *r = lfirst(lc);
		Node	   *a;

		if (r == NULL || (IsA(r, Const) && ((Const *) r)->constisnull))
			continue;
		a = pseudonym_call_agency(r, attno);
		if (a == NULL || (agency != NULL && !equal(a, agency)))
			return NULL;
		agency = a;
	}
	return agency;
}

/* value_ok's walker: true on anything a value may not hold. */
static bool
value_refused(Node *node, Index *rti)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varlevelsup == 0 && ((Var *) node)->varno == (int) *rti;
	if (IsA(node, SubLink) || IsA(node, Aggref) || IsA(node, WindowFunc) ||
		IsA(node, GroupingFunc) || IsA(node, Query))
		return true;
	return expression_tree_walker(node, value_refused, rti);
}

/*
 * May value stand beside a comparison's column in an implied condition?
 * Constants, parameters, columns of other entries (a join) or of outer
 * query levels, and expressions over them (a cast, personal_id($1)):
 * nothing volatile, no set, no subquery, nothing of the entry itself, and
 * only functions a superuser owns.  Copying such a value cannot change the
 * statement's meaning (it may be evaluated any number of times), cannot
 * show a row of the entry to any function, since it holds no column of
 * it, and runs no code of the consumer's: the implied condition counts as
 * leakproof, so it may be evaluated on rows the filters hide, and a
 * function of the consumer's that counted its calls there would count
 * those rows.
 */
static bool
value_ok(Node *value, Index rti)
{
	return value != NULL && !contain_volatile_functions(value) &&
		!expression_returns_set(value) && !value_refused(value, &rti) &&
		govshare_expr_problem(value, InvalidOid) == NULL;
}

/* The column side: a Var of entry rti at this level, or -1. */
static AttrNumber
column_of(Node *n, Index rti)
{
	Var		   *v = (Var *) n;

	if (n == NULL || !IsA(n, Var) || v->varno != (int) rti || v->varlevelsup != 0 ||
		v->varattno <= 0)
		return -1;
	return v->varattno;
}

/* The btree strategy of opno on typid's default family, or 0. */
static int
strategy_of(Oid opno, Oid typid)
{
	Oid			opclass = GetDefaultOpClass(typid, BTREE_AM_OID);
	Oid			lefttype;
	Oid			righttype;
	int			strategy;
	Oid			family;

	if (!OidIsValid(opclass))
		return 0;
	family = get_opclass_family(opclass);
	if (!op_in_opfamily(opno, family))
		return 0;
	get_op_opfamily_properties(opno, family, false, &strategy, &lefttype, &righttype);
	return lefttype == typid && righttype == typid ? strategy : 0;
}

/*
 * Reads one conjunct: a comparison of a form-separated column of entry rti
 * (sub its subquery) with an acceptable value.  Returns false otherwise.
 */
static bool
read_comparison(Node *conjunct, Index rti, Query *sub, Comparison *cmp)
{
	Node	   *left;
	Node	   *right;
	Oid			opno;
	TargetEntry *tle;

	if (IsA(conjunct, OpExpr) && list_length(((OpExpr *) conjunct)->args) == 2)
	{
		opno = ((OpExpr *) conjunct)->opno;
		left = linitial(((OpExpr *) conjunct)->args);
		right = lsecond(((OpExpr *) conjunct)->args);
		cmp->any = false;
		if (column_of(left, rti) < 0 && column_of(right, rti) >= 0)
		{
			Node	   *t = left;

			left = right;
			right = t;
			opno = get_commutator(opno);
		}
	}
	else if (IsA(conjunct, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) conjunct)->useOr)
	{
		opno = ((ScalarArrayOpExpr *) conjunct)->opno;
		left = linitial(((ScalarArrayOpExpr *) conjunct)->args);
		right = lsecond(((ScalarArrayOpExpr *) conjunct)->args);
		cmp->any = true;
	}
	else
		return false;

	cmp->attno = column_of(left, rti);
	if (cmp->attno < 0 || !OidIsValid(opno) || !value_ok(right, rti))
		return false;
	cmp->column = (Var *) left;
	tle = list_nth(sub->targetList, cmp->attno - 1);
	cmp->agency = pseudonym_agency((Node *) tle->expr, cmp->attno);
	if (cmp->agency == NULL && !form_separated((Node *) tle->expr, cmp->attno))
		return false;
	cmp->strategy = strategy_of(opno, exprType(left));
	if (cmp->strategy == 0 || (cmp->any && cmp->strategy != BTEqualStrategyNumber))
		return false;
	/* pseudonyms keep no order: only equality implies anything */
	if (cmp->agency != NULL && cmp->strategy != BTEqualStrategyNumber)
		return false;
	if (exprType(right) != (cmp->any ? get_array_type(exprType(left)) : exprType(left)))
		return false;
	cmp->value = right;
	return true;
}

/*
 * raw, nulled by the outer joins that null column, the consumer's
 * reference beside which it is used (PostgreSQL 16 marks each Var with
 * the outer joins below it that can make it NULL, and checks the marks).
 */
static Var *
nulled_like(Var *raw, Var *column)
{
#if PG_VERSION_NUM >= 160000
	raw->varnullingrels = bms_copy(column->varnullingrels);
#endif
	return raw;
}

/*
 * The raw column attno of the subquery of entry rti, as a Var of the outer
 * query beside column: an output of the subquery after the relation's
 * columns (as many as the relation entry inside has names), added once
 * per column.  The entry's column names get its name too, after the
 * parser is done with them: a subquery that stays a subquery (a security
 * barrier, or one PostgreSQL does not pull up) is a relation of the outer
 * query with one column per name, and a Var past them, as a join's
 * implied condition needs at the join, would index past the planner's
 * per-column arrays.
 */
static Var *
raw_column(RangeTblEntry *rte, Index rti, AttrNumber attno, Var *column)
{
	Query	   *sub = rte->subquery;
	TargetEntry *src = list_nth(sub->targetList, attno - 1);
	RangeTblEntry *inner = linitial_node(RangeTblEntry, sub->rtable);
	Var		   *raw = NULL;
	ListCell   *lc;
	TargetEntry *tle;
	Oid			typid = exprType((Node *) src->expr);
	int32		typmod = exprTypmod((Node *) src->expr);
	Oid			collid = exprCollation((Node *) src->expr);

	for_each_from(lc, sub->targetList, list_length(inner->eref->colnames))
	{
		tle = lfirst(lc);
		if (IsA(tle->expr, Var) && ((Var *) tle->expr)->varattno == attno)
			return nulled_like(makeVar(rti, tle->resno, typid, typmod, collid, 0), column);
	}
	raw = makeVar(1, attno, typid, typmod, collid, 0);
	tle = makeTargetEntry((Expr *) raw, list_length(sub->targetList) + 1,
						  psprintf("govshare raw %s", src->resname), false);
	sub->targetList = lappend(sub->targetList, tle);
	rte->eref->colnames = lappend(rte->eref->colnames, makeString(pstrdup(tle->resname)));
	Assert(list_length(rte->eref->colnames) == list_length(sub->targetList));
	return nulled_like(makeVar(rti, tle->resno, typid, typmod, collid, 0), column);
}

/*
 * A call of govshare.<name>(args), its arguments of types argtypes,
 * returning rettype, shown as format (COERCE_SQL_SYNTAX, the mark that
 * the functions which decipher pseudonyms want: src/enforce/pseudonym.c);
 * NULL when the install script has no such function.
 */
Node *
govshare_enforce_call(const char *name, Oid *argtypes, Oid rettype, List *args,
					  CoercionForm format)
{
	Oid			fn = LookupFuncName(list_make2(makeString("govshare"), makeString(pstrdup(name))),
									list_length(args), argtypes, true);

	if (!OidIsValid(fn))
		return NULL;
	return (Node *) makeFuncExpr(fn, rettype, args, InvalidOid, InvalidOid, format);
}

/* A call of govshare.<name> on args, returning boolean, or NULL if missing. */
static Node *
implication(const char *name, List *args)
{
	Oid			argtypes[3] = {ANYELEMENTOID, ANYELEMENTOID, ANYELEMENTOID};

	if (strcmp(name, "full_form_eq_any") == 0)
		argtypes[1] = ANYARRAYOID;
	return govshare_enforce_call(name, argtypes, BOOLOID, args, COERCE_EXPLICIT_CALL);
}

/*
 * The implication of "disclosed <strategy> value" (anchor: the upper bound
 * or equality that puts a lower bound's disclosed value in value form; the
 * value itself otherwise) as comparisons of the raw column with bounds
 * computed at execution: govshare.full_form_lower(value, anchor) is value
 * when anchor is a value form, else below every value of the type;
 * govshare.full_form_upper(value) is value when it is a value form, else
 * above every value.  Plain comparisons, so that the planner uses them as
 * index conditions and prunes partitions by them when the executor
 * starts.  The bound functions are STABLE, so that no plan holds the
 * sentinels as constants (they print as no value of the type).
 */
static List *
bounds(Node *raw, int strategy, Node *value, Node *anchor)
{
	Oid			typid = exprType(raw);
	Oid			two[2] = {ANYELEMENTOID, ANYELEMENTOID};
	List	   *conds = NIL;
	Node	   *bound;
	Expr	   *cond;

	if (strategy >= BTEqualStrategyNumber)
	{
		bound = govshare_enforce_call("full_form_lower", two, typid,
									  list_make2(copyObject(value), copyObject(anchor)),
									  COERCE_EXPLICIT_CALL);
		if (bound == NULL)
			return NIL;
		cond = govshare_fullform_comparison(strategy == BTGreaterStrategyNumber ?
											BTGreaterStrategyNumber : BTGreaterEqualStrategyNumber,
											false, raw, bound);
		if (cond != NULL)
			conds = lappend(conds, cond);
	}
	if (strategy <= BTEqualStrategyNumber)
	{
		bound = govshare_enforce_call("full_form_upper", two, typid, list_make1(copyObject(value)),
									  COERCE_EXPLICIT_CALL);
		if (bound == NULL)
			return NIL;
		cond = govshare_fullform_comparison(strategy == BTLessStrategyNumber ?
											BTLessStrategyNumber : BTLessEqualStrategyNumber,
											false, raw, bound);
		if (cond != NULL)
			conds = lappend(conds, cond);
	}
	return conds;
}

/*
 * The implication of "disclosed = ANY(values)" when the array is known
 * only at execution (a parameter, an expression over columns of other
 * entries):
 *
 *	raw = ANY(values)
 *	OR (raw >= full_form_lower(p, p) AND raw <= full_form_upper(p))
 *		where p = govshare.full_form_pick(values)
 *
 * p is an element in a disclosure form when the array holds one, so that
 * the second arm's bounds are the whole range of the type; otherwise a
 * value form of the array, whose row the first arm finds anyway.  A row
 * whose disclosed value equals an element e has raw = e when e is a value
 * form (first arm), and makes the array hold a disclosure form otherwise
 * (second arm): the consumer's comparison implies the disjunction.  Both
 * arms are index conditions, so the planner can OR two bitmap scans.
 */
static Node *
any_bounds(Node *raw, Node *values)
{
	Oid			array = ANYARRAYOID;
	Node	   *picked = govshare_enforce_call("full_form_pick", &array, exprType(raw),
											   list_make1(copyObject(values)), COERCE_EXPLICIT_CALL);
	Expr	   *listed;
	List	   *range;

	if (picked == NULL)
		return NULL;
	listed = govshare_fullform_comparison(BTEqualStrategyNumber, true, raw, values);
	range = bounds(raw, BTEqualStrategyNumber, picked, picked);
	if (listed == NULL || list_length(range) != 2)
		return NULL;
	return (Node *) makeBoolExpr(OR_EXPR, list_make2(listed, make_andclause(range)), -1);
}

/*
 * The implication of "pseudonym(col, agency) = ANY(values)", values an
 * array: govshare.pseudonym_any(raw, values, agency), true when raw is a
 * value form that a pseudonym of a value form in values deciphers to, ORed
 * with govshare.pseudonym_eq(raw, h, agency), h an HMAC pseudonym in
 * values (which names every encoding), when there may be one.  A row whose
 * pseudonym is an element e of values has e of one of the two kinds:
 * pseudonyms are either (src/enforce/pseudonym.c).  The support functions
 * offer the index one scan of "raw = ANY" of the values the first names,
 * where an OR of pseudonym_eq would be one index scan per element, and the
 * bounds of h, every encoding or nothing.
 *
 * For constants (elements, Consts of raw's type, as an IN list has them),
 * the array is of the pseudonyms of value forms among them (NULLs and what
 * is no pseudonym name no row), and h the first HMAC one if any; NULL
 * when none is a pseudonym of a value form.  For an array known only at
 * execution (array, with elements NIL), h is
 * govshare.pseudonym_hmac_pick(array), NULL when it holds no HMAC
 * pseudonym, whose bounds then find nothing.
 */
static Node *
pseudonym_any(Node *raw, Node *array, List *elements, Node *agency)
{
	Oid			any_args[3] = {ANYELEMENTOID, ANYARRAYOID, TEXTOID};
	Oid			eq_args[3] = {ANYELEMENTOID, ANYELEMENTOID, TEXTOID};
	Oid			pick_arg = ANYARRAYOID;
	Oid			typid = exprType(raw);
	Oid			arraytype = get_array_type(typid);
	Node	   *hmac = NULL;
	Node	   *arms[2];

	if (!OidIsValid(arraytype))
		return NULL;
	if (array == NULL)
	{
		Datum	   *named = palloc(sizeof(Datum) * Max(list_length(elements), 1));
		int			n = 0;
		ListCell   *lc;

		foreach(lc, elements)
		{
			Const	   *v = (Const *) lfirst(lc);

			if (!IsA(v, Const) || v->consttype != typid)
				return NULL;
			if (v->constisnull)
				continue;
			switch (govshare_pseudonym_names((uint64) DatumGetInt64(v->constvalue)))
			{
				case GS_NAMES_NOTHING:
					break;
				case GS_NAMES_ANY:
					if (hmac == NULL)
						hmac = (Node *) v;
					break;
				case GS_NAMES_VALUE:
					named[n++] = v->constvalue;
					break;
			}
		}
		if (n == 0)
			return NULL;
		array = (Node *) makeConst(arraytype, -1, InvalidOid, -1,
								   PointerGetDatum(construct_array(named, n, typid, 8,
																   FLOAT8PASSBYVAL,
																   TYPALIGN_DOUBLE)),
								   false, false);
	}
	else
	{
		hmac = govshare_enforce_call("pseudonym_hmac_pick", &pick_arg, typid,
									 list_make1(copyObject(array)), COERCE_EXPLICIT_CALL);
		if (hmac == NULL)
			return NULL;
	}
	/* the mark pseudonym.c looks for, as on govshare.pseudonym() */
	arms[0] = govshare_enforce_call("pseudonym_any", any_args, BOOLOID,
									list_make3(copyObject(raw), copyObject(array), copyObject(agency)),
									COERCE_SQL_SYNTAX);
	if (arms[0] == NULL || hmac == NULL)
		return arms[0];
	arms[1] = govshare_enforce_call("pseudonym_eq", eq_args, BOOLOID,
									list_make3(copyObject(raw), copyObject(hmac), copyObject(agency)),
									COERCE_SQL_SYNTAX);
	if (arms[1] == NULL)
		return NULL;
	return (Node *) makeBoolExpr(OR_EXPR, list_make2(arms[0], arms[1]), -1);
}

/*
 * The implication of "pseudonym(col, agency) = value", or of "= ANY" of an
 * IN list or an array constant (at most IMPLIED_MAX_OR elements): for each
 * value v, govshare.pseudonym_eq(raw, v, agency), ORed over the values.
 * It is true when raw lies between the bounds of v, which are the value v
 * enciphers when v is a pseudonym of a value form, every encoding when v
 * is one of the HMAC pseudonyms, and nothing when v is no pseudonym
 * (src/enforce/pseudonym.c): true on every row whose pseudonym is v.  Its
 * support function offers the bounds to the column's index.  An IN list
 * of at least two values, one of them a pseudonym of a value form, and an
 * array known only at execution get pseudonym_any instead (above).
 */
static Node *
pseudonym_conditions(RangeTblEntry *rte, Index rti, Comparison *c)
{
	Oid			three[3] = {ANYELEMENTOID, ANYELEMENTOID, TEXTOID};
	List	   *values = NIL;
	List	   *arms = NIL;
	ListCell   *lc;
	Node	   *raw;
	Node	   *any;

	if (!c->any)
		values = list_make1(c->value);
	else if (IsA(c->value, ArrayExpr) && !((ArrayExpr *) c->value)->multidims)
		values = ((ArrayExpr *) c->value)->elements;
	else if (IsA(c->value, Const) && !((Const *) c->value)->constisnull)
	{
		ArrayType  *a = DatumGetArrayTypeP(((Const *) c->value)->constvalue);
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		govshare_fullform_deconstruct(a, &elems, &nulls, &n);
		for (int i = 0; i < n && i <= IMPLIED_MAX_OR; i++)
			values = lappend(values, makeConst(ARR_ELEMTYPE(a), -1, InvalidOid, 8, elems[i],
											   nulls[i], FLOAT8PASSBYVAL));
	}
	else
	{
		/* an array known only at execution */
		raw = (Node *) raw_column(rte, rti, c->attno, c->column);
		return pseudonym_any(raw, c->value, NIL, c->agency);
	}
	if (values == NIL || list_length(values) > IMPLIED_MAX_OR)
		return NULL;
	raw = (Node *) raw_column(rte, rti, c->attno, c->column);
	if (list_length(values) > 1 && (any = pseudonym_any(raw, NULL, values, c->agency)) != NULL)
		return any;
	foreach(lc, values)
	{
		/* the mark pseudonym.c looks for, as on govshare.pseudonym() */
		Node	   *eq = govshare_enforce_call("pseudonym_eq", three, BOOLOID,
											   list_make3(copyObject(raw), copyObject(lfirst(lc)),
														  copyObject(c->agency)),
											   COERCE_SQL_SYNTAX);

		if (eq == NULL)
			return NULL;
		arms = lappend(arms, eq);
	}
	return list_length(arms) == 1 ? linitial(arms) : (Node *) makeBoolExpr(OR_EXPR, arms, -1);
}

/* Is value an array constant, or an ARRAY[] of constants (an IN list)? */
static bool
constant_array(Node *value)
{
	ListCell   *lc;

	if (IsA(value, Const))
		return true;
	if (!IsA(value, ArrayExpr) || ((ArrayExpr *) value)->multidims)
		return false;
	foreach(lc, ((ArrayExpr *) value)->elements)
		if (!IsA(lfirst(lc), Const))
			return false;
	return true;
}

/*
 * The conditions on the raw columns implied by the comparisons cmps (n of
 * them, all in one conjunction).  A lower bound (> or >=) implies nothing
 * by itself, since every disclosure form sorts after the value forms: it
 * needs an upper bound or equality on the same column (its anchor) with a
 * value form.
 */
static List *
implications(RangeTblEntry *rte, Index rti, Comparison *cmps, int n)
{
	static const char *const names[] = {NULL, "full_form_lt", "full_form_le", "full_form_eq",
	"full_form_ge", "full_form_gt"};
	List	   *implied = NIL;

	for (int i = 0; i < n; i++)
	{
		Comparison *c = &cmps[i];
		Comparison *anchor = NULL;
		Node	   *raw;
		Node	   *cond = NULL;

		if (c->agency != NULL)
		{
			if ((cond = pseudonym_conditions(rte, rti, c)) != NULL)
				implied = lappend(implied, cond);
			continue;
		}
		if (!c->any && (c->strategy == BTGreaterStrategyNumber ||
						c->strategy == BTGreaterEqualStrategyNumber))
		{
			for (int j = 0; j < n && anchor == NULL; j++)
				if (j != i && !cmps[j].any && cmps[j].attno == c->attno &&
					cmps[j].strategy <= BTEqualStrategyNumber)
					anchor = &cmps[j];
			if (anchor == NULL)
				continue;
		}
		raw = (Node *) raw_column(rte, rti, c->attno, c->column);

		if (c->any && constant_array(c->value))
		{
			/*
			 * IN ('...', '...'): one array constant once folded, which the
			 * support function turns into "raw = ANY(array)", one index
			 * condition, as the owner's (a disclosure form in it: true)
			 */
			cond = implication("full_form_eq_any", list_make2(raw, copyObject(c->value)));
		}
		else if (c->any && IsA(c->value, ArrayExpr) && !((ArrayExpr *) c->value)->multidims &&
				 list_length(((ArrayExpr *) c->value)->elements) <= IMPLIED_MAX_OR)
		{
			/* IN ($1, $2, ...): each element on its own, so each finds its index */
			List	   *arms = NIL;
			ListCell   *lc;

			foreach(lc, ((ArrayExpr *) c->value)->elements)
				arms = lappend(arms, implication("full_form_eq",
												 list_make2(copyObject(raw), copyObject(lfirst(lc)))));
			if (list_member_ptr(arms, NULL))
				continue;
			cond = list_length(arms) == 1 ? linitial(arms) : (Node *) makeBoolExpr(OR_EXPR, arms, -1);
		}
		else if (c->any)
			cond = any_bounds(raw, c->value);
		else if (!IsA(c->value, Const) || (anchor != NULL && !IsA(anchor->value, Const)))
		{
			/* known at execution only: the bounds themselves, for pruning too */
			implied = list_concat(implied, bounds(raw, c->strategy, c->value,
												  anchor ? anchor->value : c->value));
			continue;
		}
		else if (anchor != NULL)
			cond = implication(names[c->strategy],
							   list_make3(raw, copyObject(c->value), copyObject(anchor->value)));
		else
			cond = implication(names[c->strategy], list_make2(raw, copyObject(c->value)));
		if (cond != NULL)
			implied = lappend(implied, cond);
	}
	return implied;
}

/* Adds to the conjunction *quals the conditions its comparisons imply. */
static void
imply_in(Node **quals, RangeTblEntry *rte, Index rti)
{
	List	   *conjuncts = make_ands_implicit((Expr *) *quals);
	Comparison *cmps;
	int			n = 0;
	ListCell   *lc;
	List	   *implied;

	if (conjuncts == NIL)
		return;
	cmps = palloc(sizeof(Comparison) * list_length(conjuncts));
	foreach(lc, conjuncts)
		if (read_comparison(lfirst(lc), rti, rte->subquery, &cmps[n]))
			n++;
	if (n == 0)
		return;
	implied = implications(rte, rti, cmps, n);
	if (implied != NIL)
		*quals = (Node *) make_ands_explicit(list_concat(list_copy(conjuncts), implied));
}

/* Visits the ON clauses of the join tree under node. */
static void
imply_in_joins(Node *node, RangeTblEntry *rte, Index rti)
{
	if (node == NULL)
		return;
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) node;

		imply_in_joins(j->larg, rte, rti);
		imply_in_joins(j->rarg, rte, rti);
		imply_in(&j->quals, rte, rti);
	}
	else if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			imply_in_joins(lfirst(lc), rte, rti);
		imply_in(&((FromExpr *) node)->quals, rte, rti);
	}
}

/*
 * Entry rti of q has just become the subquery of a governed relation
 * (rte): adds to q's WHERE and ON clauses the conditions
 * on its raw columns that their comparisons imply (see the top).
 */
void
govshare_implied_add(Query *q, Index rti, RangeTblEntry *rte)
{
	RangeTblEntry *inner;

	if (q->jointree == NULL || rte->rtekind != RTE_SUBQUERY || rte->subquery == NULL)
		return;

	/*
	 * A whole-row reference reads every output of the subquery when the
	 * planner keeps it as a subquery scan: the raw columns must not be
	 * there to be read.  Such statements get no implied conditions.
	 */
	inner = linitial_node(RangeTblEntry, rte->subquery->rtable);
	if (bms_is_member(0 - FirstLowInvalidHeapAttributeNumber,
					  govshare_query_selected_cols(rte->subquery, inner)))
		return;
	imply_in_joins((Node *) q->jointree, rte, rti);
}
