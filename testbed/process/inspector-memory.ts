/**
 * A relay process's memory after a full GC, read through the V8 inspector (Chrome DevTools
 * Protocol) on loopback: HeapProfiler.collectGarbage, then process.memoryUsage() evaluated in the
 * relay. Benchmarks start relays with `--inspect=127.0.0.1:<port>` (NODE_OPTIONS) to use it;
 * garbage would otherwise blur per-connection and leak measurements.
 */
import WebSocket from 'ws';

export interface ProcessMemory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
}

/** NODE_OPTIONS for a child that the inspector may reach on `port` (loopback only). */
export function inspectEnv(port: number): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:${port}`.trim() };
}

export async function memoryAfterGc(inspectPort: number): Promise<ProcessMemory> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const my = ++id;
      const timer = setTimeout(() => reject(new Error(`inspector: ${method} timed out`)), 60_000);
      const onMessage = (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown };
        if (msg.id !== my) return;
        clearTimeout(timer);
        ws.off('message', onMessage);
        resolve(msg.result);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: my, method, params }));
    });
  try {
    for (let i = 0; i < 3; i++) await call('HeapProfiler.collectGarbage');
    const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as {
      result: { value: string };
    };
    return JSON.parse(r.result.value) as ProcessMemory;
  } finally {
    ws.close();
  }
}
