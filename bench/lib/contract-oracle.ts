/** OpenApi is the part of the served document the contract oracle reads: operations and their documented statuses. */
export interface OpenApi { paths: Record<string, Record<string, { operationId?: string, responses?: Record<string, unknown> }>> }

/** Execution is one request an outside tool sent and the status it got. */
export interface Execution { name: string, method: string, path: string, status: number }

/** ContractFinding is a response that breaks the contract: a 5xx, or a status the operation does not document. */
export interface ContractFinding { kind: '5xx' | 'undocumented' | 'unknown-operation', method: string, operation: string, status: number, name: string, who?: string }

/** operationOf finds the OpenAPI path template a concrete request path belongs to (literal segments win over parameters). */
export function operationOf (doc: OpenApi, method: string, path: string): string | undefined {
  const segments = path.split('/')
  let best: { template: string, literals: number } | undefined
  for (const template of Object.keys(doc.paths)) {
    if (!doc.paths[template]?.[method.toLowerCase()]) continue
    const parts = template.split('/')
    if (parts.length !== segments.length) continue
    let literals = 0
    const fits = parts.every((p, i) => {
      if (/^\{[^}]+\}$/.test(p)) return (segments[i] ?? '') !== ''
      if (p === segments[i]) { literals++; return true }
      return false
    })
    if (fits && (!best || literals > best.literals)) best = { template, literals }
  }
  return best?.template
}

/** documents says whether a responses object lists a status, exactly, as a range (`4XX`) or through `default`. */
export function documents (responses: Record<string, unknown> | undefined, status: number): boolean {
  if (!responses) return false
  return String(status) in responses || `${Math.floor(status / 100)}XX` in responses || 'default' in responses
}

/** checkContract is the oracle: every 5xx, and every status the matched operation does not document. */
export function checkContract (doc: OpenApi, executions: Execution[]): ContractFinding[] {
  const findings: ContractFinding[] = []
  for (const e of executions) {
    const operation = operationOf(doc, e.method, e.path)
    if (e.status >= 500 || e.status === 0) findings.push({ kind: '5xx', method: e.method, operation: operation ?? e.path, status: e.status, name: e.name })
    else if (!operation) findings.push({ kind: 'unknown-operation', method: e.method, operation: e.path, status: e.status, name: e.name })
    else if (!documents(doc.paths[operation]?.[e.method.toLowerCase()]?.responses, e.status)) findings.push({ kind: 'undocumented', method: e.method, operation, status: e.status, name: e.name })
  }
  return findings
}
