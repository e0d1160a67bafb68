/**
 * The access token's claim names, as API Gateway's JWT authorizer passes them on: the one place
 * they are spelled. A module of its own, free of imports, so a handler that reads only the role
 * (the OpenAPI document's, functions/api/openapi.ts) does not bundle the validation in auth.ts.
 */
export const CLAIMS = {
  tenant: "tenant_id",
  role: "role",
  subject: "sub",
  scope: "scope",
  /** The OAuth client that obtained the token (Cognito: `client_id`; most IdPs: `azp`). Logged, never trusted for authorisation. */
  client: ["client_id", "azp"],
} as const;
