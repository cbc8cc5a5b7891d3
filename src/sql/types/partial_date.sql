
-- partial_date: extractors, bounds and the cast from date
COMMENT ON TYPE govshare.partial_date IS 'a date known to the year, month or day';

CREATE FUNCTION govshare.partial_date_year(govshare.partial_date) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.partial_date_month(govshare.partial_date) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.partial_date_day(govshare.partial_date) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.partial_date_precision(govshare.partial_date) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.partial_date_lower(govshare.partial_date) RETURNS date
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.partial_date_lower(govshare.partial_date) IS 'the first day it can be';
CREATE FUNCTION govshare.partial_date_upper(govshare.partial_date) RETURNS date
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.partial_date_upper(govshare.partial_date) IS 'the last day it can be';
CREATE FUNCTION govshare.partial_date_contains(govshare.partial_date, date) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.partial_date(date) RETURNS govshare.partial_date
	AS 'MODULE_PATHNAME', 'partial_date_from_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (date AS govshare.partial_date) WITH FUNCTION govshare.partial_date(date) AS ASSIGNMENT;
