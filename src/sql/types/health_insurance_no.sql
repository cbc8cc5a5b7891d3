
-- health_insurance_no: extractors
COMMENT ON TYPE govshare.health_insurance_no IS 'health insurance card code (15 characters, Vietnam)';

CREATE FUNCTION govshare.health_insurance_no_participant(govshare.health_insurance_no) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.health_insurance_no_benefit_level(govshare.health_insurance_no) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.health_insurance_no_province(govshare.health_insurance_no) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.health_insurance_no_social_insurance_no(govshare.health_insurance_no)
	RETURNS govshare.social_insurance_no
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
