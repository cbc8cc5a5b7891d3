/*-------------------------------------------------------------------------
 *
 * readonly.c
 *	  A request proved by a token only reads: what a consumer may run while
 *	  its signed request context binds the transaction.
 *
 * While a consumer's context begun with a signed token is current (and in
 * the rest of the transaction in which one ended: govshare_context_binds),
 * each statement the consumer runs makes its transaction read-only
 * (src/policy/context.c).  Read-only is not enough on its own: PostgreSQL
 * lets a read-only transaction SET a setting for the session, LISTEN,
 * create temporary objects, run a DO block, PREPARE a statement, take a
 * session's advisory lock or COPY to a program.  Each of these would
 * outlive the request, or run code that is not a query, on a connection
 * that serves the next request of another officer.  So the consumer may
 * run only the utility commands of the table below, and none of the
 * functions that change the session, and the rest is refused before it
 * runs, as a denial that the access log records (the receipt of a remote
 * request names it).
 *
 * The statements govshare prepared on the connection for its requests
 * (named govshare_*, src/remote/session.c) hold other requests' texts:
 * a query may not run, explain or drop them, nor list them.
 *
 * The functions are checked when the executor prepares their call (the
 * object access hook), wherever the call is: in the query, in a view, in
 * a function the consumer may execute.  set_config() is refused whatever
 * its third argument says: the argument is known only when the call runs,
 * and SET LOCAL does what set_config(..., true) does.
 *
 * src/enforce/readonly.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "enforce/enforce_internal.h"

/*
 * Does stmt only read, and leave nothing behind the transaction?  Queries
 * come through the planner hook; these are the utility commands that read
 * or that scope themselves to the transaction.
 */
static bool
utility_reads(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
			{
				TransactionStmtKind kind = ((TransactionStmt *) stmt)->kind;

				/* PREPARE TRANSACTION keeps the transaction past the session */
				return kind != TRANS_STMT_PREPARE && kind != TRANS_STMT_COMMIT_PREPARED &&
					kind != TRANS_STMT_ROLLBACK_PREPARED;
			}
		case T_CopyStmt:
			{
				CopyStmt   *copy = (CopyStmt *) stmt;

				/* COPY ... TO STDOUT; not FROM, not to a file or a program */
				return !copy->is_from && !copy->is_program && copy->filename == NULL;
			}
		case T_DeclareCursorStmt:
			return (((DeclareCursorStmt *) stmt)->options & CURSOR_OPT_HOLD) == 0;
		case T_VariableSetStmt:
			{
				VariableSetStmt *set = (VariableSetStmt *) stmt;

				/*
				 * SET LOCAL, SET TRANSACTION: they end with the transaction.
				 * RESET ROLE and RESET SESSION AUTHORIZATION go back to the
				 * role that logged in, which the session acts as already.
				 */
				return set->is_local ||
					(set->kind == VAR_SET_MULTI && strcmp(set->name, "TRANSACTION") == 0) ||
					(set->kind == VAR_RESET &&
					 (strcmp(set->name, "role") == 0 || strcmp(set->name, "session_authorization") == 0));
			}
		case T_ExplainStmt:		/* its query is planned and run as any other */
		case T_ExecuteStmt:		/* the same (PREPARE is refused: it would stay) */
		case T_DeallocateStmt:
		case T_FetchStmt:
		case T_ClosePortalStmt:
		case T_VariableShowStmt:
		case T_DiscardStmt:		/* it clears the session; poolers reset with it */
			return true;
		default:
			return false;
	}
}

/*
 * Functions that change the session beyond the transaction, or show what
 * earlier requests left in it (the statements govshare prepared for them,
 * src/remote/session.c), refused within a signed request.
 */
static const struct
{
	Oid			fn;
	const char *why;
}			session_functions[] =
{
	{F_SET_CONFIG, "It may change a setting for the rest of the session; SET LOCAL changes one for the request's transaction."},
	{F_PG_ADVISORY_LOCK_INT8, "A session's advisory lock outlives the request."},
	{F_PG_ADVISORY_LOCK_INT4_INT4, "A session's advisory lock outlives the request."},
	{F_PG_ADVISORY_LOCK_SHARED_INT8, "A session's advisory lock outlives the request."},
	{F_PG_ADVISORY_LOCK_SHARED_INT4_INT4, "A session's advisory lock outlives the request."},
	{F_PG_TRY_ADVISORY_LOCK_INT8, "A session's advisory lock outlives the request."},
	{F_PG_TRY_ADVISORY_LOCK_INT4_INT4, "A session's advisory lock outlives the request."},
	{F_PG_TRY_ADVISORY_LOCK_SHARED_INT8, "A session's advisory lock outlives the request."},
	{F_PG_TRY_ADVISORY_LOCK_SHARED_INT4_INT4, "A session's advisory lock outlives the request."},
	{F_PG_NOTIFY, "A notification reaches other sessions after the request."},
	{F_PG_PREPARED_STATEMENT, "It shows the statements earlier requests on the connection prepared."},
};

/*
 * When stmt runs, explains or drops one of the statements govshare
 * prepared for the requests on the connection (named govshare_*,
 * src/remote/session.c), or all of them (DEALLOCATE ALL), the command as
 * SQL writes it; else NULL.  Their texts are other requests', and other
 * officers', and their slots the connection's.
 */
static char *
request_statement(Node *stmt)
{
	const char *verb = "EXECUTE";
	const char *name;

	if (IsA(stmt, ExplainStmt))
	{
		Node	   *q = ((ExplainStmt *) stmt)->query;

		if (q != NULL && IsA(q, Query) && ((Query *) q)->commandType == CMD_UTILITY)
			q = ((Query *) q)->utilityStmt;
		if (q == NULL || !IsA(q, ExecuteStmt))
			return NULL;
		verb = "EXPLAIN EXECUTE";
		stmt = q;
	}
	if (IsA(stmt, ExecuteStmt))
		name = ((ExecuteStmt *) stmt)->name;
	else if (IsA(stmt, DeallocateStmt))
	{
		verb = "DEALLOCATE";
		name = ((DeallocateStmt *) stmt)->name;
		if (name == NULL)
			return pstrdup("DEALLOCATE ALL");
	}
	else
		return NULL;
	if (strncmp(name, "govshare_", 9) != 0)
		return NULL;
	return psprintf("%s %s", verb, quote_identifier(name));
}

/* Starts the check: true for a consumer whose signed context binds the transaction. */
static bool
bound_consumer(GovshareEnforcement *e)
{
	if (!govshare_context_binds())
		return false;
	return govshare_enforce_begin(e) && govshare_enforce_is_consumer(e);
}

/*
 * The utility hook's first check: within a signed request, a consumer's
 * utility command that does not only read is refused, and recorded as a
 * denial, before it runs.
 */
void
govshare_enforce_signed_utility(Node *stmt)
{
	GovshareEnforcement e;
	char	   *command = request_statement(stmt);

	if ((utility_reads(stmt) && command == NULL) || !bound_consumer(&e))
		return;
	if (command != NULL)
		govshare_enforce_deny(&e, InvalidOid, NULL, NULL,
			 psprintf("agency \"%s\" may not run %s within a signed request", e.agency, command),
			 "The statements named govshare_* are those govshare prepared for the requests on this connection: their texts are other requests', and they run only as those requests.",
			 "Send the query itself; govshare prepares it when it is sent again.");
	govshare_enforce_deny(&e, InvalidOid, NULL, NULL,
		 psprintf("agency \"%s\" may not run %s within a signed request",
				  e.agency, GetCommandTagName(CreateCommandTag(stmt))),
		 "A request proved by a token only reads: it runs in a read-only transaction, and nothing it runs may outlive it (a setting, a temporary object, LISTEN, a prepared statement) or run code that is not a query (DO, CALL, COPY to a program).",
		 "Send a query that returns rows (SELECT, VALUES, TABLE); SET LOCAL sets a setting for the request alone.");
}

/*
 * The object access hook's OAT_FUNCTION_EXECUTE, first check: within a
 * signed request, a consumer's call of a function that changes the
 * session (session_functions) is refused, and recorded as a denial.
 */
void
govshare_enforce_signed_function(Oid fn)
{
	GovshareEnforcement e;

	for (int i = 0; i < lengthof(session_functions); i++)
	{
		if (session_functions[i].fn != fn)
			continue;
		if (!bound_consumer(&e))
			return;
		govshare_enforce_deny(&e, InvalidOid, NULL, NULL,
			 psprintf("agency \"%s\" may not call %s() within a signed request",
					  e.agency, get_func_name(fn)),
			 session_functions[i].why,
			 "A request proved by a token only reads, and leaves nothing behind in the provider's session.");
	}
}
