
--
-- Enforcement: the transforms and tests the rewritten plans call
-- (src/enforce.c, src/mask.c, src/pseudonym.c).
--

CREATE FUNCTION govshare.mask(text) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_text_mask' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.mask(text) IS
	'keeps the first character of each word: ''Nguyễn Văn An'' becomes ''N***** V** A*''';

-- Runs only inside plans the enforcement builds: called from SQL it raises
-- an error, so that no one computes pseudonyms of values of their choice.
CREATE FUNCTION govshare.pseudonym(anyelement, text) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.pseudonym(anyelement, text) IS
	'the keyed pseudonym of a value for an agency; applied by the server only, never callable directly';

CREATE FUNCTION govshare.is_governed(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_is_governed' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.is_governed(regclass) IS
	'whether the relation is governed, itself or through an ancestor';

-- The security qual a consumer's read of pg_statistic gets: its NOT.
CREATE FUNCTION govshare.statistics_hidden(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_statistics_hidden' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.statistics_hidden(regclass) IS
	'whether pg_stats hides the relation''s statistics from the session: governed relations, and for a consumer the materialized views it is refused';
