#!/usr/bin/env bash
# Makes sure Debian's etcd-server is installed (/usr/bin/etcd): the etcd membership tests
# (test/integration/cluster-etcd.test.ts) start a real etcd on 127.0.0.1. Run by `npm test`
# before vitest, and by the tests' harness (test/integration/etcd-harness.ts) when the binary is
# missing, so running the file alone works too. Installs with apt-get as root (saying so),
# otherwise fails naming the package: never a silent skip (docs/developers.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/debian-packages.sh
. scripts/lib/debian-packages.sh
ensure_debian_packages etcd-tests etcd-server || exit 1
[ -x /usr/bin/etcd ] || {
  printf 'etcd-tests: /usr/bin/etcd is missing although etcd-server is installed\n' >&2
  exit 1
}
