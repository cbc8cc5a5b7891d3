/*-------------------------------------------------------------------------
 *
 * gs_remote.h
 *	  The remote subsystem: queries to other agencies' databases.
 *
 * remote_query() and remote_query_json() over libpq, endpoints, tokens
 * signed by the self agency, the request pipeline and kept connections.
 * Only SQL calls into it; it calls src/audit/, src/policy/, src/catalog/
 * and src/common/.
 *
 * src/remote/gs_remote.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_REMOTE_H
#define GS_REMOTE_H

/* Settings (src/guc.c). */
extern int	govshare_remote_timeout;
extern int	govshare_remote_token_lifetime;

#endif							/* GS_REMOTE_H */
