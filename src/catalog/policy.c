/*-------------------------------------------------------------------------
 *
 * catalog.c
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
 * src/catalog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/readfuncs.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "catalog/gs_catalog.h"

/* Columns of govshare.agency */
#define Anum_agency_code			1
#define Anum_agency_is_self			4
/* govshare.role_binding */
#define Anum_role_binding_role		1
#define Anum_role_binding_agency	2
/* govshare.agency_key */
#define Anum_agency_key_key_id		1
#define Anum_agency_key_agency		2
#define Anum_agency_key_public_key	3
#define Anum_agency_key_valid_until	4
#define Anum_agency_key_revoked_at	7
/* govshare.purpose */
#define Anum_purpose_code			1
#define Anum_purpose_legal_basis	3
/* govshare.rule */
#define Anum_rule_id				1
#define Anum_rule_consumer			2
#define Anum_rule_purposes			3
#define Anum_rule_elements			4
#define Anum_rule_level				5
#define Anum_rule_relation			6
#define Anum_rule_row_filter		7
#define Anum_rule_row_filter_tree	8
#define Anum_rule_legal_basis		9
#define Anum_rule_valid_from		10
#define Anum_rule_valid_until		11
/* govshare.rule_event */
#define Anum_rule_event_id			1
#define Anum_rule_event_rule_id		2
#define Anum_rule_event_event		3
#define Anum_rule_event_at			4
/* govshare.element */
#define Anum_element_code			1
#define Anum_element_sensitivity	6

static MemoryContext policy_context = NULL;
static GovsharePolicy *policy = NULL;
static bool policy_valid = false;
static uint64 policy_generation = 0;
static Oid	rule_relid = InvalidOid;	/* govshare.rule of the loaded policy */

static const char *const level_names[] = {
	"denied", "redacted", "generalized", "pseudonym", "masked", "full"
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
 */
static void
policy_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == rule_relid)
		policy_valid = false;
}

/* Registers the invalidation callback; called from _PG_init. */
void
govshare_catalog_init(void)
{
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
	Oid			nsp;
	Oid			relid;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("govshare.policy_changed() must be called as a trigger")));
	nsp = get_namespace_oid("govshare", false);
	relid = get_relname_relid("rule", nsp);
	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
	return PointerGetDatum(NULL);
}

/* Checks that attribute attnum of tupdesc is named name. */
static void
expect_column(Relation rel, AttrNumber attnum, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (attnum > desc->natts ||
		strcmp(NameStr(TupleDescAttr(desc, attnum - 1)->attname), name) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("catalog table govshare.%s does not have the layout this library expects",
						RelationGetRelationName(rel)),
				 errdetail("Column %d should be \"%s\".", attnum, name),
				 errhint("Run ALTER EXTENSION govshare UPDATE, or install the library that matches the extension.")));
}

/* A text attribute as a C string in the current context, or NULL. */
static char *
get_text(HeapTuple tuple, Relation rel, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* A timestamptz attribute, or dflt when NULL. */
static TimestampTz
get_time(HeapTuple tuple, Relation rel, AttrNumber attnum, TimestampTz dflt)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);

	return isnull ? dflt : DatumGetTimestampTz(d);
}

/* A text[] attribute as an array of C strings; returns the count. */
static int
get_text_array(HeapTuple tuple, Relation rel, AttrNumber attnum, char ***out)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);
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

/* An enum attribute's label. */
static char *
get_enum(HeapTuple tuple, Relation rel, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);

	if (isnull)
		return NULL;
	return DatumGetCString(DirectFunctionCall1(enum_out, d));
}

/* Opens govshare.<name> for reading, or returns NULL if it does not exist. */
static Relation
open_table(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		return NULL;
	return table_open(relid, AccessShareLock);
}

static int
compare_rule(const void *a, const void *b)
{
	int64		x = ((const GovshareRule *) a)->id;
	int64		y = ((const GovshareRule *) b)->id;

	return x < y ? -1 : x > y;
}

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

	key.id = id;
	return bsearch(&key, p->rules, p->nrules, sizeof(GovshareRule), compare_rule);
}

/*
 * Reads every policy table into p (allocated in the current context).
 * Each table is scanned in full: they hold tens to thousands of rows.
 */
static void
load_policy(GovsharePolicy *p)
{
	Oid			nsp = get_namespace_oid("govshare", true);
	Snapshot	snapshot;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	int			cap;

	memset(p, 0, sizeof(*p));
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("rule", nsp)))
		return;
	/* CREATE or ALTER EXTENSION govshare in progress: the tables are not all there */
	if (creating_extension && CurrentExtensionObject == get_extension_oid("govshare", true))
		return;
	p->installed = true;
	rule_relid = get_relname_relid("rule", nsp);
	p->token_use_relid = get_relname_relid("token_use", nsp);
	p->rule_relid = rule_relid;
	/* in parallel mode no new snapshot may be taken: use the statement's */
	snapshot = RegisterSnapshot(IsInParallelMode() && ActiveSnapshotSet() ?
								GetActiveSnapshot() : GetLatestSnapshot());

	/* agencies */
	rel = open_table(nsp, "agency");
	expect_column(rel, Anum_agency_code, "code");
	expect_column(rel, Anum_agency_is_self, "is_self");
	cap = 16;
	p->agencies = palloc(sizeof(char *) * cap);
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;

		if (p->nagencies == cap)
			p->agencies = repalloc(p->agencies, sizeof(char *) * (cap *= 2));
		p->agencies[p->nagencies] = get_text(tuple, rel, Anum_agency_code);
		if (DatumGetBool(heap_getattr(tuple, Anum_agency_is_self, RelationGetDescr(rel), &isnull)))
			p->self = p->agencies[p->nagencies];
		p->nagencies++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	qsort(p->agencies, p->nagencies, sizeof(char *), compare_string);

	/* role bindings */
	rel = open_table(nsp, "role_binding");
	expect_column(rel, Anum_role_binding_role, "role");
	expect_column(rel, Anum_role_binding_agency, "agency");
	cap = 16;
	p->binding_roles = palloc(sizeof(Oid) * cap);
	p->binding_agencies = palloc(sizeof(char *) * cap);
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;

		if (p->nbindings == cap)
		{
			cap *= 2;
			p->binding_roles = repalloc(p->binding_roles, sizeof(Oid) * cap);
			p->binding_agencies = repalloc(p->binding_agencies, sizeof(char *) * cap);
		}
		p->binding_roles[p->nbindings] =
			DatumGetObjectId(heap_getattr(tuple, Anum_role_binding_role, RelationGetDescr(rel), &isnull));
		p->binding_agencies[p->nbindings] = get_text(tuple, rel, Anum_role_binding_agency);
		p->nbindings++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* keys */
	rel = open_table(nsp, "agency_key");
	expect_column(rel, Anum_agency_key_key_id, "key_id");
	expect_column(rel, Anum_agency_key_agency, "agency");
	expect_column(rel, Anum_agency_key_public_key, "public_key");
	expect_column(rel, Anum_agency_key_valid_until, "valid_until");
	expect_column(rel, Anum_agency_key_revoked_at, "revoked_at");
	cap = 8;
	p->keys = palloc(sizeof(GovshareKey) * cap);
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		GovshareKey *k;
		bool		isnull;

		if (p->nkeys == cap)
			p->keys = repalloc(p->keys, sizeof(GovshareKey) * (cap *= 2));
		k = &p->keys[p->nkeys++];
		k->key_id = get_text(tuple, rel, Anum_agency_key_key_id);
		k->agency = get_text(tuple, rel, Anum_agency_key_agency);
		k->public_key = get_text(tuple, rel, Anum_agency_key_public_key);
		k->valid_until = get_time(tuple, rel, Anum_agency_key_valid_until, DT_NOEND);
		heap_getattr(tuple, Anum_agency_key_revoked_at, RelationGetDescr(rel), &isnull);
		k->revoked = !isnull;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* purposes */
	rel = open_table(nsp, "purpose");
	expect_column(rel, Anum_purpose_code, "code");
	expect_column(rel, Anum_purpose_legal_basis, "legal_basis");
	cap = 16;
	p->purposes = palloc(sizeof(char *) * cap);
	p->purpose_legal_bases = palloc(sizeof(char *) * cap);
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		if (p->npurposes == cap)
		{
			cap *= 2;
			p->purposes = repalloc(p->purposes, sizeof(char *) * cap);
			p->purpose_legal_bases = repalloc(p->purpose_legal_bases, sizeof(char *) * cap);
		}
		p->purposes[p->npurposes] = get_text(tuple, rel, Anum_purpose_code);
		p->purpose_legal_bases[p->npurposes] = get_text(tuple, rel, Anum_purpose_legal_basis);
		p->npurposes++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* rules */
	rel = open_table(nsp, "rule");
	expect_column(rel, Anum_rule_consumer, "consumer");
	expect_column(rel, Anum_rule_level, "level");
	expect_column(rel, Anum_rule_row_filter_tree, "row_filter_tree");
	expect_column(rel, Anum_rule_valid_until, "valid_until");
	cap = 16;
	p->rules = palloc(sizeof(GovshareRule) * cap);
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		GovshareRule *r;
		bool		isnull;
		char	   *tree;

		if (p->nrules == cap)
			p->rules = repalloc(p->rules, sizeof(GovshareRule) * (cap *= 2));
		r = &p->rules[p->nrules++];
		memset(r, 0, sizeof(*r));
		r->id = DatumGetInt64(heap_getattr(tuple, Anum_rule_id, RelationGetDescr(rel), &isnull));
		r->consumer = get_text(tuple, rel, Anum_rule_consumer);
		r->npurposes = get_text_array(tuple, rel, Anum_rule_purposes, &r->purposes);
		r->nelements = get_text_array(tuple, rel, Anum_rule_elements, &r->elements);
		r->level = level_from_name(get_enum(tuple, rel, Anum_rule_level));
		r->relation = DatumGetObjectId(heap_getattr(tuple, Anum_rule_relation, RelationGetDescr(rel), &isnull));
		if (isnull)
			r->relation = InvalidOid;
		r->filter_text = get_text(tuple, rel, Anum_rule_row_filter);
		tree = get_text(tuple, rel, Anum_rule_row_filter_tree);
		r->filter = tree ? stringToNode(tree) : NULL;
		if (r->filter_text != NULL && r->filter == NULL)
		{
			/* cannot happen through the trigger; fail closed if it does */
			r->status = GOVSHARE_RULE_REVOKED;
		}
		r->legal_basis = get_text(tuple, rel, Anum_rule_legal_basis);
		r->valid_from = get_time(tuple, rel, Anum_rule_valid_from, DT_NOBEGIN);
		r->valid_until = get_time(tuple, rel, Anum_rule_valid_until, DT_NOEND);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	qsort(p->rules, p->nrules, sizeof(GovshareRule), compare_rule);
	p->version = p->nrules;		/* and one for each event, below */

	/*
	 * Rule status from the history: revoked once revoked; otherwise the
	 * latest of suspend/resume decides.
	 */
	rel = open_table(nsp, "rule_event");
	expect_column(rel, Anum_rule_event_rule_id, "rule_id");
	expect_column(rel, Anum_rule_event_event, "event");
	expect_column(rel, Anum_rule_event_at, "at");
	{
		int64	   *last_id = palloc0(sizeof(int64) * Max(p->nrules, 1));

		scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			bool		isnull;
			int64		id = DatumGetInt64(heap_getattr(tuple, Anum_rule_event_id, RelationGetDescr(rel), &isnull));
			int64		rule_id = DatumGetInt64(heap_getattr(tuple, Anum_rule_event_rule_id, RelationGetDescr(rel), &isnull));
			char	   *event = get_text(tuple, rel, Anum_rule_event_event);
			TimestampTz at = get_time(tuple, rel, Anum_rule_event_at, 0);
			GovshareRule *r = find_rule(p, rule_id);
			int			i;

			p->version++;
			if (r == NULL || r->status == GOVSHARE_RULE_REVOKED)
				continue;
			i = r - p->rules;
			if (strcmp(event, "revoke") == 0)
			{
				r->status = GOVSHARE_RULE_REVOKED;
				r->status_since = at;
			}
			else if ((strcmp(event, "suspend") == 0 || strcmp(event, "resume") == 0) && id > last_id[i])
			{
				last_id[i] = id;
				r->status = event[0] == 's' ? GOVSHARE_RULE_SUSPENDED : GOVSHARE_RULE_ACTIVE;
				r->status_since = at;
			}
		}
		systable_endscan(scan);
	}
	table_close(rel, AccessShareLock);

	/* elements: only their sensitivity matters here */
	rel = open_table(nsp, "element");
	expect_column(rel, Anum_element_code, "code");
	expect_column(rel, Anum_element_sensitivity, "sensitivity");
	cap = 64;
	p->elements = palloc(sizeof(char *) * cap);
	p->element_sensitive = palloc(sizeof(bool) * cap);
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		if (p->nelements == cap)
		{
			cap *= 2;
			p->elements = repalloc(p->elements, sizeof(char *) * cap);
			p->element_sensitive = repalloc(p->element_sensitive, sizeof(bool) * cap);
		}
		p->elements[p->nelements] = get_text(tuple, rel, Anum_element_code);
		p->element_sensitive[p->nelements] =
			strcmp(get_enum(tuple, rel, Anum_element_sensitivity), "sensitive") == 0;
		p->nelements++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

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
 * when that agency is not self.  A role is bound directly, or through
 * membership in a bound role; a superuser is always internal.  A role that
 * would act for two agencies gets NULL with *other set to the second one.
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
		if (p->binding_roles[i] == roleid)
		{
			agency = p->binding_agencies[i];
			break;
		}
	if (agency == NULL)
	{
		for (int i = 0; i < p->nbindings; i++)
		{
			if (!has_privs_of_role(roleid, p->binding_roles[i]))
				continue;
			if (agency != NULL && strcmp(agency, p->binding_agencies[i]) != 0)
			{
				*other = p->binding_agencies[i];
				return agency;
			}
			agency = p->binding_agencies[i];
		}
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
				 errdetail("It is a member of roles bound to each."),
				 errhint("Bind the role itself with govshare.bind_role(), or revoke one membership.")));
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

