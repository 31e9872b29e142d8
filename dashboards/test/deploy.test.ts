import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/paths.js';

// deploy/compose.yaml cannot run here (no Docker engine): check that it is consistent instead.
const deploy = join(REPO_ROOT, 'deploy');
const provisioning = join(REPO_ROOT, 'dashboards', 'grafana', 'provisioning');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  volumes?: string[];
  ports?: string[];
}

const compose = parse(readFileSync(join(deploy, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };

test('compose: Kafka (apache/kafka:4.1.1), two relays, loadgen, Prometheus, Grafana', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['grafana', 'kafka', 'loadgen', 'prometheus', 'relay-1', 'relay-2']);
  assert.equal(compose.services.kafka!.image, 'apache/kafka:4.1.1');
  for (const name of ['relay-1', 'relay-2', 'loadgen']) {
    const s = compose.services[name]!;
    assert.equal(s.build?.dockerfile, 'deploy/Dockerfile', name);
    assert.ok(existsSync(resolve(deploy, s.build!.context, s.build!.dockerfile)), `${name}: Dockerfile`);
  }
  for (const r of ['relay-1', 'relay-2']) assert.deepEqual(compose.services[r]!.command!.slice(0, 1), ['relaybench-relay']);
  assert.deepEqual(compose.services.loadgen!.command!.slice(0, 2), ['relaybench', 'loadgen']);
  for (const s of Object.values(compose.services))
    for (const p of s.ports ?? []) assert.match(p, /^127\.0\.0\.1:/, 'published on loopback only');
});

test('the image links every package.json bin the compose commands call', () => {
  const bins = Object.keys((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin);
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
  for (const s of Object.values(compose.services)) {
    const first = s.command?.[0];
    if (first === undefined || !first.startsWith('relaybench')) continue;
    assert.ok(bins.includes(first), `${first} is a package.json bin`);
    assert.match(dockerfile, new RegExp(`/usr/local/bin/${first}\\b`), `the Dockerfile links ${first}`);
  }
});

test('compose: every bind mount exists, and Grafana gets the provisioning and the dashboards', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    for (const v of s.volumes ?? []) {
      const host = v.split(':')[0]!;
      if (host.startsWith('.')) assert.ok(existsSync(resolve(deploy, host)), `${name}: ${host}`);
    }
  }
  const grafana = compose.services.grafana!.volumes!.map((v) => v.split(':'));
  const prov = grafana.find(([, target]) => target === '/etc/grafana/provisioning');
  assert.equal(resolve(deploy, prov![0]!), provisioning);
  const dashboards = grafana.find(([host]) => resolve(deploy, host!) === join(REPO_ROOT, 'dashboards', 'grafana', 'dashboards'));
  const provider = parse(readFileSync(join(provisioning, 'dashboards', 'relaybench.yaml'), 'utf8')) as {
    apiVersion: number;
    providers: { options: { path: string } }[];
  };
  assert.equal(provider.providers[0]!.options.path, dashboards![1], 'provider path = mount target');
});

test('Grafana provisioning files have apiVersion 1; the datasource is Prometheus with timeInterval = scrape interval', () => {
  for (const kind of ['datasources', 'dashboards']) {
    for (const f of readdirSync(join(provisioning, kind)).filter((x) => x.endsWith('.yaml'))) {
      assert.equal((parse(readFileSync(join(provisioning, kind, f), 'utf8')) as { apiVersion: number }).apiVersion, 1, `${kind}/${f}`);
    }
  }
  const ds = parse(readFileSync(join(provisioning, 'datasources', 'prometheus.yaml'), 'utf8')) as {
    datasources: { type: string; url: string; jsonData: { timeInterval: string } }[];
  };
  assert.equal(ds.datasources[0]!.type, 'prometheus');
  assert.equal(ds.datasources[0]!.url, 'http://prometheus:9090');
  assert.equal(ds.datasources[0]!.jsonData.timeInterval, '1s');
  const prom = parse(readFileSync(join(deploy, 'prometheus.yml'), 'utf8')) as {
    global: { scrape_interval: string };
    scrape_configs: { static_configs: { targets: string[] }[] }[];
  };
  assert.equal(prom.global.scrape_interval, '1s');
  assert.deepEqual(
    prom.scrape_configs[0]!.static_configs.flatMap((c) => c.targets),
    ['relay-1:8080', 'relay-2:8080', 'loadgen:9464'],
  );
});
