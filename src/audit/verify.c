/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  Verification of the access log's chain, signed checkpoints, and the
 *	  canonical encoding as SQL.
 *
 * govshare.verify_log() walks the log in sequence order, recomputes
 * every row's hash from its columns (chain.c) and reports the first
 * broken link: a missing sequence number, a prev_hash that is not the
 * previous row's hash, a hash that does not match the row.  A row's hash
 * covers its own prev_hash, so each row can be checked apart from the
 * others and the links afterwards: on a large log, parallel workers check
 * the rows of the blocks they are handed and the leader then links the
 * runs of consecutive rows they found (verify_parallel.c).  At any doubt
 * (a row that does not check, a gap, runs that do not link) the walk in
 * seq order runs instead, to name the first bad row exactly.
 * A chain can be rebuilt whole by someone who can write the table and
 * knows the encoding (unless it is HMAC-keyed and they cannot read the key
 * file); a checkpoint defeats that.
 * govshare.checkpoint() signs the last sequence number and hash with the
 * self agency's Ed25519 key (govshare.signing_key_file), and
 * verify_log(checkpoint) checks the signature against the self agency's
 * registered public key, the chain up to the end, that the row the
 * checkpoint names still has the hash it signed (no rewriting before it)
 * and that the log still reaches it (no truncation after it).
 *
 * src/audit/verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "audit/audit_internal.h"

/* What a verification found. */
typedef struct Verdict
{
	bool		ok;
	int64		checked;
	int64		last_seq;		/* 0: the log is empty */
	int64		first_bad;		/* 0: none */
	char	   *problem;
	unsigned char last_hash[GOVSHARE_HASH_LEN];
	/* the hash found at seq want_seq, when asked for */
	int64		want_seq;
	bool		want_found;
	unsigned char want_hash[GOVSHARE_HASH_LEN];
} Verdict;

static Oid
access_log_relid(void)
{
	Oid			nsp = get_namespace_oid("govshare", false);

	return get_relname_relid("access_log", nsp);
}

static void
fail(Verdict *v, int64 seq, char *problem)
{
	v->ok = false;
	v->first_bad = seq;
	v->problem = problem;
}

/*
 * The rows of the log in sequence order.  The writer appends them in that
 * order, so a scan of the heap meets them in order, faster than through
 * the primary key; at the first row out of order (a row updated, moved or
 * forged) the scan goes on through the primary key from the seq expected.
 */
typedef struct LogScan
{
	Relation	rel;
	Relation	index;
	TupleTableSlot *slot;
	TableScanDesc heap;			/* NULL once reading by the index */
	IndexScanDesc by_seq;
	ScanKeyData key;
} LogScan;

static void
scan_by_index(LogScan *s, int64 from_seq)
{
	if (s->heap != NULL)
	{
		table_endscan(s->heap);
		s->heap = NULL;
	}
	if (s->index == NULL)
		s->index = index_open(RelationGetPrimaryKeyIndex(s->rel), AccessShareLock);
	ScanKeyInit(&s->key, 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(from_seq));
	s->by_seq = index_beginscan(s->rel, s->index, GetActiveSnapshot(), 1, 0);
	index_rescan(s->by_seq, &s->key, 1, NULL, 0);
}

static void
scan_begin(LogScan *s, Relation rel, int64 from_seq)
{
	memset(s, 0, sizeof(*s));
	s->rel = rel;
	s->slot = table_slot_create(rel, NULL);
	if (from_seq <= 1)
		s->heap = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
	else
		scan_by_index(s, from_seq);
}

/* The next row into s->slot, all attributes deformed; false at the end. */
static bool
scan_next(LogScan *s)
{
	bool		found = s->heap ? table_scan_getnextslot(s->heap, ForwardScanDirection, s->slot)
		: index_getnext_slot(s->by_seq, ForwardScanDirection, s->slot);

	if (found)
		slot_getallattrs(s->slot);
	return found;
}

static void
scan_end(LogScan *s)
{
	if (s->heap)
		table_endscan(s->heap);
	if (s->by_seq)
		index_endscan(s->by_seq);
	if (s->index)
		index_close(s->index, AccessShareLock);
	ExecDropSingleTupleTableSlot(s->slot);
}

/*
 * Where a verification from *from_seq starts when records were archived
 * (archive.c): at the seq after the latest anchor, whose hash is then the
 * prev_hash expected, once the anchor's signature verifies.  Returns false,
 * with v failed, when it does not.
 */
static bool
anchor_start(Verdict *v, int64 *from_seq, unsigned char *prev, bool *prev_known)
{
	GovshareAnchor a;
	char	   *problem;

	if (!govshare_archive_anchor(&a) || *from_seq > a.seq + 1)
		return true;
	if ((problem = govshare_archive_anchor_problem(&a)) != NULL)
	{
		fail(v, a.seq + 1, problem);
		return false;
	}
	*from_seq = a.seq + 1;
	memcpy(prev, a.hash, GOVSHARE_HASH_LEN);
	*prev_known = true;
	v->last_seq = a.seq;
	memcpy(v->last_hash, a.hash, GOVSHARE_HASH_LEN);
	return true;
}

static bool verify_in_parallel(Relation rel, int64 from_seq, int64 to_seq,
							   const unsigned char *prev, Verdict *v);

/*
 * Walks the log from from_seq to to_seq (0: the end) and fills v.  From
 * seq 1, the first row's prev_hash must be zero, or, when records were
 * archived, from the seq after the anchor, the anchor's hash; from a later
 * seq, its prev_hash is taken as given.
 */
static void
verify_range(int64 from_seq, int64 to_seq, Verdict *v, bool parallel)
{
	Relation	rel = table_open(access_log_relid(), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	LogScan		scan;
	TupleTableSlot *slot;
	int64		expect = from_seq;
	unsigned char prev[GOVSHARE_HASH_LEN];
	bool		prev_known = from_seq <= 1;
	StringInfoData buf;
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "govshare verify row",
												  ALLOCSET_DEFAULT_SIZES);
	const char *key_id = NULL;
	size_t		keylen = 0;
	const unsigned char *hkey = NULL;
	bool		key_read = false;
	int64		keyed_since = 0;	/* the first keyed row seen */

	(void) govshare_chain_check_columns(desc);
	memset(prev, 0, sizeof(prev));
	memset(v, 0, offsetof(Verdict, want_seq));
	v->ok = true;
	if (from_seq < 1)
		expect = from_seq = 1;
	if (!anchor_start(v, &from_seq, prev, &prev_known))
	{
		table_close(rel, AccessShareLock);
		MemoryContextDelete(row_cxt);
		return;
	}
	expect = from_seq;
	/* the whole log (or all of it after the anchor): in parallel, if large */
	if (parallel && prev_known && (to_seq == 0 || to_seq >= from_seq) &&
		verify_in_parallel(rel, from_seq, to_seq, prev, v))
	{
		table_close(rel, AccessShareLock);
		MemoryContextDelete(row_cxt);
		return;
	}

	scan_begin(&scan, rel, from_seq);
	slot = scan.slot;
	initStringInfo(&buf);

	while (scan_next(&scan))
	{
		MemoryContext old;
		int64		seq;
		bool		isnull;
		unsigned char stored_prev[GOVSHARE_HASH_LEN];
		unsigned char stored[GOVSHARE_HASH_LEN];
		bool		matches;
		Datum		keyd;

		CHECK_FOR_INTERRUPTS();
		seq = DatumGetInt64(slot->tts_values[Anum_access_log_seq - 1]);
		if (scan.heap != NULL && seq != expect)
		{
			/* out of physical order: go on in seq order */
			scan_by_index(&scan, expect);
			continue;
		}
		if (to_seq > 0 && seq > to_seq)
			break;
		old = MemoryContextSwitchTo(row_cxt);
		if (seq != expect)
		{
			fail(v, expect, psprintf(expect == 1 ? "The log does not begin at seq 1: it begins at seq %lld."
									 : "Rows are missing before seq %lld.", (long long) seq));
			MemoryContextSwitchTo(old);
			break;
		}
		if (!govshare_chain_hash_of(slot->tts_values[Anum_access_log_prev_hash - 1],
									slot->tts_isnull[Anum_access_log_prev_hash - 1], stored_prev) ||
			!govshare_chain_hash_of(slot->tts_values[Anum_access_log_hash - 1],
									slot->tts_isnull[Anum_access_log_hash - 1], stored))
		{
			fail(v, seq, psprintf("Seq %lld has no valid hash or prev_hash.", (long long) seq));
			MemoryContextSwitchTo(old);
			break;
		}
		if (prev_known && memcmp(stored_prev, prev, GOVSHARE_HASH_LEN) != 0)
		{
			fail(v, seq, psprintf(seq == 1 ? "The prev_hash of seq 1 is not zero."
								  : "The prev_hash of seq %lld is not the hash of seq %lld: rows were removed, reordered or replaced.",
								  (long long) seq, (long long) seq - 1));
			MemoryContextSwitchTo(old);
			break;
		}

		/* the key this row was hashed with */
		keyd = slot->tts_values[Anum_access_log_hmac_key_id - 1];
		isnull = slot->tts_isnull[Anum_access_log_hmac_key_id - 1];
		if (!isnull && !key_read)
		{
			/* kept in TopMemoryContext by chain.c */
			hkey = govshare_chain_key(&key_id, &keylen);
			key_read = true;
		}
		/* once keyed, always keyed: a plain row after a keyed one is a downgrade */
		if (isnull && keyed_since > 0)
		{
			fail(v, seq, psprintf("Seq %lld is hashed without the audit key, but seq %lld before it was keyed: the chain was recomputed without the key.",
								  (long long) seq, (long long) keyed_since));
			MemoryContextSwitchTo(old);
			break;
		}
		if (!isnull && keyed_since == 0)
			keyed_since = seq;
		if (!isnull && (hkey == NULL || strcmp(TextDatumGetCString(keyd), key_id) != 0))
		{
			fail(v, seq, psprintf("Seq %lld was hashed with audit key %s, but %s.", (long long) seq,
								  TextDatumGetCString(keyd),
								  hkey ? psprintf("the configured audit key is %s", key_id)
								  : "no audit key is configured (govshare.audit_key_file)"));
			MemoryContextSwitchTo(old);
			break;
		}

		matches = govshare_chain_row_matches(&buf, desc, slot->tts_values, slot->tts_isnull,
											 stored_prev, stored, isnull ? NULL : hkey, keylen);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
		if (!matches)
		{
			fail(v, seq, psprintf("The hash of seq %lld does not match its contents: the row was changed.",
								  (long long) seq));
			break;
		}
		if (seq == v->want_seq)
		{
			v->want_found = true;
			memcpy(v->want_hash, stored, GOVSHARE_HASH_LEN);
		}
		memcpy(prev, stored, GOVSHARE_HASH_LEN);
		prev_known = true;
		v->checked++;
		v->last_seq = seq;
		memcpy(v->last_hash, stored, GOVSHARE_HASH_LEN);
		expect = seq + 1;
	}
	scan_end(&scan);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(row_cxt);
	if (v->ok && to_seq > 0 && v->last_seq < to_seq && expect <= to_seq)
	{
		/* asked for rows the log does not have */
		fail(v, expect, psprintf("The log ends at seq %lld, before seq %lld.",
								 (long long) (expect - 1), (long long) to_seq));
	}
}

/*
 * The blocks a verification up to to_seq needs read: up to the one that
 * holds seq to_seq, as the log is in seq order on disk (writer.c); all of
 * them (InvalidBlockNumber) when it is not found.  A row of the range
 * beyond that block (a log out of order) is then missing from the
 * parallel runs, which do not link, and the walk in order finds it.
 */
static BlockNumber
blocks_up_to(Relation rel, int64 to_seq)
{
	LogScan		s;
	BlockNumber blocks = InvalidBlockNumber;

	memset(&s, 0, sizeof(s));
	s.rel = rel;
	s.slot = table_slot_create(rel, NULL);
	scan_by_index(&s, to_seq);
	if (scan_next(&s) && DatumGetInt64(s.slot->tts_values[Anum_access_log_seq - 1]) == to_seq)
		blocks = ItemPointerGetBlockNumber(&s.slot->tts_tid) + 1;
	scan_end(&s);
	return blocks;
}

/*
 * The whole range in parallel (verify_parallel.c), if the log is large
 * enough: fills v and returns true when it all checks and links.
 */
static bool
verify_in_parallel(Relation rel, int64 from_seq, int64 to_seq, const unsigned char *prev,
				   Verdict *v)
{
	GovshareChainCheck c;

	c.want_seq = v->want_seq;
	if (!govshare_verify_parallel(rel, from_seq, to_seq,
								  to_seq > 0 ? blocks_up_to(rel, to_seq) : InvalidBlockNumber,
								  prev, &c))
		return false;
	v->checked = c.checked;
	if (c.last_seq > 0)
	{
		v->last_seq = c.last_seq;
		memcpy(v->last_hash, c.last_hash, GOVSHARE_HASH_LEN);
	}
	if (c.want_found)
	{
		v->want_found = true;
		memcpy(v->want_hash, c.want_hash, GOVSHARE_HASH_LEN);
	}
	return true;
}

/* The verdict as the OUT parameters of verify_log. */
static Datum
verdict_datum(FunctionCallInfo fcinfo, Verdict *v)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "govshare: verify_log must return a row");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = BoolGetDatum(v->ok);
	values[1] = Int64GetDatum(v->checked);
	values[2] = Int64GetDatum(v->last_seq);
	nulls[2] = v->last_seq == 0;
	values[3] = Int64GetDatum(v->first_bad);
	nulls[3] = v->first_bad == 0;
	if (v->problem)
		values[4] = CStringGetTextDatum(v->problem);
	else
		nulls[4] = true;
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * govshare.verify_log(from_seq bigint, to_seq bigint) returns (ok, checked,
 * last_seq, first_bad_seq, problem)
 */
PG_FUNCTION_INFO_V1(govshare_verify_log);
Datum
govshare_verify_log(PG_FUNCTION_ARGS)
{
	Verdict		v;

	v.want_seq = -1;
	verify_range(PG_ARGISNULL(0) ? 1 : PG_GETARG_INT64(0), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1), &v, true);
	return verdict_datum(fcinfo, &v);
}

/*
 * Does the chain verify from from_seq to to_seq?  When not, *problem says
 * why (archive.c refuses to archive a log that does not verify).
 */
bool
govshare_verify_chain(int64 from_seq, int64 to_seq, char **problem)
{
	Verdict		v;

	v.want_seq = -1;
	verify_range(from_seq, to_seq, &v, false);
	*problem = v.problem;
	return v.ok;
}

/* A string member of a jsonb object, or NULL. */
static char *
member_string(Jsonb *j, const char *name)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&j->root, name, strlen(name), NULL);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* An integer member of a jsonb object; false when absent or not one. */
static bool
member_int8(Jsonb *j, const char *name, int64 *out)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&j->root, name, strlen(name), NULL);

	if (v == NULL || v->type != jbvNumeric)
		return false;
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
	return true;
}

/*
 * govshare.verify_log(checkpoint jsonb) returns (ok, checked, last_seq,
 * first_bad_seq, problem)
 *
 * Only the signed payload of the checkpoint's "jws" is trusted; the other
 * members are there for people.
 */
PG_FUNCTION_INFO_V1(govshare_verify_log_checkpoint);
Datum
govshare_verify_log_checkpoint(PG_FUNCTION_ARGS)
{
	Jsonb	   *cp = PG_GETARG_JSONB_P(0);
	GovsharePolicy *policy = govshare_policy();
	char	   *jws = member_string(cp, "jws");
	const char *problem = NULL;
	char	   *payload_text = NULL;
	Jsonb	   *payload;
	char	   *agency;
	char	   *hash_hex;
	char	   *typ;
	int64		seq;
	Verdict		v;
	GovshareAnchor anchor;

	memset(&v, 0, sizeof(v));
	if (jws == NULL)
		problem = "The checkpoint has no \"jws\": it is not one govshare.checkpoint() made.";
	else if (policy->self == NULL)
		problem = "No agency is self in this database, so no key can vouch for a checkpoint.";
	else
	{
		/*
		 * The signature, not an unsigned member, says which key signed: each
		 * current key of the self agency is tried, then the revoked ones,
		 * to say so.
		 */
		const char *revoked = NULL;

		problem = psprintf("The signature does not verify with any registered key of the self agency %s.",
						   policy->self);
		for (int pass = 0; pass < 2 && payload_text == NULL && revoked == NULL; pass++)
			for (int i = 0; i < policy->nkeys && payload_text == NULL; i++)
			{
				const GovshareKey *key = &policy->keys[i];
				const char *why;
				char	   *text;

				if (strcmp(key->agency, policy->self) != 0 || key->revoked != (pass == 1))
					continue;
				text = govshare_jws_verify(jws, key->public_key, &why);
				if (text == NULL)
					continue;
				if (pass == 0)
					payload_text = text;
				else
					revoked = key->key_id;
			}
		if (revoked != NULL)
			problem = psprintf("Key %s of the self agency %s is revoked: what it signs is no longer evidence.",
							   revoked, policy->self);
	}
	if (payload_text != NULL)
	{
		payload = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(payload_text)));
		agency = member_string(payload, "agency");
		hash_hex = member_string(payload, "hash");
		typ = member_string(payload, "typ");
		if (typ == NULL || strcmp(typ, "govshare-checkpoint") != 0)
			problem = "What the key signed is not a govshare checkpoint (its \"typ\" is not \"govshare-checkpoint\").";
		else if (!member_int8(payload, "seq", &seq) || seq < 0 || agency == NULL ||
				 hash_hex == NULL || strlen(hash_hex) != 2 * GOVSHARE_HASH_LEN)
			problem = "The signed checkpoint lacks its \"agency\", \"seq\" or \"hash\".";
		else if (strcmp(agency, policy->self) != 0)
			problem = psprintf("The checkpoint is of agency %s; this database is agency %s's.",
							   agency, policy->self);
		else if (govshare_archive_anchor(&anchor) && seq <= anchor.seq)
		{
			/* what the checkpoint covers was archived: only the anchor's seq is here */
			verify_range(1, 0, &v, true);
			if (v.ok && (seq != anchor.seq || strcmp(govshare_hex(anchor.hash, GOVSHARE_HASH_LEN), hash_hex) != 0))
			{
				v.ok = false;
				v.problem = psprintf("Seq %lld was archived (the archives end with %s, the anchor): verify this checkpoint against the archive files with govshare-verify --archive.",
									 (long long) seq, anchor.file);
			}
			return verdict_datum(fcinfo, &v);
		}
		else
		{
			v.want_seq = seq;
			verify_range(1, 0, &v, true);
			if (v.ok && seq > v.last_seq)
				fail(&v, v.last_seq + 1,
					 psprintf("The log ends at seq %lld, but the checkpoint covers seq %lld: rows were removed from its end.",
							  (long long) v.last_seq, (long long) seq));
			else if (v.ok && seq > 0 && strcmp(govshare_hex(v.want_hash, GOVSHARE_HASH_LEN), hash_hex) != 0)
				fail(&v, seq,
					 psprintf("Seq %lld does not have the hash the checkpoint signed: the log before it was rewritten.",
							  (long long) seq));
			else if (v.ok && seq == 0 && strspn(hash_hex, "0") != 2 * GOVSHARE_HASH_LEN)
				fail(&v, 1, "The checkpoint of an empty log has a hash.");
			return verdict_datum(fcinfo, &v);
		}
	}
	v.ok = false;
	v.problem = pstrdup(problem);
	return verdict_datum(fcinfo, &v);
}

/*
 * A document of type typ about this database's log, signed with
 * private_pem: a JWS whose payload is {"typ", "agency", "database",
 * <members>, "time"} (see govshare_audit_sign); *kid is the key's id.
 */
static char *
sign_document(GovsharePolicy *policy, const char *private_pem, const char *typ,
			  const char *members, const char *time, char **kid)
{
	char	   *public_pem = govshare_public_key_pem(private_pem);
	bool		registered = false;
	char	   *dbname = get_database_name(MyDatabaseId);
	char	   *payload;
	char	   *header;

	*kid = govshare_key_id(public_pem);
	for (int i = 0; i < policy->nkeys; i++)
		if (strcmp(policy->keys[i].key_id, *kid) == 0 &&
			strcmp(policy->keys[i].agency, policy->self) == 0 && !policy->keys[i].revoked)
			registered = true;
	if (!registered)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the signing key is not a registered key of the self agency \"%s\"", policy->self),
				 errdetail("Auditors verify checkpoints with the self agency's registered public keys; key %s is not one of them, or is revoked.", *kid),
				 errhint("Register it: SELECT govshare.add_agency_key('%s', $pem$%s$pem$);",
						 policy->self, public_pem)));
	payload = psprintf("{\"typ\":%s,\"agency\":%s,\"database\":%s,%s,\"time\":%s}",
					   govshare_json_string(typ), govshare_json_string(policy->self),
					   govshare_json_string(dbname), members, govshare_json_string(time));
	header = psprintf("{\"alg\":\"EdDSA\",\"kid\":%s,\"typ\":%s}",
					  govshare_json_string(*kid), govshare_json_string(psprintf("%s+jws", typ)));
	return govshare_jws_sign(private_pem, header, payload);
}

/*
 * A JWS of type typ (its header's typ is typ+jws) signed with the self
 * agency's key (govshare.signing_key_file), whose public key must be
 * registered for the self agency; the payload is {"typ", "agency",
 * "database", members (JSON members, comma-separated), "time"}.  *kid
 * and *time, when not NULL, are the key's id and the time signed.  The
 * private key is wiped from memory as soon as it has signed, or failed to.
 */
char *
govshare_audit_sign(const char *typ, const char *members, char **kid, char **time)
{
	GovsharePolicy *policy = govshare_policy();
	size_t		len;
	unsigned char *private_pem;
	char	   *volatile jws = NULL;
	char	   *volatile key_id = NULL;
	char	   *now = DatumGetCString(DirectFunctionCall1(timestamptz_out,
														  TimestampTzGetDatum(GetCurrentTimestamp())));

	if (policy->self == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no agency is self in this database"),
				 errhint("Register it with govshare.add_agency(code, name, is_self => true).")));
	private_pem = govshare_keyfile_read(GOVSHARE_KEY_SIGNING,
										"Checkpoints are signed with the self agency's Ed25519 key.",
										&len);
	PG_TRY();
	{
		char	   *k;

		jws = sign_document(policy, (char *) private_pem, typ, members, now, &k);
		key_id = k;
	}
	PG_FINALLY();
	{
		explicit_bzero(private_pem, len);
	}
	PG_END_TRY();
	if (kid != NULL)
		*kid = key_id;
	if (time != NULL)
		*time = now;
	return jws;
}

/*
 * govshare.checkpoint() returns jsonb
 *
 * {"agency", "database", "seq", "hash", "time", "kid", "jws"}: the last
 * row of the log (or the archive anchor, when every record was archived),
 * signed with the key of govshare.signing_key_file, whose public key must
 * be registered for the self agency.
 */
PG_FUNCTION_INFO_V1(govshare_checkpoint);
Datum
govshare_checkpoint(PG_FUNCTION_ARGS)
{
	GovsharePolicy *policy = govshare_policy();
	Relation	rel;
	int64		seq;
	unsigned char hash[GOVSHARE_HASH_LEN];
	char	   *kid;
	char	   *time;
	char	   *jws;

	if (policy->self == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no agency is self in this database"),
				 errhint("Register it with govshare.add_agency(code, name, is_self => true).")));
	rel = table_open(access_log_relid(), AccessShareLock);
	(void) govshare_chain_check_columns(RelationGetDescr(rel));
	govshare_chain_tail(rel, &seq, hash);
	table_close(rel, AccessShareLock);
	jws = govshare_audit_sign("govshare-checkpoint",
							  psprintf("\"seq\":%lld,\"hash\":\"%s\"", (long long) seq,
									   govshare_hex(hash, GOVSHARE_HASH_LEN)), &kid, &time);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(
		psprintf("{\"agency\":%s,\"database\":%s,\"seq\":%lld,\"hash\":\"%s\","
				 "\"time\":%s,\"kid\":%s,\"jws\":\"%s\"}",
				 govshare_json_string(policy->self),
				 govshare_json_string(get_database_name(MyDatabaseId)),
				 (long long) seq, govshare_hex(hash, GOVSHARE_HASH_LEN),
				 govshare_json_string(time), govshare_json_string(kid), jws)));
}

/*
 * govshare.audit_canonical(r govshare.access_log) returns bytea
 *
 * The canonical encoding of a row: what its hash covers after prev_hash.
 */
PG_FUNCTION_INFO_V1(govshare_audit_canonical);
Datum
govshare_audit_canonical(PG_FUNCTION_ARGS)
{
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(0);
	TupleDesc	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row),
											  HeapTupleHeaderGetTypMod(row));
	HeapTupleData tuple;
	Datum		values[Natts_access_log];
	bool		isnull[Natts_access_log];
	StringInfoData buf;
	bytea	   *result;

	(void) govshare_chain_check_columns(desc);
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	heap_deform_tuple(&tuple, desc, values, isnull);
	initStringInfo(&buf);
	govshare_chain_encode_row(&buf, desc, values, isnull);
	ReleaseTupleDesc(desc);
	result = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	PG_RETURN_BYTEA_P(result);
}
