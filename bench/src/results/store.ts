/**
 * The run folder `results/<run-id>/`: summary.json (source of truth), one `<stage>.hlog` per
 * stage (every segment's merged intervals, tagged with the segment name), and the rendered
 * outputs (report.html, summary.md, junit.xml). Run ids: `YYYYMMDD-HHMMSS-<scenario>` (UTC).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HlogWriter, readHlog, type HlogInterval } from '../../../loadgen/src/stats/hlog.js';
import { STAGES, type Stage } from '../../../loadgen/src/stats/stages.js';
import type { ReportInput } from '../outputs/output.js';
import { registeredOutputs } from '../outputs/registry.js';
import { tagOf } from '../report/html.js';
import { resultsError } from './errors.js';
import type { MergedInterval } from './merge.js';
import { SUMMARY_SCHEMA_VERSION, type RunSummary } from './summary.js';

export const SUMMARY_FILE = 'summary.json';

export function makeRunId(scenario: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}-${scenario}`;
}

export interface SegmentIntervals {
  readonly segment: string;
  readonly intervals: readonly MergedInterval[];
}

/** One .hlog text per stage over every segment (segments in order, each line tagged). */
export function renderHlogs(summary: RunSummary, segments: readonly SegmentIntervals[]): Record<Stage, string> {
  const startTimeMs = Math.min(...summary.segments.map((s) => s.measureStartMs));
  const out = {} as Record<Stage, string>;
  for (const stage of STAGES) {
    const w = new HlogWriter({ startTimeMs, comments: [`relaybench stage=${stage} unit=us run=${summary.runId} scenario=${summary.scenario.name}`, 'Tag = segment (main, a phase, a ramp step, reference); histograms merged over all workers per 1 s interval'] });
    for (const seg of segments) for (const iv of seg.intervals) w.append(iv.histograms[stage], iv.startMs, iv.endMs, tagOf(seg.segment));
    out[stage] = w.toString();
  }
  return out;
}

export async function writeRunFolder(dir: string, summary: RunSummary, segments: readonly SegmentIntervals[]): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, SUMMARY_FILE), `${JSON.stringify(summary, null, 1)}\n`);
    const hlogs = renderHlogs(summary, segments);
    for (const stage of STAGES) await writeFile(join(dir, `${stage}.hlog`), hlogs[stage]);
  } catch (e) {
    throw resultsError('RB_RESULTS_WRITE_FAILED', `${dir}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  await renderOutputs(dir, { summary, hlogs: await readHlogs(dir) });
}

/** (Re)renders report.html, summary.md, junit.xml into `dir`. Returns the files written. */
export async function renderOutputs(dir: string, input: ReportInput): Promise<string[]> {
  const written: string[] = [];
  for (const output of registeredOutputs()) {
    const path = join(dir, output.file);
    await writeFile(path, output.render(input));
    written.push(path);
  }
  return written;
}

export async function readHlogs(dir: string): Promise<Partial<Record<Stage, HlogInterval[]>>> {
  const out: Partial<Record<Stage, HlogInterval[]>> = {};
  for (const stage of STAGES) {
    const path = join(dir, `${stage}.hlog`);
    if (existsSync(path)) out[stage] = readHlog(await readFile(path, 'utf8'));
  }
  return out;
}

/** A run folder or a summary.json path → the summary (validated loosely: kind and schemaVersion). */
export async function readSummary(path: string): Promise<{ summary: RunSummary; dir: string }> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, SUMMARY_FILE);
  } catch {
    throw resultsError('RB_RESULTS_NOT_FOUND', path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw resultsError('RB_RESULTS_NOT_FOUND', file);
    throw resultsError('RB_RESULTS_BAD_FILE', `${file}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const r = raw as Partial<RunSummary> | null;
  if (r === null || typeof r !== 'object' || r.kind !== 'relaybench-run' || r.schemaVersion !== SUMMARY_SCHEMA_VERSION)
    throw resultsError('RB_RESULTS_BAD_FILE', `${file}: expected kind "relaybench-run" and schemaVersion ${SUMMARY_SCHEMA_VERSION}.`);
  return { summary: raw as RunSummary, dir: file.slice(0, -SUMMARY_FILE.length - 1) || '.' };
}
