import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';

/**
 * Owns child processes (Kafka JVMs, relays, workers, Prometheus) so that none outlives the run.
 *
 * Three layers, because each covers a way the parent can end:
 * - `stopAll()` on a normal stop: SIGTERM, then SIGKILL after `graceMs`;
 * - `process.on('exit')` and SIGINT/SIGTERM handlers: SIGKILL whatever is still registered —
 *   unless an owner took the first signal with `onInterrupt()` (a run that stops its workers
 *   gracefully to keep partial results); a second signal then kills everything at once;
 * - a detached shell watchdog per child that SIGKILLs it once the parent pid is gone, which covers
 *   the parent itself being SIGKILLed (Node cannot set PR_SET_PDEATHSIG).
 */
export interface Supervised {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal) when the child ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<Supervised>();
let hooksInstalled = false;
let interruptHandler: ((signal: NodeJS.Signals) => void) | undefined;
let interrupted = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const s of live) killQuietly(s.pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (interruptHandler !== undefined && !interrupted) {
        interrupted = true;
        interruptHandler(signal);
        return;
      }
      for (const s of live) killQuietly(s.pid, 'SIGKILL');
      // Re-raise the default behaviour: exit with 128 + signal number.
      process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGTERM' ? 143 : 129);
    });
  }
}

/**
 * Take the first SIGINT/SIGTERM/SIGHUP instead of the kill-everything default (one owner at a
 * time). The owner must then stop its children itself; a second signal still kills them all
 * and exits. Returns the function that gives the signals back.
 */
export function onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void {
  installHooks();
  interruptHandler = handler;
  interrupted = false;
  return () => {
    if (interruptHandler === handler) interruptHandler = undefined;
  };
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function spawnSupervised(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Supervised {
  installHooks();
  // Own process group: a terminal's Ctrl-C reaches only this process, which then stops the
  // children in order (workers first, so their results are written; then relays and Kafka).
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
  const pid = child.pid;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(entry);
      resolve({ code, signal });
    });
    child.once('error', () => {
      live.delete(entry);
      resolve({ code: null, signal: null });
    });
  });
  const entry: Supervised = { name, child, pid, exited };
  live.add(entry);
  startWatchdog(pid);
  return entry;
}

function startWatchdog(childPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${childPid} 2>/dev/null; do sleep 1; done; kill -9 ${childPid} 2>/dev/null`;
  const dog = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  dog.unref();
}

/** SIGTERM, wait up to graceMs, then SIGKILL. Resolves once the process is gone. */
export async function stopSupervised(s: Supervised, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  killQuietly(s.pid, signal);
  const timer = setTimeout(() => killQuietly(s.pid, 'SIGKILL'), graceMs);
  try {
    await s.exited;
  } finally {
    clearTimeout(timer);
  }
}

export async function stopAll(graceMs = 10_000): Promise<void> {
  await Promise.all([...live].map((s) => stopSupervised(s, graceMs)));
}

export async function waitForExit(s: Supervised): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  await once(s.child, 'exit');
}
