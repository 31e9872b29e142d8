import type { Command } from 'commander';
import { runRelayProcess } from './main.js';
import { RELAY_DEFAULTS, type RelayOptions } from './config.js';

const int = (v: string) => Number(v);

/**
 * commander's own usage errors (an unknown option, a missing value or argument) reported like
 * every other error: `error <code>: sentence`, exit 2 (bad input); help and version exit 0. Set
 * on a program before its subcommands are added, which inherit it.
 */
export function reportUsageErrors(program: Command, code: string): Command {
  return program
    .configureOutput({ outputError: (text, write) => write(`error ${code}: ${text.replace(/^error: /, '')}`) })
    .exitOverride((err) => {
      process.exit(['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code) ? 0 : 2);
    });
}

/**
 * The relay's flags and action on `command`: the relay's own bin (`relaybench-relay`, bin.ts) and
 * the bench CLI's `relaybench relay` share them. `fail` reports a start-up error and exits.
 */
export function defineRelayCommand(command: Command, fail: (e: unknown) => never): Command {
  return command
    .description('run one relay process (gateway + router) until SIGTERM; several processes scale out over the same Kafka')
    .option('--host <host>', 'listen address', RELAY_DEFAULTS.host)
    .option('-p, --port <port>', 'WebSocket + HTTP port (0 = any free port)', int)
    .option('--brokers <list>', 'Kafka bootstrap servers host:port,... (or KAFKA_BROKERS)')
    .option('--partitions <n>', 'partitions of relay.mailbox', int)
    .option('--replication-factor <n>', 'replication factor of the relay topics', int)
    .option('--gateway-id <id>', 'this process id (default: host name + random suffix)')
    .option('--public-url <url>', 'how clients reach this process (for /routes)')
    .option(
      '--peer-url <url>',
      "where other relays link to this one to hand over their writes (default ws://host:port/ on a specific host without TLS; 'off' = no link)",
    )
    .option('--token-secret <secret>', 'HMAC secret for client tokens (or RELAY_TOKEN_SECRET)')
    .option('--max-payload <bytes>', 'largest WebSocket frame; above it the connection closes with 1009', int)
    .option('--max-connections <n>', 'connection cap of this process', int)
    .option('--rate-limit <frames/s>', 'per-connection frame rate limit (close 4008 above it)', int)
    .option('--high-water <bytes>', 'send buffer high-water mark (slow readers are closed with 4009)', int)
    .option('--write-timeout <ms>', 'a Kafka write retries in place this long before its senders get error 11 (default 30000)', int)
    .option('--produce-linger <ms>', 'under load, a Kafka write waits up to this long to share its request; 0 = never (default 1)', int)
    .option('--tls-cert <file>', 'PEM certificate: serve wss:// and https:// (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .addHelpText(
      'after',
      '\nEndpoints on the same port: ws:// / (clients), GET /healthz, /readyz, /metrics, /routes; ws:// /_relaybench/peer (the other relays).\nSIGTERM drains: stop accepting, finish produces, close clients with 1012, leave the group, exit 0.\nEnv RELAYBENCH_KAFKA_CLIENT: platformatic (default) | kafkajs, the Kafka client of the message path.',
    )
    .action(async (o: Record<string, string | number | undefined>) => {
      try {
        const flags: RelayOptions = Object.fromEntries(
          Object.entries({
            host: o.host,
            port: o.port,
            brokers: o.brokers,
            partitions: o.partitions,
            replicationFactor: o.replicationFactor,
            gatewayId: o.gatewayId,
            publicUrl: o.publicUrl,
            peerUrl: o.peerUrl,
            tokenSecret: o.tokenSecret,
            maxPayloadBytes: o.maxPayload,
            maxConnections: o.maxConnections,
            rateLimitPerSec: o.rateLimit,
            highWaterBytes: o.highWater,
            writeTimeoutMs: o.writeTimeout,
            produceLingerMs: o.produceLinger,
            tlsCertFile: o.tlsCert,
            tlsKeyFile: o.tlsKey,
          }).filter(([, v]) => v !== undefined),
        );
        await runRelayProcess(flags);
      } catch (e) {
        fail(e);
      }
    });
}
