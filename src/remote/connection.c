/*-------------------------------------------------------------------------
 *
 * connection.c
 *	  Connections to other agencies' endpoints: made, kept, waited on and
 *	  cancelled.
 *
 * Every wait for the provider is on the latch and the socket, so a cancel
 * or govshare.remote_timeout interrupts it; the remote query is then
 * cancelled too (PQcancel, which itself blocks until the provider answers)
 * and the connection closed.  A connection is kept for the next request to
 * the same endpoint only when the whole pipeline ended cleanly, with the
 * remote context ended.
 *
 * src/remote/connection.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <poll.h>

#include "libpq-fe.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "remote/remote_internal.h"

/* A connection kept for the next request to the same agency. */
typedef struct RemoteConn
{
	char	   *agency;			/* in TopMemoryContext */
	char	   *conninfo;		/* the endpoint it was opened with */
	bool		trusted;
	PGconn	   *conn;
} RemoteConn;

#define MAX_CONNS 16
static RemoteConn conns[MAX_CONNS];
static int	nconns = 0;

/* Milliseconds left before the deadline, at least 0. */
static long
remaining_ms(TimestampTz deadline)
{
	return TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
}

/* Raises the error of a request that passed govshare.remote_timeout. */
static void
timed_out(const char *target)
{
	ereport(ERROR,
			(errcode(ERRCODE_QUERY_CANCELED),
			 errmsg("the remote query to agency \"%s\" timed out after %d ms", target, govshare_remote_timeout),
			 errhint("govshare.remote_timeout bounds a remote query, connection included.")));
}

/* libpq's message, without its trailing newline. */
static char *
conn_message(PGconn *conn)
{
	char	   *m = pstrdup(PQerrorMessage(conn));
	int			n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		m[--n] = '\0';
	return m;
}

/* Set when the connection failed: a cancel request would not get through. */
static bool conn_failed = false;

/*
 * Raises the error of a connection that broke during a request, with
 * libpq's message, and remembers that no cancel can be sent on it.
 */
void
govshare_connection_lost(const char *target, PGconn *conn)
{
	conn_failed = true;
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("lost the connection to agency \"%s\" during a remote query", target),
			 errdetail_internal("%s", conn_message(conn))));
}

/*
 * Waits for the socket (read, or write too when want_write), the latch or
 * the deadline; interrupts are served, so a cancel ends the wait.
 */
void
govshare_connection_wait(PGconn *conn, bool want_read, bool want_write, TimestampTz deadline,
						 const char *target)
{
	int			events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;
	long		ms = remaining_ms(deadline);

	if (ms <= 0)
		timed_out(target);
	if (want_read)
		events |= WL_SOCKET_READABLE;
	if (want_write)
		events |= WL_SOCKET_WRITEABLE;
	(void) WaitLatchOrSocket(MyLatch, events, PQsocket(conn), ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* The provider's notices are not for this server's log. */
static void
drop_notice(void *arg, const PGresult *res)
{
}

/*
 * A new connection to the endpoint, made without blocking.  An endpoint
 * that is not trusted (a non-superuser registered it) must have
 * authenticated with its password.
 */
static PGconn *
connect_endpoint(const char *target, const char *conninfo, bool trusted, TimestampTz deadline)
{
	const char *keywords[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
	const char *values[] = {conninfo, "govshare remote_query", GetDatabaseEncodingName(), NULL};
	PGconn	   *volatile conn;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	conn = PQconnectStartParams(keywords, values, true);
	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory connecting to agency \"%s\"", target)));
	PG_TRY();
	{
		if (PQstatus(conn) == CONNECTION_BAD)
			st = PGRES_POLLING_FAILED;
		while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED)
		{
			govshare_connection_wait(conn, st == PGRES_POLLING_READING,
									 st == PGRES_POLLING_WRITING, deadline, target);
			st = PQconnectPoll(conn);
		}
		if (st == PGRES_POLLING_FAILED)
			ereport(ERROR,
					(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
					 errmsg("could not connect to agency \"%s\"", target),
					 errdetail_internal("%s", conn_message(conn)),
					 errhint("govshare.add_endpoint() registers the agency's connection; a govshare_admin can check it.")));
		if (!trusted && !PQconnectionUsedPassword(conn))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("the endpoint of agency \"%s\" did not authenticate with its password", target),
					 errdetail("An endpoint registered by a non-superuser must not use the server's own credentials."),
					 errhint("Make the provider ask for the password, or have a superuser register the endpoint.")));
		PQsetNoticeReceiver(conn, drop_notice, NULL);
		if (PQsetnonblocking(conn, 1) != 0)
			govshare_connection_lost(target, conn);
	}
	PG_CATCH();
	{
		PQfinish(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return conn;
}

/* Forgets the kept connection to the agency, closing it. */
static void
drop_conn(const char *agency)
{
	for (int i = 0; i < nconns; i++)
		if (strcmp(conns[i].agency, agency) == 0)
		{
			PQfinish(conns[i].conn);
			pfree(conns[i].agency);
			pfree(conns[i].conninfo);
			conns[i] = conns[--nconns];
			return;
		}
}

/*
 * Is a kept, idle connection still usable?  The server sends nothing to an
 * idle connection of ours but its end (a shutdown's FATAL, a terminated
 * backend's EOF), so one with something to read is not.  A peer gone
 * without a word is found out only when the request fails.
 */
static bool
conn_alive(PGconn *conn)
{
	struct pollfd pfd;
	int			r;

	if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
		return false;
	pfd.fd = PQsocket(conn);
	pfd.events = POLLIN;
	pfd.revents = 0;
	r = poll(&pfd, 1, 0);
	return r == 0;
}

/*
 * The connection to use for a request to the agency: the kept one when it
 * was opened with the same endpoint and is idle, else a new one.  It is
 * taken out of the cache while in use and put back by
 * govshare_connection_keep().
 */
PGconn *
govshare_connection_take(const char *target, const char *conninfo, bool trusted,
						 TimestampTz deadline)
{
	/* a new request: its connection has not failed yet */
	conn_failed = false;
	for (int i = 0; i < nconns; i++)
		if (strcmp(conns[i].agency, target) == 0)
		{
			PGconn	   *conn = conns[i].conn;
			bool		same = strcmp(conns[i].conninfo, conninfo) == 0 &&
				conns[i].trusted == trusted;

			pfree(conns[i].agency);
			pfree(conns[i].conninfo);
			conns[i] = conns[--nconns];
			if (same && conn_alive(conn))
				return conn;
			PQfinish(conn);
			break;
		}
	return connect_endpoint(target, conninfo, trusted, deadline);
}

/*
 * Keeps the connection for the next request to the agency, in place of any
 * kept before; when MAX_CONNS are kept already, the one in the first slot
 * is closed to make room.
 */
void
govshare_connection_keep(const char *target, const char *conninfo, bool trusted, PGconn *conn)
{
	drop_conn(target);
	if (nconns == MAX_CONNS)
		drop_conn(conns[0].agency);
	conns[nconns].agency = MemoryContextStrdup(TopMemoryContext, target);
	conns[nconns].conninfo = MemoryContextStrdup(TopMemoryContext, conninfo);
	conns[nconns].trusted = trusted;
	conns[nconns].conn = conn;
	nconns++;
}

/* Cancels what the connection runs (PQcancel blocks until the provider answers). */
static void
cancel_remote(PGconn *conn)
{
	PGcancel   *cancel;
	char		errbuf[256];

	if (PQtransactionStatus(conn) != PQTRANS_ACTIVE)
		return;
	cancel = PQgetCancel(conn);
	if (cancel == NULL)
		return;
	(void) PQcancel(cancel, errbuf, sizeof(errbuf));
	PQfreeCancel(cancel);
}

/*
 * Gives up the connection of a request that failed: the remote side stops
 * too (a cancel, a timeout, a row that does not convert), unless the
 * connection itself failed; the connection is closed, not reused.
 */
void
govshare_connection_abandon(PGconn *conn)
{
	if (!conn_failed)
		cancel_remote(conn);
	PQfinish(conn);
}
