import { useState } from 'react'
import type { FormEvent } from 'react'
import { unwrap } from './api.ts'
import type { Api } from './api.ts'
import { ProblemAlert } from '../ui/Problem.tsx'

interface Challenge { status: 'mfa_required' | 'mfa_enrolment_required', challengeToken: string, methods: string[] }

/**
 * SignIn is the console's sign-in: email and password, then the second factor when the API
 * answers 202 `mfa_required` (a TOTP code or a recovery code). Tokens go to memory only.
 */
export function SignIn ({ api }: { api: Api }) {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const [challenge, setChallenge] = useState<Challenge | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(null)
    try {
      if (challenge === null) {
        const answer = unwrap(await api.client.POST('/api/v1/auth/login', { body: { email, password } }))
        if ('challengeToken' in answer) setChallenge(answer)
        else api.tokens.set(answer)
      } else {
        const answer = /^\d{6}$/.test(code.trim()) ? { code: code.trim() } : { recoveryCode: code.trim() }
        api.tokens.set(unwrap(await api.client.POST('/api/v1/auth/mfa/verify', { body: { challengeToken: challenge.challengeToken, ...answer } })))
      }
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className='signin'>
      <h1>Backplane admin</h1>
      <form onSubmit={(e) => { submit(e) }} aria-label='Sign in'>
        {challenge === null && (
          <>
            <label>Email<input type='email' autoComplete='username' required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
            <label>Password<input type='password' autoComplete='current-password' required value={password} onChange={(e) => setPassword(e.target.value)} /></label>
          </>
        )}
        {challenge?.status === 'mfa_required' && (
          <label>Authentication code (or a recovery code)
            <input inputMode='numeric' autoComplete='one-time-code' autoFocus required value={code} onChange={(e) => setCode(e.target.value)} />
          </label>
        )}
        {challenge?.status === 'mfa_enrolment_required' && (
          <p role='alert'>This account must enrol a second factor before it can sign in. Enrol it from an app of this Backplane (POST /api/v1/auth/mfa/enrolment), then sign in here.</p>
        )}
        <ProblemAlert error={error} />
        <button type='submit' disabled={busy || challenge?.status === 'mfa_enrolment_required'}>{challenge === null ? 'Sign in' : 'Verify'}</button>
      </form>
    </main>
  )
}
