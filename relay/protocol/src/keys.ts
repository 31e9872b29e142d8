/**
 * Kafka record keys and partitioning for the `relay.mailbox` topic, shared by the relay and the
 * tools that read the topic. Everything about user U lives in U's partition:
 *
 *   U/<msgId>               a message to U (tombstoned when U confirms it: ✓✓)
 *   U/r/<msgId>/<d|r>       a receipt for U (delivered / read) about U's message msgId
 *   U/@gw                   U's presence: {gatewayId|null, epoch}
 *
 * userIds never contain `/` or `@` and msgIds never contain `/` or `@` (limits.ts), so keys
 * parse unambiguously. All functions are pure and synchronous.
 */
import { protocolError } from './errors.js';
import { RECEIPT_KIND, type ReceiptKind } from './frames.js';
import { MSG_ID_PATTERN, USER_ID_PATTERN } from './limits.js';

export type ParsedKey =
  | { readonly kind: 'mailbox'; readonly user: string; readonly msgId: string }
  | { readonly kind: 'receipt'; readonly user: string; readonly msgId: string; readonly receiptKind: ReceiptKind }
  | { readonly kind: 'presence'; readonly user: string };

const KIND_SUFFIX: Readonly<Record<ReceiptKind, string>> = { [RECEIPT_KIND.delivered]: 'd', [RECEIPT_KIND.read]: 'r' };

function userArg(user: string): string {
  if (typeof user !== 'string' || !USER_ID_PATTERN.test(user)) throw protocolError('RB_PROTO_BAD_ARGUMENT', 'Invalid userId for a key.');
  return user;
}

function msgArg(msgId: string): string {
  if (typeof msgId !== 'string' || !MSG_ID_PATTERN.test(msgId)) throw protocolError('RB_PROTO_BAD_ARGUMENT', 'Invalid msgId for a key.');
  return msgId;
}

/** `U/<msgId>`: a message to `user` (the recipient). */
export function mailboxKey(user: string, msgId: string): string {
  return `${userArg(user)}/${msgArg(msgId)}`;
}

/** `U/r/<msgId>/<d|r>`: a receipt for `user` (the original sender) about its message `msgId`. */
export function receiptKey(user: string, msgId: string, kind: ReceiptKind): string {
  const suffix = KIND_SUFFIX[kind];
  if (suffix === undefined) throw protocolError('RB_PROTO_BAD_ARGUMENT', 'Receipt kind must be 1 or 2.');
  return `${userArg(user)}/r/${msgArg(msgId)}/${suffix}`;
}

/** `U/@gw`: the presence record of `user`. */
export function presenceKey(user: string): string {
  return `${userArg(user)}/@gw`;
}

/** Parses a mailbox-topic key (string or UTF-8 bytes). Throws RB_PROTO_BAD_KEY on anything else. */
export function parseKey(key: string | Uint8Array): ParsedKey {
  const text =
    typeof key === 'string'
      ? key
      : key instanceof Uint8Array
        ? Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8')
        : undefined;
  if (text === undefined || text.length > 256) throw badKey(text);
  const parts = text.split('/');
  const user = parts[0] ?? '';
  if (!USER_ID_PATTERN.test(user)) throw badKey(text);
  if (parts.length === 2) {
    const rest = parts[1] ?? '';
    if (rest === '@gw') return { kind: 'presence', user };
    if (MSG_ID_PATTERN.test(rest)) return { kind: 'mailbox', user, msgId: rest };
  } else if (parts.length === 4 && parts[1] === 'r') {
    const msgId = parts[2] ?? '';
    const receiptKind = parts[3] === 'd' ? RECEIPT_KIND.delivered : parts[3] === 'r' ? RECEIPT_KIND.read : undefined;
    if (receiptKind !== undefined && MSG_ID_PATTERN.test(msgId)) return { kind: 'receipt', user, msgId, receiptKind };
  }
  throw badKey(text);
}

function badKey(text: string | undefined) {
  return protocolError('RB_PROTO_BAD_KEY', text === undefined ? undefined : `Key: ${JSON.stringify(text.slice(0, 80))}.`);
}

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 (Java `Utils.murmur2`, also kafkajs' default partitioner) over `bytes`, as a
 * signed 32-bit integer.
 */
export function murmur2(bytes: Uint8Array): number {
  const length = bytes.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = bytes[i4]! | (bytes[i4 + 1]! << 8) | (bytes[i4 + 2]! << 16) | (bytes[i4 + 3]! << 24) | 0;
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= bytes[tail + 2]! << 16;
  if (rest >= 2) h ^= bytes[tail + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ bytes[tail]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The `relay.mailbox` partition of everything about `userId`: Kafka's default partitioner
 * formula `(murmur2(utf8(userId)) & 0x7fffffff) % partitions`, applied to the userId alone.
 *
 * Why murmur2: a record keyed by the bare userId (e.g. `relay.keys`, or a console producer) lands
 * in the same partition number as the user's mailbox, so tools agree without this code. Why an
 * explicit partition: mailbox keys are `U/...`, which the default partitioner would scatter, so
 * the relay always produces with `partition: partitionFor(recipient, P)`. Changing P moves users.
 */
export function partitionFor(userId: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1)
    throw protocolError('RB_PROTO_BAD_ARGUMENT', 'partitions must be a positive integer.');
  return (murmur2(Buffer.from(userArg(userId), 'utf8')) & 0x7fffffff) % partitions;
}
