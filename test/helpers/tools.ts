/**
 * The one place that decides whether a test can use a tool `make` cannot fetch (a Debian
 * package, not an npm one). Present → the tests run. Missing outside CI → they are skipped with
 * a one-line notice naming the tool and its install command. Missing with CI=true → one test
 * fails with one sentence instead (`.ci/run` installs every tool, so CI runs every test).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test, type TestContext, type TestOptions } from 'node:test';

export const TOOLS = {
  prometheus: 'apt-get install prometheus',
  promtool: 'apt-get install prometheus',
  chromium: 'apt-get install chromium, or set CHROMIUM_PATH',
  openssl: 'apt-get install openssl',
} as const;
export type Tool = keyof typeof TOOLS;

/** Where the report tests find Chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CI = process.env.CI === 'true';

const found = new Map<Tool, boolean>();

function present(tool: Tool): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    ok =
      tool === 'chromium'
        ? existsSync(CHROMIUM_PATH)
        : spawnSync(tool, [tool === 'openssl' ? 'version' : '--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
    found.set(tool, ok);
  }
  return ok;
}

export type ToolGate = { readonly ok: true } | { readonly ok: false; readonly required: boolean; readonly sentence: string };

/** The decision for `what` (e.g. "the dashboard panel tests"), which needs `tools`. */
export function toolGate(what: string, tools: readonly Tool[]): ToolGate {
  const missing = tools.filter((t) => !present(t));
  if (missing.length === 0) return { ok: true };
  const install = [...new Set(missing.map((t) => TOOLS[t]))].join('; ');
  const names = missing.join(' and ');
  return CI
    ? {
        ok: false,
        required: true,
        sentence: `CI=true requires ${names} for ${what}, and it is not installed (${install}; .ci/run installs it).`,
      }
    : { ok: false, required: false, sentence: `${names} not installed (${install}): ${what} skipped (required when CI=true).` };
}

/** Fails the current test with the gate's sentence alone (no stack trace to read past). */
function fail(sentence: string): never {
  const e = new Error(sentence);
  e.stack = sentence;
  throw e;
}

/** A suite that runs when `tools` are present; otherwise one skipped (or, in CI, failing) test in its place. Its hooks run only with the suite. */
export function describeWithTools(title: string, tools: readonly Tool[], body: () => void): void {
  const gate = toolGate(title, tools);
  if (gate.ok) describe(title, body);
  else if (gate.required) test(title, () => fail(gate.sentence));
  else test(title, { skip: gate.sentence }, () => {});
}

/** One test that needs `tools`: runs, is skipped with the notice, or fails with the sentence in CI. */
export function testWithTools(title: string, tools: readonly Tool[], options: TestOptions, fn: (t: TestContext) => Promise<void>): void {
  const gate = toolGate(title, tools);
  if (gate.ok) test(title, options, fn);
  else if (gate.required) test(title, () => fail(gate.sentence));
  else test(title, { skip: gate.sentence }, () => {});
}

/** For a step inside a larger test: true to go on; false after a one-line notice; throws the sentence in CI. */
export function haveTools(what: string, tools: readonly Tool[]): boolean {
  const gate = toolGate(what, tools);
  if (gate.ok) return true;
  if (gate.required) fail(gate.sentence);
  process.stderr.write(`# ${gate.sentence}\n`);
  return false;
}
