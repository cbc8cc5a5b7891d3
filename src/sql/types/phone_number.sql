
-- phone_number: extractors (the bigint casts come from src/sql/type_bigint.sql.in)
COMMENT ON TYPE govshare.phone_number IS 'telephone number in E.164 form (Vietnamese numbering plan checked)';

COMMENT ON FUNCTION govshare.phone_number(bigint) IS
	'the phone number whose E.164 digits are the given integer (84912345678)';
COMMENT ON FUNCTION govshare.to_bigint(govshare.phone_number) IS
	'the E.164 digits of a phone number as an integer; refused for disclosure forms';

CREATE FUNCTION govshare.phone_number_country_code(govshare.phone_number) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.phone_number_country_code(govshare.phone_number) IS
	'E.164 country code (84 for Vietnam); NULL for a pseudonym';
CREATE FUNCTION govshare.phone_number_national(govshare.phone_number) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.phone_number_national(govshare.phone_number) IS
	'national form: trunk 0 and the national significant number for Vietnam, the national significant number otherwise; NULL for disclosure forms';
CREATE FUNCTION govshare.phone_number_is_mobile(govshare.phone_number) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.phone_number_is_mobile(govshare.phone_number) IS
	'true for a Vietnamese mobile number, false for a Vietnamese fixed line; NULL for other countries and pseudonyms';
