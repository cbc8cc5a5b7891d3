/*-------------------------------------------------------------------------
 *
 * share.c
 *	  Each agency's fair share of its database's audit queue.
 *
 * A consumer agency that floods the queue (many sessions, long statement
 * texts) must not make other agencies' strict statements wait until they
 * time out.  So each queue counts, per agency, the bytes of its records
 * waiting in the ring and the room reserved for its statements' last
 * records, and a record (or reservation) that would take an agency past
 * its share waits, as if the queue were full, until the writer has
 * written some of that agency's records.  The share is the ring's size
 * divided by the number of agencies with bytes in the queue, and never
 * more than half of it: whatever one agency does, half the queue stays
 * for the others.  Internal roles count as the self agency; token uses
 * as an agency of their own.
 *
 * A record's last bytes (spending a reservation) and records queued in
 * an abort path are never held back: they were accounted for when the
 * statement started.
 *
 * The table has GOVSHARE_AUDIT_SHARE_SLOTS entries per queue, keyed by a
 * hash of the agency code; an entry is free when it holds no bytes.
 * Agencies that find it full share its last entry, which only makes
 * their share stricter.  The queue's lock guards it.
 *
 * src/audit/share.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"

#include "audit/audit_internal.h"

/* The key of an agency's entry: a hash of its code, never 0. */
static uint32
share_key(const char *agency)
{
	uint32		key;

	if (agency == NULL)
		return 1;
	key = hash_bytes((const unsigned char *) agency, (int) strlen(agency));
	return key == 0 ? 2 : key;
}

/*
 * The entry of agency in q (locked exclusively): its own, a free one
 * taken for it, or the last when the table is full.
 */
int
govshare_audit_share_slot(GovshareAuditQueue *q, const char *agency)
{
	uint32		key = share_key(agency);
	int			free_slot = -1;

	for (int i = 0; i < GOVSHARE_AUDIT_SHARE_SLOTS; i++)
	{
		if (q->shares[i].bytes > 0 && q->shares[i].key == key)
			return i;
		if (q->shares[i].bytes == 0 && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return GOVSHARE_AUDIT_SHARE_SLOTS - 1;
	q->shares[free_slot].key = key;
	return free_slot;
}

/*
 * May the agency of entry slot add need bytes to q (locked), of a ring of
 * size bytes?  Within its share: size divided by the agencies with bytes
 * queued (itself included), at most half.
 */
bool
govshare_audit_share_allows(GovshareAuditQueue *q, int slot, uint64 need, uint64 size)
{
	int			agencies = 0;

	for (int i = 0; i < GOVSHARE_AUDIT_SHARE_SLOTS; i++)
		if (q->shares[i].bytes > 0 || i == slot)
			agencies++;
	return q->shares[slot].bytes + need <= size / Max(2, agencies);
}

/* Adds bytes to (or, negative, takes them from) the entry slot of q (locked). */
void
govshare_audit_share_add(GovshareAuditQueue *q, int slot, int64 bytes)
{
	GovshareAuditShare *s;

	if (slot < 0 || slot >= GOVSHARE_AUDIT_SHARE_SLOTS)
		return;
	s = &q->shares[slot];
	if (bytes < 0 && (uint64) -bytes > s->bytes)
		s->bytes = 0;
	else
		s->bytes += bytes;
}
