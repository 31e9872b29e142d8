/**
 * The benchmarks' own argument check, run before any work: `-h`/`--help` prints the usage and
 * exits 0; an unknown flag, a flag without its value, too many positionals or a positional that
 * is not a number where one is expected exits 2 with `error RB_BENCH_ARGS: …` (a benchmark that
 * ignored a typo would run for minutes with the wrong settings). A benchmark's internal child mode
 * (`--child`, `--peer`) is left alone. Everything after `--` is passed through unchecked.
 * In testbed/ (what runs stand on), not in bench/, so that both bench/benchmarks and
 * loadgen/bench may use it (loadgen never imports bench; .dependency-cruiser.cjs).
 */

export interface BenchArgsSpec {
  readonly usage: string;
  /** Flags that take a value (`--rounds N`). */
  readonly valued?: readonly string[];
  /** Flags without a value (`--skip-ramp`). */
  readonly switches?: readonly string[];
  /** How many positionals, and which of them (by index) must be numbers. */
  readonly positionals?: number;
  readonly numeric?: readonly number[];
  /** A first argument that starts the benchmark's own child process mode. */
  readonly internal?: readonly string[];
}

/** The problem with `argv` (null when fine), or 'help'. */
export function checkBenchArgs(argv: readonly string[], spec: BenchArgsSpec): 'help' | string | null {
  if (argv[0] !== undefined && (spec.internal ?? []).includes(argv[0])) return null;
  const own = ownArgs(argv);
  if (own.includes('-h') || own.includes('--help')) return 'help';
  const { positionals, problem } = scan(own, spec);
  if (problem !== null) return problem;
  if (positionals.length > (spec.positionals ?? 0)) return `too many arguments (${positionals.join(' ')}).`;
  for (const i of spec.numeric ?? [])
    if (positionals[i] !== undefined && !Number.isFinite(Number(positionals[i]))) return `${positionals[i]} is not a number.`;
  return null;
}

/** The positionals of `argv` (after benchArgs checked it): neither a flag nor a valued flag's value. */
export function benchPositionals(spec: BenchArgsSpec, argv: readonly string[] = process.argv.slice(2)): string[] {
  return scan(ownArgs(argv), spec).positionals;
}

/** What comes before `--` (the rest is passed through). */
function ownArgs(argv: readonly string[]): readonly string[] {
  return argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
}

function scan(own: readonly string[], spec: BenchArgsSpec): { positionals: string[]; problem: string | null } {
  const positionals: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const a = own[i]!;
    if ((spec.valued ?? []).includes(a)) {
      if (own[i + 1] === undefined || own[i + 1]!.startsWith('-')) return { positionals, problem: `${a} needs a value.` };
      i++;
    } else if ((spec.switches ?? []).includes(a)) continue;
    else if (a.startsWith('-')) return { positionals, problem: `unknown option ${a}.` };
    else positionals.push(a);
  }
  return { positionals, problem: null };
}

/** Checks `process.argv`: prints the usage and exits 0 on --help, exits 2 on a problem. */
export function benchArgs(spec: BenchArgsSpec, argv: readonly string[] = process.argv.slice(2)): void {
  const problem = checkBenchArgs(argv, spec);
  if (problem === 'help') {
    process.stdout.write(`${spec.usage.trim()}\n`);
    process.exit(0);
  }
  if (problem !== null) refuseBenchArgs(problem);
}

/**
 * The value of the valued flag `flag` as a whole number ≥ 1, or `fallback` when it is absent; any
 * other value exits 2 with `error RB_BENCH_ARGS: …` (call after benchArgs, which has checked that
 * the value is there).
 */
export function benchCount(flag: string, fallback: number, argv: readonly string[] = process.argv.slice(2)): number {
  const at = argv.indexOf(flag);
  if (at < 0) return fallback;
  const n = Number(argv[at + 1]);
  if (!Number.isInteger(n) || n < 1) refuseBenchArgs(`${flag} ${argv[at + 1]}: expected a whole number ≥ 1.`);
  return n;
}

/** Prints `error RB_BENCH_ARGS: <problem> See --help.` and exits 2 (for a check of a value's range). */
export function refuseBenchArgs(problem: string): never {
  process.stderr.write(`error RB_BENCH_ARGS: ${problem} See --help.\n`);
  process.exit(2);
}
