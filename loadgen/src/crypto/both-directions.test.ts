import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConversationReceiver, ConversationSender } from './conversation.js';
import { generateIdentity } from './identity.js';
import { deriveBothDirections, deriveSession } from './session.js';

const alice = generateIdentity();
const bob = generateIdentity();

test('deriveBothDirections: one agreement gives exactly what deriveSession gives for each direction', () => {
  const both = deriveBothDirections(alice.privateKey, bob.publicKey, 'alice', 'bob');
  assert.deepEqual(both.outgoing, deriveSession(alice.privateKey, bob.publicKey, 'alice', 'bob'));
  assert.deepEqual(both.incoming, deriveSession(alice.privateKey, bob.publicKey, 'bob', 'alice'));
  assert.notDeepEqual(both.outgoing.chainKey, both.incoming.chainKey);
});

test('conversations keyed from deriveBothDirections talk to ones keyed from the ends, both ways', () => {
  const a = deriveBothDirections(alice.privateKey, bob.publicKey, 'alice', 'bob');
  const toBob = new ConversationSender(a.outgoing);
  const atBob = new ConversationReceiver({ ownPrivateKey: bob.privateKey, peerPublicKey: alice.publicKey, fromId: 'alice', toId: 'bob' });
  const m = toBob.encrypt(new Uint8Array([1, 2, 3]), { sentAtUs: 5 });
  const got = atBob.decrypt(m.header, m.ciphertext);
  assert.ok(got.ok && got.plaintext.join() === '1,2,3');
  const fromBob = new ConversationSender({ ownPrivateKey: bob.privateKey, peerPublicKey: alice.publicKey, fromId: 'bob', toId: 'alice' });
  const back = fromBob.encrypt(new Uint8Array([9]), { sentAtUs: 6 });
  const atAlice = new ConversationReceiver(a.incoming).decrypt(back.header, back.ciphertext);
  assert.ok(atAlice.ok && atAlice.plaintext.join() === '9');
});
