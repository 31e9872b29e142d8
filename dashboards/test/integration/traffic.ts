import { setTimeout as sleep } from 'node:timers/promises';
import { FRAME_TYPES, RECEIPT_KIND } from '../../../relay/protocol/src/index.js';
import { connectUser, isDeliver, isReceipt, type TestClient } from '../../../test/helpers/client.js';

/**
 * Bare-protocol traffic for the relay panels: `pairs` sender→recipient pairs spread over the
 * relays (same-relay and cross-relay, so both delivery paths run), each recipient answering
 * received + read, each sender acknowledging the receipts. Midway one recipient goes offline
 * and comes back on the other relay (closes, store-and-forward replay). Bounded: ~ratePerSec
 * messages per second for durationMs, then every socket is closed.
 */
export async function driveBareTraffic(
  relayUrls: readonly string[],
  options: { durationMs: number; ratePerSec: number; pairs: number; prefix: string },
): Promise<{ sent: number }> {
  const clients: TestClient[] = [];
  const pairs: { from: string; to: string; sender: TestClient; recipient: TestClient }[] = [];
  const answer = (c: TestClient, seen: Set<string>) => {
    c.ws.on('message', () => {
      for (const f of c.frames) {
        if (isDeliver(f) && !seen.has(f.msgId)) {
          seen.add(f.msgId);
          c.send({ t: FRAME_TYPES.received, msgId: f.msgId });
          c.send({ t: FRAME_TYPES.read, msgId: f.msgId });
        } else if (isReceipt(f) && !seen.has(`${f.msgId}/${f.kind}`)) {
          seen.add(`${f.msgId}/${f.kind}`);
          c.send({
            t: FRAME_TYPES.receiptSeen,
            msgId: f.msgId,
            kind: f.kind === RECEIPT_KIND.read ? RECEIPT_KIND.read : RECEIPT_KIND.delivered,
          });
        }
      }
    });
  };
  for (let i = 0; i < options.pairs; i++) {
    const from = `${options.prefix}s${i}`;
    const to = `${options.prefix}r${i}`;
    const sender = await connectUser(relayUrls[i % relayUrls.length]!, from);
    const recipient = await connectUser(relayUrls[(i + (i % 2)) % relayUrls.length]!, to);
    answer(sender, new Set());
    answer(recipient, new Set());
    clients.push(sender, recipient);
    pairs.push({ from, to, sender, recipient });
  }
  let sent = 0;
  const started = Date.now();
  const intervalMs = Math.max(1, Math.round(1000 / options.ratePerSec));
  let bounced = false;
  while (Date.now() - started < options.durationMs) {
    const p = pairs[sent % pairs.length]!;
    if (p.sender.closeCode === null) {
      p.sender.send({
        t: FRAME_TYPES.send,
        msgId: `${p.from}:1:${sent}`,
        to: p.to,
        header: new Uint8Array([1, 2, 3]),
        ciphertext: new Uint8Array(64).fill(sent % 251),
      });
      sent++;
    }
    if (!bounced && Date.now() - started > options.durationMs / 3) {
      bounced = true;
      const victim = pairs[0]!;
      victim.recipient.close();
      await victim.recipient.closed;
      await sleep(1000); // messages sent meanwhile wait in the mailbox
      victim.recipient = await connectUser(relayUrls[1 % relayUrls.length]!, victim.to);
      answer(victim.recipient, new Set());
      clients.push(victim.recipient);
    }
    await sleep(intervalMs);
  }
  await sleep(1000);
  for (const c of clients) c.close();
  await Promise.all(clients.map((c) => Promise.race([c.closed, sleep(3000)])));
  return { sent };
}
