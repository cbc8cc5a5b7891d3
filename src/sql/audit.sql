
--
-- The audit of access to governed data: the hash-chained access log, its
-- guards, verification, checkpoints and the auditors' views.
-- (src/sql/audit.sql; the C side is src/audit.c, src/audit_queue.c,
-- src/audit_worker.c, src/audit_chain.c and src/verify.c.)
--
-- Who may do what:
--   the audit writer   (a background worker) appends rows; nobody else can
--                      INSERT, UPDATE, DELETE or TRUNCATE, the owner and
--                      govshare_admin included (triggers refuse it);
--   govshare_auditor   reads the log and the views, verifies the chain;
--   govshare_admin     takes signed checkpoints.
-- The canonical encoding each hash covers is in docs/audit-format.md.
--

CREATE TABLE govshare.access_log (
	seq				bigint PRIMARY KEY,
	logged_at		timestamptz NOT NULL,	-- when the writer wrote it
	kind			text NOT NULL CHECK (kind IN ('access', 'result', 'remote')),
	statement_id	uuid NOT NULL,			-- a result row names its access row's
	stmt_time		timestamptz NOT NULL,	-- the statement's start
	outcome			text NOT NULL CHECK (outcome IN ('allowed', 'denied', 'error')),
	internal		boolean NOT NULL,		-- an internal role, not a consumer
	agency			text,
	role_name		text NOT NULL,
	login_role		text NOT NULL,
	officer			text,
	purpose			text,
	reference		text,
	token_id		text,
	query_id		bigint,
	statement_sha256 bytea,
	statement_text	text,					-- NULL with govshare.audit_statement_text = off
	relations		text[],
	columns			text[],					-- "schema.relation.column"
	elements		text[],					-- parallel to columns
	levels			text[],					-- parallel to columns
	rule_ids		bigint[],
	policy_version	bigint,
	reason			text,					-- why denied, or the error
	rows			bigint,
	subjects		text[],					-- personal ids of the rows read
	subject_count	bigint,
	subject_overflow boolean,
	receipt_seq		bigint,					-- remote: the provider's access row,
	receipt_hash	bytea,					-- its seq and hash (the receipt)
	hmac_key_id		text,					-- NULL: plain SHA-256
	prev_hash		bytea NOT NULL,
	hash			bytea NOT NULL,
	-- format GSAL2 (0.2.0): structured facts of the record, a JSON object;
	-- last, as ALTER TABLE ADD COLUMN puts it in a log updated from 0.1.0
	detail			jsonb CHECK (jsonb_typeof(detail) = 'object')
);
CREATE INDEX access_log_statement ON govshare.access_log (statement_id);
-- The data subjects' index compares personal ids byte by byte ("C"): a
-- digit string sorts the same in every collation, and the database's own
-- (vi_VN.UTF-8, say) made each comparison a strcoll() call, which cost the
-- writer a sixth of its throughput.  subject_access() names the collation
-- so that its plan uses the index.
CREATE INDEX access_log_subjects ON govshare.access_log USING gin (subjects COLLATE "C");
-- A statement has one or two rows (its access row, then under strict
-- audit its result row), which ANALYZE's sample of a long log does not
-- see: it guessed about ten rows a statement on 10,000,000 rows, and the plan of
-- subject_access() cost enough to be JIT-compiled (20 ms for one row).
ALTER TABLE govshare.access_log ALTER COLUMN statement_id SET (n_distinct = -0.5);
COMMENT ON TABLE govshare.access_log IS
	'append-only, hash-chained record of every access to governed data by a consumer agency, every denial, and internal access to sensitive data';

-- Nothing but the audit writer, which appends below SQL, adds or changes rows.
CREATE FUNCTION govshare.guard_access_log() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'govshare.access_log is append-only and written by the audit writer alone'
		USING ERRCODE = 'insufficient_privilege',
		      DETAIL = format('%s is refused to every role, the owner included.', TG_OP),
		      HINT = 'Auditors read the log through the govshare.audit_* views; govshare.verify_log() checks it.';
END
$$;
CREATE TRIGGER guard_access_log BEFORE INSERT OR UPDATE OR DELETE ON govshare.access_log
	FOR EACH ROW EXECUTE FUNCTION govshare.guard_access_log();
CREATE TRIGGER guard_access_log_truncate BEFORE TRUNCATE ON govshare.access_log
	FOR EACH STATEMENT EXECUTE FUNCTION govshare.guard_access_log();
REVOKE EXECUTE ON FUNCTION govshare.guard_access_log() FROM PUBLIC;

REVOKE ALL ON govshare.access_log FROM PUBLIC;
GRANT SELECT ON govshare.access_log TO govshare_auditor;

-- The bytes a row's hash covers (docs/audit-format.md), for verifiers
-- written elsewhere to check their encoding against.
CREATE FUNCTION govshare.audit_canonical(r govshare.access_log) RETURNS bytea
	AS 'MODULE_PATHNAME', 'govshare_audit_canonical' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION govshare.audit_canonical(govshare.access_log) IS
	'the canonical encoding of an access-log row: its hash is SHA-256 (or HMAC-SHA256) of prev_hash followed by these bytes';

-- Runs only inside plans the enforcement builds (see govshare.pseudonym).
CREATE FUNCTION govshare.audit_subject(govshare.personal_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'govshare_audit_subject' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.audit_subject(govshare.personal_id) IS
	'notes the data subject of a row a consumer reads; applied by the server only, never callable directly';

CREATE FUNCTION govshare.audit_flush(timeout_ms integer DEFAULT 10000) RETURNS void
	AS 'MODULE_PATHNAME', 'govshare_audit_flush' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.audit_flush(integer) IS
	'waits until every access record this session queued is written';

CREATE FUNCTION govshare.audit_status(
	OUT database name, OUT writer_pid integer, OUT queued bigint, OUT queued_bytes bigint,
	OUT written bigint, OUT last_seq bigint, OUT last_error text, OUT last_error_at timestamptz)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'govshare_audit_status' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.audit_status() IS
	'the audit queues of the server: writer, records waiting, records written since start, last error';
REVOKE EXECUTE ON FUNCTION govshare.audit_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.audit_status() TO govshare_admin, govshare_auditor;

CREATE FUNCTION govshare.verify_log(from_seq bigint DEFAULT 1, to_seq bigint DEFAULT NULL,
	OUT ok boolean, OUT checked bigint, OUT last_seq bigint, OUT first_bad_seq bigint,
	OUT problem text)
	AS 'MODULE_PATHNAME', 'govshare_verify_log' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.verify_log(bigint, bigint) IS
	'recomputes the hash chain from from_seq to to_seq and reports the first broken link';

CREATE FUNCTION govshare.verify_log(checkpoint jsonb,
	OUT ok boolean, OUT checked bigint, OUT last_seq bigint, OUT first_bad_seq bigint,
	OUT problem text)
	AS 'MODULE_PATHNAME', 'govshare_verify_log_checkpoint' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.verify_log(jsonb) IS
	'checks a signed checkpoint and the whole chain against it: detects rewriting before it and truncation after it';

CREATE FUNCTION govshare.checkpoint() RETURNS jsonb
	AS 'MODULE_PATHNAME', 'govshare_checkpoint' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION govshare.checkpoint() IS
	'the last sequence number and hash of the access log, signed with the self agency''s Ed25519 key (govshare.signing_key_file)';

REVOKE EXECUTE ON FUNCTION govshare.audit_canonical(govshare.access_log),
	govshare.verify_log(bigint, bigint), govshare.verify_log(jsonb), govshare.checkpoint()
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.audit_canonical(govshare.access_log),
	govshare.verify_log(bigint, bigint), govshare.verify_log(jsonb)
	TO govshare_auditor, govshare_admin;
GRANT EXECUTE ON FUNCTION govshare.checkpoint() TO govshare_admin, govshare_auditor;

--
-- Views for auditors.  A statement has one access row; under strict audit
-- the rows it returned and its data subjects follow in a result row with
-- the same statement_id.
--

CREATE VIEW govshare.audit_access AS
SELECT a.seq, a.stmt_time, a.logged_at, a.statement_id,
       coalesce(r.outcome, a.outcome) AS outcome,
       a.internal, a.agency, a.role_name, a.login_role, a.officer, a.purpose,
       a.reference, a.token_id, a.relations, a.columns, a.elements, a.levels,
       a.rule_ids, a.policy_version, coalesce(r.reason, a.reason) AS reason,
       coalesce(r.rows, a.rows) AS rows,
       coalesce(r.subjects, a.subjects) AS subjects,
       coalesce(r.subject_count, a.subject_count) AS subject_count,
       coalesce(r.subject_overflow, a.subject_overflow) AS subject_overflow,
       a.query_id, a.statement_sha256, a.statement_text
  FROM govshare.access_log a
  LEFT JOIN govshare.access_log r ON r.statement_id = a.statement_id AND r.kind = 'result'
 WHERE a.kind = 'access';
COMMENT ON VIEW govshare.audit_access IS
	'one row per audited statement: who, for what purpose, what it read at which level, how many rows, whose data';

CREATE VIEW govshare.audit_denied AS
SELECT seq, stmt_time, agency, role_name, login_role, officer, purpose, reference,
       token_id, relations, columns, elements, reason, statement_text
  FROM govshare.access_log
 WHERE kind = 'access' AND outcome = 'denied';
COMMENT ON VIEW govshare.audit_denied IS 'every refused attempt by a consumer agency, with the reason';

CREATE VIEW govshare.audit_by_agency AS
SELECT date_trunc('day', a.stmt_time)::date AS day, a.agency, a.purpose, e.element,
       count(*) AS statements, coalesce(sum(a.rows), 0)::bigint AS rows,
       count(*) FILTER (WHERE a.outcome = 'denied') AS denied
  FROM govshare.audit_access a
  LEFT JOIN LATERAL (SELECT DISTINCT el FROM unnest(a.elements) AS el) AS e(element) ON true
 WHERE NOT a.internal
 GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW govshare.audit_by_agency IS
	'per day, consumer agency, purpose and data element (NULL: statements that named no column, such as a denial for want of a purpose): statements, rows returned, denials';

CREATE VIEW govshare.audit_sensitive AS
SELECT a.*
  FROM govshare.audit_access a
 WHERE EXISTS (SELECT FROM unnest(a.elements) AS el
                 JOIN govshare.element e ON e.code = el
                WHERE e.sensitivity = 'sensitive');
COMMENT ON VIEW govshare.audit_sensitive IS
	'audited statements that read or tried to read sensitive personal data, by consumers or internal roles';

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

-- Who read data about one person: what a citizens' portal shows.
CREATE FUNCTION govshare.subject_access(subject govshare.personal_id)
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

REVOKE ALL ON govshare.audit_access, govshare.audit_denied, govshare.audit_by_agency,
	govshare.audit_sensitive FROM PUBLIC;
GRANT SELECT ON govshare.audit_access, govshare.audit_denied, govshare.audit_by_agency,
	govshare.audit_sensitive TO govshare_auditor;
REVOKE EXECUTE ON FUNCTION govshare.subject_access(govshare.personal_id) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION govshare.subject_access(govshare.personal_id) TO govshare_auditor;

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
