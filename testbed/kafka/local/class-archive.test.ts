import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClassArchive, type StartArchivingBroker } from './class-archive.js';

function scratch(): { dir: string; archive: string; lines: string[]; log: (l: string) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rb-cds-test-'));
  const lines: string[] = [];
  return { dir, archive: join(dir, 'cds', 'broker-x.jsa'), lines, log: (l) => lines.push(l) };
}

/** A stand-in for the broker: `write` is what its JVM leaves at archiveTo when it stops. */
function fakeBroker(write: Buffer | null, seen: { dirs: string[] }): StartArchivingBroker {
  return async ({ dir, archiveTo }) => {
    seen.dirs.push(dir);
    return {
      stop: async () => {
        if (write !== null) writeFileSync(archiveTo, write);
      },
    };
  };
}

test('a broker that writes no archive: none is kept, the reason is logged, nothing is thrown or left behind', async () => {
  const s = scratch();
  const seen = { dirs: [] as string[] };
  await ensureClassArchive('java', fakeBroker(null, seen), { log: s.log, archive: s.archive });
  assert.equal(existsSync(s.archive), false);
  assert.match(s.lines.at(-1)!, /^no class archive \(brokers start without one\): the broker exited without writing it/);
  assert.deepEqual(readdirSync(join(s.dir, 'cds')), [], 'no partial file');
  assert.equal(existsSync(seen.dirs[0]!), false, "the broker's folder is removed");
  rmSync(s.dir, { recursive: true, force: true });
});

test('an archive the JVM cannot map (a dump cut short) is not kept', async () => {
  const s = scratch();
  await ensureClassArchive('java', fakeBroker(Buffer.from('not a CDS archive'), { dirs: [] }), { log: s.log, archive: s.archive });
  assert.equal(existsSync(s.archive), false);
  assert.match(s.lines.at(-1)!, /does not map what was written/);
  assert.deepEqual(readdirSync(join(s.dir, 'cds')), []);
  rmSync(s.dir, { recursive: true, force: true });
});

test('an archive already there: no broker is started', async () => {
  const s = scratch();
  writeFileSync(join(s.dir, 'existing.jsa'), 'x');
  const seen = { dirs: [] as string[] };
  await ensureClassArchive('java', fakeBroker(null, seen), { log: s.log, archive: join(s.dir, 'existing.jsa') });
  assert.deepEqual(seen.dirs, []);
  assert.deepEqual(s.lines, []);
  rmSync(s.dir, { recursive: true, force: true });
});
