import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { prometheusError } from './errors.js';

const run = promisify(execFile);

/** `--prometheus auto|off|URL`. */
export type PrometheusMode = 'auto' | 'off' | (string & {});

/**
 * What a run should do about Prometheus:
 * - `start`: start `binary` for the run (startPrometheus);
 * - `external`: the user's server at `url` scrapes the run by itself (we only query it);
 * - `none`: no Prometheus; the run still completes and `message` says why (print it once).
 */
export type PrometheusPlan =
  | { readonly kind: 'start'; readonly binary: string; readonly version: string }
  | { readonly kind: 'external'; readonly url: string }
  | { readonly kind: 'none'; readonly reason: 'off' | 'not-installed'; readonly message: string };

export const NOT_INSTALLED_MESSAGE =
  'No Prometheus found (no `prometheus` on PATH): the run continues without it — results, HDR percentiles and the report do not need it. ' +
  'To watch runs in Grafana, install it (Debian/Ubuntu: apt-get install prometheus) or pass --prometheus http://host:9090 for a server that scrapes the run.';

/**
 * Resolves the mode. Never throws for a missing binary (that is `none`); throws
 * RB_PROM_BAD_MODE for a value that is neither auto, off nor an http(s) URL.
 * Runs `<binary> --version` once (≤ 5 s).
 */
export async function detectPrometheus(mode: PrometheusMode, options: { binary?: string } = {}): Promise<PrometheusPlan> {
  if (mode === 'off') return { kind: 'none', reason: 'off', message: 'Prometheus is off (--prometheus off).' };
  if (mode !== 'auto') {
    let url: URL;
    try {
      url = new URL(mode);
    } catch (e) {
      throw prometheusError('RB_PROM_BAD_MODE', `Got ${JSON.stringify(mode)}.`, e);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw prometheusError('RB_PROM_BAD_MODE', `Got ${JSON.stringify(mode)}.`);
    return { kind: 'external', url: url.href.replace(/\/+$/, '') };
  }
  const binary = options.binary ?? 'prometheus';
  try {
    const { stdout, stderr } = await run(binary, ['--version'], { timeout: 5_000 });
    const version = /version (\S+)/.exec(`${stdout}${stderr}`)?.[1] ?? 'unknown';
    return { kind: 'start', binary, version };
  } catch {
    return { kind: 'none', reason: 'not-installed', message: NOT_INSTALLED_MESSAGE };
  }
}
