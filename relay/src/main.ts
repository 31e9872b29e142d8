import { fromEnv, printable, resolveConfig, type RelayOptions } from './config.js';
import { KAFKA_CLIENTS, kafkaClientFromEnv } from '../kafka/src/index.js';
import { startRelay, type RelayHandle } from './relay.js';

/**
 * Runs one relay process until SIGTERM/SIGINT, then drains and exits 0.
 * Prints one JSON line `{"event":"listening",...}` on stdout once ready for traffic, so a parent
 * process (the bench orchestrator) can learn the port; logs go to stderr.
 */
export async function runRelayProcess(flags: RelayOptions, env: NodeJS.ProcessEnv = process.env): Promise<RelayHandle> {
  process.title = 'relaybench-relay';
  const config = resolveConfig(fromEnv(env), flags);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const client = kafkaClientFromEnv(env);
  log(`relay config ${JSON.stringify(printable(config))} kafka client ${client}`);
  const relay = await startRelay(config, log, KAFKA_CLIENTS[client]);
  const shutdown = (signal: string) => {
    log(`relay: ${signal}, draining`);
    const force = setTimeout(() => process.exit(1), config.drainTimeoutMs + 15_000);
    force.unref();
    relay.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log(`relay: drain failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', url: relay.url, httpUrl: relay.url.replace(/^ws/, 'http').replace(/\/$/, ''), port: relay.port, gatewayId: config.gatewayId, pid: process.pid })}\n`,
  );
  return relay;
}
