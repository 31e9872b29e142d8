// Draws the enforced dependency graph (.dependency-cruiser.cjs) into docs/architecture.md,
// between the `<!-- deps:NAME -->` and `<!-- /deps:NAME -->` markers, as Mermaid.
// `--check` fails instead of writing when the drawing is stale (run by `make lint`).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const DOC = 'docs/architecture.md';
const ROOTS = ['relay', 'loadgen', 'bench', 'testbed', 'test', 'dashboards'];
const FOLDERS =
  'relay/protocol|relay/kafka|relay/src|relay/test|loadgen/src|loadgen/test|loadgen/bench|testbed/[^/]+|bench/src|bench/test|bench/benchmarks|test/[^/]+|dashboards/src|dashboards/test';
const TESTS = '(\\.test\\.ts$|/test/|^test/|/benchmarks/|^loadgen/bench/)';

function mermaid(extraArgs) {
  const args = [
    ...ROOTS,
    '--config',
    '.dependency-cruiser.cjs',
    '--include-only',
    `^(${ROOTS.join('|')})/`,
    '--collapse',
    `^(${FOLDERS})`,
    '--output-type',
    'mermaid',
    ...extraArgs,
  ];
  return execFileSync('node_modules/.bin/depcruise', args, { encoding: 'utf8' }).trim();
}

const graphs = {
  runtime: mermaid(['--exclude', TESTS]),
  'with-tests': mermaid([]),
};

let doc = readFileSync(DOC, 'utf8');
for (const [name, graph] of Object.entries(graphs)) {
  const start = `<!-- deps:${name} -->`;
  const end = `<!-- /deps:${name} -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${DOC}: markers ${start} … ${end} missing`);
  doc = `${doc.slice(0, from + start.length)}\n\`\`\`mermaid\n${graph}\n\`\`\`\n${doc.slice(to)}`;
}

if (process.argv.includes('--check')) {
  if (doc !== readFileSync(DOC, 'utf8')) {
    process.stderr.write(`${DOC}: the dependency graph is stale; run \`npm run deps:graph\`\n`);
    process.exit(1);
  }
} else {
  writeFileSync(DOC, doc);
}
