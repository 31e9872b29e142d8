/**
 * Human progress on stderr, once per progress event: a bar redrawn in place on a TTY, plain lines
 * otherwise (CI logs). Machine-readable progress goes to stdout as JSON lines (process.ts).
 */
import type { WorkerProgress } from './contract.js';

const BAR_WIDTH = 24;

export function formatUs(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(2)}s`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)}ms`;
  return `${Math.round(us)}µs`;
}

/** One line, no newline: elapsed, phase, sent/s, delivered/s, p50/p99 of the last interval, errors, connections. */
export function formatProgress(p: WorkerProgress): string {
  return (
    `[${p.workerId}] ${(p.elapsedMs / 1000).toFixed(1)}s ${p.phase.padEnd(10)} ` +
    `sent ${p.sentPerSec.toFixed(0)}/s delivered ${p.deliveredPerSec.toFixed(0)}/s ` +
    `e2e p50 ${formatUs(p.p50Us)} p99 ${formatUs(p.p99Us)} errors ${p.errors} conns ${p.connected}`
  );
}

export function progressBar(fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * BAR_WIDTH);
  return `[${'#'.repeat(full)}${'-'.repeat(BAR_WIDTH - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

export class ProgressPrinter {
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean };
  #inPlace = false;

  constructor(out: NodeJS.WritableStream & { isTTY?: boolean }) {
    this.#out = out;
  }

  print(p: WorkerProgress): void {
    if (this.#out.isTTY === true) {
      const line = `${p.fraction === undefined ? '' : `${progressBar(p.fraction)} `}${formatProgress(p)}`;
      this.#out.write(`\r\x1b[2K${line}`);
      this.#inPlace = true;
      if (p.phase === 'done') this.end();
    } else this.#out.write(`${formatProgress(p)}\n`);
  }

  /** Ends an in-place line (before other output). */
  end(): void {
    if (this.#inPlace) this.#out.write('\n');
    this.#inPlace = false;
  }
}
