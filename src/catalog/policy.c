/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  The policy catalog, read into a per-backend snapshot.
 *
 * The tables of src/sql/policy.sql (agencies, role bindings, keys,
 * purposes, rules and their events) and the data elements are small and
 * read on every decision, so a backend reads them all at once into one
 * memory context and keeps them until the policy changes.  A statement
 * trigger on each of those tables (govshare.policy_changed) sends a
 * relcache invalidation for govshare.rule; PostgreSQL delivers it to every
 * backend when the changing transaction commits (and to the changing
 * backend itself at its next command), and the callback here marks the
 * snapshot stale.  The next govshare_policy() call reads the tables again.
 *
 * Rows are read with the latest snapshot, not the statement's: a cached
 * policy outlives the transaction that loaded it, so it must show what is
 * committed (plus the current transaction's own changes).
 *
 * Each table has a loader that reads one row (load_agency, load_rule, ...);
 * policy_tables lists them in the order they are read, and load_policy
 * scans each table once through govshare_catalog_open (tables.c), which
 * checks its columns against catalog_internal.h.
 *
 * src/catalog/policy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/readfuncs.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "catalog/catalog_internal.h"
#include "catalog/gs_catalog.h"

static MemoryContext policy_context = NULL;
static GovsharePolicy *policy = NULL;
static bool policy_valid = false;
static uint64 policy_generation = 0;
static Oid	rule_relid = InvalidOid;	/* govshare.rule of the loaded policy */

static const char *const level_names[] = {
	"denied", "verify", "redacted", "generalized", "pseudonym", "masked", "full"
};

/* The SQL name of a disclosure level. */
const char *
govshare_level_name(GovshareLevel level)
{
	return level_names[level];
}

/* The level named name; errors on an unknown name (a catalog out of step). */
static GovshareLevel
level_from_name(const char *name)
{
	for (int i = 0; i < lengthof(level_names); i++)
		if (strcmp(level_names[i], name) == 0)
			return (GovshareLevel) i;
	elog(ERROR, "govshare: unknown disclosure level \"%s\"", name);
	return GOVSHARE_DENIED;
}

/*
 * Relcache callback: a change of govshare.rule (the trigger's signal) or a
 * full reset makes the snapshot stale.  Nothing is freed here: callers may
 * hold pointers into the snapshot until their next govshare_policy() call.
 * The cached OIDs of the catalog tables (tables.c) are checked here too.
 */
static void
policy_relcache_callback(Datum arg, Oid relid)
{
	govshare_catalog_forget(relid);
	if (relid == InvalidOid || relid == rule_relid)
		policy_valid = false;
}

/* Registers the invalidation callbacks; called from _PG_init. */
void
govshare_catalog_init(void)
{
	govshare_catalog_tables_init();
	CacheRegisterRelcacheCallback(policy_relcache_callback, (Datum) 0);
}

/*
 * govshare.policy_changed(): statement trigger on the policy tables.
 * Queues a relcache invalidation of govshare.rule, delivered to every
 * backend when this transaction commits.
 */
PG_FUNCTION_INFO_V1(govshare_policy_changed);
Datum
govshare_policy_changed(PG_FUNCTION_ARGS)
{
	Oid			relid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("govshare.policy_changed() must be called as a trigger")));
	relid = govshare_catalog_relid(GOVSHARE_TABLE_RULE);
	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
	return PointerGetDatum(NULL);
}

/* A text attribute as a C string in the current context, or NULL. */
static char *
get_text(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A timestamptz attribute, or dflt when NULL. */
static TimestampTz
get_time(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, TimestampTz dflt)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? dflt : DatumGetTimestampTz(d);
}

/* A bigint attribute (of a NOT NULL column). */
static int64
get_int64(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;

	return DatumGetInt64(heap_getattr(tuple, attnum, desc, &isnull));
}

/* An oid (regclass, regrole) attribute, or InvalidOid when NULL. */
static Oid
get_oid(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? InvalidOid : DatumGetObjectId(d);
}

/* Is the attribute NULL? */
static bool
get_null(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;

	heap_getattr(tuple, attnum, desc, &isnull);
	return isnull;
}

/* A text[] attribute as an array of C strings; returns the count. */
static int
get_text_array(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, char ***out)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			k = 0;

	*out = NULL;
	if (isnull)
		return 0;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	*out = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			(*out)[k++] = TextDatumGetCString(elems[i]);
	return k;
}

/* An enum attribute's label, or NULL. */
static char *
get_enum(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	if (isnull)
		return NULL;
	return DatumGetCString(DirectFunctionCall1(enum_out, d));
}

/*
 * Returns array with room for its element n, when n elements of size are
 * in it: allocated for 16 at first, then doubled whenever it is full.
 */
static void *
grow(void *array, int n, Size size)
{
	if (array == NULL)
		return palloc(size * 16);
	if (n >= 16 && (n & (n - 1)) == 0)
		return repalloc(array, size * n * 2);
	return array;
}

/* qsort/bsearch comparator of rules by id. */
static int
compare_rule(const void *a, const void *b)
{
	int64		x = ((const GovshareRule *) a)->id;
	int64		y = ((const GovshareRule *) b)->id;

	return x < y ? -1 : x > y;
}

/* qsort comparator of C strings (char *), by strcmp. */
static int
compare_string(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The rule with this id, by binary search, or NULL. */
static GovshareRule *
find_rule(GovsharePolicy *p, int64 id)
{
	GovshareRule key;

	if (p->nrules == 0)
		return NULL;
	key.id = id;
	return bsearch(&key, p->rules, p->nrules, sizeof(GovshareRule), compare_rule);
}

/* What the loaders below share while the policy is read. */
typedef struct PolicyLoad
{
	GovsharePolicy *p;
	GovshareRuleHistory *histories; /* per rule, by index, while events are read */
} PolicyLoad;

/* govshare.agency: the codes, sorted, and which one is self. */
static void
load_agency(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;
	bool		isnull;

	p->agencies = grow(p->agencies, p->nagencies, sizeof(char *));
	p->agencies[p->nagencies] = get_text(tuple, desc, Anum_agency_code);
	if (DatumGetBool(heap_getattr(tuple, Anum_agency_is_self, desc, &isnull)))
		p->self = p->agencies[p->nagencies];
	p->nagencies++;
}

/* Sorts the agency codes: the snapshot keeps them in code order. */
static void
finish_agencies(PolicyLoad *load)
{
	GovsharePolicy *p = load->p;

	if (p->nagencies > 1)
		qsort(p->agencies, p->nagencies, sizeof(char *), compare_string);
}

/* govshare.role_binding: role and agency, in two parallel arrays. */
static void
load_binding(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;

	p->binding_roles = grow(p->binding_roles, p->nbindings, sizeof(Oid));
	p->binding_agencies = grow(p->binding_agencies, p->nbindings, sizeof(char *));
	p->binding_roles[p->nbindings] = get_oid(tuple, desc, Anum_role_binding_role);
	p->binding_agencies[p->nbindings] = get_text(tuple, desc, Anum_role_binding_agency);
	p->nbindings++;
}

/* govshare.agency_key: the keys with their expiry and revocation. */
static void
load_key(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;
	GovshareKey *k;

	p->keys = grow(p->keys, p->nkeys, sizeof(GovshareKey));
	k = &p->keys[p->nkeys++];
	k->key_id = get_text(tuple, desc, Anum_agency_key_key_id);
	k->agency = get_text(tuple, desc, Anum_agency_key_agency);
	k->public_key = get_text(tuple, desc, Anum_agency_key_public_key);
	k->valid_until = get_time(tuple, desc, Anum_agency_key_valid_until, DT_NOEND);
	k->revoked = !get_null(tuple, desc, Anum_agency_key_revoked_at);
}

/* govshare.purpose: codes and legal bases, in two parallel arrays. */
static void
load_purpose(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;

	p->purposes = grow(p->purposes, p->npurposes, sizeof(char *));
	p->purpose_legal_bases = grow(p->purpose_legal_bases, p->npurposes, sizeof(char *));
	p->purposes[p->npurposes] = get_text(tuple, desc, Anum_purpose_code);
	p->purpose_legal_bases[p->npurposes] = get_text(tuple, desc, Anum_purpose_legal_basis);
	p->npurposes++;
}

/*
 * A rule's options as GOVSHARE_RULE_* bits.  The table's check constraint
 * admits only the names below; a name this code does not know (a catalog
 * ahead of the library) sets no bit, so the rule behaves as by default.
 */
static int
rule_options(HeapTuple tuple, TupleDesc desc)
{
	static const struct
	{
		const char *name;
		int			bit;
	}			known[] = {
		{"verify_absent_false", GOVSHARE_RULE_VERIFY_ABSENT_FALSE},
		{"verify_ignore_diacritics", GOVSHARE_RULE_VERIFY_IGNORE_DIACRITICS},
	};
	char	  **names;
	int			n;
	int			bits = 0;

	if (desc->natts < Anum_rule_options)
		return 0;				/* a 0.1.0 catalog (tables.c) */
	n = get_text_array(tuple, desc, Anum_rule_options, &names);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < lengthof(known); k++)
			if (strcmp(names[i], known[k].name) == 0)
				bits |= known[k].bit;
	return bits;
}

/* govshare.rule: one GovshareRule each, active until its events say otherwise. */
static void
load_rule(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;
	GovshareRule *r;
	char	   *tree;

	p->rules = grow(p->rules, p->nrules, sizeof(GovshareRule));
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	r->id = get_int64(tuple, desc, Anum_rule_id);
	r->consumer = get_text(tuple, desc, Anum_rule_consumer);
	r->npurposes = get_text_array(tuple, desc, Anum_rule_purposes, &r->purposes);
	r->nelements = get_text_array(tuple, desc, Anum_rule_elements, &r->elements);
	r->level = level_from_name(get_enum(tuple, desc, Anum_rule_level));
	r->relation = get_oid(tuple, desc, Anum_rule_relation);
	r->filter_text = get_text(tuple, desc, Anum_rule_row_filter);
	tree = get_text(tuple, desc, Anum_rule_row_filter_tree);
	r->filter = tree ? stringToNode(tree) : NULL;
	if (r->filter_text != NULL && r->filter == NULL)
	{
		/* cannot happen through the trigger; fail closed if it does */
		r->status = GOVSHARE_RULE_REVOKED;
	}
	r->legal_basis = get_text(tuple, desc, Anum_rule_legal_basis);
	r->valid_from = get_time(tuple, desc, Anum_rule_valid_from, DT_NOBEGIN);
	r->valid_until = get_time(tuple, desc, Anum_rule_valid_until, DT_NOEND);
	r->options = rule_options(tuple, desc);
}

/* Sorts the rules by id, for find_rule, and makes room for their events. */
static void
finish_rules(PolicyLoad *load)
{
	GovsharePolicy *p = load->p;

	if (p->nrules > 1)
		qsort(p->rules, p->nrules, sizeof(GovshareRule), compare_rule);
	p->version = p->nrules;		/* and one for each event */
	load->histories = palloc0(sizeof(GovshareRuleHistory) * Max(p->nrules, 1));
}

/* govshare.rule_event: each event joins its rule's history. */
static void
load_rule_event(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;
	GovshareRule *r = find_rule(p, get_int64(tuple, desc, Anum_rule_event_rule_id));

	p->version++;
	if (r != NULL)
		govshare_rule_history_add(&load->histories[r - p->rules],
								  get_int64(tuple, desc, Anum_rule_event_id),
								  get_text(tuple, desc, Anum_rule_event_event),
								  get_time(tuple, desc, Anum_rule_event_at, 0));
}

/*
 * Each rule's status from its history (govshare_rule_history_status, the
 * definition the govshare.rules view uses too).  A rule already revoked
 * by load_rule (a row filter without its tree) stays revoked.
 */
static void
finish_rule_events(PolicyLoad *load)
{
	GovsharePolicy *p = load->p;

	for (int i = 0; i < p->nrules; i++)
	{
		GovshareRule *r = &p->rules[i];
		int64		event_id;

		if (r->status != GOVSHARE_RULE_REVOKED)
			r->status = govshare_rule_history_status(&load->histories[i], &event_id,
													 &r->status_since);
	}
}

/* govshare.element: only the codes and whether each is sensitive. */
static void
load_element(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;

	p->elements = grow(p->elements, p->nelements, sizeof(char *));
	p->element_sensitive = grow(p->element_sensitive, p->nelements, sizeof(bool));
	p->elements[p->nelements] = get_text(tuple, desc, Anum_element_code);
	p->element_sensitive[p->nelements] =
		strcmp(get_enum(tuple, desc, Anum_element_sensitivity), "sensitive") == 0;
	p->nelements++;
}

/* A bigint attribute, or -1 when NULL (a quota without limit). */
static int64
get_limit(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? -1 : DatumGetInt64(d);
}

/* govshare.quota: the limits of one consumer and purpose. */
static void
load_quota(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;
	GovshareQuota *q;

	p->quotas = grow(p->quotas, p->nquotas, sizeof(GovshareQuota));
	q = &p->quotas[p->nquotas++];
	q->consumer = get_text(tuple, desc, Anum_quota_consumer);
	q->purpose = get_text(tuple, desc, Anum_quota_purpose);
	q->statements_per_minute = get_limit(tuple, desc, Anum_quota_statements_per_minute);
	q->rows_per_day = get_limit(tuple, desc, Anum_quota_rows_per_day);
	q->verify_per_minute = get_limit(tuple, desc, Anum_quota_verify_per_minute);
}

/* The quota of consumer for purpose, or NULL when it has none. */
const GovshareQuota *
govshare_policy_quota(GovsharePolicy *p, const char *consumer, const char *purpose)
{
	for (int i = 0; i < p->nquotas; i++)
		if (strcmp(p->quotas[i].consumer, consumer) == 0 && strcmp(p->quotas[i].purpose, purpose) == 0)
			return &p->quotas[i];
	return NULL;
}

/* govshare.officer: role and officer, in two parallel arrays. */
static void
load_officer(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;

	p->officer_roles = grow(p->officer_roles, p->nofficers, sizeof(Oid));
	p->officer_names = grow(p->officer_names, p->nofficers, sizeof(char *));
	p->officer_roles[p->nofficers] = get_oid(tuple, desc, Anum_officer_role);
	p->officer_names[p->nofficers] = get_text(tuple, desc, Anum_officer_officer);
	p->nofficers++;
}

/* govshare.gateway: the roles. */
static void
load_gateway(PolicyLoad *load, HeapTuple tuple, TupleDesc desc)
{
	GovsharePolicy *p = load->p;

	p->gateway_roles = grow(p->gateway_roles, p->ngateways, sizeof(Oid));
	p->gateway_roles[p->ngateways++] = get_oid(tuple, desc, Anum_gateway_role);
}

/*
 * The tables of the policy in the order they are read (a rule's events
 * after the rules), each with the function that reads one of its rows and
 * the one, if any, that completes the table after its last row.
 */
static const struct
{
	GovshareTable table;
	void		(*load_row) (PolicyLoad *load, HeapTuple tuple, TupleDesc desc);
	void		(*finish) (PolicyLoad *load);
}			policy_tables[] =
{
	{GOVSHARE_TABLE_AGENCY, load_agency, finish_agencies},
	{GOVSHARE_TABLE_ROLE_BINDING, load_binding, NULL},
	{GOVSHARE_TABLE_AGENCY_KEY, load_key, NULL},
	{GOVSHARE_TABLE_PURPOSE, load_purpose, NULL},
	{GOVSHARE_TABLE_RULE, load_rule, finish_rules},
	{GOVSHARE_TABLE_RULE_EVENT, load_rule_event, finish_rule_events},
	{GOVSHARE_TABLE_ELEMENT, load_element, NULL},
	{GOVSHARE_TABLE_QUOTA, load_quota, NULL},
	{GOVSHARE_TABLE_OFFICER, load_officer, NULL},
	{GOVSHARE_TABLE_GATEWAY, load_gateway, NULL},
};

/*
 * Reads every policy table into p (allocated in the current context).
 * Each table is scanned in full: they hold tens to thousands of rows.
 */
static void
load_policy(GovsharePolicy *p)
{
	PolicyLoad	load = {p};
	Oid			relid = govshare_catalog_relid(GOVSHARE_TABLE_RULE);
	Snapshot	snapshot;

	memset(p, 0, sizeof(*p));
	if (!OidIsValid(relid))
		return;
	/* CREATE or ALTER EXTENSION govshare in progress: the tables are not all there */
	if (creating_extension && CurrentExtensionObject == get_extension_oid("govshare", true))
		return;
	p->installed = true;
	rule_relid = relid;
	p->token_use_relid = govshare_catalog_relid(GOVSHARE_TABLE_TOKEN_USE);
	p->rule_relid = rule_relid;
	/* in parallel mode no new snapshot may be taken: use the statement's */
	snapshot = RegisterSnapshot(IsInParallelMode() && ActiveSnapshotSet() ?
								GetActiveSnapshot() : GetLatestSnapshot());

	for (int t = 0; t < lengthof(policy_tables); t++)
	{
		Relation	rel;
		TupleDesc	desc;
		SysScanDesc scan;
		HeapTuple	tuple;

		/*
		 * Quotas and officers came with 0.2.0: a 0.1.0 catalog (the old SQL
		 * under this library, until ALTER EXTENSION UPDATE) has none, and
		 * names officers as 0.1.0 did, unchecked.
		 */
		if ((policy_tables[t].table == GOVSHARE_TABLE_QUOTA ||
			 policy_tables[t].table == GOVSHARE_TABLE_OFFICER ||
			 policy_tables[t].table == GOVSHARE_TABLE_GATEWAY) &&
			!OidIsValid(govshare_catalog_relid(policy_tables[t].table)))
			continue;
		if (policy_tables[t].table == GOVSHARE_TABLE_OFFICER)
			p->officers_bound = true;
		rel = govshare_catalog_open(policy_tables[t].table);
		desc = RelationGetDescr(rel);
		scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);

		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
			policy_tables[t].load_row(&load, tuple, desc);
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
		if (policy_tables[t].finish != NULL)
			policy_tables[t].finish(&load);
	}

	UnregisterSnapshot(snapshot);
}

/*
 * The current policy snapshot, read again if anything changed since it
 * was read.  The pointer stays valid until the next call.
 */
GovsharePolicy *
govshare_policy(void)
{
	MemoryContext old;

	if (policy_valid && policy != NULL)
		return policy;

	if (policy_context == NULL)
		policy_context = AllocSetContextCreate(TopMemoryContext, "govshare policy",
											   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(policy_context);
	policy = NULL;

	/*
	 * Mark valid before reading: an invalidation that arrives while we read
	 * (opening a table accepts invalidation messages) marks it stale again.
	 */
	policy_valid = true;
	old = MemoryContextSwitchTo(policy_context);
	PG_TRY();
	{
		GovsharePolicy *p = palloc(sizeof(GovsharePolicy));

		load_policy(p);
		p->generation = ++policy_generation;
		policy = p;
		/* no extension yet: look again next time, CREATE EXTENSION sends no signal */
		if (!p->installed)
			policy_valid = false;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		policy_valid = false;
		MemoryContextReset(policy_context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return policy;
}

/*
 * The agency a role acts for, or NULL when it has none.  *consumer is set
 * when that agency is not self.  A role acts for the agency it is bound
 * to and for the agency of every bound role it is a member of, by any
 * kind of membership: with or without INHERIT (and, from PostgreSQL 16,
 * with or without SET), directly or through other roles.  Privileges are
 * not the question: a member that does not inherit a consumer role's
 * privileges can still SET ROLE to it, or be given that membership's
 * powers later, so it speaks for that agency and is one of its consumers.
 * A superuser is always internal.  A role that would act for two agencies
 * (self counts as one) gets one of them, not self, with the other in
 * *other.
 */
static const char *
role_agency(GovsharePolicy *p, Oid roleid, bool *consumer, const char **other)
{
	const char *agency = NULL;

	*consumer = false;
	*other = NULL;
	if (!p->installed || superuser_arg(roleid))
		return NULL;
	for (int i = 0; i < p->nbindings; i++)
	{
		const char *bound = p->binding_agencies[i];

		/* ROLERECURSE_MEMBERS: every membership counts, and the role itself */
		if (!is_member_of_role_nosuper(roleid, p->binding_roles[i]))
			continue;
		if (agency == NULL || strcmp(agency, bound) == 0)
		{
			agency = bound;
			continue;
		}
		if (p->self != NULL && strcmp(agency, p->self) == 0)
		{
			*other = agency;
			agency = bound;
		}
		else
			*other = bound;
		break;
	}
	*consumer = agency != NULL && (p->self == NULL || strcmp(agency, p->self) != 0);
	return agency;
}

/* role_agency, raising an error for a role that acts for two agencies. */
const char *
govshare_role_agency(GovsharePolicy *p, Oid roleid, bool *consumer)
{
	const char *other;
	const char *agency = role_agency(p, roleid, consumer, &other);

	if (other != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_ROLE_SPECIFICATION),
				 errmsg("role \"%s\" acts for two agencies, \"%s\" and \"%s\"",
						GetUserNameFromId(roleid, false), agency, other),
				 errdetail("It is bound to one of them, or a member of roles bound to each (with or without INHERIT)."),
				 errhint("Revoke the membership, or the binding, that ties the role to the agency it does not act for.")));
	return agency;
}

/*
 * role_agency without the error: a role that acts for two agencies is
 * returned as a consumer of the first, with *ambiguous set.
 */
const char *
govshare_role_agency_noerror(GovsharePolicy *p, Oid roleid, bool *consumer, bool *ambiguous)
{
	const char *other;
	const char *agency = role_agency(p, roleid, consumer, &other);

	*ambiguous = other != NULL;
	if (*ambiguous)
		*consumer = true;
	return agency;
}

/* Does the purpose exist? */
bool
govshare_policy_has_purpose(GovsharePolicy *p, const char *purpose)
{
	for (int i = 0; i < p->npurposes; i++)
		if (strcmp(p->purposes[i], purpose) == 0)
			return true;
	return false;
}

/* Is the element sensitive?  *found tells whether it exists. */
bool
govshare_element_sensitive(GovsharePolicy *p, const char *element, bool *found)
{
	for (int i = 0; i < p->nelements; i++)
		if (strcmp(p->elements[i], element) == 0)
		{
			*found = true;
			return p->element_sensitive[i];
		}
	*found = false;
	return false;
}


/*
 * Is roleid a gateway (a member of a role marked one in govshare.gateway),
 * trusted to name any officer in its requests?
 */
bool
govshare_role_is_gateway(GovsharePolicy *p, Oid roleid)
{
	for (int i = 0; i < p->ngateways; i++)
		if (is_member_of_role_nosuper(roleid, p->gateway_roles[i]))
			return true;
	return false;
}

/*
 * Is officer bound to roleid (or to a role it is a member of) in
 * govshare.officer?
 */
bool
govshare_role_has_officer(GovsharePolicy *p, Oid roleid, const char *officer)
{
	for (int i = 0; i < p->nofficers; i++)
		if (strcmp(p->officer_names[i], officer) == 0 &&
			is_member_of_role_nosuper(roleid, p->officer_roles[i]))
			return true;
	return false;
}
