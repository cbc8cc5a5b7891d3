-- admin_unit: provinces and wards under the 2004 and 2025 schemes
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

SELECT v, v::admin_unit FROM (VALUES ('2025:79'), ('79'), ('2025:79.26734'), ('79.26734'),
  ('2004:30'), ('2004:01.00001'), (' 2025 : 01 ')) AS t(v);
\set VERBOSITY default
SELECT '2025:30'::admin_unit;     -- Hai Duong: merged into Hai Phong in 2025
SELECT '2004:03'::admin_unit;     -- no province 03
SELECT '2030:01'::admin_unit;     -- no such scheme
SELECT '2025:1'::admin_unit;
SELECT '2025:01.123'::admin_unit;
SELECT '2025:01.00000'::admin_unit;
SELECT 'x:01'::admin_unit;
\set VERBOSITY terse
SELECT v, admin_unit_scheme(v), admin_unit_province(v), admin_unit_province_code(v),
       admin_unit_ward_code(v), admin_unit_level(v), admin_unit_name(v), mask(v), generalize(v)
FROM (VALUES ('2025:79'::admin_unit), ('2025:79.26734'), ('2004:46'), ('2004:01.00001')) AS t(v);
SELECT v, admin_unit_to_2025(v), admin_unit_name(admin_unit_to_2025(v))
FROM (VALUES ('2004:02'::admin_unit), ('2004:30'), ('2004:74'), ('2004:95'), ('2025:79')) AS t(v);
\set VERBOSITY default
SELECT admin_unit_to_2025('2004:01.00001');
\set VERBOSITY terse
SELECT admin_unit(2025, '79'), admin_unit(2025, '79', '26734'), admin_unit(2004, '30', NULL),
       admin_unit(NULL, '79');
SELECT v FROM (VALUES ('2025:79.00001'::admin_unit), ('2025:01'), ('2004:96'), ('2025:79'),
                      ('2004:01.00004')) AS t(v) ORDER BY v;
-- 63 and 34 provinces, the same as the shipped code lists
SELECT count(*) FILTER (WHERE is_valid('2004:' || lpad(i::text, 2, '0'), 'admin_unit')) AS provinces_2004,
       count(*) FILTER (WHERE is_valid('2025:' || lpad(i::text, 2, '0'), 'admin_unit')) AS provinces_2025
FROM generate_series(0, 99) i;
SELECT count(*) FROM code c WHERE c.list IN ('province_2004', 'province_2025')
  AND NOT is_valid(substr(c.list, 10) || ':' || c.code, 'admin_unit');
SELECT pg_column_size('2025:79.26734'::admin_unit);
CREATE TABLE admin_unit_t (v admin_unit, n int);
INSERT INTO admin_unit_t SELECT admin_unit(2025, '79', lpad(i::text, 5, '0')), i FROM generate_series(1, 3000) i;

-- Binary and text round trips through COPY.
COPY admin_unit_t TO '/tmp/govshare_admin_unit.bin' (FORMAT binary);
CREATE TABLE admin_unit_copy (LIKE admin_unit_t);
COPY admin_unit_copy FROM '/tmp/govshare_admin_unit.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip FROM admin_unit_copy c JOIN admin_unit_t t USING (v, n);
TRUNCATE admin_unit_copy;
COPY admin_unit_t TO '/tmp/govshare_admin_unit.txt';
COPY admin_unit_copy FROM '/tmp/govshare_admin_unit.txt';
SELECT count(*) AS text_round_trip FROM admin_unit_copy c JOIN admin_unit_t t USING (v, n);

-- Indexes, hash joins and merge joins.
CREATE INDEX ON admin_unit_t (v);
ANALYZE admin_unit_t;
SET enable_seqscan = off;
-- an index scan for a value known at run time only (a generic plan's parameter)
SELECT v AS probe FROM admin_unit_copy WHERE n = 1 \gset
PREPARE admin_unit_probe(admin_unit) AS SELECT n FROM admin_unit_t WHERE v = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE admin_unit_probe(:'probe');
RESET plan_cache_mode;
DEALLOCATE admin_unit_probe;
SELECT count(*) FROM admin_unit_t WHERE v = (SELECT v FROM admin_unit_copy WHERE n = 1);
RESET enable_seqscan;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM admin_unit_t a JOIN admin_unit_copy b ON a.v = b.v;
SELECT count(*) FROM admin_unit_t a JOIN admin_unit_copy b ON a.v = b.v;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM admin_unit_t a JOIN admin_unit_copy b ON a.v = b.v;
SELECT count(*) FROM admin_unit_t a JOIN admin_unit_copy b ON a.v = b.v;
RESET enable_hashjoin; RESET enable_nestloop;
CREATE INDEX ON admin_unit_t USING hash (v);
SELECT count(DISTINCT v) = count(*) AS distinct_values FROM admin_unit_t;
SELECT min(v) = (SELECT v FROM admin_unit_t ORDER BY v LIMIT 1) AS min_ok,
       max(v) = (SELECT v FROM admin_unit_t ORDER BY v DESC LIMIT 1) AS max_ok FROM admin_unit_t;
DROP TABLE admin_unit_t, admin_unit_copy;
