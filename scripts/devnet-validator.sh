#!/usr/bin/env bash
# Started by scripts/devnet.sh: trains the validator's private teacher (once,
# like the last honest model but with a secret seed, kept in the validator's
# data directory and never served), waits for the devnet's models (trained
# by scripts/devnet-miners.sh), then runs agora-validator with
# configs/validator.toml, its paths pointed into the devnet directory. The
# challenge text is sampled from the teacher with a secret seed
# (`agora-validator teacher`), never from the public corpus; m3 is the
# reference that judges completions. Stops it on SIGTERM/SIGINT.
# Usage: scripts/devnet-validator.sh DEVNET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
devnet=$1
bin=${AGORA_DEVNET_BIN:-"$(pwd)/build/bin"}
models="$devnet/models"

# The teacher: trained on the whole public corpus (what a model owner could
# train on too) with a seed nobody else knows, so its text is like the
# corpus but no miner holds the model that wrote it (docs/VALIDATOR.md
# "Challenge text").
teacher="$devnet/validator/teacher"
for _ in $(seq 6000); do [ -s "$models/kjv.txt" ] && break; sleep 0.1; done
IFS=';' read -r -a honest <<< "${AGORA_DEVNET_MODELS:?set by scripts/devnet.sh}"
read -r _ t_layers t_dim t_heads t_steps _ <<< "${honest[${#honest[@]}-1]}"
if [ ! -f "$teacher/.done" ]; then
  echo "devnet: training the validator's private teacher ($t_layers layers, width $t_dim, $t_steps steps; cached afterwards)"
  mkdir -p "$devnet/validator"
  "$bin/agora-train" --corpus "$models/kjv.txt" --out "$teacher" --layers "$t_layers" --dim "$t_dim" \
    --heads "$t_heads" --context 64 --steps "$t_steps" --batch 16 --quiet --holdout-fraction 0 \
    --seed "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" > "$devnet/logs/train-teacher.log" 2>&1
  touch "$teacher/.done"
fi
# Its text never contains 32 bytes of the public texts on this machine.
printf -v teacher_cmd '%q ' "$bin/agora-validator" teacher --checkpoint "$teacher" \
  --exclude "$models/kjv.txt,/usr/share/dict,/usr/share/games/fortunes"

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
  --data-dir "$devnet/validator" --holdout-command "$teacher_cmd" \
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
