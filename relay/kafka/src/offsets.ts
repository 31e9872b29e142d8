import type { OutRecord } from './types.js';

/**
 * Where each record of one produce request landed. Kafka answers a produce with one base offset
 * per partition; the records of a partition follow it, in the order they were sent. -1 where the
 * record named no partition (the client chose one) or the answer gave no offset.
 */
export function recordOffsets(records: readonly OutRecord[], baseOf: (topic: string, partition: number) => number | undefined): number[] {
  const seen = new Map<string, number>();
  return records.map((r) => {
    if (r.partition === undefined) return -1;
    const base = baseOf(r.topic, r.partition);
    const at = `${r.topic}:${r.partition}`;
    const index = seen.get(at) ?? 0;
    seen.set(at, index + 1);
    return base === undefined || base < 0 ? -1 : base + index;
  });
}
