#!/usr/bin/env bash
# Makes the two base images the Dockerfile builds on, for a machine that cannot pull
# node:20-bookworm-slim or golang:1.25-bookworm (test/image.test.ts uses them): Debian bookworm
# (minbase, from this machine's apt mirrors, by mmdebstrap) plus this machine's Node.js and npm
# laid out as the node image has them (/usr/local/bin, user `node` uid 1000), and the same
# Debian plus this machine's Go toolchain at /usr/local/go. Each is made once per key (this
# script, the apt sources, the Node and Go versions) and reused while the key holds.
#
#   scripts/image-bases.sh   # prints NODE_IMAGE=... and GO_IMAGE=... (local image names)
#
# Needs root, mmdebstrap and buildah. BUILDAH_STORAGE (extra global buildah options, e.g.
# "--root DIR --runroot DIR") picks the image store; PILOTLIGHT_IMAGE_DIR holds the work files.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_DIR="${PILOTLIGHT_IMAGE_DIR:-/var/cache/pilotlight/image}"
read -r -a STORAGE <<<"${BUILDAH_STORAGE:-}"
bah() { buildah "${STORAGE[@]}" "$@"; }

NODE=$(command -v node)
NODE=$(readlink -f "$NODE")
NPM_DIR=$(readlink -f "$(dirname "$NODE")/../lib/node_modules/npm")
GO=go
[ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
GOROOT=$("$GO" env GOROOT)

# This machine's apt sources (one-line and deb822 files), pasted into the base's own.
sources=()
[ -s /etc/apt/sources.list ] && grep -qE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list && sources+=(/etc/apt/sources.list)
for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && sources+=("$f")
done
if [ "${#sources[@]}" -eq 0 ]; then
  echo "image-bases: no apt sources in /etc/apt/sources.list{,.d}" >&2
  exit 1
fi

key=$({
  cat "$0" "${sources[@]}"
  "$NODE" --version
  grep -m1 '"version"' "$NPM_DIR/package.json"
  "$GO" env GOVERSION
} | sha256sum | cut -c1-12)
NODE_IMAGE="localhost/pilotlight-base-node:$key"
GO_IMAGE="localhost/pilotlight-base-go:$key"

have() { bah inspect --type image "$1" >/dev/null 2>&1; }

if have "$NODE_IMAGE" && have "$GO_IMAGE"; then
  echo "NODE_IMAGE=$NODE_IMAGE"
  echo "GO_IMAGE=$GO_IMAGE"
  exit 0
fi

mkdir -p "$IMAGE_DIR"
rootfs="$IMAGE_DIR/bookworm-$key.tar"
if [ ! -s "$rootfs" ]; then
  echo "image-bases: debootstrapping bookworm (minbase) into $rootfs" >&2
  rm -f "$IMAGE_DIR"/bookworm-*.tar
  # ca-certificates: the Go stage fetches modules over https. No docs, man pages or locales.
  mmdebstrap --quiet --variant=minbase --include=ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$rootfs.tmp.tar" "${sources[@]}" >&2
  mv "$rootfs.tmp.tar" "$rootfs"
fi

# A container from the root file system, with `extra` (a function given the mount point) done
# to it, committed as `name` with the given `buildah config` options.
make_image() { # name, extra, config options...
  local name=$1 extra=$2
  shift 2
  local ctr mnt
  ctr=$(bah from scratch)
  mnt=$(bah mount "$ctr")
  tar -xf "$rootfs" -C "$mnt"
  "$extra" "$mnt"
  bah umount "$ctr" >/dev/null
  bah config "$@" "$ctr"
  bah commit --quiet --rm "$ctr" "$name" >/dev/null
  echo "image-bases: made $name" >&2
}

# As node:20-bookworm-slim: node and npm in /usr/local, user and group `node` (1000).
node_extra() {
  local mnt=$1
  install -m 0755 "$NODE" "$mnt/usr/local/bin/node"
  mkdir -p "$mnt/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$mnt/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$mnt/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$mnt/usr/local/bin/npx"
  chroot "$mnt" groupadd --gid 1000 node
  chroot "$mnt" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
}
make_image "$NODE_IMAGE" node_extra \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$("$NODE" --version | sed 's/^v//')" \
  --cmd node

# As golang:1.25-bookworm (for what the Dockerfile's Go stage uses): Go at /usr/local/go, GOPATH /go.
go_extra() {
  local mnt=$1
  cp -a "$GOROOT" "$mnt/usr/local/go"
  mkdir -p "$mnt/go"
}
make_image "$GO_IMAGE" go_extra \
  --env PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env GOPATH=/go --env GOTOOLCHAIN=local \
  --workingdir /go --cmd bash

# Bases of earlier keys are not used again, nor, in a store of its own (BUILDAH_STORAGE), the
# untagged layers of the builds made on them.
old=$(bah images --noheading --format '{{.Name}}:{{.Tag}}' | grep -E '^localhost/pilotlight-base-(node|go):' | grep -v ":$key\$" || true)
for image in $old; do
  bah rmi "$image" >/dev/null 2>&1 || true
done
if [ -n "${BUILDAH_STORAGE:-}" ]; then
  bah rmi --prune >/dev/null 2>&1 || true
fi

echo "NODE_IMAGE=$NODE_IMAGE"
echo "GO_IMAGE=$GO_IMAGE"
