/*-------------------------------------------------------------------------
 *
 * fullform.c
 *	  Conditions on a raw column that a consumer's comparison of its
 *	  disclosed value implies, and how the planner reaches the column's
 *	  index through them.
 *
 * The 8-byte national types keep a value's form in two bits below the
 * sign bit (include/govshare_types.h): 0 for a value, others for the
 * disclosure forms (masked, generalized, pseudonym), so that every value
 * form sorts before every disclosure form.  mask(), generalize() and the
 * keyed pseudonym never return a value form.  Hence, when a column is
 * disclosed as "CASE WHEN f THEN col ELSE mask(col) END" (some rows in
 * full, the others transformed), a disclosed value in value form can only
 * have come from the full branch, where it is the raw column itself:
 *
 *	disclosed = x,  x a value form	  implies  col = x
 *	disclosed < x (or <=)			  implies  col < x (<=): disclosure forms
 *										   sort after x
 *	disclosed >= a, and disclosed <= b with b a value form
 *									  implies  col >= a (> for >)
 *	disclosed = ANY(xs), every non-null element a value form
 *									  implies  col = ANY(xs)
 *
 * Each implication is an SQL function of (raw column, value[, anchor])
 * that is true when the value's form says nothing, and the comparison on
 * the raw column otherwise: govshare.full_form_eq(col, x) is
 * "x is not a value form OR col = x".  The rewrite (implied.c) ANDs them
 * to the consumer's own comparison, which stays and decides the answer;
 * the implied condition only lets the planner find the rows sooner.
 *
 * The planner support function turns them into what the planner knows:
 * with a constant value the call becomes the comparison itself ("col =
 * '079...'") or true; otherwise the function offers the index conditions
 * "col >= full_form_lower(x, x) AND col <= full_form_upper(x)", whose
 * bounds are x when x is a value form and the whole range of the type
 * when it is not, and its selectivity is that of the comparison.  (For a
 * single value known only at execution the rewrite writes those bounds
 * itself, so that partitions are pruned by them: implied.c.)
 *
 * The functions are LEAKPROOF: they read only their arguments, raise no
 * error that depends on them, and return a boolean.
 *
 * src/enforce/fullform.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_am.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"

#include "enforce/enforce_internal.h"
#include "types/gs_types.h"

/* The implications, by the SQL function's name. */
typedef enum FullFormKind
{
	FULL_FORM_NONE,
	FULL_FORM_EQ,
	FULL_FORM_LT,
	FULL_FORM_LE,
	FULL_FORM_GE,
	FULL_FORM_GT,
	FULL_FORM_EQ_ANY
} FullFormKind;

static const struct
{
	const char *name;
	FullFormKind kind;
	int			strategy;		/* of the comparison on the raw column */
}			kinds[] = {
	{"full_form_eq", FULL_FORM_EQ, BTEqualStrategyNumber},
	{"full_form_lt", FULL_FORM_LT, BTLessStrategyNumber},
	{"full_form_le", FULL_FORM_LE, BTLessEqualStrategyNumber},
	{"full_form_ge", FULL_FORM_GE, BTGreaterEqualStrategyNumber},
	{"full_form_gt", FULL_FORM_GT, BTGreaterStrategyNumber},
	{"full_form_eq_any", FULL_FORM_EQ_ANY, BTEqualStrategyNumber},
};

/* Is the encoding v a value form (not a disclosure form)? */
static inline bool
value_form(Datum d)
{
	int64		v = DatumGetInt64(d);

	return v >= 0 && GS_FORM((uint64) v) == GS_FORM_VALUE;
}

/*
 * Is typid one whose values carry their form (an 8-byte national type)?
 * Public to the enforcement: the rewrite asks it of columns.
 */
bool
govshare_fullform_type(Oid typid)
{
	const gs_type *type = OidIsValid(typid) ? govshare_type_lookup(typid) : NULL;

	return type != NULL && type->width == 8;
}

/*
 * The elements of an array of an 8-byte national type (by value, 8 bytes).
 * Public to the enforcement: implied.c reads IN lists of pseudonyms.
 */
void
govshare_fullform_deconstruct(ArrayType *a, Datum **elems, bool **nulls, int *n)
{
	deconstruct_array(a, ARR_ELEMTYPE(a), 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, elems, nulls, n);
}

/*
 * Refuses arguments of any other type (the functions are polymorphic):
 * checked once per call site, remembered in fn_extra.
 */
static void
check_type(FunctionCallInfo fcinfo, Oid typid)
{
	if (fcinfo->flinfo->fn_extra != NULL)
		return;
	if (!govshare_fullform_type(typid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("function %s does not accept type %s",
						get_func_name(fcinfo->flinfo->fn_oid), format_type_be(typid)),
				 errdetail("Only the 8-byte national types carry the form of a value."),
				 errhint("Use it with personal_id, tax_code, social_insurance_no, health_insurance_no or phone_number.")));
	fcinfo->flinfo->fn_extra = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, 1);
}

static void
check_argument(FunctionCallInfo fcinfo)
{
	check_type(fcinfo, get_fn_expr_argtype(fcinfo->flinfo, 0));
}

/*
 * govshare.full_form_eq(raw anyelement, value anyelement) returns boolean
 *
 * True when value is a disclosure form, else raw = value.
 */
PG_FUNCTION_INFO_V1(govshare_full_form_eq);
Datum
govshare_full_form_eq(PG_FUNCTION_ARGS)
{
	check_argument(fcinfo);
	PG_RETURN_BOOL(!value_form(PG_GETARG_DATUM(1)) ||
				   PG_GETARG_INT64(0) == PG_GETARG_INT64(1));
}

/* govshare.full_form_lt(raw, value): value a disclosure form, or raw < value. */
PG_FUNCTION_INFO_V1(govshare_full_form_lt);
Datum
govshare_full_form_lt(PG_FUNCTION_ARGS)
{
	check_argument(fcinfo);
	PG_RETURN_BOOL(!value_form(PG_GETARG_DATUM(1)) ||
				   PG_GETARG_INT64(0) < PG_GETARG_INT64(1));
}

/* govshare.full_form_le(raw, value): value a disclosure form, or raw <= value. */
PG_FUNCTION_INFO_V1(govshare_full_form_le);
Datum
govshare_full_form_le(PG_FUNCTION_ARGS)
{
	check_argument(fcinfo);
	PG_RETURN_BOOL(!value_form(PG_GETARG_DATUM(1)) ||
				   PG_GETARG_INT64(0) <= PG_GETARG_INT64(1));
}

/*
 * govshare.full_form_ge(raw, value, anchor): anchor (the upper bound that
 * puts the disclosed value in value form) a disclosure form, or raw >= value.
 */
PG_FUNCTION_INFO_V1(govshare_full_form_ge);
Datum
govshare_full_form_ge(PG_FUNCTION_ARGS)
{
	check_argument(fcinfo);
	PG_RETURN_BOOL(!value_form(PG_GETARG_DATUM(2)) ||
				   PG_GETARG_INT64(0) >= PG_GETARG_INT64(1));
}

/* govshare.full_form_gt(raw, value, anchor): as full_form_ge, with >. */
PG_FUNCTION_INFO_V1(govshare_full_form_gt);
Datum
govshare_full_form_gt(PG_FUNCTION_ARGS)
{
	check_argument(fcinfo);
	PG_RETURN_BOOL(!value_form(PG_GETARG_DATUM(2)) ||
				   PG_GETARG_INT64(0) > PG_GETARG_INT64(1));
}

/*
 * govshare.full_form_eq_any(raw anyelement, values anyarray) returns boolean
 *
 * True when a non-null element is a disclosure form; else raw = ANY(values)
 * (NULL when no element matches and one is NULL, as = ANY says).
 */
PG_FUNCTION_INFO_V1(govshare_full_form_eq_any);
Datum
govshare_full_form_eq_any(PG_FUNCTION_ARGS)
{
	int64		raw = PG_GETARG_INT64(0);
	ArrayType  *values = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	bool		found = false;
	bool		saw_null = false;

	check_argument(fcinfo);
	if (ARR_ELEMTYPE(values) != get_fn_expr_argtype(fcinfo->flinfo, 0))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("function full_form_eq_any needs an array of its first argument's type")));
	govshare_fullform_deconstruct(values, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			saw_null = true;
		else if (!value_form(elems[i]))
			PG_RETURN_BOOL(true);
		else if (DatumGetInt64(elems[i]) == raw)
			found = true;
	}
	if (!found && saw_null)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(found);
}

/*
 * govshare.full_form_pick(vals anyarray) returns anyelement
 *
 * A non-null element in a disclosure form if there is one, else the first
 * non-null element (NULL if none).  Its bounds (full_form_lower(p, p),
 * full_form_upper(p)) are the whole range of the type when the array
 * holds a disclosure form: implied.c's condition for "= ANY($1)".
 */
PG_FUNCTION_INFO_V1(govshare_full_form_pick);
Datum
govshare_full_form_pick(PG_FUNCTION_ARGS)
{
	ArrayType  *values = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			first = -1;

	check_type(fcinfo, ARR_ELEMTYPE(values));
	govshare_fullform_deconstruct(values, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			continue;
		if (!value_form(elems[i]))
			PG_RETURN_DATUM(elems[i]);
		if (first < 0)
			first = i;
	}
	if (first < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(elems[first]);
}

/*
 * govshare.full_form_upper(value anyelement) returns anyelement
 *
 * value when it is a value form, else the largest encoding (above every
 * value of the type): the upper bound of an index scan.
 */
PG_FUNCTION_INFO_V1(govshare_full_form_upper);
Datum
govshare_full_form_upper(PG_FUNCTION_ARGS)
{
	check_argument(fcinfo);
	if (value_form(PG_GETARG_DATUM(0)))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	PG_RETURN_INT64(PG_INT64_MAX);
}

/*
 * govshare.full_form_lower(value anyelement, anchor anyelement) returns anyelement
 *
 * value when anchor is a value form, else the smallest encoding (below
 * every value of the type): the lower bound of an index scan.
 */
PG_FUNCTION_INFO_V1(govshare_full_form_lower);
Datum
govshare_full_form_lower(PG_FUNCTION_ARGS)
{
	check_argument(fcinfo);
	if (value_form(PG_GETARG_DATUM(1)))
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	PG_RETURN_INT64(PG_INT64_MIN);
}

/* fn's name if it is a function of schema govshare, else NULL. */
static char *
govshare_function_name(Oid fn)
{
	if (get_func_namespace(fn) != get_namespace_oid("govshare", true))
		return NULL;
	return get_func_name(fn);
}

/* Which implication fn is, by its name in schema govshare. */
static FullFormKind
kind_of(Oid fn, int *strategy)
{
	char	   *name = govshare_function_name(fn);

	if (name == NULL)
		return FULL_FORM_NONE;
	for (int i = 0; i < lengthof(kinds); i++)
		if (strcmp(kinds[i].name, name) == 0)
		{
			*strategy = kinds[i].strategy;
			return kinds[i].kind;
		}
	return FULL_FORM_NONE;
}

/* The default btree operator family of typid, or InvalidOid. */
static Oid
btree_family(Oid typid)
{
	Oid			opclass = GetDefaultOpClass(typid, BTREE_AM_OID);

	return OidIsValid(opclass) ? get_opclass_family(opclass) : InvalidOid;
}

/*
 * The comparison "raw <strategy> value" (or "raw = ANY(value)") that an
 * implication stands for once the value's form is known; NULL if the type
 * has no such btree operator.
 */
static Expr *
comparison(FullFormKind kind, int strategy, Node *raw, Node *value)
{
	Oid			typid = exprType(raw);
	Oid			opno = get_opfamily_member(btree_family(typid), typid, typid, strategy);

	if (!OidIsValid(opno))
		return NULL;
	if (kind == FULL_FORM_EQ_ANY)
	{
		ScalarArrayOpExpr *s = makeNode(ScalarArrayOpExpr);

		s->opno = opno;
		s->opfuncid = get_opcode(opno);
		s->hashfuncid = InvalidOid;
		s->negfuncid = InvalidOid;
		s->useOr = true;
		s->inputcollid = InvalidOid;
		s->args = list_make2(copyObject(raw), copyObject(value));
		s->location = -1;
		return (Expr *) s;
	}
	{
		OpExpr	   *op = (OpExpr *) make_opclause(opno, BOOLOID, false, (Expr *) copyObject(raw),
												  (Expr *) copyObject(value), InvalidOid, InvalidOid);

		op->opfuncid = get_opcode(opno);
		return (Expr *) op;
	}
}

/*
 * "raw <strategy> value", or "raw = ANY(value)" when any, with the btree
 * operator of raw's type: for the rewrite's implied conditions
 * (implied.c).  NULL if the type has no such operator.
 */
Expr *
govshare_fullform_comparison(int strategy, bool any, Node *raw, Node *value)
{
	return comparison(any ? FULL_FORM_EQ_ANY : FULL_FORM_NONE, strategy, raw, value);
}

/* Is a constant array's every non-null element a value form? */
static bool
all_value_forms(Const *c)
{
	ArrayType  *a = DatumGetArrayTypeP(c->constvalue);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	govshare_fullform_deconstruct(a, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i] && !value_form(elems[i]))
			return false;
	return true;
}

/*
 * SupportRequestSimplify: once the deciding argument (the value, or the
 * anchor of >= and >) is a constant, the call is the comparison on the
 * raw column, true, or NULL.
 */
static Node *
simplify(SupportRequestSimplify *req, FullFormKind kind, int strategy)
{
	List	   *args = req->fcall->args;
	Node	   *raw = linitial(args);
	Node	   *value = lsecond(args);
	Node	   *decider = (kind == FULL_FORM_GE || kind == FULL_FORM_GT) ? lthird(args) : value;
	Const	   *c;
	bool		full;

	if (!IsA(decider, Const))
		return NULL;
	c = (Const *) decider;
	if (c->constisnull)
		return (Node *) makeBoolConst(false, true);
	if (!govshare_fullform_type(exprType(raw)))
		return NULL;
	full = kind == FULL_FORM_EQ_ANY ? all_value_forms(c) : value_form(c->constvalue);
	if (!full)
		return (Node *) makeBoolConst(true, false);
	return (Node *) comparison(kind, strategy, raw, value);
}

/*
 * SupportRequestIndexCondition: index conditions on the raw column (the
 * first argument) for a btree index of its type's default family,
 * bounded by full_form_lower / full_form_upper so that they hold for
 * every row when the value turns out not to be a value form.  Lossy: the
 * implication itself is checked again on the rows found.
 */
static List *
index_conditions(SupportRequestIndexCondition *req, FullFormKind kind, int strategy)
{
	FuncExpr   *call = (FuncExpr *) req->node;
	Node	   *raw;
	Node	   *value;
	Node	   *anchor;
	Oid			typid;
	Oid			lower;
	Oid			upper;
	Oid			arg2[2];
	List	   *conds = NIL;
	Node	   *low = NULL;
	Node	   *high = NULL;

	if (!IsA(call, FuncExpr) || req->indexarg != 0 || kind == FULL_FORM_EQ_ANY)
		return NIL;
	raw = linitial(call->args);
	value = lsecond(call->args);
	anchor = list_length(call->args) > 2 ? lthird(call->args) : value;
	typid = exprType(raw);
	if (!govshare_fullform_type(typid) || req->index->relam != BTREE_AM_OID ||
		req->opfamily != btree_family(typid))
		return NIL;
	/* the values must be known before the scan: no Var of the indexed rel */
	if (bms_is_member(req->index->rel->relid, pull_varnos(req->root, value)) ||
		bms_is_member(req->index->rel->relid, pull_varnos(req->root, anchor)) ||
		contain_volatile_functions(value) || contain_volatile_functions(anchor))
		return NIL;

	arg2[0] = arg2[1] = ANYELEMENTOID;
	lower = LookupFuncName(list_make2(makeString("govshare"), makeString("full_form_lower")),
						   2, arg2, true);
	upper = LookupFuncName(list_make2(makeString("govshare"), makeString("full_form_upper")),
						   1, arg2, true);
	if (!OidIsValid(lower) || !OidIsValid(upper))
		return NIL;
	if (kind == FULL_FORM_EQ || kind == FULL_FORM_GE || kind == FULL_FORM_GT)
		low = (Node *) makeFuncExpr(lower, typid, list_make2(copyObject(value), copyObject(anchor)),
									InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	if (kind == FULL_FORM_EQ || kind == FULL_FORM_LT || kind == FULL_FORM_LE)
		high = (Node *) makeFuncExpr(upper, typid, list_make1(copyObject(value)),
									 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	if (low != NULL)
		conds = lappend(conds, comparison(FULL_FORM_NONE,
										  kind == FULL_FORM_GT ? BTGreaterStrategyNumber :
										  BTGreaterEqualStrategyNumber, raw, low));
	if (high != NULL)
		conds = lappend(conds, comparison(FULL_FORM_NONE,
										  kind == FULL_FORM_LT ? BTLessStrategyNumber :
										  BTLessEqualStrategyNumber, raw, high));
	req->lossy = true;
	return conds;
}

/*
 * The selectivity of an implication: that of the comparison it stands for
 * (for a value form), as the operator's own estimator computes it.
 */
static void
selectivity(SupportRequestSelectivity *req, FullFormKind kind, int strategy)
{
	List	   *args = req->args;
	Expr	   *cmp;

	if (list_length(args) < 2 || !govshare_fullform_type(exprType(linitial(args))))
		return;
	cmp = comparison(kind, strategy, linitial(args), lsecond(args));
	if (cmp == NULL)
		return;
	req->selectivity = clause_selectivity(req->root, (Node *) cmp, req->varRelid,
										  req->jointype, req->sjinfo);
}

/*
 * govshare.full_form_support(internal) returns internal
 *
 * The planner support function of the full_form_* implications.
 */
PG_FUNCTION_INFO_V1(govshare_full_form_support);
Datum
govshare_full_form_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	int			strategy = 0;
	FullFormKind kind;

	if (IsA(rawreq, SupportRequestSimplify))
	{
		SupportRequestSimplify *req = (SupportRequestSimplify *) rawreq;

		kind = kind_of(req->fcall->funcid, &strategy);
		PG_RETURN_POINTER(kind == FULL_FORM_NONE ? NULL : simplify(req, kind, strategy));
	}
	if (IsA(rawreq, SupportRequestIndexCondition))
	{
		SupportRequestIndexCondition *req = (SupportRequestIndexCondition *) rawreq;
		List	   *conds;

		kind = kind_of(req->funcid, &strategy);
		conds = kind == FULL_FORM_NONE ? NIL : index_conditions(req, kind, strategy);
		PG_RETURN_POINTER(conds);
	}
	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		kind = kind_of(req->funcid, &strategy);
		if (kind == FULL_FORM_NONE)
			PG_RETURN_POINTER(NULL);
		req->selectivity = -1;
		selectivity(req, kind, strategy);
		PG_RETURN_POINTER(req->selectivity >= 0 ? req : NULL);
	}
	PG_RETURN_POINTER(NULL);
}

/*
 * The restriction estimators of the types' <, <=, > and >= operators.
 *
 * They are PostgreSQL's scalar estimators, but for the two bounds that the
 * rewrite (implied.c) and index_conditions() write for an equality whose
 * value is known only at execution:
 *
 *	raw >= full_form_lower(x, x)  AND  raw <= full_form_upper(x)
 *
 * PostgreSQL would give that range its default selectivity for unknown
 * bounds (0.5% of the rows), so that a generic plan of a lookup by id
 * looks thousands of times dearer than a custom one, and the plan cache
 * plans the consumer's prepared lookup again at every execution.  The
 * pair is an equality with x when x is a value form and true otherwise,
 * so it is estimated as an equality with an unknown value: the upper
 * bound as every non-null row, the lower bound as the rows equal to one
 * value; PostgreSQL multiplies the two (it pairs bounds into a range only
 * for its own scalar estimators), which gives that equality's selectivity
 * times the non-null fraction once more.  When x is a join's
 * other side, the lower bound also counts the share of its values in
 * disclosure forms (disclosure_fraction), whose probes read every row.  An upper bound
 * alone (from "disclosed <= x") thus restricts nothing in the estimate,
 * and a lower bound whose anchor is another value (a range) keeps the
 * default.  Estimates only: no answer depends on them.
 */
typedef enum BoundKind
{
	BOUND_NONE,
	BOUND_LOWER,				/* full_form_lower(x, x) */
	BOUND_UPPER					/* full_form_upper(x) */
} BoundKind;

static BoundKind
bound_kind(Node *other)
{
	FuncExpr   *f;
	char	   *name;

	if (other == NULL || !IsA(other, FuncExpr))
		return BOUND_NONE;
	f = (FuncExpr *) other;
	if ((name = govshare_function_name(f->funcid)) == NULL)
		return BOUND_NONE;
	if (strcmp(name, "full_form_upper") == 0 && list_length(f->args) == 1)
		return BOUND_UPPER;
	if (strcmp(name, "full_form_lower") == 0 && list_length(f->args) == 2 &&
		equal(linitial(f->args), lsecond(f->args)))
		return BOUND_LOWER;
	return BOUND_NONE;
}

/*
 * The fraction of the rows whose value of anchor, an expression over other
 * relations' columns (a join's other side), is a disclosure form, read
 * from those columns' statistics (most common values and histogram): its
 * bound is then the whole range, and the rows it finds are every row.  A
 * consumer's table of masked ids joined back to the governed one must not
 * look like a series of one-row lookups.  0 (every value a value form) for
 * a parameter, or without statistics, as for a lookup's value known only
 * at execution.  (PostgreSQL's own estimate of "anchor >= the first
 * disclosure form" would not do: it never goes below a hundredth of a
 * histogram bucket, a thousand rows a probe in a table of 10,000,000.)
 */
static double
disclosure_fraction(PlannerInfo *root, Node *anchor)
{
	VariableStatData vardata;
	AttStatsSlot sslot;
	double		f = 0.0;
	double		rest;

	if (!contain_var_clause(anchor))
		return 0.0;
	/*
	 * Only statistics the planner deems readable by the user (acl_ok: the
	 * consumer's own table, not another governed relation with filters):
	 * the share is an estimate, but it picks the plan.
	 */
	examine_variable(root, anchor, 0, &vardata);
	if (HeapTupleIsValid(vardata.statsTuple) && vardata.acl_ok &&
		govshare_fullform_type(vardata.atttype))
	{
		rest = 1.0 - ((Form_pg_statistic) GETSTRUCT(vardata.statsTuple))->stanullfrac;
		if (get_attstatsslot(&sslot, vardata.statsTuple, STATISTIC_KIND_MCV, InvalidOid,
							 ATTSTATSSLOT_VALUES | ATTSTATSSLOT_NUMBERS))
		{
			for (int i = 0; i < sslot.nvalues && i < sslot.nnumbers; i++)
			{
				rest -= sslot.numbers[i];
				if (!value_form(sslot.values[i]))
					f += sslot.numbers[i];
			}
			free_attstatsslot(&sslot);
		}
		if (get_attstatsslot(&sslot, vardata.statsTuple, STATISTIC_KIND_HISTOGRAM, InvalidOid,
							 ATTSTATSSLOT_VALUES))
		{
			int			forms = 0;

			for (int i = 0; i < sslot.nvalues; i++)
				forms += !value_form(sslot.values[i]);
			if (sslot.nvalues > 0)
				f += Max(rest, 0.0) * forms / sslot.nvalues;
			free_attstatsslot(&sslot);
		}
	}
	ReleaseVariableStats(vardata);
	CLAMP_PROBABILITY(f);
	return f;
}

/*
 * Which bound of a pseudonym (govshare.pseudonym_lower or _upper, the
 * index conditions of govshare.pseudonym_eq) other is, or BOUND_NONE.
 */
static BoundKind
pseudonym_bound_kind(Node *other)
{
	FuncExpr   *f = (FuncExpr *) other;
	char	   *name;

	if (other == NULL || !IsA(other, FuncExpr) || list_length(f->args) != 2 ||
		(name = govshare_function_name(f->funcid)) == NULL)
		return BOUND_NONE;
	if (strcmp(name, "pseudonym_lower") == 0)
		return BOUND_LOWER;
	if (strcmp(name, "pseudonym_upper") == 0)
		return BOUND_UPPER;
	return BOUND_NONE;
}

/*
 * The selectivity of one bound of an equality with an unknown value on
 * the variable of vardata (see above): the upper bound every non-null
 * row, the lower bound the rows equal to one value, plus the share f of
 * probes whose bounds are the whole range.
 */
static Selectivity
bound_equality_selectivity(VariableStatData *vardata, BoundKind wanted, double f)
{
	double		nullfrac = 0.0;
	double		ndistinct;
	bool		isdefault;
	Selectivity s;

	if (HeapTupleIsValid(vardata->statsTuple))
		nullfrac = ((Form_pg_statistic) GETSTRUCT(vardata->statsTuple))->stanullfrac;
	ndistinct = get_variable_numdistinct(vardata, &isdefault);
	if (wanted == BOUND_UPPER)
		s = 1.0 - nullfrac;
	else
		s = (1.0 - nullfrac) * (f + (1.0 - f) / Max(ndistinct, 1.0));
	CLAMP_PROBABILITY(s);
	return s;
}

/*
 * The selectivity of an equality of vardata's variable with an unknown
 * value: also pseudonym.c's estimate of pseudonym_eq.
 */
Selectivity
govshare_fullform_unknown_equality(VariableStatData *vardata)
{
	return bound_equality_selectivity(vardata, BOUND_LOWER, 0.0);
}

static Datum
bound_selectivity(FunctionCallInfo fcinfo, PGFunction builtin, BoundKind wanted)
{
	PlannerInfo *root = (PlannerInfo *) PG_GETARG_POINTER(0);
	List	   *args = (List *) PG_GETARG_POINTER(2);
	int			varRelid = PG_GETARG_INT32(3);
	VariableStatData vardata;
	Node	   *other;
	bool		varonleft;

	/*
	 * A pseudonym's bound (the index conditions of pseudonym_eq, offered by
	 * pseudonym.c's support function): estimated as an equality with an
	 * unknown value, from the raw column's statistics alone.  The bound
	 * itself is never computed here: it is the deciphered value, and an
	 * estimate made from it (a histogram's bucket, the column's actual
	 * extremes) would be shaped by a value the consumer may not know.
	 */
	if (list_length(args) == 2 &&
		(pseudonym_bound_kind(linitial(args)) != BOUND_NONE ||
		 pseudonym_bound_kind(lsecond(args)) != BOUND_NONE))
	{
		Selectivity s = DEFAULT_INEQ_SEL;

		/* anywhere else than as written (a commuted clause): the default */
		if (pseudonym_bound_kind(lsecond(args)) == wanted)
		{
			examine_variable(root, linitial(args), varRelid, &vardata);
			if (govshare_fullform_type(vardata.vartype))
				s = bound_equality_selectivity(&vardata, wanted, 0.0);
			ReleaseVariableStats(vardata);
		}
		PG_RETURN_FLOAT8((float8) s);
	}

	/*
	 * The bound is the right operand (implied.c and index_conditions() write
	 * the raw column on the left): any other comparison goes straight to the
	 * built-in estimator, which examines the variable itself.
	 */
	if (list_length(args) == 2 && bound_kind(lsecond(args)) == wanted &&
		get_restriction_variable(root, args, varRelid, &vardata, &other, &varonleft))
	{
		if (varonleft && govshare_fullform_type(vardata.vartype) && bound_kind(other) == wanted)
		{
			double		f = wanted == BOUND_LOWER ?
				disclosure_fraction(root, linitial(((FuncExpr *) other)->args)) : 0.0;
			Selectivity s = bound_equality_selectivity(&vardata, wanted, f);

			ReleaseVariableStats(vardata);
			PG_RETURN_FLOAT8((float8) s);
		}
		ReleaseVariableStats(vardata);
	}
	return DirectFunctionCall4Coll(builtin, PG_GET_COLLATION(), PG_GETARG_DATUM(0),
								   PG_GETARG_DATUM(1), PG_GETARG_DATUM(2), PG_GETARG_DATUM(3));
}

PG_FUNCTION_INFO_V1(govshare_full_form_ltsel);
Datum
govshare_full_form_ltsel(PG_FUNCTION_ARGS)
{
	return bound_selectivity(fcinfo, scalarltsel, BOUND_UPPER);
}

PG_FUNCTION_INFO_V1(govshare_full_form_lesel);
Datum
govshare_full_form_lesel(PG_FUNCTION_ARGS)
{
	return bound_selectivity(fcinfo, scalarlesel, BOUND_UPPER);
}

PG_FUNCTION_INFO_V1(govshare_full_form_gtsel);
Datum
govshare_full_form_gtsel(PG_FUNCTION_ARGS)
{
	return bound_selectivity(fcinfo, scalargtsel, BOUND_LOWER);
}

PG_FUNCTION_INFO_V1(govshare_full_form_gesel);
Datum
govshare_full_form_gesel(PG_FUNCTION_ARGS)
{
	return bound_selectivity(fcinfo, scalargesel, BOUND_LOWER);
}
