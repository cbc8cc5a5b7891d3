/*-------------------------------------------------------------------------
 *
 * gs_policy.h
 *	  The policy subsystem: decisions, row filters, the request context, tokens.
 *
 * What a consumer agency gets from a relation for a purpose (decide.c),
 * who the session acts for and under which request (consumer.c,
 * context.c), and the tokens that prove a request (token.c) and are spent
 * once (spent.c).  Calls only
 * src/catalog/, src/types/ and src/common/.
 *
 * src/policy/gs_policy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_POLICY_H
#define GS_POLICY_H

#include "postgres.h"
#include "fmgr.h"
#include "nodes/plannodes.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "catalog/gs_catalog.h"

/* rowfilter.c: row filters, analysed once and stored as node trees */
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
	int			options;		/* the rule's GOVSHARE_RULE_* bits */
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
	char	   *consumer_role;	/* signed: the issuer's role that asked (claim "role") */
	bool		is_signed;
	bool		consumer;		/* begun by a consumer (not for self) */
	TimestampTz began_at;
	TimestampTz expires_at;		/* DT_NOEND unless signed */
	char	   *ended;			/* why it ended, or NULL: govshare_context_ended */
	bool		transaction_scoped; /* ends with its transaction (request_scope) */
} GovshareRequest;

extern void govshare_context_init(void);
extern const GovshareRequest *govshare_context_current(void);
extern void govshare_context_discard(void);
extern uint64 govshare_context_serial(void);
extern const char *govshare_context_ended(GovsharePolicy *policy, TimestampTz now);

/*
 * Where a token's use waits to be written: the audit queue (its index
 * among the queues) and the record's ticket there.  Tickets grow for as
 * long as the server runs, whichever database a queue serves.
 */
typedef struct GovshareTokenTicket
{
	int			queue;
	uint64		ticket;
} GovshareTokenTicket;

/* What a token waiter does about a use not yet durable. */
typedef enum GovshareTokenWait
{
	GOVSHARE_TOKEN_CHECK,		/* nothing: says whether it is durable */
	GOVSHARE_TOKEN_HASTEN,		/* wakes the writer, which was not woken */
	GOVSHARE_TOKEN_WAIT			/* waits for it */
} GovshareTokenWait;

/*
 * Is the token use queued at t durable?  Returns false, with a sentence in
 * *why, when it is not after waiting for it (why is used only with
 * GOVSHARE_TOKEN_WAIT, and may be NULL otherwise).
 */
typedef bool (*GovshareTokenWaiter) (const GovshareTokenTicket *t, GovshareTokenWait how,
									 char **why);

/* spent.c: tokens being spent, in shared memory */
extern void govshare_spent_shmem_request(void);
extern void govshare_spent_shmem_startup(void);
extern void govshare_spent_set_waiter(GovshareTokenWaiter waiter);
extern bool govshare_spent_claim(const unsigned char *key, TimestampTz until);
extern void govshare_spent_queued(const unsigned char *key, const GovshareTokenTicket *t);
extern void govshare_spent_release(const unsigned char *key);

/* counters.c: what consumers used of their quotas, in shared memory */
typedef enum GovshareQuotaKind
{
	GOVSHARE_QUOTA_STATEMENTS,	/* statements_per_minute */
	GOVSHARE_QUOTA_ROWS,		/* rows_per_day */
	GOVSHARE_QUOTA_VERIFY		/* verify_per_minute */
} GovshareQuotaKind;
#define GOVSHARE_QUOTA_KINDS 3

extern void govshare_counters_shmem_request(void);
extern void govshare_counters_shmem_startup(void);
extern bool govshare_counters_take(const char *agency, const char *purpose, GovshareQuotaKind kind,
								   int64 n, int64 limit, TimestampTz now, int64 *used);
extern int64 govshare_counters_used(const char *agency, const char *purpose, GovshareQuotaKind kind,
									TimestampTz now);
extern void govshare_counters_add(const char *agency, const char *purpose, GovshareQuotaKind kind,
								  int64 n, TimestampTz at);
extern TimestampTz govshare_counters_reset_at(GovshareQuotaKind kind, TimestampTz t);
extern TimestampTz govshare_counters_window_start(GovshareQuotaKind kind, TimestampTz t);
extern bool govshare_counters_claim_rebuild(void);
extern void govshare_counters_rebuilt(bool ok);

/* token.c: request tokens and JWS (EdDSA) */
#define GOVSHARE_TOKEN_MAX_LENGTH 8192
typedef struct GovshareToken
{
	char	   *kid;			/* header "kid", or NULL */
	char	   *iss;
	char	   *sub;
	char	   *purpose;
	char	   *ref;			/* NULL when absent */
	char	   *aud;			/* NULL when absent */
	char	   *role;			/* the issuer's role that asked; NULL when absent */
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
typedef struct GovshareSigner GovshareSigner;
extern GovshareSigner *govshare_signer_new(const char *private_key_pem);
extern bool govshare_signer_is(const GovshareSigner *signer, const char *private_key_pem);
extern void govshare_signer_free(GovshareSigner *signer);
extern const char *govshare_signer_kid(const GovshareSigner *signer);
extern char *govshare_signer_sign(const GovshareSigner *signer, const char *header_json,
								  const char *payload_json);
extern char *govshare_jws_verify(const char *jws, const char *public_key_pem, const char **problem);

/* context.c, continued: settings (src/guc.c), and who records denials */
/* the longest officer or reference a request context accepts, in bytes */
#define GOVSHARE_CONTEXT_FIELD_MAX 200

extern bool govshare_require_signed_requests;
extern int	govshare_token_clock_skew;

/* govshare.request_scope: how long a request context lasts */
typedef enum GovshareRequestScope
{
	GOVSHARE_REQUEST_SCOPE_SESSION,
	GOVSHARE_REQUEST_SCOPE_TRANSACTION
} GovshareRequestScope;
extern int	govshare_request_scope;
extern int	govshare_token_max_lifetime;

typedef void (*GovshareDenialRecorder) (const char *agency, const GovshareRequest *r,
										Oid relid, const char *column,
										const char *element, const char *reason);
extern void govshare_context_set_denial_recorder(GovshareDenialRecorder recorder);
extern void govshare_context_statement_start(void);
extern bool govshare_context_binds(void);
extern void govshare_officer_check(GovsharePolicy *policy, const char *officer);

/*
 * Who records a used token id durably, outside the caller's transaction:
 * the recorder queues it and says where (false, with a sentence in *why,
 * when it cannot); the waiter (above) says when it is durable.
 */
typedef bool (*GovshareTokenRecorder) (const GovshareTokenUse *use, GovshareTokenTicket *t,
									   char **why);
extern void govshare_context_set_token_recorder(GovshareTokenRecorder recorder,
												GovshareTokenWaiter waiter);
extern void govshare_context_spend_before(PlannedStmt *plan);
extern void govshare_context_spend_before_copy(void);

/* consumer.c: who the session acts for; the epoch of consumer plans */
typedef enum GovsharePlanKind
{
	GOVSHARE_PLAN_PLAIN,		/* reads no governed relation */
	GOVSHARE_PLAN_GOVERNED,		/* reads one, with internal access */
	GOVSHARE_PLAN_CONSUMER		/* a consumer's, rewritten */
} GovsharePlanKind;

extern void govshare_consumer_init(void);
extern const char *govshare_consumer_of(GovsharePolicy *policy, bool *ambiguous);
extern const char *govshare_consumer_agency(void);
extern bool govshare_consumer_is(const char *agency);
extern const char *govshare_consumer_statement_start(void);
extern void govshare_epoch_refresh(GovsharePolicy *policy, TimestampTz now);
extern void govshare_epoch_limit(TimestampTz until);
extern void govshare_plan_stamp(PlannedStmt *plan, GovsharePlanKind kind, uint64 context);
extern bool govshare_plan_is_consumer(PlannedStmt *plan);
extern bool govshare_plan_reads_governed(PlannedStmt *plan);
extern bool govshare_plan_fits(PlannedStmt *plan, bool *stamped);

#endif							/* GS_POLICY_H */
