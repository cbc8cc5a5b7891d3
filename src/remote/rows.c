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
 * src/remote/rows.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq-fe.h"
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

/* Appends a remote value to a JSON object, typed by its (built-in) type. */
static void
json_value(StringInfo out, Oid typid, const char *v)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case OIDOID:
			appendStringInfoString(out, v);
			return;
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			/* NaN and the infinities are no JSON numbers */
			if (strspn(v, "0123456789+-.eE") == strlen(v))
			{
				appendStringInfoString(out, v);
				return;
			}
			break;
		case BOOLOID:
			appendStringInfoString(out, v[0] == 't' ? "true" : "false");
			return;
		case JSONOID:
		case JSONBOID:
			appendStringInfoString(out, v);
			return;
	}
	escape_json(out, v);
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
		}
		MemoryContextSwitchTo(o);
	}
	if (PQntuples(res) == 0)
		return;
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
