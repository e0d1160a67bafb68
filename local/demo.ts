/**
 * The demo authority loaded on first start: a tenant running the Nottingham preset (docs/seeds/004),
 * invented staff with example.org addresses for every role on its ladder, for two teams, and two
 * invented children to raise challenges about. Every person and child here is made up.
 */
import type { ChallengeForm } from "../functions/domain/challenge/commands.js";
import type { Participation } from "../functions/store/benchmark-store.js";
import type { StaffMember, TenantConfig } from "../functions/store/tenant-store.js";

export const DEMO_TENANT = "demo-borough";
export const DEMO_PROTOCOL = "nottingham";

export const DEMO_TEAMS = {
  north: { id: "team-north", name: "North Locality Team" },
  south: { id: "team-south", name: "South Locality Team" },
} as const;

/** The roles a token can carry (functions/domain/challenge/actor.ts) and the scopes each demo token gets. */
const READ = "challenges/read";
const WRITE = "challenges/write";
const SCOPES = {
  person: [READ, WRITE, "config/read"],
  // Service managers read the live page and the other reports (functions/api/http/permissions.ts).
  serviceManager: [READ, WRITE, "config/read", "reports/read"],
  iroServiceManager: [READ, WRITE, "config/read", "config/write", "reports/read"],
  auditor: [READ, "config/read", "reports/read"],
  caseRecordSystem: [READ],
} as const;

export interface DemoIdentity {
  /** Short label for the console and the tokens file (e.g. `IRO`, `TEAM_MANAGER_NORTH`). */
  readonly label: string;
  /** The token subject: the person's id in the directory (or the client id). */
  readonly sub: string;
  /** The token's role claim. */
  readonly role: "IRO" | "CPC" | "manager" | "iro_service_manager" | "auditor" | "case_record_system";
  readonly scopes: readonly string[];
  /** What they are, for the console. */
  readonly description: string;
  /** Their directory entry; none for the auditor and the case-record system. */
  readonly staff?: Omit<StaffMember, "personId">;
}

const authority = { kind: "authority" } as const;
const team = (teamId: string) => ({ kind: "team", teamId }) as const;

export const DEMO_IDENTITIES: readonly DemoIdentity[] = [
  {
    label: "IRO",
    sub: "iro-ada",
    role: "IRO",
    scopes: SCOPES.person,
    description: "Ada Lovelock, Independent Reviewing Officer",
    staff: {
      displayName: "Ada Lovelock",
      email: "ada.lovelock@example.org",
      active: true,
      roles: [{ role: "iro", scope: authority }],
    },
  },
  {
    label: "CPC",
    sub: "cpc-bea",
    role: "CPC",
    scopes: SCOPES.person,
    description: "Bea Hartwell, Child Protection Chair",
    staff: {
      displayName: "Bea Hartwell",
      email: "bea.hartwell@example.org",
      active: true,
      roles: [{ role: "cpc", scope: authority }],
    },
  },
  {
    label: "TEAM_MANAGER_NORTH",
    sub: "tm-north-carl",
    role: "manager",
    scopes: SCOPES.person,
    description: "Carl Mendez, Team Manager, North Locality Team (Level 1)",
    staff: {
      displayName: "Carl Mendez",
      email: "carl.mendez@example.org",
      active: true,
      roles: [{ role: "team_manager", scope: team(DEMO_TEAMS.north.id) }],
    },
  },
  {
    label: "TEAM_MANAGER_SOUTH",
    sub: "tm-south-dina",
    role: "manager",
    scopes: SCOPES.person,
    description:
      "Dina Okafor, Team Manager, South Locality Team (Level 1); named cover for the North Team Manager",
    staff: {
      displayName: "Dina Okafor",
      email: "dina.okafor@example.org",
      active: true,
      roles: [{ role: "team_manager", scope: team(DEMO_TEAMS.south.id) }],
      // While Carl (North) is away, North's Level 1 stages go to Dina, Carl copied (README "Cover for absent managers").
      coverFor: [{ role: "team_manager", scope: team(DEMO_TEAMS.north.id) }],
    },
  },
  {
    label: "SERVICE_MANAGER_NORTH",
    sub: "sm-north-evan",
    role: "manager",
    scopes: SCOPES.serviceManager,
    description: "Evan Price, Service Manager, North Locality Team (Level 2)",
    staff: {
      displayName: "Evan Price",
      email: "evan.price@example.org",
      active: true,
      roles: [{ role: "service_manager", scope: team(DEMO_TEAMS.north.id) }],
    },
  },
  {
    label: "SERVICE_MANAGER_SOUTH",
    sub: "sm-south-fay",
    role: "manager",
    scopes: SCOPES.serviceManager,
    description: "Fay Lindqvist, Service Manager, South Locality Team (Level 2)",
    staff: {
      displayName: "Fay Lindqvist",
      email: "fay.lindqvist@example.org",
      active: true,
      roles: [{ role: "service_manager", scope: team(DEMO_TEAMS.south.id) }],
    },
  },
  {
    label: "HEAD_OF_SERVICE",
    sub: "hos-gus",
    role: "manager",
    scopes: SCOPES.person,
    description: "Gus Amari, Head of Service (Level 3)",
    staff: {
      displayName: "Gus Amari",
      email: "gus.amari@example.org",
      active: true,
      roles: [{ role: "head_of_service", scope: authority }],
    },
  },
  {
    label: "DIRECTOR",
    sub: "dir-hana",
    role: "manager",
    scopes: SCOPES.person,
    description: "Hana Kowalczyk, Director of Children's Integrated Services (Level 4)",
    staff: {
      displayName: "Hana Kowalczyk",
      email: "hana.kowalczyk@example.org",
      active: true,
      roles: [{ role: "director_childrens_services", scope: authority }],
    },
  },
  {
    label: "CAFCASS",
    sub: "cafcass-ivo",
    role: "manager",
    scopes: SCOPES.person,
    description: "Ivo Brennan, Cafcass contact (Level 5 referrals)",
    staff: {
      displayName: "Ivo Brennan",
      email: "ivo.brennan@example.org",
      active: true,
      roles: [{ role: "cafcass", scope: authority }],
    },
  },
  {
    label: "IRO_SERVICE_MANAGER",
    sub: "ism-jo",
    role: "iro_service_manager",
    scopes: SCOPES.iroServiceManager,
    description: "Jo Whitaker, IRO Service Manager (administers the configuration)",
    staff: {
      displayName: "Jo Whitaker",
      email: "jo.whitaker@example.org",
      active: true,
      roles: [{ role: "iro_service_manager", scope: authority }],
    },
  },
  {
    label: "AUDITOR",
    sub: "auditor-kit",
    role: "auditor",
    scopes: SCOPES.auditor,
    description: "Kit Navarro, auditor (read-only)",
  },
  {
    label: "CASE_RECORD_SYSTEM",
    sub: "lcs-demo-client",
    role: "case_record_system",
    scopes: SCOPES.caseRecordSystem,
    description: "the case-record system's own client (read-only)",
  },
];

export const DEMO_CONFIG: TenantConfig = { protocolId: DEMO_PROTOCOL, closureDays: [], reminders: {} };

/**
 * The demo authority takes part in the benchmark across authorities (invented child counts). With
 * no other authority in the local runtime every comparison is suppressed ("fewer than 5
 * authorities"), which is what a small cohort must show.
 */
export function demoBenchmarkParticipation(at: Date): Participation {
  const manager = DEMO_IDENTITIES.find((identity) => identity.label === "IRO_SERVICE_MANAGER");
  return {
    optedIn: true,
    childrenLookedAfter: 380,
    childrenOnProtectionPlans: 240,
    updatedBy: manager?.sub ?? "demo-seed",
    updatedAt: at.toISOString(),
  };
}

/** The demo directory, ready for TenantStore.upsertStaff. */
export function demoStaff(): StaffMember[] {
  return DEMO_IDENTITIES.flatMap((identity) =>
    identity.staff === undefined ? [] : [{ personId: identity.sub, ...identity.staff }],
  );
}

export const DEMO_CHILDREN = [
  {
    name: "Rosie Invented",
    dateOfBirth: "2015-06-14",
    caseRecordId: "DEMO-LCS-1001",
    team: DEMO_TEAMS.north,
  },
  { name: "Theo Madeup", dateOfBirth: "2011-11-02", caseRecordId: "DEMO-LCS-1002", team: DEMO_TEAMS.south },
] as const;

export type DemoChild = (typeof DEMO_CHILDREN)[number];

/** The body of `POST /v1/challenges` for an IRO challenge about a demo child (every field invented). */
export function raiseChallengeBody(child: DemoChild = DEMO_CHILDREN[0]): { form: ChallengeForm } {
  const teamManager = DEMO_IDENTITIES.find((i) =>
    i.staff?.roles.some(
      (r) => r.role === "team_manager" && r.scope.kind === "team" && r.scope.teamId === child.team.id,
    ),
  );
  return {
    form: {
      child: {
        name: child.name,
        dateOfBirth: child.dateOfBirth,
        caseRecordId: child.caseRecordId,
        caseRecordSystem: "LCS",
      },
      track: "LAC",
      raiserRole: "IRO",
      socialWorker: { name: "Sam Placeholder" },
      team: { id: child.team.id, name: child.team.name },
      teamManagerName: teamManager?.staff?.displayName ?? "Team Manager",
      worries:
        "The permanence plan agreed at the last review has not progressed: no permanence planning meeting has been held.",
      actionsTaken: "Raised informally with the social worker after the review; no date has been set since.",
      impactOnChild:
        "Continued uncertainty about where the child will live long term, and worry about moving school.",
      childViews: "Wants to know where they will be living next year and to stay at the same school.",
      whatNeedsToHappen:
        "A permanence planning meeting within four weeks, with the plan shared with the child.",
      desiredOutcome: "A clear permanence plan agreed and explained to the child.",
      timescale: "Four weeks",
      themes: ["needs_not_met"],
      immediateRisk: false,
    },
  };
}
