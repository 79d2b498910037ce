#!/usr/bin/env bash
# `npm run test:containers`: the container tier. Makes sure Docker and the Compose v2 plugin are
# there (installing Debian's packages with apt-get when run as root, naming them otherwise),
# starts dockerd when none runs (and stops only a daemon it started), builds local stand-ins for
# node:20-bookworm and node:20-bookworm-slim when those cannot be pulled
# (test/containers/stand-in.sh), builds the project image from the real Dockerfile and the etcd
# image from deploy/etcd/Dockerfile (the compose file's cluster profile) under private tags, runs
# test/containers/*.test.ts against docker-compose.yml, and removes the containers, networks,
# volumes and the images it made. Kept between runs, to save minutes: the
# stand-in base images (label org.gluonps.stand-in) and Docker's build cache; the Compose
# plugin in $GLUONPS_CT_CACHE (default ~/.cache/gluon-ps/containers). `--clean` removes those.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${GLUONPS_CT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gluon-ps/containers}
mkdir -p "$CACHE"
STARTED=$(date +%s)
say() { printf 'test:containers: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}
trap 'say "failed: line $LINENO: $BASH_COMMAND"' ERR

# One run at a time per machine: runs share the daemon (the one that started it stops it) and the
# stand-in images.
exec 9>"$CACHE/run.lock"
if ! flock -n 9; then
  say "waiting for another test:containers run on this machine to finish"
  flock 9
fi

# --- packages ------------------------------------------------------------------------------------
# shellcheck source=lib/debian-packages.sh
. scripts/lib/debian-packages.sh
ensure_debian_packages test:containers docker.io debootstrap || exit 1

# The Debian mirror this machine's apt uses (debootstrap and the plugin download use it too).
MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/\{0,1\}\([[:space:]].*\)\{0,1\}$/\1/p' \
    -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\/debian\)\/\{0,1\}[[:space:]].*/\2/p' | head -n1 || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
export GLUONPS_CT_MIRROR=$MIRROR

# --- Compose v2 ----------------------------------------------------------------------------------
# `docker compose` as installed, else the plugin from Debian trixie's docker-compose and
# docker-buildx packages (they need only libc6 >= 2.34), unpacked into a private DOCKER_CONFIG:
# nothing on the system changes.
if ! docker compose version >/dev/null 2>&1; then
  export DOCKER_CONFIG=$CACHE/docker-config
  if ! docker compose version >/dev/null 2>&1; then
    say "fetching the Compose v2 and buildx plugins (Debian trixie's docker-compose, docker-buildx) into $DOCKER_CONFIG"
    apt_dir=$CACHE/apt-trixie
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$DOCKER_CONFIG/cli-plugins"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$apt_dir/sources.list"
    apt_opts=(-qq -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir" -o Dir::State::status=/dev/null
      -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update
    (cd "$apt_dir" && rm -f ./*.deb && apt-get "${apt_opts[@]}" download docker-compose docker-buildx)
    rm -rf "$apt_dir/x"
    for deb in "$apt_dir"/*.deb; do dpkg-deb -x "$deb" "$apt_dir/x"; done
    cp "$apt_dir"/x/usr/libexec/docker/cli-plugins/docker-* "$DOCKER_CONFIG/cli-plugins/"
    rm -rf "$apt_dir/x" "$apt_dir"/*.deb "$apt_dir/lists"
    docker compose version >/dev/null || die "the Compose plugin in $DOCKER_CONFIG/cli-plugins does not run"
  fi
fi
export DOCKER_BUILDKIT=1

# --- the daemon ----------------------------------------------------------------------------------
DOCKERD_PID=
cleanup_daemon() {
  if [ -n "$DOCKERD_PID" ]; then
    say "stopping the dockerd this run started (pid $DOCKERD_PID)"
    kill "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
  fi
}
if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "no Docker daemon answers, and starting one needs root"
  say "starting dockerd (log: $CACHE/dockerd.log)"
  dockerd >"$CACHE/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || die "dockerd did not come up: $(tail -n 5 "$CACHE/dockerd.log")"
fi

# --- images --------------------------------------------------------------------------------------
RUN_ID=ct$$
IMAGE=gluon-ps:$RUN_ID
ETCD_IMAGE=gluon-ps-etcd:$RUN_ID
cleanup() {
  local rc=$?
  docker image rm -f "$IMAGE" "$ETCD_IMAGE" >/dev/null 2>&1 || true
  cleanup_daemon
  say "done in $(($(date +%s) - STARTED)) s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${1:-}" = --clean ]; then
  say "removing the stand-in base images, the build cache and $CACHE"
  docker image rm -f $(docker image ls -q --filter label=org.gluonps.stand-in) 2>/dev/null || true
  docker builder prune -af >/dev/null || true
  rm -rf "$CACHE"
  exit 0
fi

bash test/containers/stand-in.sh

say "building $IMAGE from ./Dockerfile"
build_started=$(date +%s)
docker build --progress=plain -t "$IMAGE" . >"$CACHE/build.log" 2>&1 ||
  die "docker build failed: $(tail -n 30 "$CACHE/build.log")"
export GLUONPS_CT_BUILD_SECONDS=$(($(date +%s) - build_started))
export GLUONPS_CT_IMAGE=$IMAGE GLUONPS_CT_RUN=$RUN_ID
say "built $IMAGE in ${GLUONPS_CT_BUILD_SECONDS} s, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"

say "building $ETCD_IMAGE from deploy/etcd/Dockerfile"
docker build --progress=plain -t "$ETCD_IMAGE" deploy/etcd >"$CACHE/build-etcd.log" 2>&1 ||
  die "docker build of deploy/etcd failed: $(tail -n 30 "$CACHE/build-etcd.log")"
export GLUONPS_CT_ETCD_IMAGE=$ETCD_IMAGE

# Further arguments go to vitest (e.g. `-t cluster` runs only the cluster profile's tests).
"$ROOT/node_modules/.bin/vitest" run --config test/containers/vitest.config.ts "$@"
