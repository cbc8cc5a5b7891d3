/*-------------------------------------------------------------------------
 *
 * label.c
 *	  The "govshare" security label provider: column classification and the
 *	  governed state of tables.
 *
 *	  SECURITY LABEL FOR govshare ON COLUMN t.c IS 'person.personal_id';
 *	  SECURITY LABEL FOR govshare ON TABLE t IS 'governed';
 *
 * Labels live in pg_seclabel, so they follow the table through pg_dump and
 * pg_restore.  Partitions and inheritance children inherit their parent's
 * labels at read time (see the govshare.classification view): nothing is
 * copied, so partitions created or attached later are covered at once.  A
 * label that would disagree with an ancestor's or a descendant's label on
 * the same column name is refused, here and when ALTER TABLE attaches a
 * table that carries one.
 *
 * With check_function_bodies off (as pg_dump's scripts set it), a column
 * label's element is not looked up: the agency's own elements are restored
 * after the labels that name them.
 *
 * Every change of a label invalidates the relation's relcache entry, which
 * is how decision caches in other sessions learn of it at commit.
 *
 * src/label.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_auth_members.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/seclabel.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_coerce.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "catalog/gs_catalog.h"
#include "types/gs_types.h"

/*
 * A column label that disagrees with one on the same column name anywhere
 * up or down the inheritance tree of $1.  $2 is the column name, $3 the new
 * label.
 */
static const char *const conflict_sql =
"WITH RECURSIVE up(relid) AS ("
"  SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1"
"  UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.relid),"
" down(relid) AS ("
"  SELECT inhrelid FROM pg_catalog.pg_inherits WHERE inhparent = $1"
"  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.relid)"
" SELECT r.relid::pg_catalog.regclass::text, s.label"
" FROM (SELECT relid FROM up UNION SELECT relid FROM down) r"
" JOIN pg_catalog.pg_attribute a ON a.attrelid = r.relid AND a.attname = $2::pg_catalog.name AND NOT a.attisdropped"
" JOIN pg_catalog.pg_seclabel s ON s.objoid = r.relid AND s.objsubid = a.attnum"
"  AND s.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND s.provider = 'govshare'"
" WHERE s.label <> $3 ORDER BY 1 LIMIT 1";

/*
 * Any pair of disagreeing column labels between an ancestor of $1 (or $1)
 * and a descendant of $1 (or $1): what attaching $1 to a parent can bring.
 */
static const char *const tree_conflict_sql =
"WITH RECURSIVE up(relid) AS ("
"  SELECT $1::pg_catalog.oid"
"  UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.relid),"
" down(relid) AS ("
"  SELECT $1::pg_catalog.oid"
"  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.relid),"
" lab AS (SELECT s.objoid AS relid, a.attname, s.label FROM pg_catalog.pg_seclabel s"
"  JOIN pg_catalog.pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid"
"  WHERE s.provider = 'govshare' AND s.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass"
"  AND s.objsubid > 0)"
" SELECT lu.relid::pg_catalog.regclass::text, lu.label,"
"  ld.relid::pg_catalog.regclass::text, ld.label, lu.attname::text"
" FROM up JOIN lab lu ON lu.relid = up.relid, down JOIN lab ld ON ld.relid = down.relid"
" WHERE lu.attname = ld.attname AND lu.label <> ld.label AND lu.relid <> ld.relid"
" ORDER BY 1, 3, 5 LIMIT 1";

/* Is a proper ancestor of $1 governed? */
static const char *const governed_ancestor_sql =
"WITH RECURSIVE up(relid) AS ("
"  SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1"
"  UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.relid)"
" SELECT up.relid::pg_catalog.regclass::text FROM up"
" JOIN pg_catalog.pg_seclabel s ON s.objoid = up.relid AND s.objsubid = 0"
"  AND s.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND s.provider = 'govshare'"
" ORDER BY 1 LIMIT 1";

/* $1 and every relation below it (partitions, inheritance children). */
static const char *const descendants_sql =
"WITH RECURSIVE down(relid) AS ("
"  SELECT $1::pg_catalog.oid"
"  UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.relid)"
" SELECT relid FROM down";

/*
 * Runs a query with arguments inside an open SPI connection, with a fresh
 * snapshot so that it sees the catalog changes of the current command.
 */
static void
run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls)
{
	if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "govshare: catalog query failed");
}

/* Column i (1-based) of the first SPI result row, as a C string or NULL. */
static char *
col(int i)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i);
}

/* Is t one of the string types that can hold any element's text form? */
static bool
is_string_type(Oid t)
{
	return t == TEXTOID || t == VARCHAROID || t == BPCHAROID;
}

/*
 * How a column of type coltype can hold values of an element of type
 * elemtype: "conforms" (the same type, or a domain over it), "castable" (a
 * cast function or binary coercion exists in either direction, or the
 * column is a string type), or "mismatch".
 */
const char *
govshare_label_conformance(Oid coltype, Oid elemtype)
{
	Oid			base = getBaseType(coltype);
	Oid			func;

	if (base == elemtype)
		return "conforms";
	if (is_string_type(base))
		return "castable";
	if (find_coercion_pathway(base, elemtype, COERCION_EXPLICIT, &func) == COERCION_PATH_FUNC ||
		find_coercion_pathway(base, elemtype, COERCION_EXPLICIT, &func) == COERCION_PATH_RELABELTYPE ||
		find_coercion_pathway(elemtype, base, COERCION_EXPLICIT, &func) == COERCION_PATH_FUNC ||
		find_coercion_pathway(elemtype, base, COERCION_EXPLICIT, &func) == COERCION_PATH_RELABELTYPE)
		return "castable";
	return "mismatch";
}

/* Refuses labels in a database where the extension is not installed. */
static void
require_extension(void)
{
	if (!OidIsValid(get_extension_oid("govshare", true)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"govshare\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION govshare first.")));
}

/* Checks that element label exists and that relid's column can hold it. */
static void
check_element(Oid relid, const char *attname, Oid coltype, const char *label)
{
	Oid			type = TEXTOID;
	Datum		value = CStringGetTextDatum(label);
	Oid			elemtype;
	const char *problem;

	run("SELECT datatype::pg_catalog.oid FROM govshare.element WHERE code = $1",
		1, &type, &value, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("data element \"%s\" does not exist", label),
				 errhint("The data elements are listed in govshare.element; an agency may add its own.")));
	elemtype = DatumGetObjectId(DirectFunctionCall1(oidin, CStringGetDatum(col(1))));
	if ((problem = govshare_type_problem(elemtype, GetUserId())) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("data element \"%s\" is of type %s, whose code role \"%s\" may not run",
						label, format_type_be(elemtype), GetUserNameFromId(GetUserId(), false)),
				 errdetail("%c%s; govshare runs the code of a type only as its owner or when a superuser owns it.",
						   pg_toupper((unsigned char) problem[0]), problem + 1),
				 errhint("Ask a superuser to take ownership of the type, or to register the element with a type of its own.")));

	if (strcmp(govshare_label_conformance(coltype, elemtype), "mismatch") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of table \"%s\" cannot hold data element \"%s\"",
						attname, get_rel_name(relid), label),
				 errdetail("The column is of type %s; the element is of type %s, and no cast joins them.",
						   format_type_be(coltype), format_type_be(elemtype)),
				 errhint("Change the column's type, or classify it as another element.")));
}

/* Checks a column label: element exists, type fits, no inherited conflict. */
static void
check_column_label(Oid relid, AttrNumber attnum, const char *label)
{
	char	   *attname = get_attname(relid, attnum, false);
	Oid			types[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		values[3];

	if (label == NULL)
		return;

	SPI_connect();

	/*
	 * pg_restore sets labels before it loads the rows of the agency's own
	 * elements, with check_function_bodies off, as for function bodies; the
	 * element and its type are then not checked (the classification view
	 * shows an unknown element as such).
	 */
	if (check_function_bodies)
		check_element(relid, attname, get_atttype(relid, attnum), label);

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(attname);
	values[2] = CStringGetTextDatum(label);
	run(conflict_sql, 3, types, values, NULL);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("classification of column \"%s\" of table \"%s\" conflicts with table \"%s\"",
						attname, get_rel_name(relid), col(1)),
				 errdetail("Column \"%s\" of \"%s\" is classified as \"%s\"; partitions and inheritance children share their parent's classification.",
						   attname, col(1), col(2)),
				 errhint("Classify the column on the parent only, or declassify the other first.")));
	SPI_finish();
}

/* Checks a table label: 'governed', or NULL unless an ancestor is governed. */
static void
check_table_label(Oid relid, const char *label)
{
	Oid			type = OIDOID;
	Datum		value = ObjectIdGetDatum(relid);

	if (label != NULL)
	{
		if (strcmp(label, "governed") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid govshare label for table \"%s\"", get_rel_name(relid)),
					 errdetail("A table's label is 'governed'; columns are labelled with data element codes."),
					 errhint("Use govshare.govern('%s') or label a column.", get_rel_name(relid))));
		return;
	}
	SPI_connect();
	run(governed_ancestor_sql, 1, &type, &value, NULL);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("table \"%s\" inherits the governed state of \"%s\"",
						get_rel_name(relid), col(1)),
				 errhint("Ungovern \"%s\" instead, or detach the table first.", col(1))));
	SPI_finish();
}

/*
 * The agency other than self that roleid acts for, or NULL: a role bound to
 * one, directly or as a member of any kind (inherited or not) of a bound
 * role.  Superusers act for none.
 */
const char *
govshare_role_outside(GovsharePolicy *policy, Oid roleid)
{
	if (!policy->installed || !OidIsValid(roleid) || superuser_arg(roleid))
		return NULL;
	for (int i = 0; i < policy->nbindings; i++)
	{
		const char *agency = policy->binding_agencies[i];

		if (policy->self != NULL && strcmp(agency, policy->self) == 0)
			continue;
		if (policy->binding_roles[i] == roleid ||
			is_member_of_role_nosuper(roleid, policy->binding_roles[i]))
			return agency;
	}
	return NULL;
}

/*
 * The agency other than self that controls what relations owned by owner
 * hold: the owner's, or that of any role that is a member of the owner, of
 * any kind (it may become the owner).  *role gets the role that acts for
 * it.  NULL when every such role is internal.
 */
const char *
govshare_owner_outside(GovsharePolicy *policy, Oid owner, Oid *role)
{
	List	   *queue = list_make1_oid(owner);
	List	   *seen = list_make1_oid(owner);
	const char *agency = NULL;

	if (!policy->installed || policy->nbindings == 0)
		return NULL;
	while (queue != NIL && agency == NULL)
	{
		Oid			r = linitial_oid(queue);
		CatCList   *members;

		queue = list_delete_first(queue);
		if ((agency = govshare_role_outside(policy, r)) != NULL)
		{
			*role = r;
			break;
		}
		members = SearchSysCacheList1(AUTHMEMROLEMEM, ObjectIdGetDatum(r));
		for (int i = 0; i < members->n_members; i++)
		{
			Oid			member = ((Form_pg_auth_members) GETSTRUCT(&members->members[i]->tuple))->member;

			if (!list_member_oid(seen, member))
			{
				seen = lappend_oid(seen, member);
				queue = lappend_oid(queue, member);
			}
		}
		ReleaseSysCacheList(members);
	}
	list_free(queue);
	list_free(seen);
	return agency;
}

/* What a relation of relkind is, for messages. */
static const char *
relkind_name(char relkind)
{
	switch (relkind)
	{
		case RELKIND_VIEW:
			return "view";
		case RELKIND_MATVIEW:
			return "materialized view";
		case RELKIND_FOREIGN_TABLE:
			return "foreign table";
		case RELKIND_SEQUENCE:
			return "sequence";
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			return "index";
		case RELKIND_TOASTVALUE:
			return "TOAST table";
		case RELKIND_COMPOSITE_TYPE:
			return "composite type";
		default:
			return "relation of another kind";
	}
}

/*
 * Why relid is not an ordinary table of a user: a system catalog (schemas
 * pg_catalog, information_schema, pg_toast), a member of an extension
 * (govshare's own tables among them), a table in govshare's schema.  NULL
 * for an ordinary table.
 */
static char *
system_reason(Oid relid)
{
	Oid			nsp = get_rel_namespace(relid);
	Oid			ext;
	Oid			info = get_namespace_oid("information_schema", true);
	Oid			own = get_namespace_oid("govshare", true);

	if (IsCatalogNamespace(nsp) || IsToastNamespace(nsp) || nsp == info ||
		IsCatalogRelationOid(relid))
		return psprintf("\"%s\" is a system catalog", get_rel_name(relid));
	if (OidIsValid(ext = getExtensionOfObject(RelationRelationId, relid)))
		return psprintf("\"%s\" belongs to extension \"%s\"", get_rel_name(relid),
						get_extension_name(ext));
	if (nsp == own)
		return psprintf("\"%s\" is in govshare's own schema", get_rel_name(relid));
	return NULL;
}

/*
 * Why relid may not be governed or classified, or NULL: not a table or
 * partitioned table (a table that became a view, say; without check_kind
 * a foreign table passes: it may be a partition of a governed table,
 * governed through its parent), not a user's
 * (system_reason), or owned by a role that acts for another agency, or
 * that such a role may become (govshare_owner_outside), naming that role
 * and its agency when name_roles (consumers may not learn bindings).
 * *code gets the SQLSTATE to raise.
 */
static char *
unfit(GovsharePolicy *policy, Oid relid, bool check_kind, bool name_roles, int *code)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	char		relkind;
	Oid			owner;
	Oid			role = InvalidOid;
	const char *agency;
	char	   *reason;

	if (!HeapTupleIsValid(tuple))
	{
		*code = ERRCODE_UNDEFINED_TABLE;
		return psprintf("relation with OID %u does not exist", relid);
	}
	relkind = ((Form_pg_class) GETSTRUCT(tuple))->relkind;
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);

	*code = ERRCODE_WRONG_OBJECT_TYPE;
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		(check_kind || relkind != RELKIND_FOREIGN_TABLE))
		return psprintf("\"%s\" is a %s", get_rel_name(relid), relkind_name(relkind));
	if ((reason = system_reason(relid)) != NULL)
		return reason;
	if ((agency = govshare_owner_outside(policy, owner, &role)) != NULL)
	{
		*code = ERRCODE_INSUFFICIENT_PRIVILEGE;
		if (!name_roles)
			return pstrdup("its owner is, or may become, a role that acts for another agency");
		if (role == owner)
			return psprintf("its owner, role \"%s\", acts for agency \"%s\"",
							GetUserNameFromId(owner, false), agency);
		return psprintf("role \"%s\", which acts for agency \"%s\", is a member of its owner, role \"%s\"",
						GetUserNameFromId(role, false), agency, GetUserNameFromId(owner, false));
	}
	return NULL;
}

/*
 * Why relid may not carry govshare labels, or NULL (see unfit): what the
 * decision engine asks before any rule applies to a governed relation, and
 * govshare.governance_problem() answers in SQL.  policy is the caller's
 * snapshot (this never asks for another, so the caller's stays valid);
 * name_roles as for unfit.
 */
char *
govshare_label_unfit(GovsharePolicy *policy, Oid relid, bool check_kind, bool name_roles)
{
	int			code;

	return unfit(policy, relid, check_kind, name_roles, &code);
}

/*
 * Refuses a role acting for another agency, as the current, outer or
 * session user: consumer agencies never classify, govern or ungovern.
 */
static void
check_labeller(void)
{
	GovsharePolicy *policy = govshare_policy();
	Oid			roles[3] = {GetUserId(), GetOuterUserId(), GetSessionUserId()};

	for (int i = 0; i < lengthof(roles); i++)
	{
		const char *agency = govshare_role_outside(policy, roles[i]);

		if (agency != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" acts for agency \"%s\" and may not change govshare labels",
							GetUserNameFromId(roles[i], false), agency),
					 errdetail("Labels classify the provider's data: consumer agencies cannot classify, govern or ungovern tables.")));
	}
}

/*
 * Allows the roles that have the privileges of relid's owner (its owner,
 * members of the owner's role, superusers); errors otherwise.
 */
static void
check_permission(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	if (has_privs_of_role(GetUserId(), owner))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to change the classification of table \"%s\"",
					get_rel_name(relid)),
			 errdetail("Governing a table is its owner's decision: only roles with the privileges of its owner, role \"%s\", may classify, govern or ungovern it.",
					   GetUserNameFromId(owner, false)),
			 superuser_arg(owner) ? 0 :
			 errhint("The owner may let govshare_admin do it: GRANT %s TO govshare_admin.",
					 quote_identifier(GetUserNameFromId(owner, false)))));
}

/*
 * The label provider's check, for SECURITY LABEL and for the functions
 * below: raises an error unless label may be set on object by the current
 * role.  Removing a label (NULL) is allowed on any table, so that one set
 * before these checks existed can be taken off.
 */
static void
check_label(const ObjectAddress *object, const char *label)
{
	char		relkind;
	char	   *reason;
	int			code;

	require_extension();
	if (object->classId != RelationRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("govshare labels apply to tables and their columns only"),
				 errdetail("%s cannot carry a govshare label.",
						   getObjectDescription(object, false))));

	check_labeller();
	relkind = get_rel_relkind(object->objectId);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot label \"%s\" for govshare", get_rel_name(object->objectId)),
				 errdetail("Only tables and partitioned tables hold governed data; \"%s\" is a %s.",
						   get_rel_name(object->objectId), relkind_name(relkind)),
				 errhint("Classify the columns of the tables it reads: views and queries inherit their rules.")));
	if (label != NULL && (reason = system_reason(object->objectId)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot label \"%s\" for govshare", get_rel_name(object->objectId)),
				 errdetail("govshare governs ordinary tables of users only; %s.", reason)));
	check_permission(object->objectId);
	if (label != NULL && (reason = unfit(govshare_policy(), object->objectId, true, true, &code)) != NULL)
		ereport(ERROR,
				(errcode(code),
				 errmsg("cannot label \"%s\" for govshare", get_rel_name(object->objectId)),
				 errdetail("govshare governs ordinary tables of internal roles only; %s.", reason),
				 errhint("A consumer agency's tables hold what it chose to put there; govern the provider's own tables.")));

	if (object->objectSubId < 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot label a system column for govshare")));
	if (object->objectSubId == 0)
		check_table_label(object->objectId, label);
	else
		check_column_label(object->objectId, (AttrNumber) object->objectSubId, label);
}

/* The hook registered with register_label_provider. */
static void
relabel_hook(const ObjectAddress *object, const char *seclabel)
{
	check_label(object, seclabel);
	CacheInvalidateRelcacheByRelid(object->objectId);
}

/* Registers the label provider; called from _PG_init. */
void
govshare_label_init(void)
{
	register_label_provider("govshare", relabel_hook);
}

/*
 * After ALTER TABLE ... ATTACH PARTITION or INHERIT: refuses the command
 * when the newly joined tree holds disagreeing labels.
 */
void
govshare_label_check_tree(Oid relid)
{
	Oid			type = OIDOID;
	Datum		value = ObjectIdGetDatum(relid);

	CommandCounterIncrement();
	SPI_connect();
	run(tree_conflict_sql, 1, &type, &value, NULL);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("classification of column \"%s\" of table \"%s\" conflicts with table \"%s\"",
						col(5), col(3), col(1)),
				 errdetail("\"%s\" classifies it as \"%s\", \"%s\" as \"%s\"; partitions and inheritance children share their parent's classification.",
						   col(1), col(2), col(3), col(4)),
				 errhint("Declassify the column of \"%s\" before attaching it.", col(3))));

	/* a tree newly governed through a parent: nothing in it a consumer controls */
	run(governed_ancestor_sql, 1, &type, &value, NULL);
	if (SPI_processed > 0)
	{
		char	   *parent = pstrdup(col(1));
		GovsharePolicy *policy = govshare_policy();

		if (SPI_execute_with_args(descendants_sql, 1, &type, &value, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "govshare: catalog query failed");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			Oid			member = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 1, &isnull));
			char	   *why = govshare_label_unfit(policy, member, false, true);

			if (why != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("table \"%s\" cannot join governed table \"%s\"",
								get_rel_name(member), parent),
						 errdetail("govshare governs ordinary tables of internal roles only; %s.", why)));
		}
	}
	SPI_finish();
}

/* Sets (or, label NULL, removes) the govshare label of relid's column. */
static void
set_label(Oid relid, const char *colname, const char *label)
{
	ObjectAddress object;

	LockRelationOid(relid, ShareUpdateExclusiveLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	ObjectAddressSubSet(object, RelationRelationId, relid, 0);
	if (colname != NULL)
	{
		AttrNumber	attnum = get_attnum(relid, colname);

		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							colname, get_rel_name(relid))));
		object.objectSubId = attnum;
	}
	check_label(&object, label);
	SetSecurityLabel(&object, "govshare", label);
	CacheInvalidateRelcacheByRelid(relid);
}

/* govshare.classify(rel regclass, col name, element text) returns void */
PG_FUNCTION_INFO_V1(govshare_classify);
Datum
govshare_classify(PG_FUNCTION_ARGS)
{
	set_label(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)),
			  text_to_cstring(PG_GETARG_TEXT_PP(2)));
	PG_RETURN_VOID();
}

/* govshare.declassify(rel regclass, col name) returns void */
PG_FUNCTION_INFO_V1(govshare_declassify);
Datum
govshare_declassify(PG_FUNCTION_ARGS)
{
	set_label(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)), NULL);
	PG_RETURN_VOID();
}

/* govshare.govern(rel regclass) returns void */
PG_FUNCTION_INFO_V1(govshare_govern);
Datum
govshare_govern(PG_FUNCTION_ARGS)
{
	set_label(PG_GETARG_OID(0), NULL, "governed");
	PG_RETURN_VOID();
}

/* govshare.ungovern(rel regclass) returns void */
PG_FUNCTION_INFO_V1(govshare_ungovern);
Datum
govshare_ungovern(PG_FUNCTION_ARGS)
{
	set_label(PG_GETARG_OID(0), NULL, NULL);
	PG_RETURN_VOID();
}

/* govshare.type_conformance(column_type regtype, element_type regtype) returns text */
PG_FUNCTION_INFO_V1(govshare_type_conformance);
Datum
govshare_type_conformance(PG_FUNCTION_ARGS)
{
	/* any number is a regtype: a missing type is the caller's error (42704) */
	for (int i = 0; i < 2; i++)
		if (!SearchSysCacheExists1(TYPEOID, PG_GETARG_DATUM(i)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("type with OID %u does not exist", PG_GETARG_OID(i))));
	return govshare_type_text_datum(govshare_label_conformance(PG_GETARG_OID(0),
															   PG_GETARG_OID(1)));
}

/*
 * govshare.type_problem(type regtype, runner regrole DEFAULT NULL) returns
 * text: why the code behind values of the type may not run as runner (NULL:
 * as any role), or NULL when it may (src/common/trust.c).
 */
PG_FUNCTION_INFO_V1(govshare_type_problem_sql);
Datum
govshare_type_problem_sql(PG_FUNCTION_ARGS)
{
	const char *problem;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	problem = govshare_type_problem(PG_GETARG_OID(0), PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1));
	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}

/*
 * govshare.governance_problem(rel regclass) returns text: why the relation
 * may not be governed (no rule applies to it if it is), or NULL.
 */
PG_FUNCTION_INFO_V1(govshare_governance_problem);
Datum
govshare_governance_problem(PG_FUNCTION_ARGS)
{
	char	   *problem = govshare_label_unfit(govshare_policy(), PG_GETARG_OID(0), false, true);

	if (problem == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(problem));
}
