/*-------------------------------------------------------------------------
 *
 * resolve.c
 *	  The host names of an endpoint, resolved here with the request's
 *	  deadline, so that libpq resolves none.
 *
 * libpq 15 resolves a host name with getaddrinfo(), which blocks: a name
 * server that does not answer would hold the backend past
 * govshare.remote_timeout and deaf to cancels and to
 * pg_terminate_backend.  So each name of the endpoint's host list is
 * resolved here with glibc's getaddrinfo_a(), whose lookup runs in a
 * thread of glibc's with every signal blocked, while this backend waits on
 * its latch with the deadline and serves interrupts.  libpq then gets
 * hostaddr alongside host: it connects to the addresses given, and still
 * uses the host name to verify the server's certificate
 * (sslmode=verify-full) and to look up a password file.  A host with
 * several addresses becomes one entry per address, so libpq tries them
 * in turn as it would have; a name that does not resolve is left out, as
 * libpq would skip it.
 *
 * A lookup given up (the deadline, a cancel) may still be running in
 * glibc's thread; its memory is freed once it has ended.
 *
 * src/remote/resolve.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/stringinfo.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

#include "remote/remote_internal.h"

/* The most addresses taken of one host name, and the most entries in all. */
#define MAX_ADDRS 8
#define MAX_ENTRIES 64

/* How often a lookup is looked at while it runs, ms. */
#define LOOKUP_POLL_MS 10

/*
 * A lookup of getaddrinfo_a(), malloc'd: glibc's thread may still write
 * into it after this backend gave it up.
 */
typedef struct Lookup
{
	struct gaicb cb;
	struct addrinfo hints;
	struct Lookup *next;		/* in the list of lookups given up */
	char		name[FLEXIBLE_ARRAY_MEMBER];
} Lookup;

/* Lookups given up while glibc's thread ran them, to free once ended. */
static Lookup *given_up = NULL;

static void
lookup_free(Lookup *l)
{
	if (l->cb.ar_result != NULL)
		freeaddrinfo(l->cb.ar_result);
	free(l);
}

/* Frees the lookups given up before that have ended since. */
static void
reap_lookups(void)
{
	Lookup	  **p = &given_up;

	while (*p != NULL)
	{
		Lookup	   *l = *p;

		if (gai_error(&l->cb) != EAI_INPROGRESS)
		{
			*p = l->next;
			lookup_free(l);
		}
		else
			p = &l->next;
	}
}

/* Gives up a lookup: cancelled, or kept to be freed once it has ended. */
static void
give_up(Lookup *l)
{
	if (gai_cancel(&l->cb) == EAI_NOTCANCELED)
	{
		l->next = given_up;
		given_up = l;
	}
	else
		lookup_free(l);
}

/* Waits until the lookup has ended, with the deadline, serving interrupts. */
static void
wait_lookup(const char *target, Lookup *l, TimestampTz deadline)
{
	while (gai_error(&l->cb) == EAI_INPROGRESS)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LOOKUP_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		govshare_connection_check(target, deadline);
	}
}

/*
 * The numeric addresses of an ended lookup, up to max of them, without
 * repeats, into addrs; returns how many.
 */
static int
lookup_addrs(Lookup *l, char **addrs, int max)
{
	int			n = 0;

	for (struct addrinfo *ai = l->cb.ar_result; ai != NULL && n < max; ai = ai->ai_next)
	{
		char		buf[NI_MAXHOST];
		bool		seen = false;

		/* numeric: no lookup; an IPv6 address keeps its scope (%eth0) */
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof(buf), NULL, 0,
						NI_NUMERICHOST) != 0)
			continue;
		for (int i = 0; i < n; i++)
			seen |= strcmp(addrs[i], buf) == 0;
		if (!seen)
			addrs[n++] = pstrdup(buf);
	}
	return n;
}

/*
 * Resolves the host name into up to max numeric addresses, in the order
 * getaddrinfo gives them, and returns how many; 0 with *error set (a
 * gai_strerror text) when it does not resolve.
 */
static int
resolve(const char *target, const char *name, TimestampTz deadline, char **addrs, int max,
		const char **error)
{
	Lookup	   *l;
	struct gaicb *list[1];
	int			rc;
	int			n;

	reap_lookups();
	l = malloc(offsetof(Lookup, name) + strlen(name) + 1);
	if (l == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory resolving the host of agency \"%s\"", target)));
	memset(l, 0, offsetof(Lookup, name));
	strcpy(l->name, name);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->cb.ar_name = l->name;
	l->cb.ar_request = &l->hints;
	list[0] = &l->cb;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc != 0)
	{
		free(l);
		*error = gai_strerror(rc);
		return 0;
	}
	PG_TRY();
	{
		wait_lookup(target, l, deadline);
	}
	PG_CATCH();
	{
		give_up(l);
		PG_RE_THROW();
	}
	PG_END_TRY();

	rc = gai_error(&l->cb);
	n = rc == 0 ? lookup_addrs(l, addrs, max) : 0;
	if (rc != 0)
		*error = gai_strerror(rc);
	else if (n == 0)
		*error = "no IPv4 or IPv6 address";
	lookup_free(l);
	return n;
}

/* The value of the option, or "" when it is not set. */
static const char *
option(PQconninfoOption *opts, const char *keyword)
{
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0)
			return o->val ? o->val : "";
	return "";
}

/* Splits a libpq comma-separated list (no escapes) into at most max items. */
static int
split_list(const char *s, char **items, int max)
{
	int			n = 0;
	char	   *copy = pstrdup(s);
	char	   *p = copy;

	if (*s == '\0')
		return 0;
	for (;;)
	{
		char	   *comma = strchr(p, ',');

		if (n == max)
			return max + 1;
		if (comma != NULL)
			*comma = '\0';
		items[n++] = p;
		if (comma == NULL)
			return n;
		p = comma + 1;
	}
}

/* Is the host a name to resolve (not a socket directory, not an address)? */
static bool
is_name(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return host[0] != '\0' && host[0] != '/' && host[0] != '@' &&
		inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1;
}

/* Appends a host, hostaddr and port entry, the entry number n, to the lists. */
static void
add_entry(StringInfo host, StringInfo hostaddr, StringInfo port, int n, const char *h,
		  const char *a, const char *p)
{
	if (n > 0)
	{
		appendStringInfoChar(host, ',');
		appendStringInfoChar(hostaddr, ',');
		appendStringInfoChar(port, ',');
	}
	appendStringInfoString(host, h);
	appendStringInfoString(hostaddr, a);
	appendStringInfoString(port, p);
}

/*
 * The endpoint's host, hostaddr and port lists (each split into at most
 * MAX_ENTRIES + 1 items), with the server's environment (PGHOST,
 * PGHOSTADDR, PGPORT, PGSERVICE) when the connection string names no host.
 * A host list given by a service file the connection string names cannot
 * be seen here: such an endpoint is refused.
 */
static void
read_lists(const char *target, const char *conninfo, char **h, int *nh, char **a, int *na,
		   char **p, int *np)
{
	char	   *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
	PQconninfoOption *defaults = NULL;
	const char *host_list, *addr_list, *port_list;

	if (err != NULL)
		PQfreemem(err);
	*nh = *na = *np = 0;
	if (opts == NULL)
		return;					/* libpq refuses it, before any lookup */
	host_list = option(opts, "host");
	addr_list = option(opts, "hostaddr");
	port_list = option(opts, "port");
	if (host_list[0] == '\0' && addr_list[0] == '\0')
	{
		if (option(opts, "service")[0] != '\0')
		{
			PQconninfoFree(opts);
			ereport(ERROR,
					(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
					 errmsg("could not connect to agency \"%s\"", target),
					 errdetail("Its endpoint names a service but no host or hostaddr, and the host of a service is not resolved with a deadline."),
					 errhint("Add host=... (or hostaddr=...) to the endpoint's connection string.")));
		}
		defaults = PQconndefaults();
		host_list = option(defaults, "host");
		addr_list = option(defaults, "hostaddr");
		if (port_list[0] == '\0')
			port_list = option(defaults, "port");
	}
	/* copies, in palloc'd memory */
	*nh = split_list(host_list, h, MAX_ENTRIES);
	*na = split_list(addr_list, a, MAX_ENTRIES);
	*np = split_list(port_list, p, MAX_ENTRIES);
	PQconninfoFree(opts);
	if (defaults != NULL)
		PQconninfoFree(defaults);
}

/*
 * Fills hosts with the host, hostaddr and port to give libpq in place of
 * the endpoint's, each name of its host list resolved here with the
 * deadline.  Returns false when no name is to be resolved: hosts given by
 * address or hostaddr, socket directories, or lists libpq refuses before
 * any lookup (counts that do not match).  A name that does not resolve is
 * left out; when none is left, the request fails.
 */
bool
govshare_resolve_endpoint(const char *target, const char *conninfo, TimestampTz deadline,
						  GovshareHosts *hosts)
{
	char	   *h[MAX_ENTRIES + 1], *a[MAX_ENTRIES + 1], *p[MAX_ENTRIES + 1];
	int			nh, na, np, nentries = 0;
	bool		names = false;
	const char *error = NULL, *failed = NULL;
	StringInfoData host, hostaddr, port;

	read_lists(target, conninfo, h, &nh, a, &na, p, &np);
	if (nh > MAX_ENTRIES)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to agency \"%s\"", target),
				 errdetail("Its endpoint names more than %d hosts.", MAX_ENTRIES)));
	if ((na != 0 && na != nh) || (np > 1 && np != nh))
		return false;			/* libpq refuses these, before any lookup */
	for (int i = 0; i < nh; i++)
		names |= (na == 0 || a[i][0] == '\0') && is_name(h[i]);
	if (!names)
		return false;

	initStringInfo(&host);
	initStringInfo(&hostaddr);
	initStringInfo(&port);
	for (int i = 0; i < nh && nentries < MAX_ENTRIES; i++)
	{
		const char *pi = np == 0 ? "" : np == 1 ? p[0] : p[i];
		char	   *addrs[MAX_ADDRS];
		const char *e = NULL;
		int			n;

		if ((na != 0 && a[i][0] != '\0') || !is_name(h[i]))
		{
			add_entry(&host, &hostaddr, &port, nentries, h[i], na != 0 ? a[i] : "", pi);
			nentries++;
			continue;
		}
		n = resolve(target, h[i], deadline, addrs, Min(MAX_ADDRS, MAX_ENTRIES - nentries), &e);
		if (n == 0 && failed == NULL)
		{
			failed = h[i];
			error = e;
		}
		for (int k = 0; k < n; k++)
			add_entry(&host, &hostaddr, &port, nentries++, h[i], addrs[k], pi);
	}
	if (nentries == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 errmsg("could not connect to agency \"%s\"", target),
				 errdetail_internal("could not translate host name \"%s\" to address: %s",
									failed, error ? error : "no address"),
				 errhint("govshare.add_endpoint() registers the agency's connection; a govshare_admin can check it.")));
	hosts->host = host.data;
	hosts->hostaddr = hostaddr.data;
	hosts->port = np > 1 ? port.data : NULL;
	return true;
}
