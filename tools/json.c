/*-------------------------------------------------------------------------
 *
 * json.c
 *	  The JSON govshare-verify reads: one object's top-level members.
 *
 * A checkpoint file, a JWS header and a checkpoint payload are JSON
 * objects whose members that matter are strings and integers.  The parser
 * reads RFC 8259 strictly (nested values are checked and skipped), decodes
 * strings with their escapes into UTF-8, and refuses an object that names
 * a member twice: a signed header or payload must mean one thing only.
 *
 * tools/json.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "govshare_verify.h"

/* deep enough for any checkpoint; stops a file of brackets */
#define JSON_MAX_DEPTH 64

typedef struct Parser
{
	const char *p;
	const char *end;
	const char *error;
} Parser;

static bool parse_value(Parser *ps, int depth, JsonKind *kind, char **value, size_t *value_len);

static void
skip_space(Parser *ps)
{
	while (ps->p < ps->end &&
		   (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static bool
failed(Parser *ps, const char *error)
{
	if (ps->error == NULL)
		ps->error = error;
	return false;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits of a \u escape; -1 when they are not. */
static long
read_u16(Parser *ps)
{
	long		v = 0;

	if (ps->end - ps->p < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		int			d = hex_digit(ps->p[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	ps->p += 4;
	return v;
}

/* Appends code point cp as UTF-8. */
static size_t
put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * A string at ps->p (its opening quote); *out (malloc'd, NUL-terminated)
 * gets it decoded, *out_len its length.  Escapes never lengthen a string
 * beyond its source, so the source's length bounds the buffer.
 */
static bool
parse_string(Parser *ps, char **out, size_t *out_len)
{
	const char *start = ++ps->p;
	char	   *buf;
	size_t		n = 0;

	while (ps->p < ps->end && *ps->p != '"')
		ps->p += (*ps->p == '\\' && ps->p + 1 < ps->end) ? 2 : 1;
	if (ps->p >= ps->end)
		return failed(ps, "a string is not closed");
	buf = verify_malloc(ps->p - start + 1);
	ps->p = start;
	while (*ps->p != '"')
	{
		unsigned char ch = (unsigned char) *ps->p++;

		if (ch < 0x20)
		{
			free(buf);
			return failed(ps, "a string holds a control character");
		}
		if (ch != '\\')
		{
			buf[n++] = (char) ch;
			continue;
		}
		ch = (unsigned char) *ps->p++;
		switch (ch)
		{
			case '"':
			case '\\':
			case '/':
				buf[n++] = (char) ch;
				break;
			case 'b':
				buf[n++] = '\b';
				break;
			case 'f':
				buf[n++] = '\f';
				break;
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'u':
				{
					long		cp = read_u16(ps);

					if (cp >= 0xD800 && cp <= 0xDBFF && ps->end - ps->p >= 6 &&
						ps->p[0] == '\\' && ps->p[1] == 'u')
					{
						long		lo;

						ps->p += 2;
						lo = read_u16(ps);
						if (lo < 0xDC00 || lo > 0xDFFF)
							cp = -1;
						else
							cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					else if (cp >= 0xD800 && cp <= 0xDFFF)
						cp = -1;
					if (cp < 0)
					{
						free(buf);
						return failed(ps, "a string holds an invalid \\u escape");
					}
					n += put_utf8(buf + n, (unsigned long) cp);
					break;
				}
			default:
				free(buf);
				return failed(ps, "a string holds an invalid escape");
		}
	}
	ps->p++;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return true;
}

/* A number as RFC 8259 writes it; *out gets its text. */
static bool
parse_number(Parser *ps, char **out, size_t *out_len)
{
	const char *start = ps->p;
	const char *digits;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	digits = ps->p;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	if (ps->p == digits || (*digits == '0' && ps->p - digits > 1))
		return failed(ps, "a number is malformed");
	if (ps->p < ps->end && *ps->p == '.')
	{
		digits = ++ps->p;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
		if (ps->p == digits)
			return failed(ps, "a number is malformed");
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E'))
	{
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		digits = ps->p;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
		if (ps->p == digits)
			return failed(ps, "a number is malformed");
	}
	*out_len = ps->p - start;
	*out = verify_malloc(*out_len + 1);
	memcpy(*out, start, *out_len);
	(*out)[*out_len] = '\0';
	return true;
}

static bool
parse_literal(Parser *ps, const char *word)
{
	size_t		n = strlen(word);

	if ((size_t) (ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return failed(ps, "an unexpected character");
	ps->p += n;
	return true;
}

/*
 * An object (obj != NULL: collect its members) or an array (obj NULL and
 * close ']'), nested values checked and dropped.
 */
static bool
parse_container(Parser *ps, int depth, char close, JsonObject *obj)
{
	bool		first = true;

	if (depth > JSON_MAX_DEPTH)
		return failed(ps, "it is nested too deeply");
	ps->p++;
	for (;;)
	{
		char	   *name = NULL;
		size_t		name_len = 0;
		JsonKind	kind;
		char	   *value = NULL;
		size_t		value_len = 0;

		skip_space(ps);
		if (ps->p < ps->end && *ps->p == close && first)
		{
			ps->p++;
			return true;
		}
		if (close == '}')
		{
			if (ps->p >= ps->end || *ps->p != '"')
				return failed(ps, "an object member has no name");
			if (!parse_string(ps, &name, &name_len))
				return false;
			skip_space(ps);
			if (ps->p >= ps->end || *ps->p != ':')
			{
				free(name);
				return failed(ps, "an object member has no ':'");
			}
			ps->p++;
		}
		if (!parse_value(ps, depth + 1, &kind, obj ? &value : NULL, &value_len))
		{
			free(name);
			return false;
		}
		if (obj != NULL)
		{
			if (strlen(name) != name_len || json_member(obj, name) != NULL)
			{
				free(name);
				free(value);
				return failed(ps, "an object names a member twice, or with a NUL byte");
			}
			obj->members = realloc(obj->members, sizeof(JsonMember) * (obj->n + 1));
			if (obj->members == NULL)
				verify_fatal("out of memory");
			obj->members[obj->n].name = name;
			obj->members[obj->n].kind = kind;
			obj->members[obj->n].value = value;
			obj->members[obj->n].value_len = value_len;
			obj->n++;
		}
		else
			free(name);
		first = false;
		skip_space(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close)
		{
			ps->p++;
			return true;
		}
		return failed(ps, close == '}' ? "an object is not closed" : "an array is not closed");
	}
}

/*
 * Any value; with value non-NULL, a string's decoded bytes or a number's
 * text go there (malloc'd).
 */
static bool
parse_value(Parser *ps, int depth, JsonKind *kind, char **value, size_t *value_len)
{
	char	   *v = NULL;
	size_t		n = 0;
	bool		ok;

	skip_space(ps);
	if (ps->p >= ps->end)
		return failed(ps, "a value is missing");
	*kind = JSON_OTHER;
	switch (*ps->p)
	{
		case '"':
			*kind = JSON_STRING;
			ok = parse_string(ps, &v, &n);
			break;
		case '{':
			ok = parse_container(ps, depth, '}', NULL);
			break;
		case '[':
			ok = parse_container(ps, depth, ']', NULL);
			break;
		case 't':
			ok = parse_literal(ps, "true");
			break;
		case 'f':
			ok = parse_literal(ps, "false");
			break;
		case 'n':
			ok = parse_literal(ps, "null");
			break;
		default:
			*kind = JSON_NUMBER;
			ok = parse_number(ps, &v, &n);
			break;
	}
	if (ok && value != NULL)
	{
		*value = v;
		*value_len = n;
	}
	else
		free(v);
	return ok;
}

/*
 * Parses text, which must be one JSON object and nothing else (white
 * space aside), into obj.  Returns false with *error saying why.
 */
bool
json_parse_object(const char *text, size_t len, JsonObject *obj, const char **error)
{
	Parser		ps = {text, text + len, NULL};

	obj->members = NULL;
	obj->n = 0;
	skip_space(&ps);
	if (ps.p >= ps.end || *ps.p != '{')
	{
		*error = "it is not a JSON object";
		return false;
	}
	if (!parse_container(&ps, 0, '}', obj))
	{
		json_free(obj);
		*error = ps.error;
		return false;
	}
	skip_space(&ps);
	if (ps.p != ps.end)
	{
		json_free(obj);
		*error = "something follows the JSON object";
		return false;
	}
	return true;
}

/* The member called name, or NULL. */
const JsonMember *
json_member(const JsonObject *obj, const char *name)
{
	for (int i = 0; i < obj->n; i++)
		if (strcmp(obj->members[i].name, name) == 0)
			return &obj->members[i];
	return NULL;
}

void
json_free(JsonObject *obj)
{
	for (int i = 0; i < obj->n; i++)
	{
		free(obj->members[i].name);
		free(obj->members[i].value);
	}
	free(obj->members);
	obj->members = NULL;
	obj->n = 0;
}
