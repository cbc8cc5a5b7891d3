/*-------------------------------------------------------------------------
 *
 * connection.c
 *	  Connections to other agencies' endpoints: made, kept, waited on and
 *	  cancelled, each step with the request's deadline.
 *
 * Every wait for the provider is on the latch and the socket, so a cancel,
 * pg_terminate_backend or govshare.remote_timeout interrupts it.  The
 * endpoint's host names are resolved with the deadline too (resolve.c),
 * and libpq gets their addresses.  The remote query of a request that
 * failed is cancelled without waiting for the provider: the cancel request
 * goes out on a non-blocking socket, with at most GOVSHARE_CANCEL_WAIT_MS
 * to connect, and no answer is awaited; then the connection is closed.  A
 * connection is kept for the next request to the same endpoint only when
 * the whole pipeline ended cleanly, with the remote context ended.
 *
 * src/remote/connection.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libpq-fe.h"
#include "libpq/pqcomm.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
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
	GovshareSession *session;	/* what its provider session holds */
} RemoteConn;

#define MAX_CONNS 16
static RemoteConn conns[MAX_CONNS];
static int	nconns = 0;

/* The longest a cancel request waits to connect to the provider, ms. */
#define GOVSHARE_CANCEL_WAIT_MS 500

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

/*
 * libpq's message, without its trailing newline; it may quote the
 * provider's, so it is bounded and made valid in the database encoding.
 */
static char *
conn_message(PGconn *conn)
{
	char	   *m = govshare_remote_text(PQerrorMessage(conn), GOVSHARE_REMOTE_TEXT_MAX);
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
 * Serves interrupts, and ends a request that passed its deadline.  A
 * backend told to terminate (pg_terminate_backend, a fast shutdown) raises
 * an error here first, so that the request is abandoned (its remote query
 * cancelled, the connection closed) and recorded on the way out; the
 * termination itself follows at the next CHECK_FOR_INTERRUPTS.
 */
void
govshare_connection_check(const char *target, TimestampTz deadline)
{
	if (ProcDiePending && InterruptHoldoffCount == 0 && CritSectionCount == 0)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("the remote query to agency \"%s\" is abandoned: this backend is terminating",
						target)));
	CHECK_FOR_INTERRUPTS();
	if (remaining_ms(deadline) <= 0)
		timed_out(target);
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

	if (want_read)
		events |= WL_SOCKET_READABLE;
	if (want_write)
		events |= WL_SOCKET_WRITEABLE;
	(void) WaitLatchOrSocket(MyLatch, events, PQsocket(conn), remaining_ms(deadline),
							 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	govshare_connection_check(target, deadline);
}

/* The provider's notices are not for this server's log. */
static void
drop_notice(void *arg, const PGresult *res)
{
}

/*
 * Polls libpq until the connection is made or has failed, waiting on the
 * socket with the deadline.  Returns whether it was made.
 */
static bool
poll_connect(PGconn *conn, const char *target, TimestampTz deadline)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (PQstatus(conn) == CONNECTION_BAD)
		return false;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED)
	{
		govshare_connection_wait(conn, st == PGRES_POLLING_READING,
								 st == PGRES_POLLING_WRITING, deadline, target);
		st = PQconnectPoll(conn);
	}
	return st == PGRES_POLLING_OK;
}

/*
 * A new connection to the endpoint, made without blocking.  Its host names
 * are resolved here first, with the deadline, and libpq gets their
 * addresses as hostaddr.  An endpoint that is not trusted (a non-superuser
 * registered it) must have authenticated with its password.
 */
static PGconn *
connect_endpoint(const char *target, const char *conninfo, bool trusted, TimestampTz deadline)
{
	const char *keywords[8];
	const char *values[8];
	int			n = 0;
	GovshareHosts hosts;
	PGconn	   *volatile conn;

	/* the endpoint's string, then what replaces parts of it */
	keywords[n] = "dbname";
	values[n++] = conninfo;
	if (govshare_resolve_endpoint(target, conninfo, deadline, &hosts))
	{
		keywords[n] = "host";
		values[n++] = hosts.host;
		keywords[n] = "hostaddr";
		values[n++] = hosts.hostaddr;
		if (hosts.port != NULL)
		{
			keywords[n] = "port";
			values[n++] = hosts.port;
		}
	}
	keywords[n] = "fallback_application_name";
	values[n++] = "govshare remote_query";
	keywords[n] = "client_encoding";
	values[n++] = GetDatabaseEncodingName();
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectStartParams(keywords, values, true);
	if (conn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory connecting to agency \"%s\"", target)));
	PQsetNoticeReceiver(conn, drop_notice, NULL);
	PG_TRY();
	{
		if (!poll_connect(conn, target, deadline))
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
			govshare_session_free(conns[i].session);
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
 * govshare_connection_keep().  *session is what its provider session
 * holds (nothing known for a new one), the caller's until it keeps the
 * connection or frees it (govshare_session_free).
 */
PGconn *
govshare_connection_take(const char *target, const char *conninfo, bool trusted,
						 TimestampTz deadline, GovshareSession **session)
{
	/* a new request: its connection has not failed yet */
	conn_failed = false;
	*session = NULL;
	for (int i = 0; i < nconns; i++)
		if (strcmp(conns[i].agency, target) == 0)
		{
			PGconn	   *conn = conns[i].conn;
			GovshareSession *kept = conns[i].session;
			bool		same = strcmp(conns[i].conninfo, conninfo) == 0 &&
				conns[i].trusted == trusted;

			pfree(conns[i].agency);
			pfree(conns[i].conninfo);
			conns[i] = conns[--nconns];
			if (same && conn_alive(conn))
			{
				*session = kept;
				return conn;
			}
			govshare_session_free(kept);
			PQfinish(conn);
			break;
		}
	*session = govshare_session_new();
	return connect_endpoint(target, conninfo, trusted, deadline);
}

/*
 * Keeps the connection for the next request to the agency, in place of any
 * kept before; when MAX_CONNS are kept already, the one in the first slot
 * is closed to make room.
 */
void
govshare_connection_keep(const char *target, const char *conninfo, bool trusted, PGconn *conn,
						 GovshareSession *session)
{
	drop_conn(target);
	if (nconns == MAX_CONNS)
		drop_conn(conns[0].agency);
	conns[nconns].agency = MemoryContextStrdup(TopMemoryContext, target);
	conns[nconns].conninfo = MemoryContextStrdup(TopMemoryContext, conninfo);
	conns[nconns].trusted = trusted;
	conns[nconns].conn = conn;
	conns[nconns].session = session;
	nconns++;
}

/*
 * The start of libpq's PGcancel (struct pg_cancel in libpq-int.h), the
 * same from libpq 10 to 17: the provider's address, its backend's pid
 * and cancel key.  libpq before 17 has no other way to the key, and only
 * PQcancel to send it, which blocks until the provider closes the
 * connection: a provider that never does would hold this backend for
 * good, deaf to cancels and terminations.
 */
typedef struct CancelStart
{
	SockAddr	raddr;
	int			be_pid;
	int			be_key;
} CancelStart;

/*
 * Reads the pid and cancel key of the connection's backend.  Returns false
 * when they cannot be read safely: a libpq whose PGcancel may be laid out
 * otherwise (18 changed it), or a pid that is not PQbackendPID's.
 */
static bool
cancel_key(PGconn *conn, uint32 *pid, uint32 *key)
{
	int			version = PQlibVersion();
	PGcancel   *cancel;
	bool		ok = false;

	if (version < 100000 || version >= 180000)
		return false;
	cancel = PQgetCancel(conn);
	if (cancel == NULL)
		return false;
	{
		const CancelStart *c = (const CancelStart *) cancel;

		if (c->be_pid != 0 && c->be_pid == PQbackendPID(conn))
		{
			*pid = (uint32) c->be_pid;
			*key = (uint32) c->be_key;
			ok = true;
		}
	}
	PQfreeCancel(cancel);
	return ok;
}

/*
 * Waits until the socket can be written (its connect ended), at most
 * GOVSHARE_CANCEL_WAIT_MS, and not at all for a backend that is
 * terminating.  Returns whether it connected.  Interrupts are left for the
 * caller's way out: this runs while an error is being handled.
 */
static bool
cancel_connected(pgsocket sock)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   GOVSHARE_CANCEL_WAIT_MS);
	int			err = 0;
	socklen_t	len = sizeof(err);

	for (;;)
	{
		long		ms = remaining_ms(deadline);
		int			rc;

		if (ms <= 0 || ProcDiePending)
			return false;
		rc = WaitLatchOrSocket(MyLatch, WL_SOCKET_WRITEABLE | WL_LATCH_SET | WL_TIMEOUT |
							   WL_EXIT_ON_PM_DEATH, sock, ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (rc & WL_SOCKET_WRITEABLE)
			break;
	}
	return getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

/*
 * Asks the provider to cancel what the connection runs, as PQcancel would,
 * without blocking: the CancelRequest goes to the address the connection
 * is connected to, on a new non-blocking socket, and the provider's answer
 * (it closes that connection) is not awaited.  Nothing is sent when the
 * key cannot be read; the provider's query then ends when it next writes
 * to the closed connection, or on its own statement_timeout.
 */
static void
cancel_remote(PGconn *conn)
{
	struct sockaddr_storage addr;
	socklen_t	addrlen = sizeof(addr);
	uint32		pid;
	uint32		key;
	pgsocket	sock;
	struct
	{
		uint32		len;
		CancelRequestPacket cp;
	}			crp;

	if (PQtransactionStatus(conn) != PQTRANS_ACTIVE || !cancel_key(conn, &pid, &key) ||
		getpeername(PQsocket(conn), (struct sockaddr *) &addr, &addrlen) != 0)
		return;
	sock = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock == PGINVALID_SOCKET)
		return;
	crp.len = pg_hton32((uint32) sizeof(crp));
	crp.cp.cancelRequestCode = (MsgType) pg_hton32(CANCEL_REQUEST_CODE);
	crp.cp.backendPID = pg_hton32(pid);
	crp.cp.cancelAuthCode = pg_hton32(key);
	if (connect(sock, (struct sockaddr *) &addr, addrlen) == 0 ||
		((errno == EINPROGRESS || errno == EINTR) && cancel_connected(sock)))
		(void) send(sock, &crp, sizeof(crp), MSG_NOSIGNAL);
	close(sock);
	explicit_bzero(&key, sizeof(key));
	explicit_bzero(&crp, sizeof(crp));
}

/*
 * Gives up the connection of a request that failed: the remote side stops
 * too (a cancel, a timeout, a row that does not convert), unless the
 * connection itself failed; the connection is closed, not reused.  Nothing
 * here waits for the provider: libpq is in non-blocking mode (set once
 * connected), and a connection not yet made has nothing to flush.
 */
void
govshare_connection_abandon(PGconn *conn)
{
	if (!conn_failed)
		cancel_remote(conn);
	PQfinish(conn);
}
