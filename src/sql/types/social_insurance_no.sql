
-- social_insurance_no: extractors (the bigint casts come from src/sql/type_bigint.sql.in)
COMMENT ON TYPE govshare.social_insurance_no IS 'social insurance number (10 digits, Vietnam)';

CREATE FUNCTION govshare.social_insurance_no_province(govshare.social_insurance_no) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.social_insurance_no_province(govshare.social_insurance_no) IS
	'2-digit code of the issuing province office; NULL for a pseudonym';
