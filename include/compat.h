/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PG_VERSION_NUM test of govshare, as shims.
 *
 * Code elsewhere never tests the server version; it calls what this file
 * defines.  govshare supports PostgreSQL 15 and later.
 *
 * include/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_COMPAT_H
#define GOVSHARE_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "govshare requires PostgreSQL 15 or later"
#endif

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "parser/parse_relation.h"
#include "utils/acl.h"
#endif

/* JumbleState (post_parse_analyze_hook): its header moved in PostgreSQL 16. */
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#else
#include "utils/queryjumble.h"
#endif

/*
 * Inserts the index entries of a heap tuple just inserted (slot) into the
 * indexes of rri, no conflict handling; the list of those that failed a
 * deferred uniqueness check.  PostgreSQL 16 added the onlySummarizing
 * argument (false: every index).
 */
#if PG_VERSION_NUM >= 160000
#define govshare_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false)
#else
#define govshare_insert_index_tuples(rri, slot, estate) \
	ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL)
#endif

/* Does roleid own relation relid?  (object_ownercheck from PostgreSQL 16.) */
#if PG_VERSION_NUM >= 160000
#define govshare_rel_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define govshare_rel_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/* Does roleid own database dboid? */
#if PG_VERSION_NUM >= 160000
#define govshare_db_ownercheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#define govshare_db_ownercheck(dboid, roleid) pg_database_ownercheck((dboid), (roleid))
#endif

/*
 * JSON semantic actions (common/jsonapi.h).  From PostgreSQL 16 each
 * returns a JsonParseErrorType, JSON_SUCCESS to let the parse go on; before,
 * nothing.  An action is declared "static GOVSHARE_JSON_ACTION name(...)"
 * and ends each of its paths with "return GOVSHARE_JSON_CONTINUE;".
 */
#if PG_VERSION_NUM >= 160000
#define GOVSHARE_JSON_ACTION JsonParseErrorType
#define GOVSHARE_JSON_CONTINUE JSON_SUCCESS
#else
#define GOVSHARE_JSON_ACTION void
#define GOVSHARE_JSON_CONTINUE
#endif

/*
 * A JSON lexer over len bytes at json, in encoding; need_escapes: whether
 * the actions want de-escaped strings.  From PostgreSQL 17 the function
 * takes the context to fill first (NULL: a new one in the current memory
 * context).
 */
#if PG_VERSION_NUM >= 170000
#define govshare_json_lexer(json, len, encoding, need_escapes) \
	makeJsonLexContextCstringLen(NULL, (json), (len), (encoding), (need_escapes))
#else
#define govshare_json_lexer(json, len, encoding, need_escapes) \
	makeJsonLexContextCstringLen((json), (len), (encoding), (need_escapes))
#endif

/*
 * The columns a relation's range-table entry rte reads (attribute numbers
 * offset by FirstLowInvalidHeapAttributeNumber, 0 the whole row), in a
 * query q or a plan.  Up to PostgreSQL 15 they are in the entry itself;
 * from 16 in the RTEPermissionInfo that the entry's perminfoindex names in
 * the query's rteperminfos (the plan's permInfos).  An entry without one
 * (an inheritance child the planner added) reads none that are checked:
 * NULL.
 */
#if PG_VERSION_NUM >= 160000
#define govshare_query_selected_cols(q, rte) \
	((rte)->perminfoindex == 0 ? NULL : \
	 getRTEPermissionInfo((q)->rteperminfos, (rte))->selectedCols)
#define govshare_plan_selected_cols(plan, rte) \
	((rte)->perminfoindex == 0 ? NULL : \
	 getRTEPermissionInfo((plan)->permInfos, (rte))->selectedCols)
#else
#define govshare_query_selected_cols(q, rte) ((rte)->selectedCols)
#define govshare_plan_selected_cols(plan, rte) ((rte)->selectedCols)
#endif

/*
 * The enforcement's rewrite (src/enforce/rewrite.c) turns relation entry
 * rte of query q into a subquery entry whose query sub reads the relation
 * through inner, its only entry, a copy of rte.  This moves the permission
 * check with it: inner is checked for SELECT of the columns rte read, as
 * owner (the relation's owner); rte is checked for nothing, as a subquery
 * entry must be.  Whatever rte required of the reading role (a consumer's
 * own privileges) is dropped: the disclosure rules decide what it reads.
 *
 * Up to PostgreSQL 15 the check is in the entries.  From 16 it is an
 * RTEPermissionInfo in the query's rteperminfos, named by the entry's
 * perminfoindex: rte's leaves q's list, whose later entries are renumbered
 * (every entry of the list must be named by exactly one entry of q's range
 * table, which the executor asserts), and a new one goes into sub's list
 * for inner; the planner gathers each level's list into the plan's
 * permInfos, which the executor checks.
 */
static inline void
govshare_move_permission_check(Query *q, RangeTblEntry *rte, Query *sub,
							   RangeTblEntry *inner, Oid owner)
{
#if PG_VERSION_NUM >= 160000
	RTEPermissionInfo *outer_perm = getRTEPermissionInfo(q->rteperminfos, rte);
	RTEPermissionInfo *inner_perm;
	Index		gone = rte->perminfoindex;
	ListCell   *lc;

	inner->perminfoindex = 0;
	inner_perm = addRTEPermissionInfo(&sub->rteperminfos, inner);
	inner_perm->requiredPerms = ACL_SELECT;
	inner_perm->checkAsUser = owner;
	inner_perm->selectedCols = bms_copy(outer_perm->selectedCols);
	inner_perm->insertedCols = NULL;
	inner_perm->updatedCols = NULL;

	q->rteperminfos = list_delete_nth_cell(q->rteperminfos, gone - 1);
	rte->perminfoindex = 0;
	foreach(lc, q->rtable)
	{
		RangeTblEntry *other = lfirst_node(RangeTblEntry, lc);

		if (other->perminfoindex > gone)
			other->perminfoindex--;
	}
#else
	inner->requiredPerms = ACL_SELECT;
	inner->checkAsUser = owner;
	inner->insertedCols = NULL;
	inner->updatedCols = NULL;
	inner->extraUpdatedCols = NULL;

	rte->requiredPerms = 0;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = NULL;
	rte->insertedCols = NULL;
	rte->updatedCols = NULL;
	rte->extraUpdatedCols = NULL;
#endif
}

#endif							/* GOVSHARE_COMPAT_H */
