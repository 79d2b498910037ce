#!/usr/bin/env bash
# `npm run test:browser`: the browser tier. Makes sure Debian's chromium is installed (with
# apt-get when run as root, naming the package otherwise: never a silent skip), then runs
# test/browser/*.test.ts, which load the live status page of a server with a training demo
# running in headless chromium through playwright-core. Screenshots go to test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/debian-packages.sh
. scripts/lib/debian-packages.sh
ensure_debian_packages test:browser chromium || exit 1
export GLUONPS_CHROMIUM=${GLUONPS_CHROMIUM:-/usr/bin/chromium}
[ -x "$GLUONPS_CHROMIUM" ] || {
  printf 'test:browser: %s is not an executable (set GLUONPS_CHROMIUM)\n' "$GLUONPS_CHROMIUM" >&2
  exit 1
}
mkdir -p test-artifacts
exec npx vitest run --config test/browser/vitest.config.ts "$@"
