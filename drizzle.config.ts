import { defineConfig } from 'drizzle-kit'

// Each module owns its tables in its own table.ts (platform ports in *-table.ts); drizzle-kit diffs them into migrations/.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/modules/*/table.ts', './src/platform/*-table.ts'],
  out: './migrations',
  casing: 'snake_case'
})
