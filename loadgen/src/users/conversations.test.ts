import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_TYPES, type KeysFrame } from '../../../relay/protocol/src/index.js';
import { HEADER_BYTES, SENDER_KEY_BYTES, decodeHeader } from '../crypto/header.js';
import { generateIdentity, type Identity } from '../crypto/identity.js';
import { Conversations, publishKeysFrame } from './conversations.js';

const text = (s: string) => new TextEncoder().encode(s);

/** Users by id with their identities, and a key directory over them that answers when told. */
function directory(...ids: string[]) {
  const identities = new Map<string, Identity>(ids.map((id) => [id, generateIdentity()]));
  const asked: string[] = [];
  const held: (() => void)[] = [];
  const bundle = (id: string): KeysFrame => {
    const { identityKey, signedPrekey, signature } = publishKeysFrame(identities.get(id)!, 0);
    return { t: FRAME_TYPES.keys, reqId: 0, userId: id, identityKey, signedPrekey, signature };
  };
  const fetch = (id: string) => {
    asked.push(id);
    return new Promise<KeysFrame>((resolve) => held.push(() => resolve(bundle(id))));
  };
  const of = (me: string) => new Conversations(me, identities.get(me)!, fetch);
  const answer = () => held.splice(0).forEach((go) => go());
  return { identities, asked, of, answer };
}

test('the writer announces its identity key in every header until the peer is heard; the peer keys the conversation from it, without a fetch', async () => {
  const d = directory('alice', 'bob');
  const alice = d.of('alice');
  const bob = d.of('bob');
  const loading = alice.ensure('bob');
  d.answer();
  const toBob = (await loading).sender;
  const first = toBob.encrypt(text('hi'), { sentAtUs: 1 });
  assert.equal(first.header.length, HEADER_BYTES + SENDER_KEY_BYTES);
  assert.deepEqual(decodeHeader(first.header)?.senderKey, d.identities.get('alice')!.publicKey);

  const atBob = bob.fromHeader('alice', first.header);
  assert.ok(atBob !== undefined);
  const opened = atBob.receiver.decrypt(first.header, first.ciphertext);
  assert.ok(opened.ok && Buffer.from(opened.plaintext).toString() === 'hi');
  bob.keep('alice', atBob);
  assert.deepEqual(d.asked, ['bob'], 'only the writer fetched');

  // Bob's reply carries no key (alice has his), and once alice has heard him, neither does hers.
  const reply = atBob.sender.encrypt(text('yo'), { sentAtUs: 2 });
  assert.equal(reply.header.length, HEADER_BYTES);
  const session = alice.get('bob')!;
  assert.ok(session.receiver.decrypt(reply.header, reply.ciphertext).ok);
  session.sender.peerHeard();
  assert.equal(session.sender.encrypt(text('ok'), { sentAtUs: 3 }).header.length, HEADER_BYTES);
  assert.equal(bob.fromHeader('alice', reply.header), undefined, 'a header without a key keys nothing');
});

test('an announced key that is not the sender’s does not decrypt, so it is not kept; a bundle fetched meanwhile keeps the session the first message made', async () => {
  const d = directory('alice', 'bob', 'mallory');
  const alice = d.of('alice');
  const bob = d.of('bob');
  const mallory = d.of('mallory');
  const toBob = alice.ensure('bob');
  const fromMallory = mallory.ensure('bob');
  d.answer();
  // Mallory's header, presented as alice's message: keyed from mallory's key, alice's chain is not there.
  const forged = (await fromMallory).sender.encrypt(text('x'), { sentAtUs: 1 });
  const wrong = bob.fromHeader('alice', forged.header)!;
  assert.deepEqual(wrong.receiver.decrypt(forged.header, forged.ciphertext), { ok: false, reason: 'tag' });

  // Bob starts fetching alice's bundle (he is about to write to her) when her first message comes.
  const bobLoading = bob.ensure('alice');
  const first = (await toBob).sender.encrypt(text('hi'), { sentAtUs: 2 });
  const made = bob.fromHeader('alice', first.header)!;
  assert.ok(made.receiver.decrypt(first.header, first.ciphertext).ok);
  bob.keep('alice', made);
  d.answer();
  assert.equal(await bobLoading, made, 'the session with state is kept, not replaced by a fresh one');
  const second = (await toBob).sender.encrypt(text('again'), { sentAtUs: 3 });
  assert.ok(made.receiver.decrypt(second.header, second.ciphertext).ok);
});
