/*-------------------------------------------------------------------------
 *
 * keyfile.c
 *	  Reading the server's secret files: the pseudonym secret, the audit
 *	  chain's HMAC key and the self agency's signing key.
 *
 * Each secret lives in a file named by a superuser-only setting.  The file
 * must be a regular file that nobody but the server can read, as
 * PostgreSQL demands of ssl_key_file: owned by the server's user with no
 * group or other permissions, or owned by root with at most group read.
 *
 * src/common/keyfile.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/fd.h"

#include "common/gs_common.h"

/* GUCs (src/guc.c): the files of the three secrets. */
char	   *govshare_pseudonym_key_file = NULL;
char	   *govshare_audit_key_file = NULL;
char	   *govshare_signing_key_file = NULL;

/* Each secret file: its setting, its name in messages, its size bounds. */
static const struct
{
	const char *setting;
	char	  **path;
	const char *what;
	size_t		min;
	size_t		max;
}			keyfiles[] =
{
	[GOVSHARE_KEY_PSEUDONYM] = {"govshare.pseudonym_key_file", &govshare_pseudonym_key_file,
	"pseudonym key", 32, 1024},
	[GOVSHARE_KEY_AUDIT] = {"govshare.audit_key_file", &govshare_audit_key_file,
	"audit key", 32, 1024},
	[GOVSHARE_KEY_SIGNING] = {"govshare.signing_key_file", &govshare_signing_key_file,
	"signing key", 32, 16384},
};

/* Does the setting of file name a file? */
bool
govshare_keyfile_configured(GovshareKeyFile file)
{
	const char *path = *keyfiles[file].path;

	return path != NULL && path[0] != '\0';
}

/*
 * Reads the secret file, and returns its contents without a trailing line
 * end, in palloc'd memory, with its length in *len.  why, the DETAIL when
 * no file is configured, says what needs it.  Raises an error for a
 * missing setting, an unreadable file, one that others may read, or one
 * whose length is out of bounds.  The caller wipes the secret
 * (explicit_bzero) once used.
 */
unsigned char *
govshare_keyfile_read(GovshareKeyFile which, const char *why, size_t *len)
{
	const char *setting = keyfiles[which].setting;
	const char *path = *keyfiles[which].path;
	const char *what = keyfiles[which].what;
	size_t		min = keyfiles[which].min;
	size_t		max = keyfiles[which].max;
	struct stat st;
	int			fd;
	ssize_t		n;
	unsigned char *buf;

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("no %s is configured", what),
				 errdetail("%s", why),
				 errhint("Set %s to a file that only the server can read, and reload.", setting)));
	if (stat(path, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read the %s file \"%s\": %m", what, path)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s file \"%s\" is not a regular file", what, path)));
	/* as for ssl_key_file: 0600 when the server owns it, 0640 when root does */
	if ((st.st_uid == geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) ||
		(st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) != 0) ||
		(st.st_uid != geteuid() && st.st_uid != 0))
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s file \"%s\" may be read by others", what, path),
				 errdetail("The file must be owned by the database user with mode 0600, or by root with mode 0640."),
				 errhint("chmod 0600 the file.")));

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open the %s file \"%s\": %m", what, path)));
	buf = palloc(max + 2);
	n = read(fd, buf, max + 1);
	CloseTransientFile(fd);
	/* a trailing line end is not part of the secret */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n < (ssize_t) min || n > (ssize_t) max)
	{
		explicit_bzero(buf, max + 2);
		pfree(buf);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s file \"%s\" must hold between %zu and %zu bytes",
						what, path, min, max),
				 errhint("Create it with: head -c 32 /dev/urandom | base64 > FILE")));
	}
	buf[n] = '\0';
	*len = (size_t) n;
	return buf;
}
