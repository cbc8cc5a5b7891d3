/*-------------------------------------------------------------------------
 *
 * admin_unit.c
 *	  admin_unit: a province, or a ward/commune within its province, under
 *	  one of the two schemes of administrative units.
 *
 *	 2004: 63 provinces, 2-digit codes of the General Statistics Office list
 *		   (Decision 124/2004/QD-TTg and amendments), wards 5 digits;
 *	 2025: 34 provinces from 1 July 2025 (Resolution 202/2025/QH15), codes
 *		   per Decision 19/2025/QD-TTg, two-level government (no districts),
 *		   wards and communes 5 digits.
 *
 * Text: "2025:79" (a province), "2025:79.26734" (ward 26734 of province 79).
 * Input may leave out the scheme, which then is 2025, a constant: input
 * never depends on a setting.  The province is checked against the scheme's
 * list (compiled in: the lists are fixed by law).  A ward is checked for its
 * form only: its membership in the ward list is a question for the code-list
 * tables (govshare.admin_unit_known), because a type's input must not read
 * tables.
 *
 * Encoding (4 bytes): scheme bit (1 = 2025) << 24 | province << 17 | ward
 * (0 for a province), so units order by scheme, province, then ward, a
 * province before its wards.  mask and generalize return the province.
 *
 * src/types/admin_unit.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_FREESTANDING
#include "postgres.h"
#include "utils/builtins.h"
#include "types/gs_types.h"
#endif

#include <string.h>

#include "govshare_types.h"

#define AU_HINT		"An administrative unit is [scheme:]province[.ward], such as 2025:79 or 2025:79.26734."
#define AU_SCHEME(v)	(((v) >> 24) & 1 ? 2025 : 2004)
#define AU_PROVINCE(v)	((int) (((v) >> 17) & 127))
#define AU_WARD(v)		((int) ((v) & 0x1FFFF))
#define AU_MAKE(scheme, province, ward) \
	((uint64_t) ((scheme) == 2025) << 24 | (uint64_t) (province) << 17 | (uint64_t) (ward))

/* Is province a province of the scheme? */
static bool
known_province(int scheme, int province)
{
	return scheme == 2025 ? gs_province_2025(province) : gs_province_2004(province);
}

static bool
parse(const char *s, size_t len, const gs_context *ctx, uint64_t *out, gs_error *err)
{
	char		b[GS_INPUT_MAX];
	size_t		n;
	gs_begin	begin;
	const char *p = b;
	const char *dot;
	int			scheme = 2025;
	int			province;
	int			ward = 0;

	begin = gs_parse_begin(s, len, " ", AU_HINT, false, b, sizeof(b), &n, out, err);
	if (begin != GS_BEGIN_GO_ON)
		return begin == GS_BEGIN_DONE;
	if (n > 5 && b[4] == ':')
	{
		if (!gs_all_digits(b, 4))
		{
			gs_fail(err, AU_HINT, "The scheme is 2004 or 2025.");
			return false;
		}
		scheme = (int) gs_digits_value(b, 4);
		if (scheme != 2004 && scheme != 2025)
		{
			gs_fail(err, AU_HINT, "Scheme %d is not 2004 or 2025.", scheme);
			return false;
		}
		p += 5;
		n -= 5;
	}
	dot = memchr(p, '.', n);
	if ((dot ? (size_t) (dot - p) : n) != 2 || !gs_all_digits(p, 2))
	{
		gs_fail(err, AU_HINT, "The province code has 2 digits.");
		return false;
	}
	province = (int) gs_digits_value(p, 2);
	if (!known_province(scheme, province))
	{
		gs_fail(err, scheme == 2025 ? "Provinces merged on 1 July 2025 are written under the 2004 scheme, such as 2004:30." : NULL,
				"%02d is not a province code of the %d scheme.", province, scheme);
		return false;
	}
	if (dot)
	{
		size_t		wlen = n - (size_t) (dot - p) - 1;

		if (wlen != 5 || !gs_all_digits(dot + 1, 5))
		{
			gs_fail(err, AU_HINT, "A ward or commune code has 5 digits.");
			return false;
		}
		ward = (int) gs_digits_value(dot + 1, 5);
		if (ward == 0)
		{
			gs_fail(err, AU_HINT, "Ward code 00000 does not exist.");
			return false;
		}
	}
	*out = AU_MAKE(scheme, province, ward);
	return true;
}

static size_t
format(uint64_t v, char *buf)
{
	int			province = AU_PROVINCE(v);
	int			ward = AU_WARD(v);
	size_t		n;

	if (v >> 25 || province > 99 || ward > 99999)
		return 0;
	gs_put_digits(buf, (uint64_t) AU_SCHEME(v), 4);
	buf[4] = ':';
	gs_put_digits(buf + 5, (uint64_t) province, 2);
	n = 7;
	if (ward > 0)
	{
		buf[n++] = '.';
		gs_put_digits(buf + n, (uint64_t) ward, 5);
		n += 5;
	}
	buf[n] = '\0';
	return n;
}

/* Masking and generalizing both keep the province. */
static uint64_t
province_of(uint64_t v)
{
	return v & ~(uint64_t) 0x1FFFF;
}

const gs_type gs_admin_unit_type = {
	.name = "admin_unit",
	.width = 4,
	.parse = parse,
	.format = format,
	.mask = province_of,
	.generalize = province_of,
};

#ifndef GOVSHARE_FREESTANDING

GOVSHARE_TYPE_FUNCTIONS(admin_unit)

/* govshare.admin_unit_scheme(admin_unit) returns integer: 2004 or 2025 */
PG_FUNCTION_INFO_V1(admin_unit_scheme);
Datum
admin_unit_scheme(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(AU_SCHEME(GOVSHARE_GETARG(admin_unit, 0)));
}

/* govshare.admin_unit_province(admin_unit) returns admin_unit: its province */
PG_FUNCTION_INFO_V1(admin_unit_province);
Datum
admin_unit_province(PG_FUNCTION_ARGS)
{
	GOVSHARE_RETURN(admin_unit, province_of(GOVSHARE_GETARG(admin_unit, 0)));
}

/* govshare.admin_unit_province_code(admin_unit) returns text: "79" */
PG_FUNCTION_INFO_V1(admin_unit_province_code);
Datum
admin_unit_province_code(PG_FUNCTION_ARGS)
{
	return govshare_type_code_text(AU_PROVINCE(GOVSHARE_GETARG(admin_unit, 0)), 2);
}

/* govshare.admin_unit_ward_code(admin_unit) returns text: "26734", NULL for a province */
PG_FUNCTION_INFO_V1(admin_unit_ward_code);
Datum
admin_unit_ward_code(PG_FUNCTION_ARGS)
{
	int			ward = AU_WARD(GOVSHARE_GETARG(admin_unit, 0));

	if (ward == 0)
		PG_RETURN_NULL();
	return govshare_type_code_text(ward, 5);
}

/* govshare.admin_unit_level(admin_unit) returns 'province' or 'ward' */
PG_FUNCTION_INFO_V1(admin_unit_level);
Datum
admin_unit_level(PG_FUNCTION_ARGS)
{
	return govshare_type_text_datum(AU_WARD(GOVSHARE_GETARG(admin_unit, 0)) ? "ward" : "province");
}

/* govshare.admin_unit_name(admin_unit) returns text: a province's name, NULL for a ward */
PG_FUNCTION_INFO_V1(admin_unit_name);
Datum
admin_unit_name(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(admin_unit, 0);

	if (AU_WARD(v))
		PG_RETURN_NULL();
	return govshare_type_text_datum(gs_province_name(AU_PROVINCE(v), AU_SCHEME(v)));
}

/*
 * govshare.admin_unit_to_2025(admin_unit) returns admin_unit: the 2025
 * province a 2004 province became part of; a 2025 unit itself.
 */
PG_FUNCTION_INFO_V1(admin_unit_to_2025);
Datum
admin_unit_to_2025(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(admin_unit, 0);

	if (AU_SCHEME(v) == 2025)
		GOVSHARE_RETURN(admin_unit, v);
	if (AU_WARD(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot map a ward of the 2004 scheme to the 2025 scheme"),
				 errdetail("Wards were merged and renumbered in 2025; the mapping is a code list, not a rule."),
				 errhint("Join govshare.code (list 'ward_2004', column successor), or map the province: admin_unit_to_2025(admin_unit_province(x)).")));
	GOVSHARE_RETURN(admin_unit, AU_MAKE(2025, gs_province_2004_to_2025(AU_PROVINCE(v)), 0));
}

/* govshare.admin_unit(scheme integer, province text, ward text) returns admin_unit */
PG_FUNCTION_INFO_V1(admin_unit_make);
Datum
admin_unit_make(PG_FUNCTION_ARGS)
{
	char	   *province;
	char	   *s;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	province = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_ARGISNULL(2))
		s = psprintf("%d:%s", PG_GETARG_INT32(0), province);
	else
		s = psprintf("%d:%s.%s", PG_GETARG_INT32(0), province,
					 text_to_cstring(PG_GETARG_TEXT_PP(2)));
	return DirectFunctionCall1(admin_unit_in, CStringGetDatum(s));
}

#endif							/* GOVSHARE_FREESTANDING */
