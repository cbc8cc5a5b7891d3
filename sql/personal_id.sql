-- personal_id: the 12-digit personal identification number
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- Valid values, in the forms people write them.
SELECT v, v::personal_id AS canonical
FROM (VALUES ('001090123456'), ('079 203 000 001'), ('  036-185-999999  '),
             ('096.300.000.000'), ('101090123456'), ('295199000001'),
             ('001000000000'), ('001199999999')) AS t(v);

-- Invalid values: each rule, with the rule named in the DETAIL.
\set VERBOSITY default
SELECT '00109012345'::personal_id;           -- 11 digits
SELECT '0010901234567'::personal_id;         -- 13 digits
SELECT '00109012345a'::personal_id;          -- not a digit
SELECT '003090123456'::personal_id;          -- 003 is not a province
SELECT '097090123456'::personal_id;          -- 097 is not a province
SELECT '100090123456'::personal_id;          -- below the country codes
SELECT '296090123456'::personal_id;          -- above the country codes
SELECT '001399123456'::personal_id;          -- born 2099: in the future
SELECT '001990123456'::personal_id;          -- born 2390: in the future
SELECT ''::personal_id;
SELECT repeat('1', 100)::personal_id;        -- too long
SELECT '001*******4'::personal_id;           -- malformed masked form
SELECT '001/1890'::personal_id;              -- generalized year before 1900
SELECT '~123'::personal_id;                  -- malformed pseudonym
\set VERBOSITY terse

-- Extractors.
SELECT v, personal_id_province(v), personal_id_sex(v), personal_id_birth_year(v),
       personal_id_born_abroad(v)
FROM (VALUES ('001090123456'::personal_id), ('079203000001'), ('036185999999'),
             ('101190000000')) AS t(v);

-- Disclosure transforms: mask keeps the province and the last two digits,
-- generalize the province and the birth year.  Both read back as input.
SELECT v, mask(v), generalize(v), disclosure_form(mask(v)), disclosure_form(generalize(v))
FROM (VALUES ('001090123456'::personal_id), ('079203000001')) AS t(v);
SELECT mask(v)::text::personal_id = mask(v) AS masked_round_trip,
       generalize(v)::text::personal_id = generalize(v) AS generalized_round_trip,
       mask(v) = v AS masked_equals_value,
       mask(mask(v)) = mask(v) AS mask_idempotent
FROM (VALUES ('001090123456'::personal_id)) AS t(v);
SELECT personal_id_province(m), personal_id_birth_year(m), personal_id_sex(m)
FROM (VALUES (mask('001090123456'::personal_id))) AS t(m);
SELECT personal_id_province(g), personal_id_birth_year(g), personal_id_sex(g)
FROM (VALUES (generalize('001090123456'::personal_id))) AS t(g);
SELECT '~0123456789AB'::personal_id, '~0123456789ab'::personal_id,
       disclosure_form('~0123456789AB'::personal_id),
       personal_id_province('~0123456789AB');

-- Casts.
SELECT '001090123456'::personal_id::bigint, 1090123456::bigint::personal_id,
       '001090123456'::personal_id::text;
SELECT 3090123456::bigint::personal_id;     -- 003: not a province
SELECT (-1)::bigint::personal_id;
SELECT mask('001090123456'::personal_id)::bigint;

-- Storage: 8 bytes, passed by value.
SELECT typlen, typbyval, typalign FROM pg_type WHERE oid = 'personal_id'::regtype;

-- Ordering: values in numeric order, then the disclosure forms.
SELECT v FROM (VALUES ('079203000001'::personal_id), ('001090123456'),
                      ('001*******56'), ('036185999999'), ('001/1990')) AS t(v)
ORDER BY v;

-- A table, text and binary round trips.
CREATE TABLE pid_t (id personal_id PRIMARY KEY, n int);
INSERT INTO pid_t
SELECT (lpad(p::text, 3, '0') || (i % 2)::text || lpad((y % 100)::text, 2, '0')
        || lpad((i * 7919 % 1000000)::text, 6, '0'))::personal_id, i
FROM generate_series(1, 2000) AS i,
     LATERAL (SELECT (ARRAY[1, 79, 36, 96, 48])[1 + i % 5] AS p, 1950 + i % 50 AS y) AS s;
SELECT count(*), count(DISTINCT id) FROM pid_t;
COPY pid_t TO '/tmp/govshare_personal_id.bin' (FORMAT binary);
CREATE TABLE pid_copy (LIKE pid_t);
COPY pid_copy FROM '/tmp/govshare_personal_id.bin' (FORMAT binary);
SELECT count(*) FROM pid_copy c JOIN pid_t t USING (id, n);
COPY pid_t TO '/tmp/govshare_personal_id.txt';
TRUNCATE pid_copy;
COPY pid_copy FROM '/tmp/govshare_personal_id.txt';
SELECT count(*) FROM pid_copy c JOIN pid_t t USING (id, n);
SELECT personal_id_send('001090123456'), personal_id_send(mask('001090123456'::personal_id));

-- Binary input trusts nothing: a 13-digit number, a bad province, a masked
-- encoding with an out-of-range payload, and the wrong length.
CREATE TABLE raw8 (b bigint);
CREATE TABLE pid_in (id personal_id);
INSERT INTO raw8 VALUES (9999999999999);
COPY raw8 TO '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
\set VERBOSITY default
COPY pid_in FROM '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
\set VERBOSITY terse
TRUNCATE raw8; INSERT INTO raw8 VALUES (3090123456);
COPY raw8 TO '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
COPY pid_in FROM '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
TRUNCATE raw8; INSERT INTO raw8 VALUES ((1::bigint << 61) | 999999);
COPY raw8 TO '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
COPY pid_in FROM '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
CREATE TABLE raw4 (b int);
INSERT INTO raw4 VALUES (1);
COPY raw4 TO '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
COPY pid_in FROM '/tmp/govshare_personal_id_bad.bin' (FORMAT binary);
SELECT count(*) FROM pid_in;

-- Index scans, hash joins and merge joins.
ANALYZE pid_t;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT n FROM pid_t WHERE id = '001090123456';
SELECT n FROM pid_t WHERE id = (SELECT id FROM pid_t WHERE n = 42);
EXPLAIN (COSTS OFF) SELECT count(*) FROM pid_t WHERE id BETWEEN '036000000000' AND '049000000000';
SELECT count(*) FROM pid_t WHERE id BETWEEN '036000000000' AND '049000000000';
RESET enable_seqscan;
CREATE INDEX pid_t_hash ON pid_t USING hash (id);
SET enable_seqscan = off; SET enable_bitmapscan = off;
ALTER TABLE pid_t DROP CONSTRAINT IF EXISTS pid_t_pkey;
EXPLAIN (COSTS OFF) SELECT n FROM pid_t WHERE id = '001090123456';
RESET enable_seqscan; RESET enable_bitmapscan;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pid_t a JOIN pid_copy b ON a.id = b.id;
SELECT count(*) FROM pid_t a JOIN pid_copy b ON a.id = b.id;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pid_t a JOIN pid_copy b ON a.id = b.id;
SELECT count(*) FROM pid_t a JOIN pid_copy b ON a.id = b.id;
RESET enable_hashjoin; RESET enable_nestloop;
SELECT count(DISTINCT id), count(DISTINCT personal_id_province(id)) FROM pid_t;
SELECT min(id), max(id) FROM pid_t;
CREATE INDEX ON pid_copy (id);
ANALYZE pid_copy;
-- min() through the btree index: a Limit over an index-only scan (the
-- lines around them differ between PostgreSQL 15 and 17)
CREATE FUNCTION pid_plan(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	l text;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		RETURN NEXT l;
	END LOOP;
END
$$;
SELECT btrim(p) AS plan FROM pid_plan('SELECT min(id) FROM pid_copy') p
WHERE p ~ 'Limit|Index Only Scan';
DROP FUNCTION pid_plan(text);

DROP TABLE pid_t, pid_copy, raw8, raw4, pid_in;
