/*-------------------------------------------------------------------------
 *
 * govshare_verify.c
 *	  govshare-verify: verifies govshare.access_log from outside the
 *	  server, against the agency's public keys and saved checkpoints.
 *
 *	govshare-verify --dbname=CONNSTR [--public-key PEM ...]
 *		[--checkpoint FILE ...] [--save-checkpoint FILE] [--audit-key FILE ...]
 *		[--progress | --no-progress] [--quiet]
 *	govshare-verify --dbname=CONNSTR --follow [--from-seq N | --position-file FILE]
 *		[--output FILE] [--interval SECONDS] [--until-end] [--audit-key FILE ...]
 *
 * The checkpoints given are verified first (their signatures need no
 * database), then the whole log in one snapshot, then what the checkpoints
 * say the log holds; with --save-checkpoint, the server signs a new
 * checkpoint, which is verified against the chain just verified before it
 * is written.  docs/verify.md is the manual.  Exit status: 0 verified, 1
 * the log or a checkpoint does not verify, 2 the verification could not
 * be done.
 *
 * tools/govshare_verify.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "govshare_verify.h"

/* a checkpoint is a few hundred bytes; this bounds what is read */
#define CHECKPOINT_MAX_SIZE (1024 * 1024)

static const char *progname = "govshare-verify";

/* the progress line is on the terminal: end it before anything else */
static bool progress_shown = false;
static bool progress_on = false;
static struct timespec started;
static struct timespec progress_last;

/* A checkpoint given with --checkpoint, and what it signed. */
typedef struct GivenCheckpoint
{
	const char *path;
	Checkpoint	cp;
} GivenCheckpoint;

static double
seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) + (now.tv_nsec - t->tv_nsec) / 1e9;
}

static void
progress_end(void)
{
	if (progress_shown)
		fprintf(stderr, "\r%60s\r", "");
	progress_shown = false;
}

/* Prints the error and exits with status 2. */
void
verify_fatal(const char *fmt,...)
{
	va_list		ap;

	progress_end();
	fflush(stdout);
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(VERIFY_EXIT_ERROR);
}

void *
verify_malloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
		verify_fatal("out of memory");
	return p;
}

char *
verify_strdup(const char *s)
{
	size_t		n = strlen(s) + 1;

	return memcpy(verify_malloc(n), s, n);
}

/* n bytes as 2n lowercase hex digits and a NUL, into out. */
void
verify_hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * "\r... records verified (rate/s)": at the first call, then at most every
 * half second.
 */
static void
progress(int64_t rows)
{
	double		since_start;

	if (!progress_on || seconds_since(&progress_last) < 0.5)
		return;
	clock_gettime(CLOCK_MONOTONIC, &progress_last);
	since_start = seconds_since(&started);
	fprintf(stderr, "\r%s: %lld records verified (%.0f/s)   ", progname, (long long) rows,
			since_start > 0 ? rows / since_start : 0.0);
	progress_shown = true;
}

static void
usage(void)
{
	printf("%s verifies govshare's access log offline: the hash chain of every row,\n"
		   "signed checkpoints, and a new checkpoint saved for next time.\n\n"
		   "Usage:\n"
		   "  %s --dbname=CONNSTR [OPTION]...\n"
		   "  %s --archive=FILE... --public-key=FILE [--dbname=CONNSTR] [OPTION]...\n"
		   "  %s --dbname=CONNSTR --follow [--position-file=FILE] [OPTION]...\n\n"
		   "Options:\n"
		   "  -d, --dbname=CONNSTR        the database (a name, a connection string or a URI)\n"
		   "  -k, --public-key=FILE       an Ed25519 public key (PEM) of the agency; repeatable\n"
		   "  -c, --checkpoint=FILE       a checkpoint saved before: the log must still hold it; repeatable\n"
		   "  -s, --save-checkpoint=FILE  after verifying, have the server sign a checkpoint, verify it, save it\n"
		   "  -a, --audit-key=FILE        the HMAC key of a keyed chain (govshare.audit_key_file); repeatable\n"
		   "      --archive=FILE          an archive of the log (govshare.archive_log), oldest first; the next\n"
		   "                              archive, then the log (with --dbname), must continue it; repeatable\n"
		   "      --progress              show progress on stderr (default: when it is a terminal)\n"
		   "      --no-progress           never show progress\n"
		   "  -q, --quiet                 print nothing when the log verifies\n"
		   "      --dump-canonical        print each row's canonical encoding in hex (for tests)\n"
		   "  -f, --follow                stream the log as verified JSON Lines (docs/verify.md)\n"
		   "      --from-seq=SEQ          with --follow: the first record to write (default 1)\n"
		   "  -p, --position-file=FILE    with --follow: resume from, and save, the last record written\n"
		   "  -o, --output=FILE           with --follow: append the records to FILE (default stdout)\n"
		   "      --interval=SECONDS      with --follow: how often to look for new records (default 1)\n"
		   "      --until-end             with --follow: exit at the end of the log\n"
		   "  -V, --version               print the version and exit\n"
		   "  -?, --help                  print this help and exit\n\n"
		   "Exit status: 0 verified, 1 the log or a checkpoint does not verify, 2 an error.\n"
		   "See docs/verify.md.\n", progname, progname, progname, progname);
}

/* The whole of a small file, malloc'd and NUL-terminated; errors are fatal. */
static char *
read_small_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	size_t		n;

	if (f == NULL)
		verify_fatal("could not open the checkpoint file \"%s\": %m", path);
	buf = verify_malloc(CHECKPOINT_MAX_SIZE + 1);
	n = fread(buf, 1, CHECKPOINT_MAX_SIZE + 1, f);
	if (ferror(f))
		verify_fatal("could not read the checkpoint file \"%s\": %m", path);
	fclose(f);
	if (n > CHECKPOINT_MAX_SIZE)
		verify_fatal("the checkpoint file \"%s\" is larger than %d bytes: it is not a checkpoint",
					 path, CHECKPOINT_MAX_SIZE);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Writes doc to path through a temporary file renamed over it. */
static void
write_checkpoint(const char *path, const char *doc)
{
	size_t		plen = strlen(path);
	char	   *tmp = verify_malloc(plen + 32);
	size_t		len = strlen(doc);
	int			fd;

	snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long) getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0)
		verify_fatal("could not create \"%s\": %m", tmp);
	if (write(fd, doc, len) != (ssize_t) len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
	{
		int			save = errno;

		close(fd);
		unlink(tmp);
		errno = save;
		verify_fatal("could not write \"%s\": %m", tmp);
	}
	if (close(fd) != 0 || rename(tmp, path) != 0)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		verify_fatal("could not write the checkpoint to \"%s\": %m", path);
	}
	free(tmp);
}

/* The verdict line of a failure; returns the exit status. */
static int
report_failure(Chain *c)
{
	progress_end();
	printf("%s: FAILED at seq %lld: %s\n", progname, (long long) c->bad_seq, c->problem);
	return VERIFY_EXIT_FAILED;
}

/*
 * What checkpoint cp says of the log just verified: that it reaches
 * cp->seq and that the row there has cp->hash.  False, with the problem
 * recorded in c, when it does not.
 */
static bool
check_against(Chain *c, const Checkpoint *cp, const char *what)
{
	int64_t		last = c->expect - 1;
	char		hex[2 * VERIFY_HASH_LEN + 1];

	if (cp->seq > last)
	{
		chain_fail(c, last + 1, "The log ends at seq %lld, but %s covers seq %lld: rows were removed from its end.",
				   (long long) last, what, (long long) cp->seq);
		return false;
	}
	if (cp->seq == 0)
		return true;
	hex[0] = '\0';
	if (cp->seq == last)
		verify_hex(c->prev, VERIFY_HASH_LEN, hex);
	else
		for (int i = 0; i < c->nwants; i++)
			if (c->wants[i].seq == cp->seq && c->wants[i].found)
				verify_hex(c->wants[i].hash, VERIFY_HASH_LEN, hex);
	if (strcmp(hex, cp->hash) == 0)
		return true;
	chain_fail(c, cp->seq, "Seq %lld does not have the hash %s signed: the log before it was rewritten.",
			   (long long) cp->seq, what);
	return false;
}

static void
add_want(Chain *c, int64_t seq)
{
	if (seq <= 0)
		return;
	for (int i = 0; i < c->nwants; i++)
		if (c->wants[i].seq == seq)
			return;
	c->wants[c->nwants].seq = seq;
	c->wants[c->nwants].found = false;
	c->nwants++;
}

/*
 * --save-checkpoint: the server signs the log as it is now; the
 * signature must verify, the rows appended since the scan are verified up
 * to the checkpoint's seq, and the checkpoint must name the chain's hash
 * there.  Then it is written to path.  Returns the exit status.
 */
static int
save_checkpoint(PGconn *conn, Chain *c, const char *path, const PublicKey *keys, int nkeys,
				bool quiet)
{
	char	   *doc = scan_checkpoint(conn);
	Checkpoint	cp;
	char		problem[512];
	int64_t		last = c->expect - 1;
	int			status = VERIFY_EXIT_OK;

	if (!checkpoint_verify(doc, strlen(doc), keys, nkeys, &cp, problem, sizeof(problem)))
	{
		progress_end();
		printf("%s: FAILED: the checkpoint the server made: %s\n", progname, problem);
		status = VERIFY_EXIT_FAILED;
	}
	else if (cp.seq < last)
	{
		chain_fail(c, cp.seq + 1, "The server's checkpoint covers seq %lld, but the log was verified up to seq %lld: rows were removed from its end meanwhile.",
				   (long long) cp.seq, (long long) last);
		status = report_failure(c);
	}
	else
	{
		if (cp.seq > last)
		{
			/* rows appended since the scan: verify them up to the checkpoint */
			add_want(c, cp.seq);
			scan_log(conn, c, last, cp.seq, progress);
		}
		if (c->failed || !check_against(c, &cp, "the server's checkpoint"))
			status = report_failure(c);
	}
	if (status == VERIFY_EXIT_OK)
	{
		write_checkpoint(path, doc);
		if (!quiet)
		{
			progress_end();
			printf("%s: saved checkpoint %s: agency %s, database %s, seq %lld, hash %s, time %s, key %s\n",
				   progname, path, cp.agency, cp.database, (long long) cp.seq, cp.hash, cp.time,
				   cp.signer->kid);
		}
	}
	checkpoint_clear(&cp);
	free(doc);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dbname", required_argument, NULL, 'd'},
		{"public-key", required_argument, NULL, 'k'},
		{"checkpoint", required_argument, NULL, 'c'},
		{"save-checkpoint", required_argument, NULL, 's'},
		{"audit-key", required_argument, NULL, 'a'},
		{"progress", no_argument, NULL, 1},
		{"no-progress", no_argument, NULL, 2},
		{"dump-canonical", no_argument, NULL, 3},
		{"archive", required_argument, NULL, 7},
		{"follow", no_argument, NULL, 'f'},
		{"from-seq", required_argument, NULL, 4},
		{"position-file", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"interval", required_argument, NULL, 5},
		{"until-end", no_argument, NULL, 6},
		{"quiet", no_argument, NULL, 'q'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, '?'},
		{NULL, 0, NULL, 0}
	};
	const char *dbname = NULL;
	const char *key_paths[VERIFY_MAX_KEYS];
	int			nkey_paths = 0;
	const char *audit_paths[VERIFY_MAX_KEYS];
	int			naudit = 0;
	GivenCheckpoint given[VERIFY_MAX_KEYS];
	int			ngiven = 0;
	const char *archive_paths[VERIFY_MAX_ARCHIVES];
	ArchiveReport archives[VERIFY_MAX_ARCHIVES];
	int			narchives = 0;
	int64_t		first_seq = 1;
	const char *save_path = NULL;
	int			progress_opt = -1;	/* -1: when stderr is a terminal */
	bool		quiet = false;
	bool		dump = false;
	PublicKey	keys[VERIFY_MAX_KEYS];
	Chain		chain;
	PGconn	   *conn;
	int			status = VERIFY_EXIT_OK;
	int			opt;
	FILE	   *out;
	struct rusage ru;
	double		secs;
	bool		follow = false;
	FollowOptions fopt = {NULL, NULL, 0, 1000, false, false};
	char	   *end;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0))
	{
		usage();
		return VERIFY_EXIT_OK;
	}
	while ((opt = getopt_long(argc, argv, "d:k:c:s:a:fp:o:qV?", long_options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'd':
				dbname = optarg;
				break;
			case 'k':
				if (nkey_paths == VERIFY_MAX_KEYS)
					verify_fatal("at most %d --public-key options", VERIFY_MAX_KEYS);
				key_paths[nkey_paths++] = optarg;
				break;
			case 'c':
				if (ngiven == VERIFY_MAX_KEYS)
					verify_fatal("at most %d --checkpoint options", VERIFY_MAX_KEYS);
				given[ngiven++].path = optarg;
				break;
			case 's':
				save_path = optarg;
				break;
			case 'a':
				if (naudit == VERIFY_MAX_KEYS)
					verify_fatal("at most %d --audit-key options", VERIFY_MAX_KEYS);
				audit_paths[naudit++] = optarg;
				break;
			case 1:
				progress_opt = 1;
				break;
			case 2:
				progress_opt = 0;
				break;
			case 3:
				dump = true;
				break;
			case 7:
				if (narchives == VERIFY_MAX_ARCHIVES)
					verify_fatal("at most %d --archive options", VERIFY_MAX_ARCHIVES);
				archive_paths[narchives++] = optarg;
				break;
			case 'q':
				quiet = true;
				break;
			case 'f':
				follow = true;
				break;
			case 4:
				errno = 0;
				fopt.from_seq = strtoll(optarg, &end, 10);
				if (errno != 0 || *end != '\0' || fopt.from_seq < 1)
					verify_fatal("--from-seq must be a seq, 1 or more: \"%s\"", optarg);
				break;
			case 'p':
				fopt.position_path = optarg;
				break;
			case 'o':
				fopt.out_path = optarg;
				break;
			case 5:
				{
					double		v;

					errno = 0;
					v = strtod(optarg, &end);
					if (errno != 0 || *end != '\0' || !(v >= 0.01 && v <= 86400))
						verify_fatal("--interval must be a number of seconds from 0.01 to 86400: \"%s\"", optarg);
					fopt.interval_ms = (int) (v * 1000 + 0.5);
				}
				break;
			case 6:
				fopt.until_end = true;
				break;
			case 'V':
				printf("govshare-verify (govshare) %s, formats GSAL1 and GSAL2\n", GOVSHARE_VERSION);
				return VERIFY_EXIT_OK;
			default:
				fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
				return VERIFY_EXIT_ERROR;
		}
	}
	if (optind < argc)
		verify_fatal("unexpected argument \"%s\" (try \"%s --help\")", argv[optind], progname);
	if (dbname == NULL && narchives == 0)
		verify_fatal("no database: give --dbname=CONNSTR (try \"%s --help\")", progname);
	if (dbname == NULL && save_path != NULL)
		verify_fatal("--save-checkpoint needs the database: give --dbname=CONNSTR");
	if ((ngiven > 0 || save_path != NULL) && nkey_paths == 0)
		verify_fatal("checkpoints are verified with the agency's public keys: give --public-key");
	if (narchives > 0 && nkey_paths == 0)
		verify_fatal("archives end with a checkpoint, verified with the agency's public keys: give --public-key");
	if (!follow && (fopt.from_seq || fopt.position_path || fopt.out_path || fopt.until_end))
		verify_fatal("--from-seq, --position-file, --output and --until-end go with --follow");
	if (follow)
	{
		if (narchives > 0 || dbname == NULL)
			verify_fatal("--follow streams the live log: give --dbname, and no --archive");
		if (ngiven > 0 || save_path != NULL || dump)
			verify_fatal("--follow verifies the chain as it streams: --checkpoint, --save-checkpoint and --dump-canonical are for a whole run");
		chain_init(&chain);
		for (int i = 0; i < naudit; i++)
			chain_add_key(&chain, audit_paths[i]);
		fopt.quiet = quiet;
		conn = scan_connect(dbname);
		status = follow_log(conn, &chain, &fopt);
		PQfinish(conn);
		chain_free(&chain);
		return status;
	}
	progress_on = progress_opt == 1 || (progress_opt == -1 && !quiet && isatty(STDERR_FILENO));
	/* with --dump-canonical, stdout is the dump and the report goes to stderr */
	out = dump ? stderr : stdout;
	clock_gettime(CLOCK_MONOTONIC, &started);

	for (int i = 0; i < nkey_paths; i++)
		checkpoint_load_key(&keys[i], key_paths[i]);
	memset(archives, 0, sizeof(archives));
	chain_init(&chain);
	chain.dump = dump;
	for (int i = 0; i < naudit; i++)
		chain_add_key(&chain, audit_paths[i]);

	/* the checkpoints' signatures first: they need no database */
	for (int i = 0; i < ngiven; i++)
	{
		size_t		len;
		char	   *doc = read_small_file(given[i].path, &len);
		char		problem[512];

		if (status == VERIFY_EXIT_OK &&
			!checkpoint_verify(doc, len, keys, nkey_paths, &given[i].cp, problem, sizeof(problem)))
		{
			printf("%s: FAILED: checkpoint %s: %s\n", progname, given[i].path, problem);
			status = VERIFY_EXIT_FAILED;
		}
		free(doc);
		add_want(&chain, given[i].cp.seq);
	}
	if (status != VERIFY_EXIT_OK)
	{
		for (int i = 0; i < ngiven; i++)
			checkpoint_clear(&given[i].cp);
		for (int i = 0; i < nkey_paths; i++)
			checkpoint_free_key(&keys[i]);
		chain_free(&chain);
		return status;
	}

	/* the archives, oldest first, then the log where the last one ends */
	for (int i = 0; i < narchives && status == VERIFY_EXIT_OK; i++)
	{
		if (archive_verify(archive_paths[i], &chain, i == 0, keys, nkey_paths, &archives[i]))
			continue;
		progress_end();
		if (chain.failed)
			printf("%s: FAILED: archive %s at seq %lld: %s\n", progname, archive_paths[i],
				   (long long) chain.bad_seq, chain.problem);
		else
			printf("%s: FAILED: archive %s: %s\n", progname, archive_paths[i], archives[i].problem);
		status = VERIFY_EXIT_FAILED;
	}
	if (narchives > 0)
		first_seq = archives[0].first_seq;
	conn = NULL;
	if (status == VERIFY_EXIT_OK && dbname != NULL)
	{
		conn = scan_connect(dbname);
		scan_log(conn, &chain, narchives > 0 ? chain.expect - 1 : 0, 0, progress);
		if (chain.failed)
			status = report_failure(&chain);
	}
	for (int i = 0; i < ngiven && status == VERIFY_EXIT_OK; i++)
	{
		char		what[1100];

		snprintf(what, sizeof(what), "the checkpoint %s", given[i].path);
		if (!check_against(&chain, &given[i].cp, what))
			status = report_failure(&chain);
	}
	if (status == VERIFY_EXIT_OK && !quiet)
	{
		char		hex[2 * VERIFY_HASH_LEN + 1];

		progress_end();
		verify_hex(chain.prev, VERIFY_HASH_LEN, hex);
		for (int i = 0; i < narchives; i++)
			fprintf(out, "%s: archive %s: OK: agency %s, seq %lld..%lld, SHA-256 %s (%s), checkpoint signed by key %s\n",
					progname, archives[i].path, archives[i].agency, (long long) archives[i].first_seq,
					(long long) archives[i].last_seq, archives[i].sha256,
					archives[i].no_sidecar ? "no .sha256 sidecar beside it" : "as its .sha256 sidecar says",
					archives[i].cp.signer->kid);
		if (chain.checked == 0)
			fprintf(out, "%s: OK: 0 records: the log is empty\n", progname);
		else
			fprintf(out, "%s: OK: %lld records (access %lld, result %lld, remote %lld, %lld of them with a receipt) seq %lld..%lld, last hash %s%s\n",
					progname, (long long) chain.checked, (long long) chain.n_access,
					(long long) chain.n_result, (long long) chain.n_remote,
					(long long) chain.n_receipt, (long long) first_seq, (long long) (chain.expect - 1), hex,
					narchives == 0 ? "" : dbname ? " (the archives, then the log continuing them)"
					: " (the archives alone)");
		for (int i = 0; i < ngiven; i++)
			fprintf(out, "%s: checkpoint %s: OK: agency %s, database %s, seq %lld, time %s, key %s\n",
					progname, given[i].path, given[i].cp.agency, given[i].cp.database,
					(long long) given[i].cp.seq, given[i].cp.time, given[i].cp.signer->kid);
	}
	if (status == VERIFY_EXIT_OK && save_path != NULL)
		status = save_checkpoint(conn, &chain, save_path, keys, nkey_paths, quiet);
	if (conn != NULL)
		PQfinish(conn);

	progress_end();
	secs = seconds_since(&started);
	getrusage(RUSAGE_SELF, &ru);
	if (!quiet)
		fprintf(out, "%s: %lld records in %.2f s (%.0f records/s), max RSS %ld kB\n",
				progname, (long long) chain.checked, secs, secs > 0 ? chain.checked / secs : 0.0,
				ru.ru_maxrss);
	for (int i = 0; i < ngiven; i++)
		checkpoint_clear(&given[i].cp);
	for (int i = 0; i < narchives; i++)
	{
		checkpoint_clear(&archives[i].cp);
		free(archives[i].agency);
	}
	for (int i = 0; i < nkey_paths; i++)
		checkpoint_free_key(&keys[i]);
	chain_free(&chain);
	return status;
}
