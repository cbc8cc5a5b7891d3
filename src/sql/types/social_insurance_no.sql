
-- social_insurance_no: extractors and bigint casts
COMMENT ON TYPE govshare.social_insurance_no IS 'social insurance number (10 digits, Vietnam)';

CREATE FUNCTION govshare.social_insurance_no(bigint) RETURNS govshare.social_insurance_no
	AS 'MODULE_PATHNAME', 'social_insurance_no_from_int8' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.to_bigint(govshare.social_insurance_no) RETURNS bigint
	AS 'MODULE_PATHNAME', 'social_insurance_no_to_int8' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (bigint AS govshare.social_insurance_no)
	WITH FUNCTION govshare.social_insurance_no(bigint);
CREATE CAST (govshare.social_insurance_no AS bigint)
	WITH FUNCTION govshare.to_bigint(govshare.social_insurance_no);

CREATE FUNCTION govshare.social_insurance_no_province(govshare.social_insurance_no) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.social_insurance_no_province(govshare.social_insurance_no) IS
	'2-digit code of the issuing province office; NULL for a pseudonym';
