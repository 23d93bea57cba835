#!/bin/sh
# Makes a self-signed development certificate for nginx's TLS template:
#   deploy/nginx/make-dev-cert.sh [out-dir] [host-name]
# Writes <out-dir>/tls.crt and <out-dir>/tls.key (mode 0600); defaults: deploy/compose/certs, localhost.
# Browsers will warn: it is signed by nobody. In production use a certificate from your CA or ACME.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../compose/certs}
host=${2:-localhost}
days=${CERT_DAYS:-30}
mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
  -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "keyUsage=digitalSignature" -addext "extendedKeyUsage=serverAuth" \
  -keyout "$out/tls.key" -out "$out/tls.crt" 2>/dev/null
chmod 0644 "$out/tls.crt"
echo "wrote $out/tls.crt and $out/tls.key for $host, valid $days days"
