-- login: adv_mnd
-- test/adversarial/attacks.sql — a consumer agency tries to read what its
-- agreement does not give it, from its own login (adv_mnd, bound to
-- ADV_MND), as its application would connect: scripts/test runs this file
-- with pg_prove -U adv_mnd after test/adversarial/setup.sql.  Every case is
-- one pgTAP assertion that fails if a secret shows anywhere: in rows,
-- notices captured by its own functions, error messages, EXPLAIN, COPY
-- output, statistics or locks.  docs/security.md lists the cases with what
-- stops each; set_role.sql keeps the cases whose meaning differs when a
-- superuser's session SET ROLEs to the consumer instead.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
SELECT no_plan();
SET search_path = mnd, public, govshare;

-- the consumer's own table its functions write what they see to
CREATE TABLE mnd.seen (v text);
CREATE FUNCTION mnd.peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN INSERT INTO mnd.seen VALUES ($1); RAISE NOTICE 'peek: %', $1; RETURN true; END $$;
CREATE FUNCTION mnd.peek_id(personal_id, personal_id) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN INSERT INTO mnd.seen VALUES ($1::text), ($2::text); RETURN true; END $$;
SET client_min_messages = warning;

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
BEGIN;
SELECT adv.rows('SELECT pg_try_advisory_xact_lock(1, hashtext(full_name)) FROM citizen');
SELECT ok(EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND classid = 1 AND pid = pg_backend_pid()) AND
          NOT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND classid = 1
                      AND objid IN (SELECT hashtext(n)::oid FROM unnest(adv.secret_names()) n)),
          '57 advisory locks keyed on values: only masked values');
COMMIT;
\o /tmp/govshare_adversarial_copy.out
COPY citizen (personal_id, full_name, phone) TO STDOUT;
COPY (SELECT * FROM provider_view) TO STDOUT;
\o
\set copied `cat /tmp/govshare_adversarial_copy.out`
SELECT ok(NOT adv.leaks(:'copied') AND :'copied' LIKE '%*%', '58 COPY t TO and COPY (query) TO');
SELECT ok(adv.refused(adv.run('COPY citizen TO STDOUT')), '59 COPY of every column: the denied one refuses it');
-- 62-63. roles and savepoints
SET ROLE adv_mnd_clerk;
SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen')),
          '62 a context begun by the login, read after SET ROLE to another role: refused');
RESET ROLE;
BEGIN;
SAVEPOINT s;
SELECT end_request();
ROLLBACK TO SAVEPOINT s;
SELECT ok(NOT adv.leaks(adv.rows('SELECT full_name FROM citizen')), '63 context restored by ROLLBACK TO SAVEPOINT stays enforced');
COMMIT;
-- 64-66. cursors and prepared statements
-- a cursor WITH HOLD outside a transaction block is materialised at commit,
-- and a FETCH from it after that runs no executor: it is refused
\set ON_ERROR_STOP 0
DECLARE hold_cur CURSOR WITH HOLD FOR SELECT full_name FROM citizen;
\set hold_declared :ERROR
SELECT end_request() \g /dev/null
FETCH 1 FROM hold_cur \g /dev/null
\set hold_fetched :ERROR
\set ON_ERROR_STOP 1
SELECT ok(:'hold_declared' = 'true' AND :'hold_fetched' = 'true',
          '64 a cursor WITH HOLD (autocommit): refused, so nothing is fetched after end_request');
SELECT begin_request('adv_purpose');
BEGIN;
SELECT ok(adv.run('DECLARE hold_cur2 CURSOR WITH HOLD FOR SELECT full_name FROM citizen')
          LIKE 'ERROR: agency "ADV_MND" may not keep governed data in a cursor WITH HOLD%',
          '64b a cursor WITH HOLD in a transaction block: refused');
ROLLBACK;
PREPARE adv_p AS SELECT string_agg(full_name, ',') AS names FROM citizen;
EXECUTE adv_p \g /dev/null
SELECT end_request();
SELECT ok(adv.refused(adv.run('EXECUTE adv_p')), '65 a prepared statement after the context ended: refused');
SELECT begin_request('adv_purpose');
EXECUTE adv_p \gset
SELECT ok(NOT adv.leaks(:'names') AND :'names' LIKE '%*%', '66 ... and masked again in a new context');
-- 67. loopback through dblink connects as the consumer
SELECT ok(adv.refused(adv.rows('SELECT * FROM dblink(''dbname='' || current_database(), ''SELECT full_name FROM public.citizen'') AS t(x text)')),
          '67 dblink loopback: refused (no password; a new session would have no context)');
-- 95. a token is spent when presented: read with it, roll back, present it again
SELECT end_request();
SELECT token AS t1 FROM adv.token WHERE n = 1 \gset
BEGIN;
SELECT begin_request_signed(:'t1');
SELECT adv.rows('SELECT full_name FROM citizen') \g /dev/null
ROLLBACK;
SELECT ok(adv.refused(adv.run(format('SELECT govshare.begin_request_signed(%L)', :'t1'))),
          '95 a token read with in a transaction that rolled back: refused when presented again');
SELECT token AS t2 FROM adv.token WHERE n = 2 \gset
BEGIN;
SAVEPOINT s;
SELECT begin_request_signed(:'t2');
ROLLBACK TO SAVEPOINT s;
COMMIT;
SELECT ok(adv.run(format('SELECT govshare.begin_request_signed(%L)', :'t2')) LIKE 'ERROR: invalid request token / The token has been used before%',
          '95b a token presented in a savepoint rolled back: refused as used');
-- 96. the key that signed the context's token is revoked (by the provider,
-- here through a hook): the next read is refused, naming the key
SELECT token AS t10 FROM adv.token WHERE n = 10 \gset
SELECT begin_request_signed(:'t10');
SELECT ok(NOT adv.leaks(adv.rows('SELECT full_name FROM citizen')), '96a a signed context reads masked');
SELECT adv.revoke_second_key();
SELECT ok(adv.rows('SELECT full_name FROM citizen') LIKE 'ERROR: the request context of agency "ADV_MND" has ended / The key that signed its token (%) was revoked.%',
          '96 after its key is revoked, the context has ended: refused, naming the key');
SELECT ok(adv.refused(adv.rows('SELECT count(*) FROM citizen')), '96b ... and stays ended');
-- 97. no internal error (XX000) reachable from SQL
SELECT is(adv.sqlstate('SELECT govshare.is_valid(''x'', 0::regtype)'), '42704', '97 is_valid with an invalid type: 42704, not XX000');
SELECT is(adv.sqlstate('SELECT govshare.type_conformance(0, 0)'), '42704', '97b type_conformance of invalid types: 42704');
-- 98. a SECURITY DEFINER function of an internal role, from the consumer's
-- login: the session stays a consumer, its context was begun by another
-- role, so it fails closed
SELECT end_request();
SELECT begin_request('adv_purpose');
SELECT ok(adv.refused(adv.rows('SELECT adv.staff_names()')), '98 an internal role''s SECURITY DEFINER function: refused');

-- 100-103. a column disclosed in full under a row filter is a plain column
-- of the relation to the planner; its statistics include the hidden rows
CREATE FUNCTION mnd.peek2(text, text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN INSERT INTO mnd.seen VALUES ($1), ($2); RETURN true; END $$;
CREATE OPERATOR mnd.<<<< (LEFTARG = text, RIGHTARG = text, FUNCTION = mnd.peek2,
                          RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE TABLE mnd.names (n text);
INSERT INTO mnd.names SELECT 'Shown name ' || i FROM generate_series(1, 50) i;
ANALYZE mnd.names;
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT count(*) FROM family WHERE full_name OPERATOR(mnd.<<<<) ''M''');
SELECT adv.rows('SELECT count(*) FROM family f JOIN mnd.names m ON f.full_name OPERATOR(mnd.<<<<) m.n');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)) AND EXISTS (SELECT FROM mnd.seen),
          '100 leaky operator with estimators on a column in full under a row filter, in WHERE and as a join clause');
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT count(*) FROM pfamily WHERE full_name OPERATOR(mnd.<<<<) ''M''');
SELECT adv.rows('SELECT count(*) FROM pfamily f JOIN mnd.names m ON f.full_name OPERATOR(mnd.<<<<) m.n');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)) AND EXISTS (SELECT FROM mnd.seen),
          '101 same on a partitioned table (statistics of the parent and of each partition)');
-- a leaky join clause beside the filter, in the scan of the governed table
-- that a nested loop runs once per row of the consumer's (parameterized by
-- the join's other, indexable, clause), inner and outer
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SELECT ok(adv.rows('EXPLAIN (COSTS OFF) SELECT 1 FROM mnd.names m JOIN family f
                      ON f.full_name = m.n AND mnd.peek2(f.full_name, m.n)') ~ 'Index Cond: \(full_name = m\.n\)',
          '102 the plan: the join probes the index of the governed table once per row of the consumer''s');
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT count(*) FROM mnd.names m JOIN family f ON f.full_name = m.n AND mnd.peek2(f.full_name, m.n)');
SELECT adv.rows('SELECT count(*) FROM mnd.names m LEFT JOIN family f ON f.full_name = m.n AND mnd.peek2(f.full_name, m.n)');
SELECT adv.rows('SELECT count(*) FROM mnd.names m JOIN pfamily f ON f.full_name = m.n AND mnd.peek2(f.full_name, m.n)');
RESET enable_hashjoin;
RESET enable_mergejoin;
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)) AND EXISTS (SELECT FROM mnd.seen),
          '102 a leaky join clause in a parameterized scan of the governed table (inner, outer, partitioned) sees visible rows only');
DELETE FROM mnd.seen;
SELECT adv.rows('SELECT count(*) FROM ledger_note WHERE note OPERATOR(mnd.<<<<) ''M''');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)) AND EXISTS (SELECT FROM mnd.seen),
          '103 leaky operator with estimators on a column in full everywhere, no filter: statistics of deleted rows stay unseen');

-- 104-106. a pseudonym names its value (FF1): the bounds that decipher it
-- run only in the enforcement's plans, and a lookup by pseudonym shows
-- nothing more than the pseudonymised rows
SELECT phone::text AS shown_phone FROM citizen WHERE phone IS NOT NULL LIMIT 1 \gset
SELECT ok(adv.refused(adv.rows(format('SELECT pseudonym_lower(%L::phone_number, ''ADV_MND'')', :'shown_phone'))),
          '104 pseudonym_lower() called directly, to decipher a pseudonym');
SELECT ok(adv.refused(adv.rows(format('SELECT count(*) FROM citizen WHERE phone >= pseudonym_upper(%L::phone_number, ''ADV_MND'')',
                                      :'shown_phone'))),
          '105 pseudonym_upper() inside a query over the governed table');
DELETE FROM mnd.seen;
SELECT is(adv.rows(format('SELECT count(*) FROM citizen WHERE phone = %L AND mnd.peek(phone::text) AND mnd.peek(full_name)',
                          :'shown_phone')), '(1)',
          '106 a lookup by pseudonym finds its row');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)) AND EXISTS (SELECT FROM mnd.seen)
          AND NOT adv.leaks(adv.rows(format('EXPLAIN (COSTS OFF) SELECT full_name FROM citizen WHERE phone = %L',
                                            :'shown_phone'))),
          '106 ... its leaky functions and its plan see pseudonyms and masked values only');

-- 107. an IN list of pseudonyms: one index scan of what they decipher to,
-- computed when the scan starts, never by an estimate nor from SQL
SELECT string_agg(quote_literal(phone::text), ', ') AS shown_phones,
       '{' || string_agg(phone::text, ',') || '}' AS shown_array
  FROM (SELECT phone FROM citizen WHERE phone IS NOT NULL LIMIT 2) p \gset
SELECT ok(adv.refused(adv.rows(format('SELECT pseudonym_values(%L::phone_number[], ''ADV_MND'')', :'shown_array'))),
          '107 pseudonym_values() called directly, to decipher an array of pseudonyms');
SELECT ok(adv.refused(adv.rows(format('SELECT count(*) FROM citizen WHERE pseudonym_any(phone, %L::phone_number[], ''ADV_MND'')',
                                      :'shown_array'))),
          '107 pseudonym_any() inside a query over the governed table');
DELETE FROM mnd.seen;
SELECT is(adv.rows(format('SELECT count(*) FROM citizen WHERE phone IN (%s) AND mnd.peek(phone::text) AND mnd.peek(full_name)',
                          :'shown_phones')), '(2)',
          '107 a lookup by an IN list of pseudonyms finds its rows');
SELECT ok(NOT EXISTS (SELECT FROM mnd.seen WHERE adv.leaks(v)) AND EXISTS (SELECT FROM mnd.seen)
          AND NOT adv.leaks(adv.rows(format('EXPLAIN SELECT full_name FROM citizen WHERE phone IN (%s)',
                                            :'shown_phones'))),
          '107 ... its leaky functions and its plan see pseudonyms and masked values only');

-- 108. the consumer's own pseudonym_eq/pseudonym_any over an indexed table
-- of candidate phone numbers, behind a filter false on every row: no index
-- condition that deciphers, so EXPLAIN ANALYZE's counts tell nothing
CREATE TABLE mnd.guesses (v phone_number, hit boolean);
INSERT INTO mnd.guesses SELECT format('+8491%s', lpad(g::text, 7, '0'))::phone_number, false
  FROM generate_series(1, 2000) g;
CREATE INDEX ON mnd.guesses (v);
ANALYZE mnd.guesses;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT ok(adv.rows(format('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT 1 FROM mnd.guesses
                             WHERE hit AND pseudonym_eq(v, %L::phone_number, ''ADV_MND'')', :'shown_phone'))
          ~ 'Rows Removed by Filter: 2000' AND
          adv.rows(format('EXPLAIN (COSTS OFF) SELECT 1 FROM mnd.guesses
                             WHERE hit AND pseudonym_any(v, %L::phone_number[], ''ADV_MND'')', :'shown_array'))
          !~ 'pseudonym_(lower|upper|values)|^ERROR',
          '108 own pseudonym_eq/pseudonym_any over an indexed table of candidates: nothing deciphered by an index scan');
RESET enable_seqscan;
RESET enable_bitmapscan;

SELECT * FROM finish();
