/**
 * CLI glue of the distributed commands: flag parsing, exit codes, and the joiner's signals
 * (the only place here that touches process-wide state).
 */
import { ExitCode } from '../cli/exit-codes.js';
import { failAndExit } from '../cli/fail.js';
import { parseBrokers } from '../../../testbed/kafka/external.js';
import { parseDurationMs } from '../../../loadgen/src/duration.js';
import { distError } from './errors.js';
import { Joiner } from './joiner.js';

export function durationFlag(value: string | undefined, flag: string, dflt: number): number {
  if (value === undefined) return dflt;
  const ms = parseDurationMs(value);
  if (ms === undefined || ms <= 0) throw distError('RB_DIST_BAD_OPTION', `${flag} ${value}: expected a duration like 30s or 5m.`);
  return ms;
}

export function brokersFlag(value: string | undefined, env: NodeJS.ProcessEnv, what: string): string[] {
  const v = value ?? env.KAFKA_BROKERS;
  if (v === undefined || v.trim() === '')
    throw distError('RB_DIST_BAD_OPTION', `${what} needs --brokers <host:port,...> (or KAFKA_BROKERS): the run's Kafka.`);
  return parseBrokers(v);
}

export const DEFAULT_JOIN_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_REMOTE_JOIN_TIMEOUT_MS = 5 * 60_000;

export interface JoinFlags {
  readonly join: string;
  readonly brokers?: string;
  readonly workerName?: string;
  readonly joinTimeout?: string;
  readonly metricsPort?: string;
  readonly sourceAddresses?: string;
  readonly result?: string;
  readonly plan?: string;
}

/** `relaybench loadgen --join <run-id>`: runs the joiner and exits with its code. */
export async function joinAndExit(o: JoinFlags): Promise<never> {
  try {
    if (o.plan !== undefined)
      throw distError('RB_DIST_BAD_OPTION', '--join and --plan exclude each other: a joiner gets its plans from the coordinator.');
    let metricsPort: number | undefined;
    if (o.metricsPort !== undefined) {
      metricsPort = Number(o.metricsPort);
      if (!Number.isInteger(metricsPort) || metricsPort < -1 || metricsPort > 65535)
        throw distError('RB_DIST_BAD_OPTION', `--metrics-port ${o.metricsPort}: expected -1, 0 or a port.`);
    }
    const joiner = new Joiner({
      runId: o.join,
      brokers: brokersFlag(o.brokers, process.env, '--join'),
      ...(o.workerName === undefined ? {} : { name: o.workerName }),
      joinTimeoutMs: durationFlag(o.joinTimeout, '--join-timeout', DEFAULT_JOIN_TIMEOUT_MS),
      ...(metricsPort === undefined ? {} : { metricsPort }),
      ...(o.sourceAddresses === undefined
        ? {}
        : {
            sourceAddresses: o.sourceAddresses
              .split(',')
              .map((a) => a.trim())
              .filter((a) => a !== ''),
          }),
      ...(o.result === undefined ? {} : { resultDir: o.result }),
      events: process.stdout,
      log: process.stderr,
    });
    process.title = 'relaybench-joiner';
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      process.stderr.write(
        signals === 1 ? `${signal}: stopping early; a running plan's result is still published\n` : `${signal} again: exiting now\n`,
      );
      if (signals === 1) joiner.interrupt();
      else process.exit(ExitCode.INTERRUPTED);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const outcome = await joiner.run();
    process.stderr.write(
      `joiner ${outcome.joinerId}: ${outcome.assignments} plan(s), ${outcome.published} result(s) published, ${outcome.failed} failed (${outcome.reason})\n`,
    );
    if (outcome.failed > 0) process.exit(ExitCode.INFRA);
    process.exit(outcome.reason === 'interrupted' && outcome.published === 0 ? ExitCode.INTERRUPTED : ExitCode.OK);
  } catch (e) {
    failAndExit(e);
  }
}
