/**
 * Local access tokens: a signing key generated on first start and kept in the data folder, tokens
 * minted with it, and the verification API Gateway's JWT authorizer does (signature, `iss`, `aud`
 * or `client_id`, `exp`/`nbf`/`iat`, RS256 as API Gateway requires an RSA algorithm).
 *
 * Token times are real time, not the service clock: API Gateway checks `exp` against the real
 * time, and the service clock only moves forward for deadlines.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  type CryptoKey,
  type JWK,
  type JWTPayload,
  SignJWT,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  errors as joseErrors,
} from "jose";

export const JWT_ALGORITHM = "RS256";

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The public half as a JWK, for a JWKS document. */
  readonly publicJwk: JWK;
}

interface StoredKey {
  readonly kid: string;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

/** Loads the key from `file`, or generates and saves (0600) one when there is none. */
export async function loadOrCreateSigningKey(file: string): Promise<{ key: SigningKey; created: boolean }> {
  let stored: StoredKey | undefined;
  try {
    stored = JSON.parse(readFileSync(file, "utf8")) as StoredKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(
        `${file} is not a signing key (${(error as Error).message}); delete it to make a new one`,
        {
          cause: error,
        },
      );
    }
  }
  let created = false;
  if (stored === undefined) {
    const pair = await generateKeyPair(JWT_ALGORITHM, { modulusLength: 2048, extractable: true });
    const kid = `local-${randomUUID()}`;
    stored = {
      kid,
      privateJwk: { ...(await exportJWK(pair.privateKey)), kid, alg: JWT_ALGORITHM, use: "sig" },
      publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg: JWT_ALGORITHM, use: "sig" },
    };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
    created = true;
  }
  const privateKey = await importJWK(stored.privateJwk, JWT_ALGORITHM);
  const publicKey = await importJWK(stored.publicJwk, JWT_ALGORITHM);
  if (privateKey instanceof Uint8Array || publicKey instanceof Uint8Array) {
    throw new Error(`${file} does not hold an RSA key pair`);
  }
  return { key: { kid: stored.kid, privateKey, publicKey, publicJwk: stored.publicJwk }, created };
}

export interface TokenClaims {
  readonly sub: string;
  readonly role: string;
  readonly tenant_id: string;
  /** Space-separated OAuth scopes. */
  readonly scope: string;
  readonly client_id?: string;
  readonly name?: string;
  readonly [claim: string]: unknown;
}

export interface TokenIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly key: SigningKey;
}

/** A signed access token, valid from now (real time) for `lifetimeSeconds`. */
export async function mintToken(
  issuer: TokenIssuer,
  claims: TokenClaims,
  lifetimeSeconds = 30 * 24 * 3600,
): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: JWT_ALGORITHM, kid: issuer.key.kid, typ: "JWT" })
    .setSubject(sub)
    .setIssuer(issuer.issuer)
    .setAudience(issuer.audience)
    .setIssuedAt()
    .setNotBefore("0s")
    .setJti(randomUUID())
    .setExpirationTime(`${lifetimeSeconds}s`)
    .sign(issuer.key.privateKey);
}

export type VerifyResult =
  { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly description: string };

/**
 * What API Gateway's JWT authorizer checks: the signature (the one key), `iss`, `exp`, `nbf`, `iat`
 * and `aud`, or for tokens without `aud` (Cognito access tokens), `client_id`.
 */
export async function verifyToken(issuer: TokenIssuer, token: string): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, issuer.key.publicKey, {
      issuer: issuer.issuer,
      algorithms: [JWT_ALGORITHM],
      requiredClaims: ["exp", "iat"],
    });
    const audiences =
      payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const clientId = (payload as { client_id?: unknown }).client_id;
    if (!audiences.includes(issuer.audience) && clientId !== issuer.audience) {
      return { ok: false, description: "the token does not have a valid audience" };
    }
    return { ok: true, claims: payload };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) return { ok: false, description: "the token has expired" };
    if (error instanceof joseErrors.JOSEError) return { ok: false, description: error.message };
    return { ok: false, description: "the token could not be read" };
  }
}
