/*-------------------------------------------------------------------------
 *
 * common.c
 *	  Parsing helpers and province tables shared by the national types.
 *
 * Free-standing C (no server headers): linked into the extension and into
 * the fuzz targets.
 *
 * Province codes are those of the General Statistics Office's list of
 * administrative units (Decision 124/2004/QD-TTg and its amendments, 63
 * provinces), and the 34 provinces that took effect on 1 July 2025
 * (Resolution 202/2025/QH15; codes per Decision 19/2025/QD-TTg).  The
 * personal identification number prefixes its province of birth registration
 * with a zero: "001" is Ha Noi.  See docs/types.md for sources.
 *
 * src/types/common.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "govshare_types.h"

typedef struct province
{
	int			code;
	const char *name;
	int			code_2025;		/* the 2025 province it became part of */
} province;

/* The 63 provinces of the 2004 scheme, and where each went in 2025. */
static const province provinces_2004[] = {
	{1, "Ha Noi", 1}, {2, "Ha Giang", 8}, {4, "Cao Bang", 4},
	{6, "Bac Kan", 19}, {8, "Tuyen Quang", 8}, {10, "Lao Cai", 15},
	{11, "Dien Bien", 11}, {12, "Lai Chau", 12}, {14, "Son La", 14},
	{15, "Yen Bai", 15}, {17, "Hoa Binh", 25}, {19, "Thai Nguyen", 19},
	{20, "Lang Son", 20}, {22, "Quang Ninh", 22}, {24, "Bac Giang", 24},
	{25, "Phu Tho", 25}, {26, "Vinh Phuc", 25}, {27, "Bac Ninh", 24},
	{30, "Hai Duong", 31}, {31, "Hai Phong", 31}, {33, "Hung Yen", 33},
	{34, "Thai Binh", 33}, {35, "Ha Nam", 37}, {36, "Nam Dinh", 37},
	{37, "Ninh Binh", 37}, {38, "Thanh Hoa", 38}, {40, "Nghe An", 40},
	{42, "Ha Tinh", 42}, {44, "Quang Binh", 44}, {45, "Quang Tri", 44},
	{46, "Thua Thien Hue", 46}, {48, "Da Nang", 48}, {49, "Quang Nam", 48},
	{51, "Quang Ngai", 51}, {52, "Binh Dinh", 52}, {54, "Phu Yen", 66},
	{56, "Khanh Hoa", 56}, {58, "Ninh Thuan", 56}, {60, "Binh Thuan", 68},
	{62, "Kon Tum", 51}, {64, "Gia Lai", 52}, {66, "Dak Lak", 66},
	{67, "Dak Nong", 68}, {68, "Lam Dong", 68}, {70, "Binh Phuoc", 75},
	{72, "Tay Ninh", 80}, {74, "Binh Duong", 79}, {75, "Dong Nai", 75},
	{77, "Ba Ria - Vung Tau", 79}, {79, "Ho Chi Minh City", 79},
	{80, "Long An", 80}, {82, "Tien Giang", 82}, {83, "Ben Tre", 86},
	{84, "Tra Vinh", 86}, {86, "Vinh Long", 86}, {87, "Dong Thap", 82},
	{89, "An Giang", 91}, {91, "Kien Giang", 91}, {92, "Can Tho", 92},
	{93, "Hau Giang", 92}, {94, "Soc Trang", 92}, {95, "Bac Lieu", 96},
	{96, "Ca Mau", 96},
};

/* The 34 provinces of the 2025 scheme. */
static const province provinces_2025[] = {
	{1, "Ha Noi", 1}, {4, "Cao Bang", 4}, {8, "Tuyen Quang", 8},
	{11, "Dien Bien", 11}, {12, "Lai Chau", 12}, {14, "Son La", 14},
	{15, "Lao Cai", 15}, {19, "Thai Nguyen", 19}, {20, "Lang Son", 20},
	{22, "Quang Ninh", 22}, {24, "Bac Ninh", 24}, {25, "Phu Tho", 25},
	{31, "Hai Phong", 31}, {33, "Hung Yen", 33}, {37, "Ninh Binh", 37},
	{38, "Thanh Hoa", 38}, {40, "Nghe An", 40}, {42, "Ha Tinh", 42},
	{44, "Quang Tri", 44}, {46, "Hue", 46}, {48, "Da Nang", 48},
	{51, "Quang Ngai", 51}, {52, "Gia Lai", 52}, {56, "Khanh Hoa", 56},
	{66, "Dak Lak", 66}, {68, "Lam Dong", 68}, {75, "Dong Nai", 75},
	{79, "Ho Chi Minh City", 79}, {80, "Tay Ninh", 80}, {82, "Dong Thap", 82},
	{86, "Vinh Long", 86}, {91, "An Giang", 91}, {92, "Can Tho", 92},
	{96, "Ca Mau", 96},
};

#define lengthof(a) (sizeof(a) / sizeof((a)[0]))

/* Looks a province up in one scheme's table; NULL when it is not there. */
static const province *
find_province(int code, int scheme)
{
	const province *table = scheme == 2025 ? provinces_2025 : provinces_2004;
	size_t		n = scheme == 2025 ? lengthof(provinces_2025) : lengthof(provinces_2004);

	for (size_t i = 0; i < n; i++)
		if (table[i].code == code)
			return &table[i];
	return NULL;
}

/* Is code one of the 63 provinces of the 2004 scheme? */
bool
gs_province_2004(int code)
{
	return find_province(code, 2004) != NULL;
}

/* Is code one of the 34 provinces of the 2025 scheme? */
bool
gs_province_2025(int code)
{
	return find_province(code, 2025) != NULL;
}

/* The 2025 province a 2004 province became part of; -1 if code is unknown. */
int
gs_province_2004_to_2025(int code)
{
	const province *p = find_province(code, 2004);

	return p ? p->code_2025 : -1;
}

/* The name (ASCII transliteration) of a province, or NULL. */
const char *
gs_province_name(int code, int scheme)
{
	const province *p = find_province(code, scheme);

	return p ? p->name : NULL;
}

/*
 * Records why an input was refused.  The detail names the rule broken and
 * must never quote the input: messages can reach people who may not see it.
 */
void
gs_fail(gs_error *err, const char *hint, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	snprintf(err->hint, sizeof(err->hint), "%s", hint ? hint : "");
}

/*
 * Copies s to out without the characters in drop and without leading and
 * trailing white space.  Returns the length written, or (size_t) -1 when the
 * result would not fit in outsize - 1 bytes or s holds a NUL byte.
 */
size_t
gs_squeeze(const char *s, size_t len, const char *drop, char *out, size_t outsize)
{
	size_t		n = 0;

	while (len > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
					   s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '\0')
			return (size_t) -1;
		if (strchr(drop, s[i]) != NULL)
			continue;
		if (n + 1 >= outsize)
			return (size_t) -1;
		out[n++] = s[i];
	}
	out[n] = '\0';
	return n;
}

/* True when s[0..len) is non-empty and all ASCII digits. */
bool
gs_all_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The value of len (at most 19) ASCII digits. */
uint64_t
gs_digits_value(const char *s, size_t len)
{
	uint64_t	v = 0;

	for (size_t i = 0; i < len; i++)
		v = v * 10 + (uint64_t) (s[i] - '0');
	return v;
}

/* Writes v as exactly ndigits digits, zero-padded, without a terminator. */
void
gs_put_digits(char *buf, uint64_t v, int ndigits)
{
	for (int i = ndigits - 1; i >= 0; i--)
	{
		buf[i] = (char) ('0' + v % 10);
		v /= 10;
	}
}

/* How many times c occurs in s[0..len). */
int
gs_count_char(const char *s, size_t len, char c)
{
	int			n = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] == c)
			n++;
	return n;
}

/*
 * Pseudonyms: '~' and 12 characters of Crockford's base32 (no I, L, O, U),
 * most significant first.  Input is case-insensitive.
 */
const char gs_base32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

size_t
gs_format_pseudonym(uint64_t v, char *buf)
{
	uint64_t	bits = GS_PAYLOAD(v);

	if (bits >> GS_PSEUDONYM_BITS)
		return 0;
	buf[0] = '~';
	for (int i = GS_PSEUDONYM_CHARS; i >= 1; i--)
	{
		buf[i] = gs_base32[bits & 31];
		bits >>= 5;
	}
	buf[GS_PSEUDONYM_CHARS + 1] = '\0';
	return GS_PSEUDONYM_CHARS + 1;
}

bool
gs_parse_pseudonym(const char *s, size_t len, uint64_t *out)
{
	uint64_t	bits = 0;

	if (len != GS_PSEUDONYM_CHARS + 1 || s[0] != '~')
		return false;
	for (size_t i = 1; i < len; i++)
	{
		char		c = s[i];
		const char *p;

		if (c >= 'a' && c <= 'z')
			c = (char) (c - 'a' + 'A');
		if (c == '\0' || (p = strchr(gs_base32, c)) == NULL)
			return false;
		bits = (bits << 5) | (uint64_t) (p - gs_base32);
	}
	*out = GS_MAKE(GS_FORM_PSEUDONYM, bits);
	return true;
}

/*
 * The start every parser shares: squeezes s into b (bsize bytes) without the
 * characters in drop, refuses overlong, NUL-holding and empty input with
 * hint, and reads a pseudonym ("~...") when the type has them.
 */
gs_begin
gs_parse_begin(const char *s, size_t len, const char *drop, const char *hint,
			   bool pseudonyms, char *b, size_t bsize, size_t *n,
			   uint64_t *out, gs_error *err)
{
	*n = gs_squeeze(s, len, drop, b, bsize);
	if (*n == (size_t) -1)
	{
		gs_fail(err, hint, "The input is too long or holds a NUL byte.");
		return GS_BEGIN_FAILED;
	}
	if (*n == 0)
	{
		gs_fail(err, hint, "The input is empty.");
		return GS_BEGIN_FAILED;
	}
	if (pseudonyms && b[0] == '~')
	{
		if (gs_parse_pseudonym(b, *n, out))
			return GS_BEGIN_DONE;
		gs_fail(err, NULL, "A pseudonym is \"~\" followed by %d base32 characters.",
				GS_PSEUDONYM_CHARS);
		return GS_BEGIN_FAILED;
	}
	return GS_BEGIN_GO_ON;
}

/*
 * Validates a stored or received value exactly as text input would: formats
 * it, parses the text back, and requires the same value.  This is what
 * binary input and casts from integers use, so that no path admits a value
 * that text input would refuse.
 */
bool
gs_check_value(const gs_type *type, uint64_t v, const gs_context *ctx, gs_error *err)
{
	char		buf[GS_TEXT_MAX];
	size_t		len;
	uint64_t	back;

	if ((type->width == 4 && (v >> 32) != 0) || (v >> 63) != 0)
	{
		gs_fail(err, NULL, "The value does not fit in %d bytes.", type->width == 4 ? 4 : 8);
		return false;
	}
	len = type->format(v, buf);
	if (len == 0)
	{
		gs_fail(err, NULL, "The bytes are not a valid encoding of type %s.", type->name);
		return false;
	}
	if (!type->parse(buf, len, ctx, &back, err))
		return false;
	if (back != v)
	{
		gs_fail(err, NULL, "The bytes are not the canonical encoding of type %s.",
				type->name);
		return false;
	}
	return true;
}
