import type { ActorRole } from "../domain/challenge/actor.js";

/**
 * The HTTP API's routes: the one table. Each route says its method and path, who may call it
 * (token scope and roles), how it treats versions and retries, and where its handler is
 * (functions/api/<id>.ts, whose `spec` holds the route's own zod schemas). Read by the CDK stack
 * (lib/api.ts: routes, functions, authorizer scopes), the local HTTP server, the handler factory
 * (http/middleware.ts: scope, roles, Idempotency-Key, If-Match) and the OpenAPI builder
 * (bin/openapi-document.ts, which adds each handler's schemas), so none of them can disagree.
 * Plain data: no AWS imports, no schemas (every handler bundles its own route from here).
 */
export type HttpMethod = "GET" | "POST" | "PUT";

/** OAuth scopes a token must carry for a route. */
export type Scope = "challenges/read" | "challenges/write" | "config/read" | "config/write" | "reports/read";

/**
 * Whose version an ETag carries and an If-Match names: the challenge's (its snapshot version), or
 * the tenant's configuration and directory together (store/tenant-version.ts).
 */
export type VersionOf = "challenge" | "tenant";

export interface RouteDefinition {
  /** Stable id: the handler file is functions/api/<id>.ts and the Lambda is named after it. */
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway path syntax: `{name}` for a path parameter. */
  readonly path: string;
  readonly scope: Scope;
  readonly summary: string;
  /**
   * The roles that may call it: the coarse gate (see "Who may call" below). Empty only for a
   * signed-link route, which no bearer token calls.
   */
  readonly roles: readonly ActorRole[];
  /**
   * No bearer token (no JWT authorizer): the path carries a signed, expiring, per-recipient link
   * token that the handler verifies before reading anything (functions/mail/ack-link.ts).
   */
  readonly signedLink?: true;
  /**
   * The route decides commands, so it may start a challenge's workflow run or end its wait: its
   * handler takes the Step Functions signal (http/command-dependencies.ts) and the stack lets it
   * call SendTaskSuccess (lib/challenge-stack.ts). No other route loads the client or holds the
   * permission.
   */
  readonly signalsWorkflow?: true;
  /** Whether the Idempotency-Key header is honoured. Default: POST and PUT routes. */
  readonly idempotent?: boolean;
  /** The success response carries this version as a strong `ETag` (`"7"`). */
  readonly etag?: VersionOf;
  /**
   * The route honours `If-Match` against this version (412 VERSION_MISMATCH when it moved on).
   * `challenge`: optional (a command may also name its stage). `tenant`: required (428 without
   * it), so a configuration or directory write never silently overwrites a change it did not see.
   */
  readonly ifMatch?: VersionOf;
}

/**
 * Who may call: the check here is the coarse gate; the domain makes the fine ones (only the
 * current stage's recipient acknowledges or responds; only the raiser resolves, escalates,
 * withdraws; only a role the protocol names approves a referral).
 *
 * - `auditor`: read-only, everything readable in its tenant (challenges, trays, configuration).
 * - `case_record_system`: a client-credentials token acting as itself: reads challenges (to show
 *   them in the child's record). It never acts for a person with its own token; to act for a person
 *   it presents a token issued for that person (token exchange: see http/auth.ts), which carries the
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

// Each route is its own constant, built without spreads or with the two helpers below (which
// esbuild knows are free of side effects): a handler imports its route by name, and its bundle
// keeps that one route, not the whole table (every summary and path).

/** Roles and groups of roles as one list. */
// @__NO_SIDE_EFFECTS__
function rolesOf(...groups: readonly (ActorRole | readonly ActorRole[])[]): readonly ActorRole[] {
  return groups.flat();
}

/** A command on one challenge: its response carries the new version, and it honours If-Match. */
// @__NO_SIDE_EFFECTS__
function command(route: Omit<RouteDefinition, "etag" | "ifMatch" | "signalsWorkflow">): RouteDefinition {
  return { ...route, etag: "challenge", ifMatch: "challenge", signalsWorkflow: true };
}

const RAISERS = ["IRO", "CPC"] as const satisfies readonly ActorRole[];
const PEOPLE = ["IRO", "CPC", "manager", "iro_service_manager"] as const satisfies readonly ActorRole[];
const READERS = rolesOf(PEOPLE, "auditor", "case_record_system");
const CONFIG_READERS = rolesOf(PEOPLE, "auditor");
const REPORT_READERS = ["manager", "iro_service_manager", "auditor"] as const satisfies readonly ActorRole[];

export const raiseChallengeRoute: RouteDefinition = {
  id: "raise-challenge",
  method: "POST",
  path: "/v1/challenges",
  scope: "challenges/write",
  summary: "Raise a challenge (informally or at a chosen stage)",
  roles: RAISERS,
  etag: "challenge",
  signalsWorkflow: true,
};

export const getChallengeRoute: RouteDefinition = {
  id: "get-challenge",
  method: "GET",
  path: "/v1/challenges/{challengeId}",
  scope: "challenges/read",
  summary: "A challenge with its timeline",
  roles: READERS,
  etag: "challenge",
};

export const acknowledgeRoute = command({
  id: "acknowledge",
  method: "POST",
  path: "/v1/challenges/{challengeId}/acknowledgements",
  scope: "challenges/write",
  summary: "The current recipient acknowledges the stage",
  // The recipient's actions: the domain checks the caller is the stage's recipient.
  roles: ["manager", "iro_service_manager"],
});

export const ackLinkPageRoute: RouteDefinition = {
  id: "ack-link-page",
  method: "GET",
  path: "/v1/ack/{token}",
  scope: "challenges/read",
  summary: "The acknowledgement link's confirmation page (records nothing)",
  // The acknowledgement link takes no token (the signed link is the credential): no role calls it with one.
  roles: [],
  signedLink: true,
};

export const ackLinkRoute: RouteDefinition = {
  id: "ack-link",
  method: "POST",
  path: "/v1/ack/{token}",
  scope: "challenges/write",
  summary: "Acknowledge the stage as the recipient the link was sent to",
  roles: [],
  idempotent: false,
  signedLink: true,
  signalsWorkflow: true,
};

export const respondRoute = command({
  id: "respond",
  method: "POST",
  path: "/v1/challenges/{challengeId}/responses",
  scope: "challenges/write",
  summary: "The current recipient responds",
  roles: ["manager", "iro_service_manager"],
});

export const recordMeetingRoute = command({
  id: "record-meeting",
  method: "POST",
  path: "/v1/challenges/{challengeId}/meetings",
  scope: "challenges/write",
  summary: "Record a stage meeting",
  // Either side may record the stage meeting or the agreed plan.
  roles: PEOPLE,
});

export const agreeActionPlanRoute = command({
  id: "agree-action-plan",
  method: "POST",
  path: "/v1/challenges/{challengeId}/action-plan",
  scope: "challenges/write",
  summary: "Agree a SMART action plan",
  roles: PEOPLE,
});

export const markResolvedRoute = command({
  id: "mark-resolved",
  method: "POST",
  path: "/v1/challenges/{challengeId}/resolution",
  scope: "challenges/write",
  summary: "The raiser marks the challenge resolved",
  // The raiser's decisions (an IRO service manager may step in for an absent IRO where the protocol allows).
  roles: rolesOf(RAISERS, "iro_service_manager"),
});

export const escalateRoute = command({
  id: "escalate",
  method: "POST",
  path: "/v1/challenges/{challengeId}/escalations",
  scope: "challenges/write",
  summary: "Escalate to the next stage with reasons",
  roles: rolesOf(RAISERS, "iro_service_manager"),
});

export const shortenDeadlineRoute = command({
  id: "shorten-deadline",
  method: "POST",
  path: "/v1/challenges/{challengeId}/deadline-shortenings",
  scope: "challenges/write",
  summary: "Shorten the open stage's window for this challenge, with a reason",
  roles: rolesOf(RAISERS, "iro_service_manager"),
});

export const bypassRoute = command({
  id: "bypass",
  method: "POST",
  path: "/v1/challenges/{challengeId}/bypasses",
  scope: "challenges/write",
  summary: "Skip to a later stage with a rationale",
  roles: rolesOf(RAISERS, "iro_service_manager"),
});

export const requestReferralRoute = command({
  id: "request-referral",
  method: "POST",
  path: "/v1/challenges/{challengeId}/referrals",
  scope: "challenges/write",
  summary: "Refer to Cafcass or the safeguarding partnership",
  roles: RAISERS,
});

export const approveReferralRoute = command({
  id: "approve-referral",
  method: "POST",
  path: "/v1/challenges/{challengeId}/referrals/{kind}/approvals",
  scope: "challenges/write",
  summary: "Approve a referral the protocol requires approval for",
  roles: ["manager", "iro_service_manager"],
});

export const completeActionRoute = command({
  id: "complete-action",
  method: "POST",
  path: "/v1/challenges/{challengeId}/actions/{actionId}/completion",
  scope: "challenges/write",
  summary: "Record an action as done",
  roles: PEOPLE,
});

export const missActionRoute = command({
  id: "miss-action",
  method: "POST",
  path: "/v1/challenges/{challengeId}/actions/{actionId}/miss",
  scope: "challenges/write",
  summary: "Record an action as not done",
  roles: PEOPLE,
});

export const reopenRoute = command({
  id: "reopen",
  method: "POST",
  path: "/v1/challenges/{challengeId}/reopenings",
  scope: "challenges/write",
  summary: "Reopen at the stage last exited",
  roles: rolesOf(RAISERS, "iro_service_manager"),
});

export const noteDifferenceRoute = command({
  id: "note-difference",
  method: "POST",
  path: "/v1/challenges/{challengeId}/differences",
  scope: "challenges/write",
  summary: "Note that the raiser maintains their position",
  roles: RAISERS,
});

export const legalHoldRoute = command({
  id: "legal-hold",
  method: "POST",
  path: "/v1/challenges/{challengeId}/legal-hold",
  scope: "challenges/write",
  summary: "Place or lift a legal hold (the IRO service manager): a held record is never deleted",
  // Records management (functions/domain/challenge/legal-hold.ts says why no one else).
  roles: ["iro_service_manager"],
});

export const decideAfterLadderRoute = command({
  id: "decide-after-ladder",
  method: "POST",
  path: "/v1/challenges/{challengeId}/decisions",
  scope: "challenges/write",
  summary: "The decision the protocol owes after the last stage, by the person it names",
  // The domain checks the caller holds (or covers) the deciding role in the directory.
  roles: ["manager", "iro_service_manager"],
});

export const withdrawRoute = command({
  id: "withdraw",
  method: "POST",
  path: "/v1/challenges/{challengeId}/withdrawal",
  scope: "challenges/write",
  summary: "Withdraw the challenge",
  roles: rolesOf(RAISERS, "iro_service_manager"),
});

export const closeRoute = command({
  id: "close",
  method: "POST",
  path: "/v1/challenges/{challengeId}/closure",
  scope: "challenges/write",
  summary: "Close the challenge",
  roles: rolesOf(RAISERS, "iro_service_manager"),
});

export const overdueTrayRoute: RouteDefinition = {
  id: "overdue-tray",
  method: "GET",
  path: "/v1/trays/overdue",
  scope: "challenges/read",
  summary: "Open stages due by a date, earliest first",
  roles: rolesOf(PEOPLE, "auditor"),
};

export const myTrayRoute: RouteDefinition = {
  id: "my-tray",
  method: "GET",
  path: "/v1/trays/mine",
  scope: "challenges/read",
  summary: "Open stages addressed to the caller",
  roles: PEOPLE,
};

export const childChallengesRoute: RouteDefinition = {
  id: "child-challenges",
  method: "GET",
  path: "/v1/children/{caseRecordId}/challenges",
  scope: "challenges/read",
  summary: "Challenges about one child",
  roles: READERS,
};

export const childCaseNotesRoute: RouteDefinition = {
  id: "child-case-notes",
  method: "GET",
  path: "/v1/children/{caseRecordId}/case-notes",
  scope: "challenges/read",
  summary: "Case notes for one child's challenges since an instant, oldest first",
  roles: READERS,
};

export const teamChallengesRoute: RouteDefinition = {
  id: "team-challenges",
  method: "GET",
  path: "/v1/teams/{teamId}/challenges",
  scope: "challenges/read",
  summary: "Challenges about one team",
  roles: READERS,
};

export const reportsThemesRoute: RouteDefinition = {
  id: "reports-themes",
  method: "GET",
  path: "/v1/reports/themes",
  scope: "reports/read",
  summary: "The themes report for a period, as JSON, CSV or a printable page",
  roles: REPORT_READERS,
};

export const reportsOverdueRoute: RouteDefinition = {
  id: "reports-overdue",
  method: "GET",
  path: "/v1/reports/overdue",
  scope: "reports/read",
  summary: "Open stages past their deadline or due within N working days",
  roles: REPORT_READERS,
};

export const reportsLiveRoute: RouteDefinition = {
  id: "reports-live",
  method: "GET",
  path: "/v1/reports/live",
  scope: "reports/read",
  summary: "The live page for service managers: where every open challenge stands, as printable HTML",
  roles: REPORT_READERS,
};

export const getConfigRoute: RouteDefinition = {
  id: "get-config",
  method: "GET",
  path: "/v1/config",
  scope: "config/read",
  summary: "The tenant's protocol and calendar settings",
  roles: CONFIG_READERS,
  etag: "tenant",
};

export const putConfigRoute: RouteDefinition = {
  id: "put-config",
  method: "PUT",
  path: "/v1/config",
  scope: "config/write",
  summary: "Choose the protocol and closure days",
  roles: ["iro_service_manager"],
  etag: "tenant",
  ifMatch: "tenant",
};

export const getDirectoryRoute: RouteDefinition = {
  id: "get-directory",
  method: "GET",
  path: "/v1/directory",
  scope: "config/read",
  summary: "The staff directory",
  roles: CONFIG_READERS,
  etag: "tenant",
};

export const putStaffMemberRoute: RouteDefinition = {
  id: "put-staff-member",
  method: "PUT",
  path: "/v1/directory/{personId}",
  scope: "config/write",
  summary: "Add or change a member of staff",
  roles: ["iro_service_manager"],
  etag: "tenant",
  ifMatch: "tenant",
};

export const recordAbsenceRoute: RouteDefinition = {
  id: "record-absence",
  method: "POST",
  path: "/v1/directory/{personId}/absences",
  scope: "config/write",
  summary: "Record that a member of staff is away",
  roles: ["iro_service_manager"],
};

export const endAbsenceRoute: RouteDefinition = {
  id: "end-absence",
  method: "POST",
  path: "/v1/directory/{personId}/absences/{absenceId}/end",
  scope: "config/write",
  summary: "End an absence early",
  roles: ["iro_service_manager"],
};

export const reportsBenchmarkRoute: RouteDefinition = {
  id: "reports-benchmark",
  method: "GET",
  path: "/v1/reports/benchmark",
  scope: "reports/read",
  summary: "This authority's quarter beside the anonymised benchmark of authorities that opted in",
  roles: REPORT_READERS,
};

export const benchmarkParticipationRoute: RouteDefinition = {
  id: "benchmark-participation",
  method: "PUT",
  path: "/v1/benchmark/participation",
  scope: "config/write",
  summary: "Opt in to (or out of) the benchmark across authorities, with the children counted",
  // Taking part shares the authority's aggregate figures: the tenant's administrator decides.
  roles: ["iro_service_manager"],
};

export const goodPracticeRoute: RouteDefinition = {
  id: "good-practice",
  method: "POST",
  path: "/v1/good-practice",
  scope: "challenges/write",
  summary: "Send a good practice notification",
  roles: RAISERS,
};

export const openapiRoute: RouteDefinition = {
  id: "openapi",
  method: "GET",
  path: "/v1/openapi.json",
  scope: "challenges/read",
  summary: "This API's OpenAPI 3.1 document",
  roles: READERS,
};

/** Every route, in the order the stack and the OpenAPI document list them. */
export const routes: readonly RouteDefinition[] = [
  raiseChallengeRoute,
  getChallengeRoute,
  acknowledgeRoute,
  ackLinkPageRoute,
  ackLinkRoute,
  respondRoute,
  recordMeetingRoute,
  agreeActionPlanRoute,
  markResolvedRoute,
  escalateRoute,
  shortenDeadlineRoute,
  bypassRoute,
  requestReferralRoute,
  approveReferralRoute,
  completeActionRoute,
  missActionRoute,
  reopenRoute,
  noteDifferenceRoute,
  legalHoldRoute,
  decideAfterLadderRoute,
  withdrawRoute,
  closeRoute,
  overdueTrayRoute,
  myTrayRoute,
  childChallengesRoute,
  childCaseNotesRoute,
  teamChallengesRoute,
  reportsThemesRoute,
  reportsOverdueRoute,
  reportsLiveRoute,
  getConfigRoute,
  putConfigRoute,
  getDirectoryRoute,
  putStaffMemberRoute,
  recordAbsenceRoute,
  endAbsenceRoute,
  reportsBenchmarkRoute,
  benchmarkParticipationRoute,
  goodPracticeRoute,
  openapiRoute,
];

export function routeEntry(route: RouteDefinition): string {
  return `functions/api/${route.id}.ts`;
}

export function routeById(routeId: string): RouteDefinition {
  const route = routes.find((r) => r.id === routeId);
  if (route === undefined) throw new Error(`no route ${routeId} in routes.ts`);
  return route;
}

/** Whether the role may call the route. Routes missing from the table are closed. */
export function mayCall(routeId: string, role: ActorRole): boolean {
  return routes.find((r) => r.id === routeId)?.roles.includes(role) ?? false;
}
