# The shell benchmarks' argument check (testbed/bench/args.ts does it for the JavaScript ones), sourced:
#   bench_args SCRIPT FROM TO MAX "EXIT CODES" "$@"
# --help prints SCRIPT's comment lines FROM–TO and the exit codes, exit 0. A first argument that
# is not a whole number, or more than MAX arguments, is `error RB_BENCH_ARGS: …`, exit 2, before any work.
bench_args() {
  local script=$1 from=$2 to=$3 max=$4 codes=$5
  shift 5
  case "${1:-}" in
    -h | --help)
      sed -n "${from},${to}p" "$script" | sed 's/^# \{0,1\}//'
      echo "Exit codes: $codes"
      exit 0
      ;;
  esac
  if [ -n "${1:-}" ] && ! [[ "$1" =~ ^[0-9]+$ ]]; then
    echo "error RB_BENCH_ARGS: the first argument must be a whole number, not '$1'. See --help." >&2
    exit 2
  fi
  if [ $# -gt "$max" ]; then
    echo "error RB_BENCH_ARGS: too many arguments ($*). See --help." >&2
    exit 2
  fi
}
