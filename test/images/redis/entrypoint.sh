#!/bin/sh
# redis-server as the redis user in the foreground as PID 1 (SIGTERM: flush and exit), in /data.
# - no arguments: `redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --dir /data`;
# - arguments starting with "-": options to redis-server; starting with redis-server: as given
#   (the official image's convention, which the preset's start_command uses).
# Redis never starts without a password: with neither --requirepass nor REDIS_PASSWORD it refuses.
set -eu
trap 'exit 143' TERM
trap 'exit 130' INT
if [ $# -eq 0 ]; then
  set -- redis-server --appendonly yes --dir /data
elif [ "${1#-}" != "$1" ]; then
  set -- redis-server "$@"
fi
if [ "$1" = redis-server ]; then
  given="" prev="" has=""
  for a in "$@"; do
    if [ "$prev" = --requirepass ]; then has=1 given="$a"; fi
    prev="$a"
  done
  if [ -z "$has" ] && [ -n "${REDIS_PASSWORD:-}" ]; then
    set -- "$@" --requirepass "$REDIS_PASSWORD"
    given="$REDIS_PASSWORD"
  fi
  if [ -z "$given" ]; then
    echo "entrypoint: REDIS_PASSWORD is not set; refusing to start Redis without a password" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then
    find /data \! -user redis -exec chown redis:redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
