-- test/pgtap/decisions.sql — decision tables of the engine (DESIGN §2),
-- through govshare.explain_access: overlapping rules, filters and levels,
-- validity windows, suspension and revocation, purposes, sensitive
-- elements and patterns, role bindings, partitions and inheritance.
BEGIN;
SELECT plan(16);
SET search_path = public, govshare;

SELECT govshare.add_agency('MPS', 'Ministry of Public Security', is_self => true);
SELECT govshare.add_agency('MND', 'Ministry of National Defence');
SELECT govshare.add_agency('MOH', 'Ministry of Health');
SELECT govshare.add_purpose('military_service', 'call-up', 'Law on Military Service 2015');
SELECT govshare.add_purpose('public_health', 'epidemics', 'Law on Prevention of Infectious Diseases 2007');

-- a partitioned table whose partition has its columns in another order
CREATE TABLE person (province int, personal_id govshare.personal_id, full_name text, religion text,
                     occupation text)
	PARTITION BY LIST (province);
CREATE TABLE person_hcm (occupation text, religion text, full_name text, personal_id govshare.personal_id,
                         province int);
ALTER TABLE person ATTACH PARTITION person_hcm FOR VALUES IN (79);
CREATE TABLE person_hn PARTITION OF person FOR VALUES IN (1);
SELECT govshare.classify('person', 'occupation', 'person.occupation');
SELECT govshare.classify('person', 'personal_id', 'person.personal_id');
SELECT govshare.classify('person', 'full_name', 'person.full_name');
SELECT govshare.classify('person', 'religion', 'person.religion');
SELECT govshare.govern('person');
SELECT setval('govshare.rule_id_seq', 1, false);

-- 1: masked ids everywhere; 2: full ids and names in one province;
-- 3: every non-sensitive element generalized, for two purposes;
-- 4: religion, sensitive, named and with a legal basis
SELECT govshare.share('MND', '{military_service}', '{person.personal_id}', 'masked');
SELECT govshare.share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full',
                      relation => 'person', row_filter => 'province = 79 AND occupation IS NOT NULL');
SELECT govshare.share('MND', '{military_service, public_health}', '{*}', 'generalized');
SELECT govshare.share('MOH', '{public_health}', '{person.religion}', 'redacted', legal_basis => 'Decree 13/2023 art. 11');

CREATE FUNCTION decision(agency text, purpose text, rel regclass)
RETURNS TABLE (column_name name, level govshare.disclosure_level, rule_ids bigint[])
LANGUAGE sql AS $$ SELECT column_name, level, rule_ids FROM govshare.explain_access(agency, purpose, rel) ORDER BY 1 $$;

SELECT results_eq($$ SELECT * FROM decision('MND', 'military_service', 'person') $$,
	$$ VALUES ('full_name'::name, 'full'::govshare.disclosure_level, '{2,3}'::bigint[]),
	          ('occupation', 'generalized', '{3}'), ('personal_id', 'full', '{2,1,3}'),
	          ('province', 'denied', '{}'), ('religion', 'denied', '{}') $$,
	'overlapping rules: most revealing first; the pattern skips the sensitive element');
SELECT is((SELECT count(*) FROM govshare.explain_access('MND', 'military_service', 'person')
           WHERE reason LIKE '%where province = 79 AND occupation IS NOT NULL%'), 2::bigint,
	'the filtered rule names its filter');
SELECT results_eq($$ SELECT * FROM decision('MND', 'military_service', 'person_hcm') $$,
	$$ SELECT * FROM decision('MND', 'military_service', 'person') $$,
	'a partition gets its parent''s decision, columns in its own order');
SELECT is((SELECT count(*) FROM govshare.explain_access('MND', 'military_service', 'person_hn')
           WHERE level <> 'denied'), 3::bigint, 'every partition is covered');
SELECT results_eq($$ SELECT * FROM decision('MND', 'public_health', 'person') $$,
	$$ VALUES ('full_name'::name, 'generalized'::govshare.disclosure_level, '{3}'::bigint[]),
	          ('occupation', 'generalized', '{3}'), ('personal_id', 'generalized', '{3}'),
	          ('province', 'denied', '{}'), ('religion', 'denied', '{}') $$,
	'another purpose, other rules');
SELECT results_eq($$ SELECT * FROM decision('MOH', 'public_health', 'person') $$,
	$$ VALUES ('full_name'::name, 'denied'::govshare.disclosure_level, '{}'::bigint[]),
	          ('occupation', 'denied', '{}'), ('personal_id', 'denied', '{}'),
	          ('province', 'denied', '{}'), ('religion', 'redacted', '{4}') $$,
	'another agency, its own rules only');
SELECT is((SELECT reason FROM govshare.explain_access('MOH', 'military_service', 'person') WHERE column_name = 'religion'),
	'no active rule for element person.religion and purpose military_service',
	'no rule for the purpose: denied, and said so');

-- suspension, resumption, revocation
SELECT govshare.suspend(2, 'review');
SELECT results_eq($$ SELECT level FROM decision('MND', 'military_service', 'person') $$,
	$$ VALUES ('generalized'::govshare.disclosure_level), ('generalized'), ('masked'), ('denied'), ('denied') $$,
	'a suspended rule is ignored');
SELECT govshare.resume(2);
SELECT is((SELECT level FROM decision('MND', 'military_service', 'person') WHERE column_name = 'full_name'),
	'full', 'a resumed rule applies again');
SELECT govshare.revoke(3, 'ended');
SELECT is((SELECT level FROM decision('MND', 'military_service', 'person') WHERE column_name = 'occupation'),
	'denied', 'a revoked rule is ignored');

-- validity windows
SELECT govshare.share('MND', '{military_service}', '{person.occupation}', 'full',
                      valid_from => now() + interval '1 day');
SELECT govshare.share('MND', '{military_service}', '{person.occupation}', 'masked',
                      valid_from => now() - interval '2 days', valid_until => now() - interval '1 day');
SELECT is((SELECT level FROM decision('MND', 'military_service', 'person') WHERE column_name = 'occupation'),
	'denied', 'not-yet-valid and expired rules are ignored');
SELECT govshare.share('MND', '{military_service}', '{person.occupation}', 'pseudonym',
                      valid_from => now() - interval '1 day', valid_until => now() + interval '1 day');
SELECT is((SELECT level FROM decision('MND', 'military_service', 'person') WHERE column_name = 'occupation'),
	'pseudonym', 'a rule inside its window applies');

-- a filter that no longer fits its relation grants nothing
ALTER TABLE person ALTER COLUMN occupation TYPE varchar(100);
SELECT is((SELECT level FROM decision('MND', 'military_service', 'person') WHERE column_name = 'full_name'),
	'denied', 'a rule whose filter column changed type is ignored (fail closed)');
SELECT ok((SELECT reason FROM govshare.explain_access('MND', 'military_service', 'person') WHERE column_name = 'full_name')
          LIKE '%row filter no longer fits%', 'and the reason says why');

-- role bindings decide who may ask
CREATE ROLE moh_app;
SELECT govshare.bind_role('moh_app', 'MOH');
SET LOCAL ROLE moh_app;
SELECT throws_ok($$ SELECT * FROM govshare.explain_access('MND', 'military_service', 'person') $$,
	'42501', 'permission denied to explain the access of agency "MND"', 'a consumer sees only its own rights');
SELECT is((SELECT level FROM govshare.explain_access('MOH', 'public_health', 'person') WHERE column_name = 'religion'),
	'redacted', 'its own rights it may see');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
