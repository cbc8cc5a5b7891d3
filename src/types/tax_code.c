/*-------------------------------------------------------------------------
 *
 * tax_code.c
 *	  tax_code: the 10-digit tax identification number, with an optional
 *	  3-digit branch suffix.
 *
 * Structure (rules of the General Department of Taxation on tax
 * identification numbers, Decision 75/1998/QD-TCT as carried into
 * Circular 105/2020/TT-BTC): digits 1-2 the province of issue (for codes
 * issued before 2020), digits 3-9 a sequence that is never 0000000, digit 10
 * a check digit; a dependent unit or branch has "-NNN" (001-999).  Since
 * 1 July 2025 individuals use their personal identification number instead
 * (Circular 86/2024/TT-BTC); this type covers the 10/13-digit codes.
 *
 * Check digit: S = sum of digits 1-9 weighted 31, 29, 23, 19, 17, 13, 7, 5,
 * 3; digit 10 = 10 - S mod 11.  When S mod 11 = 0 no code exists with those
 * nine digits.
 *
 * Encoding (payload of an 8-byte value):
 *	 value		 base * 1000 + branch (0: none)			"0100109106", "0100109106-001"
 *	 masked		 (first 3 * 100 + last 2) * 2 + branch?	"010*****06", "010*****06-***"
 *	 generalized first 2 digits							"01********"
 *	 pseudonym	 60 bits								"~0123456789AB"
 *
 * src/types/tax_code.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_FREESTANDING
#include "postgres.h"
#include "types/gs_types.h"
#endif

#include <string.h>

#include "govshare_types.h"

#define TC_HINT "A tax code is 10 digits with an optional branch, such as 0100109106 or 0100109106-001."

static const int weights[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};

/* The check digit for the first nine digits of b, or -1 when none exists. */
static int
check_digit(const char *b)
{
	int			sum = 0;

	for (int i = 0; i < 9; i++)
		sum += (b[i] - '0') * weights[i];
	return sum % 11 == 0 ? -1 : 10 - sum % 11;
}

/* Parses the masked and generalized forms; b has no separators but '-'. */
static bool
parse_hidden(const char *b, size_t n, uint64_t *out, gs_error *err)
{
	if (n >= 10 && gs_all_digits(b, 3) && gs_count_char(b + 3, 5, '*') == 5 &&
		gs_all_digits(b + 8, 2) && (n == 10 || (n == 14 && strncmp(b + 10, "-***", 4) == 0)))
	{
		*out = GS_MAKE(GS_FORM_MASKED,
					   (gs_digits_value(b, 3) * 100 + gs_digits_value(b + 8, 2)) * 2 + (n == 14));
		return true;
	}
	if (n == 10 && gs_all_digits(b, 2) && gs_count_char(b + 2, 8, '*') == 8)
	{
		*out = GS_MAKE(GS_FORM_GENERALIZED, gs_digits_value(b, 2));
		return true;
	}
	gs_fail(err, NULL, "A masked tax code shows digits 1-3 and 9-10 (010*****06, with -*** for a branch); a generalized one digits 1-2 (01********).");
	return false;
}

static bool
parse(const char *s, size_t len, const gs_context *ctx, uint64_t *out, gs_error *err)
{
	char		b[GS_INPUT_MAX];
	size_t		n;
	gs_begin	begin;
	char		digits[13];
	size_t		nd = 0;
	int			branch = 0;
	int			expected;

	begin = gs_parse_begin(s, len, " .", TC_HINT, true, b, sizeof(b), &n, out, err);
	if (begin != GS_BEGIN_GO_ON)
		return begin == GS_BEGIN_DONE;
	if (gs_count_char(b, n, '*') > 0)
		return parse_hidden(b, n, out, err);

	/* 10 digits, then optionally '-' and 3 digits, or 13 digits in a row */
	for (size_t i = 0; i < n; i++)
	{
		if (b[i] == '-')
			continue;
		if (b[i] < '0' || b[i] > '9')
		{
			gs_fail(err, TC_HINT, "Only digits, spaces and a dash before the branch are allowed.");
			return false;
		}
		if (nd < sizeof(digits))
			digits[nd] = b[i];
		nd++;
	}
	if (gs_count_char(b, n, '-') > 0 &&
		(gs_count_char(b, n, '-') > 1 || n != 14 || b[10] != '-'))
	{
		gs_fail(err, TC_HINT, "A branch is written as a dash and 3 digits after the 10-digit code.");
		return false;
	}
	if (nd != 10 && nd != 13)
	{
		gs_fail(err, TC_HINT, "A tax code has 10 digits, or 13 with its branch; found %zu.", nd);
		return false;
	}
	if (gs_digits_value(digits + 2, 7) == 0)
	{
		gs_fail(err, TC_HINT, "The sequence (digits 3-9) is 0000000, which is never issued.");
		return false;
	}
	expected = check_digit(digits);
	if (expected < 0)
	{
		gs_fail(err, NULL, "No tax code exists with these first nine digits: their weighted sum is divisible by 11.");
		return false;
	}
	if (digits[9] - '0' != expected)
	{
		gs_fail(err, "Digit 10 is a check digit over digits 1-9 (weights 31, 29, 23, 19, 17, 13, 7, 5, 3; modulus 11).",
				"The check digit is %d, expected %d.", digits[9] - '0', expected);
		return false;
	}
	if (nd == 13)
	{
		branch = (int) gs_digits_value(digits + 10, 3);
		if (branch == 0)
		{
			gs_fail(err, TC_HINT, "Branch 000 is never issued; a code without a branch has 10 digits.");
			return false;
		}
	}
	*out = GS_MAKE(GS_FORM_VALUE, gs_digits_value(digits, 10) * 1000 + (uint64_t) branch);
	return true;
}

static size_t
format(uint64_t v, char *buf)
{
	uint64_t	p = GS_PAYLOAD(v);

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			if (p > UINT64_C(9999999999999))
				return 0;
			gs_put_digits(buf, p / 1000, 10);
			if (p % 1000 == 0)
			{
				buf[10] = '\0';
				return 10;
			}
			buf[10] = '-';
			gs_put_digits(buf + 11, p % 1000, 3);
			buf[14] = '\0';
			return 14;
		case GS_FORM_MASKED:
			if (p > 199999)
				return 0;
			gs_put_digits(buf, p / 200, 3);
			memset(buf + 3, '*', 5);
			gs_put_digits(buf + 8, p / 2 % 100, 2);
			if (p % 2 == 0)
			{
				buf[10] = '\0';
				return 10;
			}
			memcpy(buf + 10, "-***", 5);
			return 14;
		case GS_FORM_GENERALIZED:
			if (p > 99)
				return 0;
			gs_put_digits(buf, p, 2);
			memset(buf + 2, '*', 8);
			buf[10] = '\0';
			return 10;
		default:
			return gs_format_pseudonym(v, buf);
	}
}

/* Masking keeps digits 1-3 and 9-10, and whether there is a branch. */
static uint64_t
mask(uint64_t v)
{
	uint64_t	base = GS_PAYLOAD(v) / 1000;

	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_MASKED,
				   (base / UINT64_C(10000000) * 100 + base % 100) * 2 + (GS_PAYLOAD(v) % 1000 != 0));
}

/* Generalizing keeps digits 1-2, the province of issue (a masked code shows them too). */
static uint64_t
generalize(uint64_t v)
{
	if (GS_FORM(v) == GS_FORM_MASKED)
		return GS_MAKE(GS_FORM_GENERALIZED, GS_PAYLOAD(v) / 2000);
	if (GS_FORM(v) != GS_FORM_VALUE)
		return v;
	return GS_MAKE(GS_FORM_GENERALIZED, GS_PAYLOAD(v) / UINT64_C(100000000000));
}

const gs_type gs_tax_code_type = {
	.name = "tax_code",
	.width = 8,
	.parse = parse,
	.format = format,
	.mask = mask,
	.generalize = generalize,
};

#ifndef GOVSHARE_FREESTANDING

GOVSHARE_TYPE_FUNCTIONS(tax_code)

/* govshare.tax_code_branch(tax_code) returns integer: the branch, NULL when none or hidden */
PG_FUNCTION_INFO_V1(tax_code_branch);
Datum
tax_code_branch(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(tax_code, 0);

	if (GS_FORM(v) != GS_FORM_VALUE || GS_PAYLOAD(v) % 1000 == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) (GS_PAYLOAD(v) % 1000));
}

/* govshare.tax_code_base(tax_code) returns tax_code: without its branch; disclosure forms as they are */
PG_FUNCTION_INFO_V1(tax_code_base);
Datum
tax_code_base(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(tax_code, 0);

	if (GS_FORM(v) != GS_FORM_VALUE)
		GOVSHARE_RETURN(tax_code, v);
	GOVSHARE_RETURN(tax_code, GS_MAKE(GS_FORM_VALUE, GS_PAYLOAD(v) - GS_PAYLOAD(v) % 1000));
}

/* govshare.tax_code_is_branch(tax_code) returns boolean, NULL when hidden */
PG_FUNCTION_INFO_V1(tax_code_is_branch);
Datum
tax_code_is_branch(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(tax_code, 0);

	if (GS_FORM(v) == GS_FORM_VALUE)
		PG_RETURN_BOOL(GS_PAYLOAD(v) % 1000 != 0);
	if (GS_FORM(v) == GS_FORM_MASKED)
		PG_RETURN_BOOL(GS_PAYLOAD(v) % 2 != 0);
	PG_RETURN_NULL();
}

#endif							/* GOVSHARE_FREESTANDING */
