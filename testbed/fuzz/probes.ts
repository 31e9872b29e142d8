/**
 * Runs one fuzz probe (a case from cases.ts) against one relay URL and reports what the relay
 * answered: through the ws client for well-formed WebSocket traffic, by hand (raw-probe.ts) for
 * the rest. Never throws because of what the relay sends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FRAME_TYPES } from '../../relay/protocol/src/index.js';
import type { Probe } from './cases.js';
import { ProbeConnection } from './connection.js';
import { emptyOutcome, type Outcome } from './outcome.js';
import { rawProbe } from './raw-probe.js';

export interface ProbeEnv {
  readonly secret: string;
  readonly user: string;
  readonly storm: string;
  readonly localAddress: string | undefined;
  readonly helloTimeoutMs: number;
}

export async function runProbe(probe: Probe, url: string, env: ProbeEnv): Promise<Outcome> {
  switch (probe.shape) {
    case 'ws':
      return wsProbe(url, env, probe.afterHello, probe.inputs.length, probe.waitMs, (c) => {
        for (const i of probe.inputs) c.ws.send(i.kind === 'text' ? i.text : i.bytes, { binary: i.kind !== 'text' });
      });
    case 'idle':
      return wsProbe(url, env, false, 0, probe.waitMs, () => {});
    case 'storm':
      return stormProbe(url, env, probe.connections);
    case 'raw':
      return rawProbe(url, env.localAddress, probe.frames, probe.echo);
  }
}

function collect(c: ProbeConnection, o: Outcome, skipFrames = 0): void {
  for (const f of c.frames.slice(skipFrames)) {
    if (f.t !== FRAME_TYPES.error) continue;
    o.errors.push(f.code);
    if (f.msgId !== undefined || f.reqId !== undefined) o.errorsWithId++;
  }
  o.undecodable += c.undecodable;
  // After our own close, 1000 is the relay's echo and 1005/1006 our giving up; any other code is
  // the relay's own close frame that crossed ours on the wire.
  const code = c.closeCode;
  if (code !== null && (!c.weClosed || (code !== 1000 && code !== 1005 && code !== 1006))) o.close = code;
}

async function wsProbe(
  url: string,
  env: ProbeEnv,
  afterHello: boolean,
  inputs: number,
  waitMs: number,
  sendInputs: (c: ProbeConnection) => void,
): Promise<Outcome> {
  const o = emptyOutcome(inputs);
  const c = new ProbeConnection(url, env.localAddress);
  if (!(await c.opened)) {
    o.connectFailed = true;
    await c.finish();
    return o;
  }
  let skip = 0;
  if (afterHello) {
    c.hello(env.user, env.secret);
    await c.until(() => c.welcomed() || c.frames.some((f) => f.t === FRAME_TYPES.error), 15_000);
    if (!c.welcomed()) {
      o.setupFailed = true;
      await c.finish();
      return o;
    }
    skip = c.frames.length;
  }
  sendInputs(c);
  await c.until(() => false, waitMs);
  await c.finish();
  collect(c, o, skip);
  return o;
}

/** Many connections of one user at once: the relay keeps one and closes the others with 4011. */
async function stormProbe(url: string, env: ProbeEnv, n: number): Promise<Outcome> {
  const o = emptyOutcome(n);
  const conns = Array.from({ length: n }, () => new ProbeConnection(url, env.localAddress));
  const opened = await Promise.all(conns.map((c) => c.opened));
  if (opened.some((x) => !x)) o.connectFailed = true;
  for (let i = 0; i < n; i++) if (opened[i]) conns[i]!.hello(env.storm, env.secret);
  await Promise.all(conns.map((c) => c.until(() => c.welcomed() || c.frames.some((f) => f.t === FRAME_TYPES.error), 15_000)));
  await sleep(300);
  for (const c of conns) await c.finish();
  for (const c of conns) {
    const one = emptyOutcome(0);
    collect(c, one);
    o.errors.push(...one.errors);
    o.undecodable += one.undecodable;
    if (one.close !== null) o.stormCloses.push(one.close);
  }
  return o;
}
