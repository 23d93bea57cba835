import fp from 'fastify-plugin'

/** requestLog writes exactly one line per finished request (Fastify's own two lines are off). */
export default fp(async function requestLog (app) {
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode
    const line = {
      method: request.method,
      url: request.url.split('?')[0],
      route: request.routeOptions.url,
      status,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ip: request.ip,
      // The registered frontend whose key the request carried (absent otherwise, keeping lines short).
      ...(request.frontend ? { frontend: request.frontend } : {})
    }
    // A 503 is a deliberate refusal (draining, dependency down) already logged where it arose.
    if (status >= 500 && status !== 503) request.log.error(line, 'request')
    else if (status === 503) request.log.warn(line, 'request')
    else request.log.info(line, 'request')
    done()
  })
}, { name: 'request-log' })
