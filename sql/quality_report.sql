-- quality_report: sufficient, correct, clean, live
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- A legacy register: identifiers kept as text, with every kind of defect.
CREATE TABLE register (
    id          text,
    id_typed    personal_id,
    full_name   text,
    sex         text,
    ethnicity   text,
    born        partial_date,
    residence   admin_unit,
    tax         text,
    updated_at  timestamptz,
    remark      text
);
INSERT INTO register VALUES
  ('001090123456', '001090123456', 'A', '1', '01', '1990',       '2004:01.00001', '0100109106', '2026-01-10 00:00+00', NULL),
  ('001090123456', '001090123457', 'B', '2', '01', '1990-05',    '2004:01.00004', '0100109107', '2026-01-11 00:00+00', NULL),
  ('003090123456', '001*******56', 'C', '7', '99', '1990-05-15', '2004:01.99999', 'x',          '2026-01-12 00:00+00', NULL),
  ('0010901234',   NULL,           NULL, NULL, NULL, NULL,       '2025:79',       NULL,         '2025-12-31 00:00+00', NULL),
  (NULL,           '~0123456789AB', 'E', '9', '54', '2001',      '2004:01',       NULL,         '2026-01-01 00:00+00', NULL);
SELECT classify('register', 'id', 'person.personal_id');
SELECT classify('register', 'id_typed', 'person.personal_id');
SELECT classify('register', 'full_name', 'person.full_name');
SELECT classify('register', 'sex', 'person.sex');
SELECT classify('register', 'ethnicity', 'person.ethnicity');
SELECT classify('register', 'born', 'person.date_of_birth');
SELECT classify('register', 'residence', 'person.permanent_residence_unit');
SELECT classify('register', 'tax', 'person.tax_code');

-- Without the ward list, wards cannot be judged; with it, 99999 is unknown.
SELECT column_name, element, sensitivity, rows, nulls, invalid, duplicates
FROM quality_report('register');
SELECT setting || '/extension/govshare_ward_2004_sample.csv' AS wards
FROM pg_config WHERE name = 'SHAREDIR' \gset
SELECT load_code_list('ward_2004', :'wards') > 0 AS wards_loaded;
SELECT column_name, invalid FROM quality_report('register') WHERE column_name = 'residence';

-- Freshness: the age of the newest and the oldest row.
SELECT column_name, oldest_age - newest_age AS span, newest_age > interval '0' AS aged
FROM quality_report('register', 'updated_at') WHERE column_name = 'id';

\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT * FROM quality_report('register', 'no_such_column');
SELECT * FROM quality_report('register', 'remark');
CREATE TABLE unclassified (a int);
SELECT * FROM quality_report('unclassified');
\set SHOW_CONTEXT errors
\set VERBOSITY terse

-- One pass over a larger table.
CREATE TABLE big AS
SELECT (lpad((ARRAY[1, 79, 48])[1 + i % 3]::text, 3, '0') || (i % 2)::text || '90'
        || lpad((i % 400000)::text, 6, '0'))::personal_id AS id,
       CASE WHEN i % 1000 = 0 THEN 'x' ELSE (1 + i % 2)::text END AS sex
FROM generate_series(1, 500000) AS i;
SELECT classify('big', 'id', 'person.personal_id');
SELECT classify('big', 'sex', 'person.sex');
SELECT column_name, rows, nulls, invalid, duplicates FROM quality_report('big');

DROP TABLE register, unclassified, big;
