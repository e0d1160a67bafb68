import type { ActorRole } from "../../domain/challenge/actor.js";
import { problems } from "./problem.js";

/**
 * Which roles may call which route: the one place. The check here is the coarse gate; the domain
 * makes the fine ones (only the current stage's recipient acknowledges or responds; only the raiser
 * resolves, escalates, withdraws; only a role the protocol names approves a referral).
 *
 * - `auditor`: read-only, everything readable in its tenant (challenges, trays, configuration).
 * - `case_record_system`: a client-credentials token acting as itself: reads challenges (to show
 *   them in the child's record). It never acts for a person with its own token; to act for a person
 *   it presents a token issued for that person (token exchange: see auth.ts), which carries the
 *   person's role, so those calls are checked as that person's.
 * - `system`: the workflow's own identity; it acts through the workflow, never through this API.
 * - `iro_service_manager`: manages IROs/CPCs and administers the tenant's configuration and directory.
 * - Reports (the themes report, the overdue view) are management information across the whole
 *   authority: managers, IRO service managers and auditors. IROs and CPCs are refused (they work
 *   from their own trays and the challenges they raised), and so is the case-record system (its
 *   client-credentials token has no `reports/read` scope, and it has no business with them).
 * - Case notes (`child-case-notes`) hold no more than the challenge itself (which every reader may
 *   already open, free text included), so every reader may pull them; the case-record system is
 *   the caller they are for.
 */
const RAISERS = ["IRO", "CPC"] as const satisfies readonly ActorRole[];
const PEOPLE = ["IRO", "CPC", "manager", "iro_service_manager"] as const satisfies readonly ActorRole[];
const READERS = [...PEOPLE, "auditor", "case_record_system"] as const satisfies readonly ActorRole[];
const CONFIG_READERS = [...PEOPLE, "auditor"] as const satisfies readonly ActorRole[];
const REPORT_READERS = ["manager", "iro_service_manager", "auditor"] as const satisfies readonly ActorRole[];

export const routePermissions: Readonly<Record<string, readonly ActorRole[]>> = {
  "raise-challenge": RAISERS,
  "get-challenge": READERS,
  // The recipient's actions: the domain checks the caller is the stage's recipient.
  acknowledge: ["manager", "iro_service_manager"],
  respond: ["manager", "iro_service_manager"],
  // The acknowledgement link takes no token (the signed link is the credential): no role calls it with one.
  "ack-link-page": [],
  "ack-link": [],
  // Either side may record the stage meeting or the agreed plan.
  "record-meeting": PEOPLE,
  "agree-action-plan": PEOPLE,
  // The raiser's decisions (an IRO service manager may step in for an absent IRO where the protocol allows).
  "mark-resolved": [...RAISERS, "iro_service_manager"],
  escalate: [...RAISERS, "iro_service_manager"],
  bypass: [...RAISERS, "iro_service_manager"],
  "shorten-deadline": [...RAISERS, "iro_service_manager"],
  "request-referral": RAISERS,
  "approve-referral": ["manager", "iro_service_manager"],
  "complete-action": PEOPLE,
  "miss-action": PEOPLE,
  reopen: [...RAISERS, "iro_service_manager"],
  "note-difference": RAISERS,
  // The domain checks the caller holds (or covers) the deciding role in the directory.
  "decide-after-ladder": ["manager", "iro_service_manager"],
  withdraw: [...RAISERS, "iro_service_manager"],
  // Records management (functions/domain/challenge/legal-hold.ts says why no one else).
  "legal-hold": ["iro_service_manager"],
  close: [...RAISERS, "iro_service_manager"],
  "overdue-tray": [...PEOPLE, "auditor"],
  "my-tray": PEOPLE,
  "child-challenges": READERS,
  "child-case-notes": READERS,
  "team-challenges": READERS,
  "reports-themes": REPORT_READERS,
  "reports-overdue": REPORT_READERS,
  "reports-benchmark": REPORT_READERS,
  // Taking part shares the authority's aggregate figures: the tenant's administrator decides.
  "benchmark-participation": ["iro_service_manager"],
  "reports-live": REPORT_READERS,
  "get-config": CONFIG_READERS,
  "put-config": ["iro_service_manager"],
  "get-directory": CONFIG_READERS,
  "put-staff-member": ["iro_service_manager"],
  "record-absence": ["iro_service_manager"],
  "end-absence": ["iro_service_manager"],
  "good-practice": RAISERS,
  openapi: READERS,
};

/** Whether the role may call the route. Routes missing from the table are closed. */
export function mayCall(routeId: string, role: ActorRole): boolean {
  return routePermissions[routeId]?.includes(role) ?? false;
}

/** Throws 403 unless the role may call the route. */
export function assertMayCall(routeId: string, role: ActorRole): void {
  if (!mayCall(routeId, role)) {
    throw problems.forbidden(`The role ${role} may not call ${routeId}.`);
  }
}
