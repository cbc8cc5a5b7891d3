/*-------------------------------------------------------------------------
 *
 * tables.c
 *	  govshare's catalog tables: their names and columns in one table, and
 *	  one cached lookup of their OIDs.
 *
 * The columns are those of catalog_internal.h, by name, so that opening a
 * table checks its layout once for every reader.  An OID found is kept
 * until an invalidation may have changed it: a relcache invalidation of
 * that relation (DROP, RENAME) or of all relations, or any change of a
 * schema (the govshare schema renamed or dropped).  An OID not found is
 * not kept: the extension may be created at any time, and nothing
 * invalidates a name that did not exist.
 *
 * src/catalog/tables.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "catalog/catalog_internal.h"

static const char *const agency_columns[Natts_agency] = {
	[Anum_agency_code - 1] = "code",
	[Anum_agency_name - 1] = "name",
	[Anum_agency_parent - 1] = "parent",
	[Anum_agency_is_self - 1] = "is_self",
	[Anum_agency_created_at - 1] = "created_at",
	[Anum_agency_created_by - 1] = "created_by",
};

static const char *const role_binding_columns[Natts_role_binding] = {
	[Anum_role_binding_role - 1] = "role",
	[Anum_role_binding_agency - 1] = "agency",
	[Anum_role_binding_bound_at - 1] = "bound_at",
	[Anum_role_binding_bound_by - 1] = "bound_by",
};

static const char *const agency_key_columns[Natts_agency_key] = {
	[Anum_agency_key_key_id - 1] = "key_id",
	[Anum_agency_key_agency - 1] = "agency",
	[Anum_agency_key_public_key - 1] = "public_key",
	[Anum_agency_key_valid_until - 1] = "valid_until",
	[Anum_agency_key_added_at - 1] = "added_at",
	[Anum_agency_key_added_by - 1] = "added_by",
	[Anum_agency_key_revoked_at - 1] = "revoked_at",
	[Anum_agency_key_revoked_by - 1] = "revoked_by",
	[Anum_agency_key_revoke_reason - 1] = "revoke_reason",
};

static const char *const purpose_columns[Natts_purpose] = {
	[Anum_purpose_code - 1] = "code",
	[Anum_purpose_description - 1] = "description",
	[Anum_purpose_legal_basis - 1] = "legal_basis",
	[Anum_purpose_created_at - 1] = "created_at",
	[Anum_purpose_created_by - 1] = "created_by",
};

static const char *const rule_columns[Natts_rule] = {
	[Anum_rule_id - 1] = "id",
	[Anum_rule_consumer - 1] = "consumer",
	[Anum_rule_purposes - 1] = "purposes",
	[Anum_rule_elements - 1] = "elements",
	[Anum_rule_level - 1] = "level",
	[Anum_rule_relation - 1] = "relation",
	[Anum_rule_row_filter - 1] = "row_filter",
	[Anum_rule_row_filter_tree - 1] = "row_filter_tree",
	[Anum_rule_legal_basis - 1] = "legal_basis",
	[Anum_rule_valid_from - 1] = "valid_from",
	[Anum_rule_valid_until - 1] = "valid_until",
	[Anum_rule_created_at - 1] = "created_at",
	[Anum_rule_created_by - 1] = "created_by",
	[Anum_rule_options - 1] = "options",
};

static const char *const rule_event_columns[Natts_rule_event] = {
	[Anum_rule_event_id - 1] = "id",
	[Anum_rule_event_rule_id - 1] = "rule_id",
	[Anum_rule_event_event - 1] = "event",
	[Anum_rule_event_at - 1] = "at",
	[Anum_rule_event_by - 1] = "by",
	[Anum_rule_event_reason - 1] = "reason",
};

static const char *const element_columns[Natts_element] = {
	[Anum_element_code - 1] = "code",
	[Anum_element_name_vi - 1] = "name_vi",
	[Anum_element_name_en - 1] = "name_en",
	[Anum_element_description - 1] = "description",
	[Anum_element_datatype - 1] = "datatype",
	[Anum_element_sensitivity - 1] = "sensitivity",
	[Anum_element_code_list - 1] = "code_list",
	[Anum_element_subject_key - 1] = "subject_key",
	[Anum_element_legal_basis - 1] = "legal_basis",
	[Anum_element_shipped - 1] = "shipped",
};

static const char *const token_use_columns[Natts_token_use] = {
	[Anum_token_use_issuer - 1] = "issuer",
	[Anum_token_use_jti - 1] = "jti",
	[Anum_token_use_expires_at - 1] = "expires_at",
	[Anum_token_use_used_at - 1] = "used_at",
	[Anum_token_use_used_by - 1] = "used_by",
};

static const char *const quota_columns[Natts_quota] = {
	[Anum_quota_consumer - 1] = "consumer",
	[Anum_quota_purpose - 1] = "purpose",
	[Anum_quota_statements_per_minute - 1] = "statements_per_minute",
	[Anum_quota_rows_per_day - 1] = "rows_per_day",
	[Anum_quota_verify_per_minute - 1] = "verify_per_minute",
	[Anum_quota_set_at - 1] = "set_at",
	[Anum_quota_set_by - 1] = "set_by",
};

static const char *const officer_columns[Natts_officer] = {
	[Anum_officer_role - 1] = "role",
	[Anum_officer_officer - 1] = "officer",
	[Anum_officer_bound_at - 1] = "bound_at",
	[Anum_officer_bound_by - 1] = "bound_by",
};

static const char *const gateway_columns[Natts_gateway] = {
	[Anum_gateway_role - 1] = "role",
	[Anum_gateway_marked_at - 1] = "marked_at",
	[Anum_gateway_marked_by - 1] = "marked_by",
};

typedef struct CatalogTable
{
	const char *name;			/* in schema govshare */
	int			natts;
	const char *const *columns; /* by attribute number - 1 */
	int			natts_010;		/* columns a 0.1.0 catalog has; 0: all of them */
	Oid			relid;			/* cached; InvalidOid: look it up */
} CatalogTable;

static CatalogTable tables[GOVSHARE_NTABLES] = {
	[GOVSHARE_TABLE_AGENCY] = {"agency", Natts_agency, agency_columns},
	[GOVSHARE_TABLE_ROLE_BINDING] = {"role_binding", Natts_role_binding, role_binding_columns},
	[GOVSHARE_TABLE_AGENCY_KEY] = {"agency_key", Natts_agency_key, agency_key_columns},
	[GOVSHARE_TABLE_PURPOSE] = {"purpose", Natts_purpose, purpose_columns},
	/* options came with 0.2.0 (issue 20) */
	[GOVSHARE_TABLE_RULE] = {"rule", Natts_rule, rule_columns, Anum_rule_created_by},
	[GOVSHARE_TABLE_RULE_EVENT] = {"rule_event", Natts_rule_event, rule_event_columns},
	[GOVSHARE_TABLE_ELEMENT] = {"element", Natts_element, element_columns},
	[GOVSHARE_TABLE_TOKEN_USE] = {"token_use", Natts_token_use, token_use_columns},
	[GOVSHARE_TABLE_QUOTA] = {"quota", Natts_quota, quota_columns},
	[GOVSHARE_TABLE_OFFICER] = {"officer", Natts_officer, officer_columns},
	[GOVSHARE_TABLE_GATEWAY] = {"gateway", Natts_gateway, gateway_columns},
};

/* Forgets every cached OID. */
static void
forget_all(void)
{
	for (int i = 0; i < GOVSHARE_NTABLES; i++)
		tables[i].relid = InvalidOid;
}

/*
 * Forgets the OID of a relation that changed, or all of them when relid is
 * InvalidOid (a full reset).  Called by policy.c's relcache callback, so
 * that the catalog takes one of the few relcache callback slots, not two.
 */
void
govshare_catalog_forget(Oid relid)
{
	if (relid == InvalidOid)
	{
		forget_all();
		return;
	}
	for (int i = 0; i < GOVSHARE_NTABLES; i++)
		if (tables[i].relid == relid)
			tables[i].relid = InvalidOid;
}

/* Syscache callback on schemas: any change may rename or drop govshare. */
static void
tables_namespace_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	forget_all();
}

/*
 * Registers the schema invalidation callback; called from
 * govshare_catalog_init (relations: govshare_catalog_forget).
 */
void
govshare_catalog_tables_init(void)
{
	CacheRegisterSyscacheCallback(NAMESPACEOID, tables_namespace_callback, (Datum) 0);
}

/* The name of a catalog table, without its schema. */
const char *
govshare_catalog_name(GovshareTable table)
{
	return tables[table].name;
}

/*
 * The OID of govshare.<table>, or InvalidOid when there is no such table
 * (the extension is not installed in this database).
 */
Oid
govshare_catalog_relid(GovshareTable table)
{
	CatalogTable *t = &tables[table];

	if (!OidIsValid(t->relid))
	{
		Oid			nsp = get_namespace_oid("govshare", true);

		if (OidIsValid(nsp))
			t->relid = get_relname_relid(t->name, nsp);
	}
	return t->relid;
}

/*
 * Opens govshare.<table> with AccessShareLock and checks that its columns
 * are those this library was built for (or, until ALTER EXTENSION
 * UPDATE, those of 0.1.0: the columns added since are missing at the
 * end); errors when the table is missing or laid out otherwise.  Returns
 * the open relation.
 */
Relation
govshare_catalog_open(GovshareTable table)
{
	CatalogTable *t = &tables[table];
	Oid			relid = govshare_catalog_relid(table);
	Relation	rel;
	TupleDesc	desc;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("catalog table govshare.%s does not exist", t->name),
				 errdetail("The library reads it as part of the policy."),
				 errhint("Run ALTER EXTENSION govshare UPDATE, or install the library that matches the extension.")));
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int attnum = 1; attnum <= t->natts; attnum++)
	{
		const char *name = t->columns[attnum - 1];

		/* a catalog not yet updated from 0.1.0 lacks the newer columns */
		if (attnum > desc->natts && t->natts_010 > 0 && attnum > t->natts_010)
			break;
		if (attnum > desc->natts ||
			strcmp(NameStr(TupleDescAttr(desc, attnum - 1)->attname), name) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("catalog table govshare.%s does not have the layout this library expects",
							RelationGetRelationName(rel)),
					 errdetail("Column %d should be \"%s\".", attnum, name),
					 errhint("Run ALTER EXTENSION govshare UPDATE, or install the library that matches the extension.")));
	}
	return rel;
}
