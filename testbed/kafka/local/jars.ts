import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaError } from '../errors.js';

/**
 * The Apache Kafka version the local provider runs. 4.1.1 was checked with kafkajs 2.2.4
 * (produce acks=all + idempotence, consumer groups, admin): KIP-896's removal of old protocol
 * versions in 4.x did not affect the versions kafkajs negotiates. See docs/kafka-local.md.
 */
export const KAFKA_VERSION = '4.1.1';
const SCALA = '2.13';
// Kafka's runtime tree brings slf4j-api 1.7 through a transitive path; the log4j2 binding needs 2.x.
const LOG4J = '2.25.3';
const SLF4J = '2.0.17';

export function cacheRoot(): string {
  return process.env.RELAYBENCH_CACHE ?? join(homedir(), '.cache', 'relaybench');
}

export function kafkaHome(version = KAFKA_VERSION): string {
  return join(cacheRoot(), `kafka-${version}`);
}

/** The classpath glob for `java -cp`, once the jars are present. */
export function kafkaClasspath(version = KAFKA_VERSION): string {
  return join(kafkaHome(version), 'lib', '*');
}

export function jarsPresent(version = KAFKA_VERSION): boolean {
  const home = kafkaHome(version);
  return existsSync(join(home, 'lib', '.complete'));
}

/**
 * The java that runs the brokers: `$JAVA_HOME/bin/java` when JAVA_HOME is set, as Kafka's own
 * scripts choose it, else `java` on PATH. Kafka recommends the newest LTS JDK for efficiency;
 * on the 2-core reference machine JDK 25 cost the broker ≈ 10 % less CPU than JDK 17
 * (docs/measurements.md, "What a message costs").
 */
export function javaBinary(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.JAVA_HOME;
  return home === undefined || home === '' ? 'java' : join(home, 'bin', 'java');
}

/**
 * What `java -version` prints (on stderr), asked once per java per process: a cluster's start
 * needs it twice (the version check, the class archive's name), and each run costs ≈ 0.13 s.
 * Undefined when that java does not run.
 */
export function javaVersionText(java = javaBinary()): string | undefined {
  let text = versionTexts.get(java);
  if (text === undefined) {
    const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) return undefined;
    text = r.stderr;
    versionTexts.set(java, text);
  }
  return text;
}
const versionTexts = new Map<string, string>();

/** Checks the brokers' java (javaBinary by default) is 17 or newer; returns its major version (0 if unknown). */
export function checkJava(java = javaBinary()): number {
  const text = javaVersionText(java);
  if (text === undefined) throw kafkaError('RB_KAFKA_JAVA_MISSING', `Tried ${java}.`);
  const m = /version "(\d+)/.exec(text);
  if (m !== null && Number(m[1]) < 17) throw kafkaError('RB_KAFKA_JAVA_MISSING', `Found Java ${m[1]} at ${java}.`);
  return m === null ? 0 : Number(m[1]);
}

function pom(version: string): string {
  const dep = (g: string, a: string, v: string) =>
    `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.relaybench</groupId><artifactId>kafka-local</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    ${dep('org.apache.kafka', `kafka_${SCALA}`, version)}
    ${dep('org.apache.logging.log4j', 'log4j-slf4j2-impl', LOG4J)}
    ${dep('org.slf4j', 'slf4j-api', SLF4J)}
  </dependencies>
</project>
`;
}

/**
 * Resolves kafka_2.13 and its runtime dependencies from Maven Central into the cache, once.
 * Writes into a temporary folder and renames, so an interrupted download never looks complete.
 */
export async function ensureKafkaJars(options: { version?: string; log?: (line: string) => void } = {}): Promise<string> {
  const version = options.version ?? KAFKA_VERSION;
  const log = options.log ?? (() => {});
  const home = kafkaHome(version);
  if (jarsPresent(version)) return home;
  const mvn = spawnSync('mvn', ['-v'], { encoding: 'utf8' });
  if (mvn.error !== undefined || mvn.status !== 0) throw kafkaError('RB_KAFKA_MAVEN_MISSING');
  mkdirSync(home, { recursive: true });
  const work = join(tmpdir(), `relaybench-mvn-${process.pid}-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'pom.xml'), pom(version));
  writeFileSync(join(home, 'pom.xml'), pom(version));
  const staging = join(home, `lib.partial-${process.pid}`);
  log(`resolving Apache Kafka ${version} jars from Maven Central into ${home} (once)…`);
  const args = ['-B', '-q', 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'];
  const code = await new Promise<number>((resolve) => {
    const child = spawn('mvn', args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (c) => {
      if (c !== 0) log(out.slice(-2000));
      resolve(c ?? 1);
    });
    child.on('error', () => resolve(1));
  });
  rmSync(work, { recursive: true, force: true });
  if (code !== 0 || !existsSync(staging) || !readdirSync(staging).some((f) => f.startsWith(`kafka_${SCALA}-`))) {
    rmSync(staging, { recursive: true, force: true });
    throw kafkaError('RB_KAFKA_JARS_FAILED', `mvn exited with ${code}.`);
  }
  writeFileSync(join(staging, '.complete'), `${version}\n`);
  rmSync(join(home, 'lib'), { recursive: true, force: true });
  renameSync(staging, join(home, 'lib'));
  log(`Kafka ${version}: ${readdirSync(join(home, 'lib')).length - 1} jars cached`);
  return home;
}
