-- login: adv_mnd_ni
-- test/adversarial/noinherit.sql — the consumer's application logs in as a
-- role that is a NOINHERIT member of the consumer's role, and a member of
-- an internal role that may read the table: it is a consumer all the same
-- (any membership counts), as itself and after SET ROLE.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset format unaligned
\pset tuples_only on
SELECT no_plan();
SET search_path = public, govshare;
SET client_min_messages = warning;

SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen')),
          '99 a NOINHERIT member of the consumer''s role, without a context: refused');
SET ROLE adv_staff;
SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen')),
          '99b ... after SET ROLE to an internal role it belongs to: still a consumer, refused');
SELECT ok(adv.refused(adv.rows('SELECT adv.staff_names()')),
          '99c ... and through that role''s SECURITY DEFINER function');
RESET ROLE;
SELECT begin_request('adv_purpose');
SELECT is(adv.rows('SELECT agency FROM current_request()'), '(ADV_MND)', '99d it acts for the consumer agency');
SELECT ok(NOT adv.leaks(adv.rows('SELECT personal_id, full_name FROM citizen')) AND
          adv.rows('SELECT count(*) FROM citizen') = '(2)', '99e and reads what the agreement gives, masked and filtered');
SET ROLE adv_staff;
SELECT ok(adv.refused(adv.rows('SELECT full_name FROM citizen')),
          '99f after SET ROLE to the internal role, its context does not apply: refused');
RESET ROLE;

SELECT * FROM finish();
