#!/bin/sh
# redis-server as the redis user in the foreground as PID 1 (SIGTERM: flush and exit), password
# enforced, append-only file in /data.
set -eu
if [ -z "${REDIS_PASSWORD:-}" ]; then
  echo "entrypoint: REDIS_PASSWORD is not set; refusing to start Redis without a password" >&2
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p /data
  find /data \! -user redis -exec chown redis:redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
exec redis-server --requirepass "$REDIS_PASSWORD" --appendonly yes --dir /data "$@"
