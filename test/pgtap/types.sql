-- test/pgtap/types.sql — the catalog contract of every national type.
--
-- Run by scripts/test (suite pgtap) against a database where pgtap and
-- govshare are created; search_path is the default, so everything of
-- govshare is qualified, operators too (OPERATOR(govshare.=)).
--
-- One row of the samples list per type: (type, a valid text that is its own
-- canonical form, an invalid text refused with 22P02).  Adding a type is one
-- line there.  Every type gets the same pg_temp.checks_per_type() tests, so
-- the plan is the number of rows times that; a type that is not installed
-- fails has_type once and skips the rest of its tests.

BEGIN;

CREATE TEMP TABLE samples (
	ord			serial,
	typ			name NOT NULL,
	valid		text NOT NULL,
	invalid		text NOT NULL
);
INSERT INTO samples (typ, valid, invalid) VALUES
	('personal_id',			'001090123456',		'099090123456'),	-- 099: no such province
	('tax_code',			'0100109106',		'0100109107'),		-- check digit is 6
	('social_insurance_no',	'0123456789',		'98765432'),		-- 8 digits
	('health_insurance_no',	'DN4010123456789',	'DN9010123456789'),	-- benefit level 9
	('phone_number',		'+84912345678',		'+84 12'),			-- too short
	('admin_unit',			'2025:79',			'2025:99'),			-- no province 99 in 2025
	('partial_date',		'1990-05',			'1990-02-30');		-- no such day

-- How many tests type_checks() runs for one type.
CREATE FUNCTION pg_temp.checks_per_type() RETURNS integer
	LANGUAGE sql IMMUTABLE AS 'SELECT 32';

-- Runs a scalar query; returns its result as text, or the error as text.
CREATE FUNCTION pg_temp.try(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result		text;
BEGIN
	EXECUTE query INTO result;
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	RETURN format('error %s: %s', SQLSTATE, SQLERRM);
END;
$$;

-- The tests of one type; emits exactly checks_per_type() results.
CREATE FUNCTION pg_temp.type_checks(typ name, valid text, invalid text)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	qt			text := 'govshare.' || quote_ident(typ);
	t			regtype;
	gs			oid := 'govshare'::regnamespace;
	op			record;
	btree_fam	oid;
	hash_fam	oid;
	msg			text;
	detail		text;
	hint		text;
	path		text := '/tmp/govshare_pgtap_' || typ || '.bin';
BEGIN
	RETURN NEXT has_type('govshare', typ, format('type %s exists', qt));
	t := to_regtype(qt);
	IF t IS NULL THEN
		RETURN NEXT skip(format('%s is not installed', qt), pg_temp.checks_per_type() - 1);
		RETURN;
	END IF;

	-- The six comparison operators, each with its commutator and negator.
	FOR op IN
		SELECT * FROM (VALUES ('=', '=', '<>'), ('<>', '<>', '='),
					   ('<', '>', '>='), ('<=', '>=', '>'),
					   ('>', '<', '<='), ('>=', '<=', '<')) AS v(name, com, neg)
	LOOP
		RETURN NEXT is(
			(SELECT format('commutator %s, negator %s',
						   coalesce(c.oprname, 'none'), coalesce(n.oprname, 'none'))
			   FROM pg_operator o
			   LEFT JOIN pg_operator c
				 ON c.oid = o.oprcom AND c.oprleft = t AND c.oprright = t
			   LEFT JOIN pg_operator n
				 ON n.oid = o.oprnegate AND n.oprleft = t AND n.oprright = t
			  WHERE o.oprnamespace = gs AND o.oprname = op.name
				AND o.oprleft = t AND o.oprright = t),
			format('commutator %s, negator %s', op.com, op.neg),
			format('operator govshare.%s (%s, %s)', op.name, qt, qt));
	END LOOP;
	RETURN NEXT ok(
		(SELECT oprcanmerge FROM pg_operator
		  WHERE oprnamespace = gs AND oprname = '=' AND oprleft = t AND oprright = t),
		format('= on %s supports merge joins', qt));
	RETURN NEXT ok(
		(SELECT oprcanhash FROM pg_operator
		  WHERE oprnamespace = gs AND oprname = '=' AND oprleft = t AND oprright = t),
		format('= on %s supports hash joins', qt));

	-- Default operator classes and what their families hold.
	SELECT opc.opcfamily INTO btree_fam
	  FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
	 WHERE opc.opcintype = t AND opc.opcdefault AND am.amname = 'btree';
	SELECT opc.opcfamily INTO hash_fam
	  FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
	 WHERE opc.opcintype = t AND opc.opcdefault AND am.amname = 'hash';
	RETURN NEXT ok(btree_fam IS NOT NULL, format('%s has a default btree operator class', qt));
	RETURN NEXT ok(hash_fam IS NOT NULL, format('%s has a default hash operator class', qt));
	RETURN NEXT is(
		(SELECT array_agg(amopstrategy ORDER BY amopstrategy) FROM pg_amop
		  WHERE amopfamily = btree_fam AND amoplefttype = t AND amoprighttype = t),
		'{1,2,3,4,5}'::int2[],
		format('btree family of %s has strategies < <= = >= >', qt));
	RETURN NEXT is(
		(SELECT array_agg(amopstrategy ORDER BY amopstrategy) FROM pg_amop
		  WHERE amopfamily = hash_fam AND amoplefttype = t AND amoprighttype = t),
		'{1}'::int2[],
		format('hash family of %s has strategy =', qt));
	RETURN NEXT is(
		(SELECT array_agg(amprocnum ORDER BY amprocnum) FROM pg_amproc
		  WHERE amprocfamily = btree_fam AND amproclefttype = t AND amprocrighttype = t),
		'{1,2,4}'::int2[],
		format('btree family of %s has cmp (1), sortsupport (2), equalimage (4)', qt));
	RETURN NEXT is(
		(SELECT array_agg(amprocnum ORDER BY amprocnum) FROM pg_amproc
		  WHERE amprocfamily = hash_fam AND amproclefttype = t AND amprocrighttype = t),
		'{1,2}'::int2[],
		format('hash family of %s has hash (1) and extended hash (2)', qt));

	-- Comparison and hash functions: leakproof, so that the planner may push
	-- quals on governed columns below security barriers; immutable, so that
	-- indexes can use them.
	RETURN NEXT is(
		(SELECT count(DISTINCT f) FROM (
			SELECT oprcode::oid FROM pg_operator
			 WHERE oprnamespace = gs AND oprleft = t AND oprright = t
			   AND oprname IN ('=', '<>', '<', '<=', '>', '>=')
			UNION ALL
			SELECT amproc::oid FROM pg_amproc
			 WHERE (amprocfamily = btree_fam AND amprocnum = 1)
				OR (amprocfamily = hash_fam AND amprocnum IN (1, 2))) AS fs(f)),
		9::bigint,
		format('%s has 9 comparison and hash functions', qt));
	RETURN NEXT is(
		(SELECT coalesce(array_agg(p.oid::regprocedure::text ORDER BY 1), '{}')
		   FROM pg_proc p
		  WHERE NOT (p.proleakproof AND p.provolatile = 'i')
			AND p.oid IN (
				SELECT oprcode::oid FROM pg_operator
				 WHERE oprnamespace = gs AND oprleft = t AND oprright = t
				   AND oprname IN ('=', '<>', '<', '<=', '>', '>=')
				UNION ALL
				SELECT amproc::oid FROM pg_amproc
				 WHERE (amprocfamily = btree_fam AND amprocnum = 1)
					OR (amprocfamily = hash_fam AND amprocnum IN (1, 2)))),
		'{}'::text[],
		format('comparison and hash functions of %s are LEAKPROOF and IMMUTABLE', qt));

	-- I/O functions: input may look at the current date, output may not.
	RETURN NEXT is(
		(SELECT p.provolatile::text FROM pg_type ty JOIN pg_proc p ON p.oid = ty.typinput
		  WHERE ty.oid = t), 's', format('input function of %s is STABLE', qt));
	RETURN NEXT is(
		(SELECT p.provolatile::text FROM pg_type ty JOIN pg_proc p ON p.oid = ty.typreceive
		  WHERE ty.oid = t), 's', format('receive function of %s is STABLE', qt));
	RETURN NEXT is(
		(SELECT p.provolatile::text FROM pg_type ty JOIN pg_proc p ON p.oid = ty.typoutput
		  WHERE ty.oid = t), 'i', format('output function of %s is IMMUTABLE', qt));
	RETURN NEXT is(
		(SELECT p.provolatile::text FROM pg_type ty JOIN pg_proc p ON p.oid = ty.typsend
		  WHERE ty.oid = t), 'i', format('send function of %s is IMMUTABLE', qt));

	-- Casts and disclosure transforms.
	RETURN NEXT has_cast(qt::name, 'text', format('cast %s to text exists', qt));
	RETURN NEXT has_cast('text', qt::name, format('cast text to %s exists', qt));
	RETURN NEXT has_function('govshare', 'mask', ARRAY[qt]::name[],
							 format('govshare.mask(%s) exists', qt));
	RETURN NEXT has_function('govshare', 'generalize', ARRAY[qt]::name[],
							 format('govshare.generalize(%s) exists', qt));
	RETURN NEXT has_function('govshare', 'disclosure_form', ARRAY[qt]::name[],
							 format('govshare.disclosure_form(%s) exists', qt));

	-- Behaviour of the sample values.
	RETURN NEXT is(
		pg_temp.try(format('SELECT %L::%s::text', valid, qt)), valid,
		format('%s: a valid text reads and prints unchanged', qt));
	RETURN NEXT is(
		pg_temp.try(format('SELECT (govshare.mask(%1$L::%2$s)::text::%2$s '
						   'OPERATOR(govshare.=) govshare.mask(%1$L::%2$s))::text',
						   valid, qt)), 'true',
		format('%s: the text of a masked value reads back to it', qt));
	RETURN NEXT is(
		pg_temp.try(format('SELECT (govshare.generalize(%1$L::%2$s)::text::%2$s '
						   'OPERATOR(govshare.=) govshare.generalize(%1$L::%2$s))::text',
						   valid, qt)), 'true',
		format('%s: the text of a generalized value reads back to it', qt));
	RETURN NEXT is(
		pg_temp.try(format($q$
			COPY (SELECT %1$L::%2$s) TO %3$L (FORMAT binary);
			CREATE TEMP TABLE binary_check (v %2$s);
			COPY binary_check FROM %3$L (FORMAT binary);
			SELECT v::text FROM binary_check; $q$, valid, qt, path)), valid,
		format('%s: a value survives binary COPY out and in', qt));
	DROP TABLE IF EXISTS binary_check;
	RETURN NEXT throws_ok(format('SELECT %L::%s', invalid, qt), '22P02',
						  format('invalid input for type %s', typ),
						  format('%s: an invalid text is refused with 22P02', qt));
	BEGIN
		EXECUTE format('SELECT %L::%s', invalid, qt);
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
			hint = PG_EXCEPTION_HINT;
	END;
	RETURN NEXT ok(
		msg IS NOT NULL AND
		strpos(concat_ws(' ', msg, detail, hint), invalid) = 0,
		format('%s: the refusal does not quote the input', qt));
END;
$$;

-- Runs type_checks() for every sample, in the order of the list.
CREATE FUNCTION pg_temp.all_checks() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	s			record;
BEGIN
	FOR s IN SELECT * FROM samples ORDER BY ord LOOP
		RETURN QUERY SELECT * FROM pg_temp.type_checks(s.typ, s.valid, s.invalid);
	END LOOP;
END;
$$;

SELECT plan((SELECT count(*)::integer * pg_temp.checks_per_type() FROM samples));
SELECT * FROM pg_temp.all_checks();
SELECT * FROM finish();
ROLLBACK;
