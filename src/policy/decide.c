/*-------------------------------------------------------------------------
 *
 * decide.c
 *	  The decision engine: what a consumer agency gets from a relation for
 *	  a purpose, column by column.
 *
 * DESIGN §2, as code:
 *	- default deny: a column is disclosed only through an active rule of
 *	  the agency for the purpose, valid at the start of the statement;
 *	  unclassified columns of governed tables are denied;
 *	- several rules may apply; a row is visible if some applicable rule's
 *	  filter accepts it, and each column of it is disclosed at the most
 *	  revealing level among the rules that accept the row.  The decision
 *	  therefore lists, per column, the granting rules most revealing first,
 *	  and the enforcement builds "CASE WHEN filter1 THEN level1 ..." from it;
 *	- suspended and revoked rules are ignored; a rule made for a parent
 *	  applies to its partitions and inheritance children, its row filter
 *	  mapped to their columns; classification is inherited the same way;
 *	- patterns ("person.*") never cover sensitive elements.
 *
 * Decisions are cached per backend by (agency, purpose, relation).  An
 * entry is dropped when the policy snapshot changes (src/catalog.c), when
 * a relcache invalidation names the relation or one of its ancestors (a
 * classification, ALTER TABLE, ATTACH PARTITION), or when the statement
 * start passes the first time a rule of the entry starts or ends.  A
 * dropped entry's memory lives until the end of the transaction, so a
 * caller may keep a decision for the statement it plans.
 *
 * src/decide.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/seclabel.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "policy/gs_policy.h"

#define KEY_AGENCY_LEN	68
#define KEY_PURPOSE_LEN 68

typedef struct DecisionKey
{
	Oid			relid;
	char		agency[KEY_AGENCY_LEN];
	char		purpose[KEY_PURPOSE_LEN];
} DecisionKey;

typedef struct DecisionEntry
{
	DecisionKey key;
	MemoryContext context;
	GovshareDecision *decision;
	TimestampTz horizon;		/* recompute at or after this time */
} DecisionEntry;

typedef struct GovernedEntry
{
	Oid			relid;
	bool		governed;
} GovernedEntry;

/* relations whose invalidation drops the caches (cached ones, ancestors) */
typedef struct WatchEntry
{
	Oid			relid;
} WatchEntry;

static HTAB *decisions = NULL;
static HTAB *governed = NULL;
static HTAB *watched = NULL;
static bool caches_stale = false;
static uint64 cached_generation = 0;

/* Relcache callback: drop the caches when a watched relation changes. */
static void
decide_relcache_callback(Datum arg, Oid relid)
{
	if (watched == NULL)
		return;
	if (relid == InvalidOid || hash_search(watched, &relid, HASH_FIND, NULL) != NULL)
		caches_stale = true;
}

/*
 * Syscache callback: role memberships or attributes changed, so a
 * relation's owner may now act for another agency (see unfit_reason).
 */
static void
decide_role_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	caches_stale = true;
}

/* Registers the invalidation callbacks; called from _PG_init. */
void
govshare_decide_init(void)
{
	CacheRegisterRelcacheCallback(decide_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, decide_role_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, decide_role_callback, (Datum) 0);
}

/* Creates the hash tables, or empties them when they are stale. */
static void
prepare_caches(GovsharePolicy *policy)
{
	HASHCTL		ctl;

	if (decisions != NULL && !caches_stale && cached_generation == policy->generation)
		return;
	if (decisions != NULL)
	{
		HASH_SEQ_STATUS seq;
		DecisionEntry *entry;

		/* keep dropped decisions until the end of the transaction */
		hash_seq_init(&seq, decisions);
		while ((entry = hash_seq_search(&seq)) != NULL)
			MemoryContextSetParent(entry->context, TopTransactionContext);
		hash_destroy(decisions);
		hash_destroy(governed);
		hash_destroy(watched);
	}
	ctl.keysize = sizeof(DecisionKey);
	ctl.entrysize = sizeof(DecisionEntry);
	decisions = hash_create("govshare decisions", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(GovernedEntry);
	governed = hash_create("govshare governed relations", 256, &ctl, HASH_ELEM | HASH_BLOBS);
	ctl.entrysize = sizeof(WatchEntry);
	watched = hash_create("govshare watched relations", 256, &ctl, HASH_ELEM | HASH_BLOBS);
	caches_stale = false;
	cached_generation = policy->generation;
}

static void
watch(Oid relid)
{
	hash_search(watched, &relid, HASH_ENTER, NULL);
}

/*
 * The ancestors of relid (parents of partitions and inheritance children),
 * nearest first, as a list of OIDs.
 */
static List *
ancestors(Oid relid)
{
	List	   *result = NIL;
	List	   *queue = list_make1_oid(relid);
	Relation	inherits = table_open(InheritsRelationId, AccessShareLock);

	while (queue != NIL)
	{
		Oid			child = linitial_oid(queue);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;

		queue = list_delete_first(queue);
		ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(child));
		scan = systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			Oid			parent = ((Form_pg_inherits) GETSTRUCT(tuple))->inhparent;

			if (!list_member_oid(result, parent))
			{
				result = lappend_oid(result, parent);
				queue = lappend_oid(queue, parent);
			}
		}
		systable_endscan(scan);
	}
	table_close(inherits, AccessShareLock);
	return result;
}

/* The govshare label of a relation (attnum 0) or of one of its columns. */
static char *
label_of(Oid relid, AttrNumber attnum)
{
	ObjectAddress object;

	ObjectAddressSubSet(object, RelationRelationId, relid, attnum);
	return GetSecurityLabel(&object, "govshare");
}

static bool
is_governed(Oid relid, List *ancestor_list)
{
	char	   *label = label_of(relid, 0);
	ListCell   *lc;

	if (label != NULL && strcmp(label, "governed") == 0)
		return true;
	foreach(lc, ancestor_list)
	{
		label = label_of(lfirst_oid(lc), 0);
		if (label != NULL && strcmp(label, "governed") == 0)
			return true;
	}
	return false;
}

/*
 * Is relid governed, itself or through an ancestor?  One hash lookup when
 * the answer is cached.
 */
bool
govshare_relation_governed(Oid relid)
{
	GovsharePolicy *policy = govshare_policy();
	GovernedEntry *entry;
	bool		found;
	List	   *ancestor_list;
	bool		result;
	ListCell   *lc;

	if (!policy->installed)
		return false;
	prepare_caches(policy);
	entry = hash_search(governed, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->governed;

	ancestor_list = ancestors(relid);
	result = is_governed(relid, ancestor_list);
	/* the lookups above may have accepted invalidations: start again then */
	if (caches_stale)
		return result;
	entry = hash_search(governed, &relid, HASH_ENTER, &found);
	entry->governed = result;
	watch(relid);
	foreach(lc, ancestor_list)
		watch(lfirst_oid(lc));
	return result;
}

/* The element of column attname of relid, own or inherited, or NULL. */
static char *
classification(Oid relid, AttrNumber attnum, const char *attname, List *ancestor_list)
{
	char	   *label = label_of(relid, attnum);
	ListCell   *lc;

	if (label != NULL)
		return label;
	foreach(lc, ancestor_list)
	{
		Oid			parent = lfirst_oid(lc);
		AttrNumber	parent_attnum = get_attnum(parent, attname);

		if (parent_attnum != InvalidAttrNumber &&
			(label = label_of(parent, parent_attnum)) != NULL)
			return label;
	}
	return NULL;
}

/*
 * Does the rule's element list cover element?  Each entry is matched by
 * govshare_element_covers (the definition govshare.element_covers gives
 * SQL); a pattern covers only elements that are in the dictionary and not
 * sensitive, which must be named one by one.
 */
static bool
covers(GovsharePolicy *policy, const GovshareRule *rule, const char *element)
{
	bool		exists;
	bool		sensitive = govshare_element_sensitive(policy, element, &exists);

	for (int i = 0; i < rule->nelements; i++)
	{
		const char *e = rule->elements[i];

		if (govshare_element_covers(e, element) &&
			(strcmp(e, element) == 0 || (exists && !sensitive)))
			return true;
	}
	return false;
}

static bool
has_purpose(const GovshareRule *rule, const char *purpose)
{
	for (int i = 0; i < rule->npurposes; i++)
		if (strcmp(rule->purposes[i], purpose) == 0)
			return true;
	return false;
}

static const char *
legal_basis_of(GovsharePolicy *policy, const GovshareRule *rule, const char *purpose)
{
	if (rule->legal_basis != NULL)
		return rule->legal_basis;
	for (int i = 0; i < policy->npurposes; i++)
		if (strcmp(policy->purposes[i], purpose) == 0)
			return policy->purpose_legal_bases[i];
	return NULL;
}

static int
compare_grant(const void *a, const void *b)
{
	const GovshareGrant *x = a;
	const GovshareGrant *y = b;

	if (x->level != y->level)
		return x->level > y->level ? -1 : 1;
	return x->rule - y->rule;
}

/*
 * Why a rule that names the agency, purpose and relation does not apply
 * now, or NULL if it does (govshare_rule_active decides).  Updates
 * *horizon with the next time its window opens or closes.
 */
static char *
inactive_reason(const GovshareRule *rule, TimestampTz now, TimestampTz *horizon)
{
	switch (govshare_rule_active(rule, now, horizon))
	{
		case GOVSHARE_RULE_IN_FORCE:
			return NULL;
		case GOVSHARE_RULE_NOT_ACTIVE:
			if (rule->status == GOVSHARE_RULE_REVOKED)
				return psprintf("rule %lld was revoked on %s", (long long) rule->id,
								timestamptz_to_str(rule->status_since));
			return psprintf("rule %lld is suspended since %s", (long long) rule->id,
							timestamptz_to_str(rule->status_since));
		case GOVSHARE_RULE_NOT_YET_VALID:
			return psprintf("rule %lld is not valid until %s", (long long) rule->id,
							timestamptz_to_str(rule->valid_from));
		case GOVSHARE_RULE_EXPIRED:
			break;
	}
	return psprintf("rule %lld expired on %s", (long long) rule->id,
					timestamptz_to_str(rule->valid_until));
}

/*
 * Why no rule applies to the governed relation relid, or NULL: it, or an
 * ancestor it is governed through, may not be governed (not a user's
 * table, or one that a role acting for another agency owns or may become
 * the owner of: its rows are what that agency chose to put there, so no
 * pseudonym, mask or data subject is computed from them).
 */
static char *
unfit_reason(GovsharePolicy *policy, Oid relid, List *ancestor_list)
{
	char	   *why = govshare_label_unfit(policy, relid, false, false);
	ListCell   *lc;

	if (why != NULL)
		return psprintf("no rule applies to relation %s: %s", get_rel_name(relid), why);
	foreach(lc, ancestor_list)
	{
		Oid			parent = lfirst_oid(lc);

		if ((why = govshare_label_unfit(policy, parent, false, false)) != NULL)
			return psprintf("no rule applies to relation %s, a descendant of %s: %s",
							get_rel_name(relid), get_rel_name(parent), why);
	}
	return NULL;
}

/*
 * Sets the reason of each column of decision d, and orders its grants most
 * revealing first: why it is denied (unfit: why no rule applies at all;
 * notes: per column, rules that do not apply), or which rules grant it.
 */
static void
explain_columns(GovsharePolicy *policy, GovshareDecision *d, const char *purpose,
				const char *relname, StringInfoData *notes, const char *unfit)
{
	for (int i = 0; i < d->natts; i++)
	{
		GovshareColumn *c = &d->columns[i];
		StringInfoData reason;
		bool		exists;

		if (c->attname == NULL)
			continue;
		initStringInfo(&reason);
		if (unfit != NULL)
			appendStringInfoString(&reason, unfit);
		else if (c->element == NULL)
			appendStringInfo(&reason, "column %s of governed relation %s is not classified",
							 c->attname, relname);
		else if (govshare_element_sensitive(policy, c->element, &exists), !exists)
			appendStringInfo(&reason, "element %s is not in the data dictionary", c->element);
		else if (c->ngrants == 0)
			appendStringInfo(&reason, "no active rule for element %s and purpose %s%s",
							 c->element, purpose, notes[i].data);
		else
		{
			qsort(c->grants, c->ngrants, sizeof(GovshareGrant), compare_grant);
			c->level = c->grants[0].level;
			for (int g = 0; g < c->ngrants; g++)
			{
				GovshareDecisionRule *dr = &d->rules[c->grants[g].rule];

				appendStringInfo(&reason, "%srule %lld: %s", g ? "; " : "",
								 (long long) dr->id, govshare_level_name(dr->level));
				if (dr->filter_text)
					appendStringInfo(&reason, " where %s", dr->filter_text);
			}
			if (c->ngrants < d->nrules)
			{
				bool		every_row = false;

				for (int g = 0; g < c->ngrants; g++)
					every_row |= d->rules[c->grants[g].rule].filter == NULL;
				if (!every_row)
					appendStringInfoString(&reason, "; denied in rows that only other rules make visible");
			}
			appendStringInfoString(&reason, notes[i].data);
		}
		c->reason = reason.data;
	}
}

/*
 * Computes the decision for (agency, purpose, relid) at time now, in the
 * current memory context.
 */
static GovshareDecision *
compute(GovsharePolicy *policy, const char *agency, const char *purpose, Oid relid,
		TimestampTz now, TimestampTz *horizon)
{
	GovshareDecision *d = palloc0(sizeof(GovshareDecision));
	List	   *ancestor_list = ancestors(relid);
	Relation	rel;
	TupleDesc	desc;
	StringInfoData *notes;		/* per column: rules that do not apply */
	char	   *relname;
	char	   *unfit;

	d->relid = relid;
	d->governed = is_governed(relid, ancestor_list);
	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	relname = get_rel_name(relid);
	d->natts = desc->natts;
	d->columns = palloc0(sizeof(GovshareColumn) * Max(d->natts, 1));
	d->rules = palloc0(sizeof(GovshareDecisionRule) * Max(policy->nrules, 1));
	notes = palloc0(sizeof(StringInfoData) * Max(d->natts, 1));

	for (int i = 0; i < d->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		GovshareColumn *c = &d->columns[i];

		initStringInfo(&notes[i]);
		if (att->attisdropped)
			continue;
		c->attname = pstrdup(NameStr(att->attname));
		c->element = classification(relid, att->attnum, c->attname, ancestor_list);
		c->grants = palloc0(sizeof(GovshareGrant) * Max(policy->nrules, 1));
		if (!d->governed)
			c->level = GOVSHARE_FULL;
	}
	relation_close(rel, AccessShareLock);

	if (!d->governed)
	{
		d->reason = psprintf("relation %s is not governed: ordinary privileges apply", relname);
		for (int i = 0; i < d->natts; i++)
			if (d->columns[i].attname)
				d->columns[i].reason = d->reason;
		return d;
	}

	unfit = unfit_reason(policy, relid, ancestor_list);
	for (int r = 0; r < policy->nrules && unfit == NULL; r++)
	{
		GovshareRule *rule = &policy->rules[r];
		char	   *why;
		Node	   *filter = NULL;
		const char *problem = NULL;
		bool		granted = false;

		if (strcmp(rule->consumer, agency) != 0 || !has_purpose(rule, purpose))
			continue;
		if (OidIsValid(rule->relation) && rule->relation != relid &&
			!list_member_oid(ancestor_list, rule->relation))
			continue;
		why = inactive_reason(rule, now, horizon);
		if (why == NULL && rule->filter != NULL)
		{
			filter = govshare_rowfilter_map(rule->filter, rule->relation, relid, &problem);
			if (filter == NULL)
				why = psprintf("rule %lld is ignored: its row filter no longer fits (%s)",
							   (long long) rule->id, problem);
			/* consumers run it as themselves: only superusers' code */
			else if ((problem = govshare_expr_problem(filter, InvalidOid)) != NULL)
				why = psprintf("rule %lld is ignored: its row filter runs code a consumer may not run (%s)",
							   (long long) rule->id, problem);
		}
		if (why == NULL && rule->level == GOVSHARE_DENIED)
			why = psprintf("rule %lld sets the level denied", (long long) rule->id);

		for (int i = 0; i < d->natts; i++)
		{
			GovshareColumn *c = &d->columns[i];

			if (c->attname == NULL || c->element == NULL || !covers(policy, rule, c->element))
				continue;
			if (why != NULL)
			{
				appendStringInfo(&notes[i], "; %s", why);
				continue;
			}
			c->grants[c->ngrants].rule = d->nrules;
			c->grants[c->ngrants].level = rule->level;
			c->ngrants++;
			granted = true;
		}
		if (granted)
		{
			GovshareDecisionRule *dr = &d->rules[d->nrules++];
			const char *basis = legal_basis_of(policy, rule, purpose);

			dr->id = rule->id;
			dr->level = rule->level;
			dr->options = rule->options;
			dr->filter = filter;
			dr->filter_text = rule->filter_text ? pstrdup(rule->filter_text) : NULL;
			dr->legal_basis = basis ? pstrdup(basis) : NULL;
		}
	}

	explain_columns(policy, d, purpose, relname, notes, unfit);
	if (unfit != NULL)
		d->reason = unfit;
	else if (d->nrules == 0)
		d->reason = psprintf("no active rule for agency %s and purpose %s on relation %s",
							 agency, purpose, relname);
	return d;
}

/*
 * The decision for (agency, purpose, relid) at the start of the current
 * statement.  The result is valid until the end of the transaction; do not
 * change it.
 */
GovshareDecision *
govshare_decide(const char *agency, const char *purpose, Oid relid)
{
	GovsharePolicy *policy = govshare_policy();
	TimestampTz now = GetCurrentStatementStartTimestamp();
	DecisionKey key;
	DecisionEntry *entry;
	MemoryContext context;
	MemoryContext old;
	TimestampTz horizon = DT_NOEND;
	GovshareDecision *d;
	bool		found;
	uint64		generation = policy->generation;

	prepare_caches(policy);
	memset(&key, 0, sizeof(key));
	key.relid = relid;
	if (strlen(agency) < KEY_AGENCY_LEN && strlen(purpose) < KEY_PURPOSE_LEN)
	{
		strcpy(key.agency, agency);
		strcpy(key.purpose, purpose);
		entry = hash_search(decisions, &key, HASH_FIND, NULL);
		if (entry != NULL && now < entry->horizon)
			return entry->decision;
		if (entry != NULL)
		{
			MemoryContextSetParent(entry->context, TopTransactionContext);
			hash_search(decisions, &key, HASH_REMOVE, NULL);
		}
	}

	context = AllocSetContextCreate(TopTransactionContext, "govshare decision",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);
	d = compute(policy, agency, purpose, relid, now, &horizon);
	d->horizon = horizon;
	MemoryContextSwitchTo(old);

	/* cache it unless something changed while computing, or the key is too long */
	if (key.agency[0] == '\0' || caches_stale)
		return d;
	policy = govshare_policy();
	if (policy->generation != generation)
		return d;
	MemoryContextSetParent(context, CacheMemoryContext);
	entry = hash_search(decisions, &key, HASH_ENTER, &found);
	entry->context = context;
	entry->decision = d;
	entry->horizon = horizon;
	watch(relid);
	{
		List	   *ancestor_list = ancestors(relid);
		ListCell   *lc;

		foreach(lc, ancestor_list)
			watch(lfirst_oid(lc));
	}
	return d;
}

/* May the current role see the rights of agency? */
static void
check_explain_permission(GovsharePolicy *policy, const char *agency)
{
	Oid			admin = get_role_oid("govshare_admin", true);
	bool		consumer;
	const char *own;

	if (superuser() || (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin)))
		return;
	own = govshare_role_agency(policy, GetUserId(), &consumer);
	if (own != NULL && strcmp(own, agency) == 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to explain the access of agency \"%s\"", agency),
			 errdetail("A role sees the rights of the agency it is bound to; govshare_admin sees all."),
			 errhint("Ask the provider's administrator, or call explain_access for your own agency.")));
}

/*
 * govshare.explain_access(agency text, purpose text, rel regclass)
 * returns table (column_name name, element text, level disclosure_level,
 *                rule_ids bigint[], legal_basis text[], reason text)
 */
PG_FUNCTION_INFO_V1(govshare_explain_access);
Datum
govshare_explain_access(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *agency;
	char	   *purpose;
	Oid			relid;
	GovsharePolicy *policy;
	GovshareDecision *d;
	bool		known = false;
	Oid			level_type;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("explain_access needs an agency, a purpose and a relation")));
	agency = text_to_cstring(PG_GETARG_TEXT_PP(0));
	purpose = text_to_cstring(PG_GETARG_TEXT_PP(1));
	relid = PG_GETARG_OID(2);

	policy = govshare_policy();
	for (int i = 0; i < policy->nagencies; i++)
		known |= strcmp(policy->agencies[i], agency) == 0;
	check_explain_permission(policy, agency);
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("agency \"%s\" does not exist", agency)));
	if (!govshare_policy_has_purpose(policy, purpose))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("purpose \"%s\" does not exist", purpose),
				 errhint("The purposes are listed in govshare.purpose.")));
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	d = govshare_decide(agency, purpose, relid);
	InitMaterializedSRF(fcinfo, 0);
	level_type = TupleDescAttr(rsinfo->setDesc, 2)->atttypid;
	for (int i = 0; i < d->natts; i++)
	{
		GovshareColumn *c = &d->columns[i];
		Datum		values[6];
		bool		nulls[6] = {false};
		Datum	   *ids;
		Datum	   *bases;
		bool	   *basis_nulls;
		int			dims[1];
		int			lbs[1] = {1};

		if (c->attname == NULL)
			continue;
		values[0] = CStringGetDatum(c->attname);
		values[0] = DirectFunctionCall1(namein, values[0]);
		values[1] = c->element ? CStringGetTextDatum(c->element) : (Datum) 0;
		nulls[1] = c->element == NULL;
		values[2] = DirectFunctionCall2(enum_in, CStringGetDatum(govshare_level_name(c->level)),
										ObjectIdGetDatum(level_type));
		ids = palloc(sizeof(Datum) * Max(c->ngrants, 1));
		bases = palloc(sizeof(Datum) * Max(c->ngrants, 1));
		basis_nulls = palloc(sizeof(bool) * Max(c->ngrants, 1));
		for (int g = 0; g < c->ngrants; g++)
		{
			GovshareDecisionRule *dr = &d->rules[c->grants[g].rule];

			ids[g] = Int64GetDatum(dr->id);
			basis_nulls[g] = dr->legal_basis == NULL;
			bases[g] = dr->legal_basis ? CStringGetTextDatum(dr->legal_basis) : (Datum) 0;
		}
		dims[0] = c->ngrants;
		values[3] = PointerGetDatum(construct_md_array(ids, NULL, 1, dims, lbs, INT8OID,
													   8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[4] = PointerGetDatum(construct_md_array(bases, basis_nulls, 1, dims, lbs, TEXTOID,
													   -1, false, TYPALIGN_INT));
		values[5] = CStringGetTextDatum(c->reason);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * What an internal role reads of relid: the decision's columns and their
 * elements, no rules.  Cached like any decision, under an agency code no
 * agency can have.
 */
GovshareDecision *
govshare_decide_internal(Oid relid)
{
	return govshare_decide("*", "*", relid);
}
