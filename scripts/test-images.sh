#!/usr/bin/env bash
# Builds the local test images (no registry here, PRODUCT.md §6). Quick when they exist.
#   deploykit-test/busybox:1    FROM scratch + Debian's static busybox (httpd, sh, nc)
#   deploykit-test/greeter:1    FROM busybox: serves $GREETING over httpd on :8080, one log line per request
#   deploykit-test/debian-db:1  Debian bookworm (mmdebstrap minbase) with PostgreSQL 15, psql and Redis 7.0
#   deploykit-test/postgres:1   FROM debian-db: the official image's POSTGRES_* entrypoint, STOPSIGNAL SIGINT
#   deploykit-test/redis:1      FROM debian-db: redis-server with REDIS_PASSWORD enforced, appendonly in /data
#   deploykit-test/caddy:1      Debian bookworm (mmdebstrap minbase) with Debian's caddy (2.6) and pebble: the proxy
#                               image tests pass as -proxy-image (the default caddy:2 needs a registry), and with
#                               `pebble -config …` Let's Encrypt's RFC 8555 test CA for the ACME test (one build, not two)
#   deploykit-test/node:1       debian-db plus the Node and npm running this script: the Node base image the build
#                               tests point `build_base_node` at (node:22-bookworm-slim needs a registry)
#   deploykit-test/python:1     Debian bookworm (mmdebstrap minbase) with Debian's python3, pip and python-is-python3,
#                               not marked externally managed (like the official python image): the base the build
#                               tests point `build_base_python` at (python:3.12-slim needs a registry)
# Each image but busybox carries a label with a checksum of its recipe and is rebuilt when the recipe
# changes (the database images' checksum includes debian-db's id, so a new base rebuilds them too).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
img="deploykit-test/busybox:1"
dbbase="deploykit-test/debian-db:1"

label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

# Images FROM the busybox one, each from test/images/<name>/Dockerfile; rebuilt when it changes.
derived() {
  local name tag sum
  for name in greeter; do
    tag="deploykit-test/$name:1"
    sum="$(sha256sum "$root/test/images/$name/Dockerfile" | cut -c1-16)"
    if [ "$(label "$tag" deploykit-test.dockerfile)" = "$sum" ]; then continue; fi
    docker build -q --label "deploykit-test.dockerfile=$sum" -t "$tag" "$root/test/images/$name" >/dev/null
    echo "test-images: built $tag" >&2
  done
}

# Images FROM debian-db, each from test/images/<name>/ (Dockerfile and the entrypoint it copies);
# rebuilt when a file or the base image changes.
derived_db() {
  local name tag sum
  for name in postgres redis; do
    tag="deploykit-test/$name:1"
    sum="$( (docker image inspect -f '{{.Id}}' "$dbbase" && cd "$root/test/images/$name" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)"
    if [ "$(label "$tag" deploykit-test.recipe)" = "$sum" ]; then continue; fi
    docker build -q --label "deploykit-test.recipe=$sum" -t "$tag" "$root/test/images/$name" >/dev/null
    echo "test-images: built $tag" >&2
  done
}

# The Debian archive this machine's apt uses (containers can reach it, no other registry).
debian_mirror() {
  local uri
  uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# Docs, man pages and translations are left out, and so is LLVM (PostgreSQL's optional JIT provider,
# 130 MB with libz3): the image is copied into every fault test's own dockerd (docker save | load).
# No default cluster is created; the entrypoint runs initdb on the preset's volume.
debian_db() {
  local recipe sum mirror
  recipe="minbase bookworm postgresql,postgresql-client,redis-server -doc -man -locale -i18n -info -llvm -z3 -llvmjit no-main-cluster"
  sum="$(echo "$recipe" | sha256sum | cut -c1-16)"
  if [ "$(label "$dbbase" deploykit-test.recipe)" = "$sum" ]; then return; fi
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    echo "test-images: installing mmdebstrap" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2
  fi
  mirror="$(debian_mirror)"
  echo "test-images: building $dbbase with mmdebstrap from $mirror (about a minute)" >&2
  local t0=$SECONDS
  mmdebstrap --quiet --variant=minbase --include=postgresql,postgresql-client,redis-server \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/i18n/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/lib/*/libLLVM*' --dpkgopt='path-exclude=/usr/lib/*/libz3*' \
    --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/llvmjit*' --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/bitcode/*' \
    --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/deploykit-test.conf"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm - "deb $mirror bookworm main" |
    docker import --change "LABEL deploykit-test.recipe=$sum" --change 'CMD ["/bin/bash"]' - "$dbbase" >/dev/null
  echo "test-images: built $dbbase in $((SECONDS - t0)) s" >&2
}

# A Debian bookworm image with packages, nothing else (mmdebstrap minbase, docs left out).
#   debian_pkg_image <tag> <packages,comma,separated> <CMD json> <ENV line> [customize hook]
debian_pkg_image() {
  local tag="$1" pkgs="$2" cmd="$3" env="$4" hook="${5:-}" recipe sum mirror
  local hooks=()
  [ -z "$hook" ] || hooks=(--customize-hook="$hook")
  recipe="minbase bookworm $pkgs -doc -man -locale $cmd${hook:+ $hook}"
  sum="$(echo "$recipe" | sha256sum | cut -c1-16)"
  if [ "$(label "$tag" deploykit-test.recipe)" = "$sum" ]; then return; fi
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    echo "test-images: installing mmdebstrap" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2
  fi
  mirror="$(debian_mirror)"
  echo "test-images: building $tag with mmdebstrap from $mirror" >&2
  local t0=$SECONDS
  mmdebstrap --quiet --variant=minbase --include="$pkgs" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' ${hooks[@]+"${hooks[@]}"} \
    bookworm - "deb $mirror bookworm main" |
    docker import --change "LABEL deploykit-test.recipe=$sum" --change "ENV $env" \
      --change "CMD $cmd" - "$tag" >/dev/null
  echo "test-images: built $tag in $((SECONDS - t0)) s" >&2
}

if ! docker image inspect "$img" >/dev/null 2>&1; then
  static_busybox() { [ -x /bin/busybox ] && ldd /bin/busybox 2>&1 | grep -q "not a dynamic"; }
  if ! static_busybox; then
    echo "test-images: installing busybox-static" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >&2
  fi
  bb=/bin/busybox
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$bb" "$ctx/busybox"
  cp "$root/test/images/busybox/Dockerfile" "$ctx/Dockerfile"
  docker build -q -t "$img" "$ctx" >/dev/null
  echo "test-images: built $img" >&2
fi
derived
# Issue 13: the base detected Node apps build FROM in the build tests. Debian's nodejs and npm pull
# some 400 packages (14 minutes of mmdebstrap on a busy machine); the Node running these scripts and
# its npm on the Debian base image take seconds instead.
node_image() {
  local tag=deploykit-test/node:1 node npm sum ctx
  node="$(command -v node)"
  npm="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
  sum="$( (node --version; cat "$npm/package.json" | grep '"version"'; docker image inspect --format '{{.Id}}' "$dbbase") | sha256sum | cut -c1-16)"
  if [ "$(docker image inspect --format '{{index .Config.Labels "deploykit-test.recipe"}}' "$tag" 2>/dev/null)" = "$sum" ]; then return; fi
  ctx="$(mktemp -d)"
  cp "$node" "$ctx/node"
  cp -r "$npm" "$ctx/npm"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $dbbase
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version
LABEL deploykit-test.recipe=$sum
ENTRYPOINT []
CMD ["node"]
DOCKERFILE
  docker build -q -t "$tag" "$ctx" >/dev/null
  rm -rf "$ctx"
  echo "test-images: built $tag from $(node --version) and npm $(npm --version)" >&2
}

# The Debian builds are independent and mostly wait on the archive: run them side by side
# (mmdebstrap installed first, once, when either has to be built: two apt-gets would race for its lock).
if ! command -v mmdebstrap >/dev/null 2>&1 &&
  { ! docker image inspect deploykit-test/caddy:1 >/dev/null 2>&1 || ! docker image inspect "$dbbase" >/dev/null 2>&1 ||
    ! docker image inspect deploykit-test/python:1 >/dev/null 2>&1; }; then
  echo "test-images: installing mmdebstrap" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >&2
fi
# The proxy's test image (the daemon gives the command) also runs the ACME test CA.
debian_pkg_image deploykit-test/caddy:1 caddy,pebble,ca-certificates '["caddy", "run"]' 'XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config' &
caddy_build=$!
# Issue 13: the Python base of the build tests. Debian marks its Python externally managed (PEP 668),
# which makes the generated Dockerfile's `pip install -r requirements.txt` refuse to run.
debian_pkg_image deploykit-test/python:1 python3,python3-pip,python-is-python3 '["python3"]' \
  'PIP_DISABLE_PIP_VERSION_CHECK=1' 'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' &
python_build=$!
debian_db
derived_db
wait "$caddy_build"
wait "$python_build"
node_image
