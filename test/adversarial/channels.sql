-- login: postgres
-- test/adversarial/channels.sql — issue 15, classes 1, 2 and 5: relations
-- that reach the plan after the planner hook (inlined functions, views in
-- them), counting channels (EXPLAIN, activity statistics) and copies of
-- governed data (materialized views), from a superuser's session that SET
-- ROLEs to the consumer, so that the provider's objects can be made between
-- the attacks.  test/t/014_consumer_channels.pl repeats them from the
-- consumer's own login.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
BEGIN;
SELECT no_plan();
SET LOCAL search_path = public, govshare;
SET LOCAL client_min_messages = warning;
SET LOCAL ROLE adv_mnd;
SELECT begin_request('adv_purpose');
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
