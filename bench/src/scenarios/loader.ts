/**
 * Scenario file → validated, frozen Scenario. Every error names the file, the line and column,
 * the field path and why, e.g.
 *   bench/scenarios/x.yaml:9:9: workload.rate: expected a positive number, got "fast"
 * RB_SCENARIO_YAML (syntax), RB_SCENARIO_INVALID (schema), RB_SCENARIO_OBJECTIVE (expressions),
 * RB_SCENARIO_NOT_FOUND (no such name or file).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { scenarioError } from './errors.js';
import { ObjectiveSyntaxError, parseObjective, type Objective } from './objectives.js';
import type { Scenario } from './scenario.js';
import { scenarioSchema, type ScenarioFile } from './schema.js';

/** Repository root, from this module's place (dist/bench/src/scenarios/ or bench/src/scenarios/). */
export const REPO_ROOT = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${join('dist', 'bench')}`) ? '../../../..' : '../../..';
  return resolve(here, up);
})();
export const SCENARIOS_DIR = join(REPO_ROOT, 'bench', 'scenarios');
export const DEFAULT_SCENARIO = 'smoke';

/** A name (`smoke`) → bench/scenarios/smoke.yaml; anything with a slash or .yaml/.yml is a path. */
export function resolveScenarioPath(nameOrPath: string, scenariosDir = SCENARIOS_DIR): string {
  const looksLikePath = /[\\/]/.test(nameOrPath) || /\.ya?ml$/i.test(nameOrPath);
  const path = looksLikePath ? resolve(nameOrPath) : join(scenariosDir, `${nameOrPath}.yaml`);
  if (!existsSync(path)) {
    const known = listScenarios(scenariosDir);
    throw scenarioError(
      'RB_SCENARIO_NOT_FOUND',
      `${looksLikePath ? path : `"${nameOrPath}"`} does not exist. Known scenarios: ${known.join(', ') || '(none)'}.`,
    );
  }
  return path;
}

export function listScenarios(scenariosDir = SCENARIOS_DIR): string[] {
  try {
    return readdirSync(scenariosDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => basename(f, '.yaml'))
      .sort();
  } catch {
    return [];
  }
}

export function loadScenario(nameOrPath: string, scenariosDir = SCENARIOS_DIR): Scenario {
  const path = resolveScenarioPath(nameOrPath, scenariosDir);
  return parseScenario(readFileSync(path, 'utf8'), path);
}

/** Parses scenario text; `path` is used for messages and Scenario.file. */
export function parseScenario(text: string, path: string): Scenario {
  const shown = displayPath(path);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = lines.linePos(syntax.pos[0]);
    const reason = syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw scenarioError('RB_SCENARIO_YAML', `${shown}:${pos.line}:${pos.col}: ${reason}`);
  }
  if (!isMap(doc.contents))
    throw scenarioError(
      'RB_SCENARIO_INVALID',
      `${shown}:1:1: expected a mapping of scenario fields (name, brokers, workload, objectives, …)`,
    );
  const parsed = scenarioSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!parsed.success) {
    // A misspelled required field is both unknown and missing: name the spelling, with its hint.
    const issues = parsed.error.issues;
    const issue = firstIssue([
      ...issues.filter((i) => i.code === 'unrecognized_keys'),
      ...issues.filter((i) => i.code !== 'unrecognized_keys'),
    ]);
    const at = issue.code === 'unrecognized_keys' ? keyPosition(doc, lines, issue.path, issue.keys[0]!) : where(doc, lines, issue.path);
    throw scenarioError('RB_SCENARIO_INVALID', `${shown}:${at}: ${describeIssue(issue, doc)}`);
  }
  const f = parsed.data;
  const objectives: Objective[] = f.objectives.map((expr, i) => {
    try {
      return parseObjective(expr);
    } catch (e) {
      if (!(e instanceof ObjectiveSyntaxError)) throw e;
      throw scenarioError('RB_SCENARIO_OBJECTIVE', `${shown}:${where(doc, lines, ['objectives', i])}: objectives[${i}]: ${e.message}`);
    }
  });
  if (f.ramp !== undefined && !objectives.some((o) => o.metric.kind === 'latency'))
    throw scenarioError(
      'RB_SCENARIO_OBJECTIVE',
      `${shown}:${where(doc, lines, ['objectives'])}: objectives: a ramp needs a latency objective to decide which rate held`,
    );
  return deepFreeze(toScenario(f, objectives, path));
}

function toScenario(f: ScenarioFile, objectives: Objective[], file: string): Scenario {
  const w = f.workload;
  return {
    name: f.name,
    description: f.description,
    file,
    brokers: f.brokers,
    partitions: f.partitions,
    relays: f.relays,
    workers: f.workers,
    durationMs: f.duration,
    warmupMs: f.warmup,
    firstWarmupMs: f.firstWarmup,
    drainMs: f.drain,
    maxScheduleLagUs: Math.round(f.maxScheduleLag * 1000),
    connectRatePerSec: f.connectRate,
    routingHint: f.routingHint,
    workload: {
      users: w.users,
      ratePerSec: w.rate,
      arrivals: w.arrivals,
      rampUpMs: w.rampUp,
      onlineFraction: w.onlineFraction,
      churnPerSec: w.churnPerSec,
      offlineMs: w.offline,
      recipients: w.recipients,
      sizes: w.size,
      readDelayMs: w.readDelay,
      seed: w.seed,
    },
    objectives,
    reference: f.reference,
    phases: (f.phases ?? []).map((p) => ({
      name: p.name,
      relays: p.relays ?? f.relays,
      ratePerSec: p.rate ?? w.rate,
      durationMs: p.duration ?? f.duration,
    })),
    ramp:
      f.ramp === undefined
        ? undefined
        : { fromPerSec: f.ramp.from, stepPerSec: f.ramp.step, toPerSec: f.ramp.to, stepDurationMs: f.ramp.stepDuration },
    faults: f.faults ?? [],
  };
}

type Issue = z.core.$ZodIssue;

/** The most specific issue: inside a union, the branch's own issue (its path is relative). */
function firstIssue(issues: readonly Issue[]): Issue {
  const issue = issues[0]!;
  if (issue.code === 'invalid_union' && issue.errors.length === 1 && issue.errors[0]!.length > 0) {
    const inner = firstIssue(issue.errors[0]!);
    return { ...inner, path: [...issue.path, ...inner.path] } as Issue;
  }
  return issue;
}

function describeIssue(issue: Issue, doc: Document): string {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(doc, issue.path);
    return issue.keys
      .map((k) => {
        const hint = closest(k, known);
        return `${path === '' ? '' : `${path}: `}unknown field "${k}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`;
      })
      .join('; ');
  }
  const input = (issue as { input?: unknown }).input;
  const got = input === undefined ? 'nothing (the field is required)' : JSON.stringify(input);
  return `${path === '' ? '(top level)' : path}: ${issue.message}, got ${got}`;
}

/** Keys the schema accepts at a path (for "did you mean"). */
function knownKeysAt(_doc: Document, path: readonly PropertyKey[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let shape: any = scenarioSchema;
  for (const key of path) {
    shape = unwrap(shape);
    const inner = shape?.shape?.[key as string] ?? shape?.element;
    if (inner === undefined) return [];
    shape = inner;
  }
  shape = unwrap(shape);
  return shape?.shape === undefined ? [] : Object.keys(shape.shape);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function unwrap(s: any): any {
  let cur = s;
  for (let i = 0; i < 10 && cur !== undefined; i++) {
    const def = cur._zod?.def;
    if (def === undefined) return cur;
    if (def.type === 'object' || def.type === 'array') return cur;
    cur = def.innerType ?? def.schema ?? def.in;
  }
  return cur;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/** "line:col" of the deepest node of `path` that exists in the document (1:1 if none). */
function where(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): string {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range !== undefined) {
      const pos = lines.linePos(range[0]);
      return `${pos.line}:${pos.col}`;
    }
  }
  return '1:1';
}

/** "line:col" of the key `key` in the mapping at `path` (falls back to the mapping). */
function keyPosition(doc: Document, lines: LineCounter, path: readonly PropertyKey[], key: string): string {
  const parent = path.length === 0 ? doc.contents : doc.getIn(path as (string | number)[], true);
  if (isMap(parent)) {
    const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
    const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    if (range !== undefined) {
      const pos = lines.linePos(range[0]);
      return `${pos.line}:${pos.col}`;
    }
  }
  return where(doc, lines, path);
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
