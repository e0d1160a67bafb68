import { describe, expect, it } from "vitest";
import { createEnglandCalendar } from "../../../../functions/domain/calendar.js";
import type {
  Actor,
  ChallengeEvent,
  ChallengeForm,
  ChallengeState,
  Command,
  DecideContext,
} from "../../../../functions/domain/challenge/index.js";
import { decide, initialState, replay } from "../../../../functions/domain/challenge/index.js";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import type { Protocol } from "../../../../functions/domain/protocol.js";
import { type StaffMember, createDirectoryLookup } from "../../../../functions/store/tenant-store.js";
import { expectSeedSays } from "../presets/seed.js";
import { expectRefused, form, PARTNER, TEAM } from "./fixtures.js";

/**
 * Who a stage goes to and who may approve, against the shipped presets and the real directory
 * lookup (functions/store/tenant-store.ts) over an invented staff list: no fallback from a partner
 * agency to the council, copy-to roles nobody holds named, co-equal recipients, approvals bound to
 * the directory's holder or named cover.
 */

const calendar = createEnglandCalendar();
const IRO: Actor = { id: "iro-ada", role: "IRO" };
const CPC: Actor = { id: "cpc-bea", role: "CPC" };

type Scope = StaffMember["roles"][number]["scope"];
const team: Scope = { kind: "team", teamId: TEAM.id };
const authority: Scope = { kind: "authority" };
const partner: Scope = { kind: "partner_agency", partnerAgencyId: PARTNER.id };

function person(personId: string, roles: [string, Scope][], extra: Partial<StaffMember> = {}): StaffMember {
  return {
    personId,
    displayName: `Invented ${personId}`,
    email: `${personId}@authority.example`,
    active: true,
    roles: roles.map(([role, scope]) => ({ role, scope })),
    ...extra,
  };
}

type Draft = Command extends infer C ? (C extends Command ? Omit<C, "challengeId"> : never) : never;

class Story {
  state: ChallengeState = initialState("ch-recipients");
  readonly events: ChallengeEvent[] = [];

  constructor(
    readonly protocol: Protocol,
    readonly staff: StaffMember[],
  ) {}

  ctx(now: string): DecideContext {
    return {
      protocol: this.protocol,
      calendar,
      directory: createDirectoryLookup(this.staff),
      now: new Date(now),
      newId: () => "act-1",
    };
  }

  try(command: Draft, now: string) {
    return decide(this.state, { ...command, challengeId: this.state.challengeId }, this.ctx(now));
  }

  do(command: Draft, now: string) {
    const result = this.try(command, now);
    if (!result.ok) throw new Error(`${command.type} refused: ${result.error.code}: ${result.error.message}`);
    this.events.push(...result.events);
    this.state = replay(this.events);
    return result.events;
  }
}

const as = (actor: Actor) => ({ actor, channel: "api" as const });
const raise = (actor: Actor, overrides: Partial<ChallengeForm>) => ({
  type: "Raise" as const,
  ...as(actor),
  form: form({ raiserRole: actor.role === "CPC" ? "CPC" : "IRO", themes: [], ...overrides }),
});
const escalate = { type: "Escalate" as const, ...as(IRO), reasons: "Agreement could not be reached." };

describe("partner agencies: never silently re-routed to the council", () => {
  const nottingham = getPreset("nottingham");

  it("004: 'The Team Manager (or equivalent in our partner agency)': with no holder in the agency, refused naming the agency and the role", () => {
    expectSeedSays(
      nottingham,
      "The Team Manager (or equivalent in our partner agency) is required to respond to this practice resolution matter within 5 working days.",
    );
    // The council's own team manager exists; the agency has nobody in the role.
    const staff = [person("tm-council", [["team_manager", team]])];
    const refused = new Story(nottingham, staff).try(
      raise(IRO, { track: "LAC", partnerAgency: PARTNER }),
      "2026-05-21T09:00:00Z",
    );
    expectRefused(
      refused,
      "NO_RECIPIENT",
      /nobody in the staff directory holds the role "Team Manager \(or equivalent in our partner agency\)" for Northgate Health Trust/,
    );

    const story = new Story(nottingham, [...staff, person("tm-health", [["team_manager", partner]])]);
    story.do(raise(IRO, { track: "LAC", partnerAgency: PARTNER }), "2026-05-21T09:00:00Z");
    expect(story.state.currentStage?.assignee.personId).toBe("tm-health");
  });

  it("002 Halton CP 'Partner and Relevant Agencies': an escalation with no agency holder is refused, not sent to the Divisional Manager", () => {
    const halton = getPreset("halton");
    expectSeedSays(halton, "Stage\tChildren's Social Care\tPartner and Relevant Agencies");
    const staff = [
      person("tm-health", [["team_manager", partner]]),
      // The council's Divisional Manager (the `service_manager` role in this preset), authority-wide.
      person("dm-council", [["service_manager", authority]]),
    ];
    const story = new Story(halton, staff);
    story.do(raise(CPC, { track: "CP", partnerAgency: PARTNER }), "2026-05-21T09:00:00Z");
    expect(story.state.currentStage?.assignee.personId).toBe("tm-health");
    expectRefused(
      story.try({ ...escalate, ...as(CPC) }, "2026-05-22T09:00:00Z"),
      "NO_RECIPIENT",
      /holds the role "Service Manager" for Northgate Health Trust/,
    );
    expect(story.state.currentStage?.stageId).toBe("stage_1");
  });
});

describe("copy-to roles with no holder are named, not dropped", () => {
  it("000: 'Case Monitoring Board is alerted': with nobody holding it, the stage opens and records it as not copied", () => {
    const lcs = getPreset("lcs-issues-resolution");
    expectSeedSays(
      lcs,
      "Discussion and outcome of meeting captured on LCS and Case Monitoring Board is alerted.",
    );
    const staff = [
      person("sw-1", [["social_worker", team]]),
      person("tm-1", [["team_manager", team]]),
      person("hos-1", [["head_of_service", authority]]),
    ];
    // Level 1 and 2 go to roles the directory may hold or not; hold all of them but the board.
    const roles = new Set<string>();
    for (const stage of lcs.tracks.LAC?.stages ?? []) {
      roles.add(stage.recipient.role);
      for (const copy of stage.copyTo) roles.add(copy.role);
    }
    roles.delete("case_monitoring_board");
    const everyone = [...staff, ...[...roles].map((role) => person(`${role}-x`, [[role, authority]]))];
    const story = new Story(lcs, everyone);
    story.do(raise(IRO, { track: "LAC" }), "2026-05-21T09:00:00Z");
    story.do(escalate, "2026-05-22T09:00:00Z");
    const opened = story.do(escalate, "2026-05-26T09:00:00Z").find((e) => e.type === "StageOpened");
    expect(opened?.type === "StageOpened" && opened.data).toMatchObject({
      stageId: "stage_1",
      copyTo: [],
      notCopied: [{ role: "case_monitoring_board", title: "Case Monitoring Board" }],
    });
  });
});

describe("003 stage 3: both Heads of Service, co-equal", () => {
  const cp = getPreset("liquidlogic-cp");
  const staff = [
    person("sw-1", [["social_worker", team]]),
    person("tm-1", [["team_manager", team]]),
    person("sm-1", [["service_manager", team]]),
    person("hos-ai", [["head_of_service", authority]]),
    person("hos-cpru", [["head_of_service_cpru", authority]]),
    person("other-manager", [["service_manager", { kind: "team", teamId: "team-b" }]]),
  ];
  function atStage3(): Story {
    const story = new Story(cp, staff);
    story.do(raise(CPC, { track: "CP" }), "2026-05-21T09:00:00Z");
    for (const day of ["22", "26", "27"]) story.do({ ...escalate, ...as(CPC) }, `2026-05-${day}T09:00:00Z`);
    return story;
  }
  const manager = (id: string): Actor => ({ id, role: "manager" });

  it("'The Heads of Service (from A & I and CPRU) should be informed': the stage is addressed to both", () => {
    expectSeedSays(
      cp,
      "The Heads of Service (from A & I and CPRU) should be informed of the situation and be made aware of the key issues that remain unresolved.",
    );
    const story = atStage3();
    expect(story.state.currentStage).toMatchObject({
      stageId: "stage_3",
      assignee: { personId: "hos-ai", title: "Head of Service (A & I)" },
      coAssignees: [{ personId: "hos-cpru", title: "Head of Service (CPRU)" }],
    });
  });

  it("each Head of Service's notification records its own acknowledgement, once", () => {
    const story = atStage3();
    story.do({ type: "Acknowledge", ...as(manager("hos-cpru")) }, "2026-05-27T10:00:00Z");
    expect(story.do({ type: "Acknowledge", ...as(manager("hos-cpru")) }, "2026-05-27T10:05:00Z")).toEqual([]);
    story.do({ type: "Acknowledge", ...as(manager("hos-ai")) }, "2026-05-27T11:00:00Z");
    expect(story.state.currentStage?.acknowledgedAt).toBe("2026-05-27T10:00:00.000Z");
    expect(story.state.currentStage?.acknowledgements?.map((a) => [a.personId, a.at])).toEqual([
      ["hos-cpru", "2026-05-27T10:00:00.000Z"],
      ["hos-ai", "2026-05-27T11:00:00.000Z"],
    ]);
  });

  it("either Head of Service may acknowledge, respond and record the meeting; nobody else may", () => {
    const story = atStage3();
    const acknowledged = story.do(
      { type: "Acknowledge", ...as(manager("hos-cpru")) },
      "2026-05-27T10:00:00Z",
    );
    expect(acknowledged[0]?.actor.id).toBe("hos-cpru");
    story.do(
      { type: "Respond", ...as(manager("hos-ai")), response: "We will meet on Friday." },
      "2026-05-27T11:00:00Z",
    );
    story.do(
      { type: "Respond", ...as(manager("hos-cpru")), response: "Agreed: Friday." },
      "2026-05-27T12:00:00Z",
    );
    expect(story.state.currentStage?.responses).toHaveLength(2);
    story.do(
      {
        type: "RecordMeeting",
        ...as(manager("hos-cpru")),
        heldOn: "2026-05-27",
        attendees: ["CP Chair", "Heads of Service"],
        summary: "Options discussed.",
      },
      "2026-05-27T16:00:00Z",
    );
    expectRefused(
      story.try({ type: "Respond", ...as(manager("other-manager")), response: "x" }, "2026-05-27T12:00:00Z"),
      "NOT_RECIPIENT",
      /only the current recipient \(Head of Service \(A & I\) or Head of Service \(CPRU\)\)/,
    );
  });

  it("with no CPRU Head of Service in the directory, stage 3 is refused rather than sent to one of the two", () => {
    const story = new Story(
      cp,
      staff.filter((m) => m.personId !== "hos-cpru"),
    );
    story.do(raise(CPC, { track: "CP" }), "2026-05-21T09:00:00Z");
    story.do({ ...escalate, ...as(CPC) }, "2026-05-22T09:00:00Z");
    story.do({ ...escalate, ...as(CPC) }, "2026-05-26T09:00:00Z");
    expectRefused(
      story.try({ ...escalate, ...as(CPC) }, "2026-05-27T09:00:00Z"),
      "NO_RECIPIENT",
      /"Head of Service \(CPRU\)"/,
    );
  });
});

describe("approvals: the directory's holder or named cover, in that tenant's directory", () => {
  const rotherham = getPreset("rotherham");
  const staff = [
    person("sw-1", [["social_worker", team]]),
    person("tm-1", [["team_manager", team]]),
    person("ism-holder", [["iro_service_manager", authority]]),
    person("hos-holder", [["head_of_safeguarding", authority]]),
    person("ism-cover", [["team_manager", { kind: "team", teamId: "team-b" }]], {
      coverFor: [{ role: "iro_service_manager", scope: authority }],
    }),
    person("ism-left", [["iro_service_manager", authority]], { active: false }),
  ];
  const request = {
    type: "RequestReferral" as const,
    ...as(IRO),
    kind: "cafcass" as const,
    rationale: "Acute.",
    attestations: ["warrants_external_challenge", "acute_concern", "impact_on_child_considered"],
  };
  const approve = (id: string, approverRole: string) => ({
    type: "ApproveReferral" as const,
    ...as({ id, role: "iro_service_manager" as const }),
    kind: "cafcass" as const,
    approverRole,
  });
  function requested(): Story {
    const story = new Story(rotherham, staff);
    story.do(raise(IRO, { track: "LAC" }), "2026-05-21T09:00:00Z");
    story.do(request, "2026-05-21T10:00:00Z");
    return story;
  }

  it("counts the named cover's approval, and records that it was given as cover", () => {
    const story = requested();
    const [approved] = story.do(approve("ism-cover", "iro_service_manager"), "2026-05-21T11:00:00Z");
    expect(approved).toMatchObject({
      type: "ReferralApproved",
      actor: { id: "ism-cover" },
      data: { approverRole: "iro_service_manager", asCover: true },
    });
    const made = story.do(approve("hos-holder", "head_of_safeguarding"), "2026-05-21T12:00:00Z");
    expect(made.map((e) => e.type)).toEqual(["ReferralApproved", "ReferralMade"]);
    expect(made[0]?.type === "ReferralApproved" && made[0].data.asCover).toBeUndefined();
  });

  it("refuses someone who left, someone not in the directory, and cover for a role they do not cover", () => {
    const story = requested();
    for (const [id, role] of [
      ["ism-left", "iro_service_manager"],
      ["not-in-directory", "iro_service_manager"],
      ["ism-cover", "head_of_safeguarding"],
    ] as const) {
      expectRefused(
        story.try(approve(id, role), "2026-05-21T11:00:00Z"),
        "NOT_APPROVER",
        /only the person the staff directory names as/,
      );
    }
    expect(story.state.referrals[0]?.approvedBy).toEqual([]);
  });
});
