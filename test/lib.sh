# Shared by test/run, test/demo and test/bench/run: install what is missing,
# build and install lead_gen, and run things against a throwaway cluster.
# shellcheck shell=bash

PG_MAJOR=${PG_MAJOR:-15}
# The throwaway clusters pick their own port and socket; a caller's
# connection settings must not leak into them.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
export PATH="/usr/lib/postgresql/$PG_MAJOR/bin:$PATH"

say() { printf '\n==> %s\n' "$*"; }

# Debian packages the build and the tests need; installed only when missing.
ensure_packages() {
	local want=(make gcc postgresql-"$PG_MAJOR" postgresql-server-dev-"$PG_MAJOR"
				postgresql-"$PG_MAJOR"-cron postgresql-common libipc-run-perl
				clang libclang-rt-14-dev procps python3-psycopg python3-aiosmtpd python3-sklearn "$@")
	local missing=()
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]} (run as root, or install them first)" >&2
		return 1
	fi
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# The Debian package creates and starts a default cluster; we never use it.
	mkdir -p /etc/postgresql-common
	grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
		echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# One build at a time per tree: two runs side by side (test/demo_parallel)
# would otherwise clean each other's objects.
build_and_install() {
	local lock
	lock=${TMPDIR:-/tmp}/lead_gen.build.$(pwd | md5sum | cut -c1-12).lock
	exec 9>"$lock"
	flock 9
	build_and_install_locked
	local rc=$?
	flock -u 9
	exec 9>&-
	return $rc
}

build_and_install_locked() {
	say "building lead_gen"
	make -s clean >/dev/null
	local log
	log=$(make -s 2>&1) || { echo "$log" >&2; return 1; }
	if grep -q 'warning:' <<<"$log"; then
		echo "$log" >&2
		echo "the build prints warnings" >&2
		return 1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		make -s install >/dev/null
	else
		make -s install >/dev/null || { echo "make install failed: run as root or with write access to $($PG_CONFIG --pkglibdir)" >&2; return 1; }
	fi
}

# The options every throwaway cluster gets: a cluster of its own (-t: a
# temporary name and directory, so an interrupted run leaves nothing that
# stops the next, and runs can go side by side), pg_cron preloaded, as in
# production.
virtualenv_opts() {
	echo "-t -o shared_preload_libraries=pg_cron -o cron.database_name=${1:-contrib_regression}" \
		 "-o cron.use_background_workers=on -o max_worker_processes=20"
}

# Run a command as a user that initdb accepts: as root, in a copy of the tree
# owned by postgres (TAP tests call initdb themselves, which refuses root).
as_cluster_user() {
	local dir=$1; shift
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$PATH" PG_CONFIG="$PG_CONFIG" bash -c "cd '$dir' && $*"
	else
		(cd "$dir" && bash -c "$*")
	fi
}

# A copy of the tree that the cluster user can write (results, tmp_check).
scratch_copy() {
	local tmp
	tmp=$(mktemp -d /tmp/lead_gen.XXXXXX)
	tar --exclude=./.git -cf - . | tar -xf - -C "$tmp"
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$tmp"
	chmod 755 "$tmp"
	echo "$tmp"
}
