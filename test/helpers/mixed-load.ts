import { Agent, request as httpRequest } from 'node:http'

function call (agent: Agent, url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ statusCode: number, text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent, headers, timeout: 15_000 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => { resolve({ statusCode: res.statusCode ?? 0, text }) })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error('no reply within 15 s')) })
    req.on('error', reject)
    req.end(body)
  })
}

/** LoadFigures are what a load run counts: by kind, sent and failed, and the ids of acknowledged writes. */
export interface LoadFigures {
  reads: { sent: number, failed: number }
  writes: { sent: number, failed: number }
  acknowledged: string[]
  /** failures lists the first few failures (status or error), to say what went wrong. */
  failures: string[]
}

/** LoadOptions shape a run: concurrent readers and writers over keep-alive connections to one URL. */
export interface LoadOptions {
  base: string
  token: string
  readers: number
  writers: number
  /** write makes one write request; it returns the path and body to POST. */
  /** write gives the n-th write; `token` (optional) writes as another caller than `token` above. */
  write: (n: number) => { path: string, body: unknown, token?: string }
}

/**
 * startLoad runs authenticated GETs and POSTs in closed loops until `stop()` is called; a
 * request counts as failed on a status other than 2xx or a transport error.
 */
export function startLoad (options: LoadOptions): { stop: () => Promise<LoadFigures> } {
  const agent = new Agent({ keepAlive: true, maxSockets: options.readers + options.writers })
  const figures: LoadFigures = { reads: { sent: 0, failed: 0 }, writes: { sent: 0, failed: 0 }, acknowledged: [], failures: [] }
  const headers = { authorization: `Bearer ${options.token}` }
  // An object, not a local: the loops read it after awaits, and stop() changes it.
  const state = { running: true }
  let writes = 0
  const fail = (what: string) => { if (figures.failures.length < 20) figures.failures.push(what) }

  async function reader (): Promise<void> {
    while (state.running) {
      figures.reads.sent++
      try {
        const res = await call(agent, `${options.base}/api/v1/users/me`, 'GET', headers)
        if (res.statusCode !== 200) { figures.reads.failed++; fail(`GET ${res.statusCode}`) }
      } catch (err) { figures.reads.failed++; fail(`GET ${(err as Error).message}`) }
    }
  }
  async function writer (): Promise<void> {
    while (state.running) {
      const { path, body, token } = options.write(writes++)
      figures.writes.sent++
      try {
        const auth = token === undefined ? headers : { authorization: `Bearer ${token}` }
        const res = await call(agent, `${options.base}${path}`, 'POST', { ...auth, 'content-type': 'application/json' }, JSON.stringify(body))
        if (res.statusCode === 201) figures.acknowledged.push((JSON.parse(res.text) as { id: string }).id)
        else { figures.writes.failed++; fail(`POST ${res.statusCode} ${res.text.slice(0, 120)}`) }
      } catch (err) { figures.writes.failed++; fail(`POST ${(err as Error).message}`) }
    }
  }
  const loops = [...Array.from({ length: options.readers }, reader), ...Array.from({ length: options.writers }, writer)]
  return {
    stop: async () => {
      state.running = false
      await Promise.all(loops)
      agent.destroy()
      return figures
    }
  }
}
