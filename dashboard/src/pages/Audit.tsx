import { useState } from 'react'
import { useQuery } from '@tanstack/react-query'
import { useSession } from '../session/context.ts'
import { Pager, defined, useFilters } from '../ui/Pager.tsx'
import { Loading, ProblemAlert } from '../ui/Problem.tsx'
import { AuditRows, auditPage } from './AuditTable.tsx'
import type { AuditEvent, AuditQuery } from './AuditTable.tsx'
import { download, toCsv } from '../lib/csv.ts'

const KEYS = ['actorId', 'action', 'targetType', 'targetId', 'outcome', 'from', 'to', 'cursor'] as const
const COLUMNS = ['createdAt', 'action', 'outcome', 'actorType', 'actorId', 'targetType', 'targetId', 'ip', 'userAgent', 'requestId', 'details'] as const
/** EXPORT_LIMIT bounds one CSV export (pages of 100 fetched one after the other). */
export const EXPORT_LIMIT = 10_000

const iso = (local: string) => (local === '' ? '' : new Date(local).toISOString())

/** Audit is the audit log with its filters in the URL, cursor pages, and a CSV export of the filtered events. */
export function Audit () {
  const { api } = useSession()
  const [f, set] = useFilters(KEYS)
  const query = defined({ actorId: f.actorId, action: f.action, targetType: f.targetType, targetId: f.targetId, from: iso(f.from), to: iso(f.to) }) as AuditQuery
  if (f.outcome !== '') query.outcome = f.outcome as 'success'
  const page = useQuery({ queryKey: ['audit', query, f.cursor], queryFn: () => auditPage(api, { ...query, ...(f.cursor === '' ? {} : { cursor: f.cursor }) }) })
  const [exporting, setExporting] = useState<string | null>(null)
  const [exportError, setExportError] = useState<unknown>(null)

  const exportCsv = async () => {
    setExportError(null)
    const rows: AuditEvent[] = []
    let cursor: string | null = null
    try {
      do {
        setExporting(`Exporting… ${rows.length} events`)
        const p = await auditPage(api, { ...query, ...(cursor === null ? {} : { cursor }) }, 100)
        rows.push(...p.items)
        cursor = p.nextCursor
      } while (cursor !== null && rows.length < EXPORT_LIMIT)
      download(`audit-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.csv`, toCsv(COLUMNS, rows))
      setExporting(`Exported ${rows.length} events${cursor === null ? '' : ` (the first ${EXPORT_LIMIT}: narrow the filters for the rest)`}.`)
    } catch (err) {
      setExportError(err)
      setExporting(null)
    }
  }

  return (
    <>
      <h1>Audit log</h1>
      <form role='search' className='filters' onSubmit={(e) => e.preventDefault()}>
        <label>Action<input value={f.action} onChange={(e) => set('action', e.target.value)} placeholder='auth.*' /></label>
        <label>Actor id<input value={f.actorId} onChange={(e) => set('actorId', e.target.value)} /></label>
        <label>Target type<input value={f.targetType} onChange={(e) => set('targetType', e.target.value)} /></label>
        <label>Target id<input value={f.targetId} onChange={(e) => set('targetId', e.target.value)} /></label>
        <label>Outcome
          <select value={f.outcome} onChange={(e) => set('outcome', e.target.value)}>
            <option value=''>any</option><option value='success'>success</option><option value='failure'>failure</option><option value='denied'>denied</option>
          </select>
        </label>
        <label>From<input type='datetime-local' value={f.from} onChange={(e) => set('from', e.target.value)} /></label>
        <label>To<input type='datetime-local' value={f.to} onChange={(e) => set('to', e.target.value)} /></label>
      </form>
      <p><button type='button' onClick={() => { exportCsv() }}>Export CSV</button> {exporting !== null && <span role='status'>{exporting}</span>}</p>
      <ProblemAlert error={page.error ?? exportError} />
      {page.isPending ? <Loading what='audit events' /> : <AuditRows items={page.data?.items ?? []} />}
      <Pager nextCursor={page.data?.nextCursor} />
    </>
  )
}
