import type { Dashboard } from '@grafana/schema';
import { loadDashboard } from './load.js';
import { pathDashboard } from './hops.js';
import { relayDashboard } from './relay.js';

/** Every dashboard, keyed by its file name under dashboards/grafana/dashboards/. */
export function allDashboards(): Record<string, Dashboard> {
  return {
    'relaybench-load.json': loadDashboard(),
    'relaybench-relay.json': relayDashboard(),
    'relaybench-path.json': pathDashboard(),
  };
}

/** The exact file text (2-space JSON, trailing newline). */
export function renderDashboard(d: Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
