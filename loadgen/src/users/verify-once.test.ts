import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateIdentity } from '../crypto/identity.js';
import { publishKeysFrame, verifyBundleOnce } from './conversations.js';

test('verifyBundleOnce: a verified bundle is remembered by its bytes; any changed byte is verified again and fails', () => {
  const f = publishKeysFrame(generateIdentity(), 1);
  assert.ok(verifyBundleOnce(f));
  assert.ok(
    verifyBundleOnce({ signedPrekey: new Uint8Array(f.signedPrekey), signature: new Uint8Array(f.signature) }),
    'same bytes, other buffers',
  );
  const forged = new Uint8Array(f.signedPrekey);
  forged[0]! ^= 1;
  assert.equal(verifyBundleOnce({ ...f, signedPrekey: forged }), false);
  const badSig = new Uint8Array(f.signature);
  badSig[95]! ^= 1;
  assert.equal(verifyBundleOnce({ ...f, signature: badSig }), false);
  assert.equal(verifyBundleOnce({ ...f, signature: badSig }), false, 'a failure is not remembered as a success');
});
