--
-- Quotas and usage (issue 20): set_quota, govshare.quotas, refusals with
-- SQLSTATE 53400 recorded as denials, govshare.usage.  Concurrency and
-- restarts: test/t/033_quota_concurrency.pl.
--
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE DATABASE govshare_quota;
\c govshare_quota
CREATE EXTENSION govshare;
SET search_path = public, govshare;

CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text);
INSERT INTO citizen SELECT lpad((79000000000 + i)::text, 12, '0')::personal_id, 'Citizen ' || i
  FROM generate_series(1, 10) i;
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'), govern('citizen');
SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Call-up', 'Law 78/2015/QH13');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'masked');
CREATE ROLE quota_mnd LOGIN;
SELECT bind_role('quota_mnd', 'MND');

-- set_quota checks what it is given
SELECT set_quota('MPS', 'military_service', rows_per_day => 1);
SELECT set_quota('NOBODY', 'military_service', rows_per_day => 1);
SELECT set_quota('MND', 'nothing', rows_per_day => 1);
SELECT set_quota('MND', 'military_service', rows_per_day => -1);
-- the table checks too
INSERT INTO quota (consumer, purpose, rows_per_day) VALUES ('MND', 'military_service', -5);
SELECT set_quota('MND', 'military_service', statements_per_minute => 1000, rows_per_day => 12);
SELECT consumer, purpose, statements_per_minute, rows_per_day, verify_per_minute FROM quotas;
-- all NULL: no quota
SELECT set_quota('MND', 'military_service');
SELECT count(*) FROM quotas;
SELECT set_quota('MND', 'military_service', statements_per_minute => 1000, rows_per_day => 12);

\c - quota_mnd
SET search_path = public, govshare;
SELECT begin_request('military_service');
SELECT count(*) FROM (SELECT personal_id FROM citizen LIMIT 10) s;   -- 1 row
SELECT personal_id FROM citizen ORDER BY 1 LIMIT 10;                 -- 10 rows: 11
-- the 13th row of the day would pass rows_per_day: the statement stops
SELECT personal_id FROM citizen ORDER BY 1 LIMIT 5;
-- and the next is refused before it runs
SELECT count(*) FROM citizen;
SELECT audit_flush();
-- a statement that reads nothing governed is not counted nor refused
SELECT 1 AS ungoverned;
SELECT end_request();

\c - postgres
SET search_path = public, govshare;
SELECT consumer, rows_per_day, rows_today FROM quotas;
SELECT agency, purpose, regexp_replace(reason, '\d{4}-\d\d-\d\d', 'YYYY-MM-DD', 'g') AS reason
  FROM audit_denied ORDER BY seq;
-- what the day used, per agency and purpose
SELECT agency, purpose, statements, rows, verify_calls, denials, bytes > 0 AS bytes,
       exec_seconds >= 0 AS timed
  FROM usage;
SELECT usage_refresh() > 0 AS summed;
SELECT agency, purpose, statements, rows, verify_calls, denials FROM usage;
SELECT usage_refresh() AS nothing_new;
-- a consumer reads neither quotas nor usage
\c - quota_mnd
SELECT count(*) FROM govshare.quotas;
SELECT count(*) FROM govshare.usage;
SELECT govshare.usage_refresh();
\c - postgres

\c postgres
DROP DATABASE govshare_quota;
DROP ROLE quota_mnd;
