-- partial_date: a date known to the year, month or day
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

SELECT v, v::partial_date FROM (VALUES ('1990'), ('1990-05'), ('1990-05-15'), ('15/05/1990'),
  ('5/1990'), ('05/1990'), ('2000-02-29'), ('0001'), ('9999-12-31')) AS t(v);
\set VERBOSITY default
SELECT '1990-13'::partial_date;
SELECT '1990-00'::partial_date;
SELECT '1990-04-31'::partial_date;
SELECT '1900-02-29'::partial_date;    -- 1900 was not a leap year
SELECT '0000'::partial_date;
SELECT '90'::partial_date;
SELECT '1990-5'::partial_date;
SELECT '32/01/1990'::partial_date;
SELECT '1990/05'::partial_date;
SELECT 'yesterday'::partial_date;
\set VERBOSITY terse
SELECT v, partial_date_year(v), partial_date_month(v), partial_date_day(v), partial_date_precision(v),
       partial_date_lower(v), partial_date_upper(v), mask(v), generalize(v)
FROM (VALUES ('1990'::partial_date), ('2000-02'), ('1990-05-15')) AS t(v);
SELECT partial_date_contains('1990', '1990-12-31'), partial_date_contains('1990-05', '1990-06-01'),
       '1990-05-15'::date::partial_date, ('1990-05-15'::date)::partial_date = '1990-05-15';
SELECT 'infinity'::date::partial_date;
SELECT v FROM (VALUES ('1990-02'::partial_date), ('1990'), ('1990-01-31'), ('1989-12-31'),
                      ('1990-01')) AS t(v) ORDER BY v;
CREATE TABLE partial_date_t (v partial_date, n int);
INSERT INTO partial_date_t SELECT ('1900-01-01'::date + i * 17)::partial_date, i FROM generate_series(1, 3000) i;

-- Binary and text round trips through COPY.
COPY partial_date_t TO '/tmp/govshare_partial_date.bin' (FORMAT binary);
CREATE TABLE partial_date_copy (LIKE partial_date_t);
COPY partial_date_copy FROM '/tmp/govshare_partial_date.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip FROM partial_date_copy c JOIN partial_date_t t USING (v, n);
TRUNCATE partial_date_copy;
COPY partial_date_t TO '/tmp/govshare_partial_date.txt';
COPY partial_date_copy FROM '/tmp/govshare_partial_date.txt';
SELECT count(*) AS text_round_trip FROM partial_date_copy c JOIN partial_date_t t USING (v, n);

-- Indexes, hash joins and merge joins.
CREATE INDEX ON partial_date_t (v);
ANALYZE partial_date_t;
SET enable_seqscan = off;
-- an index scan for a value known at run time only (a generic plan's parameter)
SELECT v AS probe FROM partial_date_copy WHERE n = 1 \gset
PREPARE partial_date_probe(partial_date) AS SELECT n FROM partial_date_t WHERE v = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE partial_date_probe(:'probe');
RESET plan_cache_mode;
DEALLOCATE partial_date_probe;
SELECT count(*) FROM partial_date_t WHERE v = (SELECT v FROM partial_date_copy WHERE n = 1);
RESET enable_seqscan;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM partial_date_t a JOIN partial_date_copy b ON a.v = b.v;
SELECT count(*) FROM partial_date_t a JOIN partial_date_copy b ON a.v = b.v;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM partial_date_t a JOIN partial_date_copy b ON a.v = b.v;
SELECT count(*) FROM partial_date_t a JOIN partial_date_copy b ON a.v = b.v;
RESET enable_hashjoin; RESET enable_nestloop;
CREATE INDEX ON partial_date_t USING hash (v);
SELECT count(DISTINCT v) = count(*) AS distinct_values FROM partial_date_t;
SELECT min(v) = (SELECT v FROM partial_date_t ORDER BY v LIMIT 1) AS min_ok,
       max(v) = (SELECT v FROM partial_date_t ORDER BY v DESC LIMIT 1) AS max_ok FROM partial_date_t;
DROP TABLE partial_date_t, partial_date_copy;
