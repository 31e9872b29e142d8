import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSupervised, stopSupervised, type Supervised } from '../../testbed/process/supervisor.js';
import { createInterface } from 'node:readline';
import { TEST_SECRET } from './client.js';

export interface RelayProcess {
  readonly proc: Supervised;
  readonly url: string;
  readonly httpUrl: string;
  readonly gatewayId: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A counter from a relay's GET /metrics, summed over its label sets (0 when the relay has none yet). */
export async function relayCounter(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))) total += Number(m[1]);
  return total;
}

/** Starts a real relay process (the relay's own bin, `relaybench-relay`) and waits for its listening line. */
export async function startRelayProcess(
  brokers: readonly string[],
  opts: { gatewayId: string; partitions?: number; env?: NodeJS.ProcessEnv; args?: string[] },
): Promise<RelayProcess> {
  const args = [
    'dist/relay/src/bin.js',
    '--port',
    '0',
    '--brokers',
    brokers.join(','),
    '--gateway-id',
    opts.gatewayId,
    '--partitions',
    String(opts.partitions ?? 12),
    ...(opts.args ?? []),
  ];
  const proc = spawnSupervised(`relay-${opts.gatewayId}`, process.execPath, args, {
    env: { ...process.env, RELAY_TOKEN_SECRET: TEST_SECRET, ...opts.env },
  });
  let stderr = '';
  proc.child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (process.env.RELAYBENCH_TEST_VERBOSE !== undefined) process.stderr.write(d);
  });
  const lines = createInterface({ input: proc.child.stdout! });
  const info = await new Promise<{ url: string; httpUrl: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay ${opts.gatewayId} did not start: ${stderr.slice(-2000)}`)), 60_000);
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; url: string; httpUrl: string; port: number };
        if (msg.event === 'listening') {
          clearTimeout(timer);
          resolve(msg);
        }
      } catch {
        // not ours
      }
    });
    proc.exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`relay ${opts.gatewayId} exited ${code}: ${stderr.slice(-2000)}`));
    });
  });
  return {
    proc,
    url: info.url,
    httpUrl: info.httpUrl,
    gatewayId: opts.gatewayId,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopSupervised(proc, 20_000, signal),
  };
}

/** Polls /readyz until every relay says ready (all partitions folded, group settled). */
export async function waitAllReady(relays: readonly RelayProcess[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const states = await Promise.all(
      relays.map((r) =>
        fetch(`${r.httpUrl}/readyz`).then(
          (res) => res.status === 200,
          () => false,
        ),
      ),
    );
    if (states.every(Boolean)) {
      // Every partition must be owned by someone.
      const routes = (await (await fetch(`${relays[0]!.httpUrl}/routes`)).json()) as {
        partitions: Record<string, string>;
        partitionCount: number;
        groupState: string;
      };
      if (Object.keys(routes.partitions).length === routes.partitionCount && routes.groupState === 'Stable') return;
    }
    await sleep(200);
  }
  throw new Error('relays not ready in time');
}
