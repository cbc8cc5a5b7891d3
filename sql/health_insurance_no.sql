-- health_insurance_no: 15-character card code
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

SELECT v, v::health_insurance_no FROM (VALUES ('DN4010123456789'), ('dn 4 01 0123456789'),
  ('HT2790000000001'), ('CA1980000000002'), ('GD5960123456789')) AS t(v);
\set VERBOSITY default
SELECT 'ZZ4010123456789'::health_insurance_no;    -- unknown participant group
SELECT 'D14010123456789'::health_insurance_no;    -- not two letters
SELECT 'DN6010123456789'::health_insurance_no;    -- benefit level 6
SELECT 'DN0010123456789'::health_insurance_no;    -- benefit level 0
SELECT 'DN4030123456789'::health_insurance_no;    -- 03 is no province
SELECT 'DN401012345678'::health_insurance_no;     -- 14 characters
SELECT 'DN40101234567X9'::health_insurance_no;
\set VERBOSITY terse
SELECT v, mask(v), generalize(v), health_insurance_no_participant(v), health_insurance_no_benefit_level(v),
       health_insurance_no_province(v), health_insurance_no_social_insurance_no(v)
FROM (VALUES ('DN4010123456789'::health_insurance_no)) AS t(v);
SELECT health_insurance_no_participant(m), health_insurance_no_benefit_level(m),
       health_insurance_no_province(m), health_insurance_no_social_insurance_no(m),
       m::text::health_insurance_no = m AS round_trip
FROM (VALUES (mask('DN4010123456789'::health_insurance_no)),
             (generalize('DN4010123456789'::health_insurance_no))) AS t(m);
SELECT v FROM (VALUES ('HT2790000000001'::health_insurance_no), ('DN4010123456789'),
                      ('DN3790000000001'), ('CA1980000000002')) AS t(v) ORDER BY v;
-- generalize never reveals more than its input, nor more than generalize
SELECT generalize(mask('DN4010123456789'::health_insurance_no)) = generalize('DN4010123456789'::health_insurance_no) AS generalize_of_masked;
CREATE TABLE health_insurance_no_t (v health_insurance_no, n int);
INSERT INTO health_insurance_no_t
SELECT ((ARRAY['DN','HT','GD','TE'])[1 + i % 4] || (1 + i % 5)::text || '79' || lpad((i * 7)::text, 10, '0'))::health_insurance_no, i
FROM generate_series(1, 3000) i;

-- Binary and text round trips through COPY.
COPY health_insurance_no_t TO '/tmp/govshare_health_insurance_no.bin' (FORMAT binary);
CREATE TABLE health_insurance_no_copy (LIKE health_insurance_no_t);
COPY health_insurance_no_copy FROM '/tmp/govshare_health_insurance_no.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip FROM health_insurance_no_copy c JOIN health_insurance_no_t t USING (v, n);
TRUNCATE health_insurance_no_copy;
COPY health_insurance_no_t TO '/tmp/govshare_health_insurance_no.txt';
COPY health_insurance_no_copy FROM '/tmp/govshare_health_insurance_no.txt';
SELECT count(*) AS text_round_trip FROM health_insurance_no_copy c JOIN health_insurance_no_t t USING (v, n);

-- Indexes, hash joins and merge joins.
CREATE INDEX ON health_insurance_no_t (v);
ANALYZE health_insurance_no_t;
SET enable_seqscan = off;
-- an index scan for a value known at run time only (a generic plan's parameter)
SELECT v AS probe FROM health_insurance_no_copy WHERE n = 1 \gset
PREPARE health_insurance_no_probe(health_insurance_no) AS SELECT n FROM health_insurance_no_t WHERE v = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE health_insurance_no_probe(:'probe');
RESET plan_cache_mode;
DEALLOCATE health_insurance_no_probe;
SELECT count(*) FROM health_insurance_no_t WHERE v = (SELECT v FROM health_insurance_no_copy WHERE n = 1);
RESET enable_seqscan;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM health_insurance_no_t a JOIN health_insurance_no_copy b ON a.v = b.v;
SELECT count(*) FROM health_insurance_no_t a JOIN health_insurance_no_copy b ON a.v = b.v;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM health_insurance_no_t a JOIN health_insurance_no_copy b ON a.v = b.v;
SELECT count(*) FROM health_insurance_no_t a JOIN health_insurance_no_copy b ON a.v = b.v;
RESET enable_hashjoin; RESET enable_nestloop;
CREATE INDEX ON health_insurance_no_t USING hash (v);
SELECT count(DISTINCT v) = count(*) AS distinct_values FROM health_insurance_no_t;
SELECT min(v) = (SELECT v FROM health_insurance_no_t ORDER BY v LIMIT 1) AS min_ok,
       max(v) = (SELECT v FROM health_insurance_no_t ORDER BY v DESC LIMIT 1) AS max_ok FROM health_insurance_no_t;
DROP TABLE health_insurance_no_t, health_insurance_no_copy;
