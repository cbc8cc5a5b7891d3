--
-- Every SQL-callable function of govshare, called by four kinds of role
-- with hostile arguments: NULLs, zero, negative and huge numbers, invalid
-- OIDs, empty and 1 MB strings, infinite times, empty and NULL-holding
-- arrays.  Each call must answer or fail with a proper SQLSTATE: never an
-- internal error (class XX, "cache lookup failed" and the like) and never
-- a crash.  The functions are enumerated from pg_proc, so a new function
-- is covered without touching this file; the expected output lists no
-- finding.
--
\set VERBOSITY terse
\set SHOW_CONTEXT never
CREATE DATABASE govshare_calls;
\c govshare_calls
SET client_min_messages = warning;
CREATE EXTENSION govshare;
RESET client_min_messages;
SET search_path = public, govshare;

-- a little of everything for the functions to find
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text, phone phone_number);
INSERT INTO citizen VALUES ('079099123456', 'Nguyen Van An', '+84912345678');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'phone', 'person.phone'), govern('citizen');
SELECT add_agency('CALLS_SELF', 'Provider', is_self => true), add_agency('CALLS_MND', 'Consumer'),
       add_purpose('calls_purpose', 'Tests', 'Test law');
SELECT share('CALLS_MND', '{calls_purpose}', '{person.personal_id, person.full_name}', 'masked');
CREATE ROLE calls_admin LOGIN IN ROLE govshare_admin;
CREATE ROLE calls_auditor LOGIN IN ROLE govshare_auditor, govshare_requester;
CREATE ROLE calls_consumer LOGIN;
SELECT bind_role('calls_consumer', 'CALLS_MND');
GRANT SELECT ON citizen TO calls_admin, calls_auditor;

CREATE SCHEMA calls;
GRANT USAGE ON SCHEMA calls TO PUBLIC;
-- how many calls each role made
CREATE TABLE calls.made (who name, calls int);
GRANT INSERT ON calls.made TO PUBLIC;

-- SQL expressions of values of type t to call functions with: NULL first,
-- then what makes code stumble.
CREATE FUNCTION calls.values_for(t regtype) RETURNS text[] LANGUAGE plpgsql STABLE AS $$
DECLARE
	ty pg_type;
	name text := format_type(t, NULL);
	big text := 'repeat(''x'', 1048576)';
	v text[];
BEGIN
	SELECT * INTO ty FROM pg_type WHERE oid = t;
	v := CASE
		WHEN t IN ('regclass', 'regtype', 'regrole', 'regproc', 'regprocedure', 'regnamespace',
		           'regoper', 'regoperator', 'regconfig', 'regdictionary', 'regcollation', 'oid') THEN
			ARRAY['0', '4294967295', '12345678', '-1']
		WHEN t = 'int2'::regtype THEN ARRAY['0', '-1', '32767', '-32768']
		WHEN t = 'int4'::regtype THEN ARRAY['0', '-1', '2147483647', '-2147483648']
		WHEN t = 'int8'::regtype THEN ARRAY['0', '-1', '9223372036854775807', '-9223372036854775808']
		WHEN t IN ('numeric', 'float4', 'float8') THEN ARRAY['0', '-1', '1e300', '''NaN''', '''-Infinity''']
		WHEN t = 'bool'::regtype THEN ARRAY['true', 'false']
		WHEN t IN ('text', 'varchar', 'name', 'bpchar', 'cstring') THEN
			ARRAY['''''', '''x''', big, '''*''', '''%''', ''' ''', '''-''']
		WHEN t = 'bytea'::regtype THEN ARRAY['''\x''', 'convert_to(' || big || ', ''UTF8'')']
		WHEN t IN ('json', 'jsonb') THEN
			ARRAY['''{}''', '''null''', '''[]''', '''"x"''', '''{"alg":"EdDSA"}''', 'to_json(' || big || ')']
		WHEN t IN ('timestamptz', 'timestamp', 'date') THEN
			ARRAY['''infinity''', '''-infinity''', '''epoch''', '''294276-12-31''', '''4713-01-01 BC''']
		WHEN t = 'interval'::regtype THEN
			ARRAY['''0''', '''-1 day''', '''178000000 years''', '''-178000000 years''']
		WHEN t IN ('anyelement', 'anycompatible', '"any"') THEN
			ARRAY['''x''::text', '0', '''079099123456''::govshare.personal_id', '''+84912345678''::govshare.phone_number']
		WHEN t = 'govshare.personal_id'::regtype THEN ARRAY['''079099123456''', 'govshare.personal_id(0)']
		WHEN t = 'govshare.tax_code'::regtype THEN ARRAY['''0100109106''', '''0100109106-001''']
		WHEN t = 'govshare.social_insurance_no'::regtype THEN ARRAY['''7901234567''']
		WHEN t = 'govshare.health_insurance_no'::regtype THEN ARRAY['''DN4790123456789''']
		WHEN t = 'govshare.phone_number'::regtype THEN ARRAY['''+84912345678''', '''+12025550123''']
		WHEN t = 'govshare.admin_unit'::regtype THEN ARRAY['''2025:79''', '''2004:79.26734''']
		WHEN t = 'govshare.partial_date'::regtype THEN ARRAY['''1999''', '''1999-05-14''']
		WHEN ty.typcategory = 'A' THEN
			ARRAY['''{}''', '''{NULL}''', '''{""}''', 'ARRAY[' || big || ']']
		WHEN ty.typtype = 'c' THEN
			ARRAY[quote_literal('(' || repeat(',', (SELECT count(*)::int - 1 FROM pg_attribute
			                                        WHERE attrelid = ty.typrelid AND attnum > 0
			                                          AND NOT attisdropped)) || ')')]
		WHEN ty.typtype = 'e' THEN
			ARRAY(SELECT quote_literal(enumlabel) FROM pg_enum WHERE enumtypid = t ORDER BY enumsortorder)
		ELSE ARRAY[]::text[]
	END;
	RETURN ARRAY['NULL'] || v;
END
$$;

-- Calls every function of schema govshare: with all arguments NULL, at
-- their second values, and so on; then each argument in turn through its
-- values, the others at their first value that is not NULL.  Each call is rolled back.  Returns the calls that
-- failed with an internal error.
CREATE FUNCTION calls.try_all(OUT call text, OUT state text, OUT message text)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
	f record;
	vals text[][];
	args text[];
	n int;
	q text;
	st text;
	msg text;
	made int := 0;
BEGIN
	FOR f IN SELECT p.oid, p.proname, string_to_array(p.proargtypes::text, ' ')::oid[] AS types, p.prokind
	         FROM pg_proc p WHERE p.pronamespace = 'govshare'::regnamespace ORDER BY p.oid::regprocedure::text
	LOOP
		n := cardinality(f.types);
		-- i = 0: every argument at its k-th value; i > 0: argument i at
		-- each of its values, the others at their first one not NULL
		FOR i IN 0 .. n LOOP
			FOR k IN 1 .. CASE WHEN i = 0 THEN 6 ELSE cardinality(calls.values_for(f.types[i])) END LOOP
				args := ARRAY[]::text[];
				FOR j IN 1 .. n LOOP
					DECLARE
						v text[] := calls.values_for(f.types[j]);
						e text;
					BEGIN
						e := CASE WHEN i = 0 THEN v[least(k, cardinality(v))] WHEN j = i THEN v[k]
						          ELSE coalesce(v[2], 'NULL') END;
						args := args || format('(%s)::%s', e, format_type(f.types[j], NULL));
					END;
				END LOOP;
				q := format('SELECT %I.%I(%s)', 'govshare', f.proname, array_to_string(args, ', '));
				made := made + 1;
				BEGIN
					EXECUTE q;
					RAISE EXCEPTION 'done' USING ERRCODE = 'GS999';
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
					IF st LIKE 'XX%' THEN
						call := q;
						state := st;
						message := msg;
						RETURN NEXT;
					END IF;
				END;
			END LOOP;
		END LOOP;
	END LOOP;
	INSERT INTO calls.made VALUES (current_user, made);
END
$$;

-- a superuser
SELECT * FROM calls.try_all();
-- an administrator
\c govshare_calls calls_admin
SELECT * FROM calls.try_all();
-- an auditor who may also send remote queries
\c govshare_calls calls_auditor
SELECT * FROM calls.try_all();
-- a consumer's login, without and with a request context
\c govshare_calls calls_consumer
SELECT * FROM calls.try_all();
SELECT govshare.begin_request('calls_purpose');
SELECT * FROM calls.try_all();
SELECT count(*) AS still_alive FROM govshare.current_request();
\c govshare_calls postgres
SELECT who, calls > 2000 AS many FROM calls.made ORDER BY who;

\c postgres postgres
DROP DATABASE govshare_calls;
DROP ROLE calls_admin, calls_auditor, calls_consumer;
