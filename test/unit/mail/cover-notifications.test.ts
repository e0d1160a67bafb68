import { describe, expect, it } from "vitest";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import {
  type ChallengeEvent,
  type Command,
  decide,
  initialState,
  replay,
} from "../../../functions/domain/challenge/index.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { notificationsFor, renderPlanned } from "../../../functions/mail/notifications.js";
import { type StaffEntry, createDirectoryLookup } from "../../../functions/store/tenant-store.js";
import { TEAM, form } from "../domain/challenge/fixtures.js";

/** The emails of a stage passed to a cover (StageReassigned): the cover can act, the holder is copied, the raiser told. */

const nottingham = getPreset("nottingham");
const teamScope = { kind: "team", teamId: TEAM.id } as const;
const people: StaffEntry[] = [
  {
    personId: "tm-carl",
    displayName: "Carl Invented",
    email: "carl@authority.example",
    active: true,
    roles: [{ role: "team_manager", scope: teamScope }],
    absences: [
      {
        absenceId: "ooo-1",
        from: "2026-12-08",
        to: "2026-12-13",
        source: "out_of_office",
        recordedBy: "tm-carl",
        recordedAt: "2026-12-08T09:00:00.000Z",
      },
    ],
  },
  {
    personId: "tm-dina",
    displayName: "Dina Invented",
    email: "dina@authority.example",
    active: true,
    roles: [],
    coverFor: [{ role: "team_manager", scope: teamScope }],
  },
  {
    personId: "iro-ada",
    displayName: "Ada Invented",
    email: "ada@authority.example",
    active: true,
    roles: [],
  },
];
const directory = createDirectoryLookup(people);

type Draft = Command extends infer C ? (C extends Command ? Omit<C, "challengeId"> : never) : never;

function run(commands: { command: Draft; at: string }[]): ChallengeEvent[] {
  const events: ChallengeEvent[] = [];
  for (const { command, at } of commands) {
    const state = events.length === 0 ? initialState("ch-n") : replay(events);
    const ctx = {
      protocol: nottingham,
      calendar: createEnglandCalendar(),
      directory,
      now: new Date(at),
      newId: () => "a",
    };
    const result = decide(state, { ...command, challengeId: "ch-n" }, ctx);
    if (!result.ok) throw result.error;
    events.push(...result.events);
  }
  return events;
}

describe("StageReassigned emails", () => {
  it("send the stage to the cover with a reply address, a copy to the absent holder, and a notice to the raiser", () => {
    const events = run([
      {
        command: {
          type: "Raise",
          actor: { id: "iro-ada", role: "IRO" },
          channel: "api",
          form: form({ track: "LAC", themes: [] }),
        },
        at: "2026-12-07T09:00:00Z",
      },
      {
        command: {
          type: "RouteToCover",
          actor: { id: "tm-carl", role: "manager" },
          channel: "email",
          stageId: "level_1",
          personId: "tm-carl",
          because: "out_of_office",
        },
        at: "2026-12-08T09:00:00Z",
      },
    ]);
    const event = events.at(-1);
    if (event?.type !== "StageReassigned") throw new Error("expected StageReassigned");
    const plan = notificationsFor({
      event,
      history: events,
      protocol: nottingham,
      directory: {
        person: (id) => {
          const p = people.find((x) => x.personId === id);
          return p === undefined ? undefined : { email: p.email, name: p.displayName, active: p.active };
        },
        holder: directory,
      },
      authorityName: "Invented Borough Council",
    });
    expect(plan.emails.map((e) => [e.to.email, e.recipientRole, e.kind, e.reply !== undefined])).toEqual([
      ["dina@authority.example", "assignee", "stage_opened", true],
      ["carl@authority.example", "copy", "stage_opened_copy", false],
      ["ada@authority.example", "raiser", "stage_reassigned", false],
    ]);
    const notice = plan.emails[2];
    if (notice === undefined) throw new Error("no raiser notice");
    const rendered = renderPlanned(notice, { caseRecordBaseUrl: "https://lcs.authority.example/child/" });
    expect(rendered.subject).toMatch(/^Passed to cover: challenge .* \(Level 1, Team Manager away\)$/);
    expect(rendered.text).toMatch(/replied that they are out of the office until .*13 December 2026/);
    expect(rendered.text).toContain("The deadline has not changed");
    expect(rendered.text).not.toContain(form().child.name);
  });
});
