/*-------------------------------------------------------------------------
 *
 * govshare.h
 *	  The internal header of govshare: prototypes grouped by file.
 *
 * include/govshare.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_H
#define GOVSHARE_H

#include "postgres.h"
#include "fmgr.h"
#include "nodes/nodes.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "nodes/primnodes.h"
#include "executor/execdesc.h"
#include "tcop/cmdtag.h"
#include "lib/stringinfo.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "govshare_types.h"

/* govshare.c */
extern void _PG_init(void);

/* label.c */
extern void govshare_label_init(void);
extern void govshare_label_check_tree(Oid relid);
extern const char *govshare_label_conformance(Oid coltype, Oid elemtype);

/* catalog.c: the policy catalog (agencies, bindings, keys, purposes, rules) */
typedef enum GovshareLevel
{
	GOVSHARE_DENIED = 0,
	GOVSHARE_REDACTED,
	GOVSHARE_GENERALIZED,
	GOVSHARE_PSEUDONYM,
	GOVSHARE_MASKED,
	GOVSHARE_FULL
} GovshareLevel;

typedef enum GovshareRuleStatus
{
	GOVSHARE_RULE_ACTIVE,
	GOVSHARE_RULE_SUSPENDED,
	GOVSHARE_RULE_REVOKED
} GovshareRuleStatus;

typedef struct GovshareRule
{
	int64		id;
	char	   *consumer;
	int			npurposes;
	char	  **purposes;
	int			nelements;
	char	  **elements;		/* codes, or patterns "prefix.*" and "*" */
	GovshareLevel level;
	Oid			relation;		/* InvalidOid: every governed relation */
	char	   *filter_text;	/* as written; NULL: every row */
	Node	   *filter;			/* analysed, over varno 1 of relation */
	char	   *legal_basis;	/* NULL: the purposes' */
	TimestampTz valid_from;
	TimestampTz valid_until;	/* DT_NOEND when open-ended */
	GovshareRuleStatus status;
	TimestampTz status_since;
} GovshareRule;

typedef struct GovshareKey
{
	char	   *key_id;
	char	   *agency;
	char	   *public_key;
	TimestampTz valid_until;	/* DT_NOEND when open-ended */
	bool		revoked;
} GovshareKey;

typedef struct GovsharePolicy
{
	bool		installed;		/* is the extension installed here? */
	uint64		generation;		/* changes with every reload */
	char	   *self;			/* the self agency's code, or NULL */
	int			nagencies;
	char	  **agencies;
	int			nbindings;
	Oid		   *binding_roles;
	char	  **binding_agencies;
	int			nkeys;
	GovshareKey *keys;
	int			npurposes;
	char	  **purposes;
	char	  **purpose_legal_bases;
	int			nrules;
	GovshareRule *rules;		/* by id */
	int			nelements;
	char	  **elements;		/* by code */
	bool	   *element_sensitive;
	Oid			token_use_relid;
	Oid			rule_relid;		/* govshare.rule: plans depend on it */
	int64		version;		/* rows of rule and rule_event: moves with every change */
} GovsharePolicy;

extern void govshare_catalog_init(void);
extern GovsharePolicy *govshare_policy(void);
extern const char *govshare_level_name(GovshareLevel level);
extern const char *govshare_role_agency(GovsharePolicy *policy, Oid roleid, bool *consumer);
extern const char *govshare_role_agency_noerror(GovsharePolicy *policy, Oid roleid,
												bool *consumer, bool *ambiguous);
extern bool govshare_policy_has_purpose(GovsharePolicy *policy, const char *purpose);
extern bool govshare_element_sensitive(GovsharePolicy *policy, const char *element, bool *found);
extern void govshare_spi_as_owner(Oid relid, void (*work) (void *arg), void *arg);

/* rowfilter.c */
extern Node *govshare_rowfilter_analyse(Relation rel, const char *text);
extern Node *govshare_rowfilter_map(Node *filter, Oid from, Oid to, const char **problem);

/* decide.c: what a consumer agency gets from a relation for a purpose */
typedef struct GovshareGrant
{
	int			rule;			/* index into GovshareDecision.rules */
	GovshareLevel level;
} GovshareGrant;

typedef struct GovshareColumn
{
	char	   *attname;		/* NULL for a dropped column */
	char	   *element;		/* NULL: not classified */
	GovshareLevel level;		/* the most revealing level of any grant */
	int			ngrants;
	GovshareGrant *grants;		/* most revealing first */
	char	   *reason;
} GovshareColumn;

typedef struct GovshareDecisionRule
{
	int64		id;
	GovshareLevel level;
	Node	   *filter;			/* over varno 1 of the decided relation; NULL: every row */
	char	   *filter_text;
	char	   *legal_basis;
} GovshareDecisionRule;

typedef struct GovshareDecision
{
	Oid			relid;
	bool		governed;
	int			nrules;			/* applicable rules granting something here */
	GovshareDecisionRule *rules;
	int			natts;
	GovshareColumn *columns;	/* columns[attnum - 1] */
	char	   *reason;			/* why nothing is granted, when nrules = 0 */
	TimestampTz horizon;		/* the decision holds until then */
} GovshareDecision;

extern void govshare_decide_init(void);
extern bool govshare_relation_governed(Oid relid);
extern GovshareDecision *govshare_decide(const char *agency, const char *purpose, Oid relid);
extern GovshareDecision *govshare_decide_internal(Oid relid);

/* context.c: the request context of the session */
typedef struct GovshareRequest
{
	char	   *agency;
	Oid			roleid;
	char	   *officer;
	char	   *purpose;
	char	   *reference;
	char	   *token_id;
	char	   *key_id;
	bool		is_signed;
	TimestampTz began_at;
	TimestampTz expires_at;		/* DT_NOEND unless signed */
} GovshareRequest;

extern void govshare_context_init(void);
extern const GovshareRequest *govshare_context_current(void);
extern void govshare_context_discard(void);
extern uint64 govshare_context_serial(void);
extern int64 govshare_unix_now(void);

/* enforce.c: consumer statements rewritten, refused or checked */
extern void govshare_enforce_init(void);
typedef enum GovsharePlanKind
{
	GOVSHARE_PLAN_PLAIN,		/* reads no governed relation */
	GOVSHARE_PLAN_GOVERNED,		/* reads one, with internal access */
	GOVSHARE_PLAN_CONSUMER		/* a consumer's, rewritten */
} GovsharePlanKind;
extern GovsharePlanKind govshare_enforce_query(Query *parse);
extern void govshare_enforce_stamp(PlannedStmt *plan, GovsharePlanKind kind);
extern void govshare_enforce_check_plan(PlannedStmt *plan);
extern void govshare_enforce_statement_start(void);
extern PlannedStmt *govshare_enforce_utility(PlannedStmt *pstmt);
extern bool govshare_enforce_agency_matches(const char *agency);

extern const char *govshare_enforce_consumer(void);
extern bool govshare_enforce_plan_is_consumer(PlannedStmt *plan);

/* mask.c: the expression that shows a column at a level */
extern void govshare_mask_init(void);
extern Node *govshare_mask_expr(Var *var, const FormData_pg_attribute *att,
								GovshareLevel level, const char *agency,
								GovshareLevel *shown);

/* pseudonym.c: keyed pseudonyms */
extern void govshare_pseudonym_init(void);
extern const unsigned char *govshare_pseudonym_key(const char *agency);
extern bool govshare_pseudonym_supported(Oid typid);

/* src/types/fmgr.c: SQL-callable wrappers shared by all the types */
extern void govshare_type_context(gs_context *ctx);
extern uint64 govshare_type_getarg(FunctionCallInfo fcinfo, int argno,
								   const gs_type *type);
extern Datum govshare_type_datum(const gs_type *type, uint64 v);
extern Datum govshare_type_in(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_out(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_recv(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_send(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_mask(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_generalize(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_form(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_from_int8(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_to_int8(FunctionCallInfo fcinfo, const gs_type *type);
extern Datum govshare_type_text_datum(const char *s);
extern Datum govshare_type_code_text(int code, int ndigits);
extern const gs_type *govshare_type_lookup(Oid typid);

/*
 * Defines the SQL-callable functions every national type has, as thin
 * wrappers over the generic ones above: <t>_in, <t>_out, <t>_recv, <t>_send,
 * <t>_mask, <t>_generalize, <t>_form, <t>_from_int8, <t>_to_int8.
 */
#define GOVSHARE_TYPE_WRAPPER(t, what) \
	PG_FUNCTION_INFO_V1(t##_##what); \
	Datum \
	t##_##what(PG_FUNCTION_ARGS) \
	{ \
		return govshare_type_##what(fcinfo, &gs_##t##_type); \
	}

#define GOVSHARE_TYPE_FUNCTIONS(t) \
	GOVSHARE_TYPE_WRAPPER(t, in) \
	GOVSHARE_TYPE_WRAPPER(t, out) \
	GOVSHARE_TYPE_WRAPPER(t, recv) \
	GOVSHARE_TYPE_WRAPPER(t, send) \
	GOVSHARE_TYPE_WRAPPER(t, mask) \
	GOVSHARE_TYPE_WRAPPER(t, generalize) \
	GOVSHARE_TYPE_WRAPPER(t, form) \
	GOVSHARE_TYPE_WRAPPER(t, from_int8) \
	GOVSHARE_TYPE_WRAPPER(t, to_int8)

/* The argument of a national type, as its uint64 encoding. */
#define GOVSHARE_GETARG(t, n)	govshare_type_getarg(fcinfo, (n), &gs_##t##_type)
#define GOVSHARE_RETURN(t, v)	return govshare_type_datum(&gs_##t##_type, (v))

/* token.c */
#define GOVSHARE_TOKEN_MAX_LENGTH 8192
typedef struct GovshareToken
{
	char	   *kid;			/* header "kid", or NULL */
	char	   *iss;
	char	   *sub;
	char	   *purpose;
	char	   *ref;			/* NULL when absent */
	char	   *aud;			/* NULL when absent */
	char	   *jti;
	int64		iat;
	int64		exp;
	int64		nbf;
	bool		has_nbf;
	char	   *signing_input;	/* "header.payload", NUL-terminated */
	int			signing_input_len;
	unsigned char signature[64];
} GovshareToken;
extern void govshare_token_parse(const char *token, GovshareToken *tok);
extern bool govshare_token_verify(const GovshareToken *tok, const char *public_key_pem);
extern char *govshare_key_id(const char *public_key_pem);
extern char *govshare_jws_sign(const char *private_key_pem, const char *header_json, const char *payload_json);

extern char *govshare_public_key_pem(const char *private_key_pem);
extern char *govshare_json_string(const char *s);
typedef struct GovshareSigner GovshareSigner;
extern GovshareSigner *govshare_signer_new(const char *private_key_pem);
extern bool govshare_signer_is(const GovshareSigner *signer, const char *private_key_pem);
extern void govshare_signer_free(GovshareSigner *signer);
extern const char *govshare_signer_kid(const GovshareSigner *signer);
extern char *govshare_signer_sign(const GovshareSigner *signer, const char *header_json,
								  const char *payload_json);
extern char *govshare_jws_verify(const char *jws, const char *public_key_pem, const char **problem);

/* keyfile.c: secrets in files only the server can read */
extern unsigned char *govshare_keyfile_read(const char *setting, const char *path,
											const char *what, const char *why,
											size_t min, size_t max, size_t *len);

/* audit_chain.c: govshare.access_log, its canonical encoding and hash chain */
#define Natts_access_log					33
#define Anum_access_log_seq					1
#define Anum_access_log_logged_at			2
#define Anum_access_log_kind				3
#define Anum_access_log_subject_overflow	28
#define Anum_access_log_receipt_seq			29
#define Anum_access_log_receipt_hash		30
#define Anum_access_log_hmac_key_id			31
#define Anum_access_log_prev_hash			32
#define Anum_access_log_hash				33
#define GOVSHARE_HASH_LEN					32

extern void govshare_chain_init(void);
extern const unsigned char *govshare_chain_key(const char **key_id, size_t *len);
extern void govshare_chain_hash(const char *data, size_t len, const unsigned char *key,
								size_t keylen, unsigned char *out);
extern void govshare_sha256(const void *data, size_t len, unsigned char *out);
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
extern size_t govshare_chain_decode(const char *data, size_t len, TupleDesc desc, int first,
									int last, Datum *values, bool *isnull);
extern void govshare_chain_check_columns(TupleDesc desc);
extern void govshare_chain_tail(Relation rel, int64 *seq, unsigned char *hash);

/* audit_queue.c: shared-memory queues between backends and audit writers */
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

typedef struct GovshareAuditQueueStatus
{
	Oid			dboid;
	pid_t		writer_pid;
	uint64		queued;
	uint64		queued_bytes;
	uint64		written;
	int64		last_seq;
	char		error[256];
	TimestampTz error_at;
} GovshareAuditQueueStatus;

extern void govshare_audit_queue_init(void);
extern void govshare_audit_queue_request(void);
extern void govshare_audit_queue_startup(void);
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
extern bool govshare_audit_queue_status(int i, GovshareAuditQueueStatus *st);
extern int	govshare_audit_queue_count(void);

/* audit_worker.c: the audit writer */
extern PGDLLEXPORT void govshare_audit_writer_main(Datum main_arg);

/* audit.c: access records of statements, denials, data subjects */
extern void govshare_audit_init(void);
extern bool govshare_audit_subjects_wanted(void);
extern void govshare_audit_executor_start(QueryDesc *qd, int eflags);
extern int	govshare_audit_run_begin(QueryDesc *qd);
extern void govshare_audit_run_end(QueryDesc *qd, int depth, bool ok);
extern void govshare_audit_executor_end(QueryDesc *qd);
extern void govshare_audit_denial(const char *agency, const GovshareRequest *r, Oid relid,
								  const char *column, const char *element, const char *reason);
extern Node *govshare_audit_subject_qual(GovshareDecision *d, TupleDesc desc);
extern void *govshare_audit_utility(Node *stmt, const char *query_string);
extern void govshare_audit_utility_end(void *handle, QueryCompletion *qc);

/* An outgoing request to another agency, as src/remote.c records it. */
typedef struct GovshareRemoteRecord
{
	const char *target;			/* the agency asked */
	const char *officer;
	const char *purpose;
	const char *reference;
	const char *token_id;		/* the jti of the token sent */
	const char *query;
	TimestampTz started;
	const char *outcome;		/* allowed, denied, error */
	const char *reason;
	int64		rows;
	bool		has_receipt;
	int64		receipt_seq;
	unsigned char receipt_hash[GOVSHARE_HASH_LEN];
} GovshareRemoteRecord;

extern void govshare_audit_remote(const GovshareRemoteRecord *rec);

/* remote.c: queries to other agencies' databases */
extern void govshare_remote_init(void);

/* verify.c */
extern unsigned char *govshare_signing_key(const char *why, size_t *len);
extern char *govshare_hex(const unsigned char *b, int n);

/* verify.c: verify_log, checkpoints, the canonical encoding in SQL */
extern void govshare_verify_init(void);

#endif							/* GOVSHARE_H */
