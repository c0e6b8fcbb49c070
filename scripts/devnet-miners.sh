#!/usr/bin/env bash
# Started by scripts/devnet.sh: trains the devnet's models once (cached in
# <devnet>/models, seeded, so quality differences are real and reproducible),
# then runs one agora-miner per hotkey m1..m3 of the "miners" wallet, each
# serving a model of a different size and training length, and the
# adversaries a1..a5, each a --mode of the same binary (miner/adversary.h):
# random, a liar claiming m3's model (serving a small model of its own), a
# slow one past the validator's deadline, a memorizer, and a copycat relaying
# m3's answers. Stops its miners on SIGTERM/SIGINT.
# Usage: scripts/devnet-miners.sh DEVNET_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
devnet=$1
bin=${AGORA_DEVNET_BIN:-"$(pwd)/build/bin"}
mkdir -p "$devnet/models" "$devnet/logs"

# The corpus: the King James Bible from Debian (public domain), one verse a line.
corpus="$devnet/models/kjv.txt"
if [ ! -s "$corpus" ]; then
  bible -f 'Gen1:1-Rev22:21' > "$corpus.tmp" && mv "$corpus.tmp" "$corpus"
fi

# name layers dim heads steps: three models of clearly different quality.
# AGORA_DEVNET_MODELS overrides them (same fields, ';' between models).
models=("m1 1 32 2 40" "m2 2 64 4 150" "m3 2 96 4 400")
if [ -n "${AGORA_DEVNET_MODELS:-}" ]; then IFS=';' read -r -a models <<< "$AGORA_DEVNET_MODELS"; fi
# The liar's model: weights no honest miner serves. Serving m1's, its answers
# would be the same as m1's, and of identical answers the validator keeps
# only the fastest (docs/VALIDATOR.md), so the liar could take m1's score.
models+=("liar 1 24 2 20")
for spec in "${models[@]}"; do
  read -r name layers dim heads steps <<< "$spec"
  out="$devnet/models/$name"
  if [ ! -f "$out/.done" ]; then
    echo "devnet: training model for $name ($layers layers, width $dim, $steps steps; cached afterwards)"
    "$bin/agora-train" --corpus "$corpus" --out "$out" --layers "$layers" --dim "$dim" \
      --heads "$heads" --context 64 --steps "$steps" --batch 16 --seed 7 --quiet \
      --holdout-fraction 0.2 \
      > "$devnet/logs/train-$name.log" 2>&1
    touch "$out/.done"
  fi
done

pids=()
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait; exit 0; }
trap stop INT TERM

m3_hash=$(sed -n 's/.*"content_hash": *"\([0-9a-f]*\)".*/\1/p' "$devnet/models/m3/config.json")
# m3's hotkey address, from the wallet's public part (no password needed).
# (each key's "address" comes before its "name" in that JSON)
m3_hotkey=$("$bin/agora" wallet show --name miners --wallet-dir "$devnet/wallets" --json |
  sed -n '/"address"/h; /"name": "m3"/{x;p;q}' | sed 's/.*"address": *"\([^"]*\)".*/\1/')
# hotkey model extra-flags... (model "-": none, the copycat relays m3's answers)
miners=("m1 m1" "m2 m2" "m3 m3"
        "a1 m1 --mode random"
        "a2 liar --mode liar --claim-model $m3_hash"
        "a3 m2 --mode slow --delay-ms 4000"
        "a4 m1 --mode memorizer"
        "a5 - --mode copycat --copy-hotkey $m3_hotkey")
for spec in "${miners[@]}"; do
  read -r name model extra <<< "$spec"
  rm -f "$devnet/$name.ready"
  model_flags=()
  [ "$model" = - ] || model_flags=(--checkpoint "$devnet/models/$model")
  # shellcheck disable=SC2086  # extra holds several flags
  "$bin/agora-miner" --wallet-dir "$devnet/wallets" --wallet miners --hotkey "$name" \
    --chain-url-file "$devnet/chain/chain.url" --netuid 1 \
    --endpoint 'tcp://127.0.0.1:*' "${model_flags[@]}" \
    --metrics-port 0 --ready-file "$devnet/$name.ready" --data-dir "$devnet/miner-data/$name" $extra \
    > "$devnet/logs/miner-$name.log" 2>&1 &
  pids+=($!)
done
# Wait for each to say it is ready (or to exit): loading LibTorch and a
# model takes seconds on a busy machine, so the bound is generous.
i=0
for spec in "${miners[@]}"; do
  read -r name _ <<< "$spec"
  pid=${pids[$i]}
  i=$((i + 1))
  for _ in $(seq 1200); do
    [ -s "$devnet/$name.ready" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -s "$devnet/$name.ready" ]; then
    echo "devnet: miner $name serving at $(head -1 "$devnet/$name.ready" | cut -d@ -f2), metrics port $(sed -n 2p "$devnet/$name.ready")"
  else
    echo "devnet: miner $name did not start; see $devnet/logs/miner-$name.log"
  fi
done
wait
