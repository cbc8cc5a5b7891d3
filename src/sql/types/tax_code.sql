
-- tax_code: extractors
COMMENT ON TYPE govshare.tax_code IS 'tax identification number (10 digits, optional -NNN branch, Vietnam)';

CREATE FUNCTION govshare.tax_code_branch(govshare.tax_code) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.tax_code_base(govshare.tax_code) RETURNS govshare.tax_code
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.tax_code_base(govshare.tax_code) IS
	'the 10-digit code without its branch';
CREATE FUNCTION govshare.tax_code_is_branch(govshare.tax_code) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
