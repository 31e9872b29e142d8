import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { javaVersionText, kafkaClasspath, kafkaHome } from './jars.js';

/**
 * A dynamic CDS archive (JDK 13+, `-XX:ArchiveClassesAtExit`) of the classes a broker loads as
 * it starts: with it a broker JVM is ready ≈ 1.2 s sooner on the 2-core machine (3.9–4.3 s
 * against 5.2–6.8 s for one broker, 10.1–10.5 against 13.6–14.3 s for three; docs/kafka-local.md). It
 * changes start-up only: the JIT compiles as before, so a run's figures do not move.
 *
 * One archive per java build, beside the jars: a JVM refuses an archive made by another build or
 * for other jars (a line or two in its server.log) and starts without it, so a stale archive
 * costs only the second it would have saved.
 */
export function classArchivePath(java: string): string {
  const key = createHash('sha256')
    .update(`${java}\n${javaVersionText(java) ?? ''}`)
    .digest('hex')
    .slice(0, 16);
  return join(kafkaHome(), 'cds', `broker-${key}.jsa`);
}

/** The JVM flag that maps the archive, when there is one. */
export function classArchiveFlags(archive: string): string[] {
  return existsSync(archive) ? [`-XX:SharedArchiveFile=${archive}`] : [];
}

/** What `ensureClassArchive` needs of the local provider: a broker whose JVM writes the archive when it exits. */
export type StartArchivingBroker = (options: { dir: string; archiveTo: string }) => Promise<{ stop(): Promise<void> }>;

/**
 * Makes the archive for `java` once (`relaybench kafka fetch`): one broker is started with
 * `-XX:ArchiveClassesAtExit`, waited for, and stopped cleanly, which writes the archive (≈ 10 s).
 * Written under a temporary name and renamed, so a concurrent fetch or a killed one leaves
 * no half archive. Failing costs only the speed-up: the reason is logged, nothing thrown.
 */
export async function ensureClassArchive(
  java: string,
  startBroker: StartArchivingBroker,
  options: { log?: (line: string) => void; archive?: string } = {},
): Promise<void> {
  const archive = options.archive ?? classArchivePath(java);
  const log = options.log ?? (() => {});
  if (existsSync(archive)) return;
  mkdirSync(dirname(archive), { recursive: true });
  const partial = `${archive}.partial-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'relaybench-cds-'));
  log('making the brokers’ class archive (once per java; their JVMs then start ≈ 1 s sooner)…');
  try {
    const broker = await startBroker({ dir, archiveTo: partial });
    await broker.stop();
    if (!existsSync(partial) || statSync(partial).size === 0) throw new Error('the broker exited without writing it');
    if (!archiveMaps(java, partial)) throw new Error('the JVM does not map what was written (a dump cut short?)');
    renameSync(partial, archive);
    log(`class archive ready: ${archive}`);
  } catch (e) {
    log(`no class archive (brokers start without one): ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    rmSync(partial, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `-Xshare:on` fails the JVM when it cannot map the archive: a quick Kafka tool proves it usable. */
export function archiveMaps(java: string, archive: string): boolean {
  const args = ['-Xshare:on', `-XX:SharedArchiveFile=${archive}`, '-cp', kafkaClasspath(), 'kafka.tools.StorageTool', 'random-uuid'];
  return spawnSync(java, args, { encoding: 'utf8' }).status === 0;
}
