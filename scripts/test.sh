#!/usr/bin/env bash
# Every test, in four lanes at once (`make test` runs this after lint and the test images).
#
#   lane A: the long fault suites (vitest project `docker-long`), each on its own private dockerd;
#   lane B: the `unit` project, then the `docker` project;
#   lane C: the `docker-v2` project (builds, CLI, metrics, variables, fuzz, load);
#   lane D: the end-to-end suites in Chromium (test/e2e/run.ts, then every test/e2e/*.e2e.ts), then
#           the `docker-late` project (long Docker files, see vitest.config.ts).
#
# The integration projects run their files one at a time and mostly wait on dockerd and databases,
# not on the CPU, so the lanes overlap well. Each lane's output goes to test-results/lane-*.log; the
# logs are printed when all have ended, and the last lines name every failed file.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

mkdir -p test-results
start=$(date +%s)

lane() {
  local name=$1
  shift
  # `times` prints the CPU time of the lane's finished children (user, then system): beside the wall
  # time it shows which lane loads the shared machine.
  ("$@"; rc=$?; times >"test-results/lane-$name.cpu"; exit $rc) >"test-results/lane-$name.log" 2>&1
  local rc=$?
  echo "test: lane $name exit $rc after $(($(date +%s) - start)) s, CPU $(tail -1 "test-results/lane-$name.cpu" 2>/dev/null)"
  return $rc
}

e2e() {
  node test/e2e/run.ts || return 2
  # Feature suites that start their own daemon and browser (builds, domains, CLI login, ...).
  for f in test/e2e/*.e2e.ts; do
    [ -f "$f" ] || continue
    echo "test: e2e $f"
    node "$f" || return 3
  done
}

lane_b() { npx vitest run --project unit && npx vitest run --project docker; }
lane_d() { e2e && npx vitest run --project docker-late; }


lane a npx vitest run --project docker-long &
a=$!
lane b lane_b &
b=$!
lane c npx vitest run --project docker-v2 &
c=$!
lane d lane_d &
d=$!

rc=0
for p in $a $b $c $d; do wait "$p" || rc=1; done
for l in a b c d; do
  echo "=== lane $l"
  cat "test-results/lane-$l.log"
done
echo
echo "test: $(($(date +%s) - start)) s in all"
if [ "$rc" -ne 0 ]; then
  echo "test: failed:"
  sed 's/\x1b\[[0-9;]*m//g' test-results/lane-*.log | grep -E "^ *(FAIL|×)|✖" | sort -u | head -40
  exit 1
fi
