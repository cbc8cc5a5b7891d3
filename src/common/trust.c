/*-------------------------------------------------------------------------
 *
 * trust.c
 *	  Whose code may run as whom: the owners behind a type's values and
 *	  behind an expression.
 *
 * A value of a type runs code: its input and output functions, a domain's
 * CHECK expressions (and every function, operator and type they name), an
 * array's element type, a composite type's column types, a range's
 * subtype and support functions.  Whoever owns one of these can change
 * what it does, so govshare runs them as a role only when every owner is a
 * superuser or that very role: code of a less privileged role never runs
 * with a more privileged role's rights (docs/security.md, "Privilege
 * model").  Temporary objects are never trusted: they belong to a session,
 * not to the database.
 *
 * The answer is a reason (a palloc'd sentence naming the object and its
 * owner), or NULL when the code may run.
 *
 * src/common/trust.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_range.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "common/gs_common.h"

/* Types nest (domains over arrays of composites ...); stop somewhere. */
#define MAX_DEPTH 16

static const char *type_problem(Oid typid, Oid runner, int depth);

/*
 * May code owned by owner run as runner?  A superuser's code may run as
 * anyone, a role's own code as itself; InvalidOid as runner means "as any
 * role", which only superusers' code may.
 */
static bool
owner_trusted(Oid owner, Oid runner)
{
	return superuser_arg(owner) || (OidIsValid(runner) && owner == runner);
}

static char *
role_name(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	return name ? name : psprintf("with OID %u", roleid);
}

/* Why function funcid may not run as runner, or NULL. */
static const char *
function_problem(Oid funcid, Oid runner)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	const char *problem = NULL;

	if (!HeapTupleIsValid(tuple))
		return psprintf("function %u does not exist", funcid);
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (isAnyTempNamespace(proc->pronamespace))
		problem = psprintf("function %s is a temporary function",
						   format_procedure(funcid));
	else if (!owner_trusted(proc->proowner, runner))
		problem = psprintf("function %s is owned by role %s",
						   format_procedure(funcid), role_name(proc->proowner));
	ReleaseSysCache(tuple);
	return problem;
}

typedef struct TrustWalk
{
	Oid			runner;
	int			depth;
	const char *problem;
} TrustWalk;

static bool
function_walker(Oid funcid, void *context)
{
	TrustWalk  *w = context;

	w->problem = function_problem(funcid, w->runner);
	return w->problem != NULL;
}

/*
 * The code an expression runs: every function it calls (operators', casts'
 * and I/O conversions' included) and every domain it coerces to.  The
 * types of its columns and constants are not its own: whoever reads the
 * relation runs their output anyway.
 */
static bool
expression_walker(Node *node, TrustWalk *w)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, function_walker, w))
		return true;
	if (IsA(node, Query))
	{
		w->problem = "it contains a subquery";
		return true;
	}
	if (IsA(node, CoerceToDomain) &&
		(w->problem = type_problem(((CoerceToDomain *) node)->resulttype, w->runner,
								   w->depth + 1)) != NULL)
		return true;
	return expression_tree_walker(node, expression_walker, w);
}

static const char *
expression_problem(Node *expr, Oid runner, int depth)
{
	TrustWalk	w = {runner, depth, NULL};

	(void) expression_walker(expr, &w);
	return w.problem;
}

/* The CHECK expressions of a domain. */
static const char *
domain_problem(Oid typid, Oid runner, int depth)
{
	Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	const char *problem = NULL;

	ScanKeyInit(&key, Anum_pg_constraint_contypid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(typid));
	scan = systable_beginscan(rel, ConstraintTypidIndexId, true, NULL, 1, &key);
	while (problem == NULL && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tuple);
		bool		isnull;
		Datum		bin;

		if (con->contype != CONSTRAINT_CHECK)
			continue;
		bin = heap_getattr(tuple, Anum_pg_constraint_conbin, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		problem = expression_problem(stringToNode(TextDatumGetCString(bin)), runner, depth);
		if (problem != NULL)
			problem = psprintf("the check constraint %s of domain %s runs code that is not trusted: %s",
							   NameStr(con->conname), format_type_be(typid), problem);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return problem;
}

/* The column types of a composite type. */
static const char *
composite_problem(Oid typid, Oid runner, int depth)
{
	TupleDesc	desc = lookup_rowtype_tupdesc(typid, -1);
	const char *problem = NULL;

	for (int i = 0; problem == NULL && i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			problem = type_problem(TupleDescAttr(desc, i)->atttypid, runner, depth + 1);
	ReleaseTupleDesc(desc);
	return problem;
}

/* The subtype and support functions of a range type. */
static const char *
range_problem(Oid typid, Oid runner, int depth)
{
	HeapTuple	tuple = SearchSysCache1(RANGETYPE, ObjectIdGetDatum(typid));
	Form_pg_range range;
	const char *problem = NULL;

	if (!HeapTupleIsValid(tuple))
		return NULL;
	range = (Form_pg_range) GETSTRUCT(tuple);
	if (OidIsValid(range->rngcanonical))
		problem = function_problem(range->rngcanonical, runner);
	if (problem == NULL && OidIsValid(range->rngsubdiff))
		problem = function_problem(range->rngsubdiff, runner);
	if (problem == NULL)
		problem = type_problem(range->rngsubtype, runner, depth + 1);
	ReleaseSysCache(tuple);
	return problem;
}

/* Why values of type typid may not be handled as runner, or NULL. */
static const char *
type_problem(Oid typid, Oid runner, int depth)
{
	HeapTuple	tuple;
	Form_pg_type type;
	Oid			funcs[4];
	const char *problem = NULL;

	check_stack_depth();
	if (!OidIsValid(typid))
		return NULL;
	if (depth > MAX_DEPTH)
		return psprintf("type %s nests too deeply to be checked", format_type_be(typid));
	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tuple))
		return psprintf("type %u does not exist", typid);
	type = (Form_pg_type) GETSTRUCT(tuple);

	if (isAnyTempNamespace(type->typnamespace))
		problem = psprintf("type %s is a temporary type", format_type_be(typid));
	else if (!owner_trusted(type->typowner, runner))
		problem = psprintf("type %s is owned by role %s", format_type_be(typid),
						   role_name(type->typowner));
	funcs[0] = type->typinput;
	funcs[1] = type->typoutput;
	funcs[2] = type->typreceive;
	funcs[3] = type->typsend;
	for (int i = 0; problem == NULL && i < lengthof(funcs); i++)
		if (OidIsValid(funcs[i]))
			problem = function_problem(funcs[i], runner);
	if (problem == NULL)
	{
		switch (type->typtype)
		{
			case TYPTYPE_DOMAIN:
				problem = type_problem(type->typbasetype, runner, depth + 1);
				if (problem == NULL)
					problem = domain_problem(typid, runner, depth);
				break;
			case TYPTYPE_COMPOSITE:
				if (typid != RECORDOID)
					problem = composite_problem(typid, runner, depth);
				break;
			case TYPTYPE_RANGE:
				problem = range_problem(typid, runner, depth);
				break;
			case TYPTYPE_MULTIRANGE:
				problem = type_problem(get_multirange_range(typid), runner, depth + 1);
				break;
			default:
				if (OidIsValid(type->typelem))
					problem = type_problem(type->typelem, runner, depth + 1);
				break;
		}
	}
	ReleaseSysCache(tuple);
	return problem;
}

/*
 * Why the code behind values of type typid (I/O, domain checks, element,
 * column and range subtypes) may not run as role runner, or NULL when it
 * may: every owner is a superuser or runner itself, and nothing is
 * temporary.  runner InvalidOid asks whether it may run as any role
 * (superusers' code only).
 */
const char *
govshare_type_problem(Oid typid, Oid runner)
{
	return type_problem(typid, runner, 0);
}

/*
 * Why an expression (a row filter, a check) may not run as runner, or
 * NULL: every function and operator it calls, and every domain it coerces
 * to, pass the same test as govshare_type_problem.
 */
const char *
govshare_expr_problem(Node *expr, Oid runner)
{
	return expression_problem(expr, runner, 0);
}
