-- dictionary: the national profile, agency additions, code lists
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- The shipped national profile.
SELECT list, count(*) FROM code WHERE shipped GROUP BY list ORDER BY list;
SELECT count(*) >= 30 AS enough_elements FROM element WHERE shipped;
SELECT sensitivity, count(*) FROM element GROUP BY 1 ORDER BY 1;
SELECT code, sensitivity FROM element
WHERE code IN ('person.personal_id', 'person.full_name', 'person.ethnicity', 'person.religion',
               'person.criminal_record', 'person.fingerprint', 'person.blood_type',
               'person.health_status', 'person.realtime_location', 'org.tax_code')
ORDER BY code;
-- every element's datatype exists and its code list is known
SELECT count(*) FROM element WHERE code_list IS NOT NULL
  AND code_list NOT IN (SELECT list FROM code_list);
-- the 2004 provinces map to 2025 provinces
SELECT count(*) FROM code o WHERE o.list = 'province_2004'
  AND NOT EXISTS (SELECT FROM code n WHERE n.list = 'province_2025' AND n.code = o.successor);
SELECT o.code, o.name_en, o.successor, n.name_en AS becomes
FROM code o JOIN code n ON n.list = 'province_2025' AND n.code = o.successor
WHERE o.list = 'province_2004' AND o.code IN ('02', '30', '74', '89', '95') ORDER BY o.code;

-- An agency adds its own list, codes and element (as govshare_admin).
CREATE ROLE gs_dict_admin IN ROLE govshare_admin;
CREATE ROLE gs_dict_clerk;
SET ROLE gs_dict_admin;
INSERT INTO code_list (list, name_vi, name_en) VALUES ('rank', 'Cấp bậc', 'Military rank');
INSERT INTO code (list, code, name_vi) VALUES ('rank', 'DU', 'Đại úy');
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity, code_list)
VALUES ('military.rank', 'Cấp bậc quân hàm', 'Military rank', 'text', 'personal', 'rank');
-- shipped rows are read-only, and nobody ships rows by hand
\set VERBOSITY default
UPDATE element SET sensitivity = 'public' WHERE code = 'person.religion';
DELETE FROM code WHERE list = 'sex';
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity, shipped)
VALUES ('military.unit', 'Đơn vị', 'Unit', 'text', 'internal', true);
\set VERBOSITY terse
RESET ROLE;
-- others read the dictionary but do not change it
SET ROLE gs_dict_clerk;
SELECT count(*) > 0 FROM element;
INSERT INTO code (list, code, name_vi) VALUES ('rank', 'TU', 'Thiếu úy');
RESET ROLE;
-- element codes are namespaced, lowercase
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity)
VALUES ('Rank', 'x', 'x', 'text', 'public');

-- Loading a code list from CSV.
SELECT setting || '/extension/govshare_ward_2004_sample.csv' AS wards
FROM pg_config WHERE name = 'SHAREDIR' \gset
SELECT load_code_list('ward_2004', :'wards') AS loaded;
SELECT load_code_list('ward_2004', :'wards') AS reloaded;   -- idempotent
SELECT count(*) FROM code WHERE list = 'ward_2004';
SELECT load_code_list('no_such_list', :'wards');

DELETE FROM code WHERE list IN ('rank', 'ward_2004');
DELETE FROM element WHERE code = 'military.rank';
DELETE FROM code_list WHERE list = 'rank';
DROP ROLE gs_dict_admin, gs_dict_clerk;
