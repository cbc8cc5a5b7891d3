/*-------------------------------------------------------------------------
 *
 * gs_enforce.h
 *	  The enforcement subsystem, as the hooks call it.
 *
 * A consumer's statement rewritten at plan time (rewrite.c), its plan
 * checked at executor start and run, its utility commands refused or
 * rewritten (utility.c); disclosure expressions (mask.c) and keyed
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

/* rewrite.c: the planner hook's rewrite, the executor's check */
extern GovsharePlanKind govshare_enforce_query(Query *parse);
extern void govshare_enforce_check_plan(PlannedStmt *plan);
extern void govshare_enforce_statement_start(void);

/* deny.c: cursors WITH HOLD, refused to consumers */
extern void govshare_enforce_refuse_hold(void);

/* utility.c: utility commands of consumers */
extern PlannedStmt *govshare_enforce_utility(PlannedStmt *pstmt);

/* mask.c and pseudonym.c */
extern void govshare_mask_init(void);
extern void govshare_pseudonym_forget_keys(void);

#endif							/* GS_ENFORCE_H */
