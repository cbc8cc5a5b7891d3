-- test/adversarial/attacks.sql — a consumer agency tries to read what its
-- agreement does not give it.  Every case is one pgTAP assertion that fails
-- if a secret shows anywhere: in rows, notices captured by its own
-- functions, error messages, EXPLAIN, COPY output, statistics or locks.
-- docs/security.md lists the cases with what stops each.
--
-- The secrets: every real identity number, name, phone number and religion
-- (the consumer sees them masked, as pseudonyms, or not at all) and all of
-- the row in province 01 (the consumer's rules cover province 79 only).
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
BEGIN;
SELECT no_plan();
SET LOCAL search_path = public, govshare;

-- the provider: a governed table, an agreement, statistics
CREATE TABLE citizen (
    personal_id personal_id PRIMARY KEY,
    full_name   text NOT NULL,
    birth_date  partial_date,
    residence   admin_unit,
    phone       phone_number,
    religion    text
);
INSERT INTO citizen VALUES
 ('079099123456', 'Nguyen Van An', '1999-05-14', '2025:79', '+84912345678', 'SECRETFAITH A'),
 ('079301123457', 'Tran Thi Binh', '2001-02', '2025:79', '+84912345679', 'SECRETFAITH B'),
 ('001090123458', 'Le Van Cuong HIDDEN', '1990-01', '2025:01', '+84912345670', 'SECRETFAITH C');
INSERT INTO citizen
SELECT format('079%s99%s', i % 2, lpad(i::text, 6, '0'))::personal_id, 'Filler HIDDEN ' || i, NULL,
       '2025:01', NULL, 'SECRETFAITH'
FROM generate_series(1, 300) i;
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'birth_date', 'person.date_of_birth'),
       classify('citizen', 'residence', 'person.permanent_residence_unit'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'religion', 'person.religion'),
       govern('citizen');
CREATE STATISTICS citizen_stats (mcv) ON full_name, religion FROM citizen;
ANALYZE citizen;
SELECT add_agency('ADV_SELF', 'Provider', is_self => true),
       add_agency('ADV_MND', 'Consumer'),
       add_purpose('adv_purpose', 'Tests', 'Test law');
CREATE ROLE adv_mnd;
CREATE ROLE adv_mnd_clerk IN ROLE adv_mnd;
CREATE ROLE adv_staff;          -- an internal role with privileges
GRANT SELECT ON citizen TO adv_staff;
SELECT bind_role('adv_mnd', 'ADV_MND');
SELECT share('ADV_MND', '{adv_purpose}', '{person.personal_id, person.full_name}', 'masked',
             relation => 'citizen', row_filter => 'admin_unit_province_code(residence) = ''79''');
SELECT share('ADV_MND', '{adv_purpose}', '{person.phone}', 'pseudonym',
             relation => 'citizen', row_filter => 'admin_unit_province_code(residence) = ''79''');
SELECT share('ADV_MND', '{adv_purpose}', '{person.date_of_birth, person.permanent_residence_unit}',
             'generalized', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79''');
-- the provider's own views, one of them security_invoker
CREATE VIEW provider_view AS SELECT personal_id, full_name FROM citizen;
CREATE VIEW provider_invoker WITH (security_invoker) AS SELECT personal_id, full_name FROM citizen;
GRANT SELECT ON provider_view, provider_invoker TO adv_mnd;
-- partitions
CREATE TABLE resident (personal_id personal_id, province int, full_name text) PARTITION BY LIST (province);
CREATE TABLE resident_79 PARTITION OF resident FOR VALUES IN (79);
CREATE TABLE resident_01 PARTITION OF resident FOR VALUES IN (1);
INSERT INTO resident VALUES ('079099123456', 79, 'Nguyen Van An'), ('001090123458', 1, 'Le Van Cuong HIDDEN');
SELECT classify('resident', 'full_name', 'person.full_name'), govern('resident');
SELECT share('ADV_MND', '{adv_purpose}', '{person.full_name}', 'masked', relation => 'resident',
             row_filter => 'province = 79');

-- the tools of the test: what is a secret, and a way to run SQL and keep
-- its rows or its error (message, detail and hint) as text
CREATE SCHEMA adv;
GRANT USAGE ON SCHEMA adv TO PUBLIC;
CREATE FUNCTION adv.leaks(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(t, '') ~ '(HIDDEN|SECRETFAITH|Nguyen|Binh|Cuong|079099123456|079301123457|001090123458|912345678|912345679|912345670)'
$$;
CREATE FUNCTION adv.rows(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text := ''; line text; m text; d text; h text;
BEGIN
  IF q ~* '^\s*explain' THEN
    FOR line IN EXECUTE q LOOP r := r || line || E'\n'; END LOOP;
    RETURN r;
  END IF;
  EXECUTE format('SELECT coalesce(string_agg(x::text, E''\n''), '''') FROM (%s) x', q) INTO r;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN 'ERROR: ' || m || ' / ' || coalesce(d, '') || ' / ' || coalesce(h, '');
END $$;
CREATE FUNCTION adv.run(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text; h text;
BEGIN
  EXECUTE q;
  RETURN 'OK';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN 'ERROR: ' || m || ' / ' || coalesce(d, '') || ' / ' || coalesce(h, '');
END $$;
CREATE FUNCTION adv.refused(out_ text) RETURNS boolean LANGUAGE sql AS $$
  SELECT out_ LIKE 'ERROR:%' AND NOT adv.leaks(out_)
$$;

-- the consumer's own schema, and a table its functions write what they see to
CREATE SCHEMA mnd AUTHORIZATION adv_mnd;
SET LOCAL ROLE adv_mnd;
SET LOCAL search_path = mnd, public, govshare;
CREATE TABLE mnd.seen (v text);
CREATE FUNCTION mnd.peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN INSERT INTO mnd.seen VALUES ($1); RAISE NOTICE 'peek: %', $1; RETURN true; END $$;
CREATE FUNCTION mnd.peek_id(personal_id, personal_id) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN INSERT INTO mnd.seen VALUES ($1::text), ($2::text); RETURN true; END $$;
SET LOCAL client_min_messages = warning;

-- 1. no request context at all
SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen')), '01 no request context: refused');
SELECT begin_request('adv_purpose');
-- 2-4. plain reads
SELECT ok(NOT adv.leaks(adv.rows('SELECT personal_id, full_name, birth_date, residence, phone FROM citizen')),
          '02 SELECT of granted columns: masked, pseudonymous, generalized, filtered');
SELECT ok(adv.refused(adv.rows('SELECT * FROM citizen')), '03 SELECT * with a denied column: refused');
SELECT ok(adv.refused(adv.rows('TABLE citizen')), '04 TABLE citizen: refused');
-- 5-7. inference by search
SELECT is(adv.rows('SELECT count(*) FROM citizen WHERE full_name = ''Nguyen Van An'''), '(0)',
          '05 WHERE on a masked column with the real value finds nothing');
SELECT is(adv.rows('SELECT count(*) FROM citizen WHERE personal_id = ''001090123458'''), '(0)',
          '06 WHERE on the key of a filtered row finds nothing');
SELECT is(adv.rows('SELECT count(*) FROM citizen'), '(2)', '07 count(*) counts visible rows only');
-- 8-12. leaky functions and operators
SELECT adv.rows('SELECT 1 FROM citizen WHERE mnd.peek(full_name)');
SELECT adv.rows('SELECT 1 FROM citizen WHERE mnd.peek(religion::text)');
SELECT adv.rows('SELECT 1 FROM citizen c JOIN (VALUES (1)) v(x) ON mnd.peek(c.full_name)');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)) AND EXISTS (SELECT FROM mnd.seen),
          '08 leaky function in WHERE and JOIN sees masked values of visible rows only');
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT mnd.peek(full_name) FROM citizen');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)), '09 leaky function in the select list');
CREATE OPERATOR mnd.<<< (LEFTARG = personal_id, RIGHTARG = personal_id, FUNCTION = mnd.peek_id,
                         RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT 1 FROM citizen WHERE personal_id OPERATOR(mnd.<<<) ''079000000000''');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)),
          '10 leaky operator with a selectivity estimator (statistics) sees nothing secret');
CREATE DOMAIN mnd.id_peek AS personal_id CHECK (mnd.peek(VALUE::text));
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT personal_id::mnd.id_peek FROM citizen');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)), '11 domain over a govshare type with a leaky check');
SELECT ok(adv.refused(adv.run('CREATE FUNCTION mnd.lp(text) RETURNS boolean LANGUAGE sql LEAKPROOF AS $f$ SELECT mnd.peek($1) $f$')),
          '12 CREATE FUNCTION ... LEAKPROOF needs a superuser');
SELECT ok(adv.refused(adv.run('ALTER FUNCTION mnd.peek(text) LEAKPROOF')), '13 ALTER FUNCTION ... LEAKPROOF needs a superuser');
SELECT ok(adv.refused(adv.run('CREATE CAST (personal_id AS text) WITH INOUT AS IMPLICIT')),
          '14 CREATE CAST from a govshare type needs its owner');
-- 15-16. search_path shadowing
CREATE FUNCTION mnd.mask(text) RETURNS text LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION mnd.mask(personal_id) RETURNS personal_id LANGUAGE sql AS $$ SELECT $1 $$;
SELECT ok(NOT adv.leaks(adv.rows('SELECT personal_id, full_name FROM citizen')),
          '15 shadowing govshare.mask on the search_path changes nothing');
CREATE FUNCTION mnd.eq_leak(personal_id, personal_id) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO mnd.seen VALUES ($1::text); RETURN $1::text = $2::text; END $$;
CREATE OPERATOR mnd.= (LEFTARG = personal_id, RIGHTARG = personal_id, FUNCTION = mnd.eq_leak);
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT 1 FROM citizen WHERE personal_id = ''079099123456''');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)), '16 shadowing the = operator on the search_path');
-- 17-22. views, tables built from reads
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM provider_view')), '17 the provider''s view');
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM provider_invoker')), '18 the provider''s security_invoker view');
CREATE VIEW mnd.v AS SELECT personal_id, full_name FROM public.citizen;
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM mnd.v')), '19 a view of the consumer''s own');
CREATE TEMP VIEW tv AS SELECT personal_id, full_name FROM public.citizen;
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM tv')), '20 a temporary view');
CREATE TABLE mnd.ctas AS SELECT personal_id, full_name, phone FROM citizen;
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM mnd.ctas')), '21 CREATE TABLE AS');
SELECT personal_id, full_name INTO mnd.si FROM citizen;
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM mnd.si')), '22 SELECT INTO');
-- 23-27. query shapes
SELECT ok(NOT adv.leaks(adv.rows('WITH RECURSIVE r(n, x) AS (SELECT 1, full_name FROM citizen UNION ALL SELECT n + 1, x FROM r WHERE n < 3) SELECT * FROM r')),
          '23 recursive CTE');
SELECT ok(NOT adv.leaks(adv.rows('WITH m AS MATERIALIZED (SELECT * FROM provider_view) SELECT * FROM m')),
          '24 materialized CTE over a view');
SELECT ok(NOT adv.leaks(adv.rows('SELECT x FROM (VALUES (1)) v, LATERAL (SELECT full_name AS x FROM citizen) s')),
          '25 LATERAL subquery');
SELECT ok(NOT adv.leaks(adv.rows('SELECT full_name FROM citizen UNION ALL SELECT full_name FROM resident')),
          '26 set operation over two governed relations');
SELECT ok(NOT adv.leaks(adv.rows('SELECT to_jsonb(c) FROM (SELECT personal_id, full_name, phone FROM citizen) c')),
          '27 whole-row value of a subquery as JSON');
SELECT ok(adv.refused(adv.rows('SELECT row_to_json(c) FROM citizen c')), '28 whole-row reference needs the denied column: refused');
SELECT ok(adv.refused(adv.rows('SELECT ctid, xmin FROM citizen')), '29 system columns: refused');
-- 30-31. partitions
SELECT ok(NOT adv.leaks(adv.rows('SELECT full_name FROM resident')), '30 partitioned table through its parent');
SELECT is(adv.rows('SELECT count(*) FROM resident_01'), '(0)', '31 the partition outside the filter, directly');
-- 32-34. functions
CREATE FUNCTION mnd.f_sql() RETURNS SETOF text LANGUAGE sql AS $$ SELECT full_name FROM public.citizen $$;
CREATE FUNCTION mnd.f_dyn() RETURNS SETOF text LANGUAGE plpgsql AS
$$ BEGIN RETURN QUERY EXECUTE 'SELECT full_name FROM public.citizen'; END $$;
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM mnd.f_sql()')), '32 SQL function');
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM mnd.f_dyn()')), '33 PL/pgSQL dynamic SQL');
CREATE FUNCTION mnd.f_inline(text) RETURNS boolean LANGUAGE sql AS $$ SELECT mnd.peek($1) $$;
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT 1 FROM citizen WHERE mnd.f_inline(full_name)');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)), '34 inlined SQL function wrapping a leak');
-- 35-39. writes and maintenance
SELECT ok(adv.refused(adv.run('UPDATE citizen SET full_name = full_name RETURNING full_name')), '35 UPDATE ... RETURNING: refused');
SELECT ok(adv.refused(adv.run('DELETE FROM citizen WHERE false')), '36 DELETE: refused');
SELECT ok(adv.refused(adv.run('MERGE INTO citizen c USING (VALUES (1)) v(x) ON false WHEN NOT MATCHED THEN DO NOTHING')),
          '37 MERGE into a governed table: refused');
SELECT ok(adv.refused(adv.run('TRUNCATE citizen')), '38 TRUNCATE: refused');
SELECT ok(adv.refused(adv.run('LOCK citizen')), '39 LOCK: refused');
SELECT ok(adv.refused(adv.run('SECURITY LABEL FOR govshare ON TABLE mnd.seen IS ''governed''')), '40 SECURITY LABEL: refused');
SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen FOR UPDATE')), '41 SELECT ... FOR UPDATE: refused');
CREATE TABLE mnd.mine (v text);
SELECT is(adv.run('MERGE INTO mnd.mine m USING citizen c ON false WHEN NOT MATCHED THEN INSERT VALUES (c.full_name)'), 'OK',
          '42a MERGE from a governed table into the consumer''s own runs');
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM mnd.mine')), '42 ... and keeps masked values only');
-- 43-46. EXPLAIN, errors
SELECT ok(NOT adv.leaks(adv.rows('EXPLAIN (VERBOSE) SELECT * FROM provider_view WHERE full_name > ''A''')), '43 EXPLAIN VERBOSE');
SELECT ok(NOT adv.leaks(adv.rows('EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF) SELECT personal_id, full_name FROM citizen')),
          '44 EXPLAIN ANALYZE');
SELECT ok(adv.refused(adv.rows('SELECT full_name::int FROM citizen')), '45 a failing cast shows only the masked value');
SELECT ok(adv.refused(adv.rows('SELECT personal_id FROM citizen WHERE personal_id::text::bigint > 0')),
          '46 a failing cast in WHERE never sees a filtered row');
-- 47-52. statistics, files, settings
SELECT is(adv.rows('SELECT count(*) FROM pg_stats WHERE tablename = ''citizen'''), '(0)', '47 pg_stats');
SELECT is(adv.rows('SELECT count(*) FROM pg_stats_ext WHERE tablename = ''citizen'''), '(0)', '48 pg_stats_ext');
SELECT ok(adv.refused(adv.rows('SELECT stavalues1::text FROM pg_statistic')), '49 pg_statistic');
SELECT ok(adv.refused(adv.rows('SELECT pg_read_file(''postgresql.conf'')')), '50 pg_read_file');
SELECT ok(adv.refused(adv.rows('SELECT current_setting(''govshare.pseudonym_key_file'')')), '51 the pseudonym key file''s name');
SELECT ok(adv.refused(adv.rows('SELECT lo_import(''/etc/passwd'')')), '52 lo_import');
-- 53-55. pseudonyms
SELECT ok(adv.refused(adv.rows('SELECT pseudonym(''+84912345678''::phone_number, ''ADV_MND'')')), '53 pseudonym() called directly');
SELECT ok(adv.refused(adv.rows('SELECT pseudonym(phone, ''ADV_MND'') FROM citizen')), '54 pseudonym() over a column');
SELECT ok(adv.refused(adv.rows('SELECT pseudonym(''Nguyen Van An''::text, ''ADV_MND'')')), '55 pseudonym() of a guessed name');
-- 56-59. side channels: notifications, advisory locks, COPY
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT pg_notify(''leak'', full_name) FROM citizen WHERE mnd.peek(full_name)');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)), '56 NOTIFY payloads from a query carry masked values only');
SELECT adv.rows('SELECT pg_try_advisory_xact_lock(1, hashtext(full_name)) FROM citizen');
RESET ROLE;
SELECT ok(EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND classid = 1) AND
          NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND classid = 1
                      AND objid IN (SELECT hashtext(full_name)::oid FROM citizen)),
          '57 advisory locks keyed on values: only masked values');
SET LOCAL ROLE adv_mnd;
\o /tmp/govshare_adversarial_copy.out
COPY citizen (personal_id, full_name, phone) TO STDOUT;
COPY (SELECT * FROM provider_view) TO STDOUT;
\o
RESET ROLE;
SELECT ok(NOT adv.leaks(pg_read_file('/tmp/govshare_adversarial_copy.out')) AND
          pg_read_file('/tmp/govshare_adversarial_copy.out') LIKE '%*%', '58 COPY t TO and COPY (query) TO');
SET LOCAL ROLE adv_mnd;
SELECT ok(adv.refused(adv.run('COPY citizen TO STDOUT')), '59 COPY of every column: the denied one refuses it');
-- 60-63. roles and savepoints
SET LOCAL ROLE adv_mnd_clerk;
SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen')),
          '62 a context begun by another role (SET ROLE to a member role): refused');
SET LOCAL ROLE adv_mnd;
SAVEPOINT s;
SELECT end_request();
ROLLBACK TO SAVEPOINT s;
SELECT ok(NOT adv.leaks(adv.rows('SELECT full_name FROM citizen')), '63 context restored by ROLLBACK TO SAVEPOINT stays enforced');
-- 64-66. cursors and prepared statements
DECLARE hold_cur CURSOR WITH HOLD FOR SELECT full_name FROM citizen;
FETCH 1 FROM hold_cur \g /dev/null
SELECT end_request();
SELECT ok(adv.refused(adv.run('FETCH 1 FROM hold_cur')), '64 a cursor does not outlive its request context');
CLOSE hold_cur;
SELECT begin_request('adv_purpose');
PREPARE adv_p AS SELECT string_agg(full_name, ',') AS names FROM citizen;
EXECUTE adv_p \g /dev/null
SELECT end_request();
SELECT ok(adv.refused(adv.run('EXECUTE adv_p')), '65 a prepared statement after the context ended: refused');
SELECT begin_request('adv_purpose');
EXECUTE adv_p \gset
SELECT ok(NOT adv.leaks(:'names') AND :'names' LIKE '%*%', '66 ... and masked again in a new context');
-- 67. loopback through dblink, when installed, connects as the consumer
RESET ROLE;
CREATE EXTENSION IF NOT EXISTS dblink;
SET LOCAL ROLE adv_mnd;
SELECT ok(adv.refused(adv.rows('SELECT * FROM dblink(''dbname='' || current_database(), ''SELECT full_name FROM public.citizen'') AS t(x text)')),
          '67 dblink loopback: refused (no password; a new session would have no context)');
-- 68. an internal role's plans and privileges do not carry over
RESET ROLE;
SET LOCAL ROLE adv_staff;
PREPARE staff_p AS SELECT string_agg(full_name, ',') AS staff_names FROM citizen;
EXECUTE staff_p \g /dev/null
RESET ROLE;
GRANT adv_staff TO adv_mnd;
SET LOCAL ROLE adv_mnd;
EXECUTE staff_p \gset
SELECT ok(NOT adv.leaks(:'staff_names') AND :'staff_names' LIKE '%*%',
          '68 a plan made for an internal role is planned again for the consumer');
RESET ROLE;

-- 69-74. relations that reach the plan after the enforcement ran: the
-- planner inlines SQL functions after the planner hook, so what such a
-- function reads was never rewritten (issue 15, class 1)
CREATE FUNCTION public.provider_srf() RETURNS TABLE (personal_id personal_id, full_name text)
LANGUAGE sql STABLE AS $$ SELECT personal_id, full_name FROM public.provider_view $$;
CREATE FUNCTION public.provider_name(id personal_id) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT max(full_name) FROM public.provider_view WHERE personal_id = id $$;
-- a function in pg_catalog is still inlined: the plan's invariant must stop it
CREATE FUNCTION pg_catalog.adv_catalog_srf() RETURNS TABLE (personal_id personal_id, full_name text)
LANGUAGE sql STABLE AS $$ SELECT personal_id, full_name FROM public.provider_view $$;
SET LOCAL ROLE adv_mnd;
SELECT ok(NOT adv.leaks(adv.rows('SELECT * FROM provider_srf()')) AND adv.rows('SELECT * FROM provider_srf()') LIKE '%*%',
          '69 the provider''s STABLE SQL set-returning function over its view: masked rows');
SELECT ok(NOT adv.leaks(adv.rows('SELECT (SELECT count(*) FROM citizen) AS n, f.* FROM provider_srf() f')),
          '70 ... with an ordinary governed read in the same statement');
SELECT ok(NOT adv.leaks(adv.rows('SELECT f.full_name FROM citizen c, LATERAL provider_srf() f WHERE f.personal_id IS NOT NULL')),
          '71 ... joined LATERAL to the governed table');
SELECT ok(NOT adv.leaks(adv.rows('SELECT provider_name(personal_id), provider_name(''001090123458'') FROM citizen')),
          '72 the provider''s scalar SQL function over its view');
SELECT ok(adv.refused(adv.rows('SELECT (SELECT count(*) FROM citizen) AS n, f.* FROM adv_catalog_srf() f')),
          '73 a SQL function the planner still inlines: the plan''s invariant refuses the raw governed relation');
RESET ROLE;
SELECT audit_flush(60000);
SELECT ok(EXISTS (SELECT FROM access_log WHERE outcome = 'denied' AND agency = 'ADV_MND'
                   AND statement_text LIKE '%adv_catalog_srf%' AND reason LIKE '%without its sharing rules%'),
          '74 ... and records the refusal');

-- 75-84. counting channels: a column disclosed in full under a row filter
-- (class 2).  A leakproof predicate on it runs below the filter, so any
-- count of the rows it met answers a question about hidden rows.
CREATE TABLE registry (personal_id personal_id PRIMARY KEY, province int);
INSERT INTO registry VALUES ('079099123456', 79), ('001090123458', 1);
INSERT INTO registry SELECT format('0790%s9%s', i % 2, lpad(i::text, 6, '0'))::personal_id, 1
  FROM generate_series(1, 200) i;
SELECT classify('registry', 'personal_id', 'person.personal_id'), govern('registry');
SELECT share('ADV_MND', '{adv_purpose}', '{person.personal_id}', 'full', relation => 'registry',
             row_filter => 'province = 79');
ANALYZE registry;
CREATE VIEW registry_view AS SELECT personal_id FROM registry;
GRANT SELECT ON registry_view TO adv_mnd;
SET LOCAL ROLE adv_mnd;
SELECT ok(adv.rows('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT 1 FROM registry WHERE personal_id = ''001090123458''')
          LIKE 'ERROR: agency "ADV_MND" may not EXPLAIN ANALYZE%',
          '75 EXPLAIN ANALYZE (Rows Removed by Filter, actual rows) of a governed relation: refused');
PREPARE adv_reg AS SELECT 1 FROM registry_view WHERE personal_id = '001090123458';
SELECT ok(adv.rows('EXPLAIN (ANALYZE, BUFFERS) EXECUTE adv_reg') LIKE 'ERROR: agency "ADV_MND" may not EXPLAIN ANALYZE%',
          '76 EXPLAIN ANALYZE of a prepared statement over a view: refused');
DEALLOCATE adv_reg;
SELECT ok(adv.rows('EXPLAIN SELECT 1 FROM registry WHERE personal_id > ''001000000000''')
          LIKE 'ERROR: agency "ADV_MND" may not EXPLAIN%COSTS OFF%',
          '77 plain EXPLAIN (estimates from whole-table statistics): refused unless COSTS OFF');
SELECT ok(adv.rows('EXPLAIN (COSTS OFF) SELECT 1 FROM registry WHERE personal_id = ''079099123456''') LIKE '%Scan%',
          '78a EXPLAIN (COSTS OFF): allowed');
RESET ROLE;
SELECT audit_flush(60000);
SELECT ok(EXISTS (SELECT FROM access_log WHERE agency = 'ADV_MND' AND kind = 'access' AND outcome = 'allowed'
                   AND statement_text LIKE 'EXPLAIN (COSTS OFF) SELECT 1 FROM registry%'),
          '78 ... and recorded');
SET LOCAL ROLE adv_mnd;
SELECT adv.rows('SELECT count(*) FROM registry WHERE personal_id = ''001090123458''');
SELECT ok(adv.rows('SELECT pg_stat_get_xact_tuples_fetched(''registry''::regclass), pg_stat_get_xact_tuples_returned(''registry_pkey''::regclass)')
          LIKE 'ERROR: agency "ADV_MND" may not call statistics function%',
          '79 pg_stat_get_xact_tuples_fetched / _returned of the table and its index: refused');
SELECT ok(adv.rows('SELECT idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relname = ''registry''') LIKE 'ERROR: %statistics function%'
          AND adv.rows('SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = ''registry''') LIKE 'ERROR: %statistics function%'
          AND adv.rows('SELECT heap_blks_hit FROM pg_statio_user_tables WHERE relname = ''registry''') LIKE 'ERROR: %statistics function%',
          '80 pg_stat_xact_user_tables, pg_stat_user_tables, pg_statio_user_tables: refused');
SELECT ok(adv.rows('SELECT idx_tup_read FROM pg_stat_user_indexes WHERE relname = ''registry''') LIKE 'ERROR: %statistics function%'
          AND adv.rows('SELECT tup_fetched FROM pg_stat_database WHERE datname = current_database()') LIKE 'ERROR: %statistics function%',
          '81 pg_stat_user_indexes and pg_stat_database: refused');
CREATE FUNCTION mnd.fetched(oid) RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT pg_stat_get_xact_tuples_fetched($1) $$;
SELECT ok(adv.rows('SELECT mnd.fetched(''registry''::regclass)') LIKE 'ERROR: %statistics function%',
          '82 a SQL function (inlined) around a statistics function: refused');
CREATE DOMAIN mnd.probe AS oid CHECK (pg_stat_get_xact_tuples_fetched(VALUE) >= 0);
SELECT ok(adv.rows('SELECT ''registry''::regclass::oid::mnd.probe') LIKE 'ERROR: %statistics function%',
          '83 a domain whose CHECK calls a statistics function (never planned): refused');
CREATE AGGREGATE mnd.probe_agg(oid) (SFUNC = oidlarger, STYPE = oid, FINALFUNC = pg_stat_get_xact_tuples_fetched);
SELECT ok(adv.rows('SELECT mnd.probe_agg(''registry''::regclass)') LIKE 'ERROR: %statistics function%',
          '84 an aggregate whose final function is a statistics function: refused');

-- 85-88. data copied out of governance: materialized views (class 5)
RESET ROLE;
CREATE MATERIALIZED VIEW citizen_mv AS SELECT personal_id, full_name, religion FROM citizen;
CREATE MATERIALIZED VIEW provider_view_mv AS SELECT * FROM provider_view;
CREATE VIEW mv_view AS SELECT full_name FROM provider_view_mv;
GRANT SELECT ON citizen_mv, provider_view_mv, mv_view TO adv_mnd;
SET LOCAL ROLE adv_mnd;
SELECT ok(adv.refused(adv.rows('SELECT * FROM citizen_mv')), '85 the provider''s materialized view over a governed table: refused');
SELECT ok(adv.refused(adv.rows('SELECT * FROM provider_view_mv')), '86 a materialized view over a view over a governed table: refused');
SELECT ok(adv.refused(adv.rows('SELECT * FROM mv_view')), '87 a view over such a materialized view: refused');
RESET ROLE;
SELECT ok((SELECT count(*) FROM check_setup() WHERE object LIKE '%citizen_mv%' OR object LIKE '%provider_view_mv%') >= 4,
          '88 check_setup() reports each materialized view over governed data and the consumer''s privileges on it');
ANALYZE citizen_mv;
PREPARE adv_stats AS SELECT count(*) FROM pg_stats WHERE tablename = 'citizen_mv';
EXECUTE adv_stats \g /dev/null
SET LOCAL ROLE adv_mnd;
SELECT is(adv.rows('SELECT count(*) FROM pg_stats WHERE tablename = ''citizen_mv'''), '(0)',
          '89 pg_stats of such a materialized view, which the consumer may SELECT: nothing');
SELECT ok(adv.refused(adv.run('EXECUTE adv_stats')),
          '90 the same query planned by an internal role (without the hiding qual), run by the consumer: refused');
RESET ROLE;
-- the definition may hide what it reads in a function
CREATE MATERIALIZED VIEW srf_mv AS SELECT * FROM provider_srf();
CREATE MATERIALIZED VIEW xml_mv AS SELECT query_to_xml('SELECT full_name, religion FROM public.citizen', true, false, '') AS x;
GRANT SELECT ON srf_mv, xml_mv TO adv_mnd;
SET LOCAL ROLE adv_mnd;
SELECT ok(adv.refused(adv.rows('SELECT * FROM srf_mv')),
          '91 the provider''s materialized view over its SQL function over its view: refused');
SELECT ok(adv.refused(adv.rows('SELECT * FROM xml_mv')),
          '92 the provider''s materialized view over query_to_xml() of the governed table: refused');
CREATE MATERIALIZED VIEW mnd.own_mv AS SELECT v FROM mnd.seen;
CREATE MATERIALIZED VIEW mnd.masked_mv AS SELECT full_name FROM citizen;
SELECT ok(adv.rows('SELECT count(*) FROM mnd.own_mv') NOT LIKE 'ERROR%'
          AND adv.refused(adv.rows('SELECT * FROM mnd.masked_mv')),
          '93 the consumer''s own materialized view over its own table runs; over the governed table, refused');
RESET ROLE;
ANALYZE srf_mv;
SET LOCAL ROLE adv_mnd;
SELECT is(adv.rows('SELECT count(*) FROM pg_stats WHERE tablename IN (''srf_mv'', ''xml_mv'')'), '(0)',
          '94 pg_stats of those materialized views: nothing');
RESET ROLE;
-- (SET ROLE and SET SESSION AUTHORIZATION from a consumer's own login are
-- in sql/enforce.sql: this file runs as a superuser, who may SET ROLE to anyone)

SELECT * FROM finish();
ROLLBACK;
