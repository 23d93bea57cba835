import { registerHooks } from 'node:module'

// drizzle-orm's package.json has ~450 export entries, and Node 24's ESM resolver re-reads them for
// every module it resolves inside the package: importing drizzle as ESM costs ~1.5 s and ~240 MB
// of RSS at start-up, its CommonJS build ~0.2 s and ~25 MB (measured with /usr/bin/time). Same
// code, same API: resolve drizzle to its CommonJS build. Imported first by the CLI entry.
const CJS = ['require', 'node', 'default']

registerHooks({
  resolve (specifier, context, nextResolve) {
    if (specifier === 'drizzle-orm' || specifier.startsWith('drizzle-orm/')) {
      return nextResolve(specifier, { ...context, conditions: CJS })
    }
    return nextResolve(specifier, context)
  }
})
