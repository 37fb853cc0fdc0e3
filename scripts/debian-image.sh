#!/usr/bin/env bash
# A Debian bookworm base image built locally (there is no registry here): mmdebstrap's minbase
# variant, imported into the engine at $DOCKER_HOST (default the host's). Quick when it exists.
# Usage: scripts/debian-image.sh [tag]   (default deploykit-test/debian:bookworm)
set -euo pipefail
tag="${1:-deploykit-test/debian:bookworm}"
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi
command -v mmdebstrap >/dev/null || apt-get install -y mmdebstrap >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mmdebstrap --quiet --variant=minbase --include=ca-certificates bookworm "$tmp/rootfs.tar" >&2
docker import --change 'CMD ["/bin/bash"]' "$tmp/rootfs.tar" "$tag" >/dev/null
echo "debian-image.sh: built $tag" >&2
