/*-------------------------------------------------------------------------
 *
 * util.c
 *	  Small helpers every subsystem uses: Unix time, JSON string literals,
 *	  and SPI work done as a relation's owner.
 *
 * src/common/util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "common/gs_common.h"

/* Seconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch. */
#define UNIX_TO_PG_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* Seconds since the Unix epoch, now. */
int64
govshare_unix_now(void)
{
	return GetCurrentTimestamp() / USECS_PER_SEC + UNIX_TO_PG_SECS;
}

/* The timestamp of t seconds since the Unix epoch. */
TimestampTz
govshare_from_unix(int64 t)
{
	return (t - UNIX_TO_PG_SECS) * USECS_PER_SEC;
}

/* s as a JSON string literal, for the JSON texts that are signed. */
char *
govshare_json_string(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	escape_json(&buf, s);
	return buf.data;
}

/*
 * Runs work(arg) connected to SPI as the owner of relation relid, in a
 * restricted security context: for govshare's own tables that the caller
 * may not read or write, but govshare does on its behalf (the ids of used
 * tokens, the access log, endpoints).
 */
void
govshare_spi_as_owner(Oid relid, void (*work) (void *arg), void *arg)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	int			nest;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "govshare: cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/*
	 * The caller's search_path must not choose what the owner's queries
	 * name.  PostgreSQL always searches the session's temporary schema for
	 * relations and types, first unless it is listed, so it is listed last:
	 * a caller's temporary table or type is found only under a name that
	 * pg_catalog lacks, and the work functions name every govshare object
	 * with its schema (sql/privileges.sql shadows them to show it).  The
	 * temporary schema is never searched for functions and operators.
	 */
	nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "govshare: SPI_connect failed");
		work(arg);
		SPI_finish();
	}
	PG_FINALLY();
	{
		AtEOXact_GUC(false, nest);
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}
