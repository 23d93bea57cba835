/**
 * The tracing port. Code that continues a trace across an asynchronous hop (the outbox, the queue,
 * the scheduler, an agent's run) talks to this file only; it imports nothing from OpenTelemetry,
 * so a node without OTEL_EXPORTER_OTLP_ENDPOINT loads none of it. With an endpoint,
 * `telemetry/bootstrap.ts` installs the OpenTelemetry implementation (`telemetry/otel-tracer.ts`)
 * before the application is imported.
 */

/** TraceCarrier is a W3C trace context as stored with a row or sent with a message: `traceparent` and, when present, `tracestate`. */
export interface TraceCarrier { traceparent: string, tracestate?: string }

/** SpanKindName is the OpenTelemetry span kind, by name. */
export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer'

/** SpanOptions say where a span belongs: `parent` makes it a child of a stored context, `links` point at related traces. */
export interface SpanOptions {
  parent?: TraceCarrier | null
  links?: ReadonlyArray<TraceCarrier | null | undefined>
  kind?: SpanKindName
  attributes?: Record<string, string | number | boolean>
  /** root starts a new trace even when a span is active (a scheduler tick is not part of the relay that woke it). */
  root?: boolean
}

/** Tracer is what an implementation provides; the no-op one below is used without an endpoint. */
export interface Tracer {
  readonly enabled: boolean
  /** capture returns the active span's context (to store or send), or null when nothing is traced. */
  capture: () => TraceCarrier | null
  /** span runs `fn` inside a new span and ends it (with an error status if `fn` throws). */
  span: <T>(name: string, options: SpanOptions, fn: () => Promise<T>) => Promise<T>
  /** logFields are the active span's ids for a log line, or undefined outside a span. */
  logFields: () => { trace_id: string, span_id: string } | undefined
  /** shutdown flushes the spans still buffered (at exit). */
  shutdown: () => Promise<void>
}

const noop: Tracer = {
  enabled: false,
  capture: () => null,
  span: (_name, _options, fn) => fn(),
  logFields: () => undefined,
  shutdown: async () => {}
}

let current: Tracer = noop

/** tracing is the process's tracer: no-op unless OpenTelemetry was installed at start-up (tracing is process-wide, like OpenTelemetry's own global). */
export const tracing: Tracer = {
  get enabled () { return current.enabled },
  capture: () => current.capture(),
  span: (name, options, fn) => current.span(name, options, fn),
  logFields: () => current.logFields(),
  shutdown: () => current.shutdown()
}

/** installTracer replaces the no-op tracer (telemetry/bootstrap.ts calls it once, before the app loads). */
export function installTracer (tracer: Tracer): void {
  current = tracer
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/** asTraceCarrier reads a stored or received carrier, refusing anything that is not a well-formed traceparent (data from a row or a message is not trusted blindly). */
export function asTraceCarrier (value: unknown): TraceCarrier | null {
  if (value === null || typeof value !== 'object') return null
  const { traceparent, tracestate } = value as { traceparent?: unknown, tracestate?: unknown }
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return null
  return typeof tracestate === 'string' && tracestate.length <= 512 ? { traceparent, tracestate } : { traceparent }
}
