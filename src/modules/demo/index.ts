import { defineModule } from '../../platform/modules.ts'
import { addDemoData } from './data.ts'

// The public surface other modules and the CLI may import (eslint: no-restricted-imports).
export { DEMO_REFUSED } from './errors.ts'

/**
 * demo provides `backplane seed --demo`: a demo account owning a project with scheduled tasks and an
 * agent, made through the other modules' services so it is exactly what the API would have made.
 */
export default defineModule({
  name: 'demo',
  plugin: async () => {},
  demo: addDemoData
})
