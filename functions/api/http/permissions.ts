import type { ActorRole } from "../../domain/challenge/actor.js";
import type { RouteDefinition } from "../routes.js";
import { problems } from "./problem.js";

/** Throws 403 unless the role may call the route (the roles are the route table's: routes.ts). */
export function assertMayCall(route: RouteDefinition, role: ActorRole): void {
  if (!route.roles.includes(role)) {
    throw problems.forbidden(`The role ${role} may not call ${route.id}.`);
  }
}
