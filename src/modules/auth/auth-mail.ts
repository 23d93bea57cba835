import type { MailMessage } from '../../platform/mailer.ts'

const HOUR_MS = 3600_000

/** LINK_TTL_MS is how long each mailed link works. */
export const LINK_TTL_MS = Object.freeze({ verify: 24 * HOUR_MS, reset: HOUR_MS, invite: 7 * 24 * HOUR_MS, newAccount: 7 * 24 * HOUR_MS })

/**
 * createAuthMail writes the sign-in flows' messages. Links open the frontend's pages
 * (AUTH_LINK_URL), which POST the token to the API.
 */
export function createAuthMail (linkUrl: string) {
  const link = (path: string, token: string, extra = '') => `${linkUrl}${path}?token=${encodeURIComponent(token)}${extra}`
  return {
    verification: (to: string, token: string): MailMessage => ({ to, subject: 'Confirm your email address', text: `Confirm your address: ${link('/verify-email', token)}\nThe link works once, for 24 hours.` }),
    /** accountExists tells the owner of a taken address that someone tried to register with it. */
    accountExists: (to: string, token: string): MailMessage => ({ to, subject: 'Someone tried to register with your address', text: `An account already exists for this address. If this was you, sign in, or choose a new password: ${link('/reset-password', token)}\nThe link works once, for 1 hour. If it was not you, ignore this mail.` }),
    reset: (to: string, token: string): MailMessage => ({ to, subject: 'Reset your password', text: `Choose a new password: ${link('/reset-password', token)}\nThe link works once, for 1 hour. If you did not ask for it, ignore this mail.` }),
    /**
     * noAccount answers a reset asked for an address without an active account: its owner learns
     * that nothing was changed, and that their account may use another address. It carries no link.
     */
    noAccount: (to: string): MailMessage => ({ to, subject: 'Password reset: no account for this address', text: 'Someone asked to reset the password of an account with this address, but no active account uses it, so nothing was changed. If you have an account, it may use another address. If you did not ask for this, ignore this mail.' }),
    invitation: (to: string, token: string): MailMessage => ({ to, subject: 'You are invited to Backplane', text: `Create your account: ${link('/register', token, `&email=${encodeURIComponent(to)}`)}\nThe invitation works once, for 7 days.` }),
    newAccount: (to: string, token: string): MailMessage => ({ to, subject: 'Your Backplane account', text: `An account was created for you. Choose your password: ${link('/reset-password', token)}\nThe link works once, for 7 days.` }),
    passwordChanged: (to: string): MailMessage => ({ to, subject: 'Your password was changed', text: 'Your Backplane password was just changed. If this was not you, reset it now.' })
  }
}

/** AuthMail is the sign-in flows' message catalogue. */
export type AuthMail = ReturnType<typeof createAuthMail>
