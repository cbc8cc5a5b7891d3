/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  The audit's part of the utility hook: the audit writer of a database
 *	  stopped before commands that need it without sessions, and the record
 *	  of an internal role's COPY of a governed relation.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME and CREATE DATABASE ...
 * TEMPLATE, run by the database's owner, first stop its audit writer
 * (queue.c), which would otherwise hold a session in it.  A consumer's
 * COPY was made COPY (SELECT ...) TO by the enforcement and is recorded by
 * the executor (executor.c); an internal role's COPY relation TO runs no
 * executor, so it is described and recorded here.
 *
 * src/audit/utility.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"

#include "audit/audit_internal.h"

/*
 * An internal role's COPY relation TO of a governed relation: the record
 * of what it reads, or NULL when there is none to make.
 */
static AuditStatement *
copy_begin(CopyStmt *copy, const char *query_string)
{
	GovsharePolicy *policy;
	AuditStatement *st;
	Oid			relid;
	Bitmapset  *selected = NULL;
	bool		sensitive;

	if (copy->is_from || copy->relation == NULL || govshare_audit_internal == GOVSHARE_AUDIT_INTERNAL_NONE ||
		IsParallelWorker())
		return NULL;
	policy = govshare_policy();
	if (!policy->installed || govshare_consumer_agency() != NULL)
		return NULL;
	relid = RangeVarGetRelid(copy->relation, NoLock, true);
	if (!OidIsValid(relid) || !govshare_relation_governed(relid))
		return NULL;

	st = govshare_audit_statement_new(policy->self, govshare_context_current(), query_string);
	st->internal = true;
	govshare_audit_statement_open(st);
	if (copy->attlist != NIL)
	{
		ListCell   *lc;

		foreach(lc, copy->attlist)
		{
			AttrNumber	attnum = get_attnum(relid, strVal(lfirst(lc)));

			if (attnum != InvalidAttrNumber)
				selected = bms_add_member(selected, attnum - FirstLowInvalidHeapAttributeNumber);
		}
	}
	sensitive = govshare_audit_describe_relation(st, policy, NULL, NULL, relid, selected,
												 copy->attlist == NIL);
	if (!govshare_audit_internal_recorded(st, sensitive))
	{
		govshare_audit_statement_free(st);
		return NULL;
	}
	govshare_audit_record_reserve(st);
	st->described = true;
	return st;
}

/*
 * The utility hook's part, before the command runs: commands that need a
 * database without sessions first stop its audit writer; an internal
 * role's COPY relation TO of a governed relation begins a record (a
 * consumer's was made COPY (SELECT ...) TO, which the executor records).
 * Returns what govshare_audit_utility_end needs, or NULL.
 */
void *
govshare_audit_utility(Node *stmt, const char *query_string)
{
	const char *dbname = NULL;
	ListCell   *lc;

	if (IsA(stmt, CopyStmt))
		return copy_begin((CopyStmt *) stmt, query_string);
	if (IsA(stmt, DropdbStmt))
		dbname = ((DropdbStmt *) stmt)->dbname;
	else if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		dbname = ((RenameStmt *) stmt)->subname;
	else if (IsA(stmt, CreatedbStmt))
		foreach(lc, ((CreatedbStmt *) stmt)->options)
		{
			DefElem    *opt = lfirst_node(DefElem, lc);

			if (strcmp(opt->defname, "template") == 0 && opt->arg != NULL)
				dbname = defGetString(opt);
		}
	if (dbname != NULL)
	{
		Oid			dboid = get_database_oid(dbname, true);

		/*
		 * Only for who may run the command: the owner (or a superuser); for
		 * anyone else it fails anyway, and must not stop the writer.
		 */
		if (OidIsValid(dboid) && govshare_db_ownercheck(dboid, GetUserId()))
			govshare_audit_queue_stop(dboid);
	}
	return NULL;
}

/* The utility command ran: an internal COPY's record, with its rows. */
void
govshare_audit_utility_end(void *handle, QueryCompletion *qc)
{
	AuditStatement *st = handle;

	if (st == NULL)
		return;
	if (qc != NULL)
		st->rows = (int64) qc->nprocessed;
	govshare_audit_statement_finish(st, "allowed", NULL, false);
}
