import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { Dashboard } from '@grafana/schema';
import { createRelayMetrics } from '../../relay/src/metrics.js';
import { LoadgenMetrics } from '../../loadgen/src/metrics.js';
import { HOP_STAGES } from '../../loadgen/src/stats/stages.js';
import { allDashboards, renderDashboard } from '../src/index.js';
import { DATASOURCE, SCHEMA_VERSION } from '../src/builder.js';
import { DASHBOARDS_DIR } from '../src/paths.js';
import { HOPS } from '../src/hops.js';
import { allPanels, groupingLabels, metricNames, panelQueries, referencedVariables, variableQueries } from '../src/queries.js';
import { LOADGEN_METRICS, BOUNDED_LABELS } from './metric-names.js';

const files = readdirSync(DASHBOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const parsed: [string, Dashboard][] = files.map((f) => [f, JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) as Dashboard]);

test('the three dashboards exist and are valid JSON', () => {
  assert.deepEqual(files, ['relaybench-load.json', 'relaybench-path.json', 'relaybench-relay.json']);
  const titles = parsed.map(([, d]) => d.title).sort();
  assert.deepEqual(titles, ['relaybench / Load', 'relaybench / Path', 'relaybench / Relay']);
});

test('dashboards/README.md maps every panel (by title) to its metrics', () => {
  const readme = readFileSync(join(DASHBOARDS_DIR, '..', '..', 'README.md'), 'utf8');
  for (const [, d] of parsed) {
    for (const p of allPanels(d)) {
      const row = readme.split('\n').find((l) => l.startsWith(`| ${p.title} |`));
      assert.ok(row !== undefined, `README has no row for "${p.title}" (${d.title})`);
      for (const m of new Set((p.targets ?? []).flatMap((t) => metricNames(String(t.expr)))))
        assert.ok(row.includes(`\`${m}\``), `README row "${p.title}" lacks ${m}`);
    }
  }
});

test('committed JSON equals the generated JSON (run npm run dashboards:generate)', () => {
  for (const [file, d] of Object.entries(allDashboards())) {
    assert.equal(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'), renderDashboard(d), `${file} is stale or hand-edited`);
    assert.match(d.description ?? '', /GENERATED .* do not edit/, `${file}: do-not-edit note`);
  }
});

for (const [file, d] of parsed) {
  test(`${file}: schemaVersion ${SCHEMA_VERSION}, unique uid and panel ids`, () => {
    assert.equal(d.schemaVersion, SCHEMA_VERSION);
    assert.match(d.uid ?? '', /^relaybench-/);
    const ids = (d.panels ?? []).map((p) => p.id);
    assert.ok(
      ids.every((id) => typeof id === 'number'),
      'every panel has a numeric id',
    );
    assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids.join(',')}`);
  });

  test(`${file}: every datasource reference is the \${datasource} variable`, () => {
    const refs: unknown[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'datasource') refs.push(x);
          walk(x);
        }
      }
    };
    walk(d.panels);
    walk(d.templating?.list?.filter((v) => v.type !== 'datasource'));
    walk(d.annotations);
    assert.ok(refs.length > 0);
    for (const r of refs) assert.deepEqual(r, DATASOURCE);
    const dsVar = d.templating?.list?.find((v) => v.name === 'datasource');
    assert.equal(dsVar?.type, 'datasource');
    assert.equal(dsVar?.query, 'prometheus');
  });

  test(`${file}: every panel has a title, a unit and at least one non-empty query`, () => {
    for (const p of allPanels(d)) {
      const name = `panel ${p.id} "${p.title}"`;
      assert.ok((p.title ?? '') !== '', `${name}: title`);
      assert.ok((p.description ?? '') !== '', `${name}: description`);
      const unit = p.fieldConfig?.defaults?.unit;
      assert.ok(typeof unit === 'string' && unit !== '', `${name}: unit`);
      assert.ok((p.targets ?? []).length >= 1, `${name}: no query`);
      for (const t of p.targets ?? []) assert.ok(typeof t.expr === 'string' && t.expr.trim() !== '', `${name}: empty expr`);
      const refIds = (p.targets ?? []).map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${name}: duplicate refIds`);
      if (p.type === 'heatmap') for (const t of p.targets ?? []) assert.equal(t.format, 'heatmap', `${name}: heatmap query format`);
    }
  });

  test(`${file}: template variables run_id, scenario (and gateway where relay metrics are shown) are defined and used`, () => {
    const defined = new Set((d.templating?.list ?? []).map((v) => v.name));
    for (const name of ['datasource', 'run_id', 'scenario']) assert.ok(defined.has(name), `variable ${name}`);
    const queries = panelQueries(d);
    const varQueries = variableQueries(d);
    const referenced = new Set([
      ...queries.flatMap((q) => referencedVariables(q.expr)),
      ...varQueries.flatMap((v) => referencedVariables(v.selector)),
      'datasource',
    ]);
    for (const r of referenced) assert.ok(defined.has(r), `$${r} is used but not defined`);
    for (const v of defined) assert.ok(referenced.has(v), `$${v} is defined but never used`);
    const showsRelay = queries.some((q) => metricNames(q.expr).some((m) => !m.startsWith('loadgen_')));
    assert.equal(defined.has('gateway'), showsRelay, 'gateway variable exactly where relay metrics are shown');
    for (const q of queries) {
      assert.match(q.expr, /run_id=~"\$run_id"/, `panel "${q.panelTitle}" ${q.refId}: filters by $run_id`);
      assert.match(q.expr, /scenario=~"\$scenario"/, `panel "${q.panelTitle}" ${q.refId}: filters by $scenario`);
      if (metricNames(q.expr).some((m) => !m.startsWith('loadgen_')))
        assert.match(q.expr, /gateway=~"\$gateway"/, `panel "${q.panelTitle}" ${q.refId}: filters by $gateway`);
    }
  });

  test(`${file}: label cardinality is bounded — no query groups by a per-user or per-message label`, () => {
    for (const q of panelQueries(d)) {
      for (const l of groupingLabels(q.expr))
        assert.ok(BOUNDED_LABELS.has(l), `panel "${q.panelTitle}" ${q.refId} groups by "${l}", which is not a known bounded label`);
      assert.doesNotMatch(
        q.expr,
        /\b(user|user_id|msg_id|msgId|message_id|sender|recipient|conversation|connection_id)\b/,
        `panel "${q.panelTitle}" ${q.refId}`,
      );
    }
  });

  test(`${file}: every metric a query reads is exported by the relay or the loadgen`, () => {
    const registry = new Registry();
    createRelayMetrics(registry, 'structure-test');
    const relayNames = new Set(registry.getMetricsAsArray().map((m) => m.name));
    const base = (m: string) => m.replace(/_(bucket|sum|count)$/, '');
    for (const q of panelQueries(d)) {
      for (const m of metricNames(q.expr)) {
        const known = relayNames.has(m) || relayNames.has(base(m)) || LOADGEN_METRICS.has(m) || LOADGEN_METRICS.has(base(m));
        assert.ok(known, `panel "${q.panelTitle}" ${q.refId}: unknown metric ${m}`);
      }
    }
    for (const v of variableQueries(d))
      for (const m of metricNames(v.selector))
        assert.ok(m === 'up' || relayNames.has(m) || LOADGEN_METRICS.has(m), `variable ${v.name}: ${m}`);
    registry.clear();
  });
}

test('every relay_* metric is on the Relay dashboard, but the one README names (relay/src/metrics.ts)', () => {
  const registry = new Registry();
  createRelayMetrics(registry, 'structure-test');
  const exported = registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((n) => n.startsWith('relay_'));
  registry.clear();
  const relay = parsed.find(([f]) => f === 'relaybench-relay.json');
  assert.ok(relay !== undefined);
  const shown = new Set(panelQueries(relay[1]).flatMap((q) => metricNames(q.expr).map((m) => m.replace(/_(bucket|sum|count)$/, ''))));
  const missing = exported.filter((n) => !shown.has(n));
  assert.deepEqual(missing, ['relay_fold_records_total'], 'dashboards/README.md promises every other relay_* metric a panel');
});

test('the loadgen exports exactly the metric names the dashboards expect (loadgen/src/metrics.ts)', () => {
  const registry = new Registry();
  new LoadgenMetrics(registry, { worker: 'w1', runId: 'r1' });
  const names = new Set(
    registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => n.startsWith('loadgen_')),
  );
  assert.deepEqual([...names].sort(), [...LOADGEN_METRICS].sort());
  registry.clear();
});

test("the Path dashboard's hops are the loadgen's hop stages, in path order (dashboards/src stays self-contained)", () => {
  assert.deepEqual([...HOPS], HOP_STAGES);
});
