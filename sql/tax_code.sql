-- tax_code: 10 digits with a mod-11 check digit, optional branch
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- Valid codes (0100109106 is the published tax code of Viettel Group).
SELECT v, v::tax_code FROM (VALUES ('0100109106'), ('0100109106-001'), (' 0100109106 001 '),
  ('0100109106001'), ('0100109106.'), ('0100109106-999')) AS t(v);

-- Invalid codes, each rule with its DETAIL.
\set VERBOSITY default
SELECT '0100109107'::tax_code;        -- wrong check digit
SELECT '0100000006'::tax_code;        -- sequence 0000000
SELECT '0100109106-000'::tax_code;    -- branch 000
SELECT '010010910'::tax_code;         -- 9 digits
SELECT '01001091060012'::tax_code;    -- 14 digits
SELECT '0100109106-'::tax_code;
SELECT '01001-09106'::tax_code;
SELECT '0100109106-01'::tax_code;
SELECT '0100000050'::tax_code;        -- weighted sum divisible by 11: no valid code
SELECT ''::tax_code;
\set VERBOSITY terse

-- Extractors.
SELECT v, tax_code_branch(v), tax_code_base(v), tax_code_is_branch(v)
FROM (VALUES ('0100109106'::tax_code), ('0100109106-023'),
             (mask('0100109106-023'::tax_code)), (generalize('0100109106'::tax_code))) AS t(v);

-- Disclosure transforms, and their text read back.
SELECT v, mask(v), generalize(v), mask(v)::text::tax_code = mask(v) AS m_ok,
       generalize(v)::text::tax_code = generalize(v) AS g_ok, disclosure_form(mask(v))
FROM (VALUES ('0100109106'::tax_code), ('0100109106-001')) AS t(v);
SELECT '010*****06-*'::tax_code;
SELECT '~0123456789AB'::tax_code, tax_code_branch('~0123456789AB');

-- Ordering follows the text: a code before its branches.
SELECT v FROM (VALUES ('0100109106-002'::tax_code), ('0100109106'), ('0100109106-001'),
                      ('0100686209')) AS t(v) ORDER BY v;

-- Binary input trusts nothing: a branch-less base with a bad check digit.
CREATE TABLE raw8 (b bigint);
INSERT INTO raw8 VALUES (100109107000);
COPY raw8 TO '/tmp/govshare_tax_code_bad.bin' (FORMAT binary);
CREATE TABLE tc_in (v tax_code);
\set VERBOSITY default
COPY tc_in FROM '/tmp/govshare_tax_code_bad.bin' (FORMAT binary);
\set VERBOSITY terse
DROP TABLE raw8, tc_in;

-- A table of valid codes: 9 digits, their check digit, some branches.
-- generalize never reveals more than its input, nor more than generalize
SELECT generalize(mask('0100109106-001'::tax_code)) = generalize('0100109106-001'::tax_code) AS generalize_of_masked;
CREATE TABLE tax_code_t (v tax_code, n int);
INSERT INTO tax_code_t
SELECT (d || c::text || CASE WHEN i % 3 = 0 THEN '-' || lpad((i % 997 + 1)::text, 3, '0') ELSE '' END)::tax_code, i
FROM (SELECT i, lpad((10000000 + i * 7)::text, 9, '0') AS d FROM generate_series(1, 3000) AS i) s,
     LATERAL (SELECT 10 - (substr(d,1,1)::int*31 + substr(d,2,1)::int*29 + substr(d,3,1)::int*23
                          + substr(d,4,1)::int*19 + substr(d,5,1)::int*17 + substr(d,6,1)::int*13
                          + substr(d,7,1)::int*7 + substr(d,8,1)::int*5 + substr(d,9,1)::int*3) % 11 AS c) k
WHERE c < 10;
SELECT count(*) > 2000 AS enough FROM tax_code_t;

-- Binary and text round trips through COPY.
COPY tax_code_t TO '/tmp/govshare_tax_code.bin' (FORMAT binary);
CREATE TABLE tax_code_copy (LIKE tax_code_t);
COPY tax_code_copy FROM '/tmp/govshare_tax_code.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip FROM tax_code_copy c JOIN tax_code_t t USING (v, n);
TRUNCATE tax_code_copy;
COPY tax_code_t TO '/tmp/govshare_tax_code.txt';
COPY tax_code_copy FROM '/tmp/govshare_tax_code.txt';
SELECT count(*) AS text_round_trip FROM tax_code_copy c JOIN tax_code_t t USING (v, n);

-- Indexes, hash joins and merge joins.
CREATE INDEX ON tax_code_t (v);
ANALYZE tax_code_t;
SET enable_seqscan = off;
-- an index scan for a value known at run time only (a generic plan's parameter)
SELECT v AS probe FROM tax_code_copy WHERE n = 1 \gset
PREPARE tax_code_probe(tax_code) AS SELECT n FROM tax_code_t WHERE v = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE tax_code_probe(:'probe');
RESET plan_cache_mode;
DEALLOCATE tax_code_probe;
SELECT count(*) FROM tax_code_t WHERE v = (SELECT v FROM tax_code_copy WHERE n = 1);
RESET enable_seqscan;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM tax_code_t a JOIN tax_code_copy b ON a.v = b.v;
SELECT count(*) FROM tax_code_t a JOIN tax_code_copy b ON a.v = b.v;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM tax_code_t a JOIN tax_code_copy b ON a.v = b.v;
SELECT count(*) FROM tax_code_t a JOIN tax_code_copy b ON a.v = b.v;
RESET enable_hashjoin; RESET enable_nestloop;
CREATE INDEX ON tax_code_t USING hash (v);
SELECT count(DISTINCT v) = count(*) AS distinct_values FROM tax_code_t;
SELECT min(v) = (SELECT v FROM tax_code_t ORDER BY v LIMIT 1) AS min_ok,
       max(v) = (SELECT v FROM tax_code_t ORDER BY v DESC LIMIT 1) AS max_ok FROM tax_code_t;
DROP TABLE tax_code_t, tax_code_copy;
