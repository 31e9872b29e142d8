/**
 * Which numeric codes a client may meet, per the protocol's own tables: `error.code` values
 * (WIRE_ERRORS) and WebSocket close codes (CLOSE_CODES), both mirrored in relay/PROTOCOL.md §7.
 * 1006 is no code on the wire: a client sees it when the connection drops without a close frame
 * (PROTOCOL §7.2 and §8 document it), so it counts as documented.
 */
import { readFileSync } from 'node:fs';
import { CLOSE_CODES, WIRE_ERRORS } from '../../relay/protocol/src/index.js';

export const ABNORMAL_CLOSE = 1006;

const ERROR_CODES = new Set<number>(Object.values(WIRE_ERRORS).map((e) => e.code));
const CLOSES = new Set<number>([...Object.values(CLOSE_CODES).map((c) => c.code), ABNORMAL_CLOSE]);

export function isDocumentedErrorCode(code: number): boolean {
  return ERROR_CODES.has(code);
}

export function isDocumentedCloseCode(code: number): boolean {
  return CLOSES.has(code);
}

/**
 * Codes listed in the tables of PROTOCOL.md §7.1 (`error.code`) and §7.2 (close codes), read from
 * the file: the fuzz checks what it saw against the document a client author reads, too.
 */
export function codesInProtocolDoc(path: string): { errors: Set<number>; closes: Set<number> } {
  const text = readFileSync(path, 'utf8');
  const section = (start: string, end: string) => {
    const a = text.indexOf(start);
    const b = text.indexOf(end, a + 1);
    if (a < 0) throw new Error(`${path}: no "${start}" section`);
    return text.slice(a, b < 0 ? undefined : b);
  };
  const rows = (s: string) => new Set([...s.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));
  return { errors: rows(section('### 7.1', '### 7.2')), closes: rows(section('### 7.2', '\n## ')) };
}
