/*-------------------------------------------------------------------------
 *
 * gs_enforce.h
 *	  The enforcement subsystem, as the hooks call it.
 *
 * A consumer's statement rewritten at plan time (rewrite.c), its plan
 * checked at executor start and run, with what the planner may inline,
 * EXPLAIN show and statistics functions count (plancheck.c), its utility
 * commands refused or rewritten (utility.c); disclosure expressions (mask.c) and keyed
 * pseudonyms (pseudonym.c).  What only these files share is in
 * enforce_internal.h.  Calls src/audit/, src/policy/, src/catalog/,
 * src/types/ and src/common/.
 *
 * src/enforce/gs_enforce.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_ENFORCE_H
#define GS_ENFORCE_H

#include "postgres.h"
#include "executor/execdesc.h"
#include "tcop/dest.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

#include "policy/gs_policy.h"

/* Setting (src/guc.c): what a query that names a denied column gets. */
typedef enum GovshareDeniedColumn
{
	GOVSHARE_DENIED_COLUMN_ERROR,
	GOVSHARE_DENIED_COLUMN_NULL
} GovshareDeniedColumn;

extern int	govshare_on_denied_column;

/* rewrite.c: the planner hook's rewrite */
extern GovsharePlanKind govshare_enforce_query(Query *parse, const char *query_string);
extern void govshare_enforce_statement_start(void);

/*
 * plancheck.c: the plan's invariant at executor start and run; what the
 * planner may inline, EXPLAIN may show and statistics functions may count
 */
extern void govshare_enforce_executor_start(QueryDesc *qd, int eflags);
extern void govshare_enforce_executor_started(QueryDesc *qd);
extern void govshare_enforce_executor_run(QueryDesc *qd);
extern bool govshare_enforce_planning_begin(void);
extern void govshare_enforce_planning_end(bool saved);
extern bool govshare_enforce_needs_fmgr(Oid fn);
extern int	govshare_enforce_explain_begin(Node *stmt);
extern void govshare_enforce_explain_end(int saved);
extern void govshare_enforce_function_execute(Oid fn);

/* deny.c: cursors WITH HOLD, refused to consumers */
extern void govshare_enforce_refuse_hold(void);

/* utility.c: utility commands of consumers */
extern PlannedStmt *govshare_enforce_utility(PlannedStmt *pstmt);

/* quota.c: consumers' quotas, from the executor hooks */
extern void govshare_enforce_quota_start(QueryDesc *qd, int eflags);
extern DestReceiver *govshare_enforce_quota_dest(QueryDesc *qd);

/* readonly.c: a signed request only reads */
extern void govshare_enforce_signed_utility(Node *stmt);
extern void govshare_enforce_signed_function(Oid fn);

/* mask.c and pseudonym.c */
extern void govshare_mask_init(void);
extern void govshare_pseudonym_forget_keys(void);

#endif							/* GS_ENFORCE_H */
