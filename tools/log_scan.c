/*-------------------------------------------------------------------------
 *
 * log_scan.c
 *	  govshare-verify's side of the connection: the snapshot, the cursor
 *	  over govshare.access_log, the server's checkpoint.
 *
 * The log is read in seq order through a cursor, in a REPEATABLE READ READ
 * ONLY transaction so that the whole scan sees one snapshot, FETCH_ROWS
 * rows at a time in binary.  Each FETCH is read in single-row mode: libpq
 * holds one row at a time, so the tool's memory is bounded by the largest
 * row (a statement text is kept up to 64 kB), never by the batch or the
 * log.  Text is asked for in the database's own encoding, which is what
 * the canonical encoding covers.
 *
 * tools/log_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "govshare_verify.h"

#define FETCH_ROWS 10000

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
 * Feeds one row of a single-row result of ncols columns to the chain (a
 * log without detail gives the row a NULL one); the column types were
 * checked on the first row: detail comes as text, jsonb's text form.
 */
static bool
feed_row(Chain *c, PGresult *res, int ncols, bool *types_checked)
{
	Field		f[VERIFY_NCOLUMNS];

	if (!*types_checked)
	{
		if (PQnfields(res) != ncols)
			verify_fatal("the server returned %d columns for %d", PQnfields(res), ncols);
		for (int i = 0; i < ncols; i++)
		{
			unsigned int want = i == VERIFY_NCOLUMNS - 1 ? 25 /* text */ : chain_column_types[i];

			if (PQftype(res, i) != want || PQfformat(res, i) != 1)
				verify_fatal("the server returned column %s as type %u, expected %u in binary",
							 chain_column_names[i], PQftype(res, i), want);
		}
		*types_checked = true;
	}
	for (int i = 0; i < VERIFY_NCOLUMNS; i++)
	{
		f[i].isnull = i >= ncols || PQgetisnull(res, 0, i);
		f[i].data = f[i].isnull ? NULL : PQgetvalue(res, 0, i);
		f[i].len = f[i].isnull ? 0 : PQgetlength(res, 0, i);
	}
	return chain_row(c, f);
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
	char		declare[1200];
	char		cols[800] = "";
	char		fetch[64];
	bool		types_checked = false;
	int			ncols;

	run(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "start a read-only transaction");
	ncols = check_columns(conn);
	for (int i = 0; i < ncols; i++)
	{
		strcat(cols, i ? ", " : "");
		strcat(cols, chain_column_names[i]);
		if (i == VERIFY_NCOLUMNS - 1)
			strcat(cols, "::pg_catalog.text");
	}

	/*
	 * From the start, every row: one with seq 0 or below is a log that does
	 * not begin at 1.  After after_seq, the rows that follow.
	 */
	if (after_seq == 0 && to_seq == 0)
		snprintf(declare, sizeof(declare),
				 "DECLARE govshare_verify NO SCROLL CURSOR FOR SELECT %s FROM govshare.access_log ORDER BY seq",
				 cols);
	else if (to_seq == 0)
		snprintf(declare, sizeof(declare),
				 "DECLARE govshare_verify NO SCROLL CURSOR FOR SELECT %s FROM govshare.access_log "
				 "WHERE seq > %lld ORDER BY seq", cols, (long long) after_seq);
	else
		snprintf(declare, sizeof(declare),
				 "DECLARE govshare_verify NO SCROLL CURSOR FOR SELECT %s FROM govshare.access_log "
				 "WHERE seq > %lld AND seq <= %lld ORDER BY seq",
				 cols, (long long) after_seq, (long long) to_seq);
	run(conn, declare, "open a cursor over govshare.access_log");
	snprintf(fetch, sizeof(fetch), "FETCH %d FROM govshare_verify", FETCH_ROWS);

	while (!c->failed)
	{
		PGresult   *res;
		int64_t		got = 0;
		bool		stop = false;

		if (!PQsendQueryParams(conn, fetch,
							   0, NULL, NULL, NULL, NULL, 1) ||
			!PQsetSingleRowMode(conn))
			verify_fatal("could not fetch from govshare.access_log: %s", PQerrorMessage(conn));
		while ((res = PQgetResult(conn)) != NULL)
		{
			switch (PQresultStatus(res))
			{
				case PGRES_SINGLE_TUPLE:
					if (!stop && !feed_row(c, res, ncols, &types_checked))
						stop = true;	/* read the rest of the batch, then end */
					got++;
					if (progress != NULL && got % 4096 == 0)
						progress(c->checked);
					break;
				case PGRES_TUPLES_OK:
					break;
				default:
					verify_fatal("could not read govshare.access_log: %s", PQerrorMessage(conn));
			}
			PQclear(res);
		}
		if (progress != NULL)
			progress(c->checked);
		if (got < FETCH_ROWS)
			break;
	}
	run(conn, "CLOSE govshare_verify", "close the cursor");
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
