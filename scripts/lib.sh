# scripts/lib.sh — shared by scripts/setup, scripts/demo and scripts/test.
#
# Everything runs as root (the commands in README.md); PostgreSQL itself runs
# as the postgres user in throw-away clusters under a temporary directory.

# GOVSHARE_PG picks the PostgreSQL major version (default 15).
PG_MAJOR=${GOVSHARE_PG:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
export PATH="$PG_BIN:$PATH"

# pg_suite MAJOR: the Debian release that ships PostgreSQL MAJOR (the
# versions govshare is tested with); fails for any other.
pg_suite() {
	case $1 in
	15) echo bookworm ;;
	17) echo trixie ;;
	*) return 1 ;;
	esac
}

# govshare_packages MAJOR SUITE: the Debian packages the suites need for
# PostgreSQL MAJOR on Debian release SUITE (libFuzzer comes with the
# release's clang runtime).
govshare_packages() {
	local major=$1 rt extra=""
	case $2 in
	bookworm) rt=14; extra="unzip" ;;	# unzip: the dist suite, run with 15
	trixie) rt=19 ;;
	*) return 1 ;;
	esac
	echo "postgresql-$major postgresql-server-dev-$major" \
		"postgresql-$major-pgtap postgresql-$major-pgaudit libtap-parser-sourcehandler-pgtap-perl" \
		"libipc-run-perl libssl-dev libpq-dev openssl make gcc clang libclang-rt-$rt-dev pgbouncer $extra"
}

# The release this machine runs.
GOVSHARE_HOST_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
GOVSHARE_PACKAGES=$(govshare_packages "$PG_MAJOR" "$GOVSHARE_HOST_SUITE" 2>/dev/null)

# in_debian_root "$@": when this machine's Debian release does not ship
# PostgreSQL $PG_MAJOR (17 on Debian 12), runs the calling script with its
# arguments inside a root of the release that does (scripts/debroot: built
# once, cached under /var/cache/govshare) and exits with its status;
# otherwise returns.  Refuses a version no tested release ships.  The
# calling script is one of the checkout's (scripts/test, bench/audit).
in_debian_root() {
	local suite
	suite=$(pg_suite "$PG_MAJOR") || {
		echo "PostgreSQL $PG_MAJOR is not supported (GOVSHARE_PG=15 or 17)" >&2
		exit 2
	}
	[ "$suite" = "$GOVSHARE_HOST_SUITE" ] && return 0
	exec bash "$GOVSHARE_SRC/scripts/debroot" run "$PG_MAJOR" \
		bash "$(realpath --relative-to="$GOVSHARE_SRC" "$0")" "$@"
}

say() { printf '\n== %s\n' "$*"; }

# Installs the Debian packages govshare needs, when any is missing.
install_packages() {
	local missing=""
	if [ "$(pg_suite "$PG_MAJOR")" != "$GOVSHARE_HOST_SUITE" ]; then
		echo "PostgreSQL $PG_MAJOR is not in this machine's Debian release (${GOVSHARE_HOST_SUITE:-unknown})." >&2
		echo "Only scripts/test and scripts/runtap run it, in a Debian root (scripts/debroot)." >&2
		exit 2
	fi
	for p in $GOVSHARE_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	# Node.js and npm run the independent token minter (test/tokens); any
	# node will do, so Debian's packages are installed only without one.
	command -v node >/dev/null && command -v npm >/dev/null || missing="$missing nodejs npm"
	[ -z "$missing" ] && return 0
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
}

# Installs the jose library for test/tokens from the npm registry, into the
# staged copy of the sources (stage_sources) that the TAP tests read.
install_token_tools() {
	(cd "$GOVSHARE_STAGE/test/tokens" &&
		npm ci --no-audit --no-fund --cache "${TMPDIR:-/tmp}/govshare-npm-cache" >/dev/null 2>&1) ||
		echo "npm ci in test/tokens failed: the jose token tests will fail under CI=true" >&2
}

# Builds and installs the extension into the server's directories.
build_install() {
	say "building govshare"
	make -s -C "$GOVSHARE_SRC" PG_CONFIG="$PG_BIN/pg_config" >/dev/null
	make -s -C "$GOVSHARE_SRC" PG_CONFIG="$PG_BIN/pg_config" install >/dev/null
}

# private_install: builds govshare and installs it into a private copy of
# the server's installation (bindir, pkglibdir, sharedir), one per checkout,
# under /tmp/govshare-root-<hash of the checkout's path>.  PostgreSQL finds
# its share and lib directories relative to its own binary, so the copy
# runs as the system's server does, with this checkout's govshare in it.
# Test runs of different checkouts then neither share installed files nor
# wait for each other; the system's directories are left alone.  Sets
# GOVSHARE_ROOT, PG_BIN and PATH.
private_install() {
	local sys_bin=$PG_BIN stamp
	GOVSHARE_ROOT=/tmp/govshare-root-$(printf '%s' "$GOVSHARE_SRC" | sha1sum | cut -c1-10)
	stamp=$(stat -c %Y "$sys_bin/postgres")
	if [ "$(cat "$GOVSHARE_ROOT/.stamp" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$GOVSHARE_ROOT"
		mkdir -p "$GOVSHARE_ROOT/usr/lib/postgresql" "$GOVSHARE_ROOT/usr/share/postgresql"
		cp -a "/usr/lib/postgresql/$PG_MAJOR" "$GOVSHARE_ROOT/usr/lib/postgresql/"
		cp -a "/usr/share/postgresql/$PG_MAJOR" "$GOVSHARE_ROOT/usr/share/postgresql/"
		echo "$stamp" > "$GOVSHARE_ROOT/.stamp"
	fi
	chmod 755 "$GOVSHARE_ROOT"
	say "building govshare (installed into $GOVSHARE_ROOT)"
	# a failed build stops here: never test what an earlier build installed
	make -s -C "$GOVSHARE_SRC" PG_CONFIG="$sys_bin/pg_config" >/dev/null || return 1
	make -s -C "$GOVSHARE_SRC" PG_CONFIG="$sys_bin/pg_config" DESTDIR="$GOVSHARE_ROOT" install >/dev/null || return 1
	PG_BIN=$GOVSHARE_ROOT$sys_bin
	export PATH="$PG_BIN:$PATH"
}

# stage_sources DIR: copies the source tree, without .git, build products
# and node_modules, to DIR/src, owned by root and readable by everyone, and
# sets GOVSHARE_STAGE to it.  Whatever runs as postgres (pg_regress,
# pg_prove, prove, psql -f, the server's COPY) reads its files from this
# copy, never from the clone: a clone under /root (mode 0700) is not
# readable by postgres, and the scripts do not change the clone's
# permissions to make it so.
stage_sources() {
	GOVSHARE_STAGE=$1/src
	rm -rf "$GOVSHARE_STAGE"
	mkdir -p "$GOVSHARE_STAGE"
	tar -C "$GOVSHARE_SRC" --exclude=./.git --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' --exclude='*.deb' --exclude=node_modules \
		--exclude=./results --exclude=./tmp_check --exclude=./log \
		--exclude=./test/fuzz/build --exclude=./bench/out -cf - . |
		tar -C "$GOVSHARE_STAGE" --no-same-owner -xf -
	chmod -R a+rX,go-w "$GOVSHARE_STAGE"
	chmod 755 "$1"
}

# as_pg CMD...: runs a command as the postgres user.
as_pg() {
	runuser -u postgres -- env PATH="$PATH" "$@"
}

# A work directory owned by postgres, removed on exit.
make_workdir() {
	GOVSHARE_WORK=$(mktemp -d /tmp/govshare.XXXXXX)
	chown postgres: "$GOVSHARE_WORK"
	chmod 755 "$GOVSHARE_WORK"
	# GOVSHARE_KEEP=1 keeps the work directory (results, logs) for a look.
	trap 'cleanup_clusters; small_disk_umount "$GOVSHARE_WORK/full-disk"; [ -n "${GOVSHARE_KEEP:-}" ] && echo "kept $GOVSHARE_WORK" || rm -rf "$GOVSHARE_WORK"' EXIT
	# The server's pseudonym secret (govshare.pseudonym_key_file), readable
	# by postgres only, and a server configuration naming it for the
	# pg_regress-style suites.
	GOVSHARE_KEY="$GOVSHARE_WORK/pseudonym.key"
	head -c 32 /dev/urandom | base64 > "$GOVSHARE_KEY"
	chown postgres: "$GOVSHARE_KEY"
	chmod 600 "$GOVSHARE_KEY"
	# The self agency's Ed25519 signing key (govshare.signing_key_file), and
	# its public key beside it, for the tests that sign checkpoints.
	GOVSHARE_SIGNING_KEY="$GOVSHARE_WORK/signing.pem"
	openssl genpkey -algorithm ed25519 -out "$GOVSHARE_SIGNING_KEY" 2>/dev/null
	openssl pkey -in "$GOVSHARE_SIGNING_KEY" -pubout -out "$GOVSHARE_SIGNING_KEY.pub" 2>/dev/null
	chown postgres: "$GOVSHARE_SIGNING_KEY" "$GOVSHARE_SIGNING_KEY.pub"
	chmod 600 "$GOVSHARE_SIGNING_KEY"
	chmod 644 "$GOVSHARE_SIGNING_KEY.pub"
	GOVSHARE_CONF="$GOVSHARE_WORK/regress.conf"
	{ cat "$GOVSHARE_SRC/test/regress.conf"
	  echo "govshare.pseudonym_key_file = '$GOVSHARE_KEY'"
	  echo "govshare.signing_key_file = '$GOVSHARE_SIGNING_KEY'"; } > "$GOVSHARE_CONF"
	chmod 644 "$GOVSHARE_CONF"
	# Work from here: PostgreSQL's programs, run as postgres, change back to
	# the current directory, which postgres may not enter (a clone under
	# /root).  The scripts name every file of the clone by its full path.
	cd "$GOVSHARE_WORK"
}

# small_disk_mount DIR: mounts a 16 MB tmpfs on DIR, owned by postgres,
# for the full-disk test (test/t/021_full_disk.pl reads its path from
# GOVSHARE_FULL_DISK_DIR).  Only root can mount; the TAP test runs as
# postgres.  Prints why and returns non-zero when it cannot.
small_disk_mount() {
	local dir=$1
	mkdir -p "$dir" || return 1
	if ! mount -t tmpfs -o size=16M,mode=0755 govshare-full-disk "$dir"; then
		echo "could not mount a 16 MB tmpfs on $dir: the full-disk test cannot run" >&2
		return 1
	fi
	chown postgres: "$dir"
}

# small_disk_umount DIR: unmounts it again (lazily, should a process of a
# failed test still hold a file there).
small_disk_umount() {
	mountpoint -q "$1" 2>/dev/null && umount -l "$1"
	return 0
}

GOVSHARE_CLUSTERS=""

# start_cluster NAME PORT [extra postgresql.conf lines]: a throw-away cluster
# with govshare preloaded, listening on a Unix socket in the work directory.
# GOVSHARE_COLLATION (a locale, vi_VN.UTF-8 say) sets its collation and
# character classes; its messages and numbers stay the environment's.
start_cluster() {
	local name=$1 port=$2 extra=${3:-}
	local dir="$GOVSHARE_WORK/$name"
	as_pg initdb -D "$dir" -A trust -U postgres --no-sync \
		${GOVSHARE_COLLATION:+--lc-collate="$GOVSHARE_COLLATION" --lc-ctype="$GOVSHARE_COLLATION"} >/dev/null
	cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$GOVSHARE_WORK'
shared_preload_libraries = 'govshare'
govshare.pseudonym_key_file = '$GOVSHARE_KEY'
govshare.signing_key_file = '$GOVSHARE_SIGNING_KEY'
fsync = off
$extra
CONF
	if [ "${BENCH_HUGE_PAGES:-off}" = on ]; then
		echo "huge_pages = on" >>"$dir/postgresql.conf"
		huge_pages_reserve "$dir" || return 1
	fi
	as_pg pg_ctl -D "$dir" -l "$dir.server.log" -w start >/dev/null
	GOVSHARE_CLUSTERS="$GOVSHARE_CLUSTERS $dir"
}

# BENCH_HUGE_PAGES=on: the benchmarks' clusters map their shared memory in
# huge pages (huge_pages = on), as PostgreSQL's documentation advises for
# a large shared_buffers: a process then maps shared buffers with one
# page-table entry per 2 MB, not per 4 kB, which a virtual machine makes
# costly to fill (docs/benchmarks.md, "Huge pages").
# huge_pages_reserve DIR (again after a change of DIR's configuration
# that needs more shared memory, before its restart) grows the kernel's
# pool (vm.nr_hugepages, as root) to what the clusters need
# (shared_memory_size_in_huge_pages); cleanup_clusters gives it back.
GOVSHARE_HUGE_PAGES_BEFORE=""
declare -A GOVSHARE_HUGE_PAGES_NEED=()
huge_pages_reserve() {
	local need want=0 d
	need=$(as_pg postgres -D "$1" -C shared_memory_size_in_huge_pages) || return 1
	if ! [[ "$need" =~ ^[1-9][0-9]*$ ]]; then
		echo "BENCH_HUGE_PAGES=on: the cluster in $1 says it needs \"$need\" huge pages: huge pages are not supported here" >&2
		return 1
	fi
	GOVSHARE_HUGE_PAGES_NEED[$1]=$need
	[ -n "$GOVSHARE_HUGE_PAGES_BEFORE" ] || GOVSHARE_HUGE_PAGES_BEFORE=$(cat /proc/sys/vm/nr_hugepages)
	for d in "${!GOVSHARE_HUGE_PAGES_NEED[@]}"; do want=$((want + GOVSHARE_HUGE_PAGES_NEED[$d])); done
	want=$((want + GOVSHARE_HUGE_PAGES_BEFORE))
	echo "$want" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
	if [ "$(cat /proc/sys/vm/nr_hugepages)" -lt "$want" ]; then
		echo "BENCH_HUGE_PAGES=on: could not grow vm.nr_hugepages to $want (the cluster in $1 needs $need pages of 2 MB): run as root with that much free memory" >&2
		return 1
	fi
}

cleanup_clusters() {
	for dir in $GOVSHARE_CLUSTERS; do
		as_pg pg_ctl -D "$dir" -m immediate stop >/dev/null 2>&1 || true
	done
	GOVSHARE_CLUSTERS=""
	if [ -n "$GOVSHARE_HUGE_PAGES_BEFORE" ]; then
		echo "$GOVSHARE_HUGE_PAGES_BEFORE" >/proc/sys/vm/nr_hugepages 2>/dev/null || true
		GOVSHARE_HUGE_PAGES_BEFORE=""
		GOVSHARE_HUGE_PAGES_NEED=()
	fi
}

# stop_clusters: stops the clusters of start_cluster as a DBA would (fast
# shutdown, 60 s at most) and prints one line per cluster that did not
# stop; those are then stopped immediately.  Returns how many failed.
stop_clusters() {
	local failed=0
	for dir in $GOVSHARE_CLUSTERS; do
		if ! as_pg pg_ctl -D "$dir" -m fast -t 60 -w stop >/dev/null 2>&1; then
			echo "cluster $dir did not stop within 60 s (fast shutdown)"
			failed=$((failed + 1))
		fi
	done
	cleanup_clusters
	return $failed
}

# GOVSHARE_LOG_REPEATS: the most times one line may stand in a server log.
GOVSHARE_LOG_REPEATS=${GOVSHARE_LOG_REPEATS:-2000}

# check_logs FILE...: prints, for each server log in which one line (its
# timestamp, pid and other numbers ignored) stands more than
# GOVSHARE_LOG_REPEATS times, the line and its count: a writer spinning,
# a loop that logs.  Returns how many logs failed.
check_logs() {
	local failed=0 f top
	for f in "$@"; do
		[ -s "$f" ] || continue
		top=$(sed -E 's/[0-9]+/N/g' "$f" | sort | uniq -c | sort -rn | head -1)
		if [ -n "$top" ] && [ "$(echo "$top" | awk '{print $1}')" -gt "$GOVSHARE_LOG_REPEATS" ]; then
			echo "server log $f repeats a line $(echo "$top" | awk '{print $1}') times:"
			echo "  $(echo "$top" | sed -E 's/^ *[0-9]+ //' | cut -c1-200)"
			failed=$((failed + 1))
		fi
	done
	return $failed
}

# The release govshare upgrades from: tag v0.1.0, commit 18e093e.
GOVSHARE_RELEASE=0.1.0
GOVSHARE_RELEASE_COMMIT=18e093e2851f286531a367d937823272bd9be662

# release_stage: builds the release 0.1.0 from `git archive` of its tag (or
# of its commit, when the clone has no tags) and installs it with DESTDIR
# into a stage of its own, /tmp/govshare-release-<checkout hash>-<commit>,
# which holds govshare's files only (kept between runs: a release never
# changes).  The upgrade test (test/t/030_upgrade.pl) lays it over a copy
# of the server's installation, then the current build over that.
# Exports GOVSHARE_RELEASE_STAGE, or GOVSHARE_RELEASE_MISSING saying why
# there is none (a shallow clone has neither the tag nor the commit), or
# GOVSHARE_RELEASE_SKIP on a server 0.1.0 never supported (it builds
# against PostgreSQL 15 only, so upgrades from it are tested there).
release_stage() {
	local rev stage src
	unset GOVSHARE_RELEASE_STAGE GOVSHARE_RELEASE_MISSING GOVSHARE_RELEASE_SKIP
	if [ "$PG_MAJOR" != 15 ]; then
		export GOVSHARE_RELEASE_SKIP="govshare $GOVSHARE_RELEASE supports PostgreSQL 15 only; upgrades from it are tested on 15"
		return 0
	fi
	rev=$(git -C "$GOVSHARE_SRC" rev-parse -q --verify "v$GOVSHARE_RELEASE^{commit}" 2>/dev/null ||
		git -C "$GOVSHARE_SRC" rev-parse -q --verify "$GOVSHARE_RELEASE_COMMIT^{commit}" 2>/dev/null)
	if [ -z "$rev" ]; then
		export GOVSHARE_RELEASE_MISSING="neither tag v$GOVSHARE_RELEASE nor commit $GOVSHARE_RELEASE_COMMIT is in the clone at $GOVSHARE_SRC (a shallow clone?): git fetch --unshallow --tags"
		return 0
	fi
	stage=/tmp/govshare-release-$(printf '%s' "$GOVSHARE_SRC" | sha1sum | cut -c1-10)-$rev
	if [ ! -f "$stage/.done" ]; then
		say "building govshare $GOVSHARE_RELEASE (${rev:0:7}) for the upgrade test"
		rm -rf "$stage"
		src="$stage/src"
		mkdir -p "$src" "$stage/install"
		if ! git -C "$GOVSHARE_SRC" archive "$rev" | tar -x -C "$src" ||
			! make -s -C "$src" PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" >"$stage/build.log" 2>&1 ||
			! make -s -C "$src" PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" \
				DESTDIR="$stage/install" install >>"$stage/build.log" 2>&1; then
			export GOVSHARE_RELEASE_MISSING="govshare $GOVSHARE_RELEASE (${rev:0:7}) did not build: see $stage/build.log"
			return 0
		fi
		touch "$stage/.done"
	fi
	chmod -R o+rX "$stage"
	export GOVSHARE_RELEASE_STAGE="$stage/install"
}
