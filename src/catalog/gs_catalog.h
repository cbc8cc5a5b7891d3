/*-------------------------------------------------------------------------
 *
 * gs_catalog.h
 *	  The catalog subsystem: labels and the policy snapshot.
 *
 * What govshare's catalog tables say, read into a per-backend snapshot
 * (policy.c, through tables.c), what a rule's status, patterns and window
 * mean (rule.c), the ids of request tokens already presented
 * (token_use.c), and the "govshare" security labels: classifications and
 * the governed state of relations (label.c).  Calls only src/common/ and
 * src/types/.
 *
 * src/catalog/gs_catalog.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_CATALOG_H
#define GS_CATALOG_H

#include "postgres.h"
#include "nodes/nodes.h"
#include "utils/timestamp.h"

#include "common/gs_common.h"

/* policy.c: the policy catalog (agencies, bindings, keys, purposes, rules) */
typedef enum GovshareLevel
{
	GOVSHARE_DENIED = 0,
	GOVSHARE_VERIFY,			/* answers govshare.verify() only; never read by SQL */
	GOVSHARE_REDACTED,
	GOVSHARE_GENERALIZED,
	GOVSHARE_PSEUDONYM,
	GOVSHARE_MASKED,
	GOVSHARE_FULL
} GovshareLevel;

typedef enum GovshareRuleStatus
{
	GOVSHARE_RULE_ACTIVE,
	GOVSHARE_RULE_SUSPENDED,
	GOVSHARE_RULE_REVOKED
} GovshareRuleStatus;

/* A rule's options (govshare.rule.options), as bits. */
#define GOVSHARE_RULE_VERIFY_ABSENT_FALSE		0x01	/* "verify_absent_false" */
#define GOVSHARE_RULE_VERIFY_IGNORE_DIACRITICS	0x02	/* "verify_ignore_diacritics" */

typedef struct GovshareRule
{
	int64		id;
	char	   *consumer;
	int			npurposes;
	char	  **purposes;
	int			nelements;
	char	  **elements;		/* codes, or patterns "prefix.*" and "*" */
	GovshareLevel level;
	int			options;		/* GOVSHARE_RULE_* bits */
	Oid			relation;		/* InvalidOid: every governed relation */
	char	   *filter_text;	/* as written; NULL: every row */
	Node	   *filter;			/* analysed, over varno 1 of relation */
	char	   *legal_basis;	/* NULL: the purposes' */
	TimestampTz valid_from;
	TimestampTz valid_until;	/* DT_NOEND when open-ended */
	GovshareRuleStatus status;	/* from its events: govshare_rule_history_status */
	TimestampTz status_since;	/* when it was revoked or suspended; 0 when active */
} GovshareRule;

typedef struct GovshareKey
{
	char	   *key_id;
	char	   *agency;
	char	   *public_key;
	TimestampTz valid_until;	/* DT_NOEND when open-ended */
	bool		revoked;
} GovshareKey;

/* A quota of a consumer agency for a purpose; -1: unlimited. */
typedef struct GovshareQuota
{
	char	   *consumer;
	char	   *purpose;
	int64		statements_per_minute;
	int64		rows_per_day;
	int64		verify_per_minute;
} GovshareQuota;

typedef struct GovsharePolicy
{
	bool		installed;		/* is the extension installed here? */
	uint64		generation;		/* changes with every reload */
	char	   *self;			/* the self agency's code, or NULL */
	int			nagencies;
	char	  **agencies;
	int			nbindings;
	Oid		   *binding_roles;
	char	  **binding_agencies;
	int			nkeys;
	GovshareKey *keys;
	int			nofficers;		/* govshare.officer: who may name whom */
	Oid		   *officer_roles;
	char	  **officer_names;
	int			ngateways;		/* govshare.gateway: roles that name any officer */
	bool		officers_bound;	/* govshare.officer exists (0.2.0): officers are checked */
	Oid		   *gateway_roles;
	int			npurposes;
	char	  **purposes;
	char	  **purpose_legal_bases;
	int			nrules;
	GovshareRule *rules;		/* by id */
	int			nelements;
	char	  **elements;		/* by code */
	bool	   *element_sensitive;
	int			nquotas;
	GovshareQuota *quotas;
	Oid			token_use_relid;
	Oid			rule_relid;		/* govshare.rule: plans depend on it */
	int64		version;		/* rows of rule and rule_event: moves with every change */
} GovsharePolicy;

/*
 * rule.c: what a rule means, defined once for C and SQL (the SQL functions
 * govshare.element_covers, govshare.rule_active, govshare.rule_status call
 * the same code).
 */
typedef enum GovshareRuleActivity
{
	GOVSHARE_RULE_IN_FORCE,		/* active, and the time is inside its window */
	GOVSHARE_RULE_NOT_ACTIVE,	/* revoked or suspended: see its status */
	GOVSHARE_RULE_NOT_YET_VALID,	/* its window opens later */
	GOVSHARE_RULE_EXPIRED		/* its window closed at or before that time */
} GovshareRuleActivity;

extern const char *govshare_rule_status_name(GovshareRuleStatus status);
extern bool govshare_element_covers(const char *pattern, const char *element);
extern GovshareRuleActivity govshare_rule_active(const GovshareRule *rule, TimestampTz now,
												 TimestampTz *horizon);

extern void govshare_catalog_init(void);
extern GovsharePolicy *govshare_policy(void);
extern const char *govshare_level_name(GovshareLevel level);
extern const char *govshare_role_agency(GovsharePolicy *policy, Oid roleid, bool *consumer);
extern const char *govshare_role_agency_noerror(GovsharePolicy *policy, Oid roleid,
												bool *consumer, bool *ambiguous);
extern bool govshare_policy_has_purpose(GovsharePolicy *policy, const char *purpose);
extern bool govshare_role_is_gateway(GovsharePolicy *policy, Oid roleid);
extern bool govshare_role_has_officer(GovsharePolicy *policy, Oid roleid, const char *officer);
extern bool govshare_element_sensitive(GovsharePolicy *policy, const char *element, bool *found);
extern const GovshareQuota *govshare_policy_quota(GovsharePolicy *policy, const char *consumer,
												  const char *purpose);

/* token_use.c: the ids of request tokens already presented */
typedef struct GovshareTokenUse
{
	const char *issuer;
	const char *jti;
	TimestampTz expires_at;
	TimestampTz used_at;
	const char *used_by;		/* the login that presented it */
} GovshareTokenUse;

extern bool govshare_token_use_recorded(const char *issuer, const char *jti);
extern void govshare_token_use_insert(const GovshareTokenUse *uses, int n);

/* label.c */
extern void govshare_label_init(void);
extern void govshare_label_check_tree(Oid relid);
extern const char *govshare_label_conformance(Oid coltype, Oid elemtype);
extern const char *govshare_role_outside(GovsharePolicy *policy, Oid roleid);
extern const char *govshare_owner_outside(GovsharePolicy *policy, Oid owner, Oid *role);
extern char *govshare_label_unfit(GovsharePolicy *policy, Oid relid, bool check_kind,
								  bool name_roles);

#endif							/* GS_CATALOG_H */
