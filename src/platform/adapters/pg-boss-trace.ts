import { asTraceCarrier, type TraceCarrier } from '../tracing.ts'

// pg-boss has no message headers: the sender's trace context rides in the job's data under a key
// no job of Backplane uses, and is taken out again before the handler (or an operator) sees the data.
const KEY = '__backplane_trace'

/** wrapTrace adds the trace context to an object payload (other payloads, and jobs sent without tracing, are stored as given). */
export function wrapTrace (data: unknown, trace: TraceCarrier | null): unknown {
  if (trace === null || data === null || typeof data !== 'object' || Array.isArray(data)) return data
  return { ...data, [KEY]: trace }
}

/** unwrapTrace splits a stored payload into the sender's data and its trace context. */
export function unwrapTrace (stored: unknown): { data: unknown, trace: TraceCarrier | null } {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored) || !Object.hasOwn(stored, KEY)) return { data: stored, trace: null }
  const { [KEY]: trace, ...data } = stored as Record<string, unknown>
  return { data, trace: asTraceCarrier(trace) }
}
