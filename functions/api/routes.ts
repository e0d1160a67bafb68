/**
 * The HTTP API's routes: one Lambda per route, one file per handler under functions/api.
 * One table read by the CDK stack (to create routes and functions) and by the local HTTP server,
 * so the two can never disagree. Plain data: no AWS imports.
 */
export type HttpMethod = "GET" | "POST" | "PUT";

/** OAuth scopes a token must carry for a route. */
export type Scope = "challenges/read" | "challenges/write" | "config/read" | "config/write" | "reports/read";

export interface RouteDefinition {
  /** Stable id: the handler file is functions/api/<id>.ts and the Lambda is named after it. */
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway path syntax: `{name}` for a path parameter. */
  readonly path: string;
  readonly scope: Scope;
  readonly summary: string;
  /**
   * No bearer token (no JWT authorizer): the path carries a signed, expiring, per-recipient link
   * token that the handler verifies before reading anything (functions/mail/ack-link.ts).
   */
  readonly signedLink?: true;
}

const c = "/v1/challenges/{challengeId}";

export const routes: readonly RouteDefinition[] = [
  {
    id: "raise-challenge",
    method: "POST",
    path: "/v1/challenges",
    scope: "challenges/write",
    summary: "Raise a challenge (informally or at a chosen stage)",
  },
  {
    id: "get-challenge",
    method: "GET",
    path: c,
    scope: "challenges/read",
    summary: "A challenge with its timeline",
  },
  {
    id: "acknowledge",
    method: "POST",
    path: `${c}/acknowledgements`,
    scope: "challenges/write",
    summary: "The current recipient acknowledges the stage",
  },
  {
    id: "ack-link-page",
    method: "GET",
    path: "/v1/ack/{token}",
    scope: "challenges/read",
    summary: "The acknowledgement link's confirmation page (records nothing)",
    signedLink: true,
  },
  {
    id: "ack-link",
    method: "POST",
    path: "/v1/ack/{token}",
    scope: "challenges/write",
    summary: "Acknowledge the stage as the recipient the link was sent to",
    signedLink: true,
  },
  {
    id: "respond",
    method: "POST",
    path: `${c}/responses`,
    scope: "challenges/write",
    summary: "The current recipient responds",
  },
  {
    id: "record-meeting",
    method: "POST",
    path: `${c}/meetings`,
    scope: "challenges/write",
    summary: "Record a stage meeting",
  },
  {
    id: "agree-action-plan",
    method: "POST",
    path: `${c}/action-plan`,
    scope: "challenges/write",
    summary: "Agree a SMART action plan",
  },
  {
    id: "mark-resolved",
    method: "POST",
    path: `${c}/resolution`,
    scope: "challenges/write",
    summary: "The raiser marks the challenge resolved",
  },
  {
    id: "escalate",
    method: "POST",
    path: `${c}/escalations`,
    scope: "challenges/write",
    summary: "Escalate to the next stage with reasons",
  },
  {
    id: "shorten-deadline",
    method: "POST",
    path: `${c}/deadline-shortenings`,
    scope: "challenges/write",
    summary: "Shorten the open stage's window for this challenge, with a reason",
  },
  {
    id: "bypass",
    method: "POST",
    path: `${c}/bypasses`,
    scope: "challenges/write",
    summary: "Skip to a later stage with a rationale",
  },
  {
    id: "request-referral",
    method: "POST",
    path: `${c}/referrals`,
    scope: "challenges/write",
    summary: "Refer to Cafcass or the safeguarding partnership",
  },
  {
    id: "approve-referral",
    method: "POST",
    path: `${c}/referrals/{kind}/approvals`,
    scope: "challenges/write",
    summary: "Approve a referral the protocol requires approval for",
  },
  {
    id: "complete-action",
    method: "POST",
    path: `${c}/actions/{actionId}/completion`,
    scope: "challenges/write",
    summary: "Record an action as done",
  },
  {
    id: "miss-action",
    method: "POST",
    path: `${c}/actions/{actionId}/miss`,
    scope: "challenges/write",
    summary: "Record an action as not done",
  },
  {
    id: "reopen",
    method: "POST",
    path: `${c}/reopenings`,
    scope: "challenges/write",
    summary: "Reopen at the stage last exited",
  },
  {
    id: "note-difference",
    method: "POST",
    path: `${c}/differences`,
    scope: "challenges/write",
    summary: "Note that the raiser maintains their position",
  },
  {
    id: "legal-hold",
    method: "POST",
    path: `${c}/legal-hold`,
    scope: "challenges/write",
    summary: "Place or lift a legal hold (the IRO service manager): a held record is never deleted",
  },
  {
    id: "decide-after-ladder",
    method: "POST",
    path: `${c}/decisions`,
    scope: "challenges/write",
    summary: "The decision the protocol owes after the last stage, by the person it names",
  },
  {
    id: "withdraw",
    method: "POST",
    path: `${c}/withdrawal`,
    scope: "challenges/write",
    summary: "Withdraw the challenge",
  },
  {
    id: "close",
    method: "POST",
    path: `${c}/closure`,
    scope: "challenges/write",
    summary: "Close the challenge",
  },
  {
    id: "overdue-tray",
    method: "GET",
    path: "/v1/trays/overdue",
    scope: "challenges/read",
    summary: "Open stages due by a date, earliest first",
  },
  {
    id: "my-tray",
    method: "GET",
    path: "/v1/trays/mine",
    scope: "challenges/read",
    summary: "Open stages addressed to the caller",
  },
  {
    id: "child-challenges",
    method: "GET",
    path: "/v1/children/{caseRecordId}/challenges",
    scope: "challenges/read",
    summary: "Challenges about one child",
  },
  {
    id: "child-case-notes",
    method: "GET",
    path: "/v1/children/{caseRecordId}/case-notes",
    scope: "challenges/read",
    summary: "Case notes for one child's challenges since an instant, oldest first",
  },
  {
    id: "team-challenges",
    method: "GET",
    path: "/v1/teams/{teamId}/challenges",
    scope: "challenges/read",
    summary: "Challenges about one team",
  },
  {
    id: "reports-themes",
    method: "GET",
    path: "/v1/reports/themes",
    scope: "reports/read",
    summary: "The themes report for a period, as JSON, CSV or a printable page",
  },
  {
    id: "reports-overdue",
    method: "GET",
    path: "/v1/reports/overdue",
    scope: "reports/read",
    summary: "Open stages past their deadline or due within N working days",
  },
  {
    id: "reports-live",
    method: "GET",
    path: "/v1/reports/live",
    scope: "reports/read",
    summary: "The live page for service managers: where every open challenge stands, as printable HTML",
  },
  {
    id: "get-config",
    method: "GET",
    path: "/v1/config",
    scope: "config/read",
    summary: "The tenant's protocol and calendar settings",
  },
  {
    id: "put-config",
    method: "PUT",
    path: "/v1/config",
    scope: "config/write",
    summary: "Choose the protocol and closure days",
  },
  {
    id: "get-directory",
    method: "GET",
    path: "/v1/directory",
    scope: "config/read",
    summary: "The staff directory",
  },
  {
    id: "put-staff-member",
    method: "PUT",
    path: "/v1/directory/{personId}",
    scope: "config/write",
    summary: "Add or change a member of staff",
  },
  {
    id: "record-absence",
    method: "POST",
    path: "/v1/directory/{personId}/absences",
    scope: "config/write",
    summary: "Record that a member of staff is away",
  },
  {
    id: "end-absence",
    method: "POST",
    path: "/v1/directory/{personId}/absences/{absenceId}/end",
    scope: "config/write",
    summary: "End an absence early",
  },
  {
    id: "reports-benchmark",
    method: "GET",
    path: "/v1/reports/benchmark",
    scope: "reports/read",
    summary: "This authority's quarter beside the anonymised benchmark of authorities that opted in",
  },
  {
    id: "benchmark-participation",
    method: "PUT",
    path: "/v1/benchmark/participation",
    scope: "config/write",
    summary: "Opt in to (or out of) the benchmark across authorities, with the children counted",
  },
  {
    id: "good-practice",
    method: "POST",
    path: "/v1/good-practice",
    scope: "challenges/write",
    summary: "Send a good practice notification",
  },
  {
    id: "openapi",
    method: "GET",
    path: "/v1/openapi.json",
    scope: "challenges/read",
    summary: "This API's OpenAPI 3.1 document",
  },
];

export function routeEntry(route: RouteDefinition): string {
  return `functions/api/${route.id}.ts`;
}
