-- demo/demo.sql — a tour of govshare, run by scripts/demo in a throw-away
-- cluster.  Errors shown here are part of the tour.
\set ECHO queries
\pset footer off
CREATE DATABASE mps;   -- the Ministry of Public Security's database
\c mps
CREATE EXTENSION govshare;
SET search_path = public, govshare;

\echo
\echo '--- 1. National identifier types: validation with a precise DETAIL'
\set VERBOSITY default
SELECT '001090123456'::personal_id AS personal_id,
       '0100109106-001'::tax_code AS tax_code,
       '+84 91 234 5678'::phone_number AS phone,
       '01692345678'::phone_number AS old_mobile_number,
       'dn 4 01 0123456789'::health_insurance_no AS health_insurance,
       '2025:79.26734'::admin_unit AS ward,
       '15/05/1990'::partial_date AS civil_record_date;
SELECT '001090123457'::personal_id;    -- fine: there is no check digit
SELECT '003090123456'::personal_id;    -- 003 is no province
SELECT '0100109107'::tax_code;         -- wrong check digit
SELECT '0951234567'::phone_number;     -- not a Vietnamese mobile prefix
SELECT '1990-02-30'::partial_date;     -- no such day
SELECT '2025:30'::admin_unit;          -- Hai Duong was merged into Hai Phong

\echo
\echo '--- 2. A citizens table with govshare types, a few thousand generated rows'
CREATE TABLE citizen (
    personal_id   personal_id PRIMARY KEY,
    full_name     text NOT NULL,
    birth_date    partial_date,
    residence     admin_unit,
    phone         phone_number,
    tax_code      tax_code,
    insurance_no  social_insurance_no
);
INSERT INTO citizen
SELECT format('%s%s%s%s', lpad(p::text, 3, '0'), ((y / 100 - 19) * 2 + i % 2)::text,
              lpad((y % 100)::text, 2, '0'), lpad((i * 7919 % 1000000)::text, 6, '0'))::personal_id,
       format('Citizen %s', i),
       format('%s-%s', y, lpad((1 + i % 12)::text, 2, '0'))::partial_date,
       format('2025:%s', lpad(p::text, 2, '0'))::admin_unit,
       format('+8491%s', lpad((i * 104729 % 10000000)::text, 7, '0'))::phone_number,
       NULL,
       lpad((p::bigint * 100000000 + i)::text, 10, '0')::social_insurance_no
FROM generate_series(1, 5000) AS i,
     LATERAL (SELECT (ARRAY[1, 79, 48, 31, 92])[1 + i % 5] AS p,
                     1950 + i % 57 AS y) AS s;
ANALYZE citizen;
SELECT pg_size_pretty(pg_relation_size('citizen_pkey')) AS pkey_index_size,
       count(*) AS citizens FROM citizen;

\echo
\echo '--- 3. Extractors: what the identifiers say'
SELECT personal_id_province(personal_id) AS born_in, personal_id_sex(personal_id) AS sex,
       count(*), min(personal_id_birth_year(personal_id)) AS oldest,
       max(personal_id_birth_year(personal_id)) AS youngest
FROM citizen GROUP BY 1, 2 ORDER BY 1, 2;
SELECT admin_unit_name(residence) AS province, count(*)
FROM citizen GROUP BY 1 ORDER BY 2 DESC, 1;

\echo
\echo '--- 4. Disclosure transforms, used by sharing rules in later steps'
SELECT personal_id, mask(personal_id) AS masked, generalize(personal_id) AS generalized,
       mask(phone) AS phone_masked, generalize(birth_date) AS birth_year
FROM citizen ORDER BY personal_id LIMIT 5;

\echo
\echo '--- 5. Index use: an 8-byte key, index scans and merge/hash joins'
EXPLAIN (COSTS OFF)
SELECT full_name FROM citizen WHERE personal_id = '001090123456';
EXPLAIN (COSTS OFF)
SELECT count(*) FROM citizen WHERE personal_id >= '079000000000' AND personal_id < '080000000000';
SELECT count(*) AS born_in_hcmc FROM citizen
WHERE personal_id >= '079000000000' AND personal_id < '080000000000';

\echo
\echo '--- 6. The national data dictionary: elements, sensitivity, code lists'
SELECT sensitivity, count(*) AS elements FROM element GROUP BY 1 ORDER BY 1;
SELECT code, name_en, datatype, sensitivity FROM element
WHERE code IN ('person.personal_id', 'person.date_of_birth', 'person.ethnicity',
               'person.religion', 'person.criminal_record', 'person.phone')
ORDER BY sensitivity, code;
SELECT o.code AS province_2004, o.name_en, o.successor AS province_2025, n.name_en AS now_part_of
FROM code o JOIN code n ON n.list = 'province_2025' AND n.code = o.successor
WHERE o.list = 'province_2004' AND o.code <> o.successor ORDER BY o.code LIMIT 8;

\echo
\echo '--- 7. Classifying the citizens table and governing it'
SECURITY LABEL FOR govshare ON COLUMN citizen.personal_id IS 'person.personal_id';
SELECT classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'birth_date', 'person.date_of_birth'),
       classify('citizen', 'residence', 'person.permanent_residence_unit'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'insurance_no', 'person.social_insurance_no');
SELECT govern('citizen');
SELECT column_name, element, sensitivity, conformance, status
FROM classification WHERE relation = 'citizen'::regclass ORDER BY attnum;
SECURITY LABEL FOR govshare ON COLUMN citizen.full_name IS 'person.religion_of_choice';
SECURITY LABEL FOR govshare ON COLUMN citizen.phone IS 'person.date_of_birth';

\echo
\echo '--- 8. Data quality: one pass over the table'
UPDATE citizen SET phone = NULL WHERE personal_id_birth_year(personal_id) < 1955;
SELECT * FROM quality_report('citizen');

\echo
\echo '--- 9. Two agencies, one agreement: the Ministry of Public Security shares with the'
\echo '---    Ministry of National Defence for military-service call-up'
SELECT add_agency('MPS', 'Ministry of Public Security (Bo Cong an)', is_self => true);
SELECT add_agency('MND', 'Ministry of National Defence (Bo Quoc phong)');
SELECT add_purpose('military_service', 'Registration and call-up for military service',
                   'Law on Military Service 78/2015/QH13, art. 33; Decree 13/2016/ND-CP');
SELECT add_purpose('tax_administration', 'Tax administration', 'Law on Tax Administration 38/2019/QH14');
CREATE ROLE mnd_app LOGIN;
SELECT bind_role('mnd_app', 'MND');
-- identity masked nationwide; full identity and phone in Ho Chi Minh City (province 79),
-- for people born 1999-2008 (call-up age); everything else of a person generalized
SELECT share('MND', '{military_service}', '{person.personal_id}', 'masked',
             legal_basis => 'Decree 13/2016/ND-CP, art. 5') AS rule_masked;
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name, person.phone}', 'full',
             relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79'' AND personal_id_birth_year(personal_id) BETWEEN 1999 AND 2008',
             legal_basis => 'Law on Military Service 78/2015/QH13, art. 33',
             valid_until => now() + interval '1 year') AS rule_full;
SELECT share('MND', '{military_service}', '{person.*}', 'generalized') AS rule_generalized;
SELECT id, level, elements, row_filter, status FROM rules ORDER BY id;

\echo
\echo '--- 10. explain_access: what MND gets from the citizens table, column by column'
SELECT column_name, element, level, rule_ids, reason
FROM explain_access('MND', 'military_service', 'citizen');

\echo
\echo '--- 11. MND declares why it asks, with a token signed by its registered key'
SELECT private_key AS mnd_private, public_key AS mnd_public FROM make_test_key() \gset
SELECT add_agency_key('MND', :'mnd_public') AS key_id;
SELECT sign_request_token(:'mnd_private', 'MND', 'military_service', 'Lt. Nguyen Van An',
                          'Call-up order 2026/HCM-12') AS token \gset
SET ROLE mnd_app;
\echo '--- (first, a purpose MND has no agreement for is refused)'
SELECT begin_request('tax_administration');
SELECT begin_request_signed(:'token');
SELECT agency, officer, purpose, reference, signed FROM current_request();
\echo '--- the same token again is a replay'
SELECT begin_request_signed(:'token');
\echo '--- MND may not read the rules catalog; it learns its rights from explain_access'
SELECT count(*) FROM rule;

\echo
\echo '--- 12. MND queries the citizens table with plain SQL and gets what its agreement says:'
\echo '---     identity masked nationwide, in full for call-up ages in Ho Chi Minh City (79), the rest generalized'
(SELECT personal_id, full_name, birth_date, residence, phone FROM citizen
 WHERE personal_id_province(personal_id) = '079' ORDER BY birth_date DESC LIMIT 3)
UNION ALL
(SELECT personal_id, full_name, birth_date, residence, phone FROM citizen
 WHERE personal_id_province(personal_id) = '079' ORDER BY birth_date LIMIT 3);
\echo '--- one conscript by personal id'
SELECT personal_id, full_name, phone FROM citizen WHERE personal_id = '079306700379';
\echo '--- the lookup uses the primary key even though the id is masked in most rows: the'
\echo '---     comparison of the disclosed value implies one on the stored id (docs/enforcement.md)'
EXPLAIN (COSTS OFF) SELECT personal_id, full_name, phone FROM citizen WHERE personal_id = '079306700379';
\echo '--- and a prepared lookup, with a generic plan, too; a signed request only reads (no'
\echo '---     PREPARE, no SET), so MND ends it and begins an unsigned one for the same purpose'
SELECT end_request();
SELECT begin_request('military_service');
SET plan_cache_mode = force_generic_plan;
PREPARE conscript(personal_id) AS SELECT personal_id, full_name, phone FROM citizen WHERE personal_id = $1;
EXPLAIN (COSTS OFF) EXECUTE conscript('079306700379');
EXECUTE conscript('079306700379');
RESET plan_cache_mode;
\echo '--- a search by a real name finds nothing: predicates see what MND sees'
SELECT count(*) FROM citizen WHERE full_name = 'Citizen 4';
\echo '--- a column no rule grants is refused, naming the column, the element and the purpose'
SELECT full_name, tax_code FROM citizen LIMIT 1;
\echo '--- and consumers do not write'
UPDATE citizen SET phone = NULL;
RESET ROLE;

\echo
\echo '--- 13. Suspending the agreement takes effect at once'
SELECT suspend(2, 'Inspection of the call-up list, decision 45/QD-BQP');
SELECT column_name, level, reason FROM explain_access('MND', 'military_service', 'citizen')
WHERE column_name IN ('full_name', 'phone');
SELECT resume(2);

\echo
\echo '--- 14. What a DBA should fix'
GRANT SELECT ON citizen TO mnd_app;
SELECT severity, object, problem FROM check_setup();
REVOKE SELECT ON citizen FROM mnd_app;

\echo
\echo '--- 14b. Verification (issue 20): a bank checks what a customer presented, name and'
\echo '---      date of birth, against the register; it may not read either (level verify)'
SELECT add_agency('VCB', 'A commercial bank');
SELECT add_purpose('kyc', 'Customer identification (KYC) when opening an account',
                   'Decree 13/2023/ND-CP; Law on Credit Institutions 32/2024/QH15');
CREATE ROLE bank_app LOGIN;
SELECT bind_role('bank_app', 'VCB');
SELECT bind_officer('bank_app', 'Teller 12');  -- the officers bank_app may name
SELECT share('VCB', '{kyc}', '{person.personal_id, person.full_name, person.date_of_birth}', 'verify',
             relation => 'citizen', legal_basis => 'Decree 13/2023/ND-CP, art. 3') AS rule_verify;
SELECT set_quota('VCB', 'kyc', verify_per_minute => 3);
-- the customer at the counter (the provider looks the record up for the demo,
-- and gives the person a Vietnamese name)
SELECT personal_id AS customer, to_char(partial_date_lower(birth_date), 'MM/YYYY') AS presented_dob
FROM citizen ORDER BY personal_id LIMIT 1 \gset
UPDATE citizen SET full_name = 'Nguyễn Thị Minh Khai' WHERE personal_id = :'customer';
\c - bank_app
SET search_path = public, govshare;
SELECT begin_request('kyc', officer => 'Teller 12', reference => 'Account opening 2026-000123');
\echo '--- the name in capitals with doubled spaces, the date as MM/YYYY: both match'
SELECT verify('citizen', :'customer',
              jsonb_build_object('full_name', 'NGUYỄN  THỊ MINH KHAI', 'birth_date', :'presented_dob')) AS answer;
\echo '--- a wrong date of birth'
SELECT verify('citizen', :'customer', '{"birth_date": "01/1970"}') AS answer;
\echo '--- a personal id the register does not hold: NULL (this tells that there is no such record)'
SELECT verify('citizen', '079099999999', '{"full_name": "Nguyen Van An"}') AS answer;
\echo '--- reading the name itself is refused; the HINT names verify()'
SELECT full_name FROM citizen WHERE personal_id = :'customer';
\echo '--- the quota is 3 verifications a minute: the fourth is refused (SQLSTATE 53400)'
\set VERBOSITY verbose
SELECT verify('citizen', :'customer', '{"full_name": "x"}') AS answer;
\set VERBOSITY default
SELECT audit_flush();
\c - postgres
SET search_path = public, govshare;
SELECT consumer, purpose, verify_per_minute, verify_this_minute FROM quotas;

\echo
\echo '--- 15. The audit trail: every MND statement above left an access record, written'
\echo '---     by the audit writer before MND saw a row (strict mode); denials too'
SELECT audit_flush();
SELECT seq, outcome, agency, officer, purpose, reference, rows, subject_count,
       array_to_string(levels, ',') AS levels, left(statement_text, 50) AS statement
FROM audit_access ORDER BY seq;
SELECT seq, agency, purpose, reason FROM audit_denied ORDER BY seq;
SELECT day, agency, purpose, element, statements, rows FROM audit_by_agency ORDER BY element;
\echo '--- the bank''s verifications: the answers are recorded, never what was claimed'
SELECT seq, outcome, array_to_string(columns, ',') AS columns, subjects, detail
FROM access_log WHERE agency = 'VCB' ORDER BY seq;
\echo '--- usage per day, agency and purpose, for cost settlement (govshare.usage)'
SELECT day, agency, purpose, statements, rows, verify_calls, denials, bytes FROM usage ORDER BY agency;

\echo
\echo '--- 16. A citizen asks who read his data (the data subjects'' view); each record lists'
\echo '---     up to govshare.audit_subject_limit (100) of the people whose rows it read, and counts all'
SELECT min(s) AS citizen FROM access_log, unnest(subjects) AS s \gset
SELECT :'citizen' AS citizen;
SELECT accessed_at::timestamp(0) AS accessed_at, agency, officer, purpose, reference, elements, legal_bases
FROM subject_access(:'citizen');

\echo
\echo '--- 17. The chain verifies; the self agency signs a checkpoint an inspector keeps'
SELECT * FROM verify_log();
SELECT add_agency_key('MPS', pg_read_file(current_setting('govshare.signing_key_file') || '.pub')) AS mps_key;
SELECT checkpoint() AS checkpoint \gset
\set ECHO none
\echo 'SELECT checkpoint();  -- saved as :checkpoint; its signed part is "jws"'
SELECT jsonb_pretty(:'checkpoint'::jsonb - 'jws') AS checkpoint;
\echo 'SELECT ok, problem FROM verify_log(:checkpoint);'
SELECT ok, problem FROM verify_log(:'checkpoint'::jsonb);
\set ECHO queries

\echo
\echo '--- 18. The log is append-only, even for a superuser; one who bypasses the guard is caught'
DELETE FROM access_log WHERE seq = 1;
ALTER TABLE access_log DISABLE TRIGGER guard_access_log;
UPDATE access_log SET officer = 'someone else' WHERE seq = 1;
ALTER TABLE access_log ENABLE TRIGGER guard_access_log;
SELECT ok, first_bad_seq, problem FROM verify_log();
\echo '--- a rebuilt chain would verify on its own, but not against the saved checkpoint'
\set ECHO none
\echo 'SELECT ok, first_bad_seq, problem FROM verify_log(:checkpoint);'
SELECT ok, first_bad_seq, problem FROM verify_log(:'checkpoint'::jsonb);
