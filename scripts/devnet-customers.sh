#!/usr/bin/env bash
# A customer beside a running devnet: asks its gateway for log-probabilities
# until stopped (Ctrl-C), one request every PAUSE seconds (default 0.3):
# either an echo of a random line of the devnet's corpus (at most 48 bytes,
# max_tokens 0, logprobs 2) or the next token's three most likely after a
# list of three prompts. Prints how many were answered and refused; what
# the validator did with the answers is in its score records ("organic"
# entries with "predict": true; docs/RESULTS.md).
# Usage: scripts/devnet-customers.sh [DEVNET_DIR] [PAUSE]
set -euo pipefail
cd "$(dirname "$0")/.."
devnet=${1:-.devnet}
pause=${2:-0.3}
for _ in $(seq 600); do [ -s "$devnet/gateway.url" ] && break; sleep 1; done
[ -s "$devnet/gateway.url" ] || { echo "devnet-customers: no gateway in $devnet (is scripts/devnet.sh running?)" >&2; exit 1; }
url=$(cat "$devnet/gateway.url")
key=$(sed -n 's/^key = "\(.*\)"$/\1/p' "$devnet/api-keys.toml")
corpus="$devnet/models/kjv.txt"
lines=$(wc -l < "$corpus")
ok=0 refused=0
report() { echo "devnet-customers: $ok answered, $refused refused"; exit 0; }
trap report INT TERM
while true; do
  line=$(sed -n "$(( (RANDOM * 32768 + RANDOM) % lines + 1 ))p" "$corpus" | cut -c1-48 | tr -d '"\\')
  [ -n "$line" ] || continue
  if (( RANDOM % 2 )); then
    body="{\"prompt\": \"$line\", \"max_tokens\": 0, \"echo\": true, \"logprobs\": 2}"
  else
    body="{\"prompt\": [\"$line\", \"And God said\", \"In the beginning\"], \"max_tokens\": 0, \"logprobs\": 3}"
  fi
  code=$(curl -m 20 -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "$body" "$url/v1/completions" || true)
  if [ "$code" = 200 ]; then ok=$((ok + 1)); else refused=$((refused + 1)); fi
  sleep "$pause"
done
