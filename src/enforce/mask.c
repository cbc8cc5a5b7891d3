/*-------------------------------------------------------------------------
 *
 * mask.c
 *	  Disclosure transforms: the expression that shows a column at a level.
 *
 * A column disclosed at a level is read through an expression of the
 * column's own type (the query above was analysed for that type):
 *
 *	full		the column itself
 *	masked		govshare.mask(column), where the type has one
 *	pseudonym	govshare.pseudonym(column, agency) (src/pseudonym.c)
 *	generalized govshare.generalize(column), where the type has one
 *	redacted	a typed NULL
 *
 * A type without the transform a level asks for is shown at the next less
 * revealing level it has (masked, then pseudonym, generalized, redacted):
 * a rule never discloses more than it says.  The national types have all
 * three transforms (admin_unit and partial_date have no pseudonyms); text
 * and varchar are masked (the first character of each word) and
 * pseudonymised; other types are redacted below full.
 *
 * src/mask.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "enforce/enforce_internal.h"
#include "types/gs_types.h"

typedef struct TransformEntry
{
	Oid			typid;
	Oid			mask;			/* govshare.mask for the type, or InvalidOid */
	Oid			generalize;		/* govshare.generalize, or InvalidOid */
	Oid			pseudonym;		/* govshare.pseudonym, when the type has them */
} TransformEntry;

static HTAB *transforms = NULL;

/* Syscache callback: functions changed (the extension was recreated). */
static void
transforms_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	if (transforms != NULL)
	{
		hash_destroy(transforms);
		transforms = NULL;
	}
}

/* Registers the invalidation callback; called from _PG_init. */
void
govshare_mask_init(void)
{
	CacheRegisterSyscacheCallback(PROCOID, transforms_invalidate, (Datum) 0);
}

/* govshare.<name>(argtype), returning rettype, or InvalidOid. */
static Oid
transform_function(const char *name, Oid argtype, Oid rettype)
{
	List	   *qualified = list_make2(makeString("govshare"), makeString(pstrdup(name)));
	Oid			fn = LookupFuncName(qualified, 1, &argtype, true);

	if (OidIsValid(fn) && get_func_rettype(fn) != rettype)
		return InvalidOid;
	return fn;
}

/* The transforms of typid (varchar uses text's). */
static TransformEntry *
transforms_of(Oid typid)
{
	TransformEntry *entry;
	bool		found;
	Oid			argtype = typid == VARCHAROID ? TEXTOID : typid;

	if (transforms == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TransformEntry);
		transforms = hash_create("govshare transforms", 32, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(transforms, &typid, HASH_ENTER, &found);
	if (found)
		return entry;
	entry->mask = transform_function("mask", argtype, argtype);
	entry->generalize = transform_function("generalize", argtype, argtype);
	entry->pseudonym = InvalidOid;
	if (govshare_pseudonym_supported(typid))
	{
		Oid			args[2] = {ANYELEMENTOID, TEXTOID};

		entry->pseudonym = LookupFuncName(list_make2(makeString("govshare"),
													 makeString("pseudonym")),
										  2, args, true);
	}
	return entry;
}

/* A call of fn on args, returning rettype, cast back to the column type. */
static Node *
call(Oid fn, Oid rettype, List *args, const FormData_pg_attribute *att, CoercionForm format)
{
	FuncExpr   *f = makeFuncExpr(fn, rettype, args, att->attcollation,
								 att->attcollation, format);

	if (rettype == att->atttypid)
		return (Node *) f;
	/* varchar read through text's transforms: binary compatible */
	return (Node *) makeRelabelType((Expr *) f, att->atttypid, att->atttypmod,
									att->attcollation, COERCE_IMPLICIT_CAST);
}

/*
 * The expression showing column var (of attribute att) at level to agency.
 * *shown is set to the level actually used.
 */
Node *
govshare_mask_expr(Var *var, const FormData_pg_attribute *att, GovshareLevel level,
				   const char *agency, GovshareLevel *shown)
{
	Oid			typid = att->atttypid;
	TransformEntry *t = NULL;
	Oid			rettype = typid == VARCHAROID ? TEXTOID : typid;

	if (level != GOVSHARE_FULL && level != GOVSHARE_REDACTED && level != GOVSHARE_DENIED &&
		level != GOVSHARE_VERIFY)
		t = transforms_of(typid);

	switch (level)
	{
		case GOVSHARE_FULL:
			*shown = level;
			return (Node *) copyObject(var);
		case GOVSHARE_MASKED:
			if (OidIsValid(t->mask))
			{
				*shown = level;
				return call(t->mask, rettype, list_make1(copyObject(var)), att,
							COERCE_EXPLICIT_CALL);
			}
			/* FALLTHROUGH */
		case GOVSHARE_PSEUDONYM:
			if (OidIsValid(t->pseudonym))
			{
				Const	   *who = makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
											CStringGetTextDatum(agency), false, false);

				/* fail while planning, not on the first row, without a key */
				(void) govshare_pseudonym_key(agency);
				*shown = GOVSHARE_PSEUDONYM;
				/* the mark src/pseudonym.c looks for: see there */
				return (Node *) makeFuncExpr(t->pseudonym, typid,
											 list_make2(copyObject(var), who),
											 att->attcollation, att->attcollation,
											 COERCE_SQL_SYNTAX);
			}
			/* FALLTHROUGH */
		case GOVSHARE_GENERALIZED:
			if (OidIsValid(t->generalize))
			{
				*shown = GOVSHARE_GENERALIZED;
				return call(t->generalize, rettype, list_make1(copyObject(var)), att,
							COERCE_EXPLICIT_CALL);
			}
			/* FALLTHROUGH */
		case GOVSHARE_REDACTED:
		case GOVSHARE_VERIFY:	/* never reached: rewrite.c leaves verify grants out */
		case GOVSHARE_DENIED:
			break;
	}
	*shown = GOVSHARE_REDACTED;
	return (Node *) makeNullConst(typid, att->atttypmod, att->attcollation);
}

/*
 * govshare.mask(text) returns text
 *
 * Keeps the first character of each word and replaces the others with
 * '*': "Nguyễn Văn An" becomes "N***** V** A*".  The number of characters
 * is kept, so a masked varchar(n) still fits n.
 */
PG_FUNCTION_INFO_V1(govshare_text_mask);
Datum
govshare_text_mask(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(in);
	int			len = VARSIZE_ANY_EXHDR(in);
	/* never longer than the input: a character becomes itself or one '*' */
	text	   *out = (text *) palloc(VARHDRSZ + len);
	char	   *o = VARDATA(out);
	bool		word_start = true;

	for (int i = 0; i < len;)
	{
		unsigned char c = (unsigned char) s[i];
		int			l = IS_HIGHBIT_SET(c) ? Min(pg_mblen(s + i), len - i) : 1;

		if (l == 1 && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-'))
		{
			*o++ = (char) c;
			word_start = true;
		}
		else if (word_start)
		{
			memcpy(o, s + i, l);
			o += l;
			word_start = false;
		}
		else
			*o++ = '*';
		i += l;
	}
	SET_VARSIZE(out, VARHDRSZ + (o - VARDATA(out)));
	PG_RETURN_TEXT_P(out);
}
