/*-------------------------------------------------------------------------
 *
 * govshare_verify.h
 *	  The internal header of govshare-verify, the offline verifier of
 *	  govshare.access_log.
 *
 * The tool is a client: it links libpq and libcrypto, nothing of the
 * server.  Its files, one concern each:
 *
 *	govshare_verify.c	options, the run, the report
 *	log_scan.c			the connection, the snapshot, the cursor over the log
 *	chain.c				the canonical encoding and the hash chain
 *	checkpoint.c		Ed25519 public keys, RFC 7638 thumbprints, JWS checkpoints
 *	json.c				the little JSON the checkpoints need
 *	archive.c			archives of the log (govshare.archive_log), offline
 *	follow.c			--follow: the log as verified JSON Lines, resumable
 *
 * tools/govshare_verify.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_VERIFY_H
#define GOVSHARE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#define VERIFY_HASH_LEN		32
#define VERIFY_NCOLUMNS		34	/* seq .. hash, detail */
#define VERIFY_NCOLUMNS_V1	33	/* a log of govshare 0.1.0: no detail */
#define VERIFY_NCANONICAL	31	/* seq .. hmac_key_id */
#define VERIFY_MAX_KEYS		8	/* --audit-key, --public-key, --checkpoint each */
#define VERIFY_MAX_ARCHIVES	64	/* --archive */

/* exit statuses */
#define VERIFY_EXIT_OK		0
#define VERIFY_EXIT_FAILED	1	/* the log or a checkpoint does not verify */
#define VERIFY_EXIT_ERROR	2	/* usage, connection, server or file errors */

/* govshare_verify.c */
extern void verify_fatal(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));
extern void *verify_malloc(size_t n);
extern char *verify_strdup(const char *s);
extern void verify_hex(const unsigned char *b, size_t n, char *out);

/* One column of a row as the server sent it in binary. */
typedef struct Field
{
	const char *data;
	int			len;
	bool		isnull;
} Field;

/* An HMAC key of the chain (--audit-key). */
typedef struct AuditKey
{
	const char *path;
	unsigned char *key;
	size_t		len;
	char		id[17];			/* first 8 bytes of its SHA-256, hex */
	EVP_MAC_CTX *mac;			/* keyed once, reinitialised per row */
} AuditKey;

/* A seq whose hash a checkpoint names. */
typedef struct Want
{
	int64_t		seq;
	bool		found;
	unsigned char hash[VERIFY_HASH_LEN];
} Want;

/*
 * The state of a verification: what it was given, how far it got, and
 * the first problem.  The chain continues across scans (the rows a
 * checkpoint made after the first scan covers).
 */
typedef struct Chain
{
	AuditKey	keys[VERIFY_MAX_KEYS];
	int			nkeys;
	Want		wants[VERIFY_MAX_KEYS + 1];
	int			nwants;
	bool		dump;			/* print each row's canonical encoding */

	int64_t		expect;			/* the next seq */
	unsigned char prev[VERIFY_HASH_LEN];	/* the hash of seq expect - 1 */
	int64_t		keyed_since;	/* the first keyed row; 0: none yet */
	int64_t		checked;
	int64_t		n_access;
	int64_t		n_result;
	int64_t		n_remote;
	int64_t		n_receipt;		/* remote rows that carry a receipt */

	bool		failed;
	int64_t		bad_seq;
	char		problem[512];

	/* called with each row that verified (--follow), or NULL */
	void		(*on_row) (void *arg, const struct Chain *c, const Field *f);
	void	   *on_row_arg;

	/* the row's bytes, prev_hash first; grows to the largest row */
	unsigned char *buf;
	size_t		len;
	size_t		cap;
	EVP_MD_CTX *md;
	EVP_MD	   *sha256;
} Chain;

/* chain.c */
extern void chain_init(Chain *c);
extern void chain_add_key(Chain *c, const char *path);
extern bool chain_row(Chain *c, const Field *f);
extern void chain_fail(Chain *c, int64_t seq, const char *fmt,...) __attribute__((format(printf, 3, 4)));
extern void chain_free(Chain *c);
extern uint32_t verify_get_u32(const char *p);
extern uint64_t verify_get_u64(const char *p);
extern const char *const chain_column_names[VERIFY_NCOLUMNS];
extern const Oid chain_column_types[VERIFY_NCOLUMNS];

/* log_scan.c */
typedef void (*ScanProgress) (int64_t rows);
extern PGconn *scan_connect(const char *conninfo);
extern void scan_log(PGconn *conn, Chain *c, int64_t after_seq, int64_t to_seq,
					 ScanProgress progress);
extern char *scan_checkpoint(PGconn *conn);

/* follow.c */
typedef struct FollowOptions
{
	const char *out_path;		/* NULL or "-": stdout */
	const char *position_path;	/* NULL: no position is kept */
	int64_t		from_seq;		/* 0: from the position file, else 1 */
	int			interval_ms;
	bool		until_end;
	bool		quiet;
} FollowOptions;

extern int	follow_log(PGconn *conn, Chain *c, const FollowOptions *opt);

/* checkpoint.c */
typedef struct PublicKey
{
	const char *path;
	EVP_PKEY   *key;
	char	   *kid;			/* RFC 7638 thumbprint */
} PublicKey;

typedef struct Checkpoint
{
	char	   *agency;
	char	   *database;
	int64_t		seq;
	char		hash[2 * VERIFY_HASH_LEN + 1];
	char	   *time;
	const PublicKey *signer;
} Checkpoint;

extern void checkpoint_load_key(PublicKey *pk, const char *path);
extern void checkpoint_free_key(PublicKey *pk);
extern bool checkpoint_verify(const char *doc, size_t len, const PublicKey *keys, int nkeys,
							  Checkpoint *cp, char *problem, size_t problem_size);
extern void checkpoint_clear(Checkpoint *cp);

/* json.c */
typedef enum JsonKind
{
	JSON_STRING,
	JSON_NUMBER,
	JSON_OTHER					/* true, false, null, an object, an array */
} JsonKind;

typedef struct JsonMember
{
	char	   *name;
	JsonKind	kind;
	char	   *value;			/* a string decoded, a number's text; else NULL */
	size_t		value_len;		/* a string may hold NUL bytes */
} JsonMember;

typedef struct JsonObject
{
	JsonMember *members;
	int			n;
} JsonObject;

extern bool json_parse_object(const char *text, size_t len, JsonObject *obj, const char **error);
extern const JsonMember *json_member(const JsonObject *obj, const char *name);
extern void json_free(JsonObject *obj);

/* archive.c */
typedef struct ArchiveReport
{
	const char *path;
	char	   *agency;
	int64_t		first_seq;
	int64_t		last_seq;
	char		sha256[2 * VERIFY_HASH_LEN + 1];
	bool		no_sidecar;		/* no FILE.sha256 beside it */
	Checkpoint	cp;				/* the checkpoint that ends it */
	char		problem[700];	/* what is wrong with the file, or "" */
} ArchiveReport;

extern bool archive_verify(const char *path, Chain *c, bool first, const PublicKey *keys,
						   int nkeys, ArchiveReport *r);

#endif							/* GOVSHARE_VERIFY_H */
