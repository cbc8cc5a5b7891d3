/*-------------------------------------------------------------------------
 *
 * gs_types.h
 *	  The national types as the server sees them: SQL-callable wrappers.
 *
 * The free-standing parsing core is include/govshare_types.h (no server
 * headers; the fuzzers and client tools link it).  This header adds what
 * the server-side wrappers in src/types/fmgr.c offer other subsystems.
 *
 * src/types/gs_types.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_TYPES_H
#define GS_TYPES_H

#include "postgres.h"
#include "fmgr.h"

#include "govshare_types.h"

/* src/types/fmgr.c: SQL-callable wrappers shared by all the types */
extern void govshare_type_context(gs_context *ctx);
extern uint64 govshare_type_getarg(FunctionCallInfo fcinfo, int argno,
								   const gs_type *type);
extern Datum govshare_type_datum(const gs_type *type, uint64 v);
extern Datum govshare_type_in(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_out(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_recv(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_send(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_mask(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_generalize(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_form(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_from_int8(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_to_int8(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_text_datum(const char *s);
extern Datum govshare_type_code_text(int code, int ndigits);
extern const gs_type *govshare_type_lookup(Oid typid);

/*
 * Defines the SQL-callable functions every national type has, as thin
 * wrappers over the generic ones above: <t>_in, <t>_out, <t>_recv, <t>_send,
 * <t>_mask, <t>_generalize, <t>_form, <t>_from_int8, <t>_to_int8.
 */
#define GOVSHARE_TYPE_WRAPPER(t, what) \
	PG_FUNCTION_INFO_V1(t##_##what); \
	Datum \
	t##_##what(PG_FUNCTION_ARGS) \
	{ \
		return govshare_type_##what(fcinfo, &gs_##t##_type); \
	}

#define GOVSHARE_TYPE_FUNCTIONS(t) \
	GOVSHARE_TYPE_WRAPPER(t, in) \
	GOVSHARE_TYPE_WRAPPER(t, out) \
	GOVSHARE_TYPE_WRAPPER(t, recv) \
	GOVSHARE_TYPE_WRAPPER(t, send) \
	GOVSHARE_TYPE_WRAPPER(t, mask) \
	GOVSHARE_TYPE_WRAPPER(t, generalize) \
	GOVSHARE_TYPE_WRAPPER(t, form) \
	GOVSHARE_TYPE_WRAPPER(t, from_int8) \
	GOVSHARE_TYPE_WRAPPER(t, to_int8)

/* The argument of a national type, as its uint64 encoding. */
#define GOVSHARE_GETARG(t, n)	govshare_type_getarg(fcinfo, (n), &gs_##t##_type)
#define GOVSHARE_RETURN(t, v)	return govshare_type_datum(&gs_##t##_type, (v))

#endif							/* GS_TYPES_H */
