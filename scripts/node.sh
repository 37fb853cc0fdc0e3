#!/usr/bin/env bash
# Prints the bin directory of a Node.js >= 22.12 to put first on PATH: the system's when it is new
# enough, otherwise Node 24 installed from the npm registry into .tools/ (PRODUCT.md §6).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ok() { "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null; }
if command -v node >/dev/null 2>&1 && ok node; then
  dirname "$(command -v node)"
  exit 0
fi
tools="$root/.tools"
bin="$tools/node_modules/.bin"
if [ ! -x "$bin/node" ] || ! ok "$bin/node"; then
  mkdir -p "$tools"
  echo "node.sh: installing Node 24 into $tools (system node is $(node --version 2>/dev/null || echo missing))" >&2
  npm install --prefix "$tools" --no-save --no-audit --no-fund node@24 >&2
fi
echo "$bin"
