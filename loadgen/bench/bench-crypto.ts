// Micro-benchmark (not a test): CPU µs per encrypt and per decrypt of a 200-byte message, per-message
// ratchet step included. Run: node dist/loadgen/bench/bench-crypto.js [iterations] (--help: the usage)
import { ConversationReceiver, ConversationSender, type EncryptedMessage } from '../src/crypto/conversation.js';
import { generateIdentity } from '../src/crypto/identity.js';
import { benchArgs, refuseBenchArgs } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node dist/loadgen/bench/bench-crypto.js [iterations]

CPU µs per encrypt and per decrypt of a 200-byte message in a tight loop, the per-message ratchet
step included, and the wall time per message (after a warm-up of up to 20,000 messages).
  iterations   messages to encrypt and decrypt (default 200000)
  -h, --help   this text
exit codes: 0 the figures were printed; 1 a decrypt failed; 2 bad arguments.`,
  positionals: 1,
  numeric: [0],
});

const iterations = Number(process.argv[2] ?? 200_000);
if (!Number.isInteger(iterations) || iterations < 1) refuseBenchArgs(`${process.argv[2]}: expected a whole number of iterations ≥ 1.`);
const alice = generateIdentity();
const bob = generateIdentity();
const sender = new ConversationSender({ ownPrivateKey: alice.privateKey, peerPublicKey: bob.publicKey, fromId: 'a', toId: 'b' });
const receiver = new ConversationReceiver({ ownPrivateKey: bob.privateKey, peerPublicKey: alice.publicKey, fromId: 'a', toId: 'b' });
const plaintext = new Uint8Array(200).fill(0x61);
// Small chunks: holding many sealed messages between the halves would turn them into old-generation
// garbage and double the GC cost; 100 messages take ~1 ms, far above cpuUsage()'s 1 µs resolution.
const CHUNK = 100;

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Encrypts a chunk, then decrypts it, timing the two halves apart; returns CPU µs of each. */
function run(n: number): { encryptUs: number; decryptUs: number } {
  let encryptUs = 0;
  let decryptUs = 0;
  const batch: EncryptedMessage[] = new Array<EncryptedMessage>(CHUNK);
  for (let done = 0; done < n; done += CHUNK) {
    const m = Math.min(CHUNK, n - done);
    const t0 = cpuNow();
    for (let i = 0; i < m; i++) batch[i] = sender.encrypt(plaintext, { sentAtUs: done + i });
    const t1 = cpuNow();
    for (let i = 0; i < m; i++) if (!receiver.decrypt(batch[i]!.header, batch[i]!.ciphertext).ok) throw new Error('decrypt failed');
    decryptUs += cpuNow() - t1;
    encryptUs += t1 - t0;
  }
  return { encryptUs, decryptUs };
}

run(Math.min(20_000, iterations)); // warm-up (JIT)
const wallStartMs = performance.now();
const { encryptUs, decryptUs } = run(iterations);
const wallUs = ((performance.now() - wallStartMs) * 1000) / iterations;
const per = (us: number) => (us / iterations).toFixed(2);
console.log(
  `encrypt+decrypt 200 B: ${per(encryptUs + decryptUs)} µs CPU/message (encrypt ${per(encryptUs)}, decrypt ${per(decryptUs)}; ${wallUs.toFixed(2)} µs wall), ${iterations} messages`,
);
