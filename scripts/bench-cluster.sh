#!/usr/bin/env bash
# `npm run bench:cluster`: the cluster benchmark (bench/cluster.ts, docs/benchmarks.md). Its hosts
# are Linux network namespaces linked by veth pairs and limited with tc, so it needs root and
# Debian's iproute2 (`ip`, `tc`): installed here when missing (scripts/lib/debian-packages.sh),
# unless --skip-netns asks for the loopback part only. Then bundles the benchmark and runs it
# under plain node, as the other benchmarks are run. Arguments go to the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in
*" --skip-netns "*) ;;
*)
  # shellcheck source=lib/debian-packages.sh
  . scripts/lib/debian-packages.sh
  ensure_debian_packages bench:cluster iproute2 || exit 1
  ;;
esac
node scripts/bundle.mjs bench/cluster.ts bench-cluster
exec node .build/bench-cluster.mjs "$@"
