
--
-- The national data dictionary: data elements, code lists, classification.
-- (src/sql/dictionary.sql; the national profile's rows are in
-- src/sql/profile_vn.sql.)
--

-- Administrators of the dictionary, agencies and rules.  Roles are
-- cluster-wide, so a second database's CREATE EXTENSION finds it made.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'govshare_admin') THEN
		CREATE ROLE govshare_admin NOLOGIN;
	END IF;
END
$$;

CREATE TYPE govshare.sensitivity AS ENUM ('public', 'internal', 'personal', 'sensitive');
COMMENT ON TYPE govshare.sensitivity IS
	'public < internal < personal (basic personal data) < sensitive (sensitive personal data)';

-- Code lists: versioned lists of codes with validity dates.
CREATE TABLE govshare.code_list (
	list		text PRIMARY KEY CHECK (list ~ '^[a-z][a-z0-9_]*$'),
	name_vi		text NOT NULL,
	name_en		text NOT NULL,
	description	text,
	source		text,			-- the legal instrument or standard
	shipped		boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE govshare.code_list IS 'code lists of the national data dictionary';

CREATE TABLE govshare.code (
	list		text NOT NULL REFERENCES govshare.code_list ON UPDATE CASCADE,
	code		text NOT NULL,
	name_vi		text NOT NULL,
	name_en		text,
	parent		text,			-- e.g. the province of a ward
	successor	text,			-- the code that replaced it (same list or the list's successor)
	valid_from	date NOT NULL DEFAULT '1900-01-01',
	valid_until	date,			-- exclusive; NULL while in force
	shipped		boolean NOT NULL DEFAULT false,
	PRIMARY KEY (list, code, valid_from),
	CHECK (valid_until IS NULL OR valid_until > valid_from)
);
COMMENT ON TABLE govshare.code IS 'codes of the code lists, with validity dates';

CREATE TABLE govshare.element (
	code		text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
	name_vi		text NOT NULL,
	name_en		text NOT NULL,
	description	text,
	datatype	regtype NOT NULL,
	sensitivity	govshare.sensitivity NOT NULL,
	code_list	text REFERENCES govshare.code_list ON UPDATE CASCADE,
	subject_key	boolean NOT NULL DEFAULT false,	-- identifies a data subject
	legal_basis	text,
	shipped		boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE govshare.element IS 'data elements of the national data dictionary';

-- Shipped rows belong to the extension: they are not dumped (CREATE
-- EXTENSION recreates them) and only a superuser (an upgrade script) may
-- change them.  Agencies add rows of their own, which pg_dump keeps.
CREATE FUNCTION govshare.guard_shipped() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF (TG_OP <> 'INSERT' AND OLD.shipped OR TG_OP <> 'DELETE' AND NEW.shipped)
	   AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'rows of the national profile in %.% are read-only', TG_TABLE_SCHEMA, TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'Rows with shipped = true come with the extension and change only with its upgrades.',
			      HINT = 'Add a row of your own with shipped = false.';
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER guard_shipped BEFORE INSERT OR UPDATE OR DELETE ON govshare.code_list
	FOR EACH ROW EXECUTE FUNCTION govshare.guard_shipped();
CREATE TRIGGER guard_shipped BEFORE INSERT OR UPDATE OR DELETE ON govshare.code
	FOR EACH ROW EXECUTE FUNCTION govshare.guard_shipped();
CREATE TRIGGER guard_shipped BEFORE INSERT OR UPDATE OR DELETE ON govshare.element
	FOR EACH ROW EXECUTE FUNCTION govshare.guard_shipped();

-- Why the code behind values of a type (input and output functions, domain
-- checks, element, column and range subtypes) may not run as a role (NULL:
-- as any role), or NULL when it may: every owner is a superuser or that
-- role, and nothing is temporary (src/common/trust.c).
CREATE FUNCTION govshare.type_problem(type regtype, runner regrole DEFAULT NULL) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_type_problem_sql' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION govshare.type_problem(regtype, regrole) IS
	'why the code of a type may not run as a role (NULL: as any role); NULL when it may';

-- The type of an element is one whose code any role may run: a superuser's
-- or the extension's, never temporary.  A superuser may register another
-- (not a temporary one); govshare then still runs its code only as its
-- owner (govshare.is_valid, quality_report and classify check again).
CREATE FUNCTION govshare.element_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	problem text;
	temporary boolean;
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.datatype = OLD.datatype THEN
		RETURN NEW;
	END IF;
	problem := govshare.type_problem(NEW.datatype);
	IF problem IS NULL THEN
		RETURN NEW;
	END IF;
	temporary := (SELECT n.oid = pg_my_temp_schema() OR pg_is_other_temp_schema(n.oid)
	              FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
	              WHERE t.oid = NEW.datatype);
	IF temporary OR NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'data element "%" cannot be of type %', NEW.code, NEW.datatype
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = format('%s; the type of a data element is one whose code govshare may run as any role.',
			                      upper(left(problem, 1)) || substr(problem, 2)),
			      HINT = CASE WHEN temporary THEN 'Use a type of a permanent schema.'
			                  ELSE 'Use a type a superuser owns, or ask a superuser to register the element.' END;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER element_check BEFORE INSERT OR UPDATE OF datatype ON govshare.element
	FOR EACH ROW EXECUTE FUNCTION govshare.element_check();
-- Trigger functions are called by their triggers only.
REVOKE EXECUTE ON FUNCTION govshare.guard_shipped(), govshare.element_check() FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('govshare.code_list', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('govshare.code', 'WHERE NOT shipped');
SELECT pg_catalog.pg_extension_config_dump('govshare.element', 'WHERE NOT shipped');

-- The dictionary is public knowledge; govshare_admin maintains it.
GRANT SELECT ON govshare.code_list, govshare.code, govshare.element TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON govshare.code_list, govshare.code, govshare.element
	TO govshare_admin;

-- Loads a code list from a CSV file on the server (header line:
-- code,name_vi,name_en,parent,valid_from,valid_until).  Reading a server
-- file needs pg_read_server_files, as for COPY.  Returns the rows loaded;
-- rows already present (same list, code and valid_from) are updated.
CREATE FUNCTION govshare.load_code_list(list text, path text) RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
	n bigint;
BEGIN
	IF NOT EXISTS (SELECT FROM govshare.code_list c WHERE c.list = load_code_list.list) THEN
		RAISE EXCEPTION 'code list "%" does not exist', list
			USING ERRCODE = 'undefined_object',
			      HINT = 'Create it first: INSERT INTO govshare.code_list (list, name_vi, name_en) VALUES (...).';
	END IF;
	CREATE TEMP TABLE govshare_load (code text, name_vi text, name_en text, parent text,
	                                 valid_from date, valid_until date) ON COMMIT DROP;
	EXECUTE format('COPY pg_temp.govshare_load FROM %L (FORMAT csv, HEADER true)', path);
	INSERT INTO govshare.code AS k (list, code, name_vi, name_en, parent, valid_from, valid_until)
	SELECT load_code_list.list, l.code, l.name_vi, l.name_en, l.parent,
	       coalesce(l.valid_from, '1900-01-01'), l.valid_until
	FROM pg_temp.govshare_load l
	ON CONFLICT (list, code, valid_from) DO UPDATE
		SET name_vi = EXCLUDED.name_vi, name_en = EXCLUDED.name_en,
		    parent = EXCLUDED.parent, valid_until = EXCLUDED.valid_until;
	GET DIAGNOSTICS n = ROW_COUNT;
	DROP TABLE pg_temp.govshare_load;
	RETURN n;
END
$$;
COMMENT ON FUNCTION govshare.load_code_list(text, text) IS
	'load codes from a server-side CSV file (code,name_vi,name_en,parent,valid_from,valid_until)';
REVOKE EXECUTE ON FUNCTION govshare.load_code_list(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.load_code_list(text, text) TO govshare_admin;

-- Classification: labels of the "govshare" security label provider.
CREATE FUNCTION govshare.classify(rel regclass, col name, element text) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_classify' LANGUAGE C STRICT;
COMMENT ON FUNCTION govshare.classify(regclass, name, text) IS
	'bind a column to a data element (SECURITY LABEL FOR govshare ON COLUMN ...)';
CREATE FUNCTION govshare.declassify(rel regclass, col name) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_declassify' LANGUAGE C STRICT;
CREATE FUNCTION govshare.govern(rel regclass) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_govern' LANGUAGE C STRICT;
COMMENT ON FUNCTION govshare.govern(regclass) IS
	'enforce sharing rules on a table (and its partitions and children)';
CREATE FUNCTION govshare.ungovern(rel regclass) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_ungovern' LANGUAGE C STRICT;
-- Why a relation may not be governed, or NULL: not a table (a table that
-- became a view), not a user's (a system catalog, an extension's, one in
-- schema govshare), or owned by a role that acts for another agency or
-- that such a role may become.  No rule applies to a governed relation for
-- which it says something.
CREATE FUNCTION govshare.governance_problem(rel regclass) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_governance_problem' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION govshare.governance_problem(regclass) IS
	'why a relation may not be governed (no rule applies to it if it is), or NULL';
REVOKE EXECUTE ON FUNCTION govshare.governance_problem(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.governance_problem(regclass) TO govshare_admin;
CREATE FUNCTION govshare.type_conformance(column_type regtype, element_type regtype) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_type_conformance' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.is_valid(value text, type regtype) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_is_valid' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.is_valid(value bigint, type regtype) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_is_valid_number' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.is_valid(text, regtype) IS
	'would the text be accepted as a (non-disclosure-form) value of the type?';

-- Every classified column, with the classification it has or inherits, and
-- every column of a governed table that is not classified.
CREATE VIEW govshare.classification AS
WITH RECURSIVE
labels AS (
	SELECT s.objoid AS relid, s.objsubid AS attnum, s.label
	FROM pg_catalog.pg_seclabel s
	WHERE s.provider = 'govshare' AND s.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
),
column_labels(relid, attname, element, source, depth) AS (
	SELECT l.relid, a.attname, l.label, l.relid, 0
	FROM labels l
	JOIN pg_catalog.pg_attribute a ON a.attrelid = l.relid AND a.attnum = l.attnum
	WHERE l.attnum > 0
	UNION ALL
	SELECT i.inhrelid, c.attname, c.element, c.source, c.depth + 1
	FROM column_labels c JOIN pg_catalog.pg_inherits i ON i.inhparent = c.relid
),
effective AS (
	SELECT DISTINCT ON (relid, attname) relid, attname, element, source
	FROM column_labels ORDER BY relid, attname, depth
),
governed_from(relid, source, depth) AS (
	SELECT l.relid, l.relid, 0 FROM labels l WHERE l.attnum = 0
	UNION ALL
	SELECT i.inhrelid, g.source, g.depth + 1
	FROM governed_from g JOIN pg_catalog.pg_inherits i ON i.inhparent = g.relid
),
governed AS (
	SELECT DISTINCT ON (relid) relid, source FROM governed_from ORDER BY relid, depth
)
SELECT a.attrelid::pg_catalog.regclass AS relation,
       a.attname AS column_name,
       a.attnum,
       e.element,
       el.sensitivity,
       a.atttypid::pg_catalog.regtype AS column_type,
       el.datatype AS element_type,
       CASE WHEN el.datatype IS NOT NULL
            THEN govshare.type_conformance(a.atttypid, el.datatype) END AS conformance,
       NULLIF(e.source, a.attrelid)::pg_catalog.regclass AS inherited_from,
       g.relid IS NOT NULL AS governed,
       CASE WHEN e.element IS NULL THEN 'unclassified'
            WHEN el.code IS NULL THEN 'unknown element'
            ELSE 'classified' END AS status
FROM pg_catalog.pg_attribute a
LEFT JOIN effective e ON e.relid = a.attrelid AND e.attname = a.attname
LEFT JOIN governed g ON g.relid = a.attrelid
LEFT JOIN govshare.element el ON el.code = e.element
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND (e.element IS NOT NULL OR g.relid IS NOT NULL);
COMMENT ON VIEW govshare.classification IS
	'classified columns (own or inherited) and the unclassified columns of governed tables';
GRANT SELECT ON govshare.classification TO PUBLIC;

-- Is a ward in the loaded code list of its scheme?  Provinces are checked by
-- the type itself; a ward is known when its scheme's list (ward_2004,
-- ward_2025) holds it under its province, or when that list is not loaded.
CREATE FUNCTION govshare.admin_unit_known(unit govshare.admin_unit) RETURNS boolean
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
	SELECT govshare.admin_unit_ward_code(unit) IS NULL
	    OR NOT EXISTS (SELECT FROM govshare.code k
	                   WHERE k.list = 'ward_' || govshare.admin_unit_scheme(unit))
	    OR EXISTS (SELECT FROM govshare.code k
	               WHERE k.list = 'ward_' || govshare.admin_unit_scheme(unit)
	                 AND k.code = govshare.admin_unit_ward_code(unit)
	                 AND k.parent = govshare.admin_unit_province_code(unit))
$$;

-- Data quality of the classified columns of one table, in one pass:
-- rows, nulls (sufficient), values that fail the element's type or code
-- list (correct), duplicate subject keys (clean), and the age of the
-- newest and oldest rows by a timestamp column (live).
CREATE FUNCTION govshare.quality_report(rel regclass, freshness_column name DEFAULT NULL)
RETURNS TABLE (column_name name, element text, sensitivity govshare.sensitivity,
               rows bigint, nulls bigint, invalid bigint, duplicates bigint,
               newest_age interval, oldest_age interval)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c record;
	me regrole := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user);
	problem text;
	cols text[] := '{}';
	exprs text[] := '{}';
	check_expr text;
	fresh_type regtype;
	fresh text := 'NULL::timestamptz AS newest, NULL::timestamptz AS oldest';
	result record;
	i int := 0;
	-- the schemes whose ward list is loaded: only those can judge a ward
	ward_schemes int[] := ARRAY(SELECT DISTINCT substr(k.list, 6)::int FROM govshare.code k
	                            WHERE k.list IN ('ward_2004', 'ward_2025'));
BEGIN
	-- the table's rows, not code its owner attached: no view (a table can
	-- become one), no row security policies that would run as the caller
	IF (SELECT t.relkind FROM pg_catalog.pg_class t WHERE t.oid = rel) NOT IN ('r', 'p') THEN
		RAISE EXCEPTION 'quality_report reads tables only; "%" is not one', rel
			USING ERRCODE = 'wrong_object_type';
	END IF;
	IF pg_catalog.row_security_active(rel)
	   AND (SELECT t.relowner FROM pg_catalog.pg_class t WHERE t.oid = rel) <> me THEN
		RAISE EXCEPTION 'quality_report will not read "%" through the row security policies of its owner', rel
			USING ERRCODE = 'insufficient_privilege',
			      DETAIL = 'The policies are the owner''s code and would run as the caller.',
			      HINT = 'Run it as the table''s owner, or as a role that bypasses row security.';
	END IF;
	IF freshness_column IS NOT NULL THEN
		SELECT a.atttypid::regtype INTO fresh_type FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = rel AND a.attname = freshness_column AND a.attnum > 0 AND NOT a.attisdropped;
		IF fresh_type IS NULL THEN
			RAISE EXCEPTION 'column "%" of relation "%" does not exist', freshness_column, rel
				USING ERRCODE = 'undefined_column';
		END IF;
		IF fresh_type NOT IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype) THEN
			RAISE EXCEPTION 'freshness column "%" must be a date or timestamp', freshness_column
				USING ERRCODE = 'datatype_mismatch',
				      DETAIL = format('It is of type %s.', fresh_type);
		END IF;
		fresh := format('max(%1$I)::timestamptz AS newest, min(%1$I)::timestamptz AS oldest',
		                freshness_column);
	END IF;

	FOR c IN
		SELECT k.column_name, k.element, k.column_type, el.datatype, el.code_list, el.subject_key
		FROM govshare.classification k JOIN govshare.element el ON el.code = k.element
		WHERE k.relation = rel ORDER BY k.attnum
	LOOP
		-- the query below runs the code of both types as the caller: only
		-- if their owners are the caller or superusers (docs/security.md)
		problem := coalesce(govshare.type_problem(c.column_type, me), govshare.type_problem(c.datatype, me));
		IF problem IS NOT NULL THEN
			RAISE EXCEPTION 'quality_report will not run the code of column "%" as role "%"', c.column_name, current_user
				USING ERRCODE = 'insufficient_privilege',
				      DETAIL = upper(left(problem, 1)) || substr(problem, 2) || '.',
				      HINT = 'Run it as the type''s owner, or have a superuser take ownership of the type.';
		END IF;
		-- what makes a non-null value incorrect
		IF c.column_type = c.datatype THEN
			-- a national type holds only valid values, but maybe in a disclosure form
			check_expr := CASE WHEN (SELECT t.typnamespace = 'govshare'::regnamespace AND t.typtype = 'b'
			                         FROM pg_catalog.pg_type t WHERE t.oid = c.datatype)
			                   THEN format('govshare.disclosure_form(%I) <> ''value''', c.column_name)
			                   ELSE 'false' END;
		ELSIF c.column_type IN ('bigint'::regtype, 'integer'::regtype)
		      AND EXISTS (SELECT FROM pg_catalog.pg_cast
		                  WHERE castsource = 'bigint'::regtype AND casttarget = c.datatype) THEN
			-- numbers that stand for identifiers: judged as the bigint cast would
			check_expr := format('NOT govshare.is_valid(%I::bigint, %L::regtype)', c.column_name, c.datatype);
		ELSE
			-- anything else is judged by its text form
			check_expr := format('NOT govshare.is_valid(%I::text, %L::regtype)', c.column_name, c.datatype);
		END IF;
		IF c.code_list IS NOT NULL THEN
			check_expr := format('(%s OR %I::text NOT IN (SELECT code FROM govshare.code WHERE list = %L))',
			                     check_expr, c.column_name, c.code_list);
		END IF;
		IF c.datatype = 'govshare.admin_unit'::regtype AND c.column_type = c.datatype
		   AND cardinality(ward_schemes) > 0 THEN
			-- as govshare.admin_unit_known(), but one hashed lookup per row
			check_expr := format('(%1$s OR govshare.admin_unit_scheme(%2$I) = ANY (%3$L::int[])'
			                     ' AND govshare.admin_unit_ward_code(%2$I) IS NOT NULL'
			                     ' AND %2$I::text NOT IN (SELECT substr(k.list, 6) || '':'' || k.parent'
			                     ' || ''.'' || k.code FROM govshare.code k'
			                     ' WHERE k.list IN (''ward_2004'', ''ward_2025'')))',
			                     check_expr, c.column_name, ward_schemes);
		END IF;
		cols := cols || ARRAY[c.column_name::text, c.element];
		exprs := exprs || format('count(%1$I), count(*) FILTER (WHERE %1$I IS NOT NULL AND %2$s), %3$s',
		                         c.column_name, check_expr,
		                         CASE WHEN c.subject_key THEN format('count(%1$I) - count(DISTINCT %1$I)', c.column_name)
		                              ELSE 'NULL::bigint' END);
	END LOOP;
	IF cardinality(exprs) = 0 THEN
		RAISE EXCEPTION 'relation "%" has no classified columns', rel
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      HINT = 'Classify columns with govshare.classify() or SECURITY LABEL FOR govshare.';
	END IF;

	EXECUTE format('SELECT ARRAY[count(*), %s] AS counts, %s FROM %s',
	               array_to_string(exprs, ', '), fresh, rel)
		INTO result;
	FOR i IN 1 .. cardinality(exprs) LOOP
		column_name := cols[2 * i - 1];
		element := cols[2 * i];
		SELECT el.sensitivity INTO sensitivity FROM govshare.element el WHERE el.code = element;
		rows := result.counts[1];
		nulls := rows - result.counts[3 * i - 1];
		invalid := result.counts[3 * i];
		duplicates := result.counts[3 * i + 1];
		newest_age := now() - result.newest;
		oldest_age := now() - result.oldest;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION govshare.quality_report(regclass, name) IS
	'per classified column: rows, nulls, invalid values, duplicate subject keys, freshness';
