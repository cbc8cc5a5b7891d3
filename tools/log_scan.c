/*-------------------------------------------------------------------------
 *
 * log_scan.c
 *	  govshare-verify's side of the connection: the snapshot, the cursor
 *	  over govshare.access_log, the server's checkpoint.
 *
 * The log is read in seq order, in a REPEATABLE READ READ ONLY transaction
 * so that the whole scan sees one snapshot, CHUNK_ROWS rows at a time, each
 * chunk one COPY (SELECT ...) TO STDOUT in binary: the columns' binary
 * forms, as a binary result would give them, without a result object per
 * row (single-row mode spent more on those than on the hashes).  A row is
 * taken from a buffer that holds at most the row being read and the
 * message that completes it, so the tool's memory is bounded by the
 * largest row (a statement text is kept up to 64 kB), never by the chunk
 * or the log; and a chain that fails stops the scan within a chunk.  Text
 * is asked for in the database's own encoding, which is what the canonical
 * encoding covers.
 *
 * tools/log_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "govshare_verify.h"

#define CHUNK_ROWS 100000

/* Runs a command that returns no rows; a server error is fatal. */
static void
run(PGconn *conn, const char *sql, const char *what)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		verify_fatal("could not %s: %s", what, PQerrorMessage(conn));
	PQclear(res);
}

/*
 * Connects with conninfo (a connection string, a URI or a database name;
 * empty: libpq's defaults and environment).  A failure is fatal, and its
 * message never shows the password: a malformed string is not quoted, and
 * the password is masked wherever libpq's message would repeat it.
 */
PGconn *
scan_connect(const char *conninfo)
{
	const char *keys[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {conninfo, "govshare-verify", NULL};
	PQconninfoOption *opts;
	char	   *err = NULL;
	const char *password = NULL;
	PGconn	   *conn;
	PGresult   *res;

	if ((opts = PQconninfoParse(conninfo, &err)) == NULL)
	{
		PQfreemem(err);
		verify_fatal("the connection string of --dbname is malformed (libpq could not parse it)");
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
			password = o->val;
	conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		char	   *msg = verify_strdup(conn ? PQerrorMessage(conn) : "out of memory");
		char	   *p;
		size_t		len;

		if (password != NULL)
			while ((p = strstr(msg, password)) != NULL)
				memset(p, '*', strlen(password));
		len = strlen(msg);
		while (len > 0 && msg[len - 1] == '\n')
			msg[--len] = '\0';
		PQconninfoFree(opts);
		PQfinish(conn);
		verify_fatal("could not connect to the database: %s", msg);
	}
	PQconninfoFree(opts);

	/* text in the database's encoding, as the hashes cover it */
	res = PQexec(conn, "SELECT current_setting('server_encoding')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		verify_fatal("could not read the server's encoding: %s", PQerrorMessage(conn));
	if (PQsetClientEncoding(conn, PQgetvalue(res, 0, 0)) != 0)
		verify_fatal("could not set the client encoding to the database's, %s: %s",
					 PQgetvalue(res, 0, 0), PQerrorMessage(conn));
	PQclear(res);
	return conn;
}

/*
 * Checks that govshare.access_log has the columns of format GSAL2 (or of
 * GSAL1, without detail: the table of govshare 0.1.0), in order, with
 * their types: a verifier of another layout would encode rows differently
 * from the server.  Returns the number of columns.
 */
static int
check_columns(PGconn *conn)
{
	PGresult   *res = PQexec(conn,
							 "SELECT a.attname, a.atttypid FROM pg_catalog.pg_attribute a "
							 "WHERE a.attrelid = 'govshare.access_log'::pg_catalog.regclass "
							 "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum");
	int			n;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		verify_fatal("could not read the columns of govshare.access_log: %s", PQerrorMessage(conn));
	n = PQntuples(res);
	if (n != VERIFY_NCOLUMNS && n != VERIFY_NCOLUMNS_V1)
		verify_fatal("govshare.access_log has %d columns; this verifier knows the %d of format GSAL2 and the %d of GSAL1 (docs/audit-format.md): the installed govshare and this tool differ in version",
					 n, VERIFY_NCOLUMNS, VERIFY_NCOLUMNS_V1);
	for (int i = 0; i < n; i++)
		if (strcmp(PQgetvalue(res, i, 0), chain_column_names[i]) != 0 ||
			strtoul(PQgetvalue(res, i, 1), NULL, 10) != chain_column_types[i])
			verify_fatal("column %d of govshare.access_log is \"%s\" of type %s, where format GSAL2 has \"%s\" of type %u: the installed govshare and this tool differ in version",
						 i + 1, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
						 chain_column_names[i], chain_column_types[i]);
	PQclear(res);
	return n;
}

/*
 * The columns the scan selects, as check_columns found them (ncols of
 * them; detail as text, jsonb's text form), in cols, of size size.
 */
static void
select_list(char *cols, size_t size, int ncols)
{
	cols[0] = '\0';
	for (int i = 0; i < ncols; i++)
	{
		if (strlen(cols) + strlen(chain_column_names[i]) + 24 >= size)
			verify_fatal("the select list of govshare.access_log is too long");
		strcat(cols, i ? ", " : "");
		strcat(cols, chain_column_names[i]);
		if (i == VERIFY_NCOLUMNS - 1)
			strcat(cols, "::pg_catalog.text");
	}
}

/*
 * Checks that the select list gives each column in the type the chain
 * encodes (COPY's binary rows do not say), and locks the log against a
 * change of its columns until the scan's transaction ends.
 */
static void
check_types(PGconn *conn, const char *cols, int ncols)
{
	char		sql[1200];
	PGresult   *res;

	snprintf(sql, sizeof(sql), "SELECT %s FROM govshare.access_log LIMIT 0", cols);
	res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		verify_fatal("could not read govshare.access_log: %s", PQerrorMessage(conn));
	if (PQnfields(res) != ncols)
		verify_fatal("the server returned %d columns for %d", PQnfields(res), ncols);
	for (int i = 0; i < ncols; i++)
	{
		unsigned int want = i == VERIFY_NCOLUMNS - 1 ? 25 /* text */ : chain_column_types[i];

		if (PQftype(res, i) != want || PQfformat(res, i) != 1)
			verify_fatal("the server returned column %s as type %u, expected %u in binary",
						 chain_column_names[i], PQftype(res, i), want);
	}
	PQclear(res);
}

/* The bytes of a COPY's binary rows, read from the server as needed. */
typedef struct CopyStream
{
	PGconn	   *conn;
	char	   *buf;			/* malloc'd */
	size_t		cap;
	size_t		len;			/* bytes in buf */
	size_t		pos;			/* the first byte not yet taken */
	bool		ended;			/* the server sent the last one */
} CopyStream;

/*
 * Makes n bytes from the stream's position available in s->buf, reading
 * the server's next messages; false if the copy ends first (having read
 * its status: an error is fatal).  The bytes before the position are
 * dropped, so pointers into buf do not survive a call.
 */
static bool
stream_need(CopyStream *s, size_t n)
{
	while (s->len - s->pos < n)
	{
		char	   *chunk;
		int			got;

		if (s->ended)
			return false;
		got = PQgetCopyData(s->conn, &chunk, 0);
		if (got == -1)
		{
			PGresult   *res;

			/* the copy's status: an error the server raised midway is fatal */
			while ((res = PQgetResult(s->conn)) != NULL)
			{
				if (PQresultStatus(res) != PGRES_COMMAND_OK)
					verify_fatal("could not read govshare.access_log: %s", PQerrorMessage(s->conn));
				PQclear(res);
			}
			s->ended = true;
			return false;
		}
		if (got < 0)
			verify_fatal("could not read govshare.access_log: %s", PQerrorMessage(s->conn));
		if (s->pos > 0)
		{
			memmove(s->buf, s->buf + s->pos, s->len - s->pos);
			s->len -= s->pos;
			s->pos = 0;
		}
		if (s->len + got > s->cap)
		{
			char	   *bigger;

			while (s->len + got > s->cap)
				s->cap = s->cap ? s->cap * 2 : 65536;
			bigger = verify_malloc(s->cap);
			if (s->len > 0)
				memcpy(bigger, s->buf, s->len);
			free(s->buf);
			s->buf = bigger;
		}
		memcpy(s->buf + s->len, chunk, got);
		s->len += got;
		PQfreemem(chunk);
	}
	return true;
}

/* A big-endian 16-bit integer of the binary copy format. */
static int
get_i16(const char *p)
{
	return (int16_t) (((unsigned char) p[0] << 8) | (unsigned char) p[1]);
}

/*
 * Reads the next row of s, of ncols columns, into f (pointing into s->buf,
 * valid until the next call; a log without detail gives the row a NULL
 * one).  Returns false at the copy's trailer.
 */
static bool
stream_row(CopyStream *s, int ncols, Field *f)
{
	int			nfields;
	size_t		off = 2;
	size_t		start[VERIFY_NCOLUMNS];

	if (!stream_need(s, 2))
		verify_fatal("the copy of govshare.access_log ended inside a row");
	nfields = get_i16(s->buf + s->pos);
	if (nfields == -1)
	{
		s->pos += 2;
		return false;
	}
	if (nfields != ncols)
		verify_fatal("the server returned %d columns for %d", nfields, ncols);
	for (int i = 0; i < ncols; i++)
	{
		int32_t		len;

		if (!stream_need(s, off + 4))
			verify_fatal("the copy of govshare.access_log ended inside a row");
		len = (int32_t) verify_get_u32(s->buf + s->pos + off);
		off += 4;
		if (len < -1)
			verify_fatal("the copy of govshare.access_log has a field of length %d", (int) len);
		f[i].isnull = len == -1;
		f[i].len = len == -1 ? 0 : len;
		start[i] = off;
		if (len > 0)
		{
			if (!stream_need(s, off + len))
				verify_fatal("the copy of govshare.access_log ended inside a row");
			off += len;
		}
	}
	for (int i = 0; i < VERIFY_NCOLUMNS; i++)
	{
		if (i >= ncols)
		{
			f[i].isnull = true;
			f[i].len = 0;
		}
		f[i].data = f[i].isnull ? NULL : s->buf + s->pos + start[i];
	}
	s->pos += off;
	return true;
}

/*
 * Runs copy (a COPY ... TO STDOUT (FORMAT binary)) and feeds its rows to
 * the chain until it fails; returns the number of rows read.  The rest of
 * a copy after a failure is read and dropped.
 */
static int64_t
copy_rows(PGconn *conn, const char *copy, Chain *c, int ncols, ScanProgress progress)
{
	static const char signature[] = "PGCOPY\n\377\r\n";
	CopyStream	s = {conn, NULL, 0, 0, 0, false};
	PGresult   *res = PQexec(conn, copy);
	int64_t		got = 0;
	bool		stop = false;
	uint32_t	ext;
	Field		f[VERIFY_NCOLUMNS];

	if (PQresultStatus(res) != PGRES_COPY_OUT)
		verify_fatal("could not read govshare.access_log: %s", PQerrorMessage(conn));
	PQclear(res);
	/* the header: the signature with its NUL, flags, the extension's length */
	if (!stream_need(&s, 19) || memcmp(s.buf, signature, sizeof(signature)) != 0)
		verify_fatal("the copy of govshare.access_log does not start with the binary copy header");
	ext = verify_get_u32(s.buf + 15);
	if (ext > 65536)
		verify_fatal("the copy of govshare.access_log has a header extension of %u bytes", (unsigned) ext);
	s.pos = 19;
	if (!stream_need(&s, ext))
		verify_fatal("the copy of govshare.access_log ended in its header");
	s.pos += ext;
	while (stream_row(&s, ncols, f))
	{
		if (!stop && !chain_row(c, f))
			stop = true;		/* read the rest of the copy, then end */
		if (++got % 4096 == 0 && progress != NULL)
			progress(c->checked);
	}
	/* past the trailer: the end of the copy and its status (stream_need) */
	if (stream_need(&s, 1))
		verify_fatal("the copy of govshare.access_log has bytes after its trailer");
	free(s.buf);
	return got;
}

/*
 * Verifies the rows of the log with seq > after_seq, up to to_seq (0: to
 * the end), in seq order, in one snapshot, continuing chain c.  Stops at
 * the first problem (recorded in c).  progress, when not NULL, is called
 * with the running count every few thousand rows.
 */
void
scan_log(PGconn *conn, Chain *c, int64_t after_seq, int64_t to_seq, ScanProgress progress)
{
	char		cols[800];
	char		copy[1400];
	char		upper[64] = "";
	int			ncols;
	bool		first = true;

	run(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "start a read-only transaction");
	ncols = check_columns(conn);
	select_list(cols, sizeof(cols), ncols);
	check_types(conn, cols, ncols);
	if (to_seq != 0)
		snprintf(upper, sizeof(upper), " AND seq <= %lld", (long long) to_seq);
	while (!c->failed)
	{
		int64_t		got;

		/*
		 * From the start, every row: one with seq 0 or below is a log that
		 * does not begin at 1.  After after_seq, the rows that follow; then
		 * each chunk after the last row the chain took.
		 */
		if (first && after_seq == 0 && to_seq == 0)
			snprintf(copy, sizeof(copy),
					 "COPY (SELECT %s FROM govshare.access_log ORDER BY seq LIMIT %d) TO STDOUT (FORMAT binary)",
					 cols, CHUNK_ROWS);
		else
			snprintf(copy, sizeof(copy),
					 "COPY (SELECT %s FROM govshare.access_log WHERE seq > %lld%s ORDER BY seq LIMIT %d) "
					 "TO STDOUT (FORMAT binary)",
					 cols, (long long) (first ? after_seq : c->expect - 1), upper, CHUNK_ROWS);
		got = copy_rows(conn, copy, c, ncols, progress);
		if (progress != NULL)
			progress(c->checked);
		if (got < CHUNK_ROWS)
			break;
		first = false;
	}
	run(conn, "COMMIT", "end the read-only transaction");
}

/*
 * The server's govshare.checkpoint() of the log as it is now: the JSON
 * text, malloc'd.  An error (no right to call it, no signing key) is
 * fatal.
 */
char *
scan_checkpoint(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT govshare.checkpoint()::text");
	char	   *doc;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		verify_fatal("could not make a checkpoint with govshare.checkpoint() (it needs govshare_admin or govshare_auditor, and the server's signing key): %s",
					 PQerrorMessage(conn));
	doc = verify_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return doc;
}
