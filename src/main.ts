#!/usr/bin/env node
import './platform/module-hooks.ts'
import { startTracing } from './platform/telemetry/bootstrap.ts'

// OpenTelemetry has to patch pg, ioredis, amqplib and node:http before the application imports
// them, so the CLI (and with it everything else) is imported only after tracing is set up.
await startTracing(process.env)
await import('./cli/program.ts')
