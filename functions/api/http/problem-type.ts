/**
 * Where a problem's `type` points and the media type it is sent as (RFC 9457). Free of imports, so
 * the OpenAPI document's lean handler (functions/api/openapi.ts) writes the same problem as problem.ts.
 */
export const PROBLEM_BASE = "https://challenge-resolution.example/problems/";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";
