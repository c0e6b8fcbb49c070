#!/usr/bin/env bash
# Loads a gateway's dashboard in headless Chromium and checks what the page
# drew from the live /metagraph and /history (docs/GATEWAY.md, "Dashboard"):
#
#   - the table has one row per neuron of /metagraph, each with numeric
#     incentive, score, held-out loss and emission, and some miner has a
#     non-zero incentive, score and held-out loss;
#   - the incentive, emission and validator agreement charts each draw a line
#     of two or more points, and the latency chart at least one point
#     (the gateway must have answered completions for that).
#
# Usage: dashboard_check.sh GATEWAY_URL      e.g. http://127.0.0.1:8080
# Prints every row and chart it saw ("row uid=3 incentive=... score=..."),
# then PASS or FAIL; exits 0 or 1. A missing Chromium is a FAIL, not a skip
# (scripts/install-deps.sh installs it; CHROMIUM=path picks another one).
# ATTEMPTS (default 3) reloads, 2 s apart, wait for the validator's next step.
set -uo pipefail

url=${1:?usage: dashboard_check.sh GATEWAY_URL}
url=${url%/}
attempts=${ATTEMPTS:-3}

browser=${CHROMIUM:-}
if [ -z "$browser" ]; then
  for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
  done
fi
if [ -z "$browser" ] || ! [ -x "$(command -v "$browser" 2>/dev/null)" ]; then
  echo "dashboard_check: FAIL: Chromium not found (install it with scripts/install-deps.sh, or set CHROMIUM)"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The value of attribute $1 in the tag $2 (empty if absent).
attr() { printf '%s' "$2" | grep -o " $1=\"[^\"]*\"" | head -n1 | sed 's/^[^"]*"//; s/"$//'; }
is_number() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }

check_once() {
  local problems=0
  fail() { echo "  problem: $*"; problems=$((problems + 1)); }

  local expected
  expected=$(curl -s -S -m 10 "$url/metagraph" | grep -o '"uid":' | wc -l)
  # --no-sandbox: the check runs as root in CI containers, where Chromium's
  # sandbox cannot start. The virtual time budget lets the page's fetches and
  # first polls finish before the DOM is dumped.
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
      --no-first-run --no-default-browser-check --user-data-dir="$work/profile" \
      --virtual-time-budget=8000 --dump-dom "$url/dashboard" >"$work/dom.html" 2>"$work/chromium.log"
  local rc=$?
  if [ $rc -ne 0 ] || ! [ -s "$work/dom.html" ]; then
    fail "chromium exited $rc with no DOM; its log (without D-Bus noise):"
    grep -v 'dbus/' "$work/chromium.log" | tail -n 20 | sed 's/^/    /'
    return 1
  fi
  # One line per tag, so each <tr>/<svg>/<polyline> can be picked alone.
  tr '\n' ' ' <"$work/dom.html" | sed 's/</\n</g' >"$work/tags"

  local body
  body=$(grep -m1 '^<body' "$work/tags")
  echo "  page: data-ready=$(attr data-ready "$body") data-updates=$(attr data-updates "$body")"
  [ "$(attr data-ready "$body")" = 1 ] || fail "the page never rendered data (data-ready is not 1)"
  local err
  err=$(grep -m1 '^<p id="error"' "$work/tags")
  if [ -n "$err" ] && ! printf '%s' "$err" | grep -q ' hidden'; then
    fail "the page shows an error: $(printf '%s' "$err" | sed 's/^<[^>]*>//')"
  fi

  local rows=0 live=0 line uid inc score loss emis
  while IFS= read -r line; do
    uid=$(attr data-uid "$line"); inc=$(attr data-incentive "$line"); score=$(attr data-score "$line")
    loss=$(attr data-heldout-loss "$line"); emis=$(attr data-emission "$line")
    echo "  row uid=$uid incentive=$inc score=$score heldout_loss=$loss emission=$emis"
    rows=$((rows + 1))
    for v in "$inc" "$score" "$loss" "$emis"; do
      is_number "$v" || fail "uid $uid: '$v' is not a number"
    done
    if is_number "$inc" && is_number "$score" && is_number "$loss" &&
       positive "$inc" && positive "$score" && positive "$loss"; then
      live=$((live + 1))
    fi
  done < <(grep '^<tr [^>]*data-uid=' "$work/tags")
  echo "  table: $rows rows, /metagraph has $expected neurons, $live with incentive, score and loss > 0"
  [ "$expected" -gt 0 ] || fail "/metagraph lists no neurons"
  [ "$rows" -eq "$expected" ] || fail "table has $rows rows, /metagraph $expected neurons"
  [ "$live" -gt 0 ] || fail "no row has a non-zero incentive, score and held-out loss"

  local chart svg lines longest p need
  for chart in incentive emission agreement latency; do
    # The chart's elements: from its <svg> to the next </svg>.
    svg=$(awk -v id="id=\"chart-$chart\"" 'index($0, "<svg") == 1 && index($0, id) { on = 1 }
                                            on { print } on && index($0, "</svg>") == 1 { exit }' "$work/tags")
    lines=$(printf '%s\n' "$svg" | grep -c '^<\(polyline\|circle\) ')
    longest=0
    while IFS= read -r p; do
      [ -n "$p" ] && [ "$p" -gt "$longest" ] && longest=$p
    done < <(printf '%s\n' "$svg" | grep '^<\(polyline\|circle\) ' | grep -o 'data-points="[0-9]*"' | grep -o '[0-9]*')
    local head
    head=$(printf '%s\n' "$svg" | head -n1)
    echo "  chart $chart: series=$(attr data-series "$head") points=$(attr data-points "$head")" \
         "lines=$lines longest=$longest"
    need=2
    [ "$chart" = latency ] && need=1
    [ "$longest" -ge "$need" ] || fail "chart $chart has no line of $need or more points"
  done
  return $((problems > 0))
}

for ((i = 1; i <= attempts; ++i)); do
  echo "dashboard_check: loading $url/dashboard (attempt $i of $attempts)"
  if check_once; then
    echo "dashboard_check: PASS"
    exit 0
  fi
  [ "$i" -lt "$attempts" ] && sleep 2
done
echo "dashboard_check: FAIL"
exit 1
