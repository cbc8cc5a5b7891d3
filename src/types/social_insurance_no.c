/*-------------------------------------------------------------------------
 *
 * social_insurance_no.c
 *	  social_insurance_no: the 10-digit social insurance number.
 *
 * Vietnam Social Security assigns every participant one 10-digit number
 * (Decision 595/QD-BHXH of 2017 and Decision 1351/QD-BHXH of 2015); digits
 * 1-2 are the code of the issuing province office.  There is no check
 * digit; only the form is checked.
 *
 * Encoding (payload of an 8-byte value):
 *	 value		 the 10-digit number
 *	 masked		 first two * 100 + last two digits	"01******89"
 *	 generalized first two digits					"01********"
 *	 pseudonym	 60 bits							"~0123456789AB"
 *
 * src/types/social_insurance_no.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_FREESTANDING
#include "postgres.h"
#include "types/gs_types.h"
#endif

#include <string.h>

#include "govshare_types.h"

#define SIN_DIGITS	10
#define SIN_HINT	"A social insurance number is 10 digits, such as 0123456789."

static bool
parse(const char *s, size_t len, const gs_context *ctx, uint64_t *out, gs_error *err)
{
	char		b[GS_INPUT_MAX];
	size_t		n;
	gs_begin	begin;
	int			stars;

	begin = gs_parse_begin(s, len, " -.", SIN_HINT, true, b, sizeof(b), &n, out, err);
	if (begin != GS_BEGIN_GO_ON)
		return begin == GS_BEGIN_DONE;
	stars = gs_count_char(b, n, '*');
	if (stars > 0)
	{
		if (n == SIN_DIGITS && gs_all_digits(b, 2) && stars == 6 &&
			gs_count_char(b + 2, 6, '*') == 6 && gs_all_digits(b + 8, 2))
		{
			*out = GS_MAKE(GS_FORM_MASKED,
						   gs_digits_value(b, 2) * 100 + gs_digits_value(b + 8, 2));
			return true;
		}
		if (n == SIN_DIGITS && gs_all_digits(b, 2) && stars == 8)
		{
			*out = GS_MAKE(GS_FORM_GENERALIZED, gs_digits_value(b, 2));
			return true;
		}
		gs_fail(err, NULL, "A masked social insurance number shows digits 1-2 and 9-10 (01******89), a generalized one digits 1-2 (01********).");
		return false;
	}
	if (!gs_all_digits(b, n))
	{
		gs_fail(err, SIN_HINT, "Only digits, spaces, dots and dashes are allowed.");
		return false;
	}
	if (n != SIN_DIGITS)
	{
		gs_fail(err, SIN_HINT, "A social insurance number has 10 digits; found %zu.", n);
		return false;
	}
	*out = GS_MAKE(GS_FORM_VALUE, gs_digits_value(b, n));
	return true;
}

static size_t
format(uint64_t v, char *buf)
{
	uint64_t	p = GS_PAYLOAD(v);

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			if (p > UINT64_C(9999999999))
				return 0;
			gs_put_digits(buf, p, SIN_DIGITS);
			break;
		case GS_FORM_MASKED:
			if (p > 9999)
				return 0;
			gs_put_digits(buf, p / 100, 2);
			memset(buf + 2, '*', 6);
			gs_put_digits(buf + 8, p % 100, 2);
			break;
		case GS_FORM_GENERALIZED:
			if (p > 99)
				return 0;
			gs_put_digits(buf, p, 2);
			memset(buf + 2, '*', 8);
			break;
		default:
			return gs_format_pseudonym(v, buf);
	}
	buf[SIN_DIGITS] = '\0';
	return SIN_DIGITS;
}

/* Masking keeps the issuing province office and the last two digits. */
static uint64_t
mask(uint64_t v)
{
	uint64_t	p = GS_PAYLOAD(v);

	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_MASKED, p / UINT64_C(100000000) * 100 + p % 100);
}

/* Generalizing keeps the issuing province office (a masked number shows it too). */
static uint64_t
generalize(uint64_t v)
{
	if (GS_FORM(v) == GS_FORM_MASKED)
		return GS_MAKE(GS_FORM_GENERALIZED, GS_PAYLOAD(v) / 100);
	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_GENERALIZED, GS_PAYLOAD(v) / UINT64_C(100000000));
}

const gs_type gs_social_insurance_no_type = {
	.name = "social_insurance_no",
	.width = 8,
	.parse = parse,
	.format = format,
	.mask = mask,
	.generalize = generalize,
};

#ifndef GOVSHARE_FREESTANDING

GOVSHARE_TYPE_FUNCTIONS(social_insurance_no)

/* govshare.social_insurance_no_province(social_insurance_no) returns text, or NULL. */
PG_FUNCTION_INFO_V1(social_insurance_no_province);
Datum
social_insurance_no_province(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(social_insurance_no, 0);
	uint64		p = GS_PAYLOAD(v);

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			return govshare_type_code_text((int) (p / UINT64CONST(100000000)), 2);
		case GS_FORM_MASKED:
			return govshare_type_code_text((int) (p / 100), 2);
		case GS_FORM_GENERALIZED:
			return govshare_type_code_text((int) p, 2);
		default:
			PG_RETURN_NULL();
	}
}

#endif							/* GOVSHARE_FREESTANDING */
