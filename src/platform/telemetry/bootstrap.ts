/**
 * Tracing is switched on by the standard OpenTelemetry variables alone: an OTLP endpoint
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless
 * OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true. Without one, nothing of OpenTelemetry is
 * imported: this file only decides, and loads the SDK on demand.
 */

/** tracingWanted tells whether the environment asks for traces to be exported. */
export function tracingWanted (env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false
  const exporters = (env.OTEL_TRACES_EXPORTER ?? 'otlp').split(',').map((e) => e.trim().toLowerCase())
  if (exporters.every((e) => e === 'none' || e === '')) return false
  if (exporters.some((e) => e === 'console')) return true
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim())
}

// The packages whose ES-module imports need wrapping so that the instrumentations can patch them
// (Fastify comes through diagnostics_channel and needs none).
const INSTRUMENTED = ['http', 'https', 'node:http', 'node:https', 'pg', 'pg-pool', 'ioredis', 'amqplib']

/**
 * startTracing, when tracingWanted, registers the import-in-the-middle loader hook (so ES-module
 * imports of the instrumented packages can be patched) and starts the SDK. It must run before the
 * application is imported: `src/main.ts` calls it first and imports the CLI afterwards.
 */
export async function startTracing (env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!tracingWanted(env)) return false
  const hooks = await import('import-in-the-middle/register-hooks.mjs')
  if (hooks.supportsSyncHooks()) {
    hooks.register({ include: INSTRUMENTED })
  } else {
    const { register } = await import('node:module')
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: INSTRUMENTED } })
  }
  const { startOtel } = await import('./otel-sdk.ts')
  startOtel(env)
  return true
}
