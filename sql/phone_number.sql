-- phone_number: telephone numbers in E.164 form, Vietnamese numbering plan
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- Whether text input accepts a string (pg_input_is_valid arrives in 16).
CREATE FUNCTION pn_ok(s text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM s::phone_number;
	RETURN true;
EXCEPTION WHEN invalid_text_representation THEN
	RETURN false;
END $$;

-- Valid Vietnamese values, in the forms people write them.
SELECT v, v::phone_number AS canonical
FROM (VALUES ('0912345678'), ('+84 91 234 5678'), ('84912345678'), ('+84912345678'),
             ('0084912345678'), ('(+84) 91-234.5678'), ('  091 234 5678  '),
             ('(0) 91 234 56 78'), ('0323456789'), ('0999999999'), ('0521000000'),
             ('024 3825 1234'), ('028.3825.1234'), ('0203 382 5123'), ('+84 299 382 5123'),
             ('842438251234'), ('00842438251234')) AS t(v);

-- Mobile prefixes (0AB + 7 digits) that input accepts, and fixed-line
-- prefixes (0AB + 8 digits): exactly the lists of the numbering plan.
-- (01X + 8 digits is an old mobile number, tested below.)
SELECT string_agg(p::text, ' ' ORDER BY p) AS mobile_prefixes
FROM generate_series(10, 99) AS p WHERE pn_ok('0' || p || '1234567');
SELECT string_agg(p::text, ' ' ORDER BY p) AS fixed_prefixes
FROM generate_series(20, 99) AS p WHERE pn_ok('0' || p || '12345678');

-- Old 11-digit mobile numbers (before 2018) map to their new prefix, in
-- every written form.
SELECT old, ('0' || old || '1234567')::phone_number AS national,
       ('+84 ' || old || '1234567')::phone_number AS international,
       ('84' || old || '1234567')::phone_number AS bare_84,
       ('0084' || old || '1234567')::phone_number AS prefix_00
FROM unnest(ARRAY['120', '121', '122', '123', '124', '125', '126', '127', '128', '129',
                  '162', '163', '164', '165', '166', '167', '168', '169',
                  '186', '188', '199']) AS old;
SELECT string_agg(p::text, ' ' ORDER BY p) AS other_01xy_refused
FROM generate_series(100, 199) AS p WHERE NOT pn_ok('0' || p || '1234567');
SELECT '01623456789'::phone_number = '0323456789'::phone_number AS old_equals_new;

-- Foreign numbers: only after + or 00.  Country codes split by the E.164
-- prefix structure (1 and 7; the 2-digit list; 3 digits otherwise, whether
-- assigned or not).
SELECT v, v::phone_number AS canonical, phone_number_country_code(v::phone_number) AS cc,
       phone_number_national(v::phone_number) AS national
FROM (VALUES ('+1 202 555 0143'), ('001 650 555 0123'), ('+7 495 123-45-67'),
             ('+44 20 7946 0958'), ('+39 06 6982 1234'), ('+33 1 23 45 67 89'),
             ('+880 1712 345678'), ('+855 23 123 456'), ('+999 1234'),
             ('+1 2025'), ('+1 20255501430123'), ('+44 1234'), ('+44 1234567890123'),
             ('+999 123456789012'), ('+86 10 1234 5678'), ('+852 2123 4567')) AS t(v);

-- Invalid values: each rule, with the rule named in the DETAIL and never
-- the number itself.
\set VERBOSITY default
SELECT '091234567'::phone_number;            -- mobile: 8 digits after the 0
SELECT '09123456789'::phone_number;          -- mobile: 10 digits after the 0
SELECT '+84 91 234 567'::phone_number;       -- mobile: 8 digits after 84
SELECT '0951234567'::phone_number;           -- 095: no such prefix
SELECT '0801234567'::phone_number;           -- 080: no such prefix
SELECT '0212345678'::phone_number;           -- fixed line: 9 digits after the 0
SELECT '+84 24 3825 12345'::phone_number;    -- fixed line: 11 digits after 84
SELECT '01311234567'::phone_number;          -- 0131: not even an old prefix
SELECT '0162345678'::phone_number;           -- old prefix, 9 digits after the 0
SELECT '+84 0912345678'::phone_number;       -- trunk 0 after the country code
SELECT '912345678'::phone_number;            -- no trunk 0, no country code
SELECT '1 202 555 0143'::phone_number;       -- a foreign number without +
SELECT '+1 202'::phone_number;               -- NSN too short
SELECT '+1 202 555 0143 12345'::phone_number; -- more than 15 digits
SELECT '+999 1234567890123'::phone_number;   -- more than 15 digits
SELECT '+0 123 4567'::phone_number;          -- country codes never start with 0
SELECT '+84'::phone_number;                  -- nothing after the country code
SELECT '0'::phone_number;                    -- nothing after the trunk 0
SELECT '+84 91 234 567x'::phone_number;      -- not a digit
SELECT '+84 +91 234 5678'::phone_number;     -- + inside
SELECT '+84/912345678'::phone_number;        -- not a separator
SELECT ''::phone_number;
SELECT repeat('1', 100)::phone_number;       -- too long
SELECT '+8495*****78'::phone_number;         -- masked: 095 is no prefix
SELECT '+8491****78'::phone_number;          -- masked: 8 digits under +84
SELECT '+44*******'::phone_number;           -- long NSN must show 2 digits
SELECT '+4420**'::phone_number;              -- short NSN shows stars only
SELECT '+4420*****5'::phone_number;          -- one digit at the end
SELECT '+44**12'::phone_number;              -- digits at the end only
SELECT '+4420**1**58'::phone_number;         -- stars not contiguous
SELECT '8491*****78'::phone_number;          -- no +
SELECT '+88****'::phone_number;              -- incomplete country code
SELECT '~123'::phone_number;                 -- malformed pseudonym
\set VERBOSITY terse

-- Extractors on every form.
SELECT v, disclosure_form(v), phone_number_country_code(v) AS cc,
       phone_number_national(v) AS national, phone_number_is_mobile(v) AS mobile
FROM (VALUES ('0912345678'::phone_number), ('02438251234'), ('+44 20 7946 0958'),
             ('+1 2025'), ('+8491*****78'), ('+8491*******'), ('+8424******34'),
             ('+8424********'), ('+4420*****58'), ('+44****'),
             ('~0123456789AB')) AS t(v);

-- Disclosure transforms: mask keeps the country code, the first and last
-- two digits of the national significant number and its length (one star
-- per hidden digit); generalize keeps the country code and the first two
-- digits.  A national significant number under 7 digits shows stars only.
SELECT v, mask(v), generalize(v), disclosure_form(mask(v)) AS mask_form,
       disclosure_form(generalize(v)) AS generalize_form,
       length(v::text) = length(mask(v)::text) AND length(v::text) = length(generalize(v)::text)
         AS same_length
FROM (VALUES ('0912345678'::phone_number), ('02438251234'), ('+1 202 555 0143'),
             ('+880 1712 345678'), ('+39 06 6982 1234'), ('+999 123456789012'),
             ('+44 1234567'), ('+44 123456'), ('+1 2025'), ('+999 1234')) AS t(v);
SELECT mask(v)::text::phone_number = mask(v) AS masked_round_trip,
       generalize(v)::text::phone_number = generalize(v) AS generalized_round_trip,
       mask(v) = v AS masked_equals_value,
       mask(mask(v)) = mask(v) AS mask_idempotent,
       generalize(mask(v)) = generalize(v) AS generalize_of_masked,
       mask(generalize(v)) = generalize(v) AS mask_of_generalized,
       generalize(generalize(v)) = generalize(v) AS generalize_idempotent
FROM (VALUES ('0912345678'::phone_number), ('+44 123456'), ('+1 202 555 0143')) AS t(v);
SELECT mask(v), generalize(v)
FROM (VALUES ('~0123456789AB'::phone_number)) AS t(v);
SELECT '~0123456789ab'::phone_number = '~0123456789AB' AS pseudonym_case_insensitive;

-- Casts.
SELECT '0912345678'::phone_number::bigint, 84912345678::bigint::phone_number,
       12025550143::bigint::phone_number, '0912345678'::phone_number::text;
SELECT to_bigint('02438251234'::phone_number), phone_number(442079460958);
\set VERBOSITY default
SELECT 841623456789::bigint::phone_number;  -- old number: not canonical
SELECT 84951234567::bigint::phone_number;   -- 095
SELECT 1234::bigint::phone_number;          -- too short
SELECT 1234567890123456::bigint::phone_number; -- 16 digits
SELECT (-1)::bigint::phone_number;
SELECT mask('0912345678'::phone_number)::bigint;
\set VERBOSITY terse

-- Storage: 8 bytes, passed by value.
SELECT typlen, typbyval, typalign FROM pg_type WHERE oid = 'phone_number'::regtype;

-- Ordering: value forms by their E.164 digits as a number (so shorter
-- numbers first), then masked, generalized and pseudonym forms.
SELECT v FROM (VALUES ('0912345678'::phone_number), ('+44 20 7946 0958'), ('+1 2025'),
                      ('+8491*****78'), ('~0123456789AB'), ('+8491*******'),
                      ('0323456789'), ('+1 202 555 0143')) AS t(v)
ORDER BY v;

-- A table, text and binary round trips.
CREATE TABLE pn_t (p phone_number PRIMARY KEY, n int);
INSERT INTO pn_t
SELECT (CASE i % 4
        WHEN 0 THEN '0' || (ARRAY['32', '91', '86', '70', '59'])[1 + i % 5]
                    || lpad((i * 7919 % 10000000)::text, 7, '0')
        WHEN 1 THEN '024 ' || lpad((i * 104729 % 100000000)::text, 8, '0')
        WHEN 2 THEN '+1 202 ' || lpad((i * 31 % 10000000)::text, 7, '0')
        ELSE '+44 20 ' || lpad(i::text, 8, '0') END)::phone_number, i
FROM generate_series(1, 2000) AS i;
SELECT count(*), count(DISTINCT p), count(DISTINCT phone_number_country_code(p)) FROM pn_t;
COPY pn_t TO '/tmp/govshare_phone_number.bin' (FORMAT binary);
CREATE TABLE pn_copy (LIKE pn_t);
COPY pn_copy FROM '/tmp/govshare_phone_number.bin' (FORMAT binary);
SELECT count(*) FROM pn_copy c JOIN pn_t t USING (p, n);
COPY pn_t TO '/tmp/govshare_phone_number.txt';
TRUNCATE pn_copy;
COPY pn_copy FROM '/tmp/govshare_phone_number.txt';
SELECT count(*) FROM pn_copy c JOIN pn_t t USING (p, n);
-- Disclosure forms round-trip too.
CREATE TABLE pn_forms (p phone_number, n int);
INSERT INTO pn_forms SELECT mask(p), n FROM pn_t WHERE n <= 4;
INSERT INTO pn_forms SELECT generalize(p), n + 10 FROM pn_t WHERE n <= 4;
INSERT INTO pn_forms VALUES ('+44****', 21), ('+999****', 22), ('~0123456789AB', 23);
SELECT * FROM pn_forms ORDER BY n;
COPY pn_forms TO '/tmp/govshare_phone_number_forms.bin' (FORMAT binary);
CREATE TABLE pn_forms_copy (LIKE pn_forms);
COPY pn_forms_copy FROM '/tmp/govshare_phone_number_forms.bin' (FORMAT binary);
SELECT count(*) FROM pn_forms_copy c JOIN pn_forms f USING (p, n);
TRUNCATE pn_forms_copy;
COPY pn_forms TO '/tmp/govshare_phone_number_forms.txt';
COPY pn_forms_copy FROM '/tmp/govshare_phone_number_forms.txt';
SELECT count(*) FROM pn_forms_copy c JOIN pn_forms f USING (p, n);
SELECT phone_number_send('0912345678'), phone_number_send(mask('0912345678'::phone_number)),
       phone_number_send(generalize('0912345678'::phone_number)), phone_number_send('+44****');

-- Binary input trusts nothing: an old (non-canonical) number, 16 digits, a
-- prefix that does not exist, a masked form of a short number, a
-- generalized form holding last digits, a masked payload out of range, a
-- bad country code, an oversized pseudonym, the sign bit, and the wrong
-- length.
CREATE TABLE raw8 (b bigint);
CREATE TABLE pn_in (p phone_number);
INSERT INTO raw8 VALUES (841623456789);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
\set VERBOSITY default
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
\set VERBOSITY terse
TRUNCATE raw8; INSERT INTO raw8 VALUES (1234567890123456);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
TRUNCATE raw8; INSERT INTO raw8 VALUES (84951234567);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
-- masked, CC 44, NSN length 6 (short numbers have no masked form)
TRUNCATE raw8; INSERT INTO raw8 VALUES ((1::bigint << 61) | 44060000);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
-- generalized, CC 84, length 9, first digits 91, last digits 78
TRUNCATE raw8; INSERT INTO raw8 VALUES ((2::bigint << 61) | 84099178);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
-- masked, payload above 10^9
TRUNCATE raw8; INSERT INTO raw8 VALUES ((1::bigint << 61) | 1084099178);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
-- masked, CC 8 is not a country code
TRUNCATE raw8; INSERT INTO raw8 VALUES ((1::bigint << 61) | 8099178);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
-- a pseudonym with more than 60 bits
TRUNCATE raw8; INSERT INTO raw8 VALUES ((3::bigint << 61) | (1::bigint << 60));
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
-- a valid number with the sign bit set
TRUNCATE raw8; INSERT INTO raw8 VALUES ((1::bigint << 63) | 84912345678);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
-- well formed: the masked form +8491*****78 is accepted
TRUNCATE raw8; INSERT INTO raw8 VALUES ((1::bigint << 61) | 84099178);
COPY raw8 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
CREATE TABLE raw4 (b int);
INSERT INTO raw4 VALUES (1);
COPY raw4 TO '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
COPY pn_in FROM '/tmp/govshare_phone_number_bad.bin' (FORMAT binary);
SELECT p, disclosure_form(p) FROM pn_in;

-- Index scans, hash joins and merge joins.
ANALYZE pn_t;
ANALYZE pn_copy;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT n FROM pn_t WHERE p = '+84 91 234 5678';
SELECT n FROM pn_t WHERE p = '0240 0104 729';
SELECT n FROM pn_t WHERE p = (SELECT p FROM pn_t WHERE n = 42);
EXPLAIN (COSTS OFF) SELECT count(*) FROM pn_t WHERE p BETWEEN '+84 24 0000 0000' AND '+84 24 9999 9999';
SELECT count(*) FROM pn_t WHERE p BETWEEN '+84 24 0000 0000' AND '+84 24 9999 9999';
RESET enable_seqscan;
CREATE INDEX pn_t_hash ON pn_t USING hash (p);
SET enable_seqscan = off; SET enable_bitmapscan = off;
ALTER TABLE pn_t DROP CONSTRAINT pn_t_pkey;
EXPLAIN (COSTS OFF) SELECT n FROM pn_t WHERE p = '+84 91 234 5678';
SELECT n FROM pn_t WHERE p = '+44 20 0000 0003';
RESET enable_seqscan; RESET enable_bitmapscan;
SET enable_mergejoin = off; SET enable_nestloop = off;
-- (the filtered side is the smaller one, so which side is hashed does not
-- depend on the planner's version)
EXPLAIN (COSTS OFF) SELECT count(*) FROM pn_t a JOIN pn_copy b ON a.p = b.p WHERE b.n <= 100;
SELECT count(*) FROM pn_t a JOIN pn_copy b ON a.p = b.p WHERE b.n <= 100;
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM pn_t a JOIN pn_copy b ON a.p = b.p;
SELECT count(*) FROM pn_t a JOIN pn_copy b ON a.p = b.p;
RESET enable_hashjoin; RESET enable_nestloop;
SELECT phone_number_country_code(p) AS cc, phone_number_is_mobile(p) AS mobile, count(*)
FROM pn_t GROUP BY 1, 2 ORDER BY 1, 2;

DROP TABLE pn_t, pn_copy, pn_forms, pn_forms_copy, raw8, raw4, pn_in;
DROP FUNCTION pn_ok(text);
