/*-------------------------------------------------------------------------
 *
 * follow.c
 *	  govshare-verify --follow: the access log as a verified stream of
 *	  JSON Lines, for a SIEM.
 *
 * The log is read from a seq (or from where a position file says the last
 * run stopped), each row is verified as it comes (chain.c: seq without
 * gaps, prev_hash the previous row's hash, hash over the row, keyed chains
 * stay keyed), and only a row that verifies is written, as one JSON object
 * per line.  At the end of the log the tool waits --interval seconds and
 * reads on; with --until-end it exits there.  The position file carries
 * the last row written and its hash, so a resumed run checks that the
 * first new row continues the chain the last run verified.  At the first
 * row that fails verification the tool writes nothing more, says why on
 * stderr and exits with status 1.  docs/verify.md lists every field.
 *
 * The position is saved (through a temporary file renamed over it) only
 * after the records before it are flushed, and fsynced when the output is
 * a file: after a crash, the last records may be written again, never
 * skipped.
 *
 * tools/follow.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "govshare_verify.h"

/* microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch */
#define UNIX_TO_PG_USECS	INT64_C(946684800000000)

/* the position is saved at least every this many records */
#define SAVE_EVERY			10000

/* type OIDs (pg_type.dat) */
#define BOOLOID			16
#define BYTEAOID		17
#define INT8OID			20
#define TEXTOID			25
#define TIMESTAMPTZOID	1184
#define TEXTARRAYOID	1009
#define INT8ARRAYOID	1016
#define UUIDOID			2950
#define JSONBOID		3802

#define POSITION_TYPE "govshare-follow-position"
#define POSITION_MAX_SIZE 4096

static volatile sig_atomic_t stop_requested = 0;

/* The stream's state. */
typedef struct Follow
{
	FILE	   *out;
	bool		out_is_file;	/* a regular file: fsync before saving the position */
	const char *position_path;
	char	   *database;
	int64_t		written;		/* records written by this run */
	int64_t		unsaved;		/* records written since the position was saved */
} Follow;

static void
on_signal(int sig)
{
	stop_requested = 1;
}

/* A JSON string of len bytes of text (the database's encoding, UTF-8). */
static void
put_string(FILE *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	putc('"', out);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		switch (ch)
		{
			case '"':
				fputs("\\\"", out);
				break;
			case '\\':
				fputs("\\\\", out);
				break;
			case '\n':
				fputs("\\n", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			default:
				if (ch < 0x20 || ch == 0x7f)
					fprintf(out, "\\u00%c%c", hex[ch >> 4], hex[ch & 15]);
				else
					putc(ch, out);
		}
	}
	putc('"', out);
}

/* A timestamptz (microseconds since 2000-01-01) as RFC 3339 UTC text. */
static void
put_time(FILE *out, int64_t pg_usecs)
{
	int64_t		usecs = pg_usecs + UNIX_TO_PG_USECS;
	int64_t		secs = usecs / 1000000;
	int64_t		frac = usecs % 1000000;
	time_t		t;
	struct tm	tm;

	if (pg_usecs == INT64_MAX || pg_usecs == INT64_MIN)
	{
		fputs(pg_usecs == INT64_MAX ? "\"infinity\"" : "\"-infinity\"", out);
		return;
	}
	if (frac < 0)
	{
		frac += 1000000;
		secs--;
	}
	t = (time_t) secs;
	if (gmtime_r(&t, &tm) == NULL)
	{
		fputs("null", out);
		return;
	}
	fprintf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"", tm.tm_year + 1900, tm.tm_mon + 1,
			tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) frac);
}

/* n bytes as a JSON string of lowercase hex digits */
static void
put_hex(FILE *out, const char *data, int len)
{
	static const char hex[] = "0123456789abcdef";

	putc('"', out);
	for (int i = 0; i < len; i++)
	{
		putc(hex[(unsigned char) data[i] >> 4], out);
		putc(hex[(unsigned char) data[i] & 15], out);
	}
	putc('"', out);
}

static void
put_uuid(FILE *out, const char *data)
{
	static const char hex[] = "0123456789abcdef";

	putc('"', out);
	for (int i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			putc('-', out);
		putc(hex[(unsigned char) data[i] >> 4], out);
		putc(hex[(unsigned char) data[i] & 15], out);
	}
	putc('"', out);
}

/*
 * One non-NULL value of a column (or array element) of type typid from
 * its binary form.  query_id, a 64-bit hash, is a string: JSON readers
 * lose integers beyond 2^53.  The row verified, so its forms are sound.
 */
static void
put_scalar(FILE *out, Oid typid, const char *data, int len, bool as_string)
{
	switch (typid)
	{
		case INT8OID:
			fprintf(out, as_string ? "\"%lld\"" : "%lld", (long long) (int64_t) verify_get_u64(data));
			break;
		case TIMESTAMPTZOID:
			put_time(out, (int64_t) verify_get_u64(data));
			break;
		case BOOLOID:
			fputs(data[0] ? "true" : "false", out);
			break;
		case TEXTOID:
			put_string(out, data, len);
			break;
		case BYTEAOID:
			put_hex(out, data, len);
			break;
		case UUIDOID:
			put_uuid(out, data);
			break;
		case JSONBOID:
			/* detail is read as detail::text: jsonb's own text, a JSON object */
			fwrite(data, 1, len, out);
			break;
		default:
			fputs("null", out);
	}
}

/* A one-dimensional array from its binary form (array_send). */
static void
put_array(FILE *out, Oid elemtype, const char *data, int len)
{
	const char *end = data + len;
	uint32_t	n = 0;

	putc('[', out);
	if (len >= 12 && verify_get_u32(data) == 1 && len >= 20)
	{
		n = verify_get_u32(data + 12);
		data += 20;
	}
	for (uint32_t i = 0; i < n && end - data >= 4; i++)
	{
		int32_t		elen = (int32_t) verify_get_u32(data);

		data += 4;
		if (i > 0)
			putc(',', out);
		if (elen < 0)
			fputs("null", out);
		else
		{
			put_scalar(out, elemtype, data, elen, false);
			data += elen;
		}
	}
	putc(']', out);
}

/* Writes the position file: the last record written and its hash. */
static void
save_position(Follow *fl, const Chain *c)
{
	char		hex[2 * VERIFY_HASH_LEN + 1];
	char		doc[POSITION_MAX_SIZE];
	size_t		plen;
	char	   *tmp;
	int			fd;
	int			len;

	if (fflush(fl->out) != 0 || (fl->out_is_file && fsync(fileno(fl->out)) != 0))
		verify_fatal("could not write the records: %m");
	fl->unsaved = 0;
	if (fl->position_path == NULL || c->expect <= 1)
		return;
	verify_hex(c->prev, VERIFY_HASH_LEN, hex);
	len = snprintf(doc, sizeof(doc),
				   "{\"type\":\"" POSITION_TYPE "\",\"database\":");
	/* the database name: JSON-escaped through a memory stream */
	{
		char	   *name = NULL;
		size_t		name_len = 0;
		FILE	   *m = open_memstream(&name, &name_len);

		if (m == NULL)
			verify_fatal("out of memory");
		put_string(m, fl->database, strlen(fl->database));
		fclose(m);
		len += snprintf(doc + len, sizeof(doc) - len, "%s", name);
		free(name);
	}
	len += snprintf(doc + len, sizeof(doc) - len,
					",\"seq\":%lld,\"hash\":\"%s\",\"keyed_since\":%lld}\n",
					(long long) (c->expect - 1), hex, (long long) c->keyed_since);
	if (len >= (int) sizeof(doc))
		verify_fatal("the database's name is too long for the position file");
	plen = strlen(fl->position_path);
	tmp = verify_malloc(plen + 32);
	snprintf(tmp, plen + 32, "%s.tmp.%ld", fl->position_path, (long) getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		verify_fatal("could not create \"%s\": %m", tmp);
	if (write(fd, doc, len) != len || fsync(fd) != 0 || close(fd) != 0 ||
		rename(tmp, fl->position_path) != 0)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		verify_fatal("could not save the position to \"%s\": %m", fl->position_path);
	}
	free(tmp);
}

/*
 * Reads the position file at path into the chain: the next seq, the hash
 * before it, since when the chain is keyed.  Returns false when there is
 * no such file (a first run); anything else wrong is fatal.
 */
static bool
load_position(const char *path, Chain *c, const char *database)
{
	FILE	   *f = fopen(path, "rb");
	char		doc[POSITION_MAX_SIZE + 1];
	size_t		n;
	JsonObject	obj;
	const char *error = NULL;
	const JsonMember *type,
			   *db,
			   *seq,
			   *hash,
			   *keyed;
	char	   *end;

	if (f == NULL)
	{
		if (errno == ENOENT)
			return false;
		verify_fatal("could not open the position file \"%s\": %m", path);
	}
	n = fread(doc, 1, sizeof(doc), f);
	fclose(f);
	if (n > POSITION_MAX_SIZE)
		verify_fatal("the position file \"%s\" is too large to be one", path);
	doc[n] = '\0';
	if (!json_parse_object(doc, n, &obj, &error))
		verify_fatal("the position file \"%s\" is not a JSON object: %s", path, error);
	type = json_member(&obj, "type");
	db = json_member(&obj, "database");
	seq = json_member(&obj, "seq");
	hash = json_member(&obj, "hash");
	keyed = json_member(&obj, "keyed_since");
	if (type == NULL || type->kind != JSON_STRING || strcmp(type->value, POSITION_TYPE) != 0 ||
		db == NULL || db->kind != JSON_STRING || seq == NULL || seq->kind != JSON_NUMBER ||
		hash == NULL || hash->kind != JSON_STRING || strlen(hash->value) != 2 * VERIFY_HASH_LEN ||
		keyed == NULL || keyed->kind != JSON_NUMBER)
		verify_fatal("the position file \"%s\" is not a govshare-verify position (type, database, seq, hash, keyed_since)",
					 path);
	if (strcmp(db->value, database) != 0)
		verify_fatal("the position file \"%s\" is of database \"%s\", not of \"%s\"",
					 path, db->value, database);
	errno = 0;
	c->expect = strtoll(seq->value, &end, 10) + 1;
	if (errno != 0 || *end != '\0' || c->expect < 2)
		verify_fatal("the position file \"%s\" has an invalid seq", path);
	c->keyed_since = strtoll(keyed->value, &end, 10);
	if (*end != '\0' || c->keyed_since < 0 || c->keyed_since >= c->expect)
		verify_fatal("the position file \"%s\" has an invalid keyed_since", path);
	for (int i = 0; i < VERIFY_HASH_LEN; i++)
	{
		unsigned int b;

		if (sscanf(hash->value + 2 * i, "%2x", &b) != 1 ||
			strchr("0123456789abcdef", hash->value[2 * i]) == NULL ||
			strchr("0123456789abcdef", hash->value[2 * i + 1]) == NULL)
			verify_fatal("the position file \"%s\" has an invalid hash", path);
		c->prev[i] = (unsigned char) b;
	}
	json_free(&obj);
	return true;
}

/*
 * The chain's row hook: writes a row that verified as one JSON object,
 * its columns in the log's order, then "database".
 */
static void
emit_row(void *arg, const Chain *c, const Field *f)
{
	Follow	   *fl = arg;
	FILE	   *out = fl->out;

	putc('{', out);
	for (int i = 0; i < VERIFY_NCOLUMNS; i++)
	{
		Oid			typid = chain_column_types[i];

		if (i > 0)
			putc(',', out);
		fprintf(out, "\"%s\":", chain_column_names[i]);
		if (f[i].isnull)
			fputs("null", out);
		else if (typid == TEXTARRAYOID || typid == INT8ARRAYOID)
			put_array(out, typid == TEXTARRAYOID ? TEXTOID : INT8OID, f[i].data, f[i].len);
		else
			put_scalar(out, typid, f[i].data, f[i].len, strcmp(chain_column_names[i], "query_id") == 0);
	}
	fputs(",\"database\":", out);
	put_string(out, fl->database, strlen(fl->database));
	fputs("}\n", out);
	if (ferror(out))
		verify_fatal("could not write the records: %m");
	fl->written++;
	if (++fl->unsaved >= SAVE_EVERY)
		save_position(fl, c);
}

/* The name of the database conn is connected to, malloc'd. */
static char *
current_database(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT pg_catalog.current_database()");
	char	   *name;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		verify_fatal("could not read the database's name: %s", PQerrorMessage(conn));
	name = verify_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return name;
}

/*
 * Is the last record verified still in the log, with the hash verified?
 * False, with the problem recorded in c, when it was removed (a tail
 * deleted: the stream would otherwise wait silently for seqs that are
 * gone) or changed.
 */
static bool
position_holds(PGconn *conn, Chain *c)
{
	char		seq[32];
	const char *params[1] = {seq};
	PGresult   *res;
	char		hex[2 * VERIFY_HASH_LEN + 1];
	bool		ok = true;

	if (c->expect <= 1)
		return true;
	snprintf(seq, sizeof(seq), "%lld", (long long) (c->expect - 1));
	res = PQexecParams(conn, "SELECT pg_catalog.encode(hash, 'hex') FROM govshare.access_log WHERE seq = $1",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		verify_fatal("could not read govshare.access_log: %s", PQerrorMessage(conn));
	verify_hex(c->prev, VERIFY_HASH_LEN, hex);
	if (PQntuples(res) == 0)
	{
		chain_fail(c, c->expect - 1, "The log no longer has seq %s, which the stream verified: rows were removed from its end.",
				   seq);
		ok = false;
	}
	else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), hex) != 0)
	{
		chain_fail(c, c->expect - 1, "Seq %s does not have the hash the stream verified: the log was rewritten.",
				   seq);
		ok = false;
	}
	PQclear(res);
	return ok;
}

/*
 * --follow: streams the log of conn as verified JSON Lines into out_path
 * (NULL or "-": stdout), from from_seq (1 when 0) or from the position
 * file, every interval_ms at the end, until a signal or, with until_end,
 * the end.  Returns the exit status.
 */
int
follow_log(PGconn *conn, Chain *c, const FollowOptions *opt)
{
	Follow		fl;
	struct sigaction sa;
	bool		resumed;

	memset(&fl, 0, sizeof(fl));
	fl.position_path = opt->position_path;
	fl.database = current_database(conn);
	if (opt->out_path == NULL || strcmp(opt->out_path, "-") == 0)
		fl.out = stdout;
	else
	{
		struct stat st;

		if ((fl.out = fopen(opt->out_path, "a")) == NULL)
			verify_fatal("could not open \"%s\": %m", opt->out_path);
		/* a regular file is fsynced before the position moves; a pipe cannot be */
		fl.out_is_file = fstat(fileno(fl.out), &st) == 0 && S_ISREG(st.st_mode);
	}

	resumed = opt->position_path != NULL && load_position(opt->position_path, c, fl.database);
	if (resumed && opt->from_seq > 0)
		verify_fatal("the position file \"%s\" says where to resume: --from-seq cannot be given with it",
					 opt->position_path);
	if (!resumed && opt->from_seq > 1)
	{
		/* the chain before from_seq is verified, not written: it anchors the first record */
		scan_log(conn, c, 0, opt->from_seq - 1, NULL);
		if (!c->failed && c->expect != opt->from_seq)
			chain_fail(c, c->expect, "The log ends at seq %lld, before --from-seq %lld.",
					   (long long) (c->expect - 1), (long long) opt->from_seq);
		if (c->failed)
		{
			fprintf(stderr, "govshare-verify: FAILED at seq %lld: %s\n", (long long) c->bad_seq,
					c->problem);
			return VERIFY_EXIT_FAILED;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	c->on_row = emit_row;
	c->on_row_arg = &fl;
	while (!stop_requested)
	{
		if (position_holds(conn, c))
			scan_log(conn, c, c->expect - 1, 0, NULL);
		save_position(&fl, c);
		if (c->failed)
		{
			fprintf(stderr, "govshare-verify: FAILED at seq %lld: %s\n", (long long) c->bad_seq,
					c->problem);
			fprintf(stderr, "govshare-verify: %lld records written; the stream stops before seq %lld\n",
					(long long) fl.written, (long long) c->bad_seq);
			return VERIFY_EXIT_FAILED;
		}
		if (opt->until_end)
			break;
		{
			struct timespec ts = {opt->interval_ms / 1000, (opt->interval_ms % 1000) * 1000000L};

			while (!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
	}
	if (!opt->quiet)
		fprintf(stderr, "govshare-verify: %lld records written, verified up to seq %lld\n",
				(long long) fl.written, (long long) (c->expect - 1));
	if (fl.out_is_file && fclose(fl.out) != 0)
		verify_fatal("could not write the records: %m");
	free(fl.database);
	return VERIFY_EXIT_OK;
}
