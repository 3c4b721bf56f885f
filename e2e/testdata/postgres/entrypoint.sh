#!/bin/sh
# Makes the cluster on the first start (from POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB), then becomes the server: exec, so postgres is PID 1 and gets the
# container's stop signal. Arguments are passed to postgres.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA

fail() {
	echo "postgres-entrypoint: $*" >&2
	exit 1
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		fail "POSTGRES_PASSWORD is empty; set it (or POSTGRES_HOST_AUTH_METHOD=trust, for throw-away test servers only)"
	fi
	if ! mkdir -p "$PGDATA" 2>/dev/null || [ ! -w "$PGDATA" ]; then
		fail "$PGDATA is not writable by uid $(id -u); mount a volume that user can write (Kubernetes: securityContext.fsGroup: 999)"
	fi
	chmod 0700 "$PGDATA"

	pwfile=$(mktemp)
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host="$auth" >/dev/null
	rm -f "$pwfile"
	# initdb allows loopback only; a server in a container is reached over its network.
	printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

	if [ "$POSTGRES_DB" != postgres ]; then
		# On the Unix socket only, so that no client sees the server before the database exists.
		pg_ctl --wait --silent --options="-c listen_addresses=''" start
		echo 'CREATE DATABASE :"db";' |
			psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" --username="$POSTGRES_USER" --dbname=postgres
		pg_ctl --wait --silent --mode=fast stop
	fi
	echo "postgres-entrypoint: made the cluster in $PGDATA with database \"$POSTGRES_DB\" owned by \"$POSTGRES_USER\""
fi

exec postgres -c listen_addresses='*' "$@"
