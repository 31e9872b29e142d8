import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printableSummary } from '../src/orchestrator/print.js';
import { accountWindow, type Edge, type ProcessPoint, type ProcessRef } from '../src/resources/accounting.js';
import { countsPerMessage, parseRelayCounters } from '../src/resources/relay-counters.js';
import { readSummary, writeRunFolder } from '../src/results/store.js';
import type { RunSummary } from '../src/results/summary.js';
import { syntheticRun } from './synthetic-run.js';

function usage() {
  const refs: ProcessRef[] = [
    { role: 'kafka', name: 'kafka-1', pid: 10 },
    { role: 'relay', name: 'relay-0', pid: 20 },
    { role: 'relay', name: 'relay-1', pid: 21 },
    { role: 'worker', name: 'w1', pid: 30 },
    { role: 'orchestrator', name: 'orchestrator', pid: 1 },
  ];
  const edge = (atMs: number, cpu: (i: number) => number, switches: (i: number) => number): Edge => ({
    atMs,
    machineBusySeconds: atMs / 1000,
    points: new Map(
      refs.map((ref, i): [number, ProcessPoint] => [ref.pid, { ref, cpuSeconds: cpu(i), peakRssBytes: 2e8, contextSwitches: switches(i) }]),
    ),
  });
  const u = accountWindow(
    edge(
      0,
      () => 0,
      () => 1000,
    ),
    edge(
      30_000,
      (i) => [9, 3, 3, 6, 0.3][i]!,
      (i) => 1000 + [120_000, 30_000, 30_000, 24_000, 600][i]!,
    ),
    6000,
  );
  const counters = countsPerMessage(
    parseRelayCounters(''),
    parseRelayCounters(
      'relay_kafka_requests_total{api="Produce"} 12840\nrelay_produce_batch_records_sum 36600\nrelay_router_records_total{source="written"} 6000\nrelay_router_records_total{source="peer"} 4500\nrelay_router_records_total{source="fetched"} 7500\nrelay_produce_errors_total 3\nrelay_deliver_dropped_total 2',
    ),
    6000,
  );
  return { ...u, relayCounters: counters };
}

test('resource accounting reaches summary.json, summary.md, report.html and the CLI lines', async () => {
  const { summary, segments } = syntheticRun({ intervals: 4 });
  const r = usage();
  const s: RunSummary = { ...summary, segments: summary.segments.map((x) => ({ ...x, resources: r })), resources: r };
  const dir = await mkdtemp(join(tmpdir(), 'rb-resources-'));
  try {
    await writeRunFolder(dir, s, segments);
    const back = (await readSummary(dir)).summary;
    assert.equal(back.resources?.roles.find((x) => x.role === 'kafka')?.cpuUsPerMessage, 1500);
    const md = await readFile(join(dir, 'summary.md'), 'utf8');
    assert.equal(back.resources?.total.switchesPerMessage, 34.1);
    assert.match(md, /\| kafka \| 1 \| 0\.300 \| 1,500 \| 20\.0 \| 200 MB \|/);
    assert.match(md, /\| relay \| 2 \| 0\.200 \| 1,000 \| 10\.0 \| 200 MB \|/);
    assert.match(md, /\*\*total\*\* \| 5 \| \*\*0\.710\*\* \| \*\*3,550\*\* \| \*\*34\.1\*\*/);
    assert.match(md, /2\.14 produce req · 6\.10 records/);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<h2>Resources per process<\/h2>/);
    assert.match(
      html,
      /relay-1 <span class="muted">pid 21<\/span><\/td><td class="n">0\.100<\/td><td class="n">500<\/td><td class="n">5\.0<\/td>/,
    );
    const cli = printableSummary(s, dir);
    assert.match(
      cli,
      /cpu \[main\]: kafka 0\.30 core \(1,500 µs\/msg, 20\.0 switches\/msg, 200 MB\) · relay×2 0\.20 core \(1,000 µs\/msg, 10\.0 switches\/msg, 200 MB\) · worker 0\.20 core \(1,000 µs\/msg, 4\.0 switches\/msg, 200 MB\) · orchestrator 0\.01 core \(50 µs\/msg, 0\.1 switches\/msg, 200 MB\) · total 0\.71 core \(3,550 µs\/msg, 34\.1 switches\/msg\) · machine 1\.00 core/,
    );
    assert.match(cli, /relays \[main\]: per msg: 2\.14 produce req/);
    assert.match(
      cli,
      /1\.00 own \+ 0\.75 peers' of 3\.00 router records from produce answers · 3 failed produce requests · 2 pushes given up \(at the relays\)/,
    );
    // A summary from before the peer links still prints its own-writes share.
    const { routerRecordsPeer: _p, ...beforePeers } = r.relayCounters!;
    const prePeer = { ...r, relayCounters: beforePeers as typeof r.relayCounters };
    assert.match(
      printableSummary({ ...s, segments: s.segments.map((x) => ({ ...x, resources: prePeer })), resources: prePeer }, dir),
      /1\.00 of 2\.25 router records from own writes/,
    );
    // A summary written before the routers counted their records (a committed baseline) still prints.
    const { routerRecordsWritten: _w, routerRecordsFetched: _f, produceErrors: _e, deliverDropped: _d, ...older } = beforePeers;
    const old = { ...r, relayCounters: older as typeof r.relayCounters };
    assert.match(
      printableSummary({ ...s, segments: s.segments.map((x) => ({ ...x, resources: old })), resources: old }, dir),
      /frames out \(at the relays\)/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
