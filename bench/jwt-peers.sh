#!/usr/bin/env bash
# JWT benchmark against the peers (issue 7): copies the shared rig (../shared/bench-peers is
# read-only) to a scratch folder and runs it with the gateway plugged in (bench/gateway-peers.sh).
#   bash bench/jwt-peers.sh                       every request verified (cache off), one token
#   POOL=1000 CACHE_SIZE=10000 bash bench/jwt-peers.sh   1,000 clients keeping their tokens, cache on
# ENGINES="raw serve" (default) picks the proxy engines with rows of their own; GATEWAY_BIN the
# executable (default dist/gateway, which the plug-in builds when missing).
# Other knobs are the rig's (DURATION, ROUNDS, ALGS, PEERS, --quick, --check).
set -Eeuo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RIG_SRC="${RIG_SRC:-$ROOT/../shared/bench-peers}"
RIG="${RIG_DIR:-/tmp/gateway-bench-peers}"
mkdir -p "$RIG"
cp -r "$RIG_SRC/." "$RIG/"
chmod -R u+w "$RIG"
export CACHE_SIZE="${CACHE_SIZE:-0}"
mkdir -p "$ROOT/bench/out"
RESULTS="${RESULTS:-$ROOT/bench/out/jwt-peers-cache${CACHE_SIZE}-pool${POOL:-1}-$(date +%F-%H%M%S).txt}" \
  GATEWAY="$ROOT/bench/gateway-peers.sh" bash "$RIG/run-peers.sh" "$@"
