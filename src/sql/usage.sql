
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
