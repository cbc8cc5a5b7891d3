/*-------------------------------------------------------------------------
 *
 * gs_guc.h
 *	  The settings' registration (src/guc.c), called from _PG_init.
 *
 * src/gs_guc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GS_GUC_H
#define GS_GUC_H

extern void govshare_guc_define(void);

#endif							/* GS_GUC_H */
