import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { argDefaults, execForm, parseDockerfile, readDockerfile, runCommand, runtimeStage, stage } from './dockerfile.ts'

const stages = readDockerfile()
const runtime = runtimeStage(stages)
const args = argDefaults(stages)
const resolve = (text: string) => text.replace(/\$\{(\w+)\}/g, (_all, name: string) => args[name] ?? `\${${name}}`)

describe('deploy/docker/Dockerfile rules', () => {
  it('is multi-stage: install, build, production-dependencies, runtime', () => {
    expect(stages.slice(1).map((s) => s.name)).toEqual(['base', 'install', 'build', 'production-dependencies', 'runtime'])
  })

  it('pins the base image to a full Node 24 version of a slim Debian (never latest or a bare major)', () => {
    const external = stages.slice(1).map((s) => resolve(s.base)).filter((b) => !stages.some((s) => s.name === b))
    expect(external.length).toBeGreaterThan(0)
    for (const base of external) expect(base).toMatch(/^node:24\.\d+\.\d+-(bookworm|trixie)-slim(@sha256:[0-9a-f]{64})?$/)
  })

  it('runs as a non-root numeric uid and gid', () => {
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)
    expect(user?.args).toMatch(/^[1-9]\d*:[1-9]\d*$/)
    expect(user?.args.startsWith('0:')).toBe(false)
  })

  it('has exec-form ENTRYPOINT and CMD, so SIGTERM reaches Node without a shell', () => {
    const entrypoint = execForm(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args)
    expect(entrypoint?.[0]).toBe('node')
    expect(entrypoint).toContain('dist/main.js')
    expect(execForm(runtime.instructions.find((i) => i.keyword === 'CMD')!.args)).toEqual(['start'])
  })

  it('checks /health/live with Node (no curl or wget in the image)', () => {
    const healthcheck = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!
    const command = execForm(healthcheck.args.replace(/^.*?\bCMD\s+/, ''))
    expect(command?.[0]).toBe('node')
    expect(command?.join(' ')).toContain('/health/live')
    const everyInstruction = stages.flatMap((s) => s.instructions).map((i) => i.args).join('\n')
    expect(everyInstruction).not.toMatch(/\b(curl|wget)\b/)
  })

  it('installs no dev dependencies in what the runtime stage copies', () => {
    const deps = stage(stages, 'production-dependencies')
    const install = runCommand(deps.instructions.find((i) => i.keyword === 'RUN')!)
    expect(install).toMatch(/^npm ci --omit=dev\b/)
    // The npm cache is a build cache mount, so cleaning it is neither needed nor done (nor done to the machine running the tests).
    expect(install).not.toMatch(/npm cache clean/)
    const fromStages = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => /--from=(\S+)/.exec(i.args)?.[1]).filter(Boolean)
    // node_modules only from the production stage; the build stage gives compiled files, not modules.
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY' && i.args.includes('node_modules'))
    expect(copies.map((c) => /--from=(\S+)/.exec(c.args)?.[1])).toEqual(['production-dependencies'])
    expect(fromStages).not.toContain('install')
    expect(runtime.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n')).not.toMatch(/npm (ci|install)/)
  })

  it('declares DATA_DIR as the only volume, with production defaults and OCI labels', () => {
    const env = runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ')
    expect(env).toMatch(/DATA_DIR=\/data/)
    expect(env).toMatch(/BACKPLANE_ENV=production/)
    expect(env).toMatch(/HOST=0\.0\.0\.0/)
    expect(runtime.instructions.filter((i) => i.keyword === 'VOLUME').map((i) => i.args)).toEqual(['["/data"]'])
    const labels = runtime.instructions.filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ')
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'source']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`)
    }
  })

  it('ships the built admin console where the server looks for it (dashboard/dist beside dist/)', () => {
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args)
    expect(copies).toContain('--from=build /app/dashboard/dist ./dashboard/dist')
    const build = stage(stages, 'build').instructions.filter((i) => i.keyword === 'RUN').map((i) => runCommand(i))
    // `npm run build` builds the console too (package.json's build ends with dashboard:build).
    expect(build.some((command) => /\bnpm run build\b/.test(command))).toBe(true)
    const scripts = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts
    expect(scripts.build).toContain('dashboard:build')
    expect(scripts['dashboard:build']).toMatch(/vite build --config dashboard\/vite\.config\.ts/)
  })

  it('keeps secrets and local state out of the build context (.dockerignore)', () => {
    const ignore = readFileSync(new URL('../../.dockerignore', import.meta.url), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))
    expect(ignore[0]).toBe('**') // deny by default
    expect(ignore).toContain('**/.env')
    expect(ignore.some((l) => /data|node_modules/.test(l) && l.startsWith('!'))).toBe(false)
  })

  it('parser: joins continuations and names stages (checked on a sample)', () => {
    const parsed = parseDockerfile('ARG V=1\nFROM a:$V AS one\nRUN x \\\n  # note\n  y\nFROM one\nUSER 1:1\n')
    expect(parsed.map((s) => s.name)).toEqual(['global', 'one', '1']) // Docker numbers unnamed stages from 0
    expect(parsed[1]!.instructions[0]).toMatchObject({ keyword: 'RUN', args: 'x  y' })
  })
})
