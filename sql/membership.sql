--
-- Who is a consumer, from real logins: membership of any kind in a role
-- bound to another agency makes a role a consumer of that agency (with or
-- without INHERIT, directly or through other roles), and a role that is a
-- member of roles bound to two agencies, or bound to one and a member of
-- another's, acts for none of them (src/catalog/policy.c).
--
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE DATABASE govshare_membership;
\c govshare_membership
SET client_min_messages = warning;
CREATE EXTENSION govshare;
RESET client_min_messages;
SET search_path = public, govshare;

CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text);
INSERT INTO citizen VALUES ('079099123456', 'Nguyen Van An');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'), govern('citizen');
SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_agency('MOF', 'Ministry of Finance'),
       add_purpose('military_service', 'Call-up', 'Law 78/2015/QH13');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'masked');

CREATE ROLE mem_mnd;                    -- MND's role
CREATE ROLE mem_mof;                    -- MOF's role
CREATE ROLE mem_mps;                    -- the provider's own staff
CREATE ROLE mem_reader;                 -- unbound, may read the table
GRANT SELECT ON citizen TO mem_reader, mem_mps;
SELECT bind_role('mem_mnd', 'MND'), bind_role('mem_mof', 'MOF'), bind_role('mem_mps', 'MPS');
-- a login that does not inherit MND's role, and may become an internal reader
CREATE ROLE mem_noinherit LOGIN NOINHERIT IN ROLE mem_mnd, mem_reader;
-- a login that belongs to MND through a group that does not inherit
CREATE ROLE mem_group NOINHERIT IN ROLE mem_mnd;
CREATE ROLE mem_indirect LOGIN IN ROLE mem_group, mem_reader;
-- a login of the provider's staff that was also given MND's role
CREATE ROLE mem_staff LOGIN IN ROLE mem_mps;
GRANT mem_mnd TO mem_staff;
-- a login in both MND's and MOF's roles
CREATE ROLE mem_both LOGIN IN ROLE mem_mnd, mem_mof, mem_reader;
-- the provider's staff alone, for comparison
CREATE ROLE mem_clerk LOGIN IN ROLE mem_mps;

-- a NOINHERIT member of MND's role is MND's consumer: as itself, and after
-- SET ROLE to an internal role it belongs to
\c govshare_membership mem_noinherit
SET search_path = public, govshare;
SELECT full_name FROM citizen;
SET ROLE mem_reader;
SELECT full_name FROM citizen;
RESET ROLE;
SELECT begin_request('military_service');
SELECT agency, role FROM current_request();
SELECT full_name FROM citizen;          -- masked, as MND's rules say
SET ROLE mem_reader;
SELECT full_name FROM citizen;
RESET ROLE;

-- through a group that does not inherit
\c govshare_membership mem_indirect
SET search_path = public, govshare;
SELECT full_name FROM citizen;
SELECT begin_request('military_service');
SELECT agency FROM current_request();

-- bound to the provider and a member of MND's role: acts for two agencies
\c govshare_membership mem_staff
SET search_path = public, govshare;
SELECT full_name FROM citizen;
SELECT begin_request('military_service');

-- in MND's and MOF's roles: acts for two agencies
\c govshare_membership mem_both
SET search_path = public, govshare;
SELECT full_name FROM citizen;
SET ROLE mem_reader;
SELECT full_name FROM citizen;
RESET ROLE;

-- the provider's own staff reads as before
\c govshare_membership mem_clerk
SET search_path = public, govshare;
SELECT full_name FROM citizen;

-- a superuser who is a member of MND's role stays internal
\c govshare_membership postgres
SET search_path = public, govshare;
GRANT mem_mnd TO CURRENT_USER;
SELECT full_name FROM citizen;
REVOKE mem_mnd FROM CURRENT_USER;

\c postgres postgres
DROP DATABASE govshare_membership;
DROP ROLE mem_noinherit, mem_indirect, mem_group, mem_staff, mem_both, mem_clerk,
          mem_mnd, mem_mof, mem_mps, mem_reader;
