# test/t/024_pseudonym_index.pl — lookups by pseudonym use the index (issue 16).
#
# A column disclosed as a pseudonym for every row compares pseudonyms.  The
# pseudonym of a national value is FF1 of its encoding under the agency's
# key (src/enforce/pseudonym.c), so the enforcement adds to "col = x" the
# bounds of the raw column x deciphers (src/enforce/implied.c):
#
#  - plans: "=" with a constant, a parameter of a generic plan, an IN list,
#    "= ANY" of a generic plan's array and a join to the consumer's own table of pseudonyms use the index, on
#    a plain table and on one partitioned by another column (each
#    partition's index, no partition pruned); on a table partitioned by
#    the column no partition is pruned by the deciphered value (EXPLAIN
#    would show it), constants reaching it through subqueries included:
#    every partition's index is probed;
#  - answers: every form returns exactly the rows whose pseudonym is
#    compared, taken from a read of the whole table without predicate, for
#    pseudonyms of visible rows (in any letter case), of rows the filter
#    hides, of another agency, of a raw value stored in a disclosure form,
#    full values, masked forms, pseudonyms of no row and NULL, with index
#    scans enabled and disabled;
#  - a one-row lookup notes one data subject;
#  - pseudonym_eq and the bounds cannot be called from SQL, by the
#    consumer's login or a superuser;
#  - nested outer joins by pseudonym answer as by text.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../perl";
use GovshareAudit;

my $node = PostgreSQL::Test::Cluster->new('pseudonym_index');
$node->init;
my $key = $node->data_dir . '/pseudonym.key';
open(my $fh, '>', $key) or die "cannot write $key: $!";
print $fh "a secret of thirty-two bytes or more for the test\n";
close($fh);
chmod(0600, $key);
$node->append_conf('postgresql.conf', join("\n",
	"shared_preload_libraries = 'govshare'",
	"govshare.pseudonym_key_file = '$key'",
	"govshare.audit_mode = 'strict'",
	"govshare.audit_timeout = '60s'") . "\n");
$node->start;

# 6,000 citizens; one more row whose raw id is stored masked (its
# pseudonym is keyed by the HMAC, not FF1).  pcitizen is partitioned by
# personal_id, rcitizen by residence.
$node->safe_psql('postgres', q{
CREATE EXTENSION govshare;
SET search_path = public, govshare;
CREATE TABLE citizen (personal_id personal_id NOT NULL, full_name text NOT NULL,
                      residence admin_unit NOT NULL, phone phone_number);
INSERT INTO citizen } . citizens_sql(6000) . q{;
INSERT INTO citizen VALUES ('079*******45', 'Citizen stored masked', '2025:79', NULL);
ALTER TABLE citizen ADD PRIMARY KEY (personal_id);
CREATE INDEX ON citizen (phone);
CREATE TABLE pcitizen (LIKE citizen) PARTITION BY RANGE (personal_id);
CREATE TABLE pcitizen_001 PARTITION OF pcitizen FOR VALUES FROM ('001000000000') TO ('002000000000');
CREATE TABLE pcitizen_048 PARTITION OF pcitizen FOR VALUES FROM ('048000000000') TO ('049000000000');
CREATE TABLE pcitizen_079 PARTITION OF pcitizen FOR VALUES FROM ('079000000000') TO (MAXVALUE);
ALTER TABLE pcitizen ADD PRIMARY KEY (personal_id);
CREATE TABLE rcitizen (LIKE citizen) PARTITION BY LIST (residence);
CREATE TABLE rcitizen_01 PARTITION OF rcitizen FOR VALUES IN ('2025:01');
CREATE TABLE rcitizen_79 PARTITION OF rcitizen FOR VALUES IN ('2025:79');
CREATE INDEX ON rcitizen (personal_id);
INSERT INTO pcitizen SELECT * FROM citizen;
INSERT INTO rcitizen SELECT * FROM citizen;
-- household: one member 1,000 times, 1,000 others once (statistics with
-- a most common value)
CREATE TABLE household (member personal_id NOT NULL);
INSERT INTO household SELECT c.personal_id FROM citizen c CROSS JOIN generate_series(1, 1000)
  WHERE c.full_name = 'Citizen 3';
INSERT INTO household SELECT personal_id FROM citizen
  WHERE full_name ~ '^Citizen \d+$' AND full_name <> 'Citizen 3' LIMIT 1000;
CREATE INDEX ON household (member);
ANALYZE household;
ANALYZE citizen;
ANALYZE pcitizen;
ANALYZE rcitizen;
SELECT add_agency('MPS', 'Ministry of Public Security', is_self => true),
       add_agency('MND', 'Ministry of National Defence'),
       add_agency('MOH', 'Ministry of Health'),
       add_purpose('all', 'Every citizen', 'Test law'),
       add_purpose('some', 'Residents of 79', 'Test law');
CREATE ROLE mnd_app LOGIN;
CREATE ROLE moh_app LOGIN;
SELECT bind_role('mnd_app', 'MND'), bind_role('moh_app', 'MOH');
SELECT classify(t, 'personal_id', 'person.personal_id'), classify(t, 'full_name', 'person.full_name'),
       classify(t, 'residence', 'person.permanent_residence_unit'), classify(t, 'phone', 'person.phone'),
       govern(t)
  FROM unnest(ARRAY['citizen', 'pcitizen', 'rcitizen']::regclass[]) AS t;
SELECT classify('household', 'member', 'person.personal_id'), govern('household');
SELECT share(a, '{all}', '{person.personal_id, person.phone}', 'pseudonym') FROM unnest(ARRAY['MND', 'MOH']) AS a;
SELECT share(a, '{all}', '{person.full_name, person.permanent_residence_unit}', 'full') FROM unnest(ARRAY['MND', 'MOH']) AS a;
SELECT share('MND', '{some}', '{person.personal_id, person.phone}', 'pseudonym', relation => t,
             row_filter => 'admin_unit_province_code(residence) = ''79''')
  FROM unnest(ARRAY['citizen', 'pcitizen', 'rcitizen']::regclass[]) AS t;
SELECT share('MND', '{some}', '{person.full_name, person.permanent_residence_unit}', 'full', relation => t,
             row_filter => 'admin_unit_province_code(residence) = ''79''')
  FROM unnest(ARRAY['citizen', 'pcitizen', 'rcitizen']::regclass[]) AS t;
GRANT USAGE, CREATE ON SCHEMA public TO mnd_app;
ALTER DATABASE postgres SET search_path = public, govshare;
});

# runs SQL as a consumer's own login within a request context
sub consumer
{
	my ($sql, $purpose, $role) = @_;
	$purpose //= 'all';
	$role //= 'mnd_app';
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT govshare.begin_request('$purpose') \\g /dev/null\n$sql",
		extra_params => [ '-U', $role ]);
	diag($stderr) if $ret != 0;
	return $stdout;
}

# the disclosed rows, read whole without predicate: name => pseudonyms
my %id_of;
my %phone_of;
for (split /\n/, consumer('SELECT full_name, personal_id, coalesce(phone::text, \'\') FROM citizen'))
{
	my ($name, $id, $phone) = split /\|/;
	$id_of{$name} = $id;
	$phone_of{$name} = $phone;
}
is(scalar(keys %id_of), 6001, 'the consumer reads every row');
is(scalar(grep { /^~[0-9A-Z]{12}$/ } values %id_of), 6001, '... each id a pseudonym');
my %name_of = reverse %id_of;
is(scalar(keys %name_of), 6001, '... all distinct');
my $visible = $id_of{'Citizen 3'};		# resides in 79
my $hidden = $id_of{'Citizen 1'};		# resides in 01: hidden under purpose "some"
my $stored_masked = $id_of{'Citizen stored masked'};
my $moh = (split /\|/, (grep { /^Citizen 3\|/ } split /\n/,
	consumer('SELECT full_name, personal_id FROM citizen', 'all', 'moh_app'))[0])[1];
isnt($moh, $visible, "another agency's pseudonym of the same row differs");
my $real = $node->safe_psql('postgres', "SELECT personal_id FROM citizen WHERE full_name = 'Citizen 3'");
my $masked = $node->safe_psql('postgres', "SELECT govshare.mask(personal_id) FROM citizen WHERE full_name = 'Citizen 3'");
my $none = '~' . ('0' x 12);
$none = '~' . ('1' x 12) if exists $name_of{$none};
my @probes = ($visible, lc($visible), $id_of{'Citizen 4000'}, $hidden, $stored_masked, $moh, $real,
	$masked, $none, 'NULL');
sub lit { my ($v) = @_; return $v eq 'NULL' ? 'NULL' : "'$v'"; }

# the expected answer: the names of the rows (visible under the purpose)
# whose pseudonym is one of the values
sub expected
{
	my ($purpose, @values) = @_;
	my %want = map { uc($_) => 1 } grep { $_ ne 'NULL' } @values;
	my @names = grep { $want{ $id_of{$_} } } keys %id_of;
	@names = grep { /^Citizen (\d+)$/ ? $1 % 3 == 0 : 1 } @names if $purpose eq 'some';
	return join(',', sort @names);
}

my $agg = "coalesce(string_agg(full_name, ',' ORDER BY full_name), '')";
for my $table ('citizen', 'pcitizen', 'rcitizen')
{
	for my $purpose ('all', 'some')
	{
		for my $mode ('index', 'noindex')
		{
			my $set = $mode eq 'index' ? ''
			  : "SET enable_indexscan = off; SET enable_bitmapscan = off;\n";
			my $what = "$table, $purpose, $mode";

			# "=" with constants
			my @sql = map { "SELECT $agg FROM $table WHERE personal_id = " . lit($_) . ";" } @probes;
			my @got = split /\n/, consumer($set . join("\n", @sql), $purpose), -1;
			for my $i (0 .. $#probes)
			{
				is($got[$i] // '<none>', expected($purpose, $probes[$i]), "$what: = $probes[$i]");
			}

			# an IN list: with the pseudonym of a raw value stored in a
			# disclosure form (an HMAC one), the bounds of each value; without
			# it, one scan of the values the list names (pseudonym_any)
			my $list = join(', ', map { lit($_) } @probes);
			is(consumer($set . "SELECT $agg FROM $table WHERE personal_id IN ($list)", $purpose),
				expected($purpose, @probes), "$what: IN list");
			my @named = grep { $_ ne $stored_masked } @probes;
			$list = join(', ', map { lit($_) } @named);
			is(consumer($set . "SELECT $agg FROM $table WHERE personal_id IN ($list)", $purpose),
				expected($purpose, @named), "$what: IN list of pseudonyms that name values");
			my $array = join(',', map { $_ eq 'NULL' ? 'NULL' : "\"$_\"" } @named);
			is(consumer($set . "SELECT $agg FROM $table WHERE personal_id = ANY ('{$array}')", $purpose),
				expected($purpose, @named), "$what: = ANY of an array constant");

			# a generic plan's parameter
			@sql = ("SET plan_cache_mode = force_generic_plan;",
				"PREPARE p(personal_id) AS SELECT $agg FROM $table WHERE personal_id = \$1;",
				map { "EXECUTE p(" . lit($_) . ");" } @probes);
			@got = split /\n/, consumer($set . join("\n", @sql), $purpose), -1;
			for my $i (0 .. $#probes)
			{
				is($got[$i] // '<none>', expected($purpose, $probes[$i]), "$what: generic = \$1, $probes[$i]");
			}

			# a generic plan's array parameter, with and without an HMAC
			# pseudonym: pseudonym_any of the parameter, ORed with the bounds
			# of the HMAC pseudonym it holds, if any
			my $all = join(',', map { $_ eq 'NULL' ? 'NULL' : "\"$_\"" } @probes);
			@sql = ("SET plan_cache_mode = force_generic_plan;",
				"PREPARE pa(personal_id[]) AS SELECT $agg FROM $table WHERE personal_id = ANY (\$1);",
				"EXECUTE pa('{$array}');", "EXECUTE pa('{$all}');", "EXECUTE pa('{}');");
			@got = split /\n/, consumer($set . join("\n", @sql), $purpose), -1;
			is($got[0] // '<none>', expected($purpose, @named), "$what: generic = ANY(\$1) of pseudonyms that name values");
			is($got[1] // '<none>', expected($purpose, @probes), "$what: generic = ANY(\$1) with an HMAC pseudonym");
			is($got[2] // '<none>', '', "$what: generic = ANY(\$1) of an empty array");

			# a phone number, by its own pseudonym
			my $phone = $phone_of{'Citizen 3'};
			is(consumer($set . "SELECT $agg FROM $table WHERE phone = '$phone'", $purpose),
				'Citizen 3', "$what: = a phone number's pseudonym");
		}
	}

	# plans
	my $plan = consumer("EXPLAIN (COSTS OFF) SELECT full_name FROM $table WHERE personal_id = '$visible'");
	my $generic = consumer("SET plan_cache_mode = force_generic_plan;
PREPARE p(personal_id) AS SELECT full_name FROM $table WHERE personal_id = \$1;
EXPLAIN (COSTS OFF) EXECUTE p('$visible')");
	my $in = consumer("EXPLAIN (COSTS OFF) SELECT full_name FROM $table WHERE personal_id IN ('$visible', '$hidden')");
	my $in_hmac = consumer("EXPLAIN (COSTS OFF) SELECT full_name FROM $table WHERE personal_id IN ('$visible', '$stored_masked')");
	my $generic_any = consumer("SET plan_cache_mode = force_generic_plan;
PREPARE pa(personal_id[]) AS SELECT full_name FROM $table WHERE personal_id = ANY (\$1);
EXPLAIN (COSTS OFF) EXECUTE pa('{$visible,$hidden}')");
	note("$table:\n$plan\n$generic\n$in\n$in_hmac\n$generic_any");
	like($generic_any, qr/Bitmap Index Scan .*\n.*Index Cond: \(personal_id = ANY \(pseudonym_values\(\$1, 'MND'::text\)\)\)/,
		"$table: generic = ANY(\$1): one index scan of the values the parameter names");
	like($generic_any, qr/Bitmap Index Scan .*\n.*Index Cond: \(\(personal_id >= pseudonym_lower\(pseudonym_hmac_pick\(\$1\), 'MND'::text\)\)/,
		"$table: ... ORed with the bounds of an HMAC pseudonym it may hold");
	like($in_hmac, qr/Index Cond: \(personal_id = ANY \(pseudonym_values\('\{$visible\}'::personal_id\[\], 'MND'::text\)\)\)/,
		"$table: an IN list with an HMAC pseudonym: one scan of the values the others name");
	unlike($generic_any, qr/Seq Scan|Subplans Removed|0[0-9]{11}/, "$table: generic = ANY(\$1): no sequential scan, nothing pruned or printed");
	for ([ $plan, '= constant' ], [ $generic, 'generic = $1' ], [ $in, 'IN list' ],
		[ $in_hmac, 'IN list with an HMAC pseudonym' ])
	{
		# an IN list of pseudonyms that name values is one scan of "= ANY"
		# of what they decipher to, computed when the scan starts (planning
		# would fail if an estimate computed it: it is refused in a call
		# the planner makes)
		my $cond = $_->[1] eq 'IN list'
		  ? qr/Index Cond: \(personal_id = ANY \(pseudonym_values\('\{[^}]*\}'::personal_id\[\], 'MND'::text\)\)\)/
		  : qr/Index Cond: \(\(personal_id >= pseudonym_lower\(/;
		like($_->[0], qr/(Index (Only )?Scan|Bitmap Index Scan) .*\n.*$cond/,
			"$table: $_->[1]: an index scan bounded by the pseudonym");
		unlike($_->[0], qr/Seq Scan|Subplans Removed/, "$table: $_->[1]: no sequential scan, nothing pruned");
		unlike($_->[0], qr/0[0-9]{11}/, "$table: $_->[1]: no identity number in the plan");
		# on the partition key: planned without pruning, every partition's index probed
		my %parts = map { $_ => 1 } ($_->[0] =~ /Scan .*on (pcitizen_0\d\d)/g);
		is(scalar(keys %parts), 3,
			"$table: $_->[1]: every partition probed, none pruned by the deciphered value")
		  if $table eq 'pcitizen';
	}
	if ($table eq 'pcitizen')
	{
		# a constant reaching the bounds through a subquery, a CTE or VALUES
		# pulled up: still no partition pruned
		for my $q ("SELECT full_name FROM pcitizen c, (SELECT '$visible'::personal_id AS p) s WHERE c.personal_id = s.p",
			"WITH s AS NOT MATERIALIZED (SELECT '$visible'::personal_id AS p) SELECT full_name FROM pcitizen c, s WHERE c.personal_id = s.p",
			"SELECT full_name FROM pcitizen c, (VALUES ('$visible'::personal_id)) s(p) WHERE c.personal_id = s.p")
		{
			my $p = consumer("EXPLAIN (COSTS OFF) $q");
			my %parts = map { $_ => 1 } ($p =~ /Scan .*on (pcitizen_0\d\d)/g);
			ok(scalar(keys %parts) == 3 && $p !~ /Subplans Removed/,
				"$table: a pseudonym from a constant subquery prunes nothing") or diag($p);
			is(consumer($q), 'Citizen 3', '... and finds its row');
		}
		# the owner's constant prunes to one partition
		my $owner = $node->safe_psql('postgres',
			"EXPLAIN (COSTS OFF) SELECT full_name FROM pcitizen WHERE personal_id = '$real'");
		is(scalar(() = $owner =~ /on pcitizen_0\d\d/g), 1, "$table: the owner's lookup still prunes");
		is(consumer("SHOW enable_partition_pruning"), 'on', "$table: the consumer's setting is left as it was");
	}
	my $some = consumer("EXPLAIN (COSTS OFF) SELECT full_name FROM $table WHERE personal_id = '$visible'", 'some');
	note($some);
	like($some, qr/Index Cond: \(\(personal_id >= pseudonym_lower\(/,
		"$table: under a rule with a row filter too");
	like($plan, qr/pseudonym_lower\('$visible'::personal_id, 'MND'::text\)/,
		"$table: the bound is computed at execution from the consumer's value");
	$plan = consumer("EXPLAIN (COSTS OFF) SELECT full_name FROM $table WHERE phone = '$phone_of{'Citizen 3'}'");
	like($plan, qr/Index Cond: \(\(phone >= pseudonym_lower\(/, "$table: a phone number's index too")
	  if $table eq 'citizen';
}

# The estimate of an IN list does not depend on what it deciphers to.
# A consumer may not EXPLAIN with costs, but the plan's shape follows the
# estimates: on household, the owner's plan for its most common member
# (1,000 rows) differs from its plan for members of no row, while the
# consumer's plans for that member's pseudonym and for pseudonyms of no
# row are the same.
{
	my @owner = map {
		$node->safe_psql('postgres', "EXPLAIN (COSTS OFF) SELECT 1 FROM household WHERE member IN ($_)")
	} ("'$real', '001000000000'", "'001000000000', '001000000001'");
	s/'\{[^}]*\}'|'\d{12}'//g for @owner;
	isnt($owner[0], $owner[1], "household: the owner's plan follows the estimate of its common member")
	  or diag(join("\n", @owner));
	my $none2 = '~' . ('2' x 12);
	$none2 = '~' . ('3' x 12) if exists $name_of{$none2};
	my @plans = map {
		my $p = consumer("EXPLAIN (COSTS OFF) SELECT 1 FROM household WHERE member IN ($_)");
		like($p, qr/Index Cond: \(member = ANY \(pseudonym_values\(/, "household: IN ($_): one scan of the values named")
		  or diag($p);
		$p =~ s/'\{[^}]*\}'//g;
		$p
	} ("'$visible', '$id_of{'Citizen 4000'}'", "'$none', '$none2'");
	is($plans[0], $plans[1],
		"household: the consumer's plan is the same for the common member's pseudonym and for none");
	is(consumer("SELECT count(*) FROM household WHERE member IN ('$visible', '$none')"), '1000',
		'household: ... and the lookup finds the member\'s rows');
}

# A consumer's own call of pseudonym_eq or pseudonym_any over an indexed
# table of its own gets no index condition: the support function offers
# its marked (deciphering) conditions to the enforcement's calls only.
# Were it offered, the scan would decipher the pseudonym, a false filter
# placed first would keep the consumer's call from running, and EXPLAIN
# ANALYZE's "Rows Removed" would tell which candidates equal the value.
consumer("CREATE TABLE guesses (v personal_id, hit boolean);
INSERT INTO guesses SELECT personal_id, false FROM citizen WHERE full_name <> 'Citizen stored masked';
CREATE INDEX ON guesses (v);
ANALYZE guesses;");
is(consumer("SELECT count(*) FROM guesses"), '6000', "the consumer's own table of candidate values");
for my $call ("pseudonym_eq(v, '$visible'::personal_id, 'MND')",
	"pseudonym_any(v, ARRAY['$visible', '$hidden']::personal_id[], 'MND')")
{
	my $sql = "SET enable_seqscan = off; SET enable_bitmapscan = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT 1 FROM guesses WHERE hit AND govshare.$call";
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT govshare.begin_request('all') \\g /dev/null\n$sql", extra_params => [ '-U', 'mnd_app' ]);
	note($stdout, $stderr);
	is($ret, 0, "a consumer's own $call over its indexed table: EXPLAIN ANALYZE runs") or diag($stderr);
	like($stdout, qr/Filter: \(?hit/, '... its false filter first');
	unlike($stdout, qr/Index Cond:.*pseudonym_(lower|upper|values)/,
		"a consumer's own $call over its indexed table: no deciphering index condition");
	like($stdout, qr/Rows Removed by Filter: 6000\b/, '... which reads every candidate alike, telling nothing');
}

# a join from the consumer's own table of pseudonyms
consumer("CREATE TABLE mine (id personal_id);
INSERT INTO mine SELECT personal_id FROM citizen WHERE full_name IN ('Citizen 3', 'Citizen 6', 'Citizen 1', 'Citizen stored masked');
INSERT INTO mine VALUES ('$moh'), ('$none'), ('$real'), ('$masked'), (NULL);
ANALYZE mine;");
for my $table ('citizen', 'pcitizen', 'rcitizen')
{
	for my $purpose ('all', 'some')
	{
		for my $mode ('index', 'noindex')
		{
			my $set = $mode eq 'index' ? ''
			  : "SET enable_indexscan = off; SET enable_bitmapscan = off;\n";
			is(consumer($set . "SELECT $agg FROM mine JOIN $table c ON c.personal_id = mine.id", $purpose),
				expected($purpose, @id_of{ 'Citizen 3', 'Citizen 6', 'Citizen 1', 'Citizen stored masked' }),
				"$table, $purpose, $mode: join to the consumer's pseudonyms");
		}
	}
	my $plan = consumer("SET enable_hashjoin = off; SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT full_name FROM mine JOIN $table c ON c.personal_id = mine.id");
	note($plan);
	like($plan, qr/Nested Loop.*Index Cond: \(\(personal_id >= pseudonym_lower\(mine\.id, 'MND'::text\)\)/s,
		"$table: the join probes the index per pseudonym");
}

# outer joins: the condition on the raw column is nulled like the
# consumer's column (PostgreSQL 16 checks the marks)
for my $table ('citizen', 'pcitizen', 'rcitizen')
{
	my $join = "SELECT count(*), count(m.id), count(c.full_name) FROM mine m0 LEFT JOIN $table c ON c.personal_id = m0.id
	  LEFT JOIN mine m ON m.id = c.personal_id";
	my $text = "SELECT count(*), count(m.id), count(c.full_name) FROM mine m0 LEFT JOIN $table c ON c.personal_id::text = m0.id::text
	  LEFT JOIN mine m ON m.id::text = c.personal_id::text";
	my $want = consumer($text);
	like($want, qr/^9\|\d+\|\d+$/, "$table: nested outer joins compared as text");
	is(consumer($join), $want, "$table: nested outer joins by pseudonym, the same answer");
}

# data subjects are the rows examined
my $before = $node->safe_psql('postgres', 'SELECT max(seq) FROM govshare.access_log');
is(consumer("SELECT full_name FROM citizen WHERE personal_id = '$visible'"), 'Citizen 3',
	'a lookup by pseudonym');
ok($node->poll_query_until('postgres', 'SELECT coalesce(sum(queued), 0) = 0 FROM govshare.audit_status()'),
	'the audit queue drains');
is($node->safe_psql('postgres', "SELECT r.subject_count FROM govshare.access_log a
	JOIN govshare.access_log r ON r.statement_id = a.statement_id AND r.subject_count IS NOT NULL
	WHERE a.seq > $before AND a.kind = 'access' AND a.statement_text LIKE '%FROM citizen WHERE personal_id%'"),
	'1', '... notes one data subject');

# the bounds decipher: nobody calls them from SQL
for my $role ('mnd_app', 'postgres')
{
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT govshare.begin_request('all') WHERE current_user = 'mnd_app';
SELECT govshare.pseudonym_lower('$visible'::govshare.personal_id, 'MND');",
		extra_params => [ '-U', $role ]);
	isnt($ret, 0, "$role: pseudonym_lower() from SQL fails");
	like($stderr, qr/pseudonym_lower\(\) cannot be called directly/, '... saying so');
	unlike($stdout, qr/\d{12}/, '... and returns nothing');
	# pseudonym_eq of a guessed value would be a dictionary's oracle
	($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT govshare.begin_request('all') WHERE current_user = 'mnd_app';
SELECT govshare.pseudonym_eq('$real'::govshare.personal_id, '$visible'::govshare.personal_id, 'MND');",
		extra_params => [ '-U', $role ]);
	like($stderr, qr/pseudonym_eq\(\) cannot be called directly/, "$role: pseudonym_eq() from SQL fails");
	unlike($stdout, qr/^[tf]$/m, '... and answers nothing');
	# nor their array forms
	($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT govshare.begin_request('all') WHERE current_user = 'mnd_app';
SELECT govshare.pseudonym_values(ARRAY['$visible', '$hidden']::govshare.personal_id[], 'MND');",
		extra_params => [ '-U', $role ]);
	like($stderr, qr/pseudonym_values\(\) cannot be called directly/, "$role: pseudonym_values() from SQL fails");
	unlike($stdout, qr/\d{12}/, '... and returns nothing');
	($ret, $stdout, $stderr) = $node->psql('postgres',
		"SELECT govshare.begin_request('all') WHERE current_user = 'mnd_app';
SELECT govshare.pseudonym_any('$real'::govshare.personal_id, ARRAY['$visible', '$hidden']::govshare.personal_id[], 'MND');",
		extra_params => [ '-U', $role ]);
	like($stderr, qr/pseudonym_any\(\) cannot be called directly/, "$role: pseudonym_any() from SQL fails");
	unlike($stdout, qr/^[tf]$/m, '... and answers nothing');
}
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"SELECT govshare.begin_request('all') \\g /dev/null
SELECT 1 FROM citizen WHERE personal_id >= govshare.pseudonym_upper('$visible'::govshare.personal_id, 'MND');",
	extra_params => [ '-U', 'mnd_app' ]);
like($stderr, qr/cannot be called directly/, 'nor inside a query over the governed table');

# "= ANY" on the second column of an index: before PostgreSQL 17 its rows
# come by array element, so no such condition is offered there, and an
# order by the first column stays right
{
	my @pair = sort { $a cmp $b } ('Citizen 3', 'Citizen 6', 'Citizen 9', 'Citizen 12', 'Citizen 15');
	$node->safe_psql('postgres', 'CREATE INDEX citizen_name_id ON citizen (full_name, personal_id)');
	my $list = join(', ', map { "'$id_of{$_}'" } @pair);
	my $q = "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off;
SELECT string_agg(full_name, ',') FROM (SELECT full_name FROM citizen WHERE personal_id IN ($list) ORDER BY full_name) s";
	is(consumer($q), join(',', @pair), 'an IN list of pseudonyms ordered by another index column: in order');
	$node->safe_psql('postgres', 'DROP INDEX citizen_name_id');
}

# the same pseudonyms after a restart, and the index still finds them
$node->restart;
is(consumer("SELECT personal_id FROM citizen WHERE full_name = 'Citizen 3'"), $visible,
	'the same pseudonym after a restart');
is(consumer("SELECT full_name FROM citizen WHERE personal_id = '$visible'"), 'Citizen 3',
	'... found by it');

$node->stop;
done_testing();
