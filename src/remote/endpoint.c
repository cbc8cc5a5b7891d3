/*-------------------------------------------------------------------------
 *
 * endpoint.c
 *	  Other agencies' endpoints: their connection strings, checked and read.
 *
 * govshare.add_endpoint() and govshare.drop_endpoint() (src/sql/remote.sql)
 * keep a libpq connection string per agency in govshare.endpoint; the
 * string is checked here first (govshare.check_conninfo).
 *
 * Connection strings may hold secrets: they are read below SQL, never
 * shown in errors, and only govshare_admin reads the table.
 *
 * src/remote/endpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "libpq-fe.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "remote/remote_internal.h"

/*
 * The connection string of the agency's endpoint; *trusted says whether a
 * superuser registered it.  An agency without an endpoint is an error.
 * The row is read through the table's primary key below SQL (a consumer
 * calling remote_query() may not read the table, and a query would be
 * parsed and planned at every request), with the statement's snapshot, as
 * a query would see it.
 */
char *
govshare_endpoint_conninfo(const char *agency, bool *trusted)
{
	static const char *const columns[] = {"agency", "conninfo", "by_superuser"};
	Oid			relid = get_relname_relid("endpoint", get_namespace_oid("govshare", false));
	Relation	rel;
	TupleDesc	desc;
	Oid			pkey;
	Relation	index;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	char	   *conninfo = NULL;

	*trusted = false;
	if (!OidIsValid(relid))
		elog(ERROR, "govshare: table govshare.endpoint is missing");
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	pkey = RelationGetPrimaryKeyIndex(rel);
	for (int i = 0; i < lengthof(columns); i++)
		if (desc->natts <= i || strcmp(NameStr(TupleDescAttr(desc, i)->attname), columns[i]) != 0)
			pkey = InvalidOid;
	if (!OidIsValid(pkey))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table govshare.endpoint does not have the layout this library expects"),
				 errhint("Run ALTER EXTENSION govshare UPDATE, or install the library that matches the extension.")));
	/* the index's collation, so that the scan descends it as it was built */
	index = index_open(pkey, AccessShareLock);
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_TEXTEQ, CStringGetTextDatum(agency));
	index_close(index, AccessShareLock);
	scan = systable_beginscan(rel, pkey, true, GetActiveSnapshot(), 1, &key);
	if ((tuple = systable_getnext(scan)) != NULL)
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, 2, desc, &isnull);

		if (!isnull)
			conninfo = TextDatumGetCString(d);
		d = heap_getattr(tuple, 3, desc, &isnull);
		*trusted = !isnull && DatumGetBool(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (conninfo == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("agency \"%s\" has no registered endpoint", agency),
				 errhint("A govshare_admin registers one with govshare.add_endpoint(agency, conninfo).")));
	return conninfo;
}

/*
 * govshare.check_conninfo(conninfo text, trusted boolean) returns void
 *
 * Refuses a connection string libpq cannot parse, without repeating it or
 * libpq's message (which quotes it).  Unless trusted (a superuser registers
 * it), the string must carry a password and name none of the server's own
 * credentials: its password and service files, its client certificates.
 * A connection is made by the server's operating-system user, which peer
 * authentication, ~/.pgpass and ~/.postgresql would otherwise lend to a
 * govshare_admin.
 */
PG_FUNCTION_INFO_V1(govshare_check_conninfo);
Datum
govshare_check_conninfo(PG_FUNCTION_ARGS)
{
	char	   *conninfo = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		trusted = PG_GETARG_BOOL(1);
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	static const char *const server_files[] = {"passfile", "service", "sslcert", "sslkey",
	"sslpassword", "sslcrl", "sslcrldir"};
	const char *refused = NULL;
	bool		password = false;

	if (err)
		PQfreemem(err);
	if (opts == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid connection string for an endpoint"),
				 errhint("libpq cannot parse it (an unknown keyword, a missing \"=\", an unterminated quote); it is not repeated here.")));
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "password") == 0)
			password = true;
		for (int i = 0; i < lengthof(server_files); i++)
			if (strcmp(o->keyword, server_files[i]) == 0)
				refused = server_files[i];
	}
	PQconninfoFree(opts);
	if (!trusted && refused != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser may register an endpoint that names \"%s\"", refused),
				 errdetail("The connection is made by the server's operating-system user, with its files.")));
	if (!trusted && !password)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("an endpoint registered by a non-superuser must carry a password"),
				 errdetail("Without one, the connection could authenticate with the server's own credentials (peer, ~/.pgpass, certificates)."),
				 errhint("Add password=... to the connection string, or have a superuser register the endpoint.")));
	PG_RETURN_VOID();
}
