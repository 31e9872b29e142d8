// Chart.js (MIT) UMD build, read once from node_modules to be inlined into report.html, so the
// page needs no network. Resolved through the package's main entry (its exports map hides dist/).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

let cached: { source: string; version: string } | undefined;

export function chartJsSource(): { source: string; version: string } {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js'); // …/chart.js/dist/chart.cjs
  const dist = dirname(main);
  const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string };
  cached = { source: readFileSync(join(dist, 'chart.umd.min.js'), 'utf8'), version: pkg.version };
  return cached;
}
