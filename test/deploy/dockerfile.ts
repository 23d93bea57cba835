import { readFileSync } from 'node:fs'

/** DockerInstruction is one instruction of a Dockerfile, continuation lines joined. */
export interface DockerInstruction { keyword: string, args: string, line: number }

/** DockerStage is one FROM … AS name stage and its instructions. */
export interface DockerStage { name: string, base: string, instructions: DockerInstruction[] }

/**
 * parseDockerfile splits a Dockerfile into stages (global ARGs before the first FROM are kept
 * under the name `global`). Enough of the syntax for rule tests: comments, `\` continuations.
 */
export function parseDockerfile (text: string): DockerStage[] {
  const stages: DockerStage[] = [{ name: 'global', base: '', instructions: [] }]
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i] ?? ''
    if (/^\s*(#|$)/.test(line)) continue
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++
      const next = lines[i] ?? ''
      if (/^\s*#/.test(next)) continue
      line = `${line.slice(0, -1)} ${next.trim()}`
    }
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line)
    if (!match) continue
    const keyword = match[1]!.toUpperCase()
    const args = match[2]!.trim()
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ name: from?.[2] ?? String(stages.length - 1), base: from?.[1] ?? '', instructions: [] })
      continue
    }
    stages.at(-1)!.instructions.push({ keyword, args, line: start + 1 })
  }
  return stages
}

/** readDockerfile parses the image's Dockerfile in deploy/docker. */
export function readDockerfile (): DockerStage[] {
  return parseDockerfile(readFileSync(new URL('../../deploy/docker/Dockerfile', import.meta.url), 'utf8'))
}

/** stage finds a stage by name, or throws naming the ones there are. */
export function stage (stages: DockerStage[], name: string): DockerStage {
  const found = stages.find((s) => s.name === name)
  if (!found) throw new Error(`no stage ${name} in the Dockerfile (stages: ${stages.map((s) => s.name).join(', ')})`)
  return found
}

/** argDefaults are the ARG defaults declared before the first FROM (e.g. NODE_VERSION). */
export function argDefaults (stages: DockerStage[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const i of stages[0]?.instructions ?? []) {
    const m = /^(\w+)=(\S+)$/.exec(i.args)
    if (i.keyword === 'ARG' && m) out[m[1]!] = m[2]!
  }
  return out
}

/** runtimeStage is the last stage: the one `docker build` produces. */
export function runtimeStage (stages: DockerStage[]): DockerStage {
  return stages.at(-1)!
}

/** envOf collects the ENV instructions of a stage (`K=V` pairs; quotes not needed by ours). */
export function envOf (s: DockerStage): Record<string, string> {
  const out: Record<string, string> = {}
  for (const i of s.instructions.filter((x) => x.keyword === 'ENV')) {
    for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) out[m[1]!] = m[2]!
  }
  return out
}

/** runCommand is a RUN instruction's shell command without its BuildKit flags (--mount=…, --network=…). */
export function runCommand (instruction: DockerInstruction): string {
  return instruction.args.replace(/^(--[a-z]+=\S+\s+)+/, '')
}

/** execForm parses a JSON exec-form argument list, or returns undefined for shell form. */
export function execForm (args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined
  const parsed: unknown = JSON.parse(args)
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined
}
