import { beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { projectRoot } from '../helpers/process.ts'
import { renderOverlay, typecheckUnknownFields, validateAgainstSchemas, type K8sObject } from './kubernetes.ts'
import { hasTool, run } from './tools.ts'

const ready = hasTool('kubectl', ['version', '--client'])

interface Probe { httpGet: { path: string, port: string | number } }
interface Container {
  name: string,
  image: string,
  args?: string[],
  envFrom?: unknown[],
  ports?: Array<{ name: string, containerPort: number }>,
  resources?: { requests?: Record<string, string>, limits?: Record<string, string> },
  securityContext?: { allowPrivilegeEscalation?: boolean, readOnlyRootFilesystem?: boolean, capabilities?: { drop?: string[] } },
  startupProbe?: Probe,
  readinessProbe?: Probe,
  livenessProbe?: Probe,
  lifecycle?: { preStop?: { sleep?: { seconds: number } } }
}
interface PodSpec {
  securityContext: { runAsNonRoot?: boolean, runAsUser?: number, seccompProfile?: { type: string } },
  terminationGracePeriodSeconds: number,
  containers: Container[],
  initContainers?: Container[],
  topologySpreadConstraints?: Array<{ topologyKey: string, labelSelector: { matchLabels: Record<string, string> } }>,
  automountServiceAccountToken?: boolean
}
interface Deployment extends K8sObject { spec: { replicas: number, selector: { matchLabels: Record<string, string> }, template: { metadata: { labels: Record<string, string> }, spec: PodSpec } } }

const find = <T extends K8sObject>(objects: K8sObject[], kind: string, name = 'backplane') => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  if (!found) throw new Error(`no ${kind}/${name} rendered`)
  return found as T
}
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v)

describe.skipIf(!ready)('deploy/k8s overlays rendered by kubectl kustomize', () => {
  const rendered: Record<string, K8sObject[]> = {}
  let appPaths: string[] = []

  beforeAll(() => {
    for (const overlay of ['dev', 'production']) rendered[overlay] = renderOverlay(overlay)
    // The probes must point at routes the app serves: read them from its own OpenAPI document.
    const openapi = run(process.execPath, ['src/main.ts', 'openapi'], { cwd: projectRoot })
    expect(openapi.status, openapi.output).toBe(0)
    appPaths = Object.keys((JSON.parse(openapi.stdout) as { paths: Record<string, unknown> }).paths)
  }, 60_000)

  it.each(['dev', 'production'])('%s: every object passes the Kubernetes OpenAPI schemas (kubernetes-models)', async (overlay) => {
    const objects = rendered[overlay]!
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'Ingress', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy']))
    expect(await validateAgainstSchemas(objects)).toEqual([])
  })

  it.each(['dev', 'production'])('%s: no unknown or misspelt field in any object (typed by kubernetes-models)', async (overlay) => {
    expect(await typecheckUnknownFields(rendered[overlay]!)).toBe('')
  }, 60_000)

  it.each(['dev', 'production'])('%s: the Backplane pods run non-root, read-only, without capabilities, seccomp RuntimeDefault', (overlay) => {
    const pod = find<Deployment>(rendered[overlay]!, 'Deployment').spec.template.spec
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } })
    expect(pod.automountServiceAccountToken).toBe(false)
    for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
      expect(container.securityContext, container.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
      expect(Object.keys(container.resources?.requests ?? {}).sort(), container.name).toEqual(['cpu', 'memory'])
      expect(Object.keys(container.resources?.limits ?? {}).sort(), container.name).toEqual(['cpu', 'memory'])
    }
  })

  it.each(['dev', 'production'])('%s: startup, readiness and liveness probes use health routes the app serves', (overlay) => {
    const container = find<Deployment>(rendered[overlay]!, 'Deployment').spec.template.spec.containers[0]!
    expect(container.startupProbe?.httpGet.path).toBe('/health/live')
    expect(container.readinessProbe?.httpGet.path).toBe('/health/ready')
    expect(container.livenessProbe?.httpGet.path).toBe('/health/live')
    for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
      expect(appPaths).toContain(probe!.httpGet.path)
      expect(container.ports?.map((p) => p.name)).toContain(probe!.httpGet.port)
    }
  })

  it.each(['dev', 'production'])('%s: the grace period covers preStop + SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS', (overlay) => {
    const objects = rendered[overlay]!
    const pod = find<Deployment>(objects, 'Deployment').spec.template.spec
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('backplane-config'))!.data as Record<string, string>
    const preStopMs = (pod.containers[0]!.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000
    expect(preStopMs).toBeGreaterThan(0)
    const drainMs = preStopMs + Number(config.SHUTDOWN_DELAY_MS) + Number(config.SHUTDOWN_TIMEOUT_MS)
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs)
  })

  it.each(['dev', 'production'])('%s: migrations run in an init container with the app image and settings', (overlay) => {
    const pod = find<Deployment>(rendered[overlay]!, 'Deployment').spec.template.spec
    const [migrate] = pod.initContainers ?? []
    expect(migrate?.args).toEqual(['migrate'])
    expect(migrate?.image).toBe(pod.containers[0]!.image)
    expect(migrate?.envFrom).toEqual(pod.containers[0]!.envFrom)
  })

  it.each(['dev', 'production'])('%s: Service, PDB, HPA, NetworkPolicy and topology spread all select the Backplane pods', (overlay) => {
    const objects = rendered[overlay]!
    const deployment = find<Deployment>(objects, 'Deployment')
    const labels = deployment.spec.template.metadata.labels
    expect(selects(deployment.spec.selector.matchLabels, labels)).toBe(true)
    expect(selects((find(objects, 'Service').spec as { selector: Record<string, string> }).selector, labels)).toBe(true)
    expect(selects((find(objects, 'PodDisruptionBudget').spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, labels)).toBe(true)
    expect(selects((find(objects, 'NetworkPolicy').spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels, labels)).toBe(true)
    const spread = deployment.spec.template.spec.topologySpreadConstraints ?? []
    expect(spread.map((s) => s.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone'])
    for (const s of spread) expect(selects(s.labelSelector.matchLabels, labels)).toBe(true)
    const hpa = find(objects, 'HorizontalPodAutoscaler').spec as { scaleTargetRef: { kind: string, name: string }, minReplicas: number, maxReplicas: number }
    expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'backplane' })
    expect(hpa.maxReplicas).toBeGreaterThan(hpa.minReplicas)
  })

  it('production: three pods at least, a PDB that keeps two while draining, a pinned image, no example Secret', () => {
    const objects = rendered.production!
    const deployment = find<Deployment>(objects, 'Deployment')
    expect(deployment.spec.replicas).toBe(3)
    const hpa = find(objects, 'HorizontalPodAutoscaler').spec as { minReplicas: number }
    const pdb = find(objects, 'PodDisruptionBudget').spec as { maxUnavailable: number }
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(3)
    expect(hpa.minReplicas - pdb.maxUnavailable).toBeGreaterThanOrEqual(2)
    for (const c of deployment.spec.template.spec.containers) expect(c.image).toMatch(/:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/)
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([])
    const ingress = find(objects, 'Ingress').spec as { tls?: Array<{ secretName: string }> }
    expect(ingress.tls?.[0]?.secretName).toBe('backplane-tls')
  })

  it.each(['dev', 'production'])('%s: the Ingress keeps sockets and long polls open and matches BODY_LIMIT_BYTES', (overlay) => {
    const objects = rendered[overlay]!
    const ingress = find(objects, 'Ingress')
    const annotations = ingress.metadata.annotations ?? {}
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('backplane-config'))!.data as Record<string, string>
    expect(annotations['nginx.ingress.kubernetes.io/proxy-body-size']).toBe(config.BODY_LIMIT_BYTES)
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThan(30)
    expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThan(30)
    expect(annotations['nginx.ingress.kubernetes.io/proxy-next-upstream']).not.toContain('non_idempotent')
  })

  it('dev: the ConfigMap and the example Secret give settings Backplane accepts', () => {
    const objects = rendered.dev!
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('backplane-config'))!.data as Record<string, string>
    const secret = find(objects, 'Secret', 'backplane-secrets').stringData as Record<string, string>
    const loaded = loadConfig({ ...config, ...secret }, { filesOff: true })
    expect(loaded.production).toBe(true)
    expect(loaded.db.embedded).toBe(false)
    expect(loaded.shutdown).toEqual({ delay: 5000, timeout: 20000 })
    expect(Object.values(secret).every((v) => v.includes('change-me'))).toBe(true) // placeholders, visibly
  })
})
