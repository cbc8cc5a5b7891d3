-- UPGRADE-DELTA.sql — the SQL of branch sec-invariant (issue 15, classes 1,
-- 2 and 5) for govshare--0.1.0--0.2.0.sql.  Not an install or upgrade
-- script of its own: the lead merges it into the upgrade script.
--
-- 1. govshare.reads_governed(regclass) (src/sql/policy.sql, before
--    check_setup, which calls it): the enforcement's test of views and
--    materialized views (src/enforce/rewrite.c).
-- 2. govshare.statistics_hidden(regclass) (src/sql/enforce.sql): the
--    security qual of a consumer's read of pg_statistic, looked up by name
--    when such a statement is planned (the upgraded library needs it).
-- 3. govshare.check_setup(): the materialized views over governed data,
--    and consumer privileges on materialized views refused to them (the
--    CTE "matviews" and two branches).
--    If another branch changes check_setup() too, merge the two bodies:
--    this one differs from 0.1.0's only by those three parts.

-- Whether a view or materialized view reads governed data: the test the
-- enforcement applies to materialized views (src/enforce/rewrite.c), here
-- because check_setup() calls it.
CREATE FUNCTION govshare.reads_governed(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_reads_governed' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION govshare.reads_governed(regclass) IS
	'whether a view or materialized view reads governed data (materialized views that do are refused to consumers)';

-- Misconfigurations a DBA should fix, most serious first.
CREATE OR REPLACE FUNCTION govshare.check_setup()
RETURNS TABLE (severity text, object text, problem text, hint text)
LANGUAGE sql STABLE AS $$
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

-- The security qual a consumer's read of pg_statistic gets: its NOT.
CREATE FUNCTION govshare.statistics_hidden(rel regclass) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_statistics_hidden' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.statistics_hidden(regclass) IS
	'whether pg_stats hides the relation''s statistics from the session: governed relations, and for a consumer the materialized views it is refused';
