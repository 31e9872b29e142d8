// Bad command lines, as a user types them: each is refused with a stable code, a sentence and
// exit 2, before anything starts (docs/errors.md, README "Exit codes").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../src/scenarios/loader.js';

const bench = join(REPO_ROOT, 'dist', 'bench', 'src', 'cli', 'main.js');
const relayBin = join(REPO_ROOT, 'dist', 'relay', 'src', 'bin.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

test('relaybench: an unknown option, command or a missing argument is RB_CLI_USAGE, exit 2; --help exits 0', () => {
  for (const args of [['run', '--nosuch'], ['compare', 'onlyone'], ['nosuchcommand'], ['kafka', 'up', '--count']]) {
    const r = run([bench, ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error RB_CLI_USAGE: \S/m, args.join(' '));
  }
  assert.equal(run([bench, 'run', '--help']).status, 0);
});

test('relaybench-relay: a flag it does not know, or one without its value, is RB_RELAY_BAD_CONFIG, exit 2', () => {
  for (const args of [['--nosuch'], ['--port']]) {
    const r = run([relayBin, ...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^error RB_RELAY_BAD_CONFIG: \S/m);
  }
});

test('bad values found before anything starts: kafka up --provider, RELAYBENCH_KAFKA_CLIENT', () => {
  const provider = run([bench, 'kafka', 'up', '--provider', 'nosuch']);
  assert.equal(provider.status, 2, provider.stderr);
  assert.match(provider.stderr, /^error RB_KAFKA_BAD_OPTION: .*--provider must be auto, local or docker/m);
  const client = run([bench, 'relay', '--port', '0', '--brokers', '127.0.0.1:1'], {
    RELAYBENCH_KAFKA_CLIENT: 'bogus',
    RELAY_TOKEN_SECRET: 'change-me-0123456789',
  });
  assert.equal(client.status, 2, client.stderr);
  assert.match(client.stderr, /^error RB_KCLIENT_UNKNOWN: /m);
});

test('gate: a side that is neither a build folder nor a git ref is refused before the other side is built', () => {
  const cacheDir = mkdtempSync(join(tmpdir(), 'rb-gate-ref-'));
  try {
    const r = run([bench, 'gate', 'HEAD', 'no-such-ref-of-this-repo', '--cache-dir', cacheDir]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^error RB_GATE_BAD_BUILD: .*no-such-ref-of-this-repo is neither/m);
    assert.doesNotMatch(r.stderr, /\] build HEAD/, 'HEAD was built first');
    assert.deepEqual(readdirSync(cacheDir), [], 'nothing was written to the cache');
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
});
