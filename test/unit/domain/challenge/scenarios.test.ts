import { describe, expect, it } from "vitest";
import { createEnglandCalendar } from "../../../../functions/domain/calendar.js";
import type {
  Actor,
  ChallengeEvent,
  ChallengeForm,
  ChallengeState,
  Command,
  DecideContext,
  DirectoryScope,
} from "../../../../functions/domain/challenge/index.js";
import { decide, initialState, nextToAct, replay } from "../../../../functions/domain/challenge/index.js";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { overdueView } from "../../../../functions/reports/reports.js";
import type { Protocol, Recipient } from "../../../../functions/domain/protocol.js";
import { directory, expectRefused, form, manager, PARTNER, personId, TEAM, TIMER } from "./fixtures.js";
import { expectSeedSays } from "../presets/seed.js";

/**
 * Scenarios written from the seed texts (docs/seeds), run against the shipped presets with the real
 * England calendar. Staff and children are invented.
 */

const calendar = createEnglandCalendar();
const IRO: Actor = { id: "iro-ada", role: "IRO" };
const CPC: Actor = { id: "cpc-bea", role: "CPC" };

const LONDON = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const london = (iso: string | undefined) => (iso === undefined ? "" : LONDON.format(new Date(iso)));

/** A command before it is addressed to a challenge (distributes over the union, unlike Omit). */
type Draft = Command extends infer C ? (C extends Command ? Omit<C, "challengeId"> : never) : never;

/** One challenge under one preset: runs commands, keeps every accepted event, checks the fold. */
class Story {
  state: ChallengeState;
  readonly events: ChallengeEvent[] = [];
  private ids = 0;

  constructor(
    readonly protocol: Protocol,
    readonly challengeId = "ch-story",
  ) {
    this.state = initialState(challengeId);
  }

  ctx(now: string): DecideContext {
    return {
      protocol: this.protocol,
      calendar,
      directory: directory([]),
      now: new Date(now),
      newId: () => `act-${++this.ids}`,
    };
  }

  try(command: Draft, now: string) {
    return decide(this.state, { ...command, challengeId: this.challengeId }, this.ctx(now));
  }

  /** Runs a command that must be accepted; returns its events. */
  do(command: Draft, now: string) {
    const result = this.try(command, now);
    if (!result.ok) throw new Error(`${command.type} refused: ${result.error.code}: ${result.error.message}`);
    this.events.push(...result.events);
    this.state = replay(this.events);
    return result.events;
  }
}

function raise(
  actor: Actor,
  overrides: Partial<ChallengeForm>,
  extra: { startAtStageId?: string; bypassRationale?: string; safeguardingConcern?: boolean } = {},
) {
  return {
    type: "Raise" as const,
    actor,
    channel: "api" as const,
    form: form({ raiserRole: actor.role === "CPC" ? "CPC" : "IRO", themes: [], ...overrides }),
    ...extra,
  };
}

const timer = (stageId: string) => ({
  type: "AutoEscalate" as const,
  actor: TIMER,
  channel: "timer" as const,
  stageId,
});
const as = (actor: Actor) => ({ actor, channel: "api" as const });

describe("Nottingham City (004): Practice Resolution Protocol", () => {
  const nottingham = getPreset("nottingham");

  it("gives level 1 five working days over the late May bank holiday, escalates automatically only after the deadline", () => {
    const story = new Story(nottingham);
    // Thursday 21 May 2026, 10:00 London. Monday 25 May is the late May bank holiday.
    story.do(raise(IRO, { track: "LAC", themes: ["needs_not_met"] }), "2026-05-21T09:00:00Z");
    const level1 = story.state.currentStage;
    expect(level1?.stageId).toBe("level_1");
    expect(level1?.assignee).toMatchObject({ role: "team_manager", personId: personId("team_manager") });
    expect(level1?.deadline).toBe("2026-05-29T16:00:00.000Z");
    expect(london(level1?.deadline)).toBe("Friday, 29 May 2026 at 17:00");

    // "Failure to respond will lead automatically to level 2": not before the deadline ...
    expectRefused(
      story.try(timer("level_1"), "2026-05-29T15:30:00Z"),
      "DEADLINE_NOT_PASSED",
      /until Fri, 29 May 2026, 17:00/,
    );
    // ... but once it has passed, to the Service Manager.
    const events = story.do(timer("level_1"), "2026-05-29T16:00:00Z");
    expect(events.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
    expect(story.state.currentStage).toMatchObject({
      stageId: "level_2",
      via: "auto_escalated",
      assignee: { role: "service_manager", title: "Service Manager" },
      deadline: "2026-06-05T16:00:00.000Z",
    });
    expect(story.state.autoEscalations).toBe(1);
  });

  it("lets a CPC bypass only with a safeguarding concern; an IRO may bypass any level", () => {
    const refused = new Story(nottingham).try(
      raise(CPC, { track: "CP" }, { startAtStageId: "level_3", bypassRationale: "Drift over six months." }),
      "2026-05-21T09:00:00Z",
    );
    expectRefused(
      refused,
      "BYPASS_NOT_ALLOWED",
      /CP track in this protocol lets the CPC bypass stages only where there is a safeguarding concern .*should they have safeguarding concerns.*no safeguarding concern was stated/,
    );

    const cpc = new Story(nottingham);
    cpc.do(
      raise(
        CPC,
        { track: "CP" },
        {
          startAtStageId: "level_3",
          bypassRationale: "Child not seen for 8 weeks.",
          safeguardingConcern: true,
        },
      ),
      "2026-05-21T09:00:00Z",
    );
    expect(cpc.state.currentStage).toMatchObject({ stageId: "level_3", via: "bypassed" });

    const iro = new Story(nottingham);
    iro.do(raise(IRO, { track: "LAC" }), "2026-05-21T09:00:00Z");
    iro.do(
      {
        type: "Bypass",
        ...as(IRO),
        toStageId: "level_4",
        rationale: "Funding decision needed from the Director.",
      },
      "2026-05-22T09:00:00Z",
    );
    expect(iro.state.currentStage?.stageId).toBe("level_4");
  });

  it("sends a partner agency's challenge to the equivalent manager there", () => {
    const story = new Story(nottingham);
    story.do(raise(IRO, { track: "CP", partnerAgency: PARTNER }), "2026-05-21T09:00:00Z");
    expect(story.state.currentStage?.assignee).toMatchObject({
      personId: personId("team_manager", PARTNER.id),
      title: "Team Manager (or equivalent in our partner agency)",
    });
  });

  it("offers the IRO a Cafcass referral after level 4, with legal advice sought; tells the CPC what to do instead", () => {
    const iro = new Story(nottingham);
    iro.do(
      raise(IRO, { track: "LAC" }, { startAtStageId: "level_4", bypassRationale: "Human rights breach." }),
      "2026-05-21T09:00:00Z",
    );
    const referral = {
      type: "RequestReferral" as const,
      ...as(IRO),
      kind: "cafcass" as const,
      rationale: "Level 4 response does not address the breach.",
      attestations: [
        "legal_advice_sought",
        "discussed_with_service_manager",
        "discussed_with_head_of_safeguarding",
      ],
    };
    expectRefused(
      iro.try(referral, "2026-05-22T09:00:00Z"),
      "REFERRAL_NOT_AVAILABLE",
      /only after the last stage, Level 4/,
    );
    iro.do(
      { type: "Escalate", ...as(IRO), reasons: "Level 4 response unsatisfactory." },
      "2026-05-28T09:00:00Z",
    );
    expect(iro.state.status).toBe("ladder_exhausted");
    expectRefused(
      iro.try({ ...referral, attestations: ["discussed_with_service_manager"] }, "2026-05-28T10:00:00Z"),
      "ATTESTATION_MISSING",
      /Legal advice has been sought/,
    );
    expect(iro.do(referral, "2026-05-28T10:00:00Z").map((e) => e.type)).toEqual([
      "ReferralRequested",
      "ReferralMade",
    ]);

    const cpc = new Story(nottingham);
    cpc.do(
      raise(
        CPC,
        { track: "CP" },
        { startAtStageId: "level_4", bypassRationale: "x", safeguardingConcern: true },
      ),
      "2026-05-21T09:00:00Z",
    );
    cpc.do({ type: "Escalate", ...as(CPC), reasons: "Unresolved." }, "2026-05-28T09:00:00Z");
    expectRefused(
      cpc.try({ ...referral, actor: CPC }, "2026-05-28T10:00:00Z"),
      "NOT_PERMITTED",
      /made by the IRO, not the CPC .*CPC to take advice from Service Manager & Head of Safeguarding/,
    );
  });
});

describe("Halton (002): IRM Dispute Resolution", () => {
  const halton = getPreset("halton");

  it("refuses a CP bypass: every stage must be followed", () => {
    const refused = new Story(halton).try(
      raise(CPC, { track: "CP" }, { startAtStageId: "stage_3", bypassRationale: "Core groups not held." }),
      "2026-05-21T09:00:00Z",
    );
    expectRefused(
      refused,
      "BYPASS_NOT_ALLOWED",
      /CP track in this protocol does not allow bypass by the CP IRM \("In contrast to LAC the CP IRM will follow each stage/,
    );

    const story = new Story(halton);
    story.do(raise(CPC, { track: "CP" }), "2026-05-21T09:00:00Z");
    expect(story.state.currentStage).toMatchObject({
      stageId: "stage_1",
      assignee: { title: "Principal Manager" },
    });
    expectRefused(
      story.try(
        { type: "Bypass", ...as(CPC), toStageId: "stage_4", rationale: "Urgent", safeguardingConcern: true },
        "2026-05-22T09:00:00Z",
      ),
      "BYPASS_NOT_ALLOWED",
      /does not allow bypass/,
    );
    story.do(
      { type: "Escalate", ...as(CPC), reasons: "No resolution at the informal stage." },
      "2026-05-22T09:00:00Z",
    );
    expect(story.state.currentStage).toMatchObject({
      stageId: "stage_2",
      assignee: { title: "Divisional Manager" },
    });
  });

  it("routes a CP alert about a partner agency to the agency's managers, and the last stage to the DCS", () => {
    const story = new Story(halton);
    story.do(raise(CPC, { track: "CP", partnerAgency: PARTNER }), "2026-05-21T09:00:00Z");
    expect(story.state.currentStage?.assignee.personId).toBe(personId("team_manager", PARTNER.id));
    for (const day of ["2026-05-29T16:00:00Z", "2026-06-05T16:00:00Z"]) {
      story.do(timer(story.state.currentStage?.stageId ?? ""), day);
    }
    expect(story.state.currentStage?.assignee).toMatchObject({
      personId: personId("agency_safeguarding_lead", PARTNER.id),
      title: "Agency Safeguarding Lead for the partnership",
    });
    story.do(timer("stage_3"), "2026-06-12T16:00:00Z");
    expect(story.state.currentStage?.assignee).toMatchObject({
      personId: personId("director_childrens_services", TEAM.id),
      title: "Director of Children's Services",
    });
  });

  it("accepts an LAC bypass with a concurrent Cafcass referral, and the escalation carries on", () => {
    const story = new Story(halton);
    story.do(
      raise(
        IRO,
        { track: "LAC", themes: ["family_finding"] },
        { startAtStageId: "stage_3", bypassRationale: "Delay in an adoptive placement." },
      ),
      "2026-05-21T09:00:00Z",
    );
    expect(story.state.currentStage).toMatchObject({
      stageId: "stage_3",
      via: "bypassed",
      assignee: { title: "Operational Director" },
    });
    const referred = story.do(
      {
        type: "RequestReferral",
        ...as(IRO),
        kind: "cafcass",
        rationale: "Risk of breach of the child's right to family life.",
        attestations: ["human_rights_risk", "no_one_else_to_bring_proceedings"],
      },
      "2026-05-21T10:00:00Z",
    );
    expect(referred.map((e) => e.type)).toEqual(["ReferralRequested", "ReferralMade"]);
    expect(story.state).toMatchObject({ status: "open", currentStage: { stageId: "stage_3" } });
    story.do(
      { type: "Escalate", ...as(IRO), reasons: "No plan from the Operational Director." },
      "2026-05-26T09:00:00Z",
    );
    expect(story.state.currentStage?.stageId).toBe("stage_4");
  });

  it("raises at LAC stage 3 with the concurrent Cafcass referral in one decision", () => {
    expectSeedSays(
      halton,
      "may consider it necessary to make a concurrent referral to CAFCASS at the same time that s/he instigates the dispute resolution process",
    );
    const referral = {
      kind: "cafcass" as const,
      rationale: "Risk of breach of the child's right to family life.",
      attestations: ["human_rights_risk", "no_one_else_to_bring_proceedings"],
    };
    const story = new Story(halton);
    const events = story.do(
      {
        ...raise(
          IRO,
          { track: "LAC", themes: ["family_finding"] },
          { startAtStageId: "stage_3", bypassRationale: "Delay in an adoptive placement." },
        ),
        referral,
      },
      "2026-05-21T09:00:00Z",
    );
    expect(events.map((e) => [e.type, e.seq])).toEqual([
      ["ChallengeRaised", 1],
      ["StageOpened", 2],
      ["ReferralRequested", 3],
      ["ReferralMade", 4],
    ]);
    expect(events.every((e) => e.actor.id === IRO.id && e.at === "2026-05-21T09:00:00.000Z")).toBe(true);
    expect(story.state).toMatchObject({
      status: "open",
      version: 4,
      currentStage: { stageId: "stage_3", via: "bypassed", assignee: { title: "Operational Director" } },
      referrals: [{ kind: "cafcass", status: "made" }],
    });
    // The escalation carries on beside the referral.
    story.do(
      { type: "Escalate", ...as(IRO), reasons: "No plan from the Operational Director." },
      "2026-05-26T09:00:00Z",
    );
    expect(story.state.currentStage?.stageId).toBe("stage_4");
  });

  it("refuses the raise as a whole when the referral sent with it is not allowed", () => {
    const lac = raise(IRO, { track: "LAC", themes: ["family_finding"] });
    // A statement missing: nothing is raised.
    expectRefused(
      new Story(halton).try(
        { ...lac, referral: { kind: "cafcass", rationale: "Risk.", attestations: ["human_rights_risk"] } },
        "2026-05-21T09:00:00Z",
      ),
      "ATTESTATION_MISSING",
      /^the challenge was not raised, because the referral sent with it was refused: before a referral to CAFCASS Legal you must confirm: "No other suitable adult/,
    );
    // The CP process has no Cafcass referral at all.
    expectRefused(
      new Story(halton).try(
        {
          ...raise(CPC, { track: "CP" }),
          referral: { kind: "cafcass", rationale: "Risk.", attestations: [] },
        },
        "2026-05-21T09:00:00Z",
      ),
      "REFERRAL_NOT_AVAILABLE",
      /^the challenge was not raised, because the referral sent with it was refused: .*has no/,
    );
  });
});

describe("Rotherham (001): Challenge and Resolution", () => {
  const rotherham = getPreset("rotherham");
  const plan = (actor: Actor) => ({
    type: "AgreeActionPlan" as const,
    ...as(actor),
    actions: [
      { action: "Convene a permanence planning meeting", byWhen: "2026-06-19", byWhom: "Team Manager" },
    ],
  });

  function atStage(target: string): Story {
    const story = new Story(rotherham);
    story.do(raise(IRO, { track: "LAC", themes: ["drift_delay_planning"] }), "2026-05-21T09:00:00Z");
    let day = 22;
    while (story.state.currentStage?.stageId !== target) {
      story.do(
        { type: "Escalate", ...as(IRO), reasons: "Agreement could not be reached." },
        `2026-06-${String(day++).padStart(2, "0")}T09:00:00Z`,
      );
    }
    return story;
  }

  it("gives the informal stage 10 working days and copies stage 1 to the people the guidance names", () => {
    const story = new Story(rotherham);
    story.do(raise(IRO, { track: "LAC" }), "2026-05-21T09:00:00Z");
    expect(story.state.currentStage?.deadline).toBe("2026-06-05T16:00:00.000Z");
    story.do({ type: "Escalate", ...as(IRO), reasons: "Not resolved informally." }, "2026-06-05T09:00:00Z");
    expect(story.state.currentStage?.assignee.role).toBe("team_manager");
    expect(story.state.currentStage?.copyTo.map((c) => c.role)).toEqual([
      "social_worker",
      "service_manager",
      "iro_service_manager",
    ]);
  });

  it("reverts to the stage last exited when an agreed action is missed", () => {
    const story = atStage("stage_2");
    const sm = manager("service_manager");
    story.do(
      {
        type: "RecordMeeting",
        ...as(sm),
        heldOn: "2026-06-23",
        attendees: ["IRO", "Service Manager"],
        summary: "Plan agreed.",
      },
      "2026-06-23T15:00:00Z",
    );
    story.do(plan(sm), "2026-06-23T15:05:00Z");
    expect(story.state).toMatchObject({ status: "monitoring", lastExitedStageId: "stage_2" });
    story.do(
      { type: "MissAction", ...as(IRO), actionId: "act-1", note: "Meeting not convened." },
      "2026-06-23T16:00:00Z",
    );
    const events = story.do(
      { type: "Reopen", ...as(IRO), reason: "The agreed action was not implemented." },
      "2026-06-24T09:00:00Z",
    );
    expect(events.map((e) => e.type)).toEqual(["Reopened", "StageOpened"]);
    expect(story.state.currentStage).toMatchObject({
      stageId: "stage_2",
      via: "reopened",
      deadline: "2026-07-01T16:00:00.000Z",
    });
    expect(story.state.history.map((v) => [v.stageId, v.exit])).toEqual([
      ["informal", "requested"],
      ["stage_1", "requested"],
      ["stage_2", "plan_agreed"],
    ]);
  });

  it("reverts a failed stage 4 plan to the stage 3 process", () => {
    const story = atStage("stage_4");
    story.do(plan(manager("director_childrens_services")), "2026-06-30T09:00:00Z");
    story.do(
      { type: "MissAction", ...as(IRO), actionId: "act-1", note: "Not done." },
      "2026-07-20T09:00:00Z",
    );
    story.do({ type: "Reopen", ...as(IRO), reason: "Stage 4 plan not implemented." }, "2026-07-20T10:00:00Z");
    expect(story.state.currentStage).toMatchObject({
      stageId: "stage_3",
      assignee: { title: "HoS (Safeguarding)" },
    });
    expect(story.state.highestStageIndex).toBe(4);
  });

  const cafcassRequest = {
    type: "RequestReferral" as const,
    ...as(IRO),
    kind: "cafcass" as const,
    rationale: "Acute: the placement ends in a week.",
    attestations: ["warrants_external_challenge", "acute_concern", "impact_on_child_considered"],
  };

  it("'Such a step would require the oversight and approval of the Service Manager and HoS for Safeguarding': approvals count only from the directory's holders", () => {
    expectSeedSays(
      rotherham,
      "Such a step would require the oversight and approval of the Service Manager and HoS for Safeguarding.",
    );
    const story = atStage("stage_2");
    story.do(cafcassRequest, "2026-06-24T09:00:00Z");
    expect(story.state.referrals[0]?.status).toBe("awaiting_approval");
    // Any manager token is not enough: the subject must hold the role in the directory.
    expectRefused(
      story.try(
        {
          type: "ApproveReferral",
          ...as({ id: "someone-else", role: "iro_service_manager" }),
          kind: "cafcass",
          approverRole: "iro_service_manager",
        },
        "2026-06-24T09:30:00Z",
      ),
      "NOT_APPROVER",
      /only the person the staff directory names as Service Manager for team .* \(or their named cover\)/,
    );
    // The holder of one approving role cannot approve as another.
    expectRefused(
      story.try(
        {
          type: "ApproveReferral",
          ...as(manager("iro_service_manager")),
          kind: "cafcass",
          approverRole: "head_of_safeguarding",
        },
        "2026-06-24T09:30:00Z",
      ),
      "NOT_APPROVER",
      /HoS for Safeguarding/,
    );
    story.do(
      {
        type: "ApproveReferral",
        ...as(manager("iro_service_manager")),
        kind: "cafcass",
        approverRole: "iro_service_manager",
      },
      "2026-06-24T10:00:00Z",
    );
    const made = story.do(
      {
        type: "ApproveReferral",
        ...as(manager("head_of_safeguarding")),
        kind: "cafcass",
        approverRole: "head_of_safeguarding",
      },
      "2026-06-24T11:00:00Z",
    );
    expect(made.map((e) => [e.type, e.actor.id])).toEqual([
      ["ReferralApproved", personId("head_of_safeguarding")],
      ["ReferralMade", personId("head_of_safeguarding")],
    ]);
    expect(made[1]?.type === "ReferralMade" && made[1].data.documents).toHaveLength(7);
  });

  it("a Cafcass referral does not freeze the ladder: 'time available to pursue the full dispute resolution process', so an unanswered stage still escalates", () => {
    expectSeedSays(
      rotherham,
      "There will be some cases where there will be time available to pursue the full dispute resolution process as above but this may not always be the case.",
    );
    const story = atStage("stage_2");
    story.do(cafcassRequest, "2026-06-24T09:00:00Z");
    for (const role of ["iro_service_manager", "head_of_safeguarding"]) {
      story.do(
        { type: "ApproveReferral", ...as(manager(role)), kind: "cafcass", approverRole: role },
        "2026-06-24T10:00:00Z",
      );
    }
    expect(story.state.referrals[0]?.status).toBe("made");
    // Stage 2 was opened on Tue 23 June: 5 working days, then nobody answered.
    const deadline = story.state.currentStage?.deadline ?? "";
    const escalated = story.do(timer("stage_2"), deadline);
    expect(escalated.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
    expect(story.state.currentStage).toMatchObject({ stageId: "stage_3", via: "auto_escalated" });
    // And the IRO may still escalate by hand.
    expect(story.try({ type: "Escalate", ...as(IRO), reasons: "No clarity given." }, deadline).ok).toBe(true);
  });

  it("the manager the challenge is about cannot approve a referral about it", () => {
    const story = atStage("stage_2");
    story.do(cafcassRequest, "2026-06-24T09:00:00Z");
    // The responsible Service Manager holds the stage; suppose they also hold the approving role.
    const stageHolder = story.state.currentStage?.assignee.personId ?? "";
    const ctx = story.ctx("2026-06-24T10:00:00Z");
    const everyoneHolds = Object.assign((r: Recipient, s: DirectoryScope) => ctx.directory(r, s), {
      standing: () => "holder" as const,
    });
    const result = decide(
      story.state,
      {
        type: "ApproveReferral",
        challengeId: story.challengeId,
        ...as({ id: stageHolder, role: "manager" }),
        kind: "cafcass",
        approverRole: "iro_service_manager",
      },
      { ...ctx, directory: everyoneHolds },
    );
    expectRefused(result, "NOT_APPROVER", /recipient of the open stage is the subject of this challenge/);
  });
});

describe("Child Protection Resolution Process (003, Liquidlogic)", () => {
  const cp = getPreset("liquidlogic-cp");

  it("asks the chair to choose the outcome when a stage gets no response, and progresses it if they do not", () => {
    // "If the issue is not resolved, or communication is not forthcoming then the outcome of this
    // part of the resolution should be to 'progress to CP- resolution process stage 2'."
    const story = new Story(cp);
    story.do(raise(CPC, { track: "CP" }), "2026-05-21T09:00:00Z");
    story.do(
      { type: "Escalate", ...as(CPC), reasons: "Communication not forthcoming." },
      "2026-05-21T15:00:00Z",
    );
    const alerted = story.do(timer("stage_1"), "2026-05-29T16:00:00Z");
    expect(alerted.map((e) => e.type)).toEqual(["RaiserAlerted"]);
    expect(alerted[0]?.data).toMatchObject({ reason: "no_response", decideBy: "2026-06-01T16:00:00.000Z" });
    expect(story.state).toMatchObject({
      status: "open",
      autoEscalations: 0,
      currentStage: { stageId: "stage_1" },
    });
    expectRefused(
      story.try(timer("stage_1"), "2026-06-01T09:00:00Z"),
      "DEADLINE_NOT_PASSED",
      /has until Mon, 1 Jun 2026, 17:00 to resolve the challenge or escalate it/,
    );
    const progressed = story.do(timer("stage_1"), "2026-06-01T16:00:00Z");
    expect(progressed.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
    expect(progressed[0]?.type === "Escalated" && progressed[0].data.reasons).toMatch(
      /progress to CP- resolution process stage 2/,
    );
    expect(story.state.currentStage).toMatchObject({ stageId: "stage_2", via: "auto_escalated" });
  });

  it("lets stages be taken out of sequence only at immediate risk of significant harm", () => {
    expectRefused(
      new Story(cp).try(
        raise(CPC, { track: "CP" }, { startAtStageId: "stage_3", bypassRationale: "Drift." }),
        "2026-05-21T09:00:00Z",
      ),
      "BYPASS_NOT_ALLOWED",
      /only when the child is at immediate risk of significant harm .*each stage need not be followed in sequence/,
    );
    const story = new Story(cp);
    story.do(
      raise(
        CPC,
        { track: "CP", immediateRisk: true },
        { startAtStageId: "stage_3", bypassRationale: "Escalating risk at home." },
      ),
      "2026-05-21T09:00:00Z",
    );
    expect(story.state.currentStage).toMatchObject({
      stageId: "stage_3",
      assignee: { title: "Head of Service (A & I)" },
      coAssignees: [{ title: "Head of Service (CPRU)" }],
    });
  });

  it("refers to the Safeguarding Children Partnership only after the final stage", () => {
    const story = new Story(cp);
    story.do(raise(CPC, { track: "CP" }), "2026-05-21T09:00:00Z");
    const referral = {
      type: "RequestReferral" as const,
      ...as(CPC),
      kind: "partnership" as const,
      rationale: "Professional disagreement remains.",
      attestations: [],
    };
    expectRefused(
      story.try(referral, "2026-05-22T09:00:00Z"),
      "REFERRAL_NOT_AVAILABLE",
      /only after the last stage, Stage 4 \(Service Director\), has been tried without resolution/,
    );
    let day = 22;
    while (story.state.status === "open") {
      story.do(
        { type: "Escalate", ...as(CPC), reasons: "Remains unresolved." },
        `2026-06-${String(day++).padStart(2, "0")}T09:00:00Z`,
      );
    }
    expect(story.state).toMatchObject({
      status: "ladder_exhausted",
      lastExitedStageId: "stage_4",
      highestStageIndex: 4,
    });
    const made = story.do(referral, "2026-06-30T09:00:00Z");
    expect(made.map((e) => e.type)).toEqual(["ReferralRequested", "ReferralMade", "DecisionRequested"]);
    expect(made[1]?.type === "ReferralMade" && made[1].data.recipient.role).toBe("safeguarding_partnership");
  });

  it("has no LAC process", () => {
    expectRefused(
      new Story(cp).try(raise(IRO, { track: "LAC" }), "2026-05-21T09:00:00Z"),
      "UNKNOWN_TRACK",
      /covers CP only/,
    );
  });
});

describe("Issues Resolution and Challenge Protocol (000, LCS)", () => {
  const lcs = getPreset("lcs-issues-resolution");

  it("runs two-week steps and lets the IRO note a difference after the last stage, for the AD to decide", () => {
    const story = new Story(lcs);
    story.do(raise(IRO, { track: "LAC", themes: ["plan_not_progressed"] }), "2026-05-21T09:00:00Z");
    // "Week 1-2": two weeks, Thu 21 May -> Thu 4 June ("The timescales set out below are the
    // maximum": the Mon 25 May bank holiday does not lengthen them).
    expect(story.state.currentStage).toMatchObject({
      stageId: "level_1",
      deadline: "2026-06-04T16:00:00.000Z",
    });
    const note = {
      type: "NoteDifference" as const,
      ...as(IRO),
      summary: "IRO maintains that the care plan must include sibling contact.",
    };
    expectRefused(
      story.try(note, "2026-05-22T09:00:00Z"),
      "WRONG_STATUS",
      /only once every stage has been tried/,
    );

    for (const [stageId, deadline] of [
      ["level_1", "2026-06-04T16:00:00Z"],
      ["level_2", "2026-06-18T16:00:00Z"],
      ["stage_1", "2026-07-02T16:00:00Z"],
      ["stage_2", "2026-07-16T16:00:00Z"],
    ] as const) {
      expect(story.state.currentStage?.stageId).toBe(stageId);
      expect(story.state.currentStage?.deadline).toBe(new Date(deadline).toISOString());
      story.do(timer(stageId), deadline);
    }
    expect(story.state).toMatchObject({ status: "ladder_exhausted", autoEscalations: 4 });

    const noted = story.do(note, "2026-07-20T09:00:00Z");
    expect(noted[0]?.type === "DifferenceNoted" && noted[0].data.decidedBy).toEqual({
      role: "assistant_director",
      title: "AD",
    });
    const cafcass = story.do(
      {
        type: "RequestReferral",
        ...as(IRO),
        kind: "cafcass",
        rationale: "Considering contacting CAFCASS.",
        attestations: [],
      },
      "2026-07-21T09:00:00Z",
    );
    expect(cafcass.map((e) => e.type)).toEqual(["ReferralRequested", "ReferralMade"]);
    story.do(
      { type: "Close", ...as(IRO), summary: "Final agreed decisions noted on LCS." },
      "2026-07-22T09:00:00Z",
    );
    expect(story.state.status).toBe("closed");
    expect(story.state.version).toBe(story.events.length);
  });
});

describe("going straight to the first formal stage", () => {
  it("Halton CP starts at Stage 1: the CP IRM 'will follow each stage', so neither Stage 2 nor Stage 3 can be the first", () => {
    const halton = getPreset("halton");
    // "In contrast to LAC the CP IRM will follow each stage and does not have the discretion to go
    // straight to stages 3 or 4.": no bypass, and no leave to skip the informal stage either.
    expect(halton.tracks.CP?.informalStageOptional).toBeUndefined();
    expectRefused(
      new Story(halton).try(
        raise(IRO, { track: "CP" }, { startAtStageId: "stage_2", bypassRationale: "Urgent." }),
        "2026-03-02T10:00:00Z",
      ),
      "BYPASS_NOT_ALLOWED",
      /In contrast to LAC the CP IRM will follow each stage/,
    );
    const story = new Story(halton);
    story.do(raise(IRO, { track: "CP" }), "2026-03-02T10:00:00Z");
    expect(story.state.currentStage).toMatchObject({ stageId: "stage_1", via: "raised" });

    expectRefused(
      new Story(halton).try(
        raise(
          IRO,
          { track: "CP" },
          { startAtStageId: "stage_3", bypassRationale: "No progress since conference." },
        ),
        "2026-03-02T10:00:00Z",
      ),
      "BYPASS_NOT_ALLOWED",
      /CP track in this protocol does not allow bypass/,
    );
  });

  it("003: with no such rule, skipping the informal resolution is a bypass needing immediate risk", () => {
    const liquidlogic = getPreset("liquidlogic-cp");
    expectRefused(
      new Story(liquidlogic).try(
        raise(
          CPC,
          { track: "CP", immediateRisk: false },
          { startAtStageId: "stage_1", bypassRationale: "Urgent." },
        ),
        "2026-03-02T10:00:00Z",
      ),
      "BYPASS_NOT_ALLOWED",
      /immediate risk of significant harm/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Issue 9: a challenge can never stall. Each scenario quotes its seed sentence (checked verbatim).

describe("a holding reply does not stop the escalation", () => {
  it("002 Halton CP: 'The alert will progress up to the next stage if a response is not received or resolution is not achieved.'", () => {
    const halton = getPreset("halton");
    expectSeedSays(
      halton,
      "The alert will progress up to the next stage if a response is not received or resolution is not achieved.",
    );
    const story = new Story(halton);
    story.do(raise(CPC, { track: "CP" }), "2026-05-21T09:00:00Z");
    story.do(
      { type: "Escalate", ...as(CPC), reasons: "Core groups still not held." },
      "2026-05-21T10:00:00Z",
    );
    const deadline = story.state.currentStage?.deadline ?? "";
    expect(deadline).toBe("2026-05-29T16:00:00.000Z");
    story.do(
      { type: "Respond", ...as(manager("service_manager")), response: "We are looking into it." },
      "2026-05-27T09:00:00Z",
    );
    const escalated = story.do(timer("stage_2"), deadline);
    expect(escalated.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
    expect(escalated[0]?.type === "Escalated" && escalated[0].data).toMatchObject({
      kind: "no_response",
      timedOut: "no_resolution",
      toStageId: "stage_3",
    });
    expect(story.state.currentStage).toMatchObject({ stageId: "stage_3", via: "auto_escalated" });
  });

  it("004 Nottingham: 'If the matter is not resolved within the 5 working days, then the IRO/CPC should state why ... and then automatically send to the next level'", () => {
    const nottingham = getPreset("nottingham");
    expectSeedSays(
      nottingham,
      "If the matter is not resolved within the 5 working days, then the IRO/CPC should state why on the Practice Resolution Protocol document and then automatically send to the next level of management.",
    );
    const story = new Story(nottingham);
    story.do(raise(IRO, { track: "LAC", themes: ["needs_not_met"] }), "2026-05-21T09:00:00Z");
    story.do(
      { type: "Respond", ...as(manager("team_manager")), response: "Holding reply: we will review." },
      "2026-05-28T09:00:00Z",
    );
    // At the deadline the IRO is asked (email and tray) to resolve or escalate with reasons.
    const asked = story.do(timer("level_1"), "2026-05-29T16:00:00Z");
    expect(asked.map((e) => e.type)).toEqual(["RaiserAlerted"]);
    expect(asked[0]?.data).toEqual({
      stageId: "level_1",
      reason: "no_resolution",
      decideBy: "2026-06-01T16:00:00.000Z",
    });
    // The IRO does neither within the default working day: it goes to level 2 by itself, saying why.
    const moved = story.do(timer("level_1"), "2026-06-01T16:00:00Z");
    expect(moved[0]?.type === "Escalated" && moved[0].data.timedOut).toBe("raiser_did_not_decide");
    expect(moved[0]?.type === "Escalated" && moved[0].data.reasons).toMatch(
      /was answered but not resolved by its deadline, Fri, 29 May 2026, 17:00\. The IRO was asked .* and did neither/,
    );
    expect(story.state.currentStage).toMatchObject({ stageId: "level_2", via: "auto_escalated" });

    // Had the IRO stated why and escalated within the window, the level would have moved on their reasons.
    const other = new Story(nottingham, "ch-other");
    other.do(raise(IRO, { track: "LAC", themes: ["needs_not_met"] }), "2026-05-21T09:00:00Z");
    other.do(
      { type: "Respond", ...as(manager("team_manager")), response: "Holding reply." },
      "2026-05-28T09:00:00Z",
    );
    other.do(timer("level_1"), "2026-05-29T16:00:00Z");
    const own = other.do(
      { type: "Escalate", ...as(IRO), reasons: "The response gives no date for the assessment." },
      "2026-06-01T10:00:00Z",
    );
    expect(own[0]?.type === "Escalated" && own[0].data.kind).toBe("requested");
    expectRefused(other.try(timer("level_1"), "2026-06-01T16:00:00Z"), "WRONG_STATUS", /no longer open/);
  });
});

describe("the raiser's decision window runs from the protocol's deadline, not from when the timer fired", () => {
  const nottingham = getPreset("nottingham");
  const SENTENCE =
    "If the matter is not resolved within the 5 working days, then the IRO/CPC should state why on the Practice Resolution Protocol document and then automatically send to the next level of management.";

  function heldAtLevel1(id: string): Story {
    const story = new Story(nottingham, id);
    story.do(raise(IRO, { track: "LAC", themes: ["needs_not_met"] }), "2026-05-21T09:00:00Z");
    story.do(
      { type: "Respond", ...as(manager("team_manager")), response: "Holding reply: we will review." },
      "2026-05-28T09:00:00Z",
    );
    return story;
  }

  it("004: a timer that fires late (Saturday) still gives the IRO until the end of the working day after the deadline", () => {
    expectSeedSays(nottingham, SENTENCE);
    const story = heldAtLevel1("ch-late-timer");
    // Deadline Fri 29 May 17:00; the timer fires Sat 30 May. Counted from the deadline the window
    // ends Mon 1 June 17:00, as it would have had the timer been on time (not Tue 2 June).
    const asked = story.do(timer("level_1"), "2026-05-30T10:00:00Z");
    expect(asked[0]?.data).toMatchObject({ reason: "no_resolution", decideBy: "2026-06-01T16:00:00.000Z" });
  });

  it("004: a timer so late that the window from the deadline has passed gives the IRO until the end of the next working day", () => {
    expectSeedSays(nottingham, SENTENCE);
    const story = heldAtLevel1("ch-very-late-timer");
    // The window from the deadline ended Mon 1 June 17:00; the timer fires Tue 2 June 11:00. The
    // IRO has not yet been asked, so they get until Wed 3 June 17:00, not an instant escalation.
    const asked = story.do(timer("level_1"), "2026-06-02T10:00:00Z");
    expect(asked[0]?.data).toMatchObject({ reason: "no_resolution", decideBy: "2026-06-03T16:00:00.000Z" });
    expectRefused(story.try(timer("level_1"), "2026-06-03T15:00:00Z"), "DEADLINE_NOT_PASSED", /Wed, 3 Jun/);
    const moved = story.do(timer("level_1"), "2026-06-03T16:00:00Z");
    expect(moved[0]?.type === "Escalated" && moved[0].data.timedOut).toBe("raiser_did_not_decide");
  });
});

describe("decisions owed after the last stage: asked of the named role, with a deadline, made by that person", () => {
  const lcs = getPreset("lcs-issues-resolution");
  const cp = getPreset("liquidlogic-cp");
  const AD = manager("assistant_director");
  const note = {
    type: "NoteDifference" as const,
    ...as(IRO),
    summary: "IRO maintains that the care plan must include sibling contact.",
  };

  function exhaustedLcs(id: string): Story {
    const story = new Story(lcs, id);
    story.do(raise(IRO, { track: "LAC", themes: ["plan_not_progressed"] }), "2026-05-21T09:00:00Z");
    for (const [stageId, deadline] of [
      ["level_1", "2026-06-04T16:00:00Z"],
      ["level_2", "2026-06-18T16:00:00Z"],
      ["stage_1", "2026-07-02T16:00:00Z"],
      ["stage_2", "2026-07-16T16:00:00Z"],
    ] as const) {
      story.do(timer(stageId), deadline);
    }
    expect(story.state.status).toBe("ladder_exhausted");
    return story;
  }

  it("000: 'AD to make decision on upholding differences.': the AD is asked, within the two-week step, and only the AD decides", () => {
    expectSeedSays(lcs, "AD to make decision on upholding differences.");
    expectSeedSays(lcs, "Week 9-10");
    const story = exhaustedLcs("ch-ad-decides");
    const noted = story.do(note, "2026-07-20T09:00:00Z");
    expect(noted.map((e) => e.type)).toEqual(["DifferenceNoted", "DecisionRequested"]);
    // Mon 20 July + two weeks ("Week 9-10"): Mon 3 August, 17:00 BST.
    expect(noted[1]?.data).toEqual({
      after: "difference",
      decidedBy: { role: "assistant_director", title: "AD" },
      personId: AD.id,
      dueBy: "2026-08-03T16:00:00.000Z",
      citation: lcs.tracks.LAC?.difference?.citation,
    });
    // The AD's tray holds it until they decide, due by the protocol's deadline.
    expect(nextToAct(story.state)).toEqual({
      personId: AD.id,
      dueBy: "2026-08-03T16:00:00.000Z",
      awaiting: "post_ladder_decision",
    });
    // Past the deadline it is chased: a row of the overdue view, naming the AD.
    expect(overdueView([story.state], new Date("2026-08-04T09:00:00Z"), calendar, 0, lcs)).toMatchObject([
      {
        challengeId: "ch-ad-decides",
        stageLabel: "Decision after the last stage",
        assigneeTitle: "AD",
        assigneePersonId: AD.id,
        deadline: "2026-08-03T16:00:00.000Z",
        status: "overdue",
      },
    ]);
    expectRefused(story.try(note, "2026-07-21T09:00:00Z"), "WRONG_STATUS", /AD's decision .* is awaited/);
    const decision = {
      type: "DecideAfterLadder" as const,
      upheld: true,
      reasons: "Sibling contact is in the child's interest.",
    };
    expectRefused(
      story.try({ ...decision, ...as(manager("head_of_service")) }, "2026-07-22T09:00:00Z"),
      "NOT_APPROVER",
      /only the person the staff directory names as AD/,
    );
    expectRefused(story.try({ ...decision, ...as(IRO) }, "2026-07-22T09:00:00Z"), "NOT_APPROVER", /AD/);
    const decided = story.do({ ...decision, ...as(AD) }, "2026-07-22T09:00:00Z");
    expect(decided[0]).toMatchObject({
      type: "DecisionRecorded",
      actor: AD,
      data: { after: "difference", upheld: true, decidedBy: { role: "assistant_director" } },
    });
    expect(story.state.pendingDecision).toBeUndefined();
    expect(nextToAct(story.state)).toBeUndefined();
    expect(overdueView([story.state], new Date("2026-08-04T09:00:00Z"), calendar, 0, lcs)).toEqual([]);
    expectRefused(
      story.try({ ...decision, ...as(AD) }, "2026-07-22T10:00:00Z"),
      "WRONG_STATUS",
      /no decision is awaited/,
    );
  });

  it("000: a difference is not noted when nobody holds the AD role: the decision would never be asked for", () => {
    const story = exhaustedLcs("ch-no-ad");
    const result = decide(
      story.state,
      { ...note, challengeId: "ch-no-ad" },
      {
        ...story.ctx("2026-07-20T09:00:00Z"),
        directory: directory(["assistant_director"]),
      },
    );
    expectRefused(result, "NO_RECIPIENT", /nobody in the staff directory holds the role "AD"/);
  });

  it("003: 'referred to the Safeguarding Children Partnership Manager who will determine a course of action': asked within 5 working days, recorded with the person", () => {
    expectSeedSays(
      cp,
      "In the unlikely event that the issues is not resolved and/or discussions raise significant policy issues it should be referred to the Safeguarding Children Partnership Manager who will determine a course of action",
    );
    const story = new Story(cp, "ch-partnership-manager");
    story.do(raise(CPC, { track: "CP" }), "2026-05-21T09:00:00Z");
    let day = 22;
    while (story.state.status === "open") {
      story.do(
        { type: "Escalate", ...as(CPC), reasons: "Remains unresolved." },
        `2026-06-${String(day++).padStart(2, "0")}T09:00:00Z`,
      );
    }
    const made = story.do(
      {
        type: "RequestReferral",
        ...as(CPC),
        kind: "partnership",
        rationale: "Professional disagreement remains.",
        attestations: [],
      },
      "2026-06-30T09:00:00Z",
    );
    const manager_ = manager("safeguarding_partnership_manager");
    // Tue 30 June + 5 working days: Tue 7 July, 17:00 BST.
    expect(made[2]?.data).toMatchObject({
      after: "partnership",
      personId: manager_.id,
      dueBy: "2026-07-07T16:00:00.000Z",
    });
    expect(nextToAct(story.state)).toMatchObject({ personId: manager_.id, awaiting: "post_ladder_decision" });
    const decided = story.do(
      {
        type: "DecideAfterLadder",
        ...as(manager_),
        upheld: false,
        reasons: "Course of action: multi-agency review.",
      },
      "2026-07-06T09:00:00Z",
    );
    expect(decided[0]).toMatchObject({ type: "DecisionRecorded", actor: manager_, data: { upheld: false } });
  });
});

describe("windows and the end of the ladder", () => {
  it("001 Rotherham stage 4: the form's '(Deputy Strategic Director/DCS - within 5 working days)' beats the guidance's 'Stage 4 (10 Days)'", () => {
    const rotherham = getPreset("rotherham");
    expectSeedSays(rotherham, "(Deputy Strategic Director/DCS - within 5 working days)");
    expectSeedSays(rotherham, "Stage 4 (10 Days)");
    const story = new Story(rotherham);
    story.do(
      raise(IRO, { track: "LAC" }, { startAtStageId: "stage_4", bypassRationale: "Court timetable." }),
      "2026-06-01T09:00:00Z",
    );
    // Mon 1 June + 5 working days: Mon 8 June, 17:00 London.
    expect(story.state.currentStage?.deadline).toBe("2026-06-08T16:00:00.000Z");
  });

  it("000 §2.4: 'The age of the child and the nature of the concern may require that a response is required more quickly.'", () => {
    const lcs = getPreset("lcs-issues-resolution");
    expectSeedSays(
      lcs,
      "The age of the child and the nature of the concern may require that a response is required more quickly.",
    );
    const story = new Story(lcs);
    story.do(raise(IRO, { track: "CP", themes: ["plan_not_progressed"] }), "2026-05-21T09:00:00Z");
    expect(story.state.currentStage?.deadline).toBe("2026-06-04T16:00:00.000Z");
    const shortened = story.do(
      {
        type: "ShortenDeadline",
        ...as(IRO),
        stageId: "level_1",
        window: { length: 1, unit: "weeks" },
        reason: "The baby is six weeks old and the plan's health visits have stopped.",
      },
      "2026-05-22T09:00:00Z",
    );
    expect(shortened[0]).toMatchObject({
      type: "DeadlineShortened",
      actor: IRO,
      data: { deadline: "2026-05-28T16:00:00.000Z", previousDeadline: "2026-06-04T16:00:00.000Z" },
    });
    expectRefused(story.try(timer("level_1"), "2026-05-28T15:00:00Z"), "DEADLINE_NOT_PASSED", /Thu, 28 May/);
    const moved = story.do(timer("level_1"), "2026-05-28T16:00:00Z");
    expect(moved.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
  });
});

describe("the informal stage cannot drift", () => {
  it("001 Rotherham: 'All informal escalations should be resolved within 10 working days or should then progress to a formal escalation.'", () => {
    const rotherham = getPreset("rotherham");
    expectSeedSays(
      rotherham,
      "All informal escalations should be resolved within 10 working days or should then progress to a formal escalation.",
    );
    const story = new Story(rotherham);
    story.do(raise(IRO, { track: "LAC" }), "2026-05-21T09:00:00Z");
    story.do(
      { type: "Respond", ...as(manager("social_worker")), response: "I will speak to my manager." },
      "2026-05-27T09:00:00Z",
    );
    // The 10 working days end: the IRO is asked to resolve it or open the formal stage.
    const asked = story.do(timer("informal"), "2026-06-05T16:00:00Z");
    expect(asked[0]?.data).toMatchObject({ reason: "no_resolution", decideBy: "2026-06-08T16:00:00.000Z" });
    // Resolving it ends the matter ...
    const resolved = new Story(rotherham, "ch-resolved");
    resolved.do(raise(IRO, { track: "LAC" }), "2026-05-21T09:00:00Z");
    resolved.do(timer("informal"), "2026-06-05T16:00:00Z");
    resolved.do({ type: "MarkResolved", ...as(IRO), summary: "Sorted informally." }, "2026-06-08T09:00:00Z");
    expect(resolved.state.status).toBe("resolved");
    // ... and doing nothing opens the formal Stage 1 by itself.
    story.do(timer("informal"), "2026-06-08T16:00:00Z");
    expect(story.state.currentStage).toMatchObject({ stageId: "stage_1", via: "auto_escalated" });
  });

  it("every preset's informal stage asks the raiser or progresses by itself: none is left to drift", () => {
    for (const id of ["rotherham", "halton", "liquidlogic-cp"]) {
      for (const track of Object.values(getPreset(id).tracks)) {
        const informal = track.stages[0];
        if (informal?.informal !== true) continue;
        expect(["ask_raiser", "escalate"]).toContain(informal.onNoResponse);
        expect(["ask_raiser", "escalate"]).toContain(informal.onNoResolution?.action);
      }
    }
  });
});
