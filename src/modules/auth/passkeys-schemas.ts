import { idSchema } from '../../lib/ids.ts'
import { Type, type TProperties } from 'typebox'

const B64 = (max: number) => Type.String({ pattern: '^[A-Za-z0-9_-]*={0,2}$', maxLength: max })
const Name = Type.String({ minLength: 1, maxLength: 100 })

const Attachment = Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')])

// Browsers add fields over time (extensions, hints): the nested objects accept unknown keys, bounded.
const Extensions = Type.Object({}, { additionalProperties: true, maxProperties: 20 })

// Both ceremonies answer with the same credential envelope; only its `response` differs.
const Credential = <R extends TProperties>(response: R) => Type.Object({
  id: B64(1024),
  rawId: B64(1024),
  type: Type.Literal('public-key'),
  authenticatorAttachment: Type.Optional(Attachment),
  clientExtensionResults: Extensions,
  response: Type.Object(response, { additionalProperties: true, maxProperties: 20 })
}, { additionalProperties: false })

/** RegistrationResponseSchema is `PublicKeyCredential.toJSON()` of navigator.credentials.create(). */
export const RegistrationResponseSchema = Credential({
  clientDataJSON: B64(8192),
  attestationObject: B64(65536),
  authenticatorData: Type.Optional(B64(65536)),
  transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
  publicKeyAlgorithm: Type.Optional(Type.Integer()),
  publicKey: Type.Optional(B64(8192))
})

/** AuthenticationResponseSchema is `PublicKeyCredential.toJSON()` of navigator.credentials.get(). */
export const AuthenticationResponseSchema = Credential({
  clientDataJSON: B64(8192),
  authenticatorData: B64(65536),
  signature: B64(8192),
  userHandle: Type.Optional(B64(1024))
})

/** RegisterPasskeySchema saves a new passkey under a name. */
export const RegisterPasskeySchema = Type.Object({ name: Name, response: RegistrationResponseSchema }, { additionalProperties: false })

/** PasskeySignInSchema signs in with a passkey assertion. */
export const PasskeySignInSchema = Type.Object({ response: AuthenticationResponseSchema }, { additionalProperties: false })

/** RenamePasskeySchema renames a passkey. */
export const RenamePasskeySchema = Type.Object({ name: Name }, { additionalProperties: false })

/** WebAuthnOptionsSchema is the options JSON for navigator.credentials.create()/get() (PublicKeyCredential.parse*OptionsFromJSON). */
export const WebAuthnOptionsSchema = Type.Object({}, { additionalProperties: true, description: 'PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON' })

/** PasskeySchema is one passkey as its owner sees it. */
export const PasskeySchema = Type.Object({
  id: idSchema(),
  name: Type.String(),
  backedUp: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, { additionalProperties: false })

/** PasskeyListSchema is the user's passkeys. */
export const PasskeyListSchema = Type.Object({ items: Type.Array(PasskeySchema, { maxItems: 100 }) }, { additionalProperties: false })
