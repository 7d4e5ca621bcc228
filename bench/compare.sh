#!/usr/bin/env bash
# Paired comparison of two gateway builds (or two configs) on this noisy VM (bench/paired-lib.sh).
#   bash bench/compare.sh BINARY_A CONFIG_A BINARY_B CONFIG_B      (ROUNDS=4 DURATION=4s)
#   JWT=<token> or JWT_POOL=<file> send an Authorization header (bench/report.lua).
#   FLAGS_A / FLAGS_B: more `serve` flags per side (e.g. FLAGS_B="--proxy-engine raw").
#   NGINX_CONF=<file> UPSTREAM_PORT=<port> serve other upstream ports (default
#   bench/nginx-upstream.conf on 9001); the run stops if that nginx cannot start (a port taken).
# Single-threaded servers only: the scheduler shares the core per thread, so a server with an
# extra busy thread (Bun's fetch client, say) would get more than half of it.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { sed -n 2,10p "$0"; exit 2; }
BIN_A=$1; CONF_A=$2; BIN_B=$3; CONF_B=$4
source bench/paired-lib.sh
paired_start_upstream
# shellcheck disable=SC2086
paired_sut a "$BIN_A" serve --config "$CONF_A" --proxy-listen 127.0.0.1:9601 --admin-listen 127.0.0.1:9602 --access-log off ${FLAGS_A:-}; PID_A=$SUT_PID
# shellcheck disable=SC2086
paired_sut b "$BIN_B" serve --config "$CONF_B" --proxy-listen 127.0.0.1:9603 --admin-listen 127.0.0.1:9604 --access-log off ${FLAGS_B:-}; PID_B=$SUT_PID
wait_port 9601; wait_port 9603
JWT_A=${JWT:-} JWT_B=${JWT:-} POOL_A=${JWT_POOL:-} POOL_B=${JWT_POOL:-} paired_rounds 9601 "$PID_A" 9603 "$PID_B"
