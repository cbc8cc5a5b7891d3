/*-------------------------------------------------------------------------
 *
 * fold.c
 *	  Text as govshare.verify() compares it: Unicode NFC, case folded,
 *	  white space squeezed, and optionally without diacritics.
 *
 * A claim that a person's name is "nguyen  VAN an" should match the
 * record "Nguyen Van An", whatever the database's locale.  So the folding
 * here does not ask the locale: it is a fixed function of the text,
 *
 *	1. NFC normalisation (PostgreSQL's own tables, as normalize(text, NFC));
 *	2. white space (ASCII space, tab, line breaks, U+00A0, U+1680,
 *	   U+2000-U+200A, U+202F, U+205F, U+3000) trimmed at both ends and each
 *	   run squeezed to one space;
 *	3. case folded to lower case for the Latin scripts: Basic Latin,
 *	   Latin-1 Supplement, Latin Extended-A, the Vietnamese letters of
 *	   Latin Extended-B (O and U with horn) and Latin Extended Additional
 *	   (every Vietnamese letter with its tone mark).  Other scripts are
 *	   compared as they are, after NFC;
 *	4. with diacritics insignificant: the text is decomposed (NFD), its
 *	   combining marks (U+0300-U+036F) dropped, and the letters that carry
 *	   their diacritic inside them mapped by the table below (đ to d,
 *	   ø to o, ł to l, ħ to h, ŧ to t, ı to i), then composed again.
 *
 * Every Vietnamese letter (a ă â đ e ê i o ô ơ u ư y with the five tones,
 * in both cases) folds to its base Latin letter under 4; the tests in
 * sql/verify.sql spell the whole alphabet.  In a database whose encoding
 * is not UTF-8 only steps 2 and 3 on ASCII apply.
 *
 * src/common/fold.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/unicode_norm.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"			/* VARDATA_ANY: its own header from 16 */
#endif

#include "common/gs_common.h"

/* Letters whose diacritic is part of the letter (no decomposition). */
static const struct
{
	pg_wchar	from;
	pg_wchar	to;
}			stroke_letters[] = {
	{0x00D0, 'd'}, {0x00F0, 'd'},	/* Ð ð */
	{0x00D8, 'o'}, {0x00F8, 'o'},	/* Ø ø */
	{0x0110, 'd'}, {0x0111, 'd'},	/* Đ đ, Vietnamese */
	{0x0126, 'h'}, {0x0127, 'h'},	/* Ħ ħ */
	{0x0131, 'i'},				/* ı */
	{0x0141, 'l'}, {0x0142, 'l'},	/* Ł ł */
	{0x0166, 't'}, {0x0167, 't'},	/* Ŧ ŧ */
};

/* Is c white space for the squeezing? */
static bool
is_space(pg_wchar c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
		(c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
		c == 0x205F || c == 0x3000;
}

/*
 * The lower case of c in the Latin blocks named at the top; c itself
 * elsewhere.  In Latin Extended-A and Additional, upper and lower case
 * alternate (upper even, except where noted).
 */
static pg_wchar
latin_lower(pg_wchar c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
		return c + 32;
	if (c >= 0x0100 && c <= 0x017F)
	{
		if (c == 0x0130)
			return 'i';			/* İ */
		if ((c >= 0x0139 && c <= 0x0148) || (c >= 0x0179 && c <= 0x017E))
			return (c % 2 == 1) ? c + 1 : c;	/* upper odd here */
		if (c == 0x0178)
			return 0xFF;		/* Ÿ */
		if (c == 0x0131 || c == 0x0138 || c == 0x0149 || c == 0x017F)
			return c;
		return (c % 2 == 0) ? c + 1 : c;
	}
	if (c == 0x01A0 || c == 0x01AF)
		return c + 1;			/* Ơ Ư */
	if (c >= 0x1E00 && c <= 0x1EFF && !(c >= 0x1E96 && c <= 0x1E9F))
		return (c % 2 == 0) ? c + 1 : c;
	return c;
}

/* The base letter of a letter with a built-in diacritic, or c. */
static pg_wchar
strip_stroke(pg_wchar c)
{
	for (int i = 0; i < lengthof(stroke_letters); i++)
		if (stroke_letters[i].from == c)
			return stroke_letters[i].to;
	return c;
}

/* The code points of a NUL-terminated UTF-8 string, 0-terminated (palloc'd). */
static pg_wchar *
to_points(const char *s, int len)
{
	pg_wchar   *out = palloc(sizeof(pg_wchar) * (len + 1));
	int			n = 0;

	for (int i = 0; i < len;)
	{
		int			l = pg_utf_mblen((const unsigned char *) s + i);

		if (l < 1 || i + l > len)
			l = 1;
		out[n++] = l == 1 ? (unsigned char) s[i] : utf8_to_unicode((const unsigned char *) s + i);
		i += l;
	}
	out[n] = 0;
	return out;
}

/*
 * points (0-terminated) in normalization form: points itself when it is
 * already (every ASCII text is, and the quick check of PostgreSQL's tables
 * says so of most NFC text), else a palloc'd copy.  The quick check answers
 * only for the composed forms; its "maybe" takes the full path.
 */
static pg_wchar *
normalized(UnicodeNormalizationForm form, pg_wchar *points)
{
	pg_wchar   *p = points;

	while (*p != 0 && *p < 0x80)
		p++;
	if (*p == 0 ||
		(form == UNICODE_NFC && unicode_is_normalized_quickcheck(form, points) == UNICODE_NORM_QC_YES))
		return points;
	return unicode_normalize(form, points);
}

/*
 * s (len bytes, in the database encoding) folded as the top of the file
 * says; a palloc'd NUL-terminated string.
 */
char *
govshare_fold_text(const char *s, int len, bool ignore_diacritics)
{
	StringInfoData out;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	pg_wchar   *points;
	pg_wchar   *norm;
	bool		pending_space = false;

	initStringInfo(&out);
	if (utf8)
	{
		points = to_points(s, len);
		norm = normalized(ignore_diacritics ? UNICODE_NFD : UNICODE_NFC, points);
		if (norm != points)
			pfree(points);
	}
	else
	{
		norm = palloc(sizeof(pg_wchar) * (len + 1));
		for (int i = 0; i < len; i++)
			norm[i] = (unsigned char) s[i];
		norm[len] = 0;
	}

	/* fold into a buffer of code points, then compose again (NFC) */
	{
		int			n = 0;
		int			nnorm = 0;

		while (norm[nnorm] != 0)
			nnorm++;
		points = palloc(sizeof(pg_wchar) * (nnorm + 1));

		for (pg_wchar *p = norm; *p != 0; p++)
		{
			pg_wchar	c = *p;

			if (is_space(c))
			{
				pending_space = n > 0;
				continue;
			}
			if (ignore_diacritics && utf8 && c >= 0x0300 && c <= 0x036F)
				continue;
			if (pending_space)
				points[n++] = ' ';
			pending_space = false;
			c = utf8 || c < 0x80 ? latin_lower(c) : c;
			if (ignore_diacritics && utf8)
				c = strip_stroke(c);
			points[n++] = c;
		}
		points[n] = 0;
	}
	if (utf8)
	{
		pg_wchar   *composed = normalized(UNICODE_NFC, points);
		unsigned char buf[8];

		for (pg_wchar *p = composed; *p != 0; p++)
		{
			unicode_to_utf8(*p, buf);
			appendBinaryStringInfo(&out, (char *) buf, pg_utf_mblen(buf));
		}
		if (composed != points)
			pfree(composed);
	}
	else
		for (pg_wchar *p = points; *p != 0; p++)
			appendStringInfoChar(&out, (char) *p);
	pfree(points);
	pfree(norm);
	return out.data;
}

/*
 * govshare.verify_fold(t text, ignore_diacritics boolean) returns text
 *
 * The form in which govshare.verify() compares a text claim with a text
 * value: for people who want to know why a claim did or did not match.
 */
PG_FUNCTION_INFO_V1(govshare_verify_fold);
Datum
govshare_verify_fold(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(govshare_fold_text(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t),
														PG_GETARG_BOOL(1))));
}
