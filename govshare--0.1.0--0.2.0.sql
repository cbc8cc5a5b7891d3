/* govshare--0.1.0--0.2.0.sql — upgrade from 0.1.0 to 0.2.0 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION govshare UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 writes once, in C, what both C and SQL need to know of a rule (its
-- status, the elements its patterns cover, whether it applies at a time),
-- and SQL calls it: the functions below are new, the rule_check trigger
-- function and the govshare.rules view call them instead of their own
-- copies.  0.1.0 matched patterns with LIKE, where "_" and "%" were
-- wildcards too.  Nothing else changed.

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
