import { spawnSync } from 'node:child_process'

/** inCi is true when the CI variable says this run is CI (where a missing tool is a failure). */
export const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'

/**
 * hasTool says whether a command runs (`<name> <versionArg>` exits 0). Under CI a missing tool
 * throws, so the test file fails instead of skipping: `.ci/run` installs every one of them.
 */
export function hasTool (name: string, versionArgs: string[] = ['--version']): boolean {
  const result = spawnSync(name, versionArgs, { stdio: 'ignore' })
  const ok = result.status === 0
  if (!ok && inCi) throw new Error(`${name} is missing: .ci/run installs it (apt-get install ${name}); under CI this test fails rather than skips`)
  return ok
}

/** run executes a command and returns its status and output (never throws on a non-zero exit). */
export function run (command: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, input?: string } = {}) {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, input: options.input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', output: `${result.stdout ?? ''}${result.stderr ?? ''}` }
}
