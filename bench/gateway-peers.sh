# Plug-in for ../shared/bench-peers/run-peers.sh: the gateway under test, one process per
# algorithm (ports 9301-9303), each a `gateway serve --config` with a route protected by `jwt`
# (claims_to_verify: exp) and a credential for the rig's issuer; plus the rig's own Bun + jose
# reference gateway (peers/bun-jose-gw.ts, ports 9331-9333) and the gateway with a route and no
# plugins (port 9304), so all of them land in the same tables.
#   GATEWAY=$PWD/bench/gateway-peers.sh CACHE_SIZE=0 ../shared/bench-peers/run-peers.sh
# CACHE_SIZE is the jwt plugin's verified-token cache (entries; 0 = verify every request).
GUT_NAME=gateway
GATEWAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GATEWAY_BIN="$GATEWAY_ROOT/dist/gateway"

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
  local alg port=9301 admin=9311
  for alg in ES256 RS256 HS256; do
    if want_alg "$alg"; then
      gateway_config "$alg" >"$RUN/gateway-$alg.yml"
      add_target "$GUT_NAME" "$alg" "$port"
      start_sut "$GUT_NAME-$alg" "$GATEWAY_BIN" serve --config "$RUN/gateway-$alg.yml" \
        --proxy-listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" --access-log off
    fi
    port=$((port + 1)); admin=$((admin + 1))
  done
  # The gateway with a route and no plugins: the ceiling its jwt rows are compared with.
  sed "s|http://127.0.0.1:9001|$UPSTREAM_URL|" "$GATEWAY_ROOT/bench/noplugins.yml" >"$RUN/gateway-noplugins.yml"
  add_target gateway-noauth - 9304 baseline
  start_sut gateway-noauth "$GATEWAY_BIN" serve --config "$RUN/gateway-noplugins.yml" \
    --proxy-listen 127.0.0.1:9304 --admin-listen 127.0.0.1:9314 --access-log off
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
