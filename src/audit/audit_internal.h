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
extern AuditStatement *govshare_audit_current(void);

/* receipt.c: the access record govshare.request_receipt() names */
extern void govshare_audit_receipt_note(const AuditStatement *st, uint64 ticket);

/* chain.c: govshare.access_log, its canonical encoding and hash chain */
#define Natts_access_log					34
#define Anum_access_log_seq					1
#define Anum_access_log_logged_at			2
#define Anum_access_log_kind				3
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
extern void govshare_chain_tail(Relation rel, int64 *seq, unsigned char *hash);

/* queue.c: shared-memory queues between backends and audit writers */
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
	char		error[256];		/* the writer's last error, or "" */
	TimestampTz error_at;
	ConditionVariable cv;		/* commits and freed space */
} GovshareAuditQueue;

/* The longest the writer sleeps with records queued that nobody waits for, in ms. */
#define GOVSHARE_AUDIT_WRITER_NAP 200
extern uint64 govshare_audit_queue_put(const char *data, Size len, int timeout_ms, bool urgent,
									   bool noerror);
extern bool govshare_audit_queue_wait(uint64 ticket, int timeout_ms, char **why);
extern GovshareAuditQueue *govshare_audit_queue_attach(int qi, Oid dboid);
extern void govshare_audit_queue_detach(GovshareAuditQueue *q, bool release);
extern bool govshare_audit_queue_retire(GovshareAuditQueue *q);
extern int	govshare_audit_queue_peek(GovshareAuditQueue *q, StringInfo batch, int max_records,
									  uint64 *next, uint64 *last, bool *stop);
extern void govshare_audit_queue_done(GovshareAuditQueue *q, uint64 next, uint64 last, int n,
									  int64 last_seq);
extern void govshare_audit_queue_error(GovshareAuditQueue *q, const char *message);
extern void govshare_audit_queue_stop(Oid dboid);

/* writer.c: the audit writer */
extern PGDLLEXPORT void govshare_audit_writer_main(Datum main_arg);


/* budget.c: the statement text records keep */
extern void govshare_audit_budget_request(void);
extern void govshare_audit_budget_startup(void);
extern char *govshare_audit_text_kept(const char *agency, const char *text);

#endif							/* GS_AUDIT_INTERNAL_H */
