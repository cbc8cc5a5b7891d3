/* govshare--@EXTVERSION@.sql — assembled by the Makefile from src/sql/ */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION govshare" to load this file. \quit

COMMENT ON SCHEMA govshare IS 'govshare: national data-dictionary types and governed data sharing';

-- Nobody but the extension's owner creates objects in its schema.
REVOKE CREATE ON SCHEMA govshare FROM PUBLIC;
GRANT USAGE ON SCHEMA govshare TO PUBLIC;
