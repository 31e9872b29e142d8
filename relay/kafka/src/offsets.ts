import type { OutRecord } from './types.js';

/** One partition's part of a produce answer, as a client reports it. */
export interface PartitionAnswer {
  readonly topic: string;
  readonly partition: number;
  readonly baseOffset: string | bigint | number | undefined;
}

/**
 * Where each record of one produce request landed. Kafka answers a produce with one base offset
 * per partition; the records of a partition follow it, in the order they were sent. -1 where the
 * record named no partition (the client chose one) or the answer gave no offset.
 */
export function recordOffsets(records: readonly OutRecord[], answers: Iterable<PartitionAnswer>): number[] {
  const bases = new Map<string, number>();
  for (const a of answers) if (a.baseOffset !== undefined) bases.set(`${a.topic}:${a.partition}`, Number(a.baseOffset));
  const seen = new Map<string, number>();
  return records.map((r) => {
    if (r.partition === undefined) return -1;
    const at = `${r.topic}:${r.partition}`;
    const base = bases.get(at);
    const index = seen.get(at) ?? 0;
    seen.set(at, index + 1);
    return base === undefined || base < 0 ? -1 : base + index;
  });
}
