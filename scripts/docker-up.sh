#!/usr/bin/env bash
# Makes a Docker engine available for the tests: installs Debian's docker.io when dockerd is missing,
# starts dockerd in the background when the socket does not answer, and waits for it. It never stops
# an engine it did not start; the pid of one it started is written to .tools/dockerd.pid.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sock="${DOCKER_SOCK:-/var/run/docker.sock}"
if docker version >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "docker-up: dockerd missing and not root; install docker.io" >&2; exit 1; }
  echo "docker-up: installing docker.io" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi
if ! docker version >/dev/null 2>&1; then
  mkdir -p "$root/.tools"
  echo "docker-up: starting dockerd" >&2
  nohup dockerd >"$root/.tools/dockerd.log" 2>&1 &
  echo $! >"$root/.tools/dockerd.pid"
fi
for _ in $(seq 1 180); do
  if [ -S "$sock" ] && docker version >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
done
echo "docker-up: dockerd did not answer on $sock; log:" >&2
tail -n 30 "$root/.tools/dockerd.log" >&2 || true
exit 1
