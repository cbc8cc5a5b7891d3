-- classification_inheritance: partitions and inheritance children share
-- their parent's classification and governed state
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS govshare;
RESET client_min_messages;
SET search_path = public, govshare;

CREATE TABLE resident (id personal_id, full_name text, province text, religion text)
    PARTITION BY LIST (province);
CREATE TABLE resident_hn PARTITION OF resident FOR VALUES IN ('01');
SELECT classify('resident', 'id', 'person.personal_id');
SELECT classify('resident', 'religion', 'person.religion');
SELECT govern('resident');

-- Created later, attached later, sub-partitioned: all inherit.
CREATE TABLE resident_hcm PARTITION OF resident FOR VALUES IN ('79');
CREATE TABLE resident_dn (id personal_id, full_name text, province text, religion text);
ALTER TABLE resident ATTACH PARTITION resident_dn FOR VALUES IN ('48');
CREATE TABLE resident_other PARTITION OF resident DEFAULT PARTITION BY HASH (id);
CREATE TABLE resident_other_0 PARTITION OF resident_other FOR VALUES WITH (MODULUS 2, REMAINDER 0);
SELECT relation, column_name, element, inherited_from, governed, status
FROM classification WHERE relation::text LIKE 'resident%' ORDER BY relation::text, attnum;

-- A child may repeat its parent's label, never contradict it.
SELECT classify('resident_hn', 'id', 'person.personal_id');
\set VERBOSITY default
SELECT classify('resident_hcm', 'id', 'person.father_id');
SECURITY LABEL FOR govshare ON COLUMN resident_other_0.religion IS 'person.ethnicity';
SELECT ungovern('resident_hn');
\set VERBOSITY terse
-- ... nor may a parent contradict a child.
SELECT classify('resident_hn', 'full_name', 'person.full_name');
\set VERBOSITY default
SELECT classify('resident', 'full_name', 'person.other_names');
\set VERBOSITY terse

-- Attaching a table whose own label disagrees is refused, and rolled back.
CREATE TABLE resident_hp (id personal_id, full_name text, province text, religion text);
SELECT classify('resident_hp', 'religion', 'person.ethnicity');
\set VERBOSITY default
ALTER TABLE resident ATTACH PARTITION resident_hp FOR VALUES IN ('31');
\set VERBOSITY terse
SELECT count(*) FROM pg_inherits WHERE inhrelid = 'resident_hp'::regclass;
SELECT declassify('resident_hp', 'religion');
ALTER TABLE resident ATTACH PARTITION resident_hp FOR VALUES IN ('31');
SELECT element, inherited_from FROM classification
WHERE relation = 'resident_hp'::regclass AND column_name = 'religion';

-- Traditional inheritance behaves the same.
CREATE TABLE household (head personal_id, address text);
SELECT classify('household', 'head', 'person.household_head_id');
CREATE TABLE household_rural (village text) INHERITS (household);
CREATE TABLE household_urban (head personal_id, address text, block text);
SELECT classify('household_urban', 'head', 'person.father_id');
\set VERBOSITY default
ALTER TABLE household_urban INHERIT household;
\set VERBOSITY terse
SELECT relation, column_name, element, inherited_from FROM classification
WHERE relation::text LIKE 'household%' ORDER BY relation::text, attnum;

DROP TABLE resident, household, household_urban, resident_hp CASCADE;
