import neostandard, { plugins } from 'neostandard'

const plugin = plugins['typescript-eslint'].plugin

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', 'data/**', 'migrations/**', 'sdk/generated/**', 'test/fixtures/**'] }),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'max-lines': ['warn', { max: 300, skipBlankLines: true, skipComments: true }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/utils', '**/utils/**', '**/utils.ts', '**/utils.js', '**/helpers.ts', '**/helpers.js'], message: 'Name the concept: put it in src/lib/<concept>.ts or in the module that uses it.' }] }]
    }
  },
  {
    files: ['**/*.ts'],
    plugins: { '@typescript-eslint': plugin },
    rules: { '@typescript-eslint/consistent-type-imports': 'error' }
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { 'max-lines': ['warn', { max: 400, skipBlankLines: true, skipComments: true }] }
  }
]
