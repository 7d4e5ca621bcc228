#!/usr/bin/env bash
# Issue 20's targets: the gateway's CPU per request against HAProxy's, paired on one core
# (bench/paired-lib.sh), for each proxy engine.
#   bash bench/engines.sh [SCENARIO ...]     ENGINE=raw|serve (default raw)  BIN=dist/gateway
# Scenarios (default: all):
#   proxy   no-plugin route            vs HAProxy, plain frontend      target ≤ 1.10×
#   hs256   jwt HS256, cache off       vs HAProxy jwt_verify HS256     target ≤ 1.15×
#   es256   jwt ES256, cache off       vs HAProxy jwt_verify ES256     target ≤ 1.05×
#   cache   jwt ES256, cache on, 1,000-token pool, vs the no-plugin route (both the gateway) sent
#           the same requests: a cache hit ≤ 5 µs more (also shown: the no-plugin route sent no
#           token); and the same route vs HAProxy ES256: ≥ 1.2× its req/s
#           at equal CPU (HAProxy µs/req ÷ gateway µs/req)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ENGINE=${ENGINE-raw}; BIN=${BIN:-dist/gateway}
SCENARIOS=("$@"); [ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(proxy hs256 es256 cache)
command -v haproxy >/dev/null || { echo "needs haproxy (apt-get install haproxy)"; exit 1; }
[ -x "$BIN" ] || { echo "no $BIN: npm run build"; exit 1; }
source bench/paired-lib.sh
export GATEWAY_WORKERS=1

KEYS=$RUN/keys; mkdir -p "$KEYS"
openssl ecparam -genkey -name prime256v1 -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt -out "$KEYS/es256-private.pem"
openssl ec -in "$KEYS/es256-private.pem" -pubout -out "$KEYS/es256-public.pem" 2>/dev/null
HS256_SECRET=bench-secret-0123456789abcdef0123
bun -e '
  const { SignJWT, importPKCS8 } = await import("jose");
  const [dir, secret] = process.argv.slice(1);
  const key = await importPKCS8(await Bun.file(`${dir}/es256-private.pem`).text(), "ES256");
  const exp = Math.floor(Date.now() / 1000) + 365 * 86400;
  const sign = (alg, k, sub) => new SignJWT({ sub }).setProtectedHeader({ alg, typ: "JWT" }).setIssuer("bench-key").setExpirationTime(exp).sign(k);
  await Bun.write(`${dir}/hs256.jwt`, await sign("HS256", new TextEncoder().encode(secret), "bench"));
  await Bun.write(`${dir}/es256.jwt`, await sign("ES256", key, "bench"));
  const pool = []; for (let i = 0; i < 1000; i++) pool.push(await sign("ES256", key, `user-${i}`));
  await Bun.write(`${dir}/es256-pool.txt`, pool.join("\n") + "\n");
' "$KEYS" "$HS256_SECRET"

jwt_config() { # ALG CACHE_SIZE → declarative file on stdout
  local key_yaml
  if [ "$1" = HS256 ]; then key_yaml="secret: $HS256_SECRET"
  else key_yaml="rsa_public_key: |
$(sed 's/^/          /' "$KEYS/es256-public.pem")"; fi
  cat <<YAML
_format_version: "3.0"
services:
  - name: upstream
    url: http://127.0.0.1:9001
    routes:
      - name: all
        paths: [/]
        plugins:
          - name: jwt
            config: { claims_to_verify: [exp], cache_size: $2 }
consumers:
  - username: bench
    jwt_secrets:
      - key: bench-key
        algorithm: $1
        $key_yaml
YAML
}
jwt_config HS256 0 >"$RUN/hs256.yml"; jwt_config ES256 0 >"$RUN/es256.yml"; jwt_config ES256 10000 >"$RUN/es256-cache.yml"

paired_start_upstream
BENCH_KEYS=$KEYS HS256_SECRET=$HS256_SECRET paired_sut haproxy haproxy -f bench/haproxy.cfg -db; HAPROXY=$SUT_PID
wait_port 9210

# gateway NAME CONFIG PORT → PID in SUT_PID
gateway() { paired_sut "$1" "$BIN" serve --config "$2" --proxy-listen "127.0.0.1:$3" --admin-listen "127.0.0.1:$(($3 + 1))" --access-log off ${ENGINE:+--proxy-engine "$ENGINE"}; wait_port "$3"; }
gateway noplugins bench/noplugins.yml 9601; NOPLUGINS=$SUT_PID
echo "engine $ENGINE, $(git rev-parse --short HEAD), $(date -u +%FT%TZ), ROUNDS=$ROUNDS DURATION=$DURATION"
for scenario in "${SCENARIOS[@]}"; do
  echo; echo "== $scenario"
  case $scenario in
    proxy) paired_rounds 9210 "$HAPROXY" 9601 "$NOPLUGINS" haproxy gateway ;;
    hs256) gateway hs256 "$RUN/hs256.yml" 9611
           JWT_A=$(cat "$KEYS/hs256.jwt") JWT_B=$(cat "$KEYS/hs256.jwt") paired_rounds 9213 "$HAPROXY" 9611 "$SUT_PID" haproxy gateway ;;
    es256) gateway es256 "$RUN/es256.yml" 9621
           JWT_A=$(cat "$KEYS/es256.jwt") JWT_B=$(cat "$KEYS/es256.jwt") paired_rounds 9211 "$HAPROXY" 9621 "$SUT_PID" haproxy gateway ;;
    cache) gateway es256-cache "$RUN/es256-cache.yml" 9631; CACHED=$SUT_PID
           echo "-- the same requests (the pool's tokens) on both routes: what the hit itself costs"
           POOL_A=$KEYS/es256-pool.txt POOL_B=$KEYS/es256-pool.txt paired_rounds 9601 "$NOPLUGINS" 9631 "$CACHED" noplugin cached
           echo "-- no token to the no-plugin route: the hit and the cost of a request carrying a token"
           POOL_B=$KEYS/es256-pool.txt paired_rounds 9601 "$NOPLUGINS" 9631 "$CACHED" noplugin cached
           echo "-- the cached route vs HAProxy ES256 (req/s at equal CPU = A/B of µs per request)"
           POOL_A=$KEYS/es256-pool.txt POOL_B=$KEYS/es256-pool.txt paired_rounds 9211 "$HAPROXY" 9631 "$CACHED" haproxy cached ;;
    *) echo "unknown scenario $scenario"; exit 2 ;;
  esac
done
