/*-------------------------------------------------------------------------
 *
 * plancheck.c
 *	  What a consumer's plan may hold when the executor starts it, what the
 *	  planner may not add to it after the rewrite, and what EXPLAIN and
 *	  statistics functions may count.
 *
 * The rewrite (rewrite.c) sees the query tree that the planner hook is
 * given.  The planner adds to it afterwards: it inlines SQL functions,
 * set-returning ones as subqueries whose relations (views already
 * expanded, checked as the views' owners) nobody rewrote.  So the
 * enforcement does not trust the tree it rewrote to be the plan it runs:
 *
 *  - The plan's invariant, at executor start and at each run (each FETCH):
 *    in a consumer's plan, every range-table entry of a governed relation
 *    (and of pg_statistic, whose rows of governed relations the rewrite
 *    hides) is one the rewrite made, and no materialized view was made
 *    outside the agency's rules (govshare_enforce_check_copy).  The rewrite marks its entries security_barrier, a flag
 *    PostgreSQL sets on subquery entries only and copies with relation
 *    entries (inheritance children, the flat range table of PG 15 that
 *    holds every entry of subplans, init plans, CTEs and inlined
 *    functions); SQL cannot set it.  Anything else is refused and
 *    recorded.
 *
 *  - No inlining while a consumer's statement is planned: the
 *    needs_fmgr_hook says yes to SQL functions outside pg_catalog, which
 *    PostgreSQL then neither inlines (inline_function,
 *    inline_set_returning_function) nor calls directly.  Such a function
 *    runs as a function, and its query is planned, and enforced, on its
 *    own: a provider's SQL function over its view returns masked rows
 *    instead of being refused by the invariant.  Functions in pg_catalog
 *    are still inlined (only a superuser puts functions there); the
 *    invariant stands behind them.
 *
 *  - Statistics functions.  Per-object activity statistics
 *    (pg_catalog.pg_stat_get_*(oid ...), which the pg_stat_* and
 *    pg_statio_* views call, and pg_stat_statements) count what scans
 *    touched, rows that the rules filter out included: a consumer's
 *    leakproof predicate on a column disclosed in full runs below the row
 *    filter, so a count answers a yes/no question about a hidden row.  A
 *    consumer's calls are refused, whatever the object (which is seldom
 *    known when the statement is planned): where the planner hook sees
 *    them (rewrite.c) and, for the expressions it never sees (domain
 *    checks, constraints, defaults filled by COPY FROM, aggregates' final
 *    functions, fast-path calls), where the executor prepares the call
 *    (the object access hook's OAT_FUNCTION_EXECUTE, which fires for
 *    built-in functions too).
 *
 *  - EXPLAIN.  Its counts (ANALYZE: actual rows, Rows Removed by Filter;
 *    BUFFERS) and its estimates (COSTS: statistics of the whole table)
 *    include hidden rows.  A consumer may EXPLAIN a statement that reads
 *    governed relations with COSTS OFF only, and is recorded doing so.
 *    The utility hook notes the options of the EXPLAIN being run; the
 *    executor start of the statement it explains is the one that comes
 *    with EXEC_FLAG_EXPLAIN_ONLY or with instrumentation.
 *
 * src/enforce/plancheck.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "enforce/enforce_internal.h"

/* The options of the EXPLAIN being run (utility hook), or 0. */
#define EXPLAIN_RUNNING		0x01
#define EXPLAIN_ANALYZE		0x02
#define EXPLAIN_COSTS		0x04
#define EXPLAIN_BUFFERS		0x08
static int	explain_options = 0;

/* Is a consumer's statement being planned (planner hook)? */
static bool planning_consumer = false;

/*
 * A consumer's statement being run, and the request context it was
 * started in (its serial, src/policy/context.c).  Its rows belong to that
 * request's access record: a cursor does not serve another request, even
 * one that would plan alike and so keeps its plan (src/policy/consumer.c).
 * Allocated in the statement's executor state, which unlinks it when it
 * goes (at its end or at the abort).
 */
typedef struct StartedPlan
{
	QueryDesc  *qd;
	uint64		context;
	struct StartedPlan *next;
	MemoryContextCallback unlink;
} StartedPlan;

static StartedPlan *started = NULL;

/*
 * Is fn a function of per-object activity statistics: pg_catalog's
 * pg_stat_get_* whose first argument is an oid (a relation, an index, a
 * function, a database, a subscription), or pg_stat_statements' (a C
 * function named pg_stat_statements*, in any schema)?  Decided by the
 * function's name and signature, so that a new major version's functions
 * are covered without a list to keep.
 */
bool
govshare_enforce_statistics_function(Oid fn)
{
	HeapTuple	tuple;
	Form_pg_proc proc;
	bool		found;

	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tuple))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	found = (proc->pronamespace == PG_CATALOG_NAMESPACE &&
			 strncmp(NameStr(proc->proname), "pg_stat_get_", 12) == 0 &&
			 proc->pronargs >= 1 && proc->proargtypes.values[0] == OIDOID) ||
		(proc->prolang == ClanguageId &&
		 strncmp(NameStr(proc->proname), "pg_stat_statements", 18) == 0);
	ReleaseSysCache(tuple);
	return found;
}

/*
 * The object access hook's OAT_FUNCTION_EXECUTE: the executor prepares a
 * call of fn (any expression, planned or not).  Refuses a consumer's call
 * of a statistics function; returns otherwise.
 */
void
govshare_enforce_function_execute(Oid fn)
{
	GovshareEnforcement e;

	/* a parallel worker runs the leader's plan, prepared by the leader first */
	if (IsParallelWorker() || !IsTransactionState() || !govshare_enforce_statistics_function(fn))
		return;
	if (!govshare_enforce_begin(&e) || !govshare_enforce_is_consumer(&e))
		return;
	govshare_enforce_refuse_statistics(&e, fn);
}

/*
 * The planner hook is about to plan: notes whether it plans a consumer's
 * statement, for govshare_enforce_needs_fmgr.  Returns what to give back
 * to govshare_enforce_planning_end (planning nests: a function evaluated
 * while planning plans its own query).
 */
bool
govshare_enforce_planning_begin(void)
{
	bool		saved = planning_consumer;

	planning_consumer = govshare_consumer_agency() != NULL;
	return saved;
}

/* The planner hook has planned (or failed to). */
void
govshare_enforce_planning_end(bool saved)
{
	planning_consumer = saved;
}

/*
 * needs_fmgr_hook: true for a SQL function outside pg_catalog while a
 * consumer's statement is planned, so that the planner does not inline
 * it; the function then runs on its own and its query goes through the
 * planner hook.  (Built-in functions never reach this hook.)
 */
bool
govshare_enforce_needs_fmgr(Oid fn)
{
	HeapTuple	tuple;
	Form_pg_proc proc;
	bool		needs;

	if (!planning_consumer)
		return false;
	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tuple))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	needs = proc->prolang == SQLlanguageId && proc->pronamespace != PG_CATALOG_NAMESPACE;
	ReleaseSysCache(tuple);
	return needs;
}

/*
 * The utility hook is about to run stmt: for an EXPLAIN, notes its
 * options.  Returns what to give back to govshare_enforce_explain_end.
 */
int
govshare_enforce_explain_begin(Node *stmt)
{
	int			saved = explain_options;
	int			options = EXPLAIN_RUNNING | EXPLAIN_COSTS;
	ListCell   *lc;

	if (!IsA(stmt, ExplainStmt))
		return saved;
	foreach(lc, ((ExplainStmt *) stmt)->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);
		int			flag = strcmp(opt->defname, "analyze") == 0 ? EXPLAIN_ANALYZE :
			strcmp(opt->defname, "costs") == 0 ? EXPLAIN_COSTS :
			strcmp(opt->defname, "buffers") == 0 ? EXPLAIN_BUFFERS : 0;

		if (flag != 0)
			options = defGetBoolean(opt) ? options | flag : options & ~flag;
	}
	explain_options = options;
	return saved;
}

/* The utility command has run (or failed). */
void
govshare_enforce_explain_end(int saved)
{
	explain_options = saved;
}

/* The first governed relation plan reads, or InvalidOid. */
static Oid
first_governed(PlannedStmt *plan)
{
	ListCell   *lc;

	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && govshare_relation_governed(rte->relid))
			return rte->relid;
	}
	return InvalidOid;
}

/*
 * A consumer EXPLAINs plan, which reads governed relations: refused with
 * ANALYZE, COSTS or BUFFERS (recorded); otherwise allowed, and the audit
 * records it (src/audit/).
 */
static void
check_explain(PlannedStmt *plan)
{
	Oid			relid = first_governed(plan);
	GovshareEnforcement e;

	if (!OidIsValid(relid) || !govshare_enforce_begin(&e) || !govshare_enforce_is_consumer(&e))
		return;
	if (explain_options & EXPLAIN_ANALYZE)
		govshare_enforce_deny(&e, relid, NULL, NULL,
			 psprintf("agency \"%s\" may not EXPLAIN ANALYZE a statement that reads governed relation \"%s\"",
					  e.agency, get_rel_name(relid)),
			 "Its counts (actual rows, Rows Removed by Filter, buffers) include the rows the sharing rules hide.",
			 "Run the statement itself, or show its plan with EXPLAIN (COSTS OFF).");
	if (explain_options & (EXPLAIN_COSTS | EXPLAIN_BUFFERS))
		govshare_enforce_deny(&e, relid, NULL, NULL,
			 psprintf("agency \"%s\" may not EXPLAIN with costs or buffers a statement that reads governed relation \"%s\"",
					  e.agency, get_rel_name(relid)),
			 "Row and cost estimates come from statistics of the whole table, the rows the sharing rules hide included.",
			 "Use EXPLAIN (COSTS OFF): it shows the plan without estimates.");
}

/*
 * The plan's invariant (see the top): refuses, recorded, a governed
 * relation of plan that the rewrite did not make, and (at start) a
 * materialized view made outside the agency's rules.
 */
static void
check_relations(PlannedStmt *plan, bool start)
{
	ListCell   *lc;

	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		GovshareEnforcement e;

		if (rte->rtekind != RTE_RELATION || rte->security_barrier)
			continue;			/* not a relation, or the rewrite's */
		if (rte->relid == StatisticRelationId || govshare_relation_governed(rte->relid))
		{
			if (!govshare_enforce_begin(&e) || !govshare_enforce_is_consumer(&e))
				return;
			govshare_enforce_deny(&e, rte->relid, NULL, NULL,
				 psprintf("relation \"%s\" reached the plan of agency \"%s\" without its sharing rules",
						  get_rel_name(rte->relid), e.agency),
				 "The relation was not rewritten for the agency: the planner added it after the enforcement ran (a SQL function it inlined), or the plan was made for another role.",
				 "Run the statement again within the request context, reading governed relations directly or through views.");
		}
		if (start && rte->relkind == RELKIND_MATVIEW && !govshare_relation_governed(rte->relid) &&
			govshare_enforce_begin(&e) && govshare_enforce_is_consumer(&e))
			govshare_enforce_check_copy(&e, rte->relid);
	}
}

/*
 * A consumer's plan made within a request context is to run after the
 * context ended (a prepared statement, a function's cached plan): refused
 * as planning it now would be, naming a governed relation it reads.  The
 * epoch outlives the context (src/policy/consumer.c), so this is where
 * such a plan stops.
 */
static void
refuse_without_context(PlannedStmt *plan)
{
	GovshareEnforcement e;
	ListCell   *lc;

	if (govshare_enforce_begin(&e) && govshare_enforce_is_consumer(&e))
		foreach(lc, plan->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION && govshare_relation_governed(rte->relid))
				govshare_enforce_deny_unrequested(&e, rte->relid);
		}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the plan of this statement no longer fits the sharing rules of agency \"%s\"",
					govshare_consumer_agency()),
			 errdetail("The request context it was planned in has ended."),
			 errhint("Begin a request with govshare.begin_request() or govshare.begin_request_signed() first.")));
}

/* The executor state of a started plan goes: forgets it. */
static void
started_unlink(void *arg)
{
	StartedPlan **link = &started;

	while (*link != NULL && *link != arg)
		link = &(*link)->next;
	if (*link != NULL)
		*link = (*link)->next;
}

/* Is qd, if started as a consumer's, still run in the context it started in? */
static bool
started_in_context(QueryDesc *qd)
{
	for (StartedPlan *sp = started; sp != NULL; sp = sp->next)
		if (sp->qd == qd)
			return sp->context == govshare_context_serial();
	return true;
}

/*
 * After the standard executor start: remembers the request context a
 * consumer's plan was started in (StartedPlan).
 */
void
govshare_enforce_executor_started(QueryDesc *qd)
{
	StartedPlan *sp;

	if (IsParallelWorker() || qd->estate == NULL || !govshare_plan_is_consumer(qd->plannedstmt))
		return;
	sp = MemoryContextAlloc(qd->estate->es_query_cxt, sizeof(StartedPlan));
	sp->qd = qd;
	sp->context = govshare_context_serial();
	sp->next = started;
	sp->unlink.func = started_unlink;
	sp->unlink.arg = sp;
	MemoryContextRegisterResetCallback(qd->estate->es_query_cxt, &sp->unlink);
	started = sp;
}

/*
 * The checks of a consumer's plan at executor start (start) or run: the
 * stamp (epoch and role, src/policy/consumer.c), at run the request
 * context it started in (StartedPlan), the invariant, and for
 * the statement an EXPLAIN shows (EXEC_FLAG_EXPLAIN_ONLY, or an
 * instrumented run), what EXPLAIN may show.  Internal access is not
 * checked, nor parallel workers (their leader was).
 */
static void
check_plan(QueryDesc *qd, int eflags, bool start)
{
	PlannedStmt *plan = qd->plannedstmt;
	const char *agency;
	bool		stamped;

	if (plan->commandType == CMD_UTILITY)
		return;
	agency = govshare_consumer_statement_start();
	if (agency == NULL)
		return;
	if (govshare_context_current() == NULL && govshare_plan_is_consumer(plan))
		refuse_without_context(plan);
	if ((!govshare_plan_fits(plan, &stamped) && stamped) ||
		(!start && !started_in_context(qd)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the plan of this statement no longer fits the sharing rules of agency \"%s\"", agency),
				 errdetail("The rules, the request context or the role changed after the statement was planned."),
				 errhint("Run the statement again; an open cursor must be opened again.")));
	check_relations(plan, start);
	if (start && (explain_options & EXPLAIN_RUNNING) &&
		((eflags & EXEC_FLAG_EXPLAIN_ONLY) || qd->instrument_options != 0))
		check_explain(plan);
}

/* Executor start: checks a consumer's plan (check_plan). */
void
govshare_enforce_executor_start(QueryDesc *qd, int eflags)
{
	check_plan(qd, eflags, true);
}

/* Executor run (each FETCH): checks a consumer's plan again. */
void
govshare_enforce_executor_run(QueryDesc *qd)
{
	check_plan(qd, 0, false);
}
