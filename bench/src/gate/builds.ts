/**
 * One side of a gate as a runnable build: a ready folder (a checkout with dist/) is used as it
 * is; a git ref is checked out in its own `git worktree` under the cache folder
 * (<cache>/builds/<commit>), given node_modules, and compiled with its own tsc. A build is reused
 * by commit (marker file written after a successful tsc), so A/A gates build once.
 * node_modules: when the ref's package-lock.json is byte-identical to this checkout's, a symlink
 * to this checkout's node_modules (read-only use: nothing is installed through it); otherwise
 * `npm ci` inside the worktree — its own folder, never this checkout's.
 * A reuse touches the marker, so its time says when a build was last used; `pruneBuilds` keeps
 * the most recently used ones (each is ≈ 8 MB with symlinked node_modules, hundreds with `npm ci`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gateError } from './errors.js';

const run = promisify(execFile);
const MARKER = '.relaybench-gate-build';

export interface Build {
  /** What the user gave (ref or folder). */
  readonly spec: string;
  readonly kind: 'folder' | 'git';
  /** Full commit id (git refs; a folder's HEAD when it is a checkout, else null). */
  readonly commit: string | null;
  readonly dir: string;
  /** The side's own CLI: <dir>/dist/bench/src/cli/main.js. */
  readonly cli: string;
  /** How node_modules was provided, and the build's wall time (0 when reused). */
  readonly modules: 'own' | 'symlink' | 'npm ci';
  readonly buildMs: number;
  readonly reused: boolean;
}

export const cliOf = (dir: string) => join(dir, 'dist', 'bench', 'src', 'cli', 'main.js');

/** Where a side comes from: a built folder, or a commit of this repository. */
export type BuildSource = { readonly kind: 'folder'; readonly dir: string } | { readonly kind: 'git'; readonly commit: string };

/**
 * Checks a side without building anything, so `gate HEAD <typo>` is refused at once rather than
 * after HEAD's build (the gate command locates both sides first).
 */
export async function locateBuild(spec: string, repoRoot: string): Promise<BuildSource> {
  const asDir = resolve(spec);
  if (existsSync(asDir) && existsSync(join(asDir, 'package.json'))) {
    if (!existsSync(cliOf(asDir)))
      throw gateError(
        'RB_GATE_BAD_BUILD',
        `${asDir} has no dist/bench/src/cli/main.js: build it first (npx tsc -p tsconfig.json), or pass a git ref.`,
      );
    return { kind: 'folder', dir: asDir };
  }
  try {
    return { kind: 'git', commit: (await run('git', ['rev-parse', '--verify', `${spec}^{commit}`], { cwd: repoRoot })).stdout.trim() };
  } catch {
    throw gateError('RB_GATE_BAD_BUILD', `${spec} is neither a build folder (a checkout with dist/) nor a git ref of ${repoRoot}.`);
  }
}

export async function resolveBuild(spec: string, repoRoot: string, cacheDir: string, log: (line: string) => void): Promise<Build> {
  const source = await locateBuild(spec, repoRoot);
  if (source.kind === 'folder') {
    const dir = source.dir;
    return { spec, kind: 'folder', commit: await gitHead(dir), dir, cli: cliOf(dir), modules: 'own', buildMs: 0, reused: true };
  }
  const commit = source.commit;
  const dir = join(resolve(cacheDir), 'builds', commit);
  if (existsSync(join(dir, MARKER))) {
    const touched = new Date();
    utimesSync(join(dir, MARKER), touched, touched);
    log(`build ${spec} (${commit.slice(0, 12)}): reusing ${dir}`);
    return {
      spec,
      kind: 'git',
      commit,
      dir,
      cli: cliOf(dir),
      modules: existsSync(join(dir, 'node_modules')) ? 'symlink' : 'own',
      buildMs: 0,
      reused: true,
    };
  }
  const t0 = Date.now();
  await mkdir(join(resolve(cacheDir), 'builds'), { recursive: true });
  if (!existsSync(dir)) await step(`git worktree add ${dir}`, 'git', ['worktree', 'add', '--detach', '--force', dir, commit], repoRoot);
  const modules = provideModules(dir, repoRoot);
  if (modules === 'npm ci') {
    log(`build ${spec}: package-lock.json differs from this checkout's → npm ci in ${dir}`);
    await step('npm ci', 'npm', ['ci', '--no-audit', '--no-fund'], dir);
  }
  log(`build ${spec} (${commit.slice(0, 12)}): tsc in ${dir} (node_modules: ${modules})`);
  await step('tsc', process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
  if (!existsSync(cliOf(dir))) throw gateError('RB_GATE_BAD_BUILD', `${spec}: tsc ran but ${cliOf(dir)} is missing.`);
  writeFileSync(join(dir, MARKER), `${commit}\n`);
  const buildMs = Date.now() - t0;
  log(`build ${spec}: ready in ${(buildMs / 1000).toFixed(0)} s`);
  return { spec, kind: 'git', commit, dir, cli: cliOf(dir), modules, buildMs, reused: false };
}

/**
 * Removes the finished builds under <cache>/builds beyond the `keep` most recently used, never
 * one in `inUse` (this gate's, which count towards `keep`). Unfinished folders (no marker) are
 * left alone: another gate may be building there. A build is removed as the git worktree it is
 * (`git worktree remove --force`, which also drops this repository's record of it); one that is
 * not this repository's worktree is deleted, then `git worktree prune` drops stale records.
 * Returns the folders removed.
 */
export async function pruneBuilds(
  cacheDir: string,
  repoRoot: string,
  keep: number,
  inUse: readonly string[],
  log: (line: string) => void,
): Promise<string[]> {
  const root = join(resolve(cacheDir), 'builds');
  const using = new Set(inUse.map((d) => resolve(d)).filter((d) => dirname(d) === root)); // folders outside the cache do not count
  const finished: { dir: string; usedMs: number }[] = [];
  for (const name of existsSync(root) ? await readdir(root) : []) {
    const dir = join(root, name);
    if (using.has(dir)) continue;
    const marker = await stat(join(dir, MARKER)).catch(() => null);
    if (marker !== null) finished.push({ dir, usedMs: marker.mtimeMs });
  }
  const old = finished.sort((a, b) => b.usedMs - a.usedMs).slice(Math.max(0, keep - using.size));
  for (const { dir } of old) await removeBuild(dir, repoRoot);
  if (old.length > 0)
    log(`builds: removed ${old.length} older build(s) from ${root} (keeping the ${keep} most recently used; --keep-builds)`);
  return old.map((o) => o.dir);
}

async function removeBuild(dir: string, repoRoot: string): Promise<void> {
  try {
    await run('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot });
  } catch {
    await rm(dir, { recursive: true, force: true });
    await run('git', ['worktree', 'prune'], { cwd: repoRoot }).catch(() => {});
  }
}

/** Symlinks this checkout's node_modules when the lock files match; else the worktree installs its own. */
function provideModules(dir: string, repoRoot: string): 'symlink' | 'npm ci' | 'own' {
  const target = join(dir, 'node_modules');
  if (existsSync(target)) return 'own';
  const mine = join(repoRoot, 'package-lock.json');
  const theirs = join(dir, 'package-lock.json');
  if (
    existsSync(mine) &&
    existsSync(theirs) &&
    readFileSync(mine).equals(readFileSync(theirs)) &&
    existsSync(join(repoRoot, 'node_modules'))
  ) {
    symlinkSync(realpathSync(join(repoRoot, 'node_modules')), target, 'dir');
    return 'symlink';
  }
  return 'npm ci';
}

async function step(what: string, cmd: string, args: readonly string[], cwd: string): Promise<void> {
  try {
    await run(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    const tail = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim().split('\n').slice(-8).join(' | ');
    throw gateError('RB_GATE_BUILD_FAILED', `${what} in ${cwd} failed: ${tail || err.message}`, e);
  }
}

async function gitHead(dir: string): Promise<string | null> {
  try {
    return (await run('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
  } catch {
    return null;
  }
}
