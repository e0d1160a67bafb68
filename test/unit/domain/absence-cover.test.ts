import { describe, expect, it } from "vitest";
import { caseNotesFor } from "../../../functions/case-notes/case-notes.js";
import { toExportLine } from "../../../functions/audit/export-format.js";
import { timeline } from "../../../functions/audit/timeline.js";
import type { Absence } from "../../../functions/domain/absence.js";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import type {
  Actor,
  ChallengeEvent,
  ChallengeState,
  Command,
  DecideContext,
  EventOf,
} from "../../../functions/domain/challenge/index.js";
import { decide, initialState, replay } from "../../../functions/domain/challenge/index.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { type StaffEntry, createDirectoryLookup } from "../../../functions/store/tenant-store.js";
import { chain } from "../audit/support.js";
import { TEAM, expectRefused, form } from "./challenge/fixtures.js";

/**
 * Cover for an absent manager, against the Nottingham preset and the real directory lookup: a stage
 * opened while the team manager is away goes to their named cover, copied to them; an open stage is
 * passed on by RouteToCover; the deadline never moves; the cover's actions read "acting for".
 */

const calendar = createEnglandCalendar();
const nottingham = getPreset("nottingham");
const IRO: Actor = { id: "iro-ada", role: "IRO" };
const HOLDER = "tm-carl";
const COVER = "tm-dina";
const RAISED_AT = "2026-12-07T09:00:00Z"; // Monday

const away = (over: Partial<Absence> = {}): Absence => ({
  absenceId: "abs-1",
  from: "2026-12-07",
  to: "2026-12-11",
  source: "api",
  recordedBy: "ism-ida",
  recordedAt: "2026-12-05T09:00:00.000Z",
  ...over,
});

function staff(options: { absences?: Absence[]; cover?: boolean } = {}): StaffEntry[] {
  const teamScope = { kind: "team", teamId: TEAM.id } as const;
  return [
    {
      personId: HOLDER,
      displayName: "Carl Invented",
      email: "carl@authority.example",
      active: true,
      roles: [{ role: "team_manager", scope: teamScope }],
      ...(options.absences === undefined ? {} : { absences: options.absences }),
    },
    {
      personId: COVER,
      displayName: "Dina Invented",
      email: "dina@authority.example",
      active: true,
      roles: [{ role: "team_manager", scope: { kind: "team", teamId: "team-other" } }],
      ...(options.cover === false ? {} : { coverFor: [{ role: "team_manager", scope: teamScope }] }),
    },
    {
      personId: "iro-ada",
      displayName: "Ada Invented",
      email: "ada@authority.example",
      active: true,
      roles: [],
    },
  ];
}

type Draft = Command extends infer C ? (C extends Command ? Omit<C, "challengeId"> : never) : never;

class Story {
  state: ChallengeState = initialState("ch-cover");
  readonly events: ChallengeEvent[] = [];
  constructor(public people: StaffEntry[]) {}

  ctx(now: string): DecideContext {
    const directory = createDirectoryLookup(this.people);
    return { protocol: nottingham, calendar, directory, now: new Date(now), newId: () => "act-1" };
  }
  try(command: Draft, now: string) {
    return decide(this.state, { ...command, challengeId: this.state.challengeId }, this.ctx(now));
  }
  do(command: Draft, now: string): ChallengeEvent[] {
    const result = this.try(command, now);
    if (!result.ok) throw new Error(`${command.type} refused: ${result.error.code}: ${result.error.message}`);
    this.events.push(...result.events);
    this.state = replay(this.events);
    return result.events;
  }
}

const raise: Draft = {
  type: "Raise",
  actor: IRO,
  channel: "api",
  form: form({ track: "LAC", raiserRole: "IRO", themes: [] }),
};
const opened = (events: ChallengeEvent[]) =>
  events.find((e): e is EventOf<"StageOpened"> => e.type === "StageOpened")?.data;
const names = (id: string) => ({ [HOLDER]: "Carl Invented", [COVER]: "Dina Invented" })[id];

describe("a stage opened while its recipient is away", () => {
  it("goes to the named cover acting for the holder, the holder copied, with the deadline it would have had", () => {
    const present = new Story(staff());
    const usual = opened(present.do(raise, RAISED_AT));
    const story = new Story(staff({ absences: [away()] }));
    const data = opened(story.do(raise, RAISED_AT));
    expect(usual?.assignee.personId).toBe(HOLDER);
    expect(data?.assignee).toMatchObject({
      personId: COVER,
      email: "dina@authority.example",
      actingFor: HOLDER,
    });
    expect(data?.assignee.role).toBe("team_manager");
    expect(data?.copyTo.map((c) => c.personId)).toContain(HOLDER);
    expect(data?.deadline).toBe(usual?.deadline);
    expect(data?.uncovered).toBeUndefined();
  });

  it("goes to the holder when nobody covers the role, and the gap is recorded", () => {
    const story = new Story(staff({ absences: [away({ to: undefined })], cover: false }));
    const data = opened(story.do(raise, RAISED_AT));
    expect(data?.assignee.personId).toBe(HOLDER);
    expect(data?.uncovered).toEqual([{ personId: HOLDER, from: "2026-12-07" }]);
  });

  it.each([
    ["ended before the day", away({ endedOn: "2026-12-07", endedBy: "ism-ida" })],
    ["starting later", away({ from: "2026-12-08" })],
    ["over by then", away({ from: "2026-12-01", to: "2026-12-04" })],
  ])("goes to the holder when the absence is %s", (_, absence) => {
    const story = new Story(staff({ absences: [absence] }));
    expect(opened(story.do(raise, RAISED_AT))?.assignee).not.toHaveProperty("actingFor");
  });

  it("skips a cover who is away themselves", () => {
    const people = staff({ absences: [away()] }).map((p) =>
      p.personId === COVER ? { ...p, absences: [away({ absenceId: "abs-2" })] } : p,
    );
    const data = opened(new Story(people).do(raise, RAISED_AT));
    expect(data?.assignee.personId).toBe(HOLDER);
    expect(data?.uncovered?.[0]?.personId).toBe(HOLDER);
  });
});

describe("RouteToCover: an open stage passed on while its recipient is away", () => {
  const route = (stageId: string, personId = HOLDER): Draft => ({
    type: "RouteToCover",
    actor: { id: HOLDER, role: "manager" },
    channel: "email",
    stageId,
    personId,
    because: "out_of_office",
  });

  function openWithHolder(): { story: Story; stageId: string; deadline: string } {
    const story = new Story(staff());
    const data = opened(story.do(raise, RAISED_AT));
    if (data === undefined) throw new Error("no stage opened");
    return { story, stageId: data.stageId, deadline: data.deadline };
  }

  it("passes it to the cover, copies the holder, keeps the deadline, and the cover's response reads 'acting for'", () => {
    const { story, stageId, deadline } = openWithHolder();
    story.do({ type: "Acknowledge", actor: { id: HOLDER, role: "manager" }, channel: "api" }, RAISED_AT);
    story.people = staff({
      absences: [away({ from: "2026-12-08", source: "out_of_office", recordedBy: HOLDER })],
    });
    const [event] = story.do(route(stageId), "2026-12-08T10:00:00Z");
    expect(event).toMatchObject({
      type: "StageReassigned",
      data: {
        stageId,
        from: { personId: HOLDER },
        to: { personId: COVER, actingFor: HOLDER },
        because: "out_of_office",
        absence: { personId: HOLDER, from: "2026-12-08", to: "2026-12-11" },
      },
    });
    const open = story.state.currentStage;
    expect(open?.assignee.personId).toBe(COVER);
    expect(open?.copyTo.map((c) => c.personId)).toContain(HOLDER);
    expect(open?.deadline).toBe(deadline);
    // The cover has not acknowledged it yet; the absent holder's acknowledgement is not theirs.
    expect(open?.acknowledgedAt).toBeUndefined();

    // The holder's reply no longer acts; the cover's does, attributed to the cover acting for them.
    expectRefused(
      story.try(
        { type: "Respond", actor: { id: HOLDER, role: "manager" }, channel: "api", response: "x" },
        "2026-12-08T11:00:00Z",
      ),
      "NOT_RECIPIENT",
      /only the current recipient/,
    );
    const [response] = story.do(
      {
        type: "Respond",
        actor: { id: COVER, role: "manager" },
        channel: "email",
        response: "A core group is booked.",
      },
      "2026-12-08T12:00:00Z",
    );
    expect(response?.actor.id).toBe(COVER);

    const lines = chain("t", story.events).map(toExportLine);
    const text = timeline(lines, nottingham, names).map((e) => e.text);
    expect(text).toContainEqual(
      expect.stringMatching(
        /passed to Dina Invented, named cover, acting for Carl Invented \(the Team Manager\), who is away until Fri 11 December 2026 \(their out-of-office reply\); the deadline is unchanged/,
      ),
    );
    expect(text).toContainEqual(
      expect.stringMatching(
        /^Response at .* from Dina Invented, Team Manager \(email\), acting for Carl Invented$/,
      ),
    );
    const notes = caseNotesFor(story.state, story.events, nottingham, names).map((n) => n.body);
    expect(notes.join("\n")).toMatch(
      /Dina Invented, named cover, acting for Carl Invented, Team Manager responded/,
    );
  });

  it("refuses when the recipient is not recorded as away, when nobody covers, for another stage or another person", () => {
    const { story, stageId } = openWithHolder();
    expectRefused(
      story.try(route(stageId), RAISED_AT),
      "INVALID_COMMAND",
      /does not record the Team Manager as away/,
    );
    story.people = staff({ absences: [away({ to: undefined })], cover: false });
    expectRefused(
      story.try(route(stageId), RAISED_AT),
      "NO_RECIPIENT",
      /away with no end stated, but nobody .* is named cover/,
    );
    story.people = staff({ absences: [away()] });
    expectRefused(story.try(route("level_2"), RAISED_AT), "STAGE_MOVED", /not the stage "level_2"/);
    expectRefused(story.try(route(stageId, COVER), RAISED_AT), "NOT_RECIPIENT", /not addressed to tm-dina/);
    // Passed on once: a repeat finds the holder no longer its recipient.
    story.do(route(stageId), RAISED_AT);
    expectRefused(story.try(route(stageId), RAISED_AT), "NOT_RECIPIENT", /not addressed to tm-carl/);
  });
});
