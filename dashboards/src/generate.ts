// Writes dashboards/grafana/dashboards/*.json from the TypeScript definitions.
// Usage: npm run dashboards:generate   (or: node dist/dashboards/src/generate.js [--check])
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { allDashboards, renderDashboard } from './index.js';
import { DASHBOARDS_DIR } from './paths.js';

const check = process.argv.includes('--check');
await mkdir(DASHBOARDS_DIR, { recursive: true });
let stale = 0;
for (const [file, dashboard] of Object.entries(allDashboards())) {
  const path = join(DASHBOARDS_DIR, file);
  const text = renderDashboard(dashboard);
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current === text) continue;
  if (check) {
    stale++;
    process.stderr.write(`${path} is out of date: run npm run dashboards:generate\n`);
  } else {
    await writeFile(path, text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
if (stale > 0) process.exitCode = 1;
