# test/t/013_audit_volume.pl — what one agency can write into the access log.
#
# A consumer that sends reads carrying long comments from several
# sessions at once gets every statement recorded, with the SHA-256 of its
# whole text, but the records keep at most govshare.audit_text_max bytes
# of text each and, together, at most govshare.audit_text_budget kB a
# minute; past the budget they keep a note.  Another agency's records in
# the same minute keep their text: budgets are per agency.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;
use IPC::Run;

my $node = audit_node('audit_volume', "govshare.audit_text_budget = '256kB'",
	'max_connections = 40');
sub sql { return $node->safe_psql(@_); }

sql('postgres', q{CREATE ROLE mnd_app LOGIN; CREATE ROLE moh_app LOGIN;});
sql('postgres', citizen_sql(rows => 10) . q{
SELECT add_agency('MOH', 'Ministry of Health'),
       add_purpose('public_health', 'Epidemic control', 'Law 03/2007/QH12');
SELECT share('MOH', '{public_health}', '{person.personal_id}', 'full');
SELECT bind_role('mnd_app', 'MND'), bind_role('moh_app', 'MOH');
GRANT SELECT ON citizen TO mnd_app, moh_app;
});

# a comment of n pseudo-random hex digits: nothing to compress
sub comment
{
	my ($n, $seed) = @_;
	srand($seed);
	return '/* ' . join('', map { sprintf('%x', int(rand(16))) } 1 .. $n) . ' */';
}

# One statement with a 64 kB comment keeps 4096 bytes of text by default.
my $long = comment(65536, 1);
$node->psql('postgres', "SET search_path = public, govshare; SELECT begin_request('military_service');"
	  . " SELECT count(*) $long FROM citizen;", extra_params => [ '-U', 'mnd_app' ]);
is(sql('postgres', q{SELECT octet_length(statement_text) FROM govshare.access_log
	WHERE role_name = 'mnd_app' AND kind = 'access' ORDER BY seq DESC LIMIT 1}),
	'4096', 'a record keeps 4096 bytes of a 64 kB statement');
is(sql('postgres', q{SELECT encode(statement_sha256, 'hex') = encode(sha256(convert_to(}
	  . "\$x\$SELECT count(*) $long FROM citizen;\$x\$" . q{, 'UTF8')), 'hex')
	FROM govshare.access_log WHERE role_name = 'mnd_app' AND kind = 'access' ORDER BY seq DESC LIMIT 1}),
	't', 'and the SHA-256 of the whole text');

# Eight sessions, 20 statements each, each with 64 kB of comment, and
# govshare.audit_text_max raised to 64 kB: 10 MB of text offered.
sql('postgres', q{ALTER ROLE mnd_app SET govshare.audit_text_max = 65536;
	ALTER ROLE mnd_app SET govshare.audit_mode = 'async'});
my @sessions;
for my $s (1 .. 8)
{
	my $script = "SET search_path = public, govshare;\nSELECT begin_request('military_service');\n";
	$script .= "SELECT count(*) " . comment(65536, 100 * $s + $_) . " FROM citizen;\n" for 1 .. 20;
	my ($in, $out, $err) = ($script, '', '');
	push @sessions, IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-U', 'mnd_app', '-f', '-' ],
		'<', \$in, '>', \$out, '2>', \$err);
}
$_->finish for @sessions;
# the other agency, in the same minute
$node->psql('postgres', "SET search_path = public, govshare; SELECT begin_request('public_health');"
	  . " SELECT count(*) /* health check */ FROM citizen;", extra_params => [ '-U', 'moh_app' ]);
sql('postgres', 'SELECT govshare.audit_flush()');

my ($records, $kept, $noted) = split /\|/, sql('postgres', q{
	SELECT count(*), coalesce(sum(octet_length(statement_text))
	         FILTER (WHERE statement_text NOT LIKE '(statement text not kept%'), 0),
	       count(*) FILTER (WHERE statement_text LIKE '(statement text not kept%')
	  FROM govshare.access_log WHERE role_name = 'mnd_app' AND kind = 'access'});
ok($records >= 160, "every statement is recorded ($records records)");
ok($kept <= 2 * 256 * 1024 + 4096,
	"the text they keep stays within the budget of the minutes they span ($kept bytes)");
ok($noted > 0, "past the budget, records keep a note ($noted records)");
is(sql('postgres', q{SELECT count(*) FROM govshare.access_log
	WHERE role_name = 'mnd_app' AND kind = 'access' AND statement_sha256 IS NULL}),
	'0', 'each of them keeps the SHA-256');
like(sql('postgres', q{SELECT statement_text FROM govshare.access_log
	WHERE role_name = 'moh_app' AND kind IN ('access') ORDER BY seq DESC LIMIT 1}),
	qr/health check/, "another agency's record keeps its text in the same minute");
is(sql('postgres', 'SELECT (govshare.verify_log()).ok'), 't', 'the chain verifies');

done_testing();
