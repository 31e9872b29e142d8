import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConversationReceiver, ConversationSender, type EncryptedMessage } from './conversation.js';
import { decodeHeader, encodeHeader, FLAG_SENDER_KEY, HEADER_BYTES, SENDER_KEY_BYTES } from './header.js';
import { generateIdentity, PublicKeyCache, rawPublicKey, verifySignedPrekey, x25519Keys, x25519PublicKeyFromRaw } from './identity.js';
import { ReceivingChain, SendingChain } from './ratchet.js';
import { open, seal } from './seal.js';
import { deriveSession } from './session.js';

const alice = generateIdentity();
const bob = generateIdentity();
const text = (s: string) => new TextEncoder().encode(s);

function pair(from = alice, to = bob, fromId = 'alice', toId = 'bob', maxSkipped?: number) {
  const sender = new ConversationSender({ ownPrivateKey: from.privateKey, peerPublicKey: to.publicKey, fromId, toId });
  const receiver = new ConversationReceiver({ ownPrivateKey: to.privateKey, peerPublicKey: from.publicKey, fromId, toId }, maxSkipped);
  return { sender, receiver };
}

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

test('identity: 32-byte raw keys, signed prekey verifies, forged one does not', () => {
  assert.equal(alice.publicKey.length, 32);
  assert.deepEqual(rawPublicKey(alice.privateKey), alice.publicKey);
  assert.ok(verifySignedPrekey(alice.signingPublicKey, alice.signedPrekey.publicKey, alice.signedPrekey.signature));
  assert.equal(verifySignedPrekey(bob.signingPublicKey, alice.signedPrekey.publicKey, alice.signedPrekey.signature), false);
  assert.equal(verifySignedPrekey(alice.signingPublicKey, flip(alice.signedPrekey.publicKey, 0), alice.signedPrekey.signature), false);
  assert.equal(verifySignedPrekey(new Uint8Array(5), alice.signedPrekey.publicKey, alice.signedPrekey.signature), false);
});

test('KeyObject cache: one import per distinct key, equal key material, bounded, rejects wrong length', () => {
  const before = x25519Keys.imports;
  const k1 = x25519PublicKeyFromRaw(bob.publicKey);
  const k2 = x25519PublicKeyFromRaw(Uint8Array.from(bob.publicKey));
  assert.equal(k1, k2);
  assert.ok(x25519Keys.imports - before <= 1);
  assert.deepEqual(rawPublicKey(k1), bob.publicKey);
  assert.throws(() => x25519PublicKeyFromRaw(new Uint8Array(31)), RangeError);

  const small = new PublicKeyCache(Buffer.from('302a300506032b656e032100', 'hex'), 2);
  small.get(alice.publicKey);
  small.get(bob.publicKey);
  small.get(generateIdentity().publicKey);
  assert.equal(small.size, 2);
  assert.equal(small.imports, 3);
  small.get(alice.publicKey); // evicted first, so imported again
  assert.equal(small.imports, 4);
});

test('session: both ends derive the same chain for A→B; B→A differs', () => {
  const atSender = deriveSession(alice.privateKey, bob.publicKey, 'alice', 'bob');
  const atReceiver = deriveSession(bob.privateKey, alice.publicKey, 'alice', 'bob');
  const reverse = deriveSession(bob.privateKey, alice.publicKey, 'bob', 'alice');
  assert.deepEqual(atSender.chainKey, atReceiver.chainKey);
  assert.deepEqual(atSender.rootKey, atReceiver.rootKey);
  assert.notDeepEqual(atSender.chainKey, reverse.chainKey);
  assert.equal(atSender.chainKey.length, 32);
});

test('ratchet: receiver keys equal sender keys; skipped keys held then dropped after use', () => {
  const key = new Uint8Array(32).fill(7);
  const send = new SendingChain(key);
  const steps = [send.next(), send.next(), send.next()];
  assert.deepEqual(
    steps.map((s) => s.counter),
    [0, 1, 2],
  );
  assert.notDeepEqual(steps[0]?.messageKey, steps[1]?.messageKey);
  const recv = new ReceivingChain(key);
  const p2 = recv.prepare(2);
  assert.ok(p2.ok);
  assert.deepEqual(p2.messageKey, steps[2]?.messageKey);
  assert.equal(recv.skippedCount, 0, 'prepare must not change state');
  recv.commit(p2);
  assert.equal(recv.skippedCount, 2);
  const p0 = recv.prepare(0);
  assert.ok(p0.ok);
  assert.deepEqual(p0.messageKey, steps[0]?.messageKey);
  recv.commit(p0);
  assert.equal(recv.skippedCount, 1);
  assert.deepEqual(recv.prepare(0), { ok: false, reason: 'replay' });
  assert.deepEqual(recv.prepare(2), { ok: false, reason: 'replay' });
});

test('ratchet: the chain key advances in place, leaving the keys handed out and the key passed in as they were', () => {
  const key = new Uint8Array(32).fill(9);
  const hmacOf = (k: Uint8Array, input: number) => createHmac('sha256', k).update(Buffer.of(input)).digest();
  const send = new SendingChain(key);
  const recv = new ReceivingChain(key);
  let chainKey: Uint8Array = Buffer.from(key);
  const handedOut: [Buffer, Uint8Array, Uint8Array][] = [];
  for (let n = 0; n < 5; n++) {
    const step = send.next();
    const prepared = recv.prepare(n);
    assert.ok(prepared.ok);
    recv.commit(prepared);
    assert.deepEqual(Buffer.from(step.messageKey), hmacOf(chainKey, 0x01), `message key ${n} as the header comment says`);
    handedOut.push([Buffer.from(step.messageKey), step.messageKey, prepared.messageKey]);
    chainKey = hmacOf(chainKey, 0x02);
  }
  for (const [copy, sent, received] of handedOut) {
    assert.deepEqual(Buffer.from(sent), copy);
    assert.deepEqual(Buffer.from(received), copy);
  }
  assert.deepEqual(key, new Uint8Array(32).fill(9));
});

test('seal/open: round trip; wrong key, short input and wrong key length fail without throwing', () => {
  const key = new Uint8Array(32).fill(1);
  const header = encodeHeader({ counter: 3, sentAtUs: 1.5 });
  const sealed = seal(key, header, text('hi'));
  assert.equal(sealed.length, 2 + 16);
  const opened = open(key, header, sealed);
  assert.ok(opened.ok);
  assert.deepEqual(Buffer.from(opened.plaintext).toString(), 'hi');
  assert.deepEqual(open(new Uint8Array(32), header, sealed), { ok: false, reason: 'tag' });
  assert.deepEqual(open(key, header, sealed.subarray(0, 10)), { ok: false, reason: 'malformed' });
  assert.deepEqual(open(key.subarray(0, 16), header, sealed), { ok: false, reason: 'malformed' });
  const empty = seal(key, header, new Uint8Array(0));
  const openedEmpty = open(key, header, empty);
  assert.ok(openedEmpty.ok);
  assert.equal(openedEmpty.plaintext.length, 0);
});

test('header: fixed layout round trip; bad length/version are null', () => {
  const fields = { counter: 2 ** 40 + 5, sentAtUs: 1_700_000_000_123_456.25, conversationId: 0xdeadbeef };
  const bytes = encodeHeader(fields);
  assert.equal(bytes.length, HEADER_BYTES);
  assert.deepEqual(decodeHeader(bytes), fields);
  assert.equal(decodeHeader(bytes.subarray(1)), null);
  assert.equal(decodeHeader(flip(bytes, 0)), null);
  assert.throws(() => encodeHeader({ counter: -1, sentAtUs: 0 }), RangeError);
});

test('header: a sender key rides after the fixed part under its flag; a length that disagrees with the flags is null', () => {
  const senderKey = new Uint8Array(SENDER_KEY_BYTES).fill(7);
  const fields = { counter: 1, sentAtUs: 2.5, conversationId: 3, senderKey };
  const bytes = encodeHeader(fields);
  assert.equal(bytes.length, HEADER_BYTES + SENDER_KEY_BYTES);
  assert.equal(bytes[1], FLAG_SENDER_KEY);
  assert.deepEqual(decodeHeader(bytes), fields);
  assert.equal(decodeHeader(bytes.subarray(0, HEADER_BYTES)), null, 'flag without the key');
  assert.equal(decodeHeader(flip(bytes, 1)), null, 'key without the flag');
  const unknownFlag = Uint8Array.from(bytes);
  unknownFlag[1] = FLAG_SENDER_KEY | 0x02;
  assert.equal(decodeHeader(unknownFlag), null);
  assert.throws(() => encodeHeader({ counter: 0, sentAtUs: 0, senderKey: senderKey.subarray(1) }), RangeError);
});

test('conversation: round trip carries plaintext, counter and intended send time', () => {
  const { sender, receiver } = pair();
  for (let i = 0; i < 5; i++) {
    const msg = sender.encrypt(text(`m${i}`), { sentAtUs: 1000 + i, conversationId: 9 });
    const out = receiver.decrypt(msg.header, msg.ciphertext);
    assert.ok(out.ok);
    assert.equal(Buffer.from(out.plaintext).toString(), `m${i}`);
    assert.equal(out.counter, i);
    assert.equal(out.sentAtUs, 1000 + i);
    assert.equal(out.conversationId, 9);
  }
});

test('conversation: one flipped bit in ciphertext, tag or header fails, and does not burn the key', () => {
  const { sender, receiver } = pair();
  const msg = sender.encrypt(text('payload of some length'), { sentAtUs: 1 });
  const tagStart = msg.ciphertext.length - 16;
  assert.deepEqual(receiver.decrypt(msg.header, flip(msg.ciphertext, 0)), { ok: false, reason: 'tag' });
  assert.deepEqual(receiver.decrypt(msg.header, flip(msg.ciphertext, tagStart + 3)), { ok: false, reason: 'tag' });
  assert.deepEqual(receiver.decrypt(flip(msg.header, 20), msg.ciphertext), { ok: false, reason: 'tag' }, 'sentAtUs is authenticated');
  assert.deepEqual(receiver.decrypt(flip(msg.header, 15), msg.ciphertext), { ok: false, reason: 'tag' }, 'counter is authenticated');
  assert.deepEqual(receiver.decrypt(flip(msg.header, 0), msg.ciphertext), { ok: false, reason: 'malformed' });
  assert.deepEqual(receiver.decrypt(msg.header, msg.ciphertext.subarray(0, 4)), { ok: false, reason: 'malformed' });
  assert.ok(receiver.decrypt(msg.header, msg.ciphertext).ok, 'the genuine message still opens');
});

test('conversation: out of order within the window works; replay detected; too far refused', () => {
  const { sender, receiver } = pair(alice, bob, 'alice', 'bob', 10);
  const msgs: EncryptedMessage[] = [];
  for (let i = 0; i < 6; i++) msgs.push(sender.encrypt(text(`m${i}`), { sentAtUs: i }));
  for (const i of [3, 0, 5, 1, 2, 4]) {
    const m = msgs[i]!;
    const out = receiver.decrypt(m.header, m.ciphertext);
    assert.ok(out.ok, `message ${i}`);
    assert.equal(out.counter, i);
  }
  for (const m of msgs) assert.deepEqual(receiver.decrypt(m.header, m.ciphertext), { ok: false, reason: 'replay' });
  for (let i = 0; i < 11; i++) sender.encrypt(text('skip'), { sentAtUs: 0 }); // counters 6..16
  const far = sender.encrypt(text('far'), { sentAtUs: 0 }); // counter 17: 11 ahead of 6
  assert.deepEqual(receiver.decrypt(far.header, far.ciphertext), { ok: false, reason: 'too-far' });
});

test('conversation: skipped-key window is bounded; evicted keys then read as replay', () => {
  const { sender, receiver } = pair(alice, bob, 'alice', 'bob', 3);
  const msgs: EncryptedMessage[] = [];
  for (let i = 0; i < 8; i++) msgs.push(sender.encrypt(text('x'), { sentAtUs: 0 }));
  assert.ok(receiver.decrypt(msgs[3]!.header, msgs[3]!.ciphertext).ok); // skips 0,1,2
  assert.ok(receiver.decrypt(msgs[7]!.header, msgs[7]!.ciphertext).ok); // skips 4,5,6 → evicts 0,1,2
  assert.equal(receiver.evictedKeys, 3);
  assert.deepEqual(receiver.decrypt(msgs[0]!.header, msgs[0]!.ciphertext), { ok: false, reason: 'replay' });
  assert.ok(receiver.decrypt(msgs[5]!.header, msgs[5]!.ciphertext).ok);
});

test('conversation: directions are independent; a message from one direction fails in the other', () => {
  const ab = pair(alice, bob, 'alice', 'bob');
  const ba = pair(bob, alice, 'bob', 'alice');
  const m1 = ab.sender.encrypt(text('to bob'), { sentAtUs: 0 });
  const m2 = ba.sender.encrypt(text('to alice'), { sentAtUs: 0 });
  assert.equal(m1.counter, 0);
  assert.equal(m2.counter, 0);
  assert.deepEqual(ba.receiver.decrypt(m1.header, m1.ciphertext), { ok: false, reason: 'tag' });
  assert.ok(ab.receiver.decrypt(m1.header, m1.ciphertext).ok);
  assert.ok(ba.receiver.decrypt(m2.header, m2.ciphertext).ok);
  const eve = generateIdentity();
  const wrong = new ConversationReceiver({ ownPrivateKey: eve.privateKey, peerPublicKey: alice.publicKey, fromId: 'alice', toId: 'bob' });
  const m3 = ab.sender.encrypt(text('secret'), { sentAtUs: 0 });
  assert.deepEqual(wrong.decrypt(m3.header, m3.ciphertext), { ok: false, reason: 'tag' });
});
