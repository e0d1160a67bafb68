import type { ActorRole } from "../../domain/challenge/actor.js";
import { mayCall } from "../routes.js";
import { problems } from "./problem.js";

/** Throws 403 unless the role may call the route (the roles are the route table's: routes.ts). */
export function assertMayCall(routeId: string, role: ActorRole): void {
  if (!mayCall(routeId, role)) {
    throw problems.forbidden(`The role ${role} may not call ${routeId}.`);
  }
}
