-- login: adv_bank
-- test/adversarial/verify.sql — issue 20: a bank whose agreement discloses
-- a citizen's personal id, name and birth date at level verify (and the
-- province of residence generalized) attacks those columns through every
-- SQL path, from its own login (adv_bank, bound to ADV_BANK).  Each path
-- must be refused with the verify denial (its HINT names govshare.verify),
-- and nothing of a verify-only value may show: not in rows, errors,
-- notices, what its own functions see, EXPLAIN, COPY or statistics.
-- govshare.verify() itself answers true or false and nothing else.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
SELECT no_plan();
SET search_path = bank, public, govshare;
SET client_min_messages = warning;

-- what the bank's own functions see
CREATE TABLE bank.seen (v text);
CREATE FUNCTION bank.peek(anyelement) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN INSERT INTO bank.seen VALUES ($1::text); RAISE NOTICE 'peek: %', $1; RETURN true; END $$;
CREATE TABLE bank.customer (name text, born text, id text);
INSERT INTO bank.customer VALUES ('Nguyen Van An', '1999-05-14', '079099123456');
-- refused as a verify-only column: the verify denial, no secret
CREATE FUNCTION bank.verify_refused(out_ text) RETURNS boolean LANGUAGE sql AS $$
  SELECT out_ LIKE 'ERROR: %for verification only%govshare.verify(relation, subject, claims)%'
         AND NOT adv.leaks(out_)
$$;

SELECT begin_request('adv_kyc', 'Teller 1');
SELECT ok(NOT adv.leaks(adv.rows('SELECT residence FROM citizen')) AND adv.rows('SELECT count(*) FROM citizen') = '(303)',
          'V00 the granted column reads (generalized), every row');

-- reading, filtering, grouping, ordering
SELECT ok(bank.verify_refused(adv.rows('SELECT full_name FROM citizen')), 'V01 SELECT a verify-only column');
SELECT ok(bank.verify_refused(adv.rows('SELECT residence FROM citizen WHERE full_name = ''Nguyen Van An''')),
          'V02 WHERE on it');
SELECT ok(bank.verify_refused(adv.rows('SELECT count(*) FROM citizen WHERE birth_date < ''2000''')),
          'V03 a range predicate on another one');
SELECT ok(bank.verify_refused(adv.rows('SELECT count(*) FROM citizen WHERE personal_id = ''079099123456''')),
          'V04 lookup by the verify-only personal id');
SELECT ok(bank.verify_refused(adv.rows('SELECT count(*) FROM citizen GROUP BY full_name')), 'V05 GROUP BY');
SELECT ok(bank.verify_refused(adv.rows('SELECT residence FROM citizen ORDER BY birth_date LIMIT 1')), 'V06 ORDER BY');
SELECT ok(bank.verify_refused(adv.rows('SELECT DISTINCT ON (full_name) residence FROM citizen')), 'V07 DISTINCT ON');
SELECT ok(bank.verify_refused(adv.rows('SELECT rank() OVER (PARTITION BY full_name ORDER BY birth_date) FROM citizen')),
          'V08 a window over it');
SELECT ok(bank.verify_refused(adv.rows('SELECT count(*) FILTER (WHERE full_name > ''M'') FROM citizen')),
          'V09 an aggregate FILTER');
-- joins, subqueries, whole rows
SELECT ok(bank.verify_refused(adv.rows('SELECT b.id FROM bank.customer b JOIN citizen c ON c.full_name = b.name')),
          'V10 a join on it');
SELECT ok(bank.verify_refused(adv.rows('SELECT b.id FROM bank.customer b WHERE EXISTS (SELECT FROM citizen c WHERE c.personal_id::text = b.id)')),
          'V11 a correlated subquery on it');
SELECT ok(bank.verify_refused(adv.rows('WITH x AS (SELECT full_name FROM citizen) SELECT count(*) FROM x')), 'V12 a CTE');
SELECT ok(bank.verify_refused(adv.rows('SELECT c FROM citizen c')), 'V13 a whole-row reference');
SELECT ok(bank.verify_refused(adv.rows('SELECT row_to_json(c) FROM citizen c')), 'V14 row_to_json of the row');
-- functions
DELETE FROM bank.seen;
SELECT ok(bank.verify_refused(adv.rows('SELECT length(full_name) FROM citizen')), 'V15 a built-in function''s argument');
SELECT ok(bank.verify_refused(adv.rows('SELECT residence FROM citizen WHERE bank.peek(full_name)')),
          'V16 the bank''s own leaky function in WHERE');
SELECT ok(bank.verify_refused(adv.rows('SELECT bank.peek(birth_date) FROM citizen')), 'V17 ... in the target list');
SELECT ok(bank.verify_refused(adv.rows('SELECT residence FROM citizen WHERE full_name::int > 0')),
          'V18 a cast that would fail on the value (its error would quote it)');
SELECT ok(bank.verify_refused(adv.rows('SELECT partial_date_year(birth_date) FROM citizen')),
          'V19 an extractor of the national type');
SELECT ok(NOT EXISTS (SELECT FROM bank.seen), 'V20 ... and the bank''s function saw nothing');
CREATE FUNCTION bank.names() RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT full_name FROM public.citizen $$;
SELECT ok(bank.verify_refused(adv.rows('SELECT * FROM bank.names()')), 'V21 a SQL function the planner would inline');
-- views
SELECT ok(bank.verify_refused(adv.rows('SELECT full_name FROM provider_view')), 'V22 the provider''s view');
CREATE VIEW bank.names_view AS SELECT full_name, residence FROM public.citizen;
SELECT ok(bank.verify_refused(adv.rows('SELECT residence FROM bank.names_view WHERE full_name IS NOT NULL')),
          'V23 the bank''s own view');
-- cursors, prepared statements, EXPLAIN
BEGIN;
SELECT ok(bank.verify_refused(adv.run('DECLARE c1 CURSOR FOR SELECT full_name FROM citizen')), 'V24 a cursor');
ROLLBACK;
PREPARE bank_p AS SELECT count(*) FROM citizen WHERE full_name = $1;
SELECT ok(bank.verify_refused(adv.run('EXECUTE bank_p(''Nguyen Van An'')')), 'V25 a prepared statement');
DEALLOCATE bank_p;
SELECT ok(bank.verify_refused(adv.rows('EXPLAIN (COSTS OFF) SELECT residence FROM citizen WHERE full_name = ''Nguyen Van An''')),
          'V26 EXPLAIN');
SELECT ok(bank.verify_refused(adv.rows('EXPLAIN (ANALYZE, COSTS OFF) SELECT full_name FROM citizen')), 'V27 EXPLAIN ANALYZE');
-- COPY, from psql as an application would
\set ON_ERROR_STOP 0
\o /tmp/govshare_adversarial_verify_copy.out
COPY citizen (full_name) TO STDOUT;
\set copy1 :ERROR
COPY (SELECT full_name, birth_date FROM citizen) TO STDOUT;
\set copy2 :ERROR
COPY citizen TO STDOUT;
\set copy3 :ERROR
\o
\set ON_ERROR_STOP 1
\set copied `cat /tmp/govshare_adversarial_verify_copy.out`
SELECT ok(:'copy1' = 'true' AND :'copy2' = 'true' AND NOT adv.leaks(:'copied'),
          'V28 COPY t (col) TO and COPY (query) TO: refused, nothing written');
SELECT ok(:'copy3' = 'true' AND NOT adv.leaks(:'copied'), 'V29 COPY of the whole table: refused');
-- writes and locks
SELECT ok(adv.refused(adv.run('UPDATE citizen SET full_name = full_name')), 'V30 UPDATE: refused');
SELECT ok(adv.refused(adv.rows('SELECT residence FROM citizen FOR UPDATE')), 'V31 SELECT FOR UPDATE: refused');
-- statistics
SELECT is(adv.rows('SELECT count(*) FROM pg_stats WHERE tablename = ''citizen'''), '(0)', 'V32 pg_stats');
SELECT is(adv.rows('SELECT count(*) FROM pg_stats_ext WHERE tablename = ''citizen'''), '(0)', 'V33 pg_stats_ext');

-- govshare.verify(): true or false, never a value
SELECT is(verify('citizen', '079099123456', '{"full_name": "nguyen van  AN", "birth_date": "14/05/1999"}')::text,
          '{"full_name": true, "birth_date": true}', 'V34 verify(): true for matching claims');
SELECT is(verify('citizen', '079099123456', '{"full_name": "Nguyen Van Anh"}')::text,
          '{"full_name": false}', 'V35 ... false otherwise');
SELECT ok(adv.rows('SELECT verify(''citizen'', ''079099123456'', ''{"birth_date": "not a date"}'')') = '("{""birth_date"": false}")',
          'V36 a claim the type refuses: false, and no error that could quote anything');
SELECT ok(adv.refused(adv.rows('SELECT verify(''citizen'', ''079099123456'', ''{"religion": "x"}'')'))
          AND adv.rows('SELECT verify(''citizen'', ''079099123456'', ''{"religion": "x"}'')') LIKE '%column "religion"%',
          'V37 a claim on a column it may not verify: refused, naming the column');
SELECT ok(adv.refused(adv.rows('SELECT verify(''provider_view'', ''079099123456'', ''{"full_name": "x"}'')')),
          'V38 verify() against a view: refused');
SELECT ok(adv.rows('SELECT verify(''citizen'', ''079099123456'', ''{"residence": "2025:79"}'')') LIKE '%residence"": true%',
          'V39 a column granted above verify (generalized) may be verified, against what it discloses');
-- the bank's own equality operator on personal_id, first in its search path,
-- would see every subject the lookup compares: verify() names govshare's
DELETE FROM bank.seen;
CREATE FUNCTION bank.eq(personal_id, personal_id) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO bank.seen VALUES ($1::text), ($2::text); RETURN $1::text = $2::text; END $$;
CREATE OPERATOR bank.= (LEFTARG = personal_id, RIGHTARG = personal_id, FUNCTION = bank.eq);
SET search_path = bank, public, govshare;
SELECT ok(verify('citizen', '079099123456', '{"full_name": "Nguyen Van An"}') IS NOT NULL
          AND NOT EXISTS (SELECT FROM bank.seen), 'V40 verify() with the bank''s own = first in the path: not called');
-- a relation that only verify rules cover is refused whole: not even its count shows
SELECT end_request();
SELECT begin_request('adv_kyc_only');
SELECT ok(bank.verify_refused(adv.rows('SELECT count(*) FROM citizen')), 'V41 verify-only relation: count(*) refused');
SELECT ok(bank.verify_refused(adv.rows('SELECT 1 FROM citizen LIMIT 1')), 'V42 ... and any read of it');
SELECT is(verify('citizen', '079301123457', '{"full_name": "TRAN THI BINH"}')::text, '{"full_name": true}',
          'V43 ... while verify() answers');
-- no context: nothing
SELECT end_request();
SELECT ok(adv.refused(adv.rows('SELECT verify(''citizen'', ''079099123456'', ''{"full_name": "x"}'')')),
          'V44 verify() without a request context: refused');

SELECT * FROM finish();
