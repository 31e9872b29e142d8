// Run outputs by name (STYLE §11). summary.json is not here: the store writes it, and every
// output below is rendered from it (plus the .hlog files), so `relaybench report` can redo them.
import { htmlOutput } from '../report/html.js';
import { junitOutput } from './junit.js';
import { markdownOutput } from './markdown.js';
import type { RunOutput } from './output.js';

const outputs = new Map<string, RunOutput>();

export function registerOutput(output: RunOutput): void {
  if (outputs.has(output.name)) throw new Error(`output ${output.name} is already registered`);
  outputs.set(output.name, output);
}

export function registeredOutputs(): RunOutput[] {
  return [...outputs.values()];
}

registerOutput(htmlOutput);
registerOutput(markdownOutput);
registerOutput(junitOutput);
