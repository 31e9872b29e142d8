import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pruneBuilds } from './builds.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

/** A repository with one commit, and a cache folder beside it. */
function fixture(t: { after(fn: () => void): void }): { repo: string; cache: string; builds: string } {
  const top = mkdtempSync(join(tmpdir(), 'rb-builds-'));
  t.after(() => rmSync(top, { recursive: true, force: true }));
  const repo = join(top, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q');
  writeFileSync(join(repo, 'a.txt'), 'a\n');
  git(repo, 'add', 'a.txt');
  git(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one');
  const cache = join(top, 'cache');
  return { repo, cache, builds: join(cache, 'builds') };
}

/** A finished build as resolveBuild leaves one: a worktree with dist/, a node_modules symlink and the marker, last used `ageS` ago. */
function build(repo: string, builds: string, name: string, ageS: number, opts: { worktree?: boolean; marker?: boolean } = {}): string {
  const dir = join(builds, name);
  if (opts.worktree === false) mkdirSync(dir, { recursive: true });
  else git(repo, 'worktree', 'add', '-q', '--detach', '--force', dir, 'HEAD');
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'main.js'), '');
  symlinkSync(repo, join(dir, 'node_modules'), 'dir');
  if (opts.marker !== false) {
    const marker = join(dir, '.relaybench-gate-build');
    writeFileSync(marker, `${name}\n`);
    const at = new Date(Date.now() - ageS * 1000);
    utimesSync(marker, at, at);
  }
  return dir;
}

test('pruneBuilds keeps the most recently used builds and those in use, and removes the others as worktrees', async (t) => {
  const { repo, cache, builds } = fixture(t);
  const newest = build(repo, builds, 'newest', 10);
  const middle = build(repo, builds, 'middle', 100);
  const oldInUse = build(repo, builds, 'old-in-use', 1000);
  const oldest = build(repo, builds, 'oldest', 2000);
  const logs: string[] = [];

  const removed = await pruneBuilds(cache, repo, 2, [oldInUse], (l) => logs.push(l));

  // keep 2 = the one in use + the most recently used other; the rest go.
  assert.deepEqual(removed.sort(), [middle, oldest].sort());
  assert.ok(existsSync(newest) && existsSync(oldInUse));
  assert.ok(!existsSync(middle) && !existsSync(oldest));
  assert.ok(existsSync(repo), 'the node_modules symlinks are removed, not what they point to');
  const listed = git(repo, 'worktree', 'list', '--porcelain');
  assert.ok(listed.includes(newest) && listed.includes(oldInUse));
  assert.ok(!listed.includes(middle) && !listed.includes(oldest), 'the repository forgets the removed worktrees');
  assert.match(logs.join('\n'), /removed 2 older build\(s\).*keeping the 2 most recently used/);
});

test('pruneBuilds leaves unfinished builds alone, deletes a build that is not a worktree, and is quiet with nothing to do', async (t) => {
  const { repo, cache, builds } = fixture(t);
  const unfinished = build(repo, builds, 'unfinished', 5000, { marker: false });
  const stray = build(repo, builds, 'stray', 4000, { worktree: false });
  const kept = build(repo, builds, 'kept', 1);
  const logs: string[] = [];

  assert.deepEqual(await pruneBuilds(cache, repo, 1, [], (l) => logs.push(l)), [stray]);
  assert.ok(existsSync(unfinished) && existsSync(kept) && !existsSync(stray));

  logs.length = 0;
  assert.deepEqual(await pruneBuilds(cache, repo, 1, [], (l) => logs.push(l)), []);
  assert.deepEqual(await pruneBuilds(join(cache, 'none'), repo, 1, [], (l) => logs.push(l)), []);
  assert.deepEqual(logs, []);
});
