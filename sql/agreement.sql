--
-- One definition: what a rule means (its status from its history, the
-- elements its patterns cover, whether it applies now) is written once, in
-- src/catalog/rule.c, and SQL calls it.  Each case below is answered twice:
-- by the C path (explain_access, through the decision engine, and
-- begin_request, through the request context) and by the SQL path (the
-- govshare.rules view, the rule_check trigger, govshare.element_covers and
-- govshare.rule_active); every row must say agree = t.
--
\set VERBOSITY terse
-- a database of its own: agencies and rules are never deleted
CREATE DATABASE govshare_agreement;
\c govshare_agreement
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
-- reasons print times with timestamptz_to_str: ISO, in the session's zone
SET DateStyle = ISO;
SET TimeZone = 'UTC';

SELECT govshare.add_agency('P', 'Provider', is_self => true);
SELECT govshare.add_agency('C', 'Consumer');
CREATE ROLE agr_app LOGIN;
SELECT govshare.bind_role('agr_app', 'C');

-- elements whose codes test the patterns: "_" in codes and prefixes,
-- nested codes, a sensitive one
INSERT INTO govshare.element (code, name_vi, name_en, datatype, sensitivity)
VALUES ('agr.plain', 'x', 'plain', 'text', 'public'),
       ('agr.a_b', 'x', 'underscore', 'text', 'public'),
       ('agr.axb', 'x', 'x for the underscore', 'text', 'public'),
       ('agr.sub.deep', 'x', 'nested', 'text', 'personal'),
       ('agr.secret', 'x', 'sensitive', 'text', 'sensitive'),
       ('agr_x.y', 'x', 'underscore in the prefix', 'text', 'public'),
       ('agrx.z', 'x', 'x for it', 'text', 'public'),
       ('a_b.x', 'x', 'underscore in a short prefix', 'text', 'public'),
       ('axb.x', 'x', 'x for it', 'text', 'public');

-- one governed table with a column classified as each of them
CREATE TABLE agr_data (plain text, a_b text, axb text, sub_deep text, secret text,
                       agr_x_y text, agrx_z text, s_a_b_x text, s_axb_x text);
SELECT count(govshare.classify('agr_data', c, e))
FROM (VALUES ('plain', 'agr.plain'), ('a_b', 'agr.a_b'), ('axb', 'agr.axb'),
             ('sub_deep', 'agr.sub.deep'), ('secret', 'agr.secret'), ('agr_x_y', 'agr_x.y'),
             ('agrx_z', 'agrx.z'), ('s_a_b_x', 'a_b.x'), ('s_axb_x', 'axb.x')) v(c, e);
SELECT govshare.govern('agr_data');

-- Does the consumer's begin_request for the purpose succeed (the request
-- context's "a rule in force for the purpose")?
CREATE FUNCTION begins(purpose text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM govshare.begin_request(purpose);
	PERFORM govshare.end_request();
	RETURN true;
EXCEPTION WHEN insufficient_privilege THEN
	RETURN false;
END
$$;

-- The C path's answer for one purpose: the elements whose columns
-- explain_access grants, and the reason given for column plain.
CREATE FUNCTION c_grants(purpose text) RETURNS text[]
LANGUAGE sql AS $$
	SELECT coalesce(array_agg(x.element ORDER BY x.element COLLATE "C"), '{}')
	FROM govshare.explain_access('C', purpose, 'agr_data') x WHERE x.level <> 'denied'
$$;
CREATE FUNCTION c_reason(purpose text) RETURNS text
LANGUAGE sql AS $$
	SELECT x.reason FROM govshare.explain_access('C', purpose, 'agr_data') x WHERE x.column_name = 'plain'
$$;

--
-- (b) element patterns: decide.c's covers() and rule_check's checks, both
-- through govshare_element_covers.  "_" and "%" are no wildcards: in 0.1.0
-- the SQL side used LIKE, so "agr_.*" matched agrx.z and "a_b.*" axb.x in
-- SQL while the engine granted neither.
--
CREATE TABLE pattern_case (n int PRIMARY KEY, pattern text);
INSERT INTO pattern_case VALUES
	(1, '*'), (2, 'agr.*'), (3, 'agr_.*'), (4, 'a_b.*'), (5, 'agr.a_b'), (6, 'agr.secret'),
	(7, 'agr.sub.*'), (8, 'agr.%'), (9, 'a%.*'), (10, 'agr.pl*'), (11, 'agr.sub'), (12, '_gr.*');
SELECT govshare.add_purpose('pat_' || n, 'pattern case ' || n, 'test') FROM pattern_case ORDER BY n;

-- share() each pattern (rule_check, the SQL path, accepts or rejects it);
-- a rejected one is inserted past rule_check so that the engine is asked too
CREATE TABLE pattern_result (n int PRIMARY KEY, accepted boolean, why text);
DO $$
DECLARE
	c record;
BEGIN
	FOR c IN SELECT * FROM pattern_case ORDER BY n LOOP
		BEGIN
			PERFORM govshare.share('C', ARRAY['pat_' || c.n], ARRAY[c.pattern], 'full', legal_basis => 'test');
			INSERT INTO pattern_result VALUES (c.n, true, NULL);
		EXCEPTION WHEN invalid_parameter_value THEN
			INSERT INTO pattern_result VALUES (c.n, false, NULL);
		END;
	END LOOP;
END
$$;
ALTER TABLE govshare.rule DISABLE TRIGGER rule_check;
INSERT INTO govshare.rule (consumer, purposes, elements, level, legal_basis)
SELECT 'C', ARRAY['pat_' || c.n], ARRAY[c.pattern], 'full', 'test'
FROM pattern_case c JOIN pattern_result r USING (n) WHERE NOT r.accepted ORDER BY n;
ALTER TABLE govshare.rule ENABLE TRIGGER rule_check;

-- what each side covers: SQL by govshare.element_covers and the
-- sensitivity rule, C by the levels explain_access gives
WITH sql_side AS (
	SELECT c.n, coalesce(array_agg(el.code ORDER BY el.code COLLATE "C")
	                     FILTER (WHERE govshare.element_covers(c.pattern, el.code)
	                             AND (c.pattern = el.code OR el.sensitivity <> 'sensitive')), '{}') AS covers
	FROM pattern_case c
	CROSS JOIN govshare.element el
	WHERE el.code IN (SELECT k.element FROM govshare.classification k WHERE k.relation = 'agr_data'::regclass)
	GROUP BY c.n
)
SELECT c.n, c.pattern, govshare.element_is_pattern(c.pattern) AS is_pattern, r.accepted,
       s.covers AS sql_covers, c_grants('pat_' || c.n) AS c_covers,
       s.covers = c_grants('pat_' || c.n) AS agree
FROM pattern_case c JOIN pattern_result r USING (n) JOIN sql_side s USING (n)
ORDER BY c.n;
-- rule_check accepts a pattern exactly when it covers some element that
-- is not sensitive anywhere in the dictionary (the same function)
SELECT c.n, c.pattern, r.accepted,
       r.accepted = (govshare.element_is_pattern(c.pattern) AND EXISTS (
	       SELECT FROM govshare.element el
	       WHERE govshare.element_covers(c.pattern, el.code) AND el.sensitivity <> 'sensitive')
	     OR EXISTS (SELECT FROM govshare.element el WHERE el.code = c.pattern)) AS agree
FROM pattern_case c JOIN pattern_result r USING (n) ORDER BY c.n;
-- the old LIKE translation, for the record: where it differed
SELECT c.pattern, el.code, govshare.element_covers(c.pattern, el.code) AS covers,
       el.code LIKE replace(c.pattern, '*', '%') AS "0.1.0 LIKE"
FROM pattern_case c CROSS JOIN govshare.element el
WHERE govshare.element_is_pattern(c.pattern)
  AND govshare.element_covers(c.pattern, el.code) IS DISTINCT FROM (el.code LIKE replace(c.pattern, '*', '%'))
ORDER BY c.pattern COLLATE "C", el.code COLLATE "C";

--
-- (a) a rule's status from its history: the loader (C) and the
-- govshare.rules view (SQL) through the same fold.  One rule on
-- agr.plain per case, for a purpose of its own.
--
CREATE TABLE status_case (n int PRIMARY KEY, history text);
INSERT INTO status_case VALUES
	(1, 'share'), (2, 'share suspend'), (3, 'share suspend resume'),
	(4, 'share suspend resume suspend'), (5, 'share revoke'), (6, 'share suspend revoke'),
	(7, 'share revoke, resume refused, resume inserted'),
	(8, 'share revoke, revoke and suspend inserted'),
	(9, 'no events'), (10, 'suspend and resume inserted out of id order'),
	(11, 'share suspend, suspend refused, resume, resume refused');
SELECT govshare.add_purpose('st_' || n, 'status case ' || n, 'test') FROM status_case ORDER BY n;
SELECT n, govshare.share('C', ARRAY['st_' || n], '{agr.plain}', 'full') AS rule_id
FROM status_case WHERE n <> 9 ORDER BY n;
INSERT INTO govshare.rule (consumer, purposes, elements, level) VALUES ('C', '{st_9}', '{agr.plain}', 'full');
CREATE FUNCTION rule_of(n int) RETURNS bigint
LANGUAGE sql AS $$ SELECT r.id FROM govshare.rule r WHERE r.purposes = ARRAY['st_' || n] $$;

SELECT govshare.suspend(rule_of(2), 'case 2');
SELECT govshare.suspend(rule_of(3), 'case 3');
SELECT govshare.resume(rule_of(3));
SELECT govshare.suspend(rule_of(4), 'case 4');
SELECT govshare.resume(rule_of(4));
SELECT govshare.suspend(rule_of(4), 'case 4 again');
SELECT govshare.revoke(rule_of(5), 'case 5');
SELECT govshare.suspend(rule_of(6), 'case 6');
SELECT govshare.revoke(rule_of(6), 'case 6');
SELECT govshare.revoke(rule_of(7), 'case 7');
SELECT govshare.resume(rule_of(7));
INSERT INTO govshare.rule_event (rule_id, event, reason) VALUES (rule_of(7), 'resume', 'inserted');
SELECT govshare.revoke(rule_of(8), 'case 8, first');
INSERT INTO govshare.rule_event (rule_id, event, reason)
VALUES (rule_of(8), 'revoke', 'case 8, second'), (rule_of(8), 'suspend', 'case 8, suspend');
-- the suspend has the higher id, the resume is inserted after it
INSERT INTO govshare.rule_event (id, rule_id, event, reason)
VALUES (1000001, rule_of(10), 'suspend', 'case 10, latest'), (1000000, rule_of(10), 'resume', 'case 10, earlier');
SELECT govshare.suspend(rule_of(11), 'case 11');
SELECT govshare.suspend(rule_of(11), 'case 11 twice');
SELECT govshare.resume(rule_of(11));
SELECT govshare.resume(rule_of(11));

-- the view's status and status_since against the engine's reason, which
-- names the status and the time it began; and against begin_request
GRANT SELECT ON status_case TO agr_app;
SET ROLE agr_app;
CREATE TEMP TABLE status_begins AS SELECT n, begins('st_' || n) AS begins FROM status_case;
RESET ROLE;
SELECT c.n, c.history, r.status AS sql_status, r.status_reason,
       CASE WHEN c_grants('st_' || c.n) = '{agr.plain}' THEN 'active'
            WHEN c_reason('st_' || c.n) LIKE '%rule ' || r.id || ' was revoked on %' THEN 'revoked'
            WHEN c_reason('st_' || c.n) LIKE '%rule ' || r.id || ' is suspended since %' THEN 'suspended'
            ELSE c_reason('st_' || c.n) END AS c_status,
       b.begins,
       r.status = CASE WHEN c_grants('st_' || c.n) = '{agr.plain}' THEN 'active'
                       WHEN c_reason('st_' || c.n) LIKE '%rule ' || r.id || ' was revoked on ' || r.status_since || '%' THEN 'revoked'
                       WHEN c_reason('st_' || c.n) LIKE '%rule ' || r.id || ' is suspended since ' || r.status_since || '%' THEN 'suspended' END
       AND b.begins = (r.status = 'active') AS agree
FROM status_case c JOIN govshare.rules r ON r.id = rule_of(c.n) JOIN status_begins b USING (n)
ORDER BY c.n;

--
-- (c) "in force now": the decision engine and the request context through
-- govshare_rule_active, SQL through govshare.rule_active.
--
CREATE TABLE window_case (n int PRIMARY KEY, what text, valid_from timestamptz, valid_until timestamptz,
                          suspend boolean);
INSERT INTO window_case VALUES
	(1, 'open-ended, started', now() - interval '1 day', NULL, false),
	(2, 'starts tomorrow', now() + interval '1 day', NULL, false),
	(3, 'starts tomorrow, ends next year', now() + interval '1 day', now() + interval '1 year', false),
	(4, 'ended in 2021', '2020-01-01 00:00+00', '2021-01-01 00:00+00', false),
	(5, 'ends tomorrow', now() - interval '1 day', now() + interval '1 day', false),
	(6, 'ended a second ago', now() - interval '1 day', now() - interval '1 second', false),
	(7, 'in its window, suspended', now() - interval '1 day', now() + interval '1 day', true);
SELECT govshare.add_purpose('win_' || n, 'window case ' || n, 'test') FROM window_case ORDER BY n;
SELECT count(govshare.share('C', ARRAY['win_' || n], '{agr.plain}', 'full',
                            valid_from => valid_from, valid_until => valid_until))
FROM window_case;
SELECT count(govshare.suspend(r.id, 'case 7'))
FROM window_case w JOIN govshare.rule r ON r.purposes = ARRAY['win_' || w.n] WHERE w.suspend;
GRANT SELECT ON window_case TO agr_app;
SET ROLE agr_app;
CREATE TEMP TABLE window_begins AS SELECT n, begins('win_' || n) AS begins FROM window_case;
RESET ROLE;
SELECT w.n, w.what,
       govshare.rule_active(r.status, r.valid_from, r.valid_until, now()) AS sql_in_force,
       c_grants('win_' || w.n) = '{agr.plain}' AS c_in_force, b.begins,
       regexp_replace(regexp_replace(c_reason('win_' || w.n), '\d{4}-\d\d-\d\d [0-9:.+-]+', '<time>', 'g'),
                      'rule \d+', 'rule <id>', 'g') AS c_reason,
       govshare.rule_active(r.status, r.valid_from, r.valid_until, now()) = (c_grants('win_' || w.n) = '{agr.plain}')
       AND b.begins = govshare.rule_active(r.status, r.valid_from, r.valid_until, now()) AS agree
FROM window_case w JOIN govshare.rules r ON r.purposes = ARRAY['win_' || w.n] JOIN window_begins b USING (n)
ORDER BY w.n;

-- the SQL face's edges: open ends, the boundaries (valid_until is
-- exclusive), NULL status or time, an unknown status
SELECT govshare.rule_active('active', NULL, NULL, now()) AS open,
       govshare.rule_active('active', '2020-01-01', '2021-01-01', '2020-01-01') AS at_start,
       govshare.rule_active('active', '2020-01-01', '2021-01-01', '2021-01-01') AS at_end,
       govshare.rule_active('suspended', NULL, NULL, now()) AS suspended,
       govshare.rule_active('revoked', NULL, NULL, now()) AS revoked,
       govshare.rule_active(NULL, NULL, NULL, now()) AS no_status,
       govshare.rule_active('active', NULL, NULL, NULL) AS no_time;
SELECT govshare.rule_active('paused', NULL, NULL, now());
-- the aggregates: events in any order, the first revoke decides; no
-- events, active
SELECT govshare.rule_status(id, event), govshare.rule_status_event(id, event)
FROM (VALUES (3, 'suspend'), (1, 'share'), (5, 'revoke'), (2, 'revoke'), (4, 'resume')) e(id, event);
SELECT govshare.rule_status(id, event), govshare.rule_status_event(id, event)
FROM (VALUES (3, 'suspend'), (1, 'share'), (4, 'resume'), (2, 'suspend')) e(id, event);
SELECT govshare.rule_status(id, event), govshare.rule_status_event(id, event)
FROM (VALUES (1, 'share'), (2, 'resume'), (3, 'suspend')) e(id, event);
SELECT govshare.rule_status(e.id, e.event), govshare.rule_status_event(e.id, e.event)
FROM govshare.rule_event e WHERE false;
