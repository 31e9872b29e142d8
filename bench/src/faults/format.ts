// Recovery figures as text, shared by the CLI summary, summary.md and report.html.
import { formatUs } from '../gate/evaluate.js';
import type { FaultRecovery } from './recovery.js';

export function seconds(ms: number | null): string {
  return ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`;
}

export function offset(atS: number): string {
  return `${atS >= 0 ? '+' : '−'}${Math.abs(atS).toFixed(1)} s`;
}

/** "37/37 back in 3.1 s", "2 of 37 never back", "none disrupted". */
export function usersText(r: FaultRecovery): string {
  if (r.disruptedUsers === 0) return 'none disrupted';
  if (r.unrecoveredUsers > 0) return `${r.unrecoveredUsers} of ${r.disruptedUsers} never back`;
  return `${r.disruptedUsers} back in ${seconds(r.usersRecoveryMs)}`;
}

export function latencyText(r: FaultRecovery): string {
  if (r.thresholdUs === null) return 'no baseline';
  return r.latencyRecoveryMs === null
    ? `p99 not back under ${formatUs(r.thresholdUs)}`
    : `p99 under ${formatUs(r.thresholdUs)} after ${seconds(r.latencyRecoveryMs)}`;
}

export function spikeText(r: FaultRecovery): string {
  if (r.spikeP99Us === null) return '—';
  return `${formatUs(r.spikeP99Us)}${r.spikeRatio === null || r.baselineP99Us === null ? '' : ` (×${r.spikeRatio} of ${formatUs(r.baselineP99Us)})`}`;
}

/** The orchestrator's view (group Stable, leaders moved, broker in sync); client faults have none. */
export function systemText(r: FaultRecovery): string {
  if (r.side === 'client') return '—';
  return r.serverRecoveryMs === null ? 'not recovered' : seconds(r.serverRecoveryMs);
}

/** One line per fault for the CLI summary. */
export function recoveryLine(r: FaultRecovery): string {
  const sys = systemText(r);
  const server = sys === '—' ? '' : ` · system ${sys}`;
  return `${offset(r.atS)} ${r.action}${server} · users ${usersText(r)} · ${latencyText(r)} · spike p99 ${spikeText(r)}`;
}
