import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link } from '@opentelemetry/api'
import type { SpanKindName, TraceCarrier, Tracer } from '../tracing.ts'

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER
}

function contextOf (carrier: TraceCarrier): Context {
  return propagation.extract(ROOT_CONTEXT, carrier)
}

function linkOf (carrier: TraceCarrier | null | undefined): Link[] {
  if (!carrier) return []
  const span = trace.getSpanContext(contextOf(carrier))
  return span && trace.isSpanContextValid(span) ? [{ context: span }] : []
}

/** createOtelTracer implements the tracing port with the OpenTelemetry API (the SDK registered itself as its global provider). */
export function createOtelTracer (shutdown: () => Promise<void>): Tracer {
  const tracer = trace.getTracer('backplane')
  return {
    enabled: true,
    capture () {
      const carrier: Record<string, string> = {}
      propagation.inject(context.active(), carrier)
      if (carrier.traceparent === undefined) return null
      return carrier.tracestate === undefined ? { traceparent: carrier.traceparent } : { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    },
    span (name, options, fn) {
      const parent = options.parent ? contextOf(options.parent) : options.root ? ROOT_CONTEXT : context.active()
      const links = (options.links ?? []).flatMap(linkOf)
      return tracer.startActiveSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: options.attributes, links }, parent, async (span) => {
        try {
          return await fn()
        } catch (err) {
          span.recordException(err instanceof Error ? err : String(err))
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
          throw err
        } finally {
          span.end()
        }
      })
    },
    logFields () {
      const span = trace.getSpanContext(context.active())
      return span && trace.isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : undefined
    },
    shutdown
  }
}
