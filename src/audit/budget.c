/*-------------------------------------------------------------------------
 *
 * budget.c
 *	  What an agency may write into the access log: the statement text a
 *	  record keeps, bounded per record and per agency and minute.
 *
 * Every statement is recorded; what varies is how much of its text the
 * record keeps.  The SHA-256 of the whole text is always kept.  Of the
 * text itself a record keeps at most govshare.audit_text_max bytes, and
 * an agency's records together at most govshare.audit_text_budget kB of
 * text a minute: past that, until the minute ends, its records keep the
 * hash and a note instead of the text.  So one consumer sending long
 * statements from many sessions cannot fill the provider's disk, nor
 * crowd out the text of other agencies' records.  Internal roles count as
 * one agency, "(internal)".
 *
 * The counters live in shared memory: a small table of agencies, one
 * spinlock, each entry the current minute and the bytes kept in it.  An
 * agency that finds the table full shares its last entry with every other
 * latecomer, which only makes their budget stricter.
 *
 * src/audit/budget.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "audit/audit_internal.h"

/* GUCs (src/guc.c). */
int			govshare_audit_text_max = 4096;	/* bytes a record keeps */
int			govshare_audit_text_budget = 1024;	/* kB an agency's records keep a minute */

#define BUDGET_AGENCIES 64
#define BUDGET_NAME_LEN 64

typedef struct BudgetEntry
{
	char		agency[BUDGET_NAME_LEN];	/* "" : free */
	int64		minute;			/* minutes since PostgreSQL's epoch */
	int64		bytes;			/* text kept in that minute */
} BudgetEntry;

typedef struct BudgetShared
{
	slock_t		mutex;
	BudgetEntry entries[BUDGET_AGENCIES];
} BudgetShared;

static BudgetShared *budget = NULL;

/* shmem_request_hook, through the queue's: the table's room. */
void
govshare_audit_budget_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(BudgetShared)));
}

/* shmem_startup_hook, through the queue's: attaches, creating it the first time. */
void
govshare_audit_budget_startup(void)
{
	bool		found;

	budget = ShmemInitStruct("govshare audit text budget", sizeof(BudgetShared), &found);
	if (!found)
	{
		memset(budget, 0, sizeof(BudgetShared));
		SpinLockInit(&budget->mutex);
	}
}

/*
 * Charges len bytes of text to agency (NULL: internal roles) in the
 * current minute; returns false, charging nothing, when that would pass
 * the agency's budget.
 */
static bool
charge(const char *agency, int len)
{
	int64		minute = GetCurrentTimestamp() / (60 * USECS_PER_SEC);
	int64		limit = (int64) govshare_audit_text_budget * 1024;
	BudgetEntry *e = NULL;
	bool		ok;

	if (agency == NULL)
		agency = "(internal)";
	SpinLockAcquire(&budget->mutex);
	for (int i = 0; i < BUDGET_AGENCIES; i++)
	{
		BudgetEntry *c = &budget->entries[i];

		if (strncmp(c->agency, agency, BUDGET_NAME_LEN - 1) == 0 ||
			c->agency[0] == '\0' || i == BUDGET_AGENCIES - 1)
		{
			e = c;
			break;
		}
	}
	if (e->agency[0] == '\0')
		strlcpy(e->agency, agency, BUDGET_NAME_LEN);
	if (e->minute != minute)
	{
		e->minute = minute;
		e->bytes = 0;
	}
	ok = e->bytes + len <= limit;
	if (ok)
		e->bytes += len;
	SpinLockRelease(&budget->mutex);
	return ok;
}

/*
 * The statement text a record of agency keeps: the start of text, at most
 * govshare.audit_text_max bytes (cut at a character boundary), or, once
 * the agency passed its budget for this minute, a note saying so.  In the
 * current memory context.
 */
char *
govshare_audit_text_kept(const char *agency, const char *text)
{
	int			len = strlen(text);

	if (len > govshare_audit_text_max)
		len = pg_mbcliplen(text, len, govshare_audit_text_max);
	if (budget != NULL && len > 0 && !charge(agency, len))
		return psprintf("(statement text not kept: agency %s passed its audit text budget of %d kB a minute; its SHA-256 is kept)",
						agency ? agency : "(internal)", govshare_audit_text_budget);
	return pnstrdup(text, len);
}

/*
 * The member "params" of a record's detail (format GSAL2) for the n
 * parameter values of a statement (values[i] NULL: SQL NULL), as JSON
 * text: an array of strings, kept apart from the statement text and under
 * the same limits.  Together the values keep at most
 * govshare.audit_text_max bytes (each later value is cut at a character
 * boundary, then empty), charged to the agency's budget like statement
 * text; past the budget, a note in place of the array.  In the current
 * memory context.
 */
char *
govshare_audit_params_kept(const char *agency, int n, const char *const *values)
{
	StringInfoData out;
	int			room = govshare_audit_text_max;
	int			kept = 0;

	initStringInfo(&out);
	appendStringInfoChar(&out, '[');
	for (int i = 0; i < n; i++)
	{
		int			len;
		char	   *v;

		if (i > 0)
			appendStringInfoChar(&out, ',');
		if (values[i] == NULL)
		{
			appendStringInfoString(&out, "null");
			continue;
		}
		len = strlen(values[i]);
		if (len > room)
			len = pg_mbcliplen(values[i], len, room);
		room -= len;
		kept += len;
		v = pnstrdup(values[i], len);
		escape_json(&out, v);
		pfree(v);
	}
	appendStringInfoChar(&out, ']');
	if (budget != NULL && kept > 0 && !charge(agency, kept))
	{
		resetStringInfo(&out);
		appendStringInfoString(&out, "\"(parameters not kept: agency ");
		appendStringInfoString(&out, agency ? agency : "(internal)");
		appendStringInfo(&out, " passed its audit text budget of %d kB a minute)\"",
						 govshare_audit_text_budget);
	}
	return out.data;
}
