// A real OpenID Connect provider (oidc-provider from the npm registry) on loopback, for the OIDC
// tests: started as a child process so that the clock the tests fake in Backplane's process is not
// the provider's. It signs in whichever account the test last set through POST /__control, and can
// misbehave on request: serve a JWKS of another key (a wrongly signed ID token), or issue tokens
// from a clock shifted into the past (an expired ID token).
import { createServer } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'

const port = Number(process.env.PORT)
const issuer = `http://127.0.0.1:${port}`
const jwk = async () => ({ ...(await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)), alg: 'RS256', use: 'sig', kid: 'test-key' })
const signing = await jwk()
const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...other } = await jwk()
const accounts = new Map()
const control = { sub: 'alice', wrongJwks: false, clockOffsetMs: 0 }

const realNow = Date.now
Date.now = () => realNow() + control.clockOffsetMs

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic'
  }],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, ...accounts.get(id) }) }),
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['oidc-test-provider-cookie-key'] },
  jwks: { keys: [signing] }
})
const handle = provider.callback()

async function interaction (req, res) {
  const details = await provider.interactionDetails(req, res)
  if (details.prompt.name === 'login') {
    return provider.interactionFinished(req, res, { login: { accountId: control.sub } }, { mergeWithLastSubmission: false })
  }
  const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id })
  grant.addOIDCScope(details.params.scope)
  return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true })
}

createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__control') {
    let body = ''
    req.on('data', (chunk) => { body += chunk })
    req.on('end', () => {
      const { account, ...flags } = JSON.parse(body)
      if (account) { accounts.set(account.sub, account); control.sub = account.sub }
      Object.assign(control, flags)
      res.writeHead(204).end()
    })
    return
  }
  if (control.wrongJwks && req.url === '/jwks') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [other] }))
    return
  }
  if (req.url?.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => { res.writeHead(500).end(String(err)) })
    return
  }
  handle(req, res)
}).listen(port, '127.0.0.1', () => { process.stdout.write(`ready ${issuer}\n`) })
