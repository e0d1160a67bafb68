import {
  type RoleScope,
  RoleAlreadyHeldError,
  TenantVersionMismatchError,
  type Versioned,
} from "../../store/tenant-store.js";
import { IF_MATCH_HEADER, etagOf, expectedVersionFrom } from "./middleware.js";
import { HttpProblem } from "./problem.js";

function describeScope(scope: RoleScope): string {
  switch (scope.kind) {
    case "team":
      return `for team ${scope.teamId}`;
    case "partner_agency":
      return `for partner agency ${scope.partnerAgencyId}`;
    case "authority":
      return "across the authority";
  }
}

/**
 * A configuration or directory write (PUT /v1/config, PUT /v1/directory/{personId}) at the version
 * the caller read: `If-Match` (required by the route table: 428 without it; `*` writes over whatever
 * is current) names the tenant's version; a stale one is 412 TENANT_VERSION_MISMATCH and a role
 * another active person holds is 409 ROLE_ALREADY_HELD, both with nothing stored. The response
 * carries the version after the write as its ETag, for the next write.
 */
export async function writeAtReadVersion<T>(
  headers: Readonly<Record<string, string | undefined>>,
  write: (expectedVersion: number | undefined) => Promise<Versioned<T>>,
): Promise<{ value: T; headers: { etag: string } }> {
  try {
    const { value, version } = await write(expectedVersionFrom(headers[IF_MATCH_HEADER]));
    return { value, headers: { etag: etagOf(version) } };
  } catch (error) {
    if (error instanceof TenantVersionMismatchError) {
      throw new HttpProblem(
        412,
        "TENANT_VERSION_MISMATCH",
        "The configuration or directory has changed since it was read",
        `If-Match named version ${String(error.expected)}; the configuration and directory are now at version ` +
          `${String(error.current)}. Read them again, check what changed, and decide again. Nothing was stored.`,
      );
    }
    if (error instanceof RoleAlreadyHeldError) {
      const errors = error.held.map((h) => ({
        pointer: `/roles/${String(h.index)}`,
        detail: `${h.role} ${describeScope(h.scope)} is held by ${h.holderPersonId}`,
      }));
      throw new HttpProblem(
        409,
        "ROLE_ALREADY_HELD",
        "The role already has a holder",
        `${errors.map((e) => e.detail).join("; ")}. One active person holds a role for a team (partner ` +
          "agency, or the authority): take the role from its holder (or mark them as left), then give it to the new one.",
        { errors },
      );
    }
    throw error;
  }
}
