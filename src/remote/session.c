/*-------------------------------------------------------------------------
 *
 * session.c
 *	  What a kept connection's provider session holds for the next request:
 *	  whether its govshare keeps a request from leaving state behind, and
 *	  the statements prepared on it.
 *
 * Once the provider is known to refuse, within a signed request, whatever
 * would outlive the request (exchange.c), the connection's requests use
 * prepared statements: the fixed ones of every request, and the query
 * texts sent more than once.  A text is prepared the second time it is
 * sent, so that texts made for one request (a value written into the
 * text) never take a slot: the first time, only a hash of it is kept.  At
 * most GOVSHARE_PREPARED_MAX texts are prepared, as
 * "govshare_query_<slot>"; a text that needs a slot when all are taken
 * takes the one used least lately, whose statement the provider
 * deallocates first.  A text whose preparation failed (it does not parse)
 * is not prepared again, so that it takes no slot from the others.
 *
 * src/remote/session.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/memutils.h"

#include "remote/remote_internal.h"

/* A new session: nothing known of the provider, nothing prepared. */
GovshareSession *
govshare_session_new(void)
{
	return MemoryContextAllocZero(TopMemoryContext, sizeof(GovshareSession));
}

/* Frees what the session of a closed connection held. */
void
govshare_session_free(GovshareSession *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < GOVSHARE_PREPARED_MAX; i++)
		if (s->queries[i].text != NULL)
			pfree(s->queries[i].text);
	pfree(s);
}

/* The name of the statement prepared in a slot. */
char *
govshare_session_query_name(int slot)
{
	return psprintf("govshare_query_%d", slot);
}

/* A hash of a query text and its number of parameters (never 0). */
static uint64
text_hash(const char *query, int nparams)
{
	uint64		h = hash_bytes_extended((const unsigned char *) query, strlen(query),
										(uint64) nparams);

	return h == 0 ? 1 : h;
}

/*
 * Which statement a request sends its query through.  Returns the slot of
 * the statement prepared for it, or -1 for an unnamed statement.  When
 * the slot is yet to be prepared (*prepare), *evict says whether the
 * statement in it is to be deallocated first; the caller calls
 * govshare_session_prepared() once the provider prepared it.
 */
int
govshare_session_query_slot(GovshareSession *s, const char *query, int nparams,
							bool *prepare, bool *evict)
{
	uint64		h;
	int			slot = -1;
	bool		seen = false;

	*prepare = false;
	*evict = false;
	s->requests++;
	if (strlen(query) > GOVSHARE_PREPARED_TEXT_MAX)
		return -1;
	for (int i = 0; i < GOVSHARE_PREPARED_MAX; i++)
	{
		GovsharePrepared *p = &s->queries[i];

		if (p->text != NULL && p->nparams == nparams && strcmp(p->text, query) == 0)
		{
			p->used = s->requests;
			return i;
		}
	}

	/*
	 * Sent once before (on this connection, before its provider was known
	 * too): prepared now, unless its preparation failed; else remembered.
	 */
	h = text_hash(query, nparams);
	for (int i = 0; i < GOVSHARE_FAILED_MAX; i++)
		if (s->failed[i] == h)
			return -1;
	for (int i = 0; i < GOVSHARE_SEEN_MAX && !seen; i++)
		seen = s->seen[i] == h;
	if (!seen)
	{
		s->seen[s->next_seen] = h;
		s->next_seen = (s->next_seen + 1) % GOVSHARE_SEEN_MAX;
		return -1;
	}
	if (!s->read_only)
		return -1;

	/* a free slot, else the one used least lately */
	for (int i = 0; i < GOVSHARE_PREPARED_MAX; i++)
	{
		GovsharePrepared *p = &s->queries[i];

		if (p->text == NULL)
		{
			slot = i;
			break;
		}
		if (slot < 0 || p->used < s->queries[slot].used)
			slot = i;
	}
	*evict = s->queries[slot].text != NULL;
	if (*evict)
	{
		pfree(s->queries[slot].text);
		s->queries[slot].text = NULL;
	}
	*prepare = true;
	return slot;
}

/* The provider failed to prepare the query: it is sent unnamed from now on. */
void
govshare_session_unprepared(GovshareSession *s, const char *query, int nparams)
{
	s->failed[s->next_failed] = text_hash(query, nparams);
	s->next_failed = (s->next_failed + 1) % GOVSHARE_FAILED_MAX;
}

/* The provider prepared the query in slot. */
void
govshare_session_prepared(GovshareSession *s, int slot, const char *query, int nparams)
{
	GovsharePrepared *p = &s->queries[slot];

	p->text = MemoryContextStrdup(TopMemoryContext, query);
	p->nparams = nparams;
	p->used = s->requests;
}
