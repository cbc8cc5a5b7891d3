/*-------------------------------------------------------------------------
 *
 * record.c
 *	  Access records of the statements that read governed data: built by
 *	  the backend, queued for the audit writer.
 *
 * A consumer's statement whose plan reads governed relations (a plan the
 * enforcement stamped, src/enforce/) gets an access record at executor
 * start: who (agency, roles, officer), why (purpose, reference, token),
 * what (the relations, each column read with its element and the level
 * granted, the rules and the policy version) and the statement's
 * fingerprint (query id, SHA-256 of its text, the text).  Under
 * govshare.audit_mode = 'strict' the record is queued and the executor
 * waits until the writer has committed it before any row is produced; if
 * that cannot happen in govshare.audit_timeout, the statement fails.
 * When the statement ends, a result record follows with the rows it
 * returned and the data subjects whose rows it read.  Under 'async' one
 * record carries everything and is queued when the statement ends.
 *
 * Denials (src/enforce/) are queued before the error is raised, so they
 * stay recorded although their transaction aborts.
 *
 * The uses of request tokens travel the same queue (another kind of
 * record, not chained): the writer adds them to govshare.token_use in its
 * own transaction, so that no rollback of the presenting session brings a
 * token back (src/policy/context.c waits for them).
 *
 * Internal roles' reads of governed relations are recorded, by one record
 * at the end, as govshare.audit_internal says: those that read sensitive
 * elements (default), all, or none.
 *
 * This file builds a statement's record (who, why, what it reads),
 * encodes and queues it, and records denials and outgoing requests.  The
 * executor hooks that open and finish statements, and the abort paths,
 * are in executor.c; data subjects in subjects.c; utility commands in
 * utility.c; the receipt a remote caller gets in receipt.c.
 *
 * src/audit/record.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/pg_inherits.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit/audit_internal.h"
#include "types/gs_types.h"

/* GUCs (src/guc.c). */
int			govshare_audit_mode = GOVSHARE_AUDIT_STRICT;
int			govshare_audit_internal = GOVSHARE_AUDIT_INTERNAL_SENSITIVE;
bool		govshare_audit_statement_text = true;
int			govshare_audit_subject_limit = 100;
int			govshare_audit_timeout = 10000;

static uint64 last_ticket = 0;	/* of the last record this backend queued */

/* A role's name, or its OID as text when the role is gone. */
static char *
user_name(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	return name ? pstrdup(name) : psprintf("%u", roleid);
}

/*
 * A new statement id, laid out as a version-7 UUID (RFC 9562): the time
 * in milliseconds since 1970, 42 bits drawn once per backend, and a
 * 32-bit counter.  Ids ordered by time make the writer append to the
 * statement_id index at its right edge.  Ids that began with the
 * backend's random bits put each backend's inserts at a place of their own
 * within the index, each a descent of the tree, the pages split half
 * full: the writer wrote 6-29% fewer records a second (docs/benchmarks.md).
 * Unique without a call to the random source per statement: two ids of
 * one backend differ in their time or their counter, and ids of two
 * backends made in the same millisecond collide only if their 42 bits
 * and counters do.
 */
static void
statement_id(unsigned char *id)
{
	static unsigned char prefix[6];
	static uint32 counter = 0;
	static pid_t prefix_pid = 0;
	uint64		ms;

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
	ms = (uint64) (GetCurrentTimestamp() +
				   (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY) / 1000;
	for (int i = 0; i < 6; i++)
		id[i] = (unsigned char) (ms >> (40 - 8 * i));
	id[6] = 0x70 | (prefix[0] & 0x0f);	/* version 7 */
	id[7] = prefix[1];
	id[8] = 0x80 | (prefix[2] & 0x3f);	/* RFC 9562 variant */
	memcpy(id + 9, prefix + 3, 3);
	for (int i = 0; i < 4; i++)
		id[12 + i] = (unsigned char) (counter >> (24 - 8 * i));
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
AuditStatement *
govshare_audit_statement_new(const char *agency, const GovshareRequest *r, const char *text)
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
		/* a remote request's: the consumer's role that asked, signed in the token */
		if (r->consumer_role != NULL)
		{
			StringInfoData role;

			initStringInfo(&role);
			escape_json(&role, r->consumer_role);
			st->detail = govshare_audit_detail_put(NULL, "consumer_role", role.data);
		}
	}
	st->query_id = pgstat_get_my_query_id();
	if (text == NULL)
		text = "";
	text_sha256(text, st->sha);
	/* the hash covers the whole text; the record keeps its start (budget.c) */
	if (govshare_audit_statement_text)
		st->text = govshare_audit_text_kept(agency, text);
	MemoryContextSwitchTo(old);
	return st;
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

/* Encodes a list of C strings as an array of texts. */
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
 * log (chain.c): the access record (with, when whole, the rows
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
	/* detail (format GSAL2): jsonb's text form, as chain.c encodes it */
	govshare_chain_put_text(out, remote ? remote->detail : st->detail);
}

/*
 * json parsed as jsonb: errors with 22P02 on text that is not JSON, 22023
 * on JSON that is not an object.
 */
static Jsonb *
detail_object(const char *json)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the detail of an access record must be a JSON object")));
	return jb;
}

/*
 * jsonb's own text form of json, a JSON object: what the log's column
 * detail stores and the chain hashes (keys sorted, no insignificant
 * space).  Errors with 22P02 on text that is not JSON, 22023 on JSON
 * that is not an object.
 */
char *
govshare_audit_detail_normalize(const char *json)
{
	Jsonb	   *jb = detail_object(json);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/*
 * detail (a JSON object, or NULL) with member key set to value (JSON
 * text), normalised, in the current memory context.  Errors as
 * govshare_audit_detail_normalize on a detail that is not a JSON object.
 * Parses and prints (govshare_audit_detail_put does not).
 */
char *
govshare_audit_detail_merge(const char *detail, const char *key, const char *value)
{
	StringInfoData obj;
	Datum		add;

	initStringInfo(&obj);
	appendStringInfoChar(&obj, '{');
	escape_json(&obj, key);
	appendStringInfo(&obj, ":%s}", value);
	add = DirectFunctionCall1(jsonb_in, CStringGetDatum(obj.data));
	if (detail != NULL)
		add = DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(detail_object(detail)), add);
	return JsonbToCString(NULL, &DatumGetJsonbP(add)->root, VARSIZE(DatumGetJsonbP(add)));
}

/*
 * detail (a JSON object's text, or NULL) with member key set to value (JSON
 * text), in the current memory context, without parsing either: the
 * member is appended, and jsonb keeps the last of duplicate keys.  The
 * writer parses the detail into the log's jsonb column, and the chain
 * covers jsonb's text of that (chain.c), so the text queued need not be
 * jsonb's own; govshare_audit_detail_merge parsed and printed it, which
 * took 5.7% of the samples of a consumer's backend running prepared
 * lookups (a detail of "params" and "usage").  For values this library
 * writes, valid JSON by construction; a value from elsewhere goes through
 * govshare_audit_detail_merge, which checks it.
 */
char *
govshare_audit_detail_put(const char *detail, const char *key, const char *value)
{
	StringInfoData obj;
	size_t		len = detail ? strlen(detail) : 0;

	initStringInfo(&obj);
	if (len <= 2)
		appendStringInfoChar(&obj, '{');
	else
	{
		Assert(detail[0] == '{' && detail[len - 1] == '}');
		appendBinaryStringInfo(&obj, detail, len - 1);
		appendStringInfoString(&obj, ", ");
	}
	escape_json(&obj, key);
	appendStringInfo(&obj, ": %s}", value);
	return obj.data;
}

/* Room for one data subject in an encoded record: tag, length, 12 digits. */
#define SUBJECT_BYTES 24

/* Room for the outcome and a reason, of an abort path at most. */
#define REASON_BYTES 512

/*
 * Reserves room in the audit queue for st's last record (its result, or
 * its one record), which an abort path may have to queue when nothing can
 * wait: its size as known now, with room for the subjects it may list and
 * a reason.  Waits up to govshare.audit_timeout, then raises "the audit
 * queue ... is full": the statement fails before it reads a row.
 */
void
govshare_audit_record_reserve(AuditStatement *st)
{
	StringInfoData buf;
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	Size		len;

	initStringInfo(&buf);
	encode(&buf, st, false, true, "allowed", NULL, NULL);
	len = buf.len + REASON_BYTES + (st->subjects_on ? (Size) st->subject_limit * SUBJECT_BYTES : 0);
	pfree(buf.data);
	MemoryContextSwitchTo(old);
	govshare_audit_queue_reserve(len, st->agency, govshare_audit_timeout, &st->reservation);
}

/*
 * Queues a record of st; urgent when the caller will wait for it, noerror
 * for abort paths.  Returns its ticket.
 */
uint64
govshare_audit_record_queue(AuditStatement *st, bool result, bool whole, const char *outcome,
							const char *reason, bool urgent, bool noerror)
{
	StringInfoData buf;
	MemoryContext old = MemoryContextSwitchTo(st->cxt);
	uint64		ticket;

	initStringInfo(&buf);
	encode(&buf, st, result, whole, outcome, reason, NULL);
	MemoryContextSwitchTo(old);
	/* the statement's last record spends the room reserved for it */
	ticket = govshare_audit_queue_put(buf.data, buf.len, st->agency, govshare_audit_timeout, urgent, noerror,
									  result || whole ? &st->reservation : NULL);
	if (ticket != 0)
		last_ticket = ticket;
	/*
	 * Each member of the detail is recorded once, in the first record
	 * queued after it was set: the result record that follows an access
	 * record carries only what was set since (and fits the room reserved).
	 */
	if (ticket != 0 && !result && !whole)
		st->detail = NULL;
	/* a statement without a token (no context) names no request */
	if (ticket != 0 && !result && !st->internal && st->token_id != NULL)
		govshare_audit_receipt_note(st, ticket);
	return ticket;
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
bool
govshare_audit_describe_relation(AuditStatement *st, GovsharePolicy *policy, const char *agency,
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
bool
govshare_audit_describe_reads(AuditStatement *st, PlannedStmt *plan, GovsharePolicy *policy,
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
		Bitmapset  *selected;

		if (rte->rtekind != RTE_RELATION || !govshare_relation_governed(rte->relid))
			continue;
		if (!rte->inh && is_child_of_listed(rte->relid, inh_parents))
			continue;			/* a partition read through its parent */
		selected = govshare_plan_selected_cols(plan, rte);
		sensitive |= govshare_audit_describe_relation(st, policy, agency, purpose, rte->relid,
													  selected,
													  bms_is_member(0 - FirstLowInvalidHeapAttributeNumber,
																	selected));
	}
	return sensitive;
}

/* Should an internal read of these columns be recorded? */
bool
govshare_audit_internal_recorded(AuditStatement *st, bool sensitive)
{
	return st->columns != NIL && (govshare_audit_internal == GOVSHARE_AUDIT_INTERNAL_ALL || sensitive);
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
	st = govshare_audit_statement_new(agency, r, debug_query_string);
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
		(void) govshare_audit_record_queue(st, false, false, "denied", reason, false, false);
	}
	PG_FINALLY();
	{
		MemoryContextDelete(st->cxt);
	}
	PG_END_TRY();
}

/*
 * Records an outgoing request to another agency (src/remote/), a row of
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
	st = govshare_audit_statement_new(rec->target, &r, rec->query);
	if (rec->detail != NULL)
	{
		old = MemoryContextSwitchTo(st->cxt);
		st->detail = govshare_audit_detail_normalize(rec->detail);
		MemoryContextSwitchTo(old);
	}
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

		ticket = govshare_audit_queue_put(buf.data, buf.len, st->agency, govshare_audit_timeout, strict,
										  false, NULL);
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

/*
 * Records a call of govshare.verify() (src/enforce/claims.c): one row of
 * kind 'access' with the relation, the columns checked at level verify,
 * the subject and the number of rows found; the statement text is the
 * call described without the claims, so no claimed value is kept.  Under
 * strict audit, waits until it is durable (the answers are not returned
 * before) and fails when it cannot be.
 */
void
govshare_audit_verify(const GovshareVerifyRecord *rec)
{
	AuditStatement *st;
	MemoryContext old;
	uint64		ticket;
	char	   *why;
	bool		strict = govshare_audit_mode == GOVSHARE_AUDIT_STRICT;
	char	   *relname;

	if (govshare_audit_mode == GOVSHARE_AUDIT_OFF ||
		(rec->agency == NULL && govshare_audit_internal == GOVSHARE_AUDIT_INTERNAL_NONE))
		return;
	st = govshare_audit_statement_new(rec->agency ? rec->agency : govshare_policy()->self,
									  rec->request, rec->text);
	st->internal = rec->agency == NULL;
	st->rows = rec->rows;
	st->policy_version = rec->policy_version;
	old = MemoryContextSwitchTo(st->cxt);
	relname = relation_name(rec->relid);
	st->relations = list_make1(relname);
	for (int i = 0; i < rec->ncolumns; i++)
	{
		st->columns = lappend(st->columns, psprintf("%s.%s", relname, quote_identifier(rec->columns[i])));
		st->elements = lappend(st->elements, rec->elements[i] ? pstrdup(rec->elements[i]) : NULL);
		st->levels = lappend(st->levels, pstrdup(govshare_level_name(GOVSHARE_VERIFY)));
	}
	st->subjects_on = true;
	st->subject_limit = Max(govshare_audit_subject_limit, 1);
	if (rec->has_subject)
		govshare_audit_subject_note(st, rec->subject);
	/*
	 * the answers, never the claims (format GSAL2, detail "verify"): jsonb's
	 * own text of an object, so {"verify": answers} is written as jsonb
	 * prints it (govshare_audit_detail_merge would parse it again)
	 */
	if (rec->answers != NULL)
		st->detail = psprintf("{\"verify\": %s}", rec->answers);
	MemoryContextSwitchTo(old);
	PG_TRY();
	{
		ticket = govshare_audit_record_queue(st, false, true, "allowed", NULL, strict, false);
		if (strict && (ticket == 0 || !govshare_audit_queue_wait(ticket, govshare_audit_timeout, &why)))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("the verification by agency \"%s\" could not be recorded",
							rec->agency ? rec->agency : "self"),
					 ticket == 0 ? 0 : errdetail_internal("%s", why),
					 errhint("Under govshare.audit_mode = 'strict' no answer leaves before its access record is durable; govshare.audit_status() shows the audit writer.")));
	}
	PG_FINALLY();
	{
		MemoryContextDelete(st->cxt);
	}
	PG_END_TRY();
}

/*
 * A token use travels through the audit queue as this tag, the times it
 * expires and was used (TimestampTz, as in memory: the queue never leaves
 * the server), then issuer, jti and used_by as NUL-terminated strings.
 * An access record starts with the tag of a text ('S'), never with this.
 */
static void
encode_token_use(StringInfo out, const GovshareTokenUse *use)
{
	appendStringInfoChar(out, GOVSHARE_AUDIT_TOKEN_TAG);
	appendBinaryStringInfo(out, (const char *) &use->expires_at, sizeof(TimestampTz));
	appendBinaryStringInfo(out, (const char *) &use->used_at, sizeof(TimestampTz));
	appendBinaryStringInfo(out, use->issuer, strlen(use->issuer) + 1);
	appendBinaryStringInfo(out, use->jti, strlen(use->jti) + 1);
	appendBinaryStringInfo(out, use->used_by, strlen(use->used_by) + 1);
}

/*
 * Decodes a token use queued by govshare_audit_token_use (data, len bytes,
 * starting with the tag); its strings point into data.  Errors on a
 * malformed one.
 */
void
govshare_audit_token_decode(const char *data, uint32 len, GovshareTokenUse *use)
{
	const char *p = data + 1 + 2 * sizeof(TimestampTz);
	const char *end = data + len;
	const char **strings[3] = {&use->issuer, &use->jti, &use->used_by};

	if (len < 1 + 2 * sizeof(TimestampTz) || data[0] != GOVSHARE_AUDIT_TOKEN_TAG)
		elog(ERROR, "govshare: malformed token use in the audit queue");
	memcpy(&use->expires_at, data + 1, sizeof(TimestampTz));
	memcpy(&use->used_at, data + 1 + sizeof(TimestampTz), sizeof(TimestampTz));
	for (int i = 0; i < 3; i++)
	{
		const char *nul = memchr(p, '\0', end - p);

		if (nul == NULL)
			elog(ERROR, "govshare: malformed token use in the audit queue");
		*strings[i] = p;
		p = nul + 1;
	}
	if (p != end)
		elog(ERROR, "govshare: malformed token use in the audit queue");
}

/*
 * The token recorder (src/policy/context.c): queues the use of a request
 * token for the audit writer, which adds it to govshare.token_use in its
 * own transaction (whatever govshare.audit_mode says: this is the replay
 * guard, not the audit).  It does not wake the writer: the session waits
 * before its first governed read, under strict audit for that read's
 * access record, queued after the use, so that one writer transaction
 * (one flush) makes both durable; a session that exits first wakes it
 * then (context.c).  Sets *t to where it was queued; returns false, with
 * why, when the queue cannot take it.
 */
bool
govshare_audit_token_use(const GovshareTokenUse *use, GovshareTokenTicket *t, char **why)
{
	StringInfoData buf;
	uint64		ticket;

	initStringInfo(&buf);
	encode_token_use(&buf, use);
	ticket = govshare_audit_queue_put(buf.data, buf.len, use->issuer, govshare_audit_timeout, false,
									  false, NULL);
	pfree(buf.data);
	if (ticket == 0)
	{
		*why = pstrdup("The audit queue could not take the record.");
		return false;
	}
	last_ticket = ticket;		/* audit_flush() waits for it too */
	t->queue = govshare_audit_queue_last_put();
	t->ticket = ticket;
	return true;
}

/*
 * The token waiter: is the token use queued at t durable?  With
 * GOVSHARE_TOKEN_HASTEN, wakes the writer when it is not; with
 * GOVSHARE_TOKEN_WAIT, waits up to govshare.audit_timeout for it and
 * returns false, with why, when it is not durable by then.
 */
bool
govshare_audit_token_durable(const GovshareTokenTicket *t, GovshareTokenWait how, char **why)
{
	if (how == GOVSHARE_TOKEN_WAIT)
		return govshare_audit_queue_wait_at(t->queue, t->ticket, govshare_audit_timeout, why);
	if (govshare_audit_queue_durable_at(t->queue, t->ticket))
		return true;
	if (how == GOVSHARE_TOKEN_HASTEN)
		govshare_audit_queue_wake_at(t->queue);
	return false;
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
	uint64		lost = govshare_audit_queue_lost();

	if (lost > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("%llu access records of this session could not be queued and are lost",
						(unsigned long long) lost),
				 errdetail("A record queued where nothing may wait (a statement's end in an abort) was larger than the room reserved for it while the audit queue was full, or no audit queue was free for the database."),
				 errhint("The server log has a line for each; raise govshare.audit_queue_size or govshare.audit_max_databases.")));
	if (last_ticket != 0 && !govshare_audit_queue_wait(last_ticket, Max(timeout, 1), &why))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("the access records of this session are not all written"),
				 errdetail_internal("%s", why)));
	PG_RETURN_VOID();
}

/*
 * Records a change made to the log itself (an archive, archive.c): one
 * internal access row of agency (the self agency) naming
 * govshare.access_log, with the statement's text, reason saying what was
 * done and detail (a JSON object, or NULL) the same as data.  Waits until
 * it is durable; raises an error when it cannot be.
 */
void
govshare_audit_log_event(const char *agency, const char *text, const char *reason,
						 const char *detail)
{
	AuditStatement *st = govshare_audit_statement_new(agency, NULL, text);
	StringInfoData buf;
	MemoryContext old;
	uint64		ticket = 0;
	char	   *why = NULL;

	PG_TRY();
	{
		old = MemoryContextSwitchTo(st->cxt);
		st->internal = true;
		st->relations = list_make1(pstrdup("govshare.access_log"));
		st->detail = detail ? govshare_audit_detail_normalize(detail) : NULL;
		initStringInfo(&buf);
		encode(&buf, st, false, true, "allowed", reason, NULL);
		MemoryContextSwitchTo(old);
		ticket = govshare_audit_queue_put(buf.data, buf.len, agency, govshare_audit_timeout, true, false, NULL);
		if (ticket != 0)
			last_ticket = ticket;
		if (ticket == 0 || !govshare_audit_queue_wait(ticket, govshare_audit_timeout, &why))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					 errmsg("the change to govshare.access_log could not be recorded"),
					 why ? errdetail_internal("%s", why) : 0,
					 errhint("govshare.audit_status() shows the audit writer's state; nothing was changed.")));
	}
	PG_FINALLY();
	{
		MemoryContextDelete(st->cxt);
	}
	PG_END_TRY();
}
