/*-------------------------------------------------------------------------
 *
 * health_insurance_no.c
 *	  health_insurance_no: the 15-character health insurance card code.
 *
 * Structure (Decision 1351/QD-BHXH of 2015 on the health insurance card
 * code, as amended):
 *	 characters 1-2   participant group (two letters, from the code list);
 *	 character 3	  benefit level, 1-5;
 *	 characters 4-5   province of issue (a 2004-scheme province code, or 97
 *					  and 98, used by the social security of the Ministry of
 *					  National Defence and of the Ministry of Public Security);
 *	 characters 6-15  the 10-digit social insurance number.
 * Since 2021 the card shows only the 10-digit number (Decision 1666/QD-BHXH),
 * but the 15-character code remains in records and claims data.
 *
 * Encoding (payload of an 8-byte value), with g = (letter1 - 'A') * 26 +
 * (letter2 - 'A'):
 *	 value		 ((g * 10 + level) * 100 + province) * 10^10 + number
 *	 masked		 ((g * 10 + level) * 100 + province) * 100 + last 2	"DN401********89"
 *	 generalized g * 10 + level										"DN4************"
 *	 pseudonym	 60 bits											"~0123456789AB"
 *
 * src/types/health_insurance_no.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_FREESTANDING
#include "postgres.h"
#include "types/gs_types.h"
#endif

#include <string.h>

#include "govshare_types.h"

#define HI_LEN		15
#define HI_HINT		"A health insurance code is 2 letters, a benefit level, a province and a 10-digit number, such as DN4010123456789."
#define TEN10		UINT64_C(10000000000)

/* Participant groups of Decision 1351/QD-BHXH (see docs/types/health_insurance_no.md). */
static const char *const groups[] = {
	"DN", "HX", "CH", "NN", "TK", "HC", "XK",	/* employees and employers */
	"HT", "TB", "NO", "CT", "XB", "TN", "CS", "TV",	/* paid by social insurance or unemployment insurance */
	"QN", "CA", "CY", "XN", "MS", "CC", "CK", "CB", "KC", "HD", "TE", "BT",
	"HN", "DT", "DK", "XD", "TS", "TC", "TQ", "TA", "TY", "HG", "LS", "PV",	/* state budget */
	"CN", "HS", "SV", "GB",		/* state budget support */
	"GD",						/* households */
};

/* Is the two-letter code g (as an index) a participant group? */
static bool
known_group(int g)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if ((groups[i][0] - 'A') * 26 + (groups[i][1] - 'A') == g)
			return true;
	return false;
}

/* Is p a province of issue? */
static bool
known_province(int p)
{
	return gs_province_2004(p) || p == 97 || p == 98;
}

/* Checks and encodes the head (group letters, level, province) of b. */
static bool
head(const char *b, int *g, int *level, int *province, gs_error *err)
{
	if (b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z')
	{
		gs_fail(err, HI_HINT, "Characters 1-2 are the participant group, two letters.");
		return false;
	}
	*g = (b[0] - 'A') * 26 + (b[1] - 'A');
	if (!known_group(*g))
	{
		gs_fail(err, HI_HINT, "Characters 1-2 are not a participant group of the code list.");
		return false;
	}
	if (b[2] < '1' || b[2] > '5')
	{
		gs_fail(err, HI_HINT, "Character 3 is the benefit level, 1 to 5.");
		return false;
	}
	*level = b[2] - '0';
	if (province == NULL)
		return true;
	if (!gs_all_digits(b + 3, 2) || !known_province((int) gs_digits_value(b + 3, 2)))
	{
		gs_fail(err, HI_HINT, "Characters 4-5 are not a province of issue.");
		return false;
	}
	*province = (int) gs_digits_value(b + 3, 2);
	return true;
}

static bool
parse(const char *s, size_t len, const gs_context *ctx, uint64_t *out, gs_error *err)
{
	char		b[GS_INPUT_MAX];
	size_t		n;
	gs_begin	begin;
	int			g,
				level,
				province;

	begin = gs_parse_begin(s, len, " -.", HI_HINT, true, b, sizeof(b), &n, out, err);
	if (begin != GS_BEGIN_GO_ON)
		return begin == GS_BEGIN_DONE;
	for (size_t i = 0; i < n && i < 2; i++)
		if (b[i] >= 'a' && b[i] <= 'z')
			b[i] = (char) (b[i] - 'a' + 'A');
	if (n != HI_LEN)
	{
		gs_fail(err, HI_HINT, "A health insurance code has 15 characters; found %zu.", n);
		return false;
	}
	if (gs_count_char(b, n, '*') == 12 && gs_count_char(b + 3, 12, '*') == 12)
	{
		if (!head(b, &g, &level, NULL, err))
			return false;
		*out = GS_MAKE(GS_FORM_GENERALIZED, g * 10 + level);
		return true;
	}
	if (!head(b, &g, &level, &province, err))
		return false;
	if (gs_count_char(b + 5, 8, '*') == 8 && gs_all_digits(b + 13, 2))
	{
		*out = GS_MAKE(GS_FORM_MASKED,
					   (((uint64_t) g * 10 + level) * 100 + province) * 100 + gs_digits_value(b + 13, 2));
		return true;
	}
	if (!gs_all_digits(b + 5, 10))
	{
		gs_fail(err, HI_HINT, "Characters 6-15 are the 10-digit social insurance number.");
		return false;
	}
	*out = GS_MAKE(GS_FORM_VALUE,
				   (((uint64_t) g * 10 + level) * 100 + province) * TEN10 + gs_digits_value(b + 5, 10));
	return true;
}

/* Writes group letters and level of hd = g * 10 + level; false if out of range. */
static bool
put_head(char *buf, uint64_t hd)
{
	uint64_t	g = hd / 10;

	if (g > 675)
		return false;
	buf[0] = (char) ('A' + g / 26);
	buf[1] = (char) ('A' + g % 26);
	buf[2] = (char) ('0' + hd % 10);
	return true;
}

static size_t
format(uint64_t v, char *buf)
{
	uint64_t	p = GS_PAYLOAD(v);

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			if (!put_head(buf, p / TEN10 / 100))
				return 0;
			gs_put_digits(buf + 3, p / TEN10 % 100, 2);
			gs_put_digits(buf + 5, p % TEN10, 10);
			break;
		case GS_FORM_MASKED:
			if (!put_head(buf, p / 10000))
				return 0;
			gs_put_digits(buf + 3, p / 100 % 100, 2);
			memset(buf + 5, '*', 8);
			gs_put_digits(buf + 13, p % 100, 2);
			break;
		case GS_FORM_GENERALIZED:
			if (!put_head(buf, p))
				return 0;
			memset(buf + 3, '*', 12);
			break;
		default:
			return gs_format_pseudonym(v, buf);
	}
	buf[HI_LEN] = '\0';
	return HI_LEN;
}

/* Masking keeps group, level, province and the last two digits. */
static uint64_t
mask(uint64_t v)
{
	uint64_t	p = GS_PAYLOAD(v);

	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_MASKED, p / TEN10 * 100 + p % 100);
}

/* Generalizing keeps the participant group and benefit level (a masked code shows them too). */
static uint64_t
generalize(uint64_t v)
{
	if (GS_FORM(v) == GS_FORM_MASKED)
		return GS_MAKE(GS_FORM_GENERALIZED, GS_PAYLOAD(v) / 10000);
	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_GENERALIZED, GS_PAYLOAD(v) / TEN10 / 100);
}

const gs_type gs_health_insurance_no_type = {
	.name = "health_insurance_no",
	.width = 8,
	.parse = parse,
	.format = format,
	.mask = mask,
	.generalize = generalize,
};

#ifndef GOVSHARE_FREESTANDING

/* g * 10 + level of a value, masked or generalized form; -1 for a pseudonym. */
static int64
head_of(uint64 v)
{
	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			return (int64) (GS_PAYLOAD(v) / TEN10 / 100);
		case GS_FORM_MASKED:
			return (int64) (GS_PAYLOAD(v) / 10000);
		case GS_FORM_GENERALIZED:
			return (int64) GS_PAYLOAD(v);
		default:
			return -1;
	}
}

GOVSHARE_TYPE_FUNCTIONS(health_insurance_no)

/* govshare.health_insurance_no_participant(health_insurance_no) returns text: "DN" */
PG_FUNCTION_INFO_V1(health_insurance_no_participant);
Datum
health_insurance_no_participant(PG_FUNCTION_ARGS)
{
	int64		hd = head_of(GOVSHARE_GETARG(health_insurance_no, 0));
	char		code[3];

	if (hd < 0)
		PG_RETURN_NULL();
	code[0] = (char) ('A' + hd / 10 / 26);
	code[1] = (char) ('A' + hd / 10 % 26);
	code[2] = '\0';
	return govshare_type_text_datum(code);
}

/* govshare.health_insurance_no_benefit_level(health_insurance_no) returns integer 1-5 */
PG_FUNCTION_INFO_V1(health_insurance_no_benefit_level);
Datum
health_insurance_no_benefit_level(PG_FUNCTION_ARGS)
{
	int64		hd = head_of(GOVSHARE_GETARG(health_insurance_no, 0));

	if (hd < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) (hd % 10));
}

/* govshare.health_insurance_no_province(health_insurance_no) returns text, NULL when hidden */
PG_FUNCTION_INFO_V1(health_insurance_no_province);
Datum
health_insurance_no_province(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(health_insurance_no, 0);

	if (GS_FORM(v) == GS_FORM_VALUE)
		return govshare_type_code_text((int) (GS_PAYLOAD(v) / TEN10 % 100), 2);
	if (GS_FORM(v) == GS_FORM_MASKED)
		return govshare_type_code_text((int) (GS_PAYLOAD(v) / 100 % 100), 2);
	PG_RETURN_NULL();
}

/*
 * govshare.health_insurance_no_social_insurance_no(health_insurance_no)
 * returns social_insurance_no, NULL when hidden
 */
PG_FUNCTION_INFO_V1(health_insurance_no_social_insurance_no);
Datum
health_insurance_no_social_insurance_no(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(health_insurance_no, 0);

	if (GS_FORM(v) != GS_FORM_VALUE)
		PG_RETURN_NULL();
	GOVSHARE_RETURN(social_insurance_no, GS_MAKE(GS_FORM_VALUE, GS_PAYLOAD(v) % TEN10));
}

#endif							/* GOVSHARE_FREESTANDING */
