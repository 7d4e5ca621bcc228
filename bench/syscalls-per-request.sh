#!/usr/bin/env bash
# System calls per proxied request of one server (issue 20: where the raw engine's CPU goes),
# counted by perf over one wrk run against the rig's nginx upstream, then by strace for the
# breakdown by call (strace slows the server; its counts, not its times, are what to read).
#   bash bench/syscalls-per-request.sh haproxy | floor | gateway [BIN] [CONFIG] [FLAGS...]
#   (floor: bench/raw-splice-floor.ts; gateway: BIN serve --config CONFIG --access-log off FLAGS)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
source bench/paired-lib.sh
KIND=${1:?haproxy, floor or gateway}; shift || true
PORT=9801
paired_start_upstream
case $KIND in
  haproxy) sed 's/127.0.0.1:9210/127.0.0.1:9801/' bench/haproxy.cfg >"$RUN/haproxy.cfg"
           BENCH_KEYS=$RUN HS256_SECRET=x paired_sut haproxy haproxy -f "$RUN/haproxy.cfg" -db ;;
  floor)   paired_sut floor bun bench/raw-splice-floor.ts serve --proxy-listen 127.0.0.1:$PORT ;;
  gateway) BIN=${1:-dist/gateway}; CONFIG=${2:-bench/noplugins.yml}; shift 2 || true
           GATEWAY_WORKERS=1 paired_sut gateway "$BIN" serve --config "$CONFIG" --proxy-listen 127.0.0.1:$PORT --admin-listen 127.0.0.1:$((PORT + 1)) --access-log off "$@" ;;
  *) echo "unknown kind $KIND"; exit 2 ;;
esac
PID=$SUT_PID
wait_port $PORT
taskset -c "$LOAD_CPU" wrk -t1 -c50 -d2s "http://127.0.0.1:$PORT/bench" >/dev/null
perf stat -e raw_syscalls:sys_enter,page-faults,context-switches -x, -o "$RUN/perf.txt" -p "$PID" -- sleep "${DURATION%s}" &
PERF=$!
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$PID/stat")
requests=$(taskset -c "$LOAD_CPU" wrk -t1 -c50 -d"$DURATION" -s bench/report.lua "http://127.0.0.1:$PORT/bench" | sed -nE 's/.*requests=([0-9]+).*/\1/p')
wait $PERF
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$PID/stat")
awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v r="$requests" -v k="$(getconf CLK_TCK)" 'BEGIN { printf "CPU per request: user %.1f us, system %.1f us\n", u / k * 1e6 / r, s / k * 1e6 / r }'
awk -F, -v r="$requests" '$3 ~ /raw_syscalls|page-faults|context-switches/ { printf "%s %d over %d requests: %.3f per request\n", $3, $1, r, $1 / r }' "$RUN/perf.txt"
strace -c -f -p "$PID" -o "$RUN/strace.txt" &
STRACE=$!
sleep 0.5
requests=$(taskset -c "$LOAD_CPU" wrk -t1 -c50 -d2s -s bench/report.lua "http://127.0.0.1:$PORT/bench" | sed -nE 's/.*requests=([0-9]+).*/\1/p')
kill -INT $STRACE; wait $STRACE 2>/dev/null || true
echo "strace over $requests requests (calls per request):"
awk -v r="$requests" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ { printf "  %-16s %8.2f\n", $NF, $4 / r }' "$RUN/strace.txt" | sort -k2 -nr | head -12
