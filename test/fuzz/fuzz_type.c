/*-------------------------------------------------------------------------
 *
 * fuzz_type.c
 *	  One libFuzzer harness for every national identifier type.
 *
 * Built once per type with -DFUZZ_TYPE=gs_<type>_type and
 * -DGOVSHARE_FREESTANDING, linked with src/types/common.c and
 * src/types/<type>.c only: the parsing core runs here exactly as it runs in
 * the server, without the server.
 *
 * Each input is used twice:
 *
 * (a) as text, the input function's path.  An accepted input must format
 *	   (non-zero length, terminated, shorter than GS_TEXT_MAX), its text must
 *	   parse back to the same value, gs_check_value must accept the value,
 *	   and the value's mask and generalization must pass gs_check_value and
 *	   format too.  A refused input must leave a terminated detail and hint
 *	   that do not echo the input (see echoes() for how a coincidence is told
 *	   from an echo).
 *
 * (b) when it has at least width bytes, its first width bytes as a raw
 *	   big-endian encoding, the binary receive path: whatever gs_check_value
 *	   accepts must satisfy the same properties as in (a).
 *
 * Any violation calls abort(), which libFuzzer reports as a crash and saves
 * as an artifact; see docs/testing.md.
 *
 * test/fuzz/fuzz_type.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "govshare_types.h"

#ifndef FUZZ_TYPE
#error "compile with -DFUZZ_TYPE=gs_<type>_type"
#endif

/* Inputs shorter than this are not checked for echoes: too many coincide. */
#define ECHO_MIN	6

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const gs_type *const type = &FUZZ_TYPE;
static const gs_context ctx = {.current_year = 2026};

/* Reports a broken property and stops the run. */
static void
violation(const char *what, uint64_t v)
{
	fprintf(stderr, "govshare fuzz: %s: %s (encoding 0x%016llx)\n",
			type->name, what, (unsigned long long) v);
	abort();
}

/* Does the NUL-terminated text hay contain the len bytes of needle? */
static int
contains(const char *hay, const char *needle, size_t len)
{
	size_t		n = strlen(hay);

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 0; i + len <= n; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return 1;
	return 0;
}

/*
 * Changes every digit and letter of s to another of its kind, leaving
 * everything else as it is, so that the result is refused for the same
 * reason as s in nearly every case.  Variant 0 shifts (0->5, a->n), variant 1
 * mirrors (0->9, a->z); no digit or letter is left unchanged by either.
 */
static void
perturb(char *s, size_t len, int variant)
{
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c >= '0' && c <= '9')
			s[i] = (char) (variant ? '9' - (c - '0') : '0' + (c - '0' + 5) % 10);
		else if (c >= 'a' && c <= 'z')
			s[i] = (char) (variant ? 'z' - (c - 'a') : 'a' + (c - 'a' + 13) % 26);
		else if (c >= 'A' && c <= 'Z')
			s[i] = (char) (variant ? 'Z' - (c - 'A') : 'A' + (c - 'A' + 13) % 26);
	}
}

/*
 * Is a message of a refusal of s an echo of s?  Finding s in the message is
 * not enough: the messages are fixed English text with examples in them, and
 * libFuzzer learns their words, so an input such as "digits, spaces" or
 * "9012345" is found by coincidence in the message that refuses it.  An echo
 * follows the input: both variants of the input with its digits and letters
 * changed (see perturb) must also be found in the messages refusing them.
 * An input with neither digits nor letters ("******") is never an echo: it
 * holds no data.  which selects the detail (0) or the hint (1).
 */
static int
echoes(const char *s, size_t len, const gs_error *err, int which)
{
	char	   *p;
	gs_error	err2;
	uint64_t	v;
	int			echo = 1;

	if (!contains(which ? err->hint : err->detail, s, len))
		return 0;
	p = malloc(len);
	if (p == NULL)
		abort();
	for (int variant = 0; variant < 2 && echo; variant++)
	{
		memcpy(p, s, len);
		perturb(p, len, variant);
		if (memcmp(p, s, len) == 0)
			echo = 0;
		else
		{
			memset(&err2, 0, sizeof(err2));
			echo = !type->parse(p, len, &ctx, &v, &err2) &&
				contains(which ? err2.hint : err2.detail, p, len);
		}
	}
	free(p);
	return echo;
}

/*
 * Formats v, which must be a well-formed encoding, into buf (GS_TEXT_MAX
 * bytes) and checks the text; returns its length.
 */
static size_t
format_checked(uint64_t v, char *buf, const char *what)
{
	size_t		len;
	char		msg[128];

	memset(buf, 0x7f, GS_TEXT_MAX);
	len = type->format(v, buf);
	if (len == 0)
	{
		snprintf(msg, sizeof(msg), "%s does not format", what);
		violation(msg, v);
	}
	if (len >= GS_TEXT_MAX || buf[len] != '\0' || strlen(buf) != len)
	{
		snprintf(msg, sizeof(msg), "%s formats to a malformed string", what);
		violation(msg, v);
	}
	return len;
}

/*
 * Checks a value the type accepted: the width, the text round trip,
 * gs_check_value, and the disclosure transforms.
 */
static void
check_accepted(uint64_t v, const char *what)
{
	char		buf[GS_TEXT_MAX];
	char		msg[128];
	size_t		len;
	uint64_t	back = 0;
	uint64_t	m;
	uint64_t	g;
	gs_error	err;

	if (type->width == 4 && (v >> 32) != 0)
	{
		snprintf(msg, sizeof(msg), "%s does not fit in 4 bytes", what);
		violation(msg, v);
	}
	len = format_checked(v, buf, what);
	memset(&err, 0, sizeof(err));
	if (!type->parse(buf, len, &ctx, &back, &err))
	{
		fprintf(stderr, "refused: %s\n", err.detail);
		snprintf(msg, sizeof(msg), "the text of %s does not parse", what);
		violation(msg, v);
	}
	if (back != v)
	{
		snprintf(msg, sizeof(msg), "the text of %s parses to another value", what);
		violation(msg, v);
	}
	if (!gs_check_value(type, v, &ctx, &err))
	{
		snprintf(msg, sizeof(msg), "gs_check_value refuses %s", what);
		violation(msg, v);
	}

	m = type->mask(v);
	if (!gs_check_value(type, m, &ctx, &err))
	{
		snprintf(msg, sizeof(msg), "gs_check_value refuses the mask of %s", what);
		violation(msg, m);
	}
	format_checked(m, buf, "the mask");

	g = type->generalize(v);
	if (!gs_check_value(type, g, &ctx, &err))
	{
		snprintf(msg, sizeof(msg), "gs_check_value refuses the generalization of %s", what);
		violation(msg, g);
	}
	format_checked(g, buf, "the generalization");
}

/* Checks what a refusal left behind. */
static void
check_refused(const char *s, size_t len, const gs_error *err)
{
	if (memchr(err->detail, '\0', sizeof(err->detail)) == NULL)
		violation("the detail of a refusal is not terminated", 0);
	if (memchr(err->hint, '\0', sizeof(err->hint)) == NULL)
		violation("the hint of a refusal is not terminated", 0);
	if (err->detail[0] == '\0')
		violation("a refusal has no detail", 0);
	if (len >= ECHO_MIN && echoes(s, len, err, 0))
		violation("the detail of a refusal echoes the input", 0);
	if (len >= ECHO_MIN && echoes(s, len, err, 1))
		violation("the hint of a refusal echoes the input", 0);
}

/* The libFuzzer entry point. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	uint64_t	v = 0;
	gs_error	err;

	/* (a) text input */
	memset(&err, 0x7f, sizeof(err));
	if (type->parse(s, size, &ctx, &v, &err))
		check_accepted(v, "an accepted text");
	else
		check_refused(s, size, &err);

	/* (b) the first width bytes as a received binary value */
	if (size >= (size_t) type->width)
	{
		v = 0;
		for (int i = 0; i < type->width; i++)
			v = (v << 8) | data[i];
		memset(&err, 0x7f, sizeof(err));
		if (gs_check_value(type, v, &ctx, &err))
			check_accepted(v, "a received encoding");
		else if (memchr(err.detail, '\0', sizeof(err.detail)) == NULL)
			violation("the detail of a refused encoding is not terminated", v);
	}
	return 0;
}
