#!/usr/bin/env bash
# Load balancing on the request path: the no-plugin route to one host (single-host.yml) against
# the same route through a 3-target upstream (balanced.yml), one build, paired on one core by
# compare.sh with nginx serving the three target ports. Target: B/A CPU per request <= 1/0.95.
#   bash bench/balancer.sh            (ROUNDS=6 DURATION=4s; builds dist/gateway when missing)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
[ -x dist/gateway ] || bun run build
export ROUNDS=${ROUNDS:-6}
NGINX_CONF=bench/nginx-three.conf UPSTREAM_PORT=9011 exec flock /tmp/gateway-bench.lock bash bench/compare.sh dist/gateway bench/single-host.yml dist/gateway bench/balanced.yml
