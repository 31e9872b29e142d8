/**
 * A DelayProxy on its own thread, as a network's delay would be: its timers fire on time while
 * the test's event loop (which the loadgen shares) is busy. In that loop, a delayed frame left
 * late by however long the loop was busy at its due time — measured: shifts of 53–62 ms for
 * 50 ms added, 1–4 ms more than the same proxy outside the process. Fixed delays; `stall()` and
 * `resume()` are posted to the thread (they take effect within a fraction of a millisecond).
 */
import { once } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DelayProxy, type HeldFrames } from './delay-proxy.js';

interface ThreadOptions {
  readonly upstreamUrl: string;
  readonly upMs?: number;
  readonly downMs?: number;
}
type Command = 'stall' | 'resume' | 'close' | 'held';
const MARK = 'relaybench-delay-proxy-thread';

export class ThreadedDelayProxy {
  readonly url: string;
  readonly #worker: Worker;

  private constructor(url: string, worker: Worker) {
    this.url = url;
    this.#worker = worker;
  }

  static async start(options: ThreadOptions): Promise<ThreadedDelayProxy> {
    const worker = new Worker(new URL(import.meta.url), { workerData: { [MARK]: options } });
    const [url] = (await once(worker, 'message')) as [string];
    return new ThreadedDelayProxy(url, worker);
  }

  stall(): void {
    this.#worker.postMessage('stall' satisfies Command);
  }

  resume(): void {
    this.#worker.postMessage('resume' satisfies Command);
  }

  /** Hold times of the frames forwarded since the last call (see DelayProxy.takeHeld). */
  async takeHeld(): Promise<HeldFrames> {
    const reply = once(this.#worker, 'message');
    this.#worker.postMessage('held' satisfies Command);
    return ((await reply) as [HeldFrames])[0];
  }

  async close(): Promise<void> {
    const exited = once(this.#worker, 'exit');
    this.#worker.postMessage('close' satisfies Command);
    await exited;
  }
}

async function serve(options: ThreadOptions): Promise<void> {
  const proxy = await DelayProxy.start(options);
  parentPort!.on('message', (command: Command) => {
    if (command === 'stall') proxy.stall();
    else if (command === 'resume') proxy.resume();
    else if (command === 'held') parentPort!.postMessage(proxy.takeHeld());
    else void proxy.close().then(() => process.exit(0));
  });
  parentPort!.postMessage(proxy.url);
}

const threadOptions = isMainThread ? undefined : (workerData as Record<string, ThreadOptions> | null)?.[MARK];
if (threadOptions !== undefined) void serve(threadOptions);
