// summary.md: the CI comment. Short: the verdict, the objectives, the key percentiles, the ledger.
import { latencyText, offset, spikeText, systemText, usersText } from '../faults/format.js';
import { formatUs, formatValue } from '../gate/evaluate.js';
import { countersLine, mb, switchesText, type ResourceUsage } from '../resources/accounting.js';
import { priorityText } from '../orchestrator/generator-priority.js';
import type { RunOutput } from './output.js';

const KEY_STAGES = ['e2eCorrected', 'e2eUncorrected', 'ack', 'deliveredReceipt', 'readReceipt', 'storeForward'] as const;

export const markdownOutput: RunOutput = {
  name: 'markdown',
  file: 'summary.md',
  render({ summary: s }) {
    const icon = { pass: '✅', fail: '❌', invalid: '⚠️', interrupted: '⏹️' }[s.status];
    const lines: string[] = [];
    lines.push(`### ${icon} relaybench \`${s.scenario.name}\` — ${s.status.toUpperCase()} (exit ${s.exitCode})`);
    lines.push('');
    lines.push(
      `Run \`${s.runId}\` · ${s.machine.cores} cores · Node ${s.versions.node} · Kafka ${s.versions.kafka ?? 'unknown'} (${s.kafka.provider}, ${s.kafka.brokers} broker${s.kafka.brokers > 1 ? 's' : ''}, client ${s.kafka.client ?? 'kafkajs'}) · rate ${s.rate.achievedPerSec}/${s.rate.targetPerSec} msg/s`,
    );
    if (s.generatorPriority != null) lines.push(`Workers scheduled: ${priorityText(s.generatorPriority)}`);
    if (s.invalidReasons.length > 0) {
      lines.push('');
      lines.push('**Invalid run:**');
      for (const r of s.invalidReasons) lines.push(`- ${r}`);
    }
    if (s.ramp !== null) {
      lines.push('');
      lines.push(
        `**Highest rate that held:** ${s.ramp.highestRateHeldPerSec === null ? 'none' : `${s.ramp.highestRateHeldPerSec} msg/s`} (steps: ${s.ramp.steps.map((x) => `${x.ratePerSec}${x.held ? '✓' : '✗'}`).join(' ')})`,
      );
    }
    lines.push('');
    lines.push('| objective | segment | actual | result |');
    lines.push('|---|---|---|---|');
    for (const v of s.objectives)
      lines.push(`| \`${v.objective}\` | ${v.segment} | ${formatValue(v.kind, v.actual)} | ${v.pass ? '✅ pass' : '❌ fail'} |`);
    lines.push('');
    lines.push(`| stage (${s.primary}) | count | p50 | p90 | p99 | p99.9 | max |`);
    lines.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const stage of KEY_STAGES) {
      const p = s.stages[stage];
      if (p === undefined || p.count === 0) continue;
      lines.push(
        `| ${stage} | ${p.count} | ${formatUs(p.p50)} | ${formatUs(p.p90)} | ${formatUs(p.p99)} | ${formatUs(p.p999)} | ${formatUs(p.max)} |`,
      );
    }
    if (s.reference !== null) {
      const r = s.reference.ratios.e2eCorrected;
      if (r !== undefined) {
        lines.push('');
        lines.push(`Relay ÷ kafka-direct reference (e2eCorrected): p50 ×${r.p50} · p90 ×${r.p90} · p99 ×${r.p99}`);
      }
    }
    const recoveries = s.recoveries ?? [];
    if (recoveries.length > 0) {
      lines.push('');
      lines.push('| fault | at | system recovered | disrupted users | e2e p99 | spike p99 |');
      lines.push('|---|---:|---:|---|---|---|');
      for (const r of recoveries)
        lines.push(`| ${r.action} | ${offset(r.atS)} | ${systemText(r)} | ${usersText(r)} | ${latencyText(r)} | ${spikeText(r)} |`);
      lines.push('');
      lines.push(
        `Re-deliveries in the faulted segment: ${recoveries[0]!.redelivered} (deduplicated by msgId) · duplicated ${recoveries[0]!.duplicated}. Times from the fault; offsets from the measured window's start.`,
      );
    }
    for (const seg of s.segments) if (seg.resources !== undefined) lines.push('', ...resourceTable(seg.name, seg.resources));
    const l = s.ledger;
    lines.push('');
    lines.push(
      `Ledger: sent ${l.sent} · acked ${l.acked} · delivered ${l.delivered} · lost **${l.lost}** · duplicated ${l.duplicated} · reordered ${l.reordered} · decrypt failures ${l.decryptFailures} · unacked ${l.unacked}`,
    );
    lines.push('');
    return `${lines.join('\n')}\n`;
  },
};

/** CPU and memory per role over a segment's measured window. */
export function resourceTable(segment: string, r: ResourceUsage): string[] {
  const us = (x: number | null) => (x === null ? 'n/a' : Math.round(x).toLocaleString('en-US'));
  const lines = [
    `| resources (${segment}, ${Math.round(r.windowMs / 1000)} s, ${r.deliveredMessages} delivered) | processes | CPU (cores) | CPU µs/msg | context switches/msg | peak RSS |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.roles)
    lines.push(
      `| ${x.role} | ${x.processes} | ${x.cores.toFixed(3)} | ${us(x.cpuUsPerMessage)} | ${switchesText(x.switchesPerMessage)} | ${mb(x.peakRssBytes)} |`,
    );
  lines.push(
    `| **total** | ${r.processes.length} | **${r.total.cores.toFixed(3)}** | **${us(r.total.cpuUsPerMessage)}** | **${switchesText(r.total.switchesPerMessage)}** | |`,
  );
  if (r.machineCores !== null) lines.push(`| whole machine (/proc/stat) | | ${r.machineCores.toFixed(3)} | | | |`);
  const counters = countersLine(r);
  if (counters !== undefined && r.roles.some((x) => x.role === 'relay' && x.cpuSeconds > 0)) lines.push('', `Relays, ${counters}.`);
  return lines;
}
