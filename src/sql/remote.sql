
--
-- Cross-agency requests: other agencies' endpoints, remote queries over
-- libpq, the receipts a provider returns, the record of outgoing requests.
-- (src/sql/remote.sql; the C side is src/remote.c and src/audit.c.)
--
-- Who may do what:
--   govshare_admin      registers endpoints and alone reads their
--                       connection strings (they may hold passwords);
--   govshare_requester  runs remote queries (granted to applications);
--   govshare_auditor    reads the record of outgoing requests;
--   everyone            asks a provider for the receipt of its own request.
--

DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'govshare_requester') THEN
		CREATE ROLE govshare_requester NOLOGIN;
	END IF;
END
$$;

CREATE TABLE govshare.endpoint (
	agency		text PRIMARY KEY REFERENCES govshare.agency ON UPDATE CASCADE,
	conninfo	text NOT NULL,		-- libpq connection string; may hold a password
	-- registered by a superuser: may use the server's own credentials
	-- (peer, ~/.pgpass, client certificates); otherwise a password is required
	by_superuser boolean NOT NULL DEFAULT false,
	added_at	timestamptz NOT NULL DEFAULT now(),
	added_by	name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE govshare.endpoint IS
	'where the databases of other agencies are reached: one libpq connection string per agency';
REVOKE ALL ON govshare.endpoint FROM PUBLIC;
GRANT SELECT ON govshare.endpoint TO govshare_admin;
SELECT pg_catalog.pg_extension_config_dump('govshare.endpoint', '');

CREATE FUNCTION govshare.check_conninfo(conninfo text, trusted boolean) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_check_conninfo' LANGUAGE C IMMUTABLE STRICT;
COMMENT ON FUNCTION govshare.check_conninfo(text, boolean) IS
	'refuses a connection string libpq cannot parse, without repeating it; untrusted, one without a password or that names the server''s own credential files';

CREATE FUNCTION govshare.add_endpoint(agency text, conninfo text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
	trusted boolean;
BEGIN
	IF NOT EXISTS (SELECT FROM govshare.agency a WHERE a.code = agency) THEN
		RAISE EXCEPTION 'agency "%" does not exist', agency
			USING ERRCODE = 'undefined_object', HINT = 'Add it with govshare.add_agency().';
	END IF;
	IF EXISTS (SELECT FROM govshare.agency a WHERE a.code = agency AND a.is_self) THEN
		RAISE EXCEPTION 'agency "%" is this database''s own agency', agency
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Endpoints are the databases of other agencies.';
	END IF;
	IF conninfo IS NULL THEN
		RAISE EXCEPTION 'the connection string of an endpoint must not be NULL'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- SECURITY DEFINER: session_user is who asks
	trusted := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = session_user);
	PERFORM govshare.check_conninfo(conninfo, trusted);
	INSERT INTO govshare.endpoint AS e (agency, conninfo, by_superuser, added_by)
	VALUES (agency, conninfo, trusted, session_user)
	ON CONFLICT ON CONSTRAINT endpoint_pkey
	DO UPDATE SET conninfo = EXCLUDED.conninfo, by_superuser = EXCLUDED.by_superuser,
	              added_at = now(), added_by = session_user;
END
$$;
COMMENT ON FUNCTION govshare.add_endpoint(text, text) IS
	'register (or replace) the libpq connection string of another agency''s database';

CREATE FUNCTION govshare.drop_endpoint(agency text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
	DELETE FROM govshare.endpoint e WHERE e.agency = agency;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'agency "%" has no registered endpoint', agency
			USING ERRCODE = 'undefined_object';
	END IF;
END
$$;
COMMENT ON FUNCTION govshare.drop_endpoint(text) IS 'forget another agency''s endpoint';

-- Which agencies have an endpoint, without the connection strings.  A
-- security barrier, as every view that shows part of a table to roles that
-- may not read the whole (docs/security.md).
CREATE VIEW govshare.endpoints WITH (security_barrier) AS
SELECT agency, added_at, added_by FROM govshare.endpoint;
GRANT SELECT ON govshare.endpoints TO PUBLIC;

REVOKE EXECUTE ON FUNCTION govshare.add_endpoint(text, text), govshare.drop_endpoint(text),
	govshare.check_conninfo(text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.add_endpoint(text, text), govshare.drop_endpoint(text),
	govshare.check_conninfo(text, boolean) TO govshare_admin;

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

-- The provider's side: the receipt of the caller's own last request.
CREATE FUNCTION govshare.request_receipt(token_id text,
	OUT seq bigint, OUT hash bytea, OUT outcome text, OUT statement_id uuid)
RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'govshare_request_receipt' LANGUAGE C VOLATILE ROWS 1;
COMMENT ON FUNCTION govshare.request_receipt(text) IS
	'the seq and hash of the access record of this session''s last request made with the token token_id, once durable';

-- Outgoing requests, as the access log records them.  govshare_admin reads
-- them but not the rest of the log: a security barrier, so that no function
-- of the reader's sees a row of another kind before the view's filter.
CREATE VIEW govshare.remote_request WITH (security_barrier) AS
SELECT seq, stmt_time AS requested_at, logged_at, statement_id AS request_id,
       agency AS target, role_name, login_role, officer, purpose, reference,
       token_id, statement_sha256 AS query_sha256, statement_text AS query,
       rows, outcome, reason, receipt_seq, receipt_hash, detail->'params' AS params
  FROM govshare.access_log
 WHERE kind = 'remote';
COMMENT ON VIEW govshare.remote_request IS
	'every request this database made to another agency: who asked, why, what, what came back, and the provider''s receipt';
REVOKE ALL ON govshare.remote_request FROM PUBLIC;
GRANT SELECT ON govshare.remote_request TO govshare_auditor, govshare_admin;

-- Accountable officers (issue 21).  A role names as officer of a request
-- (begin_request, remote_query) only itself or an officer bound to it (or
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
