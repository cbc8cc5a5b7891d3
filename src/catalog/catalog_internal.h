/*-------------------------------------------------------------------------
 *
 * catalog_internal.h
 *	  govshare's catalog tables as C sees them: their names, their columns
 *	  and the one cached lookup of their OIDs.  Private to src/catalog/.
 *
 * One block per table of src/sql/policy.sql and src/sql/dictionary.sql
 * that C reads, as pg_cron's cron_job.h mirrors cron.job: Natts_ is the
 * number of columns, Anum_ the number of each.  A change of a table's
 * columns in SQL changes its block here and its names in tables.c; every
 * table is checked against them when it is opened (govshare_catalog_open),
 * so that a library and a catalog out of step fail with a clear error
 * instead of misreading a column.
 *
 * src/catalog/catalog_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_CATALOG_INTERNAL_H
#define GS_CATALOG_INTERNAL_H

#include "postgres.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "catalog/gs_catalog.h"

/* govshare.agency */
#define Natts_agency					6
#define Anum_agency_code				1
#define Anum_agency_name				2
#define Anum_agency_parent				3
#define Anum_agency_is_self				4
#define Anum_agency_created_at			5
#define Anum_agency_created_by			6

/* govshare.role_binding */
#define Natts_role_binding				4
#define Anum_role_binding_role			1
#define Anum_role_binding_agency		2
#define Anum_role_binding_bound_at		3
#define Anum_role_binding_bound_by		4

/* govshare.agency_key */
#define Natts_agency_key				9
#define Anum_agency_key_key_id			1
#define Anum_agency_key_agency			2
#define Anum_agency_key_public_key		3
#define Anum_agency_key_valid_until		4
#define Anum_agency_key_added_at		5
#define Anum_agency_key_added_by		6
#define Anum_agency_key_revoked_at		7
#define Anum_agency_key_revoked_by		8
#define Anum_agency_key_revoke_reason	9

/* govshare.purpose */
#define Natts_purpose					5
#define Anum_purpose_code				1
#define Anum_purpose_description		2
#define Anum_purpose_legal_basis		3
#define Anum_purpose_created_at			4
#define Anum_purpose_created_by			5

/* govshare.rule */
#define Natts_rule						14
#define Anum_rule_id					1
#define Anum_rule_consumer				2
#define Anum_rule_purposes				3
#define Anum_rule_elements				4
#define Anum_rule_level					5
#define Anum_rule_relation				6
#define Anum_rule_row_filter			7
#define Anum_rule_row_filter_tree		8
#define Anum_rule_legal_basis			9
#define Anum_rule_valid_from			10
#define Anum_rule_valid_until			11
#define Anum_rule_created_at			12
#define Anum_rule_created_by			13
#define Anum_rule_options				14

/* govshare.rule_event */
#define Natts_rule_event				6
#define Anum_rule_event_id				1
#define Anum_rule_event_rule_id			2
#define Anum_rule_event_event			3
#define Anum_rule_event_at				4
#define Anum_rule_event_by				5
#define Anum_rule_event_reason			6

/* govshare.element (src/sql/dictionary.sql) */
#define Natts_element					10
#define Anum_element_code				1
#define Anum_element_name_vi			2
#define Anum_element_name_en			3
#define Anum_element_description		4
#define Anum_element_datatype			5
#define Anum_element_sensitivity		6
#define Anum_element_code_list			7
#define Anum_element_subject_key		8
#define Anum_element_legal_basis		9
#define Anum_element_shipped			10

/* govshare.token_use */
#define Natts_token_use					5
#define Anum_token_use_issuer			1
#define Anum_token_use_jti				2
#define Anum_token_use_expires_at		3
#define Anum_token_use_used_at			4
#define Anum_token_use_used_by			5

/* govshare.quota (src/sql/usage.sql) */
#define Natts_quota						7
#define Anum_quota_consumer				1
#define Anum_quota_purpose				2
#define Anum_quota_statements_per_minute 3
#define Anum_quota_rows_per_day			4
#define Anum_quota_verify_per_minute	5
#define Anum_quota_set_at				6
#define Anum_quota_set_by				7

/* govshare.officer (src/sql/remote.sql) */
#define Natts_officer					4
#define Anum_officer_role				1
#define Anum_officer_officer			2
#define Anum_officer_bound_at			3
#define Anum_officer_bound_by			4

/* govshare.gateway (src/sql/remote.sql) */
#define Natts_gateway					3
#define Anum_gateway_role				1
#define Anum_gateway_marked_at			2
#define Anum_gateway_marked_by			3

/* The tables above, as indexes into tables.c's table of names and OIDs. */
typedef enum GovshareTable
{
	GOVSHARE_TABLE_AGENCY,
	GOVSHARE_TABLE_ROLE_BINDING,
	GOVSHARE_TABLE_AGENCY_KEY,
	GOVSHARE_TABLE_PURPOSE,
	GOVSHARE_TABLE_RULE,
	GOVSHARE_TABLE_RULE_EVENT,
	GOVSHARE_TABLE_ELEMENT,
	GOVSHARE_TABLE_TOKEN_USE,
	GOVSHARE_TABLE_QUOTA,
	GOVSHARE_TABLE_OFFICER,
	GOVSHARE_TABLE_GATEWAY
} GovshareTable;

#define GOVSHARE_NTABLES (GOVSHARE_TABLE_GATEWAY + 1)

/*
 * rule.c: the events of one rule that decide its status, gathered in any
 * order by govshare_rule_history_add.
 */
typedef struct GovshareRuleHistory
{
	bool		revoked;		/* any revoke event? */
	int64		revoke_id;		/* the first one */
	TimestampTz revoke_at;
	bool		changed;		/* any suspend or resume event? */
	int64		change_id;		/* the latest one */
	TimestampTz change_at;
	bool		suspended;		/* was it a suspend? */
} GovshareRuleHistory;

extern void govshare_rule_history_add(GovshareRuleHistory *h, int64 id, const char *event,
									  TimestampTz at);
extern GovshareRuleStatus govshare_rule_history_status(const GovshareRuleHistory *h,
													   int64 *event_id, TimestampTz *since);

/* tables.c */
extern void govshare_catalog_tables_init(void);
extern void govshare_catalog_forget(Oid relid);
extern const char *govshare_catalog_name(GovshareTable table);
extern Oid	govshare_catalog_relid(GovshareTable table);
extern Relation govshare_catalog_open(GovshareTable table);

#endif							/* GS_CATALOG_INTERNAL_H */
