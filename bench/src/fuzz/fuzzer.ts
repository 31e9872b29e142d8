/**
 * A fuzz traffic generator for live relays: `connections` lanes, each opening one connection per
 * probe (a category from cases.ts), sending its inputs and recording what the relay answered.
 * Counts every input by category and every answer by error code and close code, and checks each
 * code against the protocol's documented tables. Never throws because of what the relay sends.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  DEFAULT_MAX_FRAME_BYTES, FRAME_TYPES, PROTOCOL_VERSION, decodeServerFrame, encodeFrame, signToken, type ServerFrame,
} from '../../../relay/protocol/src/index.js';
import { createPrng, type Prng } from '../../../loadgen/src/rate/prng.js';
import { ALWAYS_REJECTED, FUZZ_CATEGORIES, buildProbe, type CaseContext, type FuzzCategory, type Probe } from './cases.js';
import { ABNORMAL_CLOSE, isDocumentedCloseCode, isDocumentedErrorCode } from './documented.js';

export interface FuzzOptions {
  readonly relays: readonly string[];
  /** The relays' token secret (valid hellos; bad-token probes forge around it). */
  readonly secret: string;
  /** Lanes: connections in use at once (a hello storm briefly adds its own). */
  readonly connections: number;
  readonly durationMs: number;
  /** Probes started per second over all lanes (default: no cap). */
  readonly probesPerSec?: number;
  readonly seed?: number;
  /** Prefix of every fuzz userId (distinct from the users whose traffic is measured). */
  readonly userPrefix?: string;
  readonly maxPayloadBytes?: number;
  /** The relays' per-connection burst: floods send this many pings and more. */
  readonly rateBurst: number;
  readonly helloTimeoutMs?: number;
  /** Relative weights (default 1; the slow categories less). 0 leaves a category out. */
  readonly weights?: Partial<Record<FuzzCategory, number>>;
  readonly sourceAddresses?: readonly string[];
}

/** What one probe saw. */
interface Outcome {
  inputs: number;
  errors: number[];
  errorsWithId: number;
  /** The relay's close code (null: we closed first, or no connection). */
  close: number | null;
  /** Extra closes in a storm (one per socket the relay closed). */
  stormCloses: number[];
  http: number | null;
  connectFailed: boolean;
  /** A valid hello was not welcomed (only for probes that needed one). */
  setupFailed: boolean;
  undecodable: number;
  /** A control input that is fine to let through (e.g. a normal close the relay echoes). */
  benign: boolean;
}

export interface CategoryReport {
  probes: number;
  inputs: number;
  /** Probes that drew at least one error frame or close from the relay. */
  rejected: number;
  /** Probes the relay let through without complaint. */
  accepted: number;
  connectFailed: number;
  setupFailed: number;
  /** "e<code>…+c<close>" → probes. */
  outcomes: Record<string, number>;
}

export interface FuzzReport {
  readonly durationMs: number;
  readonly connections: number;
  readonly probes: number;
  readonly inputs: number;
  readonly categories: Record<FuzzCategory, CategoryReport>;
  /** Error frames by `error.code`; close codes by code (sent by the relay). */
  readonly errorCodes: Record<string, number>;
  readonly closeCodes: Record<string, number>;
  readonly httpStatuses: Record<string, number>;
  /** Error frames that named the msgId / reqId they refuse. */
  readonly errorsWithId: number;
  readonly undocumented: { readonly errorCodes: Record<string, number>; readonly closeCodes: Record<string, number>; readonly samples: string[] };
  /** Server frames the reference decoder refused (a relay bug). */
  readonly undecodableServerFrames: number;
  /** Always-rejected categories with a probe the relay let through (first few, for the log). */
  readonly acceptedSamples: string[];
}

const DEFAULT_WEIGHTS: Partial<Record<FuzzCategory, number>> = { 'no-hello': 0.05, 'hello-storm': 0.2, flood: 0.3, 'keys-flood': 0.2, oversized: 0.5, 'forbidden-confirm': 0.5 };

class Pacer {
  #next = performance.now();
  readonly #gapMs: number;
  constructor(perSec: number | undefined) {
    this.#gapMs = perSec === undefined || perSec <= 0 ? 0 : 1000 / perSec;
  }
  async take(): Promise<void> {
    if (this.#gapMs === 0) return;
    const now = performance.now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#gapMs;
    if (at > now) await sleep(at - now);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const add = (m: Record<string, number>, k: string | number, n = 1) => (m[String(k)] = (m[String(k)] ?? 0) + n);

let epochCounter = Date.now() * 1000;

/** Runs the fuzz until `durationMs` has passed and every probe has finished. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const prefix = options.userPrefix ?? `fz${Date.now().toString(36)}`;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const weights = FUZZ_CATEGORIES.map((c) => Math.max(0, options.weights?.[c] ?? DEFAULT_WEIGHTS[c] ?? 1));
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const enabled = FUZZ_CATEGORIES.filter((_, i) => weights[i]! > 0);
  const categories = Object.fromEntries(
    FUZZ_CATEGORIES.map((c) => [c, { probes: 0, inputs: 0, rejected: 0, accepted: 0, connectFailed: 0, setupFailed: 0, outcomes: {} } satisfies CategoryReport]),
  ) as Record<FuzzCategory, CategoryReport>;
  const errorCodes: Record<string, number> = {};
  const closeCodes: Record<string, number> = {};
  const httpStatuses: Record<string, number> = {};
  const undocErrors: Record<string, number> = {};
  const undocCloses: Record<string, number> = {};
  const samples: string[] = [];
  const acceptedSamples: string[] = [];
  let errorsWithId = 0;
  let undecodable = 0;
  let sources = 0;
  const source = () => (options.sourceAddresses === undefined || options.sourceAddresses.length === 0 ? undefined : options.sourceAddresses[sources++ % options.sourceAddresses.length]);
  const pacer = new Pacer(options.probesPerSec);
  const t0 = performance.now();
  const deadline = t0 + options.durationMs;

  const record = (category: FuzzCategory, o: Outcome, detail: string) => {
    const c = categories[category];
    c.probes++;
    c.inputs += o.inputs;
    if (o.connectFailed) c.connectFailed++;
    if (o.setupFailed) c.setupFailed++;
    if (o.connectFailed || o.setupFailed) return;
    errorsWithId += o.errorsWithId;
    undecodable += o.undecodable;
    const closes = [...(o.close === null ? [] : [o.close]), ...o.stormCloses];
    for (const code of o.errors) {
      add(errorCodes, code);
      if (!isDocumentedErrorCode(code)) {
        add(undocErrors, code);
        if (samples.length < 20) samples.push(`${category}: error ${code} (${detail})`);
      }
    }
    for (const code of closes) {
      add(closeCodes, code);
      if (!isDocumentedCloseCode(code)) {
        add(undocCloses, code);
        if (samples.length < 20) samples.push(`${category}: close ${code} (${detail})`);
      }
    }
    if (o.http !== null) add(httpStatuses, o.http);
    const rejected = o.errors.length > 0 || closes.length > 0 || (o.http !== null && o.http !== 101);
    if (rejected) c.rejected++;
    else {
      c.accepted++;
      if (ALWAYS_REJECTED.has(category) && !o.benign && acceptedSamples.length < 20) acceptedSamples.push(`${category}: ${detail}`);
    }
    const uniq = [...new Set(o.errors)].sort((a, b) => a - b);
    const key = [...uniq.map((e) => `e${e}`), ...(o.close === null ? [] : [`c${o.close}`]), ...(o.stormCloses.length > 0 ? [`${o.stormCloses.length}×c${[...new Set(o.stormCloses)].join('/')}`] : []), ...(o.http !== null && o.http !== 101 ? [`http${o.http}`] : [])].join('+') || 'accepted';
    add(c.outcomes, key);
  };

  const lane = async (index: number) => {
    const prng = createPrng((options.seed ?? 1) * 1000 + index);
    const user = `${prefix}L${index}`;
    let first = true;
    while (performance.now() < deadline) {
      await pacer.take();
      if (performance.now() >= deadline) break;
      // The first probe of each lane walks the categories in order, so a short run still covers them all.
      const category = first ? enabled[index % enabled.length]! : pickWeighted(prng, weights, totalWeight);
      first = false;
      const ctx: CaseContext = { prng, secret: options.secret, user, sink: `${prefix}sink`, maxPayloadBytes, floodFrames: options.rateBurst + 500, keyFetches: Math.min(300, options.rateBurst), helloTimeoutMs };
      const probe = buildProbe(category, ctx);
      const url = options.relays[Math.floor(prng.next() * options.relays.length)]!;
      const outcome = await runProbe(probe, url, { secret: options.secret, user, storm: `${prefix}S${index}`, localAddress: source(), helloTimeoutMs });
      record(category, outcome, describe(probe));
    }
  };
  await Promise.all(Array.from({ length: options.connections }, (_, i) => lane(i)));

  const probes = Object.values(categories).reduce((a, c) => a + c.probes, 0);
  const inputs = Object.values(categories).reduce((a, c) => a + c.inputs, 0);
  return {
    durationMs: Math.round(performance.now() - t0),
    connections: options.connections,
    probes,
    inputs,
    categories,
    errorCodes,
    closeCodes,
    httpStatuses,
    errorsWithId,
    undocumented: { errorCodes: undocErrors, closeCodes: undocCloses, samples },
    undecodableServerFrames: undecodable,
    acceptedSamples,
  };
}

function pickWeighted(prng: Prng, weights: readonly number[], total: number): FuzzCategory {
  let x = prng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i]!;
    if (x < 0) return FUZZ_CATEGORIES[i]!;
  }
  return FUZZ_CATEGORIES[FUZZ_CATEGORIES.length - 1]!;
}

function describe(p: Probe): string {
  switch (p.shape) {
    case 'ws':
      return `${p.afterHello ? 'after' : 'before'} hello, ${p.inputs.length} input(s), first ${p.inputs[0]?.kind === 'text' ? `text(${p.inputs[0].text.length})` : `bin ${Buffer.from(p.inputs[0]?.kind === 'binary' ? p.inputs[0].bytes.subarray(0, 24) : []).toString('hex')}`}`;
    case 'storm':
      return `${p.connections} hellos of one user`;
    case 'raw':
      return p.what;
    case 'idle':
      return 'no hello';
  }
}

interface ProbeEnv {
  readonly secret: string;
  readonly user: string;
  readonly storm: string;
  readonly localAddress: string | undefined;
  readonly helloTimeoutMs: number;
}

function emptyOutcome(inputs: number): Outcome {
  return { inputs, errors: [], errorsWithId: 0, close: null, stormCloses: [], http: null, connectFailed: false, setupFailed: false, undecodable: 0, benign: false };
}

async function runProbe(probe: Probe, url: string, env: ProbeEnv): Promise<Outcome> {
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
      return rawProbe(url, env, probe.frames, probe.echo);
  }
}

/** One ws-library connection with its frames and close recorded. */
class Conn {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  closeCode: number | null = null;
  weClosed = false;
  undecodable = 0;
  readonly opened: Promise<boolean>;
  readonly closed: Promise<number>;
  #waiters = new Set<() => void>();

  constructor(url: string, localAddress: string | undefined) {
    this.ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000, ...(localAddress === undefined ? {} : { localAddress }) });
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('unexpected-response', () => resolve(false));
      this.ws.once('close', () => resolve(false));
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code: number) => {
        this.closeCode = code;
        this.#notify();
        resolve(code);
      });
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        this.undecodable++;
        return;
      }
      try {
        this.frames.push(decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      } catch {
        this.undecodable++;
      }
      this.#notify();
    });
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  /** Resolves when `pred` holds or the connection closed or `ms` passed. */
  until(pred: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (pred() || this.closeCode !== null) done();
      };
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(check);
      check();
    });
  }

  /** Closes from our side (unless the relay already did) and waits for the socket to go. */
  async finish(): Promise<void> {
    if (this.closeCode === null) {
      // CLOSING before we asked: the relay's close frame is in, the handshake is still finishing.
      this.weClosed = this.ws.readyState !== WebSocket.CLOSING;
      if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
      else this.ws.terminate();
      const t = setTimeout(() => this.ws.terminate(), 2000);
      await this.closed;
      clearTimeout(t);
    }
  }

  hello(user: string, secret: string): void {
    this.ws.send(encodeFrame({ t: FRAME_TYPES.hello, v: PROTOCOL_VERSION, token: signToken({ sub: user, expMs: Date.now() + 600_000 }, secret), epoch: ++epochCounter }));
  }

  welcomed(): boolean {
    return this.frames.some((f) => f.t === FRAME_TYPES.welcome);
  }
}

function collect(c: Conn, o: Outcome, skipFrames = 0): void {
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

async function wsProbe(url: string, env: ProbeEnv, afterHello: boolean, inputs: number, waitMs: number, sendInputs: (c: Conn) => void): Promise<Outcome> {
  const o = emptyOutcome(inputs);
  const c = new Conn(url, env.localAddress);
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
  const conns = Array.from({ length: n }, () => new Conn(url, env.localAddress));
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

/** Raw TCP: upgrade by hand, then send frames the ws client library refuses to produce. */
async function rawProbe(url: string, env: ProbeEnv, frames: readonly Uint8Array[], echo: number | undefined): Promise<Outcome> {
  const o = emptyOutcome(frames.length);
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'wss:' ? 443 : 80));
  let socket: Socket;
  try {
    socket = connect({ host: u.hostname, port, ...(env.localAddress === undefined ? {} : { localAddress: env.localAddress }) });
  } catch {
    o.connectFailed = true;
    return o;
  }
  let buf = Buffer.alloc(0);
  let upgraded = false;
  let closeSeen: number | null = null;
  let ended = false;
  let weGaveUp = false;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      weGaveUp = true;
      socket.destroy();
      resolve();
    }, 5000);
    socket.on('error', () => {});
    socket.on('close', () => {
      ended = !weGaveUp;
      clearTimeout(timer);
      resolve();
    });
    socket.on('connect', () => {
      socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        o.http = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        if (o.http !== 101) return void socket.destroy();
        upgraded = true;
        for (const f of frames) socket.write(f);
      }
      // Server frames: unmasked; we only need their opcode and payload.
      for (;;) {
        if (buf.length < 2) break;
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) break;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) break;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) break;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === 8) {
          closeSeen = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
          socket.end();
        } else if (opcode === 2) {
          try {
            const f = decodeServerFrame(new Uint8Array(payload));
            if (f.t === FRAME_TYPES.error) o.errors.push(f.code);
          } catch {
            o.undecodable++;
          }
        }
      }
    });
  });
  await done;
  if (o.http === null) o.connectFailed = true;
  else if (upgraded) o.close = closeSeen ?? (ended ? ABNORMAL_CLOSE : null);
  if (echo !== undefined && o.close === echo) {
    o.close = null; // our own close, echoed
    o.benign = true;
  }
  return o;
}
