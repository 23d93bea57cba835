import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignJWT } from 'jose'
import { UserSchema } from '../../src/modules/users/schemas.ts'
import { startServer, type ServerChild } from './servers.ts'

/** peersDir holds the peer servers and their own package.json, apart from the project's dependencies. */
export const peersDir = fileURLToPath(new URL('../peers/', import.meta.url))

/** PEERS are the peer servers by name: their script under bench/peers and whether they are the floor variant. */
export const PEERS = {
  fastify: { script: 'fastify-drizzle.js', floor: false },
  floor: { script: 'fastify-drizzle.js', floor: true },
  express: { script: 'express.js', floor: false },
  nest: { script: 'nest.js', floor: false }
} as const

/** PeerName is one of PEERS' names. */
export type PeerName = keyof typeof PEERS

/** peerNames parses `--peers` (a comma-separated list of PEERS' names, `all` or `none`). */
export function peerNames (value: string): PeerName[] {
  if (value === 'none') return []
  if (value === 'all') return Object.keys(PEERS) as PeerName[]
  const names = value.split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of names) if (!(name in PEERS)) throw new Error(`--peers: unknown peer ${name} (known: ${Object.keys(PEERS).join(', ')}, all, none)`)
  return names as PeerName[]
}

/**
 * ensurePeersInstalled runs `npm ci` in bench/peers when its node_modules is missing or older than
 * its package-lock.json (the first run), and does nothing otherwise.
 */
export function ensurePeersInstalled (): void {
  const marker = join(peersDir, 'node_modules', '.package-lock.json')
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(join(peersDir, 'package-lock.json')).mtimeMs) return
  process.stdout.write(`Installing the peer servers' packages: npm ci --prefix ${peersDir} (first run only)\n`)
  execFileSync('npm', ['ci', '--prefix', peersDir, '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] })
}

/** PeerAuth is what the peers verify: an HS256 secret, the claims' issuer and audience, and a token for one user. */
export interface PeerAuth { secret: string, issuer: string, audience: string, token: string }

/** peerAuth makes a fresh HS256 secret and signs an access token for userId with it, valid for a day. */
export async function peerAuth (userId: string, issuer: string, audience: string): Promise<PeerAuth> {
  const secret = randomBytes(32).toString('base64url')
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId).setIssuer(issuer).setAudience(audience).setIssuedAt().setExpirationTime('1d')
    .sign(new TextEncoder().encode(secret))
  return { secret, issuer, audience, token }
}

/** PeerSettings are what every peer is started with: the same database and pool size as Backplane, and the token settings. */
export interface PeerSettings { auth: PeerAuth, databaseUrl: string, poolMax: number, floorHeaders: Record<string, string>, floorLog: string }

/** startPeer forks one peer (Node 24, the benchmark's own Node) from bench/peers, where its packages resolve. */
export async function startPeer (name: PeerName, settings: PeerSettings): Promise<ServerChild> {
  const peer = PEERS[name]
  return startServer(name, join(peersDir, peer.script), {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      BENCH_HS256_SECRET: settings.auth.secret,
      BENCH_ISSUER: settings.auth.issuer,
      BENCH_AUDIENCE: settings.auth.audience,
      BENCH_DATABASE_URL: settings.databaseUrl,
      BENCH_POOL_MAX: String(settings.poolMax),
      BENCH_USER_SCHEMA: JSON.stringify(UserSchema),
      ...(peer.floor ? { BENCH_FLOOR_HEADERS: JSON.stringify(settings.floorHeaders), BENCH_FLOOR_LOG: settings.floorLog } : {})
    }
  })
}

/** peerVersions reads the installed versions of the peers' main packages, for the results file. */
export function peerVersions (): Record<string, string> {
  const version = (pkg: string) => (JSON.parse(readFileSync(join(peersDir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
  return Object.fromEntries(['fastify', 'drizzle-orm', 'express', '@nestjs/core', '@nestjs/platform-express', 'jose', 'pg', 'pino'].map((p) => [p, version(p)]))
}
