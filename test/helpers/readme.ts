import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { projectRoot } from './process.ts'

/** readmeBlock is the first ```bash block after a README heading: tests run the README's examples literally. */
export async function readmeBlock (heading: string): Promise<string> {
  const readme = await readFile(join(projectRoot, 'README.md'), 'utf8')
  const at = readme.indexOf(heading)
  if (at < 0) throw new Error(`README has no "${heading}"`)
  const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(at))
  if (!block) throw new Error(`README has no bash block after "${heading}"`)
  return block[1]!
}
