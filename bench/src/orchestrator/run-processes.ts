// Which processes a segment's resource accounting reads: everything of the run this host can see.
import type { KafkaCluster, LocalKafkaCluster } from '../../../testbed/kafka/cluster.js';
import type { Worker } from '../../../loadgen/src/worker/contract.js';
import type { ProcessRef } from '../resources/accounting.js';
import type { SegmentSpec } from './segments.js';

/** What the accounting needs of a relay: its process, when it is a local one. */
export interface RelayProcess {
  readonly index?: number;
  readonly proc?: { readonly pid: number };
}

/** The run's processes by role, for the resource accounting (processes this host can see). */
export function runProcesses(
  kafka: KafkaCluster,
  fleet: { readonly relays: readonly RelayProcess[] },
  workers: readonly Worker[],
  mode: SegmentSpec['mode'],
  prometheusPid: number | undefined,
): ProcessRef[] {
  const out: ProcessRef[] = [{ role: 'orchestrator', name: 'orchestrator', pid: process.pid }];
  if (prometheusPid !== undefined) out.push({ role: 'prometheus', name: 'prometheus', pid: prometheusPid });
  if (kafka.provider === 'local')
    for (const node of (kafka as LocalKafkaCluster).nodes) {
      const pid = node.pid();
      if (pid !== undefined) out.push({ role: 'kafka', name: `kafka-${node.nodeId}`, pid });
    }
  // A kafka-direct segment: the relays idle beside it, and are still counted (they are running).
  for (const [i, r] of fleet.relays.entries())
    if (r.proc !== undefined)
      out.push({ role: 'relay', name: `relay-${r.index ?? i}${mode === 'relay' ? '' : ' (idle)'}`, pid: r.proc.pid });
  for (const w of workers) {
    const pid = (w as { readonly pid?: number }).pid;
    if (pid !== undefined) out.push({ role: 'worker', name: w.id, pid });
  }
  return out;
}
