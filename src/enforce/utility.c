/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  Utility commands of consumer agencies: refused, or rewritten so that
 *	  the planner enforces them.
 *
 * Consumers read governed data; they do not write, lock, maintain,
 * relabel or re-grant it.  Which commands those are is one table below:
 * for each statement type, what it does to a relation and which relations
 * it names; one loop then refuses the statement when any of them is
 * governed.  Three commands need more than a refusal: COPY relation TO
 * becomes COPY (SELECT ...) TO, so that the planner hook rewrites it;
 * REFRESH MATERIALIZED VIEW is refused for any view over governed data;
 * SECURITY LABEL is refused outright.
 *
 * src/enforce/utility.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "enforce/enforce_internal.h"

/* A relation named by a utility statement, or InvalidOid. */
static Oid
named(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

/* The relations a list of RangeVars names. */
static List *
named_list(List *rangevars)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, rangevars)
		relids = lappend_oid(relids, named(lfirst(lc)));
	return relids;
}

/* Extractors: the relations each kind of statement acts on. */
static List *
truncate_rels(Node *stmt)
{
	return named_list(((TruncateStmt *) stmt)->relations);
}

static List *
lock_rels(Node *stmt)
{
	return named_list(((LockStmt *) stmt)->relations);
}

static List *
alter_table_rels(Node *stmt)
{
	return list_make1_oid(named(((AlterTableStmt *) stmt)->relation));
}

static List *
cluster_rels(Node *stmt)
{
	return list_make1_oid(named(((ClusterStmt *) stmt)->relation));
}

static List *
vacuum_rels(Node *stmt)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, ((VacuumStmt *) stmt)->rels)
		relids = lappend_oid(relids, named(((VacuumRelation *) lfirst(lc))->relation));
	return relids;
}

static List *
reindex_rels(Node *stmt)
{
	return list_make1_oid(named(((ReindexStmt *) stmt)->relation));
}

static List *
index_rels(Node *stmt)
{
	return list_make1_oid(named(((IndexStmt *) stmt)->relation));
}

static List *
trigger_rels(Node *stmt)
{
	return list_make1_oid(named(((CreateTrigStmt *) stmt)->relation));
}

static List *
create_policy_rels(Node *stmt)
{
	return list_make1_oid(named(((CreatePolicyStmt *) stmt)->table));
}

static List *
alter_policy_rels(Node *stmt)
{
	return list_make1_oid(named(((AlterPolicyStmt *) stmt)->table));
}

static List *
rule_rels(Node *stmt)
{
	return list_make1_oid(named(((RuleStmt *) stmt)->relation));
}

static List *
rename_rels(Node *stmt)
{
	return list_make1_oid(named(((RenameStmt *) stmt)->relation));
}

static List *
set_schema_rels(Node *stmt)
{
	return list_make1_oid(named(((AlterObjectSchemaStmt *) stmt)->relation));
}

static List *
grant_rels(Node *stmt)
{
	GrantStmt  *grant = (GrantStmt *) stmt;

	if (grant->targtype != ACL_TARGET_OBJECT || grant->objtype != OBJECT_TABLE)
		return NIL;
	return named_list(grant->objects);
}

static List *
drop_rels(Node *stmt)
{
	DropStmt   *drop = (DropStmt *) stmt;
	List	   *relids = NIL;
	ListCell   *lc;

	if (drop->removeType != OBJECT_TABLE)
		return NIL;
	foreach(lc, drop->objects)
		relids = lappend_oid(relids, named(makeRangeVarFromNameList(lfirst(lc))));
	return relids;
}

/*
 * The statements a consumer may not run on a governed relation: the verb
 * of the error message ("agency X may not <verb> governed relation Y"),
 * and the relations the statement names.  VACUUM and ANALYZE share a node
 * and differ in their verb only.
 */
static const struct
{
	NodeTag		tag;
	const char *verb;
	List	   *(*relations) (Node *stmt);
}			refusals[] =
{
	{T_TruncateStmt, "truncate", truncate_rels},
	{T_LockStmt, "lock", lock_rels},
	{T_AlterTableStmt, "alter", alter_table_rels},
	{T_ClusterStmt, "cluster", cluster_rels},
	{T_VacuumStmt, "vacuum", vacuum_rels},
	{T_ReindexStmt, "reindex", reindex_rels},
	{T_IndexStmt, "index", index_rels},
	{T_CreateTrigStmt, "create triggers on", trigger_rels},
	{T_CreatePolicyStmt, "create policies on", create_policy_rels},
	{T_AlterPolicyStmt, "alter policies on", alter_policy_rels},
	{T_RuleStmt, "create rules on", rule_rels},
	{T_RenameStmt, "rename", rename_rels},
	{T_AlterObjectSchemaStmt, "move", set_schema_rels},
	{T_GrantStmt, "grant or revoke privileges on", grant_rels},
	{T_DropStmt, "drop", drop_rels},
};

/* A ResTarget of a column (or of *, when name is NULL) for a SELECT list. */
static ResTarget *
select_column(const char *name)
{
	ColumnRef  *column = makeNode(ColumnRef);
	ResTarget  *target = makeNode(ResTarget);

	column->fields = list_make1(name ? (Node *) makeString(pstrdup(name)) : (Node *) makeNode(A_Star));
	column->location = -1;
	target->name = name ? pstrdup(name) : NULL;
	target->val = (Node *) column;
	target->location = -1;
	return target;
}

/*
 * COPY relation TO: refused into a governed relation; out of one, turned
 * into COPY (SELECT columns FROM ONLY relation) TO, which the planner
 * hook rewrites like any consumer query.
 */
static PlannedStmt *
copy_statement(GovshareEnforcement *e, PlannedStmt *pstmt, CopyStmt *copy)
{
	Oid			relid = named(copy->relation);
	CopyStmt   *query_copy;
	SelectStmt *select;
	RangeVar   *from;
	PlannedStmt *result;
	ListCell   *lc;

	if (!OidIsValid(relid) || !govshare_relation_governed(relid) ||
		!govshare_enforce_is_consumer(e))
		return pstmt;
	if (copy->is_from)
		govshare_enforce_refuse(e, relid, "copy into");

	select = makeNode(SelectStmt);
	if (copy->attlist == NIL)
		select->targetList = list_make1(select_column(NULL));
	else
		foreach(lc, copy->attlist)
			select->targetList = lappend(select->targetList, select_column(strVal(lfirst(lc))));
	from = makeRangeVar(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid), -1);
	from->inh = false;			/* COPY t TO copies t's own rows */
	select->fromClause = list_make1(from);

	query_copy = copyObject(copy);
	query_copy->relation = NULL;
	query_copy->attlist = NIL;
	query_copy->query = (Node *) select;
	result = copyObject(pstmt);
	result->utilityStmt = (Node *) query_copy;
	return result;
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
	GovshareEnforcement e;
	ListCell   *lc;

	if (!govshare_enforce_begin(&e))
		return pstmt;

	switch (nodeTag(stmt))
	{
		case T_CopyStmt:
			return copy_statement(&e, pstmt, (CopyStmt *) stmt);
		case T_RefreshMatViewStmt:
			{
				Oid			relid = named(((RefreshMatViewStmt *) stmt)->relation);

				if (OidIsValid(relid) && govshare_enforce_is_consumer(&e) && govshare_enforce_reads_governed(relid))
					govshare_enforce_deny(&e, relid, NULL, NULL,
										  psprintf("agency \"%s\" may not refresh materialized view \"%s\" over governed data",
												   e.agency, get_rel_name(relid)),
										  "A materialized view keeps governed data beyond the request that read it.",
										  "Query the governed relations within a request context instead.");
				return pstmt;
			}
		case T_SecLabelStmt:
			if (govshare_enforce_is_consumer(&e))
				govshare_enforce_deny(&e, InvalidOid, NULL, NULL,
									  psprintf("agency \"%s\" may not set security labels", e.agency),
									  "Labels classify the provider's data; consumer agencies cannot change them.",
									  NULL);
			return pstmt;
		default:
			break;
	}

	for (int i = 0; i < lengthof(refusals); i++)
	{
		const char *verb;

		if (refusals[i].tag != nodeTag(stmt))
			continue;
		verb = refusals[i].verb;
		if (IsA(stmt, VacuumStmt) && !((VacuumStmt *) stmt)->is_vacuumcmd)
			verb = "analyze";
		foreach(lc, refusals[i].relations(stmt))
		{
			Oid			relid = lfirst_oid(lc);

			if (OidIsValid(relid) && govshare_relation_governed(relid) &&
				govshare_enforce_is_consumer(&e))
				govshare_enforce_refuse(&e, relid, verb);
		}
		break;
	}
	return pstmt;
}
