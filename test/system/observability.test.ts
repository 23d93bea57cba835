// The shipped Grafana dashboards and Prometheus rules (deploy/observability/) against the real
// /metrics page: rules pass `promtool check rules` and their unit tests (`promtool test rules`),
// and every metric a dashboard panel or a rule reads is one Backplane exports (or a recording
// rule defined beside them). promtool comes from Debian's `prometheus` package (.ci/run installs
// it); under CI (or on the services lane) a missing promtool fails these tests instead of skipping them.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { projectRoot } from '../helpers/process.ts'

const rulesDir = join(projectRoot, 'deploy/observability/prometheus/rules')
const dashboardsDir = join(projectRoot, 'deploy/observability/grafana/dashboards')
// Rules are *.yml (what Prometheus loads); their unit tests *.test.yaml, which that glob leaves out.
const ruleFiles = readdirSync(rulesDir).filter((f) => f.endsWith('.yml'))
const ruleTests = readdirSync(rulesDir).filter((f) => f.endsWith('.test.yaml'))
const dashboards = readdirSync(dashboardsDir).filter((f) => f.endsWith('.json'))
const ci = (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') || process.env.BACKPLANE_REQUIRE_SERVICES === '1'
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p))

interface Rule { record?: string, alert?: string, expr: string }
const rules: Rule[] = ruleFiles.flatMap((f) => (parse(readFileSync(join(rulesDir, f), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules))
interface Panel { title: string, type: string, targets?: Array<{ expr: string }>, panels?: Panel[] }
const panels = dashboards.flatMap((f) => (JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as { panels: Panel[] }).panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => ({ file: f, ...p })))

// PromQL words that are not metric names: functions, aggregations, keywords.
const PROMQL = new Set(['sum', 'min', 'max', 'avg', 'count', 'rate', 'irate', 'increase', 'delta', 'histogram_quantile', 'clamp_min', 'clamp_max', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'abs', 'time', 'label_values', 'topk', 'bottomk', 'bool', 'vector', 'scalar', 'absent'])

/** metricNames lists the metric (and recording-rule) names an expression reads. */
function metricNames (expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, regexes)
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '') // label lists
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\boffset\s+\d+[smhdwy]/g, '')
    .replace(/\$\w+/g, '')
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL.has(w) && !/^\d/.test(w) && !/^(e|Inf|NaN)$/.test(w))
}

let t: TestApp
let exported: Set<string>

beforeAll(async () => {
  t = await createTestApp()
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
  exported = new Set()
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exported.add(name!)
    if (type === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) exported.add(`${name}${suffix}`)
    if (type === 'summary') for (const suffix of ['_count', '_sum']) exported.add(`${name}${suffix}`)
  }
})
afterAll(async () => { await t.close() })

describe('Prometheus rules (deploy/observability/prometheus/rules)', () => {
  const run = (args: string[]) => {
    if (!promtool) {
      if (ci) throw new Error('promtool is missing: install Debian\'s prometheus package (.ci/run does)')
      return null
    }
    return execFileSync(promtool, args, { cwd: rulesDir, encoding: 'utf8' })
  }

  it('pass promtool check rules', (context) => {
    const out = run(['check', 'rules', ...ruleFiles])
    if (out === null) { context.skip(); return }
    expect(out).toMatch(/SUCCESS: \d+ rules found/)
  })

  it('pass their unit tests (promtool test rules): every alert fires on its scenario, and not on healthy traffic', (context) => {
    expect(ruleTests.length).toBeGreaterThan(0)
    const out = run(['test', 'rules', ...ruleTests])
    if (out === null) { context.skip(); return }
    expect(out).toContain('SUCCESS')
    // Each alert has a scenario in the unit tests.
    const tested = ruleTests.map((f) => readFileSync(join(rulesDir, f), 'utf8')).join('\n')
    for (const alert of rules.filter((r) => r.alert)) expect(tested, `a unit test for ${alert.alert}`).toContain(`alertname: ${alert.alert}`)
  })

  it('read only metrics Backplane exports', () => {
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])))
    const missing = rules.flatMap((r) => metricNames(r.expr)).filter((n) => n !== 'up' && !exported.has(n) && !recorded.has(n))
    expect(missing).toEqual([])
  })
})

describe('Grafana dashboards (deploy/observability/grafana/dashboards)', () => {
  it('cover HTTP by route, realtime, queue and scheduler, agents and executions, database and cache, and nodes', () => {
    const titles = dashboards.map((f) => (JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as { title: string, uid: string }).title)
    expect(titles.sort()).toEqual([
      'Backplane / Agents and executions', 'Backplane / Database and cache', 'Backplane / HTTP (RED by route)',
      'Backplane / Nodes', 'Backplane / Queue and scheduler', 'Backplane / Realtime'
    ])
    for (const p of panels) expect(p.targets?.length, `${p.file}: ${p.title} has queries`).toBeGreaterThan(0)
  })

  it('read only metrics Backplane exports, or the recording rules shipped beside them', () => {
    const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])))
    const used = panels.flatMap((p) => (p.targets ?? []).flatMap((target) => metricNames(target.expr).map((name) => ({ name, where: `${p.file}: ${p.title}` }))))
    expect(used.length).toBeGreaterThan(40)
    expect(used.filter(({ name }) => name !== 'up' && !exported.has(name) && !recorded.has(name))).toEqual([])
  })
})
