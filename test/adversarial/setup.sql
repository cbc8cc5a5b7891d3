-- test/adversarial/setup.sql — the provider's side of the adversarial
-- suite, run once by a superuser (psql, not pgTAP) before the attack
-- files; scripts/test then runs each attack file from the login its first
-- line names ("-- login: adv_mnd"), as a consumer agency's application
-- would connect.
--
-- The secrets: every real identity number, name, phone number and religion
-- (the consumer sees them masked, as pseudonyms, or not at all) and all of
-- the rows outside province 79 (the consumer's rules cover province 79 only).
\set ON_ERROR_STOP 1
\set QUIET 1
\o /dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SET search_path = public, govshare;

-- a governed table, an agreement, statistics
CREATE TABLE citizen (
    personal_id personal_id PRIMARY KEY,
    full_name   text NOT NULL,
    birth_date  partial_date,
    residence   admin_unit,
    phone       phone_number,
    religion    text
);
INSERT INTO citizen VALUES
 ('079099123456', 'Nguyen Van An', '1999-05-14', '2025:79', '+84912345678', 'SECRETFAITH A'),
 ('079301123457', 'Tran Thi Binh', '2001-02', '2025:79', '+84912345679', 'SECRETFAITH B'),
 ('001090123458', 'Le Van Cuong HIDDEN', '1990-01', '2025:01', '+84912345670', 'SECRETFAITH C');
INSERT INTO citizen
SELECT format('079%s99%s', i % 2, lpad(i::text, 6, '0'))::personal_id, 'Filler HIDDEN ' || i, NULL,
       '2025:01', NULL, 'SECRETFAITH'
FROM generate_series(1, 300) i;
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'birth_date', 'person.date_of_birth'),
       classify('citizen', 'residence', 'person.permanent_residence_unit'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'religion', 'person.religion'),
       govern('citizen');
CREATE STATISTICS citizen_stats (mcv) ON full_name, religion FROM citizen;
ANALYZE citizen;
SELECT add_agency('ADV_SELF', 'Provider', is_self => true),
       add_agency('ADV_MND', 'Consumer'),
       add_purpose('adv_purpose', 'Tests', 'Test law');

-- the consumer's login; a member role (for SET ROLE from a superuser's
-- session, set_role.sql); a role the login may SET ROLE to (attacks.sql);
-- an internal role with privileges; a login that is a NOINHERIT member of
-- the consumer's role and of the internal one (it may SET ROLE to either)
CREATE ROLE adv_mnd LOGIN;
CREATE ROLE adv_mnd_member IN ROLE adv_mnd;
CREATE ROLE adv_mnd_clerk;
GRANT adv_mnd_clerk TO adv_mnd;
CREATE ROLE adv_staff;
GRANT SELECT ON citizen TO adv_staff;
CREATE ROLE adv_mnd_ni LOGIN NOINHERIT IN ROLE adv_mnd, adv_staff;
SELECT bind_role('adv_mnd', 'ADV_MND');
SELECT share('ADV_MND', '{adv_purpose}', '{person.personal_id, person.full_name}', 'masked',
             relation => 'citizen', row_filter => 'admin_unit_province_code(residence) = ''79''');
SELECT share('ADV_MND', '{adv_purpose}', '{person.phone}', 'pseudonym',
             relation => 'citizen', row_filter => 'admin_unit_province_code(residence) = ''79''');
SELECT share('ADV_MND', '{adv_purpose}', '{person.date_of_birth, person.permanent_residence_unit}',
             'generalized', relation => 'citizen',
             row_filter => 'admin_unit_province_code(residence) = ''79''');
-- the provider's own views, one of them security_invoker
CREATE VIEW provider_view AS SELECT personal_id, full_name FROM citizen;
CREATE VIEW provider_invoker WITH (security_invoker) AS SELECT personal_id, full_name FROM citizen;
GRANT SELECT ON provider_view, provider_invoker TO adv_mnd;
-- partitions
CREATE TABLE resident (personal_id personal_id, province int, full_name text) PARTITION BY LIST (province);
CREATE TABLE resident_79 PARTITION OF resident FOR VALUES IN (79);
CREATE TABLE resident_01 PARTITION OF resident FOR VALUES IN (1);
INSERT INTO resident VALUES ('079099123456', 79, 'Nguyen Van An'), ('001090123458', 1, 'Le Van Cuong HIDDEN');
SELECT classify('resident', 'full_name', 'person.full_name'), govern('resident');
SELECT share('ADV_MND', '{adv_purpose}', '{person.full_name}', 'masked', relation => 'resident',
             row_filter => 'province = 79');

-- a column disclosed in full under a row filter, on a plain and on a
-- partitioned table: its statistics (most common values, histogram) are of
-- every row, the hidden ones included
CREATE TABLE family (personal_id personal_id, province int, full_name text);
-- (partitioned by another column, so that no partition is pruned by the filter)
CREATE TABLE pfamily (personal_id personal_id, province int, full_name text, kind int)
  PARTITION BY LIST (kind);
CREATE TABLE pfamily_0 PARTITION OF pfamily FOR VALUES IN (0);
CREATE TABLE pfamily_1 PARTITION OF pfamily FOR VALUES IN (1);
INSERT INTO family
SELECT ('0790991' || lpad(i::text, 5, '0'))::personal_id, 79, 'Shown name ' || (i % 20) FROM generate_series(1, 200) i
UNION ALL
SELECT ('0010901' || lpad(i::text, 5, '0'))::personal_id, 1, 'HIDDEN name ' || (i % 20) FROM generate_series(1, 200) i;
INSERT INTO pfamily SELECT *, (personal_id::text)::bigint % 2 FROM family;
SELECT classify(t, 'full_name', 'person.full_name'), govern(t)
  FROM unnest(ARRAY['family', 'pfamily']::regclass[]) t;
SELECT share('ADV_MND', '{adv_purpose}', '{person.full_name}', 'full', relation => t,
             row_filter => 'province = 79')
  FROM unnest(ARRAY['family', 'pfamily']::regclass[]) t;
CREATE INDEX ON family (full_name);
CREATE INDEX ON pfamily (full_name);
ANALYZE family, pfamily, pfamily_0, pfamily_1;
-- a column in full on every row, without a filter (no security qual): its
-- statistics still hold the values of rows deleted since (no autovacuum)
CREATE TABLE ledger_note (id int, note text) WITH (autovacuum_enabled = false);
INSERT INTO ledger_note SELECT i, 'HIDDEN deleted ' || (i % 10) FROM generate_series(1, 300) i;
ANALYZE ledger_note;
DELETE FROM ledger_note;
INSERT INTO ledger_note VALUES (1, 'Open note');
SELECT classify('ledger_note', 'note', 'person.full_name'), govern('ledger_note');
SELECT share('ADV_MND', '{adv_purpose}', '{person.full_name}', 'full', relation => 'ledger_note');

-- the tools of the test: what is a secret, and a way to run SQL and keep
-- its rows or its error (message, detail and hint) as text

CREATE SCHEMA adv;
GRANT USAGE ON SCHEMA adv TO PUBLIC;
CREATE FUNCTION adv.leaks(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(t, '') ~ '(HIDDEN|SECRETFAITH|Nguyen|Binh|Cuong|079099123456|079301123457|001090123458|912345678|912345679|912345670)'
$$;
-- the real names, for checks that cannot read them (advisory lock keys)
CREATE FUNCTION adv.secret_names() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT ARRAY['Nguyen Van An', 'Tran Thi Binh', 'Le Van Cuong HIDDEN'] ||
         ARRAY(SELECT 'Filler HIDDEN ' || i FROM generate_series(1, 300) i)
$$;
CREATE FUNCTION adv.rows(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text := ''; line text; m text; d text; h text;
BEGIN
  IF q ~* '^\s*explain' THEN
    FOR line IN EXECUTE q LOOP r := r || line || E'\n'; END LOOP;
    RETURN r;
  END IF;
  EXECUTE format('SELECT coalesce(string_agg(x::text, E''\n''), '''') FROM (%s) x', q) INTO r;
  RETURN r;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN 'ERROR: ' || m || ' / ' || coalesce(d, '') || ' / ' || coalesce(h, '');
END $$;
CREATE FUNCTION adv.run(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE m text; d text; h text;
BEGIN
  EXECUTE q;
  RETURN 'OK';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
  RETURN 'ERROR: ' || m || ' / ' || coalesce(d, '') || ' / ' || coalesce(h, '');
END $$;
-- the SQLSTATE a statement ends with, or OK
CREATE FUNCTION adv.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
  EXECUTE q;
  RETURN 'OK';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE;
  RETURN s;
END $$;
CREATE FUNCTION adv.refused(out_ text) RETURNS boolean LANGUAGE sql AS $$
  SELECT out_ LIKE 'ERROR:%' AND NOT adv.leaks(out_)
$$;

-- request tokens of ADV_MND, minted as its gateway would (test keys): the
-- first key signs tokens 1-9, the second (which an attack gets revoked)
-- token 10
CREATE TABLE adv.test_key (n int PRIMARY KEY, private_key text, key_id text);
INSERT INTO adv.test_key SELECT 1, private_key, add_agency_key('ADV_MND', public_key) FROM make_test_key();
INSERT INTO adv.test_key SELECT 2, private_key, add_agency_key('ADV_MND', public_key) FROM make_test_key();
CREATE TABLE adv.token (n int PRIMARY KEY, token text);
INSERT INTO adv.token
SELECT g.n, sign_request_token(k.private_key, 'ADV_MND', 'adv_purpose', 'Officer X', 'CASE-' || g.n,
                               '30 minutes', k.key_id)
FROM generate_series(1, 10) g(n) JOIN adv.test_key k ON k.n = CASE WHEN g.n = 10 THEN 2 ELSE 1 END;
GRANT SELECT ON adv.token TO adv_mnd, adv_mnd_ni;
-- what another session of the provider does during an attack: revoke the
-- second key (a SECURITY DEFINER hook, the consumer's test may call it)
-- (the provider's own session does it, over a loopback connection: the
-- consumer's transaction under a signed context is read-only)
CREATE FUNCTION adv.revoke_second_key() RETURNS void LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
  SELECT public.dblink_exec(format('dbname=%s user=postgres host=%s port=%s', current_database(),
      split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port')),
    format('DO $x$ BEGIN PERFORM govshare.revoke_agency_key(%L, %L); END $x$', key_id, 'compromised'))
    FROM adv.test_key WHERE n = 2
$$;
REVOKE ALL ON FUNCTION adv.revoke_second_key() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION adv.revoke_second_key() TO adv_mnd;

-- a SECURITY DEFINER function of an internal role that reads the table:
-- from a superuser's session with SET ROLE it runs as internal access; from
-- the consumer's login the session stays a consumer and it fails closed
CREATE FUNCTION adv.staff_names() RETURNS text LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
  SELECT string_agg(full_name, ',') FROM public.citizen
$$;
ALTER FUNCTION adv.staff_names() OWNER TO adv_staff;
GRANT EXECUTE ON FUNCTION adv.staff_names() TO adv_mnd;

-- the consumer's own schema
CREATE SCHEMA mnd AUTHORIZATION adv_mnd;

-- issue 20: a bank that may only verify a citizen's identity, name and
-- birth date (level verify), and read the province of residence
-- generalized; for a second purpose, verify only (test/adversarial/verify.sql)
SELECT add_agency('ADV_BANK', 'A bank'),
       add_purpose('adv_kyc', 'Know your customer', 'Test law'),
       add_purpose('adv_kyc_only', 'Verification only', 'Test law');
CREATE ROLE adv_bank LOGIN;
SELECT bind_role('adv_bank', 'ADV_BANK');
SELECT bind_officer('adv_bank', 'Teller 1');
SELECT share('ADV_BANK', '{adv_kyc, adv_kyc_only}', '{person.personal_id, person.full_name, person.date_of_birth}',
             'verify', relation => 'citizen');
SELECT share('ADV_BANK', '{adv_kyc}', '{person.permanent_residence_unit}', 'generalized',
             relation => 'citizen');
GRANT SELECT ON provider_view TO adv_bank;
CREATE SCHEMA bank AUTHORIZATION adv_bank;

-- issue 18: a table beside the governed one that the consumer may read in
-- part, the columns id and open, and not the column secret (perminfo.sql:
-- its own privileges still hold in a statement that the rewrite changed)
CREATE TABLE adv_ledger (id int, open text, secret text);
INSERT INTO adv_ledger VALUES (1, 'visible', 'HIDDEN LEDGER');
GRANT SELECT (id, open) ON adv_ledger TO adv_mnd;
