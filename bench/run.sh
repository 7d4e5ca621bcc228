#!/usr/bin/env bash
# Proxy overhead benchmark (issue 3): wrk against the upstream directly, a bare Bun.serve+fetch
# proxy, and the gateway with one route and no plugins — all in one run. The proxy under test is
# pinned to core 1, wrk and the upstream to core 0.
#   bash bench/run.sh            (DURATION=10s CONNS=50 ROUNDS=2)
# Writes the table to stdout and to bench/out/proxy-<date>.txt.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}; CONNS=${CONNS:-50}; ROUNDS=${ROUNDS:-2}
SUT_CPU=${SUT_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
BUN=./node_modules/.bin/bun
RUN=$(mktemp -d /tmp/gateway-bench.XXXX)
mkdir -p bench/out
OUT=bench/out/proxy-$(date +%F-%H%M%S).txt
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

need() { command -v "$1" >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y "$2" >/dev/null; } || { echo "missing $1 (apt-get install $2)"; exit 1; }; }
need wrk wrk; need nginx nginx; need taskset util-linux
[ -x dist/gateway ] || npm run build >/dev/null

wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "port $1 not answering"; exit 1; }
start() { local cpu=$1; shift; taskset -c "$cpu" "$@" >"$RUN/$(basename "$1").log" 2>&1 & PIDS+=($!); }

cp bench/nginx-upstream.conf "$RUN/nginx.conf"
start "$LOAD_CPU" nginx -p "$RUN" -c "$RUN/nginx.conf"
wait_port 9001
PORT=9101 UPSTREAM=http://127.0.0.1:9001 start "$SUT_CPU" "$BUN" bench/bare-proxy.ts
wait_port 9101
start "$SUT_CPU" dist/gateway serve --config bench/noplugins.yml --proxy-listen 127.0.0.1:9102 --admin-listen 127.0.0.1:9103 --access-log off
wait_port 9102

measure() { taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" -s bench/report.lua "http://127.0.0.1:$1/bench" | grep RESULT; }
declare -A RPS P50 P99 ROUND_RPS
RATIOS=""
for name in direct bare gateway; do RPS[$name]=0; P50[$name]=0; P99[$name]=0; done
port_of() { case $1 in direct) echo 9001;; bare) echo 9101;; gateway) echo 9102;; esac; }
for name in direct bare gateway; do measure "$(port_of $name)" >/dev/null; done   # warm-up
for round in $(seq "$ROUNDS"); do
  order="direct bare gateway"; [ $((round % 2)) = 0 ] && order="gateway bare direct"
  for name in $order; do
    line=$(measure "$(port_of $name)")
    rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line"); p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$line"); p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line")
    non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
    [ "$non2xx" = 0 ] || { echo "$name returned $non2xx non-2xx responses"; exit 1; }
    ROUND_RPS[$name]=$rps
    RPS[$name]=$(awk -v a="${RPS[$name]}" -v b="$rps" 'BEGIN{print a+b}')
    P50[$name]=$(awk -v a="${P50[$name]}" -v b="$p50" 'BEGIN{print a+b}')
    P99[$name]=$(awk -v a="${P99[$name]}" -v b="$p99" 'BEGIN{print a+b}')
  done
  # bare and gateway run back to back in every round, so their ratio is the round's paired result.
  RATIOS+="$(awk -v g="${ROUND_RPS[gateway]}" -v b="${ROUND_RPS[bare]}" 'BEGIN{printf "%.3f", g/b}') "
done
{
  echo "proxy overhead, $(date -Is), $(nproc) cores, wrk -t1 -c$CONNS -d$DURATION, $ROUNDS rounds, proxy on cpu$SUT_CPU, wrk+upstream(nginx) on cpu$LOAD_CPU"
  printf "%-10s %10s %9s %9s %10s\n" target "req/s" "p50 ms" "p99 ms" "vs bare"
  for name in direct bare gateway; do
    awk -v n="$name" -v r="${RPS[$name]}" -v a="${P50[$name]}" -v b="${P99[$name]}" -v bare="${RPS[bare]}" -v k="$ROUNDS" \
      'BEGIN{printf "%-10s %10.0f %9.2f %9.2f %9.3fx\n", n, r/k, a/k/1000, b/k/1000, r/bare}'
  done
  echo "gateway/bare per round: $RATIOS"
} | tee "$OUT"
