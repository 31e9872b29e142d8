/**
 * The relay's one port: HTTP (/healthz /readyz /metrics /routes) and WebSocket upgrades, over TLS
 * when a certificate is configured. Apart from startRelay so the wiring there reads as steps and
 * the request and upgrade rules can be read in one place.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import { CLOSE_CODES } from '../protocol/src/index.js';
import type { RelayConfig } from './config.js';
import { relayError } from './errors.js';
import type { Gateway } from './gateway/gateway.js';
import { PEER_PATH } from './peer/peer-codec.js';
import type { PeerLinks } from './peer/peer-links.js';

export interface Listening {
  readonly server: Server;
  readonly port: number;
  /** How clients reach this process: config.publicUrl, or ws(s)://host:port/. */
  readonly url: string;
}

const usesTls = (config: RelayConfig): boolean => config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined;

/** Opens the port (https/wss with a certificate); resolves once listening. */
export async function listen(config: RelayConfig): Promise<Listening> {
  const tls = usesTls(config);
  let server: Server;
  try {
    server = tls ? createTlsServer({ cert: readFileSync(config.tlsCertFile!), key: readFileSync(config.tlsKeyFile!) }) : createServer();
  } catch (e) {
    throw relayError('RB_RELAY_BAD_CONFIG', `TLS certificate or key: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(relayError('RB_RELAY_START_FAILED', `Cannot listen on ${config.host}:${config.port}: ${e.message}`, e)),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { server, port, url: config.publicUrl ?? `${tls ? 'wss' : 'ws'}://${config.host}:${port}/` };
}

/**
 * Where other relays link to this one (relay/src/peer/): the configured URL, else this
 * process's own address when that names one host and needs no certificate check; else none.
 */
export function peerUrlOf(config: RelayConfig, port: number): string | undefined {
  if (config.peerUrl !== undefined) return config.peerUrl === 'off' ? undefined : config.peerUrl;
  const wildcard = config.host === '0.0.0.0' || config.host === '::' || config.host === '';
  return usesTls(config) || wildcard ? undefined : `ws://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/`;
}

export interface HttpEndpoints {
  readonly gatewayId: string;
  readonly registry: Registry;
  /** GET /readyz: 200 when ready, else 503; `readiness()` is the body either way. */
  readonly ready: () => boolean;
  readonly readiness: () => Record<string, unknown>;
  /** GET /routes body (may ask Kafka). */
  readonly routes: () => Promise<Record<string, unknown>>;
}

/** Answers every HTTP request on the port; 500 with the message on a failure. */
export function serveHttp(server: Server, e: HttpEndpoints): void {
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (path === '/healthz') return json(200, { ok: true, gatewayId: e.gatewayId });
      if (path === '/readyz') return json(e.ready() ? 200 : 503, e.readiness());
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': e.registry.contentType });
        return void res.end(await e.registry.metrics());
      }
      if (path === '/routes') return json(200, await e.routes());
      json(404, { error: 'not found', paths: ['/healthz', '/readyz', '/metrics', '/routes', 'ws: any path'] });
    } catch (err) {
      json(500, { error: err instanceof Error ? err.message : String(err) });
    }
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void answer(req, res);
  });
}

/**
 * Hands WebSocket upgrades on any path to the gateway, unless draining or at the connection
 * limit; PEER_PATH (reserved, PROTOCOL §1) is the other relays' peer link.
 */
export function acceptUpgrades(server: Server, config: RelayConfig, gateway: Gateway, draining: () => boolean, peers: PeerLinks): void {
  // skipUTF8Validation: text frames are refused anyway (1008) and close reasons are never read, so
  // validating them only added a second refusal code (1007) for the same bad input.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayloadBytes,
    perMessageDeflate: false,
    clientTracking: false,
    skipUTF8Validation: true,
  });
  // A peer link carries whole produce requests' records (BatchingProducer: up to 768 KiB a request).
  const peerWss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024, perMessageDeflate: false, clientTracking: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (draining()) return refuse(socket, 503, 'draining');
    if ((req.url ?? '/').split('?')[0] === PEER_PATH) return peerWss.handleUpgrade(req, socket, head, (ws) => peers.accept(ws));
    // At the limit the upgrade completes only to close with 4010 (PROTOCOL §7.2): a documented
    // code with a backoff policy tells the client more than an HTTP 503 would.
    if (gateway.connectionCount >= config.maxConnections)
      return wss.handleUpgrade(req, socket, head, (ws) => ws.close(CLOSE_CODES.CONNECTION_LIMIT.code, 'connection limit'));
    wss.handleUpgrade(req, socket, head, (ws) => gateway.accept(ws));
  });
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
