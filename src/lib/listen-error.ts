import { ConfigError } from './config-values.ts'

const REASONS: Record<string, (host: string, port: number) => string> = {
  EADDRINUSE: (host, port) => `PORT=${port} is already in use on ${host}: stop the other process or set PORT to a free port (0 picks one)`,
  EACCES: (_host, port) => `PORT=${port} needs privileges this process does not have: use a port above 1023 (e.g. 8080) and map it in front`,
  EADDRNOTAVAIL: (host) => `HOST=${host} is not an address of this machine: use 127.0.0.1, 0.0.0.0 (every interface) or one of its own addresses`,
  ENOTFOUND: (host) => `HOST=${host} does not resolve to an address: use 127.0.0.1, 0.0.0.0 (every interface) or one of this machine's addresses`,
  EAI_AGAIN: (host) => `HOST=${host} could not be resolved (the name server did not answer): use an IP address`
}

/**
 * explainListenError turns the error of a failed `listen` into a start-up refusal naming the
 * setting to change (HOST or PORT), since Node's own message ("listen EADDRINUSE: address already
 * in use 127.0.0.1:8080") does not say which setting it came from; other errors pass through.
 */
export function explainListenError (err: unknown, listen: { host: string, port: number }): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const reason = code === undefined ? undefined : REASONS[code]
  return reason ? new ConfigError(reason(listen.host, listen.port), { cause: err }) : err
}
