/*-------------------------------------------------------------------------
 *
 * quota.c
 *	  Quotas of consumer agencies: statements a minute, rows a day, verify
 *	  calls a minute (govshare.set_quota), enforced at executor start, row
 *	  by row, and at each govshare.verify() call.
 *
 * The limits are part of the policy snapshot (govshare.quota, read by
 * src/catalog/policy.c); the counts live in shared memory
 * (src/policy/counters.c).  Every consumer's statement that reads
 * governed data is counted when it starts, and refused before it runs
 * when the minute's statements or the day's rows are used up.  Its rows
 * are counted as they are sent (a DestReceiver in front of the
 * statement's own, which also measures their size for govshare.usage):
 * under a rows_per_day quota each row is taken before it goes, and the row
 * that would pass the quota stops the statement with the same error.
 * verify() calls are counted likewise.  Each refusal is a denial in the access log, recorded before
 * the error is raised.
 *
 * After a restart, the first backend that checks a quota in a database
 * rebuilds that database's counters of the current windows from the
 * access log (rebuild).
 *
 * src/enforce/quota.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/parallel.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "audit/gs_audit.h"
#include "enforce/enforce_internal.h"

/* Statements started while paused are not counted (verify()'s lookup). */
static bool paused = false;

static const struct
{
	const char *name;			/* the quota, as govshare.quotas names it */
	const char *what;			/* what is counted */
	const char *window;			/* in the window */
}			kinds[GOVSHARE_QUOTA_KINDS] = {
	[GOVSHARE_QUOTA_STATEMENTS] = {"statements_per_minute", "statements", "a minute"},
	[GOVSHARE_QUOTA_ROWS] = {"rows_per_day", "rows", "a day (UTC)"},
	[GOVSHARE_QUOTA_VERIFY] = {"verify_per_minute", "verify calls", "a minute"},
};

/*
 * Statements started from now on are (pause) or are not counted; returns
 * the previous state, for the caller to restore.
 */
bool
govshare_enforce_quota_pause(bool pause)
{
	bool		was = paused;

	paused = pause;
	return was;
}

/* A time as the messages show it: UTC, to the second. */
static char *
utc(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("?");
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Refuses (and records) what would pass quota kind of agency. */
static void
refuse(const char *agency, const GovshareRequest *r, GovshareQuotaKind kind, int64 limit,
	   int64 used, TimestampTz now)
{
	char	   *message = psprintf("quota %s of agency \"%s\" for purpose \"%s\" is used up",
								   kinds[kind].name, agency, r->purpose);
	char	   *detail = psprintf("At most " INT64_FORMAT " %s %s; " INT64_FORMAT " used since %s.",
								  limit, kinds[kind].what, kinds[kind].window, used,
								  utc(govshare_counters_window_start(kind, now)));
	char	   *reset = utc(govshare_counters_reset_at(kind, now));

	govshare_audit_denial(agency, r, InvalidOid, NULL, NULL,
						  psprintf("%s: %s It resets at %s.", message, detail, reset));
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg_internal("%s", message),
			 errdetail_internal("%s", detail),
			 errhint("The quota resets at %s; govshare.quotas shows the agency's quotas.", reset)));
}

/* The rebuild's query: one row per agency and purpose of the current windows. */
typedef struct Rebuild
{
	TimestampTz now;
} Rebuild;

static void
rebuild_work(void *arg)
{
	Rebuild    *rb = arg;
	Oid			types[2] = {TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[2];

	values[0] = TimestampTzGetDatum(govshare_counters_window_start(GOVSHARE_QUOTA_ROWS, rb->now));
	values[1] = TimestampTzGetDatum(govshare_counters_window_start(GOVSHARE_QUOTA_STATEMENTS, rb->now));
	/* what the records count for is defined once, by govshare.usage_of_log */
	if (SPI_execute_with_args(
		"SELECT u.agency, u.purpose,"
		"       sum(u.statements) FILTER (WHERE u.stmt_time >= $2)::bigint,"
		"       sum(u.rows)::bigint,"
		"       sum(u.verify_calls) FILTER (WHERE u.stmt_time >= $2)::bigint"
		"  FROM govshare.usage_of_log u"
		" WHERE u.logged_at >= $1 AND u.stmt_time >= $1 AND u.purpose <> ''"
		" GROUP BY u.agency, u.purpose",
		2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "govshare: the quota counters could not be read from the access log");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		char	   *agency = SPI_getvalue(t, d, 1);
		char	   *purpose = SPI_getvalue(t, d, 2);
		bool		isnull;

		for (int k = 0; k < GOVSHARE_QUOTA_KINDS; k++)
		{
			static const GovshareQuotaKind column_kind[] = {
				GOVSHARE_QUOTA_STATEMENTS, GOVSHARE_QUOTA_ROWS, GOVSHARE_QUOTA_VERIFY
			};
			Datum		n = SPI_getbinval(t, d, 3 + k, &isnull);

			if (!isnull)
				govshare_counters_add(agency, purpose, column_kind[k], DatumGetInt64(n), rb->now);
		}
	}
}

/*
 * Once per database and server start: the counters of the current
 * windows, from the access log (as its owner).
 */
static void
rebuild(TimestampTz now)
{
	Oid			log;
	Rebuild		rb = {now};

	if (!govshare_counters_claim_rebuild())
		return;
	log = get_relname_relid("access_log", get_namespace_oid("govshare", true));
	/*
	 * No log, or the SQL objects of 0.1.0 (no usage_of_log, and no quotas)
	 * under this library until ALTER EXTENSION UPDATE: nothing to rebuild;
	 * the statements from now on are counted.
	 */
	if (!OidIsValid(log) ||
		!OidIsValid(get_relname_relid("usage_of_log", get_rel_namespace(log))))
	{
		govshare_counters_rebuilt(true);
		return;
	}
	PG_TRY();
	{
		govshare_spi_as_owner(log, rebuild_work, &rb);
	}
	PG_CATCH();
	{
		govshare_counters_rebuilt(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	govshare_counters_rebuilt(true);
}

/* The quota of the session's agency and purpose, or NULL. */
static const GovshareQuota *
quota_of(const char *agency, const GovshareRequest *r)
{
	GovsharePolicy *policy = govshare_policy();

	if (agency == NULL || r == NULL || r->purpose == NULL || !policy->installed)
		return NULL;
	return govshare_policy_quota(policy, agency, r->purpose);
}

/*
 * Executor start of a consumer's statement: refused when the day's rows
 * or the minute's statements are used up; counted otherwise (whether or
 * not a quota limits it, so that a quota set later counts from the start
 * of its window, as the rebuild from the access log does).
 */
void
govshare_enforce_quota_start(QueryDesc *qd, int eflags)
{
	PlannedStmt *plan = qd->plannedstmt;
	const char *agency;
	const GovshareRequest *r;
	const GovshareQuota *q;
	TimestampTz now;
	int64		used;
	int64		limit;

	if (paused || IsParallelWorker() || (eflags & EXEC_FLAG_EXPLAIN_ONLY) ||
		plan->commandType == CMD_UTILITY || !govshare_plan_is_consumer(plan))
		return;
	agency = govshare_consumer_agency();
	r = govshare_context_current();
	if (agency == NULL || r == NULL || r->purpose == NULL || !govshare_policy()->installed)
		return;
	q = quota_of(agency, r);
	now = GetCurrentTimestamp();
	rebuild(now);
	if (q != NULL && q->rows_per_day >= 0 &&
		(used = govshare_counters_used(agency, r->purpose, GOVSHARE_QUOTA_ROWS, now)) >= q->rows_per_day)
		refuse(agency, r, GOVSHARE_QUOTA_ROWS, q->rows_per_day, used, now);
	limit = q != NULL ? q->statements_per_minute : -1;
	if (!govshare_counters_take(agency, r->purpose, GOVSHARE_QUOTA_STATEMENTS, 1, limit, now, &used))
		refuse(agency, r, GOVSHARE_QUOTA_STATEMENTS, limit, used, now);
}

/* A call of govshare.verify(): counted, or refused when the minute's are used up. */
void
govshare_enforce_quota_verify(const char *agency, const GovshareRequest *r, Oid relid)
{
	const GovshareQuota *q = quota_of(agency, r);
	TimestampTz now = GetCurrentTimestamp();
	int64		limit = q != NULL ? q->verify_per_minute : -1;
	int64		used;

	rebuild(now);
	if (!govshare_counters_take(agency, r->purpose, GOVSHARE_QUOTA_VERIFY, 1, limit, now, &used))
		refuse(agency, r, GOVSHARE_QUOTA_VERIFY, limit, used, now);
}

/*
 * The receiver in front of a consumer statement's own: counts the rows it
 * is sent against rows_per_day (when there is such a quota), and the size
 * of their values, for the statement's access record (govshare.usage).
 */
typedef struct QuotaDest
{
	DestReceiver pub;
	DestReceiver *inner;
	QueryDesc  *qd;
	char	   *agency;
	const GovshareRequest *request;	/* a copy: the context may change meanwhile */
	int64		limit;			/* rows_per_day; -1: none, rows counted at the end */
	int64		rows;			/* rows not yet counted (no limit) */
	int64		sent;			/* rows sent by this run */
	int64		bytes;
} QuotaDest;

/* A copy of r (its strings too), in the current memory context. */
static GovshareRequest *
copy_request(const GovshareRequest *r)
{
	GovshareRequest *c = palloc(sizeof(GovshareRequest));

	*c = *r;
	c->agency = r->agency ? pstrdup(r->agency) : NULL;
	c->officer = r->officer ? pstrdup(r->officer) : NULL;
	c->purpose = pstrdup(r->purpose);
	c->reference = r->reference ? pstrdup(r->reference) : NULL;
	c->token_id = r->token_id ? pstrdup(r->token_id) : NULL;
	c->key_id = r->key_id ? pstrdup(r->key_id) : NULL;
	c->ended = NULL;
	return c;
}

/* The size of a row's values as stored (not as sent on the wire). */
static int64
row_bytes(TupleTableSlot *slot)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	int64		n = 0;

	slot_getallattrs(slot);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (slot->tts_isnull[i])
			continue;
		if (att->attlen > 0)
			n += att->attlen;
		else if (att->attlen == -1)
			n += toast_raw_datum_size(slot->tts_values[i]);
		else
			n += strlen(DatumGetCString(slot->tts_values[i])) + 1;
	}
	return n;
}

static bool
quota_receive(TupleTableSlot *slot, DestReceiver *self)
{
	QuotaDest  *qd = (QuotaDest *) self;

	/* under a limit each row is taken before it is sent; else counted at the end */
	if (qd->limit >= 0)
	{
		TimestampTz now = GetCurrentTimestamp();
		int64		used;

		if (!govshare_counters_take(qd->agency, qd->request->purpose, GOVSHARE_QUOTA_ROWS, 1,
									qd->limit, now, &used))
		{
			/* the rows already sent stay counted, in the log too */
			govshare_audit_rows_stopped(qd->qd, qd->sent);
			refuse(qd->agency, qd->request, GOVSHARE_QUOTA_ROWS, qd->limit, used, now);
		}
	}
	else
		qd->rows++;
	qd->sent++;
	qd->bytes += row_bytes(slot);
	return qd->inner->receiveSlot(slot, qd->inner);
}

static void
quota_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	QuotaDest  *qd = (QuotaDest *) self;

	qd->inner->rStartup(qd->inner, operation, typeinfo);
}

/* The run ends: its rows are counted, its bytes go to the statement's record. */
static void
quota_shutdown(DestReceiver *self)
{
	QuotaDest  *qd = (QuotaDest *) self;

	if (qd->rows > 0)
		govshare_counters_add(qd->agency, qd->request->purpose, GOVSHARE_QUOTA_ROWS, qd->rows,
							  GetCurrentTimestamp());
	qd->rows = 0;
	qd->sent = 0;
	govshare_audit_bytes(qd->qd, qd->bytes);
	qd->bytes = 0;
	qd->inner->rShutdown(qd->inner);
}

static void
quota_destroy(DestReceiver *self)
{
	/* the statement's own receiver is its owner's to destroy */
}

/*
 * Executor run of a consumer's statement: the receiver that counts its
 * rows and bytes in front of qd->dest, or NULL for any other statement.
 */
DestReceiver *
govshare_enforce_quota_dest(QueryDesc *qd)
{
	PlannedStmt *plan = qd->plannedstmt;
	const char *agency;
	const GovshareRequest *r;
	const GovshareQuota *q;
	QuotaDest  *d;

	if (paused || IsParallelWorker() || qd->dest == NULL || plan->commandType == CMD_UTILITY ||
		!govshare_plan_is_consumer(plan))
		return NULL;
	agency = govshare_consumer_agency();
	r = govshare_context_current();
	if (agency == NULL || r == NULL || r->purpose == NULL)
		return NULL;
	q = quota_of(agency, r);
	d = palloc0(sizeof(QuotaDest));
	d->pub.receiveSlot = quota_receive;
	d->pub.rStartup = quota_startup;
	d->pub.rShutdown = quota_shutdown;
	d->pub.rDestroy = quota_destroy;
	d->pub.mydest = qd->dest->mydest;
	d->inner = qd->dest;
	d->qd = qd;
	d->agency = pstrdup(agency);
	d->request = copy_request(r);
	d->limit = q != NULL ? q->rows_per_day : -1;
	return &d->pub;
}

/*
 * govshare.quota_used(consumer text, purpose text, OUT statements_this_minute
 * bigint, OUT rows_today bigint, OUT verify_this_minute bigint)
 *
 * The counts of the current windows for consumer and purpose, in this
 * database (counted only while a quota limits them).
 */
PG_FUNCTION_INFO_V1(govshare_quota_used);
Datum
govshare_quota_used(PG_FUNCTION_ARGS)
{
	char	   *agency = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *purpose = text_to_cstring(PG_GETARG_TEXT_PP(1));
	TupleDesc	desc;
	Datum		values[GOVSHARE_QUOTA_KINDS];
	bool		nulls[GOVSHARE_QUOTA_KINDS] = {0};
	TimestampTz now = GetCurrentTimestamp();

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "govshare: return type must be a row type");
	rebuild(now);
	values[0] = Int64GetDatum(govshare_counters_used(agency, purpose, GOVSHARE_QUOTA_STATEMENTS, now));
	values[1] = Int64GetDatum(govshare_counters_used(agency, purpose, GOVSHARE_QUOTA_ROWS, now));
	values[2] = Int64GetDatum(govshare_counters_used(agency, purpose, GOVSHARE_QUOTA_VERIFY, now));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
