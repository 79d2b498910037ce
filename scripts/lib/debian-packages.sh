#!/usr/bin/env bash
# Sourced by the test tiers that need Debian packages (scripts/test-*.sh; docs/developers.md):
# `ensure_debian_packages TIER PACKAGE...` installs the packages that are not installed, with
# apt-get when running as root, saying what it installs; otherwise it fails naming them. No tier
# skips silently. Installs are serialized by a lock, so two tiers (or two checkouts) never race
# for dpkg's own lock, which apt-get does not wait for.

ensure_debian_packages() {
  local tier=$1
  shift
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    printf '%s: missing Debian packages: %s (install them: apt-get install %s)\n' \
      "$tier" "${missing[*]}" "${missing[*]}" >&2
    return 1
  fi
  printf '%s: installing with apt-get: %s\n' "$tier" "${missing[*]}" >&2
  (
    flock 8
    # The package lists may be missing or stale on a fresh machine; a failed update is reported
    # by the install that follows.
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ) 8>/tmp/gluonps-apt.lock
}
