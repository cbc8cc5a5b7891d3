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

/* Does roleid own relation relid?  (object_ownercheck from PostgreSQL 16.) */
#if PG_VERSION_NUM >= 160000
#define govshare_rel_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define govshare_rel_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/* Does roleid own database dboid? */
#if PG_VERSION_NUM >= 160000
#define govshare_db_ownercheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#define govshare_db_ownercheck(dboid, roleid) pg_database_ownercheck((dboid), (roleid))
#endif

#endif							/* GOVSHARE_COMPAT_H */
