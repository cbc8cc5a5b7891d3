/*-------------------------------------------------------------------------
 *
 * pseudonym.c
 *	  Keyed pseudonyms: a keyed permutation (FF1) of a national value's
 *	  encoding, or HMAC-SHA256 of a text, under a key of the consumer
 *	  agency; and the bounds that turn a consumer's comparison with a
 *	  pseudonym into a lookup of the value in the column's index.
 *
 * The server keeps one secret, in the file named by
 * govshare.pseudonym_key_file (at least 32 bytes, readable by the server
 * only).  Each consumer agency gets its own key, derived from the secret
 * and the agency's code, so that the same value gives the same pseudonym
 * to the same agency across sessions and restarts, while two agencies get
 * pseudonyms that cannot be linked.
 *
 * No SQL function lets a consumer compute pseudonyms of values it chooses
 * (that would turn pseudonyms back into values by dictionary search).  The
 * SQL function govshare.pseudonym(anyelement, text) exists because every
 * expression in a plan is a call of a catalogued function, but it only
 * runs when its call node carries a mark that SQL cannot produce: the
 * enforcement (src/enforce.c) builds the call with funcformat
 * COERCE_SQL_SYNTAX, which the parser sets only for special SQL syntax of
 * pg_catalog functions.  Called any other way it raises an error.
 *
 * A value of an 8-byte national type in value form, whose 61-bit payload
 * is below 2^59 (every valid value's is), has as pseudonym payload its
 * payload enciphered with FF1 (radix 2, 59 bits, AES-256 under a key
 * derived from the agency's, the tweak naming the type): bit 59 clear.
 * Anything else the column may hold (a disclosure form stored as such)
 * gets 59 bits of the HMAC, bit 59 set.  So a pseudonym names its value:
 * the server can decipher it, so that "pseudonym(col) = x" reaches the
 * index of col.  The enforcement (src/enforce/implied.c) adds
 * govshare.pseudonym_eq(<raw col>, x, agency), whose support function
 * offers the index the bounds govshare.pseudonym_lower() and
 * govshare.pseudonym_upper() compute; for an IN list of pseudonyms,
 * govshare.pseudonym_any(<raw col>, xs, agency), whose support function
 * offers "<raw col> = ANY(govshare.pseudonym_values(xs, agency))".  All
 * of them are guarded like govshare.pseudonym(): they decipher what the
 * consumer may not see.
 *
 * src/pseudonym.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "access/stratnum.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/primnodes.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "enforce/enforce_internal.h"
#include "types/gs_types.h"

/* The longest secret the key file may hold (src/common/keyfile.c). */
#define SECRET_MAX		1024
/* Bytes of the HMAC a text pseudonym keeps: 120 bits, 24 base32 digits. */
#define TEXT_PSEUDONYM_BYTES 15
/* The bits FF1 enciphers; bit 59 of a pseudonym marks the HMAC ones. */
#define KEYED_BITS		(GS_PSEUDONYM_BITS - 1)
#define HMAC_MARK		(UINT64_C(1) << KEYED_BITS)
/* Bytes of the FF1 tweak: a digest of the type's name. */
#define TWEAK_BYTES		8

/* The secret as read, and the file it was read from. */
static unsigned char secret[SECRET_MAX];
static int	secret_len = 0;
static char *secret_path = NULL;

/* Derived keys, one per agency seen by this backend. */
typedef struct AgencyKey
{
	char	   *agency;
	unsigned char key[32];
	struct evp_cipher_ctx_st *ff1;	/* AES for FF1, keyed from key; NULL until used */
	struct AgencyKey *next;
} AgencyKey;

static AgencyKey *agency_keys = NULL;

/*
 * The last pseudonym deciphered in this backend and its value: the call
 * sites of a lookup (its two bounds, and pseudonym_eq) each ask for it.
 */
static const AgencyKey *deciphered_key = NULL;
static const gs_type *deciphered_type = NULL;
static uint64 deciphered_bits;
static uint64 deciphered_value;

/*
 * The last array of pseudonyms deciphered in this backend
 * (pseudonym_values), in its own memory context: the index scans of a
 * partitioned table's partitions each ask for the same array.
 */
static MemoryContext deciphered_array_cxt = NULL;
static const AgencyKey *deciphered_array_key = NULL;
static ArrayType *deciphered_array_of = NULL;	/* the pseudonyms */
static ArrayType *deciphered_array = NULL;	/* their values */

static AgencyKey *agency_key(const char *agency);

/* Empties the cache of pseudonym_values, its values zeroed first. */
static void
forget_deciphered_array(void)
{
	deciphered_array_key = NULL;
	if (deciphered_array != NULL)
		explicit_bzero(ARR_DATA_PTR(deciphered_array),
					   ArrayGetNItems(ARR_NDIM(deciphered_array), ARR_DIMS(deciphered_array)) *
					   sizeof(int64));
	deciphered_array = NULL;
	deciphered_array_of = NULL;
	if (deciphered_array_cxt != NULL)
		MemoryContextReset(deciphered_array_cxt);
}

/*
 * Forgets the secret and the derived keys: govshare.pseudonym_key_file
 * changed (its assign hook, src/guc.c).
 */
void
govshare_pseudonym_forget_keys(void)
{
	while (agency_keys != NULL)
	{
		AgencyKey  *k = agency_keys;

		agency_keys = k->next;
		explicit_bzero(k->key, sizeof(k->key));
		if (k->ff1 != NULL)
			EVP_CIPHER_CTX_free(k->ff1);
		pfree(k->agency);
		pfree(k);
	}
	deciphered_key = NULL;
	deciphered_value = 0;
	forget_deciphered_array();
	explicit_bzero(secret, sizeof(secret));
	secret_len = 0;
	if (secret_path)
		pfree(secret_path);
	secret_path = NULL;
}

/* Reads the secret from the key file (src/keyfile.c checks who may read it). */
static void
load_secret(void)
{
	unsigned char *buf;
	size_t		len;

	if (secret_len > 0)
		return;
	buf = govshare_keyfile_read(GOVSHARE_KEY_PSEUDONYM,
								"A sharing rule discloses a column as a pseudonym, and pseudonyms are keyed.",
								&len);
	memcpy(secret, buf, len);
	explicit_bzero(buf, len);
	pfree(buf);
	secret_len = (int) len;
	secret_path = MemoryContextStrdup(TopMemoryContext, govshare_pseudonym_key_file);
}

/*
 * The pseudonym key of agency: HMAC-SHA256(secret, "govshare pseudonym key"
 * NUL agency).  Raises an error when the secret cannot be read; the
 * enforcement calls it while planning, so that a missing key stops the
 * statement before any row is read.
 */
const unsigned char *
govshare_pseudonym_key(const char *agency)
{
	return agency_key(agency)->key;
}

/* The derived key of agency, made on first use (see govshare_pseudonym_key). */
static AgencyKey *
agency_key(const char *agency)
{
	static const char label[] = "govshare pseudonym key";
	AgencyKey  *k;
	StringInfoData input;

	for (k = agency_keys; k != NULL; k = k->next)
		if (strcmp(k->agency, agency) == 0)
			return k;
	load_secret();
	initStringInfo(&input);
	appendBinaryStringInfo(&input, label, sizeof(label));	/* with its NUL */
	appendStringInfoString(&input, agency);
	k = MemoryContextAllocZero(TopMemoryContext, sizeof(AgencyKey));
	govshare_hmac_sha256(secret, secret_len, (unsigned char *) input.data, input.len, k->key);
	pfree(input.data);
	k->agency = MemoryContextStrdup(TopMemoryContext, agency);
	k->next = agency_keys;
	agency_keys = k;
	return k;
}

/*
 * The AES context of agency's FF1 key: HMAC-SHA256(agency's key, "govshare
 * pseudonym ff1"), so that no key serves both HMAC and AES.
 */
static struct evp_cipher_ctx_st *
agency_ff1(const char *agency)
{
	static const char label[] = "govshare pseudonym ff1";
	AgencyKey  *k = agency_key(agency);
	unsigned char ff1_key[32];

	if (k->ff1 != NULL)
		return k->ff1;
	govshare_ff1_self_test();
	govshare_hmac_sha256(k->key, sizeof(k->key), label, sizeof(label) - 1, ff1_key);
	k->ff1 = govshare_ff1_context(ff1_key, sizeof(ff1_key));
	explicit_bzero(ff1_key, sizeof(ff1_key));
	return k->ff1;
}

/*
 * The FF1 tweak of a type: the first TWEAK_BYTES of SHA-256 of its name,
 * kept for the few types seen.
 */
static void
type_tweak(const gs_type *type, unsigned char *tweak)
{
	static struct
	{
		const gs_type *type;
		unsigned char tweak[TWEAK_BYTES];
	}			seen[8];
	static int	nseen = 0;
	unsigned char digest[GOVSHARE_HASH_LEN];

	for (int i = 0; i < nseen; i++)
		if (seen[i].type == type)
		{
			memcpy(tweak, seen[i].tweak, TWEAK_BYTES);
			return;
		}
	govshare_sha256(type->name, strlen(type->name), digest);
	memcpy(tweak, digest, TWEAK_BYTES);
	if (nseen < lengthof(seen))
	{
		seen[nseen].type = type;
		memcpy(seen[nseen++].tweak, digest, TWEAK_BYTES);
	}
}

/* Can values of typid be pseudonymised? */
bool
govshare_pseudonym_supported(Oid typid)
{
	const gs_type *type;

	if (typid == TEXTOID || typid == VARCHAROID)
		return true;
	type = govshare_type_lookup(typid);
	return type != NULL && type->width == 8;
}

/*
 * The HMAC of a value in its canonical form: the type's name, a NUL, then
 * the value's bytes (the 8-byte encoding in network order, or the text).
 */
static void
value_hmac(const char *agency, const char *typname, const char *bytes, size_t len,
		   unsigned char *out)
{
	StringInfoData input;

	initStringInfo(&input);
	appendBinaryStringInfo(&input, typname, strlen(typname) + 1);
	appendBinaryStringInfo(&input, bytes, len);
	govshare_hmac_sha256(govshare_pseudonym_key(agency), 32, (unsigned char *) input.data,
				input.len, out);
	pfree(input.data);
}

/*
 * The 60 bits of the pseudonym of v, an 8-byte value of type, for agency:
 * FF1 of its payload when it is a value form below 2^59, else 59 bits of
 * the HMAC of its encoding with bit 59 set.
 *
 * The value last deciphered (decipher) has the pseudonym it came from: FF1
 * is a permutation, so enciphering it again gives those bits back.  A
 * consumer's lookup by pseudonym asks for both on the row it finds, the
 * implied condition deciphering the pseudonym and the comparison itself
 * enciphering the row's value.
 */
static uint64
pseudonym_bits(const char *agency, const gs_type *type, uint64 v)
{
	unsigned char mac[32];
	char		bytes[8];
	uint64		bits = 0;

	if (v < HMAC_MARK)			/* a value form below 2^59, bit 63 clear */
	{
		unsigned char tweak[TWEAK_BYTES];

		if (deciphered_key != NULL && deciphered_type == type &&
			deciphered_value == GS_PAYLOAD(v) && deciphered_key == agency_key(agency))
			return deciphered_bits;
		type_tweak(type, tweak);
		return govshare_ff1(agency_ff1(agency), true, 2, KEYED_BITS, tweak, TWEAK_BYTES,
							GS_PAYLOAD(v));
	}
	for (int i = 0; i < 8; i++)
		bytes[i] = (char) (v >> (56 - 8 * i));
	value_hmac(agency, type->name, bytes, 8, mac);
	for (int i = 0; i < 8; i++)
		bits = (bits << 8) | mac[i];
	return HMAC_MARK | (bits >> (64 - KEYED_BITS));
}

/*
 * What a call site keeps (fn_extra): that it was checked, and the last
 * value whose bounds it computed (pseudonym_bounds).
 */
typedef struct PseudonymCall
{
	const gs_type *type;		/* of the value argument, once known */
	bool		known;			/* lower, upper are those of value */
	uint64		value;
	int64		lower;
	int64		upper;
	/* pseudonym_any: the array last seen (a copy), and what it names */
	ArrayType  *array_of;
	int64	   *values;
	int			nvalues;
} PseudonymCall;

/*
 * Checks a call once per call site: the mark, the agency (the last
 * argument, a constant, as the enforcement writes it) and that it is the
 * session's.  Returns the call site's cache.
 */
static PseudonymCall *
check_call(FunctionCallInfo fcinfo, const char *agency, const char *what)
{
	FuncExpr   *call = (FuncExpr *) fcinfo->flinfo->fn_expr;

	if (fcinfo->flinfo->fn_extra != NULL)
		return (PseudonymCall *) fcinfo->flinfo->fn_extra;
	if (call == NULL || !IsA(call, FuncExpr) || call->funcformat != COERCE_SQL_SYNTAX ||
		!get_fn_expr_arg_stable(fcinfo->flinfo, list_length(call->args) - 1))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s cannot be called directly", what),
				 errdetail("Pseudonyms are computed by the server for the columns a sharing rule discloses as pseudonyms."),
				 errhint("Read the column: the sharing rules decide its form.")));
	if (!govshare_consumer_is(agency))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("pseudonyms of agency \"%s\" are not for this session", agency)));
	fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
													  sizeof(PseudonymCall));
	return (PseudonymCall *) fcinfo->flinfo->fn_extra;
}

/*
 * govshare.pseudonym(value anyelement, agency text) returns anyelement
 *
 * The pseudonym of value for agency, of value's own type: for the 8-byte
 * national types the pseudonym form (60 keyed bits, printed "~" and 12
 * base32 digits); for text, "~" and 24 base32 digits (120 keyed bits).
 */
PG_FUNCTION_INFO_V1(govshare_pseudonym);
Datum
govshare_pseudonym(PG_FUNCTION_ARGS)
{
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 0);
	char	   *agency = text_to_cstring(PG_GETARG_TEXT_PP(1));
	unsigned char mac[32];
	const gs_type *type;

	check_call(fcinfo, agency, "govshare.pseudonym()");
	if (typid == TEXTOID || typid == VARCHAROID)
	{
		text	   *t = PG_GETARG_TEXT_PP(0);
		char		out[1 + TEXT_PSEUDONYM_BYTES * 8 / 5 + 1];
		uint64		acc = 0;
		int			bits = 0;
		int			o = 0;

		value_hmac(agency, "text", VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), mac);
		out[o++] = '~';
		for (int i = 0; i < TEXT_PSEUDONYM_BYTES; i++)
		{
			acc = (acc << 8) | mac[i];
			bits += 8;
			while (bits >= 5)
			{
				out[o++] = gs_base32[(acc >> (bits - 5)) & 31];
				bits -= 5;
			}
		}
		out[o] = '\0';
		PG_RETURN_TEXT_P(cstring_to_text(out));
	}
	type = govshare_type_lookup(typid);
	if (type == NULL || type->width != 8)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("type %s has no pseudonyms", format_type_be(typid))));
	return govshare_type_datum(type, GS_MAKE(GS_FORM_PSEUDONYM,
											 pseudonym_bits(agency, type,
															govshare_type_getarg(fcinfo, 0, type))));
}

/*
 * What the pseudonym x (an 8-byte encoding) names: one value form, which
 * FF1 deciphers (bit 59 clear); any encoding at all, for the HMAC ones
 * (the encodings from 2^59 up, and the negative ones that no valid value
 * has); or nothing, when x is no pseudonym.
 */
GsPseudonymNames
govshare_pseudonym_names(uint64 x)
{
	uint64		bits = GS_PAYLOAD(x);

	if (GS_FORM(x) != GS_FORM_PSEUDONYM || (bits >> GS_PSEUDONYM_BITS) != 0)
		return GS_NAMES_NOTHING;
	return (bits & HMAC_MARK) ? GS_NAMES_ANY : GS_NAMES_VALUE;
}

/*
 * The value form the pseudonym x (naming one: GS_NAMES_VALUE) of type
 * deciphers to for agency.  The last one is kept: the lower bound, the
 * upper one and pseudonym_eq of a lookup ask for the same x.
 */
static uint64
decipher(const char *agency, const gs_type *type, uint64 x)
{
	AgencyKey  *key = agency_key(agency);
	uint64		bits = GS_PAYLOAD(x);
	unsigned char tweak[TWEAK_BYTES];

	if (deciphered_key != key || deciphered_type != type || deciphered_bits != bits)
	{
		type_tweak(type, tweak);
		deciphered_value = govshare_ff1(agency_ff1(agency), false, 2, KEYED_BITS,
										tweak, TWEAK_BYTES, bits);
		deciphered_key = key;
		deciphered_type = type;
		deciphered_bits = bits;
	}
	return GS_MAKE(GS_FORM_VALUE, deciphered_value);
}

/* The national type of argument argno of an 8-byte type, or an error. */
static const gs_type *
pseudonym_arg_type(FunctionCallInfo fcinfo, int argno, bool array)
{
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, argno);
	const gs_type *type;

	if (array)
		typid = get_element_type(typid);
	type = govshare_type_lookup(typid);
	if (type == NULL || type->width != 8)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("type %s has no pseudonyms", format_type_be(typid))));
	return type;
}

/*
 * The call site of a function whose argument argno is a value of an
 * 8-byte type (an array of them when array) and argument agency_arg its
 * agency: checked on its first call (check_call), its type kept.
 */
static PseudonymCall *
checked_site(FunctionCallInfo fcinfo, int argno, bool array, int agency_arg, const char *what)
{
	PseudonymCall *site = (PseudonymCall *) fcinfo->flinfo->fn_extra;

	if (site == NULL)
	{
		const gs_type *type = pseudonym_arg_type(fcinfo, argno, array);

		site = check_call(fcinfo, text_to_cstring(PG_GETARG_TEXT_PP(agency_arg)), what);
		site->type = type;
	}
	return site;
}

/*
 * The bounds on a raw column of an 8-byte type that "pseudonym(col) = x"
 * implies, for agency (int64 encodings, lower > upper when nothing
 * matches), argument value_arg being x: the value x names, twice, or
 * every encoding, or nothing (govshare_pseudonym_names).  Kept per call
 * site: a scan evaluates them with one x.
 */
static void
pseudonym_bounds(FunctionCallInfo fcinfo, int value_arg, int64 *lower, int64 *upper,
				 const char *what)
{
	PseudonymCall *site = checked_site(fcinfo, value_arg, false, value_arg + 1, what);
	uint64		x;

	x = govshare_type_getarg(fcinfo, value_arg, site->type);
	if (site->known && site->value == x)
	{
		*lower = site->lower;
		*upper = site->upper;
		return;
	}
	switch (govshare_pseudonym_names(x))
	{
		case GS_NAMES_NOTHING:
			*lower = PG_INT64_MAX;
			*upper = PG_INT64_MIN;
			break;
		case GS_NAMES_ANY:
			*lower = PG_INT64_MIN;
			*upper = PG_INT64_MAX;
			break;
		case GS_NAMES_VALUE:
			*lower = *upper = (int64) decipher(text_to_cstring(PG_GETARG_TEXT_PP(value_arg + 1)),
											   site->type, x);
			break;
	}
	site->known = true;
	site->value = x;
	site->lower = *lower;
	site->upper = *upper;
}

/*
 * govshare.pseudonym_lower(value anyelement, agency text) returns anyelement
 * govshare.pseudonym_upper(value anyelement, agency text) returns anyelement
 *
 * The lower and upper bound of pseudonym_bounds(): the index conditions
 * that pseudonym_support() offers for govshare.pseudonym_eq.  STABLE, so
 * that no plan holds the value they return; LEAKPROOF, since they read
 * only their arguments, the consumer's own value and its agency.
 */
PG_FUNCTION_INFO_V1(govshare_pseudonym_lower);
Datum
govshare_pseudonym_lower(PG_FUNCTION_ARGS)
{
	int64		lower;
	int64		upper;

	pseudonym_bounds(fcinfo, 0, &lower, &upper, "govshare.pseudonym_lower()");
	PG_RETURN_INT64(lower);
}

PG_FUNCTION_INFO_V1(govshare_pseudonym_upper);
Datum
govshare_pseudonym_upper(PG_FUNCTION_ARGS)
{
	int64		lower;
	int64		upper;

	pseudonym_bounds(fcinfo, 0, &lower, &upper, "govshare.pseudonym_upper()");
	PG_RETURN_INT64(upper);
}

/*
 * govshare.pseudonym_eq(raw anyelement, value anyelement, agency text) returns boolean
 *
 * Does raw lie within the bounds of value (pseudonym_bounds)?  True
 * whenever the pseudonym of raw for agency is value: the condition the
 * rewrite adds to a consumer's "pseudonym(col) = value" (implied.c).  One
 * boolean, both bounds compared without short-circuit, so that its time
 * on a row does not depend on where raw sorts against the deciphered
 * value; and a function call, which PostgreSQL never uses to prune
 * partitions.  Its support function offers the bounds to the column's
 * index.
 */
PG_FUNCTION_INFO_V1(govshare_pseudonym_eq);
Datum
govshare_pseudonym_eq(PG_FUNCTION_ARGS)
{
	int64		raw = PG_GETARG_INT64(0);
	int64		lower;
	int64		upper;

	pseudonym_bounds(fcinfo, 1, &lower, &upper, "govshare.pseudonym_eq()");
	PG_RETURN_BOOL((raw >= lower) & (raw <= upper));
}

/*
 * The value forms the pseudonyms of value forms in the array a, of type,
 * decipher to for agency (*n of them, in the current memory context); the
 * NULLs, the HMAC pseudonyms and what is no pseudonym are left out.
 */
static int64 *
decipher_array(const char *agency, const gs_type *type, ArrayType *a, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			count;
	int64	   *values;
	unsigned char tweak[TWEAK_BYTES];
	struct evp_cipher_ctx_st *ff1 = NULL;

	govshare_fullform_deconstruct(a, &elems, &nulls, &count);
	values = palloc(sizeof(int64) * Max(count, 1));
	*n = 0;
	type_tweak(type, tweak);
	for (int i = 0; i < count; i++)
	{
		uint64		x;

		if (nulls[i])
			continue;
		x = (uint64) DatumGetInt64(elems[i]);
		if (govshare_pseudonym_names(x) != GS_NAMES_VALUE)
			continue;
		if (ff1 == NULL)
			ff1 = agency_ff1(agency);
		values[(*n)++] = (int64) GS_MAKE(GS_FORM_VALUE,
										 govshare_ff1(ff1, false, 2, KEYED_BITS, tweak,
													  TWEAK_BYTES, GS_PAYLOAD(x)));
	}
	pfree(elems);
	pfree(nulls);
	return values;
}

/* Are two arrays the same bytes (their element type included)? */
static bool
same_array(ArrayType *a, ArrayType *b)
{
	return a != NULL && b != NULL && VARSIZE(a) == VARSIZE(b) && memcmp(a, b, VARSIZE(a)) == 0;
}

/*
 * govshare.pseudonym_any(raw anyelement, values anyarray, agency text) returns boolean
 *
 * Is raw one of the value forms the pseudonyms of value forms among
 * values decipher to?  True whenever the pseudonym of raw for agency is
 * one of those: with pseudonym_eq of an HMAC pseudonym among values
 * (pseudonym_hmac_pick), the condition the rewrite adds to a consumer's
 * "pseudonym(col) IN (...)" or "= ANY($1)" (implied.c).  Every value is
 * compared, found or not, so that its time on a row does not depend on
 * raw.  Its support function offers the index "raw =
 * ANY(pseudonym_values(values, agency))", the same values.
 */
PG_FUNCTION_INFO_V1(govshare_pseudonym_any);
Datum
govshare_pseudonym_any(PG_FUNCTION_ARGS)
{
	int64		raw = PG_GETARG_INT64(0);
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(1);
	PseudonymCall *site = checked_site(fcinfo, 1, true, 2, "govshare.pseudonym_any()");
	bool		found;

	if (!same_array(site->array_of, a))
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (site->array_of != NULL)
		{
			pfree(site->array_of);
			pfree(site->values);
			site->array_of = NULL;
		}
		site->values = decipher_array(text_to_cstring(PG_GETARG_TEXT_PP(2)), site->type, a,
									  &site->nvalues);
		site->array_of = (ArrayType *) palloc(VARSIZE(a));
		memcpy(site->array_of, a, VARSIZE(a));
		MemoryContextSwitchTo(old);
	}
	found = false;
	for (int i = 0; i < site->nvalues; i++)
		found |= (raw == site->values[i]);
	PG_RETURN_BOOL(found);
}

/*
 * govshare.pseudonym_values(values anyarray, agency text) returns anyarray
 *
 * The value forms the pseudonyms of value forms among values decipher to
 * for agency (decipher_array): the array of the index condition
 * pseudonym_support() offers for pseudonym_any.  VOLATILE, unlike its siblings: PostgreSQL estimates "=
 * ANY" of a STABLE array by computing it (scalararraysel), and a plan must
 * not depend on what the consumer's pseudonyms decipher to.  Evaluated
 * when an index scan starts; the last array is kept for the backend, so
 * that the scans of a partitioned table's partitions decipher it once.
 */
PG_FUNCTION_INFO_V1(govshare_pseudonym_values);
Datum
govshare_pseudonym_values(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	char	   *agency = text_to_cstring(PG_GETARG_TEXT_PP(1));
	PseudonymCall *site = checked_site(fcinfo, 0, true, 1, "govshare.pseudonym_values()");
	AgencyKey  *key = agency_key(agency);

	if (deciphered_array_key != key || !same_array(deciphered_array_of, a))
	{
		int			n;
		int64	   *values;
		Datum	   *elems;
		MemoryContext old;

		if (deciphered_array_cxt == NULL)
			deciphered_array_cxt = AllocSetContextCreate(TopMemoryContext,
														 "govshare deciphered pseudonyms",
														 ALLOCSET_SMALL_SIZES);
		forget_deciphered_array();
		values = decipher_array(agency, site->type, a, &n);
		elems = palloc(sizeof(Datum) * Max(n, 1));
		for (int i = 0; i < n; i++)
			elems[i] = Int64GetDatum(values[i]);
		old = MemoryContextSwitchTo(deciphered_array_cxt);
		deciphered_array = n == 0 ? construct_empty_array(ARR_ELEMTYPE(a)) :
			construct_array(elems, n, ARR_ELEMTYPE(a), 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
		deciphered_array_of = (ArrayType *) palloc(VARSIZE(a));
		memcpy(deciphered_array_of, a, VARSIZE(a));
		MemoryContextSwitchTo(old);
		deciphered_array_key = key;
		pfree(elems);
		pfree(values);
	}
	PG_RETURN_ARRAYTYPE_P(DatumGetArrayTypePCopy(PointerGetDatum(deciphered_array)));
}

/*
 * govshare.pseudonym_hmac_pick(values anyarray) returns anyelement
 *
 * An HMAC pseudonym among values, or NULL: the value of the pseudonym_eq
 * that the rewrite ORs with pseudonym_any for an array known only at
 * execution, whose bounds are then every encoding (or nothing, NULL).  It
 * reads only bit 59 of the consumer's own values, which the pseudonym
 * shows, and deciphers nothing: callable by anyone.
 */
PG_FUNCTION_INFO_V1(govshare_pseudonym_hmac_pick);
Datum
govshare_pseudonym_hmac_pick(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	(void) pseudonym_arg_type(fcinfo, 0, true);
	govshare_fullform_deconstruct(a, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i] && govshare_pseudonym_names((uint64) DatumGetInt64(elems[i])) == GS_NAMES_ANY)
			PG_RETURN_DATUM(elems[i]);
	PG_RETURN_NULL();
}

/* A call of govshare.<name>(value, agency), with the mark check_call wants. */
static Node *
bound_call(const char *name, Oid typid, Node *value, Node *agency)
{
	Oid			args[2] = {ANYELEMENTOID, TEXTOID};

	return govshare_enforce_call(name, args, typid, list_make2(copyObject(value), copyObject(agency)),
								 COERCE_SQL_SYNTAX);
}

/*
 * SupportRequestIndexCondition for pseudonym_any(raw, values, agency):
 * "raw = ANY(pseudonym_values(values, agency))", one index scan over the
 * values the pseudonyms name, computed when the scan starts.  Exact, but
 * lossy as pseudonym_eq's.
 */
static List *
pseudonym_any_conditions(SupportRequestIndexCondition *req, Oid typid, Node *raw, Node *values,
						 Node *agency)
{
	Oid			arg_types[2] = {ANYARRAYOID, TEXTOID};
	Oid			eq = get_opfamily_member(req->opfamily, typid, typid, BTEqualStrategyNumber);
	Node	   *deciphered;
	ScalarArrayOpExpr *saop;

#if PG_VERSION_NUM < 170000
	/*
	 * Before PostgreSQL 17 a btree scan with "= ANY" on a column after the
	 * first returns its rows by array element, and the planner, which sees
	 * our function call rather than an "= ANY", would take them to be in
	 * the index's order (build_index_paths).
	 */
	if (req->indexcol != 0)
		return NIL;
#endif
	if (!OidIsValid(eq))
		return NIL;
	deciphered = govshare_enforce_call("pseudonym_values", arg_types, exprType(values),
									   list_make2(copyObject(values), copyObject(agency)),
									   COERCE_SQL_SYNTAX);
	if (deciphered == NULL)
		return NIL;
	saop = makeNode(ScalarArrayOpExpr);
	saop->opno = eq;
	saop->opfuncid = get_opcode(eq);
	saop->useOr = true;
	saop->inputcollid = InvalidOid;
	saop->args = list_make2(copyObject(raw), deciphered);
	saop->location = -1;
	req->lossy = true;
	return list_make1(saop);
}

/*
 * SupportRequestIndexCondition for pseudonym_eq(raw, value, agency) on a
 * btree index of raw: "raw >= pseudonym_lower(value, agency) AND raw <=
 * pseudonym_upper(value, agency)", the bounds computed when the scan
 * starts (value is a constant, a parameter or a column of another
 * relation: a nested loop's parameter).  Exact, but marked lossy all the
 * same: pseudonym_eq is checked again on the rows found.
 */
static List *
pseudonym_index_conditions(SupportRequestIndexCondition *req)
{
	FuncExpr   *call = (FuncExpr *) req->node;
	Node	   *raw;
	Node	   *value;
	Node	   *agency;
	Oid			typid;
	Oid			opclass;
	Oid			ge;
	Oid			le;
	Node	   *low;
	Node	   *high;
	Expr	   *conds[2];

	/*
	 * Only the enforcement's own calls: the conditions below are marked, so
	 * that they run, and offering them for a call the consumer wrote (over
	 * an indexed table of its own, its own call refused only when a row
	 * reaches it) would decipher a pseudonym of its choice.
	 */
	if (!IsA(call, FuncExpr) || call->funcformat != COERCE_SQL_SYNTAX ||
		req->indexarg != 0 || list_length(call->args) != 3)
		return NIL;
	raw = linitial(call->args);
	value = lsecond(call->args);
	agency = lthird(call->args);
	if (!IsA(agency, Const) || ((Const *) agency)->constisnull ||
		!govshare_consumer_is(TextDatumGetCString(((Const *) agency)->constvalue)))
		return NIL;
	typid = exprType(raw);
	opclass = GetDefaultOpClass(typid, BTREE_AM_OID);
	if (!govshare_fullform_type(typid) || req->index->relam != BTREE_AM_OID ||
		!OidIsValid(opclass) || req->opfamily != get_opclass_family(opclass))
		return NIL;
	/* the value must be known before the scan: no Var of the indexed rel */
	if (bms_is_member(req->index->rel->relid, pull_varnos(req->root, value)) ||
		contain_volatile_functions(value) || !IsA(agency, Const))
		return NIL;
	if (type_is_array(exprType(value)))
		return pseudonym_any_conditions(req, typid, raw, value, agency);
	ge = get_opfamily_member(req->opfamily, typid, typid, BTGreaterEqualStrategyNumber);
	le = get_opfamily_member(req->opfamily, typid, typid, BTLessEqualStrategyNumber);
	low = bound_call("pseudonym_lower", typid, value, agency);
	high = bound_call("pseudonym_upper", typid, value, agency);
	if (!OidIsValid(ge) || !OidIsValid(le) || low == NULL || high == NULL)
		return NIL;
	conds[0] = make_opclause(ge, BOOLOID, false, (Expr *) copyObject(raw), (Expr *) low,
							 InvalidOid, InvalidOid);
	conds[1] = make_opclause(le, BOOLOID, false, (Expr *) copyObject(raw), (Expr *) high,
							 InvalidOid, InvalidOid);
	((OpExpr *) conds[0])->opfuncid = get_opcode(ge);
	((OpExpr *) conds[1])->opfuncid = get_opcode(le);
	req->lossy = true;
	return list_make2(conds[0], conds[1]);
}

/*
 * The selectivity of pseudonym_eq: an equality of raw with an unknown
 * value, from raw's statistics alone; of pseudonym_any, one such equality
 * per element.  The bounds are never computed here: they are the
 * deciphered value, and an estimate made from it (an MCV, a histogram's
 * bucket) would shape the plan by a value the consumer may not know.
 */
static Selectivity
pseudonym_selectivity(SupportRequestSelectivity *req)
{
	VariableStatData vardata;
	Selectivity s;
	Node	   *values = lsecond(req->args);
	int			n = 1;

	/* pseudonym_any: as many equalities as the array has elements */
	if (type_is_array(exprType(values)))
	{
		n = 10;					/* PostgreSQL's guess for an array it cannot see */
		if (IsA(values, Const) && !((Const *) values)->constisnull)
		{
			ArrayType  *a = DatumGetArrayTypeP(((Const *) values)->constvalue);

			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		}
	}
	examine_variable(req->root, linitial(req->args), req->is_join ? 0 : req->varRelid, &vardata);
	s = govshare_fullform_unknown_equality(&vardata) * n;
	ReleaseVariableStats(vardata);
	CLAMP_PROBABILITY(s);
	return s;
}

/*
 * govshare.pseudonym_support(internal) returns internal
 *
 * The planner support function of pseudonym_eq: index conditions and the
 * selectivity.  Nothing is simplified: a constant value stays a call, so
 * that no plan holds what it deciphers to.
 */
PG_FUNCTION_INFO_V1(govshare_pseudonym_support);
Datum
govshare_pseudonym_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestIndexCondition))
		PG_RETURN_POINTER(pseudonym_index_conditions((SupportRequestIndexCondition *) rawreq));
	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;

		if (list_length(req->args) != 3)
			PG_RETURN_POINTER(NULL);
		req->selectivity = pseudonym_selectivity(req);
		PG_RETURN_POINTER(req);
	}
	PG_RETURN_POINTER(NULL);
}
