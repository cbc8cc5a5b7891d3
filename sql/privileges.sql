--
-- The privilege boundaries (docs/security.md, "Privilege model"): whose
-- code runs as whom, who governs what, and what the views over the access
-- log show to roles other than the auditor.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE govshare_privileges;
\c govshare_privileges
CREATE EXTENSION govshare;
SET search_path = public, govshare;

CREATE ROLE priv_root SUPERUSER;			-- a superuser, named for the output
CREATE ROLE priv_admin LOGIN IN ROLE govshare_admin;	-- no superuser
CREATE ROLE priv_owner;				-- owns the provider's register
CREATE ROLE priv_other;				-- owns a table govshare_admin may not touch
CREATE ROLE priv_mnd LOGIN;			-- bound to MND: a consumer
CREATE ROLE priv_mnd_member NOINHERIT IN ROLE priv_mnd;	-- a member that does not inherit
CREATE SCHEMA priv_admin_schema AUTHORIZATION priv_admin;
CREATE SCHEMA priv_mnd_schema AUTHORIZATION priv_mnd;
GRANT ALL ON SCHEMA priv_mnd_schema TO priv_mnd_member;
GRANT USAGE ON SCHEMA priv_admin_schema TO PUBLIC;

SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Call-up', 'Law 78/2015/QH13'),
       bind_role('priv_mnd', 'MND');

--
-- 1. No code of a lesser role runs as a superuser.
--
-- Issue 22, finding 1: govshare_admin names a pg_temp domain whose CHECK
-- calls its own function; a superuser's quality_report would run it.
SET ROLE priv_admin;
CREATE FUNCTION pg_temp.escalate(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'ALTER ROLE priv_admin SUPERUSER';
	RETURN true;
END
$$;
CREATE DOMAIN pg_temp.sneaky AS text CHECK (pg_temp.escalate(VALUE));
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity)
VALUES ('priv.sneaky', 'x', 'x', 'pg_temp.sneaky', 'personal');
-- the same in a schema of its own, and through an update
CREATE FUNCTION priv_admin_schema.escalate(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'ALTER ROLE priv_admin SUPERUSER';
	RETURN true;
END
$$;
CREATE DOMAIN priv_admin_schema.sneaky AS text CHECK (priv_admin_schema.escalate(VALUE));
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity)
VALUES ('priv.sneaky', 'x', 'x', 'priv_admin_schema.sneaky', 'personal');
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity)
VALUES ('priv.plain', 'x', 'x', 'text', 'personal');
UPDATE element SET datatype = 'priv_admin_schema.sneaky' WHERE code = 'priv.plain';
-- an element of a superuser's type is fine, and editing its name too
UPDATE element SET name_en = 'Plain' WHERE code = 'priv.plain';
RESET ROLE;
-- a superuser's domain that calls the admin's function is the admin's code
CREATE DOMAIN priv_wrapped AS text CHECK (priv_admin_schema.escalate(VALUE));
SET ROLE priv_admin;
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity)
VALUES ('priv.wrapped', 'x', 'x', 'public.priv_wrapped', 'personal');
RESET ROLE;
-- a superuser may register the admin's type (never a temporary one) ...
INSERT INTO element (code, name_vi, name_en, datatype, sensitivity)
VALUES ('priv.sneaky', 'x', 'x', 'priv_admin_schema.sneaky', 'personal');
SELECT type_problem('priv_admin_schema.sneaky') AS for_anyone,
       type_problem('priv_admin_schema.sneaky', 'priv_admin') AS for_its_owner,
       type_problem('text') AS text;
-- ... but its code still runs only as its owner: the admin classifies its
-- own table, the superuser's quality_report and is_valid refuse to run it
SET ROLE priv_admin;
CREATE TABLE priv_admin_schema.notes (id text, v text);
INSERT INTO priv_admin_schema.notes VALUES ('001090123456', 'a'), ('x', 'b');
SELECT classify('priv_admin_schema.notes', 'v', 'priv.sneaky');
SET ROLE priv_root;
SELECT column_name, invalid FROM quality_report('priv_admin_schema.notes');
SELECT is_valid('a', 'priv_admin_schema.sneaky');
SELECT classify('priv_admin_schema.notes', 'id', 'priv.sneaky');
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'priv_admin';
-- a cast the admin defines from its own type, run by a superuser's
-- quality_report of the admin's table: refused too
SET ROLE priv_admin;
CREATE TYPE priv_admin_schema.mood AS ENUM ('calm');
CREATE FUNCTION priv_admin_schema.mood_text(priv_admin_schema.mood) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'ALTER ROLE priv_admin SUPERUSER';
	RETURN 'calm';
END
$$;
CREATE CAST (priv_admin_schema.mood AS text) WITH FUNCTION priv_admin_schema.mood_text(priv_admin_schema.mood);
CREATE TABLE priv_admin_schema.moods (m priv_admin_schema.mood);
INSERT INTO priv_admin_schema.moods VALUES ('calm');
SELECT classify('priv_admin_schema.moods', 'm', 'person.full_name');
SET ROLE priv_root;
SELECT column_name, invalid FROM quality_report('priv_admin_schema.moods');
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'priv_admin';
-- a classified table of its own that it turns into a view (PostgreSQL 15
-- still converts an empty table with an ON SELECT rule), whose query calls
-- its function: quality_report reads tables only.  PostgreSQL 16 refuses
-- the rule, and words the error of ALTER ROLE below differently:
-- expected/privileges_1.out is that output
SET ROLE priv_admin;
CREATE TABLE priv_admin_schema.trap (v text);
SELECT classify('priv_admin_schema.trap', 'v', 'person.full_name');
CREATE FUNCTION priv_admin_schema.trap_v() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'ALTER ROLE priv_admin SUPERUSER';
	RETURN 'x';
END
$$;
CREATE RULE "_RETURN" AS ON SELECT TO priv_admin_schema.trap DO INSTEAD
	SELECT priv_admin_schema.trap_v() AS v;
RESET ROLE;
SET ROLE priv_root;
SELECT column_name, rows FROM quality_report('priv_admin_schema.trap');
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'priv_admin';
-- row security policies of another role would run as the caller
SET ROLE priv_admin;
CREATE TABLE priv_admin_schema.guarded (v text);
ALTER TABLE priv_admin_schema.guarded ENABLE ROW LEVEL SECURITY;
CREATE POLICY everything ON priv_admin_schema.guarded USING (true);
GRANT SELECT ON priv_admin_schema.guarded TO priv_other;
SELECT classify('priv_admin_schema.guarded', 'v', 'person.full_name');
RESET ROLE;
SET ROLE priv_other;
SELECT column_name, rows FROM quality_report('priv_admin_schema.guarded');
RESET ROLE;
-- the admin itself runs its own code, as itself
SET ROLE priv_admin;
SELECT column_name, rows FROM quality_report('priv_admin_schema.notes');
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'priv_admin';
-- a row filter runs as the consumer: only superusers' code
SET ROLE priv_admin;
CREATE FUNCTION priv_admin_schema.snoop(text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
RESET ROLE;
-- check_setup names the element of the admin's type
SELECT severity, object, problem FROM check_setup() WHERE object LIKE 'element priv.%';
DELETE FROM element WHERE code LIKE 'priv.%';

--
-- 2. Governing a table is its owner's decision, for ordinary user tables.
--
CREATE TABLE register (id personal_id, full_name text, province text);
ALTER TABLE register OWNER TO priv_owner;
INSERT INTO register VALUES ('079099123456', 'Nguyen Van An', '79'), ('001090123458', 'Le Van Cuong', '01');
CREATE TABLE private_notes (secret text);
ALTER TABLE private_notes OWNER TO priv_other;
-- issue 22, finding 2: govshare_admin governed anything
SET ROLE priv_admin;
SELECT govern('pg_catalog.pg_authid');
SELECT classify('pg_catalog.pg_authid', 'rolpassword', 'person.full_name');
SELECT govern('govshare.access_log');
SELECT govern('private_notes');
SELECT classify('private_notes', 'secret', 'person.full_name');
SELECT govern('register');
RESET ROLE;
-- not even a superuser governs system catalogs or govshare's own tables
SELECT govern('pg_catalog.pg_authid');
SECURITY LABEL FOR govshare ON TABLE pg_catalog.pg_class IS 'governed';
SELECT govern('govshare.rule');
SELECT govern('information_schema.sql_features');
-- the owner lets govshare_admin do it by granting its role
GRANT priv_owner TO govshare_admin;
SET ROLE priv_admin;
SELECT classify('register', 'id', 'person.personal_id'),
       classify('register', 'full_name', 'person.full_name'),
       classify('register', 'province', 'person.permanent_residence_unit'),
       govern('register');
SELECT share('MND', '{military_service}', '{person.personal_id}', 'pseudonym') AS general_rule;
SELECT share('MND', '{military_service}', '{person.full_name}', 'masked', relation => 'register') AS register_rule;
RESET ROLE;
REVOKE priv_owner FROM govshare_admin;

-- Issue 15, class 3: a consumer labels nothing, not even its own tables.
SET ROLE priv_mnd;
CREATE TABLE priv_mnd_schema.guesses (id personal_id);
INSERT INTO priv_mnd_schema.guesses VALUES ('079099123456'), ('079099123457');
SELECT classify('priv_mnd_schema.guesses', 'id', 'person.personal_id');
SELECT govern('priv_mnd_schema.guesses');
SELECT ungovern('register');
SECURITY LABEL FOR govshare ON TABLE priv_mnd_schema.guesses IS 'governed';
RESET ROLE;
-- nor does a member of it that does not inherit its privileges
SET ROLE priv_mnd_member;
CREATE TABLE priv_mnd_schema.member_guesses (id personal_id);
SELECT govern('priv_mnd_schema.member_guesses');
RESET ROLE;
-- and nobody governs a table a consumer owns
SELECT classify('priv_mnd_schema.guesses', 'id', 'person.personal_id');
SELECT govern('priv_mnd_schema.member_guesses');
-- the consumer's own table stays its own: no pseudonym of its values
SET ROLE priv_mnd;
SELECT begin_request('military_service');
SELECT id, disclosure_form(id) FROM priv_mnd_schema.guesses ORDER BY 1;
-- the register: pseudonyms through the general rule, names masked
SELECT disclosure_form(id) AS id, full_name FROM register ORDER BY 2;
RESET ROLE;
-- a rule naming a consumer's table is refused
SELECT share('MND', '{military_service}', '{person.full_name}', 'full', relation => 'priv_mnd_schema.guesses');

-- A governed table that a consumer came to own, or may become the owner
-- of: no rule applies, not the general one, not its own.
SET ROLE priv_mnd;
SELECT count(*) FROM register;
RESET ROLE;
GRANT priv_owner TO priv_mnd_member;
SET ROLE priv_mnd;
SELECT count(*) FROM register;
SELECT disclosure_form(id) FROM register;
SELECT column_name, level, reason FROM explain_access('MND', 'military_service', 'register');
RESET ROLE;
REVOKE priv_owner FROM priv_mnd_member;
ALTER TABLE register OWNER TO priv_mnd;
SET ROLE priv_mnd;
SELECT disclosure_form(id) FROM register;
RESET ROLE;
SELECT severity, object, problem FROM check_setup() WHERE object LIKE 'relation %';
ALTER TABLE register OWNER TO priv_owner;
SET ROLE priv_mnd;
SELECT disclosure_form(id) AS id, full_name FROM register ORDER BY 2;
SELECT end_request();
RESET ROLE;

-- The consumer's temporary objects are not found by what govshare does as
-- a table's owner on its behalf (the replay guard, receipts): those
-- queries name every object with its schema, and pg_temp comes last.
SELECT private_key, public_key FROM make_test_key() \gset
SELECT add_agency_key('MND', :'public_key') IS NOT NULL AS key_added;
SELECT sign_request_token(:'private_key', 'MND', 'military_service', 'officer 1') AS token \gset
SET ROLE priv_mnd;
CREATE TEMP TABLE token_use (issuer text, jti text, expires_at timestamptz);
CREATE TEMP TABLE access_log (seq bigint, statement_id uuid, kind text, outcome text, hash bytea);
CREATE DOMAIN pg_temp.uuid AS text;
SELECT begin_request_signed(:'token');
SELECT count(*) AS shadow_rows FROM pg_temp.token_use;
SELECT begin_request_signed(:'token');
SELECT end_request();
DROP TABLE pg_temp.token_use, pg_temp.access_log;
DROP DOMAIN pg_temp.uuid;
RESET ROLE;

-- A table a consumer owns does not join a governed tree.
CREATE TABLE regions (id personal_id, province text) PARTITION BY LIST (province);
ALTER TABLE regions OWNER TO priv_owner;
SELECT govern('regions');
CREATE TABLE priv_mnd_schema.region_79 (id personal_id, province text);
ALTER TABLE priv_mnd_schema.region_79 OWNER TO priv_mnd;
ALTER TABLE regions ATTACH PARTITION priv_mnd_schema.region_79 FOR VALUES IN ('79');

-- A row filter runs the consumer's way: a function govshare_admin owns is refused.
SELECT share('MND', '{military_service}', '{person.full_name}', 'full', relation => 'register',
             row_filter => 'priv_admin_schema.snoop(province)');

-- Labels that 0.1.0 let govshare_admin set on a system catalog (here put
-- straight into pg_seclabel) are ignored: no rule applies to it.
SET allow_system_table_mods = on;
INSERT INTO pg_seclabel
SELECT 'pg_catalog.pg_authid'::regclass, 'pg_catalog.pg_class'::regclass, a.attnum, 'govshare',
       CASE a.attnum WHEN 0 THEN 'governed' ELSE 'person.full_name' END
FROM (SELECT 0 AS attnum UNION ALL
      SELECT attnum FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_authid'::regclass
        AND attname IN ('rolname', 'rolpassword')) a;
RESET allow_system_table_mods;
SELECT share('MND', '{military_service}', '{person.full_name}', 'full') AS names_rule \gset
SET ROLE priv_mnd;
SELECT begin_request('military_service');
SELECT rolname, rolpassword FROM pg_catalog.pg_authid;
SELECT end_request();
RESET ROLE;
SELECT severity, object, problem FROM check_setup() WHERE object LIKE 'relation %';
SELECT revoke(:names_rule, 'test over');

--
-- 3. The views over the access log show nothing more to govshare_admin
-- than it may read: a cheap leaky function of its own sees no row of
-- another kind than the view's.
--
SELECT count(*) > 0 AS log_has_rows FROM govshare.access_log WHERE kind <> 'remote';
SET ROLE priv_admin;
CREATE TEMP TABLE seen (v text);
CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	RAISE NOTICE 'leak: %', $1;
	INSERT INTO pg_temp.seen VALUES ($1);
	RETURN true;
END
$$;
SELECT count(*) AS remote_requests FROM remote_request WHERE pg_temp.leak(role_name);
SELECT count(*) AS leaked FROM pg_temp.seen;
SELECT count(*) AS endpoints FROM endpoints WHERE pg_temp.leak(agency);
SELECT count(*) FROM govshare.access_log;
RESET ROLE;

\c contrib_regression
DROP DATABASE govshare_privileges;
DROP ROLE priv_root, priv_admin, priv_owner, priv_other, priv_mnd, priv_mnd_member;
