#!/usr/bin/env bash
# What verifying an https upstream costs per request (issue 14, item 3). nginx terminates TLS on
# 127.0.0.1:9011 with a certificate from a CA made here; each pair below runs through
# bench/compare.sh (same core, loaded at the same time, CPU time per request).
#   bash bench/upstream-tls.sh NEW_BINARY [OLD_BINARY]       (ROUNDS, DURATION as compare.sh)
# Pairs: verified with the CA in ca_certificates against tls_verify: false; the same CA plus
# every system root as ca_certificates (trust store "system plus the service's CAs") against
# the CA alone; and, given OLD_BINARY (main), its https path (Bun's default store, the CA
# given by SSL_CERT_FILE) against the new default (no ca_certificates, SSL_CERT_FILE too).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n 2,9p "$0"; exit 2; }
NEW=$1; OLD=${2:-}
RUN=$(mktemp -d /tmp/gateway-upstream-tls.XXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT

ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$RUN/ca.key" -out "$RUN/ca.pem" -days 2 -subj "/CN=Bench CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req "${ec[@]}" -keyout "$RUN/server.key" -out "$RUN/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf "subjectAltName=IP:127.0.0.1\n" >"$RUN/server.ext"
openssl x509 -req -in "$RUN/server.csr" -CA "$RUN/ca.pem" -CAkey "$RUN/ca.key" -CAcreateserial -days 2 -extfile "$RUN/server.ext" -out "$RUN/server.pem" 2>/dev/null

cat >"$RUN/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid nginx.pid;
error_log stderr error;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:9011 ssl;
    ssl_certificate $RUN/server.pem;
    ssl_certificate_key $RUN/server.key;
    location / { default_type application/json; return 200 '{"ok":true,"from":"upstream"}'; }
  }
}
EOF
taskset -c "${LOAD_CPU:-0}" nginx -p "$RUN" -c "$RUN/nginx.conf" >"$RUN/nginx.log" 2>&1 & PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null --cacert "$RUN/ca.pem" https://127.0.0.1:9011/ && break; sleep 0.05; done

# A declarative file: one https service at nginx, with these service fields and CA certificates.
config() {
  local file=$1 fields=$2; shift 2
  { echo '_format_version: "3.0"'
    if [ $# -gt 0 ]; then
      echo "ca_certificates:"
      local i=0
      for pem in "$@"; do
        printf '  - id: 00000000-0000-4000-8000-%012d\n    cert: |\n' "$i"
        sed 's/^/      /' "$pem"
        i=$((i + 1))
      done
    fi
    echo "services:"
    echo "  - name: upstream"
    echo "    url: https://127.0.0.1:9011"
    [ -n "$fields" ] && echo "    $fields"
    echo "    routes:"
    echo "      - name: all"
    echo "        paths: [/]"
  } >"$file"
}
ids() { local out="" i; for ((i = 0; i < $1; i++)); do out+="${out:+, }00000000-0000-4000-8000-$(printf %012d "$i")"; done; echo "$out"; }

# The system roots, one PEM file each, that are CA certificates Kong's checks accept.
mkdir -p "$RUN/roots"
awk -v dir="$RUN/roots" '/BEGIN CERT/{n++; f=sprintf("%s/%03d.pem", dir, n)} {print > f}' /etc/ssl/certs/ca-certificates.crt
roots=()
now=$(date +%s)
for pem in "$RUN"/roots/*.pem; do
  end=$(date -d "$(openssl x509 -in "$pem" -noout -enddate | cut -d= -f2)" +%s)
  openssl x509 -in "$pem" -noout -text | grep -q "CA:TRUE" && [ "$end" -gt "$now" ] && roots+=("$pem")
done

config "$RUN/ca.yml" "ca_certificates: [$(ids 1)]" "$RUN/ca.pem"
config "$RUN/off.yml" "tls_verify: false"
config "$RUN/system-plus-ca.yml" "ca_certificates: [$(ids $((${#roots[@]} + 1)))]" "$RUN/ca.pem" "${roots[@]}"
config "$RUN/default.yml" ""

echo "== A: ca_certificates [CA]   B: tls_verify false"
bash bench/compare.sh "$NEW" "$RUN/ca.yml" "$NEW" "$RUN/off.yml"
echo "== A: ca_certificates [CA]   B: ca_certificates [CA + ${#roots[@]} system roots]"
bash bench/compare.sh "$NEW" "$RUN/ca.yml" "$NEW" "$RUN/system-plus-ca.yml"
if [ -n "$OLD" ]; then
  echo "== A: old binary, Bun's default store (SSL_CERT_FILE=CA)   B: new binary, default (no ca_certificates, SSL_CERT_FILE=CA)"
  SSL_CERT_FILE="$RUN/ca.pem" bash bench/compare.sh "$OLD" "$RUN/default.yml" "$NEW" "$RUN/default.yml"
fi
