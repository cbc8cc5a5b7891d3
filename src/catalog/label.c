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
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
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

	run("SELECT datatype::pg_catalog.oid FROM govshare.element WHERE code = $1",
		1, &type, &value, NULL);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("data element \"%s\" does not exist", label),
				 errhint("The data elements are listed in govshare.element; an agency may add its own.")));
	elemtype = DatumGetObjectId(DirectFunctionCall1(oidin, CStringGetDatum(col(1))));

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
 * The label provider's check, for SECURITY LABEL and for the functions
 * below: raises an error unless label may be set on object.
 */
static void
check_label(const ObjectAddress *object, const char *label)
{
	char		relkind;

	require_extension();
	if (object->classId != RelationRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("govshare labels apply to tables and their columns only"),
				 errdetail("%s cannot carry a govshare label.",
						   getObjectDescription(object, false))));

	relkind = get_rel_relkind(object->objectId);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot label \"%s\" for govshare", get_rel_name(object->objectId)),
				 errdetail("Only tables and partitioned tables hold governed data; \"%s\" is a %s.",
						   get_rel_name(object->objectId),
						   relkind == RELKIND_VIEW ? "view" :
						   relkind == RELKIND_MATVIEW ? "materialized view" :
						   relkind == RELKIND_FOREIGN_TABLE ? "foreign table" :
						   relkind == RELKIND_SEQUENCE ? "sequence" : "relation of another kind"),
				 errhint("Classify the columns of the tables it reads: views and queries inherit their rules.")));

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
	SPI_finish();
}

/* Allows the owner of relid or a member of govshare_admin; errors otherwise. */
static void
check_permission(Oid relid)
{
	Oid			admin = get_role_oid("govshare_admin", true);

	if (govshare_rel_ownercheck(relid, GetUserId()))
		return;
	if (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to change the classification of table \"%s\"",
					get_rel_name(relid)),
			 errdetail("Only the owner of the table or a member of govshare_admin may do so.")));
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
	check_permission(relid);
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
