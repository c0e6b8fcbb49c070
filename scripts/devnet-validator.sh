#!/usr/bin/env bash
# Started by scripts/devnet.sh: waits for the devnet's models (trained by
# scripts/devnet-miners.sh), then runs agora-validator with
# configs/validator.toml, its paths pointed into the devnet directory: the
# held-out text is the tail of the corpus the models never trained on, and
# the validator holds all three honest models for spot checks (m3 is also
# the reference that judges completions). Stops it on SIGTERM/SIGINT.
# Usage: scripts/devnet-validator.sh DEVNET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
devnet=$1
bin=${AGORA_DEVNET_BIN:-"$(pwd)/build/bin"}
models="$devnet/models"

for _ in $(seq 6000); do [ -f "$models/m3/.done" ] && break; sleep 0.1; done
[ -f "$models/m3/.done" ] || { echo "devnet: no models after 10 minutes; validator not started"; exit 1; }

# The gateway's API key for the devnet (devnet tokens only; kept in the
# devnet directory). Export AGORA_API_KEY and AGORA_GATEWAY_URL as printed to
# use `agora query`.
keys="$devnet/api-keys.toml"
if [ ! -f "$keys" ]; then
  key="sk-agora-devnet-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  printf '[[keys]]\nname = "devnet"\nkey = "%s"\nrate_per_s = 20\nburst = 40\nmax_tokens = 256\n' \
    "$key" > "$keys.tmp" && chmod 600 "$keys.tmp" && mv "$keys.tmp" "$keys"
fi

child=
stop() { [ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait; exit 0; }
trap stop INT TERM
rm -f "$devnet/validator.ready" "$devnet/gateway.url"
# Prefixes of 24-40 bytes: the devnet models see 64 bytes of context, and a
# generate prompt plus its 16 tokens then fits it, so completions are re-run
# in one pass. The validator holds only the reference model: every miner's
# registered model is fetched from that miner (docs/VALIDATOR.md).
"$bin/agora-validator" --config configs/validator.toml \
  --wallet-dir "$devnet/wallets" --chain-url-file "$devnet/chain/chain.url" \
  --data-dir "$devnet/validator" --holdout "$models/m3/holdout.txt" \
  --reference-model "$models/m3" \
  --min-prefix 24 --max-prefix 40 --ready-file "$devnet/validator.ready" \
  --gateway-port 0 --api-keys-file "$keys" --gateway-ready-file "$devnet/gateway.url" \
  > "$devnet/logs/validator.log" 2>&1 &
child=$!
for _ in $(seq 1800); do  # until ready, or it exits (3 minutes at most)
  [ -s "$devnet/validator.ready" ] && break
  kill -0 "$child" 2>/dev/null || break
  sleep 0.1
done
if [ -s "$devnet/validator.ready" ]; then
  echo "devnet: validator scoring miners (log: $devnet/logs/validator.log, records: $devnet/validator/records)"
  echo "devnet: gateway at $(cat "$devnet/gateway.url"), dashboard at $(cat "$devnet/gateway.url")/dashboard; try:"
  api_key=$(sed -n 's/^key = "\(.*\)"$/\1/p' "$keys")
  echo "  AGORA_GATEWAY_URL=$(cat "$devnet/gateway.url") AGORA_API_KEY=$api_key build/bin/agora query 'And God said'"
else
  echo "devnet: validator did not start; see $devnet/logs/validator.log"
fi
wait
