/**
 * What a wake-up costs on this machine (a benchmark, not a test):
 *   node dist/bench/benchmarks/wake-cost.js [--rounds N]
 *
 * At moderate rates every message of a run is a chain of processes waking one another (a
 * WebSocket frame, a Kafka request, its response); the run's resource lines count them as
 * context switches per message. This measures the price of one such wake on this host, with
 * nothing relaybench in the way, so a run's CPU per message can be read as "switches × price":
 *   - a timer wake: a process sleeps 2 ms, wakes, does nothing, sleeps again;
 *   - a loopback round trip between two processes (100 B each way), back to back and with the
 *     client idle 2 ms and 5 ms between round trips (the shape of traffic at 200–500 msg/s);
 *   - a first touch of a 4 KiB page (a page fault) and a trivial system call (fstat).
 * CPU is the processes' own utime + stime (process.cpuUsage), per event. On 2 shared cores take
 * the machine lock first (`rb-heavy node …`): anything else running changes the figures.
 * About 15 s. Exit 0 (the figures are reported, not judged).
 */
import { fork } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { benchArgs, benchCount } from '../../testbed/bench/args.js';

benchArgs({
  usage: `usage: node dist/bench/benchmarks/wake-cost.js [--rounds N]

What one wake-up costs on this host (a timer, a loopback round trip, a page fault), to read a
run's switches per message with. About 15 s.
  --rounds N   rounds per measurement (default 1000)
  -h, --help   this text
exit codes: 0 the figures were printed (reported, not judged); 2 bad arguments.`,
  valued: ['--rounds'],
  internal: ['--peer'],
});

const argv = process.argv.slice(2);
const ROUNDS = benchCount('--rounds', 1000);

const cpuUs = (u: NodeJS.CpuUsage) => u.user + u.system;

/** The echo peer: a child process that writes back what it reads and reports its CPU when asked. */
function peer(port: number): void {
  const s = createConnection(port, '127.0.0.1');
  s.setNoDelay(true);
  s.on('data', (d) => s.write(d));
  process.on('message', () => process.send!(cpuUs(process.cpuUsage())));
  process.on('disconnect', () => process.exit(0));
}

async function timerWake(): Promise<number> {
  const c0 = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) await sleep(2);
  return cpuUs(process.cpuUsage(c0)) / ROUNDS;
}

/** µs of CPU per round trip: [this side, the peer]. */
async function roundTrips(gapMs: number): Promise<[number, number]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const child = fork(process.argv[1]!, ['--peer', String((server.address() as { port: number }).port)]);
  const sock = await new Promise<Socket>((r) => server.once('connection', r));
  sock.setNoDelay(true);
  const peerCpu = () => new Promise<number>((r) => (child.send('cpu'), child.once('message', (m) => r(m as number))));
  const ask = () => new Promise<void>((r) => (sock.once('data', () => r()), sock.write(Buffer.alloc(100))));
  for (let i = 0; i < 50; i++) await ask(); // warm both sides' JIT
  const [c0, p0] = [process.cpuUsage(), await peerCpu()];
  for (let i = 0; i < ROUNDS; i++) {
    await ask();
    if (gapMs > 0) await sleep(gapMs);
  }
  const mine = cpuUs(process.cpuUsage(c0)) / ROUNDS;
  const theirs = ((await peerCpu()) - p0) / ROUNDS;
  child.disconnect();
  sock.destroy();
  server.close();
  return [mine, theirs];
}

function pageFault(): number {
  const pages = 16_384; // 64 MiB, not yet touched
  const buf = Buffer.allocUnsafeSlow(pages * 4096);
  const c0 = process.cpuUsage();
  for (let i = 0; i < pages; i++) buf[i * 4096] = 1;
  return cpuUs(process.cpuUsage(c0)) / pages;
}

function syscall(): number {
  const n = 20_000;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) fstatSync(0);
  return cpuUs(process.cpuUsage(c0)) / n;
}

async function main(): Promise<void> {
  process.stderr.write(`wake-cost: ${ROUNDS} rounds each, about 15 s\n`);
  const f = (x: number) => x.toFixed(1).padStart(7);
  const rows: string[] = [];
  rows.push(`timer wake (2 ms sleep, no work)            ${f(await timerWake())} µs per wake`);
  for (const gap of [0, 2, 5]) {
    const [a, b] = await roundTrips(gap);
    rows.push(`loopback round trip, client idle ${gap} ms     ${f(a)} µs client + ${f(b)} µs echo = ${f(a + b)} µs`);
  }
  rows.push(`first touch of a 4 KiB page (page fault)    ${f(pageFault())} µs per page`);
  rows.push(`fstat system call (with Node's binding)     ${f(syscall())} µs per call`);
  process.stdout.write(`${rows.join('\n')}\n`);
}

if (argv[0] === '--peer') peer(Number(argv[1]));
else void main();
