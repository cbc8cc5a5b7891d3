/*-------------------------------------------------------------------------
 *
 * govshare.c
 *	  Entry point of the govshare library: _PG_init.
 *
 * govshare must be loaded at server start (shared_preload_libraries): later
 * modules install hooks, claim shared memory and start a background worker,
 * none of which can be done by a library loaded into a single backend.
 * _PG_init therefore refuses to run anywhere else, and CREATE EXTENSION in a
 * server that was not started with the library fails with a HINT that says
 * what to add.
 *
 * The order of _PG_init is fixed: refuse, define GUCs, reserve the prefix,
 * initialise each subsystem from the lowest up, install hooks.  Each hook
 * here only calls the previous hook (or the standard function) and
 * dispatches to the subsystem that owns the concern.
 *
 * src/govshare.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "storage/ipc.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "audit/gs_audit.h"
#include "catalog/gs_catalog.h"
#include "enforce/gs_enforce.h"
#include "policy/gs_policy.h"
#include "gs_guc.h"

PG_MODULE_MAGIC;

extern void _PG_init(void);

static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static planner_hook_type prev_planner = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static shmem_request_hook_type prev_shmem_request = NULL;
static shmem_startup_hook_type prev_shmem_startup = NULL;
static needs_fmgr_hook_type prev_needs_fmgr = NULL;
static object_access_hook_type prev_object_access = NULL;

/*
 * The relation that ALTER TABLE ... ATTACH PARTITION or INHERIT adds to an
 * inheritance tree, or InvalidOid.  Only those commands can bring together
 * tables whose classifications disagree.
 */
static Oid
joined_relation(Node *parsetree)
{
	AlterTableStmt *stmt;
	ListCell   *lc;

	if (!IsA(parsetree, AlterTableStmt))
		return InvalidOid;
	stmt = (AlterTableStmt *) parsetree;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AttachPartition)
			return RangeVarGetRelid(((PartitionCmd *) cmd->def)->name, NoLock, true);
		if (cmd->subtype == AT_AddInherit)
			return RangeVarGetRelid(stmt->relation, NoLock, true);
	}
	return InvalidOid;
}

/*
 * Runs a utility command: the previous hook, or the standard function; an
 * EXPLAIN's options noted meanwhile, for what the statement it shows may
 * show (src/enforce/plancheck.c).
 */
static void
run_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			ProcessUtilityContext context, ParamListInfo params,
			QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	int			explain = govshare_enforce_explain_begin(pstmt->utilityStmt);

	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
									queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		govshare_enforce_explain_end(explain);
	}
	PG_END_TRY();
}

/*
 * ProcessUtility hook: runs the command, then checks what it changed that
 * govshare cares about.
 */
static void
govshare_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
						bool readOnlyTree, ProcessUtilityContext context,
						ParamListInfo params, QueryEnvironment *queryEnv,
						DestReceiver *dest, QueryCompletion *qc)
{
	Oid			joined = joined_relation(pstmt->utilityStmt);
	void	   *audit;

	/* within a signed request a consumer only reads (src/enforce/readonly.c) */
	govshare_enforce_signed_utility(pstmt->utilityStmt);
	/* a consumer's COPY relation TO becomes COPY (SELECT ...) TO */
	pstmt = govshare_enforce_utility(pstmt);
	/* an internal COPY relation TO reads without a plan: a token's use first */
	if (IsA(pstmt->utilityStmt, CopyStmt) && !((CopyStmt *) pstmt->utilityStmt)->is_from)
		govshare_context_spend_before_copy();
	/*
	 * DROP DATABASE and the like stop the database's audit writer first; an
	 * internal COPY of a governed relation is recorded
	 */
	audit = govshare_audit_utility(pstmt->utilityStmt, queryString);

	run_utility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);

	govshare_audit_utility_end(audit, qc);
	if (OidIsValid(joined))
		govshare_label_check_tree(joined);

	/* a pooled connection handed on with DISCARD ALL keeps no context */
	if (IsA(pstmt->utilityStmt, DiscardStmt) &&
		((DiscardStmt *) pstmt->utilityStmt)->target == DISCARD_ALL)
		govshare_context_discard();
}

/*
 * Planner hook: rewrites a consumer agency's reads of governed relations
 * before planning (and keeps the planner from inlining SQL functions into
 * them, and refuses them to a cursor WITH HOLD), and marks the plan as
 * depending on the rules.
 */
static PlannedStmt *
govshare_planner(Query *parse, const char *query_string, int cursorOptions,
				 ParamListInfo boundParams)
{
	uint64		context = govshare_context_serial();
	GovsharePlanKind kind = govshare_enforce_query(parse, query_string);
	bool		planning;
	PlannedStmt *volatile result;

	/* a cursor WITH HOLD would keep a consumer's rows past its request */
	if (kind == GOVSHARE_PLAN_CONSUMER && (cursorOptions & CURSOR_OPT_HOLD))
		govshare_enforce_refuse_hold();

	planning = govshare_enforce_planning_begin();
	PG_TRY();
	{
		if (prev_planner)
			result = prev_planner(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		govshare_enforce_planning_end(planning);
	}
	PG_END_TRY();
	govshare_plan_stamp(result, kind, context);
	return result;
}

/*
 * Does function fn need the fmgr hook?  Said yes for SQL functions while a
 * consumer's statement is planned, so that the planner does not inline
 * them past the rewrite (src/enforce/plancheck.c).
 */
static bool
govshare_needs_fmgr(Oid fn)
{
	if (prev_needs_fmgr && prev_needs_fmgr(fn))
		return true;
	return govshare_enforce_needs_fmgr(fn);
}

/*
 * Object access hook: the executor prepares a function call; a consumer's
 * call of an activity statistics function is refused.
 */
static void
govshare_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (access == OAT_FUNCTION_EXECUTE)
	{
		govshare_enforce_signed_function(objectId);
		govshare_enforce_function_execute(objectId);
	}
}

/* Parse analysis of a new statement: a chance to drop stale plans first. */
static void
govshare_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	govshare_enforce_statement_start();
	/* a signed request's queries read only (src/policy/context.c) */
	govshare_context_statement_start();
}

/*
 * Executor start: a consumer's plan must fit its current rules, hold only
 * the reads the enforcement made, and show EXPLAIN no counts; then the
 * statement's access record (durable before any row, under strict audit).
 */
static void
govshare_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	/* a cached plan skips parse analysis: a signed request's reads read only */
	govshare_context_statement_start();
	govshare_enforce_executor_start(queryDesc, eflags);
	/* over quota: refused before it runs */
	govshare_enforce_quota_start(queryDesc, eflags);
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
	govshare_enforce_executor_started(queryDesc);
	govshare_audit_executor_start(queryDesc, eflags);
	/*
	 * a token's use is durable before governed data is read under it (under
	 * strict audit, the access record just waited for covers it)
	 */
	govshare_context_spend_before(queryDesc->plannedstmt);
}

/*
 * Executor run (each FETCH of a cursor): likewise checked; the audit
 * counts its rows and notes their data subjects; under a rows_per_day
 * quota, a receiver in front of the statement's own counts what it sends.
 */
static void
govshare_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
					 bool execute_once)
{
	int			audit;
	DestReceiver *dest = queryDesc->dest;
	DestReceiver *counted;

	govshare_enforce_executor_run(queryDesc);
	counted = govshare_enforce_quota_dest(queryDesc);
	if (counted != NULL)
		queryDesc->dest = counted;
	audit = govshare_audit_run_begin(queryDesc);
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_CATCH();
	{
		queryDesc->dest = dest;
		govshare_audit_run_end(queryDesc, audit, false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	queryDesc->dest = dest;
	govshare_audit_run_end(queryDesc, audit, true);
}

/* Executor end: the statement's result record. */
static void
govshare_ExecutorEnd(QueryDesc *queryDesc)
{
	govshare_audit_executor_end(queryDesc);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* Shared memory: the tokens being spent, the quota counters, the audit queues. */
static void
govshare_shmem_request(void)
{
	if (prev_shmem_request)
		prev_shmem_request();
	govshare_spent_shmem_request();
	govshare_counters_shmem_request();
	govshare_audit_queue_request();
}

static void
govshare_shmem_startup(void)
{
	if (prev_shmem_startup)
		prev_shmem_startup();
	govshare_spent_shmem_startup();
	govshare_counters_shmem_startup();
	govshare_audit_queue_startup();
}

/*
 * Module load.  Only reached at postmaster start when govshare is listed in
 * shared_preload_libraries; anywhere else it raises an error, which makes
 * CREATE EXTENSION (which loads the library to create its C functions) fail
 * cleanly instead of leaving a half-working extension behind.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("govshare must be loaded via shared_preload_libraries"),
				 errdetail("govshare enforces sharing rules and audits access from the start of every session."),
				 errhint("Add 'govshare' to shared_preload_libraries in postgresql.conf and restart the server.")));

	govshare_guc_define();		/* every setting: src/guc.c */
	MarkGUCPrefixReserved("govshare");

	/* access records carry the statement's query id */
	EnableQueryId();

	/* each subsystem's callbacks, lowest first */
	govshare_label_init();
	govshare_catalog_init();
	govshare_decide_init();
	govshare_consumer_init();
	govshare_context_init();
	govshare_context_set_denial_recorder(govshare_audit_denial);
	govshare_context_set_token_recorder(govshare_audit_token_use, govshare_audit_token_durable);
	govshare_audit_init();
	govshare_mask_init();

	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = govshare_ProcessUtility;
	prev_planner = planner_hook;
	planner_hook = govshare_planner;
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = govshare_post_parse_analyze;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = govshare_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = govshare_ExecutorRun;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = govshare_ExecutorEnd;
	prev_shmem_request = shmem_request_hook;
	shmem_request_hook = govshare_shmem_request;
	prev_shmem_startup = shmem_startup_hook;
	shmem_startup_hook = govshare_shmem_startup;
	prev_needs_fmgr = needs_fmgr_hook;
	needs_fmgr_hook = govshare_needs_fmgr;
	prev_object_access = object_access_hook;
	object_access_hook = govshare_object_access;
}
