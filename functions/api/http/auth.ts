import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import * as z from "zod/mini";
import { tenantPrefix } from "../../store/table.js";
import type { Scope } from "../routes.js";
import { type Actor, type ActorRole, actorRoleSchema } from "../../domain/challenge/actor.js";
import { CLAIMS } from "./claims.js";
import { problems } from "./problem.js";

/**
 * Who is calling: read ONLY from the claims the API Gateway JWT authorizer verified
 * (`requestContext.authorizer.jwt.claims` and `.scopes`). The tenant comes from the token and
 * nowhere else: never from the body, the path or a header.
 *
 * Acting for a person: a case-record system holding a client-credentials token (role
 * `case_record_system`) acts as itself, with read-only routes (see permissions.ts). To raise or act on
 * a challenge for a person, it obtains a token for that person from the identity provider (OAuth
 * 2.0 token exchange, RFC 8693): `sub` and `role` are the person's, and the client appears in the
 * `client_id`/`azp` claim, which we log next to the person's id. The domain therefore only ever
 * sees people (and the timer) as actors, and "only the stage's recipient responds" holds.
 */

export { CLAIMS };

/** Tenant ids go into table keys: the table's own rule (store/table.ts) decides what is acceptable. */
export const tenantIdSchema = z.string().check(
  z.refine((tenantId) => {
    try {
      tenantPrefix(tenantId);
      return true;
    } catch {
      return false;
    }
  }, "letters, digits, '.', '_' or '-', at most 64 characters"),
);

const claimsSchema = z.object({
  [CLAIMS.tenant]: tenantIdSchema,
  [CLAIMS.role]: actorRoleSchema,
  [CLAIMS.subject]: z.string().check(z.minLength(1), z.maxLength(128)),
});

export interface Principal {
  readonly tenantId: string;
  /** The domain actor: the token's subject and role. */
  readonly actor: Actor;
  readonly scopes: ReadonlySet<string>;
  /** The OAuth client the token was issued to, when the token says (for logs). */
  readonly clientId?: string;
}

/** The authorizer's claims and scopes, or undefined when the event carries none. */
function jwtOf(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
): { claims: Record<string, unknown>; scopes: readonly string[] | null | undefined } | undefined {
  // The type says `authorizer` is always there; at run time a misconfigured route (or a test) may omit it.
  const jwt = (event.requestContext as { authorizer?: { jwt?: { claims?: unknown; scopes?: unknown } } })
    .authorizer?.jwt;
  if (jwt === undefined || typeof jwt.claims !== "object" || jwt.claims === null) return undefined;
  const scopes = Array.isArray(jwt.scopes)
    ? jwt.scopes.filter((s): s is string => typeof s === "string")
    : null;
  return { claims: jwt.claims as Record<string, unknown>, scopes };
}

/**
 * Scopes from the authorizer's list when it gives one, else the token's space-separated `scope`
 * claim (HTTP APIs pass claims through as strings; arrays arrive as `"[a b]"`).
 */
function scopesOf(
  claims: Record<string, unknown>,
  listed: readonly string[] | null | undefined,
): Set<string> {
  if (listed !== null && listed !== undefined && listed.length > 0) return new Set(listed);
  const raw = claims[CLAIMS.scope];
  if (typeof raw !== "string") return new Set();
  return new Set(
    raw
      .replace(/^\[|\]$/g, "")
      .split(/[\s,]+/)
      .filter((s) => s.length > 0),
  );
}

/**
 * The verified principal, refusing (403) a token without the route's scope, or without a valid
 * tenant, role or subject. A request with no claims at all is 401 (the authorizer normally makes
 * that impossible).
 */
export function principalFrom(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  requiredScope: Scope,
): Principal {
  const jwt = jwtOf(event);
  if (jwt === undefined) throw problems.unauthenticated();
  const parsed = claimsSchema.safeParse(jwt.claims);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((i) => String(i.path[0])).join(", ");
    throw problems.forbidden(`The access token has no valid ${missing} claim.`);
  }
  const scopes = scopesOf(jwt.claims, jwt.scopes);
  if (!scopes.has(requiredScope)) {
    throw problems.forbidden(`The access token lacks the scope ${requiredScope}.`);
  }
  const clientClaim = CLAIMS.client.map((name) => jwt.claims[name]).find((v) => typeof v === "string");
  return {
    tenantId: parsed.data[CLAIMS.tenant],
    actor: { id: parsed.data[CLAIMS.subject], role: parsed.data[CLAIMS.role] },
    scopes,
    ...(typeof clientClaim === "string" ? { clientId: clientClaim } : {}),
  };
}

export type { ActorRole };
