/*-------------------------------------------------------------------------
 *
 * phone_number.c
 *	  phone_number: a telephone number in E.164 form.
 *
 * An international number (ITU-T E.164) is a country code of 1 to 3 digits
 * followed by the national significant number (NSN), at most 15 digits in
 * all.  Country codes never start with 0 and form a prefix code: 1 and 7 are
 * the only 1-digit codes, the 2-digit codes are listed below, and every other
 * code has 3 digits.  Which 3-digit codes are assigned is not checked.
 * Outside Vietnam the NSN must have 4 to (15 - country code length) digits.
 *
 * Vietnam (+84), numbering plan of Circular 22/2014/TT-BTTTT as converted by
 * the Ministry of Information and Communications (fixed lines 2017, mobile
 * 2018):
 *	 mobile		 NSN of 9 digits, first two digits 32-39, 52, 55, 56, 58, 59,
 *				 70, 76-79, 81-89, 90-94, 96-99 ("091 234 5678");
 *	 fixed line	 NSN of 10 digits starting with 2 (area code 2XX with
 *				 the subscriber number: "024 3825 1234");
 *	 old mobile	 the 11-digit numbers before 2018 (01XY + 7 digits) are
 *				 accepted and mapped to their new prefix (0162 -> 032, ...).
 * Anything else under +84 is refused.  See docs/types/phone_number.md.
 *
 * Input: "+84 91 234 5678", "0084912345678", "0912345678" (Vietnamese
 * national form with trunk 0), "84912345678" (digits starting with 84 and
 * no "+" are Vietnamese); other countries only after "+" or "00".  Spaces,
 * dashes, dots and parentheses are ignored.  Output: "+84912345678".
 *
 * Encoding (payload of an 8-byte value; CC country code, L length of the
 * NSN, F its first two digits, T its last two):
 *	 value		 the E.164 digits as an integer					"+84912345678"
 *	 masked		 CC * 10^6 + L * 10^4 + F * 100 + T				"+8491*****78"
 *	 generalized CC * 10^6 + L * 10^4 + F * 100					"+8491*******"
 *	 pseudonym	 60 bits										"~0123456789AB"
 * An NSN shorter than 7 digits shows no digit at all when disclosed
 * ("+44****"); its masked and generalized forms are then one and the same,
 * encoded as generalized with F = 0 (mask returns that form).
 *
 * src/types/phone_number.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_FREESTANDING
#include "postgres.h"
#include "types/gs_types.h"
#endif

#include <string.h>

#include "govshare_types.h"

#define PN_MAX_DIGITS	15		/* E.164: country code and NSN together */
#define PN_MIN_NSN		4		/* shortest NSN accepted outside Vietnam */
#define PN_SHORT_NSN	7		/* shorter NSNs are disclosed as stars only */
#define PN_VN			84
#define PN_VN_MOBILE	9		/* NSN length of a Vietnamese mobile number */
#define PN_VN_FIXED		10		/* NSN length of a Vietnamese fixed line */
#define PN_VN_OLD		10		/* NSN length of a pre-2018 mobile number */
#define PN_HIDDEN_MAX	UINT64_C(999999999)

#define PN_HINT		"Write a Vietnamese number as 0912345678 or +84 91 234 5678, others as + and the country code, such as +1 202 555 0143."
#define PN_FORMS_HINT	"Masked: +8491*****78 (first and last two digits shown); generalized: +8491******* (first two shown); short numbers: +44****."

/* The 2-digit country codes of E.164; every other code not 1 or 7 has 3. */
static const int two_digit_codes[] = {
	20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49,
	51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84,
	86, 90, 91, 92, 93, 94, 95, 98,
};

/* The pre-2018 11-digit mobile prefixes (01XY) and their new 0AB prefix. */
typedef struct old_prefix
{
	int			old;			/* XY of 01XY, as 1XY */
	int			new_ab;			/* AB of 0AB */
} old_prefix;

static const old_prefix old_prefixes[] = {
	{120, 70}, {121, 79}, {122, 77}, {123, 83}, {124, 84}, {125, 85},
	{126, 76}, {127, 81}, {128, 78}, {129, 82},
	{162, 32}, {163, 33}, {164, 34}, {165, 35}, {166, 36}, {167, 37},
	{168, 38}, {169, 39},
	{186, 56}, {188, 58}, {199, 59},
};

#ifndef lengthof
#define lengthof(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Is cc (10-99) one of the 2-digit country codes? */
static bool
two_digit_code(int cc)
{
	for (size_t i = 0; i < lengthof(two_digit_codes); i++)
		if (two_digit_codes[i] == cc)
			return true;
	return false;
}

/*
 * The length of the country code at the head of the digits d[0..n): 1, 2
 * or 3; 0 when d starts with 0 or ends before its country code does.
 */
static int
cc_length(const char *d, size_t n)
{
	if (n == 0 || d[0] == '0')
		return 0;
	if (d[0] == '1' || d[0] == '7')
		return 1;
	if (n < 2)
		return 0;
	if (two_digit_code((d[0] - '0') * 10 + (d[1] - '0')))
		return 2;
	return n >= 3 ? 3 : 0;
}

/* The number of digits of a country code; 0 if cc is not one. */
static int
cc_digits(int cc)
{
	if (cc == 1 || cc == 7)
		return 1;
	if (cc >= 10 && cc <= 99)
		return two_digit_code(cc) ? 2 : 0;
	if (cc >= 100 && cc <= 999 && cc / 100 != 1 && cc / 100 != 7 &&
		!two_digit_code(cc / 10))
		return 3;
	return 0;
}

/* Is ab (two digits after the trunk 0) a Vietnamese mobile prefix? */
static bool
vn_mobile_prefix(int ab)
{
	return (ab >= 32 && ab <= 39) || ab == 52 || ab == 55 || ab == 56 ||
		ab == 58 || ab == 59 || ab == 70 || (ab >= 76 && ab <= 79) ||
		(ab >= 81 && ab <= 89) || (ab >= 90 && ab <= 94) ||
		(ab >= 96 && ab <= 99);
}

/* The new prefix of an old mobile prefix 1XY, or -1 when it had none. */
static int
vn_old_prefix(int old)
{
	for (size_t i = 0; i < lengthof(old_prefixes); i++)
		if (old_prefixes[i].old == old)
			return old_prefixes[i].new_ab;
	return -1;
}

/*
 * Checks a Vietnamese NSN of length len whose first two digits are ab
 * (10-99), written after what "after" names.  True when ab and len make a
 * mobile or a fixed-line number; otherwise false and *err says which rule
 * (with hint).
 */
static bool
vn_shape(int ab, int len, const char *after, const char *hint, gs_error *err)
{
	if (ab / 10 == 2)
	{
		if (len == PN_VN_FIXED)
			return true;
		gs_fail(err, hint,
				"A Vietnamese fixed-line number has 10 digits after %s (area code 2XX included); found %d.",
				after, len);
		return false;
	}
	if (vn_mobile_prefix(ab))
	{
		if (len == PN_VN_MOBILE)
			return true;
		gs_fail(err, hint,
				"A Vietnamese mobile number has 9 digits after %s; found %d.",
				after, len);
		return false;
	}
	gs_fail(err, hint,
			"Prefix 0%02d is not a Vietnamese mobile or fixed-line prefix.", ab);
	return false;
}

/*
 * Checks the Vietnamese NSN s[0..len) (digits), written after what "after"
 * names ("the trunk 0", "the country code 84"), and writes its current form
 * to out (an old 11-digit mobile number gets its new prefix).  Returns the
 * length written, or 0 with *err set when the NSN is refused.
 */
static size_t
vn_nsn(const char *s, size_t len, const char *after, char *out, gs_error *err)
{
	int			ab;

	if (len == 0)
	{
		gs_fail(err, PN_HINT, "The number ends at %s.", after);
		return 0;
	}
	if (s[0] == '0')
	{
		gs_fail(err, PN_HINT,
				"A Vietnamese number has a single trunk 0, which is left out after the country code 84.");
		return 0;
	}
	if (s[0] == '1')
	{
		int			new_prefix = len >= 3 ? vn_old_prefix((int) gs_digits_value(s, 3)) : -1;

		if (len >= 3 && new_prefix < 0)
		{
			gs_fail(err, PN_HINT,
					"Prefix 01%c%c is not a Vietnamese mobile or fixed-line prefix, nor a mobile prefix of before 2018.",
					s[1], s[2]);
			return 0;
		}
		if (len != PN_VN_OLD)
		{
			gs_fail(err, PN_HINT,
					"An old Vietnamese mobile number (prefix 01XY, before 2018) has 10 digits after %s; found %zu.",
					after, len);
			return 0;
		}
		gs_put_digits(out, (uint64_t) new_prefix, 2);
		memcpy(out + 2, s + 3, len - 3);
		return len - 1;
	}
	if (len < 2)
	{
		gs_fail(err, PN_HINT, "A Vietnamese mobile number has 9 digits after %s; found %zu.",
				after, len);
		return 0;
	}
	ab = (int) gs_digits_value(s, 2);
	if (!vn_shape(ab, (int) len, after, PN_HINT, err))
		return 0;
	memcpy(out, s, len);
	return len;
}

/*
 * Checks the international number d[0..n) (digits, country code first;
 * "after84" names what a Vietnamese NSN follows in the input) and writes its
 * canonical digits to out.  Returns their count, or 0 with *err set.
 */
static size_t
e164(const char *d, size_t n, const char *after84, char *out, gs_error *err)
{
	int			cclen;
	int			cc;
	size_t		nsn;
	size_t		maxnsn;

	if (n > 0 && d[0] == '0')
	{
		gs_fail(err, PN_HINT, "A country code never starts with 0.");
		return 0;
	}
	cclen = cc_length(d, n);
	if (cclen == 0 || (size_t) cclen == n)
	{
		gs_fail(err, PN_HINT,
				"The number is too short to hold a country code and a national number.");
		return 0;
	}
	cc = (int) gs_digits_value(d, cclen);
	memcpy(out, d, cclen);
	if (cc == PN_VN)
	{
		nsn = vn_nsn(d + cclen, n - cclen, after84, out + cclen, err);
		return nsn == 0 ? 0 : cclen + nsn;
	}
	nsn = n - cclen;
	maxnsn = PN_MAX_DIGITS - cclen;
	if (nsn < PN_MIN_NSN || nsn > maxnsn)
	{
		gs_fail(err, PN_HINT,
				"A number with country code %d has %d to %zu digits after the country code; found %zu.",
				cc, PN_MIN_NSN, maxnsn, nsn);
		return 0;
	}
	memcpy(out + cclen, d + cclen, nsn);
	return n;
}

/*
 * Checks what a masked or generalized form shows: country code cc, NSN
 * length len, first two NSN digits ab (ignored for a short NSN).  True when
 * some number has these; otherwise false and *err says which rule.
 */
static bool
hidden_shape(int cc, int len, int ab, gs_error *err)
{
	int			cclen = cc_digits(cc);

	if (cclen == 0)
	{
		gs_fail(err, PN_FORMS_HINT, "The digits after + do not start with a country code.");
		return false;
	}
	if (cc == PN_VN)
	{
		if (len != PN_VN_MOBILE && len != PN_VN_FIXED)
		{
			gs_fail(err, PN_FORMS_HINT,
					"A Vietnamese number has 9 (mobile) or 10 (fixed-line) digits after the country code 84; found %d.",
					len);
			return false;
		}
		return vn_shape(ab, len, "the country code 84", PN_FORMS_HINT, err);
	}
	if (len < PN_MIN_NSN || len > PN_MAX_DIGITS - cclen)
	{
		gs_fail(err, PN_FORMS_HINT,
				"A number with country code %d has %d to %d digits after the country code; found %d.",
				cc, PN_MIN_NSN, PN_MAX_DIGITS - cclen, len);
		return false;
	}
	return true;
}

/* The payload of a masked or generalized form. */
static uint64_t
hidden_payload(int cc, int len, int ab, int yz)
{
	return ((uint64_t) cc * 100 + (uint64_t) len) * 10000 + (uint64_t) (ab * 100 + yz);
}

/*
 * Parses a masked ("+8491*****78") or generalized ("+8491*******", "+44****")
 * form; b[0..n) is squeezed and holds a star.
 */
static bool
parse_hidden(const char *b, size_t n, uint64_t *out, gs_error *err)
{
	size_t		lead;			/* digits between + and the first star */
	size_t		stars;
	size_t		tail;
	int			cclen;
	int			cc;
	int			len;
	int			ab = 0;
	int			yz = 0;
	int			form;

	if (b[0] != '+')
	{
		gs_fail(err, PN_FORMS_HINT,
				"A masked or generalized number starts with + and the country code.");
		return false;
	}
	for (lead = 0; 1 + lead < n && b[1 + lead] != '*'; lead++)
		;
	for (stars = 0; 1 + lead + stars < n && b[1 + lead + stars] == '*'; stars++)
		;
	tail = n - 1 - lead - stars;
	if ((lead > 0 && !gs_all_digits(b + 1, lead)) ||
		(tail > 0 && !gs_all_digits(b + 1 + lead + stars, tail)))
	{
		gs_fail(err, PN_FORMS_HINT,
				"A masked or generalized number holds digits, stars and a leading + only, and its stars are contiguous.");
		return false;
	}
	cclen = cc_length(b + 1, lead);
	if (cclen == 0)
	{
		gs_fail(err, PN_FORMS_HINT, "The digits after + do not start with a country code.");
		return false;
	}
	cc = (int) gs_digits_value(b + 1, cclen);
	if (lead == (size_t) cclen && tail == 0)
	{
		len = (int) stars;
		form = GS_FORM_GENERALIZED;
		if (len >= PN_SHORT_NSN)
		{
			gs_fail(err, PN_FORMS_HINT,
					"A number with 7 or more digits after the country code shows the first two of them when masked or generalized.");
			return false;
		}
	}
	else if (lead == (size_t) cclen + 2 && (tail == 0 || tail == 2))
	{
		ab = (int) gs_digits_value(b + 1 + cclen, 2);
		len = (int) (stars + 2 + tail);
		form = tail == 0 ? GS_FORM_GENERALIZED : GS_FORM_MASKED;
		if (tail == 2)
			yz = (int) gs_digits_value(b + 1 + lead + stars, 2);
		if (len < PN_SHORT_NSN)
		{
			gs_fail(err, PN_FORMS_HINT,
					"A number with fewer than 7 digits after the country code shows only stars when masked or generalized.");
			return false;
		}
	}
	else
	{
		gs_fail(err, PN_FORMS_HINT,
				"A masked number shows two digits after the country code and two at the end; a generalized one two after the country code.");
		return false;
	}
	if (!hidden_shape(cc, len, ab, err))
		return false;
	*out = GS_MAKE(form, hidden_payload(cc, len, ab, yz));
	return true;
}

/*
 * Parses any text form of a phone number (see the file header) into *out;
 * false with *err set when the input is refused.
 */
static bool
parse(const char *s, size_t len, const gs_context *ctx,
	  uint64_t *out, gs_error *err)
{
	char		b[GS_INPUT_MAX];
	char		d[GS_INPUT_MAX];
	size_t		n;
	gs_begin	begin;
	const char *digits;
	size_t		ndigits;
	size_t		m;

	begin = gs_parse_begin(s, len, " -.()", PN_HINT, true, b, sizeof(b), &n, out, err);
	if (begin != GS_BEGIN_GO_ON)
		return begin == GS_BEGIN_DONE;
	if (gs_count_char(b, n, '*') > 0)
		return parse_hidden(b, n, out, err);

	/* Where the digits start: after "+" or "00", or at the trunk 0. */
	digits = b[0] == '+' ? b + 1 : (n >= 2 && b[0] == '0' && b[1] == '0') ? b + 2 : b;
	ndigits = n - (size_t) (digits - b);
	if (!gs_all_digits(digits, ndigits))
	{
		gs_fail(err, PN_HINT, "%s", ndigits == 0 ? "The input holds no digits." :
				"Only digits, a leading + and the separators space, dash, dot and parentheses are allowed.");
		return false;
	}
	if (digits == b && b[0] == '0')
	{
		/* national form: 84, then the Vietnamese NSN */
		d[0] = '8';
		d[1] = '4';
		m = vn_nsn(b + 1, n - 1, "the trunk 0", d + 2, err);
		if (m == 0)
			return false;
		m += 2;
	}
	else
	{
		if (digits == b && (n < 2 || b[0] != '8' || b[1] != '4'))
		{
			gs_fail(err, PN_HINT,
					"A number without + or 00 is Vietnamese and starts with the trunk 0 or the country code 84.");
			return false;
		}
		m = e164(digits, ndigits, "the country code 84", d, err);
		if (m == 0)
			return false;
	}
	*out = GS_MAKE(GS_FORM_VALUE, gs_digits_value(d, m));
	return true;
}

/*
 * Writes the E.164 digits of payload p to d; returns their count, or 0 when
 * p has fewer than 5 or more than 15 digits.
 */
static size_t
value_digits(uint64_t p, char *d)
{
	size_t		n = 0;

	for (uint64_t q = p; q > 0; q /= 10)
		n++;
	if (n < (size_t) (1 + PN_MIN_NSN) || n > PN_MAX_DIGITS)
		return 0;
	gs_put_digits(d, p, (int) n);
	return n;
}

/*
 * Writes the canonical text of v to buf; returns its length, or 0 when v is
 * not the canonical encoding of a number that input accepts.
 */
static size_t
format(uint64_t v, char *buf)
{
	uint64_t	p = GS_PAYLOAD(v);
	char		d[PN_MAX_DIGITS];
	char		canon[GS_INPUT_MAX];
	gs_error	err;
	size_t		n;
	int			cc;
	int			cclen;
	int			len;
	int			ab;
	int			yz;
	size_t		k;

	if (v >> 63)
		return 0;
	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			n = value_digits(p, d);
			if (n == 0 || e164(d, n, "the country code 84", canon, &err) != n ||
				memcmp(d, canon, n) != 0)
				return 0;
			buf[0] = '+';
			memcpy(buf + 1, d, n);
			buf[n + 1] = '\0';
			return n + 1;
		case GS_FORM_MASKED:
		case GS_FORM_GENERALIZED:
			if (p > PN_HIDDEN_MAX)
				return 0;
			cc = (int) (p / 1000000);
			len = (int) (p / 10000 % 100);
			ab = (int) (p / 100 % 100);
			yz = (int) (p % 100);
			cclen = cc_digits(cc);
			if (cclen == 0 || !hidden_shape(cc, len, ab, &err))
				return 0;
			/* a short NSN is generalized only, with no digit shown */
			if (len < PN_SHORT_NSN &&
				(GS_FORM(v) == GS_FORM_MASKED || ab != 0 || yz != 0))
				return 0;
			if (GS_FORM(v) == GS_FORM_GENERALIZED && yz != 0)
				return 0;
			buf[0] = '+';
			gs_put_digits(buf + 1, (uint64_t) cc, cclen);
			k = 1 + cclen;
			if (len >= PN_SHORT_NSN)
			{
				gs_put_digits(buf + k, (uint64_t) ab, 2);
				k += 2;
			}
			if (GS_FORM(v) == GS_FORM_MASKED)
			{
				memset(buf + k, '*', len - 4);
				k += len - 4;
				gs_put_digits(buf + k, (uint64_t) yz, 2);
				k += 2;
			}
			else
			{
				memset(buf + k, '*', len >= PN_SHORT_NSN ? len - 2 : len);
				k += len >= PN_SHORT_NSN ? len - 2 : len;
			}
			buf[k] = '\0';
			return k;
		default:
			return gs_format_pseudonym(v, buf);
	}
}

/*
 * Splits a value form into country code, NSN length, first and last two
 * NSN digits.  Returns false when v is not a well-formed value form.
 */
static bool
split_value(uint64_t v, int *cc, int *len, int *ab, int *yz)
{
	char		d[PN_MAX_DIGITS];
	size_t		n;
	int			cclen;

	if (GS_FORM(v) != GS_FORM_VALUE || (n = value_digits(GS_PAYLOAD(v), d)) == 0)
		return false;
	cclen = cc_length(d, n);
	if (cclen == 0 || n - cclen < 2)
		return false;
	*cc = (int) gs_digits_value(d, cclen);
	*len = (int) n - cclen;
	*ab = (int) gs_digits_value(d + cclen, 2);
	*yz = (int) gs_digits_value(d + n - 2, 2);
	return true;
}

/*
 * Masking keeps the country code, the NSN's length and its first and last
 * two digits; a short NSN keeps no digit (the generalized form).
 */
static uint64_t
mask(uint64_t v)
{
	int			cc,
				len,
				ab,
				yz;

	if (!split_value(v, &cc, &len, &ab, &yz))
		return v;
	if (len < PN_SHORT_NSN)
		return GS_MAKE(GS_FORM_GENERALIZED, hidden_payload(cc, len, 0, 0));
	return GS_MAKE(GS_FORM_MASKED, hidden_payload(cc, len, ab, yz));
}

/*
 * Generalizing keeps the country code, the NSN's length and its first two
 * digits (none for a short NSN).  A masked form reveals more than that, so
 * it is generalized too; other forms are returned as they are.
 */
static uint64_t
generalize(uint64_t v)
{
	int			cc,
				len,
				ab,
				yz;

	if (GS_FORM(v) == GS_FORM_MASKED)
		return GS_MAKE(GS_FORM_GENERALIZED, GS_PAYLOAD(v) / 100 * 100);
	if (!split_value(v, &cc, &len, &ab, &yz))
		return v;
	if (len < PN_SHORT_NSN)
		ab = 0;
	return GS_MAKE(GS_FORM_GENERALIZED, hidden_payload(cc, len, ab, 0));
}

const gs_type gs_phone_number_type = {
	.name = "phone_number",
	.width = 8,
	.parse = parse,
	.format = format,
	.mask = mask,
	.generalize = generalize,
};

/* The country code of a value, masked or generalized form; -1 otherwise. */
int
gs_phone_number_country_code(uint64_t v)
{
	int			cc,
				len,
				ab,
				yz;

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			return split_value(v, &cc, &len, &ab, &yz) ? cc : -1;
		case GS_FORM_MASKED:
		case GS_FORM_GENERALIZED:
			return (int) (GS_PAYLOAD(v) / 1000000 % 1000);
		default:
			return -1;
	}
}

/*
 * Writes the national form of a value to buf (GS_TEXT_MAX bytes): the trunk
 * 0 and the NSN for Vietnam ("0912345678"), the NSN for other countries.
 * Returns the length, or 0 for a disclosure form.
 */
size_t
gs_phone_number_national(uint64_t v, char *buf)
{
	char		d[PN_MAX_DIGITS];
	size_t		n;
	int			cclen;
	size_t		k = 0;

	if (GS_FORM(v) != GS_FORM_VALUE || (n = value_digits(GS_PAYLOAD(v), d)) == 0 ||
		(cclen = cc_length(d, n)) == 0)
		return 0;
	if (gs_digits_value(d, cclen) == PN_VN)
		buf[k++] = '0';
	memcpy(buf + k, d + cclen, n - cclen);
	k += n - cclen;
	buf[k] = '\0';
	return k;
}

/*
 * Whether a Vietnamese number is a mobile number: 1 for mobile, 0 for a
 * fixed line, -1 for other countries and pseudonyms.  Masked and generalized
 * forms show it (by the NSN's length and first digit).
 */
int
gs_phone_number_is_mobile(uint64_t v)
{
	int			cc,
				len,
				ab,
				yz;

	switch (GS_FORM(v))
	{
		case GS_FORM_VALUE:
			if (!split_value(v, &cc, &len, &ab, &yz))
				return -1;
			break;
		case GS_FORM_MASKED:
		case GS_FORM_GENERALIZED:
			cc = (int) (GS_PAYLOAD(v) / 1000000 % 1000);
			len = (int) (GS_PAYLOAD(v) / 10000 % 100);
			break;
		default:
			return -1;
	}
	if (cc != PN_VN)
		return -1;
	return len == PN_VN_MOBILE ? 1 : 0;
}

#ifndef GOVSHARE_FREESTANDING

GOVSHARE_TYPE_FUNCTIONS(phone_number)

/* govshare.phone_number_country_code(phone_number) returns integer, or NULL. */
PG_FUNCTION_INFO_V1(phone_number_country_code);
Datum
phone_number_country_code(PG_FUNCTION_ARGS)
{
	int			cc = gs_phone_number_country_code(GOVSHARE_GETARG(phone_number, 0));

	if (cc < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(cc);
}

/*
 * govshare.phone_number_national(phone_number) returns text: "0912345678"
 * for Vietnam, the NSN for other countries; NULL for a disclosure form.
 */
PG_FUNCTION_INFO_V1(phone_number_national);
Datum
phone_number_national(PG_FUNCTION_ARGS)
{
	char		buf[GS_TEXT_MAX];

	if (gs_phone_number_national(GOVSHARE_GETARG(phone_number, 0), buf) == 0)
		PG_RETURN_NULL();
	return govshare_type_text_datum(buf);
}

/*
 * govshare.phone_number_is_mobile(phone_number) returns boolean: whether a
 * Vietnamese number is a mobile number; NULL for other countries and
 * pseudonyms.
 */
PG_FUNCTION_INFO_V1(phone_number_is_mobile);
Datum
phone_number_is_mobile(PG_FUNCTION_ARGS)
{
	int			m = gs_phone_number_is_mobile(GOVSHARE_GETARG(phone_number, 0));

	if (m < 0)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(m == 1);
}

#endif							/* GOVSHARE_FREESTANDING */
