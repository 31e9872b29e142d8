/**
 * report.html: one self-contained page (Chart.js and the data inlined; no network, no external
 * fonts). Built from summary.json plus the .hlog intervals, so `relaybench report <dir>` can
 * re-render it. Sections: verdict, objectives, percentile distribution (log axis, corrected and
 * uncorrected), throughput and latency over time (with the fault timeline of a fault scenario),
 * faults and recoveries, per-hop breakdown, segments, ledger, percentiles table, environment.
 */
import { mergeEncoded } from '../../../loadgen/src/stats/period.js';
import type { HlogInterval } from '../../../loadgen/src/stats/hlog.js';
import { HOP_STAGES, type HopStage, type Stage } from '../../../loadgen/src/stats/stages.js';
import { latencyText, offset, seconds, spikeText, systemText, usersText } from '../faults/format.js';
import { formatUs, formatValue } from '../gate/evaluate.js';
import { priorityText } from '../orchestrator/generator-priority.js';
import type { ReportInput, RunOutput } from '../outputs/output.js';
import type { RunSummary } from '../results/summary.js';
import { chartJsSource } from './chart-lib.js';
import { CLIENT_SCRIPT } from './client-script.js';
import { percentileDistribution } from './distribution.js';
import { resourcesBlock } from './resources-block.js';

// A Record, so a hop stage added to loadgen's STAGES without a label here does not compile.
const HOP_LABELS: Record<HopStage, string> = {
  hopClientToGateway: 'client → gateway',
  hopGatewayToProduce: 'gateway → produce acked',
  hopProduceToRouter: 'produce → router consume',
  hopRouterToGateway: 'router → recipient gateway',
  hopGatewayToClient: 'gateway → client',
};
const HOPS = HOP_STAGES.map((stage) => ({ stage, label: HOP_LABELS[stage] }));

const DIST_STAGES: readonly { stage: Stage; label: string; color: string; dashed?: boolean }[] = [
  { stage: 'e2eCorrected', label: 'end-to-end (corrected)', color: '#2563eb' },
  { stage: 'e2eUncorrected', label: 'end-to-end (uncorrected)', color: '#60a5fa', dashed: true },
  { stage: 'ack', label: 'ack ✓', color: '#16a34a' },
  { stage: 'deliveredReceipt', label: 'delivered receipt ✓✓', color: '#9333ea' },
  { stage: 'readReceipt', label: 'read receipt', color: '#ea580c' },
  { stage: 'storeForward', label: 'store and forward', color: '#4b5563' },
];

export const htmlOutput: RunOutput = {
  name: 'html',
  file: 'report.html',
  render: renderHtml,
};

export function reportData(input: ReportInput): unknown {
  const s = input.summary;
  const distribution = DIST_STAGES.filter((d) => s.stages[d.stage]?.count > 0).map((d) => ({
    label: d.label,
    color: d.color,
    dashed: d.dashed === true,
    points: percentileDistribution(mergeEncoded([s.histograms[d.stage]])),
  }));
  const ref = s.segments.find((x) => x.mode === 'kafka-direct');
  if (ref !== undefined && ref.stages.e2eCorrected.count > 0)
    distribution.push({
      label: 'kafka-direct reference (corrected)',
      color: '#6b7280',
      dashed: true,
      points: percentileDistribution(mergeEncoded([ref.histograms.e2eCorrected])),
    });
  return {
    targetRate: s.rate.targetPerSec,
    distribution,
    series: s.series,
    overTime: overTime(s, input.hlogs),
    hops: HOPS.filter((h) => s.stages[h.stage]?.count > 0).map((h) => ({
      label: h.label,
      p50: s.stages[h.stage].p50,
      p99: s.stages[h.stage].p99,
    })),
    segments: s.segments.map((x) => ({ name: x.name, p99: x.stages.e2eCorrected.p99, achieved: x.achievedRatePerSec, held: x.held })),
    faults: faultTimeline(s),
  };
}

/** The primary segment's faults and recoveries as chart marks: seconds into the measured window. */
function faultTimeline(s: RunSummary): { t: number; kind: 'fault' | 'recovery'; label: string }[] {
  const primary = s.segments.find((x) => x.name === s.primary);
  if (primary === undefined) return [];
  return (primary.faults ?? []).map((e) => ({
    t: Math.round((e.atMs - primary.measureStartMs) / 100) / 10,
    kind: e.kind,
    label: e.kind === 'fault' ? e.action : e.action === 'latency' ? 'latency removed' : `${e.action} recovered`,
  }));
}

/** e2e p50/p99 and ack p99 per interval of the primary segment: from the .hlog when present, else from summary.series. */
function overTime(s: RunSummary, hlogs: ReportInput['hlogs']) {
  const primary = s.segments.find((x) => x.name === s.primary);
  const t0 = primary?.measureStartMs ?? 0;
  const fromHlog = (stage: Stage, percentile: number): { t: number; us: number }[] | undefined => {
    const list = hlogs[stage]?.filter((iv: HlogInterval) => iv.tag === undefined || iv.tag === tagOf(s.primary));
    if (list === undefined || list.length === 0) return undefined;
    return list
      .filter((iv) => iv.histogram.totalCount > 0)
      .map((iv) => ({ t: Math.round((iv.endMs - t0) / 100) / 10, us: iv.histogram.getValueAtPercentile(percentile) }));
  };
  const nonEmpty = s.series.filter((p) => p.p99Us > 0);
  const sets = [
    { label: 'e2e p50', color: '#2563eb', points: fromHlog('e2eCorrected', 50) ?? nonEmpty.map((p) => ({ t: p.t, us: p.p50Us })) },
    { label: 'e2e p99', color: '#dc2626', points: fromHlog('e2eCorrected', 99) ?? nonEmpty.map((p) => ({ t: p.t, us: p.p99Us })) },
  ];
  const ackP99 = fromHlog('ack', 99);
  if (ackP99 !== undefined) sets.push({ label: 'ack p99', color: '#16a34a', points: ackP99, dashed: true } as (typeof sets)[number]);
  return sets;
}

/** hlog tag of a segment name (no commas or spaces). */
export function tagOf(segment: string): string {
  return segment.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function renderHtml(input: ReportInput): string {
  const s = input.summary;
  const { source, version } = chartJsSource();
  const data = JSON.stringify(reportData(input)).replace(/</g, '\\u003c');
  const hasHops = HOPS.some((h) => s.stages[h.stage]?.count > 0);
  const of = s.segments.length > 1 ? ` <span class="muted">(segment ${esc(s.primary)})</span>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>relaybench ${esc(s.scenario.name)} — ${esc(s.runId)}</title>
<style>
${pageStyle(s.status)}</style></head>
<body>
<header><h1>relaybench · ${esc(s.scenario.name)}</h1>
<div class="sub"><span class="status">${s.status.toUpperCase()}</span> run <code>${esc(s.runId)}</code> · ${esc(s.createdAt)} · ${esc(s.scenario.description)}</div></header>
<main>
${s.invalidReasons.length === 0 ? '' : `<section class="banner"><h2>Invalid run</h2><ul>${s.invalidReasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul></section>`}
${objectivesBlock(s)}
<section><h2>Latency distribution by percentile${of}</h2>
<div class="chart"><canvas id="chart-distribution"></canvas></div>
<p class="muted">Merged HdrHistograms of every worker (decoded and added, never averaged). Corrected = from the intended send time (coordinated omission removed); uncorrected = from the actual send.</p></section>
<div class="grid">
<section><h2>Throughput over time${of}</h2><div class="chart"><canvas id="chart-throughput"></canvas></div></section>
<section><h2>Latency over time${of}</h2><div class="chart"><canvas id="chart-latency-time"></canvas></div>${(s.faults ?? []).length > 0 ? '<p class="muted">Vertical lines: faults (red, dashed) and recoveries (green, dotted).</p>' : ''}</section>
</div>
${faultsBlock(s)}
${
  hasHops
    ? `<section><h2>Per-hop breakdown${of}</h2><div class="chart short"><canvas id="chart-hops"></canvas></div>
<p class="muted">From the relay's stamps (wall-clock µs). Every process ran on this one host, so every hop was measured on one clock.</p></section>`
    : ''
}
${s.reference === null ? '' : referenceBlock(s)}
${segmentsBlock(s)}
${resourcesBlock(s, esc)}
<div class="grid">
${ledgerBlock(s)}
${environmentBlock(s)}
</div>
${stagesBlock(s)}
<p class="muted">Generated by relaybench ${esc(s.versions.relaybench)} with Chart.js ${esc(version)} inlined (MIT). Interval logs: <code>&lt;stage&gt;.hlog</code> beside this file (HdrHistogram log format 1.3).</p>
</main>
<script type="application/json" id="report-data">${data}</script>
<script>${source.replace(/<\/script/gi, '<\\/script')}</script>
<script>${CLIENT_SCRIPT}</script>
</body></html>
`;
}

const STATUS_COLORS: Record<RunSummary['status'], string> = {
  pass: '#15803d',
  fail: '#b91c1c',
  invalid: '#b45309',
  interrupted: '#4b5563',
};

/** The page's CSS; the status badge takes the verdict's colour. */
function pageStyle(status: RunSummary['status']): string {
  return `  :root { color-scheme: light; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #111827; background: #f9fafb; }
  header { background: #111827; color: #f9fafb; padding: 18px 28px; }
  header h1 { margin: 0 0 4px; font-size: 20px; }
  header .sub { color: #d1d5db; font-size: 13px; }
  main { padding: 12px 28px 40px; max-width: 1280px; }
  section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 14px 18px; margin: 14px 0; }
  h2 { font-size: 16px; margin: 0 0 10px; }
  .status { display: inline-block; padding: 3px 10px; border-radius: 999px; color: #fff; font-weight: 600; background: ${STATUS_COLORS[status]}; margin-right: 8px; }
  .grid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
  @media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
  .grid section { margin: 0; }
  .chart { position: relative; height: 320px; }
  .chart.short { height: 240px; margin-bottom: 10px; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #f3f4f6; vertical-align: top; }
  th { color: #4b5563; font-weight: 600; border-bottom: 1px solid #e5e7eb; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .pass { color: #15803d; font-weight: 600; } .fail { color: #b91c1c; font-weight: 600; } .warn { color: #b45309; font-weight: 600; }
  .banner { border-left: 4px solid #b45309; background: #fffbeb; }
  .muted { color: #6b7280; font-size: 12px; }
  code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
`;
}

function objectivesBlock(s: RunSummary): string {
  return `<section><h2>Objectives</h2>
<table><thead><tr><th>objective</th><th>segment</th><th class="n">actual</th><th>verdict</th></tr></thead><tbody>
${s.objectives.map((v) => `<tr><td><code>${esc(v.objective)}</code></td><td>${esc(v.segment)}</td><td class="n">${esc(formatValue(v.kind, v.actual))}</td><td>${v.pass ? '<span class="pass">pass</span>' : `<span class="fail">fail</span>${v.note === undefined ? '' : ` <span class="muted">${esc(v.note)}</span>`}`}</td></tr>`).join('\n')}
</tbody></table>
<p class="muted">Rate: achieved ${s.rate.achievedPerSec} of ${s.rate.targetPerSec} msg/s target (segment ${esc(s.primary)}). Exit code ${s.exitCode}.</p></section>`;
}

/** One row per segment (a ramp's steps, the reference), only when there is more than one. */
function segmentsBlock(s: RunSummary): string {
  if (s.segments.length <= 1) return '';
  return `<section><h2>Segments</h2>${s.ramp === null ? '' : `<p>Highest rate that held: <b>${s.ramp.highestRateHeldPerSec === null ? 'none' : `${s.ramp.highestRateHeldPerSec} msg/s`}</b></p>`}
<div class="chart short"><canvas id="chart-segments"></canvas></div>
<table><thead><tr><th>segment</th><th>mode</th><th>relays</th><th class="n">target/s</th><th class="n">achieved/s</th><th class="n">e2e p50</th><th class="n">e2e p99</th><th class="n">lost</th><th>objectives</th></tr></thead><tbody>
${s.segments
  .map(
    (x) =>
      `<tr><td>${esc(x.name)}</td><td>${x.mode}</td><td>${x.relays}</td><td class="n">${x.targetRatePerSec}</td><td class="n">${x.achievedRatePerSec}</td><td class="n">${formatUs(x.stages.e2eCorrected.p50)}</td><td class="n">${formatUs(x.stages.e2eCorrected.p99)}</td><td class="n">${x.ledger.lost}</td><td>${x.objectives.length === 0 ? '—' : x.held ? '<span class="pass">held</span>' : '<span class="fail">broken</span>'}${x.generatorBound ? ' <span class="warn">generator-bound</span>' : ''}</td></tr>`,
  )
  .join('\n')}
</tbody></table></section>`;
}

/** The counts that must be 0, in red when they are not. */
const MUST_BE_ZERO = new Set(['lost', 'duplicated', 'reordered', 'decrypt failures', 'misdelivered']);

function ledgerBlock(s: RunSummary): string {
  const l = s.ledger;
  const ledgerRows: [string, number, string][] = [
    ['sent', l.sent, 'distinct messages sent (intended sends that went out)'],
    ['acked ✓', l.acked, 'acknowledged by the relay after the durable Kafka write'],
    ['delivered', l.delivered, 'decrypted by the recipient at least once'],
    ['delivered receipts ✓✓', l.deliveredReceipts, 'back at the sender'],
    ['read receipts', l.readReceipts, 'back at the sender'],
    ['lost', l.lost, 'acked but never delivered (must be 0)'],
    ['unacked', l.unacked, 'sent but never acked'],
    ['duplicated', l.duplicated, 'user-visible duplicates after msgId dedupe'],
    ['redelivered', l.redelivered, 'transport re-deliveries (deduplicated by msgId)'],
    ['reordered', l.reordered, 'delivered out of per-conversation order'],
    ['misdelivered', l.misdelivered, 'delivered to the wrong user'],
    ['decrypt failures', l.decryptFailures, 'AEAD tag did not verify'],
  ];
  const errors = Object.entries(l.errorsByCode ?? {});
  return `<section><h2>Ledger</h2><table><tbody>
${ledgerRows.map(([k, v, d]) => `<tr><td>${k}</td><td class="n ${MUST_BE_ZERO.has(k) && v > 0 ? 'fail' : ''}">${v}</td><td class="muted">${d}</td></tr>`).join('\n')}
${errors.length === 0 ? '' : `<tr><td>errors</td><td class="n">${errors.reduce((a, [, n]) => a + n, 0)}</td><td class="muted">${errors.map(([c, n]) => `${esc(c)}: ${n}`).join(', ')}</td></tr>`}
</tbody></table></section>`;
}

function environmentBlock(s: RunSummary): string {
  return `<section><h2>Environment</h2><table><tbody>
<tr><td>machine</td><td>${s.machine.cores} cores · ${esc(s.machine.cpuModel)} · ${(s.machine.memoryBytes / 2 ** 30).toFixed(1)} GiB · ${esc(s.machine.os)} ${esc(s.machine.arch)}</td></tr>
<tr><td>versions</td><td>relaybench ${esc(s.versions.relaybench)} · Node ${esc(s.versions.node)} · Kafka ${esc(s.versions.kafka ?? 'unknown')} · Prometheus ${esc(s.versions.prometheus ?? '—')}</td></tr>
<tr><td>Kafka</td><td>${esc(s.kafka.provider)} · ${s.kafka.brokers} broker(s) · ${s.kafka.partitions} partitions · client ${esc(s.kafka.client ?? 'kafkajs')}</td></tr>
<tr><td>Prometheus</td><td>${esc(s.prometheus.status)}${s.prometheus.url === null ? '' : ` · ${esc(s.prometheus.url)}`}</td></tr>
<tr><td>generator</td><td>${s.generatorBound ? '<span class="fail">generator-bound</span>' : 'kept up'} · ${s.segments.map((x) => `${esc(x.name)}: ${x.workers} worker(s), schedule lag max ${formatUs(x.maxScheduleLagUs)}`).join('; ')}${s.generatorPriority == null ? '' : ` · scheduled ${esc(priorityText(s.generatorPriority))}`}</td></tr>
${s.notes.map((n) => `<tr><td>note</td><td>${esc(n)}</td></tr>`).join('\n')}
</tbody></table></section>`;
}

function stagesBlock(s: RunSummary): string {
  const stageRows = Object.entries(s.stages)
    .filter(([, p]) => p.count > 0)
    .map(
      ([stage, p]) =>
        `<tr><td>${esc(stage)}</td><td class="n">${p.count}</td><td class="n">${formatUs(p.p50)}</td><td class="n">${formatUs(p.p90)}</td><td class="n">${formatUs(p.p99)}</td><td class="n">${formatUs(p.p999)}</td><td class="n">${formatUs(p.max)}</td></tr>`,
    )
    .join('\n');
  return `<section><h2>Percentiles per stage (${esc(s.primary)})</h2>
<table><thead><tr><th>stage</th><th class="n">count</th><th class="n">p50</th><th class="n">p90</th><th class="n">p99</th><th class="n">p99.9</th><th class="n">max</th></tr></thead><tbody>
${stageRows}
</tbody></table></section>`;
}

function faultsBlock(s: RunSummary): string {
  const events = s.faults ?? [];
  const recoveries = s.recoveries ?? [];
  if (events.length === 0 && recoveries.length === 0) return '';
  const t0 = new Map(s.segments.map((x) => [x.name, x.measureStartMs]));
  const rows = events
    .map(
      (e) =>
        `<tr><td class="n">${offset(Math.round((e.atMs - (t0.get(e.segment) ?? e.atMs)) / 100) / 10)}</td><td>${e.kind === 'fault' ? '<span class="fail">fault</span>' : '<span class="pass">recovery</span>'}</td><td><code>${esc(e.action)}</code></td><td>${esc(e.detail)}</td></tr>`,
    )
    .join('\n');
  const rec = recoveries
    .map(
      (r) =>
        `<tr><td><code>${esc(r.action)}</code></td><td class="n">${offset(r.atS)}</td><td class="n">${systemText(r)}</td><td>${esc(usersText(r))}</td><td>${esc(latencyText(r))}</td><td class="n">${r.baselineP99Us === null ? '—' : formatUs(r.baselineP99Us)}</td><td>${esc(spikeText(r))}</td></tr>`,
    )
    .join('\n');
  const first = recoveries[0];
  return `<section><h2>Faults</h2>
<table><thead><tr><th class="n">at</th><th>kind</th><th>action</th><th>detail</th></tr></thead><tbody>
${rows}
</tbody></table>
${
  recoveries.length === 0
    ? ''
    : `<h2 style="margin-top:14px">Recovery</h2>
<table><thead><tr><th>fault</th><th class="n">at</th><th class="n">system recovered</th><th>disrupted users</th><th>e2e p99 per interval</th><th class="n">p99 before</th><th>spike p99</th></tr></thead><tbody>
${rec}
</tbody></table>
<p class="muted">Offsets from the start of the measured window (negative: in the warm-up); recovery times from the fault. System: the relay group Stable with every partition owned by a running relay, or the broker's partitions led elsewhere / the broker back in sync. Users: every user whose connection dropped within ${seconds(5000)} of the fault delivered or got an ack again. p99: until the last interval whose e2e p99 is over max(2 × the pre-fault median, the p99 objective) — stalled mail counts when it finally arrives — or that delivered nothing while sending. Re-deliveries in the segment: ${first!.redelivered} (deduplicated by msgId); duplicated: ${first!.duplicated}.</p>`
}</section>`;
}

function referenceBlock(s: RunSummary): string {
  const r = s.reference!;
  const rows = Object.entries(r.ratios)
    .map(
      ([stage, x]) =>
        `<tr><td>${esc(stage)}</td><td class="n">${formatUs(s.stages[stage as Stage].p50)} / ${formatUs(r.stages[stage as Stage].p50)}</td><td class="n">×${x.p50}</td><td class="n">×${x.p90}</td><td class="n">×${x.p99}</td></tr>`,
    )
    .join('\n');
  return `<section><h2>Relay overhead over bare Kafka (kafka-direct reference)</h2>
<table><thead><tr><th>stage</th><th class="n">p50 relay / reference</th><th class="n">p50 ratio</th><th class="n">p90 ratio</th><th class="n">p99 ratio</th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">Ratios of the relay path to the same workload sent produce → consume without the relay, in the same run: they hold across machines better than absolute times.</p></section>`;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
