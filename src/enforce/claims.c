/*-------------------------------------------------------------------------
 *
 * claims.c
 *	  govshare.verify(relation, subject, claims): does what a person
 *	  presented match the record?  True or false per claim, never a value.
 *
 * A column disclosed at level verify is never read by SQL (rewrite.c
 * refuses it); this function is the only way to it.  It
 *
 *	1. decides, as the enforcement would, what the session's agency gets of
 *	   the relation for its request's purpose; every claimed column must be
 *	   granted at verify or above, and the relation must have a column
 *	   classified person.personal_id (the subject);
 *	2. looks the subject up with one statement of its own,
 *	   "SELECT <claimed columns> FROM <relation> WHERE <subject> = $1",
 *	   planned through the ordinary rewrite with the relation's verify
 *	   grants readable to that planning only (govshare_enforce_verify_arm),
 *	   so that the rules' row filters and per-row levels apply exactly as
 *	   to any read, and the subject column's index is used; its plan is
 *	   kept per backend and planned again, armed, whenever the plan cache
 *	   would plan a consumer's prepared statement again (lookup_plan);
 *	3. compares each claim with the value in C: text after folding
 *	   (src/common/fold.c), a national type by reading the claim with its
 *	   own parser (which refuses without raising), any other type with the
 *	   column type's input function in a subtransaction; then the type's
 *	   default equality, so that '+84 91 234 5678' matches a phone_number
 *	   +84912345678 and '15/05/1990' a partial_date 1990-05-15;
 *	4. records the call (src/audit/): the subject, the columns checked and
 *	   the answers, never a claimed value, and counts it against the
 *	   agency's verify_per_minute quota.
 *
 * The lookup's own statement is not recorded (the call's record is), nor
 * counted as a statement of the quota.  While the function runs,
 * debug_query_string is a description of the call without the claims, so
 * that a denial raised inside it records no claimed value.
 *
 * src/enforce/claims.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "audit/gs_audit.h"
#include "enforce/enforce_internal.h"
#include "types/gs_types.h"

#define SUBJECT_ELEMENT "person.personal_id"

/* One claim: the column, what was claimed, and the answer. */
typedef struct Claim
{
	char	   *column;
	AttrNumber	attnum;
	Oid			typid;
	int32		typmod;
	Oid			collation;
	char	   *element;
	char	   *claimed;		/* NULL: the claim is JSON null */
	bool		ignore_diacritics;
	const gs_type *national;	/* the column's national type (not a domain), or NULL */
	bool		answer;
} Claim;

/* What one call is about. */
typedef struct VerifyCall
{
	Oid			relid;
	char	   *relname;		/* schema-qualified, quoted */
	const char *agency;			/* NULL: internal */
	const GovshareRequest *request;
	GovshareDecision *decision;
	AttrNumber	subject_att;
	int			nclaims;
	Claim	   *claims;
	bool		absent_false;	/* answer false, not NULL, when no row */
	int64		rows;
	char	   *text;			/* the call described (call_text) */
	GovshareVerifyRecord rec;
} VerifyCall;

/* Raises (and records) a refusal of the call. */
static void
refuse(VerifyCall *vc, int sqlstate, const char *column, const char *element,
	   const char *message, const char *detail, const char *hint)
{
	if (vc->agency != NULL)
		govshare_audit_denial(vc->agency, vc->request, vc->relid, column, element,
							  detail ? psprintf("%s: %s", message, detail) : message);
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/* The claim's value as text: strings as they are, numbers and booleans printed. */
static char *
claim_text(VerifyCall *vc, const char *column, JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return NULL;
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		default:
			refuse(vc, ERRCODE_INVALID_PARAMETER_VALUE, NULL, NULL,
				   psprintf("the claim on column \"%s\" is not a single value", column),
				   "Each claim is a JSON string, number, boolean or null.",
				   "Write the claims as {\"column\": \"value\", ...}.");
	}
	return NULL;
}

/*
 * Checks that the session may verify against vc->relid, and finds the
 * subject column.  Fills vc->decision.
 */
static void
check_relation(VerifyCall *vc)
{
	GovshareDecision *d;
	char		kind = get_rel_relkind(vc->relid);

	if ((kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE) ||
		!govshare_relation_governed(vc->relid))
		refuse(vc, ERRCODE_WRONG_OBJECT_TYPE, NULL, NULL,
			   psprintf("relation \"%s\" is not a governed table", get_rel_name(vc->relid)),
			   "govshare.verify() checks claims against governed tables only, not views or other relations.",
			   "Name the governed table that holds the record.");
	if (vc->agency != NULL && vc->request == NULL)
		refuse(vc, ERRCODE_INSUFFICIENT_PRIVILEGE, NULL, NULL,
			   psprintf("agency \"%s\" has declared no purpose to verify claims against relation \"%s\"",
						vc->agency, get_rel_name(vc->relid)),
			   "Consumer agencies verify claims only within a request context that names the purpose.",
			   "Call govshare.begin_request(purpose) or govshare.begin_request_signed(token) first.");
	/*
	 * The context must fit the session as the rewrite of any read asks
	 * (src/enforce/deny.c): checked here on every call, not only when the
	 * lookup's kept plan is planned again.
	 */
	if (vc->agency != NULL)
	{
		GovshareEnforcement e;

		if (govshare_enforce_begin(&e) && govshare_enforce_is_consumer(&e))
		{
			if (e.problem != NULL)
				refuse(vc, ERRCODE_INSUFFICIENT_PRIVILEGE, NULL, NULL,
					   psprintf("the request context does not apply to agency \"%s\" verifying claims against relation \"%s\" for purpose \"%s\"",
								vc->agency, get_rel_name(vc->relid), vc->request->purpose),
					   e.problem,
					   "Call govshare.begin_request() or govshare.begin_request_signed() again as the current role.");
			if (e.ended != NULL)
				refuse(vc, ERRCODE_INSUFFICIENT_PRIVILEGE, NULL, NULL,
					   psprintf("the request context of agency \"%s\" has ended", vc->request->agency),
					   e.ended,
					   "Begin a new request with govshare.begin_request_signed() or govshare.begin_request(), if the agency still may.");
		}
	}
	d = vc->agency ? govshare_decide(vc->agency, vc->request->purpose, vc->relid)
		: govshare_decide_internal(vc->relid);
	vc->decision = d;
	if (vc->agency != NULL && d->nrules == 0)
		refuse(vc, ERRCODE_INSUFFICIENT_PRIVILEGE, NULL, NULL,
			   psprintf("agency \"%s\" may not verify claims against relation \"%s\" for purpose \"%s\"",
						vc->agency, get_rel_name(vc->relid), vc->request->purpose),
			   d->reason ? psprintf("%s.", d->reason) : NULL,
			   psprintf("govshare.explain_access('%s', '%s', '%s') shows what the agreements cover.",
						vc->agency, vc->request->purpose, get_rel_name(vc->relid)));
	for (int i = 0; i < d->natts; i++)
		if (d->columns[i].attname != NULL && d->columns[i].element != NULL &&
			strcmp(d->columns[i].element, SUBJECT_ELEMENT) == 0)
		{
			vc->subject_att = i + 1;
			break;
		}
	if (vc->subject_att == 0)
		refuse(vc, ERRCODE_UNDEFINED_COLUMN, NULL, NULL,
			   psprintf("relation \"%s\" has no column classified %s", get_rel_name(vc->relid),
						SUBJECT_ELEMENT),
			   "govshare.verify() finds the record by its subject's personal id.",
			   "Classify the column that holds the personal id with govshare.classify().");
	if (vc->agency != NULL && d->columns[vc->subject_att - 1].ngrants == 0)
		refuse(vc, ERRCODE_INSUFFICIENT_PRIVILEGE, d->columns[vc->subject_att - 1].attname,
			   SUBJECT_ELEMENT,
			   psprintf("column \"%s\" of relation \"%s\" is denied to agency \"%s\" for purpose \"%s\"",
						d->columns[vc->subject_att - 1].attname, get_rel_name(vc->relid),
						vc->agency, vc->request->purpose),
			   "A subject is looked up only by a rule that grants its personal id at level verify or above.",
			   psprintf("See govshare.explain_access('%s', '%s', '%s').",
						vc->agency, vc->request->purpose, get_rel_name(vc->relid)));
}

/* Reads the claims object into vc->claims, checking each column. */
static void
read_claims(VerifyCall *vc, Jsonb *claims)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;
	GovshareDecision *d = vc->decision;

	if (!JB_ROOT_IS_OBJECT(claims) || JB_ROOT_COUNT(claims) == 0)
		refuse(vc, ERRCODE_INVALID_PARAMETER_VALUE, NULL, NULL,
			   "the claims are not a JSON object with at least one column",
			   NULL, "Write the claims as {\"column\": \"value\", ...}.");
	vc->claims = palloc0(sizeof(Claim) * JB_ROOT_COUNT(claims));
	it = JsonbIteratorInit(&claims->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		Claim	   *c;
		GovshareColumn *col = NULL;
		char	   *name;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(v.val.string.val, v.val.string.len);
		for (int i = 0; i < d->natts; i++)
			if (d->columns[i].attname != NULL && strcmp(d->columns[i].attname, name) == 0)
				col = &d->columns[i];
		if (col == NULL)
			refuse(vc, ERRCODE_UNDEFINED_COLUMN, NULL, NULL,
				   psprintf("column \"%s\" of relation \"%s\" does not exist", name,
							get_rel_name(vc->relid)),
				   NULL, "The claims' keys are column names of the relation.");
		if (vc->agency != NULL && col->ngrants == 0)
			refuse(vc, ERRCODE_INSUFFICIENT_PRIVILEGE, name, col->element,
				   psprintf("agency \"%s\" may not verify column \"%s\" of relation \"%s\" for purpose \"%s\"",
							vc->agency, name, get_rel_name(vc->relid), vc->request->purpose),
				   psprintf("No applicable rule grants it at level verify or above (%s).",
							col->reason ? col->reason : "no rule"),
				   psprintf("Leave the claim out, or see govshare.explain_access('%s', '%s', '%s').",
							vc->agency, vc->request->purpose, get_rel_name(vc->relid)));
		tok = JsonbIteratorNext(&it, &v, true);
		c = &vc->claims[n++];
		c->column = name;
		c->attnum = (col - d->columns) + 1;
		c->element = col->element;
		c->claimed = claim_text(vc, name, &v);
		for (int g = 0; g < col->ngrants; g++)
		{
			int			options = d->rules[col->grants[g].rule].options;

			c->ignore_diacritics |= (options & GOVSHARE_RULE_VERIFY_IGNORE_DIACRITICS) != 0;
			vc->absent_false |= (options & GOVSHARE_RULE_VERIFY_ABSENT_FALSE) != 0;
		}
	}
	vc->nclaims = n;
}

/* Is a type compared as text (after folding)? */
static bool
is_text_type(Oid typid)
{
	Oid			base = getBaseType(typid);

	return base == TEXTOID || base == VARCHAROID || base == BPCHAROID || base == NAMEOID;
}

/*
 * Reads claimed (text) as a value of the claim's column type, in a
 * subtransaction: a claim the type refuses simply does not match.
 * Returns false then.
 */
static bool
read_as_type(Claim *c, Datum *value)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Oid			input;
	Oid			ioparam;
	volatile bool ok = true;

	getTypeInputInfo(c->typid, &input, &ioparam);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		*value = OidInputFunctionCall(input, c->claimed, ioparam, c->typmod);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/* Does claim c match value (not NULL) of its column? */
static bool
claim_matches(Claim *c, Datum value)
{
	TypeCacheEntry *tc;
	Datum		claimed;

	if (c->claimed == NULL)
		return false;
	if (is_text_type(c->typid))
	{
		char	   *stored = TextDatumGetCString(c->typid == NAMEOID ?
												 DirectFunctionCall1(name_text, value) : value);

		return strcmp(govshare_fold_text(stored, strlen(stored), c->ignore_diacritics),
					  govshare_fold_text(c->claimed, strlen(c->claimed), c->ignore_diacritics)) == 0;
	}
	/* a national type: its own parser, which refuses without an error */
	if (c->national != NULL)
	{
		gs_context	ctx;
		gs_error	err;
		uint64		v;

		govshare_type_context(&ctx);
		if (!c->national->parse(c->claimed, strlen(c->claimed), &ctx, &v, &err))
			return false;
		claimed = govshare_type_datum(c->national, v);
	}
	else if (!read_as_type(c, &claimed))
		return false;
	tc = lookup_type_cache(c->typid, TYPECACHE_EQ_OPR_FINFO);
	if (OidIsValid(tc->eq_opr_finfo.fn_oid))
		return DatumGetBool(FunctionCall2Coll(&tc->eq_opr_finfo, c->collation, value, claimed));
	/* a type without equality: the canonical texts */
	{
		Oid			output;
		bool		varlena;

		getTypeOutputInfo(c->typid, &output, &varlena);
		return strcmp(OidOutputFunctionCall(output, value),
					  OidOutputFunctionCall(output, claimed)) == 0;
	}
}

/* "OPERATOR(schema.name)" of operator opno, for a query that no search path may change. */
static char *
operator_syntax(Oid opno)
{
	HeapTuple	tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;
	char	   *s;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "govshare: cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tuple);
	s = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
				 NameStr(op->oprname));
	ReleaseSysCache(tuple);
	return s;
}

/*
 * The lookups' saved plans, per backend.  A plan is made for one lookup
 * text (relation, claimed columns, subject column and equality operator,
 * every name qualified), as one role for one agency and purpose; the text,
 * the agency and the purpose are compared whole, the key holds their hash.
 * The plan cache re-plans a saved plan when it is invalidated: DDL on the
 * relation, a change of the rules (govshare_plan_stamp adds the rule
 * catalog to the plan's relations), of the role (the plan depends on it),
 * or a new epoch of consumer plans (the policy, the request context, a
 * rule's validity window: ResetPlanCache, src/policy/consumer.c); and
 * every re-planning happens inside look_up, armed.  No other SQL can reach
 * these plans: they have no name, and only this file holds them.
 */
typedef struct LookupKey
{
	Oid			relid;
	Oid			userid;
	Oid			argtype;
	uint32		hash;			/* of the identity */
} LookupKey;

typedef struct LookupEntry
{
	LookupKey	key;
	char	   *identity;		/* text, agency and purpose, in lookup_context */
	SPIPlanPtr	plan;			/* kept (SPI_keepplan) */
	const char *query_string;	/* the plan source's own copy of the text */
} LookupEntry;

/* At most this many plans are kept; one more drops them all. */
#define LOOKUP_PLANS_MAX 64

static HTAB *lookups = NULL;
static MemoryContext lookup_context = NULL;

/* A lookup runs: its plan and its arming must stay as they are. */
static bool looking_up = false;

/* Frees every kept plan of the lookups. */
static void
forget_lookups(void)
{
	HASH_SEQ_STATUS seq;
	LookupEntry *entry;

	hash_seq_init(&seq, lookups);
	while ((entry = hash_seq_search(&seq)) != NULL)
		SPI_freeplan(entry->plan);
	hash_destroy(lookups);
	MemoryContextReset(lookup_context);
	lookups = NULL;
}

/*
 * The saved plan of text, the lookup, with one parameter of type argtype,
 * for the session as it is (role, agency, purpose); prepared on first use.
 * Called within SPI.
 */
static LookupEntry *
lookup_plan(VerifyCall *vc, const char *text, Oid argtype)
{
	StringInfoData id;
	LookupKey	key;
	LookupEntry *entry;
	bool		found;
	SPIPlanPtr	plan;
	CachedPlanSource *source;

	initStringInfo(&id);
	appendStringInfo(&id, "%s\n%s\n%s", text, vc->agency ? vc->agency : "",
					 vc->request && vc->request->purpose ? vc->request->purpose : "");
	memset(&key, 0, sizeof(key));
	key.relid = vc->relid;
	key.userid = GetUserId();
	key.argtype = argtype;
	key.hash = hash_bytes((const unsigned char *) id.data, id.len);

	if (lookups != NULL && hash_get_num_entries(lookups) >= LOOKUP_PLANS_MAX)
		forget_lookups();
	if (lookups == NULL)
	{
		HASHCTL		ctl;

		if (lookup_context == NULL)
			lookup_context = AllocSetContextCreate(CacheMemoryContext, "govshare verify lookups",
												   ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(LookupKey);
		ctl.entrysize = sizeof(LookupEntry);
		ctl.hcxt = lookup_context;
		lookups = hash_create("govshare verify lookups", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(lookups, &key, HASH_FIND, &found);
	if (entry != NULL && strcmp(entry->identity, id.data) == 0)
		return entry;

	/* the plan, kept before the entry holds it: an error leaves no entry */
	plan = SPI_prepare_cursor(text, 1, &argtype, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "govshare: the lookup of govshare.verify() could not be prepared: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "govshare: the lookup of govshare.verify() could not be kept");
	source = linitial(SPI_plan_get_plan_sources(plan));

	/* another identity of the same hash: it goes */
	if (entry != NULL)
	{
		SPI_freeplan(entry->plan);
		pfree(entry->identity);
	}
	entry = hash_search(lookups, &key, HASH_ENTER, &found);
	entry->identity = MemoryContextStrdup(lookup_context, id.data);
	entry->plan = plan;
	entry->query_string = source->query_string;
	return entry;
}

/*
 * The lookup: "SELECT claimed columns FROM relation WHERE subject = $1",
 * as the session, with the relation's verify grants readable to the
 * planning of this statement only; each row found is compared with the
 * claims.  Its plan is kept (lookup_plan).
 */
static void
look_up(VerifyCall *vc, Datum subject, Oid subject_type)
{
	GovshareDecision *d = vc->decision;
	Oid			subj_typid = get_atttype(vc->relid, vc->subject_att);
	TypeCacheEntry *tc = lookup_type_cache(subj_typid, TYPECACHE_EQ_OPR);
	StringInfoData q;
	Datum		arg = subject;
	LookupEntry *volatile entry;

	if (!OidIsValid(tc->eq_opr))
		refuse(vc, ERRCODE_UNDEFINED_FUNCTION, NULL, NULL,
			   psprintf("the type of column \"%s\" has no equality", d->columns[vc->subject_att - 1].attname),
			   NULL, NULL);
	/* a function the lookup runs (a row filter's) does not call verify() */
	if (looking_up)
		refuse(vc, ERRCODE_FEATURE_NOT_SUPPORTED, NULL, NULL,
			   "govshare.verify() cannot be called while its own lookup runs",
			   "A function that a rule's row filter calls called it.", NULL);
	/* a subject column of another type than personal_id: by its text */
	if (subj_typid != subject_type)
	{
		Oid			output;
		Oid			input;
		Oid			ioparam;
		bool		varlena;

		getTypeOutputInfo(subject_type, &output, &varlena);
		getTypeInputInfo(subj_typid, &input, &ioparam);
		arg = OidInputFunctionCall(input, OidOutputFunctionCall(output, subject), ioparam, -1);
	}

	/*
	 * Every name qualified, the operator by its schema, the parameter's
	 * type given: no search path changes what the text means.
	 */
	initStringInfo(&q);
	appendStringInfoString(&q, "/* govshare.verify */ SELECT ");
	for (int i = 0; i < vc->nclaims; i++)
		appendStringInfo(&q, "%s%s", i ? ", " : "", quote_identifier(vc->claims[i].column));
	appendStringInfo(&q, " FROM %s WHERE %s %s $1", vc->relname,
					 quote_identifier(d->columns[vc->subject_att - 1].attname),
					 operator_syntax(tc->eq_opr));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "govshare: SPI_connect failed");
	entry = lookup_plan(vc, q.data, subj_typid);

	/*
	 * Changes committed elsewhere (a revocation) and a new epoch of
	 * consumer plans apply before the plan cache looks at the plan, so that
	 * a stale plan is re-planned now, armed, rather than refused at
	 * executor start.
	 */
	(void) govshare_consumer_statement_start();
	if (vc->agency != NULL)
		govshare_enforce_verify_arm(vc->relid, entry->query_string);
	{
		bool		was_quiet = govshare_audit_quiet(true);
		bool		was_uncounted = govshare_enforce_quota_pause(true);

		looking_up = true;
		PG_TRY();
		{
			if (SPI_execute_plan(entry->plan, &arg, NULL, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "govshare: the lookup of govshare.verify() failed");
		}
		PG_FINALLY();
		{
			looking_up = false;
			govshare_enforce_verify_arm(InvalidOid, NULL);
			(void) govshare_audit_quiet(was_quiet);
			(void) govshare_enforce_quota_pause(was_uncounted);
		}
		PG_END_TRY();
	}

	vc->rows = SPI_processed;
	for (int i = 0; i < vc->nclaims; i++)
	{
		Claim	   *c = &vc->claims[i];

		c->typid = SPI_gettypeid(SPI_tuptable->tupdesc, i + 1);
		c->typmod = TupleDescAttr(SPI_tuptable->tupdesc, i)->atttypmod;
		c->collation = TupleDescAttr(SPI_tuptable->tupdesc, i)->attcollation;
		if (!OidIsValid(c->collation))
			c->collation = DEFAULT_COLLATION_OID;
		c->national = getBaseType(c->typid) == c->typid ? govshare_type_lookup(c->typid) : NULL;
		/* true when the claim matches in every row found (one, normally) */
		c->answer = vc->rows > 0;
		for (uint64 r = 0; r < vc->rows && c->answer; r++)
		{
			bool		isnull;
			Datum		value = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, i + 1,
											  &isnull);

			if (c->claimed == NULL)
				c->answer = isnull;
			else
				c->answer = !isnull && claim_matches(c, value);
		}
	}
	SPI_finish();
}

/* The answers as a jsonb object: {"column": true|false, ...}, or JSON null. */
static Jsonb *
answers_jsonb(VerifyCall *vc, bool answer_null)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < vc->nclaims; i++)
	{
		JsonbValue	k;
		JsonbValue	v;

		k.type = jbvString;
		k.val.string.val = vc->claims[i].column;
		k.val.string.len = strlen(vc->claims[i].column);
		(void) pushJsonbValue(&state, WJB_KEY, &k);
		if (answer_null)
			v.type = jbvNull;
		else
		{
			v.type = jbvBool;
			v.val.boolean = vc->claims[i].answer;
		}
		(void) pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* The description of a call that stands for its text in the audit: no claims. */
static char *
call_text(VerifyCall *vc)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "SELECT govshare.verify('%s', subject, claims on ", vc->relname);
	for (int i = 0; i < vc->nclaims; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", quote_identifier(vc->claims[i].column));
	appendStringInfoString(&s, ")");
	return s.data;
}

/* Records the call; under strict audit, waits until the record is durable. */
static void
record_call(VerifyCall *vc, uint64 subject, bool has_subject, Jsonb *answers)
{
	GovshareVerifyRecord *rec = &vc->rec;

	rec->agency = vc->agency;
	rec->request = vc->request;
	rec->relid = vc->relid;
	rec->text = vc->text;
	rec->ncolumns = vc->nclaims;
	rec->columns = palloc(sizeof(char *) * vc->nclaims);
	rec->elements = palloc(sizeof(char *) * vc->nclaims);
	for (int i = 0; i < vc->nclaims; i++)
	{
		rec->columns[i] = vc->claims[i].column;
		rec->elements[i] = vc->claims[i].element;
	}
	rec->rows = vc->rows;
	rec->has_subject = has_subject;
	rec->subject = subject;
	rec->answers = answers ? JsonbToCString(NULL, &answers->root, VARSIZE(answers)) : NULL;
	rec->policy_version = govshare_policy()->version;
	govshare_audit_verify(rec);
}

/*
 * govshare.verify(relation regclass, subject personal_id, claims jsonb)
 * returns jsonb
 *
 * {"column": true|false, ...} for the visible row of relation whose
 * person.personal_id column equals subject; NULL when there is none
 * (every answer false instead, when a granting rule has the option
 * verify_absent_false).
 */
PG_FUNCTION_INFO_V1(govshare_verify);
Datum
govshare_verify(PG_FUNCTION_ARGS)
{
	VerifyCall	vc = {0};
	GovsharePolicy *policy = govshare_policy();
	const char *saved_text = debug_query_string;
	Jsonb	   *result = NULL;
	bool		absent;

	if (!policy->installed)
		elog(ERROR, "govshare: the extension is not installed in this database");
	vc.relid = PG_GETARG_OID(0);
	if (get_rel_name(vc.relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", vc.relid)));
	vc.relname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(vc.relid)),
											get_rel_name(vc.relid));
	vc.agency = govshare_consumer_agency();
	vc.request = govshare_context_current();
	debug_query_string = psprintf("SELECT govshare.verify('%s', subject, claims)", vc.relname);
	PG_TRY();
	{
		check_relation(&vc);
		read_claims(&vc, PG_GETARG_JSONB_P(2));
		vc.text = call_text(&vc);
		debug_query_string = vc.text;
		if (vc.agency != NULL)
			govshare_enforce_quota_verify(vc.agency, vc.request, vc.relid);
		look_up(&vc, PG_GETARG_DATUM(1), get_fn_expr_argtype(fcinfo->flinfo, 1));
		absent = vc.rows == 0;
		if (!absent || vc.absent_false)
			result = answers_jsonb(&vc, false);
		record_call(&vc, GOVSHARE_GETARG(personal_id, 1), true,
					result ? result : answers_jsonb(&vc, true));
	}
	PG_FINALLY();
	{
		debug_query_string = saved_text;
	}
	PG_END_TRY();
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}
