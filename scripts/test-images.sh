#!/usr/bin/env bash
# Builds the local test images (no registry here, PRODUCT.md §6). Quick when they exist.
#   deploykit-test/busybox:1  FROM scratch + Debian's static busybox (httpd, sh, nc)
#   deploykit-test/greeter:1  FROM busybox: serves $GREETING over httpd on :8080, one log line per request
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
img="deploykit-test/busybox:1"

# Images FROM the busybox one, each from test/images/<name>/Dockerfile; rebuilt when it changes.
derived() {
  local name tag sum
  for name in greeter; do
    tag="deploykit-test/$name:1"
    sum="$(sha256sum "$root/test/images/$name/Dockerfile" | cut -c1-16)"
    if [ "$(docker image inspect -f '{{index .Config.Labels "deploykit-test.dockerfile"}}' "$tag" 2>/dev/null)" = "$sum" ]; then continue; fi
    docker build -q --label "deploykit-test.dockerfile=$sum" -t "$tag" "$root/test/images/$name" >/dev/null
    echo "test-images: built $tag" >&2
  done
}

if docker image inspect "$img" >/dev/null 2>&1; then
  derived
  exit 0
fi
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
derived
