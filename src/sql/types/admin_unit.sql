
-- admin_unit: extractors, the 2025 mapping, a constructor
COMMENT ON TYPE govshare.admin_unit IS 'province or ward under the 2004 or 2025 scheme of administrative units';

CREATE FUNCTION govshare.admin_unit_scheme(govshare.admin_unit) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.admin_unit_province(govshare.admin_unit) RETURNS govshare.admin_unit
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.admin_unit_province_code(govshare.admin_unit) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.admin_unit_ward_code(govshare.admin_unit) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.admin_unit_level(govshare.admin_unit) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.admin_unit_name(govshare.admin_unit) RETURNS text
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.admin_unit_name(govshare.admin_unit) IS
	'name of a province (ASCII); NULL for a ward (see govshare.code)';
CREATE FUNCTION govshare.admin_unit_to_2025(govshare.admin_unit) RETURNS govshare.admin_unit
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.admin_unit_to_2025(govshare.admin_unit) IS
	'the 2025 province a 2004 province became part of (Resolution 202/2025/QH15)';
CREATE FUNCTION govshare.admin_unit(scheme integer, province text, ward text DEFAULT NULL)
	RETURNS govshare.admin_unit
	AS 'MODULE_PATHNAME', 'admin_unit_make' LANGUAGE C STABLE PARALLEL SAFE;
