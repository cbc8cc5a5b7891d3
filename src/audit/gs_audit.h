/*-------------------------------------------------------------------------
 *
 * gs_audit.h
 *	  The audit subsystem, as other subsystems call it.
 *
 * Access records of statements, denials and outgoing requests (record.c)
 * made from the executor hooks (executor.c) and the utility hook
 * (utility.c), with their data subjects (subjects.c) and the receipts
 * given to remote callers (receipt.c); the shared-memory queues that carry
 * them (queue.c) to each database's audit writer (writer.c) or, on a hot
 * standby, to the primary (standby.c), the hash chain (chain.c) and its
 * verification (verify.c).  What only the audit's
 * own files share is in audit_internal.h.  Calls only src/policy/,
 * src/catalog/ and src/common/.
 *
 * src/audit/gs_audit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_AUDIT_H
#define GS_AUDIT_H

#include "postgres.h"
#include "executor/execdesc.h"
#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "policy/gs_policy.h"

/* Settings (src/guc.c). */
typedef enum GovshareAuditMode
{
	GOVSHARE_AUDIT_OFF,
	GOVSHARE_AUDIT_ASYNC,
	GOVSHARE_AUDIT_STRICT
} GovshareAuditMode;

typedef enum GovshareAuditInternal
{
	GOVSHARE_AUDIT_INTERNAL_NONE,
	GOVSHARE_AUDIT_INTERNAL_SENSITIVE,
	GOVSHARE_AUDIT_INTERNAL_ALL
} GovshareAuditInternal;

extern int	govshare_audit_mode;
extern int	govshare_audit_internal;
extern bool govshare_audit_statement_text;
extern int	govshare_audit_subject_limit;
extern int	govshare_audit_timeout;
extern int	govshare_audit_queue_size;
extern int	govshare_audit_max_databases;
extern int	govshare_audit_text_max;
extern int	govshare_audit_text_budget;
extern char *govshare_archive_directory;
extern char *govshare_standby_conninfo;
extern char *govshare_node_name;

/* standby.c: the check of govshare.node_name */
extern bool govshare_node_name_check(char **newval, void **extra, GucSource source);

/* chain.c: the HMAC key, forgotten when govshare.audit_key_file changes */
extern void govshare_audit_forget_key(void);

/* queue.c: shared memory, from the shmem hooks */
extern void govshare_audit_queue_request(void);
extern void govshare_audit_queue_startup(void);

/* executor.c: access records of statements, from the executor hooks */
extern void govshare_audit_init(void);
extern void govshare_audit_executor_start(QueryDesc *qd, int eflags);
extern int	govshare_audit_run_begin(QueryDesc *qd);
extern void govshare_audit_run_end(QueryDesc *qd, int depth, bool ok);
extern void govshare_audit_executor_end(QueryDesc *qd);

/* subjects.c: the data subjects of consumers' statements */
extern bool govshare_audit_subjects_wanted(void);
extern Node *govshare_audit_subject_qual(GovshareDecision *d, TupleDesc desc);

/* utility.c: from the utility hook */
extern void *govshare_audit_utility(Node *stmt, const char *query_string);
extern void govshare_audit_utility_end(void *handle, QueryCompletion *qc);

/* record.c: denials, used request tokens, and outgoing requests */
extern void govshare_audit_denial(const char *agency, const GovshareRequest *r, Oid relid,
								  const char *column, const char *element, const char *reason);
extern bool govshare_audit_token_use(const GovshareTokenUse *use, GovshareTokenTicket *t,
									 char **why);
extern bool govshare_audit_token_durable(const GovshareTokenTicket *t, GovshareTokenWait how,
										 char **why);

/*
 * record.c: the detail of a record, column detail of the log (format
 * GSAL2, docs/audit-format.md): a JSON object of structured facts a record
 * carries beyond its columns.  A member is recorded once, in the first
 * record of the statement queued after it is set (under strict audit the
 * access record is queued at executor start, its result record at the end).
 */
extern char *govshare_audit_detail_merge(const char *detail, const char *key,
										 const char *value);
extern char *govshare_audit_detail_put(const char *detail, const char *key,
									   const char *value);
extern char *govshare_audit_detail_normalize(const char *json);

/* budget.c: a statement's parameters, for member "params" of a detail */
extern char *govshare_audit_params_kept(const char *agency, int n, const char *const *values);

/* An outgoing request to another agency, as src/remote/ records it. */
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
	const char *detail;			/* a JSON object for column detail, or NULL */
} GovshareRemoteRecord;

extern void govshare_audit_remote(const GovshareRemoteRecord *rec);

/* A call of govshare.verify(), as src/enforce/claims.c records it. */
typedef struct GovshareVerifyRecord
{
	const char *agency;			/* NULL: an internal role */
	const GovshareRequest *request;
	Oid			relid;
	const char *text;			/* the call described, without the claims */
	int			ncolumns;
	const char **columns;		/* the columns checked */
	const char **elements;		/* parallel; NULL where unclassified */
	int64		rows;			/* rows found for the subject */
	bool		has_subject;
	uint64		subject;		/* the personal id's encoding */
	const char *answers;		/* {"column": true|false|null, ...}, as jsonb
								 * prints it (JsonbToCString) */
	int64		policy_version;
} GovshareVerifyRecord;

extern void govshare_audit_verify(const GovshareVerifyRecord *rec);

/* executor.c: statements not recorded (govshare.verify()'s own lookup) */
extern bool govshare_audit_quiet(bool quiet);
/* executor.c: the size of the values a run returned, for detail "usage" */
extern void govshare_audit_bytes(QueryDesc *qd, int64 bytes);
extern void govshare_audit_rows_stopped(QueryDesc *qd, int64 rows);

#endif							/* GS_AUDIT_H */
