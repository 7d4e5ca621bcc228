#!/usr/bin/env bash
# TLS termination cost: the gateway (one process) against HAProxy (one thread), both pinned to
# the same core, same upstream (nginx, bench/nginx-upstream.conf), same run. For each: keep-alive
# req/s over plain HTTP and over HTTPS, and new TLS handshakes/s (wrk with Connection: close,
# one request per handshake). Routes: no plugins, and jwt HS256 (HAProxy only proxies).
#   flock /tmp/gateway-bench.lock bash bench/tls.sh        (DURATION=5s SUT_CPU=1 LOAD_CPU=0)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}; SUT_CPU=${SUT_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}; CONNS=${CONNS:-50}
BIN=${BIN:-$PWD/dist/gateway}
command -v wrk >/dev/null && command -v nginx >/dev/null && command -v haproxy >/dev/null || { echo "needs wrk, nginx and haproxy (apt-get install wrk nginx haproxy)"; exit 1; }
[[ -x $BIN ]] || npm run build >/dev/null
RUN=$(mktemp -d /tmp/gateway-tls-bench.XXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() { for _ in $(seq 200); do curl -sk -o /dev/null "$1" && return 0; sleep 0.05; done; echo "$1 not answering"; exit 1; }
"$BIN" cert dev --host localhost --host 127.0.0.1 --out "$RUN/dev" >/dev/null
cat "$RUN/dev.pem" "$RUN/dev-key.pem" >"$RUN/haproxy.pem"
SECRET=bench-secret-0123456789abcdef0123
TOKEN=$("$BIN" sign --secret "$SECRET" --iss bench-issuer --exp 1d)
cat >"$RUN/jwt.yml" <<YAML
_format_version: "3.0"
services:
  - name: upstream
    url: http://127.0.0.1:9001
    routes:
      - name: all
        paths: [/]
        plugins:
          - name: jwt
consumers:
  - username: bench
    jwt_secrets:
      - key: bench-issuer
        algorithm: HS256
        secret: "$SECRET"
YAML
cat >"$RUN/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4096
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend plain
  bind 127.0.0.1:9621
  default_backend upstream
frontend tls
  bind 127.0.0.1:9622 ssl crt $RUN/haproxy.pem
  default_backend upstream
backend upstream
  http-reuse always
  server nginx 127.0.0.1:9001
CFG

cp bench/nginx-upstream.conf "$RUN/nginx.conf"
taskset -c "$LOAD_CPU" nginx -p "$RUN" -c "$RUN/nginx.conf" >"$RUN/nginx.log" 2>&1 & PIDS+=($!)
taskset -c "$SUT_CPU" haproxy -f "$RUN/haproxy.cfg" >"$RUN/haproxy.log" 2>&1 & PIDS+=($!)
serve() { # CONFIG PLAIN_PORT TLS_PORT ADMIN_PORT
  taskset -c "$SUT_CPU" "$BIN" serve --config "$1" --workers 1 --proxy-listen "127.0.0.1:$2" --proxy-listen-tls "127.0.0.1:$3" \
    --tls-cert "$RUN/dev.pem" --tls-key "$RUN/dev-key.pem" --admin-listen "127.0.0.1:$4" --access-log off >"$RUN/gateway-$2.log" 2>&1 & PIDS+=($!)
}
serve bench/noplugins.yml 9611 9612 9615
serve "$RUN/jwt.yml" 9613 9614 9616
for url in http://127.0.0.1:9001/ http://127.0.0.1:9621/ https://127.0.0.1:9622/ http://127.0.0.1:9611/ https://127.0.0.1:9612/ https://127.0.0.1:9614/; do wait_port "$url"; done

# One wrk run; prints req/s. Non-2xx answers fail the run; socket errors are reported (a
# keep-alive run should have none) with the full wrk output on stderr.
rps() { # URL [wrk args...]
  local url=$1 line out; shift
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" -s bench/report.lua "$@" "$url")
  line=$(grep RESULT <<<"$out")
  grep -q "non2xx=0 " <<<"$line" || { echo "non-2xx answers at $url: $out" >&2; exit 1; }
  # With Connection: close wrk counts each closed connection as a read error: expected there.
  [[ "$*" == *"Connection: close"* ]] || grep -q "errors=0" <<<"$line" || echo "socket errors at $url: $line" >&2
  sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line"
}
echo "warm-up ..."
for url in http://127.0.0.1:9611/bench https://127.0.0.1:9612/bench http://127.0.0.1:9621/bench https://127.0.0.1:9622/bench; do rps "$url" >/dev/null; done
JWT=$TOKEN rps https://127.0.0.1:9614/bench >/dev/null

declare -A R
R[gw_http]=$(rps http://127.0.0.1:9611/bench)
R[gw_https]=$(rps https://127.0.0.1:9612/bench)
R[gw_jwt_http]=$(JWT=$TOKEN rps http://127.0.0.1:9613/bench)
R[gw_jwt_https]=$(JWT=$TOKEN rps https://127.0.0.1:9614/bench)
R[ha_http]=$(rps http://127.0.0.1:9621/bench)
R[ha_https]=$(rps https://127.0.0.1:9622/bench)
R[gw_handshake]=$(rps https://127.0.0.1:9612/bench -H "Connection: close")
R[ha_handshake]=$(rps https://127.0.0.1:9622/bench -H "Connection: close")

printf "%-34s %12s %12s %8s\n" "" gateway haproxy ratio
row() { awk -v n="$1" -v g="$2" -v h="$3" 'BEGIN{printf "%-34s %12.0f %12.0f %7.3fx\n", n, g, h, g/h}'; }
row "no plugins, plain keep-alive req/s" "${R[gw_http]}" "${R[ha_http]}"
row "no plugins, HTTPS keep-alive req/s" "${R[gw_https]}" "${R[ha_https]}"
row "jwt HS256, plain keep-alive req/s" "${R[gw_jwt_http]}" "${R[ha_http]}"
row "jwt HS256, HTTPS keep-alive req/s" "${R[gw_jwt_https]}" "${R[ha_https]}"
row "new TLS handshakes/s" "${R[gw_handshake]}" "${R[ha_handshake]}"
awk -v a="${R[gw_https]}" -v b="${R[gw_http]}" -v c="${R[ha_https]}" -v d="${R[ha_http]}" \
  'BEGIN{printf "HTTPS/plain within each: gateway %.3f, haproxy %.3f\n", a/b, c/d}'
