import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// dist/test/docs/ → repository root
const distRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = join(distRoot, '..');

function errorModules(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...errorModules(path));
    else if (name === 'errors.js') out.push(path);
  }
  return out;
}

/** Every RB_* code declared in any `errors.ts` table of the project. */
async function declaredCodes(): Promise<Map<string, string>> {
  const codes = new Map<string, string>();
  for (const file of errorModules(distRoot)) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (value === null || typeof value !== 'object') continue;
      for (const key of Object.keys(value)) if (/^RB_[A-Z0-9]+_[A-Z0-9_]+$/.test(key)) codes.set(key, file);
    }
  }
  return codes;
}

test('docs/errors.md lists every RB_* code declared in the code, and nothing else', async () => {
  const declared = await declaredCodes();
  assert.ok(declared.size > 20, `found ${declared.size} codes`);
  const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(RB_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
  const retired = new Set([...doc.matchAll(/^\| `(RB_[A-Z0-9_]+)` \| retired/gm)].map((m) => m[1]!));
  const missing = [...declared.keys()].filter((c) => !documented.has(c));
  const stale = [...documented].filter((c) => !declared.has(c) && !retired.has(c));
  assert.deepEqual(missing, [], 'codes missing from docs/errors.md');
  assert.deepEqual(stale, [], 'documented codes that no errors.ts declares (mark them retired instead)');
});
