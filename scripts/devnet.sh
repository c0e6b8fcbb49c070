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
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
echo "devnet: building (first build takes a few minutes)..."
targets=(agora agora-chain)
if grep -q '^Torch_DIR:.*-NOTFOUND' build/CMakeCache.txt 2>/dev/null; then :; else targets+=(agora-miner agora-train agora-validator); fi
bash scripts/build.sh "${targets[@]}" > build-devnet.log 2>&1 || { tail -40 build-devnet.log; exit 1; }

devnet=${AGORA_DEVNET_DIR:-.devnet}
mkdir -p "$devnet/logs" "$devnet/chain"
devnet=$(cd "$devnet" && pwd)
export AGORA_WALLET_PASSWORD=${AGORA_WALLET_PASSWORD:-agora-devnet-only-password}
bin="$root/build/bin"
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
  "$bin/agora" wallet show --name "$1" "${wallets[@]}" --json |
    sed -n "$( [ -n "${2:-}" ] && echo "/\"name\": \"$2\"/,/address/{/address/p}" || echo '/"coldkey"/,/address/{/address/p}')" |
    head -1 | sed 's/.*"address": *"\([^"]*\)".*/\1/'
}

# 1. Wallets and genesis, once.
if [ ! -f "$devnet/genesis.toml" ]; then
  echo "devnet: creating wallets in $devnet/wallets"
  "$bin/agora" wallet new --name owner "${wallets[@]}" --kdf interactive > /dev/null
  "$bin/agora" wallet new --name validator "${wallets[@]}" --kdf interactive > /dev/null
  "$bin/agora" wallet new --name miners --hotkey m1 "${wallets[@]}" --kdf interactive > /dev/null
  for h in m2 m3; do
    "$bin/agora" wallet new-hotkey --name miners --hotkey "$h" "${wallets[@]}" > /dev/null
  done
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
pids+=($!)
for _ in $(seq 100); do [ -s "$devnet/chain/chain.url" ] && break; sleep 0.1; done
[ -s "$devnet/chain/chain.url" ] || { echo "devnet: chain did not start:"; tail "$devnet/logs/chain.log"; exit 1; }
export AGORA_CHAIN_URL=$(cat "$devnet/chain/chain.url")
echo "devnet: chain at $AGORA_CHAIN_URL (log: $devnet/logs/chain.log)"

# 3. Registrations and stake, once each (a marker per hotkey records it).
# Miners m1..m3 are honest; a1..a4 are the adversaries (scripts/devnet-miners.sh).
if [ ! -f "$devnet/.registered" ]; then
  "$bin/agora" register --name validator --netuid 1 "${wallets[@]}" 2>&1 | tail -1
  for h in m1 m2 m3; do
    "$bin/agora" register --name miners --hotkey "$h" --netuid 1 "${wallets[@]}" 2>&1 | tail -1
  done
  "$bin/agora" stake add --name validator --amount 10000 "${wallets[@]}" | head -1
  touch "$devnet/.registered"
fi
for h in a1 a2 a3 a4; do
  [ -f "$devnet/.registered-$h" ] && continue
  [ -f "$devnet/wallets/miners/hotkeys/$h" ] ||
    "$bin/agora" wallet new-hotkey --name miners --hotkey "$h" "${wallets[@]}" > /dev/null
  "$bin/agora" register --name miners --hotkey "$h" --netuid 1 "${wallets[@]}" 2>&1 | tail -1
  touch "$devnet/.registered-$h"
done

# 4. Miners and the validator, when they have been built (they need LibTorch).
if [ -x "$bin/agora-miner" ] && [ -x "$bin/agora-train" ]; then
  bash scripts/devnet-miners.sh "$devnet" &
  pids+=($!)
fi
if [ -x "$bin/agora-validator" ]; then
  bash scripts/devnet-validator.sh "$devnet" &
  pids+=($!)
fi

# 5. A metagraph table every epoch.
echo "devnet: running; Ctrl-C stops everything"
blocks=${AGORA_DEVNET_BLOCKS:-0}
start=$("$bin/agora" chain status --json | sed -n 's/.*"height": *\([0-9]*\).*/\1/p')
while true; do
  sleep 10
  "$bin/agora" metagraph --netuid 1 || true
  if [ "$blocks" -gt 0 ]; then
    h=$("$bin/agora" chain status --json | sed -n 's/.*"height": *\([0-9]*\).*/\1/p')
    [ "$((h - start))" -ge "$blocks" ] && break
  fi
done
