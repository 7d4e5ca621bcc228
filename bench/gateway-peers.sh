# Plug-in for ../shared/bench-peers/run-peers.sh: the gateway under test, for each proxy engine
# in ENGINES (default "raw serve"), one process per algorithm, each a `gateway serve --config`
# with a route protected by `jwt` (claims_to_verify: exp) and a credential for the rig's issuer,
# plus one with a route and no plugins; and the rig's own Bun + jose reference gateway
# (peers/bun-jose-gw.ts, ports 9331-9333), so all of them land in the same tables. Each gateway
# is one process (`--workers 1`), as every peer is on the rig's one core.
#   GATEWAY=$PWD/bench/gateway-peers.sh CACHE_SIZE=0 ../shared/bench-peers/run-peers.sh
# CACHE_SIZE is the jwt plugin's verified-token cache (entries; 0 = verify every request).
# Rows: gw-raw / gw-serve (ports 9301-9303 / 9341-9343), gw-raw-noauth / gw-serve-noauth (9304 / 9344).
GUT_NAME=gateway
GATEWAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GATEWAY_BIN="${GATEWAY_BIN:-$GATEWAY_ROOT/dist/gateway}"
ENGINES=${ENGINES:-"raw serve"}

# gateway_sut PROCNAME ENGINE CONFIG PORT (its admin listener on PORT + 10)
gateway_sut() {
  start_sut "$1" "$GATEWAY_BIN" serve --config "$3" --proxy-engine "$2" --workers 1 \
    --proxy-listen "127.0.0.1:$4" --admin-listen "127.0.0.1:$(($4 + 10))" --access-log off
}

gateway_config() { # ALG PORT → declarative file on stdout
  local alg=$1 key_yaml
  case "$alg" in
    HS256) key_yaml="secret: \"$(tr -d '\n' <"$KEYS/hs256.secret")\"" ;;
    *) key_yaml="rsa_public_key: |
$(sed 's/^/          /' "$KEYS/$(tr 'A-Z' 'a-z' <<<"$alg")-public.pem")" ;;
  esac
  cat <<YAML
_format_version: "3.0"
services:
  - name: upstream
    url: $UPSTREAM_URL
    routes:
      - name: api
        paths: [/]
        plugins:
          - name: jwt
            config:
              claims_to_verify: [exp]
              cache_size: ${CACHE_SIZE:-10000}
consumers:
  - username: bench
    jwt_secrets:
      - key: https://bench.local/issuer
        algorithm: $alg
        $key_yaml
YAML
}

gut_start() {
  [[ -x $GATEWAY_BIN ]] || (cd "$GATEWAY_ROOT" && npm run build >/dev/null)
  sed "s|http://127.0.0.1:9001|$UPSTREAM_URL|" "$GATEWAY_ROOT/bench/noplugins.yml" >"$RUN/gateway-noplugins.yml"
  local engine alg base port
  for engine in $ENGINES; do
    case $engine in raw) base=9301 ;; serve) base=9341 ;; *) echo "unknown engine $engine (raw or serve)" >&2; exit 2 ;; esac
    port=$base
    for alg in ES256 RS256 HS256; do
      if want_alg "$alg"; then
        gateway_config "$alg" >"$RUN/gateway-$alg.yml"
        add_target "gw-$engine" "$alg" "$port"
        gateway_sut "gw-$engine-$alg" "$engine" "$RUN/gateway-$alg.yml" "$port"
      fi
      port=$((port + 1))
    done
    # The engine with a route and no plugins: the ceiling its jwt rows are compared with.
    add_target "gw-$engine-noauth" - $((base + 3)) baseline
    gateway_sut "gw-$engine-noauth" "$engine" "$RUN/gateway-noplugins.yml" $((base + 3))
  done
  port=9331
  for alg in ES256 RS256 HS256; do
    if want_alg "$alg"; then
      add_target bun-jose "$alg" "$port"
      start_sut "bun-jose-$alg" env ALG="$alg" PORT="$port" BENCH_KEYS="$KEYS" UPSTREAM="$UPSTREAM_URL" \
        NODE_PATH="$BENCH/peers/node_modules" "$BENCH/peers/node_modules/.bin/bun" "$BENCH/peers/bun-jose-gw.ts"
    fi
    port=$((port + 1))
  done
}
