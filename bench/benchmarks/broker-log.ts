/**
 * What a local broker's `server.log` says it did, second by second, for broker-events: the
 * log-cleaner passes over relay.mailbox and the segment rolls of relay.mailbox. Pure, so the
 * reading of Kafka 4's log lines is tested beside it.
 */

export type EventGroup = 'cleaner' | 'roll' | 'rest';

export interface BrokerEventSeconds {
  readonly cleaner: Set<number>;
  readonly roll: Set<number>;
}

const STAMP = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),\d+\]/;
const CLEANER = /Cleaner \d+: (Beginning cleaning of log|Swapping in cleaned segment .* in log) relay\.mailbox/;
const ROLL = /partition=relay\.mailbox-\d+.*Rolled new log segment/;

/** Adds the (epoch) seconds of `lines`' cleaner passes and rolls to `into`. */
export function readBrokerLog(
  lines: Iterable<string>,
  into: BrokerEventSeconds = { cleaner: new Set(), roll: new Set() },
): BrokerEventSeconds {
  for (const line of lines) {
    const stamp = STAMP.exec(line);
    if (stamp === null) continue;
    // log4j stamps the broker's local time without an offset; so does this parse.
    const second = Math.floor(new Date(`${stamp[1]}T${stamp[2]}`).getTime() / 1000);
    if (CLEANER.test(line)) into.cleaner.add(second);
    else if (ROLL.test(line)) into.roll.add(second);
  }
  return into;
}

/** A second belongs to an event in it or in the second before (its effect outlasts its line). */
export function eventGroup(second: number, events: BrokerEventSeconds): EventGroup {
  const near = (set: Set<number>): boolean => set.has(second) || set.has(second - 1);
  return near(events.cleaner) ? 'cleaner' : near(events.roll) ? 'roll' : 'rest';
}
