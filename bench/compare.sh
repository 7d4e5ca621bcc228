#!/usr/bin/env bash
# Paired comparison of two gateway builds (or two configs) on this noisy VM: both run pinned to
# the SAME core and are loaded at the SAME time by two wrk processes, so host noise (steal, other
# tenants, frequency) hits both alike. Their CPU time per request, read from /proc, is compared
# round by round. Run-to-run noise of separate runs here is ±15%; this ratio holds to about ±2%,
# which is what made changes of a few percent measurable (bench/RESULTS.md, "Method").
#   bash bench/compare.sh BINARY_A CONFIG_A BINARY_B CONFIG_B      (ROUNDS=4 DURATION=4s)
#   JWT=<token> or JWT_POOL=<file> send an Authorization header (bench/report.lua).
#   NGINX_CONF=<file> UPSTREAM_PORT=<port> serve other upstream ports (default
#   bench/nginx-upstream.conf on 9001); the run stops if that nginx cannot start (a port taken).
# Single-threaded servers only: the scheduler shares the core per thread, so a server with an
# extra busy thread (Bun's fetch client, say) would get more than half of it.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { sed -n 2,10p "$0"; exit 2; }
BIN_A=$1; CONF_A=$2; BIN_B=$3; CONF_B=$4
ROUNDS=${ROUNDS:-4}; DURATION=${DURATION:-4s}; SUT_CPU=${SUT_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
RUN=$(mktemp -d /tmp/gateway-compare.XXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install wrk nginx)"; exit 1; }

wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "port $1 not answering"; exit 1; }
cp "${NGINX_CONF:-bench/nginx-upstream.conf}" "$RUN/nginx.conf"
taskset -c "$LOAD_CPU" nginx -p "$RUN" -c "$RUN/nginx.conf" >"$RUN/nginx.log" 2>&1 & NGINX=$!; PIDS+=($NGINX)
wait_port "${UPSTREAM_PORT:-9001}"
# Another process on the port would answer for an nginx that failed to bind it.
kill -0 "$NGINX" 2>/dev/null || { echo "nginx did not start: $(cat "$RUN/nginx.log")"; exit 1; }
taskset -c "$SUT_CPU" "$BIN_A" serve --config "$CONF_A" --proxy-listen 127.0.0.1:9601 --admin-listen 127.0.0.1:9602 --access-log off >"$RUN/a.log" 2>&1 & PID_A=$!; PIDS+=($PID_A)
taskset -c "$SUT_CPU" "$BIN_B" serve --config "$CONF_B" --proxy-listen 127.0.0.1:9603 --admin-listen 127.0.0.1:9604 --access-log off >"$RUN/b.log" 2>&1 & PID_B=$!; PIDS+=($PID_B)
wait_port 9601; wait_port 9603

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One load run against PORT while the other side runs too; prints "requests non2xx cpu_ticks".
load() {
  local port=$1 pid=$2 t0 t1 line
  t0=$(cpu_ticks "$pid")
  line=$(taskset -c "$LOAD_CPU" wrk -t1 -c50 -d"$DURATION" -s bench/report.lua "http://127.0.0.1:$port/bench" | grep RESULT)
  t1=$(cpu_ticks "$pid")
  echo "$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line") $(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line") $((t1 - t0))"
}
echo "warm-up ..."; load 9601 "$PID_A" >/dev/null & side=$!; load 9603 "$PID_B" >/dev/null; wait "$side"
TCK=$(getconf CLK_TCK)
printf "%-6s %12s %12s %10s\n" round "A us/req" "B us/req" "B/A"
for round in $(seq "$ROUNDS"); do
  load 9601 "$PID_A" >"$RUN/a.out" & side=$!; load 9603 "$PID_B" >"$RUN/b.out"; wait "$side"
  read -r req_a bad_a ticks_a <"$RUN/a.out"; read -r req_b bad_b ticks_b <"$RUN/b.out"
  [ "$bad_a" = 0 ] && [ "$bad_b" = 0 ] || { echo "non-2xx responses (A $bad_a, B $bad_b): check the configs and the token"; exit 1; }
  awk -v r="$round" -v ra="$req_a" -v ta="$ticks_a" -v rb="$req_b" -v tb="$ticks_b" -v k="$TCK" \
    'BEGIN{a=ta/k*1e6/ra; b=tb/k*1e6/rb; printf "%-6s %12.1f %12.1f %9.3fx\n", r, a, b, b/a}'
done
