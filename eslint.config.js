import neostandard, { plugins } from 'neostandard'

const plugin = plugins['typescript-eslint'].plugin

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', 'data/**', 'migrations/**', 'sdk/generated/**', 'test/fixtures/**', 'dashboard/dist/**', 'dashboard/src/api/**'] }),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'max-lines': ['warn', { max: 300, skipBlankLines: true, skipComments: true }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/utils', '**/utils/**', '**/utils.ts', '**/utils.js', '**/helpers.ts', '**/helpers.js'], message: 'Name the concept: put it in src/lib/<concept>.ts or in the module that uses it.' }] }]
    }
  },
  // Module boundaries: another module is reached through its index.ts (its public surface:
  // service type, view types, tables for foreign keys), never its other files; the CLI too.
  ...[['src/modules/**/*.ts', '^\\.\\./[a-z-]+/(?!index\\.ts$)[^/]+$'], ['src/cli/**/*.ts', '^\\.\\./modules/[a-z-]+/(?!index\\.ts$)[^/]+$']].map(([files, regex]) => ({
    files: [files],
    ignores: ['**/*.test.ts', 'src/modules/index.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/utils', '**/utils/**', '**/utils.ts', '**/utils.js', '**/helpers.ts', '**/helpers.js'], message: 'Name the concept: put it in src/lib/<concept>.ts or in the module that uses it.' },
          { regex, message: 'Import another module through its index.ts (its public surface), never its other files.' }
        ]
      }]
    }
  })),
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
