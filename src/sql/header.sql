/* govshare--@EXTVERSION@.sql — assembled by the Makefile from src/sql/ */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION govshare" to load this file. \quit

COMMENT ON SCHEMA govshare IS 'govshare: national data-dictionary types and governed data sharing';

-- Nobody but the extension's owner creates objects in its schema.
REVOKE CREATE ON SCHEMA govshare FROM PUBLIC;
GRANT USAGE ON SCHEMA govshare TO PUBLIC;

-- The restriction estimators of the types' <, <=, > and >= operators:
-- PostgreSQL's scalar estimators, but for the bounds of an implied equality
-- whose value is known only at execution (src/enforce/fullform.c), which
-- they estimate as that equality, so that a consumer's prepared lookup by
-- id keeps its generic plan (docs/enforcement.md).
CREATE FUNCTION govshare.full_form_ltsel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_ltsel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.full_form_lesel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_lesel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.full_form_gtsel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_gtsel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.full_form_gesel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_gesel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
