/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  Access records of the statements that read governed data: built by
 *	  the backend, queued for the audit writer.
 *
 * A consumer's statement whose plan reads governed relations (a plan the
 * enforcement stamped, src/enforce.c) gets an access record at executor
 * start: who (agency, roles, officer), why (purpose, reference, token),
 * what (the relations, each column read with its element and the level
 * granted, the rules and the policy version) and the statement's
 * fingerprint (query id, SHA-256 of its text, the text).  Under
 * govshare.govshare_audit_mode = 'strict' the record is queued and the executor
 * waits until the writer has committed it before any row is produced; if
 * that cannot happen in govshare.govshare_audit_timeout, the statement fails.
 * When the statement ends, a result record follows with the rows it
 * returned and the data subjects whose rows it read.  Under 'async' one
 * record carries everything and is queued when the statement ends.
 *
 * Denials (src/enforce.c) are queued before the error is raised, so they
 * stay recorded although their transaction aborts.  A statement that
 * fails after it started is recorded with outcome 'error' by the abort
 * callback, so a reading transaction that rolls back keeps its records.
 *
 * Internal roles' reads of governed relations are recorded, by one record
 * at the end, as govshare.govshare_audit_internal says: those that read sensitive
 * elements (default), all, or none.
 *
 * Data subjects: the enforcement adds govshare.audit_subject(personal_id)
 * as the last security qual of a governed relation that has a column
 * classified person.personal_id; it notes each visible row's id in the
 * statement that is running, up to govshare.govshare_audit_subject_limit distinct
 * ids, and counts them all.
 *
 * src/audit.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "audit/audit_internal.h"
#include "types/gs_types.h"

/* GUCs (src/guc.c). */
int			govshare_audit_mode = GOVSHARE_AUDIT_STRICT;
int			govshare_audit_internal = GOVSHARE_AUDIT_INTERNAL_SENSITIVE;
bool		govshare_audit_statement_text = true;
int			govshare_audit_subject_limit = 100;
int			govshare_audit_timeout = 10000;

/* The longest statement text a record keeps, in bytes. */
#define AUDIT_TEXT_MAX 65536

/* The element whose columns name data subjects. */
#define SUBJECT_ELEMENT "person.personal_id"

/* A statement being recorded, from executor start to end. */
typedef struct AuditStatement
{
	struct AuditStatement *next;
	QueryDesc  *qd;
	MemoryContext cxt;
	SubTransactionId subid;		/* the (sub)transaction it belongs to */
	bool		internal;
	bool		described;		/* to be recorded: what it reads is known */
	bool		queued;			/* the access record is queued; a result follows */
	const char *error;			/* why the statement failed, if audit made it */
	pg_uuid_t	id;
	TimestampTz stmt_time;
	char	   *agency;
	char	   *role_name;
	char	   *login_role;
	char	   *officer;
	char	   *purpose;
	char	   *reference;
	char	   *token_id;
	int64		query_id;
	unsigned char sha[GOVSHARE_HASH_LEN];
	char	   *text;			/* NULL with govshare_audit_statement_text off */
	List	   *relations;		/* char * */
	List	   *columns;
	List	   *elements;		/* char *, or NULL */
	List	   *levels;
	int			nrule_ids;
	int64	   *rule_ids;
	int64		policy_version;
	int64		rows;
	/* data subjects: a set of personal-id encodings, open addressing */
	bool		subjects_on;
	int			subject_limit;	/* govshare.govshare_audit_subject_limit at the start */
	int			subject_cap;	/* slots, a power of two; 0: none yet */
	uint64	   *subject_slots;	/* 0: empty */
	bool		subject_zero;	/* the encoding 0 was seen */
	int			nsubjects;
	int64		subject_count;
	bool		subject_overflow;
} AuditStatement;

static AuditStatement *statements = NULL;	/* newest first */
static AuditStatement *running = NULL;	/* whose rows are being read */

/*
 * The statements of the ExecutorRun calls on the C stack, innermost last
 * (NULL for a run not recorded); statement_free clears a freed one.
 */
static AuditStatement **run_stack = NULL;
static int	run_depth = 0;
static int	run_cap = 0;
static uint64 last_ticket = 0;	/* of the last record this backend queued */

/*
 * The last access record of a consumer statement (or denial) this backend
 * queued, and the token it was made under: what govshare.request_receipt()
 * names to a remote caller.
 */
static bool receipt_known = false;
static uint64 receipt_ticket;
static pg_uuid_t receipt_id;
static char *receipt_token = NULL;	/* in TopMemoryContext; NULL: unsigned */

static void audit_xact_callback(XactEvent event, void *arg);
static void audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
								   SubTransactionId parentSubid, void *arg);

/* Defines the audit GUCs and callbacks; called from _PG_init. */
void
govshare_audit_init(void)
{
	RegisterXactCallback(audit_xact_callback, NULL);
	RegisterSubXactCallback(audit_subxact_callback, NULL);
}

/* Is there anything to record for consumers? (src/enforce.c asks, planning.) */
bool
govshare_audit_subjects_wanted(void)
{
	return govshare_audit_mode != GOVSHARE_AUDIT_OFF && govshare_audit_subject_limit > 0;
}

static char *
user_name(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	return name ? pstrdup(name) : psprintf("%u", roleid);
}

/*
 * A new statement id: 8 random bytes drawn once per backend and an 8-byte
 * counter, laid out as a version-4 UUID.  Unique without a call to the
 * random source per statement; ids of two backends collide only if their
 * 62 random bits do.
 */
static void
statement_id(unsigned char *id)
{
	static unsigned char prefix[8];
	static uint64 counter = 0;
	static pid_t prefix_pid = 0;

	if (prefix_pid != MyProcPid)
	{
		if (!pg_strong_random(prefix, sizeof(prefix)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random statement id")));
		prefix_pid = MyProcPid;
		counter = 0;
	}
	counter++;
	memcpy(id, prefix, 8);
	for (int i = 0; i < 8; i++)
		id[8 + i] = (unsigned char) (counter >> (56 - 8 * i));
	id[6] = (id[6] & 0x0f) | 0x40;	/* version 4 */
	id[8] = (id[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
}

/*
 * SHA-256 of a statement's text.  A prepared statement or a function's
 * query runs the same text again and again: the last text and its hash
 * are kept.
 */
static void
text_sha256(const char *text, unsigned char *out)
{
	static char *last_text = NULL;
	static unsigned char last_sha[GOVSHARE_HASH_LEN];

	if (last_text == NULL || strcmp(last_text, text) != 0)
	{
		char	   *copy = MemoryContextStrdup(TopMemoryContext, text);

		govshare_sha256(text, strlen(text), out);
		if (last_text != NULL)
			pfree(last_text);
		last_text = copy;
		memcpy(last_sha, out, GOVSHARE_HASH_LEN);
		return;
	}
	memcpy(out, last_sha, GOVSHARE_HASH_LEN);
}

/* A statement's identity: time, roles, the request context, its text. */
static AuditStatement *
statement_new(const char *agency, const GovshareRequest *r, const char *text)
{
	MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "govshare audit statement",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	AuditStatement *st = palloc0(sizeof(AuditStatement));

	st->cxt = cxt;
	st->subid = GetCurrentSubTransactionId();
	statement_id(st->id.data);
	st->stmt_time = GetCurrentStatementStartTimestamp();
	st->agency = agency ? pstrdup(agency) : NULL;
	st->role_name = user_name(GetUserId());
	st->login_role = user_name(GetSessionUserId());
	if (r != NULL)
	{
		st->officer = r->officer ? pstrdup(r->officer) : NULL;
		st->purpose = r->purpose ? pstrdup(r->purpose) : NULL;
		st->reference = r->reference ? pstrdup(r->reference) : NULL;
		st->token_id = r->token_id ? pstrdup(r->token_id) : NULL;
	}
	st->query_id = pgstat_get_my_query_id();
	if (text == NULL)
		text = "";
	text_sha256(text, st->sha);
	if (govshare_audit_statement_text)
	{
		int			len = strlen(text);

		/* the hash covers the whole text; the record keeps its start */
		if (len > AUDIT_TEXT_MAX)
			len = pg_mbcliplen(text, len, AUDIT_TEXT_MAX);
		st->text = pnstrdup(text, len);
	}
	MemoryContextSwitchTo(old);
	return st;
}

static void
statement_free(AuditStatement *st)
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
	MemoryContextDelete(st->cxt);
}

/* Is s in l, a list of C strings? */
static bool
list_member_string(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	return false;
}

static void
put_text_list(StringInfo out, List *l)
{
	ListCell   *lc;

	govshare_chain_put_array(out, list_length(l));
	foreach(lc, l)
		govshare_chain_put_text(out, lfirst(lc));
}

/* Formats a personal-id encoding as its canonical text. */
static void
put_subject(StringInfo out, uint64 v)
{
	char		buf[GS_TEXT_MAX];
	size_t		len = gs_personal_id_type.format(v, buf);

	govshare_chain_put_bytes(out, 'S', buf, len);
}

/*
 * Encodes a record of st, columns kind .. receipt_hash of the access
 * log (src/audit_chain.c): the access record (with, when whole, the rows
 * and subjects too), or the result record that follows one; or, with
 * remote, the record of an outgoing request (whole, with its receipt).
 */
static void
encode(StringInfo out, AuditStatement *st, bool result, bool whole, const char *outcome,
	   const char *reason, const GovshareRemoteRecord *remote)
{
	bool		access = !result;
	bool		counts = result || whole;

	govshare_chain_put_text(out, remote ? "remote" : result ? "result" : "access");
	govshare_chain_put_uuid(out, st->id.data);
	govshare_chain_put_time(out, st->stmt_time);
	govshare_chain_put_text(out, outcome);
	govshare_chain_put_bool(out, st->internal);
	govshare_chain_put_text(out, st->agency);
	govshare_chain_put_text(out, st->role_name);
	govshare_chain_put_text(out, st->login_role);
	govshare_chain_put_text(out, access ? st->officer : NULL);
	govshare_chain_put_text(out, access ? st->purpose : NULL);
	govshare_chain_put_text(out, access ? st->reference : NULL);
	govshare_chain_put_text(out, access ? st->token_id : NULL);
	if (access && st->query_id != 0)
		govshare_chain_put_int8(out, st->query_id);
	else
		govshare_chain_put_null(out);
	if (access)
		govshare_chain_put_bytes(out, 'X', (char *) st->sha, GOVSHARE_HASH_LEN);
	else
		govshare_chain_put_null(out);
	govshare_chain_put_text(out, access ? st->text : NULL);
	if (access && remote == NULL)
	{
		put_text_list(out, st->relations);
		put_text_list(out, st->columns);
		put_text_list(out, st->elements);
		put_text_list(out, st->levels);
		govshare_chain_put_array(out, st->nrule_ids);
		for (int i = 0; i < st->nrule_ids; i++)
			govshare_chain_put_int8(out, st->rule_ids[i]);
		govshare_chain_put_int8(out, st->policy_version);
	}
	else
		for (int i = 0; i < 6; i++)
			govshare_chain_put_null(out);
	govshare_chain_put_text(out, reason);
	if (counts)
		govshare_chain_put_int8(out, st->rows);
	else
		govshare_chain_put_null(out);
	if (counts && st->subjects_on)
	{
		govshare_chain_put_array(out, st->nsubjects + (st->subject_zero ? 1 : 0));
		if (st->subject_zero)
			put_subject(out, 0);
		for (int i = 0; i < st->subject_cap; i++)
			if (st->subject_slots[i] != 0)
				put_subject(out, st->subject_slots[i]);
		govshare_chain_put_int8(out, st->subject_count);
		govshare_chain_put_bool(out, st->subject_overflow);
	}
	else
		for (int i = 0; i < 3; i++)
			govshare_chain_put_null(out);
	if (remote != NULL && remote->has_receipt)
	{
		govshare_chain_put_int8(out, remote->receipt_seq);
		govshare_chain_put_bytes(out, 'X', (const char *) remote->receipt_hash, GOVSHARE_HASH_LEN);
	}
	else
	{
		/* receipt_seq, receipt_hash: of remote records alone */
		govshare_chain_put_null(out);
		govshare_chain_put_null(out);
	}
}

/*
 * Queues a record of st; urgent when the caller will wait for it, noerror
 * for abort paths.  Returns its ticket.
 */
static uint64
queue_record(AuditStatement *st, bool result, bool whole, const char *outcome,
			 const char *reason, bool urgent, bool noerror)
{
	StringInfoData buf;
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	uint64		ticket;

	initStringInfo(&buf);
	encode(&buf, st, result, whole, outcome, reason, NULL);
	MemoryContextSwitchTo(old);
	ticket = govshare_audit_queue_put(buf.data, buf.len, govshare_audit_timeout, urgent, noerror);
	if (ticket != 0)
		last_ticket = ticket;
	/* a statement without a token (no context) names no request */
	if (ticket != 0 && !result && !st->internal && st->token_id != NULL)
	{
		receipt_known = true;
		receipt_ticket = ticket;
		receipt_id = st->id;
		if (receipt_token != NULL)
			pfree(receipt_token);
		receipt_token = MemoryContextStrdup(TopMemoryContext, st->token_id);
	}
	return ticket;
}

/*
 * The statement ends (outcome 'allowed') or fails ('error'): queues what
 * is left to record of it, and forgets it.  Never raises an error when
 * noerror (abort and commit callbacks).
 */
static void
statement_finish(AuditStatement *st, const char *outcome, const char *reason, bool noerror)
{
	if (st->queued)
		(void) queue_record(st, true, false, outcome, reason, false, noerror);
	else
		(void) queue_record(st, false, true, outcome, reason, false, noerror);
	statement_free(st);
}

/* Does a relation of the plan's range table read as part of an ancestor in it? */
static bool
is_child_of_listed(Oid relid, List *inh_parents)
{
	ListCell   *lc;

	if (inh_parents == NIL || !has_superclass(relid))
		return false;
	foreach(lc, inh_parents)
		if (list_member_oid(find_all_inheritors(lfirst_oid(lc), NoLock, NULL), relid))
			return true;
	return false;
}

/* "schema.relation", quoted as needed, as records name relations. */
static char *
relation_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/* Adds a rule id to st's, once (in st's memory context). */
static void
add_rule_id(AuditStatement *st, int64 id)
{
	for (int i = 0; i < st->nrule_ids; i++)
		if (st->rule_ids[i] == id)
			return;
	if (st->rule_ids == NULL)
		st->rule_ids = palloc(sizeof(int64) * 8);
	else if (st->nrule_ids % 8 == 0)
		st->rule_ids = repalloc(st->rule_ids, sizeof(int64) * (st->nrule_ids + 8));
	st->rule_ids[st->nrule_ids++] = id;
}

/*
 * Adds relation relid to st's, with the columns read (all with whole_row,
 * else those in selected, numbered as in RangeTblEntry.selectedCols):
 * element and level of each, and the rules that grant them.  For an
 * internal role (agency NULL), returns whether any column read is of a
 * sensitive element.
 */
static bool
describe_relation(AuditStatement *st, GovsharePolicy *policy, const char *agency,
				  const char *purpose, Oid relid, Bitmapset *selected, bool whole_row)
{
	GovshareDecision *d = agency ? govshare_decide(agency, purpose, relid)
		: govshare_decide_internal(relid);
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	char	   *relname = relation_name(relid);
	bool		sensitive = false;

	if (!list_member_string(st->relations, relname))
		st->relations = lappend(st->relations, relname);
	for (int i = 0; i < d->natts; i++)
	{
		GovshareColumn *c = &d->columns[i];
		GovshareLevel level;
		bool		found;
		char	   *column;

		if (c->attname == NULL ||
			(!whole_row && !bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, selected)))
			continue;
		level = agency == NULL ? GOVSHARE_FULL : c->ngrants > 0 ? c->level : GOVSHARE_DENIED;
		column = psprintf("%s.%s", relname, quote_identifier(c->attname));
		if (list_member_string(st->columns, column))
			continue;			/* the relation is read twice (a self-join, UNION) */
		st->columns = lappend(st->columns, column);
		st->elements = lappend(st->elements, c->element ? pstrdup(c->element) : NULL);
		st->levels = lappend(st->levels, pstrdup(govshare_level_name(level)));
		if (c->element != NULL && govshare_element_sensitive(policy, c->element, &found))
			sensitive = true;
		for (int g = 0; g < c->ngrants; g++)
			add_rule_id(st, d->rules[c->grants[g].rule].id);
	}
	MemoryContextSwitchTo(old);
	st->policy_version = policy->version;
	return sensitive;
}

/*
 * Adds to st the governed relations plan reads, with each column it
 * references (describe_relation); returns whether any is sensitive.
 */
static bool
describe_reads(AuditStatement *st, PlannedStmt *plan, GovsharePolicy *policy,
			   const char *agency, const char *purpose)
{
	ListCell   *lc;
	List	   *inh_parents = NIL;
	bool		sensitive = false;

	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->inh)
			inh_parents = lappend_oid(inh_parents, rte->relid);
	}
	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION || !govshare_relation_governed(rte->relid))
			continue;
		if (!rte->inh && is_child_of_listed(rte->relid, inh_parents))
			continue;			/* a partition read through its parent */
		sensitive |= describe_relation(st, policy, agency, purpose, rte->relid, rte->selectedCols,
									   bms_is_member(0 - FirstLowInvalidHeapAttributeNumber,
													 rte->selectedCols));
	}
	return sensitive;
}

/* Should an internal read of these columns be recorded? */
static bool
internal_recorded(AuditStatement *st, bool sensitive)
{
	return st->columns != NIL && (govshare_audit_internal == GOVSHARE_AUDIT_INTERNAL_ALL || sensitive);
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
		IsParallelWorker() || plan->commandType == CMD_UTILITY)
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
		if (govshare_audit_internal == GOVSHARE_AUDIT_INTERNAL_NONE || !OidIsValid(policy->rule_relid) ||
			!list_member_oid(plan->relationOids, policy->rule_relid))
			return;				/* reads no governed relation */
		agency = NULL;
		r = govshare_context_current();
	}

	st = statement_new(agency ? agency : policy->self, r, qd->sourceText);
	st->qd = qd;
	if (plan->queryId != 0)
		st->query_id = (int64) plan->queryId;
	st->internal = agency == NULL;
	/* listed before anything can fail, so that the abort frees it */
	st->next = statements;
	statements = st;
	sensitive = describe_reads(st, plan, policy, agency, r ? r->purpose : NULL);
	if (st->relations == NIL || (st->internal && !internal_recorded(st, sensitive)))
	{
		statement_free(st);
		return;
	}
	st->subjects_on = !st->internal && govshare_audit_subject_limit > 0;
	st->subject_limit = govshare_audit_subject_limit;
	st->described = true;

	if (st->internal || govshare_audit_mode != GOVSHARE_AUDIT_STRICT)
		return;
	ticket = queue_record(st, false, false, "allowed", NULL, true, false);
	st->queued = true;
	if (!govshare_audit_queue_wait(ticket, govshare_audit_timeout, &why))
	{
		st->error = "the access record could not be made durable";
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("access to governed data by agency \"%s\" could not be recorded", agency),
				 errdetail_internal("%s", why),
				 errhint("Under govshare.govshare_audit_mode = 'strict' no governed data leaves before its access record is durable; govshare.audit_status() shows the audit writer.")));
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

/* Executor end: the statement's result (or its one record) is queued. */
void
govshare_audit_executor_end(QueryDesc *qd)
{
	AuditStatement *st;

	if (statements == NULL || (st = find_statement(qd)) == NULL)
		return;
	statement_finish(st, "allowed", NULL, false);
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
			statement_free(st);	/* failed before it was known to read governed data */
		else
			statement_finish(st, "error",
							 st->error ? st->error : "the statement failed or was cancelled", true);
		st = next;
	}
}

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

/*
 * A denial by the enforcement, about to be raised as an error: queued at
 * once (it must survive the abort), without waiting for the writer.
 * relid and column may be InvalidOid and NULL.
 */
void
govshare_audit_denial(const char *agency, const GovshareRequest *r, Oid relid,
					  const char *column, const char *element, const char *reason)
{
	GovsharePolicy *policy;
	AuditStatement *st;
	MemoryContext old;

	if (govshare_audit_mode == GOVSHARE_AUDIT_OFF || IsParallelWorker())
		return;
	policy = govshare_policy();
	if (!policy->installed)
		return;
	st = statement_new(agency, r, debug_query_string);
	old = MemoryContextSwitchTo(st->cxt);
	if (OidIsValid(relid))
	{
		char	   *relname = relation_name(relid);

		st->relations = list_make1(relname);
		if (column != NULL)
		{
			st->columns = list_make1(psprintf("%s.%s", relname, quote_identifier(column)));
			st->elements = list_make1(element ? pstrdup(element) : NULL);
			st->levels = list_make1(pstrdup("denied"));
		}
	}
	st->policy_version = policy->version;
	MemoryContextSwitchTo(old);
	/* waits for room like any record: a full queue does not hide a denial */
	PG_TRY();
	{
		(void) queue_record(st, false, false, "denied", reason, false, false);
	}
	PG_FINALLY();
	{
		MemoryContextDelete(st->cxt);
	}
	PG_END_TRY();
}

/*
 * The security qual that notes the data subjects of a governed relation a
 * consumer reads, or NULL when there is none to note: a call of
 * govshare.audit_subject() on the first column of relation relid (varno 1)
 * that d classifies person.personal_id and that is of that type.
 */
Node *
govshare_audit_subject_qual(GovshareDecision *d, TupleDesc desc)
{
	Oid			typid;
	Oid			fn;
	FuncExpr   *call;

	if (!govshare_audit_subjects_wanted())
		return NULL;
	for (int i = 0; i < d->natts && i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (d->columns[i].element == NULL || strcmp(d->columns[i].element, SUBJECT_ELEMENT) != 0 ||
			att->attisdropped)
			continue;
		typid = att->atttypid;
		fn = LookupFuncName(list_make2(makeString("govshare"), makeString("audit_subject")),
							1, &typid, true);
		if (!OidIsValid(fn))
			continue;			/* a text column, say: not an id we can note */
		call = makeFuncExpr(fn, BOOLOID,
							list_make1(makeVar(1, att->attnum, att->atttypid, att->atttypmod,
											   InvalidOid, 0)),
							InvalidOid, InvalidOid, COERCE_SQL_SYNTAX);
		return (Node *) call;
	}
	return NULL;
}

/*
 * govshare.audit_subject(id personal_id) returns boolean
 *
 * Notes id as a data subject of the running statement; always true.  Runs
 * only in plans the enforcement built (funcformat COERCE_SQL_SYNTAX), so
 * that nobody fills access records with subjects of their choice.
 */
PG_FUNCTION_INFO_V1(govshare_audit_subject);
Datum
govshare_audit_subject(PG_FUNCTION_ARGS)
{
	FuncExpr   *call = (FuncExpr *) fcinfo->flinfo->fn_expr;
	AuditStatement *st = running;
	uint64		v;
	uint64		slot;

	if (call == NULL || !IsA(call, FuncExpr) || call->funcformat != COERCE_SQL_SYNTAX)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("govshare.audit_subject() cannot be called directly"),
				 errdetail("The server notes the data subjects of the rows a consumer agency reads.")));
	if (PG_ARGISNULL(0) || st == NULL || !st->subjects_on)
		PG_RETURN_BOOL(true);
	v = GOVSHARE_GETARG(personal_id, 0);
	st->subject_count++;
	if (v == 0)
	{
		if (!st->subject_zero && st->nsubjects + 1 > st->subject_limit)
			st->subject_overflow = true;
		else if (!st->subject_zero)
		{
			st->subject_zero = true;
			st->nsubjects++;
		}
		PG_RETURN_BOOL(true);
	}
	if (st->subject_cap == 0)
	{
		st->subject_cap = 16;
		while (st->subject_cap < 2 * st->subject_limit)
			st->subject_cap *= 2;
		st->subject_slots = MemoryContextAllocZero(st->cxt, sizeof(uint64) * st->subject_cap);
	}
	slot = (v * UINT64CONST(0x9E3779B97F4A7C15)) >> 40;
	for (;;)
	{
		uint64	   *s = &st->subject_slots[slot & (st->subject_cap - 1)];

		if (*s == v)
			break;
		if (*s == 0)
		{
			if (st->nsubjects >= st->subject_limit)
				st->subject_overflow = true;
			else
			{
				*s = v;
				st->nsubjects++;
			}
			break;
		}
		slot++;
	}
	PG_RETURN_BOOL(true);
}

/*
 * govshare.audit_flush(timeout_ms integer) returns void
 *
 * Waits until every record this session queued is durable.
 */
PG_FUNCTION_INFO_V1(govshare_audit_flush);
Datum
govshare_audit_flush(PG_FUNCTION_ARGS)
{
	int32		timeout = PG_GETARG_INT32(0);
	char	   *why;

	if (last_ticket != 0 && !govshare_audit_queue_wait(last_ticket, Max(timeout, 1), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the access records of this session are not all written"),
				 errdetail_internal("%s", why)));
	PG_RETURN_VOID();
}

/*
 * govshare.audit_status() returns setof (database name, writer_pid integer,
 * queued bigint, queued_bytes bigint, written bigint, last_seq bigint,
 * last_error text, last_error_at timestamptz)
 */
PG_FUNCTION_INFO_V1(govshare_audit_status);
Datum
govshare_audit_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < govshare_audit_queue_count(); i++)
	{
		GovshareAuditQueueStatus s;
		Datum		values[8];
		bool		nulls[8] = {0};
		char	   *db;

		if (!govshare_audit_queue_status(i, &s))
			continue;
		db = get_database_name(s.dboid);
		values[0] = db ? CStringGetDatum(db) : CStringGetDatum("?");
		values[0] = DirectFunctionCall1(namein, values[0]);
		values[1] = Int32GetDatum(s.writer_pid);
		nulls[1] = s.writer_pid == 0;
		values[2] = Int64GetDatum((int64) s.queued);
		values[3] = Int64GetDatum((int64) s.queued_bytes);
		values[4] = Int64GetDatum((int64) s.written);
		values[5] = Int64GetDatum(s.last_seq);
		values[6] = CStringGetTextDatum(s.error);
		nulls[6] = s.error[0] == '\0';
		values[7] = TimestampTzGetDatum(s.error_at);
		nulls[7] = s.error_at == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * An internal role's COPY relation TO of a governed relation: the record
 * of what it reads, or NULL when there is none to make.
 */
static AuditStatement *
copy_begin(CopyStmt *copy, const char *query_string)
{
	GovsharePolicy *policy;
	AuditStatement *st;
	Oid			relid;
	Bitmapset  *selected = NULL;
	bool		sensitive;

	if (copy->is_from || copy->relation == NULL || govshare_audit_internal == GOVSHARE_AUDIT_INTERNAL_NONE ||
		IsParallelWorker())
		return NULL;
	policy = govshare_policy();
	if (!policy->installed || govshare_consumer_agency() != NULL)
		return NULL;
	relid = RangeVarGetRelid(copy->relation, NoLock, true);
	if (!OidIsValid(relid) || !govshare_relation_governed(relid))
		return NULL;

	st = statement_new(policy->self, govshare_context_current(), query_string);
	st->internal = true;
	st->next = statements;
	statements = st;
	if (copy->attlist != NIL)
	{
		ListCell   *lc;

		foreach(lc, copy->attlist)
		{
			AttrNumber	attnum = get_attnum(relid, strVal(lfirst(lc)));

			if (attnum != InvalidAttrNumber)
				selected = bms_add_member(selected, attnum - FirstLowInvalidHeapAttributeNumber);
		}
	}
	sensitive = describe_relation(st, policy, NULL, NULL, relid, selected, copy->attlist == NIL);
	if (!internal_recorded(st, sensitive))
	{
		statement_free(st);
		return NULL;
	}
	st->described = true;
	return st;
}

/*
 * The utility hook's part, before the command runs: commands that need a
 * database without sessions first stop its audit writer; an internal
 * role's COPY relation TO of a governed relation begins a record (a
 * consumer's was made COPY (SELECT ...) TO, which the executor records).
 * Returns what govshare_audit_utility_end needs, or NULL.
 */
void *
govshare_audit_utility(Node *stmt, const char *query_string)
{
	const char *dbname = NULL;
	ListCell   *lc;

	if (IsA(stmt, CopyStmt))
		return copy_begin((CopyStmt *) stmt, query_string);
	if (IsA(stmt, DropdbStmt))
		dbname = ((DropdbStmt *) stmt)->dbname;
	else if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		dbname = ((RenameStmt *) stmt)->subname;
	else if (IsA(stmt, CreatedbStmt))
		foreach(lc, ((CreatedbStmt *) stmt)->options)
		{
			DefElem    *opt = lfirst_node(DefElem, lc);

			if (strcmp(opt->defname, "template") == 0 && opt->arg != NULL)
				dbname = defGetString(opt);
		}
	if (dbname != NULL)
	{
		Oid			dboid = get_database_oid(dbname, true);

		/*
		 * Only for who may run the command: the owner (or a superuser); for
		 * anyone else it fails anyway, and must not stop the writer.
		 */
		if (OidIsValid(dboid) && govshare_db_ownercheck(dboid, GetUserId()))
			govshare_audit_queue_stop(dboid);
	}
	return NULL;
}

/* The utility command ran: an internal COPY's record, with its rows. */
void
govshare_audit_utility_end(void *handle, QueryCompletion *qc)
{
	AuditStatement *st = handle;

	if (st == NULL)
		return;
	if (qc != NULL)
		st->rows = (int64) qc->nprocessed;
	statement_finish(st, "allowed", NULL, false);
}

/* Reads the receipt's access row into the function's result, as the log's owner. */
typedef struct ReceiptRead
{
	ReturnSetInfo *rsinfo;
} ReceiptRead;

static void
read_receipt(void *arg)
{
	ReturnSetInfo *rsinfo = ((ReceiptRead *) arg)->rsinfo;
	Oid			types[1] = {UUIDOID};
	Datum		args[1];

	args[0] = UUIDPGetDatum(&receipt_id);
	if (SPI_execute_with_args("SELECT seq, hash, outcome, statement_id FROM govshare.access_log"
							  " WHERE statement_id = $1 AND kind = 'access'",
							  1, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "govshare: could not read the access log");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[4];
		bool		nulls[4];

		for (int c = 0; c < 4; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, c + 1,
									  &nulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * govshare.request_receipt(token_id text) returns setof (seq bigint,
 * hash bytea, outcome text, statement_id uuid)
 *
 * The receipt a provider returns to a remote caller: the seq and hash of
 * the access record of this session's last consumer statement or denial,
 * once it is durable; no row when that statement was not made under the
 * token token_id (it read nothing governed, say).  The log is read as its
 * owner: the caller, a consumer, cannot read it.
 */
PG_FUNCTION_INFO_V1(govshare_request_receipt);
Datum
govshare_request_receipt(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *token_id;
	char	   *why;
	ReceiptRead read;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || !receipt_known || receipt_token == NULL)
		PG_RETURN_VOID();
	token_id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(token_id, receipt_token) != 0)
		PG_RETURN_VOID();
	/* under strict audit it is durable already: the rows waited for it */
	if (!govshare_audit_queue_wait(receipt_ticket, govshare_audit_timeout, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the access record of this request is not written yet"),
				 errdetail_internal("%s", why)));

	read.rsinfo = rsinfo;
	govshare_spi_as_owner(get_relname_relid("access_log", get_namespace_oid("govshare", false)),
						  read_receipt, &read);
	PG_RETURN_VOID();
}

/*
 * Records an outgoing request to another agency (src/remote.c), a row of
 * kind 'remote': the agency asked, the request context sent, the query's
 * text and hash, what came back and the provider's receipt.  Under strict
 * audit, waits until it is durable and fails when it cannot be.  The rows
 * of a failed request are recorded on the way out of the error, before it
 * is raised again.
 */
void
govshare_audit_remote(const GovshareRemoteRecord *rec)
{
	GovshareRequest r = {0};
	AuditStatement *st;
	StringInfoData buf;
	MemoryContext old;
	uint64		ticket;
	char	   *why;

	if (govshare_audit_mode == GOVSHARE_AUDIT_OFF)
		return;
	r.officer = (char *) rec->officer;
	r.purpose = (char *) rec->purpose;
	r.reference = (char *) rec->reference;
	r.token_id = (char *) rec->token_id;
	st = statement_new(rec->target, &r, rec->query);
	st->stmt_time = rec->started;
	st->query_id = 0;			/* not the local statement's */
	st->rows = rec->rows;
	old = MemoryContextSwitchTo(st->cxt);
	initStringInfo(&buf);
	encode(&buf, st, false, true, rec->outcome, rec->reason, rec);
	MemoryContextSwitchTo(old);
	PG_TRY();
	{
		bool		strict = govshare_audit_mode == GOVSHARE_AUDIT_STRICT;

		ticket = govshare_audit_queue_put(buf.data, buf.len, govshare_audit_timeout, strict, false);
		if (ticket != 0)
			last_ticket = ticket;
		if (strict && (ticket == 0 || !govshare_audit_queue_wait(ticket, govshare_audit_timeout, &why)))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("the request to agency \"%s\" could not be recorded", rec->target),
					 ticket == 0 ? 0 : errdetail_internal("%s", why),
					 errhint("govshare.audit_status() shows the audit writer's state; the rows received are not returned.")));
	}
	PG_FINALLY();
	{
		MemoryContextDelete(st->cxt);
	}
	PG_END_TRY();
}
