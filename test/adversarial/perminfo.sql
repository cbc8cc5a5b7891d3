-- login: adv_mnd
-- test/adversarial/perminfo.sql — the consumer's own privileges on the
-- other relations of a statement that reads a governed one (issue 18).
-- The rewrite moves the governed relation's permission check into its
-- subquery (checked as the owner); from PostgreSQL 16 that moves an
-- RTEPermissionInfo out of the query's list and renumbers the rest
-- (include/compat.h, govshare_move_permission_check).  A check that went
-- to the wrong entry, or was lost, would let the consumer read a column it
-- holds no privilege on; each case here reads adv_ledger (SELECT on id and
-- open only) beside one or two governed entries, before and after them.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
SELECT no_plan();
SET search_path = mnd, public, govshare;
SET client_min_messages = warning;
SELECT begin_request('adv_purpose');

SELECT is(adv.sqlstate('SELECT c.full_name, l.secret FROM citizen c, adv_ledger l'), '42501',
          'P1 a column without privilege, after a governed entry: permission denied');
SELECT is(adv.sqlstate('SELECT l.secret, c.full_name FROM adv_ledger l, citizen c'), '42501',
          'P2 ... before a governed entry: permission denied');
SELECT is(adv.sqlstate('SELECT l.secret FROM citizen a, adv_ledger l, citizen b'), '42501',
          'P3 ... between two governed entries: permission denied');
SELECT is(adv.sqlstate('SELECT l FROM citizen c, adv_ledger l'), '42501',
          'P4 the whole row of a table with column privileges only: permission denied');
SELECT is(adv.sqlstate('SELECT full_name FROM citizen WHERE EXISTS (SELECT secret FROM adv_ledger)'),
          '42501', 'P5 ... in a sublink beside a governed read: permission denied');
SELECT is(adv.sqlstate('WITH x AS (SELECT secret FROM adv_ledger) SELECT c.full_name FROM citizen c, x'),
          '42501', 'P6 ... in a CTE: permission denied');
SELECT is(adv.sqlstate('SELECT full_name FROM citizen UNION ALL SELECT secret FROM adv_ledger'), '42501',
          'P7 ... in a UNION: permission denied');
SELECT ok(NOT adv.leaks(adv.rows('SELECT c.full_name, l.secret FROM citizen c, adv_ledger l')),
          'P8 the refusal shows no secret');
-- what the consumer may read, it reads: the checks are not merely all refused
SELECT is(adv.rows('SELECT l.open, count(*) FROM citizen a, adv_ledger l, citizen b GROUP BY 1'),
          '(visible,4)', 'P9 granted columns between two governed entries: read, governed rows filtered');
SELECT is(adv.rows('SELECT l.id, count(c.full_name) FROM adv_ledger l LEFT JOIN citizen c ON true GROUP BY 1'),
          '(1,2)', 'P10 granted columns before a governed entry: read');
SELECT is(adv.rows('SELECT has_table_privilege(''citizen'', ''SELECT''), count(*) FROM citizen'),
          '(f,2)', 'P11 the governed table itself: read without any privilege on it, through the rules');

SELECT end_request();
SELECT * FROM finish();
