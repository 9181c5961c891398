#!/usr/bin/env bash
# Makes a small PKI for the files provider with openssl:
#   ca.pem / ca-key.pem                 a root CA (key 0600)
#   access-point.pem / -key.pem         URI spiffe://<td>/ah/serve, DNS <ap host>, IP 127.0.0.1
#   executor-<name>.pem / -key.pem      URI spiffe://<td>/ah/agent/<name>, one per name
# Leaves: EC P-256, CA:FALSE, digitalSignature (critical), serverAuth+clientAuth, 30 s backdated.
#
# Usage: scripts/make-ca.sh <out-dir> [--trust-domain example.org] [--ap-host ap.example.com]
#                           [--days 30] executor-1 [executor-2 ...]
set -euo pipefail

usage() { echo "usage: $0 <out-dir> [--trust-domain TD] [--ap-host HOST] [--days N] <executor-name>..." >&2; exit 2; }
[ $# -ge 1 ] || usage
out=$1; shift
td=example.org; ap_host=localhost; days=30; names=()
while [ $# -gt 0 ]; do
  case $1 in
    --trust-domain) td=$2; shift 2 ;;
    --ap-host) ap_host=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    -*) usage ;;
    *) names+=("$1"); shift ;;
  esac
done
[[ $td =~ ^[a-z0-9._-]+$ ]] || { echo "error: invalid trust domain $td" >&2; exit 2; }
for n in "${names[@]}"; do [[ $n =~ ^[A-Za-z0-9._-]+$ ]] || { echo "error: invalid executor name $n" >&2; exit 2; }; done

mkdir -p "$out"
umask 077
cd "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
start=$(date -u -d '-30 seconds' +%Y%m%d%H%M%SZ)
end=$(date -u -d "+$days days" +%Y%m%d%H%M%SZ)

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

if [ ! -f ca.pem ]; then
  key ca-key.pem
  openssl req -x509 -new -key ca-key.pem -subj "/CN=ah fleet CA ($td)" -days $((days * 4)) -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
fi

leaf() { # file cn san
  key "$1-key.pem"
  openssl req -new -key "$1-key.pem" -subj "/CN=$2" -out "$work/$1.csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$3" > "$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA ca.pem -CAkey ca-key.pem -set_serial "0x$(openssl rand -hex 16)" \
    -not_before "$start" -not_after "$end" -extfile "$work/$1.ext" -out "$1.pem" 2>/dev/null \
  || openssl x509 -req -in "$work/$1.csr" -CA ca.pem -CAkey ca-key.pem -set_serial "0x$(openssl rand -hex 16)" \
    -days "$days" -extfile "$work/$1.ext" -out "$1.pem" 2>/dev/null
  chmod 644 "$1.pem"
}

leaf access-point "$ap_host" "URI:spiffe://$td/ah/serve,DNS:$ap_host,IP:127.0.0.1"
for n in "${names[@]}"; do leaf "executor-$n" "$n" "URI:spiffe://$td/ah/agent/$n"; done
chmod 644 ca.pem

echo "wrote $(pwd): ca.pem, access-point.pem, ${names[*]/#/executor-}"
openssl verify -CAfile ca.pem access-point.pem $(printf "executor-%s.pem " "${names[@]}") 2>/dev/null | sed 's/\.pem:/:/' || true
