#!/usr/bin/env bash
# Every test, in two lanes at once (`make test` runs this after lint and the test images).
#
#   lane A: the long fault suites (vitest project `docker-long`), each on its own private dockerd (mostly waiting on databases and
#           switch-overs, not on the CPU), then the end-to-end suite in Chromium;
#   lane B: the `unit` and `docker` projects.
#
# Run one after the other they took ~20 minutes; side by side, about the longer lane. Each lane's
# output goes to test-results/lane-*.log; lane A's is printed when it ends, and the last lines
# printed name every failed file of both lanes.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

mkdir -p test-results

start=$(date +%s)
(
  npx vitest run --project docker-long || exit 1
  if [ -f test/e2e/run.ts ]; then node test/e2e/run.ts || exit 2; fi
  # Feature suites that start their own daemon and browser (builds, CLI login, ...).
  for f in test/e2e/*.e2e.ts; do
    [ -f "$f" ] || continue
    echo "test: e2e $f"
    node "$f" || exit 3
  done
) >test-results/lane-a.log 2>&1 &
lane_a=$!

npx vitest run --project unit --project docker 2>&1 | tee test-results/lane-b.log
b=${PIPESTATUS[0]}
echo "test: lane B (unit + docker) exit $b after $(($(date +%s) - start)) s; waiting for lane A (fault suites + e2e)"
wait "$lane_a"
a=$?
cat test-results/lane-a.log
echo
echo "test: lane A exit $a, lane B exit $b, $(($(date +%s) - start)) s in all"
if [ "$a" -ne 0 ] || [ "$b" -ne 0 ]; then
  echo "test: failed:"
  sed 's/\x1b\[[0-9;]*m//g' test-results/lane-a.log test-results/lane-b.log | grep -E "^ *(FAIL|×|not ok)|✖" | sort -u | head -40
  exit 1
fi
