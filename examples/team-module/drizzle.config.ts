import { defineConfig } from 'drizzle-kit'

// The team's tables only: Backplane's own are migrated by Backplane.
export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/*/table.ts'],
  out: './migrations',
  casing: 'snake_case'
})
