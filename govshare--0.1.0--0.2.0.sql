/* govshare--0.1.0--0.2.0.sql — upgrade from 0.1.0 to 0.2.0 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION govshare UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 writes once, in C, what both C and SQL need to know of a rule (its
-- status, the elements its patterns cover, whether it applies at a time),
-- and SQL calls it: the functions below are new, the rule_check trigger
-- function and the govshare.rules view call them instead of their own
-- copies.  0.1.0 matched patterns with LIKE, where "_" and "%" were
-- wildcards too.
--
-- 0.2.0 also draws the privilege boundaries of docs/security.md
-- ("Privilege model"): the type of a data element is one whose code any
-- role may run (govshare.type_problem, the element_check trigger);
-- quality_report runs no code of a lesser role; only ordinary tables of
-- internal roles are governed (govshare.governance_problem, rule_check,
-- check_setup); load_code_list is govshare_admin's, trigger functions
-- nobody's; the SQL functions run with search_path = pg_catalog, pg_temp
-- but share and rule_check (which analyse a row filter in the caller's
-- path) and the inlined subject_access, revoke, suspend and resume; the
-- views that show part of a table to roles that may not read all of it
-- are security barriers.

--
-- What a rule means, written once in C (src/catalog/rule.c) and called
-- from here, so that the SQL below and the decision engine cannot
-- disagree; sql/agreement.sql checks that they do not.
--

-- Is an element of a rule a pattern: "*", or a prefix followed by ".*"?
CREATE FUNCTION govshare.element_is_pattern(code text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_element_is_pattern_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.element_is_pattern(text) IS
	'is an element of a rule a pattern ("*" or "prefix.*") rather than an element code?';

-- Does an element of a rule (a code, "*" or "prefix.*") name the element?
-- Only the final "*" is a wildcard ("_" and "%" match themselves).  The
-- callers add that a pattern covers no sensitive element.
CREATE FUNCTION govshare.element_covers(pattern text, element text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_element_covers_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.element_covers(text, text) IS
	'does an element of a rule (a code, "*" or "prefix.*") name this data element? as the decision engine matches';

-- Does a rule with this status and validity window apply at a time: active,
-- and valid_from <= at < valid_until (NULL bounds are open)?
CREATE FUNCTION govshare.rule_active(status text, valid_from timestamptz, valid_until timestamptz,
                                     at timestamptz) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_rule_active_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION govshare.rule_active(text, timestamptz, timestamptz, timestamptz) IS
	'does a rule with this status and validity window apply at this time? as the decision engine decides';

-- A rule's status from its events, in any order: revoked once revoked,
-- else suspended when its latest suspend or resume is a suspend, else
-- active.  rule_status gives the status, rule_status_event the id of the
-- event that made the rule revoked or suspended (NULL when active).
CREATE FUNCTION govshare.rule_history_add(internal, bigint, text) RETURNS internal
	AS 'MODULE_PATHNAME', 'govshare_rule_history_add_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION govshare.rule_history_status(internal) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_rule_history_status_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION govshare.rule_history_event(internal) RETURNS bigint
	AS 'MODULE_PATHNAME', 'govshare_rule_history_event_sql' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE govshare.rule_status(id bigint, event text) (
	SFUNC = govshare.rule_history_add, STYPE = internal,
	FINALFUNC = govshare.rule_history_status, PARALLEL = SAFE);
CREATE AGGREGATE govshare.rule_status_event(id bigint, event text) (
	SFUNC = govshare.rule_history_add, STYPE = internal,
	FINALFUNC = govshare.rule_history_event, PARALLEL = SAFE);
COMMENT ON AGGREGATE govshare.rule_status(bigint, text) IS
	'the status of a rule from its events (id, event): active, suspended or revoked';
COMMENT ON AGGREGATE govshare.rule_status_event(bigint, text) IS
	'the id of the event that made a rule revoked or suspended; NULL when it is active';

-- Validates a new rule, however it is inserted, and analyses its row
-- filter.  Lookups of other catalogs are skipped while pg_restore loads a
-- dump (check_function_bodies off), when their rows may not be back yet.
-- It keeps the caller's search path (it names its own objects with their
-- schema): the row filter's names are the caller's, as CREATE POLICY's are.
CREATE OR REPLACE FUNCTION govshare.rule_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	restoring boolean := NOT current_setting('check_function_bodies')::boolean;
	p text;
	e text;
	matched int;
	sensitive text[];
BEGIN
	IF cardinality(NEW.purposes) IS NULL OR cardinality(NEW.purposes) = 0 OR array_position(NEW.purposes, NULL) IS NOT NULL THEN
		PERFORM govshare.reject_rule('A rule needs at least one purpose, and no purpose may be NULL.');
	END IF;
	IF cardinality(NEW.elements) IS NULL OR cardinality(NEW.elements) = 0 OR array_position(NEW.elements, NULL) IS NOT NULL THEN
		PERFORM govshare.reject_rule('A rule needs at least one data element, and no element may be NULL.');
	END IF;
	IF NEW.valid_until IS NOT NULL AND NEW.valid_until <= NEW.valid_from THEN
		PERFORM govshare.reject_rule(format('The rule would end (%s) before it starts (%s).', NEW.valid_until, NEW.valid_from),
		                             'valid_until must be later than valid_from.');
	END IF;
	IF NEW.row_filter IS NOT NULL AND NEW.relation IS NULL THEN
		PERFORM govshare.reject_rule('A row filter needs the relation whose columns it reads.',
		                             'Give the rule a relation, or share without a row filter.');
	END IF;
	NEW.legal_basis := NULLIF(btrim(NEW.legal_basis), '');
	NEW.purposes := ARRAY(SELECT DISTINCT unnest(NEW.purposes) ORDER BY 1);
	NEW.elements := ARRAY(SELECT DISTINCT unnest(NEW.elements) ORDER BY 1);

	IF NOT restoring THEN
		IF NOT EXISTS (SELECT FROM govshare.agency a WHERE a.code = NEW.consumer) THEN
			PERFORM govshare.reject_rule(format('Agency "%s" does not exist.', NEW.consumer),
			                             'Add it with govshare.add_agency().');
		END IF;
		IF (SELECT a.is_self FROM govshare.agency a WHERE a.code = NEW.consumer) THEN
			PERFORM govshare.reject_rule(format('Agency "%s" is this database''s own agency; its roles are internal and need no rule.', NEW.consumer));
		END IF;
		FOREACH p IN ARRAY NEW.purposes LOOP
			IF NOT EXISTS (SELECT FROM govshare.purpose x WHERE x.code = p) THEN
				PERFORM govshare.reject_rule(format('Purpose "%s" does not exist.', p),
				                             'Add it with govshare.add_purpose().');
			END IF;
		END LOOP;
		FOREACH e IN ARRAY NEW.elements LOOP
			IF govshare.element_is_pattern(e) THEN
				-- a pattern: all non-sensitive elements under a prefix
				SELECT count(*) INTO matched FROM govshare.element el
				WHERE govshare.element_covers(e, el.code) AND el.sensitivity <> 'sensitive';
				IF matched = 0 THEN
					PERFORM govshare.reject_rule(format('Pattern "%s" matches no data element that is not sensitive.', e),
					                             'Sensitive elements must be listed one by one.');
				END IF;
			ELSIF e ~ '[*%?]' THEN
				PERFORM govshare.reject_rule(format('"%s" is neither a data element nor a pattern.', e),
				                             'A pattern is "*" or a prefix followed by ".*", such as "person.*".');
			ELSIF NOT EXISTS (SELECT FROM govshare.element el WHERE el.code = e) THEN
				PERFORM govshare.reject_rule(format('Data element "%s" does not exist.', e),
				                             'The data elements are listed in govshare.element.');
			END IF;
		END LOOP;
		sensitive := ARRAY(SELECT el.code FROM govshare.element el
		                   WHERE el.code = ANY (NEW.elements) AND el.sensitivity = 'sensitive' ORDER BY 1);
		IF cardinality(sensitive) > 0 AND NEW.legal_basis IS NULL THEN
			PERFORM govshare.reject_rule(format('Sensitive personal data (%s) is shared only with a legal basis.',
			                                    array_to_string(sensitive, ', ')),
			                             'Give legal_basis: the instrument and article that allow this sharing.');
		END IF;
		IF NEW.relation IS NOT NULL THEN
			IF govshare.governance_problem(NEW.relation) IS NOT NULL THEN
				PERFORM govshare.reject_rule(format('Relation %s may not be governed: %s.', NEW.relation,
				                                    govshare.governance_problem(NEW.relation)),
				                             'govshare governs the ordinary tables of internal roles only.');
			END IF;
			IF NOT EXISTS (SELECT FROM govshare.classification k WHERE k.relation = NEW.relation AND k.governed) THEN
				PERFORM govshare.reject_rule(format('Relation %s is not governed.', NEW.relation),
				                             format('Run SELECT govshare.govern(%L) first.', NEW.relation::text));
			END IF;
			FOREACH e IN ARRAY NEW.elements LOOP
				IF NOT EXISTS (SELECT FROM govshare.classification k
				               WHERE k.relation = NEW.relation AND govshare.element_covers(e, k.element)) THEN
					PERFORM govshare.reject_rule(format('No column of relation %s is classified as "%s".', NEW.relation, e),
					                             'Classify the column first, or share without a relation.');
				END IF;
			END LOOP;
		END IF;
	END IF;

	NEW.row_filter_tree := CASE WHEN NEW.row_filter IS NOT NULL
	                            THEN govshare.analyse_row_filter(NEW.relation, NEW.row_filter) END;
	RETURN NEW;
END
$$;
-- Rules with their current status, which is their history's (the
-- aggregates above, the definition the decision engine uses): revoked once
-- revoked, else suspended when the last suspend is not followed by a
-- resume; and who made it so, when and why.
CREATE OR REPLACE VIEW govshare.rules AS
SELECT r.id, r.consumer, r.purposes, r.elements, r.level, r.relation, r.row_filter,
       r.legal_basis, r.valid_from, r.valid_until,
       h.status, d.at AS status_since, d.by AS status_by, d.reason AS status_reason,
       r.created_at, r.created_by
FROM govshare.rule r
CROSS JOIN LATERAL (SELECT govshare.rule_status(e.id, e.event) AS status,
                           govshare.rule_status_event(e.id, e.event) AS event_id
                    FROM govshare.rule_event e WHERE e.rule_id = r.id) h
LEFT JOIN govshare.rule_event d ON d.id = h.event_id;

--
-- The privilege boundaries (docs/security.md, "Privilege model").
--

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

REVOKE EXECUTE ON FUNCTION govshare.load_code_list(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.load_code_list(text, text) TO govshare_admin;

-- Data quality of the classified columns of one table, in one pass:
-- rows, nulls (sufficient), values that fail the element's type or code
-- list (correct), duplicate subject keys (clean), and the age of the
-- newest and oldest rows by a timestamp column (live).
CREATE OR REPLACE FUNCTION govshare.quality_report(rel regclass, freshness_column name DEFAULT NULL)
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

-- Misconfigurations a DBA should fix, most serious first.
-- (check_setup() is replaced once, at the end, as both changes of 0.2.0 left it)

-- Every other SQL function runs with a search path of its own.
ALTER FUNCTION govshare.guard_shipped() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.load_code_list(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.admin_unit_known(govshare.admin_unit) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.guard_history() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.reject_rule(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.add_agency(text, text, text, boolean) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.bind_role(regrole, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.unbind_role(regrole) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.add_agency_key(text, text, timestamptz) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.revoke_agency_key(text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.add_purpose(text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.rule_transition(bigint, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.guard_access_log() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION govshare.sign_request_token(text, text, text, text, text, interval, text)
	SET search_path = pg_catalog, pg_temp;

-- Trigger functions are called by their triggers only; reject_rule by
-- rule_check, as govshare_admin.
REVOKE EXECUTE ON FUNCTION govshare.guard_shipped(), govshare.element_check(),
	govshare.guard_history(), govshare.policy_changed(), govshare.rule_check(),
	govshare.guard_access_log(), govshare.reject_rule(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.reject_rule(text, text) TO govshare_admin;

-- Views over tables their readers may not read whole.
ALTER VIEW govshare.remote_request SET (security_barrier = true);
ALTER VIEW govshare.endpoints SET (security_barrier = true);

-- Issue 15: the enforcement past the planner hook (reads_governed,
-- statistics_hidden, check_setup with the materialized views).
-- Whether a view or materialized view reads governed data: the test the
-- enforcement applies to materialized views (src/enforce/rewrite.c), here
-- because check_setup() calls it.
CREATE FUNCTION govshare.reads_governed(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_reads_governed' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION govshare.reads_governed(regclass) IS
	'whether a view or materialized view reads governed data (materialized views that do are refused to consumers)';

-- Misconfigurations a DBA should fix, most serious first.

-- The security qual a consumer's read of pg_statistic gets: its NOT.
CREATE FUNCTION govshare.statistics_hidden(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_statistics_hidden' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.statistics_hidden(regclass) IS
	'whether pg_stats hides the relation''s statistics from the session: governed relations, and for a consumer the materialized views it is refused';

-- check_setup() as both changes of 0.2.0 left it (privileges, materialized views).
CREATE OR REPLACE FUNCTION govshare.check_setup()
RETURNS TABLE (severity text, object text, problem text, hint text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
WITH RECURSIVE
governed(relid) AS (
	SELECT DISTINCT k.relation::pg_catalog.oid FROM govshare.classification k WHERE k.governed
),
consumer AS (
	SELECT b.role, b.agency FROM govshare.role_binding b
	JOIN govshare.agency a ON a.code = b.agency AND NOT a.is_self
	JOIN pg_catalog.pg_roles r ON r.oid = b.role
),
-- materialized views that are not governed: refused to a consumer agency
-- when a copy of governed data, or made by a role that does not act for it
matviews(relid, owner, copy) AS (
	SELECT c.oid, c.relowner, govshare.reads_governed(c.oid) FROM pg_catalog.pg_class c
	WHERE c.relkind = 'm' AND c.oid NOT IN (SELECT relid FROM governed)
),
findings(rank, severity, object, problem, hint) AS (
	SELECT 1, 'error', 'agency', 'no agency is self',
	       'Register this database''s own agency: SELECT govshare.add_agency(code, name, is_self => true).'
	WHERE NOT EXISTS (SELECT FROM govshare.agency WHERE is_self)
	UNION ALL
	SELECT 1, 'error', format('role %s on %s', c.role, g.relid::pg_catalog.regclass),
	       format('consumer role %s (agency %s) holds privileges on governed table %s: %s',
	              c.role, c.agency, g.relid::pg_catalog.regclass, p.privs),
	       format('REVOKE ALL ON %s FROM %s; consumers read governed tables through govshare alone.',
	              g.relid::pg_catalog.regclass, c.role)
	FROM consumer c CROSS JOIN governed g
	CROSS JOIN LATERAL (
		SELECT string_agg(x.priv, ', ') AS privs
		FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) x(priv)
		WHERE pg_catalog.has_table_privilege(c.role, g.relid, x.priv)
		   OR x.priv IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
		      AND pg_catalog.has_any_column_privilege(c.role, g.relid, x.priv)) p
	WHERE p.privs IS NOT NULL
	UNION ALL
	SELECT 1, 'error', format('role %s on %s', c.role, m.relid::pg_catalog.regclass),
	       format('consumer role %s (agency %s) holds privileges on materialized view %s, %s: %s',
	              c.role, c.agency, m.relid::pg_catalog.regclass,
	              CASE WHEN m.copy THEN 'a copy of governed data'
	                   ELSE format('made by role %s outside the agency''s rules', m.owner::pg_catalog.regrole) END,
	              p.privs),
	       format('REVOKE ALL ON %s FROM %s (or drop it); govshare refuses it to the agency, which reads the governed tables themselves.',
	              m.relid::pg_catalog.regclass, c.role)
	FROM consumer c CROSS JOIN matviews m
	CROSS JOIN LATERAL (
		SELECT string_agg(x.priv, ', ') AS privs
		FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) x(priv)
		WHERE pg_catalog.has_table_privilege(c.role, m.relid, x.priv)) p
	WHERE p.privs IS NOT NULL
	  AND (m.copy OR NOT EXISTS (SELECT FROM govshare.role_binding b
	                             WHERE b.role = m.owner AND b.agency = c.agency))
	UNION ALL
	SELECT 2, 'warning', format('materialized view %s', m.relid::pg_catalog.regclass),
	       format('materialized view %s holds a copy of governed data made outside the sharing rules; consumer agencies are refused it',
	              m.relid::pg_catalog.regclass),
	       'Replace it by a view over the governed tables, or classify its columns and govern it so that rules share it.'
	FROM matviews m WHERE m.copy
	UNION ALL
	SELECT 1, 'error', format('role %s', b.role),
	       format('role %s is bound to agency %s but is a superuser, so govshare treats it as internal',
	              b.role, b.agency),
	       format('ALTER ROLE %s NOSUPERUSER, or unbind it.', b.role)
	FROM consumer b JOIN pg_catalog.pg_roles r ON r.oid = b.role WHERE r.rolsuper
	UNION ALL
	SELECT 1, 'error', format('relation %s', g.relid::pg_catalog.regclass),
	       format('governed relation %s may not be governed: %s; no rule applies to it',
	              g.relid::pg_catalog.regclass, p.problem),
	       'Give the table to an internal role (ALTER TABLE ... OWNER TO), or have a superuser ungovern it.'
	FROM governed g CROSS JOIN LATERAL (SELECT govshare.governance_problem(g.relid) AS problem) p
	WHERE p.problem IS NOT NULL
	UNION ALL
	SELECT 2, 'warning', format('element %s', e.code),
	       format('data element %s is of type %s, whose code govshare runs only as its owner: %s',
	              e.code, e.datatype, p.problem),
	       'Have a superuser take ownership of the type, or register the element with a type a superuser owns.'
	FROM govshare.element e CROSS JOIN LATERAL (SELECT govshare.type_problem(e.datatype) AS problem) p
	WHERE p.problem IS NOT NULL
	UNION ALL
	SELECT 2, 'warning', format('column %s.%I', k.relation, k.column_name),
	       format('column %I of governed table %s is not classified, so it is denied to every consumer',
	              k.column_name, k.relation),
	       'Classify it: SELECT govshare.classify(relation, column, element).'
	FROM govshare.classification k WHERE k.governed AND k.status <> 'classified'
	UNION ALL
	SELECT 2, 'warning', format('agency %s', a.code),
	       format('agency %s has active rules but no bound role, so nobody can use them', a.code),
	       format('SELECT govshare.bind_role(role, %L).', a.code)
	FROM govshare.agency a
	WHERE EXISTS (SELECT FROM govshare.rules r WHERE r.consumer = a.code AND r.status = 'active'
	                AND (r.valid_until IS NULL OR r.valid_until > now()))
	  AND NOT EXISTS (SELECT FROM consumer c WHERE c.agency = a.code)
	UNION ALL
	SELECT 2, 'warning', format('binding of role %s', b.role::pg_catalog.oid),
	       format('a role bound to agency %s no longer exists', b.agency),
	       format('DELETE FROM govshare.role_binding WHERE role = %s;', b.role::pg_catalog.oid)
	FROM govshare.role_binding b WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = b.role)
	UNION ALL
	SELECT 2, 'warning', format('rule %s', r.id),
	       format('rule %s names a relation that no longer exists', r.id),
	       format('SELECT govshare.revoke(%s, ''relation dropped'').', r.id)
	FROM govshare.rules r
	WHERE r.relation IS NOT NULL AND r.status <> 'revoked'
	  AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = r.relation)
	UNION ALL
	SELECT 2, 'warning', 'govshare.audit_mode',
	       'govshare.audit_mode is off: consumer agencies'' access is not recorded',
	       'ALTER SYSTEM SET govshare.audit_mode = ''strict''; SELECT pg_reload_conf();'
	WHERE pg_catalog.current_setting('govshare.audit_mode') = 'off'
	UNION ALL
	SELECT 2, 'warning', format('agency %s', a.code),
	       format('the self agency %s has no current key, so checkpoints of the access log cannot be signed', a.code),
	       format('Register the public key of govshare.signing_key_file: SELECT govshare.add_agency_key(%L, pem).', a.code)
	FROM govshare.agency a
	WHERE a.is_self AND NOT EXISTS (SELECT FROM govshare.agency_key k
	                                WHERE k.agency = a.code AND k.revoked_at IS NULL
	                                  AND (k.valid_until IS NULL OR k.valid_until > now()))
	UNION ALL
	SELECT 3, 'notice', format('key %s', k.key_id),
	       format('key %s of agency %s expires on %s', k.key_id, k.agency, k.valid_until),
	       'Register the agency''s next key with govshare.add_agency_key() before then.'
	FROM govshare.agency_key k
	WHERE k.revoked_at IS NULL AND k.valid_until IS NOT NULL AND k.valid_until < now() + interval '30 days'
)
SELECT f.severity, f.object, f.problem, f.hint FROM findings f ORDER BY f.rank, f.object
$$;
COMMENT ON FUNCTION govshare.check_setup() IS
	'misconfigurations of agencies, roles, keys, classification and privileges, most serious first';

-- Audit log format GSAL2 (docs/audit-format.md): column detail, a JSON
-- object of structured facts a record carries beyond its columns.  Rows
-- without one (every row written before this update) keep format GSAL1,
-- so the chain continues across the update unchanged.
ALTER TABLE govshare.access_log
	ADD COLUMN detail jsonb CHECK (jsonb_typeof(detail) = 'object');
-- issue 19: one or two rows a statement (src/sql/audit.sql)
ALTER TABLE govshare.access_log ALTER COLUMN statement_id SET (n_distinct = -0.5);
-- issue 20: the verify level, rule options, govshare.verify(), quotas and
-- usage (src/sql/policy.sql, src/sql/usage.sql).  The new level cannot be
-- used in this transaction, so nothing below names it outside function bodies.
ALTER TYPE govshare.disclosure_level ADD VALUE 'verify' AFTER 'denied';
COMMENT ON TYPE govshare.disclosure_level IS
	'how a consumer sees a column, least revealing first: denied < verify < redacted < generalized < pseudonym < masked < full';
ALTER TABLE govshare.rule ADD COLUMN options text[] NOT NULL DEFAULT '{}',
	ADD CONSTRAINT rule_options_known
		CHECK (options <@ '{verify_absent_false,verify_ignore_diacritics}'::text[]);
DROP FUNCTION govshare.share(text, text[], text[], text, regclass, text, text, timestamptz, timestamptz);
-- With the caller's search path, for the row filter (see rule_check).
CREATE FUNCTION govshare.share(consumer text, purposes text[], elements text[], level text,
                               relation regclass DEFAULT NULL, row_filter text DEFAULT NULL,
                               legal_basis text DEFAULT NULL, valid_from timestamptz DEFAULT now(),
                               valid_until timestamptz DEFAULT NULL,
                               options text[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
	rule_id bigint;
	o text;
BEGIN
	IF level IS NULL OR level NOT IN (SELECT unnest(enum_range(NULL::govshare.disclosure_level))::text) THEN
		PERFORM govshare.reject_rule(format('"%s" is not a disclosure level.', level),
		                             'The levels are full, masked, pseudonym, generalized, redacted, verify and denied.');
	END IF;
	FOREACH o IN ARRAY coalesce(options, '{}') LOOP
		IF o IS NULL OR o NOT IN ('verify_absent_false', 'verify_ignore_diacritics') THEN
			PERFORM govshare.reject_rule(format('"%s" is not a rule option.', o),
			                             'The options are verify_absent_false and verify_ignore_diacritics.');
		END IF;
	END LOOP;
	INSERT INTO govshare.rule (consumer, purposes, elements, level, relation, row_filter,
	                           legal_basis, valid_from, valid_until, options)
	VALUES (consumer, purposes, elements, level::govshare.disclosure_level, relation, row_filter,
	        legal_basis, coalesce(valid_from, now()), valid_until,
	        ARRAY(SELECT DISTINCT unnest(coalesce(options, '{}')) ORDER BY 1))
	RETURNING id INTO rule_id;
	INSERT INTO govshare.rule_event (rule_id, event) VALUES (rule_id, 'share');
	RETURN rule_id;
END
$$;
COMMENT ON FUNCTION govshare.share(text, text[], text[], text, regclass, text, text, timestamptz, timestamptz, text[]) IS
	'record a sharing rule; returns its id';

REVOKE EXECUTE ON FUNCTION
	govshare.share(text, text[], text[], text, regclass, text, text, timestamptz, timestamptz, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	govshare.share(text, text[], text[], text, regclass, text, text, timestamptz, timestamptz, text[]) TO govshare_admin;
CREATE OR REPLACE VIEW govshare.rules AS
SELECT r.id, r.consumer, r.purposes, r.elements, r.level, r.relation, r.row_filter,
       r.legal_basis, r.valid_from, r.valid_until,
       h.status, d.at AS status_since, d.by AS status_by, d.reason AS status_reason,
       r.created_at, r.created_by, r.options
FROM govshare.rule r
CROSS JOIN LATERAL (SELECT govshare.rule_status(e.id, e.event) AS status,
                           govshare.rule_status_event(e.id, e.event) AS event_id
                    FROM govshare.rule_event e WHERE e.rule_id = r.id) h
LEFT JOIN govshare.rule_event d ON d.id = h.event_id;

--
-- Verification, quotas and usage accounting (issue 20).
-- (src/sql/usage.sql; the C side is src/enforce/claims.c, src/common/fold.c,
-- src/enforce/quota.c and src/policy/counters.c.)
--
-- Who may do what:
--   everyone           calls verify() (a consumer within its rules, which
--                      the function checks) and verify_fold();
--   govshare_admin     sets quotas (set_quota) and reads them;
--   govshare_auditor   reads quotas and the usage.
--

CREATE FUNCTION govshare.verify(relation regclass, subject govshare.personal_id, claims jsonb)
RETURNS jsonb
	AS 'MODULE_PATHNAME', 'govshare_verify' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION govshare.verify(regclass, govshare.personal_id, jsonb) IS
	'checks claims {"column": value} against the visible row of relation whose personal id is subject: {"column": true|false}, or NULL when there is no such row';

CREATE FUNCTION govshare.verify_fold(t text, ignore_diacritics boolean DEFAULT false) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_verify_fold' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.verify_fold(text, boolean) IS
	'the form in which verify() compares text: NFC, Latin case folded, white space squeezed, optionally without diacritics';

CREATE TABLE govshare.quota (
	consumer	text NOT NULL REFERENCES govshare.agency ON UPDATE CASCADE,
	purpose		text NOT NULL REFERENCES govshare.purpose ON UPDATE CASCADE,
	statements_per_minute bigint CHECK (statements_per_minute >= 0),	-- NULL: unlimited
	rows_per_day bigint CHECK (rows_per_day >= 0),
	verify_per_minute bigint CHECK (verify_per_minute >= 0),
	set_at		timestamptz NOT NULL DEFAULT now(),
	set_by		name NOT NULL DEFAULT current_user,
	PRIMARY KEY (consumer, purpose)
);
COMMENT ON TABLE govshare.quota IS
	'how much a consumer agency may use for a purpose: statements a minute, rows a day, verify calls a minute (NULL: unlimited)';
SELECT pg_catalog.pg_extension_config_dump('govshare.quota', '');
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON govshare.quota
	FOR EACH STATEMENT EXECUTE FUNCTION govshare.policy_changed();
REVOKE ALL ON govshare.quota FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON govshare.quota TO govshare_admin;
GRANT SELECT ON govshare.quota TO govshare_auditor;

CREATE FUNCTION govshare.set_quota(consumer text, purpose text,
                                   statements_per_minute bigint DEFAULT NULL,
                                   rows_per_day bigint DEFAULT NULL,
                                   verify_per_minute bigint DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	IF NOT EXISTS (SELECT FROM govshare.agency a WHERE a.code = consumer AND NOT a.is_self) THEN
		RAISE EXCEPTION 'agency "%" is not a consumer agency', consumer
			USING ERRCODE = 'undefined_object',
			      DETAIL = 'Quotas limit what other agencies use; the self agency has none.',
			      HINT = 'Add the agency with govshare.add_agency().';
	END IF;
	IF NOT EXISTS (SELECT FROM govshare.purpose p WHERE p.code = purpose) THEN
		RAISE EXCEPTION 'purpose "%" does not exist', purpose
			USING ERRCODE = 'undefined_object', HINT = 'Add it with govshare.add_purpose().';
	END IF;
	IF statements_per_minute < 0 OR rows_per_day < 0 OR verify_per_minute < 0 THEN
		RAISE EXCEPTION 'a quota cannot be negative'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Give 0 to refuse everything, NULL for no limit.';
	END IF;
	IF statements_per_minute IS NULL AND rows_per_day IS NULL AND verify_per_minute IS NULL THEN
		DELETE FROM govshare.quota q WHERE q.consumer = consumer AND q.purpose = purpose;
		RETURN;
	END IF;
	INSERT INTO govshare.quota AS q (consumer, purpose, statements_per_minute, rows_per_day,
	                                 verify_per_minute)
	VALUES (consumer, purpose, statements_per_minute, rows_per_day, verify_per_minute)
	ON CONFLICT ON CONSTRAINT quota_pkey DO UPDATE
		SET statements_per_minute = EXCLUDED.statements_per_minute,
		    rows_per_day = EXCLUDED.rows_per_day,
		    verify_per_minute = EXCLUDED.verify_per_minute,
		    set_at = now(), set_by = current_user;
END
$$;
COMMENT ON FUNCTION govshare.set_quota(text, text, bigint, bigint, bigint) IS
	'sets the quotas of a consumer agency for a purpose (NULL: unlimited; all NULL removes them)';
REVOKE EXECUTE ON FUNCTION govshare.set_quota(text, text, bigint, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.set_quota(text, text, bigint, bigint, bigint) TO govshare_admin;

-- What the server has counted in the current windows (shared memory).
CREATE FUNCTION govshare.quota_used(consumer text, purpose text,
	OUT statements_this_minute bigint, OUT rows_today bigint, OUT verify_this_minute bigint)
	AS 'MODULE_PATHNAME', 'govshare_quota_used' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.quota_used(text, text) IS
	'the counts of the current minute and day (UTC) against the quotas of a consumer agency for a purpose';
REVOKE EXECUTE ON FUNCTION govshare.quota_used(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.quota_used(text, text) TO govshare_admin, govshare_auditor;

CREATE VIEW govshare.quotas AS
SELECT q.consumer, q.purpose, q.statements_per_minute, q.rows_per_day, q.verify_per_minute,
       u.statements_this_minute, u.rows_today, u.verify_this_minute, q.set_at, q.set_by
  FROM govshare.quota q
  CROSS JOIN LATERAL govshare.quota_used(q.consumer, q.purpose) u;
COMMENT ON VIEW govshare.quotas IS
	'every quota with what has been counted against it in the current minute and day (UTC)';
REVOKE ALL ON govshare.quotas FROM PUBLIC;
GRANT SELECT ON govshare.quotas TO govshare_admin, govshare_auditor;

--
-- Usage accounting: per day (UTC), consumer agency and purpose, what the
-- access log says was used.  One definition of what a record counts for
-- (usage_of_log); daily sums of the log up to a sequence number kept in
-- usage_day by usage_refresh(), so that a year of usage is read from a few
-- thousand rows; the records after that number are summed at query time.
--

-- The log in time order, cheaply: the quota counters of the day are read
-- from it after a restart (src/enforce/quota.c).
CREATE INDEX access_log_logged_at ON govshare.access_log USING brin (logged_at);

-- What each record of a consumer counts for.  A result row (strict audit)
-- names no purpose: its access row, with the same statement_id, does.
CREATE VIEW govshare.usage_of_log AS
SELECT l.seq, l.logged_at, l.stmt_time,
       (l.stmt_time AT TIME ZONE 'UTC')::date AS day,
       l.agency,
       coalesce(l.purpose, a.purpose, '') AS purpose,
       (l.kind = 'access' AND l.outcome <> 'denied' AND NOT coalesce(l.detail ? 'verify', false))::int AS statements,
       CASE WHEN coalesce(l.detail ? 'verify', false) THEN 0 ELSE coalesce(l.rows, 0) END AS rows,
       (coalesce(l.detail ? 'verify', false) AND l.outcome = 'allowed')::int AS verify_calls,
       (l.outcome = 'denied')::int AS denials,
       coalesce((l.detail -> 'usage' ->> 'time_ms')::numeric, 0) AS exec_ms,
       coalesce((l.detail -> 'usage' ->> 'bytes')::bigint, 0) AS bytes
  FROM govshare.access_log l
  LEFT JOIN govshare.access_log a
         ON l.kind = 'result' AND a.statement_id = l.statement_id AND a.kind = 'access'
 WHERE NOT l.internal AND l.kind IN ('access', 'result') AND l.agency IS NOT NULL;
COMMENT ON VIEW govshare.usage_of_log IS
	'what each access record of a consumer agency counts for in govshare.usage';

CREATE TABLE govshare.usage_day (
	day			date NOT NULL,
	agency		text NOT NULL,
	purpose		text NOT NULL,		-- '' for records without a purpose
	statements	bigint NOT NULL,
	rows		bigint NOT NULL,
	verify_calls bigint NOT NULL,
	denials		bigint NOT NULL,
	exec_ms		numeric NOT NULL,
	bytes		bigint NOT NULL,
	PRIMARY KEY (day, agency, purpose)
);
COMMENT ON TABLE govshare.usage_day IS
	'daily sums of govshare.usage_of_log up to govshare.usage_summary.through_seq (usage_refresh)';
CREATE TABLE govshare.usage_summary (
	through_seq	bigint NOT NULL,
	refreshed_at timestamptz				-- NULL: never refreshed
);
CREATE UNIQUE INDEX usage_summary_one ON govshare.usage_summary ((true));
INSERT INTO govshare.usage_summary VALUES (0, NULL);
COMMENT ON TABLE govshare.usage_summary IS 'the last access-log seq summed into govshare.usage_day';

-- Sums the records written since the last call into usage_day; returns
-- how many it summed.  Safe to run at any time, and concurrently (one at
-- a time); run it daily, or more often, to keep govshare.usage cheap.
CREATE FUNCTION govshare.usage_refresh() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	done bigint;
	upto bigint;
	n bigint;
BEGIN
	SELECT s.through_seq INTO done FROM govshare.usage_summary s FOR UPDATE;
	-- the writer commits records in seq order: none below the last is missing
	SELECT coalesce(max(l.seq), done) INTO upto FROM govshare.access_log l;
	INSERT INTO govshare.usage_day AS d
	SELECT u.day, u.agency, u.purpose, sum(u.statements), sum(u.rows), sum(u.verify_calls),
	       sum(u.denials), sum(u.exec_ms), sum(u.bytes)
	  FROM govshare.usage_of_log u
	 WHERE u.seq > done AND u.seq <= upto
	 GROUP BY 1, 2, 3
	ON CONFLICT ON CONSTRAINT usage_day_pkey DO UPDATE
		SET statements = d.statements + EXCLUDED.statements, rows = d.rows + EXCLUDED.rows,
		    verify_calls = d.verify_calls + EXCLUDED.verify_calls,
		    denials = d.denials + EXCLUDED.denials, exec_ms = d.exec_ms + EXCLUDED.exec_ms,
		    bytes = d.bytes + EXCLUDED.bytes;
	SELECT count(*) INTO n FROM govshare.access_log l WHERE l.seq > done AND l.seq <= upto;
	UPDATE govshare.usage_summary SET through_seq = upto, refreshed_at = now();
	RETURN n;
END
$$;
COMMENT ON FUNCTION govshare.usage_refresh() IS
	'sums the access records written since the last call into govshare.usage_day; returns how many';

-- The records after the daily sums, summed at query time.  PL/pgSQL, so
-- that the first plan of a session is made for the actual seq and reads the
-- tail through the log's primary key (a view's "seq > (subquery)" is
-- estimated at a third of the log, and scanned whole).  As its owner, so
-- that govshare_admin, which may read the usage but not the log, may call it.
CREATE FUNCTION govshare.usage_tail()
RETURNS TABLE (day date, agency text, purpose text, statements bigint, rows bigint,
               verify_calls bigint, denials bigint, exec_ms numeric, bytes bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	done bigint;
BEGIN
	SELECT s.through_seq INTO done FROM govshare.usage_summary s;
	RETURN QUERY
	SELECT u.day, u.agency, u.purpose, sum(u.statements)::bigint, sum(u.rows)::bigint,
	       sum(u.verify_calls)::bigint, sum(u.denials)::bigint, sum(u.exec_ms), sum(u.bytes)::bigint
	  FROM govshare.usage_of_log u
	 WHERE u.seq > done
	 GROUP BY u.day, u.agency, u.purpose;
END
$$;
COMMENT ON FUNCTION govshare.usage_tail() IS
	'the usage of the access records not yet in govshare.usage_day';

CREATE VIEW govshare.usage AS
SELECT u.day, u.agency, NULLIF(u.purpose, '') AS purpose,
       sum(u.statements)::bigint AS statements, sum(u.rows)::bigint AS rows,
       sum(u.verify_calls)::bigint AS verify_calls, sum(u.denials)::bigint AS denials,
       round(sum(u.exec_ms) / 1000.0, 3) AS exec_seconds, sum(u.bytes)::bigint AS bytes
  FROM (SELECT d.day, d.agency, d.purpose, d.statements, d.rows, d.verify_calls, d.denials,
               d.exec_ms, d.bytes
          FROM govshare.usage_day d
        UNION ALL
        SELECT t.day, t.agency, t.purpose, t.statements, t.rows, t.verify_calls, t.denials,
               t.exec_ms, t.bytes
          FROM govshare.usage_tail() t) u
 GROUP BY u.day, u.agency, u.purpose;
COMMENT ON VIEW govshare.usage IS
	'per day (UTC), consumer agency and purpose: statements, rows returned, verify calls, denials, execution time and bytes returned';

REVOKE ALL ON govshare.usage_of_log, govshare.usage_day, govshare.usage_summary, govshare.usage
	FROM PUBLIC;
GRANT SELECT ON govshare.usage_day, govshare.usage_summary, govshare.usage
	TO govshare_admin, govshare_auditor;
GRANT SELECT ON govshare.usage_of_log TO govshare_auditor;
REVOKE EXECUTE ON FUNCTION govshare.usage_refresh(), govshare.usage_tail() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.usage_refresh(), govshare.usage_tail() TO govshare_admin, govshare_auditor;

-- issue 18: retention.  Archives of the access log (govshare.archive_log,
-- the table of archives and anchors), and subject_access() saying when
-- older records were archived.
--
-- Retention (src/audit/archive.c, docs/audit.md): archive_log() writes the
-- records up to a seq to a file in govshare.archive_directory, removes
-- them below SQL (the guards above stay) and appends the anchor the log
-- continues from, signed by the self agency.
--

CREATE TABLE govshare.access_log_archive (
	last_seq		bigint PRIMARY KEY,		-- the anchor: the last seq archived
	last_hash		bytea NOT NULL,			-- and its hash
	first_seq		bigint NOT NULL,
	records			bigint NOT NULL,
	file			text NOT NULL,			-- its name in govshare.archive_directory
	file_sha256		bytea NOT NULL,
	archived_at		timestamptz NOT NULL,
	archived_by		text NOT NULL,
	anchor			text NOT NULL			-- JWS of the self agency over the above
);
COMMENT ON TABLE govshare.access_log_archive IS
	'archives of the access log: the records each holds, its file and SHA-256, and the signed anchor (last seq and hash) the log continues from';

-- Nothing but archive_log, which appends below SQL, adds or changes rows.
CREATE FUNCTION govshare.guard_access_log_archive() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'govshare.access_log_archive is append-only and written by govshare.archive_log() alone'
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = format('%s is refused to every role, the owner included.', TG_OP),
		      HINT = 'Archive records of the access log with govshare.archive_log(through_seq).';
END
$$;
CREATE TRIGGER guard_access_log_archive BEFORE INSERT OR UPDATE OR DELETE ON govshare.access_log_archive
	FOR EACH ROW EXECUTE FUNCTION govshare.guard_access_log_archive();
CREATE TRIGGER guard_access_log_archive_truncate BEFORE TRUNCATE ON govshare.access_log_archive
	FOR EACH STATEMENT EXECUTE FUNCTION govshare.guard_access_log_archive();
REVOKE EXECUTE ON FUNCTION govshare.guard_access_log_archive() FROM PUBLIC;
REVOKE ALL ON govshare.access_log_archive FROM PUBLIC;
GRANT SELECT ON govshare.access_log_archive TO govshare_auditor;

CREATE FUNCTION govshare.archive_log(through_seq bigint) RETURNS jsonb
	AS 'MODULE_PATHNAME', 'govshare_archive_log' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION govshare.archive_log(bigint) IS
	'writes the access log''s records up to through_seq to a verifiable file in govshare.archive_directory, then removes them, leaving a signed anchor';
-- A superuser's, or a role's it was granted to explicitly.
REVOKE EXECUTE ON FUNCTION govshare.archive_log(bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION govshare.subject_access(subject govshare.personal_id)
RETURNS TABLE (seq bigint, accessed_at timestamptz, agency text, officer text,
               purpose text, reference text, elements text[], legal_bases text[],
               internal boolean, outcome text)
LANGUAGE sql STABLE AS $$
	SELECT a.seq, a.stmt_time, a.agency, a.officer, a.purpose, a.reference,
	       a.elements,
	       ARRAY(SELECT DISTINCT coalesce(r.legal_basis, p.legal_basis)
	               FROM govshare.rule r
	               LEFT JOIN govshare.purpose p ON p.code = a.purpose
	              WHERE r.id = ANY (a.rule_ids)
	              ORDER BY 1),
	       a.internal, coalesce(x.outcome, a.outcome)
	  FROM govshare.access_log s
	  JOIN govshare.access_log a ON a.statement_id = s.statement_id AND a.kind = 'access'
	  LEFT JOIN govshare.access_log x ON x.statement_id = s.statement_id AND x.kind = 'result'
	 WHERE s.subjects COLLATE "C" @> ARRAY[subject::text]
	UNION ALL
	-- the records up to last_seq were archived: older reads are in the files
	SELECT x.last_seq, x.archived_at, NULL, NULL, NULL, x.file, NULL, NULL, NULL, 'archived'
	  FROM govshare.access_log_archive x
	 ORDER BY 1 DESC
$$;
-- Not STRICT, so that it is inlined and planned with the person's id: a
-- generic plan would guess that any id is in 0.5% of the log.  A row with
-- outcome 'archived' says that the records up to its seq were archived
-- (at accessed_at, to the file named as its reference).
COMMENT ON FUNCTION govshare.subject_access(govshare.personal_id) IS
	'who read data about this person, when, which elements, for what purpose and reference, newest first';

-- issue 21: remote queries for applications: parameters (params text[]),
-- sent apart from the query and recorded apart from its text (detail
-- member "params").  The functions gain an argument: the old ones go, so
-- that a call with five arguments is not ambiguous.
DROP FUNCTION govshare.remote_query(text, text, text, text, text);
DROP FUNCTION govshare.remote_query_json(text, text, text, text, text);
CREATE FUNCTION govshare.remote_query(target text, query text, purpose text,
                                      officer text DEFAULT NULL, reference text DEFAULT NULL,
                                      params text[] DEFAULT NULL)
RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'govshare_remote_query' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govshare.remote_query(text, text, text, text, text, text[]) IS
	'run a query in another agency''s database, proving the request with a token signed by this agency''s key; params are the values of $1..$n, sent apart from the query; needs a column definition list';
CREATE FUNCTION govshare.remote_query_json(target text, query text, purpose text,
                                           officer text DEFAULT NULL, reference text DEFAULT NULL,
                                           params text[] DEFAULT NULL)
RETURNS SETOF jsonb
	AS 'MODULE_PATHNAME', 'govshare_remote_query_json' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govshare.remote_query_json(text, text, text, text, text, text[]) IS
	'remote_query() returning each row as a jsonb object';
REVOKE EXECUTE ON FUNCTION govshare.remote_query(text, text, text, text, text, text[]),
	govshare.remote_query_json(text, text, text, text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.remote_query(text, text, text, text, text, text[]),
	govshare.remote_query_json(text, text, text, text, text, text[]) TO govshare_requester, govshare_admin;
CREATE OR REPLACE VIEW govshare.remote_request WITH (security_barrier) AS
SELECT seq, stmt_time AS requested_at, logged_at, statement_id AS request_id,
       agency AS target, role_name, login_role, officer, purpose, reference,
       token_id, statement_sha256 AS query_sha256, statement_text AS query,
       rows, outcome, reason, receipt_seq, receipt_hash, detail->'params' AS params
  FROM govshare.access_log
 WHERE kind = 'remote';

-- issue 21, continued: accountable officers (govshare.officer, govshare.gateway).
-- A role names as officer of a request (begin_request, remote_query) only itself or an officer bound to it (or
-- to a role it is a member of), unless an administrator marked it a
-- gateway: a role trusted to name the officers its application
-- authenticated (docs/remote.md, "Officers and gateways").  Superusers
-- may name any officer.  The library reads both tables with the policy
-- (src/catalog/policy.c).
CREATE TABLE govshare.officer (
	role		regrole NOT NULL,
	officer		text NOT NULL CHECK (officer <> '' AND octet_length(officer) <= 200),
	bound_at	timestamptz NOT NULL DEFAULT now(),
	bound_by	name NOT NULL DEFAULT current_user,
	PRIMARY KEY (role, officer)
);
COMMENT ON TABLE govshare.officer IS
	'the officers a role may name in its requests';
CREATE TABLE govshare.gateway (
	role		regrole PRIMARY KEY,
	marked_at	timestamptz NOT NULL DEFAULT now(),
	marked_by	name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE govshare.gateway IS
	'roles trusted to name any officer in their requests';
SELECT pg_catalog.pg_extension_config_dump('govshare.officer', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.gateway', '');
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON govshare.officer
	FOR EACH STATEMENT EXECUTE FUNCTION govshare.policy_changed();
CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON govshare.gateway
	FOR EACH STATEMENT EXECUTE FUNCTION govshare.policy_changed();
REVOKE ALL ON govshare.officer, govshare.gateway FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON govshare.officer, govshare.gateway TO govshare_admin;

CREATE FUNCTION govshare.bind_officer(role regrole, officer text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	IF role IS NULL OR officer IS NULL OR officer = '' THEN
		RAISE EXCEPTION 'an officer binding needs a role and an officer''s name'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF octet_length(officer) > 200 THEN
		RAISE EXCEPTION 'the name of an officer is at most 200 bytes long'
			USING ERRCODE = 'string_data_right_truncation',
			      DETAIL = 'It goes into request contexts and tokens, which refuse longer names.';
	END IF;
	INSERT INTO govshare.officer AS o (role, officer) VALUES (role, officer)
	ON CONFLICT ON CONSTRAINT officer_pkey DO NOTHING;
END
$$;
COMMENT ON FUNCTION govshare.bind_officer(regrole, text) IS
	'let a role name an officer in its requests (begin_request, remote_query)';

CREATE FUNCTION govshare.unbind_officer(role regrole, officer text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	DELETE FROM govshare.officer o WHERE o.role = role AND o.officer = officer;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'officer "%" is not bound to role "%"', officer, role
			USING ERRCODE = 'undefined_object', HINT = 'govshare.officers lists the bindings.';
	END IF;
END
$$;
COMMENT ON FUNCTION govshare.unbind_officer(regrole, text) IS
	'withdraw an officer from a role: its next request may not name the officer';

CREATE FUNCTION govshare.set_gateway(role regrole, gateway boolean) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	IF role IS NULL OR gateway IS NULL THEN
		RAISE EXCEPTION 'set_gateway needs a role and true or false'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF gateway THEN
		INSERT INTO govshare.gateway AS g (role) VALUES (role)
		ON CONFLICT ON CONSTRAINT gateway_pkey DO NOTHING;
	ELSE
		DELETE FROM govshare.gateway g WHERE g.role = role;
	END IF;
END
$$;
COMMENT ON FUNCTION govshare.set_gateway(regrole, boolean) IS
	'mark a role as a gateway trusted to name any officer in its requests, or withdraw the mark';

-- Who may name which officer: one row per binding, and one per gateway
-- (officer NULL: any).
CREATE VIEW govshare.officers AS
SELECT o.role, o.officer, false AS gateway, o.bound_at AS since, o.bound_by AS by
  FROM govshare.officer o
UNION ALL
SELECT g.role, NULL, true, g.marked_at, g.marked_by
  FROM govshare.gateway g;
COMMENT ON VIEW govshare.officers IS
	'the officers each role may name in its requests; gateway rows (officer NULL) may name any';
REVOKE ALL ON govshare.officers FROM PUBLIC;
GRANT SELECT ON govshare.officers TO govshare_admin, govshare_auditor;

REVOKE EXECUTE ON FUNCTION govshare.bind_officer(regrole, text),
	govshare.unbind_officer(regrole, text), govshare.set_gateway(regrole, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.bind_officer(regrole, text),
	govshare.unbind_officer(regrole, text), govshare.set_gateway(regrole, boolean) TO govshare_admin;
-- issue 16: index-preserving enforcement (src/enforce/fullform.c, implied.c)
-- Index-preserving enforcement (issue 16, src/enforce/fullform.c): the
-- conditions on a raw column that a consumer's comparison of its disclosed
-- value implies, for the 8-byte national types, whose disclosure forms
-- never equal and always sort after value forms.  The rewrite ANDs them
-- to the consumer's comparison; the support function turns them into
-- the comparison itself (constant values) or into index conditions.  The
-- bounds are STABLE so that no plan holds their sentinels as constants.
CREATE FUNCTION govshare.full_form_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'govshare_full_form_support' LANGUAGE C STRICT;
CREATE FUNCTION govshare.full_form_eq(raw anyelement, value anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_eq(anyelement, anyelement) IS
	'true when value is a disclosure form, else raw = value: what "disclosed = value" implies of the raw column';
CREATE FUNCTION govshare.full_form_lt(raw anyelement, value anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_lt(anyelement, anyelement) IS
	'true when value is a disclosure form, else raw < value';
CREATE FUNCTION govshare.full_form_le(raw anyelement, value anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_le(anyelement, anyelement) IS
	'true when value is a disclosure form, else raw <= value';
CREATE FUNCTION govshare.full_form_ge(raw anyelement, value anyelement, anchor anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_ge(anyelement, anyelement, anyelement) IS
	'true when anchor (an upper bound of the same disclosed value) is a disclosure form, else raw >= value';
CREATE FUNCTION govshare.full_form_gt(raw anyelement, value anyelement, anchor anyelement) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_gt(anyelement, anyelement, anyelement) IS
	'true when anchor (an upper bound of the same disclosed value) is a disclosure form, else raw > value';
CREATE FUNCTION govshare.full_form_eq_any(raw anyelement, vals anyarray) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_full_form_eq_any'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.full_form_support;
COMMENT ON FUNCTION govshare.full_form_eq_any(anyelement, anyarray) IS
	'true when a non-null element is a disclosure form, else raw = ANY(vals)';
CREATE FUNCTION govshare.full_form_upper(value anyelement) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_full_form_upper'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.full_form_upper(anyelement) IS
	'value when it is a value form, else an encoding above every value: an index scan''s upper bound';
CREATE FUNCTION govshare.full_form_lower(value anyelement, anchor anyelement) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_full_form_lower'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.full_form_lower(anyelement, anyelement) IS
	'value when anchor is a value form, else an encoding below every value: an index scan''s lower bound';
-- The security qual of a governed relation a consumer reads whole (every
-- row visible, no data subject to note): true; it lets the planner pull
-- the rewrite's subquery up, as other security quals do.
CREATE FUNCTION govshare.every_row_visible() RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_every_row_visible'
	LANGUAGE C STABLE PARALLEL SAFE LEAKPROOF COST 1;
COMMENT ON FUNCTION govshare.every_row_visible() IS
	'true: the security qual of a governed relation a consumer reads whole, so that the enforcement''s subquery can be pulled up';
CREATE FUNCTION govshare.full_form_pick(vals anyarray) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_full_form_pick'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.full_form_pick(anyarray) IS
	'an element in a disclosure form if any, else the first non-null one: the bounds of = ANY of an array known at execution';

-- issue 16: lookups by pseudonym; the national types' pseudonyms are now FF1
-- (a pseudonym costs some hundred operators: see src/sql/enforce.sql)
ALTER FUNCTION govshare.pseudonym(anyelement, text) COST 100;
-- What a comparison with a pseudonym implies on the raw column
-- (src/enforce/pseudonym.c, implied.c): pseudonym_eq and the bounds its
-- support function offers to an index.  They decipher the pseudonym, so
-- they run only inside plans the enforcement builds, like
-- govshare.pseudonym.
CREATE FUNCTION govshare.pseudonym_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_support' LANGUAGE C STRICT;
COMMENT ON FUNCTION govshare.pseudonym_support(internal) IS
	'planner support of pseudonym_eq and pseudonym_any: the index conditions, an equality''s selectivity';
CREATE FUNCTION govshare.pseudonym_lower(value anyelement, agency text) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_lower'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_lower(anyelement, text) IS
	'the lowest raw value whose pseudonym for the agency can be value: an index scan''s lower bound; applied by the server only';
CREATE FUNCTION govshare.pseudonym_upper(value anyelement, agency text) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_upper'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_upper(anyelement, text) IS
	'the highest raw value whose pseudonym for the agency can be value: an index scan''s upper bound; applied by the server only';
CREATE FUNCTION govshare.pseudonym_eq(raw anyelement, value anyelement, agency text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_eq'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.pseudonym_support;
COMMENT ON FUNCTION govshare.pseudonym_eq(anyelement, anyelement, text) IS
	'true when raw lies within the bounds of value: implied by pseudonym(raw, agency) = value; applied by the server only';
-- An IN list or an array of pseudonyms: one index scan of the values they
-- name.
-- pseudonym_values is VOLATILE so that no estimate computes it (an "=
-- ANY" of a STABLE array is estimated by evaluating it).
CREATE FUNCTION govshare.pseudonym_values(pseudonyms anyarray, agency text) RETURNS anyarray
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_values'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_values(anyarray, text) IS
	'the values the pseudonyms name for the agency: an index scan''s array; applied by the server only';
CREATE FUNCTION govshare.pseudonym_any(raw anyelement, pseudonyms anyarray, agency text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_any'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF SUPPORT govshare.pseudonym_support;
COMMENT ON FUNCTION govshare.pseudonym_any(anyelement, anyarray, text) IS
	'true when raw is a value one of the pseudonyms of values deciphers to: implied, with pseudonym_eq of pseudonym_hmac_pick, by pseudonym(raw, agency) = ANY (pseudonyms); applied by the server only';
-- It reads bit 59 of the consumer's own values only: callable by anyone.
CREATE FUNCTION govshare.pseudonym_hmac_pick(pseudonyms anyarray) RETURNS anyelement
	AS 'MODULE_PATHNAME', 'govshare_pseudonym_hmac_pick'
	LANGUAGE C STABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION govshare.pseudonym_hmac_pick(anyarray) IS
	'an HMAC pseudonym among the pseudonyms (one that any raw value may have), or NULL';

-- issue 19: audit on hot standbys (a standby's records submitted to the primary)
-- Hot standbys (src/audit/standby.c): a standby's audit forwarder submits its
-- access records to the primary, which chains them into its own log.  Only
-- members of govshare_standby may call audit_submit(), and the C function
-- also refuses a current role without REPLICATION, so a consumer cannot
-- add records of its choosing.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'govshare_standby') THEN
		CREATE ROLE govshare_standby NOLOGIN;
	END IF;
END
$$;

CREATE FUNCTION govshare.audit_submit(node text, records bytea, again boolean DEFAULT false,
                                      pipelined boolean DEFAULT false) RETURNS bigint
	AS 'MODULE_PATHNAME', 'govshare_audit_submit' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION govshare.audit_submit(text, bytea, boolean, boolean) IS
	'a standby''s access records, queued for this primary''s chain (with again, less those an earlier submission recorded); returns once they are committed (pipelined: once those of the session''s previous pipelined submission are), with the log''s last seq';
REVOKE EXECUTE ON FUNCTION govshare.audit_submit(text, bytea, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.audit_submit(text, bytea, boolean, boolean) TO govshare_standby;

-- issue 16: a consumer's prepared lookup by id keeps its generic plan.  The
-- types' <, <=, > and >= estimate the bounds of an implied equality whose
-- value is known only at execution as that equality (src/enforce/fullform.c).
CREATE FUNCTION govshare.full_form_ltsel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_ltsel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.full_form_lesel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_lesel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.full_form_gtsel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_gtsel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE FUNCTION govshare.full_form_gesel(internal, oid, internal, integer) RETURNS float8
	AS 'MODULE_PATHNAME', 'govshare_full_form_gesel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['personal_id', 'tax_code', 'social_insurance_no', 'health_insurance_no',
							 'phone_number', 'admin_unit', 'partial_date']
	LOOP
		EXECUTE format('ALTER OPERATOR govshare.< (govshare.%1$I, govshare.%1$I) SET (RESTRICT = govshare.full_form_ltsel)', t);
		EXECUTE format('ALTER OPERATOR govshare.<= (govshare.%1$I, govshare.%1$I) SET (RESTRICT = govshare.full_form_lesel)', t);
		EXECUTE format('ALTER OPERATOR govshare.> (govshare.%1$I, govshare.%1$I) SET (RESTRICT = govshare.full_form_gtsel)', t);
		EXECUTE format('ALTER OPERATOR govshare.>= (govshare.%1$I, govshare.%1$I) SET (RESTRICT = govshare.full_form_gesel)', t);
	END LOOP;
END
$$;

-- The national types' comparison, hash and min/max functions: C functions
-- of the library that call the built-in integer ones (src/types/compare.c),
-- in place of LANGUAGE internal aliases, which fmgr looks up by name among
-- all built-ins each time a plan starts.  Same signatures and attributes.
DO $$
DECLARE
	t record;
	f record;
BEGIN
	FOR t IN SELECT * FROM (VALUES ('personal_id', 'int8'), ('tax_code', 'int8'),
	                               ('social_insurance_no', 'int8'), ('health_insurance_no', 'int8'),
	                               ('phone_number', 'int8'), ('admin_unit', 'int4'),
	                               ('partial_date', 'int4')) AS v(name, base)
	LOOP
		FOR f IN SELECT * FROM (VALUES
				('eq', '%seq', '$T, $T', 'boolean', true), ('ne', '%sne', '$T, $T', 'boolean', true),
				('lt', '%slt', '$T, $T', 'boolean', true), ('le', '%sle', '$T, $T', 'boolean', true),
				('gt', '%sgt', '$T, $T', 'boolean', true), ('ge', '%sge', '$T, $T', 'boolean', true),
				('cmp', 'bt%scmp', '$T, $T', 'integer', true),
				('sortsupport', 'bt%ssortsupport', 'internal', 'void', false),
				('hash', 'hash%s', '$T', 'integer', true),
				('hash_extended', 'hash%sextended', '$T, bigint', 'bigint', true),
				('smaller', '%ssmaller', '$T, $T', '$T', false),
				('larger', '%slarger', '$T, $T', '$T', false)) AS v(suffix, symbol, args, returns, leakproof)
		LOOP
			EXECUTE format('CREATE OR REPLACE FUNCTION govshare.%I(%s) RETURNS %s AS %L, %L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE%s',
						   t.name || '_' || f.suffix,
						   replace(f.args, '$T', 'govshare.' || t.name),
						   replace(f.returns, '$T', 'govshare.' || t.name),
						   'MODULE_PATHNAME', 'govshare_' || format(f.symbol, t.base),
						   CASE WHEN f.leakproof THEN ' LEAKPROOF' ELSE '' END);
		END LOOP;
	END LOOP;
END
$$;

-- issue 19: the data subjects' index compares personal ids byte by byte,
-- not by the database's collation (src/sql/audit.sql); built again over
-- the whole log, which takes a while on a long one (docs/audit.md,
-- "Limits and operations").  subject_access() above names the collation.
DROP INDEX govshare.access_log_subjects;
CREATE INDEX access_log_subjects ON govshare.access_log USING gin (subjects COLLATE "C");
