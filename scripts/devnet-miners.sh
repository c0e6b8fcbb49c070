#!/usr/bin/env bash
# Started by scripts/devnet.sh: trains the devnet's models once (cached in
# <devnet>/models, seeded, so quality differences are real and reproducible),
# then runs one agora-miner per hotkey m1..m3 of the "miners" wallet, each
# serving a model of a different size and training length, and the
# adversaries a1..a13, each a --mode of the same binary (miner/adversary.h):
# random, a liar claiming m3's model (serving a small model of its own), a
# slow one past the validator's deadline, a memorizer, a copycat relaying
# m3's answers, a lookup over the public corpus and one claiming m3's model,
# a noisy copycat, greedy and early-stop samplers, a thief serving m3's
# checkpoint with nudged weights under a hash of its own, and a two-faced
# miner (its registered model for validators' predict challenges, a cheaper
# one for generations), and a sometimes-greedy one (greedy on half its
# completions, drawn at random, betting that a validator re-running a share of
# a cleared miner's completions misses them; same recipe as m2's model, its own
# seed, so its pay can be set against m2's). AGORA_DEVNET_ADVERSARIES (set by scripts/devnet.sh)
# names the adversaries that run. Stops its miners on SIGTERM/SIGINT.
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

# The honest models, "name layers dim heads steps" separated by ';'
# (scripts/devnet.sh sets them).
IFS=';' read -r -a models <<< "${AGORA_DEVNET_MODELS:?set by scripts/devnet.sh}"
# The adversaries' own models: the chain lets one uid register a model (the
# earliest registration owns a hash), so each adversary that serves a model
# has one nobody else serves, trained with its own seed. (The liar claims
# m3's; random, the memorizer and the lookup use theirs only for its shape.)
models+=("liar 1 24 2 20 7" "a1 1 24 2 20 11" "a3 1 32 2 40 13" "a4 1 24 2 20 17"
         "a6 1 24 2 20 19" "a9 2 64 4 150 23" "a10 1 32 2 40 29" "a12 2 48 4 100 31"
         "a13 2 64 4 150 37")
for spec in "${models[@]}"; do
  read -r name layers dim heads steps seed <<< "$spec"
  out="$devnet/models/$name"
  if [ ! -f "$out/.done" ]; then
    echo "devnet: training model for $name ($layers layers, width $dim, $steps steps; cached afterwards)"
    "$bin/agora-train" --corpus "$corpus" --out "$out" --layers "$layers" --dim "$dim" \
      --heads "$heads" --context 64 --steps "$steps" --batch 16 --seed "${seed:-7}" --quiet \
      --holdout-fraction 0.2 \
      > "$devnet/logs/train-$name.log" 2>&1
    touch "$out/.done"
  fi
  rm -f "$out/holdout.txt"  # older devnets kept held-out text in the served checkpoint
done

pids=()
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait; exit 0; }
trap stop INT TERM

m3_hash=$(sed -n 's/.*"content_hash": *"\([0-9a-f]*\)".*/\1/p' "$devnet/models/m3/config.json")
# m3's hotkey address, from the wallet's public part (no password needed).
# (each key's "address" comes before its "name" in that JSON; sed reads it to
# the end: quitting early could SIGPIPE the writer, fatal under pipefail)
m3_hotkey=$("$bin/agora" wallet show --name miners --wallet-dir "$devnet/wallets" --json |
  sed -n '/"address"/h; /"name": "m3"/{x;p}' | sed 's/.*"address": *"\([^"]*\)".*/\1/')
# hotkey model extra-flags... (model "-": none, the relays copy m3's answers).
# The honest miners start first and register their models; then the
# adversaries, with every public input at hand: the whole public corpus
# (a6, a7), m3's registered hash (a2, a7), m3's answers (a5, a8), m3's
# checkpoint (a11: a validator permit fetches it, and model owners may
# publish theirs; nudged by 0.03 of each tensor's spread, beyond the re-run
# tolerance on most answers, within the derived-model distance).
miners=("m1 m1" "m2 m2" "m3 m3"
        "a1 a1 --mode random"
        "a2 liar --mode liar --claim-model $m3_hash"
        "a3 a3 --mode slow --delay-ms 4000"
        "a4 a4 --mode memorizer"
        "a5 - --mode copycat --copy-hotkey $m3_hotkey"
        "a6 a6 --mode lookup --lookup-text $corpus"
        "a7 a6 --mode claim-registered --lookup-text $corpus --claim-model $m3_hash"
        "a8 - --mode noisy-copy --copy-hotkey $m3_hotkey"
        "a9 a9 --mode greedy"
        "a10 a10 --mode early-stop"
        "a11 m3 --mode perturbed-copy --perturb 0.03"
        "a12 a12 --mode two-faced --cheap-model $devnet/models/a1"
        "a13 a13 --mode greedy --cheat-fraction 0.5")
# Only the adversaries asked for (the honest miners always run).
selected=()
for spec in "${miners[@]}"; do
  read -r name _ <<< "$spec"
  if [[ $name == m* || " ${AGORA_DEVNET_ADVERSARIES-} " == *" $name "* ]]; then selected+=("$spec"); fi
done
miners=("${selected[@]}")
start_miner() {  # start_miner NAME MODEL EXTRA...
  local name=$1 model=$2
  shift 2
  rm -f "$devnet/$name.ready"
  local model_flags=()
  [ "$model" = - ] || model_flags=(--checkpoint "$devnet/models/$model")
  "$bin/agora-miner" --wallet-dir "$devnet/wallets" --wallet miners --hotkey "$name" \
    --chain-url-file "$devnet/chain/chain.url" --netuid 1 \
    --endpoint 'tcp://127.0.0.1:*' "${model_flags[@]}" \
    --metrics-port 0 --ready-file "$devnet/$name.ready" --data-dir "$devnet/miner-data/$name" "$@" \
    > "$devnet/logs/miner-$name.log" 2>&1 &
  pids+=($!)
}
# Waits for miner number $1 of `miners` to say it is ready (or to exit):
# loading LibTorch and a model takes seconds on a busy machine, so the
# bound is generous.
await_miner() {
  local name pid=${pids[$1]}
  read -r name _ <<< "${miners[$1]}"
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
}
honest=3  # miners[0..2]: their models are registered before any adversary starts
for i in "${!miners[@]}"; do
  if [ "$i" -eq "$honest" ]; then
    for ((j = 0; j < honest; j++)); do await_miner "$j"; done
  fi
  # shellcheck disable=SC2086  # the spec's extra flags are several words
  start_miner ${miners[$i]}
done
first=$(( ${#miners[@]} > honest ? honest : 0 ))  # the honest ones already, unless alone
for ((i = first; i < ${#miners[@]}; i++)); do await_miner "$i"; done
wait
