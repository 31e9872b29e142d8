/**
 * Consumer settings the relay's two consumers share (router on relay.mailbox, gateway on
 * relay.deliver.<id> + relay.keys), measured on a 2-core host (docs/measurements.md).
 *
 * - maxWaitMs 200, minBytes 1: a record is returned the moment it is appended; an idle consumer
 *   asks the broker 5 times a second. A larger minBytes would batch only by delaying every
 *   record at low load (or polling fast when idle), so it stays 1.
 * - fetchLingerMs 1: after records were handled, the next fetch waits 1 ms, so the records of
 *   one message (message, receipts, tombstones, arriving within a millisecond or two) and of
 *   concurrent users come back together instead of one fetch each.
 */
export const CONSUMER_TUNING = { maxWaitMs: 200, fetchLingerMs: 1 } as const;

/**
 * The router's fetch while its peers hand it their writes (Router.fetchPolicy): the broker holds
 * it until 1 MiB is there or 50 ms passed. It then only checks what was applied and fills a gap
 * a lost hand-over left (a peer crashed between its produce answer and the hand-over), so such a
 * record waits at most ≈ 50 ms, and the broker answers ≈ 20 fetches a second per relay instead of
 * one per write (docs/measurements.md, "peer links").
 */
export const LAZY_FETCH = { maxWaitMs: 50, minBytes: 1_048_576 } as const;

/**
 * After a rebalance the peers' tables of who owns what are up to a refresh old (PeerLinks,
 * 1 s), so records they hand to the previous owner reach this one only by the fetch: eager
 * until then.
 */
export const LAZY_AFTER_ASSIGNMENT_MS = 3000;
