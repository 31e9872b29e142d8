/**
 * Who a sender writes to (the plan's recipient choice), over user indices 0..users−1 of one
 * worker — recipients are always this worker's own users (measurement closure).
 *   uniform / zipf: one recipient per arrival (rate/distributions.ts; zipf rank 0 is hottest)
 *   pairs:  fixed partner i ↔ i^1 (with an odd count the last user pairs with its left neighbour)
 *   groups: consecutive blocks of groupSize (a trailing block of one joins the previous block);
 *           a group send is one send to every other member (fan-out = group size − 1)
 * Synchronous, deterministic for a given PRNG.
 */
import { createRecipientPicker, type RecipientPicker } from '../rate/distributions.js';
import type { Prng } from '../rate/prng.js';
import type { RecipientChoice } from './contract.js';

export interface Audience {
  /** Recipients of one arrival from `sender` (never includes the sender). */
  recipients(sender: number): readonly number[];
  /** Sends per arrival (the aggregate rate counts every recipient). */
  readonly fanout: number;
  /** Fixed contacts of `user` (pairs, groups), to prefetch keys; null when anyone may write. */
  contacts(user: number): readonly number[] | null;
}

export function createAudience(choice: RecipientChoice, users: number, prng: Prng): Audience {
  switch (choice.kind) {
    case 'uniform':
    case 'zipf': {
      const picker: RecipientPicker = createRecipientPicker(
        choice.kind === 'uniform' ? { kind: 'uniform', users } : { kind: 'zipf', users, s: choice.s },
        prng,
      );
      return { fanout: 1, recipients: (s) => [picker.pick(s)], contacts: () => null };
    }
    case 'pairs': {
      const partner = (i: number) => (i % 2 === 0 ? (i + 1 < users ? i + 1 : i - 1) : i - 1);
      const lists = Array.from({ length: users }, (_, i) => [partner(i)]);
      // With an odd count, the last user's partner also gets it as a contact.
      if (users % 2 === 1) lists[users - 2]!.push(users - 1);
      return { fanout: 1, recipients: (s) => [partner(s)], contacts: (i) => lists[i]! };
    }
    case 'groups': {
      const size = choice.groupSize;
      const groups: number[][] = [];
      for (let start = 0; start < users; start += size)
        groups.push(Array.from({ length: Math.min(size, users - start) }, (_, k) => start + k));
      if (groups.length > 1 && groups.at(-1)!.length === 1) groups.at(-2)!.push(...groups.pop()!);
      const others = Array.from({ length: users }, () => [] as number[]);
      for (const g of groups) for (const m of g) others[m] = g.filter((x) => x !== m);
      return { fanout: size - 1, recipients: (s) => others[s]!, contacts: (i) => others[i]! };
    }
  }
}
