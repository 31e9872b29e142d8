/**
 * Live progress of a segment: merges the workers' progress lines (latest per worker) into one
 * view. Rates and connections add up; the latency shown is the worst worker's last-interval
 * p50/p99 (display only — results always come from merged histograms). On a TTY a progress bar
 * (cli-progress) redraws in place; otherwise one plain line every `plainEveryMs`.
 */
import cliProgress from 'cli-progress';
import type { WorkerProgress } from '../../../loadgen/src/worker/contract.js';
import { formatUs } from '../gate/evaluate.js';

const PHASE_ORDER: readonly WorkerProgress['phase'][] = ['connecting', 'warmup', 'measuring', 'draining', 'done'];

export interface ProgressSnapshot {
  readonly workers: number;
  readonly reporting: number;
  readonly phase: WorkerProgress['phase'];
  readonly sentPerSec: number;
  readonly deliveredPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly connected: number;
  readonly errors: number;
  readonly fraction: number;
  readonly elapsedMs: number;
}

export class ProgressBoard {
  readonly #latest = new Map<string, WorkerProgress>();
  readonly #workers: number;

  constructor(workers: number) {
    this.#workers = workers;
  }

  update(p: WorkerProgress): void {
    this.#latest.set(p.workerId, p);
  }

  snapshot(): ProgressSnapshot {
    const all = [...this.#latest.values()];
    const phase = all.length < this.#workers ? 'connecting' : PHASE_ORDER[Math.min(...all.map((p) => PHASE_ORDER.indexOf(p.phase)))]!;
    const sum = (f: (p: WorkerProgress) => number) => all.reduce((a, p) => a + f(p), 0);
    return {
      workers: this.#workers,
      reporting: all.length,
      phase,
      sentPerSec: Math.round(sum((p) => p.sentPerSec)),
      deliveredPerSec: Math.round(sum((p) => p.deliveredPerSec)),
      p50Us: Math.max(0, ...all.map((p) => p.p50Us)),
      p99Us: Math.max(0, ...all.map((p) => p.p99Us)),
      connected: sum((p) => p.connected),
      errors: sum((p) => p.errors),
      fraction: all.length === 0 ? 0 : Math.min(...all.map((p) => p.fraction ?? 0)) * (all.length / this.#workers),
      elapsedMs: Math.max(0, ...all.map((p) => p.elapsedMs)),
    };
  }
}

export function describeSnapshot(s: ProgressSnapshot): string {
  return `${s.phase.padEnd(10)} sent ${s.sentPerSec}/s delivered ${s.deliveredPerSec}/s · e2e p50 ${formatUs(s.p50Us)} p99 ${formatUs(s.p99Us)} · ${s.connected} connected · ${s.errors} errors`;
}

export interface ProgressView {
  update(p: WorkerProgress): void;
  end(): void;
}

export function createProgressView(options: {
  label: string;
  workers: number;
  stream: NodeJS.WriteStream;
  enabled: boolean;
  plainEveryMs?: number;
}): ProgressView {
  const board = new ProgressBoard(options.workers);
  if (!options.enabled) return { update: (p) => board.update(p), end: () => {} };
  if (options.stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        stream: options.stream,
        format: `${options.label} |{bar}| {percentage}% · {line}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        fps: 4,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(100, 0, { line: 'starting workers' });
    return {
      update(p) {
        board.update(p);
        const s = board.snapshot();
        bar.update(Math.round(s.fraction * 100), { line: describeSnapshot(s) });
      },
      end() {
        bar.stop();
      },
    };
  }
  let last = 0;
  const every = options.plainEveryMs ?? 5000;
  return {
    update(p) {
      board.update(p);
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      const s = board.snapshot();
      options.stream.write(`${options.label} ${String(Math.round(s.fraction * 100)).padStart(3)}% ${describeSnapshot(s)}\n`);
    },
    end() {},
  };
}
