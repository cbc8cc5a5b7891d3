-- classification: the govshare security label provider and its functions
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

CREATE TABLE person (
    id          personal_id PRIMARY KEY,
    legacy_id   bigint,
    id_text     varchar(20),
    full_name   text,
    born        date,
    born_pd     partial_date,
    phone       phone_number,
    n           integer,
    photo       bytea
);

-- SECURITY LABEL and classify() set the same label.
SECURITY LABEL FOR govshare ON COLUMN person.id IS 'person.personal_id';
SELECT classify('person', 'full_name', 'person.full_name');
SELECT classify('person', 'legacy_id', 'person.personal_id');   -- bigint: castable
SELECT classify('person', 'id_text', 'person.personal_id');     -- text: castable
SELECT classify('person', 'born', 'person.date_of_birth');      -- date -> partial_date: castable
SELECT classify('person', 'born_pd', 'person.date_of_birth');
SELECT objsubid, label FROM pg_seclabel
WHERE provider = 'govshare' AND objoid = 'person'::regclass ORDER BY 1;
SELECT column_name, element, sensitivity, column_type, element_type, conformance, governed, status
FROM classification WHERE relation = 'person'::regclass ORDER BY attnum;

-- Every rejection path of the provider, with its DETAIL and HINT.
\set VERBOSITY default
SECURITY LABEL FOR govshare ON COLUMN person.n IS 'person.no_such_element';
SECURITY LABEL FOR govshare ON COLUMN person.n IS 'person.full_name';      -- integer cannot hold text
SECURITY LABEL FOR govshare ON COLUMN person.photo IS 'person.personal_id';
SELECT classify('person', 'born', 'person.phone');                          -- date cannot hold a phone number
SECURITY LABEL FOR govshare ON TABLE person IS 'secret';
CREATE VIEW person_v AS SELECT id, full_name FROM person;
SECURITY LABEL FOR govshare ON COLUMN person_v.id IS 'person.personal_id';
SECURITY LABEL FOR govshare ON VIEW person_v IS 'governed';
CREATE MATERIALIZED VIEW person_mv AS SELECT id FROM person;
SECURITY LABEL FOR govshare ON MATERIALIZED VIEW person_mv IS 'governed';
CREATE SEQUENCE person_seq;
SECURITY LABEL FOR govshare ON SEQUENCE person_seq IS 'governed';
CREATE FUNCTION person_f() RETURNS int LANGUAGE sql AS 'SELECT 1';
SECURITY LABEL FOR govshare ON FUNCTION person_f() IS 'person.full_name';
SECURITY LABEL FOR govshare ON SCHEMA public IS 'governed';
SELECT classify('person', 'no_such_column', 'person.full_name');
SELECT classify('person', 'ctid', 'person.full_name');
SELECT classify(0, 'n', 'person.full_name');
\set VERBOSITY terse

-- Removing a label.
SECURITY LABEL FOR govshare ON COLUMN person.legacy_id IS NULL;
SELECT declassify('person', 'id_text');
SELECT column_name FROM classification WHERE relation = 'person'::regclass ORDER BY attnum;

-- govern / ungovern: every column of a governed table is classified or listed.
SELECT govern('person');
SELECT column_name, element, status FROM classification
WHERE relation = 'person'::regclass ORDER BY attnum;
SELECT ungovern('person');
SELECT count(*) FROM classification WHERE relation = 'person'::regclass AND status = 'unclassified';

-- Only roles with the privileges of the table's owner may classify: a
-- member of govshare_admin too, once the owner has granted it its role.
CREATE ROLE gs_clerk;
CREATE ROLE gs_admin_member IN ROLE govshare_admin;
CREATE ROLE gs_registry;
ALTER TABLE person OWNER TO gs_registry;
SET ROLE gs_clerk;
SECURITY LABEL FOR govshare ON COLUMN person.n IS NULL;
SELECT classify('person', 'phone', 'person.phone');
RESET ROLE;
SET ROLE gs_admin_member;
SELECT classify('person', 'phone', 'person.phone');
RESET ROLE;
GRANT gs_registry TO gs_admin_member;
SET ROLE gs_admin_member;
SELECT classify('person', 'phone', 'person.phone');
SELECT declassify('person', 'phone');
RESET ROLE;

-- The type conformance function.
SELECT type_conformance('personal_id', 'personal_id'), type_conformance('text', 'personal_id'),
       type_conformance('bigint', 'personal_id'), type_conformance('date', 'partial_date'),
       type_conformance('bytea', 'text'), type_conformance('integer', 'phone_number');

-- is_valid: the national types' parsers, and other types' input functions.
SELECT is_valid('001090123456', 'personal_id'), is_valid('001090123457', 'personal_id'),
       is_valid('003090123456', 'personal_id'), is_valid('001*******56', 'personal_id'),
       is_valid('2020-02-30', 'date'), is_valid('2020-02-29', 'date'), is_valid('x', 'integer');

DROP TABLE person CASCADE;
DROP MATERIALIZED VIEW IF EXISTS person_mv;
DROP SEQUENCE person_seq;
DROP FUNCTION person_f();
DROP ROLE gs_clerk, gs_admin_member, gs_registry;
