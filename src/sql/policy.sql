
--
-- Agencies, role bindings, agency keys, purposes and sharing rules; the
-- request context; the decision engine's SQL face.
-- (src/sql/policy.sql; the C side is src/catalog/policy.c, src/catalog/rule.c,
-- src/policy/decide.c and src/policy/context.c.)
--
-- Who may do what:
--   govshare_admin     reads every catalog here and changes it, only by
--                      INSERT (rules are never updated or deleted; a
--                      revocation is a new rule_event row);
--   govshare_auditor   reads agencies, purposes, rules and their history;
--   everyone           reads agencies and purposes, calls begin_request,
--                      current_request, end_request and, for the agency
--                      the role is bound to, explain_access.
-- Consumers never read the rules catalog, role bindings or keys.
--

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'govshare_auditor') THEN
		CREATE ROLE govshare_auditor NOLOGIN;
	END IF;
END
$$;

-- From least to most revealing: max() over levels is "most revealing".
CREATE TYPE govshare.disclosure_level AS ENUM
	('denied', 'verify', 'redacted', 'generalized', 'pseudonym', 'masked', 'full');
COMMENT ON TYPE govshare.disclosure_level IS
	'how a consumer sees a column, least revealing first: denied < verify < redacted < generalized < pseudonym < masked < full';

CREATE TABLE govshare.agency (
	code		text PRIMARY KEY CHECK (code ~ '^[A-Za-z][A-Za-z0-9_.-]{0,63}$'),
	name		text NOT NULL CHECK (name <> ''),
	parent		text REFERENCES govshare.agency ON UPDATE CASCADE,
	is_self		boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	name NOT NULL DEFAULT current_user
);
-- At most one agency is self; check_setup() reports when there is none.
CREATE UNIQUE INDEX agency_self ON govshare.agency ((true)) WHERE is_self;
COMMENT ON TABLE govshare.agency IS
	'organisations that share data; exactly one is self, the owner of this database';

CREATE TABLE govshare.role_binding (
	role		regrole PRIMARY KEY,
	agency		text NOT NULL REFERENCES govshare.agency ON UPDATE CASCADE,
	bound_at	timestamptz NOT NULL DEFAULT now(),
	bound_by	name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE govshare.role_binding IS
	'database roles bound to agencies: a role bound to another agency than self is a consumer';

CREATE TABLE govshare.agency_key (
	key_id		text PRIMARY KEY,	-- RFC 7638 JWK thumbprint, the JWS "kid"
	agency		text NOT NULL REFERENCES govshare.agency ON UPDATE CASCADE,
	public_key	text NOT NULL,		-- PEM, Ed25519 SubjectPublicKeyInfo
	valid_until	timestamptz,
	added_at	timestamptz NOT NULL DEFAULT now(),
	added_by	name NOT NULL DEFAULT current_user,
	revoked_at	timestamptz,
	revoked_by	name,
	revoke_reason text
);
COMMENT ON TABLE govshare.agency_key IS
	'Ed25519 public keys with which agencies sign request tokens';

CREATE TABLE govshare.purpose (
	code		text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,62}$'),
	description	text NOT NULL,
	legal_basis	text NOT NULL CHECK (legal_basis <> ''),
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE govshare.purpose IS 'purposes for which data may be used, with their legal basis';

CREATE TABLE govshare.rule (
	id			bigserial PRIMARY KEY,
	consumer	text NOT NULL REFERENCES govshare.agency ON UPDATE CASCADE,
	purposes	text[] NOT NULL,
	elements	text[] NOT NULL,	-- element codes, or patterns "person.*" / "*"
	level		govshare.disclosure_level NOT NULL,
	relation	regclass,			-- NULL: every governed relation
	row_filter	text,				-- as written, for people
	row_filter_tree text,			-- the analysed expression, for the engine
	legal_basis	text,
	valid_from	timestamptz NOT NULL DEFAULT now(),
	valid_until	timestamptz,		-- exclusive; NULL: open-ended
	created_at	timestamptz NOT NULL DEFAULT now(),
	created_by	name NOT NULL DEFAULT current_user,
	options		text[] NOT NULL DEFAULT '{}',	-- verify_absent_false, verify_ignore_diacritics
	CHECK (valid_until IS NULL OR valid_until > valid_from),
	CHECK (row_filter IS NULL OR relation IS NOT NULL),
	CHECK ((row_filter IS NULL) = (row_filter_tree IS NULL)),
	CONSTRAINT rule_options_known
		CHECK (options <@ '{verify_absent_false,verify_ignore_diacritics}'::text[])
);
COMMENT ON TABLE govshare.rule IS
	'sharing rules: which consumer agency sees which elements, at which level, for which purposes, until when';

CREATE TABLE govshare.rule_event (
	id			bigserial PRIMARY KEY,
	rule_id		bigint NOT NULL REFERENCES govshare.rule,
	event		text NOT NULL CHECK (event IN ('share', 'suspend', 'resume', 'revoke')),
	at			timestamptz NOT NULL DEFAULT now(),
	by			name NOT NULL DEFAULT current_user,
	reason		text
);
CREATE INDEX ON govshare.rule_event (rule_id);
COMMENT ON TABLE govshare.rule_event IS
	'the history of every rule: shared, suspended, resumed, revoked; who, when, why';

-- Token ids already used, kept while their tokens could still be accepted.
CREATE TABLE govshare.token_use (
	issuer		text NOT NULL,
	jti			text NOT NULL,
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz NOT NULL DEFAULT now(),
	used_by		name NOT NULL DEFAULT session_user,
	PRIMARY KEY (issuer, jti)
);
CREATE INDEX ON govshare.token_use (expires_at);
COMMENT ON TABLE govshare.token_use IS
	'request-token ids (jti) already presented: replay protection across sessions and restarts';

SELECT pg_catalog.pg_extension_config_dump('govshare.agency', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.role_binding', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.agency_key', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.purpose', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.rule', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.rule_event', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.rule_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('govshare.token_use', '');

REVOKE ALL ON govshare.agency, govshare.role_binding, govshare.agency_key, govshare.purpose,
	govshare.rule, govshare.rule_event, govshare.token_use FROM PUBLIC;
GRANT SELECT ON govshare.agency, govshare.purpose TO PUBLIC;
GRANT SELECT ON govshare.role_binding, govshare.agency_key, govshare.rule, govshare.rule_event,
	govshare.token_use TO govshare_admin;
GRANT SELECT ON govshare.rule, govshare.rule_event TO govshare_auditor;
GRANT INSERT ON govshare.agency, govshare.role_binding, govshare.agency_key, govshare.purpose,
	govshare.rule, govshare.rule_event TO govshare_admin;
GRANT UPDATE (name, parent) ON govshare.agency TO govshare_admin;
GRANT UPDATE (description, legal_basis) ON govshare.purpose TO govshare_admin;
GRANT UPDATE (agency, bound_at, bound_by), DELETE ON govshare.role_binding TO govshare_admin;
GRANT UPDATE (revoked_at, revoked_by, revoke_reason) ON govshare.agency_key TO govshare_admin;
GRANT USAGE ON SEQUENCE govshare.rule_id_seq, govshare.rule_event_id_seq TO govshare_admin;

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

--
-- Integrity of the catalog, whoever writes it (the functions below, a
-- direct INSERT by an administrator, or pg_restore).
--

-- The row filter of a rule, analysed against its relation: returns the
-- node tree that the decision engine reads, or raises an error naming what
-- is wrong.  Never spliced into SQL text.
CREATE FUNCTION govshare.analyse_row_filter(relation regclass, row_filter text) RETURNS text
	AS 'MODULE_PATHNAME', 'govshare_analyse_row_filter' LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION govshare.analyse_row_filter(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.analyse_row_filter(regclass, text) TO govshare_admin;

-- Tells every session, at commit, that the policy changed (relcache
-- invalidation of govshare.rule, which src/catalog.c listens for).
CREATE FUNCTION govshare.policy_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'govshare_policy_changed' LANGUAGE C;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['agency', 'role_binding', 'agency_key', 'purpose', 'rule', 'rule_event', 'element']
	LOOP
		EXECUTE format('CREATE TRIGGER policy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE'
		               ' ON govshare.%I FOR EACH STATEMENT EXECUTE FUNCTION govshare.policy_changed()', t);
	END LOOP;
END
$$;

-- Rules and their history are never changed or deleted: a rule's status is
-- its events (see govshare.rules).
CREATE FUNCTION govshare.guard_history() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'rows of %.% cannot be changed or deleted', TG_TABLE_SCHEMA, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = 'Sharing rules and their history are kept for the audit.',
		      HINT = 'Use govshare.revoke(), govshare.suspend() or govshare.resume(); share() a new rule to change one.';
END
$$;
CREATE TRIGGER guard_history BEFORE UPDATE OR DELETE ON govshare.rule
	FOR EACH ROW EXECUTE FUNCTION govshare.guard_history();
CREATE TRIGGER guard_history BEFORE UPDATE OR DELETE ON govshare.rule_event
	FOR EACH ROW EXECUTE FUNCTION govshare.guard_history();
CREATE TRIGGER guard_history_truncate BEFORE TRUNCATE ON govshare.rule
	FOR EACH STATEMENT EXECUTE FUNCTION govshare.guard_history();
CREATE TRIGGER guard_history_truncate BEFORE TRUNCATE ON govshare.rule_event
	FOR EACH STATEMENT EXECUTE FUNCTION govshare.guard_history();
REVOKE EXECUTE ON FUNCTION govshare.guard_history(), govshare.policy_changed() FROM PUBLIC;

-- Raises "invalid sharing rule" with a detail and a hint.
CREATE FUNCTION govshare.reject_rule(detail text, hint text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF hint IS NULL THEN
		RAISE EXCEPTION 'invalid sharing rule' USING ERRCODE = 'invalid_parameter_value', DETAIL = detail;
	END IF;
	RAISE EXCEPTION 'invalid sharing rule'
		USING ERRCODE = 'invalid_parameter_value', DETAIL = detail, HINT = hint;
END
$$;
REVOKE EXECUTE ON FUNCTION govshare.reject_rule(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.reject_rule(text, text) TO govshare_admin;

-- Validates a new rule, however it is inserted, and analyses its row
-- filter.  Lookups of other catalogs are skipped while pg_restore loads a
-- dump (check_function_bodies off), when their rows may not be back yet.
-- It keeps the caller's search path (it names its own objects with their
-- schema): the row filter's names are the caller's, as CREATE POLICY's are.
CREATE FUNCTION govshare.rule_check() RETURNS trigger
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
CREATE TRIGGER rule_check BEFORE INSERT ON govshare.rule
	FOR EACH ROW EXECUTE FUNCTION govshare.rule_check();
REVOKE EXECUTE ON FUNCTION govshare.rule_check() FROM PUBLIC;

-- Rules with their current status, which is their history's (the
-- aggregates above, the definition the decision engine uses): revoked once
-- revoked, else suspended when the last suspend is not followed by a
-- resume; and who made it so, when and why.
CREATE VIEW govshare.rules AS
SELECT r.id, r.consumer, r.purposes, r.elements, r.level, r.relation, r.row_filter,
       r.legal_basis, r.valid_from, r.valid_until,
       h.status, d.at AS status_since, d.by AS status_by, d.reason AS status_reason,
       r.created_at, r.created_by, r.options
FROM govshare.rule r
CROSS JOIN LATERAL (SELECT govshare.rule_status(e.id, e.event) AS status,
                           govshare.rule_status_event(e.id, e.event) AS event_id
                    FROM govshare.rule_event e WHERE e.rule_id = r.id) h
LEFT JOIN govshare.rule_event d ON d.id = h.event_id;
COMMENT ON VIEW govshare.rules IS 'sharing rules with their current status';
REVOKE ALL ON govshare.rules FROM PUBLIC;
GRANT SELECT ON govshare.rules TO govshare_admin, govshare_auditor;

--
-- Administration functions.  They run with the caller's rights: a member
-- of govshare_admin (or the owner) may call them, anyone else meets the
-- catalog's privileges.
--

CREATE FUNCTION govshare.add_agency(code text, name text, parent text DEFAULT NULL,
                                    is_self boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	IF EXISTS (SELECT FROM govshare.agency a WHERE a.code = code) THEN
		RAISE EXCEPTION 'agency "%" already exists', code USING ERRCODE = 'duplicate_object';
	END IF;
	IF code IS NULL OR code !~ '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' THEN
		RAISE EXCEPTION 'invalid agency code'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'An agency code is 1 to 64 letters, digits, "_", "." or "-", starting with a letter.';
	END IF;
	IF parent IS NOT NULL AND NOT EXISTS (SELECT FROM govshare.agency a WHERE a.code = parent) THEN
		RAISE EXCEPTION 'parent agency "%" does not exist', parent USING ERRCODE = 'undefined_object';
	END IF;
	IF is_self AND EXISTS (SELECT FROM govshare.agency a WHERE a.is_self) THEN
		RAISE EXCEPTION 'this database already has its own agency'
			USING ERRCODE = 'unique_violation',
			      DETAIL = format('Agency "%s" is self.', (SELECT a.code FROM govshare.agency a WHERE a.is_self));
	END IF;
	INSERT INTO govshare.agency (code, name, parent, is_self) VALUES (code, name, parent, is_self);
	RETURN code;
END
$$;
COMMENT ON FUNCTION govshare.add_agency(text, text, text, boolean) IS
	'register an agency; is_self => true for the agency that owns this database';

CREATE FUNCTION govshare.bind_role(role regrole, agency text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	IF NOT EXISTS (SELECT FROM govshare.agency a WHERE a.code = agency) THEN
		RAISE EXCEPTION 'agency "%" does not exist', agency
			USING ERRCODE = 'undefined_object', HINT = 'Add it with govshare.add_agency().';
	END IF;
	IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = role)
	   AND NOT (SELECT a.is_self FROM govshare.agency a WHERE a.code = agency) THEN
		RAISE EXCEPTION 'role "%" is a superuser and cannot be bound to another agency', role
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'A superuser bypasses every check, so govshare treats it as internal.',
			      HINT = 'Bind a role without SUPERUSER.';
	END IF;
	INSERT INTO govshare.role_binding AS b (role, agency) VALUES (role, agency)
	ON CONFLICT ON CONSTRAINT role_binding_pkey DO UPDATE
		SET agency = EXCLUDED.agency, bound_at = now(), bound_by = current_user;
END
$$;
COMMENT ON FUNCTION govshare.bind_role(regrole, text) IS
	'bind a database role to an agency; a role bound to another agency than self is a consumer';

CREATE FUNCTION govshare.unbind_role(role regrole) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	DELETE FROM govshare.role_binding b WHERE b.role = role;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" is not bound to an agency', role USING ERRCODE = 'undefined_object';
	END IF;
END
$$;

CREATE FUNCTION govshare.add_agency_key(agency text, public_key text,
                                        valid_until timestamptz DEFAULT NULL) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
	kid text := govshare.key_id(public_key);
BEGIN
	IF NOT EXISTS (SELECT FROM govshare.agency a WHERE a.code = agency) THEN
		RAISE EXCEPTION 'agency "%" does not exist', agency
			USING ERRCODE = 'undefined_object', HINT = 'Add it with govshare.add_agency().';
	END IF;
	IF EXISTS (SELECT FROM govshare.agency_key k WHERE k.key_id = kid) THEN
		RAISE EXCEPTION 'this key is already registered'
			USING ERRCODE = 'duplicate_object',
			      DETAIL = format('Key %s belongs to agency "%s".', kid,
			                      (SELECT k.agency FROM govshare.agency_key k WHERE k.key_id = kid));
	END IF;
	IF valid_until IS NOT NULL AND valid_until <= now() THEN
		RAISE EXCEPTION 'the key would already have expired'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO govshare.agency_key (key_id, agency, public_key, valid_until)
	VALUES (kid, agency, public_key, valid_until);
	RETURN kid;
END
$$;
COMMENT ON FUNCTION govshare.add_agency_key(text, text, timestamptz) IS
	'register an agency''s Ed25519 public key (PEM); returns its key id (RFC 7638 thumbprint, the JWS "kid")';

CREATE FUNCTION govshare.revoke_agency_key(key_id text, reason text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	IF NULLIF(btrim(reason), '') IS NULL THEN
		RAISE EXCEPTION 'a key is revoked only with a reason' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE govshare.agency_key k SET revoked_at = now(), revoked_by = current_user, revoke_reason = reason
	WHERE k.key_id = key_id AND k.revoked_at IS NULL;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no unrevoked key "%"', key_id USING ERRCODE = 'undefined_object';
	END IF;
END
$$;

CREATE FUNCTION govshare.add_purpose(code text, description text, legal_basis text) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	IF EXISTS (SELECT FROM govshare.purpose p WHERE p.code = code) THEN
		RAISE EXCEPTION 'purpose "%" already exists', code USING ERRCODE = 'duplicate_object';
	END IF;
	IF code IS NULL OR code !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'invalid purpose code'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'A purpose code is 1 to 63 lower-case letters, digits or "_", starting with a letter.';
	END IF;
	IF NULLIF(btrim(legal_basis), '') IS NULL THEN
		RAISE EXCEPTION 'purpose "%" needs a legal basis', code
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Name the law, decree or decision that allows data to be used for it.';
	END IF;
	INSERT INTO govshare.purpose (code, description, legal_basis) VALUES (code, description, legal_basis);
	RETURN code;
END
$$;

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

-- Adds an event to a rule's history after checking that it makes sense.
CREATE FUNCTION govshare.rule_transition(rule_id bigint, event text, reason text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
	status text;
BEGIN
	-- one change of a rule at a time
	PERFORM FROM govshare.rule r WHERE r.id = rule_id FOR KEY SHARE;
	SELECT r.status INTO status FROM govshare.rules r WHERE r.id = rule_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'sharing rule % does not exist', rule_id USING ERRCODE = 'undefined_object';
	END IF;
	IF event <> 'resume' AND NULLIF(btrim(reason), '') IS NULL THEN
		RAISE EXCEPTION 'a rule is %ed only with a reason', CASE event WHEN 'revoke' THEN 'revok' ELSE event END
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'The reason is kept in the rule''s history for the audit.';
	END IF;
	IF status = 'revoked' THEN
		RAISE EXCEPTION 'sharing rule % is revoked', rule_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = 'Revocation is final.', HINT = 'Share a new rule.';
	ELSIF event = 'suspend' AND status = 'suspended' THEN
		RAISE EXCEPTION 'sharing rule % is already suspended', rule_id USING ERRCODE = 'object_not_in_prerequisite_state';
	ELSIF event = 'resume' AND status <> 'suspended' THEN
		RAISE EXCEPTION 'sharing rule % is not suspended', rule_id USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	INSERT INTO govshare.rule_event (rule_id, event, reason) VALUES (rule_id, event, reason);
END
$$;

CREATE FUNCTION govshare.revoke(rule_id bigint, reason text) RETURNS void
	LANGUAGE sql AS $$ SELECT govshare.rule_transition(rule_id, 'revoke', reason) $$;
COMMENT ON FUNCTION govshare.revoke(bigint, text) IS 'revoke a sharing rule for good (kept in the history)';
CREATE FUNCTION govshare.suspend(rule_id bigint, reason text) RETURNS void
	LANGUAGE sql AS $$ SELECT govshare.rule_transition(rule_id, 'suspend', reason) $$;
COMMENT ON FUNCTION govshare.suspend(bigint, text) IS 'suspend a sharing rule until resume()';
CREATE FUNCTION govshare.resume(rule_id bigint, reason text DEFAULT NULL) RETURNS void
	LANGUAGE sql AS $$ SELECT govshare.rule_transition(rule_id, 'resume', reason) $$;
COMMENT ON FUNCTION govshare.resume(bigint, text) IS 'resume a suspended sharing rule';

REVOKE EXECUTE ON FUNCTION govshare.add_agency(text, text, text, boolean),
	govshare.bind_role(regrole, text), govshare.unbind_role(regrole),
	govshare.add_agency_key(text, text, timestamptz), govshare.revoke_agency_key(text, text),
	govshare.add_purpose(text, text, text),
	govshare.share(text, text[], text[], text, regclass, text, text, timestamptz, timestamptz, text[]),
	govshare.rule_transition(bigint, text, text), govshare.revoke(bigint, text),
	govshare.suspend(bigint, text), govshare.resume(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.add_agency(text, text, text, boolean),
	govshare.bind_role(regrole, text), govshare.unbind_role(regrole),
	govshare.add_agency_key(text, text, timestamptz), govshare.revoke_agency_key(text, text),
	govshare.add_purpose(text, text, text),
	govshare.share(text, text[], text[], text, regclass, text, text, timestamptz, timestamptz, text[]),
	govshare.rule_transition(bigint, text, text), govshare.revoke(bigint, text),
	govshare.suspend(bigint, text), govshare.resume(bigint, text) TO govshare_admin;

--
-- Request context (src/context.c)
--

CREATE FUNCTION govshare.begin_request(purpose text, officer text DEFAULT NULL,
                                       reference text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_begin_request' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govshare.begin_request(text, text, text) IS
	'declare the purpose (and officer, reference) of the requests that follow in this session';
CREATE FUNCTION govshare.begin_request_signed(token text) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_begin_request_signed' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION govshare.begin_request_signed(text) IS
	'prove the request context with a JWS (EdDSA) token signed by the agency''s registered key';
CREATE FUNCTION govshare.end_request() RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_end_request' LANGUAGE C VOLATILE;
CREATE FUNCTION govshare.current_request(OUT agency text, OUT role name, OUT officer text,
                                         OUT purpose text, OUT reference text, OUT token_id text,
                                         OUT key_id text, OUT signed boolean,
                                         OUT began_at timestamptz, OUT expires_at timestamptz)
RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'govshare_current_request' LANGUAGE C STABLE ROWS 1;
COMMENT ON FUNCTION govshare.current_request() IS
	'the request context of this session: one row, or none when no request was begun';

--
-- Decisions (src/decide.c)
--

CREATE FUNCTION govshare.explain_access(agency text, purpose text, rel regclass)
RETURNS TABLE (column_name name, element text, level govshare.disclosure_level,
               rule_ids bigint[], legal_basis text[], reason text)
	AS 'MODULE_PATHNAME', 'govshare_explain_access' LANGUAGE C STABLE;
COMMENT ON FUNCTION govshare.explain_access(text, text, regclass) IS
	'for every column of a relation: the level an agency gets for a purpose, the rules that grant it, and why';

-- Whether a view or materialized view reads governed data: the test the
-- enforcement applies to materialized views (src/enforce/rewrite.c), here
-- because check_setup() calls it.
CREATE FUNCTION govshare.reads_governed(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_reads_governed' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION govshare.reads_governed(regclass) IS
	'whether a view or materialized view reads governed data (materialized views that do are refused to consumers)';

-- Misconfigurations a DBA should fix, most serious first.
CREATE FUNCTION govshare.check_setup()
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
REVOKE EXECUTE ON FUNCTION govshare.check_setup() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.check_setup() TO govshare_admin;
