#!/usr/bin/env bash
# `npm test`: the type check, then the whole suite on the default (raw) engine and, at the same
# time, the proxy-facing files again with GATEWAY_PROXY_ENGINE=serve (issue 20's proof 3b) followed
# by the two slowest engine-free files. The runs share nothing but the machine: every test takes
# ephemeral loopback ports and its own temporary files. Each run's output is printed whole, one after the other; .ci/run sums the
# summaries. Run through npm (its PATH puts the project's bun first and leaves `node` Node's own,
# which the Node reference servers need; `bun run` would put its node shim first).
set -uo pipefail
cd "$(dirname "$0")/.."
bun run typecheck || exit 1

# The serve run leaves out the files that pin the raw engine (raw-engine-*) and the
# token-memory measurement, which never reaches a proxy listener.
SERVE_FILES=(
  ./plugins
  ./tests/security/admin-echo.test.ts ./tests/security/connection-close.test.ts ./tests/security/drain.test.ts ./tests/security/path-differential.test.ts
  ./tests/security/protocols-red-team.test.ts ./tests/security/proxy-bypass.test.ts ./tests/security/red-team.test.ts
  ./tests/security/upstream-faults.test.ts ./tests/security/issue19-red-team.test.ts ./tests/security/reset-before-read.test.ts ./tests/security/json-name-folding.test.ts ./tests/security/unverified-tokens.test.ts
  ./tests/security/plugins-red-team.test.ts
  ./tests/proxy.test.ts ./tests/streaming.test.ts ./tests/websocket.test.ts ./tests/tls.test.ts
  ./tests/upstream-client.test.ts ./tests/upstream-tls.test.ts ./tests/path-handling.test.ts
  ./tests/load-balancing.test.ts ./tests/workers.test.ts ./tests/pipeline.test.ts ./tests/access-log.test.ts
  ./tests/auth-fuzz.test.ts ./tests/auth-invalidation.test.ts ./tests/auth-jwks.test.ts
  ./tests/auth-jwt-algorithms.test.ts ./tests/signer-responses.test.ts ./tests/rate-limiting-cluster.test.ts
)

# The two longest files that need no proxy engine (release builds under qemu, the browser)
# run after the serve run, beside the whole suite, so the suite's wall time is the whole suite's.
SEPARATE=(./tests/release.test.ts ./tests/admin-browser.test.ts)
IGNORED=()
[ $# -eq 0 ] && for file in "${SEPARATE[@]}"; do IGNORED+=("--path-ignore-patterns=${file#./}"); done

# One build of dist/gateway for every run (tests/support/binary.ts).
npm run build --silent || exit 1
export GATEWAY_TEST_BINARY_BUILT=1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# Empty: the default engine, whatever the caller's environment chose.
GATEWAY_PROXY_ENGINE= bun test --timeout 60000 "${IGNORED[@]}" "$@" >"$logs/whole" 2>&1 &
whole_pid=$!
(
  GATEWAY_PROXY_ENGINE=serve bun test --timeout 60000 "${SERVE_FILES[@]}" >"$logs/serve" 2>&1; serve_status=$?
  separate_status=0
  if [ ${#IGNORED[@]} -gt 0 ]; then bun test --timeout 60000 "${SEPARATE[@]}" >"$logs/separate" 2>&1; separate_status=$?; fi
  exit $((serve_status | separate_status))
) &
serve_pid=$!
wait "$whole_pid"; whole_status=$?
wait "$serve_pid"; serve_status=$?
# Printed by Node, not echo or cat: npm leaves its stdout pipe non-blocking, and coreutils stop
# at EAGAIN.
print() { node -e 'process.stdout.write(`${process.argv[1]}\n${require("node:fs").readFileSync(process.argv[2])}`)' "$1" "$2"; }
print "== the whole suite, raw engine (default)" "$logs/whole"
print "== the proxy-facing files, GATEWAY_PROXY_ENGINE=serve" "$logs/serve"
[ -e "$logs/separate" ] && print "== release builds and the admin UI in a browser (raw engine)" "$logs/separate"
exit $((whole_status | serve_status))
