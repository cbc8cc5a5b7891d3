# test/t/004_pseudonyms.pl — pseudonyms are keyed by the server's secret.
#
# The same value gives the same pseudonym to the same agency after a
# restart; another secret gives other pseudonyms; without a key, or with a
# key file others may read, a rule that discloses pseudonyms stops the query
# while it is planned, and nothing is returned.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pseudonyms');
$node->init;
my $key = $node->data_dir . '/pseudonym.key';
sub write_key
{
	my ($content, $mode) = @_;
	open(my $fh, '>', $key) or die "cannot write $key: $!";
	print $fh $content;
	close($fh);
	chmod($mode, $key);
}
write_key("first secret of thirty-two bytes or more\n", 0600);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'govshare'\n"
	  . "govshare.pseudonym_key_file = '$key'\n");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id, full_name text, phone phone_number);
INSERT INTO citizen VALUES ('079099123456', 'Nguyen Van An', '+84912345678');
SELECT classify('citizen', 'personal_id', 'person.personal_id'),
       classify('citizen', 'full_name', 'person.full_name'),
       classify('citizen', 'phone', 'person.phone'), govern('citizen'),
       add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_agency('MOH', 'Ministry of Health'),
       add_purpose('p', 'Tests', 'Test law');
CREATE ROLE mnd; CREATE ROLE moh;
SELECT bind_role('mnd', 'MND'), bind_role('moh', 'MOH');
SELECT share('MND', '{p}', '{person.personal_id, person.full_name, person.phone}', 'pseudonym');
SELECT share('MOH', '{p}', '{person.personal_id, person.full_name, person.phone}', 'pseudonym');
});

sub pseudonyms
{
	my ($role) = @_;
	return $node->safe_psql('postgres', qq{
SET ROLE $role;
SELECT govshare.begin_request('p');
SELECT personal_id::text || ' ' || full_name || ' ' || phone::text FROM public.citizen;});
}

my $first = pseudonyms('mnd');
like($first, qr/^~[0-9A-Z]{12} ~[0-9A-Z]{24} ~[0-9A-Z]{12}$/m,
	'identifier, text and phone number pseudonyms have their forms');
unlike($first, qr/079099123456|Nguyen|912345678/, 'no real value shows');
is(pseudonyms('mnd'), $first, 'the same in another session');
isnt(pseudonyms('moh'), $first, 'another agency gets other pseudonyms');

$node->restart;
is(pseudonyms('mnd'), $first, 'the same after a restart');

write_key("another secret of thirty-two bytes or more\n", 0600);
$node->reload;
isnt(pseudonyms('mnd'), $first, 'another secret, other pseudonyms');

sub attempt
{
	my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
SET ROLE mnd;
SELECT govshare.begin_request('p');
SELECT full_name FROM public.citizen;});
	return ($ret, $stdout, $stderr);
}

write_key("another secret of thirty-two bytes or more\n", 0644);
$node->reload;
my ($ret, $stdout, $stderr) = attempt();
isnt($ret, 0, 'a key file others may read is refused');
like($stderr, qr/pseudonym key file ".*" may be read by others/, '... saying so');
unlike($stdout, qr/~|Nguyen/, '... and nothing is returned');

write_key("short\n", 0600);
$node->reload;
($ret, $stdout, $stderr) = attempt();
like($stderr, qr/must hold between 32 and 1024 bytes/, 'a short secret is refused');

$node->append_conf('postgresql.conf', "govshare.pseudonym_key_file = ''\n");
$node->reload;
($ret, $stdout, $stderr) = attempt();
like($stderr, qr/no pseudonym key is configured/, 'without a key the query stops');
like($stderr, qr/HINT:  Set govshare.pseudonym_key_file/, '... with a HINT');

# a consumer cannot see where the key is
($ret, $stdout, $stderr) = $node->psql('postgres',
	q{SET ROLE mnd; SELECT current_setting('govshare.pseudonym_key_file')});
isnt($ret, 0, 'the key file setting is hidden from consumers');

$node->stop;
done_testing();
