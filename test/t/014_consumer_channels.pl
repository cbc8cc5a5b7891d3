# test/t/014_consumer_channels.pl — what a consumer agency's own login
# tries around the enforcement (issue 15, classes 1, 2 and 5).
#
# The adversarial suite runs as a superuser who SET ROLEs to the consumer;
# here every attempt is made by a session that logged in as the consumer
# role (mnd_app, trust authentication):
#
#  - a provider's STABLE SQL set-returning function over its view, which
#    the planner would inline after the enforcement ran, alone and beside
#    an ordinary governed read in the same statement: masked rows only;
#  - EXPLAIN ANALYZE of a governed relation (Rows Removed by Filter counts
#    hidden rows): refused and recorded; plain EXPLAIN (estimates from
#    whole-table statistics): refused unless COSTS OFF, which is allowed
#    and recorded;
#  - the activity statistics of a governed table and its index
#    (pg_stat_get_xact_tuples_returned, pg_stat_user_tables) and of its
#    own statements (pg_stat_statements): refused; auto_explain's
#    instrumentation still works;
#  - a materialized view the provider built over the governed table, or
#    over its function that reads it: refused, and govshare.check_setup()
#    reports them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('channels');
$node->init;
$node->append_conf('postgresql.conf', join("\n",
	"shared_preload_libraries = 'govshare, pg_stat_statements'",
	"govshare.audit_mode = 'strict'",
	"govshare.audit_timeout = '60s'") . "\n");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION govshare;
CREATE EXTENSION pg_stat_statements;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text, province int);
INSERT INTO citizen VALUES ('079099123456', 'Nguyen Van An', 79),
                           ('001090123458', 'Le Van Cuong HIDDEN', 1);
INSERT INTO citizen SELECT ('0010901' || lpad(i::text, 5, '0'))::personal_id, 'Filler HIDDEN ' || i, 1
  FROM generate_series(1, 200) i;
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'), govern('citizen'),
       add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Call-up', 'Law 78/2015/QH13');
CREATE ROLE mnd_app LOGIN;
SELECT bind_role('mnd_app', 'MND');
-- the identity number in full, the name masked, province 79 only
SELECT share('MND', '{military_service}', '{person.personal_id}', 'full', relation => 'citizen',
             row_filter => 'province = 79');
SELECT share('MND', '{military_service}', '{person.full_name}', 'masked', relation => 'citizen',
             row_filter => 'province = 79');
ANALYZE citizen;
CREATE VIEW provider_view AS SELECT personal_id, full_name FROM citizen;
GRANT SELECT ON provider_view TO mnd_app;
-- (the view qualified: from PostgreSQL 17, CREATE and REFRESH MATERIALIZED
-- VIEW run their query with search_path = pg_catalog, pg_temp)
CREATE FUNCTION provider_srf() RETURNS TABLE (personal_id personal_id, full_name text)
LANGUAGE sql STABLE AS $$ SELECT personal_id, full_name FROM public.provider_view $$;
CREATE MATERIALIZED VIEW citizen_mv AS SELECT * FROM citizen;
CREATE MATERIALIZED VIEW srf_mv AS SELECT * FROM provider_srf();
GRANT SELECT ON citizen_mv, srf_mv TO mnd_app;
});

my $secret = qr/HIDDEN|Nguyen|001090123458/;

# runs SQL as the consumer's own login within a request context
sub consumer
{
	my ($sql) = @_;
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SET search_path = public, govshare;\n"
		  . "SELECT govshare.begin_request('military_service') \\g /dev/null\n$sql",
		extra_params => [ '-U', 'mnd_app' ]);
	return ($ret, $stdout, $stderr);
}

is($node->safe_psql('postgres', 'SELECT session_user', extra_params => [ '-U', 'mnd_app' ]),
	'mnd_app', 'the attempts below log in as the consumer role');

# class 1: functions the planner inlines after the enforcement
my ($ret, $out, $err) = consumer('SELECT * FROM provider_srf()');
is($ret, 0, "the provider's SQL set-returning function runs") or diag($err);
unlike($out, $secret, '... and returns no unmasked name, no filtered row');
like($out, qr/079099123456\|N\*/, '... but the visible row, masked');
($ret, $out, $err) = consumer('SELECT (SELECT count(*) FROM citizen) AS n, f.* FROM provider_srf() f');
is($ret, 0, '... beside an ordinary governed read in the same statement') or diag($err);
unlike($out, $secret, '... still masked and filtered');

# class 2: counting channels
($ret, $out, $err) = consumer(q{EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT 1 FROM citizen WHERE personal_id = '001090123458'});
isnt($ret, 0, 'EXPLAIN ANALYZE of a governed relation is refused');
like($err, qr/agency "MND" may not EXPLAIN ANALYZE/, '... saying so');
unlike($out, qr/Rows Removed|actual rows/, '... and shows no count');
($ret, $out, $err) = consumer(q{EXPLAIN SELECT 1 FROM citizen WHERE personal_id > '001000000000'});
isnt($ret, 0, 'plain EXPLAIN (estimates) of a governed relation is refused');
like($err, qr/HINT:  .*COSTS OFF/, '... with a HINT naming COSTS OFF');
($ret, $out, $err) = consumer(q{EXPLAIN (COSTS OFF) SELECT 1 FROM citizen WHERE personal_id = '079099123456'});
is($ret, 0, 'EXPLAIN (COSTS OFF) is allowed') or diag($err);
unlike($out, qr/rows=|cost=/, '... without estimates');

($ret, $out, $err) = consumer(q{SELECT count(*) FROM citizen WHERE personal_id = '001090123458';
SELECT pg_stat_get_xact_tuples_returned('citizen_pkey'::regclass)});
isnt($ret, 0, 'pg_stat_get_xact_tuples_returned of a governed table\'s index is refused');
like($err, qr/agency "MND" may not call statistics function "pg_stat_get_xact_tuples_returned"/, '... saying so');
($ret, $out, $err) = consumer(q{SELECT relname, seq_scan, n_live_tup FROM pg_stat_user_tables});
isnt($ret, 0, 'pg_stat_user_tables is refused');
like($err, qr/statistics function/, '... saying so');
($ret, $out, $err) = consumer(q{SELECT query, rows, shared_blks_hit FROM pg_stat_statements});
isnt($ret, 0, 'pg_stat_statements (buffers of its own statements) is refused');
like($err, qr/statistics function "pg_stat_statements"/, '... saying so');

# auto_explain's instrumentation (its LOG lines go to the server log) does
# not turn a consumer's or an internal role's reads into refusals
($ret, $out, $err) = $node->psql('postgres', q{
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SELECT count(*) FROM public.citizen;
SET ROLE mnd_app;
SELECT govshare.begin_request('military_service') \g /dev/null
SELECT count(*) FROM public.citizen;});
is($ret, 0, 'auto_explain with log_analyze: internal and consumer reads run') or diag($err);
is($out, "202\n1", '... and return their rows');

# class 5: a copy of governed data
($ret, $out, $err) = consumer('SELECT * FROM citizen_mv');
isnt($ret, 0, 'a materialized view over the governed table is refused');
like($err, qr/materialized view "citizen_mv" over governed data/, '... saying so');
like($err, qr/HINT:  /, '... with a HINT');
unlike($out, $secret, '... and returns nothing');
($ret, $out, $err) = consumer('SELECT * FROM srf_mv');
isnt($ret, 0, 'a materialized view whose function reads the governed table is refused');
like($err, qr/materialized view "srf_mv" made by role "\w+"/, '... saying who made it');
unlike($out, $secret, '... and returns nothing');
my $setup = $node->safe_psql('postgres', 'SELECT problem FROM govshare.check_setup()');
like($setup, qr/^materialized view public\.citizen_mv holds a copy of governed data/m,
	'check_setup() reports the materialized view');
like($setup, qr/^consumer role mnd_app \(agency MND\) holds privileges on materialized view public\.citizen_mv, a copy of governed data: SELECT$/m,
	'... and the consumer\'s privilege on it');

# the audit: every refusal above is a denial, the allowed EXPLAIN a record
$node->poll_query_until('postgres', q{
SELECT count(*) >= 7 FROM govshare.access_log WHERE agency = 'MND' AND outcome = 'denied'})
  or die 'the denials were not recorded';
my $log = $node->safe_psql('postgres', q{
SELECT outcome || ' ' || coalesce(reason, '') || ' ' || left(statement_text, 60)
  FROM govshare.access_log WHERE agency = 'MND' AND kind <> 'result' ORDER BY seq});
like($log, qr/^denied agency "MND" may not EXPLAIN ANALYZE/m, 'EXPLAIN ANALYZE recorded as a denial');
like($log, qr/^denied .*statistics function/m, 'the statistics function recorded as a denial');
like($log, qr/^denied .*materialized view "citizen_mv"/m, 'the materialized view recorded as a denial');
like($log, qr/^allowed  EXPLAIN \(COSTS OFF\) SELECT 1 FROM citizen/m,
	'the allowed EXPLAIN (COSTS OFF) leaves a record');

$node->stop;
done_testing();
