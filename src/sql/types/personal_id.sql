
-- personal_id: extractors (the bigint casts come from src/sql/type_bigint.sql.in)
COMMENT ON TYPE govshare.personal_id IS 'personal identification number (12 digits, Vietnam)';

CREATE FUNCTION govshare.personal_id_province(govshare.personal_id) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.personal_id_province(govshare.personal_id) IS
	'3-digit code of the province (or country) of birth registration; NULL for a pseudonym';
CREATE FUNCTION govshare.personal_id_birth_year(govshare.personal_id) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.personal_id_birth_year(govshare.personal_id) IS
	'birth year encoded in digits 4-6; NULL when masked or pseudonymous';
CREATE FUNCTION govshare.personal_id_sex(govshare.personal_id) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.personal_id_sex(govshare.personal_id) IS
	'''male'' or ''female'' from digit 4; NULL when not disclosed';
CREATE FUNCTION govshare.personal_id_born_abroad(govshare.personal_id) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.personal_id_born_abroad(govshare.personal_id) IS
	'true when the birth was registered abroad (country code prefix)';
