--
-- Transparent enforcement: what a consumer agency reads of governed
-- relations, through any SQL (src/enforce.c, src/mask.c, src/pseudonym.c).
--
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE govshare_enforce;
\c govshare_enforce
CREATE EXTENSION govshare;
SET search_path = public, govshare;

CREATE TABLE citizen (
    personal_id   personal_id PRIMARY KEY,
    full_name     text NOT NULL,
    birth_date    partial_date,
    residence     admin_unit,
    phone         phone_number,
    religion      text,
    note          text
);
INSERT INTO citizen VALUES
 ('079099123456', 'Nguyen Van An', '1999-05-14', '2025:79.26734', '+84912345678', 'none', 'n1'),
 ('079301123457', 'Tran Thi Binh', '2001-02', '2025:79', '+84912345679', 'buddhist', 'n2'),
 ('001090123458', 'Le Van Cuong HIDDEN', '1990-01', '2025:01', '+84912345670', 'catholic', 'n3');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'birth_date', 'person.date_of_birth'),
       classify('citizen', 'residence', 'person.permanent_residence_unit'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'religion', 'person.religion'),
       govern('citizen');
-- note is left unclassified: denied to every consumer

SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_agency('MOH', 'Ministry of Health'),
       add_purpose('military_service', 'Call-up', 'Law 78/2015/QH13'),
       add_purpose('health_care', 'Health care', 'Law 15/2023/QH15');
CREATE ROLE enf_mnd LOGIN;
CREATE ROLE enf_moh LOGIN;
CREATE ROLE enf_staff LOGIN;        -- internal, no binding
SELECT bind_role('enf_mnd', 'MND'), bind_role('enf_moh', 'MOH');
CREATE SCHEMA work;
GRANT ALL ON SCHEMA work TO enf_mnd, enf_moh;
GRANT SELECT ON citizen TO enf_staff;

-- MND: identity in full and name masked in province 79; phone as a
-- pseudonym, birth date and residence generalized, everywhere.
SELECT share('MND', '{military_service}', '{person.personal_id}', 'full', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79''') AS r1,
       share('MND', '{military_service}', '{person.full_name}', 'masked', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79''') AS r2,
       share('MND', '{military_service}', '{person.phone}', 'pseudonym', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79''') AS r3,
       share('MND', '{military_service}', '{person.date_of_birth, person.permanent_residence_unit}',
             'generalized', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79''') AS r4;
-- MOH: phone as a pseudonym, every row
SELECT share('MOH', '{health_care}', '{person.phone, person.personal_id}', 'pseudonym') AS r5;

-- Internal roles are not affected.
SELECT personal_id, full_name, phone FROM citizen ORDER BY 1;
SET ROLE enf_staff;
SELECT count(*) FROM citizen;
RESET ROLE;

SET ROLE enf_mnd;
-- no request context: denied, naming relation and agency
SELECT personal_id FROM citizen;
SELECT begin_request('military_service');
SELECT personal_id, full_name, birth_date, residence, disclosure_form(phone) AS phone
FROM citizen ORDER BY 1;
-- a denied column is an error naming column, element and purpose
SELECT religion FROM citizen;
SELECT * FROM citizen;
-- an unclassified column too
SELECT note FROM citizen;
-- counting needs no column
SELECT count(*) FROM citizen;
-- a predicate on a masked column sees the masked value: no search by value
SELECT count(*) FROM citizen WHERE full_name = 'Nguyen Van An';
SELECT count(*) FROM citizen WHERE full_name = 'N***** V** A*';
-- a predicate on a fully disclosed column uses its index
EXPLAIN (COSTS OFF) SELECT full_name FROM citizen WHERE personal_id = '079099123456';
SELECT full_name FROM citizen WHERE personal_id = '079099123456';
-- the hidden row cannot be found by its key
SELECT count(*) FROM citizen WHERE personal_id = '001090123458';
-- a whole-row reference reads every column, so it needs every column
SELECT c FROM citizen c;
-- CTEs, recursive and materialized; subqueries, LATERAL, set operations, windows
WITH m AS MATERIALIZED (SELECT full_name FROM citizen) SELECT * FROM m ORDER BY 1;
WITH RECURSIVE r(n, name) AS (SELECT 1, (SELECT min(full_name) FROM citizen)
                              UNION ALL SELECT n + 1, name FROM r WHERE n < 2)
SELECT * FROM r;
SELECT x.full_name FROM (VALUES (1)) v, LATERAL (SELECT full_name FROM citizen ORDER BY 1 LIMIT 1) x;
SELECT full_name FROM citizen UNION SELECT 'other' ORDER BY 1;
SELECT full_name, row_number() OVER (ORDER BY personal_id) FROM citizen ORDER BY 2;
SELECT (SELECT max(full_name) FROM citizen) AS via_sublink;
-- SQL and PL/pgSQL functions, dynamic SQL
CREATE FUNCTION work.names() RETURNS SETOF text LANGUAGE sql AS $$ SELECT full_name FROM public.citizen ORDER BY 1 $$;
CREATE FUNCTION work.names_dyn() RETURNS SETOF text LANGUAGE plpgsql AS
$$ BEGIN RETURN QUERY EXECUTE 'SELECT full_name FROM public.citizen ORDER BY 1'; END $$;
SELECT * FROM work.names();
SELECT * FROM work.names_dyn();
-- views the consumer builds, temporary or not; CREATE TABLE AS keeps masked data
CREATE TEMP VIEW v AS SELECT full_name, residence FROM citizen;
SELECT * FROM v ORDER BY 1;
CREATE TABLE work.copy AS SELECT full_name FROM citizen;
SELECT * FROM work.copy ORDER BY 1;
-- COPY relation TO is rewritten; COPY (query) TO goes through the planner
COPY citizen (personal_id, full_name) TO STDOUT;
COPY (SELECT full_name FROM citizen ORDER BY 1) TO STDOUT;
COPY citizen TO STDOUT;
-- writes, locks and maintenance are refused
INSERT INTO citizen (personal_id, full_name) VALUES ('079099000001', 'x');
UPDATE citizen SET full_name = 'x';
DELETE FROM citizen;
SELECT full_name FROM citizen FOR SHARE;
TRUNCATE citizen;
LOCK citizen IN ACCESS SHARE MODE;
COPY citizen FROM '/dev/null';
ALTER TABLE citizen ADD COLUMN x int;
SECURITY LABEL FOR govshare ON COLUMN citizen.religion IS 'person.full_name';
-- pseudonyms are not computable from SQL
SELECT pseudonym('+84912345678'::phone_number, 'MND');
SELECT pseudonym(phone, 'MND') FROM citizen;
CREATE TABLE work.pseudonyms AS SELECT personal_id, phone FROM citizen;
GRANT SELECT ON work.pseudonyms TO enf_moh;
RESET ROLE;

-- on_denied_column = 'null' (a DBA setting)
ALTER ROLE enf_mnd SET govshare.on_denied_column = 'null';
\c govshare_enforce enf_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service');
SELECT personal_id, religion, note FROM citizen ORDER BY 1;
-- whole-row references are masked as well
SELECT regexp_replace(c::text, '~[0-9A-Z]{12}', '~<pseudonym>') AS c FROM citizen c ORDER BY personal_id;
SELECT regexp_replace(row_to_json(c)::text, '~[0-9A-Z]{12}', '~<pseudonym>') AS json FROM citizen c ORDER BY personal_id;
-- the same pseudonyms in a new session
SELECT count(*) AS same_pseudonyms FROM citizen c JOIN work.pseudonyms p USING (personal_id)
WHERE c.phone = p.phone;
-- a consumer cannot change the setting itself
SET govshare.on_denied_column = 'error';
-- nor become someone else from its own login
SET ROLE enf_staff;
SET SESSION AUTHORIZATION enf_staff;

-- another agency's pseudonyms differ
\c govshare_enforce enf_moh
SET search_path = public, govshare;
SELECT begin_request('health_care');
SELECT count(*) AS rows, count(*) FILTER (WHERE disclosure_form(personal_id) = 'pseudonym') AS pseudonymous
FROM citizen;
SELECT count(*) AS linkable FROM citizen c JOIN work.pseudonyms p ON c.phone = p.phone;
-- its own pseudonyms, as an IN list and an array: one index scan of the
-- values they name (pseudonym_any, pseudonym_values)
SELECT string_agg(quote_literal(personal_id::text), ', ') AS moh_ids
FROM (SELECT personal_id FROM citizen LIMIT 2) c \gset
SET enable_seqscan = off;
SELECT count(*) AS found_by_in_list FROM citizen WHERE personal_id IN (:moh_ids);
SELECT count(*) AS found_by_array FROM citizen WHERE personal_id = ANY (ARRAY[:moh_ids, NULL]::personal_id[]);
RESET enable_seqscan;
-- and the purpose must be one the agency has rules for
SELECT begin_request('military_service');
SELECT count(*) FROM citizen;

-- the context belongs to the role that began it
\c govshare_enforce postgres
SET search_path = public, govshare;
GRANT enf_mnd TO enf_staff;
SET ROLE enf_mnd;
SELECT begin_request('military_service');
SET ROLE enf_staff;   -- a member of a consumer role acts for its agency
SELECT count(*) FROM citizen;
RESET ROLE;
REVOKE enf_mnd FROM enf_staff;
-- a consumer's login stays a consumer after SET ROLE to an internal role it belongs to
GRANT enf_staff TO enf_mnd;
\c govshare_enforce enf_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service');
SET ROLE enf_staff;
SELECT count(*) FROM citizen;
SELECT begin_request('military_service');   -- an internal role's context is self's
SELECT count(*) FROM citizen;
RESET ROLE;
\c govshare_enforce postgres
SET search_path = public, govshare;
REVOKE enf_staff FROM enf_mnd;

-- what a consumer's own login may not count or copy (issue 15): SQL
-- functions are not inlined past the enforcement; EXPLAIN shows no counts
-- or estimates; no activity statistics; no materialized view over
-- governed data, which check_setup() reports
CREATE VIEW citizen_names AS SELECT personal_id, full_name FROM citizen;
CREATE FUNCTION names_srf() RETURNS TABLE (personal_id personal_id, full_name text)
LANGUAGE sql STABLE AS $$ SELECT personal_id, full_name FROM citizen_names $$;
CREATE MATERIALIZED VIEW citizen_copy AS SELECT personal_id, full_name FROM citizen;
GRANT SELECT ON citizen_names, citizen_copy TO enf_mnd;
SELECT severity, object, problem FROM check_setup() WHERE object LIKE '%citizen_copy%';
SELECT reads_governed('citizen_copy'), reads_governed('citizen_names'), reads_governed('citizen');
\c govshare_enforce enf_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service');
SELECT * FROM names_srf() ORDER BY 1;
SELECT (SELECT count(*) FROM citizen) AS n, f.* FROM names_srf() f ORDER BY 2;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT 1 FROM citizen WHERE personal_id = '001090123458';
EXPLAIN SELECT 1 FROM citizen_names;
EXPLAIN (COSTS OFF) SELECT 1 FROM citizen WHERE personal_id = '001090123458';
SELECT count(*) FROM citizen WHERE personal_id = '001090123458';
SELECT pg_stat_get_xact_tuples_returned('citizen_pkey'::regclass);
SELECT relname, n_live_tup FROM pg_stat_user_tables;
SELECT * FROM citizen_copy;
\c govshare_enforce postgres
SET search_path = public, govshare;
DROP MATERIALIZED VIEW citizen_copy;
DROP FUNCTION names_srf();
DROP VIEW citizen_names;

-- revocation takes effect at the next statement, prepared ones included
SET ROLE enf_mnd;
SELECT begin_request('military_service');
PREPARE by_id AS SELECT personal_id, full_name FROM citizen WHERE personal_id = '079099123456';
EXECUTE by_id;
-- a PL/pgSQL function's cached plan too
CREATE FUNCTION work.first_id() RETURNS text LANGUAGE plpgsql AS
$$ BEGIN RETURN (SELECT min(personal_id::text) FROM public.citizen); END $$;
SELECT work.first_id();
RESET ROLE;
SELECT revoke(1, 'identity no longer needed');
SET ROLE enf_mnd;
\set VERBOSITY terse
EXECUTE by_id;
SELECT personal_id FROM citizen ORDER BY 1;
SELECT work.first_id();
\set VERBOSITY default
-- an open cursor does not outlive a change of context
BEGIN;
DECLARE cur CURSOR FOR SELECT full_name FROM citizen ORDER BY 1;
FETCH 1 FROM cur;
SELECT begin_request('military_service');
FETCH 1 FROM cur;
ROLLBACK;
SELECT end_request();
EXECUTE by_id;
-- a plan made in a request serves the next request alike, never a
-- statement run with no request
SELECT begin_request('military_service');
PREPARE names AS SELECT full_name FROM citizen ORDER BY 1 LIMIT 1;
EXECUTE names;
CREATE FUNCTION work.first_name() RETURNS text LANGUAGE plpgsql AS
$$ BEGIN RETURN (SELECT min(full_name) FROM public.citizen); END $$;
SELECT work.first_name();
SELECT end_request();
EXECUTE names;
SELECT work.first_name();
SELECT begin_request('military_service');
EXECUTE names;
SELECT work.first_name();
SELECT end_request();
DEALLOCATE names;
DROP FUNCTION work.first_name();
-- a request begun while the statement is planned: the plan fits no context
CREATE FUNCTION work.begin_again() RETURNS text LANGUAGE plpgsql STABLE AS
$$ BEGIN PERFORM govshare.begin_request('military_service'); RETURN ''; END $$;
SELECT begin_request('military_service');
SELECT full_name FROM citizen WHERE full_name <> work.begin_again();
SELECT end_request();
DROP FUNCTION work.begin_again();
RESET ROLE;

-- partitions: through the parent and directly
CREATE TABLE resident (personal_id personal_id, province int, full_name text) PARTITION BY LIST (province);
CREATE TABLE resident_79 PARTITION OF resident FOR VALUES IN (79);
CREATE TABLE resident_01 (full_name text, personal_id personal_id, province int);
ALTER TABLE resident ATTACH PARTITION resident_01 FOR VALUES IN (1);
INSERT INTO resident VALUES ('079099123456', 79, 'Nguyen Van An'), ('001090123458', 1, 'Le Van Cuong HIDDEN');
SELECT classify('resident', 'personal_id', 'person.personal_id'),
       classify('resident', 'full_name', 'person.full_name'),
       govern('resident');
SELECT share('MND', '{military_service}', '{person.full_name}', 'masked', relation => 'resident',
             row_filter => 'province = 79') AS r6;
SET ROLE enf_mnd;
SELECT begin_request('military_service');
SELECT full_name FROM resident;
SELECT full_name FROM resident_79;
SELECT full_name FROM resident_01;
SELECT * FROM resident;   -- province is not classified
SELECT full_name FROM resident WHERE province = 1;
RESET ROLE;

-- a rule's end applies to plans made before it: a prepared statement
-- planned while the rule held is planned again once it has expired
SELECT share('MND', '{military_service}', '{person.personal_id}', 'full', relation => 'resident',
             valid_until => clock_timestamp() + interval '5 seconds') AS r7;
SET ROLE enf_mnd;
PREPARE ids AS SELECT count(personal_id) FROM resident;
EXECUTE ids;
SELECT pg_sleep(5.5);
\set VERBOSITY terse
EXECUTE ids;
\set VERBOSITY default
RESET ROLE;

-- parallel query: workers run the leader's enforced plan
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
-- (force_parallel_mode is debug_parallel_query from PostgreSQL 16)
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS parallel_setting \gset
SET :parallel_setting = on;
SELECT count(*) FROM citizen;
SET ROLE enf_mnd;
SELECT begin_request('military_service');
SELECT count(*), max(full_name), count(DISTINCT phone) AS phones FROM citizen;
RESET ROLE;
RESET :parallel_setting;

\c postgres
DROP DATABASE govshare_enforce;
DROP ROLE enf_mnd, enf_moh, enf_staff;
