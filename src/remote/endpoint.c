/*-------------------------------------------------------------------------
 *
 * endpoint.c
 *	  Other agencies' endpoints: their connection strings, checked and read.
 *
 * govshare.add_endpoint() and govshare.drop_endpoint() (src/sql/remote.sql)
 * keep a libpq connection string per agency in govshare.endpoint; the
 * string is checked here first (govshare.check_conninfo).
 *
 * Connection strings may hold secrets: they are read as the table's
 * owner, never shown in errors, and only govshare_admin reads the table.
 *
 * src/remote/endpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "libpq-fe.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "remote/remote_internal.h"

/* What govshare_endpoint_conninfo asks of the SPI work it runs as the table's owner. */
typedef struct EndpointRead
{
	const char *agency;
	MemoryContext cxt;
	char	   *conninfo;		/* NULL: none */
	bool		trusted;		/* registered by a superuser */
} EndpointRead;

/*
 * The SPI work of govshare_endpoint_conninfo(): reads the agency's row of
 * govshare.endpoint into e, copying the connection string into e->cxt.
 */
static void
read_endpoint(void *arg)
{
	EndpointRead *e = arg;
	Oid			types[1] = {TEXTOID};
	Datum		args[1];

	args[0] = CStringGetTextDatum(e->agency);
	if (SPI_execute_with_args("SELECT conninfo, by_superuser FROM govshare.endpoint"
							  " WHERE agency OPERATOR(pg_catalog.=) $1",
							  1, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "govshare: could not read govshare.endpoint");
	if (SPI_processed == 1)
	{
		bool		isnull;

		e->conninfo = MemoryContextStrdup(e->cxt, SPI_getvalue(SPI_tuptable->vals[0],
															   SPI_tuptable->tupdesc, 1));
		e->trusted = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2,
												&isnull)) && !isnull;
	}
}

/*
 * The connection string of the agency's endpoint, read as the table's owner;
 * *trusted says whether a superuser registered it.  An agency without an
 * endpoint is an error.
 */
char *
govshare_endpoint_conninfo(const char *agency, bool *trusted)
{
	Oid			relid = get_relname_relid("endpoint", get_namespace_oid("govshare", false));
	EndpointRead e = {agency, CurrentMemoryContext, NULL, false};
	char	   *conninfo;

	if (!OidIsValid(relid))
		elog(ERROR, "govshare: table govshare.endpoint is missing");
	govshare_spi_as_owner(relid, read_endpoint, &e);
	conninfo = e.conninfo;
	*trusted = e.trusted;
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
