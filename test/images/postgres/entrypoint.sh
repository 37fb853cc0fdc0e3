#!/bin/sh
# The parts of the official postgres image's entrypoint the preset relies on: an empty $PGDATA gets
# initdb with POSTGRES_USER (default postgres) as superuser and POSTGRES_PASSWORD (required then),
# then POSTGRES_DB (default the user's name) is created; clients on the network authenticate with a
# password (scram-sha-256), local socket connections (docker exec) are trusted. The server runs as
# the postgres user in the foreground as PID 1, so the stop signal reaches it.
#
# Unlike the official entrypoint, a new cluster is prepared in a sibling directory and renamed into
# place when complete, so a container killed during initialisation leaves no half-made cluster
# behind (the next start would otherwise skip initdb and serve it without the network rule).
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA POSTGRES_USER POSTGRES_DB
bin=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# As postgres: a complete cluster in $1.
init_cluster() {
  dir="$1"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  "$bin/initdb" -D "$dir" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$dir/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\"" | "$bin/postgres" --single -D "$dir" postgres >/dev/null
  fi
}

if [ "${1:-}" = "--init-cluster" ]; then
  init_cluster "$2"
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "entrypoint: must start as root" >&2; exit 1; }
# As PID 1 this shell ignores signals it does not trap: a stop before the server runs must not wait
# out the whole stop grace.
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$PGDATA" /var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "entrypoint: database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  if [ -n "$(ls -A "$PGDATA")" ]; then
    echo "entrypoint: $PGDATA is not empty and holds no cluster; refusing to initialise over it" >&2
    exit 1
  fi
  tmp="${PGDATA%/}.initdb"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chown postgres:postgres "$tmp"
  chmod 700 "$tmp"
  as_postgres "$0" --init-cluster "$tmp"
  if rmdir "$PGDATA" 2>/dev/null; then
    mv "$tmp" "$PGDATA"
  else
    # $PGDATA is the mount point itself: move the contents (PG_VERSION last).
    find "$tmp" -mindepth 1 -maxdepth 1 \! -name PG_VERSION -exec mv '{}' "$PGDATA/" \;
    mv "$tmp/PG_VERSION" "$PGDATA/"
    rmdir "$tmp"
  fi
  echo "entrypoint: initialized $PGDATA (database $POSTGRES_DB, user $POSTGRES_USER)"
fi
chmod 700 "$PGDATA"
find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
