/**
 * HS256 JSON Web Tokens for the sim's guild access tokens, signed with node:crypto so that
 * a token is a real JWT a client could decode, and really expires.
 */
import { Either, Redacted, Schema } from "effect"
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"

/** `sub` is the user, `guild` the guild node the token opens; `iat`/`exp` in seconds. */
export const GuildClaims = Schema.Struct({
  sub: Schema.String,
  guild: Schema.String,
  iat: Schema.Number,
  exp: Schema.Number
})
export type GuildClaims = typeof GuildClaims.Type

/** Why a token was refused; the same words fabric-api.md uses in `connect_error.data.code`. */
export type TokenFault = "invalid_token" | "token_expired"

export type JwtSecret = Redacted.Redacted<Buffer>

export const makeSecret = (): JwtSecret => Redacted.make(randomBytes(32))

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url")
const decodeClaims = Schema.decodeUnknownEither(Schema.parseJson(GuildClaims))

const signature = (secret: JwtSecret, input: string): Buffer =>
  createHmac("sha256", Redacted.value(secret)).update(input).digest()

export const sign = (secret: JwtSecret, claims: GuildClaims): Redacted.Redacted<string> => {
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`
  return Redacted.make(`${input}.${signature(secret, input).toString("base64url")}`)
}

/** Checks the signature, then `exp` against `nowMs`. */
export const verify = (
  secret: JwtSecret,
  token: string,
  nowMs: number
): Either.Either<GuildClaims, TokenFault> => {
  const parts = token.split(".")
  if (parts.length !== 3 || parts[0] !== HEADER) return Either.left("invalid_token")
  const given = Buffer.from(parts[2]!, "base64url")
  const expected = signature(secret, `${parts[0]}.${parts[1]}`)
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return Either.left("invalid_token")
  return decodeClaims(Buffer.from(parts[1]!, "base64url").toString("utf8")).pipe(
    Either.mapLeft((): TokenFault => "invalid_token"),
    Either.flatMap((claims) => claims.exp * 1000 <= nowMs ? Either.left<TokenFault>("token_expired") : Either.right(claims))
  )
}
