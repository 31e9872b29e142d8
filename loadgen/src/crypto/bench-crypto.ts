// Micro-benchmark (not a test): CPU µs per encrypt + decrypt of a 200-byte message, per-message
// ratchet step included. Run: node <build>/loadgen/src/crypto/bench-crypto.js [iterations]
import { ConversationReceiver, ConversationSender } from './conversation.js';
import { generateIdentity } from './identity.js';

const iterations = Number(process.argv[2] ?? 200_000);
const alice = generateIdentity();
const bob = generateIdentity();
const sender = new ConversationSender({ ownPrivateKey: alice.privateKey, peerPublicKey: bob.publicKey, fromId: 'a', toId: 'b' });
const receiver = new ConversationReceiver({ ownPrivateKey: bob.privateKey, peerPublicKey: alice.publicKey, fromId: 'a', toId: 'b' });
const plaintext = new Uint8Array(200).fill(0x61);

function run(n: number): void {
  for (let i = 0; i < n; i++) {
    const msg = sender.encrypt(plaintext, { sentAtUs: i });
    if (!receiver.decrypt(msg.header, msg.ciphertext).ok) throw new Error('decrypt failed');
  }
}

run(Math.min(20_000, iterations)); // warm-up (JIT)
const cpu = process.cpuUsage();
const wallStartMs = performance.now();
run(iterations);
const used = process.cpuUsage(cpu);
const cpuUs = (used.user + used.system) / iterations;
const wallUs = ((performance.now() - wallStartMs) * 1000) / iterations;
console.log(`encrypt+decrypt 200 B: ${cpuUs.toFixed(2)} µs CPU/message (${wallUs.toFixed(2)} µs wall), ${iterations} messages`);
