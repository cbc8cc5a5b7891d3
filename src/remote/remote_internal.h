/*-------------------------------------------------------------------------
 *
 * remote_internal.h
 *	  What the remote subsystem's own files share: endpoints, kept
 *	  connections, the rows of a request and the exchange with the provider.
 *
 * Only files under src/remote/ include this header.
 *
 * src/remote/remote_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_REMOTE_INTERNAL_H
#define GS_REMOTE_INTERNAL_H

#include "postgres.h"
#include "fmgr.h"
#include "libpq-fe.h"
#include "utils/timestamp.h"

#include "common/gs_common.h"
#include "policy/gs_policy.h"
#include "remote/gs_remote.h"

/*
 * The most bytes kept of a text a provider sends (an error's message,
 * detail or hint, libpq's message) and of the reason a request is recorded
 * with, so that a remote record always fits the audit queue (text.c).
 */
#define GOVSHARE_REMOTE_TEXT_MAX 4096

/* endpoint.c: the registered endpoints */
extern char *govshare_endpoint_conninfo(const char *agency, bool *trusted);

/* resolve.c: the endpoint's host names, resolved with the deadline */
typedef struct GovshareHosts
{
	char	   *host;			/* in place of the endpoint's */
	char	   *hostaddr;
	char	   *port;			/* NULL: the endpoint's */
} GovshareHosts;

extern bool govshare_resolve_endpoint(const char *target, const char *conninfo,
									  TimestampTz deadline, GovshareHosts *hosts);

/* text.c: text from a provider, bounded and valid in the database encoding */
extern char *govshare_remote_text(const char *s, int max);

/*
 * session.c: what a kept connection's provider session holds for the next
 * request (in TopMemoryContext, with the connection): whether its
 * govshare refuses what would outlive a request, and then the statements
 * prepared on it.
 */
#define GOVSHARE_PREPARED_MAX 32		/* query texts prepared */
#define GOVSHARE_PREPARED_TEXT_MAX 8192 /* the longest prepared */
#define GOVSHARE_SEEN_MAX 64			/* texts remembered as sent once */
#define GOVSHARE_FAILED_MAX 8			/* ... whose preparation failed */

typedef struct GovsharePrepared
{
	char	   *text;			/* NULL: a free slot */
	int			nparams;
	uint64		used;			/* the request that last used it */
} GovsharePrepared;

typedef struct GovshareSession
{
	bool		read_only;
	bool		fixed;			/* begin, receipt and end are prepared */
	uint64		requests;		/* requests made on the connection */
	GovsharePrepared queries[GOVSHARE_PREPARED_MAX];
	uint64		seen[GOVSHARE_SEEN_MAX];	/* hashes of texts sent once */
	int			next_seen;
	uint64		failed[GOVSHARE_FAILED_MAX];	/* ... and not prepared */
	int			next_failed;
} GovshareSession;

extern GovshareSession *govshare_session_new(void);
extern void govshare_session_free(GovshareSession *s);
extern char *govshare_session_query_name(int slot);
extern int	govshare_session_query_slot(GovshareSession *s, const char *query, int nparams,
										bool *prepare, bool *evict);
extern void govshare_session_prepared(GovshareSession *s, int slot, const char *query,
									  int nparams);
extern void govshare_session_unprepared(GovshareSession *s, const char *query, int nparams);

/* connection.c: kept connections, connecting, waits and cancels */
extern PGconn *govshare_connection_take(const char *target, const char *conninfo,
										bool trusted, TimestampTz deadline,
										GovshareSession **session);
extern void govshare_connection_check(const char *target, TimestampTz deadline);
extern void govshare_connection_keep(const char *target, const char *conninfo,
									 bool trusted, PGconn *conn, GovshareSession *session);
extern void govshare_connection_abandon(PGconn *conn);
extern void govshare_connection_wait(PGconn *conn, bool want_read, bool want_write,
									 TimestampTz deadline, const char *target);
extern void govshare_connection_lost(const char *target, PGconn *conn) pg_attribute_noreturn();

/* rows.c: how a result row becomes a tuple of the caller's row type */
typedef struct GovshareRowSink GovshareRowSink;

extern GovshareRowSink *govshare_rows_begin(FunctionCallInfo fcinfo, bool json);
extern void govshare_rows_put(GovshareRowSink *sink, const char *target, const PGresult *res);

/* exchange.c: the pipeline of one request, and what came back from the provider */
typedef struct GovshareExchange
{
	const char *target;
	PGconn	   *conn;
	TimestampTz deadline;
	int			nparams;		/* the query's $1..$n, text, NULL: SQL NULL */
	char	  **params;
	int64		rows;
	bool		denied;
	char	   *remote_error;	/* the query's or the token's error, formatted */
	int			remote_sqlstate;
	char	   *remote_message;
	char	   *remote_detail;
	char	   *remote_hint;
	bool		has_receipt;
	int64		receipt_seq;
	unsigned char receipt_hash[GOVSHARE_HASH_LEN];
	bool		clean;			/* the pipeline ended as expected */
	GovshareSession *session;	/* the connection's provider session */
	const char *query;
	int			slot;			/* the query's prepared statement, or -1 */
	bool		preparing;		/* ... prepared in this request */
	bool		evicting;		/* ... after deallocating the slot's last one */
	bool		sent_fixed;		/* the fixed statements are being prepared */
	bool		pre_failed;		/* that, or the deallocation, failed */
	PGresult   *pending;		/* a row being stored */
} GovshareExchange;

extern void govshare_exchange_run(GovshareExchange *x, const char *token, const char *jti,
								  const char *query, GovshareRowSink *sink);
extern void govshare_exchange_raise(GovshareExchange *x) pg_attribute_noreturn();

#endif							/* GS_REMOTE_INTERNAL_H */
