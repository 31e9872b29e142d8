import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { eventGroup, readBrokerLog } from './broker-log.js';

const at = (hms: string): number => Math.floor(new Date(`2026-12-07T${hms}`).getTime() / 1000);
const LOG = [
  '[2026-12-07 12:23:36,273] INFO [LocalLog partition=relay.mailbox-0, dir=/d/relay.mailbox-0] Rolled new log segment at offset 137382 in 4 ms. (org.apache.kafka.storage.internals.log.LocalLog)',
  '[2026-12-07 12:23:36,290] INFO [LocalLog partition=relay.deliver.g1-0, dir=/d/relay.deliver.g1-0] Rolled new log segment at offset 9 in 1 ms. (org.apache.kafka.storage.internals.log.LocalLog)',
  '[2026-12-07 12:23:40,982] INFO Cleaner 0: Beginning cleaning of log relay.mailbox-4 (org.apache.kafka.storage.internals.log.Cleaner)',
  '[2026-12-07 12:23:41,106] INFO Cleaner 0: Swapping in cleaned segment LogSegment(baseOffset=0, size=5511534) for segment(s) [LogSegment(baseOffset=0)] in log relay.mailbox-4 (org.apache.kafka.storage.internals.log.Cleaner)',
  '[2026-12-07 12:23:50,000] INFO Cleaner 0: Beginning cleaning of log __consumer_offsets-3 (org.apache.kafka.storage.internals.log.Cleaner)',
  '\t4.3 MB of log processed in 0.4 seconds (10.6 MB/sec).',
];

test('readBrokerLog: the seconds of relay.mailbox rolls and cleaner passes; other topics and unstamped lines are left out', () => {
  const events = readBrokerLog(LOG);
  assert.deepEqual([...events.roll], [at('12:23:36')]);
  assert.deepEqual([...events.cleaner], [at('12:23:40'), at('12:23:41')]);
});

test('eventGroup: an event counts for its second and the next; a cleaner pass before a roll', () => {
  const events = readBrokerLog(LOG);
  assert.equal(eventGroup(at('12:23:36'), events), 'roll');
  assert.equal(eventGroup(at('12:23:37'), events), 'roll');
  assert.equal(eventGroup(at('12:23:38'), events), 'rest');
  assert.equal(eventGroup(at('12:23:42'), events), 'cleaner');
  assert.equal(eventGroup(at('12:23:50'), events), 'rest');
  const both = { cleaner: new Set([10]), roll: new Set([10]) };
  assert.equal(eventGroup(10, both), 'cleaner');
});
