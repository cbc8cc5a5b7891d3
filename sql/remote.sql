-- Cross-agency queries between two databases of one server: remote_mps
-- is the Ministry of Public Security's (the provider), remote_mnd the
-- Ministry of National Defence's (the consumer).  Endpoints and who may
-- use them, remote_query and remote_query_json, masking and denials on
-- the provider, the requests and receipts both logs keep, and the errors.
-- (Three servers, network cuts, cancels and replication: test/t/010_remote.pl.)
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE DATABASE remote_mps;
CREATE DATABASE remote_mnd;
CREATE ROLE regress_mnd_gateway LOGIN;	-- MND's login at MPS
CREATE ROLE regress_mnd_officer LOGIN;	-- an application of MND
SELECT pg_read_file(current_setting('govshare.signing_key_file') || '.pub') AS mnd_public \gset

-- the provider: citizens, MND's agreement, MND's gateway role and key
\c remote_mps
SET client_min_messages = warning;
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE ROLE regress_mnd_admin LOGIN IN ROLE govshare_admin;
-- the gateway's queries name the national types and their operators
ALTER ROLE regress_mnd_gateway SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text NOT NULL,
                      phone phone_number, religion text);
INSERT INTO citizen VALUES
    ('001090123456', 'Nguyen Van An', '0912345678', 'none'),
    ('079199012345', 'Tran Thi Binh', '0912345679', 'buddhist'),
    ('048085000001', 'Pham Thi Dung', '0987654321', 'catholic');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'phone', 'person.phone'),
       classify('citizen', 'religion', 'person.religion'),
       govern('citizen'),
       add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Call-up', 'Law on Military Service 78/2015/QH13'),
       bind_role('regress_mnd_gateway', 'MND');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full') > 0 AS shared,
       share('MND', '{military_service}', '{person.phone}', 'masked') > 0 AS masked;
SELECT add_agency_key('MND', :'mnd_public') = key_id(:'mnd_public') AS mnd_key;
-- an error of 3 MB: message, detail and hint
CREATE FUNCTION public.huge_error() RETURNS int LANGUAGE plpgsql AS $f$
BEGIN
	RAISE EXCEPTION 'huge: %', repeat('x', 3000000)
		USING DETAIL = repeat('d', 3000000), HINT = repeat('h', 3000000);
END $f$;

-- the consumer
\c remote_mnd
SET client_min_messages = warning;
CREATE EXTENSION govshare;
SET search_path = public, govshare;
SELECT add_agency('MND', 'Ministry of National Defence', is_self => true),
       add_agency('MPS', 'Ministry of Public Security');
GRANT govshare_requester TO regress_mnd_officer;
-- the officer it names in its requests (a role names itself or its officers)
SELECT bind_officer('regress_mnd_officer', 'Captain Tran');

-- 1. endpoints: govshare_admin registers them; nobody else reads them
SET ROLE regress_mnd_admin;
SELECT add_endpoint('MOF', 'dbname=x');
SELECT add_endpoint('MND', 'dbname=x');
SELECT add_endpoint('MPS', NULL);
SELECT add_endpoint('MPS', 'dbname=''remote_mps password=s3cret');
SELECT add_endpoint('MPS', 'nonsense=1 password=s3cret');
RESET ROLE;
-- a govshare_admin that is no superuser: the connection is the server's,
-- so it must carry a password and name none of the server's own files
SELECT current_user AS superuser,
       format('host=%s port=%s dbname=remote_mps user=regress_mnd_gateway',
              trim(split_part(current_setting('unix_socket_directories'), ',', 1)),
              current_setting('port')) AS mps_conninfo \gset
\c - regress_mnd_admin
SET client_min_messages = warning;
SET search_path = public, govshare;
SELECT add_endpoint('MPS', :'mps_conninfo');
SELECT add_endpoint('MPS', :'mps_conninfo' || ' password=s3cret passfile=/var/lib/postgresql/.pgpass');
SELECT add_endpoint('MPS', :'mps_conninfo' || ' sslmode=require sslkey=/var/lib/postgresql/.postgresql/postgresql.key password=s3cret');
SELECT add_endpoint('MPS', :'mps_conninfo' || ' password=s3cret');
SELECT agency, by_superuser FROM endpoint;
-- the provider trusts this server and asks for no password: refused
SELECT * FROM remote_query('MPS', 'SELECT 1', 'military_service') AS t(n int);
\c - :superuser
SET client_min_messages = warning;
SET search_path = public, govshare;
-- a superuser's endpoint may use the server's own credentials
SELECT add_endpoint('MPS', :'mps_conninfo');
SELECT agency, by_superuser FROM endpoint;
SET ROLE regress_mnd_officer;
SELECT conninfo FROM endpoint;
SELECT agency FROM endpoints;
SELECT add_endpoint('MPS', 'dbname=postgres');
RESET ROLE;
CREATE ROLE regress_nobody LOGIN;
SET ROLE regress_nobody;
SELECT * FROM remote_query('MPS', 'SELECT 1', 'military_service') AS t(n int);
SELECT * FROM remote_request;
RESET ROLE;
-- a role acting for another agency does not speak for this one
CREATE ROLE regress_mps_liaison LOGIN IN ROLE govshare_requester;
SELECT bind_role('regress_mps_liaison', 'MPS');
SET ROLE regress_mps_liaison;
SELECT * FROM remote_query('MPS', 'SELECT 1', 'military_service') AS t(n int);
RESET ROLE;
-- an endpoint by host name: govshare resolves it (nothing listens on port 1)
SELECT add_agency('MOH', 'Ministry of Health'), add_endpoint('MOH', 'host=localhost port=1 dbname=x user=x');

-- 2. remote queries: full, masked, and as jsonb
SET ROLE regress_mnd_officer;
SELECT * FROM remote_query('MPS', 'SELECT personal_id, full_name, phone FROM citizen ORDER BY 1',
                           'military_service', officer => 'Captain Tran', reference => 'CALL-2026-17')
         AS t(personal_id personal_id, full_name text, phone text);
SELECT * FROM remote_query_json('MPS', 'SELECT personal_id, full_name, length(full_name) AS n FROM citizen WHERE personal_id = ''079199012345''',
                                'military_service');
-- a predicate on a masked column sees the masked value only
SELECT * FROM remote_query('MPS', 'SELECT count(*) FROM citizen WHERE phone::text = ''0912345678''',
                           'military_service') AS t(n bigint);
-- no rows is a result too
SELECT * FROM remote_query('MPS', 'SELECT full_name FROM citizen WHERE false', 'military_service')
         AS t(full_name text);

-- 3. the provider refuses: a denied column, a write, an unknown purpose
-- (the token is spent and refused; the query is not sent)
SELECT * FROM remote_query('MPS', 'SELECT religion FROM citizen', 'military_service') AS t(r text);
SELECT * FROM remote_query('MPS', 'DELETE FROM citizen RETURNING full_name', 'military_service') AS t(r text);
SELECT * FROM remote_query('MPS', 'SELECT full_name FROM citizen', 'tax_audit') AS t(r text);
-- the query cannot step outside the request (issue 22): it runs in a
-- read-only transaction, so the gateway role cannot change its password or
-- create anything; it cannot end the signed context and begin another
-- purpose or officer
SELECT * FROM remote_query('MPS', 'ALTER ROLE CURRENT_USER PASSWORD ''taken''', 'military_service') AS t(n int);
SELECT * FROM remote_query('MPS', 'CREATE TABLE planted (x int)', 'military_service') AS t(n int);
SELECT * FROM remote_query('MPS', 'DO $d$ BEGIN CREATE TABLE planted (x int); END $d$', 'military_service') AS t(n int);
SELECT * FROM remote_query('MPS', 'SELECT query_to_xml(''SELECT govshare.end_request(), govshare.begin_request(''''tax_audit'''', ''''Anyone'''')'', false, false, '''')::text', 'military_service') AS t(x text);

-- 4. errors of the caller
SELECT * FROM remote_query('MPS', 'SELECT full_name FROM citizen', 'military_service') AS t(a text, b text);
SELECT * FROM remote_query('MPS', 'SELECT 1; SELECT 2', 'military_service') AS t(n int);
SELECT * FROM remote_query('MPS', 'SET work_mem = ''1MB''', 'military_service') AS t(n int);
SELECT * FROM remote_query('MND', 'SELECT 1', 'military_service') AS t(n int);
SELECT * FROM remote_query('MOF', 'SELECT 1', 'military_service') AS t(n int);
SELECT * FROM remote_query(NULL, 'SELECT 1', 'military_service') AS t(n int);
SELECT * FROM remote_query('MPS', 'SELECT 1', NULL) AS t(n int);
SELECT * FROM remote_query('MOH', 'SELECT 1', 'military_service') AS t(n int);
-- an officer longer than the provider takes: refused before anything is sent
SELECT * FROM remote_query('MPS', 'SELECT 1', 'military_service', officer => repeat('o', 201)) AS t(n int);
-- a provider's error of 3 MB is raised, and recorded, cut to 4 kB
DO $$
BEGIN
	PERFORM * FROM remote_query('MPS', 'SELECT public.huge_error()', 'military_service') AS t(n int);
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING '%: % ... % (% bytes)', SQLSTATE, left(SQLERRM, 60), right(SQLERRM, 26),
		octet_length(SQLERRM);
END $$;
-- after an error the connection is closed; the next request opens another,
-- which is kept for the requests that follow
SELECT * FROM remote_query('MPS', 'SELECT count(*) FROM citizen', 'military_service') AS t(n bigint);
SELECT count(DISTINCT pid) AS gateway_backends
  FROM (SELECT * FROM remote_query('MPS', 'SELECT pg_backend_pid()', 'military_service') AS t(pid int)
        UNION ALL
        SELECT * FROM remote_query('MPS', 'SELECT pg_backend_pid()', 'military_service') AS t(pid int)) p;
-- what a query sets on the kept connection does not stay for the next request
SELECT * FROM remote_query('MPS', 'SELECT set_config(''work_mem'', ''1234kB'', false)', 'military_service')
         AS t(s text);
SELECT * FROM remote_query('MPS', 'SELECT current_setting(''work_mem'') <> ''1234kB''', 'military_service')
         AS t(reset boolean);
RESET ROLE;

-- 5. what the consumer recorded: every request, the receipts; a request
-- refused before anything was sent is a denial without a token or receipt
SELECT target, role_name, left(officer, 20) AS officer, purpose, reference, rows, outcome,
       left(reason, 60) AS reason, receipt_seq IS NOT NULL AS receipt,
       query_sha256 = sha256(convert_to(query, 'UTF8')) AS fingerprint
  FROM remote_request ORDER BY seq;
SELECT count(DISTINCT token_id) = count(token_id) AS fresh_jti,
       count(*) FILTER (WHERE token_id IS NULL AND outcome = 'denied') AS refused_before_sending
  FROM remote_request;
SELECT ok, problem FROM verify_log();
-- the first request's receipt, to check against the provider's log
SELECT token_id AS jti1, receipt_seq AS rseq1, encode(receipt_hash, 'hex') AS rhash1
  FROM remote_request WHERE reference = 'CALL-2026-17' \gset
SELECT token_id AS jti_denied, receipt_seq AS rseq_denied, encode(receipt_hash, 'hex') AS rhash_denied
  FROM remote_request WHERE query = 'SELECT religion FROM citizen' \gset

-- 6. what the provider recorded, and that the receipts are its rows
\c remote_mps
SET search_path = public, govshare;
-- the gateway's last result rows are queued, not waited for: let the writer catch up
DO $$ BEGIN
	WHILE (SELECT sum(queued) FROM audit_status()) > 0 LOOP PERFORM pg_sleep(0.05); END LOOP;
END $$;
SELECT kind, agency, role_name, officer, purpose, reference, outcome, rows,
       left(reason, 60) AS reason
  FROM access_log WHERE NOT internal ORDER BY seq;
SELECT seq = :rseq1 AND encode(hash, 'hex') = :'rhash1' AS receipt_matches
  FROM access_log WHERE token_id = :'jti1' AND kind = 'access';
SELECT seq = :rseq_denied AND encode(hash, 'hex') = :'rhash_denied' AND outcome = 'denied' AS denial_receipt_matches
  FROM access_log WHERE token_id = :'jti_denied' AND kind = 'access';
-- a receipt is only for the session that made the request, and its token
SET ROLE regress_mnd_gateway;
SELECT count(*) AS foreign_receipts FROM request_receipt(:'jti1');
RESET ROLE;

-- 7. the provider no longer trusts MND's key: the token is refused, and
-- the refusal is recorded on both sides
SELECT revoke_agency_key(key_id(:'mnd_public'), 'rotated');
\c remote_mnd
SET search_path = public, govshare;
SET ROLE regress_mnd_officer;
SELECT * FROM remote_query('MPS', 'SELECT full_name FROM citizen', 'military_service') AS t(r text);
RESET ROLE;
SELECT outcome, receipt_seq IS NOT NULL AS receipt FROM remote_request ORDER BY seq DESC LIMIT 1;
\c remote_mps
SET search_path = public, govshare;
-- the refused token; the query was not sent
SELECT outcome, left(reason, 80) AS reason FROM access_log ORDER BY seq DESC LIMIT 1;
SELECT ok, problem FROM verify_log();

\c contrib_regression
SET client_min_messages = warning;
-- the kept connection of the consumer's sessions ended with them
SELECT pg_terminate_backend(pid) IS NOT NULL FROM pg_stat_activity
 WHERE datname IN ('remote_mps', 'remote_mnd') AND backend_type = 'client backend' AND pid <> pg_backend_pid()
 LIMIT 0;
DROP DATABASE remote_mps WITH (FORCE);
DROP DATABASE remote_mnd WITH (FORCE);
DROP ROLE regress_mnd_gateway, regress_mnd_officer, regress_mnd_admin, regress_nobody, regress_mps_liaison;
