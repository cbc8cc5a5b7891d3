-- demo/remote.sql — the second half of the demo: the Ministry of National
-- Defence's own database, on another server, asks the Ministry of Public
-- Security's for data under the agreement of demo/demo.sql.  scripts/demo
-- runs it with -v work=<socket directory> -v mps_port=... -v mnd_port=...
\set ON_ERROR_STOP 0
\set ECHO queries
\pset footer off
\pset null '(null)'
\set mps 'host=' :work ' port=' :mps_port ' dbname=mps'
\set mnd_admin 'host=' :work ' port=' :mnd_port ' dbname=postgres'
\set mnd 'host=' :work ' port=' :mnd_port ' dbname=mnd'

\echo
\echo '--- 19. Two servers: MPS lets MND''s gateway in and trusts MND''s own signing key'
\c :mps
SET search_path = public, govshare;
CREATE ROLE mnd_gateway LOGIN;
SELECT bind_role('mnd_gateway', 'MND');
ALTER ROLE mnd_gateway SET search_path = public, govshare;
SELECT add_agency_key('MND', :'mnd_public') AS mnd_server_key;

\echo
\echo '--- 20. On MND''s server: its agencies, MPS''s endpoint (only govshare_admin reads it), an officer'
\c :mnd_admin
CREATE DATABASE mnd;   -- the Ministry of National Defence's database, on its own server
\c :mnd
CREATE EXTENSION govshare;
SET search_path = public, govshare;
SELECT add_agency('MND', 'Ministry of National Defence (Bo Quoc phong)', is_self => true),
       add_agency('MPS', 'Ministry of Public Security (Bo Cong an)');
SELECT add_endpoint('MPS', format('host=%s port=%s dbname=mps user=mnd_gateway', :'work', :'mps_port'));
CREATE ROLE recruitment_officer LOGIN IN ROLE govshare_requester;
-- the officers this login may name in its requests (accountable officers)
SELECT bind_officer('recruitment_officer', 'Lt. Tran Van Binh');
SET ROLE recruitment_officer;
SELECT * FROM endpoints;
SELECT conninfo FROM endpoint;

\echo
\echo '--- 21. MND asks over libpq: a token signed by MND''s key goes with every request; MPS'
\echo '---     enforces its agreement (masked nationwide, full in Ho Chi Minh City at call-up age)'
SELECT * FROM remote_query('MPS',
    'SELECT personal_id, full_name, phone FROM citizen WHERE personal_id_province(personal_id) IN (''001'', ''079'') ORDER BY birth_date DESC LIMIT 4',
    'military_service', officer => 'Lt. Tran Van Binh', reference => 'Call-up order 2026/HCM-13')
  AS t(personal_id personal_id, full_name text, phone text);
\echo '--- the same, as jsonb rows'
SELECT * FROM remote_query_json('MPS', 'SELECT personal_id, birth_date FROM citizen ORDER BY personal_id LIMIT 2',
                                'military_service', officer => 'Lt. Tran Van Binh');
\echo '--- a column the agreement does not grant: MPS refuses, and says where it recorded the refusal'
SELECT * FROM remote_query('MPS', 'SELECT full_name, tax_code FROM citizen LIMIT 1',
                           'military_service', officer => 'Lt. Tran Van Binh') AS t(n text, t text);
RESET ROLE;

\echo
\echo '--- 22. MND''s record of its requests, each with MPS''s receipt (seq and hash of MPS''s access record)'
SELECT seq, target, officer, purpose, rows, outcome, receipt_seq,
       left(encode(receipt_hash, 'hex'), 16) AS receipt_hash
  FROM remote_request ORDER BY seq;
SELECT string_agg(quote_literal(token_id), ',') AS tokens FROM remote_request \gset

\echo
\echo '--- 23. ... and MPS''s access records of the same requests: the receipts are theirs'
\c :mps
SET search_path = public, govshare;
SELECT seq, agency, role_name, officer, purpose, outcome, left(encode(hash, 'hex'), 16) AS hash
  FROM access_log WHERE kind = 'access' AND token_id IN (:tokens) ORDER BY seq;
