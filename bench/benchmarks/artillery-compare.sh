#!/usr/bin/env bash
# Measures Artillery's plain WebSocket send on this machine, the yardstick of the loadgen's CPU goal
# (loadgen/README.md, "Against Artillery"). Not a test and not a dependency of relaybench: Artillery
# is installed on first use into .cache/artillery (npm, ≈ 460 packages, browsers skipped).
#
# Method: the marginal CPU of a message. Two runs differ only in messages per virtual user; the CPU
# difference (user + kernel, the whole process tree, bash `time`) over the message difference
# leaves out Artillery's start-up and per-VU costs. Two shapes:
#   tight — 200 VUs, each sends its messages back to back (no think time);
#   paced — 1,000 VUs over 10 s, each sends one message a second (think: 1), like a messenger user.
# The sink is loadgen/bench/fake-relay.js --sink (reads and drops every frame), on loopback.
# Usage: bench/benchmarks/artillery-compare.sh [repeats]   (after `npm run build`)
set -euo pipefail
source "$(dirname "$0")/script-args.sh"
bench_args "$0" 2 12 1 "0 measured; 1 a step failed; 2 bad arguments (RB_BENCH_ARGS)." "$@"
cd "$(dirname "$0")/../.."
repeats=${1:-2}
art=.cache/artillery
if [ ! -x "$art/node_modules/.bin/artillery" ]; then
  echo "installing artillery@2.0.34 into $art ..." >&2
  mkdir -p "$art"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$art" --no-audit --no-fund --ignore-scripts artillery@2.0.34 >&2
fi
work=$(mktemp -d)
node dist/loadgen/bench/fake-relay.js --sink >"$work/sink.out" &
sink=$!
trap 'kill $sink 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q listening "$work/sink.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed 's/.*"url":"\([^"]*\)".*/\1/' "$work/sink.out")
payload=$(head -c 200 /dev/zero | tr '\0' 'a')

scenario() { # name arrivalRate count thinkStep
  cat >"$work/$1.yml" <<EOF
config:
  target: "$url"
  phases:
    - duration: 10
      arrivalRate: $2
scenarios:
  - engine: ws
    flow:
      - loop:
          - send: "$payload"
$4
        count: $3
EOF
}
cpu_of() { # file → CPU seconds (user + sys) of one artillery run
  local t
  t=$( { TIMEFORMAT='%U %S'; time "$art/node_modules/.bin/artillery" run --quiet "$work/$1.yml" >/dev/null 2>&1; } 2>&1 )
  awk '{ print $1 + $2 }' <<<"$t"
}
measure() { # label arrivalRate few many thinkStep
  scenario few "$2" "$3" "$5"
  scenario many "$2" "$4" "$5"
  local vus=$(( $2 * 10 )) i a b
  for i in $(seq "$repeats"); do
    a=$(cpu_of few); b=$(cpu_of many)
    awk -v l="$1" -v a="$a" -v b="$b" -v n=$(( vus * ($4 - $3) )) \
      'BEGIN { printf "%s: %.1f µs CPU per message (marginal over %d messages; runs %.2f s and %.2f s of CPU)\n", l, (b - a) * 1e6 / n, n, a, b }'
  done
}
measure "artillery plain ws send, tight loop (200 VUs)" 20 50 250 ""
measure "artillery plain ws send, paced 1/s per VU (1,000 VUs)" 100 5 15 "          - think: 1"
