# Shared by bench/compare.sh and bench/engines.sh: two servers pinned to the SAME core, loaded at
# the SAME time by two wrk processes, CPU time per request of each read from /proc. Host noise
# (steal, other tenants, frequency) hits both alike, so their ratio holds to about ±2% where
# separate runs here wander by ±15% (bench/RESULTS.md, "Method"). Source it, then call
# paired_start_upstream, start the two servers, and paired_rounds.
ROUNDS=${ROUNDS:-4}; DURATION=${DURATION:-4s}; SUT_CPU=${SUT_CPU:-1}; LOAD_CPU=${LOAD_CPU:-0}
RUN=$(mktemp -d /tmp/gateway-paired.XXXX)
PIDS=()
paired_cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap paired_cleanup EXIT
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install wrk nginx)"; exit 1; }

wait_port() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "port $1 not answering"; exit 1; }

# nginx upstream on LOAD_CPU: NGINX_CONF (default bench/nginx-upstream.conf) serving UPSTREAM_PORT (9001).
paired_start_upstream() {
  cp "${NGINX_CONF:-bench/nginx-upstream.conf}" "$RUN/nginx.conf"
  taskset -c "$LOAD_CPU" nginx -p "$RUN" -c "$RUN/nginx.conf" >"$RUN/nginx.log" 2>&1 & local pid=$!; PIDS+=($pid)
  wait_port "${UPSTREAM_PORT:-9001}"
  # Another process on the port would answer for an nginx that failed to bind it.
  kill -0 "$pid" 2>/dev/null || { echo "nginx did not start: $(cat "$RUN/nginx.log")"; exit 1; }
}

# paired_sut NAME COMMAND...: starts a system under test on SUT_CPU; its PID lands in SUT_PID.
paired_sut() {
  local name=$1; shift
  taskset -c "$SUT_CPU" "$@" >"$RUN/$name.log" 2>&1 & SUT_PID=$!; PIDS+=($SUT_PID)
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# One load run against PORT while the other side runs too; prints "requests non2xx cpu_ticks".
# AUTH_<side> (JWT/JWT_POOL) are exported per side by the caller through env.
load() {
  local port=$1 pid=$2 t0 t1 line
  t0=$(cpu_ticks "$pid")
  line=$(taskset -c "$LOAD_CPU" wrk -t1 -c50 -d"$DURATION" -s bench/report.lua "http://127.0.0.1:$port/bench" | grep RESULT)
  t1=$(cpu_ticks "$pid")
  echo "$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line") $(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line") $((t1 - t0)) $(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line")"
}

# paired_rounds PORT_A PID_A PORT_B PID_B [LABEL_A LABEL_B]: warm-up, then ROUNDS paired rounds;
# prints per round µs/request of each side and B/A; JWT_A/JWT_B and POOL_A/POOL_B pick each
# side's token (or token pool); a non-2xx answer stops the run.
paired_rounds() {
  local pa=$1 ia=$2 pb=$3 ib=$4 la=${5:-A} lb=${6:-B} round TCK
  side_a() { JWT=${JWT_A:-} JWT_POOL=${POOL_A:-} load "$pa" "$ia"; }
  side_b() { JWT=${JWT_B:-} JWT_POOL=${POOL_B:-} load "$pb" "$ib"; }
  echo "warm-up ..."; side_a >/dev/null & local side=$!; side_b >/dev/null; wait "$side"
  TCK=$(getconf CLK_TCK)
  printf "%-6s %12s %12s %10s %10s %10s\n" round "$la us/req" "$lb us/req" "B/A" "$la p99ms" "$lb p99ms"
  for round in $(seq "$ROUNDS"); do
    side_a >"$RUN/a.out" & side=$!; side_b >"$RUN/b.out"; wait "$side"
    read -r req_a bad_a ticks_a p99_a <"$RUN/a.out"; read -r req_b bad_b ticks_b p99_b <"$RUN/b.out"
    [ "$bad_a" = 0 ] && [ "$bad_b" = 0 ] || { echo "non-2xx responses ($la $bad_a, $lb $bad_b): check the configs and the token"; exit 1; }
    awk -v r="$round" -v ra="$req_a" -v ta="$ticks_a" -v rb="$req_b" -v tb="$ticks_b" -v k="$TCK" -v qa="$p99_a" -v qb="$p99_b" \
      'BEGIN{a=ta/k*1e6/ra; b=tb/k*1e6/rb; printf "%-6s %12.1f %12.1f %9.3fx %10.2f %10.2f\n", r, a, b, b/a, qa/1000, qb/1000}'
  done
}
