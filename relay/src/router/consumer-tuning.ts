/**
 * Consumer settings the relay's two consumers share (router on relay.mailbox, gateway on
 * relay.deliver.<id> + relay.keys), measured on a 2-core host (docs/architecture.md, "Measured").
 *
 * - maxWaitMs 200, minBytes 1: a record is returned the moment it is appended; an idle consumer
 *   asks the broker 5 times a second. A larger minBytes would batch only by delaying every
 *   record at low load (or polling fast when idle), so it stays 1.
 * - fetchLingerMs 1: after records were handled, the next fetch waits 1 ms, so the records of
 *   one message (message, receipts, tombstones, arriving within a millisecond or two) and of
 *   concurrent users come back together instead of one fetch each.
 */
export const CONSUMER_TUNING = { maxWaitMs: 200, fetchLingerMs: 1 } as const;
