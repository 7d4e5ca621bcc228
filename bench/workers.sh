#!/usr/bin/env bash
# `serve --workers 1` against `--workers 2` (issue 16), in one run: both gateways run side by
# side (the idle one costs nothing) and are loaded in alternating rounds, so host noise hits
# both alike. Nothing is pinned: wrk, the nginx upstream and the workers share the cores, as
# they would on a small host. Routes: no plugins, and jwt ES256 verified on every request
# (cache_size 0; CACHE_SIZE=10000 for cache hits). Reported per round: requests per second and
# gateway CPU per request (utime+stime from /proc, summed over the supervisor and its workers),
# and at the end the idle memory of each process tree: resident with each physical page counted
# once (bench/tree-resident.ts, root only), and RSS and PSS summed per process (summed RSS counts
# the executable's pages, which every process maps, once per process). The host's other load during
# each run is shown too ("other": cores busy outside the gateway, wrk and nginx).
#   bash bench/workers.sh          (ROUNDS=4 DURATION=8s CONNS=50 THREADS=1 BINARY=dist/gateway)
# Writes the table to stdout and to bench/out/workers-<date>.txt.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-4}; DURATION=${DURATION:-8s}; CONNS=${CONNS:-50}; THREADS=${THREADS:-1}; CACHE_SIZE=${CACHE_SIZE:-0}
BINARY=${BINARY:-dist/gateway}
RUN=$(mktemp -d /tmp/gateway-workers-bench.XXXX)
mkdir -p bench/out
OUT=bench/out/workers-$(date +%F-%H%M%S).txt
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install wrk nginx)"; exit 1; }
[ -x "$BINARY" ] || npm run build >/dev/null

wait_port() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done; echo "port $1 not answering"; exit 1; }

cp bench/nginx-upstream.conf "$RUN/nginx.conf"
nginx -p "$RUN" -c "$RUN/nginx.conf" >"$RUN/nginx.log" 2>&1 & NGINX=$!; PIDS+=($NGINX)
wait_port 9001

"$BINARY" keygen --alg ES256 --out "$RUN/es256" >/dev/null 2>&1
TOKEN=$("$BINARY" sign --alg ES256 --key "$RUN/es256.key" --iss bench-issuer --exp 1d)
cat >"$RUN/kong.yml" <<YAML
_format_version: "3.0"
services:
  - name: upstream
    url: http://127.0.0.1:9001
    routes:
      - name: plain
        paths: [/plain]
      - name: jwt
        paths: [/jwt]
        plugins:
          - name: jwt
            config: { claims_to_verify: [exp], cache_size: $CACHE_SIZE }
consumers:
  - username: bench
    jwt_secrets:
      - key: bench-issuer
        algorithm: ES256
        rsa_public_key: |
$(sed 's/^/          /' "$RUN/es256.pub")
YAML

declare -A PORT PID
PORT[w1]=9701; PORT[w2]=9703
for name in w1 w2; do
  "$BINARY" serve --workers "${name#w}" --config "$RUN/kong.yml" --proxy-listen "127.0.0.1:${PORT[$name]}" \
    --admin-listen "127.0.0.1:$((PORT[$name] + 1))" --access-log off >"$RUN/$name.log" 2>&1 & PID[$name]=$!; PIDS+=(${PID[$name]})
done
wait_port "${PORT[w1]}"; wait_port "${PORT[w2]}"
sleep 1

tree() { echo "$1"; ps --ppid "$1" -o pid= 2>/dev/null || true; }
tree_ticks() { local sum=0 pid; for pid in $(tree "$1"); do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; echo "$sum"; }
tree_memory() { # → "processes rss_mb pss_mb resident_mb" (resident: each physical page once, bench/tree-resident.ts)
  local n=0 rss=0 pss=0 pid resident
  for pid in $(tree "$1"); do
    n=$((n + 1))
    rss=$((rss + $(awk '/^VmRSS:/{print $2}' "/proc/$pid/status")))
    pss=$((pss + $(awk '/^Pss:/{print $2}' "/proc/$pid/smaps_rollup")))
  done
  resident=$(node_modules/.bin/bun bench/tree-resident.ts "$1" | awk '{print $6}')
  awk -v n="$n" -v r="$rss" -v p="$pss" -v t="$resident" 'BEGIN{printf "%d %.1f %.1f %s", n, r/1024, p/1024, t}'
}
# Requests of ROUTE answered by worker 1 and by worker 2 so far (the --workers 2 gateway's /metrics?per_worker=1).
worker_counts() {
  curl -s "http://127.0.0.1:$((PORT[w2] + 1))/metrics?per_worker=1" |
    awk -v r="$1" '/^gateway_http_requests_total\{worker="[12]",/ && index($0, "route=\"" r "\"") {split($0, a, "\""); c[a[2]] += $NF} END{printf "%d %d\n", c["1"], c["2"]}'
}
host_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# One wrk run: prints "rps gateway_us_per_request load_us_per_request other_cores split": the CPU
# per request of the gateway tree and of wrk + nginx, the cores busy with anything else meanwhile
# (other tenants of the host; near 0 on a quiet one), and for --workers 2 worker 1's share of the
# requests (SO_REUSEPORT places each new connection by a hash, not by load).
measure() {
  local name=$1 path=$2 t0 t1 h0 h1 n0 n1 line requests non2xx wrk_ticks c0 c1 split=-
  [ "$name" = w2 ] && read -r -a c0 < <(worker_counts "${path#/}")
  t0=$(tree_ticks "${PID[$name]}"); n0=$(tree_ticks "$NGINX"); h0=$(host_busy)
  # wrk's own CPU: the subshell's cutime+cstime once wrk has exited.
  line=$(JWT=$([ "$path" = /jwt ] && echo "$TOKEN") bash -c 'wrk "$@" | grep RESULT; awk "{print \"WRK \" \$16 + \$17}" /proc/$$/stat' _ \
    -t"$THREADS" -c"$CONNS" -d"$DURATION" -s bench/report.lua "http://127.0.0.1:${PORT[$name]}$path")
  t1=$(tree_ticks "${PID[$name]}"); n1=$(tree_ticks "$NGINX"); h1=$(host_busy)
  wrk_ticks=$(sed -nE 's/^WRK ([0-9]+)$/\1/p' <<<"$line"); line=$(grep RESULT <<<"$line")
  if [ "$name" = w2 ]; then
    read -r -a c1 < <(worker_counts "${path#/}")
    split=$(awk -v a="$((c1[0] - c0[0]))" -v b="$((c1[1] - c0[1]))" 'BEGIN{printf "%.0f%%", (a + b > 0) ? 100 * a / (a + b) : 0}')
  fi
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line"); non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  [ "$non2xx" = 0 ] || { echo "$name $path: $non2xx non-2xx responses"; exit 1; }
  awk -v l="$line" -v r="$requests" -v t="$((t1 - t0))" -v o="$((h1 - h0 - (t1 - t0) - (n1 - n0) - wrk_ticks))" -v d="${DURATION%s}" -v k="$(getconf CLK_TCK)" \
    -v x="$((n1 - n0 + wrk_ticks))" -v s="$split" 'BEGIN{match(l, /rps=[0-9.]+/); printf "%s %.1f %.1f %.2f %s\n", substr(l, RSTART + 4, RLENGTH - 4), t / k * 1e6 / r, x / k * 1e6 / r, o / k / d, s}'
}

IDLE_START_W1=$(tree_memory "${PID[w1]}"); IDLE_START_W2=$(tree_memory "${PID[w2]}")
echo "warm-up ..."
for name in w1 w2; do for path in /plain /jwt; do DURATION=3s measure "$name" "$path" >/dev/null; done; done

{
  echo "workers 1 vs 2, $(date -Is), $(nproc) cores, wrk -t$THREADS -c$CONNS -d$DURATION unpinned, nginx upstream unpinned, $ROUNDS rounds, jwt ES256 cache_size $CACHE_SIZE"
  printf "%-6s %-6s %10s %10s %10s %10s %8s %8s %13s %13s %9s\n" round route "w1 req/s" "w2 req/s" "w1 us/req" "w2 us/req" "rps x" "cpu x" "load us w1/w2" "other w1/w2" "worker 1"
} | tee "$OUT"
declare -A SUM_RPS SUM_US SUM_X RATIOS
for round in $(seq "$ROUNDS"); do
  for path in /plain /jwt; do
    order="w1 w2"; [ $((round % 2)) = 0 ] && order="w2 w1"
    declare -A R U X O S
    for name in $order; do read -r R[$name] U[$name] X[$name] O[$name] S[$name] < <(measure "$name" "$path"); done
    for name in w1 w2; do
      SUM_RPS[$name$path]=$(awk -v a="${SUM_RPS[$name$path]:-0}" -v b="${R[$name]}" 'BEGIN{print a+b}')
      SUM_US[$name$path]=$(awk -v a="${SUM_US[$name$path]:-0}" -v b="${U[$name]}" 'BEGIN{print a+b}')
      SUM_X[$name$path]=$(awk -v a="${SUM_X[$name$path]:-0}" -v b="${X[$name]}" 'BEGIN{print a+b}')
    done
    RATIOS[$path]+="$(awk -v a="${R[w2]}" -v b="${R[w1]}" 'BEGIN{printf "%.2f", a/b}') "
    awk -v rd="$round" -v p="$path" -v r1="${R[w1]}" -v r2="${R[w2]}" -v u1="${U[w1]}" -v u2="${U[w2]}" -v x1="${X[w1]}" -v x2="${X[w2]}" -v o1="${O[w1]}" -v o2="${O[w2]}" -v s="${S[w2]}" \
      'BEGIN{printf "%-6s %-6s %10.0f %10.0f %10.1f %10.1f %7.2fx %7.3fx %6.1f/%-6.1f %6.2f/%-6.2f %9s\n", rd, p, r1, r2, u1, u2, r2/r1, u2/u1, x1, x2, o1, o2, s}' | tee -a "$OUT"
  done
done
sleep 3
IDLE_END_W1=$(tree_memory "${PID[w1]}"); IDLE_END_W2=$(tree_memory "${PID[w2]}")
{
  echo "mean over $ROUNDS rounds:"
  for path in /plain /jwt; do
    # With one worker the gateway is the bottleneck (one core); with two, all $(nproc) cores are
    # shared by the gateway (g us/req) and wrk + nginx (x us/req): at best nproc*g/(g+x) times as many.
    awk -v p="$path" -v r1="${SUM_RPS[w1$path]}" -v r2="${SUM_RPS[w2$path]}" -v u1="${SUM_US[w1$path]}" -v u2="${SUM_US[w2$path]}" -v x2="${SUM_X[w2$path]}" -v k="$ROUNDS" -v n="$(nproc)" \
      'BEGIN{printf "%-6s w1 %7.0f req/s %6.1f us/req | w2 %7.0f req/s %6.1f us/req | req/s x%.2f (target >= 1.30; this host allows at most x%.2f)  cpu/req x%.3f (target <= 1.050)\n", p, r1/k, u1/k, r2/k, u2/k, r2/r1, n*(u2/k)/((u2+x2)/k), u2/u1}'
    echo "  req/s ratio per round: ${RATIOS[$path]}"
  done
  for moment in start end; do
    var1=IDLE_${moment^^}_W1; var2=IDLE_${moment^^}_W2
    read -r n1 rss1 pss1 res1 <<<"${!var1}"; read -r n2 rss2 pss2 res2 <<<"${!var2}"
    echo "idle memory at the $moment: --workers 1: $n1 process, RSS $rss1 MB | --workers 2: $n2 processes, resident $res2 MB with each page once (target < 150 MB), RSS summed per process $rss2 MB, PSS summed $pss2 MB"
  done
} | tee -a "$OUT"
