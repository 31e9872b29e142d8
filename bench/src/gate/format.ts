// Renders a CompareReport as text (terminal), Markdown (CI comment) or JSON.
import { STALE_BASELINE_DAYS, type CompareReport, type CompareRow } from './compare.js';
import { formatUs } from './evaluate.js';

export type CompareFormat = 'text' | 'md' | 'json';

const VERDICT_MARK = {
  pass: 'ok',
  regression: 'REGRESSION',
  improvement: 'improved',
  'no-data': 'no data',
  changed: 'above limit (not tested)',
  'not-comparable': 'other machine: not compared',
} as const;

function value(row: CompareRow, v: number): string {
  if (!Number.isFinite(v)) return '—';
  return row.normalized ? `×${v.toFixed(3)} ref` : formatUs(v);
}

function change(row: CompareRow): string {
  if (!Number.isFinite(row.change)) return '—';
  const pct = (row.change - 1) * 100;
  const text = `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
  if (!Number.isFinite(row.low)) return text;
  const b = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(0)}`;
  return `${text} (CI ${b(row.low)} … ${b(row.high)}%)`;
}

function pValue(p: number): string {
  if (!Number.isFinite(p)) return '—';
  return p < 0.0001 ? '<0.0001' : p.toFixed(4);
}

function headline(r: CompareReport): string {
  const what = {
    pass: 'PASS — no regression beyond the thresholds',
    regression: 'REGRESSION',
    invalid: 'INVALID — a run is not valid',
    descriptive: 'DESCRIPTIVE — cannot call a regression',
  }[r.verdict];
  const why = r.cannotDecide === null ? '' : `: ${r.cannotDecide}`;
  const machines = r.sameMachine ? '' : '; BASE and NEW come from different machines: absolute times are not compared';
  const s = r.workersScheduled;
  const schedulers =
    s === null ? '' : `; BASE's workers ran ${s.base}, NEW's ${s.new} (run --generator-priority): the changes include the scheduler's`;
  const c = r.kafkaClient;
  const clients = c === null ? '' : `; BASE's relays used ${c.base}, NEW's ${c.new} (run --kafka-client)`;
  return `compare ${r.scenario}: ${what}${why} (${r.method}: ${r.base.trials} base trial(s) vs ${r.new.trials} new; thresholds p50 ×${r.options.thresholdP50}, p99 ×${r.options.thresholdP99}; alpha ${r.options.alpha}${machines}${schedulers}${clients}${baselineText(r)})`;
}

/** When BASE is a baseline file: when its runs were made, and a nudge once it is a week older than NEW's. */
function baselineText(r: CompareReport): string {
  const b = r.baseline;
  if (b === null || b.madeAt === '') return '';
  const made = `${b.madeAt.slice(0, 16).replace('T', ' ')} UTC`;
  const stale = b.stale
    ? `: a baseline ${STALE_BASELINE_DAYS}+ days older than what it is compared with may predate changes to what it measures; make it again from fresh runs (\`relaybench baseline update\`) when the code has changed`
    : '';
  return `; BASE is the baseline ${b.path}, its newest run ${made}${gapText(b.daysBeforeNew)}${stale}`;
}

/** How long before NEW's newest run the baseline's was made: hours under a day, else days. */
function gapText(days: number): string {
  if (!Number.isFinite(days)) return '';
  if (days < 0) return ', after NEW';
  return days < 1 ? `, ${(days * 24).toFixed(1)} h before NEW` : `, ${days.toFixed(1)} days before NEW`;
}

export function formatCompare(r: CompareReport, format: CompareFormat): string {
  if (format === 'json') return `${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`;
  const header = ['stage', 'pct', 'base', 'new', 'change', 'limit', 'p-value', 'n', 'verdict'];
  const rows = r.rows.map((x) => [
    x.stage,
    x.percentile,
    value(x, x.base),
    value(x, x.new),
    change(x),
    `+${((x.threshold - 1) * 100).toFixed(0)}%`,
    pValue(x.pValue),
    `${x.samples.base}/${x.samples.new}`,
    x.gated ? VERDICT_MARK[x.verdict] : `${VERDICT_MARK[x.verdict]} (not gated)`,
  ]);
  const lines: string[] = [];
  if (format === 'md') {
    const icon = { pass: '✅', regression: '❌', invalid: '⚠️', descriptive: 'ℹ️' }[r.verdict];
    lines.push(`### ${icon} ${headline(r)}`, '');
    for (const reason of r.invalidReasons) lines.push(`- ${reason}`);
    if (r.invalidReasons.length > 0) lines.push('');
    lines.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i >= 2 && i <= 7 ? '---:' : '---')).join('|')}|`);
    for (const row of rows) lines.push(`| ${row.map((c, i) => (i === 8 && c === 'REGRESSION' ? '**REGRESSION**' : c)).join(' | ')} |`);
    lines.push(
      '',
      'With enough trials per side: regression = the whole Hodges–Lehmann interval of NEW ÷ BASE above the limit (p-value: one-sided Mann–Whitney, for information). One run per side is descriptive only; `relaybench gate` decides. Values marked "ref" are ratios to the in-run kafka-direct reference; with it, stages it lacks (relay hops) are shown but not gated.',
    );
    return `${lines.join('\n')}\n`;
  }
  lines.push(headline(r));
  for (const reason of r.invalidReasons) lines.push(`  invalid: ${reason}`);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  for (const row of all)
    lines.push(
      row
        .map((c, i) => (i >= 2 && i <= 7 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    );
  return `${lines.join('\n')}\n`;
}
