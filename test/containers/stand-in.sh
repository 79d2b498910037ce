#!/usr/bin/env bash
# Stand-ins for the Dockerfile's base images, node:20-bookworm (build stage) and
# node:20-bookworm-slim (final stage), and for deploy/etcd/Dockerfile's debian:bookworm-slim,
# for machines that cannot pull them (no image registry):
# built from Debian's packages and this machine's Node.js, and tagged with those very names, so
# the Dockerfile is built unchanged (never with --pull). Each is made only when the name is
# neither local nor pullable, and is kept between runs (label org.gluonps.stand-in;
# `npm run test:containers -- --clean` removes them).
#
#   debian: `debootstrap --variant=minbase bookworm` itself (apt reaches the same mirror).
#   slim: `debootstrap --variant=minbase bookworm` + this machine's node, npm and Node headers
#         under /usr/local (where the official image has them), and the user `node` (uid 1000).
#   full: the slim one + python3, make, g++ (the official image has them too) + this machine's
#         extra CA certificates (/usr/local/share/ca-certificates), trusted by Node.js, so that
#         `npm ci` in the build stage reaches the npm registry through this machine's TLS proxy
#         without the Dockerfile knowing; node-gyp uses the local headers (npm_config_nodedir).
# Needs GLUONPS_CT_MIRROR (the Debian mirror), root (debootstrap) and a running dockerd.
set -euo pipefail
say() { printf 'test:containers: %s\n' "$*" >&2; }
MIRROR=${GLUONPS_CT_MIRROR:-http://deb.debian.org/debian}
LABEL=org.gluonps.stand-in
SLIM=node:20-bookworm-slim
FULL=node:20-bookworm
DEBIAN=debian:bookworm-slim
ROOTFS_IMAGE=gluonps-stand-in/bookworm-minbase:latest

have() { docker image inspect "$1" >/dev/null 2>&1; }
pulled() { timeout 120 docker pull -q "$1" >/dev/null 2>&1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The imported debootstrap root, which the stand-ins start from.
rootfs() {
  if ! have "$ROOTFS_IMAGE"; then
    say "building a stand-in base: debootstrap bookworm from $MIRROR (a few minutes, once)"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
      tail -n 20 "$work/debootstrap.log" >&2
      exit 1
    }
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    tar -C "$work/rootfs" --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -c . |
      docker import -c "LABEL $LABEL=rootfs" -c 'CMD ["bash"]' - "$ROOTFS_IMAGE" >/dev/null
    rm -rf "$work/rootfs"
  fi
}

if ! have "$DEBIAN" && ! pulled "$DEBIAN"; then
  say "cannot pull $DEBIAN: tagging the debootstrap root as its stand-in"
  rootfs
  docker tag "$ROOTFS_IMAGE" "$DEBIAN"
fi

if ! have "$SLIM" && ! pulled "$SLIM"; then
  rootfs
  say "building the stand-in $SLIM with this machine's Node.js $(node --version)"
  node_bin=$(node -p process.execPath)
  prefix=$(dirname "$(dirname "$node_bin")")
  npm_dir=$prefix/lib/node_modules/npm
  headers=$prefix/include/node
  [ -d "$npm_dir" ] && [ -f "$headers/node.h" ] || {
    say "expected npm in $npm_dir and Node's headers in $headers"
    exit 1
  }
  mkdir -p "$work/slim/bin" "$work/slim/lib/node_modules" "$work/slim/include"
  cp "$node_bin" "$work/slim/bin/node"
  cp -r "$npm_dir" "$work/slim/lib/node_modules/npm"
  cp -r "$headers" "$work/slim/include/node"
  cat >"$work/slim/Dockerfile" <<EOF
FROM $ROOTFS_IMAGE
COPY bin/ /usr/local/bin/
COPY lib/ /usr/local/lib/
COPY include/ /usr/local/include/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
LABEL $LABEL=slim
ENV NODE_VERSION=$(node --version | tr -d v)
CMD ["node"]
EOF
  docker build -q -t "$SLIM" "$work/slim" >/dev/null
fi

if ! have "$FULL" && ! pulled "$FULL"; then
  say "cannot pull $FULL: building a stand-in (the slim image + python3 make g++ + this machine's CA certificates)"
  mkdir -p "$work/full"
  cat /usr/local/share/ca-certificates/*.crt >"$work/full/extra-ca.crt" 2>/dev/null || : >"$work/full/extra-ca.crt"
  cat >"$work/full/Dockerfile" <<EOF
FROM $SLIM
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY extra-ca.crt /usr/local/share/gluonps-stand-in-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/gluonps-stand-in-ca.crt npm_config_nodedir=/usr/local
LABEL $LABEL=full
EOF
  docker build -q -t "$FULL" "$work/full" >/dev/null
fi
