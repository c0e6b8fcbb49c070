#!/usr/bin/env bash
# The README's first command: installs what Agora needs (Debian packages),
# builds it, and runs a local devnet on loopback: agora-chain, wallets created
# and funded from the genesis, hotkeys registered and staked, honest and
# adversarial miners serving and a validator scoring them (when LibTorch is
# there), and a metagraph table printed every epoch. Ctrl-C stops
# everything cleanly; running it again resumes the same chain from .devnet/.
#
# Environment:
#   AGORA_DEVNET_DIR       state directory (default .devnet)
#   AGORA_WALLET_PASSWORD  password of the devnet wallets (default: a fixed
#                          devnet-only password; these keys hold devnet tokens only)
#   AGORA_DEVNET_BLOCKS    stop after this many blocks (default: run until Ctrl-C)
#   AGORA_DEVNET_EPOCHS    stop after this many epochs with the validator's
#                          gateway up (default: run until Ctrl-C); each
#                          epoch's summary goes to <dir>/summary.json (the
#                          latest) and <dir>/epochs.jsonl (all of them)
#   AGORA_DEVNET_MODELS    the honest models to train, "name layers dim heads
#                          steps" separated by ';' (default below); the
#                          validator's private teacher is trained like the
#                          last of them, with a secret seed
#   AGORA_DEVNET_ADVERSARIES  which adversarial miners run: names of
#                          scripts/devnet-miners.sh (a1..a13) separated by
#                          commas, "all" (default) or "none"
#   AGORA_DEVNET_BIN       use the binaries in this directory as they are
#                          (no package install, no build): for tests
#   AGORA_TORCH_THREADS    LibTorch threads per process (default 1: a dozen
#                          model processes share this machine's cores, and
#                          OpenMP threads of several processes spinning at
#                          barriers on the same cores cost 10x in latency)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -n "${AGORA_DEVNET_BIN:-}" ]; then
  bin=$(cd "$AGORA_DEVNET_BIN" && pwd)
else
  bash scripts/install-deps.sh
  echo "devnet: building (first build takes a few minutes)..."
  targets=(agora agora-chain)
  if grep -q "^AGORA_WITH_TORCH:BOOL=OFF" build/CMakeCache.txt 2>/dev/null; then :; else targets+=(agora-miner agora-train agora-validator); fi
  bash scripts/build.sh "${targets[@]}" > build-devnet.log 2>&1 || { tail -40 build-devnet.log; exit 1; }
  bin="$root/build/bin"
fi
export AGORA_DEVNET_BIN=$bin  # for devnet-miners.sh and devnet-validator.sh
# Three honest models of clearly different quality.
export AGORA_DEVNET_MODELS=${AGORA_DEVNET_MODELS:-"m1 1 32 2 40;m2 2 64 4 150;m3 2 96 4 400"}

devnet=${AGORA_DEVNET_DIR:-.devnet}
mkdir -p "$devnet/logs" "$devnet/chain"
devnet=$(cd "$devnet" && pwd)
export AGORA_WALLET_PASSWORD=${AGORA_WALLET_PASSWORD:-agora-devnet-only-password}
export AGORA_TORCH_THREADS=${AGORA_TORCH_THREADS:-1}
wallets=(--wallet-dir "$devnet/wallets")

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "devnet: stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "devnet: stopped; state kept in $devnet (run again to resume)"
}
trap cleanup INT TERM EXIT

address_of() {  # address_of WALLET [HOTKEY]: the coldkey (or named hotkey) address
  # In `wallet show --json` each key's "address" comes before its "name"; the
  # coldkey is listed first. Every filter reads to the end: one that quit
  # early (sed's q, head) could kill the writer with SIGPIPE, which pipefail
  # turns into the script's failure whenever the JSON outgrows one pipe write.
  "$bin/agora" wallet show --name "$1" "${wallets[@]}" --json |
    if [ -n "${2:-}" ]; then sed -n "/\"address\"/h; /\"name\": \"$2\"/{x;p}"; else sed -n '/"address"/p' | sed -n 1p; fi |
    sed 's/.*"address": *"\([^"]*\)".*/\1/'
}

# 1. Wallets and genesis. Each step checks what is already there, so a run
# stopped anywhere during setup resumes where it stopped.
wallet_exists() { [ -f "$devnet/wallets/$1/coldkey" ]; }
wallet_exists owner || "$bin/agora" wallet new --name owner "${wallets[@]}" --kdf interactive > /dev/null
wallet_exists validator || "$bin/agora" wallet new --name validator "${wallets[@]}" --kdf interactive > /dev/null
wallet_exists miners || "$bin/agora" wallet new --name miners --hotkey m1 "${wallets[@]}" --kdf interactive > /dev/null
# Honest miners, then the adversaries of scripts/devnet-miners.sh.
all_adversaries=(a1 a2 a3 a4 a5 a6 a7 a8 a9 a10 a11 a12 a13)
case "${AGORA_DEVNET_ADVERSARIES:-all}" in
  all) adversaries=("${all_adversaries[@]}") ;;
  none) adversaries=() ;;
  *)
    read -r -a adversaries <<< "${AGORA_DEVNET_ADVERSARIES//,/ }"
    for a in "${adversaries[@]}"; do
      if [[ " ${all_adversaries[*]} " != *" $a "* ]]; then
        echo "devnet: AGORA_DEVNET_ADVERSARIES: unknown adversary '$a' (a1..a13, all or none)" >&2
        exit 2
      fi
    done
    ;;
esac
export AGORA_DEVNET_ADVERSARIES="${adversaries[*]}"  # for devnet-miners.sh: space-separated
miner_hotkeys=(m1 m2 m3 "${adversaries[@]}")
for h in "${miner_hotkeys[@]:1}"; do
  [ -f "$devnet/wallets/miners/hotkeys/$h" ] ||
    "$bin/agora" wallet new-hotkey --name miners --hotkey "$h" "${wallets[@]}" > /dev/null
done
if [ ! -f "$devnet/genesis.toml" ]; then
  echo "devnet: wallets in $devnet/wallets"
  sed -e "s/@OWNER_COLDKEY@/$(address_of owner)/" \
      -e "s/@VALIDATOR_COLDKEY@/$(address_of validator)/" \
      -e "s/@MINER_COLDKEY@/$(address_of miners)/" \
      configs/devnet.toml > "$devnet/genesis.toml.tmp"
  mv "$devnet/genesis.toml.tmp" "$devnet/genesis.toml"
fi

# 2. The chain, on free loopback ports (its URL is written to chain.url).
rm -f "$devnet/chain/chain.url"
"$bin/agora-chain" run --genesis "$devnet/genesis.toml" --data-dir "$devnet/chain" \
  --endpoint 'tcp://127.0.0.1:*' --events-endpoint 'tcp://127.0.0.1:*' \
  > "$devnet/logs/chain.log" 2>&1 &
chain_pid=$!
pids+=("$chain_pid")
# Until it writes its URL (replaying a long log can take a while), or exits.
until [ -s "$devnet/chain/chain.url" ]; do
  kill -0 "$chain_pid" 2>/dev/null || { echo "devnet: the chain exited:"; tail "$devnet/logs/chain.log"; exit 1; }
  sleep 0.1
done
export AGORA_CHAIN_URL=$(cat "$devnet/chain/chain.url")
echo "devnet: chain at $AGORA_CHAIN_URL (log: $devnet/logs/chain.log)"

# 3. Registrations and stake, each only if the chain does not have it yet.
# The chain takes a few registrations per block: `agora register` waits for
# the next block when one is full. Miners m1..m3 are honest; a1..a13 are the
# adversaries (scripts/devnet-miners.sh).
metagraph_json=
refresh_metagraph() { metagraph_json=$("$bin/agora" metagraph --netuid 1 --json); }
registered() { grep -q "\"$1\"" <<< "$metagraph_json"; }
register() {  # register WALLET HOTKEY
  registered "$(address_of "$1" "$2")" && return 0
  "$bin/agora" register --name "$1" --hotkey "$2" --netuid 1 --max-burn 100 "${wallets[@]}" |
    sed -n 's/^Registered/devnet: registered/p'  # (waits for a block, if any, go to stderr)
}
refresh_metagraph
register validator default
for h in "${miner_hotkeys[@]}"; do register miners "$h"; done
validator_hotkey=$(address_of validator default)
if ! "$bin/agora" balance --name validator "${wallets[@]}" --json | grep "\"$validator_hotkey\"" > /dev/null; then
  "$bin/agora" stake add --name validator --amount 10000 "${wallets[@]}" | sed -n 1p
fi

# 4. Miners and the validator, when they have been built (they need LibTorch).
# Each is watched below: if one stops, the devnet stops and says which.
watched=("$chain_pid chain $devnet/logs/chain.log")
if [ -x "$bin/agora-miner" ] && [ -x "$bin/agora-train" ]; then
  bash scripts/devnet-miners.sh "$devnet" &
  pids+=($!)
  watched+=("$! miners $devnet/logs (miner-*.log, train-*.log)")
fi
if [ -x "$bin/agora-validator" ]; then
  bash scripts/devnet-validator.sh "$devnet" &
  pids+=($!)
  watched+=("$! validator $devnet/logs/validator.log")
fi
check_running() {
  local spec pid name log
  for spec in "${watched[@]}"; do
    read -r pid name log <<< "$spec"
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "devnet: the $name stopped unexpectedly; see $log"
      exit 1
    fi
  done
}

# 5. A summary table every epoch: each uid's role, the model it serves, its
# challenge loss and score as the validator sees them, and what it earned.
labels="$devnet/labels.txt"
write_labels() {  # hotkey addresses and model hashes -> names, for agora summary
  label() { if [ -n "$1" ]; then echo "$1 $2"; fi; }
  {
    echo "# written by scripts/devnet.sh: KEY LABEL"
    label "$(address_of validator default)" validator
    for spec in "m1 honest" "m2 honest" "m3 honest" "a1 random" "a2 liar" "a3 slow" \
                "a4 memorizer" "a5 copycat" "a6 lookup" "a7 claim-registered" "a8 noisy-copy" \
                "a9 greedy" "a10 early-stop" "a11 perturbed-copy" "a12 two-faced" \
                "a13 sometimes-greedy"; do
      read -r h role <<< "$spec"
      if [ -f "$devnet/wallets/miners/hotkeys/$h" ]; then label "$(address_of miners "$h")" "$role ($h)"; fi
    done
    for cfg in "$devnet"/models/*/config.json; do
      [ -f "$cfg" ] || continue
      label "$(sed -n 's/.*"content_hash": *"\([0-9a-f]*\)".*/\1/p' "$cfg")" "$(basename "$(dirname "$cfg")")"
    done
    # The thief's nudged copy of m3 (a11, --mode perturbed-copy).
    cfg="$devnet/miner-data/a11/perturbed-copy/config.json"
    if [ -f "$cfg" ]; then
      label "$(sed -n 's/.*"content_hash": *"\([0-9a-f]*\)".*/\1/p' "$cfg")" "m3-nudged"
    fi
  } > "$labels.tmp"
  mv "$labels.tmp" "$labels"
}
height_of() { "$bin/agora" chain status --json | sed -n 's/.*"height": *\([0-9]*\).*/\1/p'; }
summary() {  # agora summary needs the LibTorch build; the metagraph otherwise
  if ! "$bin/agora" summary --help > /dev/null 2>&1; then "$bin/agora" metagraph --netuid 1; return; fi
  local gw=()
  [ -s "$devnet/gateway.url" ] && gw=(--gateway "$(cat "$devnet/gateway.url")")
  "$bin/agora" summary --netuid 1 --labels "$labels" "${gw[@]}" "$@"
}

echo "devnet: running; Ctrl-C stops everything"
blocks=${AGORA_DEVNET_BLOCKS:-0}
epochs=${AGORA_DEVNET_EPOCHS:-0}
start=$(height_of)
last_epoch=
gateway_epochs=0
while true; do
  sleep 1
  check_running
  epoch=$("$bin/agora" metagraph --netuid 1 --json 2>/dev/null | sed -n 's/^  "epoch_index": *\([0-9]*\).*/\1/p')
  [ -n "$epoch" ] && [ "$epoch" != "$last_epoch" ] || continue
  last_epoch=$epoch
  write_labels
  echo
  summary || true
  if [ -s "$devnet/gateway.url" ]; then
    # Every epoch's summary, one JSON object a line, for reports and charts.
    if summary --json > "$devnet/summary.json.tmp" 2>/dev/null; then
      mv "$devnet/summary.json.tmp" "$devnet/summary.json"
      tr -d '\n' < "$devnet/summary.json" >> "$devnet/epochs.jsonl" && echo >> "$devnet/epochs.jsonl"
    fi
    gateway_epochs=$((gateway_epochs + 1))
    [ "$epochs" -gt 0 ] && [ "$gateway_epochs" -gt "$epochs" ] && break
  fi
  if [ "$blocks" -gt 0 ] && [ "$(( $(height_of) - start ))" -ge "$blocks" ]; then break; fi
done
