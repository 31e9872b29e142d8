import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root, from dist/dashboards/src/ (compiled) — three levels up. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DASHBOARDS_DIR = join(REPO_ROOT, 'dashboards', 'grafana', 'dashboards');
export const STATIC_PROMETHEUS_YML = join(REPO_ROOT, 'dashboards', 'prometheus', 'prometheus.yml');
