-- The audit of access to governed data: what a consumer's statements leave
-- in govshare.access_log (strict and async), denials, errors and
-- rollbacks, internal reads of sensitive data, data subjects, the guards,
-- the auditors' views, verification and signed checkpoints.
\set VERBOSITY terse
CREATE DATABASE govshare_audit;
\c govshare_audit
SET client_min_messages = warning;
CREATE EXTENSION govshare;
SET search_path = public, govshare;

CREATE TABLE citizen (
    personal_id personal_id PRIMARY KEY,
    full_name   text NOT NULL,
    residence   admin_unit,
    phone       phone_number,
    religion    text,
    note        text
);
INSERT INTO citizen VALUES
    ('001090123456', 'Nguyen Van An', '2025:01', '0912345678', 'none', 'a'),
    ('079199012345', 'Tran Thi Binh', '2025:79', '0912345679', 'buddhist', 'b'),
    ('079200012345', 'Le Van Cuong', '2025:79', '0912345670', NULL, 'c'),
    ('048085000001', 'Pham Thi Dung', '2025:48', '0987654321', 'catholic', 'd');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'residence', 'person.permanent_residence_unit'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'religion', 'person.religion'),
       govern('citizen');
CREATE TABLE ledger (n int);      -- not governed: never recorded
INSERT INTO ledger VALUES (1);

SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Call-up', 'Law on Military Service 78/2015/QH13');
CREATE ROLE aud_mnd LOGIN;
CREATE ROLE aud_inspector LOGIN IN ROLE govshare_auditor;
GRANT SELECT ON ledger TO aud_mnd;
SELECT bind_role('aud_mnd', 'MND');
SELECT bind_officer('aud_mnd', 'Lt. Nguyen Van An');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'masked',
             legal_basis => 'Decree 13/2016/ND-CP, art. 5') AS rule_masked;
SELECT share('MND', '{military_service}', '{person.phone}', 'full', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79''',
             legal_basis => 'Law on Military Service 78/2015/QH13, art. 33') AS rule_phone;

-- what one statement left: the rows after seq :mark, without times and hashes
CREATE FUNCTION log_since(after bigint)
RETURNS TABLE (seq bigint, kind text, outcome text, internal boolean, agency text,
               role_name text, officer text, purpose text, reference text,
               columns text[], levels text[], rule_ids bigint[], rows bigint,
               subjects text[], subject_count bigint, overflow boolean, reason text,
               statement text)
LANGUAGE sql AS $$
    SELECT seq - after, kind, outcome, internal, agency, role_name, officer, purpose, reference,
           columns, levels, rule_ids, rows,
           ARRAY(SELECT s FROM unnest(subjects) s ORDER BY s), subject_count, subject_overflow,
           reason, left(statement_text, 60)
      FROM govshare.access_log WHERE seq > after ORDER BY seq
$$;
SELECT 0 AS mark \gset

-- 1. a consumer's read under strict audit: an access row before the rows,
--    a result row after them, with the data subjects of the rows read
\c govshare_audit aud_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service', officer => 'Lt. Nguyen Van An', reference => 'Order 2026/12');
SELECT personal_id, full_name, phone FROM citizen ORDER BY personal_id;
SELECT n FROM ledger;
SELECT audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;
SELECT * FROM log_since(:mark);
SELECT max(seq) AS mark FROM access_log \gset

-- 2. denials are recorded although their statements fail: a denied column,
--    no request context, a write
\c govshare_audit aud_mnd
SET search_path = public, govshare;
SELECT religion FROM citizen;
SELECT begin_request('military_service', reference => 'Order 2026/13');
SELECT religion FROM citizen;
UPDATE citizen SET note = 'x';
BEGIN;
SELECT full_name FROM citizen WHERE personal_id = '001090123456';
ROLLBACK;
SELECT end_request();
SELECT count(*) FROM citizen;
SELECT audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;
SELECT seq, kind, outcome, agency, purpose, reference, columns, levels, reason
  FROM log_since(:mark);
SELECT max(seq) AS mark FROM access_log \gset

-- 3. a statement that fails after it started, a rolled-back savepoint,
--    a cursor, a prepared statement, COPY: one access row each
\c govshare_audit aud_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service', reference => 'Order 2026/14');
SELECT length(full_name) / (length(phone::text) - length(phone::text)) FROM citizen;
BEGIN;
SAVEPOINT s;
SELECT full_name, 1 / (length(full_name) - length(full_name)) AS boom FROM citizen;
ROLLBACK TO SAVEPOINT s;
DECLARE c CURSOR FOR SELECT full_name FROM citizen ORDER BY personal_id;
FETCH 2 FROM c;
FETCH 1 FROM c;
CLOSE c;
COMMIT;
-- a cursor opened in a released savepoint outlives a later rolled-back one
BEGIN;
SAVEPOINT a;
DECLARE c2 CURSOR FOR SELECT full_name FROM citizen ORDER BY personal_id;
RELEASE SAVEPOINT a;
SAVEPOINT b;
SELECT 1 / (length(full_name) - length(full_name)) FROM citizen;
ROLLBACK TO SAVEPOINT b;
FETCH ALL FROM c2;
COMMIT;
PREPARE q(personal_id) AS SELECT phone FROM citizen WHERE personal_id = $1;
EXECUTE q('079199012345');
EXECUTE q('001090123456');
COPY citizen (full_name) TO STDOUT;
SELECT audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;
SELECT seq, kind, outcome, rows, subject_count, subjects, reason, statement
  FROM log_since(:mark);
-- the view gives one row per statement, with the result merged in
SELECT outcome, rows, subject_count, left(statement_text, 40) AS statement
  FROM audit_access WHERE seq > :mark ORDER BY seq;
-- statement ids are version-7 UUIDs: the time in milliseconds first, so
-- that one session's ids ascend with its statements and the writer appends
-- to the statement_id index at its right edge
SELECT count(*) AS records,
       bool_and(substr(statement_id::text, 15, 1) = '7') AS version_7,
       bool_and(substr(statement_id::text, 20, 1) IN ('8', '9', 'a', 'b')) AS variant,
       bool_and(abs(extract(epoch FROM stmt_time) * 1000
                    - ('x' || replace(left(statement_id::text, 13), '-', ''))::bit(48)::bigint) < 1000) AS time_first,
       bool_and(ascending) AS ascending
  FROM (SELECT statement_id, stmt_time,
               coalesce(statement_id > lag(statement_id) OVER (ORDER BY seq), true) AS ascending
          FROM access_log WHERE seq > :mark AND kind = 'access') a;
SELECT max(seq) AS mark FROM access_log \gset

-- 4. internal reads: sensitive ones are recorded (audit_internal = sensitive)
SELECT full_name FROM citizen WHERE personal_id = '001090123456';
SELECT religion FROM citizen WHERE personal_id = '001090123456';
SET govshare.audit_internal = 'all';
SELECT full_name FROM citizen WHERE personal_id = '001090123456';
SET govshare.audit_internal = 'none';
SELECT religion FROM citizen WHERE personal_id = '001090123456';
RESET govshare.audit_internal;
-- COPY of a table (pg_dump's way) reads it too
COPY citizen (personal_id, religion) TO STDOUT;
COPY citizen (personal_id, full_name) TO STDOUT;
SELECT audit_flush();
SELECT seq, kind, internal, agency, role_name, columns, levels, rows, statement
  FROM log_since(:mark);
SELECT max(seq) AS mark FROM access_log \gset

-- 5. settings: async (one row per statement), no statement text, a subject limit
ALTER ROLE aud_mnd SET govshare.audit_mode = 'async';
ALTER ROLE aud_mnd SET govshare.audit_statement_text = off;
ALTER ROLE aud_mnd SET govshare.audit_subject_limit = 2;
\c govshare_audit aud_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service');
SELECT count(*) FROM citizen;
SET govshare.audit_mode = 'strict';   -- superuser only
SELECT audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;
ALTER ROLE aud_mnd RESET ALL;
SELECT seq, kind, outcome, rows, subject_count, overflow, cardinality(subjects) AS listed,
       statement IS NULL AS no_text
  FROM log_since(:mark);
SELECT statement_sha256 = sha256(''::bytea) AS hashed_not_empty, length(statement_sha256)
  FROM access_log WHERE seq = :mark + 1;
-- a statement's text is kept up to govshare.audit_text_max (4 kB); its hash covers all of it
SELECT repeat('x', 70000) AS long \gset
\c govshare_audit aud_mnd
SELECT govshare.begin_request('military_service');
SELECT count(*) FROM citizen WHERE full_name <> :'long';
SELECT govshare.audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;
SELECT length(statement_text) AS kept,
       statement_sha256 = sha256(convert_to('SELECT count(*) FROM citizen WHERE full_name <> '''
                                            || :'long' || ''';', 'UTF8')) AS hash_of_all
  FROM access_log WHERE seq = (SELECT max(seq) FROM access_log WHERE kind = 'access');

-- a request refused when it begins is a denial too: a purpose never
-- declared, and one without an agreement, each with its reference
SELECT govshare.add_purpose('tax_audit', 'Tax audit', 'Law on Tax Administration 38/2019/QH14') IS NULL AS added;
\c govshare_audit aud_mnd
SELECT govshare.begin_request('no_such_purpose', reference => 'Order 2026/15');
SELECT govshare.begin_request('tax_audit', reference => 'Order 2026/16');
SELECT govshare.audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;

SELECT max(seq) AS mark FROM access_log \gset

-- 6. the log is append-only for everyone, superuser and owner included
UPDATE access_log SET agency = 'XXX' WHERE seq = 1;
DELETE FROM access_log WHERE seq = 1;
TRUNCATE access_log;
INSERT INTO access_log SELECT * FROM access_log WHERE seq = 1;
-- nobody else reads it directly; auditors read it and the views
\c govshare_audit aud_mnd
SELECT count(*) FROM govshare.access_log;
SELECT count(*) FROM govshare.audit_access;
SELECT govshare.audit_subject('001090123456');
\c govshare_audit aud_inspector
SET search_path = public, govshare;
SELECT count(*) > 0 AS reads_log FROM access_log;
SELECT count(*) FROM citizen;
SELECT agency, purpose, element, statements, rows, denied FROM audit_by_agency ORDER BY element;
SELECT agency, purpose, reference, reason FROM audit_denied ORDER BY seq;
SELECT internal, role_name, columns FROM audit_sensitive ORDER BY seq;
SELECT agency, officer, purpose, reference, elements, legal_bases, outcome
  FROM subject_access('079199012345') LIMIT 3;
SELECT count(*) FROM subject_access('001090123457');
-- it finds the person through the data subjects' index, which compares
-- ids byte by byte whatever the database's collation (the query has to
-- name that collation, or the index is not used)
SET enable_seqscan = off;
DO $$
DECLARE
	l text;
	found boolean := false;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) SELECT * FROM subject_access(''079199012345'')' LOOP
		found := found OR l ~ 'Index.* on access_log_subjects';
	END LOOP;
	RAISE NOTICE 'subject_access() by the index of data subjects: %', found;
END
$$;
RESET enable_seqscan;

-- 7. verification: every hash recomputes from the documented encoding
-- a prepared statement's parameters are kept in its record's detail
-- (member "params", apart from the statement text), beside what it cost
-- ("usage"); the detail is jsonb's own text of it, which the chain covers
-- (verify_log below recomputes each hash from detail::text)
SELECT max(seq) AS mark FROM access_log \gset
\c govshare_audit postgres
ALTER ROLE aud_mnd SET govshare.audit_mode = 'async';
\c govshare_audit aud_mnd
SELECT govshare.begin_request('military_service');
PREPARE named(text, text, text) AS
  SELECT count(*) FROM citizen WHERE full_name IN ($1, $2, $3);
EXECUTE named(E'a "quoted" name, a \\ and a\nnew line', 'Nguyễn Văn An', NULL);
EXECUTE named('{"params": 1, "usage": [1, 2]}', '', E'\t');
SELECT govshare.audit_flush();
\c govshare_audit postgres
ALTER ROLE aud_mnd RESET ALL;
\c govshare_audit aud_mnd
SELECT govshare.begin_request('military_service');
PREPARE named(text, text, text) AS
  SELECT count(*) FROM citizen WHERE full_name IN ($1, $2, $3);
EXECUTE named('a', 'b', 'c');
SELECT govshare.audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;
SELECT seq - :mark AS n, kind, (detail - 'usage')::text AS detail, detail->'usage' ?& ARRAY['bytes', 'time_ms'] AS usage
  FROM access_log WHERE seq > :mark ORDER BY seq;
\c govshare_audit aud_inspector
SET search_path = public, govshare;

SELECT ok, checked = last_seq AS all_checked, first_bad_seq, problem FROM verify_log();
SELECT count(*) FILTER (WHERE hash = sha256(prev_hash || audit_canonical(l))) = count(*) AS recomputed,
       count(*) FILTER (WHERE hmac_key_id IS NOT NULL) AS keyed
  FROM access_log l;
SELECT encode(substr(audit_canonical(l), 1, 5), 'escape') AS tag FROM access_log l WHERE seq = 1;
SELECT ok, checked FROM verify_log(3, 5);
SELECT ok, first_bad_seq - (SELECT max(seq) FROM access_log) AS past_the_end,
       problem ~ '^The log ends at seq' AS says_so
  FROM verify_log(1, 100000);

-- 8. signed checkpoints
\c govshare_audit postgres
SET search_path = public, govshare;
-- the key file (govshare.signing_key_file) holds the self agency's key;
-- its public key must be registered before checkpoints are signed
SELECT checkpoint();
SELECT pg_read_file(current_setting('govshare.signing_key_file') || '.pub') AS mps_public \gset
SELECT add_agency_key('MPS', :'mps_public') IS NOT NULL AS registered;
SELECT checkpoint() AS cp \gset
SELECT (:'cp'::jsonb) ->> 'agency' AS agency, ((:'cp'::jsonb) ->> 'seq')::bigint = max(seq) AS covers_log,
       (:'cp'::jsonb) ->> 'hash' = encode((SELECT hash FROM access_log ORDER BY seq DESC LIMIT 1), 'hex') AS hash
  FROM access_log;
SELECT ok, problem FROM verify_log(:'cp'::jsonb);
-- only the signed part counts; a changed signature or payload does not verify
SELECT ok, problem FROM verify_log(jsonb_set(:'cp'::jsonb, '{seq}', '1'));
SELECT ok, problem FROM verify_log(jsonb_set(:'cp'::jsonb, '{jws}',
       to_jsonb(regexp_replace((:'cp'::jsonb) ->> 'jws', '\.(.)', '.A'))));
SELECT ok, problem FROM verify_log('{"jws": "x.y.z", "kid": "nope"}'::jsonb);
SELECT ok, problem FROM verify_log('{}'::jsonb);
-- records written after the checkpoint do not break it
\c govshare_audit aud_mnd
SELECT govshare.begin_request('military_service');
SELECT count(*) FROM citizen;
SELECT govshare.audit_flush();
\c govshare_audit postgres
SET search_path = public, govshare;
SELECT ok, problem FROM verify_log(:'cp'::jsonb);
-- without a key file there is no checkpoint
ALTER SYSTEM SET govshare.signing_key_file = '';
SELECT pg_reload_conf();
SELECT pg_sleep(0.2);
SELECT checkpoint();
ALTER SYSTEM RESET govshare.signing_key_file;
SELECT pg_reload_conf();

-- check_setup tells a DBA what the audit lacks
SET govshare.audit_mode = 'off';
SELECT severity, object, problem FROM check_setup() WHERE object IN ('govshare.audit_mode', 'agency MPS');
RESET govshare.audit_mode;
SELECT count(*) FROM check_setup() WHERE object IN ('govshare.audit_mode', 'agency MPS');

-- a consumer's DROP DATABASE fails, and does not stop the writer either
SELECT writer_pid AS writer FROM audit_status() WHERE database = 'govshare_audit' \gset
\c postgres aud_mnd
DROP DATABASE govshare_audit;
\c govshare_audit postgres
SET search_path = public, govshare;
SELECT writer_pid = :writer AS same_writer FROM audit_status() WHERE database = 'govshare_audit';

-- the writer of this database, and DROP DATABASE stopping it
SELECT database, writer_pid IS NOT NULL AS has_writer, queued_bytes, last_error
  FROM audit_status() WHERE database = 'govshare_audit';
-- a dropped and re-created extension starts a new chain at seq 1
DROP EXTENSION govshare CASCADE;
CREATE EXTENSION govshare;
CREATE TABLE t (personal_id govshare.personal_id, full_name text);
INSERT INTO t VALUES ('001090123456', 'Nguyen Van An');
SELECT govshare.classify('t', 'personal_id', 'person.personal_id'),
       govshare.classify('t', 'full_name', 'person.full_name'), govshare.govern('t'),
       govshare.add_agency('MPS', 'Ministry of Public Security', is_self => true),
       govshare.add_agency('MND', 'Ministry of National Defence'),
       govshare.add_purpose('military_service', 'Call-up', 'Law 78/2015/QH13'),
       govshare.bind_role('aud_mnd', 'MND'),
       govshare.share('MND', '{military_service}', '{person.*}', 'full') AS rule;
GRANT USAGE ON SCHEMA public TO aud_mnd;
\c govshare_audit aud_mnd
SELECT govshare.begin_request('military_service');
SELECT full_name FROM t;
SELECT govshare.audit_flush();
\c govshare_audit postgres
SELECT min(seq), max(seq), (SELECT ok FROM govshare.verify_log()) FROM govshare.access_log;

\c postgres
DROP DATABASE govshare_audit;
DROP ROLE aud_mnd, aud_inspector;
