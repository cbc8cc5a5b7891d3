--
-- The verify level and govshare.verify() (issue 20): src/enforce/claims.c,
-- src/common/fold.c, the verify grants of src/enforce/rewrite.c.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE govshare_verify;
\c govshare_verify
CREATE EXTENSION govshare;
SET search_path = public, govshare;

CREATE TABLE citizen (
    personal_id   personal_id PRIMARY KEY,
    full_name     text NOT NULL,
    birth_date    partial_date,
    phone         phone_number,
    residence     admin_unit,
    religion      text
);
INSERT INTO citizen VALUES
 ('079099123456', 'Nguyễn Văn An', '1999-05-14', '+84912345678', '2025:79.26734', 'none'),
 ('079301123457', 'Trần Thị Bình', '2001-02', '+84912345679', '2025:79', 'buddhist'),
 ('001090123458', 'Lê Văn Cường', '1990-01-15', NULL, '2025:01', 'catholic');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'birth_date', 'person.date_of_birth'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'residence', 'person.permanent_residence_unit'),
       classify('citizen', 'religion', 'person.religion'),
       govern('citizen');

SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('BANK', 'A commercial bank'),
       add_agency('TEL', 'A telecom operator'),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('kyc', 'Know your customer', 'Decree 13/2023/ND-CP'),
       add_purpose('sim_registration', 'SIM registration', 'Decree 163/2024/ND-CP'),
       add_purpose('military_service', 'Call-up', 'Law 78/2015/QH13');
CREATE ROLE ver_bank LOGIN;
CREATE ROLE ver_tel LOGIN;
CREATE ROLE ver_mnd LOGIN;
SELECT bind_role('ver_bank', 'BANK'), bind_role('ver_tel', 'TEL'), bind_role('ver_mnd', 'MND');
SELECT bind_officer('ver_bank', 'teller 7');

-- the level sits between denied and redacted
SELECT enum_range(NULL::disclosure_level);
SELECT 'verify'::disclosure_level > 'denied' AND 'verify'::disclosure_level < 'redacted' AS between;

-- BANK: name, birth date and id at verify; TEL: phone too, with both options
SELECT share('BANK', '{kyc}', '{person.personal_id, person.full_name, person.date_of_birth}',
             'verify', relation => 'citizen') AS bank_rule;
SELECT share('TEL', '{sim_registration}', '{person.personal_id, person.full_name, person.phone}',
             'verify', relation => 'citizen',
             options => '{verify_absent_false, verify_ignore_diacritics}') AS tel_rule;
-- MND: residence in full in province 01 only, and the name at verify everywhere
SELECT share('MND', '{military_service}', '{person.personal_id, person.permanent_residence_unit}',
             'full', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''01''') AS mnd_full,
       share('MND', '{military_service}', '{person.personal_id, person.full_name}',
             'verify', relation => 'citizen') AS mnd_verify,
       share('MND', '{military_service}', '{person.phone}', 'masked', relation => 'citizen') AS mnd_masked;

-- options: unknown ones refused, by share() and by the table itself
SELECT share('BANK', '{kyc}', '{person.full_name}', 'verify', relation => 'citizen',
             options => '{answer_always}');
SELECT id, level, options FROM rules ORDER BY id;
SELECT column_name, level, rule_ids FROM explain_access('BANK', 'kyc', 'citizen');

-- the folding: NFC, Latin case, white space, optional diacritics
SELECT verify_fold('  nguyen  VAN' || E'\t' || 'an ') AS squeezed,
       verify_fold('NGUYỄN VĂN AN') AS cased,
       verify_fold('Nguye' || U&'\0302\0303' || 'n') AS composed,
       verify_fold('Nguyễn Văn An') = verify_fold(normalize('Nguyễn Văn An', NFD)) AS nfc_equal,
       verify_fold('ĐẶNG THỊ Ơ ƯỚC', true) AS folded;
-- every Vietnamese vowel with each tone, and đ, folds to its base letter
SELECT verify_fold('àáảãạ ằắẳẵặ ầấẩẫậ èéẻẽẹ ềếểễệ ìíỉĩị òóỏõọ ồốổỗộ ờớởỡợ ùúủũụ ừứửữự ỳýỷỹỵ đ', true);
SELECT verify_fold('ÀÁẢÃẠ ẰẮẲẴẶ ẦẤẨẪẬ ÈÉẺẼẸ ỀẾỂỄỆ ÌÍỈĨỊ ÒÓỎÕỌ ỒỐỔỖỘ ỜỚỞỠỢ ÙÚỦŨỤ ỪỨỬỮỰ ỲÝỶỸỴ Đ', true);
SELECT verify_fold('ÀÁẢÃẠ ĂÂĐÊÔƠƯ') AS lower_keeps_marks;

\c - ver_bank
SET search_path = public, govshare;
-- no request context: refused
SELECT verify('citizen', '079099123456', '{"full_name": "Nguyễn Văn An"}');
SELECT begin_request('kyc', officer => 'teller 7');

-- a verify-only column cannot be read by SQL: the HINT names verify()
SELECT full_name FROM citizen WHERE personal_id = '079099123456';
SELECT count(*) FROM citizen;
SELECT 1 FROM citizen WHERE full_name = 'Nguyễn Văn An';

-- claims: true / false per column
SELECT verify('citizen', '079099123456',
              '{"full_name": "nguyễn  VĂN an", "birth_date": "14/05/1999"}') AS both_true;
SELECT verify('citizen', '079099123456',
              '{"full_name": "Nguyen Van An", "birth_date": "1999-05-15"}') AS diacritics_count;
SELECT verify('citizen', '079301123457', '{"birth_date": "02/2001"}') AS month_precision,
       verify('citizen', '079301123457', '{"birth_date": "2001-02-01"}') AS not_the_same_date,
       verify('citizen', '079301123457', '{"birth_date": "31/02/2001"}') AS invalid_is_false;
-- no such subject: NULL (this discloses that the id is not in the register)
SELECT verify('citizen', '079099999999', '{"full_name": "Nguyễn Văn An"}') IS NULL AS absent;
-- a claim on a column no rule grants at verify or above: an error naming it
SELECT verify('citizen', '079099123456', '{"religion": "none"}');
SELECT verify('citizen', '079099123456', '{"phone": "0912345678"}');
SELECT verify('citizen', '079099123456', '{"nonesuch": "x"}');
SELECT verify('citizen', '079099123456', '{"full_name": ["x"]}');
SELECT verify('citizen', '079099123456', '[]');
SELECT end_request();

\c - ver_tel
SET search_path = public, govshare;
SELECT begin_request('sim_registration');
-- the phone by its type: any spelling of the same number
SELECT verify('citizen', '079099123456',
              '{"phone": "+84 91 234 5678", "full_name": "NGUYEN VAN AN"}') AS tel_true;
SELECT verify('citizen', '079099123456', '{"phone": "0912345679"}') AS other_number;
SELECT verify('citizen', '001090123458', '{"phone": "0912345670"}') AS null_value_false,
       verify('citizen', '001090123458', '{"phone": null}') AS null_claim_matches_null;
-- verify_absent_false: no row answers false, not NULL
SELECT verify('citizen', '079099999999', '{"full_name": "Nguyen Van An"}') AS absent_false;
SELECT end_request();

\c - ver_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service');
-- rows of province 01 are readable; the name is verify-only everywhere
SELECT personal_id, residence FROM citizen ORDER BY 1;
SELECT personal_id, full_name FROM citizen;
SELECT verify('citizen', '079099123456', '{"full_name": "Nguyễn Văn An"}') AS mnd_any_row;
-- a column granted masked is verified against what MND may read (the masked
-- phone), never against the real number: the right number is not confirmed
SELECT verify('citizen', '079099123456', '{"phone": "+84912345678"}') AS masked_not_confirmed;
SELECT end_request();

\c - postgres
SET search_path = public, govshare;
-- one record per call: the subject, the columns checked at level verify;
-- the claims never: no claimed value is in the log
SELECT audit_flush();
SELECT agency, outcome, statement_text, columns, levels, rows, subjects, detail
  FROM access_log WHERE statement_text LIKE '%govshare.verify%' ORDER BY seq;
SELECT count(*) AS claims_in_log FROM access_log
 WHERE statement_text LIKE '%14/05/1999%' OR reason LIKE '%14/05/1999%'
    OR statement_text LIKE '%5678%' OR reason LIKE '%nguyễn  VĂN%'
    OR detail::text LIKE '%1999%' OR detail::text LIKE '%Nguy%';
-- the lookup's own statement is not recorded
SELECT count(*) AS lookups FROM access_log WHERE statement_text LIKE '/* govshare.verify */%';
SELECT verify_log();

--
-- The lookup's plan is kept per backend (claims.c): planned again, with the
-- verify grants, whenever what it was made from changes, and never used by
-- other SQL.  One session throughout: SET ROLE to the agencies' roles, RESET
-- ROLE to change the rules and the table.
--
CREATE TABLE resident (personal_id personal_id PRIMARY KEY, full_name text NOT NULL,
                       residence admin_unit);
INSERT INTO resident VALUES ('079099123456', 'Nguyễn Văn An', '2025:79'),
                            ('001090123458', 'Lê Văn Cường', '2025:01');
SELECT classify('resident', 'personal_id', 'person.personal_id'),
       classify('resident', 'full_name', 'person.full_name'),
       classify('resident', 'residence', 'person.permanent_residence_unit'),
       govern('resident');
SELECT add_purpose('aml', 'Anti-money laundering', 'Law 14/2022/QH15');
SELECT share('BANK', '{kyc}', '{person.personal_id, person.full_name}', 'verify',
             relation => 'resident') AS kyc_all \gset
SET ROLE ver_bank;
SELECT begin_request('kyc');
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}') AS an,
       verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}') AS cuong;
SELECT verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}') AS cuong_again;
-- the kept plan does not reach the consumer's own SQL, not even with the
-- lookup's very text, nor in the statement that calls verify()
SELECT full_name FROM resident WHERE personal_id = '001090123458';
PREPARE lookalike(personal_id) AS /* govshare.verify */ SELECT full_name
  FROM public.resident WHERE personal_id OPERATOR(govshare.=) $1;
EXECUTE lookalike('001090123458');
DEALLOCATE lookalike;
CREATE FUNCTION pg_temp.lookalike(id personal_id) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    name text;
BEGIN
    EXECUTE '/* govshare.verify */ SELECT full_name FROM public.resident WHERE personal_id OPERATOR(govshare.=) $1'
       INTO name USING id;
    RETURN name;
END $$;
SELECT verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}'),
       pg_temp.lookalike('001090123458');
CREATE FUNCTION pg_temp.name_of(id personal_id) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT full_name FROM public.resident WHERE personal_id = id $$;
SELECT pg_temp.name_of('001090123458');
-- a row filter added mid-session: the row outside it is not found
RESET ROLE;
SELECT revoke(:kyc_all, 'narrowed to province 01');
SELECT share('BANK', '{kyc}', '{person.personal_id, person.full_name}', 'verify',
             relation => 'resident',
             row_filter => 'admin_unit_province_code(residence) = ''01''') AS kyc_01 \gset
SET ROLE ver_bank;
SELECT begin_request('kyc');
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}') IS NULL AS an_filtered_out,
       verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}') AS cuong;
-- the name's level changed to masked: the claim meets the masked name, which
-- SQL reads now, not the name
RESET ROLE;
SELECT share('BANK', '{kyc}', '{person.personal_id}', 'verify', relation => 'resident',
             row_filter => 'admin_unit_province_code(residence) = ''01''') AS kyc_id01 \gset
SELECT share('BANK', '{kyc}', '{person.full_name}', 'masked', relation => 'resident',
             row_filter => 'admin_unit_province_code(residence) = ''01''') AS kyc_masked \gset
SELECT revoke(:kyc_01, 'name masked instead');
SET ROLE ver_bank;
SELECT begin_request('kyc');
SELECT full_name AS masked_name FROM resident \gset
SELECT :'masked_name' <> 'Lê Văn Cường' AS masked;
SELECT verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}') AS name_not_confirmed,
       verify('resident', '001090123458', jsonb_build_object('full_name', :'masked_name')) AS masked_confirmed;
-- no rule grants the name any more: the claim is an error naming the column
RESET ROLE;
SELECT revoke(:kyc_masked, 'name withdrawn');
SET ROLE ver_bank;
SELECT begin_request('kyc');
\set VERBOSITY terse
SELECT verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}');
\set VERBOSITY default
SELECT verify('resident', '001090123458', '{"personal_id": "001090123458"}') AS id_only;
-- another purpose of the same agency, another row filter
RESET ROLE;
SELECT share('BANK', '{aml}', '{person.personal_id, person.full_name}', 'verify',
             relation => 'resident',
             row_filter => 'admin_unit_province_code(residence) = ''79''') AS aml_79 \gset
SELECT share('BANK', '{kyc}', '{person.personal_id, person.full_name}', 'verify',
             relation => 'resident') AS kyc_all_again \gset
SET ROLE ver_bank;
SELECT begin_request('aml');
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}') AS aml_an,
       verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}') IS NULL AS aml_cuong_filtered_out;
SELECT begin_request('kyc');
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}') AS kyc_an,
       verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}') AS kyc_cuong;
SELECT begin_request('aml');
SELECT verify('resident', '001090123458', '{"full_name": "Lê Văn Cường"}') IS NULL AS aml_cuong_again;
-- another agency's role: its own rules (every row, absent answers false)
RESET ROLE;
SELECT share('TEL', '{sim_registration}', '{person.personal_id, person.full_name}', 'verify',
             relation => 'resident', options => '{verify_absent_false}') AS tel_all \gset
SET ROLE ver_tel;
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}');
SELECT begin_request('sim_registration');
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}') AS tel_an,
       verify('resident', '079099999999', '{"full_name": "Nguyễn Văn An"}') AS tel_absent;
SET ROLE ver_bank;
SELECT begin_request('aml');
SELECT verify('resident', '079099999999', '{"full_name": "Nguyễn Văn An"}') IS NULL AS bank_absent;
-- columns added and dropped, the name dropped and added again (same text,
-- other attribute numbers)
RESET ROLE;
ALTER TABLE resident ADD COLUMN note text;
SET ROLE ver_bank;
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}') AS after_add;
RESET ROLE;
ALTER TABLE resident DROP COLUMN note, DROP COLUMN full_name;
ALTER TABLE resident ADD COLUMN full_name text;
UPDATE resident SET full_name = 'Nguyễn Thị Hoa';
SELECT classify('resident', 'full_name', 'person.full_name');
SET ROLE ver_bank;
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Văn An"}') AS old_name,
       verify('resident', '079099123456', '{"full_name": "Nguyễn Thị Hoa"}') AS new_name;
-- the table dropped and made again under the same name
RESET ROLE;
SELECT count(revoke(id, 'table dropped')) FROM rules
 WHERE relation = 'resident'::regclass AND status = 'active';
DROP TABLE resident;
CREATE TABLE resident (personal_id personal_id PRIMARY KEY, full_name text NOT NULL,
                       residence admin_unit);
INSERT INTO resident VALUES ('079099123456', 'Phạm Văn Bình', '2025:79');
SELECT classify('resident', 'personal_id', 'person.personal_id'),
       classify('resident', 'full_name', 'person.full_name'),
       classify('resident', 'residence', 'person.permanent_residence_unit'),
       govern('resident');
SELECT share('BANK', '{aml}', '{person.personal_id, person.full_name}', 'verify',
             relation => 'resident') IS NOT NULL AS aml_new;
SET ROLE ver_bank;
SELECT verify('resident', '079099123456', '{"full_name": "Nguyễn Thị Hoa"}') AS old_table,
       verify('resident', '079099123456', '{"full_name": "Phạm Văn Bình"}') AS new_table;
SELECT full_name FROM resident;
SELECT end_request();
RESET ROLE;

\c postgres
DROP DATABASE govshare_verify;
DROP ROLE ver_bank, ver_tel, ver_mnd;
