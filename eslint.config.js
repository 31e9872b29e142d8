// Lint rules: typescript-eslint's recommended set plus the one house rule that keeps the layering
// honest: dependencies point one way (bench → loadgen → relay/protocol; relay → relay/protocol).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noImport = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['relay/protocol/**/*.ts'],
    rules: noImport(['**/relay/src/**', '**/loadgen/**', '**/bench/**', '../../src/**'], 'relay/protocol depends on nothing else in the project'),
  },
  {
    files: ['relay/src/**/*.ts'],
    rules: noImport(['**/loadgen/**', '**/bench/**'], 'the relay never imports the loadgen or the bench'),
  },
  {
    files: ['loadgen/**/*.ts'],
    rules: noImport(['**/relay/src/**', '**/bench/**'], 'the loadgen speaks to the relay only through relay/protocol'),
  },
);
