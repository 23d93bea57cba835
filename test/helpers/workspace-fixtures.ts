import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const source = fileURLToPath(new URL('../fixtures/workspaces', import.meta.url))

/**
 * copyWorkspaceFixtures copies test/fixtures/workspaces into a new temporary folder outside the
 * repository and returns its path. The frontend detector looks for installed packages from an app's
 * folder upwards, as Node resolves them; inside the repository it would find Backplane's own
 * node_modules (the admin console's react and vite) and report their versions instead of the
 * fixtures' declared ranges.
 */
export async function copyWorkspaceFixtures (): Promise<{ dir: string, remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'backplane-workspaces-'))
  const dir = join(root, 'workspaces')
  await cp(source, dir, { recursive: true, verbatimSymlinks: true })
  return { dir, remove: () => rm(root, { recursive: true, force: true }) }
}
