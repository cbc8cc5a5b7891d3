-- login: postgres
-- test/adversarial/set_role.sql — the cases whose meaning differs when a
-- superuser's session SET ROLEs to the consumer rather than the consumer
-- logging in (attacks.sql).  Such a session is a consumer only while its
-- current role is one: SET ROLE to an internal role, or a SECURITY DEFINER
-- function of one, makes it internal (a superuser's).  So this variant
-- cannot see what a consumer's login could do with those (attacks.sql 62,
-- 73 and noinherit.sql test them from logins); it tests what only it can:
-- roles changed under one transaction by a session that may become anyone.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
BEGIN;
SELECT no_plan();
SET LOCAL search_path = public, govshare;
SET LOCAL client_min_messages = warning;

-- 62. a context begun by the consumer's role, read after SET ROLE to a
-- member of that role (itself a consumer of the same agency)
SET LOCAL ROLE adv_mnd;
SELECT begin_request('adv_purpose');
SET LOCAL ROLE adv_mnd_member;
SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen')),
          '62s a context begun by another role (SET ROLE to a member role): refused');
-- 64. a cursor read after end_request, inside one transaction
SET LOCAL ROLE adv_mnd;
DECLARE cur CURSOR FOR SELECT full_name FROM citizen;
FETCH 1 FROM cur \g /dev/null
SELECT end_request();
SELECT ok(adv.refused(adv.run('FETCH 1 FROM cur')), '64s a cursor does not outlive its request context');
CLOSE cur;
SELECT begin_request('adv_purpose');
SELECT ok(adv.run('DECLARE hcur CURSOR WITH HOLD FOR SELECT full_name FROM citizen')
          LIKE 'ERROR: agency "ADV_MND" may not keep governed data in a cursor WITH HOLD%',
          '64t a cursor WITH HOLD is refused to the consumer, within its request');
-- 68. an internal role's plans and privileges do not carry over
RESET ROLE;
SET LOCAL ROLE adv_staff;
PREPARE staff_p AS SELECT string_agg(full_name, ',') AS staff_names FROM citizen;
EXECUTE staff_p \g /dev/null
RESET ROLE;
GRANT adv_staff TO adv_mnd;
SET LOCAL ROLE adv_mnd;
SELECT begin_request('adv_purpose');
EXECUTE staff_p \gset
SELECT ok(NOT adv.leaks(:'staff_names') AND :'staff_names' LIKE '%*%',
          '68 a plan made for an internal role is planned again for the consumer');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
