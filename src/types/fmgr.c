/*-------------------------------------------------------------------------
 *
 * fmgr.c
 *	  SQL-callable functions shared by every national type.
 *
 * Each type's file defines its wrappers with GOVSHARE_TYPE_FUNCTIONS; the
 * work is done here once: text and binary I/O, the disclosure transforms,
 * casts to and from bigint.  Errors name the type and the rule broken and
 * never quote the value (it may be another person's identifier).
 *
 * src/types/fmgr.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "common/gs_common.h"
#include "types/gs_types.h"

/*
 * Fills in what the parsers need to know: the current year, in the
 * session's time zone, as of the start of the transaction (so that every
 * row of one statement is judged alike).
 */
void
govshare_type_context(gs_context *ctx)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	if (timestamp2tm(GetCurrentTransactionStartTimestamp(), &tz, &tm, &fsec,
					 NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("current time is out of range")));
	ctx->current_year = tm.tm_year;
}

/* Argument argno of a national type, widened to its uint64 encoding. */
uint64
govshare_type_getarg(FunctionCallInfo fcinfo, int argno, const gs_type *type)
{
	if (type->width == 8)
		return (uint64) PG_GETARG_INT64(argno);
	return (uint64) (uint32) PG_GETARG_INT32(argno);
}

/* A Datum of a national type from its uint64 encoding. */
Datum
govshare_type_datum(const gs_type *type, uint64 v)
{
	if (type->width == 8)
		return Int64GetDatum((int64) v);
	return Int32GetDatum((int32) (uint32) v);
}

/* A text Datum from a C string. */
Datum
govshare_type_text_datum(const char *s)
{
	return PointerGetDatum(cstring_to_text(s));
}

/* A code as zero-padded text ("001"), the form code lists use. */
Datum
govshare_type_code_text(int code, int ndigits)
{
	char		buf[16];

	snprintf(buf, sizeof(buf), "%0*d", ndigits, code);
	return govshare_type_text_datum(buf);
}

/* Raises the error a parser described. */
static void
report(const gs_type *type, int sqlstate, const char *what, const gs_error *err)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid %s for type %s", what, type->name),
			 errdetail_internal("%s", err->detail),
			 err->hint[0] ? errhint("%s", err->hint) : 0));
}

/* <type>_in(cstring) */
Datum
govshare_type_in(FunctionCallInfo fcinfo, const gs_type *type)
{
	const char *s = PG_GETARG_CSTRING(0);
	gs_context	ctx;
	gs_error	err;
	uint64		v;

	govshare_type_context(&ctx);
	if (!type->parse(s, strlen(s), &ctx, &v, &err))
		report(type, ERRCODE_INVALID_TEXT_REPRESENTATION, "input", &err);
	return govshare_type_datum(type, v);
}

/* <type>_out(<type>) */
Datum
govshare_type_out(FunctionCallInfo fcinfo, const gs_type *type)
{
	uint64		v = govshare_type_getarg(fcinfo, 0, type);
	char		buf[GS_TEXT_MAX];

	/* Only a corrupted page can hold a value that does not format. */
	if (type->format(v, buf) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored value is not a valid %s", type->name)));
	PG_RETURN_CSTRING(pstrdup(buf));
}

/*
 * <type>_recv(internal): the binary form is the value's encoding, in network
 * byte order, 8 or 4 bytes.  Nothing is trusted: the value must be one that
 * text input would produce.
 */
Datum
govshare_type_recv(FunctionCallInfo fcinfo, const gs_type *type)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	gs_context	ctx;
	gs_error	err;
	uint64		v;

	if (buf->len - buf->cursor != type->width)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary input for type %s", type->name),
				 errdetail("The binary form has %d bytes; found %d.",
						   type->width, buf->len - buf->cursor)));
	if (type->width == 8)
		v = (uint64) pq_getmsgint64(buf);
	else
		v = (uint32) pq_getmsgint(buf, 4);

	govshare_type_context(&ctx);
	if (!gs_check_value(type, v, &ctx, &err))
		report(type, ERRCODE_INVALID_BINARY_REPRESENTATION, "binary input", &err);
	return govshare_type_datum(type, v);
}

/* <type>_send(<type>) */
Datum
govshare_type_send(FunctionCallInfo fcinfo, const gs_type *type)
{
	uint64		v = govshare_type_getarg(fcinfo, 0, type);
	StringInfoData buf;

	pq_begintypsend(&buf);
	if (type->width == 8)
		pq_sendint64(&buf, v);
	else
		pq_sendint32(&buf, (uint32) v);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* govshare.mask(<type>) */
Datum
govshare_type_mask(FunctionCallInfo fcinfo, const gs_type *type)
{
	return govshare_type_datum(type, type->mask(govshare_type_getarg(fcinfo, 0, type)));
}

/* govshare.generalize(<type>) */
Datum
govshare_type_generalize(FunctionCallInfo fcinfo, const gs_type *type)
{
	return govshare_type_datum(type,
							   type->generalize(govshare_type_getarg(fcinfo, 0, type)));
}

/*
 * govshare.disclosure_form(<type>) returns text: 'value', 'masked',
 * 'generalized' or 'pseudonym'.  The 4-byte types have value forms only.
 */
Datum
govshare_type_form(FunctionCallInfo fcinfo, const gs_type *type)
{
	static const char *const names[] = {"value", "masked", "generalized", "pseudonym"};
	uint64		v = govshare_type_getarg(fcinfo, 0, type);

	if (type->width == 4)
		return govshare_type_text_datum(names[GS_FORM_VALUE]);
	return govshare_type_text_datum(names[GS_FORM(v)]);
}

/* <type>(bigint): the number a value form is, validated as input is. */
Datum
govshare_type_from_int8(FunctionCallInfo fcinfo, const gs_type *type)
{
	int64		n = PG_GETARG_INT64(0);
	gs_context	ctx;
	gs_error	err;

	if (n < 0 || (uint64) n > GS_PAYLOAD_MASK)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("bigint out of range for type %s", type->name)));
	govshare_type_context(&ctx);
	if (!gs_check_value(type, GS_MAKE(GS_FORM_VALUE, n), &ctx, &err))
		report(type, ERRCODE_INVALID_PARAMETER_VALUE, "bigint", &err);
	return govshare_type_datum(type, GS_MAKE(GS_FORM_VALUE, n));
}

/* bigint(<type>): the number of a value form; disclosure forms have none. */
Datum
govshare_type_to_int8(FunctionCallInfo fcinfo, const gs_type *type)
{
	uint64		v = govshare_type_getarg(fcinfo, 0, type);

	if (GS_FORM(v) != GS_FORM_VALUE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot cast a disclosure form of type %s to bigint", type->name),
				 errdetail("Masked, generalized and pseudonymous values have no number.")));
	PG_RETURN_INT64((int64) GS_PAYLOAD(v));
}

/* Every national type, for lookups by name. */
static const gs_type *const all_types[] = {
	&gs_personal_id_type, &gs_tax_code_type, &gs_social_insurance_no_type,
	&gs_health_insurance_no_type, &gs_phone_number_type, &gs_admin_unit_type,
	&gs_partial_date_type,
};

/* The national type whose OID is typid (a domain over one counts), or NULL. */
const gs_type *
govshare_type_lookup(Oid typid)
{
	Oid			base = getBaseType(typid);
	const gs_type *found = NULL;
	HeapTuple	tup;
	Form_pg_type typ;

	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(base));
	if (!HeapTupleIsValid(tup))
		return NULL;
	typ = (Form_pg_type) GETSTRUCT(tup);
	if (typ->typnamespace == get_namespace_oid("govshare", true))
		for (int i = 0; i < lengthof(all_types); i++)
			if (strcmp(all_types[i]->name, NameStr(typ->typname)) == 0)
				found = all_types[i];
	ReleaseSysCache(tup);
	return found;
}

/*
 * The type typid, which an SQL caller may give as any number: an error
 * (42704) when no type has it, rather than the catalogs' internal one.
 */
static Oid
require_type(Oid typid)
{
	if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type with OID %u does not exist", typid)));
	return typid;
}

/*
 * govshare.is_valid(value text, type regtype) returns boolean: would value
 * be accepted as input of type?  For the national types the parser is
 * asked directly (no error is raised and no subtransaction is needed, so a
 * data-quality scan stays fast); a value in a disclosure form is not a valid
 * value.  For other types the type's input function runs in a
 * subtransaction, and only when its code, and that of everything the type
 * runs, belongs to a superuser or to the caller (src/common/trust.c): a
 * superuser's quality_report never runs a domain check of a lesser role.
 */
PG_FUNCTION_INFO_V1(govshare_is_valid);
Datum
govshare_is_valid(PG_FUNCTION_ARGS)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			typid = require_type(PG_GETARG_OID(1));
	const gs_type *type = govshare_type_lookup(typid);
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool ok = true;
	Oid			infunc;
	Oid			ioparam;
	const char *problem;
	Oid		   *trusted;

	if (type != NULL)
	{
		gs_context	ctx;
		gs_error	err;
		uint64		v;

		govshare_type_context(&ctx);
		PG_RETURN_BOOL(type->parse(s, strlen(s), &ctx, &v, &err) &&
					   GS_FORM(v) == GS_FORM_VALUE);
	}

	/*
	 * The input function runs as the caller: only a superuser's or its own.
	 * Checked once per call site and type (a report calls this per row).
	 */
	trusted = (Oid *) fcinfo->flinfo->fn_extra;
	problem = NULL;
	if (trusted == NULL || trusted[0] != typid || trusted[1] != GetUserId())
		problem = govshare_type_problem(typid, GetUserId());
	if (problem == NULL && trusted == NULL)
		trusted = fcinfo->flinfo->fn_extra =
			MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, 2 * sizeof(Oid));
	if (problem == NULL)
	{
		trusted[0] = typid;
		trusted[1] = GetUserId();
	}
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("govshare.is_valid will not run the input of type %s as role \"%s\"",
						format_type_be(typid), GetUserNameFromId(GetUserId(), false)),
				 errdetail("%c%s.", pg_toupper((unsigned char) problem[0]), problem + 1),
				 errhint("Run it as the type's owner, or have a superuser take ownership of the type.")));
	getTypeInputInfo(typid, &infunc, &ioparam);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		(void) OidInputFunctionCall(infunc, s, ioparam, -1);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		/* Only data errors mean "not valid"; anything else is re-raised. */
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	PG_RETURN_BOOL(ok);
}

/*
 * govshare.is_valid(value bigint, type regtype) returns boolean: would the
 * number cast to the national type (personal_id, social_insurance_no,
 * phone_number: those whose bigint cast is the number itself)?
 */
PG_FUNCTION_INFO_V1(govshare_is_valid_number);
Datum
govshare_is_valid_number(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	const gs_type *type = govshare_type_lookup(require_type(PG_GETARG_OID(1)));
	gs_context	ctx;
	gs_error	err;

	if (type == NULL || type->width != 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("type %s is not an 8-byte govshare type",
						format_type_be(PG_GETARG_OID(1)))));
	if (n < 0 || (uint64) n > GS_PAYLOAD_MASK)
		PG_RETURN_BOOL(false);
	govshare_type_context(&ctx);
	PG_RETURN_BOOL(gs_check_value(type, GS_MAKE(GS_FORM_VALUE, n), &ctx, &err));
}
