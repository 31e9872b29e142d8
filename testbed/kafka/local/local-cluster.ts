import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync, readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkajsAdapter } from '../../../relay/kafka/src/index.js';
import { kafkaError } from '../errors.js';
import type { LocalKafkaCluster, LocalNode } from '../cluster.js';
import { freePorts } from '../../process/ports.js';
import { spawnSupervised, stopSupervised, type Supervised } from '../../process/supervisor.js';
import { checkJava, ensureKafkaJars, javaBinary, kafkaClasspath, KAFKA_VERSION } from './jars.js';
import { classArchiveFlags, classArchivePath, ensureClassArchive } from './class-archive.js';
import { LOG4J2_PROPERTIES, nodeProperties, randomClusterId, type NodePorts } from './properties.js';

export interface LocalClusterOptions {
  /** 1 (latency gating) or 3 (replication and failover). */
  readonly brokers: 1 | 3;
  /** Folder for data and logs; a fresh temporary folder by default. */
  readonly dir?: string;
  /** Heap per JVM; default 512 MiB for one node, 384 MiB each for three (2-core, small machine). */
  readonly heapMb?: number;
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Write the brokers' class archive here when the JVM exits (class-archive.ts); one broker, with `dir`. */
  readonly archiveTo?: string;
}

/**
 * Real Apache Kafka in KRaft mode from the official jars: combined broker+controller JVMs on
 * loopback with free ports. Readiness = the cluster's metadata lists every broker.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalKafkaCluster> {
  const log = options.log ?? (() => {});
  const java = javaBinary(); // one choice for the format runs and the brokers
  const javaMajor = checkJava(java);
  await ensureKafkaJars({ log });
  const count = options.brokers;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'relaybench-kafka-'));
  mkdirSync(dir, { recursive: true });
  const layout: Layout = {
    java,
    cp: kafkaClasspath(),
    dir,
    log4j: join(dir, 'log4j2.properties'),
    heapMb: options.heapMb ?? (count === 1 ? 512 : 384),
    mapArchive: options.archiveTo === undefined ? classArchiveFlags(classArchivePath(java)) : [],
    writeArchive: options.archiveTo === undefined ? [] : [`-XX:ArchiveClassesAtExit=${options.archiveTo}`],
  };
  const nodes = await prepareNodes(layout, count);
  await formatNodes(layout, nodes, randomClusterId(randomBytes));

  const procs = new Map<number, Supervised>();
  const launch = (node: NodePorts) => procs.set(node.nodeId, launchNode(layout, node));
  for (const node of nodes) launch(node);

  const brokers = nodes.map((n) => `127.0.0.1:${n.brokerPort}`);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // A temporary folder of ours goes with the cluster, and then a controlled shutdown has
    // nothing to keep: SIGKILL (three brokers stopping together wait ≈ 5 s for a quorum that is
    // gone). A folder the caller named is kept: controlled shutdown first, SIGKILL after a grace.
    const discard = options.dir === undefined && process.env.RELAYBENCH_KEEP_KAFKA_DIR === undefined;
    await Promise.all([...procs.values()].map((p) => stopSupervised(p, 8000, discard ? 'SIGKILL' : 'SIGTERM')));
    if (discard) rmSync(dir, { recursive: true, force: true });
  };
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;

  try {
    await waitReady(brokers, count, readyTimeoutMs, () => failIfExited(procs, layout));
  } catch (e) {
    await stop();
    throw e;
  }
  log(`Kafka ${KAFKA_VERSION} on Java ${javaMajor || '?'}: ${count} broker(s) ready at ${brokers.join(',')} (logs in ${dir})`);

  return {
    provider: 'local',
    brokers,
    logDir: dir,
    kafkaVersion: KAFKA_VERSION,
    nodes: nodes.map((n) => localNode(n, procs)),
    stop,
    async kill(nodeId: number, signal: NodeJS.Signals = 'SIGKILL') {
      const p = procs.get(nodeId);
      if (p === undefined) throw kafkaError('RB_KAFKA_BAD_OPTION', `No node ${nodeId}.`);
      await stopSupervised(p, 10_000, signal);
    },
    async restart(nodeId: number) {
      const node = nodes.find((n) => n.nodeId === nodeId);
      if (node === undefined) throw kafkaError('RB_KAFKA_BAD_OPTION', `No node ${nodeId}.`);
      const p = procs.get(nodeId);
      if (p !== undefined) await stopSupervised(p, 10_000);
      launch(node);
      await waitReady(brokers, count, readyTimeoutMs, () => {});
    },
  };
}

/** What every JVM of one cluster shares: the java binary, the classpath, the folder, the logging config, the heap. */
interface Layout {
  readonly java: string;
  readonly cp: string;
  readonly dir: string;
  readonly log4j: string;
  readonly heapMb: number;
  /** The class archive's flag for every JVM of the cluster (none while one is being written). */
  readonly mapArchive: readonly string[];
  /** The broker's flag that writes the archive at exit (archiveTo), else none. */
  readonly writeArchive: readonly string[];
}

const nodeDirOf = (layout: Layout, nodeId: number) => join(layout.dir, `node-${nodeId}`);

/** Free ports for every node, the logging config, and each node's folder with its server.properties. */
async function prepareNodes(layout: Layout, count: number): Promise<NodePorts[]> {
  const ports = await freePorts(count * 2);
  const nodes: NodePorts[] = Array.from({ length: count }, (_, i) => ({
    nodeId: i + 1,
    brokerPort: ports[2 * i]!,
    controllerPort: ports[2 * i + 1]!,
  }));
  writeFileSync(layout.log4j, LOG4J2_PROPERTIES);
  for (const node of nodes) {
    const nodeDir = nodeDirOf(layout, node.nodeId);
    mkdirSync(nodeDir, { recursive: true });
    writeFileSync(join(nodeDir, 'server.properties'), nodeProperties(node, nodes, join(nodeDir, 'data')));
  }
  return nodes;
}

/** Formatting is a short JVM run per node: run them together. */
async function formatNodes(layout: Layout, nodes: readonly NodePorts[], clusterId: string): Promise<void> {
  const run = promisify(execFile);
  const formats = nodes.map(async (node) => {
    const props = join(nodeDirOf(layout, node.nodeId), 'server.properties');
    try {
      await run(layout.java, [
        '-Xmx128m',
        ...layout.mapArchive,
        `-Dlog4j2.configurationFile=${layout.log4j}`,
        '-cp',
        layout.cp,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        props,
        '--ignore-formatted',
      ]);
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string };
      throw kafkaError(
        'RB_KAFKA_START_FAILED',
        `Formatting node ${node.nodeId} failed: ${(err.stderr ?? err.stdout ?? String(e)).slice(-800)}`,
      );
    }
  });
  await Promise.all(formats);
}

/** One broker JVM, supervised, its stdout and stderr appended to its folder's server.log. */
function launchNode(layout: Layout, node: NodePorts): Supervised {
  const nodeDir = nodeDirOf(layout, node.nodeId);
  const out = createWriteStream(join(nodeDir, 'server.log'), { flags: 'a' });
  const jvm = [
    `-Xms${layout.heapMb}m`,
    `-Xmx${layout.heapMb}m`,
    ...layout.mapArchive,
    ...layout.writeArchive,
    // Serial GC, not G1: a broker here keeps little live data (a few MB of metadata and
    // indexes; the log lives in the page cache), so a young collection takes a few ms, and G1's
    // write barriers and concurrent refinement threads cost CPU on every request on a 2-core
    // host. Measured in docs/measurements.md.
    '-XX:+UseSerialGC',
    '-XX:MaxInlineLevel=15',
    '-XX:+ExitOnOutOfMemoryError',
    '-XX:ActiveProcessorCount=2',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${layout.log4j}`,
    `-Drelaybench.cluster=${layout.dir}`,
    '-cp',
    layout.cp,
    'kafka.Kafka',
    join(nodeDir, 'server.properties'),
  ];
  const s = spawnSupervised(`kafka-${node.nodeId}`, layout.java, jvm);
  s.child.stdout?.pipe(out);
  s.child.stderr?.pipe(out);
  return s;
}

/** While waiting for readiness: a broker that already exited fails the start, with its log's tail. */
function failIfExited(procs: ReadonlyMap<number, Supervised>, layout: Layout): void {
  for (const [id, p] of procs) {
    if (p.child.exitCode !== null) {
      const tail = tailOf(join(nodeDirOf(layout, id), 'server.log'));
      throw kafkaError('RB_KAFKA_START_FAILED', `Broker ${id} exited with code ${p.child.exitCode}. Log tail:\n${tail}`);
    }
  }
}

/** A node as the cluster's users see it: its pid only while its JVM runs (a killed node has none). */
function localNode(n: NodePorts, procs: ReadonlyMap<number, Supervised>): LocalNode {
  return {
    nodeId: n.nodeId,
    broker: `127.0.0.1:${n.brokerPort}`,
    pid: () => {
      const p = procs.get(n.nodeId);
      return p !== undefined && p.child.exitCode === null && p.child.signalCode === null ? p.pid : undefined;
    },
  };
}

function tailOf(file: string, bytes = 3000): string {
  if (!existsSync(file)) return '(no log)';
  const text = readFileSync(file, 'utf8');
  return text.slice(-bytes);
}

/** Polls cluster metadata until `count` brokers answer. `check` throws if a JVM died meanwhile. */
export async function waitReady(brokers: readonly string[], count: number, timeoutMs: number, check: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    check();
    try {
      const adapter = createKafkajsAdapter({ brokers, clientId: 'relaybench-ready', connectionTimeoutMs: 1000, retries: 0, rideOutMs: 0 });
      const admin = await adapter.admin();
      try {
        const info = await admin.describeCluster();
        if (info.brokers.length >= count) return;
        lastError = `${info.brokers.length}/${count} brokers registered`;
      } finally {
        await admin.close();
      }
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    await sleep(300);
  }
  throw kafkaError('RB_KAFKA_NOT_READY', `Last answer: ${lastError}`);
}

/** `relaybench kafka fetch`: the brokers' class archive for the java they run on, once (class-archive.ts). */
export async function ensureBrokerClassArchive(log?: (line: string) => void): Promise<void> {
  const java = javaBinary();
  checkJava(java);
  await ensureClassArchive(java, (o) => startLocalCluster({ brokers: 1, dir: o.dir, archiveTo: o.archiveTo }), { log });
}
