
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
