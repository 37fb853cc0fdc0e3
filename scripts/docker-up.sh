#!/usr/bin/env bash
# Makes a Docker engine available. It never stops an engine it did not start; the pid of one it
# started is written to .tools/dockerd.pid.
#   docker-up.sh        for the tests (make test, .ci/run): installs Debian's docker.io when dockerd is
#                       missing (as root), starts dockerd in the background when the socket does not
#                       answer, and waits for it; fails when there is no engine.
#   docker-up.sh --run  for make run: the same start when it can (root, dockerd installed, no remote
#                       DOCKER_HOST), never an install; otherwise one line says what to do, and make run
#                       goes on (deploykitd starts without Docker and deploys once it answers).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sock="${DOCKER_SOCK:-/var/run/docker.sock}"
run=false
[ "${1:-}" = "--run" ] && run=true
answers() {
  if command -v docker >/dev/null 2>&1; then docker version >/dev/null 2>&1
  else $run && [ -S "$sock" ]; fi
}
if answers; then exit 0; fi
if $run; then
  later="deploykitd starts without it and deploys once Docker answers"
  say() { echo "make run: $*" >&2; exit 0; }
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix://$sock" ]; then
    say "Docker at $DOCKER_HOST does not answer: start it there ($later)."
  fi
  command -v dockerd >/dev/null 2>&1 || say "Docker is not installed: install it (Debian: sudo apt-get install docker.io) and run make run again ($later)."
  [ "$(id -u)" = 0 ] || say "Docker is not running and starting it needs root: run 'sudo systemctl start docker' ($later)."
fi
if ! command -v dockerd >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || { echo "docker-up: dockerd missing and not root; install docker.io" >&2; exit 1; }
  echo "docker-up: installing docker.io" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi
if ! answers; then
  mkdir -p "$root/.tools"
  echo "docker-up: starting dockerd" >&2
  nohup dockerd >"$root/.tools/dockerd.log" 2>&1 &
  echo $! >"$root/.tools/dockerd.pid"
fi
for _ in $(seq 1 180); do
  if [ -S "$sock" ] && answers; then exit 0; fi
  sleep 0.5
done
if $run; then
  echo "make run: dockerd did not answer on $sock within 90 s (log: .tools/dockerd.log); $later." >&2
  exit 0
fi
echo "docker-up: dockerd did not answer on $sock; log:" >&2
tail -n 30 "$root/.tools/dockerd.log" >&2 || true
exit 1
