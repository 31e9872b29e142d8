// The few lines `relaybench run` prints on stdout at the end.
import { recoveryLine } from '../faults/format.js';
import { formatUs, formatValue } from '../gate/evaluate.js';
import { countersLine, resourceLine } from '../resources/accounting.js';
import { priorityText } from './generator-priority.js';
import type { RunSummary } from '../results/summary.js';

export function printableSummary(s: RunSummary, dir: string): string {
  const out: string[] = [];
  out.push('');
  out.push(`${s.status.toUpperCase()} — ${s.scenario.name} (${s.runId}), exit ${s.exitCode}`);
  for (const r of s.invalidReasons) out.push(`  invalid: ${r}`);
  const p = s.generatorPriority;
  if (p != null && p.applied !== p.requested) out.push(`  workers scheduled: ${priorityText(p)}`);
  if (s.kafka.client !== undefined) out.push(`  kafka client: ${s.kafka.client}`);
  if (s.ramp !== null) out.push(`  highest rate that held: ${s.ramp.highestRateHeldPerSec ?? 'none'} msg/s`);
  for (const v of s.objectives)
    out.push(`  ${v.pass ? 'pass' : 'FAIL'}  ${v.objective.padEnd(32)} ${formatValue(v.kind, v.actual).padStart(10)}  [${v.segment}]`);
  const e = s.stages.e2eCorrected;
  out.push(
    `  e2e corrected: p50 ${formatUs(e.p50)} · p90 ${formatUs(e.p90)} · p99 ${formatUs(e.p99)} · p99.9 ${formatUs(e.p999)} · max ${formatUs(e.max)} (${e.count} messages)`,
  );
  const l = s.ledger;
  out.push(
    `  ledger: sent ${l.sent} acked ${l.acked} delivered ${l.delivered} lost ${l.lost} duplicated ${l.duplicated} reordered ${l.reordered} decrypt failures ${l.decryptFailures}`,
  );
  const recoveries = s.recoveries ?? [];
  if (recoveries.length > 0) {
    out.push(`  faults (re-deliveries in the segment: ${recoveries[0]!.redelivered}, duplicated ${recoveries[0]!.duplicated}):`);
    for (const r of recoveries) out.push(`    ${recoveryLine(r)}`);
  }
  if (s.reference?.ratios.e2eCorrected !== undefined)
    out.push(`  relay ÷ kafka-direct (e2e): p50 ×${s.reference.ratios.e2eCorrected.p50} · p99 ×${s.reference.ratios.e2eCorrected.p99}`);
  for (const seg of s.segments) {
    if (seg.resources === undefined) continue;
    out.push(`  cpu [${seg.name}]: ${resourceLine(seg.resources)}`);
    const counters = countersLine(seg.resources);
    if (counters !== undefined && seg.mode === 'relay') out.push(`  relays [${seg.name}]: ${counters}`);
  }
  out.push(`  results: ${dir}/ (report.html, summary.json, summary.md, junit.xml, *.hlog)`);
  out.push('');
  return out.join('\n');
}
