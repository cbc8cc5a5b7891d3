/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Every govshare setting, defined in one place and one order.
 *
 * Each variable lives in the subsystem that reads it and is declared in
 * that subsystem's header; this file only registers them, as
 * PostgreSQL's guc_tables.c does for the server's own.  docs/settings.md
 * lists them with their defaults, contexts and meanings; keep the two in
 * step (test/t/ and sql/settings.sql compare them with pg_settings).
 *
 * src/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "common/gs_common.h"
#include "policy/gs_policy.h"
#include "audit/gs_audit.h"
#include "enforce/gs_enforce.h"
#include "remote/gs_remote.h"
#include "gs_guc.h"

static const struct config_enum_entry denied_column_options[] = {
	{"error", GOVSHARE_DENIED_COLUMN_ERROR, false},
	{"null", GOVSHARE_DENIED_COLUMN_NULL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry request_scope_options[] = {
	{"session", GOVSHARE_REQUEST_SCOPE_SESSION, false},
	{"transaction", GOVSHARE_REQUEST_SCOPE_TRANSACTION, false},
	{NULL, 0, false}
};

static const struct config_enum_entry audit_mode_options[] = {
	{"strict", GOVSHARE_AUDIT_STRICT, false},
	{"async", GOVSHARE_AUDIT_ASYNC, false},
	{"off", GOVSHARE_AUDIT_OFF, false},
	{NULL, 0, false}
};

static const struct config_enum_entry audit_internal_options[] = {
	{"sensitive", GOVSHARE_AUDIT_INTERNAL_SENSITIVE, false},
	{"all", GOVSHARE_AUDIT_INTERNAL_ALL, false},
	{"none", GOVSHARE_AUDIT_INTERNAL_NONE, false},
	{NULL, 0, false}
};

/* Assign hooks of the key files: a changed file forgets what was read. */
static void
pseudonym_key_file_assign(const char *newval, void *extra)
{
	govshare_pseudonym_forget_keys();
}

static void
audit_key_file_assign(const char *newval, void *extra)
{
	govshare_audit_forget_key();
}

/*
 * Defines every govshare setting; called from _PG_init before
 * MarkGUCPrefixReserved("govshare").  Grouped by subsystem, lowest first.
 */
void
govshare_guc_define(void)
{
	/* secret files (src/common/keyfile.c) */
	DefineCustomStringVariable("govshare.pseudonym_key_file",
							   "File holding the server's secret for pseudonyms (at least 32 bytes, readable by the server only).",
							   "Each consumer agency's pseudonym key is derived from it.",
							   &govshare_pseudonym_key_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, pseudonym_key_file_assign, NULL);
	DefineCustomStringVariable("govshare.audit_key_file",
							   "File holding the key that HMACs the access log's hash chain (empty: plain SHA-256).",
							   "With a key, a chain cannot be recomputed by someone who can edit the table but not read the file.",
							   &govshare_audit_key_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, audit_key_file_assign, NULL);
	DefineCustomStringVariable("govshare.signing_key_file",
							   "File holding the self agency's Ed25519 private key (PEM), which signs checkpoints of the access log.",
							   "Its public key must be registered with govshare.add_agency_key() for the self agency.",
							   &govshare_signing_key_file, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	/* request contexts and tokens (src/policy/context.c) */
	DefineCustomBoolVariable("govshare.require_signed_requests",
							 "Refuses begin_request() for consumer agencies: they must use begin_request_signed().",
							 NULL, &govshare_require_signed_requests, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.token_clock_skew",
							"Tolerance on the times of request tokens (iat, nbf, exp).",
							NULL, &govshare_token_clock_skew, 60, 0, 3600,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.token_max_lifetime",
							"The longest lifetime (exp - iat) of an accepted request token.",
							NULL, &govshare_token_max_lifetime, 3600, 1, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomEnumVariable("govshare.request_scope",
							 "How long a request context lasts: the session, or the transaction that began it.",
							 "transaction: begin_request() and begin_request_signed() only in a transaction block, "
							 "and the context ends at its commit or rollback; for roles behind a pooler in transaction mode.",
							 &govshare_request_scope, GOVSHARE_REQUEST_SCOPE_SESSION, request_scope_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	/* the audit (src/audit/) */
	DefineCustomEnumVariable("govshare.audit_mode",
							 "How consumer access to governed data is recorded: strict, async or off.",
							 "strict: a statement returns no row before its access record is durable, and fails when it cannot be; "
							 "async: records are queued without waiting; off: not recorded (benchmarks only).",
							 &govshare_audit_mode, GOVSHARE_AUDIT_STRICT, audit_mode_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("govshare.audit_internal",
							 "Which reads of governed relations by internal roles are recorded: sensitive, all or none.",
							 NULL,
							 &govshare_audit_internal, GOVSHARE_AUDIT_INTERNAL_SENSITIVE, audit_internal_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("govshare.audit_statement_text",
							 "Whether access records keep the statement's text (its SHA-256 is always kept).",
							 NULL,
							 &govshare_audit_statement_text, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.audit_subject_limit",
							"How many distinct data subjects (personal ids) an access record lists; the rest are counted.",
							"0 records no data subjects.",
							&govshare_audit_subject_limit, 100, 0, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.audit_timeout",
							"How long a statement waits for its access record to be durable, or for room in the audit queue.",
							NULL,
							&govshare_audit_timeout, 10000, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.audit_text_max",
							"The longest statement text an access record keeps; its SHA-256 always covers the whole.",
							NULL,
							&govshare_audit_text_max, 4096, 0, 65536,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.audit_text_budget",
							"The statement text one agency's access records may keep in a minute, together.",
							"Past it, until the minute ends, the agency's records keep the text's SHA-256 and a note instead of the text.",
							&govshare_audit_text_budget, 1024, 0, INT_MAX / 1024,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.audit_queue_size",
							"Size of each database's audit queue in shared memory.",
							"Records wait here until the audit writer has committed them; "
							"under async audit it bounds what a crash can lose.",
							&govshare_audit_queue_size, 4096, 64, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.audit_max_databases",
							"Number of databases that can record access at the same time.",
							"Each has its own audit queue and audit writer.",
							&govshare_audit_max_databases, 8, 1, 128,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("govshare.archive_directory",
							   "Directory of the server where govshare.archive_log() writes archives of the access log.",
							   "An absolute path; empty: archiving is not set up.",
							   &govshare_archive_directory, "",
							   PGC_SUSET, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("govshare.standby_conninfo",
							   "How a hot standby's audit forwarder connects to the primary (empty: primary_conninfo).",
							   "The standby's access records are sent there, to govshare.audit_submit(); the database name is the standby's.",
							   &govshare_standby_conninfo, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomStringVariable("govshare.node_name",
							   "The name a hot standby gives the access records it sends to the primary (empty: cluster_name, else host:port).",
							   NULL,
							   &govshare_node_name, "",
							   PGC_SIGHUP, 0, govshare_node_name_check, NULL, NULL);

	/* enforcement (src/enforce/) */
	DefineCustomEnumVariable("govshare.on_denied_column",
							 "What a consumer's query that reads a denied column gets: an error, or NULL.",
							 "With 'null', SELECT * over a relation with denied columns returns NULL for them.",
							 &govshare_on_denied_column, GOVSHARE_DENIED_COLUMN_ERROR, denied_column_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	/* remote queries (src/remote/) */
	DefineCustomIntVariable("govshare.remote_timeout",
							"The longest a remote query may take, connection included.",
							"On timeout the remote query is cancelled.",
							&govshare_remote_timeout, 30000, 100, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("govshare.remote_token_lifetime",
							"The lifetime of the request tokens remote queries send.",
							"The provider refuses tokens longer-lived than its govshare.token_max_lifetime.",
							&govshare_remote_token_lifetime, 60, 5, 3600,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}
