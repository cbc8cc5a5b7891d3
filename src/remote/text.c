/*-------------------------------------------------------------------------
 *
 * text.c
 *	  Text a provider sends, made fit to keep: valid in the database
 *	  encoding and of bounded size.
 *
 * A provider, or whoever answers in its place, chooses every byte it
 * sends.  A provider whose database is SQL_ASCII sends its bytes
 * unconverted, whatever the client encoding asked for.  The messages of
 * its errors (and libpq's, which quote them) are kept here, in the error
 * raised and in the consumer's access record, only as their first
 * GOVSHARE_REMOTE_TEXT_MAX bytes, with '?' in place of each byte that is
 * not valid in the database encoding.  Values are not mended: rows.c
 * refuses a value that is not valid, before an input function sees it.
 *
 * src/remote/text.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "remote/remote_internal.h"

/*
 * A copy of s valid in the database encoding: each byte that does not
 * start a valid character is replaced by '?'.  At most max bytes of it are
 * kept, cut at a character's end; a cut text ends with how many bytes were
 * left out.  Returns a palloc'd string.
 */
char *
govshare_remote_text(const char *s, int max)
{
	int			encoding = GetDatabaseEncoding();
	size_t		len = strlen(s);
	size_t		i = 0;
	StringInfoData out;

	initStringInfo(&out);
	while (i < len)
	{
		int			n = pg_encoding_verifymbchar(encoding, s + i, Min(len - i, (size_t) MAX_MULTIBYTE_CHAR_LEN));

		if (out.len + Max(n, 1) > max)
			break;
		if (n < 0)
		{
			appendStringInfoChar(&out, '?');
			i++;
		}
		else
		{
			appendBinaryStringInfo(&out, s + i, n);
			i += n;
		}
	}
	if (i < len)
		appendStringInfo(&out, " [... %zu more bytes]", len - i);
	return out.data;
}
