import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { CLOSE_CODES, PROTOCOL_ERRORS, WIRE_ERRORS, WIRE_ERROR_FOR_PROTOCOL_ERROR, closeCode, protocolError, wireError } from './index.js';
import { fixturesDir } from '../fixtures/samples.js';

test('wire error codes are unique and resolve by number; unknown codes fall back', () => {
  const codes = Object.values(WIRE_ERRORS).map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const [name, spec] of Object.entries(WIRE_ERRORS)) assert.deepEqual(wireError(spec.code), { ...spec, name });
  assert.equal(wireError(11).retriable, true);
  assert.deepEqual(wireError(999), { code: 999, name: 'UNKNOWN', retriable: false, message: 'Unknown error code 999.' });
});

test('close codes are unique, RFC 6455 or private 4xxx; unknown codes back off', () => {
  const codes = Object.values(CLOSE_CODES).map((c) => c.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const code of codes) assert.ok((code >= 1000 && code < 1016) || (code >= 4000 && code < 5000), String(code));
  assert.equal(closeCode(4011).name, 'REPLACED');
  assert.equal(closeCode(4001).reconnect, 'redirect');
  assert.deepEqual(closeCode(4999).name, 'UNKNOWN');
  assert.equal(closeCode(4999).reconnect, 'backoff');
});

test('every protocol error maps to a wire error and builds a RelaybenchError', () => {
  for (const code of Object.keys(PROTOCOL_ERRORS) as (keyof typeof PROTOCOL_ERRORS)[]) {
    assert.ok(WIRE_ERRORS[WIRE_ERROR_FOR_PROTOCOL_ERROR[code]] !== undefined, code);
    const e = protocolError(code, 'detail');
    assert.equal(e.code, code);
    assert.match(e.message, / detail$/);
  }
});

test('docs/errors.md lists every RB_PROTO_* code in its Protocol section', () => {
  const repoRoot = dirname(dirname(dirname(fixturesDir())));
  const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
  const start = doc.indexOf('## Protocol (RB_PROTO_*)');
  assert.ok(start >= 0, 'section missing');
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next < 0 ? undefined : next);
  for (const code of Object.keys(PROTOCOL_ERRORS)) assert.match(section, new RegExp(`\\| \`${code}\` \\|`), code);
});
