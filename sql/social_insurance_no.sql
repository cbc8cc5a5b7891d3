-- social_insurance_no: 10 digits
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

SELECT v, v::social_insurance_no FROM (VALUES ('0123456789'), ('79 1234 5678'), ('01-2345-6789')) AS t(v);
\set VERBOSITY default
SELECT '012345678'::social_insurance_no;
SELECT '01234567890'::social_insurance_no;
SELECT '012345678x'::social_insurance_no;
SELECT '01***567**'::social_insurance_no;
\set VERBOSITY terse
SELECT v, mask(v), generalize(v), social_insurance_no_province(v),
       social_insurance_no_province(mask(v)), social_insurance_no_province(generalize(v)),
       mask(v)::text::social_insurance_no = mask(v) AS m_ok,
       generalize(v)::text::social_insurance_no = generalize(v) AS g_ok
FROM (VALUES ('0123456789'::social_insurance_no)) AS t(v);
SELECT '0123456789'::social_insurance_no::bigint, 123456789::bigint::social_insurance_no;
SELECT 12345678901::bigint::social_insurance_no;
-- generalize never reveals more than its input, nor more than generalize
SELECT generalize(mask('0123456789'::social_insurance_no)) = generalize('0123456789'::social_insurance_no) AS generalize_of_masked;
CREATE TABLE social_insurance_no_t (v social_insurance_no, n int);
INSERT INTO social_insurance_no_t SELECT (i * 3331)::bigint::social_insurance_no, i FROM generate_series(1, 3000) i;

-- Binary and text round trips through COPY.
COPY social_insurance_no_t TO '/tmp/govshare_social_insurance_no.bin' (FORMAT binary);
CREATE TABLE social_insurance_no_copy (LIKE social_insurance_no_t);
COPY social_insurance_no_copy FROM '/tmp/govshare_social_insurance_no.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip FROM social_insurance_no_copy c JOIN social_insurance_no_t t USING (v, n);
TRUNCATE social_insurance_no_copy;
COPY social_insurance_no_t TO '/tmp/govshare_social_insurance_no.txt';
COPY social_insurance_no_copy FROM '/tmp/govshare_social_insurance_no.txt';
SELECT count(*) AS text_round_trip FROM social_insurance_no_copy c JOIN social_insurance_no_t t USING (v, n);

-- Indexes, hash joins and merge joins.
CREATE INDEX ON social_insurance_no_t (v);
ANALYZE social_insurance_no_t;
SET enable_seqscan = off;
-- an index scan for a value known at run time only (a generic plan's parameter)
SELECT v AS probe FROM social_insurance_no_copy WHERE n = 1 \gset
PREPARE social_insurance_no_probe(social_insurance_no) AS SELECT n FROM social_insurance_no_t WHERE v = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE social_insurance_no_probe(:'probe');
RESET plan_cache_mode;
DEALLOCATE social_insurance_no_probe;
SELECT count(*) FROM social_insurance_no_t WHERE v = (SELECT v FROM social_insurance_no_copy WHERE n = 1);
RESET enable_seqscan;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM social_insurance_no_t a JOIN social_insurance_no_copy b ON a.v = b.v;
SELECT count(*) FROM social_insurance_no_t a JOIN social_insurance_no_copy b ON a.v = b.v;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM social_insurance_no_t a JOIN social_insurance_no_copy b ON a.v = b.v;
SELECT count(*) FROM social_insurance_no_t a JOIN social_insurance_no_copy b ON a.v = b.v;
RESET enable_hashjoin; RESET enable_nestloop;
CREATE INDEX ON social_insurance_no_t USING hash (v);
SELECT count(DISTINCT v) = count(*) AS distinct_values FROM social_insurance_no_t;
SELECT min(v) = (SELECT v FROM social_insurance_no_t ORDER BY v LIMIT 1) AS min_ok,
       max(v) = (SELECT v FROM social_insurance_no_t ORDER BY v DESC LIMIT 1) AS max_ok FROM social_insurance_no_t;
DROP TABLE social_insurance_no_t, social_insurance_no_copy;
