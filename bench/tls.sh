#!/usr/bin/env bash
# TLS termination cost: the gateway (one process) against HAProxy (one thread), both pinned to
# the same core, same upstream (nginx, bench/nginx-upstream.conf on its own port), same run:
# keep-alive requests over plain HTTP and over HTTPS, and new TLS handshakes (wrk with
# Connection: close, one request per handshake), for a route without plugins and one with
# jwt HS256. Paired as bench/compare.sh (see below); results in bench/RESULTS.md.
#   flock /tmp/gateway-bench.lock bash bench/tls.sh        (ROUNDS=3 DURATION=5s SUT_CPU=1 LOAD_CPU=0)
# The jwt rows compare the gateway verifying a token with HAProxy only proxying.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}; SUT_CPU=${SUT_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}; CONNS=${CONNS:-50}
BIN=${BIN:-$PWD/dist/gateway}
# The upstream on its own port: another script's nginx left on 9001 would silently stand in.
UPSTREAM_PORT=${UPSTREAM_PORT:-9631}
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
    url: http://127.0.0.1:$UPSTREAM_PORT
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
  server nginx 127.0.0.1:$UPSTREAM_PORT
CFG

sed "s/127.0.0.1:9001/127.0.0.1:$UPSTREAM_PORT/" bench/nginx-upstream.conf >"$RUN/nginx.conf"
taskset -c "$LOAD_CPU" nginx -p "$RUN" -c "$RUN/nginx.conf" >"$RUN/nginx.log" 2>&1 & PIDS+=($!)
taskset -c "$SUT_CPU" haproxy -f "$RUN/haproxy.cfg" >"$RUN/haproxy.log" 2>&1 & PIDS+=($!)
serve() { # CONFIG PLAIN_PORT TLS_PORT ADMIN_PORT
  taskset -c "$SUT_CPU" "$BIN" serve --config "$1" --workers 1 --proxy-listen "127.0.0.1:$2" --proxy-listen-tls "127.0.0.1:$3" \
    --tls-cert "$RUN/dev.pem" --tls-key "$RUN/dev-key.pem" --admin-listen "127.0.0.1:$4" --access-log off >"$RUN/gateway-$2.log" 2>&1 & PIDS+=($!)
}
sed "s|http://127.0.0.1:9001|http://127.0.0.1:$UPSTREAM_PORT|" bench/noplugins.yml >"$RUN/noplugins.yml"
serve "$RUN/noplugins.yml" 9611 9612 9615
serve "$RUN/jwt.yml" 9613 9614 9616
for url in "http://127.0.0.1:$UPSTREAM_PORT/" http://127.0.0.1:9621/ https://127.0.0.1:9622/ http://127.0.0.1:9611/ https://127.0.0.1:9612/ https://127.0.0.1:9614/; do wait_port "$url"; done

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

# Paired rounds, as bench/compare.sh: the gateway and HAProxy, pinned to the same core, are
# loaded AT THE SAME TIME by two wrk processes, and each one's CPU time per request is read
# from /proc. Host noise (this VM is shared) hits both alike, so the ratio holds where
# separate req/s runs wander by 2-3x. ratio = HAProxy's CPU per request / the gateway's:
# the gateway's throughput relative to HAProxy's at equal CPU (1.0 = as cheap as HAProxy).
ROUNDS=${ROUNDS:-3}
TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
pid_on() { ss -ltnpH "sport = :$1" | sed -E 's/.*pid=([0-9]+).*/\1/' | head -1; }
GW=$(pid_on 9611); GW_JWT=$(pid_on 9613); HA=$(pid_on 9621)
load() { # URL PID [wrk args] → "us_per_request rps"
  local url=$1 pid=$2 t0 t1 line; shift 2
  t0=$(cpu_ticks "$pid")
  line=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" -s bench/report.lua "$@" "$url" | grep RESULT)
  t1=$(cpu_ticks "$pid")
  grep -q "non2xx=0 " <<<"$line" || { echo "non-2xx answers at $url: $line" >&2; exit 1; }
  awk -v t="$((t1 - t0))" -v k="$TCK" -v l="$line" 'BEGIN{match(l, /requests=[0-9]+/); n=substr(l, RSTART+9, RLENGTH-9); match(l, /rps=[0-9.]+/); printf "%.1f %s\n", t/k*1e6/n, substr(l, RSTART+4, RLENGTH-4)}'
}
pair() { # NAME GW_URL GW_PID HA_URL [wrk args]: both at once; prints the row
  local name=$1 gurl=$2 gpid=$3 hurl=$4; shift 4
  load "$hurl" "$HA" "$@" >"$RUN/ha.out" & local side=$!
  load "$gurl" "$gpid" "$@" >"$RUN/gw.out"; wait "$side"
  read -r gus grps <"$RUN/gw.out"; read -r hus hrps <"$RUN/ha.out"
  awk -v n="$name" -v a="$gus" -v b="$hus" -v c="$grps" -v d="$hrps" 'BEGIN{printf "%-28s %9.1f %9.1f %8.0f %8.0f %7.3f\n", n, a, b, c, d, b/a}' | tee -a "$RUN/rows"
}
: >"$RUN/rows"
printf "%-28s %9s %9s %8s %8s %7s\n" pair "gw us/req" "ha us/req" "gw rps" "ha rps" ratio
for round in $(seq "$ROUNDS"); do
  pair "plain, no plugins" http://127.0.0.1:9611/bench "$GW" http://127.0.0.1:9621/bench
  pair "HTTPS, no plugins" https://127.0.0.1:9612/bench "$GW" https://127.0.0.1:9622/bench
  JWT=$TOKEN pair "plain, jwt HS256" http://127.0.0.1:9613/bench "$GW_JWT" http://127.0.0.1:9621/bench
  JWT=$TOKEN pair "HTTPS, jwt HS256" https://127.0.0.1:9614/bench "$GW_JWT" https://127.0.0.1:9622/bench
  pair "new TLS handshakes" https://127.0.0.1:9612/bench "$GW" https://127.0.0.1:9622/bench -H "Connection: close"
done
echo "median ratio (HAProxy us/req / gateway us/req) over $ROUNDS rounds:"
for name in "plain, no plugins" "HTTPS, no plugins" "plain, jwt HS256" "HTTPS, jwt HS256" "new TLS handshakes"; do
  grep "^$name " "$RUN/rows" | awk '{print $NF}' | sort -n | awk -v n="$name" '{v[NR]=$1} END{printf "  %-28s %.3f\n", n, (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'
done
