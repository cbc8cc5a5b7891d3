/*-------------------------------------------------------------------------
 *
 * audit_internal.h
 *	  What the audit's own files share: the statements being recorded, the
 *	  log's columns, the canonical encoding, the queues' layout and the
 *	  writer.
 *
 * Only files under src/audit/ include this header.
 *
 * src/audit/audit_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_AUDIT_INTERNAL_H
#define GS_AUDIT_INTERNAL_H

#include "postgres.h"
#include "lib/stringinfo.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/uuid.h"

#include "audit/gs_audit.h"

/*
 * Room in a queue promised to one record not yet encoded: a statement's
 * last record (its result, or its one record), which may be queued in an
 * abort path where nothing may wait or fail.
 */
typedef struct GovshareAuditReservation
{
	int			queue;			/* index of the queue, -1: none */
	uint64		generation;		/* of the queue when reserved */
	uint64		bytes;
	int			slot;			/* the agency's entry of the queue's shares */
} GovshareAuditReservation;

/* A statement being recorded, from executor start to end. */
typedef struct AuditStatement
{
	struct AuditStatement *next;
	QueryDesc  *qd;
	MemoryContext cxt;
	SubTransactionId subid;		/* the (sub)transaction it belongs to */
	bool		internal;
	bool		described;		/* to be recorded: what it reads is known */
	bool		queued;			/* the access record is queued; a result follows */
	GovshareAuditReservation reservation;	/* room for the last record */
	const char *error;			/* why the statement failed, if audit made it */
	pg_uuid_t	id;
	TimestampTz stmt_time;
	char	   *agency;
	char	   *role_name;
	char	   *login_role;
	char	   *officer;
	char	   *purpose;
	char	   *reference;
	char	   *token_id;
	int64		query_id;
	unsigned char sha[GOVSHARE_HASH_LEN];
	char	   *text;			/* NULL with govshare_audit_statement_text off */
	char	   *detail;			/* the access record's detail: jsonb's text, or NULL */
	TimestampTz exec_start;		/* a consumer's statement: its executor start */
	int64		bytes;			/* the size of the values it returned (detail "usage") */
	List	   *relations;		/* char * */
	List	   *columns;
	List	   *elements;		/* char *, or NULL */
	List	   *levels;
	int			nrule_ids;
	int64	   *rule_ids;
	int64		policy_version;
	int64		rows;
	/* data subjects: a set of personal-id encodings, open addressing */
	bool		subjects_on;
	int			subject_limit;	/* govshare.audit_subject_limit at the start */
	int			subject_cap;	/* slots, a power of two; 0: none yet */
	uint64	   *subject_slots;	/* 0: empty */
	bool		subject_zero;	/* the encoding 0 was seen */
	int			nsubjects;
	int64		subject_count;
	bool		subject_overflow;
} AuditStatement;

/* record.c: a statement's record, what it reads, queueing its records */
extern AuditStatement *govshare_audit_statement_new(const char *agency, const GovshareRequest *r,
													const char *text);
extern bool govshare_audit_describe_relation(AuditStatement *st, GovsharePolicy *policy,
											 const char *agency, const char *purpose, Oid relid,
											 Bitmapset *selected, bool whole_row);
extern bool govshare_audit_describe_reads(AuditStatement *st, PlannedStmt *plan,
										  GovsharePolicy *policy, const char *agency,
										  const char *purpose);
extern bool govshare_audit_internal_recorded(AuditStatement *st, bool sensitive);
extern void govshare_audit_record_reserve(AuditStatement *st);
extern uint64 govshare_audit_record_queue(AuditStatement *st, bool result, bool whole,
										  const char *outcome, const char *reason, bool urgent,
										  bool noerror);

/* record.c: token uses, the other kind of record in the queue */
#define GOVSHARE_AUDIT_TOKEN_TAG 'K'
extern void govshare_audit_token_decode(const char *data, uint32 len, GovshareTokenUse *use);

/* executor.c: the statements open, and the one whose rows are being read */
extern void govshare_audit_statement_open(AuditStatement *st);
extern void govshare_audit_statement_free(AuditStatement *st);
extern void govshare_audit_statement_finish(AuditStatement *st, const char *outcome,
											const char *reason, bool noerror);
extern AuditStatement *govshare_audit_running(void);

/* subjects.c: a data subject noted */
extern void govshare_audit_subject_note(AuditStatement *st, uint64 v);

/* receipt.c: the access record govshare.request_receipt() names */
extern void govshare_audit_receipt_note(const AuditStatement *st, uint64 ticket);

/* chain.c: govshare.access_log, its canonical encoding and hash chain */
#define Natts_access_log					34
#define Anum_access_log_seq					1
#define Anum_access_log_logged_at			2
#define Anum_access_log_kind				3
#define Anum_access_log_statement_id		4
#define Anum_access_log_outcome				6
#define Anum_access_log_subject_overflow	28
#define Anum_access_log_receipt_seq			29
#define Anum_access_log_receipt_hash		30
#define Anum_access_log_hmac_key_id			31
#define Anum_access_log_prev_hash			32
#define Anum_access_log_hash				33
#define Anum_access_log_detail				34	/* format GSAL2; added by 0.2.0 */

extern const unsigned char *govshare_chain_key(const char **key_id, size_t *len);
extern void govshare_chain_hash(const char *data, size_t len, const unsigned char *key,
								size_t keylen, unsigned char *out);
extern void govshare_chain_put_null(StringInfo out);
extern void govshare_chain_put_int8(StringInfo out, int64 v);
extern void govshare_chain_put_time(StringInfo out, TimestampTz t);
extern void govshare_chain_put_bool(StringInfo out, bool b);
extern void govshare_chain_put_text(StringInfo out, const char *s);
extern void govshare_chain_put_bytes(StringInfo out, char tag, const char *data, size_t len);
extern void govshare_chain_put_uuid(StringInfo out, const unsigned char *uuid);
extern void govshare_chain_put_array(StringInfo out, int n);
extern void govshare_chain_encode(StringInfo out, TupleDesc desc, int first, int last,
								  Datum *values, bool *isnull);
extern void govshare_chain_put_tag(StringInfo out, bool has_detail);
extern void govshare_chain_encode_row(StringInfo out, TupleDesc desc, Datum *values,
									  bool *isnull);
extern size_t govshare_chain_decode(const char *data, size_t len, TupleDesc desc, int first,
									int last, Datum *values, bool *isnull);
extern bool govshare_chain_check_columns(TupleDesc desc);
extern bool govshare_chain_hash_of(Datum d, bool isnull, unsigned char *out);
extern bool govshare_chain_row_matches(StringInfo buf, TupleDesc desc, Datum *values,
									   bool *isnull, const unsigned char *stored_prev,
									   const unsigned char *stored, const unsigned char *key,
									   size_t keylen);
extern void govshare_chain_tail(Relation rel, int64 *seq, unsigned char *hash);

/* verify.c: the chain verified, documents signed by the self agency */
extern bool govshare_verify_chain(int64 from_seq, int64 to_seq, char **problem);

/* verify_parallel.c: the chain verified by parallel workers */
typedef struct GovshareChainCheck
{
	int64		want_seq;		/* in: the seq whose hash is wanted, or -1 */
	int64		checked;
	int64		last_seq;		/* 0: no row in the range */
	unsigned char last_hash[GOVSHARE_HASH_LEN];
	bool		want_found;
	unsigned char want_hash[GOVSHARE_HASH_LEN];
} GovshareChainCheck;

extern bool govshare_verify_parallel(Relation rel, int64 from_seq, int64 to_seq,
									 BlockNumber blocks_to, const unsigned char *prev,
									 GovshareChainCheck *out);
extern char *govshare_audit_sign(const char *typ, const char *members, char **kid, char **time);

/* archive.c: the anchor the log continues from after an archive */
typedef struct GovshareAnchor
{
	int64		seq;			/* the last seq archived */
	unsigned char hash[GOVSHARE_HASH_LEN];	/* its hash */
	bool		hash_ok;		/* hash and file_sha256 are 32 bytes */
	int64		first_seq;
	int64		records;
	char	   *file;
	unsigned char file_sha256[GOVSHARE_HASH_LEN];
	TimestampTz archived_at;
	char	   *jws;			/* the anchor, signed by the self agency */
} GovshareAnchor;

extern bool govshare_archive_anchor(GovshareAnchor *a);
extern char *govshare_archive_anchor_problem(const GovshareAnchor *a);

/* record.c: a change made to the log itself, recorded in it */
extern void govshare_audit_log_event(const char *agency, const char *text, const char *reason,
									 const char *detail);

/* queue.c: shared-memory queues between backends and audit writers */

/* The bytes one agency holds in a queue (share.c). */
#define GOVSHARE_AUDIT_SHARE_SLOTS 16
typedef struct GovshareAuditShare
{
	uint32		key;			/* hash of the agency's code */
	uint64		bytes;			/* queued and reserved; 0: entry free */
} GovshareAuditShare;

typedef struct GovshareAuditQueue
{
	LWLock	   *lock;
	Oid			dboid;			/* InvalidOid: free */
	pid_t		writer_pid;		/* 0: no writer */
	Latch	   *writer_latch;
	TimestampTz requested_at;	/* a writer was registered then */
	bool		stop;			/* the writer should finish and exit */
	uint64		head;			/* ring bytes written, ever */
	uint64		tail;			/* ring bytes committed, ever */
	uint64		next_ticket;
	pg_atomic_uint64 durable;	/* records with lower tickets are committed */
	uint64		discarded;		/* records with lower tickets not durable are lost */
	uint64		written;		/* records committed since the server started */
	int64		last_seq;
	uint64		reserved;		/* ring bytes promised to statements' last records */
	uint64		generation;		/* changes each time the queue is claimed */
	GovshareAuditShare shares[GOVSHARE_AUDIT_SHARE_SLOTS];	/* per agency */
	char		error[256];		/* the writer's last error, or "" */
	TimestampTz error_at;
	ConditionVariable cv;		/* commits and freed space */
} GovshareAuditQueue;


/* The longest the writer sleeps with records queued that nobody waits for, in ms. */
#define GOVSHARE_AUDIT_WRITER_NAP 200
extern uint64 govshare_audit_queue_put(const char *data, Size len, const char *agency,
									   int timeout_ms, bool urgent, bool noerror,
									   GovshareAuditReservation *res);
extern void govshare_audit_queue_reserve(Size len, const char *agency, int timeout_ms,
										 GovshareAuditReservation *res);
extern void govshare_audit_queue_unreserve(GovshareAuditReservation *res);
extern uint64 govshare_audit_queue_lost(void);
extern bool govshare_audit_queue_wait(uint64 ticket, int timeout_ms, char **why);
extern bool govshare_audit_queue_wait_at(int qi, uint64 ticket, int timeout_ms, char **why);
extern bool govshare_audit_queue_wait_all(int timeout_ms, char **why);
extern bool govshare_audit_queue_durable_at(int qi, uint64 ticket);
extern void govshare_audit_queue_wake_at(int qi);
extern int	govshare_audit_queue_last_put(void);
extern GovshareAuditQueue *govshare_audit_queue_attach(int qi, Oid dboid);
extern void govshare_audit_queue_detach(GovshareAuditQueue *q, bool release);
extern bool govshare_audit_queue_retire(GovshareAuditQueue *q);
extern int	govshare_audit_queue_peek(GovshareAuditQueue *q, StringInfo batch, int max_records, uint64 from,
									  uint64 *next, uint64 *last, bool *stop);
extern void govshare_audit_queue_done(GovshareAuditQueue *q, uint64 next, uint64 last, int n,
									  int64 last_seq);
extern void govshare_audit_queue_error(GovshareAuditQueue *q, const char *message);
extern void govshare_audit_queue_stop(Oid dboid);
extern void govshare_audit_queue_hand_over(GovshareAuditQueue *q);
extern int64 govshare_audit_queue_last_seq(void);

/* share.c: each agency's fair share of a queue */
extern int	govshare_audit_share_slot(GovshareAuditQueue *q, const char *agency);
extern bool govshare_audit_share_allows(GovshareAuditQueue *q, int slot, uint64 need, uint64 size);
extern void govshare_audit_share_add(GovshareAuditQueue *q, int slot, int64 bytes);

/* writer.c: the audit writer */
extern PGDLLEXPORT void govshare_audit_writer_main(Datum main_arg);

/* standby.c: a hot standby's forwarder of access records to the primary */
extern PGDLLEXPORT void govshare_audit_forwarder_main(Datum main_arg);


/* budget.c: the statement text records keep */
extern void govshare_audit_budget_request(void);
extern void govshare_audit_budget_startup(void);
extern char *govshare_audit_text_kept(const char *agency, const char *text);

#endif							/* GS_AUDIT_INTERNAL_H */
