/*-------------------------------------------------------------------------
 *
 * rows.c
 *	  The rows of a remote query: each result row becomes a tuple of the
 *	  caller's row type (remote_query) or a jsonb object (remote_query_json).
 *
 * Rows are read in single-row mode into the function's tuplestore, which
 * spills to disk beyond work_mem, so neither libpq nor this backend holds
 * the whole result in memory.  In a jsonb object, numbers, booleans, json
 * and jsonb keep their JSON types; everything else is a string, in the
 * provider's text form.
 *
 * Nothing the provider sends is trusted: each value (and, for jsonb keys,
 * each column name) must be valid in the database encoding before an
 * input function sees it, or the request fails (a provider whose database
 * is SQL_ASCII sends its bytes unconverted); a value said to be a number
 * or JSON goes into the object as such only if it is one.
 *
 * src/remote/rows.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "remote/remote_internal.h"

/* How a result row becomes a tuple of the caller's row type. */
struct GovshareRowSink
{
	bool		json;
	TupleDesc	desc;
	AttInMetadata *attinmeta;
	Tuplestorestate *store;
	MemoryContext row_cxt;
	int			nfields;		/* of the remote result, once known */
	char	  **fieldnames;
	Oid		   *fieldtypes;
	char	  **values;
};

/*
 * Materialises the result of fcinfo (a set-returning function's) and
 * returns the sink that fills it: with jsonb objects when json, else with
 * tuples of the column definition list.
 */
GovshareRowSink *
govshare_rows_begin(FunctionCallInfo fcinfo, bool json)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GovshareRowSink *sink;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	sink = palloc0(sizeof(GovshareRowSink));
	sink->json = json;
	sink->desc = rsinfo->setDesc;
	sink->store = rsinfo->setResult;
	if (!json)
		sink->attinmeta = TupleDescGetAttInMetadata(sink->desc);
	sink->row_cxt = AllocSetContextCreate(CurrentMemoryContext, "govshare remote row",
										  ALLOCSET_DEFAULT_SIZES);
	return sink;
}

/* Is v a JSON number (RFC 8259), which NaN and the infinities are not? */
static bool
json_number(const char *v)
{
	const char *p = v;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p += strspn(p, "0123456789");
	else
		return false;
	if (*p == '.')
	{
		size_t		n = strspn(p + 1, "0123456789");

		if (n == 0)
			return false;
		p += 1 + n;
	}
	if (*p == 'e' || *p == 'E')
	{
		size_t		n;

		p++;
		if (*p == '+' || *p == '-')
			p++;
		if ((n = strspn(p, "0123456789")) == 0)
			return false;
		p += n;
	}
	return *p == '\0';
}

/* Is v one whole JSON value (so that it cannot add keys to the object)? */
static bool
json_whole(const char *v)
{
	JsonLexContext *lex = govshare_json_lexer((char *) v, strlen(v), GetDatabaseEncoding(),
											  false);

	return pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS;
}

/*
 * Appends a remote value to a JSON object, typed by its (built-in) type: a
 * number, a boolean or JSON when it is one, else a string.
 */
static void
json_value(StringInfo out, Oid typid, const char *v)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			if (json_number(v))
			{
				appendStringInfoString(out, v);
				return;
			}
			break;
		case BOOLOID:
			if (strcmp(v, "t") == 0 || strcmp(v, "f") == 0)
			{
				appendStringInfoString(out, v[0] == 't' ? "true" : "false");
				return;
			}
			break;
		case JSONOID:
		case JSONBOID:
			if (json_whole(v))
			{
				appendStringInfoString(out, v);
				return;
			}
			break;
	}
	escape_json(out, v);
}

/*
 * Refuses a text from the provider that is not valid in the database
 * encoding: what is a value or column name (what), its column's number.
 */
static void
check_encoding(const char *target, const char *what, int column, const char *v, int len)
{
	if (!pg_verifymbstr(v, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("the remote query to agency \"%s\" returned a %s that is not valid %s",
						target, what, GetDatabaseEncodingName()),
				 errdetail("Column %d holds bytes that are not characters of the database encoding; nothing is returned.",
						   column + 1),
				 errhint("PostgreSQL converts what it sends to the encoding asked for: check who answers at the agency's endpoint.")));
}

/*
 * Stores the row of a single-row result (PGRES_SINGLE_TUPLE) in the sink's
 * tuplestore.  The first result of the query, which may be the rowless
 * PGRES_TUPLES_OK, fixes the columns: their count must be the column
 * definition list's, unless the rows are jsonb objects.
 */
void
govshare_rows_put(GovshareRowSink *sink, const char *target, const PGresult *res)
{
	int			nf = PQnfields(res);
	MemoryContext old;

	if (sink->fieldnames == NULL)
	{
		MemoryContext o = MemoryContextSwitchTo(GetMemoryChunkContext(sink));

		if (!sink->json && nf != sink->desc->natts)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the remote query to agency \"%s\" returns %d columns, but the column definition list has %d",
							target, nf, sink->desc->natts)));
		sink->nfields = nf;
		sink->fieldnames = palloc(sizeof(char *) * Max(nf, 1));
		sink->fieldtypes = palloc(sizeof(Oid) * Max(nf, 1));
		sink->values = palloc(sizeof(char *) * Max(nf, 1));
		for (int i = 0; i < nf; i++)
		{
			sink->fieldnames[i] = pstrdup(PQfname(res, i));
			sink->fieldtypes[i] = PQftype(res, i);
			/* the names are the keys of the jsonb objects */
			if (sink->json)
				check_encoding(target, "column name", i, sink->fieldnames[i],
							   strlen(sink->fieldnames[i]));
		}
		MemoryContextSwitchTo(o);
	}
	if (PQntuples(res) == 0)
		return;
	for (int i = 0; i < nf; i++)
		if (!PQgetisnull(res, 0, i))
			check_encoding(target, "value", i, PQgetvalue(res, 0, i), PQgetlength(res, 0, i));
	old = MemoryContextSwitchTo(sink->row_cxt);
	if (sink->json)
	{
		StringInfoData buf;
		Datum		value;
		bool		isnull = false;

		initStringInfo(&buf);
		appendStringInfoChar(&buf, '{');
		for (int i = 0; i < nf; i++)
		{
			if (i > 0)
				appendStringInfoChar(&buf, ',');
			escape_json(&buf, sink->fieldnames[i]);
			appendStringInfoChar(&buf, ':');
			if (PQgetisnull(res, 0, i))
				appendStringInfoString(&buf, "null");
			else
				json_value(&buf, sink->fieldtypes[i], PQgetvalue(res, 0, i));
		}
		appendStringInfoChar(&buf, '}');
		value = DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
		tuplestore_putvalues(sink->store, sink->desc, &value, &isnull);
	}
	else
	{
		HeapTuple	tuple;

		for (int i = 0; i < nf; i++)
			sink->values[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
		tuple = BuildTupleFromCStrings(sink->attinmeta, sink->values);
		tuplestore_puttuple(sink->store, tuple);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(sink->row_cxt);
}
