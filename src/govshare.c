/*-------------------------------------------------------------------------
 *
 * govshare.c
 *	  Entry point of the govshare library: _PG_init.
 *
 * govshare must be loaded at server start (shared_preload_libraries): later
 * modules install hooks, claim shared memory and start a background worker,
 * none of which can be done by a library loaded into a single backend.
 * _PG_init therefore refuses to run anywhere else, and CREATE EXTENSION in a
 * server that was not started with the library fails with a HINT that says
 * what to add.
 *
 * The order of _PG_init is fixed: refuse, define GUCs, reserve the prefix,
 * initialise each module, install hooks.
 *
 * src/govshare.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "govshare.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Module load.  Only reached at postmaster start when govshare is listed in
 * shared_preload_libraries; anywhere else it raises an error, which makes
 * CREATE EXTENSION (which loads the library to create its C functions) fail
 * cleanly instead of leaving a half-working extension behind.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("govshare must be loaded via shared_preload_libraries"),
				 errdetail("govshare enforces sharing rules and audits access from the start of every session."),
				 errhint("Add 'govshare' to shared_preload_libraries in postgresql.conf and restart the server.")));

	MarkGUCPrefixReserved("govshare");
}
