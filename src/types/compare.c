/*-------------------------------------------------------------------------
 *
 * compare.c
 *	  The national types' comparison, hash and min/max functions: the
 *	  built-in integer functions, called through functions of this library.
 *
 * A type's encoding is canonical and ordered (docs/types.md), so its
 * comparisons are the integer ones of its width.  Declared in SQL as
 * LANGUAGE internal aliases of int8eq and the like, they cost a linear
 * search by name of PostgreSQL's ~3,000 built-in functions each time the
 * executor prepares a call (fmgr_info: an alias is not in the table by
 * OID), at every execution of a plan that compares them: 12% of the
 * time of a consumer's loop of point lookups under a mixed rule
 * (docs/benchmarks.md).  A C function of this library is found by OID
 * in fmgr's hash table; each wrapper below hands its call to the built-in
 * function unchanged.
 *
 * src/types/compare.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/fmgrprotos.h"

/* govshare_<builtin>(PG_FUNCTION_ARGS): calls <builtin> with the same call */
#define GOVSHARE_BUILTIN(builtin) \
	PG_FUNCTION_INFO_V1(govshare_##builtin); \
	Datum \
	govshare_##builtin(PG_FUNCTION_ARGS) \
	{ \
		return builtin(fcinfo); \
	}

/* 8-byte types */
GOVSHARE_BUILTIN(int8eq)
GOVSHARE_BUILTIN(int8ne)
GOVSHARE_BUILTIN(int8lt)
GOVSHARE_BUILTIN(int8le)
GOVSHARE_BUILTIN(int8gt)
GOVSHARE_BUILTIN(int8ge)
GOVSHARE_BUILTIN(btint8cmp)
GOVSHARE_BUILTIN(btint8sortsupport)
GOVSHARE_BUILTIN(hashint8)
GOVSHARE_BUILTIN(hashint8extended)
GOVSHARE_BUILTIN(int8smaller)
GOVSHARE_BUILTIN(int8larger)

/* 4-byte types */
GOVSHARE_BUILTIN(int4eq)
GOVSHARE_BUILTIN(int4ne)
GOVSHARE_BUILTIN(int4lt)
GOVSHARE_BUILTIN(int4le)
GOVSHARE_BUILTIN(int4gt)
GOVSHARE_BUILTIN(int4ge)
GOVSHARE_BUILTIN(btint4cmp)
GOVSHARE_BUILTIN(btint4sortsupport)
GOVSHARE_BUILTIN(hashint4)
GOVSHARE_BUILTIN(hashint4extended)
GOVSHARE_BUILTIN(int4smaller)
GOVSHARE_BUILTIN(int4larger)
