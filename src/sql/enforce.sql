
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
-- A pseudonym (FF1 or HMAC) takes about 1 µs, where the planner's
-- operator (cpu_operator_cost) stands for 7 to 10 ns of cached data:
-- COST 100, so that a join from a consumer's table of pseudonyms probes
-- the index per pseudonym rather than pseudonymise the whole table
-- (docs/benchmarks.md, "A pseudonym's cost").
CREATE FUNCTION govshare.pseudonym(anyelement, text) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym' LANGUAGE C STABLE STRICT PARALLEL SAFE
	COST 100;
COMMENT ON FUNCTION govshare.pseudonym(anyelement, text) IS
	'the keyed pseudonym of a value for an agency; applied by the server only, never callable directly';

-- What a comparison with a pseudonym implies on the raw column
-- (src/enforce/pseudonym.c, implied.c): pseudonym_eq and the bounds its
-- support function offers to an index.  They decipher the pseudonym, so
-- they run only inside plans the enforcement builds, like
-- govshare.pseudonym.
CREATE FUNCTION govshare.pseudonym_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_support' LANGUAGE C STRICT;
COMMENT ON FUNCTION govshare.pseudonym_support(internal) IS
	'planner support of pseudonym_eq and pseudonym_any: the index conditions, an equality''s selectivity';
CREATE FUNCTION govshare.pseudonym_lower(value anyelement, agency text) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_lower'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_lower(anyelement, text) IS
	'the lowest raw value whose pseudonym for the agency can be value: an index scan''s lower bound; applied by the server only';
CREATE FUNCTION govshare.pseudonym_upper(value anyelement, agency text) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_upper'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_upper(anyelement, text) IS
	'the highest raw value whose pseudonym for the agency can be value: an index scan''s upper bound; applied by the server only';
CREATE FUNCTION govshare.pseudonym_eq(raw anyelement, value anyelement, agency text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_eq'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.pseudonym_support;
COMMENT ON FUNCTION govshare.pseudonym_eq(anyelement, anyelement, text) IS
	'true when raw lies within the bounds of value: implied by pseudonym(raw, agency) = value; applied by the server only';
-- An IN list or an array of pseudonyms: one index scan of the values they
-- name.
-- pseudonym_values is VOLATILE so that no estimate computes it (an "=
-- ANY" of a STABLE array is estimated by evaluating it).
CREATE FUNCTION govshare.pseudonym_values(pseudonyms anyarray, agency text) RETURNS anyarray
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_values'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_values(anyarray, text) IS
	'the values the pseudonyms name for the agency: an index scan''s array; applied by the server only';
CREATE FUNCTION govshare.pseudonym_any(raw anyelement, pseudonyms anyarray, agency text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_any'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.pseudonym_support;
COMMENT ON FUNCTION govshare.pseudonym_any(anyelement, anyarray, text) IS
	'true when raw is a value one of the pseudonyms of values deciphers to: implied, with pseudonym_eq of pseudonym_hmac_pick, by pseudonym(raw, agency) = ANY (pseudonyms); applied by the server only';
-- It reads bit 59 of the consumer's own values only: callable by anyone.
CREATE FUNCTION govshare.pseudonym_hmac_pick(pseudonyms anyarray) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_hmac_pick'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_hmac_pick(anyarray) IS
	'an HMAC pseudonym among the pseudonyms (one that any raw value may have), or NULL';

CREATE FUNCTION govshare.is_governed(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_is_governed' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.is_governed(regclass) IS
	'whether the relation is governed, itself or through an ancestor';

-- The security qual a consumer's read of pg_statistic gets: its NOT.
CREATE FUNCTION govshare.statistics_hidden(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_statistics_hidden' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.statistics_hidden(regclass) IS
	'whether pg_stats hides the relation''s statistics from the session: governed relations, and for a consumer the materialized views it is refused';

-- Index-preserving enforcement (issue 16, src/enforce/fullform.c): the
-- conditions on a raw column that a consumer's comparison of its disclosed
-- value implies, for the 8-byte national types, whose disclosure forms
-- never equal and always sort after value forms.  The rewrite ANDs them
-- to the consumer's comparison; the support function turns them into
-- the comparison itself (constant values) or into index conditions.  The
-- bounds are STABLE so that no plan holds their sentinels as constants.
CREATE FUNCTION govshare.full_form_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'govshare_full_form_support' LANGUAGE C STRICT;
CREATE FUNCTION govshare.full_form_eq(raw anyelement, value anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_eq(anyelement, anyelement) IS
	'true when value is a disclosure form, else raw = value: what "disclosed = value" implies of the raw column';
CREATE FUNCTION govshare.full_form_lt(raw anyelement, value anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_lt(anyelement, anyelement) IS
	'true when value is a disclosure form, else raw < value';
CREATE FUNCTION govshare.full_form_le(raw anyelement, value anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_le(anyelement, anyelement) IS
	'true when value is a disclosure form, else raw <= value';
CREATE FUNCTION govshare.full_form_ge(raw anyelement, value anyelement, anchor anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_ge(anyelement, anyelement, anyelement) IS
	'true when anchor (an upper bound of the same disclosed value) is a disclosure form, else raw >= value';
CREATE FUNCTION govshare.full_form_gt(raw anyelement, value anyelement, anchor anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_gt(anyelement, anyelement, anyelement) IS
	'true when anchor (an upper bound of the same disclosed value) is a disclosure form, else raw > value';
CREATE FUNCTION govshare.full_form_eq_any(raw anyelement, vals anyarray) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_eq_any'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_eq_any(anyelement, anyarray) IS
	'true when a non-null element is a disclosure form, else raw = ANY(vals)';
CREATE FUNCTION govshare.full_form_upper(value anyelement) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_full_form_upper'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.full_form_upper(anyelement) IS
	'value when it is a value form, else an encoding above every value: an index scan''s upper bound';
CREATE FUNCTION govshare.full_form_lower(value anyelement, anchor anyelement) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_full_form_lower'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.full_form_lower(anyelement, anyelement) IS
	'value when anchor is a value form, else an encoding below every value: an index scan''s lower bound';
-- The security qual of a governed relation a consumer reads whole (every
-- row visible, no data subject to note): true; it lets the planner pull
-- the rewrite's subquery up, as other security quals do.
CREATE FUNCTION govshare.every_row_visible() RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_every_row_visible'
	LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF COST 1;
COMMENT ON FUNCTION govshare.every_row_visible() IS
	'true: the security qual of a governed relation a consumer reads whole, so that the enforcement''s subquery can be pulled up';
CREATE FUNCTION govshare.full_form_pick(vals anyarray) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_full_form_pick'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.full_form_pick(anyarray) IS
	'an element in a disclosure form if any, else the first non-null one: the bounds of = ANY of an array known at execution';
