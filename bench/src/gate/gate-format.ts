// Renders a GateReport: text (terminal), Markdown (PR comment), junit.xml (CI test report).
import { junitDocument, xml } from '../outputs/junit-xml.js';
import type { GateDecision, GateOptions, GateRow, GateTrial, Side } from './decide.js';
import { effectText, percentChange } from './decide.js';
import { detectableWith } from './estimate.js';

export interface GateSideInfo {
  readonly spec: string;
  readonly commit: string | null;
  readonly dir: string;
  readonly buildMs: number;
  readonly reused: boolean;
  /** e.g. "+2 ms latency on every client→relay hop" (an injected, known regression). */
  readonly injected: string | null;
}

export interface GateReport {
  readonly kind: 'relaybench-gate';
  readonly schemaVersion: 1;
  readonly createdAt: string;
  readonly scenario: string;
  readonly base: GateSideInfo;
  readonly new: GateSideInfo;
  readonly plan: {
    readonly perSide: number;
    readonly mde: number;
    readonly detectable: number;
    readonly budgetBound: boolean;
    readonly budgetMs: number;
    readonly noiseSd: number;
    readonly order: readonly Side[];
    readonly orderMode: string;
    readonly seed: number;
    readonly durationMs: number;
    readonly warmupMs: number;
    readonly maxReruns: number;
    /** When each trial's kafka-direct reference ran (absent in reports from before the option: after). */
    readonly referenceTiming?: 'alongside' | 'after';
  };
  readonly options: GateOptions;
  readonly kafka: { readonly provider: string; readonly brokers: readonly string[]; readonly shared: boolean };
  readonly wallMs: number;
  readonly reruns: Readonly<Record<Side, number>>;
  readonly gaveUp: string | null;
  readonly decision: GateDecision;
  readonly exitCode: number;
  readonly trials: readonly GateTrial[];
}

const VERDICT = { pass: 'ok', regression: 'REGRESSION', improvement: 'improved', inconclusive: 'too noisy', 'no-data': 'no data' } as const;

const short = (s: GateSideInfo) =>
  `${s.spec}${s.commit === null ? '' : ` (${s.commit.slice(0, 10)})`}${s.injected === null ? '' : ` + ${s.injected}`}`;
/** 163_000 → "2 min 43 s", 42_000 → "42 s" (whole seconds first, so 119.7 s is 2 min 0 s, not 1 min 60 s). */
export function minSec(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
const lvl = (r: GateReport) => `${Math.round(r.options.level * 1000) / 10} %`;

export function headline(r: GateReport): string {
  const what = {
    pass: 'PASS — no regression beyond the thresholds',
    regression: 'REGRESSION',
    invalid: 'INVALID — not enough valid trials, or too noisy to rule out a regression',
  }[r.decision.verdict];
  const valid = (side: Side) => r.trials.filter((t) => t.side === side && t.valid).length;
  const reruns = r.reruns.base + r.reruns.new;
  return `gate ${r.scenario}: ${what} · base ${short(r.base)} vs new ${short(r.new)} · ${valid('base')} + ${valid('new')} valid trials${reruns > 0 ? ` (${reruns} rerun)` : ''} · ${minSec(r.wallMs)}`;
}

function cells(r: GateReport, x: GateRow): string[] {
  const ratio = (v: number) => (Number.isFinite(v) ? `×${v.toFixed(3)}` : '—');
  return [
    x.stage,
    x.percentile,
    ratio(x.base),
    ratio(x.new),
    effectText(x.effect, r.options.level),
    percentChange(x.threshold),
    VERDICT[x.verdict],
  ];
}

const HEADER = ['stage', 'pct', 'base ÷ ref', 'new ÷ ref', 'effect', 'limit', 'verdict'];

function method(r: GateReport): string {
  return (
    `Each value is one trial's relay percentile ÷ the same trial's kafka-direct reference percentile. Effect = Hodges–Lehmann NEW ÷ BASE with its exact ${lvl(r)} interval; ` +
    `regression = the whole interval above the limit (p50 ${percentChange(r.options.thresholds.p50)}, p99 ${percentChange(r.options.thresholds.p99)}, set from A/A runs). ` +
    `${r.plan.perSide} trials per side (${r.plan.orderMode} order, seed ${r.plan.seed}): ~${percentChange(r.plan.detectable)} detectable in 9 of 10 gates (asked: ${percentChange(r.plan.mde)}).` +
    measuredNoise(r)
  );
}

/**
 * The plan's power assumes `--noise-sd`; the trials say what it was. The p50 row with the most
 * spread decides what this gate could have seen (gate.json keeps every row's noiseSd).
 */
function measuredNoise(r: GateReport): string {
  const rows = r.decision.rows.filter((x) => x.percentile === 'p50' && Number.isFinite(x.noiseSd));
  if (rows.length === 0) return '';
  const worst = rows.reduce((a, b) => (b.noiseSd > a.noiseSd ? b : a));
  const n = Math.min(worst.n.base, worst.n.new);
  const detectable = detectableWith(n, { threshold: worst.threshold, noiseSd: worst.noiseSd, level: r.options.level });
  return ` Measured in these trials: noise sd ${worst.noiseSd.toFixed(2)} of ln ratio (${worst.stage} p50; the plan assumed ${r.plan.noiseSd}), so ~${percentChange(detectable)} was detectable.`;
}

export function formatGateText(r: GateReport): string {
  const lines = [headline(r)];
  for (const reason of r.decision.invalidReasons) lines.push(`  invalid: ${reason}`);
  const all = [HEADER, ...r.decision.rows.map((x) => cells(r, x))];
  const widths = HEADER.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  for (const row of all)
    lines.push(
      `  ${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}`,
    );
  lines.push(`  ${method(r)}`);
  return `${lines.join('\n')}\n`;
}

export function formatGateMarkdown(r: GateReport): string {
  const icon = { pass: '✅', regression: '❌', invalid: '⚠️' }[r.decision.verdict];
  const lines = [`### ${icon} ${headline(r)}`, ''];
  for (const reason of r.decision.invalidReasons) lines.push(`- ${reason}`);
  if (lines.length > 2) lines.push('');
  lines.push(`| ${HEADER.join(' | ')} |`, `|---|---|---:|---:|---:|---:|---|`);
  for (const x of r.decision.rows)
    lines.push(
      `| ${cells(r, x)
        .map((c) => (c === 'REGRESSION' ? '**REGRESSION**' : c))
        .join(' | ')} |`,
    );
  lines.push('', method(r), '');
  lines.push('<details><summary>Trials</summary>', '', '| # | side | run | valid | e2e p50 ÷ ref | wall |', '|---:|---|---|---|---:|---:|');
  for (const t of r.trials)
    lines.push(
      `| ${t.index} | ${t.side} | ${t.runId} | ${t.valid ? 'yes' : `no: ${t.invalidReasons.join('; ')}`} | ${t.values.e2eCorrected?.p50.ratio.toFixed(3) ?? '—'} | ${Math.round(t.wallMs / 1000)} s |`,
    );
  lines.push('', '</details>', '');
  return lines.join('\n');
}

export function formatGateJunit(r: GateReport): string {
  const cases: string[] = [];
  const invalid = r.decision.invalidReasons;
  cases.push(
    `    <testcase classname="relaybench.gate.${xml(r.scenario)}" name="trial validity" time="0">${invalid.length === 0 ? '' : `<failure message="invalid gate" type="invalid">${xml(invalid.join('\n'))}</failure>`}</testcase>`,
  );
  for (const x of r.decision.rows) {
    const name = `${x.stage} ${x.percentile} ÷ reference`;
    const body =
      x.verdict === 'regression'
        ? `<failure message="${xml(`${effectText(x.effect, r.options.level)} is above the limit ${percentChange(x.threshold)}`)}" type="regression"/>`
        : '';
    cases.push(`    <testcase classname="relaybench.gate.${xml(r.scenario)}" name="${xml(name)}" time="0">${body}</testcase>`);
  }
  return junitDocument({
    suites: 'relaybench-gate',
    suite: `gate ${r.scenario}`,
    seconds: (r.wallMs / 1000).toFixed(3),
    timestamp: r.createdAt,
    cases,
  });
}
