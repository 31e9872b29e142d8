/**
 * The gate's known answers (not a test): `node dist/bench/benchmarks/gate-acceptance.js [K] [ref] [--only aa|ab] [-- gate flags…]`.
 *
 * Runs K `relaybench gate REF REF` (A/A: the same commit on both sides; every "regression" is a
 * false alarm) and K `relaybench gate REF REF --new-latency 2ms` (A/B: NEW pays 2 ms on every
 * client→relay hop; every "pass" is a miss), interleaved. When a `rb-heavy` command is on the
 * PATH (a machine lock some hosts use to keep measurements apart), each gate runs under it. Prints, per kind, the
 * regressions found / K, each run's effect estimates with their intervals, and the wall time.
 * Every gate keeps its folder (gate.json with every trial) under results/gate-acceptance-<time>/.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { effectText } from '../src/gate/decide.js';
import type { GateReport } from '../src/gate/gate-format.js';
import { REPO_ROOT } from '../src/scenarios/loader.js';
import { benchArgs } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node dist/bench/benchmarks/gate-acceptance.js [K=2] [ref] [--only aa|ab] [-- gate flags…]

The gate's known answers: K \`relaybench gate REF REF\` (A/A: every regression is a false alarm)
and K with --new-latency 2ms on NEW (A/B: every pass is a miss), interleaved; prints regressions
found / K, the effect estimates and the wall time. Everything after -- goes to each gate.
  K            runs of each kind (default 2)
  ref          the commit both sides build (default HEAD)
  --only KIND  aa or ab only
  -h, --help   this text
exit codes: 0 the runs were reported; 1 the benchmark failed; 2 bad arguments.`,
  valued: ['--only'],
  positionals: 2,
  numeric: [0],
});

const args = process.argv.slice(2);
const extraAt = args.indexOf('--');
const gateFlags = extraAt < 0 ? [] : args.slice(extraAt + 1);
const own = extraAt < 0 ? args : args.slice(0, extraAt);
const onlyAt = own.indexOf('--only');
const only = onlyAt < 0 ? null : own[onlyAt + 1];
const positional = own.filter((a, i) => !a.startsWith('--') && (onlyAt < 0 || i !== onlyAt + 1));
const K = Number(positional[0] ?? 2);
const ref = positional[1] ?? 'HEAD';
const CLI = join(REPO_ROOT, 'dist', 'bench', 'src', 'cli', 'main.js');
const root = join(REPO_ROOT, 'results', `gate-acceptance-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`);

const LOCK =
  (process.env.PATH ?? '')
    .split(delimiter)
    .map((d) => join(d, 'rb-heavy'))
    .find((f) => existsSync(f)) ?? null;

interface Outcome {
  readonly kind: 'A/A' | 'A/B';
  readonly exit: number;
  readonly wallS: number;
  readonly report: GateReport | null;
}

function gate(kind: Outcome['kind'], i: number): Promise<Outcome> {
  const out = join(root, `${kind === 'A/A' ? 'aa' : 'ab'}-${i}`);
  const flags = ['gate', ref, ref, '--out', out, ...(kind === 'A/B' ? ['--new-latency', '2ms'] : []), ...gateFlags];
  const t0 = Date.now();
  process.stderr.write(`\n=== ${kind} #${i}: relaybench ${flags.join(' ')}\n`);
  return new Promise((resolve) => {
    const command = LOCK === null ? [process.execPath, CLI, ...flags] : [LOCK, process.execPath, CLI, ...flags];
    const p = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', (code) => {
      let report: GateReport | null = null;
      try {
        report = JSON.parse(readFileSync(join(out, 'gate.json'), 'utf8')) as GateReport;
      } catch {
        // no gate.json: the gate failed before deciding (exit 2 bad input or 3 infrastructure)
      }
      // The gate's own wall time excludes waiting for the lock.
      resolve({ kind, exit: code ?? 128, wallS: report === null ? (Date.now() - t0) / 1000 : report.wallMs / 1000, report });
    });
  });
}

function line(o: Outcome, i: number): string {
  if (o.report === null) return `  ${o.kind} #${i}: exit ${o.exit}, no gate.json`;
  const rows = o.report.decision.rows.map(
    (r) =>
      `${r.stage} ${r.percentile} ${effectText({ ...r.effect, low: r.effect.low ?? 0, high: r.effect.high ?? Infinity }, o.report!.options.level)}` +
      // Reports from before noiseSd have none (JSON: null or absent).
      (typeof r.noiseSd === 'number' ? ` · noise sd ${r.noiseSd.toFixed(3)}` : ''),
  );
  const reruns = o.report.reruns.base + o.report.reruns.new;
  return `  ${o.kind} #${i}: exit ${o.exit} (${o.report.decision.verdict}) · ${Math.round(o.wallS)} s · ${o.report.plan.perSide}/side, ${reruns} rerun(s)\n    ${rows.join('\n    ')}`;
}

const outcomes: Outcome[] = [];
for (let i = 1; i <= K; i++) {
  if (only !== 'ab') outcomes.push(await gate('A/A', i));
  if (only !== 'aa') outcomes.push(await gate('A/B', i));
}
process.stdout.write(`\ngate acceptance, ref ${ref}, K = ${K} (folders under ${root})\n`);
for (const kind of ['A/A', 'A/B'] as const) {
  const mine = outcomes.filter((o) => o.kind === kind);
  if (mine.length === 0) continue;
  const found = mine.filter((o) => o.exit === 1).length;
  const invalid = mine.filter((o) => o.exit === 2).length;
  const walls = mine.map((o) => o.wallS);
  process.stdout.write(
    `${kind}: regressions found ${found}/${mine.length}${invalid > 0 ? ` (${invalid} invalid)` : ''} · wall ${Math.round(Math.min(...walls))}–${Math.round(Math.max(...walls))} s\n`,
  );
  mine.forEach((o, i) => process.stdout.write(`${line(o, i + 1)}\n`));
}
