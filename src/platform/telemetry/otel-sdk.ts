import { NodeSDK } from '@opentelemetry/sdk-node'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis'
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { installTracer } from '../tracing.ts'
import { createOtelTracer } from './otel-tracer.ts'

// Probes and scrapes arrive every few seconds from every orchestrator and Prometheus: tracing them
// would bury the requests people look for.
const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics'])

/**
 * startOtel starts the OpenTelemetry Node SDK with the instrumentations Backplane uses (incoming
 * and outgoing HTTP — webhooks are sent with node:http/https —, Fastify, pg, ioredis, amqplib).
 * Everything else comes from the standard OTEL_* variables the SDK reads itself: exporter and
 * protocol, endpoint, headers, sampler, resource attributes, batch sizes. Only traces: metrics stay
 * on /metrics (Prometheus) and logs on pino, so the SDK's metric and log pipelines are off.
 */
export function startOtel (env: NodeJS.ProcessEnv): void {
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME === undefined ? { serviceName: 'backplane' } : {}),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => QUIET_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
        // Outgoing requests without an active span are the SDK's own exports and health pings of
        // dependencies: no trace of their own.
        requireParentforOutgoingSpans: true
      }),
      new FastifyOtelInstrumentation({ registerOnInitialization: true, ignorePaths: (route) => QUIET_PATHS.has(route.url.split('?')[0] ?? '') }),
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new AmqplibInstrumentation()
    ]
  })
  sdk.start()
  installTracer(createOtelTracer(() => sdk.shutdown()))
}
