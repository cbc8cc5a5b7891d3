--
-- Agencies, purposes, sharing rules: the catalog, its validation and its
-- privileges; the request context.
--
\set VERBOSITY default
\set SHOW_CONTEXT never
-- a database of its own: agencies and rules are never deleted
CREATE DATABASE govshare_policy;
\c govshare_policy
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- the roles exist after CREATE EXTENSION
SELECT rolname FROM pg_roles WHERE rolname IN ('govshare_admin', 'govshare_auditor') ORDER BY 1;

-- agencies: exactly one is self
SELECT govshare.add_agency('MPS', 'Ministry of Public Security', is_self => true);
SELECT govshare.add_agency('MND', 'Ministry of National Defence');
SELECT govshare.add_agency('MND-HN', 'Hanoi Military Command', parent => 'MND');
SELECT govshare.add_agency('MND', 'again');
SELECT govshare.add_agency('MOF', 'Ministry of Finance', is_self => true);
SELECT govshare.add_agency('X', 'orphan', parent => 'NOPE');
SELECT govshare.add_agency('bad code', 'spaces are not allowed');

-- purposes need a legal basis
SELECT govshare.add_purpose('military_service', 'Military service call-up', 'Law on Military Service 2015, art. 4');
SELECT govshare.add_purpose('crime_prevention', 'Crime prevention', 'Law on People''s Public Security 2018');
SELECT govshare.add_purpose('census', 'Census', '  ');
SELECT govshare.add_purpose('military_service', 'again', 'x');

-- a governed table
CREATE TABLE citizen (
	id int PRIMARY KEY,
	personal_id govshare.personal_id,
	full_name text,
	birth_date govshare.partial_date,
	province govshare.admin_unit,
	religion text,
	phone govshare.phone_number,
	note text
);
SELECT govshare.classify('citizen', 'personal_id', 'person.personal_id'),
       govshare.classify('citizen', 'full_name', 'person.full_name'),
       govshare.classify('citizen', 'birth_date', 'person.date_of_birth'),
       govshare.classify('citizen', 'province', 'person.permanent_residence_unit'),
       govshare.classify('citizen', 'religion', 'person.religion'),
       govshare.classify('citizen', 'phone', 'person.phone');
SELECT code, sensitivity FROM govshare.element
WHERE code IN ('person.personal_id', 'person.full_name', 'person.date_of_birth',
               'person.permanent_residence_unit', 'person.religion', 'person.phone') ORDER BY 1;

-- roles: a consumer and an internal one
CREATE ROLE mnd_app LOGIN;
CREATE ROLE mps_clerk LOGIN;
CREATE ROLE mnd_admin SUPERUSER;
SELECT govshare.bind_role('mnd_app', 'MND');
SELECT govshare.bind_role('mnd_app', 'NOPE');
SELECT govshare.bind_role('mnd_admin', 'MND');
SELECT role, agency FROM govshare.role_binding ORDER BY 1;

-- share(): every rejection names what is wrong
SELECT govshare.share('NOPE', '{military_service}', '{person.full_name}', 'full');
SELECT govshare.share('MPS', '{military_service}', '{person.full_name}', 'full');
SELECT govshare.share('MND', '{military_sevrice}', '{person.full_name}', 'full');
SELECT govshare.share('MND', '{}', '{person.full_name}', 'full');
SELECT govshare.share('MND', '{military_service}', '{person.fullname}', 'full');
SELECT govshare.share('MND', '{military_service}', '{person.religion}', 'full');
SELECT govshare.share('MND', '{military_service}', '{person.religion}', 'full', legal_basis => ' ');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'everything');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full',
                      valid_from => '2030-01-01', valid_until => '2029-01-01');
SELECT govshare.share('MND', '{military_service}', '{person.%}', 'full');
SELECT govshare.share('MND', '{military_service}', '{religion.*}', 'full');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', row_filter => 'birth_date IS NULL');
CREATE TABLE ungoverned (a int);
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', relation => 'ungoverned');
SELECT govshare.govern('citizen');
SELECT govshare.share('MND', '{military_service}', '{person.ethnicity}', 'full', relation => 'citizen',
                      legal_basis => 'x');

-- row filters: a boolean expression over the relation's own columns
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'province');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'provinc IS NULL');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen',
                      'province IN (SELECT province FROM citizen)');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen',
                      'EXISTS (SELECT FROM pg_authid)');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'count(*) > 0');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen',
                      'row_number() OVER () < 10');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'random() < 0.5');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen',
                      'generate_series(1, id) > 0');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen',
                      'ungoverned.a = 1');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen',
                      'citizen IS NOT NULL');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'ctid > ''(0,1)''');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'true FROM pg_class');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'true; SELECT 1');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', '  ');
SELECT govshare.share('MND', '{military_service}', '{person.full_name}', 'full', 'citizen', 'province = 1) OR (true');

-- rules that pass (failed attempts used up sequence numbers: start again)
ALTER SEQUENCE govshare.rule_id_seq RESTART WITH 1;
SELECT govshare.share('MND', '{military_service}', '{person.personal_id, person.date_of_birth}', 'masked') AS r1 \gset
SELECT govshare.share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full',
                      relation => 'citizen', row_filter => 'admin_unit_province_code(province) = ''79'' AND birth_date IS NOT NULL',
                      legal_basis => 'Decree 13/2016, art. 3') AS r2 \gset
SELECT govshare.share('MND', '{military_service, crime_prevention}', '{person.*}', 'generalized') AS r3 \gset
SELECT govshare.share('MND', '{crime_prevention}', '{person.religion}', 'redacted',
                      legal_basis => 'Law on Belief and Religion 2016, art. 6') AS r4 \gset
SELECT :r1, :r2, :r3, :r4;
SELECT id, consumer, purposes, elements, level, relation, row_filter, legal_basis, status
FROM govshare.rules ORDER BY id;
-- the node tree is stored, not the text spliced anywhere
SELECT id, row_filter_tree LIKE '{BOOLEXPR%' AS analysed FROM govshare.rule WHERE row_filter IS NOT NULL;

-- rules are never changed or deleted, not even by a superuser
UPDATE govshare.rule SET level = 'full' WHERE id = :r1;
DELETE FROM govshare.rule WHERE id = :r1;
TRUNCATE govshare.rule CASCADE;
TRUNCATE govshare.rule_event;
DELETE FROM govshare.rule_event;

-- suspend, resume, revoke: each recorded with who and why
SELECT govshare.suspend(:r1, '');
SELECT govshare.suspend(:r1, 'audit pending');
SELECT govshare.suspend(:r1, 'again');
SELECT column_name, level, rule_ids, regexp_replace(reason, '\d{4}-\d\d-\d\d [0-9:.+-]+', '<time>', 'g') AS reason
FROM govshare.explain_access('MND', 'military_service', 'citizen') WHERE column_name = 'birth_date';
SELECT govshare.resume(:r1);
SELECT govshare.resume(:r1);
SELECT govshare.revoke(:r3, 'agreement ended');
SELECT govshare.resume(:r3);
SELECT govshare.revoke(:r3, 'twice');
SELECT govshare.revoke(-1, 'no such rule');
SELECT rule_id, event, by, reason FROM govshare.rule_event ORDER BY id;
SELECT id, status, status_by, status_reason FROM govshare.rules ORDER BY id;

-- explain_access: per column, the level, the rules and why
SELECT column_name, element, level, rule_ids, legal_basis,
       regexp_replace(reason, '\d{4}-\d\d-\d\d [0-9:.+-]+', '<time>', 'g') AS reason
FROM govshare.explain_access('MND', 'military_service', 'citizen');
SELECT column_name, level, rule_ids,
       regexp_replace(reason, '\d{4}-\d\d-\d\d [0-9:.+-]+', '<time>', 'g') AS reason
FROM govshare.explain_access('MND', 'crime_prevention', 'citizen');
SELECT column_name, level, reason FROM govshare.explain_access('MND-HN', 'military_service', 'citizen');
SELECT column_name, level, reason FROM govshare.explain_access('MND', 'military_service', 'ungoverned');
SELECT * FROM govshare.explain_access('NOPE', 'military_service', 'citizen');
SELECT * FROM govshare.explain_access('MND', 'nope', 'citizen');

-- validity windows
SELECT govshare.share('MND', '{crime_prevention}', '{person.phone}', 'full',
                      valid_from => '2020-01-01 00:00+00', valid_until => '2021-01-01 00:00+00');
SELECT govshare.share('MND', '{crime_prevention}', '{person.phone}', 'masked',
                      valid_from => '2100-01-01 00:00+00');
SET TIME ZONE 'UTC';
SELECT column_name, level, regexp_replace(reason, 'revoked on [^;]+', 'revoked on <time>') AS reason
FROM govshare.explain_access('MND', 'crime_prevention', 'citizen') WHERE column_name = 'phone';
RESET TIME ZONE;

-- consumers cannot read the rules catalog, bindings or keys, nor write anything
SET ROLE mnd_app;
SELECT count(*) FROM govshare.rule;
SELECT count(*) FROM govshare.rules;
SELECT count(*) FROM govshare.role_binding;
SELECT count(*) FROM govshare.agency_key;
SELECT count(*) FROM govshare.token_use;
SELECT code FROM govshare.agency ORDER BY 1;
SELECT code FROM govshare.purpose ORDER BY 1;
INSERT INTO govshare.agency (code, name) VALUES ('EVIL', 'evil');
SELECT govshare.share('MND', '{military_service}', '{person.religion}', 'full', legal_basis => 'mine');
SELECT govshare.revoke(:r1, 'consumer wants it gone');
SELECT govshare.check_setup();
-- its own rights, through explain_access; nobody else's
SELECT column_name, level FROM govshare.explain_access('MND', 'military_service', 'citizen');
SELECT column_name, level FROM govshare.explain_access('MND-HN', 'military_service', 'citizen');

-- the request context: the role names only itself or the officers bound to it
RESET ROLE;
SELECT govshare.bind_officer('mnd_app', o)
  FROM unnest(ARRAY['Officer Nguyen Van A', 'Officer B', 'Officer C', 'Officer D']) o;
SELECT govshare.bind_officer('mps_clerk', 'Clerk');
SET ROLE mnd_app;
SELECT govshare.begin_request('military_service', 'Officer Unbound');
SELECT * FROM govshare.current_request();
SELECT govshare.begin_request('tourism');
SELECT govshare.begin_request(NULL);
SELECT govshare.begin_request('crime_prevention', officer => repeat('x', 201));
SELECT govshare.begin_request('military_service', 'Officer Nguyen Van A', 'CV-2026/123');
SELECT agency, role, officer, purpose, reference, token_id, signed, expires_at FROM govshare.current_request();
-- transactional: a rolled-back change comes undone
BEGIN;
SELECT govshare.begin_request('crime_prevention', 'Officer B');
SELECT purpose, officer FROM govshare.current_request();
ROLLBACK;
SELECT purpose, officer FROM govshare.current_request();
BEGIN;
SELECT govshare.end_request();
SAVEPOINT s;
SELECT govshare.begin_request('crime_prevention', 'Officer C');
ROLLBACK TO SAVEPOINT s;
SELECT count(*) FROM govshare.current_request();
COMMIT;
SELECT count(*) FROM govshare.current_request();
SELECT govshare.begin_request('crime_prevention', 'Officer D');
DISCARD ALL;
SELECT count(*) FROM govshare.current_request();
RESET ROLE;

-- a consumer must sign when the provider says so; it cannot turn that off
SET govshare.require_signed_requests = on;
SET ROLE mnd_app;
SELECT govshare.begin_request('military_service');
SET govshare.require_signed_requests = off;
RESET ROLE;
RESET govshare.require_signed_requests;

-- an internal role acts for the self agency
SET ROLE mps_clerk;
SELECT govshare.begin_request('crime_prevention', 'Clerk');
SELECT agency, purpose FROM govshare.current_request();
SELECT govshare.end_request();
RESET ROLE;

-- a role that is a member of a bound role acts for its agency
CREATE ROLE mnd_officer IN ROLE mnd_app;
SET ROLE mnd_officer;
SELECT govshare.begin_request('military_service');
SELECT agency FROM govshare.current_request();
RESET ROLE;
CREATE ROLE mof_app;
SELECT govshare.add_agency('MOF', 'Ministry of Finance');
SELECT govshare.bind_role('mof_app', 'MOF');
GRANT mof_app TO mnd_officer;
SET ROLE mnd_officer;
SELECT govshare.begin_request('military_service');
RESET ROLE;
REVOKE mof_app FROM mnd_officer;

-- check_setup: what a DBA should fix
GRANT SELECT ON citizen TO mnd_app;
GRANT UPDATE (note) ON citizen TO mnd_app;
ALTER TABLE citizen ADD COLUMN extra text;
SELECT govshare.share('MOF', '{crime_prevention}', '{person.full_name}', 'masked');
DROP ROLE mof_app;
SELECT severity, regexp_replace(object, 'role \d+', 'role <oid>') AS object, problem FROM govshare.check_setup();
REVOKE ALL ON citizen FROM mnd_app;
