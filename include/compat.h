/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PG_VERSION_NUM test of govshare, as shims.
 *
 * Code elsewhere never tests the server version; it calls what this file
 * defines.  govshare supports PostgreSQL 15 and later.
 *
 * include/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_COMPAT_H
#define GOVSHARE_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "govshare requires PostgreSQL 15 or later"
#endif

#endif							/* GOVSHARE_COMPAT_H */
