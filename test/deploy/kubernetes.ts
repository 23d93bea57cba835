import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { projectRoot } from '../helpers/process.ts'
import { run } from './tools.ts'

/** K8sObject is one rendered Kubernetes object, loosely typed for policy assertions. */
export interface K8sObject { apiVersion: string, kind: string, metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }, [key: string]: unknown }

/** renderOverlay runs `kubectl kustomize` on deploy/k8s/overlays/<name> and parses every object. */
export function renderOverlay (name: string): K8sObject[] {
  const result = run('kubectl', ['kustomize', join(projectRoot, 'deploy', 'k8s', 'overlays', name)])
  if (result.status !== 0) throw new Error(`kubectl kustomize ${name} failed:\n${result.output}`)
  return parseAllDocuments(result.stdout).map((doc) => doc.toJS() as K8sObject).filter(Boolean)
}

/** modelPath is where kubernetes-models keeps the class of an apiVersion/kind (core group: v1/Kind). */
export function modelPath (object: Pick<K8sObject, 'apiVersion' | 'kind'>): string {
  return `kubernetes-models/${object.apiVersion}/${object.kind}`
}

/**
 * validateAgainstSchemas checks each object against the Kubernetes OpenAPI schema that the
 * kubernetes-models package compiles (types, enums, required fields); it returns one line per
 * object that fails, empty when all pass.
 */
export async function validateAgainstSchemas (objects: K8sObject[]): Promise<string[]> {
  const failures: string[] = []
  for (const object of objects) {
    const module = await import(modelPath(object)) as Record<string, new (data: unknown) => { validate: () => void }>
    const Model = module[object.kind]
    if (!Model) {
      failures.push(`${object.kind}/${object.metadata.name}: no schema for ${object.apiVersion}`)
      continue
    }
    try { new Model(object).validate() } catch (err) { failures.push(`${object.kind}/${object.metadata.name}: ${(err as Error).message}`) }
  }
  return failures
}

/**
 * typecheckUnknownFields catches what the schemas let through, a misspelt or unknown field (the API
 * server refuses those with strict field validation): each object is written as an object literal
 * typed by its kubernetes-models interface, and TypeScript's excess-property check runs over it.
 */
export async function typecheckUnknownFields (objects: K8sObject[]): Promise<string> {
  const dir = await mkdtemp(join(projectRoot, 'node_modules', '.k8s-typecheck-'))
  try {
    const lines = objects.map((object, i) => `import type { I${object.kind} as T${i} } from '${modelPath(object)}'\nexport const o${i}: T${i} = ${JSON.stringify(object)}\n`)
    await writeFile(join(dir, 'objects.ts'), lines.join('\n'))
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
      files: ['objects.ts']
    }))
    const tsc = run(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir])
    return tsc.status === 0 ? '' : tsc.output
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
