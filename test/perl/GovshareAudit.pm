# test/perl/GovshareAudit.pm — the setting the audit's TAP tests share.
#
# audit_node(name, conf lines ...) makes, configures and starts a node with
# govshare preloaded and strict audit that waits up to a minute (the
# suites run on busy machines), the given lines appended to its
# configuration.
#
# citizen_sql(rows => N, phone => 1) returns the SQL that installs govshare
# in a database and makes it the Ministry of Public Security's: a governed
# citizen table of N rows (personal ids 001090100001 ...), the agencies MPS
# (self) and MND, the purpose military_service, and a rule that shares the
# personal id and the full name with MND in full.  Each test creates and
# binds its own consumer roles.
#
# citizens_sql(N) returns a SELECT of N rows for a table (personal_id,
# full_name, residence, phone), the index tests' citizens: valid ids of
# provinces 001, 079 and 048, born 1950-2007, "Citizen i", every third
# residing in 79 (2025:79, the others in 2025:01), distinct phones.
#
# b64url_encode and b64url_decode: base64url without padding, for the
# tests that take JWS checkpoints apart.
package GovshareAudit;
use strict;
use warnings;
use Exporter 'import';
use MIME::Base64;
use PostgreSQL::Test::Cluster;
our @EXPORT = qw(audit_node citizen_sql citizens_sql b64url_encode b64url_decode audit_drained);

sub audit_node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'govshare'",
		"govshare.audit_mode = 'strict'",
		"govshare.audit_timeout = '60s'", @conf) . "\n");
	$node->start;
	return $node;
}

# audit_drained(node, dbname): waits until the audit queues hold no record
# (every record queued so far is written): a session's last records (a
# strict read's result row, a denial) are queued when its statement ends
# and written after the client has its answer.
sub audit_drained
{
	my ($node, $db) = @_;
	return $node->poll_query_until($db // 'postgres',
		'SELECT coalesce(sum(queued), 0) = 0 FROM govshare.audit_status()');
}

sub citizen_sql
{
	my (%opt) = @_;
	my $rows = $opt{rows} // 100;
	my $phone_column = $opt{phone} ? ', phone phone_number' : '';
	my $phone_value = $opt{phone} ? ', NULL' : '';
	my $phone_label = $opt{phone} ? "classify('citizen', 'phone', 'person.phone')," : '';
	return qq{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id PRIMARY KEY, full_name text$phone_column);
INSERT INTO citizen
SELECT ('0010901' || lpad(i::text, 5, '0'))::personal_id, 'Citizen ' || i$phone_value
  FROM generate_series(1, $rows) i;
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'), $phone_label
       govern('citizen'),
       add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_purpose('military_service', 'Military service call-up', 'Law 78/2015/QH13');
SELECT share('MND', '{military_service}', '{person.personal_id, person.full_name}', 'full');
};
}

sub citizens_sql
{
	my ($rows) = @_;
	return qq{
SELECT format('%s%s%s%s', lpad(p::text, 3, '0'), ((y / 100 - 19) * 2 + i % 2)::text,
              lpad((y % 100)::text, 2, '0'), lpad((i::bigint * 7919 % 1000000)::text, 6, '0'))::personal_id,
       format('Citizen %s', i),
       format('2025:%s', CASE WHEN i % 3 = 0 THEN '79' ELSE '01' END)::admin_unit,
       format('+8491%s', lpad((i::bigint * 104729 % 10000000)::text, 7, '0'))::phone_number
FROM generate_series(1, $rows) AS i,
     LATERAL (SELECT (ARRAY[1, 79, 48])[1 + (i / 3) % 3] AS p, 1950 + i % 58 AS y) AS s};
}

sub b64url_decode
{
	my $s = shift;
	$s =~ tr{-_}{+/};
	$s .= '=' x ((4 - length($s) % 4) % 4);
	return decode_base64($s);
}

sub b64url_encode
{
	my $s = encode_base64(shift, '');
	$s =~ tr{+/}{-_};
	$s =~ s/=+$//;
	return $s;
}

1;
