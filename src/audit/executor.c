/*-------------------------------------------------------------------------
 *
 * executor.c
 *	  The statements being recorded, from executor start to end: the
 *	  executor hooks' part of the audit, the ExecutorRun stack, and the
 *	  transaction callbacks that record what an error left open.
 *
 * At executor start a statement that reads governed data is described
 * (record.c) and listed here; under strict audit its access record is
 * queued and waited for before any row is produced.  Each ExecutorRun
 * notes whose rows are now read (for data subjects, subjects.c) and
 * counts them; executor end queues what is left to record.
 *
 * A statement that fails after it started is recorded with outcome
 * 'error' by the abort callback, so a reading transaction that rolls back
 * keeps its records.
 *
 * src/audit/executor.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit/audit_internal.h"

static AuditStatement *statements = NULL;	/* newest first */
static AuditStatement *running = NULL;	/* whose rows are being read */
static bool quiet = false;		/* statements started now are not recorded */

/*
 * The statements of the ExecutorRun calls on the C stack, innermost last
 * (NULL for a run not recorded); govshare_audit_statement_free clears a
 * freed one.
 */
static AuditStatement **run_stack = NULL;
static int	run_depth = 0;
static int	run_cap = 0;

static void audit_xact_callback(XactEvent event, void *arg);
static void audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								   SubTransactionId parentSubid, void *arg);

/*
 * Registers the audit's transaction callbacks; called from _PG_init (the
 * audit GUCs are defined in src/guc.c).
 */
void
govshare_audit_init(void)
{
	RegisterXactCallback(audit_xact_callback, NULL);
	RegisterSubXactCallback(audit_subxact_callback, NULL);
}

/*
 * Lists st among the statements open, newest first, so that the end of
 * its (sub)transaction finds it.
 */
void
govshare_audit_statement_open(AuditStatement *st)
{
	st->next = statements;
	statements = st;
}

/*
 * Forgets st: unlists it, clears it from the run stack, and frees its
 * memory.
 */
void
govshare_audit_statement_free(AuditStatement *st)
{
	AuditStatement **p;

	for (p = &statements; *p != NULL; p = &(*p)->next)
		if (*p == st)
		{
			*p = st->next;
			break;
		}
	for (int i = 0; i < run_depth; i++)
		if (run_stack[i] == st)
			run_stack[i] = NULL;
	if (running == st)
		running = NULL;
	govshare_audit_queue_unreserve(&st->reservation);
	MemoryContextDelete(st->cxt);
}

/*
 * The statement ends (outcome 'allowed') or fails ('error'): queues what
 * is left to record of it, and forgets it.  Never raises an error when
 * noerror (abort and commit callbacks).
 */
void
govshare_audit_statement_finish(AuditStatement *st, const char *outcome, const char *reason,
								bool noerror)
{
	/*
	 * A consumer's statement that ends normally carries what it cost, for
	 * govshare.usage: milliseconds from executor start to end, and the
	 * size of the values it returned.
	 */
	if (!noerror && !st->internal && st->exec_start != 0)
	{
		MemoryContext old = MemoryContextSwitchTo(st->cxt);
		long		secs;
		int			usecs;
		double		ms;

		TimestampDifference(st->exec_start, GetCurrentTimestamp(), &secs, &usecs);
		ms = secs * 1000.0 + usecs / 1000.0;
		st->detail = govshare_audit_detail_put(st->detail, "usage",
			psprintf("{\"bytes\": " INT64_FORMAT ", \"time_ms\": %.3f}", st->bytes, ms));
		MemoryContextSwitchTo(old);
	}
	if (st->queued)
		(void) govshare_audit_record_queue(st, true, false, outcome, reason, false, noerror);
	else
		(void) govshare_audit_record_queue(st, false, true, outcome, reason, false, noerror);
	govshare_audit_statement_free(st);
}

/* The statement whose rows are being read, or NULL (for govshare.audit_subject). */
AuditStatement *
govshare_audit_running(void)
{
	return running;
}

/*
 * Statements started from now on are (quiet) or are not recorded; returns
 * the previous state, for the caller to restore.  govshare.verify() makes
 * its own lookup quiet: the call is recorded instead, without the claims.
 */
bool
govshare_audit_quiet(bool q)
{
	bool		was = quiet;

	quiet = q;
	return was;
}

/*
 * Sets member "params" of st's detail to the values of params, in their
 * text form, under the limits of statement text (budget.c).
 */
static void
params_detail(AuditStatement *st, ParamListInfo params)
{
	const char **values = palloc0(sizeof(char *) * params->numParams);
	MemoryContext old;

	for (int i = 0; i < params->numParams; i++)
	{
		ParamExternData *p = &params->params[i];
		Oid			out;
		bool		varlena;

		if (p->isnull || !OidIsValid(p->ptype))
			continue;
		getTypeOutputInfo(p->ptype, &out, &varlena);
		values[i] = OidOutputFunctionCall(out, p->value);
	}
	old = MemoryContextSwitchTo(st->cxt);
	st->detail = govshare_audit_detail_put(st->detail, "params",
											 govshare_audit_params_kept(st->agency,
																		params->numParams, values));
	MemoryContextSwitchTo(old);
}

/*
 * Executor start (after the standard start, so the plan has been checked):
 * begins the record of a statement that reads governed data, and under
 * strict audit waits until its access record is durable.
 */
void
govshare_audit_executor_start(QueryDesc *qd, int eflags)
{
	PlannedStmt *plan = qd->plannedstmt;
	GovsharePolicy *policy;
	const char *agency;
	const GovshareRequest *r;
	AuditStatement *st;
	bool		sensitive;
	uint64		ticket;
	char	   *why;

	/* a consumer's EXPLAIN (COSTS OFF, allowed) reads no row, but is recorded */
	if (((eflags & EXEC_FLAG_EXPLAIN_ONLY) && !govshare_plan_is_consumer(plan)) ||
		IsParallelWorker() || plan->commandType == CMD_UTILITY || quiet)
		return;
	policy = govshare_policy();
	if (!policy->installed)
		return;
	if (govshare_plan_is_consumer(plan))
	{
		if (govshare_audit_mode == GOVSHARE_AUDIT_OFF)
			return;
		agency = govshare_consumer_agency();
		if (agency == NULL)
			return;				/* cannot be: the executor check refused it */
		r = govshare_context_current();
	}
	else
	{
		if (govshare_audit_internal == GOVSHARE_AUDIT_INTERNAL_NONE || !govshare_plan_reads_governed(plan))
			return;				/* reads no governed relation */
		agency = NULL;
		r = govshare_context_current();
	}

	st = govshare_audit_statement_new(agency ? agency : policy->self, r, qd->sourceText);
	st->qd = qd;
	if (plan->queryId != 0)
		st->query_id = (int64) plan->queryId;
	st->internal = agency == NULL;
	/* listed before anything can fail, so that the abort frees it */
	govshare_audit_statement_open(st);
	/* bound parameters, apart from the text (a remote request's, say) */
	if (qd->params != NULL && qd->params->numParams > 0 && qd->params->paramFetch == NULL)
		params_detail(st, qd->params);
	sensitive = govshare_audit_describe_reads(st, plan, policy, agency, r ? r->purpose : NULL);
	if (st->relations == NIL || (st->internal && !govshare_audit_internal_recorded(st, sensitive)))
	{
		govshare_audit_statement_free(st);
		return;
	}
	st->subjects_on = !st->internal && govshare_audit_subject_limit > 0;
	st->exec_start = GetCurrentTimestamp();
	st->subject_limit = govshare_audit_subject_limit;
	/* room for the last record, before any row: an abort must not lose it */
	govshare_audit_record_reserve(st);
	st->described = true;

	if (st->internal || govshare_audit_mode != GOVSHARE_AUDIT_STRICT)
		return;
	ticket = govshare_audit_record_queue(st, false, false, "allowed", NULL, true, false);
	st->queued = true;
	if (!govshare_audit_queue_wait(ticket, govshare_audit_timeout, &why))
	{
		st->error = "the access record could not be made durable";
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("access to governed data by agency \"%s\" could not be recorded", agency),
				 errdetail_internal("%s", why),
				 errhint("Under govshare.audit_mode = 'strict' no governed data leaves before its access record is durable; govshare.audit_status() shows the audit writer.")));
	}
}

/* The recorded statement of qd, or NULL. */
static AuditStatement *
find_statement(QueryDesc *qd)
{
	for (AuditStatement *st = statements; st != NULL; st = st->next)
		if (st->qd == qd)
			return st;
	return NULL;
}

/*
 * Executor run begins: the statement whose rows are now read is qd's
 * (for govshare.audit_subject).  Returns the depth to give back to
 * govshare_audit_run_end.
 */
int
govshare_audit_run_begin(QueryDesc *qd)
{
	int			depth = run_depth;

	if (run_depth == run_cap)
	{
		run_cap = Max(16, run_cap * 2);
		run_stack = run_stack == NULL
			? MemoryContextAlloc(TopMemoryContext, sizeof(AuditStatement *) * run_cap)
			: repalloc(run_stack, sizeof(AuditStatement *) * run_cap);
	}
	running = statements != NULL ? find_statement(qd) : NULL;
	run_stack[run_depth++] = running;
	return depth;
}

/* Executor run ends (also by error): counts the rows, pops the stack. */
void
govshare_audit_run_end(QueryDesc *qd, int depth, bool ok)
{
	if (ok && running != NULL && running->qd == qd && qd->estate != NULL)
		running->rows += qd->estate->es_processed;
	run_depth = Min(depth, run_depth);
	running = run_depth > 0 ? run_stack[run_depth - 1] : NULL;
}

/*
 * The values a run of qd's statement returned were bytes long (counted by
 * the enforcement's receiver, src/enforce/quota.c).
 */
void
govshare_audit_bytes(QueryDesc *qd, int64 bytes)
{
	AuditStatement *st;

	if (statements != NULL && (st = find_statement(qd)) != NULL)
		st->bytes += bytes;
}

/*
 * A run of qd's statement is being stopped (a quota, src/enforce/quota.c)
 * after it sent rows: they count, although the run fails.
 */
void
govshare_audit_rows_stopped(QueryDesc *qd, int64 rows)
{
	AuditStatement *st;

	if (statements != NULL && (st = find_statement(qd)) != NULL)
		st->rows += rows;
}

/* Executor end: the statement's result (or its one record) is queued. */
void
govshare_audit_executor_end(QueryDesc *qd)
{
	AuditStatement *st;

	if (statements == NULL || (st = find_statement(qd)) == NULL)
		return;
	govshare_audit_statement_finish(st, "allowed", NULL, false);
}

/*
 * Transaction end (subid InvalidSubTransactionId) or the abort of
 * subtransaction subid: its statements still open failed, or were never
 * ended (a failed portal at commit).  Their records say 'error'.
 */
static void
finish_open_statements(SubTransactionId subid)
{
	AuditStatement *st = statements;

	while (st != NULL)
	{
		AuditStatement *next = st->next;

		if (subid != InvalidSubTransactionId && st->subid != subid)
			;
		else if (!st->described)
			govshare_audit_statement_free(st);	/* failed before it was known to read governed data */
		else
			govshare_audit_statement_finish(st, "error",
											st->error ? st->error : "the statement failed or was cancelled",
											true);
		st = next;
	}
}

/*
 * Transaction end (commit, abort or prepare): the run stack is emptied, and
 * the statements still open are recorded as failed.
 */
static void
audit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			running = NULL;
			run_depth = 0;
			if (statements != NULL)
				finish_open_statements(InvalidSubTransactionId);
			break;
		default:
			break;
	}
}

/*
 * Subtransaction end: an aborted one's statements are recorded as failed;
 * a released one's pass to its parent.
 */
static void
audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (statements == NULL)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		finish_open_statements(mySubid);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		/* a cursor opened in a released savepoint belongs to its parent now */
		for (AuditStatement *st = statements; st != NULL; st = st->next)
			if (st->subid == mySubid)
				st->subid = parentSubid;
	}
}
