#!/usr/bin/env bash
# `npm run make-secrets -- [DIR] [EXTRA_HOST...]`: the files docker-compose.secure.yml mounts as
# Compose secrets (default DIR ./secrets; docs/containers.md, "Tokens and TLS"):
#   DIR/gluonps-tokens         one random full-access bearer token (the server's token file;
#                              the workers send its first line)
#   DIR/tls/ca-cert.pem        a private CA the workers and the health check trust
#   DIR/tls/server-cert.pem    the server's certificate, signed by that CA, valid for the
#   DIR/tls/server-key.pem     names `server` (the Compose service), `gluonps-server`,
#                              `localhost`, 127.0.0.1 and every EXTRA_HOST (a DNS name or an IP)
# The CA's private key stays in DIR/tls/ca-key.pem (not mounted anywhere). Existing files are
# never overwritten: delete DIR to make new ones. The image runs as uid 1000 (`node`): the
# mounted files must be readable by it, so as root they are given to uid 1000 (mode 0600);
# otherwise they belong to the caller (mode 0600; readable in the container when the caller
# is uid 1000, else see docs/containers.md).
set -euo pipefail
DIR=${1:-secrets}
shift || true
command -v openssl >/dev/null || {
  echo "make-secrets: openssl is needed (Debian: apt-get install openssl)" >&2
  exit 1
}
if [ -e "$DIR/gluonps-tokens" ] || [ -e "$DIR/tls" ]; then
  echo "make-secrets: $DIR already holds secrets; delete it to make new ones" >&2
  exit 1
fi
mkdir -p "$DIR/tls"
umask 077
san="DNS:server,DNS:gluonps-server,DNS:localhost,IP:127.0.0.1"
for h in "$@"; do
  if [[ $h =~ ^[0-9.]+$ || $h == *:* ]]; then san+=",IP:$h"; else san+=",DNS:$h"; fi
done
# EC P-256 keys: generated in milliseconds; gRPC's TLS 1.2/1.3 suites all take them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=gluon-ps private CA" -keyout "$DIR/tls/ca-key.pem" -out "$DIR/tls/ca-cert.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=gluonps-server" \
  -keyout "$DIR/tls/server-key.pem" -out "$DIR/tls/server.csr" 2>/dev/null
openssl x509 -req -in "$DIR/tls/server.csr" -CA "$DIR/tls/ca-cert.pem" -CAkey "$DIR/tls/ca-key.pem" \
  -CAcreateserial -days 825 -out "$DIR/tls/server-cert.pem" \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") 2>/dev/null
rm -f "$DIR/tls/server.csr" "$DIR/tls/ca-cert.srl"
# The token alone on its line: the server reads every line, the workers the first.
openssl rand -hex 32 >"$DIR/gluonps-tokens"
if [ "$(id -u)" -eq 0 ]; then chown -R 1000:1000 "$DIR"; fi
echo "make-secrets: wrote $DIR/gluonps-tokens and $DIR/tls/{ca-cert,server-cert,server-key}.pem (names: ${san//DNS:/})" >&2
