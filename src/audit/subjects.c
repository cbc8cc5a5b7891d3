/*-------------------------------------------------------------------------
 *
 * subjects.c
 *	  The data subjects of a consumer's statement: the security qual that
 *	  notes them, and the set each statement keeps of them.
 *
 * Data subjects: the enforcement adds govshare.audit_subject(personal_id)
 * as the last security qual of a governed relation that has a column
 * classified person.personal_id; it notes each visible row's id in the
 * statement that is running, up to govshare.audit_subject_limit distinct
 * ids, and counts them all.  record.c encodes the set into the statement's
 * record.
 *
 * src/audit/subjects.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"

#include "audit/audit_internal.h"
#include "types/gs_types.h"

/* The element whose columns name data subjects. */
#define SUBJECT_ELEMENT "person.personal_id"

/* Is there anything to record for consumers? (src/enforce/ asks, planning.) */
bool
govshare_audit_subjects_wanted(void)
{
	return govshare_audit_mode != GOVSHARE_AUDIT_OFF && govshare_audit_subject_limit > 0;
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
	AuditStatement *st = govshare_audit_running();

	if (call == NULL || !IsA(call, FuncExpr) || call->funcformat != COERCE_SQL_SYNTAX)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("govshare.audit_subject() cannot be called directly"),
				 errdetail("The server notes the data subjects of the rows a consumer agency reads.")));
	if (PG_ARGISNULL(0) || st == NULL || !st->subjects_on)
		PG_RETURN_BOOL(true);
	govshare_audit_subject_note(st, GOVSHARE_GETARG(personal_id, 0));
	PG_RETURN_BOOL(true);
}

/*
 * Notes v, the encoding of a personal id, as a data subject of st, up to
 * st->subject_limit distinct ones (then subject_overflow).
 */
void
govshare_audit_subject_note(AuditStatement *st, uint64 v)
{
	uint64		slot;

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
		return;
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
}
