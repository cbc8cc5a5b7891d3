# test/t/002_dump_restore.pl — classification, governed state and an
# agency's own dictionary rows survive pg_dump / pg_restore into a fresh
# database; the national profile's shipped rows are not duplicated.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
CREATE EXTENSION govshare;
INSERT INTO govshare.code_list (list, name_vi, name_en) VALUES ('rank', 'Cấp bậc', 'Military rank');
INSERT INTO govshare.code (list, code, name_vi) VALUES ('rank', 'DU', 'Đại úy'), ('rank', 'TU', 'Thiếu úy');
INSERT INTO govshare.element (code, name_vi, name_en, datatype, sensitivity, code_list)
VALUES ('military.rank', 'Cấp bậc quân hàm', 'Military rank', 'text', 'personal', 'rank');
CREATE TABLE citizen (id govshare.personal_id PRIMARY KEY, full_name text,
                      born govshare.partial_date, rank text, note text)
    PARTITION BY RANGE (id);
CREATE TABLE citizen_north PARTITION OF citizen FOR VALUES FROM ('001000000000') TO ('040000000000');
CREATE TABLE citizen_south PARTITION OF citizen FOR VALUES FROM ('040000000000') TO (MAXVALUE);
SECURITY LABEL FOR govshare ON COLUMN citizen.id IS 'person.personal_id';
SELECT govshare.classify('citizen', 'full_name', 'person.full_name');
SELECT govshare.classify('citizen', 'born', 'person.date_of_birth');
SELECT govshare.classify('citizen', 'rank', 'military.rank');
SELECT govshare.govern('citizen');
INSERT INTO citizen VALUES ('001090123456', 'Nguyen Van A', '1990-05', 'DU', 'x');
});

my $classification = q{SELECT relation, column_name, element, sensitivity, conformance,
       inherited_from, governed, status
FROM govshare.classification ORDER BY relation::text, column_name};
my $before = $node->safe_psql('src', $classification);
my $counts = q{SELECT (SELECT count(*) FROM govshare.element),
       (SELECT count(*) FROM govshare.code),
       (SELECT count(*) FROM govshare.code_list),
       (SELECT count(*) FROM govshare.element WHERE NOT shipped)};
my $counts_before = $node->safe_psql('src', $counts);
like($before, qr/citizen_south\|id\|person\.personal_id/, 'partitions inherit the classification');
like($before, qr/citizen\|note\|\|\|\|\|t\|unclassified/, 'unclassified column of a governed table is listed');

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('dst'), '--exit-on-error', $dump ],
	'pg_restore into a fresh database');

is($node->safe_psql('dst', $classification), $before, 'classification survives the round trip');
is($node->safe_psql('dst', $counts), $counts_before,
	'dictionary rows neither lost nor duplicated');
is($node->safe_psql('dst', q{SELECT name_en, code_list FROM govshare.element WHERE code = 'military.rank'}),
	'Military rank|rank', 'an agency element survives');
is($node->safe_psql('dst', q{SELECT govshare.personal_id_birth_year(id) FROM citizen}), '1990',
	'data of national types survives');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_seclabel WHERE provider = 'govshare'}),
	$node->safe_psql('src', q{SELECT count(*) FROM pg_seclabel WHERE provider = 'govshare'}),
	'every label restored');

$node->stop;
done_testing();
