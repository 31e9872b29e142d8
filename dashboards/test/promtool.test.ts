import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { renderPrometheusConfig, renderTargetsFile } from '../../bench/src/prometheus/config.js';
import { allDashboards } from '../src/index.js';
import { expand, panelQueries } from '../src/queries.js';
import { REPO_ROOT, STATIC_PROMETHEUS_YML } from '../src/paths.js';
import { describeWithTools } from '../../test/helpers/tools.js';

// promtool (Debian's prometheus package) checks configs and PromQL offline: no server, no network.
const run = promisify(execFile);

async function check(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { timeout: 30_000 });
    return stdout + stderr;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    assert.fail(`promtool ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

describeWithTools('promtool checks of the configs and every panel query', ['promtool'], () => {
  test('promtool check config: the generated per-run prometheus.yml (with its file_sd targets)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relaybench-promtool-'));
    try {
      const targetsFile = join(dir, 'prometheus-targets.json');
      await writeFile(
        targetsFile,
        renderTargetsFile(
          [
            { url: 'http://127.0.0.1:4100/metrics', role: 'relay' },
            { url: 'http://127.0.0.1:4101/metrics', role: 'relay' },
            { url: 'http://127.0.0.1:9464/metrics', role: 'loadgen' },
          ],
          { runId: '20261127-000000-smoke', scenario: 'smoke' },
        ),
      );
      const config = join(dir, 'prometheus.yml');
      await writeFile(config, renderPrometheusConfig({ targetsFile }));
      assert.match(await check(['check', 'config', config]), /SUCCESS/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('promtool check config: the static example and the compose config', async () => {
    assert.match(await check(['check', 'config', STATIC_PROMETHEUS_YML]), /SUCCESS/);
    assert.match(await check(['check', 'config', join(REPO_ROOT, 'deploy', 'prometheus.yml')]), /SUCCESS/);
  });

  test('promtool check rules: every panel query of every dashboard parses as PromQL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'relaybench-promql-'));
    try {
      const rules = Object.values(allDashboards()).flatMap((d) =>
        panelQueries(d).map((q, i) => ({
          record: `relaybench:check:${d.uid!.replace(/-/g, '_')}:${q.panelId}_${q.refId}_${i}`,
          expr: expand(q.expr, {
            variables: { run_id: '.*', scenario: '.*', gateway: '.+' },
            rateInterval: '4s',
            interval: '1s',
            range: '5m',
          }),
        })),
      );
      const file = join(dir, 'rules.yml');
      await writeFile(file, stringify({ groups: [{ name: 'dashboards', rules }] }));
      const out = await check(['check', 'rules', file]);
      assert.match(out, new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
