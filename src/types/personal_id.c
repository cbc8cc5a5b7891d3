/*-------------------------------------------------------------------------
 *
 * personal_id.c
 *	  personal_id: the 12-digit personal identification number.
 *
 * Structure (Decree 137/2015/ND-CP art. 13, Circular 07/2016/TT-BCA art. 7,
 * carried into Circular 59/2021/TT-BCA):
 *	 digits 1-3  province of birth registration (001-096, the 2004 province
 *				 code with a leading zero) or country code for births
 *				 registered abroad (101-295);
 *	 digit 4	 century and sex: 0/1 = 1900s male/female, 2/3 = 2000s, ...,
 *				 8/9 = 2300s;
 *	 digits 5-6  the last two digits of the birth year;
 *	 digits 7-12 random.
 * There is no check digit.  A birth year after the current year is refused.
 *
 * Encoding (payload of an 8-byte value):
 *	 value		 the 12-digit number
 *	 masked		 province * 100 + last two digits		"001*******45"
 *	 generalized province * 10000 + birth year			"001/1990"
 *	 pseudonym	 60 bits								"~0123456789AB"
 *
 * src/types/personal_id.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_FREESTANDING
#include "postgres.h"
#include "types/gs_types.h"
#endif

#include <string.h>

#include "govshare_types.h"

#define PID_DIGITS	12
#define PID_HINT	"A personal identification number is 12 digits, such as 001090123456."

/* Is p a valid prefix: a province of birth registration or a country code? */
static bool
valid_prefix(int p)
{
	return gs_province_2004(p) || (p >= 101 && p <= 295);
}

/* The birth year that century digit c and two-digit year yy stand for. */
static int
birth_year(int c, int yy)
{
	return 1900 + (c / 2) * 100 + yy;
}

static bool
parse(const char *s, size_t len, const gs_context *ctx,
				  uint64_t *out, gs_error *err)
{
	char		b[GS_INPUT_MAX];
	size_t		n;
	gs_begin	begin;
	int			prefix;
	int			year;

	begin = gs_parse_begin(s, len, " -.", PID_HINT, true, b, sizeof(b), &n, out, err);
	if (begin != GS_BEGIN_GO_ON)
		return begin == GS_BEGIN_DONE;

	/* generalized: PPP/YYYY */
	if (gs_count_char(b, n, '/') > 0)
	{
		if (n != 8 || b[3] != '/' || !gs_all_digits(b, 3) || !gs_all_digits(b + 4, 4))
		{
			gs_fail(err, NULL, "A generalized personal identification number is a province code and a birth year, such as 001/1990.");
			return false;
		}
		prefix = (int) gs_digits_value(b, 3);
		year = (int) gs_digits_value(b + 4, 4);
		if (!valid_prefix(prefix))
		{
			gs_fail(err, NULL, "The province code is not a province of birth registration (001-096) or a country code (101-295).");
			return false;
		}
		if (year < 1900 || year > 2399 || year > ctx->current_year)
		{
			gs_fail(err, NULL, "The birth year must be between 1900 and the current year.");
			return false;
		}
		*out = GS_MAKE(GS_FORM_GENERALIZED, prefix * 10000 + year);
		return true;
	}

	/* masked: PPP*******LL */
	if (gs_count_char(b, n, '*') > 0)
	{
		if (n != PID_DIGITS || !gs_all_digits(b, 3) || !gs_all_digits(b + 10, 2) ||
			gs_count_char(b + 3, 7, '*') != 7)
		{
			gs_fail(err, NULL, "A masked personal identification number shows digits 1-3 and 11-12 only, such as 001*******45.");
			return false;
		}
		prefix = (int) gs_digits_value(b, 3);
		if (!valid_prefix(prefix))
		{
			gs_fail(err, NULL, "Digits 1-3 are not a province of birth registration (001-096) or a country code (101-295).");
			return false;
		}
		*out = GS_MAKE(GS_FORM_MASKED, prefix * 100 + (int) gs_digits_value(b + 10, 2));
		return true;
	}

	if (!gs_all_digits(b, n))
	{
		gs_fail(err, PID_HINT, "Only digits, spaces, dots and dashes are allowed.");
		return false;
	}
	if (n != PID_DIGITS)
	{
		gs_fail(err, PID_HINT, "A personal identification number has 12 digits; found %zu.", n);
		return false;
	}
	prefix = (int) gs_digits_value(b, 3);
	if (!valid_prefix(prefix))
	{
		gs_fail(err, "The first three digits are the province where the birth was registered (001 Ha Noi ... 096 Ca Mau) or a country code.",
				"Digits 1-3 are not a province of birth registration (001-096) or a country code (101-295).");
		return false;
	}
	year = birth_year(b[3] - '0', (int) gs_digits_value(b + 4, 2));
	if (year > ctx->current_year)
	{
		gs_fail(err, "Digit 4 is the century and sex (0/1 = 1900s, 2/3 = 2000s, ...), digits 5-6 the year.",
				"The birth year encoded by digits 4-6 is after the current year.");
		return false;
	}
	*out = GS_MAKE(GS_FORM_VALUE, gs_digits_value(b, PID_DIGITS));
	return true;
}

static size_t
format(uint64_t v, char *buf)
{
	uint64_t	p = GS_PAYLOAD(v);

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			if (p > UINT64_C(999999999999))
				return 0;
			gs_put_digits(buf, p, PID_DIGITS);
			buf[PID_DIGITS] = '\0';
			return PID_DIGITS;
		case GS_FORM_MASKED:
			if (p > 99999)
				return 0;
			gs_put_digits(buf, p / 100, 3);
			memset(buf + 3, '*', 7);
			gs_put_digits(buf + 10, p % 100, 2);
			buf[PID_DIGITS] = '\0';
			return PID_DIGITS;
		case GS_FORM_GENERALIZED:
			if (p > 9999999)
				return 0;
			gs_put_digits(buf, p / 10000, 3);
			buf[3] = '/';
			gs_put_digits(buf + 4, p % 10000, 4);
			buf[8] = '\0';
			return 8;
		default:
			return gs_format_pseudonym(v, buf);
	}
}

/* Masking keeps the province of birth registration and the last two digits. */
static uint64_t
mask(uint64_t v)
{
	uint64_t	p = GS_PAYLOAD(v);

	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_MASKED, (p / UINT64_C(1000000000)) * 100 + p % 100);
}

/* Generalizing keeps the province of birth registration and the birth year. */
static uint64_t
generalize(uint64_t v)
{
	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_GENERALIZED,
				   gs_personal_id_province(v) * 10000 + gs_personal_id_birth_year(v));
}

const gs_type gs_personal_id_type = {
	.name = "personal_id",
	.width = 8,
	.parse = parse,
	.format = format,
	.mask = mask,
	.generalize = generalize,
};

/* The province (or country) of birth registration, or -1 when hidden. */
int
gs_personal_id_province(uint64_t v)
{
	uint64_t	p = GS_PAYLOAD(v);

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			return (int) (p / UINT64_C(1000000000));
		case GS_FORM_MASKED:
			return (int) (p / 100);
		case GS_FORM_GENERALIZED:
			return (int) (p / 10000);
		default:
			return -1;
	}
}

/* The birth year, or -1 when hidden. */
int
gs_personal_id_birth_year(uint64_t v)
{
	uint64_t	p = GS_PAYLOAD(v);

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			return birth_year((int) (p / 100000000 % 10), (int) (p / 1000000 % 100));
		case GS_FORM_GENERALIZED:
			return (int) (p % 10000);
		default:
			return -1;
	}
}

/* GS_SEX_MALE or GS_SEX_FEMALE, or 0 when hidden. */
int
gs_personal_id_sex(uint64_t v)
{
	if (GS_FORM(v) != GS_FORM_VALUE)
		return 0;
	return (GS_PAYLOAD(v) / 100000000 % 10) % 2 == 0 ? GS_SEX_MALE : GS_SEX_FEMALE;
}

#ifndef GOVSHARE_FREESTANDING

GOVSHARE_TYPE_FUNCTIONS(personal_id)

/* govshare.personal_id_province(personal_id) returns text: "001", or NULL. */
PG_FUNCTION_INFO_V1(personal_id_province);
Datum
personal_id_province(PG_FUNCTION_ARGS)
{
	int			p = gs_personal_id_province(GOVSHARE_GETARG(personal_id, 0));

	if (p < 0)
		PG_RETURN_NULL();
	return govshare_type_code_text(p, 3);
}

/* govshare.personal_id_birth_year(personal_id) returns integer, or NULL. */
PG_FUNCTION_INFO_V1(personal_id_birth_year);
Datum
personal_id_birth_year(PG_FUNCTION_ARGS)
{
	int			y = gs_personal_id_birth_year(GOVSHARE_GETARG(personal_id, 0));

	if (y < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(y);
}

/* govshare.personal_id_sex(personal_id) returns text: 'male', 'female' or NULL. */
PG_FUNCTION_INFO_V1(personal_id_sex);
Datum
personal_id_sex(PG_FUNCTION_ARGS)
{
	switch (gs_personal_id_sex(GOVSHARE_GETARG(personal_id, 0)))
	{
		case GS_SEX_MALE:
			return govshare_type_text_datum("male");
		case GS_SEX_FEMALE:
			return govshare_type_text_datum("female");
		default:
			PG_RETURN_NULL();
	}
}

/* govshare.personal_id_born_abroad(personal_id) returns boolean, or NULL. */
PG_FUNCTION_INFO_V1(personal_id_born_abroad);
Datum
personal_id_born_abroad(PG_FUNCTION_ARGS)
{
	int			p = gs_personal_id_province(GOVSHARE_GETARG(personal_id, 0));

	if (p < 0)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(p > 100);
}

#endif							/* GOVSHARE_FREESTANDING */
