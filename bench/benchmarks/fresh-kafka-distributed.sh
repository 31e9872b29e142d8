#!/usr/bin/env bash
# Distributed runs right after a fresh `kafka up` (issue 14; not a test). Each run: `kafka up`,
# then at once two `loadgen --join` joiners and `run smoke --remote-workers --workers 2` on it
# (docs/distributed.md). Counts runs where any process exited non-zero, and how many retriable
# Kafka errors the adapter rode out (its "retriable, retrying" / "kafkajs restarts it" lines).
# Usage (from the repository root, after a build): [RUN_ARGS="--duration 5s"] bench/benchmarks/fresh-kafka-distributed.sh [runs] [scenario]
set -u
source "$(dirname "$0")/script-args.sh"
bench_args "$0" 2 6 2 "0 every run clean; 1 a run failed; 2 bad arguments (RB_BENCH_ARGS)." "$@"
runs=${1:-20}
scenario=${2:-smoke}
cli="node dist/bench/src/cli/main.js"
work=$(mktemp -d)
failures=0
broken=0
for i in $(seq 1 "$runs"); do
  id="fresh-$$-$i"
  $cli kafka up >"$work/kafka-$i.out" 2>"$work/kafka-$i.err" &
  kpid=$!
  for _ in $(seq 1 600); do
    brokers=$(head -n1 "$work/kafka-$i.out" 2>/dev/null)
    [ -n "$brokers" ] && break
    kill -0 "$kpid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "${brokers:-}" ]; then
    echo "run $i: kafka up failed: $(tail -n3 "$work/kafka-$i.err")"
    failures=$((failures + 1))
    continue
  fi
  $cli loadgen --join "$id" --brokers "$brokers" --worker-name "j1" >"$work/j1-$i.out" 2>"$work/j1-$i.err" &
  j1=$!
  $cli loadgen --join "$id" --brokers "$brokers" --worker-name "j2" >"$work/j2-$i.out" 2>"$work/j2-$i.err" &
  j2=$!
  $cli run "$scenario" --remote-workers --workers 2 --run-id "$id" --kafka-provider external --brokers "$brokers" --results-dir "$work/results" --prometheus off --no-progress ${RUN_ARGS:-} >"$work/run-$i.out" 2>"$work/run-$i.err"
  rc=$?
  wait "$j1"; r1=$?
  wait "$j2"; r2=$?
  kill -TERM "$kpid" 2>/dev/null
  wait "$kpid" 2>/dev/null
  rides=$(cat "$work"/*-"$i".err | grep -cE 'retriable, retrying|kafkajs restarts it')
  # Exit 1 (an objective failed) and 2 (invalid, e.g. generator-bound on a busy host) are runs that
  # completed: no process died on Kafka. Anything else non-zero (3 infrastructure, 4, …) is a failure.
  if [ "$rc" -gt 2 ] || [ "$r1" -ne 0 ] || [ "$r2" -ne 0 ]; then
    failures=$((failures + 1))
    echo "run $i: FAILED (run $rc, joiners $r1 $r2; $rides retriable error(s) ridden out): $(tail -n2 "$work/run-$i.err" "$work/j1-$i.err" "$work/j2-$i.err" | tr '\n' ' ' | cut -c1-400)"
  else
    [ "$rc" -ne 0 ] && broken=$((broken + 1))
    echo "run $i: ok, every process exited cleanly (run exit $rc; $rides retriable error(s) ridden out): $(grep -h '^segment' "$work/run-$i.err" | cut -c1-200)"
  fi
done
echo "fresh-kafka distributed runs: $((runs - failures))/$runs with every process exiting cleanly, $failures failure(s) ($broken of the clean runs completed with an objective broken or invalid, exit 1/2); logs in $work"
[ "$failures" -eq 0 ]
