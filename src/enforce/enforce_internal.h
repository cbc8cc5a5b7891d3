/*-------------------------------------------------------------------------
 *
 * enforce_internal.h
 *	  What the enforcement's own files share.
 *
 * Only files under src/enforce/ include this header.
 *
 * src/enforce/enforce_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_ENFORCE_INTERNAL_H
#define GS_ENFORCE_INTERNAL_H

#include "postgres.h"
#include "catalog/pg_attribute.h"
#include "nodes/parsenodes.h"
#include "nodes/primnodes.h"

#include "enforce/gs_enforce.h"

/* deny.c: the enforcement of one statement, and its denials */
typedef struct GovshareEnforcement
{
	GovsharePolicy *policy;
	bool		subject_known;
	const char *agency;			/* consumer agency, or NULL: internal */
	bool		ambiguous;		/* the role acts for two agencies */
	const GovshareRequest *request;
	const char *problem;		/* why the request context does not apply */
	const char *ended;			/* why it has ended (govshare_context_ended) */
	TimestampTz now;
	bool		governed;		/* reads a governed relation */
	int			calls_checked;	/* rewrite.c: refuse statistics calls? -1: not known yet */
	Oid			verify_relid;	/* claims.c's lookup: read at verify level */
} GovshareEnforcement;

extern bool govshare_enforce_begin(GovshareEnforcement *e);
extern bool govshare_enforce_is_consumer(GovshareEnforcement *e);
extern char *govshare_enforce_sentence(const char *reason);
extern void govshare_enforce_deny(GovshareEnforcement *e, Oid relid, const char *column,
								  const char *element, const char *message,
								  const char *detail, const char *hint) pg_attribute_noreturn();
extern void govshare_enforce_refuse(GovshareEnforcement *e, Oid relid, const char *what);
extern void govshare_enforce_deny_unrequested(GovshareEnforcement *e, Oid relid);
extern void govshare_enforce_refuse_copy(GovshareEnforcement *e, Oid relid, Oid owner) pg_attribute_noreturn();
extern void govshare_enforce_refuse_statistics(GovshareEnforcement *e, Oid fn) pg_attribute_noreturn();

/* rewrite.c: the planning of query_string is govshare.verify()'s lookup */
extern void govshare_enforce_verify_arm(Oid relid, const char *query_string);

/* quota.c: verify() calls counted; statements not counted meanwhile */
extern void govshare_enforce_quota_verify(const char *agency, const GovshareRequest *r, Oid relid);
extern bool govshare_enforce_quota_pause(bool pause);

/* rewrite.c: does a view or materialized view read governed data? */
extern bool govshare_enforce_reads_governed(Oid relid);
extern void govshare_enforce_check_copy(GovshareEnforcement *e, Oid relid);

/* plancheck.c: functions of activity statistics */
extern bool govshare_enforce_statistics_function(Oid fn);

/* mask.c: the expression that shows a column at a level */
extern Node *govshare_mask_expr(Var *var, const FormData_pg_attribute *att,
								GovshareLevel level, const char *agency,
								GovshareLevel *shown);

/* fullform.c and implied.c: conditions on raw columns, for their indexes */
extern bool govshare_fullform_type(Oid typid);
extern Expr *govshare_fullform_comparison(int strategy, bool any, Node *raw, Node *value);
extern void govshare_fullform_deconstruct(struct ArrayType *a, Datum **elems, bool **nulls,
										  int *n);
struct VariableStatData;
extern double govshare_fullform_unknown_equality(struct VariableStatData *vardata);
extern void govshare_implied_add(Query *q, Index rti, RangeTblEntry *rte);
extern Node *govshare_enforce_call(const char *name, Oid *argtypes, Oid rettype, List *args,
								   CoercionForm format);

/* pseudonym.c: keyed pseudonyms */
extern const unsigned char *govshare_pseudonym_key(const char *agency);
extern bool govshare_pseudonym_supported(Oid typid);

/* What a pseudonym of an 8-byte type names (govshare_pseudonym_names). */
typedef enum GsPseudonymNames
{
	GS_NAMES_NOTHING,			/* no pseudonym */
	GS_NAMES_VALUE,				/* the one value form FF1 deciphers it to */
	GS_NAMES_ANY				/* an HMAC pseudonym: any encoding */
} GsPseudonymNames;

extern GsPseudonymNames govshare_pseudonym_names(uint64 x);

#endif							/* GS_ENFORCE_INTERNAL_H */
